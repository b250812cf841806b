/*
 * Writing the gateway's replies: the headers every reply has, fields as
 * a JSON array (or JSONP, or plain bytes), errors as {"error": ...,
 * "status": N}, and the -v line of each request.  Fields that are not
 * valid UTF-8 have each bad byte replaced by U+FFFD in JSON output, so
 * that no reply can make the gateway emit invalid JSON.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "waha.h"
#include "http.h"

#define CT_JSON		"application/json"
#define CT_JSONP	"application/javascript; charset=utf-8"
#define CT_PLAIN	HTTP_CT_PLAIN

static const char *
method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return ("GET");
	case EVHTTP_REQ_POST:
		return ("POST");
	case EVHTTP_REQ_HEAD:
		return ("HEAD");
	case EVHTTP_REQ_PUT:
		return ("PUT");
	case EVHTTP_REQ_DELETE:
		return ("DELETE");
	case EVHTTP_REQ_OPTIONS:
		return ("OPTIONS");
	case EVHTTP_REQ_TRACE:
		return ("TRACE");
	case EVHTTP_REQ_CONNECT:
		return ("CONNECT");
	case EVHTTP_REQ_PATCH:
		return ("PATCH");
	}
	return ("?");
}

/* The -v line: method, path (control bytes escaped), code, time. */
static void
log_request(struct http_req *r, int code, int64_t us)
{
	const unsigned char	*u;
	char			 buf[256];
	size_t			 o = 0;

	u = (const unsigned char *)evhttp_request_get_uri(r->ev);
	for (; u != NULL && *u != '\0' && o + 5 < sizeof(buf); u++) {
		if (*u >= 0x20 && *u < 0x7f)
			buf[o++] = *u;
		else
			o += snprintf(buf + o, sizeof(buf) - o, "\\x%02x", *u);
	}
	buf[o] = '\0';
	log_debug("http: %s %s%s %d %.1f ms",
	    method_name(evhttp_request_get_command(r->ev)), buf,
	    u != NULL && *u != '\0' ? "..." : "", code, us / 1000.0);
}

/* Add a header to the evkeyvalq arg, for headers(). */
static void
add_header(void *arg, const char *name, const char *value)
{
	evhttp_add_header(arg, name, value);
}

/*
 * The headers every reply of r has, with its content type ctype and
 * Cache-Control cache, each through add(arg, name, value).
 */
static void
headers(struct http_req *r, const char *ctype, const char *cache,
    void (*add)(void *, const char *, const char *), void *arg)
{
	struct http_loop	*loop = r->loop;

	if (ctype != NULL)
		add(arg, "Content-Type", ctype);
	add(arg, "X-Content-Type-Options", "nosniff");
	add(arg, "Cache-Control", cache);
	if (loop->env->cors != NULL) {
		add(arg, "Access-Control-Allow-Origin", loop->env->cors);
		if (strcmp(loop->env->cors, "*") != 0)
			add(arg, "Vary", "Origin");
		if (strcmp(loop->env->cors, "*") != 0 &&
		    http_auth_credentials(loop->env->auth))
			add(arg, "Access-Control-Allow-Credentials", "true");
	}
	if (loop->draining)
		add(arg, "Connection", "close");
}

/* Count r as answered with code and log it. */
static void
answered(struct http_req *r, int code)
{
	int64_t	 us = util_now_us() - r->start;

	http_metrics_count(r->loop, code, us);
	if (log_verbose() > 0)
		log_request(r, code, us);
}

/*
 * The headers every reply of r has, with its content type ctype and
 * Cache-Control cache; count and log it as answered with code.
 */
void
http_reply_begin(struct http_req *r, int code, const char *ctype,
    const char *cache)
{
	headers(r, ctype, cache, add_header,
	    evhttp_request_get_output_headers(r->ev));
	answered(r, code);
}

/*
 * Send the reply of r, with the headers every reply has, and free r.
 * Answering a broker's reply (not from inside one of evhttp's callbacks)
 * it is written at once rather than on the loop's next turn, and if it
 * is a common one, without evhttp's header path (http_write.c).
 */
void
http_reply_send(struct http_req *r, int code, struct evbuffer *body,
    const char *ctype)
{
	struct http_conn	*conn = r->conn;
	struct http_gather	 head;

	http_broker_forget(r);
	if (conn != NULL && r->loop->replying && !r->loop->draining &&
	    http_write_ok(r->ev, code, ctype)) {
		http_write_begin(&head, http_conn_output(conn), r->ev, code);
		headers(r, ctype, "no-store", http_write_header, &head);
		answered(r, code);
		http_conn_reply(conn);
		http_write_end(conn, r->ev, &head, body);	/* may free conn */
		free(r);
		return;
	}
	http_reply_begin(r, code, ctype, "no-store");
	if (conn != NULL)
		http_conn_reply(conn);
	evhttp_send_reply(r->ev, code, NULL, body);
	if (conn != NULL)
		http_conn_sent(conn);
	if (conn != NULL && r->loop->replying)
		http_conn_write_now(conn);	/* may free conn */
	free(r);
}

static int
add_json(const char *buf, size_t size, void *data)
{
	return (evbuffer_add(data, buf, size));
}

/*
 * Write j to b, wrapped in the callback for JSONP, and return the
 * content type.  JSONP is pure ASCII (every other character escaped),
 * so U+2028 and U+2029 cannot break the script.
 */
