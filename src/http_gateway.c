/*
 * The HTTP side of the gateway: each request is checked, turned into a
 * native request to the broker, and answered from a callback when the
 * reply comes back, its time is up, or the broker goes away.
 *
 * GET /SERVICE?args=JSON_ARRAY or POST /SERVICE with the array as body;
 * parameters timeout, type (json or plain), jsonp or callback.  Fields
 * that are not valid UTF-8 have each bad byte replaced by U+FFFD in JSON
 * output, so that no reply can make the gateway emit invalid JSON.
 */
#include "config.h"

#include <limits.h>
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

#define ALLOW		"GET, POST, HEAD, OPTIONS"
#define ALLOW_RESERVED	"GET, HEAD, OPTIONS"
#define CT_JSON		"application/json"
#define CT_JSONP	"application/javascript; charset=utf-8"
#define CT_PLAIN	"text/plain"
#define CT_TEXT		"text/plain; charset=utf-8"

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

/* Send the reply of r, with the headers every reply has, and free r. */
void
http_gateway_send(struct http_req *r, int code, struct evbuffer *body,
    const char *ctype)
{
	struct http_loop	*loop = r->loop;
	struct evkeyvalq	*h = evhttp_request_get_output_headers(r->ev);
	int64_t			 us = util_now_us() - r->start;

	if (ctype != NULL)
		evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (loop->env->cors != NULL) {
		evhttp_add_header(h, "Access-Control-Allow-Origin",
		    loop->env->cors);
		if (strcmp(loop->env->cors, "*") != 0)
			evhttp_add_header(h, "Vary", "Origin");
		if (strcmp(loop->env->cors, "*") != 0 &&
		    http_auth_credentials(loop->env->auth))
			evhttp_add_header(h, "Access-Control-Allow-Credentials",
			    "true");
	}
	if (loop->draining)
		evhttp_add_header(h, "Connection", "close");
	http_broker_forget(r);
	http_metrics_count(loop, code, us);
	if (log_verbose() > 0)
		log_request(r, code, us);
	if (r->conn != NULL)
		http_conn_reply(r->conn);
	evhttp_send_reply(r->ev, code, NULL, body);
	free(r);
}

/* The client of r has gone: forget the request. */
void
http_gateway_gone(struct http_req *r)
{
	struct http_loop	*loop = r->loop;

	http_broker_forget(r);
	HTTP_STAT(loop, loop->stats.gone++);
	log_debug("http: client gone after %.1f ms, request dropped",
	    (util_now_us() - r->start) / 1000.0);
	/* evhttp gave the request up with the connection: it is ours. */
	if (evhttp_request_get_connection(r->ev) == NULL)
		evhttp_request_free(r->ev);
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

/* Answer r with an error: {"error": ..., "status": N}, or a line. */
static void
error_n(struct http_req *r, int code, const void *reason, size_t len)
{
	struct evbuffer	*b;
	const char	*ctype = CT_TEXT;
	json_t		*o;
	char		*fixed;
	size_t		 flen, i;

	if (r->kind == HTTP_METRICS) {
		http_metrics_reply(r, NULL, 0);
		return;
	}
	if (r->kind == HTTP_HEALTH)
		code = 503;
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
	http_gateway_send(r, code, b, ctype);
	evbuffer_free(b);
}

/* Answer r with an error code and a reason. */
void
http_gateway_error(struct http_req *r, int code, const char *reason)
{
	error_n(r, code, reason, strlen(reason));
}

static void
not_allowed(struct http_req *r, const char *allow)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Allow",
	    allow);
	http_gateway_error(r, 405, "method not allowed");
}

