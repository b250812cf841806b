/*
 * Writing a reply to a broker's answer without evhttp's header path.
 *
 * evhttp_send_reply prints the status line and each header with printf
 * (about a third of the gateway's instructions for a small reply, with
 * the Date header that it formats anew each time) and leaves the bytes
 * for the loop's next turn, turning the connection's write events on
 * and off: two epoll_ctl calls.  For the common reply (HTTP/1.1 GET or
 * POST, a status with a body, a connection that stays open) the gateway
 * writes the same bytes itself, in the same order evhttp would: status
 * line, the request's output headers, the headers every reply has, Date
 * and Content-Length; then writes them to the socket at once, and ends
 * the request with evhttp_send_reply_end, which finishes it now if all
 * was written, or when the output drains.  Anything else goes through
 * evhttp_send_reply.
 *
 * Only outside evhttp's callbacks (answering a broker's reply): ending
 * the request may free it, its connection, and start the next one.
 */
#include "config.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>

#include "waha.h"
#include "http.h"

/*
 * Whether the reply with code to ev can be written here: HTTP/1.1, GET
 * or POST, a known code, a content type, a request with no Connection
 * header but "keep-alive" (what a close means, evhttp decides) and no
 * Connection header in the reply.  (libevent 2.1 has no accessor for a
 * request's version: http_struct.h has it.)
 */
int
http_write_ok(struct evhttp_request *ev, int code, const char *ctype)
{
	enum evhttp_cmd_type	 m = evhttp_request_get_command(ev);
	const char		*conn;

	conn = evhttp_find_header(evhttp_request_get_input_headers(ev),
	    "Connection");
	return (ev->major == 1 && ev->minor == 1 &&
	    (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_POST) &&
	    http_reply_phrase(code) != NULL && ctype != NULL &&
	    (conn == NULL || strcasecmp(conn, "keep-alive") == 0) &&
	    evhttp_find_header(evhttp_request_get_output_headers(ev),
	    "Connection") == NULL);
}

/*
 * Put len bytes in g: when it is full, what it holds goes to its buffer
 * first; what is longer than all of g goes there directly.
 */
void
http_gather_put(struct http_gather *g, const void *data, size_t len)
{
	if (g->len + len > sizeof(g->buf))
		http_gather_flush(g);
	if (len > sizeof(g->buf)) {
		evbuffer_add(g->out, data, len);
		return;
	}
	memcpy(g->buf + g->len, data, len);
	g->len += len;
}

/* Add what g holds to its buffer. */
void
http_gather_flush(struct http_gather *g)
{
	if (g->len > 0)
		evbuffer_add(g->out, g->buf, g->len);
	g->len = 0;
}

static void
put_str(struct http_gather *h, const char *s)
{
	http_gather_put(h, s, strlen(s));
}

/* Put "name: value\r\n" in the header block arg. */
void
http_write_header(void *arg, const char *name, const char *value)
{
	struct http_gather	*h = arg;

	put_str(h, name);
	http_gather_put(h, ": ", 2);
	put_str(h, value);
	http_gather_put(h, "\r\n", 2);
}

/* Put the decimal digits of v in h. */
static void
put_number(struct http_gather *h, size_t v)
{
	char	 buf[20];

	http_gather_put(h, buf, util_decimal(buf, v));
}

/*
 * The Date header's value for now, as evhttp writes it (RFC 7231's
 * IMF-fixdate, in English whatever the locale), made once a second.
 */
static const char *
date_now(struct http_loop *loop)
{
	static const char	*days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
				    "Fri", "Sat" };
	static const char	*months[] = { "Jan", "Feb", "Mar", "Apr",
				    "May", "Jun", "Jul", "Aug", "Sep", "Oct",
				    "Nov", "Dec" };
	time_t			 t = time(NULL);
	struct tm		 tm;

	if (t == loop->date_at && loop->date[0] != '\0')
		return (loop->date);
	gmtime_r(&t, &tm);
	snprintf(loop->date, sizeof(loop->date),
	    "%s, %02d %s %4d %02d:%02d:%02d GMT", days[tm.tm_wday],
	    tm.tm_mday, months[tm.tm_mon], 1900 + tm.tm_year, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
	loop->date_at = t;
	return (loop->date);
}

/*
 * Start the header block h of a reply with code to ev, for out, the
 * output buffer of ev's connection: the status line and ev's output
 * headers.  The caller adds its own headers, then http_write_end the
 * rest.
 */
void
http_write_begin(struct http_gather *h, struct evbuffer *out,
    struct evhttp_request *ev, int code)
{
	struct evkeyval	*kv;

	h->out = out;
	h->len = 0;
	http_gather_put(h, "HTTP/1.1 ", 9);
	put_number(h, code);
	http_gather_put(h, " ", 1);
	put_str(h, http_reply_phrase(code));
	http_gather_put(h, "\r\n", 2);
	TAILQ_FOREACH(kv, evhttp_request_get_output_headers(ev), next)
		http_write_header(h, kv->key, kv->value);
}

/*
 * End h with Date and Content-Length, add body (which is emptied; NULL
 * for none), write what the socket takes now, and end the request: at
 * once if all went, else when the rest has been written.  c's write
 * callback is evhttp's (http_conn_busy took it), which ends it then.
 */
void
http_write_end(struct http_conn *c, struct evhttp_request *ev,
    struct http_gather *h, struct evbuffer *body)
{
	size_t	 len = body != NULL ? evbuffer_get_length(body) : 0;

	http_write_header(h, "Date", date_now(c->loop));
	http_gather_put(h, "Content-Length: ", 16);
	put_number(h, len);
	http_gather_put(h, "\r\n\r\n", 4);
	http_gather_flush(h);
	if (len > 0)
		evbuffer_add_buffer(h->out, body);
	http_conn_write_rest(c);
	evhttp_send_reply_end(ev);
}
