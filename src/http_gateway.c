/*
 * The HTTP side of the gateway: each request is checked, turned into a
 * native request to the broker, and answered (through http_reply.c)
 * from a callback when the reply comes back, its time is up, or the
 * broker goes away.
 *
 * GET /SERVICE?args=JSON_ARRAY or POST /SERVICE with the array as body;
 * parameters timeout, type (json or plain), jsonp or callback, stream;
 * Accept: text/event-stream streams too (http_stream.c).
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "waha.h"
#include "http.h"

#define ALLOW		"GET, POST, HEAD, OPTIONS"
#define ALLOW_RESERVED	"GET, HEAD, OPTIONS"

/* Answer r, GET /metrics, with mmi.stats at text (NULL: none). */
static void
metrics(struct http_req *r, const char *text, size_t len)
{
	struct evbuffer	*b;

	b = http_metrics_text(r->loop->env, text, len);
	http_reply_send(r, 200, b, HTTP_CT_METRICS);
	evbuffer_free(b);
}

/*
 * Answer r, GET /status, with the page of the mmi.stats document at text,
 * or of why there is none.  Its headers forbid any script, frame or load.
 */
static void
status_page(struct http_req *r, const char *text, size_t len,
    const char *why)
{
	struct evbuffer	*b;

	b = http_status_page(r->loop->env, text, len, why);
	evhttp_add_header(evhttp_request_get_output_headers(r->ev),
	    "Content-Security-Policy", "default-src 'none'; "
	    "style-src 'unsafe-inline'; frame-ancestors 'none'");
	http_reply_send(r, 200, b, HTTP_CT_HTML);
	evbuffer_free(b);
}

/*
 * Answer r with an error, or for the gateway's own paths with what they
 * answer when the broker does not.
 */
static void
fail_n(struct http_req *r, int code, const void *reason, size_t len)
{
	char	 why[256];

	if (r->kind == HTTP_METRICS) {
		metrics(r, NULL, 0);
		return;
	}
	if (r->kind == HTTP_STATUS) {
		snprintf(why, sizeof(why), "%d %.*s", code, (int)len,
		    (const char *)reason);
		status_page(r, NULL, 0, why);
		return;
	}
	if (r->kind == HTTP_HEALTH)
		code = 503;
	http_reply_error(r, code, reason, len);
}

static void
fail(struct http_req *r, int code, const char *reason)
{
	fail_n(r, code, reason, strlen(reason));
}

static void
not_allowed(struct http_req *r, const char *allow)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Allow",
	    allow);
	fail(r, 405, "method not allowed");
}

/*
 * The broker's reply to r: status and fields from first on.  Statuses
 * map to the same HTTP codes; one HTTP does not know is a 502.
 */
static void
reply(struct http_req *r, int status, struct waha_msg *m,
    size_t first)
{
	struct evbuffer	*b;
	const void	*field = first < m->n ? frames_data(m, first) : "";
	size_t		 len = first < m->n ? frames_size(m, first) : 0;

	switch (r->kind) {
	case HTTP_METRICS:
		metrics(r, status == 200 ? field : NULL, len);
		return;
	case HTTP_STATUS:
		if (status != 200)
			break;
		status_page(r, field, len, NULL);
		return;
	case HTTP_STATUS_JSON:
		if (status != 200)
			break;
		if ((b = evbuffer_new()) == NULL)
			fatalx("evbuffer_new");
		evbuffer_add(b, field, len);
		http_reply_send(r, 200, b, http_reply_type(r));
		evbuffer_free(b);
		return;
	case HTTP_HEALTH:
		if (status != 200)
			break;
		if ((b = evbuffer_new()) == NULL)
			fatalx("evbuffer_new");
		evbuffer_add(b, "ok\n", 3);
		http_reply_send(r, 200, b, HTTP_CT_TEXT);
		evbuffer_free(b);
		return;
	case HTTP_POLL:
		break;
	case HTTP_PROBE:
		if (status == 200)
			status = len == 3 && memcmp(field, "200", 3) == 0 ?
			    200 : 404;
		if (status == 200 || status == 404) {
			http_reply_send(r, status, NULL, http_reply_type(r));
			return;
		}
		break;
	case HTTP_CALL:
		if (status == 200) {
			http_reply_fields(r, m, first);
			return;
		}
		break;
	}
	if (status != 200 && http_reply_code(status) == status)
		fail_n(r, status, field, len);
	else
		fail(r, 502, "unknown status from the broker");
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
	r->on_reply = reply;
	r->on_fail = fail;
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
		fail(r, 502, http_broker_why(r->loop));
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
	http_broker_begin(loop, r->timeout, 0);
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

	http_broker_begin(loop, r->timeout, r->stream != HTTP_STREAM_NONE);
	frames_addmem(&loop->out, name, len);
	if (args != NULL &&
	    codec_json_fields(&loop->out, args, alen, what, &cause) != 0) {
		frames_clear(&loop->out);
		fail(r, 400, cause);
		free(cause);
		return;
	}
	if (r->stream != HTTP_STREAM_NONE)
		http_stream_prepare(r);
	send_or_fail(r);
}