static void
reply_ok(struct http_req *r, struct waha_msg *m, size_t first)
{
	struct evbuffer	*b;
	const char	*ctype = CT_PLAIN;
	json_t		*a;
	size_t		 i;

	if ((b = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	if (r->type == HTTP_PLAIN) {
		for (i = first; i < m->n; i++)
			evbuffer_add(b, frames_data(m, i), frames_size(m, i));
	} else {
		a = json_array();
		for (i = first; i < m->n; i++)
			json_array_append_new(a, json_field(frames_data(m, i),
			    frames_size(m, i)));
		ctype = put_json(r, b, a);
		json_decref(a);
	}
	http_gateway_send(r, 200, b, ctype);
	evbuffer_free(b);
}

static const char *
content_type(struct http_req *r)
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

/*
 * The broker's reply to r: status and fields from first on.  Statuses
 * map to the same HTTP codes; one HTTP does not know is a 502.
 */
void
http_gateway_reply(struct http_req *r, int status, struct waha_msg *m,
    size_t first)
{
	struct evbuffer	*b;
	const void	*field = first < m->n ? frames_data(m, first) : "";
	size_t		 len = first < m->n ? frames_size(m, first) : 0;

	switch (r->kind) {
	case HTTP_METRICS:
		http_metrics_reply(r, status == 200 ? field : NULL, len);
		return;
	case HTTP_HEALTH:
		if (status != 200)
			break;
		if ((b = evbuffer_new()) == NULL)
			fatalx("evbuffer_new");
		evbuffer_add(b, "ok\n", 3);
		http_gateway_send(r, 200, b, CT_TEXT);
		evbuffer_free(b);
		return;
	case HTTP_PROBE:
		if (status == 200)
			status = len == 3 && memcmp(field, "200", 3) == 0 ?
			    200 : 404;
		if (status == 200 || status == 404) {
			http_gateway_send(r, status, NULL, content_type(r));
			return;
		}
		break;
	case HTTP_CALL:
		if (status == 200) {
			reply_ok(r, m, first);
			return;
		}
		break;
	}
	switch (status) {
	case 400:
	case 403:
	case 404:
	case 500:
	case 501:
	case 503:
	case 504:
		error_n(r, status, field, len);
		break;
	default:
		http_gateway_error(r, 502, "unknown status from the broker");
		break;
	}
}


static struct http_req *
req_new(struct http_loop *loop, struct evhttp_request *ev)
{
	struct http_req	*r;

	r = xcalloc(1, sizeof(*r));
	r->loop = loop;
	r->ev = ev;
	r->start = util_now_us();
	r->timeout = loop->env->timeout;
	r->type = HTTP_JSON;
	r->conn = http_conn_find(loop, evhttp_request_get_connection(ev));
	if (r->conn != NULL) {
		evhttp_request_set_on_complete_cb(ev, http_conn_complete,
		    r->conn);
		http_conn_busy(r->conn, r);
	}
	return (r);
}

static void
send_or_fail(struct http_req *r)
{
	if (http_broker_send(r) != 0)
		http_gateway_error(r, 502, http_broker_why(r->loop));
}

/* Ask the broker one of its mmi. services for r, with one field. */
static void
ask_broker(struct http_req *r, enum http_kind kind, const char *service,
    const char *field, size_t len)
{
	struct http_loop	*loop = r->loop;

	r->kind = kind;
	if (r->timeout < 0)
		r->timeout = HTTP_PROBE_TIMEOUT;
	http_broker_begin(loop, r->timeout);
	frames_addstr(&loop->out, service);
	if (field != NULL)
		frames_addmem(&loop->out, field, len);
	send_or_fail(r);
}

/* Send r to service name with the fields of the JSON array args. */
static void
call(struct http_req *r, const char *name, size_t len, const char *args,
    size_t alen, const char *what)
{
	struct http_loop	*loop = r->loop;
	char			*cause = NULL;

	http_broker_begin(loop, r->timeout);
	frames_addmem(&loop->out, name, len);
	if (args != NULL &&
	    codec_json_fields(&loop->out, args, alen, what, &cause) != 0) {
		frames_clear(&loop->out);
		http_gateway_error(r, 400, cause);
		free(cause);
		return;
	}
	send_or_fail(r);
}

/* /metrics and /healthz; returns 0 for any other name. */
static int
reserved(struct http_req *r, const char *name, size_t len)
{
	enum evhttp_cmd_type	 m = evhttp_request_get_command(r->ev);
	int			 metrics;

	if (len != 7 || (memcmp(name, "metrics", 7) != 0 &&
	    memcmp(name, "healthz", 7) != 0))
		return (0);
	metrics = name[0] == 'm';
	r->type = HTTP_PLAIN;
	if (r->timeout < 0 || r->timeout > HTTP_PROBE_TIMEOUT)
		r->timeout = HTTP_PROBE_TIMEOUT;
	if (m == EVHTTP_REQ_POST)
		not_allowed(r, ALLOW_RESERVED);
	else if (metrics && m == EVHTTP_REQ_HEAD)
		http_gateway_send(r, 200, NULL, HTTP_CT_METRICS);
	else if (metrics)
		ask_broker(r, HTTP_METRICS, "mmi.stats", NULL, 0);
	else
		ask_broker(r, HTTP_HEALTH, "mmi.services", NULL, 0);
	return (1);
}

/*
 * Whether the user of r may call service name: /metrics is mmi.stats to
 * the rules, /healthz mmi.services.  If not, r has been answered.
 */
static int
allowed(struct http_req *r, const char *name, size_t len)
{
	if (len == 7 && memcmp(name, "metrics", 7) == 0)
		return (http_auth_check(r, "mmi.stats", 9, 1));
	if (len == 7 && memcmp(name, "healthz", 7) == 0)
		return (http_auth_check(r, "mmi.services", 12, 1));
	return (http_auth_check(r, name, len, 0));
}

static void
options(struct http_req *r)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(r->ev);

	evhttp_add_header(h, "Allow", ALLOW);
	if (r->loop->env->cors != NULL) {
		evhttp_add_header(h, "Access-Control-Allow-Methods", ALLOW);
		evhttp_add_header(h, "Access-Control-Allow-Headers",
		    http_auth_credentials(r->loop->env->auth) ?
		    "Authorization, Content-Type" : "Content-Type");
		evhttp_add_header(h, "Access-Control-Max-Age", "600");
	}
	http_gateway_send(r, 204, NULL, NULL);
}

/*
 * The evhttp callback of every request: check it, then send it to the
 * broker; the reply comes back through http_gateway_reply.
 */
void
http_gateway_request(struct evhttp_request *ev, void *arg)
{
	struct http_req		*r = req_new(arg, ev);
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(ev);
	enum evhttp_cmd_type	 m = evhttp_request_get_command(ev);
	struct evbuffer		*body;
	const char		*text, *why;
	char			*name, *args = NULL, *cause = NULL;
	size_t			 len, alen = 0;

	if (http_auth_host(r) != 0)
		return;
	/* A preflight carries no credentials: it needs none. */
	if (m == EVHTTP_REQ_OPTIONS) {
		options(r);
		return;
	}
	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_POST &&
	    m != EVHTTP_REQ_HEAD) {
		not_allowed(r, ALLOW);
		return;
	}
	if ((name = http_params_name(evhttp_uri_get_path(uri), &len)) == NULL) {
		http_gateway_error(r, 400,
		    "malformed percent-encoding in the path");
		return;
	}
	if (allowed(r, name, len) != 0 || reserved(r, name, len)) {
		free(name);
		return;
	}
	if (http_params_query(r, evhttp_uri_get_query(uri), &args, &alen,
	    &cause) != 0)
		goto bad;
	if ((why = proto_name_check(name, len, WAHA_NAME_MAX)) != NULL) {
		cause = xstrdup(why);
		goto bad;
	}
	text = args;
	if (m == EVHTTP_REQ_POST) {
		if (args != NULL) {
			cause = xstrdup("a POST takes its arguments as its "
			    "body, not as args=");
			goto bad;
		}
		body = evhttp_request_get_input_buffer(ev);
		alen = evbuffer_get_length(body);
		text = alen > 0 ? (const char *)evbuffer_pullup(body, -1) :
		    NULL;
	}
	if (r->loop->draining)
		http_gateway_error(r, 503, "shutting down");
	else if (m == EVHTTP_REQ_HEAD)
		ask_broker(r, HTTP_PROBE, "mmi.service", name, len);
	else
		call(r, name, len, text, alen,
		    m == EVHTTP_REQ_POST ? "the body" : "args");
	free(name);
	free(args);
	return;
bad:
	http_gateway_error(r, 400, cause);
	free(cause);
	free(name);
	free(args);
}