static const char *
put_json(struct http_req *r, struct evbuffer *b, json_t *j)
{
	size_t	 flags = JSON_COMPACT;

	if (r->type == HTTP_JSONP) {
		evbuffer_add_printf(b, "%s(", r->callback);
		flags |= JSON_ENSURE_ASCII;
	}
	if (j == NULL || json_dump_callback(j, add_json, b, flags) != 0)
		fatalx("http: cannot encode JSON");
	if (r->type != HTTP_JSONP)
		return (CT_JSON);
	evbuffer_add(b, ");", 2);
	return (CT_JSONP);
}

/* A JSON string of len bytes, each invalid UTF-8 byte made U+FFFD. */
static json_t *
json_field(const void *data, size_t len)
{
	json_t	*s;
	char	*fixed;
	size_t	 flen;

	if (codec_utf8_valid(data, len))
		return (json_stringn_nocheck(data, len));
	fixed = codec_utf8_fix(data, len, &flen);
	s = json_stringn_nocheck(fixed, flen);
	free(fixed);
	return (s);
}

/*
 * Answer r with an error, its reason len bytes at reason: {"error": ...,
 * "status": N}, or a line.
 */
void
http_reply_error(struct http_req *r, int code, const void *reason,
    size_t len)
{
	struct evbuffer	*b;
	const char	*ctype = HTTP_CT_TEXT;
	json_t		*o;
	char		*fixed;
	size_t		 flen, i;

	if ((b = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	fixed = codec_utf8_fix(reason, len, &flen);
	if (r->type == HTTP_PLAIN) {
		for (i = 0; i < flen; i++) {
			if (fixed[i] == '\r' || fixed[i] == '\n')
				fixed[i] = ' ';
		}
		evbuffer_add_printf(b, "%d ", code);
		evbuffer_add(b, fixed, flen);
		evbuffer_add(b, "\n", 1);
	} else {
		o = json_pack("{s:o, s:i}", "error",
		    json_stringn_nocheck(fixed, flen), "status", code);
		ctype = put_json(r, b, o);
		json_decref(o);
	}
	free(fixed);
	http_reply_send(r, code, b, ctype);
	evbuffer_free(b);
}

#define JSON_PIECE	512		/* bytes of a field escaped at once */

/*
 * The fields of m from first on as a JSON array of strings, added to b:
 * the same bytes as jansson's compact dump of an array of json_field,
 * without building the array (which cost a third of a reply's time in
 * the gateway).  JSONP, which escapes everything outside ASCII, stays
 * with jansson.
 */
static void
put_fields(struct evbuffer *b, const struct waha_msg *m, size_t first)
{
	struct http_gather	 g;
	char			 esc[CODEC_JSON_ROOM(JSON_PIECE)];
	const char		*d;
	char			*fixed;
	size_t			 i, len, at, k;

	g.out = b;
	g.len = 0;
	http_gather_put(&g, "[", 1);
	for (i = first; i < m->n; i++) {
		d = frames_data(m, i);
		len = frames_size(m, i);
		fixed = NULL;
		if (!codec_utf8_valid(d, len))
			d = fixed = codec_utf8_fix(d, len, &len);
		if (i > first)
			http_gather_put(&g, ",", 1);
		http_gather_put(&g, "\"", 1);
		for (at = 0; at < len; at += k) {
			k = len - at < JSON_PIECE ? len - at : JSON_PIECE;
			http_gather_put(&g, esc, codec_json_escape(esc, d + at,
			    k));
		}
		http_gather_put(&g, "\"", 1);
		free(fixed);
	}
	http_gather_put(&g, "]", 1);
	http_gather_flush(&g);
}

/*
 * Answer r with the fields of m from first on.  The body is made in the
 * loop's buffer, which sending the reply empties again.
 */
void
http_reply_fields(struct http_req *r, struct waha_msg *m, size_t first)
{
	struct evbuffer	*b = r->loop->body;
	const char	*ctype = CT_PLAIN;
	json_t		*a;
	size_t		 i;

	evbuffer_drain(b, evbuffer_get_length(b));
	if (r->type == HTTP_PLAIN) {
		for (i = first; i < m->n; i++)
			evbuffer_add(b, frames_data(m, i), frames_size(m, i));
	} else if (r->type != HTTP_JSONP) {
		put_fields(b, m, first);
		ctype = CT_JSON;
	} else {
		a = json_array();
		for (i = first; i < m->n; i++)
			json_array_append_new(a, json_field(frames_data(m, i),
			    frames_size(m, i)));
		ctype = put_json(r, b, a);
		json_decref(a);
	}
	http_reply_send(r, 200, b, ctype);
	evbuffer_drain(b, evbuffer_get_length(b));
}

/*
 * The reason phrase of a code a broker's answer can have (the codes
 * HTTP and WAHA share, and 502 for the rest), or NULL.
 */
const char *
http_reply_phrase(int code)
{
	switch (code) {
	case 200:
		return ("OK");
	case 400:
		return ("Bad Request");
	case 403:
		return ("Forbidden");
	case 404:
		return ("Not Found");
	case 500:
		return ("Internal Server Error");
	case 501:
		return ("Not Implemented");
	case 502:
		return ("Bad Gateway");
	case 503:
		return ("Service Unavailable");
	case 504:
		return ("Gateway Timeout");
	}
	return (NULL);
}

/*
 * The HTTP code of a broker's status: the same, or 502 for one that
 * HTTP does not know.
 */
int
http_reply_code(int status)
{
	return (http_reply_phrase(status) != NULL ? status : 502);
}

/* The content type of a reply to r. */
const char *
http_reply_type(const struct http_req *r)
{
	switch (r->type) {
	case HTTP_PLAIN:
		return (CT_PLAIN);
	case HTTP_JSONP:
		return (CT_JSONP);
	default:
		return (CT_JSON);
	}
}
