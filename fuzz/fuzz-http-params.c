/*
 * libFuzzer harness of the gateway's request reading (http_params.c):
 * the service name from the path and the query parameters, with the
 * arguments then read as http_gateway_request reads them.
 *
 * Input: a flags byte (bit 0: --no-jsonp), then the path, a NUL, and
 * the query.  Checked: results are NUL-terminated and no longer than
 * their input; a refused query gives a cause and no args; the type,
 * callback and timeout are within what the gateway documents; a name
 * and an args value percent-encoded back read back the same.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>

#include "waha.h"
#include "http.h"
#include "fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Every byte as %XX, behind prefix. */
static char *
encode_all(const char *prefix, const char *s, size_t len)
{
	size_t	 plen = strlen(prefix), i;
	char	*out = xmalloc(plen + 3 * len + 1);

	memcpy(out, prefix, plen);
	for (i = 0; i < len; i++)
		snprintf(out + plen + 3 * i, 4, "%%%02X", (unsigned char)s[i]);
	out[plen + 3 * len] = '\0';
	return (out);
}

static void
check_name(const char *path)
{
	char	*name, *enc, *again;
	size_t	 len, alen;

	if ((name = http_params_name(path, &len)) == NULL)
		return;
	FUZZ_ASSERT(name[len] == '\0' && len <= strlen(path));
	enc = encode_all("/", name, len);
	again = http_params_name(enc, &alen);
	FUZZ_ASSERT(again != NULL && alen == len &&
	    memcmp(again, name, len) == 0);
	(void)proto_name_check(name, len, WAHA_NAME_MAX);
	free(again);
	free(enc);
	free(name);
}

static struct http_req *
req_new(struct http_loop *loop)
{
	static struct http_req	 r;

	memset(&r, 0, sizeof(r));
	r.loop = loop;
	r.type = HTTP_JSON;
	r.timeout = loop->env->timeout;
	return (&r);
}

static void
check_query(struct http_loop *loop, const char *query)
{
	struct http_req	*r = req_new(loop);
	struct waha_msg	 m;
	char		*args = NULL, *cause = NULL, *enc, *again;
	size_t		 alen = 0, len;

	if (http_params_query(r, query, &args, &alen, &cause) != 0) {
		FUZZ_ASSERT(cause != NULL && args == NULL);
		free(cause);
		return;
	}
	FUZZ_ASSERT(cause == NULL);
	FUZZ_ASSERT(r->type == HTTP_JSON || r->type == HTTP_PLAIN ||
	    r->type == HTTP_JSONP);
	FUZZ_ASSERT(r->type != HTTP_JSONP || !loop->env->no_jsonp);
	FUZZ_ASSERT(r->type != HTTP_JSONP ||
	    (r->callback[0] != '\0' && strlen(r->callback) <= HTTP_CALLBACK_MAX));
	FUZZ_ASSERT(r->timeout >= -1);
	if (args == NULL)
		return;
	FUZZ_ASSERT(args[alen] == '\0' && alen <= strlen(query));
	frames_init(&m);
	if (codec_json_fields(&m, args, alen, "args", &cause) != 0)
		free(cause);
	frames_free(&m);
	enc = encode_all("args=", args, alen);
	r = req_new(loop);
	FUZZ_ASSERT(http_params_query(r, enc, &again, &len, &cause) == 0);
	FUZZ_ASSERT(len == alen && memcmp(again, args, alen) == 0);
	free(again);
	free(enc);
	free(args);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_env		 env;
	struct http_loop	 loop;
	char			*text, *query;

	if (size < 1)
		return (0);
	memset(&env, 0, sizeof(env));
	memset(&loop, 0, sizeof(loop));
	env.no_jsonp = data[0] & 1;
	env.timeout = WAHA_TIMEOUT;
	loop.env = &env;
	/* evhttp hands over NUL-terminated strings. */
	text = xmalloc(size + 1);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	text[size] = '\0';
	query = text + strlen(text) + 1;
	check_name(text);
	check_query(&loop, query);
	free(text);
	return (0);
}
