/*
 * The gateway's connections: read deadlines, and noticing a client that
 * leaves while its request is in flight.
 *
 * libevent 2.1's evhttp has one inactivity timeout per connection, which
 * a client sending a byte now and then defeats, and no hook between a
 * request's header and its body.  So the gateway makes each connection's
 * bufferevent itself (evhttp_set_bevcb) and keeps its own deadline: a
 * whole header must arrive within --header-timeout of the connection
 * being ready for a request (accepted, or its last reply written), and
 * a whole body within --body-timeout of its header's end, which a
 * callback on the input buffer finds by watching for the empty line.
 *
 * evhttp stops reading a connection once it has handed a request over,
 * so a client that goes away would only be noticed when its reply is
 * written.  While a request is in flight the gateway reads again, with
 * no read callback (as evhttp does while writing), so that a reset
 * closes the connection and drops the request; what a client sends
 * meanwhile stays buffered, up to HTTP_WATCH_BUF bytes.
 *
 * An end of file is not a reset: a client may half-close (shutdown
 * SHUT_WR) once its request is sent and still read the reply, and
 * evhttp, which takes any end of file while a request is in flight or
 * its reply being written as the client gone, would drop it.  So until
 * the reply is written the gateway takes the connection's events
 * itself: an end of file only stops reading, anything else closes.
 * When the reply is written evhttp reads again and meets the end of
 * file once more; requests pipelined before it come first, because a
 * read high-water mark of one byte keeps the socket unread while
 * anything is buffered.
 *
 * A request that streams is the exception: its client is gone at an end
 * of file, since a stream may be silent for minutes and a client killed
 * meanwhile (which closes, it does not reset) would otherwise hold its
 * program that long.  Its reply is written in many pieces, each of which
 * gives evhttp the events back (http_conn_sent takes them again), and
 * the request stays the connection's until its last piece, so that a
 * client leaving mid-stream cancels it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "waha.h"
#include "http.h"

static void	wait_request(struct http_conn *);

/* Exit a draining loop once nothing is in flight. */
void
http_conn_check(struct http_loop *loop)
{
	if (loop->draining && loop->stats.active == 0)
		event_base_loopexit(loop->base, NULL);
}

/* The client of r has gone: cancel the request at the broker, forget it. */
static void
gone(struct http_req *r)
{
	struct http_loop	*loop = r->loop;

	http_broker_cancel(r);
	http_broker_forget(r);
	HTTP_STAT(loop, loop->stats.gone++);
	log_debug("http: client gone after %.1f ms, request cancelled",
	    (util_now_us() - r->start) / 1000.0);
	if (r->on_gone != NULL)
		r->on_gone(r);
	/* evhttp gave the request up with the connection: it is ours. */
	if (evhttp_request_get_connection(r->ev) == NULL)
		evhttp_request_free(r->ev);
	free(r);
}

static void
arm(struct http_conn *c, int ms)
{
	struct timeval	 tv;

	if (ms < 0) {
		evtimer_del(c->deadline);
		return;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->deadline, &tv);
}

static void
header_done(struct http_conn *c)
{
	c->state = CONN_BODY;
	arm(c, c->loop->env->body_timeout);
}

/*
 * Whether len bytes at s end the header: c->newlines counts the line
 * ends seen with nothing but CRs since the last other byte, across
 * calls.  A line at a time, by memchr.
 */
static int
scan_lines(struct http_conn *c, const char *s, size_t len)
{
	const char	*nl, *end = s + len, *q;

	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		for (q = s; q < (nl != NULL ? nl : end); q++) {
			if (*q != '\r') {
				c->newlines = 0;
				break;
			}
		}
		if (nl == NULL)
			return (0);
		if (++c->newlines == 2)
			return (1);
		s = nl + 1;
	}
	return (0);
}

/*
 * Look for the empty line that ends a header in the input from offset
 * from on.  Lines may end in CRLF or LF, as evhttp accepts both.
 */
static void
scan(struct http_conn *c, struct evbuffer *buf, size_t from)
{
	struct evbuffer_iovec	 v[4];
	struct evbuffer_ptr	 p;
	size_t			 len = evbuffer_get_length(buf);
	int			 i, n;

	while (from < len && c->state == CONN_HEADER) {
		c->started = 1;
		if (evbuffer_ptr_set(buf, &p, from, EVBUFFER_PTR_SET) != 0)
			return;
		n = evbuffer_peek(buf, len - from, &p, v, 4);
		for (i = 0; i < n && i < 4 && c->state == CONN_HEADER; i++) {
			if (scan_lines(c, v[i].iov_base, v[i].iov_len))
				header_done(c);
			from += v[i].iov_len;
		}
	}
}

