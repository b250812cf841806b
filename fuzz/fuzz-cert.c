/*
 * libFuzzer harness of curve.c's certificate reader, called as the
 * daemons call it: curve_cert_parse over the text of a cert file
 * (curve_cert_load checks the file's mode, reads it and calls it), as a
 * public certificate or as a secret one.
 *
 * Input format: one byte (bit 0: read as a secret cert), then the file's
 * text up to the first NUL.  Checked: a refused file names it; a parsed
 * one has a 40-character Z85 public key that decodes to its binary key,
 * and a secret one a secret key whose public key is the one given.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"
#include "fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct curve_cert	 cert;
	uint8_t			 bin[CURVE_KEY_LEN];
	char			*text, *cause = NULL, pub[CURVE_Z85_LEN + 1];
	int			 secret;

	if (size < 1)
		return (0);
	secret = data[0] & 1;
	text = xmalloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (curve_cert_parse(text, "fuzz", secret, &cert, &cause) != 0) {
		FUZZ_ASSERT(cause != NULL && strncmp(cause, "fuzz", 4) == 0);
		free(cause);
		free(text);
		return (0);
	}
	FUZZ_ASSERT(cause == NULL);
	FUZZ_ASSERT(strlen(cert.public_txt) == CURVE_Z85_LEN);
	FUZZ_ASSERT(zmq_z85_decode(bin, cert.public_txt) != NULL);
	FUZZ_ASSERT(memcmp(bin, cert.public_key, CURVE_KEY_LEN) == 0);
	FUZZ_ASSERT(cert.has_secret == secret);
	if (secret) {
		FUZZ_ASSERT(zmq_curve_public(pub, cert.secret_txt) == 0);
		FUZZ_ASSERT(strcmp(pub, cert.public_txt) == 0);
	}
	curve_cert_clear(&cert);
	free(text);
	return (0);
}
