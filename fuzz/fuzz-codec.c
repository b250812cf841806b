/*
 * libFuzzer harness of codec.c: base64, hex and UTF-8, as waha-cli and
 * the gateway use them.  Checked: decode(encode(x)) == x; whatever a
 * decoder accepts encodes back to the same digits (white space and
 * padding aside); the UTF-8 check agrees with jansson's, and the repair
 * gives valid UTF-8 that leaves valid input alone; a JSON string made by
 * codec_json_escape is byte for byte jansson's compact one.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>

#include <jansson.h>

#include "waha.h"
#include "fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The input without white space, '=' too for base64, lowercased for hex. */
static char *
canonical(const uint8_t *data, size_t size, int hex, size_t *len)
{
	char	*out = xmalloc(size + 1);
	size_t	 i, o = 0;
	int	 c;

	for (i = 0; i < size; i++) {
		c = data[i];
		if (c == ' ' || (c >= '\t' && c <= '\r') || (!hex && c == '='))
			continue;
		out[o++] = hex ? tolower(c) : c;
	}
	*len = o;
	return (out);
}

static void
base64(const uint8_t *data, size_t size)
{
	char	*enc, *canon, *again;
	void	*dec;
	size_t	 elen, dlen, clen, alen, i;

	enc = codec_b64_encode(data, size, &elen);
	FUZZ_ASSERT(elen == (size + 2) / 3 * 4 && strlen(enc) == elen);
	dec = codec_b64_decode(enc, elen, &dlen);
	FUZZ_ASSERT(dec != NULL && dlen == size);
	FUZZ_ASSERT(size == 0 || memcmp(dec, data, size) == 0);
	free(enc);
	free(dec);

	if ((dec = codec_b64_decode((const char *)data, size, &dlen)) == NULL)
		return;
	canon = canonical(data, size, 0, &clen);
	again = codec_b64_encode(dec, dlen, &alen);
	/* Padding is optional; the last digit may carry unused bits. */
	while (alen > 0 && again[alen - 1] == '=')
		alen--;
	FUZZ_ASSERT(alen == clen);
	for (i = 0; i + 1 < clen; i++)
		FUZZ_ASSERT(again[i] == canon[i]);
	free(canon);
	free(again);
	free(dec);
}

static void
hex(const uint8_t *data, size_t size)
{
	char	*enc, *canon;
	void	*dec;
	size_t	 elen, dlen, clen;

	enc = codec_hex_encode(data, size, &elen);
	FUZZ_ASSERT(elen == 2 * size && strlen(enc) == elen);
	dec = codec_hex_decode(enc, elen, &dlen);
	FUZZ_ASSERT(dec != NULL && dlen == size);
	FUZZ_ASSERT(size == 0 || memcmp(dec, data, size) == 0);
	free(enc);
	free(dec);

	if ((dec = codec_hex_decode((const char *)data, size, &dlen)) == NULL)
		return;
	canon = canonical(data, size, 1, &clen);
	enc = codec_hex_encode(dec, dlen, &elen);
	FUZZ_ASSERT(elen == clen && memcmp(enc, canon, clen) == 0);
	free(canon);
	free(enc);
	free(dec);
}

static void	escape_check(const char *, size_t);

static void
utf8(const uint8_t *data, size_t size)
{
	json_t	*j;
	char	*fixed;
	size_t	 flen;
	int	 valid;

	valid = codec_utf8_valid(data, size);
	j = json_stringn((const char *)data, size);
	FUZZ_ASSERT(valid == (j != NULL));
	json_decref(j);
	fixed = codec_utf8_fix(data, size, &flen);
	FUZZ_ASSERT(fixed[flen] == '\0' && flen <= 3 * size);
	FUZZ_ASSERT(codec_utf8_valid(fixed, flen));
	if (valid)
		FUZZ_ASSERT(flen == size && memcmp(fixed, data, size) == 0);
	else
		FUZZ_ASSERT(flen != size || memcmp(fixed, data, size) != 0);
	escape_check(fixed, flen);
	free(fixed);
}

/* codec_json_escape against jansson, on the repaired text. */
static void
escape_check(const char *text, size_t len)
{
	json_t	*j;
	char	*want, *got;
	size_t	 n;

	j = json_stringn_nocheck(text, len);
	want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	FUZZ_ASSERT(j != NULL && want != NULL);
	got = xmalloc(CODEC_JSON_ROOM(len) + 1);
	n = codec_json_escape(got, text, len);
	FUZZ_ASSERT(n <= CODEC_JSON_ROOM(len));
	FUZZ_ASSERT(strlen(want) == n + 2 && memcmp(want + 1, got, n) == 0);
	free(got);
	free(want);
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return (0);
	switch (data[0] % 3) {
	case 0:
		base64(data + 1, size - 1);
		break;
	case 1:
		hex(data + 1, size - 1);
		break;
	default:
		utf8(data + 1, size - 1);
		break;
	}
	return (0);
}