static void
on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct http_conn	*c = arg;

	if (c->state == CONN_HEADER && info->n_added > 0)
		scan(c, buf, evbuffer_get_length(buf) - info->n_added);
}

static void
on_close(struct evhttp_connection *evcon, void *arg)
{
	struct http_conn	*c = arg;
	struct http_loop	*loop = c->loop;
	int			 busy;

	busy = c->state == CONN_BUSY || c->state == CONN_WRITING;
	if (c->cur != NULL)
		gone(c->cur);
	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->scan);
	event_free(c->deadline);
	HASH_DEL(loop->conns, c);
	HTTP_STAT(loop, loop->stats.conns--; loop->stats.active -= busy);
	free(c);
	http_conn_check(loop);
}

/*
 * Learn the evhttp connection that owns the bufferevent (it is the
 * argument of the bufferevent's callbacks), to hear when it closes.
 */
static void
attach(struct http_conn *c)
{
	struct http_loop	*loop = c->loop;
	struct timeval		 tv;
	void			*arg;

	bufferevent_getcb(c->bev, NULL, NULL, NULL, &arg);
	c->evcon = arg;
	evhttp_connection_set_closecb(c->evcon, on_close, c);
	HASH_ADD_PTR(loop->conns, evcon, c);
	c->scan = evbuffer_add_cb(bufferevent_get_input(c->bev), on_input, c);
	if (loop->env->body_timeout >= 0) {
		tv.tv_sec = loop->env->body_timeout / 1000;
		tv.tv_usec = (loop->env->body_timeout % 1000) * 1000;
		bufferevent_set_timeouts(c->bev, NULL, &tv);
	}
	HTTP_STAT(loop, loop->stats.conns++);
	wait_request(c);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn	*c = arg;

	if (c->state == CONN_ATTACH) {
		attach(c);
		return;
	}
	if (c->started) {
		HTTP_STAT(c->loop, c->loop->stats.slow++);
		log_debug("http: connection closed, its request took longer "
		    "than the %s timeout", c->state == CONN_HEADER ?
		    "header" : "body");
	}
	/* This frees c through on_close. */
	evhttp_connection_free(c->evcon);
}

/* Wait for the next request, or close at once when draining. */
static void
wait_request(struct http_conn *c)
{
	c->state = CONN_HEADER;
	c->newlines = 0;
	c->started = 0;
	c->cur = NULL;
	if (c->loop->draining) {
		arm(c, 0);
		return;
	}
	arm(c, c->loop->env->header_timeout);
	scan(c, bufferevent_get_input(c->bev), 0);
}

/*
 * The evhttp_set_bevcb callback: make the bufferevent of a connection
 * just accepted.  evhttp builds its connection on it when this returns;
 * the deadline event, made active now, runs right after that and
 * attaches to it, before any byte is read.
 */
struct bufferevent *
http_conn_new(struct event_base *base, void *arg)
{
	struct http_conn	*c;

	c = xcalloc(1, sizeof(*c));
	c->loop = arg;
	c->state = CONN_ATTACH;
	if ((c->bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    (c->deadline = evtimer_new(base, on_deadline, c)) == NULL)
		fatalx("http: cannot allocate a connection");
	event_active(c->deadline, EV_TIMEOUT, 1);
	return (c->bev);
}

/* The connection of an evhttp connection, or NULL. */
struct http_conn *
http_conn_find(struct http_loop *loop, struct evhttp_connection *evcon)
{
	struct http_conn	*c;

	HASH_FIND_PTR(loop->conns, &evcon, c);
	return (c);
}

/*
 * The bufferevent's events while a request is in flight or its reply
 * being written: a half-close stops reading; a reset, an error or a
 * write timeout closes the connection (which drops a request in flight).
 */
static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn	*c = arg;

	if (what == (BEV_EVENT_READING | BEV_EVENT_EOF) &&
	    (c->cur == NULL || c->cur->stream == HTTP_STREAM_NONE)) {
		c->eof = 1;
		bufferevent_disable(bev, EV_READ);
		log_debug("http: client half-closed, reply still to be %s",
		    c->state == CONN_BUSY ? "made" : "written");
		return;
	}
	/* This frees c through on_close. */
	evhttp_connection_free(c->evcon);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct http_conn	*c = arg;

	c->wcb(bev, c->wcb_arg);
}

