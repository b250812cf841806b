/*
 * The MDP worker session of WAHA's own workers (script service, balancer
 * upstream, test worker): READY with a capacity and features, heartbeats
 * both ways, REQUEST with its options, CANCEL, REPLY and FAIL, and a
 * fresh socket whenever a broker falls silent or sends DISCONNECT, so
 * that a restarted broker sees a new worker.
 *
 * Several brokers (DESIGN.md 2.10): the url is a list, and the session
 * keeps one link per broker, each with its own socket, READY,
 * heartbeats and reconnection.  The tokens handed to the caller carry
 * two bytes before the broker's own: the link's index and its epoch (how
 * many sockets it has had), so that worker_reply and worker_fail send on
 * the socket the request came from, and drop the answer of a request
 * whose connection has been replaced since (that broker has answered it
 * 503 already, and a restarted one never knew it).
 *
 * Capacity is the session's: never more than cf.capacity requests handed
 * to the caller and not yet answered, across all brokers.  Each broker
 * believes it has the whole capacity, so more may come at once: those
 * wait in a local FIFO queue, bounded by capacity times brokers (the
 * most the brokers can have in flight here), with their deadlines (one
 * that passes is answered FAIL 504) and found by CANCEL.  A queue rather
 * than a FAIL: a broker passes a FAIL on to the client and never
 * dispatches the request again, so under load from several brokers,
 * where such races are the normal case, a FAIL would turn them into
 * 503s that another worker could have served.
 *
 * With CURVE a monitor watches the handshake.  libzmq never reconnects
 * after a refusal (and loops after a wrong server key unless told not
 * to), so a failed handshake is reported through the notice callback and
 * the link starts again on a new socket, later each time: the delay
 * doubles up to CURVE_RECONNECT_MAX and is reset once a session works.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"

/* ms between looks at the monitor while a CURVE handshake is pending */
#define WORKER_HANDSHAKE_POLL	100

/* bytes before the broker's token in the tokens handed out */
#define WORKER_PREFIX		2

/* One broker. */
struct worker_link {
	struct worker_session	*ws;
	char			*url;
	unsigned char		 idx;
	unsigned char		 epoch;		/* sockets so far, mod 256 */
	void			*sock;
	int			 registered;	/* READY sent, not withdrawn */
	int64_t			 last_recv;	/* ms */
	int64_t			 last_send;	/* ms */
	int64_t			 reconnect_at;	/* ms, 0 if not waiting */
	int64_t			 registered_at;	/* ms */
	int			 delay;		/* ms, the next reconnect's */
	void			*mon;		/* CURVE handshake monitor */
	int			 handshook;	/* the monitor said it worked */
};

/* A request that came when every slot was taken. */
struct worker_wait {
	zmq_msg_t		 token;		/* with the prefix */
	struct waha_msg		 body;
	struct proto_opts	 opts;
	int64_t			 expires;	/* ms; 0 for none */
	TAILQ_ENTRY(worker_wait) link;
};
TAILQ_HEAD(worker_waits, worker_wait);

struct worker_session {
	void			*ctx;
	struct worker_config	 cf;
	struct urls		 urls;
	struct worker_link	*link;
	unsigned		 nlinks;
	unsigned		 next;		/* the link read first */
	int			 draining;	/* withdrawn for good */
	unsigned		 busy;		/* handed out, not answered */
	struct worker_waits	 queue;
	unsigned		 nqueued;
	unsigned		 max_queue;
	struct waha_msg		 in;
	struct waha_msg		 out;
};

static void
notice(struct worker_session *ws, const char *fmt, ...)
    WAHA_ATTR_PRINTF(2, 3);

