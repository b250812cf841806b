/*
 * Reading a gateway request: the service name from the path and the
 * query parameters.  Percent-encoding is strict: a '%' not followed by
 * two hex digits is a 400, not passed on.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"
#include "http.h"

/* Request parameters, in the order they are checked. */
enum { P_TYPE, P_CALLBACK, P_TIMEOUT, P_STREAM, P_ARGS, P_N };

struct params {
	char	*val[P_N];	/* percent-decoded, NUL-terminated */
	size_t	 len[P_N];
};

/*
 * Percent-decode len bytes of s (and '+' to a space in a query) into a
 * new NUL-terminated string; NULL when a '%' is not followed by two hex
 * digits.
 */
static char *
decode(const char *s, size_t len, int plus, size_t *outlen)
{
	char	*out;
	size_t	 i, o = 0;
	int	 hi, lo;

	out = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			if (i + 2 >= len ||
			    (hi = codec_hex_digit((unsigned char)s[i + 1])) < 0 ||
			    (lo = codec_hex_digit((unsigned char)s[i + 2])) < 0) {
				free(out);
				return (NULL);
			}
			out[o++] = hi << 4 | lo;
			i += 2;
		} else
			out[o++] = plus && s[i] == '+' ? ' ' : s[i];
	}
	out[o] = '\0';
	*outlen = o;
	return (out);
}

/* Take one key=value of the query; unknown keys are ignored. */
static int
piece(struct params *p, const char *s, size_t len, char **cause)
{
	static const char *const names[] = { "type", "jsonp", "timeout",
	    "args", "callback", "stream" };
	static const int which[] = { P_TYPE, P_CALLBACK, P_TIMEOUT, P_ARGS,
	    P_CALLBACK, P_STREAM };
	const int	 nnames = sizeof(which) / sizeof(which[0]);
	const char	*eq = memchr(s, '=', len);
	size_t		 klen = eq != NULL ? (size_t)(eq - s) : len, k, vlen;
	char		*key, *val;
	int		 i;

	if ((key = decode(s, klen, 1, &k)) == NULL ||
	    (val = decode(eq != NULL ? eq + 1 : s + len,
	    eq != NULL ? len - klen - 1 : 0, 1, &vlen)) == NULL) {
		free(key);
		*cause = xstrdup("malformed percent-encoding in the query");
		return (-1);
	}
	for (i = 0; i < nnames; i++) {
		if (k == strlen(names[i]) && memcmp(key, names[i], k) == 0)
			break;
	}
	if (i < nnames && p->val[which[i]] != NULL) {
		xasprintf(cause, "parameter %s given twice", key);
		i = -1;
	} else if (i < nnames) {
		p->val[which[i]] = val;
		p->len[which[i]] = vlen;
		val = NULL;
	}
	free(key);
	free(val);
	return (i < 0 ? -1 : 0);
}

static int
parse_query(struct params *p, const char *q, char **cause)
{
	size_t	 len;

	while (q != NULL && *q != '\0') {
		len = strcspn(q, "&");
		if (len > 0 && piece(p, q, len, cause) != 0)
			return (-1);
		q += len;
		if (*q == '&')
			q++;
	}
	return (0);
}

/* A JavaScript identifier path: a.b.$c, at most HTTP_CALLBACK_MAX. */
static int
callback_ok(const char *s, size_t len)
{
	size_t	 i;
	int	 start = 1, c;

	if (len == 0 || len > HTTP_CALLBACK_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '.') {
			if (start)
				return (0);
			start = 1;
			continue;
		}
		if (c >= '0' && c <= '9') {
			if (start)
				return (0);
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_' || c == '$'))
			return (0);
		start = 0;
	}
	return (!start);
}

/*
 * stream=1: the reply streams, as NDJSON or (type=plain) its bytes,
 * unless the client asked for Server-Sent Events already.  A stream
 * has no deadline unless it asked for one with timeout=.
 */
static int
check_stream(struct http_req *r, struct params *p, char **cause)
{
	const char	*v = p->val[P_STREAM];

	if (v != NULL && strcmp(v, "1") != 0 && strcmp(v, "0") != 0) {
		*cause = xstrdup("stream must be 0 or 1");
		return (-1);
	}
	if (v != NULL && *v == '1' && r->stream == HTTP_STREAM_NONE)
		r->stream = r->type == HTTP_PLAIN ? HTTP_STREAM_PLAIN :
		    HTTP_STREAM_NDJSON;
	if (r->stream != HTTP_STREAM_NONE && r->type == HTTP_JSONP) {
		*cause = xstrdup("jsonp does not stream");
		return (-1);
	}
	if (r->stream != HTTP_STREAM_NONE && !r->timeout_asked)
		r->timeout = -1;
	return (0);
}

/*
 * Check the parameters and set r's type, callback, timeout and stream.
 * The type and the callback come first so that later errors are
 * written the way the client asked.
 */
static int
check_params(struct http_req *r, struct params *p, char **cause)
{
	const char	*v = p->val[P_TYPE], *errstr;

	if (v != NULL && strcmp(v, "plain") == 0)
		r->type = HTTP_PLAIN;
	else if (v != NULL && strcmp(v, "json") != 0) {
		*cause = xstrdup("type must be json or plain");
		return (-1);
	}
	if ((v = p->val[P_CALLBACK]) != NULL) {
		if (r->loop->env->no_jsonp) {
			*cause = xstrdup("JSONP is turned off here "
			    "(--no-jsonp)");
			return (-1);
		}
		if (!callback_ok(v, p->len[P_CALLBACK])) {
			xasprintf(cause, "jsonp and callback take a JavaScript "
			    "name of letters, digits, _, $ and dots, at most %d "
			    "characters", HTTP_CALLBACK_MAX);
			return (-1);
		}
		if (r->type == HTTP_PLAIN) {
			*cause = xstrdup("jsonp does not go with type=plain");
			return (-1);
		}
		r->type = HTTP_JSONP;
		strlcpy(r->callback, v, sizeof(r->callback));
	}
	if ((v = p->val[P_TIMEOUT]) != NULL) {
		r->timeout = strtonum(v, -1, INT_MAX, &errstr);
		if (errstr != NULL || strlen(v) != p->len[P_TIMEOUT]) {
			*cause = xstrdup("timeout must be -1 or a number of ms");
			return (-1);
		}
		r->timeout_asked = 1;
	}
	return (check_stream(r, p, cause));
}

/* The service name in a path: without its leading slash, decoded. */
char *
http_params_name(const char *path, size_t *len)
{
	if (path == NULL)
		path = "";
	if (*path == '/')
		path++;
	return (decode(path, strlen(path), 0, len));
}

/*
 * Read the query of r: set its type, callback, timeout and stream, and
 * return the decoded args parameter in *args (NULL when there is none).
 */
int
http_params_query(struct http_req *r, const char *query, char **args,
    size_t *args_len, char **cause)
{
	struct params	 p;
	int		 rc, i;

	memset(&p, 0, sizeof(p));
	rc = parse_query(&p, query, cause);
	if (rc == 0)
		rc = check_params(r, &p, cause);
	*args = rc == 0 ? p.val[P_ARGS] : NULL;
	*args_len = p.len[P_ARGS];
	if (rc == 0)
		p.val[P_ARGS] = NULL;
	for (i = 0; i < P_N; i++)
		free(p.val[i]);
	return (rc);
}