/* Take the events of c's bufferevent; evhttp keeps its write callback. */
static void
take_events(struct http_conn *c)
{
	bufferevent_data_cb	 wcb;
	void			*arg;

	bufferevent_getcb(c->bev, NULL, &wcb, NULL, &arg);
	if (wcb == on_write)
		return;
	c->wcb = wcb;
	c->wcb_arg = arg;
	bufferevent_setcb(c->bev, NULL, c->wcb != NULL ? on_write : NULL,
	    on_event, c);
}

/* A request of c has been handed over: watch for the client leaving. */
void
http_conn_busy(struct http_conn *c, struct http_req *r)
{
	c->state = CONN_BUSY;
	c->cur = r;
	evtimer_del(c->deadline);
	HTTP_STAT(c->loop, c->loop->stats.active++);
	take_events(c);
	if (c->eof)
		return;
	bufferevent_setwatermark(c->bev, EV_READ, 0, HTTP_WATCH_BUF);
	bufferevent_enable(c->bev, EV_READ);
}

/* The reply of c's request is about to be written. */
void
http_conn_reply(struct http_conn *c)
{
	c->cur = NULL;
	c->state = CONN_WRITING;
	/*
	 * The read limit stays while the reply is written: libevent reads
	 * on meanwhile, and a client that sends without reading would
	 * otherwise fill our memory.  It goes in http_conn_complete.
	 */
}

/*
 * The streamed reply of c's request has begun: the request stays c's,
 * so that the client leaving cancels it, until http_conn_reply.
 */
void
http_conn_streaming(struct http_conn *c)
{
	c->state = CONN_WRITING;
}

/*
 * Close c at once, without a word more: what its reply has written so
 * far is all the client gets.  Its request, if any, must be done with.
 * Not from inside an evhttp callback.
 */
void
http_conn_abort(struct http_conn *c)
{
	c->cur = NULL;
	/* This frees c through on_close. */
	evhttp_connection_free(c->evcon);
}

/*
 * evhttp has queued the reply (or a piece of it) of c's request and
 * taken the connection's events back: take them again until it is
 * written.
 */
void
http_conn_sent(struct http_conn *c)
{
	take_events(c);
}

/*
 * Write what c's output holds as far as the socket takes it now; the
 * rest goes when it can (write events on).  Whether all went.
 */
int
http_conn_write_rest(struct http_conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	evutil_socket_t	 fd = bufferevent_getfd(c->bev);

	while (evbuffer_get_length(out) > 0 && evbuffer_write(out, fd) > 0)
		;
	if (evbuffer_get_length(out) == 0)
		return (1);
	bufferevent_enable(c->bev, EV_WRITE);
	return (0);
}

/*
 * Write the reply evhttp has just queued on c now, and if it all goes,
 * do what the bufferevent does when its output drains (stop writing,
 * call evhttp's write callback, which ends the request and waits for
 * the next).  Left to the loop, a reply costs two epoll_ctl calls (write
 * events on, then off) and a turn of the loop before its first byte
 * leaves.  Only outside evhttp's callbacks: the request ends here, and
 * may free c.  What cannot be written at once is left to the loop.
 */
void
http_conn_write_now(struct http_conn *c)
{
	if (!http_conn_write_rest(c) || c->wcb == NULL)
		return;
	bufferevent_disable(c->bev, EV_WRITE);
	c->wcb(c->bev, c->wcb_arg);
}

/* The output buffer of c's connection. */
struct evbuffer *
http_conn_output(struct http_conn *c)
{
	return (bufferevent_get_output(c->bev));
}

/* evhttp's on-complete callback: the reply is written. */
void
http_conn_complete(struct evhttp_request *ev, void *arg)
{
	struct http_conn	*c = arg;
	struct http_loop	*loop = c->loop;

	HTTP_STAT(loop, loop->stats.active--);
	/*
	 * evhttp needs a whole body in the buffer: no limit while it
	 * reads, unless nothing more can come (see the top of the file).
	 */
	bufferevent_setwatermark(c->bev, EV_READ, 0, c->eof ? 1 : 0);
	wait_request(c);
	http_conn_check(loop);
}

/* Close every connection that has no request in flight. */
void
http_conn_drain(struct http_loop *loop)
{
	struct http_conn	*c, *tmp;

	HASH_ITER(hh, loop->conns, c, tmp) {
		if (c->state == CONN_HEADER || c->state == CONN_BODY)
			arm(c, 0);
	}
}
