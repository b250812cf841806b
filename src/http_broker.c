/*
 * The gateway's side of the broker: one DEALER socket per event loop,
 * watched through ZMQ_FD, carrying many requests at once, each matched
 * to its reply by a correlation frame: [CORR] "" SERVICE FIELD* out,
 * [CORR] "" STATUS FIELD* back, after zero or more [CORR] "" "206"
 * FIELD* partials for a request that streams.
 *
 * Whether the broker can be reached is learnt two ways.  The DEALER has
 * ZMQ_IMMEDIATE set, so a request sent while there is no connection
 * fails at once with EAGAIN instead of waiting in a queue: that is a
 * 502.  And a socket monitor reports the connection's handshake and its
 * loss; on a loss every request in flight is answered 502 at once, since
 * the broker will route their replies to a peer that no longer exists.
 *
 * With CURVE the monitor also reports a failed handshake: libzmq does
 * not try again after a refusal, so the socket is made anew later, the
 * delay doubling up to CURVE_RECONNECT_MAX, and meanwhile requests get
 * 502 with the reason.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>

#include "waha.h"
#include "http.h"

/* Messages handled before the other events of the loop get a turn. */
#define BROKER_BATCH	256

/* ms before the first new socket after a failed CURVE handshake */
#define BROKER_RETRY	1000

static void	 handshake_failed(struct http_loop *, struct curve_event *);

static int
readable(void *sock)
{
	size_t	 len;
	int	 events;

	len = sizeof(events);
	if (zmq_getsockopt(sock, ZMQ_EVENTS, &events, &len) != 0)
		return (0);
	return ((events & ZMQ_POLLIN) != 0);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct http_req	*r = arg;
	char		 why[64];

	snprintf(why, sizeof(why), "%s within %d ms", r->st != NULL ?
	    "no end" : "no reply", r->timeout);
	/* A stream may be running at its worker: stop it. */
	if (r->on_partial != NULL)
		http_broker_cancel(r);
	http_broker_forget(r);
	r->on_fail(r, 504, why);
}

/*
 * A reply from the broker: answer its request, or count it as late.  A
 * partial (206) goes to its stream, which stays pending; one without
 * fields is the broker's keepalive and carries nothing.
 */
static void
reply(struct http_loop *loop, struct waha_msg *m)
{
	struct http_req	*r;
	uint64_t	 corr;
	size_t		 first;
	int		 status;

	if (m->n == 0 || frames_size(m, 0) != sizeof(corr)) {
		HTTP_STAT(loop, loop->stats.bad_replies++);
		log_warnx("broker: reply without a correlation frame dropped");
		return;
	}
	memcpy(&corr, frames_data(m, 0), sizeof(corr));
	HASH_FIND(hh, loop->pending, &corr, sizeof(corr), r);
	if (r == NULL) {
		HTTP_STAT(loop, loop->stats.late++);
		log_debug("broker: late reply %llu discarded",
		    (unsigned long long)corr);
		return;
	}
	if (m->dropped == 0 && proto_parse_reply(m, &status, &first) == 0 &&
	    first == 3 && status == 206 && r->on_partial != NULL) {
		if (first < m->n)
			r->on_partial(r, m, first);
		return;
	}
	http_broker_forget(r);
	if (m->dropped > 0 || proto_parse_reply(m, &status, &first) != 0 ||
	    first != 3 || status == 206) {
		HTTP_STAT(loop, loop->stats.bad_replies++);
		log_warnx("broker: malformed reply to request %llu",
		    (unsigned long long)corr);
		r->on_fail(r, 502, "malformed reply from the broker");
		return;
	}
	r->on_reply(r, status, m, first);
}

/*
 * The DEALER's ZMQ_FD is edge-triggered: it signals when the socket
 * goes from nothing to read to something, and only if the socket has
 * looked at its mailbox since.  So read until the socket says EAGAIN (a
 * receive that finds nothing looks at the mailbox, as ZMQ_EVENTS does,
 * and re-arms the edge), and when a batch is cut short, or a send may
 * have taken the edge, run this again in the same loop iteration.
 */