/*
 * Whether r asks for Server-Sent Events.  One with Last-Event-ID is an
 * EventSource reconnecting: a stream cannot be resumed, and 204 tells
 * it to stop rather than run the request again.
 */
static int
event_stream(struct http_req *r)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(r->ev);
	const char		*accept = evhttp_find_header(h, "Accept");

	if (accept == NULL || strcasestr(accept, HTTP_CT_SSE) == NULL)
		return (0);
	if (evhttp_find_header(h, "Last-Event-ID") == NULL)
		return (1);
	http_reply_send(r, 204, NULL, NULL);
	return (-1);
}

/*
 * Which of the gateway's own paths name (len bytes, without its /) is:
 * /metrics, /healthz, the status page and its JSON; HTTP_CALL for a
 * service.
 */
static enum http_kind
own_path(const struct http_env *env, const char *name, size_t len)
{
	const char	*sp = env->status_path;
	size_t		 sl = sp != NULL ? strlen(sp) : 0;

	if (len == 7 && memcmp(name, "metrics", 7) == 0)
		return (HTTP_METRICS);
	if (len == 7 && memcmp(name, "healthz", 7) == 0)
		return (HTTP_HEALTH);
	if (sp == NULL || len < sl || memcmp(name, sp, sl) != 0)
		return (HTTP_CALL);
	if (len == sl)
		return (HTTP_STATUS);
	if (len == sl + 5 && memcmp(name + sl, ".json", 5) == 0)
		return (HTTP_STATUS_JSON);
	return (HTTP_CALL);
}

static const char *
own_type(enum http_kind kind)
{
	switch (kind) {
	case HTTP_METRICS:
		return (HTTP_CT_METRICS);
	case HTTP_STATUS:
		return (HTTP_CT_HTML);
	default:
		return (NULL);
	}
}

/* The gateway's own paths; returns 0 for a service. */
static int
reserved(struct http_req *r, enum http_kind kind)
{
	enum evhttp_cmd_type	 m = evhttp_request_get_command(r->ev);

	if (kind == HTTP_CALL)
		return (0);
	if (kind != HTTP_STATUS_JSON)
		r->type = HTTP_PLAIN;
	if (r->timeout < 0 || r->timeout > HTTP_PROBE_TIMEOUT)
		r->timeout = HTTP_PROBE_TIMEOUT;
	if (m == EVHTTP_REQ_POST)
		not_allowed(r, ALLOW_RESERVED);
	else if (m == EVHTTP_REQ_HEAD && kind != HTTP_HEALTH)
		http_reply_send(r, 200, NULL, own_type(kind) != NULL ?
		    own_type(kind) : http_reply_type(r));
	else if (kind == HTTP_HEALTH)
		ask_broker(r, kind, "mmi.services", NULL, 0);
	else
		ask_broker(r, kind, "mmi.stats", NULL, 0);
	return (1);
}

