/*
 * The MDP worker session of WAHA's own workers (script service, balancer
 * upstream, test worker): READY with a capacity and features, heartbeats
 * both ways, REQUEST with its options, CANCEL, REPLY and FAIL, and a
 * fresh socket whenever the broker falls silent or sends DISCONNECT, so
 * that a restarted broker sees a new worker.
 *
 * With CURVE a monitor watches the handshake.  libzmq never reconnects
 * after a refusal (and loops after a wrong server key unless told not
 * to), so a failed handshake is reported through the notice callback and
 * the session starts again on a new socket, later each time: the delay
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

struct worker_session {
	void			*ctx;
	struct worker_config	 cf;
	void			*sock;
	int			 registered;	/* READY sent, not withdrawn */
	int			 draining;	/* withdrawn for good */
	int64_t			 last_recv;	/* ms */
	int64_t			 last_send;	/* ms */
	int64_t			 reconnect_at;	/* ms, 0 if not waiting */
	int64_t			 registered_at;	/* ms */
	int			 delay;		/* ms, the next reconnect's */
	void			*mon;		/* CURVE handshake monitor */
	int			 handshook;	/* the monitor said it worked */
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
send_out(struct worker_session *ws)
{
	int	 rc;

	if (ws->sock == NULL) {
		frames_clear(&ws->out);
		errno = ENOTCONN;
		return (-1);
	}
	rc = frames_send(&ws->out, ws->sock, ZMQ_DONTWAIT);
	ws->last_send = util_now_ms();
	return (rc);
}

/* Create a session and register with the broker at cf->url. */
struct worker_session *
worker_new(void *ctx, const struct worker_config *cf, char **cause)
{
	struct worker_session	*ws;

	ws = xcalloc(1, sizeof(*ws));
	ws->ctx = ctx;
	ws->cf = *cf;
	ws->delay = cf->reconnect;
	frames_init(&ws->in);
	frames_init(&ws->out);
	if (worker_register(ws, cause) != 0) {
		worker_free(ws);
		return (NULL);
	}
	return (ws);
}

/* Close the session's socket (replies still queued get a short linger). */
void
worker_free(struct worker_session *ws)
{
	if (ws == NULL)
		return;
	util_close(&ws->mon, 0);
	util_close(&ws->sock, WAHA_LINGER);
	frames_free(&ws->in);
	frames_free(&ws->out);
	free(ws);
}

/* The socket to poll; it changes on reconnect, and is NULL meanwhile. */
void *
worker_socket(struct worker_session *ws)
{
	return (ws->sock);
}

static void
close_socket(struct worker_session *ws)
{
	util_close(&ws->mon, 0);
	util_close(&ws->sock, 0);
}

/* A CURVE client socket, watched by a monitor: 0, or -1 with a cause. */
static int
curve_socket(struct worker_session *ws, char **cause)
{
	static unsigned	 n;
	char		 ep[64];

	if (curve_client_setup(ws->sock, ws->cf.curve_own,
	    ws->cf.curve_server, CURVE_ONCE, cause) != 0)
		return (-1);
	snprintf(ep, sizeof(ep), "inproc://waha-worker-monitor-%u",
	    __atomic_fetch_add(&n, 1, __ATOMIC_RELAXED));
	if (zmq_socket_monitor(ws->sock, ep, curve_monitor_events()) != 0) {
		xasprintf(cause, "zmq_socket_monitor: %s", zmq_strerror(errno));
		return (-1);
	}
	ws->mon = util_socket(ws->ctx, ZMQ_PAIR);
	ws->handshook = 0;
	return (util_attach(ws->mon, 0, ep, cause));
}

/*
 * Register on a new socket: connect and send READY, with the capacity
 * frame only when it is not 1 or features follow, so that plain RFC 7
 * brokers accept it.
 */