static void
on_dealer(evutil_socket_t fd, short what, void *arg)
{
	struct http_loop	*loop = arg;
	int			 n;

	for (n = 0; n < BROKER_BATCH; n++) {
		if (frames_recv(&loop->in, loop->dealer, ZMQ_DONTWAIT,
		    HTTP_REPLY_FRAMES) != 0) {
			frames_clear(&loop->in);
			return;
		}
		reply(loop, &loop->in);
	}
	frames_clear(&loop->in);
	event_active(loop->dealer_ev, EV_READ, 1);
}

static void
monitor_event(struct http_loop *loop, struct curve_event *ev)
{
	unsigned	 n;

	if (ev->event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
		HTTP_STAT(loop, loop->stats.connected = 1);
		loop->refused[0] = '\0';
		loop->retry_ms = 0;
		log_info("broker: connected to %s", loop->env->url);
	} else if (ev->event == ZMQ_EVENT_DISCONNECTED) {
		HTTP_STAT(loop, loop->stats.connected = 0);
		n = HASH_COUNT(loop->pending);
		log_warnx("broker: lost %s, %u requests in flight answered 502",
		    loop->env->url, n);
		http_broker_fail_all(loop, 502,
		    "lost the connection to the broker");
	} else if (ev->fail != CURVE_FAIL_NONE)
		handshake_failed(loop, ev);
}

static void
on_monitor(evutil_socket_t fd, short what, void *arg)
{
	struct http_loop	*loop = arg;
	struct waha_msg		 m;
	struct curve_event	 ev;

	frames_init(&m);
	while (loop->monitor != NULL && readable(loop->monitor) &&
	    frames_recv(&m, loop->monitor, ZMQ_DONTWAIT, 2) == 0) {
		if (curve_monitor_parse(&m, &ev) == 0)
			monitor_event(loop, &ev);
	}
	frames_free(&m);
}

static struct event *
watch(struct http_loop *loop, void *sock, event_callback_fn cb)
{
	struct event	*ev;
	size_t		 len;
	int		 fd;

	len = sizeof(fd);
	if (zmq_getsockopt(sock, ZMQ_FD, &fd, &len) != 0)
		fatalx("ZMQ_FD: %s", zmq_strerror(errno));
	if ((ev = event_new(loop->base, fd, EV_READ | EV_PERSIST, cb,
	    loop)) == NULL || event_add(ev, NULL) != 0)
		fatalx("broker: cannot watch the socket");
	/*
	 * ZMQ_FD only signals what arrives after the socket has been found
	 * empty: look once now.
	 */
	event_active(ev, EV_READ, 1);
	return (ev);
}

/*
 * Open the loop's DEALER and its monitor, and connect to the broker
 * (ZeroMQ connects in the background and retries).
 */
int
http_broker_open(struct http_loop *loop, char **cause)
{
	struct http_env	*env = loop->env;
	char		 ep[64];
	int		 one = 1;
	static unsigned	 gen;

	loop->dealer = util_socket(env->zctx, ZMQ_DEALER);
	zmq_setsockopt(loop->dealer, ZMQ_IMMEDIATE, &one, sizeof(one));
	if (env->curve_own.has_secret && curve_client_setup(loop->dealer,
	    &env->curve_own, &env->curve_server, CURVE_ONCE, cause) != 0)
		return (-1);
	snprintf(ep, sizeof(ep), "inproc://waha-http-monitor-%d-%u", loop->id,
	    __atomic_fetch_add(&gen, 1, __ATOMIC_RELAXED));
	if (zmq_socket_monitor(loop->dealer, ep, curve_monitor_events() |
	    ZMQ_EVENT_DISCONNECTED) != 0) {
		xasprintf(cause, "zmq_socket_monitor: %s",
		    zmq_strerror(errno));
		return (-1);
	}
	loop->monitor = util_socket(env->zctx, ZMQ_PAIR);
	if (util_attach(loop->monitor, 0, ep, cause) != 0 ||
	    util_attach(loop->dealer, 0, env->url, cause) != 0)
		return (-1);
	loop->dealer_ev = watch(loop, loop->dealer, on_dealer);
	loop->monitor_ev = watch(loop, loop->monitor, on_monitor);
	return (0);
}