static void
notice(struct worker_session *ws, const char *fmt, ...)
{
	char	 buf[512];
	va_list	 ap;

	if (ws->cf.notice == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ws->cf.notice(ws->cf.arg, buf);
}

static int
send_out(struct worker_link *l)
{
	int	 rc;

	if (l->sock == NULL) {
		frames_clear(&l->ws->out);
		errno = ENOTCONN;
		return (-1);
	}
	rc = frames_send(&l->ws->out, l->sock, ZMQ_DONTWAIT);
	l->last_send = util_now_ms();
	return (rc);
}

static int	 link_register(struct worker_link *, char **);

/*
 * Create a session and register with every broker of cf->url, a list
 * "URL[,URL...]".
 */
struct worker_session *
worker_new(void *ctx, const struct worker_config *cf, char **cause)
{
	struct worker_session	*ws;
	unsigned		 i;

	ws = xcalloc(1, sizeof(*ws));
	ws->ctx = ctx;
	ws->cf = *cf;
	TAILQ_INIT(&ws->queue);
	frames_init(&ws->in);
	frames_init(&ws->out);
	if (urls_parse(cf->url, &ws->urls, cause) != 0) {
		free(ws);
		return (NULL);
	}
	ws->nlinks = ws->urls.n;
	ws->max_queue = (cf->capacity > 0 ? cf->capacity : 1) * ws->nlinks;
	ws->link = xcalloc(ws->nlinks, sizeof(*ws->link));
	for (i = 0; i < ws->nlinks; i++) {
		ws->link[i].ws = ws;
		ws->link[i].idx = i;
		ws->link[i].url = ws->urls.url[i];
		ws->link[i].delay = cf->reconnect;
	}
	if (worker_register(ws, cause) != 0) {
		worker_free(ws);
		return (NULL);
	}
	return (ws);
}

static void
wait_free(struct worker_session *ws, struct worker_wait *w)
{
	TAILQ_REMOVE(&ws->queue, w, link);
	ws->nqueued--;
	zmq_msg_close(&w->token);
	frames_free(&w->body);
	free(w);
}

/* Close the session's sockets (replies still queued get a short linger). */
void
worker_free(struct worker_session *ws)
{
	unsigned	 i;

	if (ws == NULL)
		return;
	while (!TAILQ_EMPTY(&ws->queue))
		wait_free(ws, TAILQ_FIRST(&ws->queue));
	for (i = 0; i < ws->nlinks; i++) {
		util_close(&ws->link[i].mon, 0);
		util_close(&ws->link[i].sock, WAHA_LINGER);
	}
	free(ws->link);
	urls_free(&ws->urls);
	frames_free(&ws->in);
	frames_free(&ws->out);
	free(ws);
}

/*
 * The socket of the first broker, NULL while it reconnects; callers that
 * poll should use worker_pollitems, which has them all.
 */
void *
worker_socket(struct worker_session *ws)
{
	return (ws->link[0].sock);
}

/*
 * Fill items (room for max) with a ZMQ_POLLIN item per broker socket;
 * returns how many.  The sockets change on reconnect: fill them anew
 * before each poll.
 */
int
worker_pollitems(struct worker_session *ws, zmq_pollitem_t *items, int max)
{
	unsigned	 i;
	int		 n = 0;

	for (i = 0; i < ws->nlinks && n < max; i++) {
		if (ws->link[i].sock == NULL)
			continue;
		items[n].socket = ws->link[i].sock;
		items[n].fd = -1;
		items[n].events = ZMQ_POLLIN;
		items[n].revents = 0;
		n++;
	}
	return (n);
}

/* How many brokers the session talks to: room for worker_pollitems. */
int
worker_nsockets(struct worker_session *ws)
{
	return (ws->nlinks);
}

/*
 * Drop what waits from link l: its socket is going, and its broker has
 * answered those requests (or never knew them, if it restarted).
 */
static void
forget_link(struct worker_link *l)
{
	struct worker_session	*ws = l->ws;
	struct worker_wait	*w, *next;
	unsigned		 n = 0;

	for (w = TAILQ_FIRST(&ws->queue); w != NULL; w = next) {
		next = TAILQ_NEXT(w, link);
		if (((unsigned char *)zmq_msg_data(&w->token))[0] == l->idx) {
			wait_free(ws, w);
			n++;
		}
	}
	if (n > 0)
		notice(ws, "%s: %u requests waiting for a slot dropped with "
		    "the connection", l->url, n);
}

static void
close_socket(struct worker_link *l)
{
	if (l->sock != NULL)
		forget_link(l);
	util_close(&l->mon, 0);
	util_close(&l->sock, 0);
}

/* A CURVE client socket, watched by a monitor: 0, or -1 with a cause. */
static int
curve_socket(struct worker_link *l, char **cause)
{
	static unsigned	 n;
	struct worker_session *ws = l->ws;
	char		 ep[64];

	if (curve_client_setup(l->sock, ws->cf.curve_own,
	    ws->cf.curve_server, CURVE_ONCE, cause) != 0)
		return (-1);
	snprintf(ep, sizeof(ep), "inproc://waha-worker-monitor-%u",
	    __atomic_fetch_add(&n, 1, __ATOMIC_RELAXED));
	if (zmq_socket_monitor(l->sock, ep, curve_monitor_events()) != 0) {
		xasprintf(cause, "zmq_socket_monitor: %s", zmq_strerror(errno));
		return (-1);
	}
	l->mon = util_socket(ws->ctx, ZMQ_PAIR);
	l->handshook = 0;
	return (util_attach(l->mon, 0, ep, cause));
}

/*
 * Register link l on a new socket: connect and send READY, with the
 * capacity frame only when it is not 1 or features follow, so that
 * plain RFC 7 brokers accept it.
 */
static int
link_register(struct worker_link *l, char **cause)
{
	struct worker_session *ws = l->ws;
	char	 cap[16];
	unsigned f = ws->cf.features;

	close_socket(l);
	l->epoch++;
	l->sock = util_socket(ws->ctx, ZMQ_DEALER);
	if ((ws->cf.curve_own != NULL && curve_socket(l, cause) != 0) ||
	    util_attach(l->sock, 0, l->url, cause) != 0) {
		close_socket(l);
		return (-1);
	}
	proto_worker_cmd(&ws->out, WAHA_READY);
	frames_addstr(&ws->out, ws->cf.service);
	if (ws->cf.capacity != 1 || f != 0) {
		snprintf(cap, sizeof(cap), "%u", ws->cf.capacity);
		frames_addstr(&ws->out, cap);
	}
	if (f != 0)
		frames_addstr(&ws->out, (f & WAHA_FEAT_STREAM) ? "stream" :
		    (f & WAHA_FEAT_CANCEL) ? "cancel" : "");
	send_out(l);
	l->registered = 1;
	l->reconnect_at = 0;
	l->last_recv = l->registered_at = util_now_ms();
	return (0);
}

/* Register with every broker on new sockets: 0, or -1 with a cause. */
int
worker_register(struct worker_session *ws, char **cause)
{
	unsigned	 i;

	ws->draining = 0;
	for (i = 0; i < ws->nlinks; i++) {
		if (link_register(&ws->link[i], cause) != 0)
			return (-1);
	}
	return (0);
}

/* Send FAIL for a request that waited here, and forget it. */
static void
fail_waiting(struct worker_session *ws, struct worker_wait *w, int status,
    const char *reason)
{
	zmq_msg_t	 token;

	zmq_msg_init(&token);
	zmq_msg_move(&token, &w->token);
	ws->busy++;		/* worker_fail counts it answered */
	worker_fail(ws, &token, status, reason);
	zmq_msg_close(&token);
	wait_free(ws, w);
}

/*
 * Leave for good: DISCONNECT to every broker, then keep sending
 * heartbeats (and never reconnect), so that the brokers keep accepting
 * the replies of the requests still in flight for longer than their
 * liveness period.  What waits for a slot is answered 503: nothing of
 * it ran.
 */
void
worker_withdraw(struct worker_session *ws)
{
	struct worker_link	*l;
	unsigned		 i;

	for (i = 0; i < ws->nlinks; i++) {
		l = &ws->link[i];
		if (l->registered) {
			proto_worker_cmd(&ws->out, WAHA_DISCONNECT);
			send_out(l);
			l->registered = 0;
		}
		l->reconnect_at = 0;
	}
	ws->draining = 1;
	while (!TAILQ_EMPTY(&ws->queue))
		fail_waiting(ws, TAILQ_FIRST(&ws->queue), 503,
		    "worker is leaving");
}

/*
 * Start link l again on a new socket later: after the reconnect delay,
 * which doubles each time until a session works (a refused key, a READY
 * the broker refuses), so that a refusal costs little.
 */
static void
reconnect_later(struct worker_link *l, const char *why)
{
	notice(l->ws, "%s: %s: reconnecting in %d ms", l->url, why, l->delay);
	close_socket(l);
	l->registered = 0;
	l->reconnect_at = util_now_ms() + l->delay;
	l->delay = l->delay >= CURVE_RECONNECT_MAX / 2 ?
	    CURVE_RECONNECT_MAX : l->delay * 2;
}

/* Read the handshake monitor: a failure is reported and starts again. */
static void
check_monitor(struct worker_link *l)
{
	struct worker_session	*ws = l->ws;
	struct curve_event	 ev;

	while (l->mon != NULL &&
	    frames_recv(&ws->in, l->mon, ZMQ_DONTWAIT, 2) == 0) {
		if (curve_monitor_parse(&ws->in, &ev) != 0)
			continue;
		if (ev.event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
			l->handshook = 1;
		else if (ev.fail != CURVE_FAIL_NONE) {
			if (ws->draining)
				close_socket(l);
			else
				reconnect_later(l, curve_fail_text(&ev, 1));
		}
	}
}

/* The token of frame i of ws->in, with l's prefix, into token. */
static void
take_token(struct worker_link *l, size_t i, zmq_msg_t *token)
{
	struct waha_msg	*in = &l->ws->in;
	unsigned char	*p;

	zmq_msg_close(token);
	if (zmq_msg_init_size(token, WORKER_PREFIX + frames_size(in, i)) != 0)
		fatal("zmq_msg_init_size");
	p = zmq_msg_data(token);
	p[0] = l->idx;
	p[1] = l->epoch;
	memcpy(p + WORKER_PREFIX, frames_data(in, i), frames_size(in, i));
}

/*
 * Read one message from link l.  WORKER_REQUEST, WORKER_CANCEL or
 * WORKER_CREDIT as worker_recv says, 0 when l has nothing more; heartbeats and
 * DISCONNECT are handled here.
 */
static int
link_recv(struct worker_link *l, zmq_msg_t *token, struct waha_msg *body,
    struct proto_opts *opts)
{
	struct worker_session	*ws = l->ws;
	struct proto_in		 in;
	int			 flags = ws->cf.features != 0 ?
				    PROTO_WORKER_OPTS : 0;

	while (l->sock != NULL &&
	    frames_recv(&ws->in, l->sock, ZMQ_DONTWAIT,
	    WAHA_FRAMES_LIMIT + 8) == 0) {
		l->last_recv = util_now_ms();
		memset(&in, 0, sizeof(in));
		in.env = frames_delim(&ws->in, 0);
		if (!frames_is(&ws->in, in.env + 1, WAHA_MDPW) ||
		    proto_parse_worker(&ws->in, &in, flags) != 0) {
			notice(ws, "%s: malformed message from the broker "
			    "ignored", l->url);
			continue;
		}
		switch (in.command) {
		case WAHA_REQUEST:
			take_token(l, in.token, token);
			/*
			 * A request that crossed our DISCONNECT: the broker
			 * holds it until it hears from us, so say 503 now
			 * rather than leave its client waiting.
			 */
			if (!l->registered) {
				ws->busy++;
				worker_fail(ws, token, 503,
				    "worker is leaving");
				continue;
			}
			l->delay = ws->cf.reconnect;
			frames_clear(body);
			frames_moverange(body, &ws->in, in.body, ws->in.n);
			if (flags == 0)
				in.opts.timeout = -1;
			*opts = in.opts;
			return (WORKER_REQUEST);
		case WAHA_CANCEL:
			take_token(l, in.token, token);
			return (WORKER_CANCEL);
		case WAHA_CREDIT:
			take_token(l, in.token, token);
			opts->credit = in.opts.credit;
			return (WORKER_CREDIT);
		case WAHA_DISCONNECT:
			if (l->registered)
				reconnect_later(l, "broker sent DISCONNECT");
			else if (ws->draining) {
				/* It holds nothing of ours: stop talking. */
				close_socket(l);
			}
			break;
		}
	}
	return (0);
}

/* Read one message from any broker, taking turns; 0 if none has one. */
static int
read_any(struct worker_session *ws, zmq_msg_t *token, struct waha_msg *body,
    struct proto_opts *opts)
{
	unsigned	 i, k;
	int		 got;

	for (i = 0; i < ws->nlinks; i++) {
		k = (ws->next + i) % ws->nlinks;
		if ((got = link_recv(&ws->link[k], token, body, opts)) != 0) {
			ws->next = (k + 1) % ws->nlinks;
			return (got);
		}
	}
	return (0);
}

/* Take the request waiting with this token off the queue: 1 if found. */
/*
 * CREDIT for a request still waiting here: it opens with that much more
 * window.  Whether it was found.
 */
static int
credit_waiting(struct worker_session *ws, zmq_msg_t *token, long long bytes)
{
	struct worker_wait	*w;
	size_t			 len = zmq_msg_size(token);

	TAILQ_FOREACH(w, &ws->queue, link) {
		if (zmq_msg_size(&w->token) == len && memcmp(zmq_msg_data(
		    &w->token), zmq_msg_data(token), len) == 0) {
			if (w->opts.credit <= 0)
				w->opts.credit = WAHA_STREAM_WINDOW;
			w->opts.credit += bytes;
			return (1);
		}
	}
	return (0);
}

static int
cancel_waiting(struct worker_session *ws, zmq_msg_t *token)
{
	struct worker_wait	*w;
	size_t			 len = zmq_msg_size(token);

	TAILQ_FOREACH(w, &ws->queue, link) {
		if (zmq_msg_size(&w->token) == len && memcmp(zmq_msg_data(
		    &w->token), zmq_msg_data(token), len) == 0) {
			wait_free(ws, w);
			return (1);
		}
	}
	return (0);
}

/* Keep a request that found no free slot, or FAIL it if the queue is full. */
static void
enqueue(struct worker_session *ws, zmq_msg_t *token, struct waha_msg *body,
    const struct proto_opts *opts)
{
	struct worker_wait	*w;

	if (ws->nqueued >= ws->max_queue) {
		ws->busy++;
		worker_fail(ws, token, 503, "worker over capacity");
		frames_clear(body);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	zmq_msg_init(&w->token);
	zmq_msg_move(&w->token, token);
	frames_init(&w->body);
	frames_moverange(&w->body, body, 0, body->n);
	frames_clear(body);
	w->opts = *opts;
	w->expires = opts->timeout >= 0 ? util_now_ms() + opts->timeout : 0;
	TAILQ_INSERT_TAIL(&ws->queue, w, link);
	ws->nqueued++;
}

/* Hand the first waiting request out: its time left is what remains. */
static void
dequeue(struct worker_session *ws, zmq_msg_t *token, struct waha_msg *body,
    struct proto_opts *opts)
{
	struct worker_wait	*w = TAILQ_FIRST(&ws->queue);
	int64_t			 left;

	zmq_msg_close(token);
	zmq_msg_init(token);
	zmq_msg_move(token, &w->token);
	frames_clear(body);
	frames_moverange(body, &w->body, 0, w->body.n);
	frames_clear(&w->body);
	*opts = w->opts;
	if (w->expires != 0) {
		left = w->expires - util_now_ms();
		opts->timeout = left < 1 ? 1 : (int)left;
	}
	wait_free(ws, w);
}

/*
 * Read what the brokers sent.  Returns WORKER_REQUEST with a request (its
 * token and fields moved into token and body, its options in opts: the
 * time left is -1 unless the session declared features; stream, and
 * credit the opening window or -1 for WAHA_STREAM_WINDOW), WORKER_CANCEL
 * with the token of a request to stop, WORKER_CREDIT with the token of
 * a stream whose client can take opts->credit bytes more, or 0 when
 * nothing more is waiting.  No more than the capacity is handed out at once: a request
 * is answered (worker_reply, worker_fail) or forgotten (worker_forget)
 * before another takes its slot.  Heartbeats and DISCONNECT are handled
 * here.
 */
int
worker_recv(struct worker_session *ws, zmq_msg_t *token, struct waha_msg *body,
    struct proto_opts *opts)
{
	int	 got;

	for (;;) {
		if (ws->busy < ws->cf.capacity && !TAILQ_EMPTY(&ws->queue)) {
			dequeue(ws, token, body, opts);
			ws->busy++;
			return (WORKER_REQUEST);
		}
		if ((got = read_any(ws, token, body, opts)) == 0)
			return (0);
		if (got == WORKER_CANCEL) {
			if (cancel_waiting(ws, token))
				continue;
			return (WORKER_CANCEL);
		}
		if (got == WORKER_CREDIT) {
			if (credit_waiting(ws, token, opts->credit))
				continue;
			return (WORKER_CREDIT);
		}
		if (ws->busy < ws->cf.capacity) {
			ws->busy++;
			return (WORKER_REQUEST);
		}
		enqueue(ws, token, body, opts);
	}
}

/*
 * The link of a token handed out, with the broker's token copied into a
 * frame of ws->out; NULL (errno set) if that connection is gone.
 */
static struct worker_link *
link_of(struct worker_session *ws, zmq_msg_t *token)
{
	struct worker_link	*l = NULL;
	unsigned char		*p = zmq_msg_data(token);
	size_t			 len = zmq_msg_size(token);

	if (len < WORKER_PREFIX || p[0] >= ws->nlinks)
		errno = EINVAL;
	else if ((l = &ws->link[p[0]])->epoch != p[1] || l->sock == NULL) {
		errno = ENOTCONN;
		l = NULL;
	} else
		frames_addmem(&ws->out, p + WORKER_PREFIX, len - WORKER_PREFIX);
	return (l);
}

/*
 * As link_of, for the answer that ends a request: the token is consumed
 * and the request's slot taken back.
 */
static struct worker_link *
route(struct worker_session *ws, zmq_msg_t *token)
{
	struct worker_link	*l;

	if (ws->busy > 0)
		ws->busy--;
	l = link_of(ws, token);
	zmq_msg_close(token);
	zmq_msg_init(token);
	return (l);
}

/*
 * Send cmd (REPLY or PARTIAL) with the fields (consumed) for the request
 * with this token: a REPLY ends the request (route: the token is
 * consumed, the slot taken back), a PARTIAL leaves it open (link_of).
 */
static int
send_fields(struct worker_session *ws, int cmd, zmq_msg_t *token,
    struct waha_msg *fields)
{
	struct worker_link	*l;

	proto_worker_cmd(&ws->out, cmd);
	l = cmd == WAHA_REPLY ? route(ws, token) : link_of(ws, token);
	if (l == NULL) {
		frames_clear(&ws->out);
		frames_clear(fields);
		return (-1);
	}
	frames_add(&ws->out);
	frames_moverange(&ws->out, fields, 0, fields->n);
	frames_clear(fields);
	return (send_out(l));
}

/* Send the reply fields of the request with this token (both consumed). */
int
worker_reply(struct worker_session *ws, zmq_msg_t *token,
    struct waha_msg *fields)
{
	return (send_fields(ws, WAHA_REPLY, token, fields));
}

/*
 * Send a partial reply (the fields, consumed) of the streaming request
 * with this token, which stays the caller's for the replies to come.
 */
int
worker_partial(struct worker_session *ws, zmq_msg_t *token,
    struct waha_msg *fields)
{
	return (send_fields(ws, WAHA_PARTIAL, token, fields));
}

/* Report that the request with this token failed with status. */
int
worker_fail(struct worker_session *ws, zmq_msg_t *token, int status,
    const char *reason)
{
	struct worker_link	*l;
	char			 st[8];

	proto_worker_cmd(&ws->out, WAHA_FAIL);
	if ((l = route(ws, token)) == NULL) {
		frames_clear(&ws->out);
		return (-1);
	}
	snprintf(st, sizeof(st), "%03d", status);
	frames_add(&ws->out);
	frames_addstr(&ws->out, st);
	frames_addstr(&ws->out, reason);
	return (send_out(l));
}

/*
 * A request handed out ends without an answer (cancelled, or its
 * client's deadline passed: the broker has answered it): its slot is
 * free again.
 */
void
worker_forget(struct worker_session *ws)
{
	if (ws->busy > 0)
		ws->busy--;
}

/* Milliseconds until link l needs worker_tick, or -1. */
static int64_t
link_due(struct worker_link *l, int64_t now)
{
	struct worker_session	*ws = l->ws;
	int64_t			 t;

	if (ws->draining && l->sock != NULL)
		t = l->last_send + ws->cf.heartbeat;
	else if (ws->draining)
		return (-1);
	else if (l->reconnect_at != 0)
		t = l->reconnect_at;
	else if (l->registered) {
		t = l->last_send + ws->cf.heartbeat;
		if (l->last_recv + (int64_t)ws->cf.heartbeat *
		    ws->cf.liveness < t)
			t = l->last_recv + (int64_t)ws->cf.heartbeat *
			    ws->cf.liveness;
	} else
		return (-1);
	/* Until the handshake is known to work, look at the monitor often. */
	if (l->mon != NULL && !l->handshook && t > now + WORKER_HANDSHAKE_POLL)
		t = now + WORKER_HANDSHAKE_POLL;
	return (t);
}

/* Milliseconds until worker_tick has work, or -1. */
int
worker_timeout(struct worker_session *ws, int64_t now)
{
	struct worker_wait	*w;
	int64_t			 t = 0, d;
	unsigned		 i;

	for (i = 0; i < ws->nlinks; i++) {
		if ((d = link_due(&ws->link[i], now)) != -1)
			t = util_earliest(t, d);
	}
	TAILQ_FOREACH(w, &ws->queue, link) {
		if (w->expires != 0)
			t = util_earliest(t, w->expires);
	}
	if (t == 0)
		return (-1);
	return (t <= now ? 0 : (int)(t - now > INT32_MAX ? INT32_MAX :
	    t - now));
}

/* Heartbeats of link l, and its reconnection when its broker is silent. */
static void
link_tick(struct worker_link *l, int64_t now)
{
	struct worker_session	*ws = l->ws;
	char			*cause = NULL;

	check_monitor(l);
	if (l->registered && l->delay != ws->cf.reconnect &&
	    now - l->registered_at > 2 * (int64_t)ws->cf.heartbeat *
	    ws->cf.liveness)
		l->delay = ws->cf.reconnect;	/* it works again */
	if (ws->draining) {
		if (l->sock != NULL && l->last_send + ws->cf.heartbeat <=
		    now) {
			proto_worker_cmd(&ws->out, WAHA_HEARTBEAT_CMD);
			send_out(l);
		}
		return;
	}
	if (l->reconnect_at != 0 && l->reconnect_at <= now) {
		if (link_register(l, &cause) != 0) {
			notice(ws, "%s", cause);
			free(cause);
			l->reconnect_at = now + ws->cf.reconnect;
		}
		return;
	}
	if (!l->registered)
		return;
	if (l->last_recv + (int64_t)ws->cf.heartbeat * ws->cf.liveness <=
	    now) {
		notice(ws, "%s: broker silent for %lld ms: reconnecting",
		    l->url, (long long)(now - l->last_recv));
		if (link_register(l, &cause) != 0) {
			reconnect_later(l, cause);
			free(cause);
		}
		return;
	}
	if (l->last_send + ws->cf.heartbeat <= now) {
		proto_worker_cmd(&ws->out, WAHA_HEARTBEAT_CMD);
		send_out(l);
	}
}

/*
 * Send heartbeats, reconnect to brokers that have fallen silent, and
 * answer 504 to what waited for a slot past its time left.
 */
void
worker_tick(struct worker_session *ws, int64_t now)
{
	struct worker_wait	*w, *next;
	unsigned		 i;

	for (i = 0; i < ws->nlinks; i++)
		link_tick(&ws->link[i], now);
	for (w = TAILQ_FIRST(&ws->queue); w != NULL; w = next) {
		next = TAILQ_NEXT(w, link);
		if (w->expires != 0 && w->expires <= now)
			fail_waiting(ws, w, 504, "its deadline passed while "
			    "it waited for a free slot at the worker");
	}
}
