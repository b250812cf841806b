/*
 * The gateway's side of the brokers: in each event loop one DEALER
 * socket per broker of -u (a link), watched through ZMQ_FD, carrying
 * many requests at once, each matched to its reply by a correlation
 * frame: [CORR] "" SERVICE FIELD* out, [CORR] "" STATUS FIELD* back,
 * after zero or more [CORR] "" "206" FIELD* partials for a request that
 * streams.
 * New requests go to the live links in turn (DESIGN.md 2.10).
 *
 * Whether a broker can be reached is learnt three ways.  The DEALER has
 * ZMQ_IMMEDIATE set, so a request sent while there is no connection
 * fails at once with EAGAIN instead of waiting in a queue (and never
 * reaches a broker restarted later): that is a 502.  A socket monitor
 * reports the connection's handshake and its loss; on a loss every
 * request in flight on that link is answered 502 at once, since the
 * broker will route their replies to a peer that no longer exists.  And
 * a probe, an mmi.service request every HTTP_LINK_PROBE ms, finds a
 * broker that keeps its connection but no longer answers (a stopped or
 * hung process: libzmq's own heartbeats are answered by its I/O thread,
 * and a stopped process keeps its TCP connections up): after
 * HTTP_LINK_HUNG ms without an answer the link's requests in flight are
 * answered 502 and it gets no new ones until the probe is answered.
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

/* The correlation frame of a probe: one byte, where requests have 8. */
#define PROBE_CORR	"p"