/* Close the loop's sockets; requests still in flight were answered. */
void
http_broker_close(struct http_loop *loop)
{
	if (loop->dealer_ev != NULL)
		event_free(loop->dealer_ev);
	if (loop->monitor_ev != NULL)
		event_free(loop->monitor_ev);
	if (loop->retry_ev != NULL)
		event_free(loop->retry_ev);
	loop->dealer_ev = loop->monitor_ev = loop->retry_ev = NULL;
	if (loop->dealer != NULL)
		zmq_socket_monitor(loop->dealer, NULL, 0);
	util_close(&loop->monitor, 0);
	util_close(&loop->dealer, 0);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct http_loop	*loop = arg;
	char			*cause = NULL;

	if (loop->dealer != NULL || loop->draining)
		return;
	if (http_broker_open(loop, &cause) != 0)
		fatalx("broker: %s", cause);
}

/*
 * The broker refused the handshake (or could not read it): say why, in
 * the log and to the requests that come meanwhile, and start again on a
 * new socket later.
 */
static void
handshake_failed(struct http_loop *loop, struct curve_event *ev)
{
	struct timeval	 tv;

	loop->retry_ms = loop->retry_ms == 0 ? BROKER_RETRY :
	    loop->retry_ms >= CURVE_RECONNECT_MAX / 2 ? CURVE_RECONNECT_MAX :
	    loop->retry_ms * 2;
	snprintf(loop->refused, sizeof(loop->refused), "the broker cannot be "
	    "reached: %s", curve_fail_text(ev, 1));
	log_warnx("broker: %s: %s: new connection in %d ms", loop->env->url,
	    curve_fail_text(ev, 1), loop->retry_ms);
	event_free(loop->dealer_ev);
	event_free(loop->monitor_ev);
	loop->dealer_ev = loop->monitor_ev = NULL;
	zmq_socket_monitor(loop->dealer, NULL, 0);
	util_close(&loop->monitor, 0);
	util_close(&loop->dealer, 0);
	if (loop->retry_ev == NULL && (loop->retry_ev = evtimer_new(loop->base,
	    on_retry, loop)) == NULL)
		fatalx("evtimer_new");
	tv.tv_sec = loop->retry_ms / 1000;
	tv.tv_usec = (loop->retry_ms % 1000) * 1000;
	evtimer_add(loop->retry_ev, &tv);
}

/* Why a request cannot be sent now, for its 502. */
const char *
http_broker_why(struct http_loop *loop)
{
	return (loop->refused[0] != '\0' ? loop->refused :
	    "the broker cannot be reached");
}

/*
 * Start a request in loop->out: a new correlation frame, the empty
 * delimiter and the WAHA01 header with the request's timeout (ms; -1
 * none) and stream=1 if it streams, so that the broker never starts a
 * request the gateway has given up on, and so that http_broker_cancel
 * can name it.  The caller adds the service and the fields.
 */
void
http_broker_begin(struct http_loop *loop, int timeout, int stream)
{
	uint64_t	 corr = ++loop->next_corr;
	char		 opts[48];

	frames_clear(&loop->out);
	frames_addmem(&loop->out, &corr, sizeof(corr));
	frames_add(&loop->out);
	frames_addstr(&loop->out, WAHA_EXT);
	if (timeout < 0)
		snprintf(opts, sizeof(opts), "%s", stream ? "stream=1" : "");
	else
		snprintf(opts, sizeof(opts), "%stimeout=%d",
		    stream ? "stream=1&" : "", timeout > 0 ? timeout : 1);
	frames_addstr(&loop->out, opts);
}

