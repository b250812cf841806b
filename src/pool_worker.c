/*
 * The workers' side of the dispatch core: READY, REPLY, FAIL, HEARTBEAT
 * and DISCONNECT from MDP workers, sends to them, heartbeats, and the
 * removal of dead or departed workers with an answer for each request
 * they held.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"

static const char *
worker_name(struct pool_worker *w)
{
	static char	 buf[2 * 16 + 1];

	util_hex(buf, w->id, w->idlen > 16 ? 16 : w->idlen);
	return (buf);
}

static void
token_put(unsigned char *b, uint64_t v)
{
	int	 i;

	for (i = 7; i >= 0; i--) {
		b[i] = v & 0xff;
		v >>= 8;
	}
}

static int
token_get(const struct waha_msg *m, size_t i, uint64_t *v)
{
	const unsigned char	*b = frames_data(m, i);
	int			 k;

	if (frames_size(m, i) != 8)
		return (-1);
	for (*v = 0, k = 0; k < 8; k++)
		*v = *v << 8 | b[k];
	return (0);
}

/*
 * Send a routing id, first part of a message, without blocking; a peer
 * that is gone (or whose pipe is full) is counted and -1 returned.  A
 * signal is no reason to give up (EINTR).
 */
static int
send_id(struct pool *p, const void *id, size_t len)
{
	int	 rc;

	while ((rc = zmq_send(p->sock, id, len, ZMQ_SNDMORE | ZMQ_DONTWAIT))
	    == -1 && errno == EINTR)
		;
	if (rc == -1)
		p->unroutable++;
	return (rc == -1 ? -1 : 0);
}

/*
 * Send a command to a worker, with r's token for a REQUEST or a CANCEL,
 * and for a REQUEST its body, after the options (the time left) when the
 * worker declared features.  The routing id goes first, alone: if the
 * worker has vanished that send fails and r's body is still intact for
 * another worker.
 */
int
pool_worker_send(struct pool *p, struct pool_worker *w, int cmd,
    struct pool_req *r)
{
	unsigned char	 tok[8];
	char		 opts[64];

	if (send_id(p, w->id, w->idlen) == -1)
		return (-1);
	proto_worker_cmd(&p->out, cmd);
	if (r != NULL) {
		token_put(tok, r->token);
		frames_addmem(&p->out, tok, sizeof(tok));
	}
	if (r != NULL && cmd == WAHA_REQUEST) {
		if (w->features & WAHA_FEAT_OPTIONS)
			frames_addmem(&p->out, opts, proto_opts_format(opts,
			    sizeof(opts), pool_time_left(p, r, p->now),
			    r->stream && (w->features & WAHA_FEAT_STREAM),
			    r->allowed));
		frames_add(&p->out);
		frames_moverange(&p->out, &r->body, 0, r->body.n);
		frames_clear(&r->body);
	}
	frames_send(&p->out, p->sock, ZMQ_DONTWAIT);
	if (!w->leaving) {
		w->last_send = p->now;
		TAILQ_REMOVE(&p->by_send, w, send_link);
		TAILQ_INSERT_TAIL(&p->by_send, w, send_link);
	}
	return (0);
}

/* Tell w that the client of stream r can take bytes more (CREDIT). */
int
pool_worker_credit(struct pool *p, struct pool_worker *w, struct pool_req *r,
    long long bytes)
{
	unsigned char	 tok[8];
	char		 num[24];

	if (send_id(p, w->id, w->idlen) == -1)
		return (-1);
	proto_worker_cmd(&p->out, WAHA_CREDIT);
	token_put(tok, r->token);
	frames_addmem(&p->out, tok, sizeof(tok));
	snprintf(num, sizeof(num), "%lld", bytes);
	frames_addstr(&p->out, num);
	frames_send(&p->out, p->sock, ZMQ_DONTWAIT);
	w->last_send = p->now;
	TAILQ_REMOVE(&p->by_send, w, send_link);
	TAILQ_INSERT_TAIL(&p->by_send, w, send_link);
	return (0);
}

/* Send a command to a routing id the pool does not know. */
static void
send_stranger(struct pool *p, const struct waha_msg *m, int cmd)
{
	if (send_id(p, frames_data(m, 0), frames_size(m, 0)) == -1)
		return;
	proto_worker_cmd(&p->out, cmd);
	frames_send(&p->out, p->sock, ZMQ_DONTWAIT);
}