static void	 handshake_failed(struct http_link *, struct curve_event *);

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
tv_ms(struct timeval *tv, int ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/* Keep the link's state where /metrics reads it. */
static void
publish(struct http_link *l)
{
	struct http_loop	*loop = l->loop;
	unsigned		 i;
	int			 any = 0;

	pthread_mutex_lock(&loop->lock);
	loop->stats.link_up[l->idx] = l->connected && !l->hung;
	for (i = 0; i < loop->nlinks; i++)
		any |= loop->stats.link_up[i];
	loop->stats.connected = any;
	pthread_mutex_unlock(&loop->lock);
}

/* Answer every request in flight on link l with code and reason. */
static void
fail_link(struct http_link *l, int code, const char *reason)
{
	struct http_req	*r, *tmp;

	HASH_ITER(hh, l->loop->pending, r, tmp) {
		if (r->link != l)
			continue;
		http_broker_forget(r);
		r->on_fail(r, code, reason);
	}
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

/* The probe's answer: whatever it says, the broker answers again. */
static void
probe_reply(struct http_link *l)
{
	l->probe_sent = 0;
	if (l->hung) {
		l->hung = 0;
		log_info("broker: %s answers again", l->url);
		publish(l);
	}
}

/*
 * A reply from a broker: answer its request, or count it as late.  A
 * partial (206) goes to its stream, which stays pending; one without
 * fields is the broker's keepalive and carries nothing.
 */
static void
reply(struct http_link *l, struct waha_msg *m)
{
	struct http_loop *loop = l->loop;
	struct http_req	*r;
	uint64_t	 corr;
	size_t		 first;
	int		 status;

	if (m->n > 0 && frames_is(m, 0, PROBE_CORR)) {
		probe_reply(l);
		return;
	}
	if (m->n == 0 || frames_size(m, 0) != sizeof(corr)) {
		HTTP_STAT(loop, loop->stats.bad_replies++);
		log_warnx("broker: reply without a correlation frame dropped");
		return;
	}
	memcpy(&corr, frames_data(m, 0), sizeof(corr));
	HASH_FIND(hh, loop->pending, &corr, sizeof(corr), r);
	if (r == NULL || r->link != l) {
		HTTP_STAT(loop, loop->stats.late++);
		log_debug("broker: late reply %llu discarded",
		    (unsigned long long)corr);
		return;
	}
	/* Any reply shows the broker alive, as well as a probe's does. */
	probe_reply(l);
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
	struct http_link	*l = arg;
	struct http_loop	*loop = l->loop;
	int			 n;

	for (n = 0; n < BROKER_BATCH && l->dealer != NULL; n++) {
		if (frames_recv(&loop->in, l->dealer, ZMQ_DONTWAIT,
		    HTTP_REPLY_FRAMES) != 0) {
			frames_clear(&loop->in);
			return;
		}
		loop->replying = 1;	/* see http_conn_write_now */
		reply(l, &loop->in);
		loop->replying = 0;
	}
	frames_clear(&loop->in);
	if (l->dealer_ev != NULL)
		event_active(l->dealer_ev, EV_READ, 1);
}

static void
monitor_event(struct http_link *l, struct curve_event *ev)
{
	unsigned	 n = 0;
	struct http_req	*r, *tmp;
	char		 why[300];

	if (ev->event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
		l->connected = 1;
		l->hung = 0;
		l->probe_sent = 0;
		l->refused[0] = '\0';
		l->retry_ms = 0;
		publish(l);
		log_info("broker: connected to %s", l->url);
	} else if (ev->event == ZMQ_EVENT_DISCONNECTED) {
		l->connected = 0;
		l->probe_sent = 0;
		publish(l);
		HASH_ITER(hh, l->loop->pending, r, tmp)
			n += r->link == l;
		log_warnx("broker: lost %s, %u requests in flight answered 502",
		    l->url, n);
		if (l->loop->nlinks == 1)
			strlcpy(why, "lost the connection to the broker",
			    sizeof(why));
		else
			snprintf(why, sizeof(why), "lost the connection to the "
			    "broker %s", l->url);
		fail_link(l, 502, why);
	} else if (ev->fail != CURVE_FAIL_NONE)
		handshake_failed(l, ev);
}

static void
on_monitor(evutil_socket_t fd, short what, void *arg)
{
	struct http_link	*l = arg;
	struct waha_msg		 m;
	struct curve_event	 ev;

	frames_init(&m);
	while (l->monitor != NULL && readable(l->monitor) &&
	    frames_recv(&m, l->monitor, ZMQ_DONTWAIT, 2) == 0) {
		if (curve_monitor_parse(&m, &ev) == 0)
			monitor_event(l, &ev);
	}
	frames_free(&m);
}

/*
 * Every HTTP_LINK_PROBE ms: a link whose probe has gone unanswered for
 * HTTP_LINK_HUNG ms is hung, and its requests in flight get 502; one
 * with no probe out gets one.
 */
static void
on_probe(evutil_socket_t fd, short what, void *arg)
{
	struct http_link	*l = arg;
	struct waha_msg		 m;
	int64_t			 now = util_now_ms();
	char			 why[300];

	if (l->dealer == NULL || !l->connected)
		return;
	if (l->probe_sent != 0) {
		if (l->hung || now - l->probe_sent < HTTP_LINK_HUNG)
			return;
		l->hung = 1;
		publish(l);
		log_warnx("broker: %s has not answered for %lld ms: its "
		    "requests in flight answered 502, no new ones until it "
		    "answers", l->url, (long long)(now - l->probe_sent));
		snprintf(why, sizeof(why), "the broker%s%s stopped answering",
		    l->loop->nlinks > 1 ? " " : "",
		    l->loop->nlinks > 1 ? l->url : "");
		fail_link(l, 502, why);
		return;
	}
	frames_init(&m);
	frames_addstr(&m, PROBE_CORR);
	frames_add(&m);
	frames_addstr(&m, "mmi.service");
	frames_addstr(&m, "mmi.probe");
	if (frames_send(&m, l->dealer, ZMQ_DONTWAIT) == 0)
		l->probe_sent = now;
	frames_free(&m);
	/* The send may have taken the edge of ZMQ_FD: look again. */
	event_active(l->dealer_ev, EV_READ, 1);
}

static struct event *
watch(struct http_link *l, void *sock, event_callback_fn cb)
{
	struct event	*ev;
	size_t		 len;
	int		 fd;

	len = sizeof(fd);
	if (zmq_getsockopt(sock, ZMQ_FD, &fd, &len) != 0)
		fatalx("ZMQ_FD: %s", zmq_strerror(errno));
	if ((ev = event_new(l->loop->base, fd, EV_READ | EV_PERSIST, cb,
	    l)) == NULL || event_add(ev, NULL) != 0)
		fatalx("broker: cannot watch the socket");
	/*
	 * ZMQ_FD only signals what arrives after the socket has been found
	 * empty: look once now.
	 */
	event_active(ev, EV_READ, 1);
	return (ev);
}

/*
 * Open link l's DEALER and its monitor, and connect to its broker
 * (ZeroMQ connects in the background and retries).
 */
static int
link_open(struct http_link *l, char **cause)
{
	struct http_env	*env = l->loop->env;
	char		 ep[64];
	int		 one = 1;
	static unsigned	 gen;

	l->dealer = util_socket(env->zctx, ZMQ_DEALER);
	zmq_setsockopt(l->dealer, ZMQ_IMMEDIATE, &one, sizeof(one));
	if (env->curve_own.has_secret && curve_client_setup(l->dealer,
	    &env->curve_own, &env->curve_server, CURVE_ONCE, cause) != 0)
		return (-1);
	snprintf(ep, sizeof(ep), "inproc://waha-http-monitor-%d-%u",
	    l->loop->id, __atomic_fetch_add(&gen, 1, __ATOMIC_RELAXED));
	if (zmq_socket_monitor(l->dealer, ep, curve_monitor_events() |
	    ZMQ_EVENT_DISCONNECTED) != 0) {
		xasprintf(cause, "zmq_socket_monitor: %s",
		    zmq_strerror(errno));
		return (-1);
	}
	l->monitor = util_socket(env->zctx, ZMQ_PAIR);
	if (util_attach(l->monitor, 0, ep, cause) != 0 ||
	    util_attach(l->dealer, 0, l->url, cause) != 0)
		return (-1);
	l->dealer_ev = watch(l, l->dealer, on_dealer);
	l->monitor_ev = watch(l, l->monitor, on_monitor);
	return (0);
}

/* Open a link per broker of -u in loop, each with its probe. */
int
http_broker_open(struct http_loop *loop, char **cause)
{
	struct http_env		*env = loop->env;
	struct http_link	*l;
	struct timeval		 tv;
	unsigned		 i;

	loop->nlinks = env->urls.n;
	loop->links = xcalloc(loop->nlinks, sizeof(*loop->links));
	for (i = 0; i < loop->nlinks; i++) {
		l = &loop->links[i];
		l->loop = loop;
		l->idx = i;
		l->url = env->urls.url[i];
		if (link_open(l, cause) != 0)
			return (-1);
		tv_ms(&tv, HTTP_LINK_PROBE);
		if ((l->probe_ev = event_new(loop->base, -1, EV_PERSIST,
		    on_probe, l)) == NULL || event_add(l->probe_ev, &tv) != 0)
			fatalx("broker: cannot make the probe's timer");
	}
	return (0);
}

static void
link_close(struct http_link *l)
{
	if (l->dealer_ev != NULL)
		event_free(l->dealer_ev);
	if (l->monitor_ev != NULL)
		event_free(l->monitor_ev);
	l->dealer_ev = l->monitor_ev = NULL;
	if (l->dealer != NULL)
		zmq_socket_monitor(l->dealer, NULL, 0);
	util_close(&l->monitor, 0);
	util_close(&l->dealer, 0);
}

/* Close the loop's sockets; requests still in flight were answered. */
void
http_broker_close(struct http_loop *loop)
{
	unsigned	 i;

	for (i = 0; i < loop->nlinks; i++) {
		link_close(&loop->links[i]);
		if (loop->links[i].retry_ev != NULL)
			event_free(loop->links[i].retry_ev);
		if (loop->links[i].probe_ev != NULL)
			event_free(loop->links[i].probe_ev);
	}
	free(loop->links);
	loop->links = NULL;
	loop->nlinks = 0;
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct http_link	*l = arg;
	char			*cause = NULL;

	if (l->dealer != NULL || l->loop->draining)
		return;
	if (link_open(l, &cause) != 0)
		fatalx("broker: %s", cause);
}

/*
 * The broker refused the handshake (or could not read it): say why, in
 * the log and to the requests that come meanwhile, and start again on a
 * new socket later.
 */
static void
handshake_failed(struct http_link *l, struct curve_event *ev)
{
	struct timeval	 tv;

	l->retry_ms = l->retry_ms == 0 ? BROKER_RETRY :
	    l->retry_ms >= CURVE_RECONNECT_MAX / 2 ? CURVE_RECONNECT_MAX :
	    l->retry_ms * 2;
	snprintf(l->refused, sizeof(l->refused), "the broker cannot be "
	    "reached: %s", curve_fail_text(ev, 1));
	log_warnx("broker: %s: %s: new connection in %d ms", l->url,
	    curve_fail_text(ev, 1), l->retry_ms);
	l->connected = 0;
	publish(l);
	link_close(l);
	if (l->retry_ev == NULL && (l->retry_ev = evtimer_new(l->loop->base,
	    on_retry, l)) == NULL)
		fatalx("evtimer_new");
	tv_ms(&tv, l->retry_ms);
	evtimer_add(l->retry_ev, &tv);
}

/* Why a request cannot be sent now, for its 502. */
const char *
http_broker_why(struct http_loop *loop)
{
	unsigned	 i;

	for (i = 0; i < loop->nlinks; i++) {
		if (loop->links[i].refused[0] != '\0')
			return (loop->links[i].refused);
	}
	return (loop->nlinks > 1 ? "no broker can be reached" :
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
	size_t		 n = 0;

	frames_clear(&loop->out);
	frames_addmem(&loop->out, &corr, sizeof(corr));
	frames_add(&loop->out);
	frames_addstr(&loop->out, WAHA_EXT);
	/* What snprintf would make, which took as long as the rest here. */
	if (stream) {
		memcpy(opts, "stream=1", 8);
		n = 8;
	}
	if (timeout >= 0) {
		if (stream)
			opts[n++] = '&';
		memcpy(opts + n, "timeout=", 8);
		n += 8;
		n += util_decimal(opts + n,
		    timeout > 0 ? (uint64_t)timeout : 1);
	}
	frames_addmem(&loop->out, opts, n);
}

/* Send the command cmd about r, still pending, to the broker. */
static void
command(struct http_req *r, const char *cmd)
{
	struct http_link	*l = r->link;
	struct waha_msg		 m;

	if (r->corr == 0 || l == NULL || l->dealer == NULL)
		return;
	frames_init(&m);
	frames_addmem(&m, &r->corr, sizeof(r->corr));
	frames_add(&m);
	frames_addstr(&m, WAHA_EXT);
	frames_addstr(&m, cmd);
	if (frames_send(&m, l->dealer, ZMQ_DONTWAIT) != 0)
		log_debug("broker: %s not sent: %s", cmd, zmq_strerror(errno));
	/* The send may have taken the edge of ZMQ_FD: look again. */
	event_active(l->dealer_ev, EV_READ, 1);
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
 * The link for a new request: the next one, in turn, that is connected
 * and answers; failing that (the monitor may not have said yet), the
 * next that is not known to hang, which ZMQ_IMMEDIATE may still refuse.
 */
static struct http_link *
pick(struct http_loop *loop)
{
	struct http_link	*l;
	unsigned		 i, k;
	int			 pass;

	for (pass = 0; pass < 2; pass++) {
		for (k = 0; k < loop->nlinks; k++) {
			i = (loop->next_link + k) % loop->nlinks;
			l = &loop->links[i];
			if (l->dealer == NULL || l->hung ||
			    (pass == 0 && !l->connected))
				continue;
			loop->next_link = (i + 1) % loop->nlinks;
			return (l);
		}
	}
	return (NULL);
}

/*
 * Send loop->out for r without blocking and wait for the reply, up to
 * r->timeout.  Returns -1 if no broker can take it (none connected).
 */
int
http_broker_send(struct http_req *r)
{
	struct http_loop	*loop = r->loop;
	struct http_link	*l;
	struct timeval		 tv;
	uint64_t		 corr;
	int			 rc, saved_errno, ms;

	if ((l = pick(loop)) == NULL) {
		frames_clear(&loop->out);
		return (-1);	/* refused: a new socket comes later */
	}
	memcpy(&corr, frames_data(&loop->out, 0), sizeof(corr));
	rc = frames_send(&loop->out, l->dealer, ZMQ_DONTWAIT);
	saved_errno = errno;
	/* The send may have taken the edge of ZMQ_FD: look again. */
	event_active(l->dealer_ev, EV_READ, 1);
	if (rc != 0) {
		log_debug("broker: request not sent to %s: %s", l->url,
		    zmq_strerror(saved_errno));
		return (-1);
	}
	r->corr = corr;
	r->link = l;
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
		tv_ms(&tv, ms);
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
	r->link = NULL;
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