int
worker_register(struct worker_session *ws, char **cause)
{
	char	 cap[16];
	unsigned f = ws->cf.features;

	close_socket(ws);
	ws->sock = util_socket(ws->ctx, ZMQ_DEALER);
	if ((ws->cf.curve_own != NULL && curve_socket(ws, cause) != 0) ||
	    util_attach(ws->sock, 0, ws->cf.url, cause) != 0) {
		close_socket(ws);
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
	send_out(ws);
	ws->registered = 1;
	ws->draining = 0;
	ws->reconnect_at = 0;
	ws->last_recv = ws->registered_at = util_now_ms();
	return (0);
}

/*
 * Leave for good: DISCONNECT, then keep sending heartbeats (and never
 * reconnect), so that the broker keeps accepting the replies of the
 * requests still in flight for longer than its liveness period.
 */
void
worker_withdraw(struct worker_session *ws)
{
	if (ws->registered) {
		proto_worker_cmd(&ws->out, WAHA_DISCONNECT);
		send_out(ws);
		ws->registered = 0;
	}
	ws->draining = 1;
	ws->reconnect_at = 0;
}

/*
 * Start again on a new socket later: after the reconnect delay, which
 * doubles each time until a session works (a refused key, a READY the
 * broker refuses), so that a refusal costs little.
 */
static void
reconnect_later(struct worker_session *ws, const char *why)
{
	notice(ws, "%s: reconnecting in %d ms", why, ws->delay);
	close_socket(ws);
	ws->registered = 0;
	ws->reconnect_at = util_now_ms() + ws->delay;
	ws->delay = ws->delay >= CURVE_RECONNECT_MAX / 2 ?
	    CURVE_RECONNECT_MAX : ws->delay * 2;
}

/* Read the handshake monitor: a failure is reported and starts again. */
static void
check_monitor(struct worker_session *ws)
{
	struct curve_event	 ev;
	char			 why[512];

	while (ws->mon != NULL &&
	    frames_recv(&ws->in, ws->mon, ZMQ_DONTWAIT, 2) == 0) {
		if (curve_monitor_parse(&ws->in, &ev) != 0)
			continue;
		if (ev.event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
			ws->handshook = 1;
		else if (ev.fail != CURVE_FAIL_NONE) {
			snprintf(why, sizeof(why), "%s: %s", ws->cf.url,
			    curve_fail_text(&ev, 1));
			if (ws->draining)
				close_socket(ws);
			else
				reconnect_later(ws, why);
		}
	}
}

/*
 * Read what the broker sent.  Returns WORKER_REQUEST with a request (its
 * token and fields moved into token and body, its options in opts: the
 * time left is -1 unless the session declared features; stream, and
 * credit the opening window or -1 for WAHA_STREAM_WINDOW), WORKER_CANCEL
 * with the token of a request to stop, WORKER_CREDIT with a token and
 * the bytes more its client can take in opts->credit, or 0 when nothing
 * more is waiting.  Heartbeats and DISCONNECT are handled here.
 */
int
worker_recv(struct worker_session *ws, zmq_msg_t *token, struct waha_msg *body,
    struct proto_opts *opts)
{
	struct proto_in	 in;
	int		 flags = ws->cf.features != 0 ? PROTO_WORKER_OPTS : 0;

	while (ws->sock != NULL &&
	    frames_recv(&ws->in, ws->sock, ZMQ_DONTWAIT,
	    WAHA_FRAMES_LIMIT + 8) == 0) {
		ws->last_recv = util_now_ms();
		memset(&in, 0, sizeof(in));
		in.env = frames_delim(&ws->in, 0);
		if (!frames_is(&ws->in, in.env + 1, WAHA_MDPW) ||
		    proto_parse_worker(&ws->in, &in, flags) != 0) {
			notice(ws, "malformed message from the broker ignored");
			continue;
		}
		switch (in.command) {
		case WAHA_REQUEST:
			/*
			 * A request that crossed our DISCONNECT: the broker
			 * holds it until it hears from us, so say 503 now
			 * rather than leave its client waiting.
			 */
			if (!ws->registered) {
				worker_fail(ws, &ws->in.part[in.token], 503,
				    "worker is leaving");
				continue;
			}
			ws->delay = ws->cf.reconnect;
			zmq_msg_move(token, &ws->in.part[in.token]);
			frames_clear(body);
			frames_moverange(body, &ws->in, in.body, ws->in.n);
			if (flags == 0)
				in.opts.timeout = -1;
			*opts = in.opts;
			return (WORKER_REQUEST);
		case WAHA_CANCEL:
			zmq_msg_move(token, &ws->in.part[in.token]);
			return (WORKER_CANCEL);
		case WAHA_CREDIT:
			zmq_msg_move(token, &ws->in.part[in.token]);
			opts->credit = in.opts.credit;
			return (WORKER_CREDIT);
		case WAHA_DISCONNECT:
			if (ws->registered)
				reconnect_later(ws, "broker sent DISCONNECT");
			else if (ws->draining) {
				/* It holds nothing of ours: stop talking. */
				close_socket(ws);
			}
			return (0);
		}
	}
	return (0);
}

/* Send the reply fields of the request with this token (both consumed). */
int
worker_reply(struct worker_session *ws, zmq_msg_t *token,
    struct waha_msg *fields)
{
	proto_worker_cmd(&ws->out, WAHA_REPLY);
	frames_addmove(&ws->out, token);
	frames_add(&ws->out);
	frames_moverange(&ws->out, fields, 0, fields->n);
	frames_clear(fields);
	return (send_out(ws));
}

/*
 * Send a partial reply (the fields, consumed) of the streaming request
 * with this token, which stays the caller's for the replies to come.
 */
int
worker_partial(struct worker_session *ws, zmq_msg_t *token,
    struct waha_msg *fields)
{
	proto_worker_cmd(&ws->out, WAHA_PARTIAL);
	zmq_msg_copy(frames_add(&ws->out), token);
	frames_add(&ws->out);
	frames_moverange(&ws->out, fields, 0, fields->n);
	frames_clear(fields);
	return (send_out(ws));
}

/* Report that the request with this token failed with status. */
int
worker_fail(struct worker_session *ws, zmq_msg_t *token, int status,
    const char *reason)
{
	char	 st[8];

	snprintf(st, sizeof(st), "%03d", status);
	proto_worker_cmd(&ws->out, WAHA_FAIL);
	frames_addmove(&ws->out, token);
	frames_add(&ws->out);
	frames_addstr(&ws->out, st);
	frames_addstr(&ws->out, reason);
	return (send_out(ws));
}

/* Milliseconds until worker_tick has work, or -1. */
int
worker_timeout(struct worker_session *ws, int64_t now)
{
	int64_t	 t;

	if (ws->draining && ws->sock != NULL)
		t = ws->last_send + ws->cf.heartbeat;
	else if (ws->draining)
		return (-1);
	else if (ws->reconnect_at != 0)
		t = ws->reconnect_at;
	else if (ws->registered) {
		t = ws->last_send + ws->cf.heartbeat;
		if (ws->last_recv + (int64_t)ws->cf.heartbeat *
		    ws->cf.liveness < t)
			t = ws->last_recv + (int64_t)ws->cf.heartbeat *
			    ws->cf.liveness;
	} else
		return (-1);
	/* Until the handshake is known to work, look at the monitor often. */
	if (ws->mon != NULL && !ws->handshook && t > now + WORKER_HANDSHAKE_POLL)
		t = now + WORKER_HANDSHAKE_POLL;
	return (t <= now ? 0 : (int)(t - now));
}

/* Send heartbeats, and reconnect when the broker has fallen silent. */
void
worker_tick(struct worker_session *ws, int64_t now)
{
	char	*cause = NULL;

	check_monitor(ws);
	if (ws->registered && ws->delay != ws->cf.reconnect &&
	    now - ws->registered_at > 2 * (int64_t)ws->cf.heartbeat *
	    ws->cf.liveness)
		ws->delay = ws->cf.reconnect;	/* it works again */
	if (ws->draining) {
		if (ws->sock != NULL && ws->last_send + ws->cf.heartbeat <=
		    now) {
			proto_worker_cmd(&ws->out, WAHA_HEARTBEAT_CMD);
			send_out(ws);
		}
		return;
	}
	if (ws->reconnect_at != 0 && ws->reconnect_at <= now) {
		if (worker_register(ws, &cause) != 0) {
			notice(ws, "%s", cause);
			free(cause);
			ws->reconnect_at = now + ws->cf.reconnect;
		}
		return;
	}
	if (!ws->registered)
		return;
	if (ws->last_recv + (int64_t)ws->cf.heartbeat * ws->cf.liveness <=
	    now) {
		notice(ws, "broker silent for %lld ms: reconnecting",
		    (long long)(now - ws->last_recv));
		if (worker_register(ws, &cause) != 0) {
			reconnect_later(ws, cause);
			free(cause);
		}
		return;
	}
	if (ws->last_send + ws->cf.heartbeat <= now) {
		proto_worker_cmd(&ws->out, WAHA_HEARTBEAT_CMD);
		send_out(ws);
	}
}