static void
worker_ready(struct pool *p, struct waha_msg *m, const struct proto_in *in)
{
	struct pool_service	*s;
	struct pool_worker	*w;
	const char		*why;

	why = proto_name_check(in->service, in->service_len, p->cf.max_name);
	if (why == NULL && in->service_len >= 4 &&
	    memcmp(in->service, "mmi.", 4) == 0)
		why = "the mmi. namespace is reserved";
	if (why == NULL && p->cf.only != NULL &&
	    (in->service_len != strlen(p->cf.only) ||
	    memcmp(in->service, p->cf.only, in->service_len) != 0))
		why = "this balancer serves another service";
	if (why == NULL && p->draining)
		why = "shutting down";
	if (why == NULL && (s = pool_service_find(p, in->service,
	    in->service_len)) == NULL && (s = pool_service_new(p, in->service,
	    in->service_len)) == NULL)
		why = "too many services";
	if (why != NULL) {
		pool_notice(p, 0, "worker refused: READY for '%.*s': %s",
		    (int)(in->service_len > 64 ? 64 : in->service_len),
		    in->service, why);
		send_stranger(p, m, WAHA_DISCONNECT);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->idlen = frames_size(m, 0);
	memcpy(w->id, frames_data(m, 0), w->idlen);
	w->svc = s;
	w->capacity = in->capacity;
	w->features = in->features;
	w->last_recv = w->last_send = p->now;
	w->avail = 1;
	TAILQ_INIT(&w->reqs);
	HASH_ADD(hh, p->workers, id, w->idlen, w);
	TAILQ_INSERT_TAIL(&p->by_recv, w, recv_link);
	TAILQ_INSERT_TAIL(&p->by_send, w, send_link);
	TAILQ_INSERT_TAIL(&s->workers, w, svc_link);
	TAILQ_INSERT_TAIL(&s->avail, w, avail_link);
	p->nworkers++;
	s->capacity += w->capacity;
	pool_notice(p, 1, "worker %s ready for %s, capacity %u%s%s",
	    worker_name(w), s->name, w->capacity,
	    w->features & WAHA_FEAT_CANCEL ? ", takes CANCEL" : "",
	    w->features & WAHA_FEAT_STREAM ? ", streams" : "");
	s->served = 1;
	if (s->orphaned != 0) {
		TAILQ_REMOVE(&p->orphans, s, orphan_link);
		s->orphaned = 0;
	}
	if (s->nworkers++ == 0 && p->ops.change != NULL)
		p->ops.change(p->arg, s);
	pool_dispatch(p, s);
}

/*
 * Take a worker out of its service's pool: it gets no more requests.
 * Its in-flight requests stay until they are answered or it dies.
 */
static void
worker_leave(struct pool *p, struct pool_worker *w)
{
	struct pool_service	*s = w->svc;

	if (w->leaving)
		return;
	w->leaving = 1;
	TAILQ_REMOVE(&s->workers, w, svc_link);
	TAILQ_REMOVE(&p->by_send, w, send_link);
	if (w->avail)
		TAILQ_REMOVE(&s->avail, w, avail_link);
	w->avail = 0;
	s->capacity -= w->capacity;
	s->leaving++;
	if (--s->nworkers == 0 && p->ops.change != NULL)
		p->ops.change(p->arg, s);
}

/* Remove a worker, answering each request it holds with status. */
static void
worker_remove(struct pool *p, struct pool_worker *w, int status,
    const char *reason)
{
	struct pool_req	*r;

	worker_leave(p, w);
	if (w->vanished)
		TAILQ_REMOVE(&p->vanished, w, send_link);
	while ((r = TAILQ_FIRST(&w->reqs)) != NULL)
		pool_finish(p, r, status, NULL, 0, reason);
	w->svc->leaving--;
	pool_service_orphan(p, w->svc);
	TAILQ_REMOVE(&p->by_recv, w, recv_link);
	HASH_DEL(p->workers, w);
	p->nworkers--;
	free(w);
}

/* Remove a worker that failed, and say so. */
void
pool_worker_kill(struct pool *p, struct pool_worker *w, int status,
    const char *reason)
{
	pool_notice(p, 0, "worker %s of %s dropped: %s (%u in flight)",
	    worker_name(w), w->svc->name, reason, w->inflight);
	worker_remove(p, w, status, reason);
}

/*
 * A send to w failed: its connection is gone (or its pipe is full).  What
 * it sent before it went can still be waiting on the socket, and a worker
 * that replies and exits at once is the common case, so it is only taken
 * out of the pool here: pool_settle drops it, and answers what it still
 * holds 503, once the socket has been read dry.
 */
void
pool_worker_lost(struct pool *p, struct pool_worker *w)
{
	if (w->inflight == 0) {
		pool_worker_kill(p, w, 503, "worker vanished");
		return;
	}
	pool_notice(p, 1, "worker %s of %s is gone, %u in flight",
	    worker_name(w), w->svc->name, w->inflight);
	worker_leave(p, w);
	w->vanished = 1;
	TAILQ_INSERT_TAIL(&p->vanished, w, send_link);
}

/* Called when the socket has nothing left to read. */
void
pool_settle(struct pool *p)
{
	struct pool_worker	*w;

	if (!TAILQ_EMPTY(&p->vanished))
		pool_clock(p);
	while ((w = TAILQ_FIRST(&p->vanished)) != NULL)
		pool_worker_kill(p, w, 503, "worker vanished");
}

/*
 * A PARTIAL for r: checked against the request (stream=1 to a worker
 * that streams), the worker's credit, --stream-max and the frame limits,
 * then relayed to the client.  Anything wrong fails the request 500 and
 * cancels it at the worker; a client that cannot be reached cancels it.
 * Returns whether r has ended.
 */
static int
partial_in(struct pool *p, struct pool_worker *w, struct pool_req *r,
    struct waha_msg *m, const struct proto_in *in)
{
	struct pool_service	*s = r->svc;
	long long		 n = 0;
	const char		*why = NULL;
	char			 buf[96];
	size_t			 i;

	for (i = in->body; i < m->n; i++)
		n += frames_size(m, i);
	if (!r->stream || !(w->features & WAHA_FEAT_STREAM))
		why = "the worker sent a partial reply to a request without "
		    "stream=1";
	else if (m->dropped > 0 || (p->cf.max_size > 0 &&
	    m->bytes > p->cf.max_size))
		why = "partial reply has too many frames or bytes";
	else if (r->streamed + n > r->allowed) {
		snprintf(buf, sizeof(buf), "the worker sent %lld bytes over "
		    "its credit", r->streamed + n - r->allowed);
		why = buf;
	} else if (p->cf.stream_max > 0 && r->streamed + n > p->cf.stream_max) {
		snprintf(buf, sizeof(buf), "the stream is over %lld bytes "
		    "(--stream-max)", p->cf.stream_max);
		why = buf;
	}
	if (why != NULL) {
		pool_notice(p, 0, "worker %s of %s: %s", worker_name(w),
		    s->name, why);
		pool_stop_at_worker(p, r);
		pool_finish(p, r, 500, NULL, 0, why);
		return (1);
	}
	r->streamed += n;
	r->active = r->pinged = p->now;
	p->partials++;
	p->stream_bytes += n;
	if (p->ops.partial(p->arg, r, m, in->body) == -1) {
		pool_notice(p, 1, "stream of %s: its client is gone", s->name);
		pool_stop_at_worker(p, r);
		pool_finish(p, r, 0, NULL, 0, "the client is gone");
		return (1);
	}
	return (0);
}

/* The REPLY or FAIL that ends r. */
static void
worker_final(struct pool *p, struct pool_worker *w, struct pool_req *r,
    struct waha_msg *m, const struct proto_in *in)
{
	char	 reason[256];

	w->served++;
	if (in->command == WAHA_REPLY && m->dropped > 0)
		pool_finish(p, r, 500, NULL, 0, "reply has too many frames");
	else if (in->command == WAHA_REPLY && p->cf.max_size > 0 &&
	    m->bytes > p->cf.max_size) {
		snprintf(reason, sizeof(reason), "reply larger than %zu bytes",
		    p->cf.max_size);
		pool_finish(p, r, 500, NULL, 0, reason);
	} else if (in->command == WAHA_REPLY)
		pool_finish(p, r, 200, m, in->body, NULL);
	else {
		snprintf(reason, sizeof(reason), "%.*s",
		    (int)in->reason_len, in->reason);
		pool_finish(p, r, in->status, NULL, 0, reason);
	}
}

static void
worker_result(struct pool *p, struct pool_worker *w, struct waha_msg *m,
    const struct proto_in *in)
{
	struct pool_req	*r;
	uint64_t	 token;

	r = token_get(m, in->token, &token) == 0 ? pool_run_find(p, token) :
	    NULL;
	if (r == NULL || r->worker != w) {
		p->late++;
		return;
	}
	if (in->command != WAHA_PARTIAL)
		worker_final(p, w, r, m, in);
	else if (!partial_in(p, w, r, m, in))
		return;		/* relayed: the stream goes on */
	if (w->leaving && w->inflight == 0)
		worker_remove(p, w, 503, "left");
	else
		pool_dispatch_later(p, w->svc);
}

/*
 * Whether the owner lets the sender of m serve: READY's service, or the
 * service of the worker already registered.  No: the worker is dropped
 * (its requests answered 503) and told DISCONNECT.  The owner logs.
 */
static int
admitted(struct pool *p, struct pool_worker *w, struct waha_msg *m,
    const struct proto_in *in)
{
	if (in->command == WAHA_READY) {
		if (p->ops.admit(p->arg, m, in->service, in->service_len))
			return (1);
	} else if (w == NULL ||
	    p->ops.admit(p->arg, m, w->svc->name, w->svc->len))
		return (1);
	if (w != NULL)
		pool_worker_kill(p, w, 503, "no longer allowed to serve");
	if (in->command != WAHA_DISCONNECT)
		send_stranger(p, m, WAHA_DISCONNECT);
	return (0);
}

/*
 * Handle a message from an MDP worker, parsed by proto_parse (ok is its
 * result).  Protocol errors and strangers get DISCONNECT, as RFC 7 says.
 */
void
pool_worker_msg(struct pool *p, struct waha_msg *m, const struct proto_in *in,
    int ok)
{
	struct pool_worker	*w;
	const void		*id;
	size_t			 idlen;

	pool_clock(p);
	if (in->env != 1) {
		p->bad_worker_msgs++;
		return;
	}
	/* HASH_FIND, a macro, would call these at every use. */
	id = frames_data(m, 0);
	idlen = frames_size(m, 0);
	HASH_FIND(hh, p->workers, id, idlen, w);
	if (!ok || (w != NULL && in->command == WAHA_READY) ||
	    in->command == WAHA_REQUEST || in->command == WAHA_CANCEL ||
	    in->command == WAHA_CREDIT) {
		p->bad_worker_msgs++;
		/* Strangers are not worth a warning: they could flood the log. */
		pool_notice(p, w != NULL ? 0 : 1, "worker %s: protocol error: %s",
		    w != NULL ? worker_name(w) : "(unknown)",
		    !ok ? in->reason : "unexpected command");
		if (w != NULL)
			pool_worker_kill(p, w, 503, "worker protocol error");
		send_stranger(p, m, WAHA_DISCONNECT);
		return;
	}
	if (p->ops.admit != NULL && !admitted(p, w, m, in))
		return;
	if (in->command == WAHA_READY) {
		worker_ready(p, m, in);
		return;
	}
	if (w == NULL) {
		if (in->command != WAHA_DISCONNECT)
			send_stranger(p, m, WAHA_DISCONNECT);
		return;
	}
	w->last_recv = p->now;
	TAILQ_REMOVE(&p->by_recv, w, recv_link);
	TAILQ_INSERT_TAIL(&p->by_recv, w, recv_link);
	switch (in->command) {
	case WAHA_REPLY:
	case WAHA_PARTIAL:
	case WAHA_FAIL:
		worker_result(p, w, m, in);
		break;
	case WAHA_DISCONNECT:
		pool_notice(p, 1, "worker %s of %s disconnects, %u in flight",
		    worker_name(w), w->svc->name, w->inflight);
		worker_leave(p, w);
		if (w->inflight == 0)
			worker_remove(p, w, 503, "left");
		break;
	}
}

/* Answer every running request with 503 and DISCONNECT every worker. */
void
pool_stop(struct pool *p)
{
	struct pool_worker	*w, *tmp;

	pool_drain(p, 0);
	HASH_ITER(hh, p->workers, w, tmp) {
		if (!w->leaving)
			pool_worker_send(p, w, WAHA_DISCONNECT, NULL);
		worker_remove(p, w, 503, "shutting down");
	}
}