/* Send the command cmd about r, still pending, to the broker. */
static void
command(struct http_req *r, const char *cmd)
{
	struct http_loop	*loop = r->loop;
	struct waha_msg		 m;

	if (r->corr == 0 || loop->dealer == NULL)
		return;
	frames_init(&m);
	frames_addmem(&m, &r->corr, sizeof(r->corr));
	frames_add(&m);
	frames_addstr(&m, WAHA_EXT);
	frames_addstr(&m, cmd);
	if (frames_send(&m, loop->dealer, ZMQ_DONTWAIT) != 0)
		log_debug("broker: %s not sent: %s", cmd, zmq_strerror(errno));
	/* The send may have taken the edge of ZMQ_FD: look again. */
	event_active(loop->dealer_ev, EV_READ, 1);
	frames_free(&m);
}

/* r's client has taken bytes more of its stream: credit=BYTES. */
void
http_broker_credit(struct http_req *r, long long bytes)
{
	char	 cmd[40];

	snprintf(cmd, sizeof(cmd), "credit=%lld", bytes);
	command(r, cmd);
}

/*
 * r's client has gone: tell the broker, which takes the request off its
 * queue or stops it at its worker (cancel=1), and sends nothing back.
 */
void
http_broker_cancel(struct http_req *r)
{
	command(r, "cancel=1");
}

/*
 * Send loop->out for r without blocking and wait for the reply, up to
 * r->timeout.  Returns -1 if the broker cannot take it (not connected).
 */
int
http_broker_send(struct http_req *r)
{
	struct http_loop	*loop = r->loop;
	struct timeval		 tv;
	uint64_t		 corr;
	int			 rc, saved_errno, ms;

	if (loop->dealer == NULL) {
		frames_clear(&loop->out);
		return (-1);	/* refused: a new socket comes later */
	}
	memcpy(&corr, frames_data(&loop->out, 0), sizeof(corr));
	rc = frames_send(&loop->out, loop->dealer, ZMQ_DONTWAIT);
	saved_errno = errno;
	/* The send may have taken the edge of ZMQ_FD: look again. */
	event_active(loop->dealer_ev, EV_READ, 1);
	if (rc != 0) {
		log_debug("broker: request not sent: %s",
		    zmq_strerror(saved_errno));
		return (-1);
	}
	r->corr = corr;
	HASH_ADD(hh, loop->pending, corr, sizeof(r->corr), r);
	if (r->timeout < 0)
		return (0);
	if ((r->timer = evtimer_new(loop->base, on_timeout, r)) == NULL)
		fatalx("evtimer_new");
	/*
	 * The broker ends a stream at its deadline with a 504 of its own,
	 * after partials perhaps; the gateway's timer is the backstop.
	 */
	ms = r->timeout;
	if (r->on_partial != NULL)
		ms = ms > INT_MAX - HTTP_STREAM_MARGIN ? INT_MAX :
		    ms + HTTP_STREAM_MARGIN;
	if (ms == loop->env->timeout && loop->default_tv != NULL)
		evtimer_add(r->timer, loop->default_tv);
	else {
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		evtimer_add(r->timer, &tv);
	}
	return (0);
}

/* Stop waiting for r's reply; one that comes later is counted late. */
void
http_broker_forget(struct http_req *r)
{
	if (r->corr != 0) {
		HASH_DEL(r->loop->pending, r);
		r->corr = 0;
	}
	if (r->timer != NULL) {
		event_free(r->timer);
		r->timer = NULL;
	}
}

/* Answer every request in flight with code and reason. */
void
http_broker_fail_all(struct http_loop *loop, int code, const char *reason)
{
	struct http_req	*r, *tmp;

	HASH_ITER(hh, loop->pending, r, tmp) {
		http_broker_forget(r);
		r->on_fail(r, code, reason);
	}
}
