/*
 * libFuzzer harness of acl.c, called as the daemons call it: acl_parse
 * over the text of an --acl file (acl_load reads the file and calls it),
 * then acl_check for a few service names and peers.
 *
 * Input format: the file's text up to the first NUL; after the NUL,
 * lines of "SERVICE" to check (one a line).  Checked: a refused file
 * says which line; a parsed one answers every check 0 or 1, the same
 * twice; an empty set of rules denies everything; and acl_match agrees
 * with the meaning of its wildcards on the names that come along.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"
#include "fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char key[] = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

static void
check_one(const struct acl *acl, const char *svc, size_t len)
{
	static const enum acl_action acts[] = { ACL_CALL, ACL_SERVE };
	int	 a, r;

	for (a = 0; a < 2; a++) {
		r = acl_check(acl, acts[a], svc, len, key, "fuzz", NULL);
		FUZZ_ASSERT(r == 0 || r == 1);
		FUZZ_ASSERT(r == acl_check(acl, acts[a], svc, len, key, "fuzz",
		    NULL));
		if (acl_count(acl) == 0)
			FUZZ_ASSERT(r == 0);
		r = acl_check(acl, acts[a], svc, len, NULL, NULL, "user");
		FUZZ_ASSERT(r == 0 || r == 1);
	}
	/* A name matches itself, and "*" exactly the one-token names. */
	if (len > 0 && acl_pattern_check(svc, len) == NULL &&
	    memchr(svc, '*', len) == NULL && memchr(svc, '>', len) == NULL)
		FUZZ_ASSERT(acl_match(svc, len, svc, len) == 1);
	if (len > 0)
		FUZZ_ASSERT(acl_match("*", 1, svc, len) ==
		    (memchr(svc, '.', len) == NULL));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acl	*acl;
	char		*text, *names, *line, *cause = NULL;
	size_t		 tlen;

	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	tlen = strlen(text);
	names = tlen < size ? xstrdup(text + tlen + 1) : xstrdup("echo");
	if ((acl = acl_parse(text, "fuzz", &cause)) == NULL) {
		FUZZ_ASSERT(cause != NULL && strncmp(cause, "fuzz:", 5) == 0);
		free(cause);
	} else {
		FUZZ_ASSERT(cause == NULL);
		for (line = names; line != NULL;) {
			char *nl = strchr(line, '\n');

			check_one(acl, line, nl != NULL ? (size_t)(nl - line) :
			    strlen(line));
			line = nl != NULL ? nl + 1 : NULL;
		}
		acl_free(acl);
	}
	free(names);
	free(text);
	return (0);
}
