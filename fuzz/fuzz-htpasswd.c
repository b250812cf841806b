/*
 * libFuzzer harness of the gateway's access files and Host check
 * (http_auth.c), called as the gateway calls them: an --htpasswd file's
 * text through http_auth_users_parse (what the loader calls), and Host
 * headers through http_auth_host_allowed (--allow-host).
 *
 * Input: a flags byte (bit 0: the text is a Host header, not a file),
 * then the text up to the first NUL.  Checked: a refused file names its
 * line and leaves no users; a parsed one counts at least as many lines
 * as users; localhost and IPv4 literals are always allowed, with or
 * without a port, and a name is allowed exactly when it is listed.
 */
#include "config.h"

#include <stdio.h>
#include <strings.h>

#include "waha.h"
#include "http.h"
#include "fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
htpasswd(char *text)
{
	struct htuser	*users = NULL;
	char		*cause = NULL;
	size_t		 lines = 1, i;
	int		 n;

	for (i = 0; text[i] != '\0'; i++)
		lines += text[i] == '\n';
	n = http_auth_users_parse(text, "fuzz", &users, &cause);
	if (n < 0) {
		FUZZ_ASSERT(users == NULL);
		FUZZ_ASSERT(cause != NULL && strncmp(cause, "fuzz:", 5) == 0);
		free(cause);
		return;
	}
	FUZZ_ASSERT(cause == NULL && (size_t)n <= lines);
	http_auth_users_free(users);
}

static void
host(const char *h)
{
	static const char *none[] = { NULL };
	const char	*list[] = { h, NULL };
	char		 buf[300];
	size_t		 len = strcspn(h, ":");

	FUZZ_ASSERT(http_auth_host_allowed(none, "localhost"));
	FUZZ_ASSERT(http_auth_host_allowed(none, "127.0.0.1:9001"));
	/* A plain name (no port, no dot at its end) listed is allowed. */
	if (h[0] != '\0' && h[0] != '[' && len == strlen(h) && len < 255 &&
	    h[len - 1] != '.')
		FUZZ_ASSERT(http_auth_host_allowed(list, h));
	/* With a port, the same; and a name that is not listed is not. */
	if (h[0] != '\0' && h[0] != '[' && len == strlen(h) && len < 200 &&
	    h[len - 1] != '.') {
		snprintf(buf, sizeof(buf), "%s:80", h);
		FUZZ_ASSERT(http_auth_host_allowed(list, buf));
		snprintf(buf, sizeof(buf), "x%s", h);
		if (strcasecmp(buf, "localhost") != 0)
			FUZZ_ASSERT(!http_auth_host_allowed(list, buf));
	}
	(void)http_auth_host_allowed(none, h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*text;

	if (size < 1)
		return (0);
	text = xmalloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] & 1)
		host(text);
	else
		htpasswd(text);
	free(text);
	return (0);
}