/*
 * Whether the length of r's body is unambiguous (RFC 9112 section 6.3):
 * 0, or the HTTP code that refuses it.  evhttp frames a body by the
 * first Content-Length and ignores a transfer coding other than chunked,
 * so behind a proxy that reads another header the rest of the body
 * would pass for a request.  Equal Content-Lengths are refused too, as
 * nginx does: no honest client repeats one.
 */
static int
framing(struct http_req *r, const char **why)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(r->ev);
	struct evkeyval		*kv;
	const char		*te = NULL;
	int			 ncl = 0, nte = 0;

	TAILQ_FOREACH(kv, h, next) {
		if (strcasecmp(kv->key, "Content-Length") == 0)
			ncl++;
		else if (strcasecmp(kv->key, "Transfer-Encoding") == 0) {
			nte++;
			te = kv->value;
		}
	}
	*why = NULL;
	if (ncl > 1)
		*why = "more than one Content-Length";
	else if (ncl > 0 && nte > 0)
		*why = "both Content-Length and Transfer-Encoding";
	else if (nte > 1)
		*why = "more than one Transfer-Encoding";
	else if (te != NULL && strcasecmp(te, "chunked") != 0) {
		*why = "no transfer coding but chunked is implemented";
		return (501);
	}
	return (*why != NULL ? 400 : 0);
}

/* Answer r with code, an access control refusal, unless it is 0. */
static int
refuse(struct http_req *r, int code)
{
	if (code == 0)
		return (0);
	fail(r, code, code == 401 ? "authentication required" :
	    code == 421 ? "this host name is not served here" : "not allowed");
	return (-1);
}

/*
 * Whether the user of r may call service name, of kind: /healthz is
 * mmi.services to the rules, /metrics and the status page mmi.stats.  If
 * not, r has been answered.
 */
static int
allowed(struct http_req *r, enum http_kind kind, const char *name,
    size_t len)
{
	if (kind == HTTP_HEALTH)
		return (refuse(r, http_auth_check(r, "mmi.services", 12, 1)));
	if (kind != HTTP_CALL)
		return (refuse(r, http_auth_check(r, "mmi.stats", 9, 1)));
	return (refuse(r, http_auth_check(r, name, len, 0)));
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
	http_reply_send(r, 204, NULL, NULL);
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
	enum http_kind		 kind;
	struct evbuffer		*body;
	const char		*text, *why;
	char			*name, *args = NULL, *cause = NULL;
	size_t			 len, alen = 0;
	int			 code;

	if ((code = framing(r, &why)) != 0) {
		/* What follows in the connection cannot be framed. */
		evhttp_add_header(evhttp_request_get_output_headers(ev),
		    "Connection", "close");
		fail(r, code, why);
		return;
	}
	if (refuse(r, http_auth_host(r)) != 0)
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
		fail(r, 400,
		    "malformed percent-encoding in the path");
		return;
	}
	kind = own_path(r->loop->env, name, len);
	if (allowed(r, kind, name, len) != 0 || reserved(r, kind)) {
		free(name);
		return;
	}
	if (m != EVHTTP_REQ_HEAD && r->conn != NULL) {
		if ((code = event_stream(r)) < 0) {
			free(name);
			return;
		}
		if (code > 0)
			r->stream = HTTP_STREAM_SSE;
	}
	if (http_params_query(r, evhttp_uri_get_query(uri), &args, &alen,
	    &cause) != 0)
		goto bad;
	/* A stream needs its connection, to know when the client goes. */
	if (r->conn == NULL || m == EVHTTP_REQ_HEAD)
		r->stream = HTTP_STREAM_NONE;
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
		fail(r, 503, "shutting down");
	else if (m == EVHTTP_REQ_HEAD)
		ask_broker(r, HTTP_PROBE, "mmi.service", name, len);
	else
		call(r, name, len, text, alen,
		    m == EVHTTP_REQ_POST ? "the body" : "args");
	free(name);
	free(args);
	return;
bad:
	fail(r, 400, cause);
	free(cause);
	free(name);
	free(args);
}
