/*
 * The dispatch core shared by the broker and the balancer: services,
 * their worker pools with capacity, FIFO queues with expiry, request
 * tokens and the in-flight table, heartbeats and dead-worker detection.
 *
 * Every per-message operation is O(1): hash lookups of service, worker
 * and token, and lists kept in deadline order so that only their heads
 * are ever checked (all requests share one queue timeout and one run
 * timeout, so arrival order is deadline order).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"

static void	finish(struct pool *, struct pool_req *, int,
		    struct waha_msg *, size_t, const char *);
static void	dispatch(struct pool *, struct pool_service *);
static void	worker_kill(struct pool *, struct pool_worker *, int,
		    const char *);
static void	service_orphan(struct pool *, struct pool_service *);
static void	service_free(struct pool *, struct pool_service *);

static void
notice(struct pool *p, int level, const char *fmt, ...)
    WAHA_ATTR_PRINTF(3, 4);

static void
notice(struct pool *p, int level, const char *fmt, ...)
{
	char	 buf[512];
	va_list	 ap;

	if (p->ops.notice == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	p->ops.notice(p->arg, level, buf);
}

static const char *
worker_name(struct pool_worker *w)
{
	static char	 buf[2 * 16 + 1];

	util_hex(buf, w->id, w->idlen > 16 ? 16 : w->idlen);
	return (buf);
}

/* Create a pool whose workers talk to the ROUTER socket sock. */
struct pool *
pool_new(void *sock, const struct pool_config *cf, const struct pool_ops *ops,
    void *arg)
{
	struct pool	*p;

	p = xcalloc(1, sizeof(*p));
	p->sock = sock;
	p->cf = *cf;
	p->ops = *ops;
	p->arg = arg;
	TAILQ_INIT(&p->queued_all);
	TAILQ_INIT(&p->running_all);
	TAILQ_INIT(&p->by_recv);
	TAILQ_INIT(&p->by_send);
	TAILQ_INIT(&p->orphans);
	frames_init(&p->out);
	p->next_token = util_random64();
	return (p);
}

static void
req_free(struct pool_req *r)
{
	frames_free(&r->env);
	frames_free(&r->body);
	free(r);
}

/* Free a pool and everything in it, answering nothing. */
void
pool_free(struct pool *p)
{
	struct pool_service	*s, *stmp;
	struct pool_worker	*w, *wtmp;
	struct pool_req		*r, *rtmp;

	if (p == NULL)
		return;
	HASH_ITER(hh, p->running, r, rtmp) {
		HASH_DEL(p->running, r);
		req_free(r);
	}
	while ((r = TAILQ_FIRST(&p->queued_all)) != NULL) {
		TAILQ_REMOVE(&p->queued_all, r, all_link);
		req_free(r);
	}
	HASH_ITER(hh, p->workers, w, wtmp) {
		HASH_DEL(p->workers, w);
		free(w);
	}
	HASH_ITER(hh, p->services, s, stmp) {
		HASH_DEL(p->services, s);
		free(s->name);
		free(s);
	}
	frames_free(&p->out);
	free(p);
}

/* A new request of the owner's kind, with empty envelope and body. */
struct pool_req *
pool_req_new(int kind)
{
	struct pool_req	*r;

	r = xcalloc(1, sizeof(*r));
	r->kind = kind;
	frames_init(&r->env);
	frames_init(&r->body);
	r->arrived = util_now_us();
	return (r);
}

/* Find a service by name. */
struct pool_service *
pool_service_find(struct pool *p, const char *name, size_t len)
{
	struct pool_service	*s;

	HASH_FIND(hh, p->services, name, len, s);
	return (s);
}

static struct pool_service *
service_new(struct pool *p, const char *name, size_t len)
{
	struct pool_service	*s;

	s = xcalloc(1, sizeof(*s));
	s->name = xstrndup(name, len);
	s->len = len;
	TAILQ_INIT(&s->workers);
	TAILQ_INIT(&s->avail);
	TAILQ_INIT(&s->queue);
	HASH_ADD_KEYPTR(hh, p->services, s->name, s->len, s);
	p->nservices++;
	s->orphaned = util_now_ms();
	TAILQ_INSERT_TAIL(&p->orphans, s, orphan_link);
	return (s);
}

/*
 * Take a request for service name.  The pool owns r from now on and
 * answers it through ops.reply exactly once: dispatched and replied,
 * failed, expired, or refused at once (404, 503).
 */
void
pool_submit(struct pool *p, struct pool_req *r, const char *name, size_t len,
    int flags)
{
	struct pool_service	*s;

	p->total.requests++;
	if (p->draining) {
		finish(p, r, 503, NULL, 0, "shutting down");
		return;
	}
	if ((s = pool_service_find(p, name, len)) == NULL) {
		if (!(flags & POOL_CREATE)) {
			finish(p, r, 404, NULL, 0, "no such service");
			return;
		}
		if (p->nservices >= p->cf.max_services) {
			p->dropped++;
			finish(p, r, 503, NULL, 0, "too many services");
			return;
		}
		s = service_new(p, name, len);
	}
	r->svc = s;
	s->stats.requests++;
	if (s->queued >= p->cf.max_queue && TAILQ_EMPTY(&s->avail)) {
		finish(p, r, 503, NULL, 0, "queue full");
		return;
	}
	r->deadline = p->cf.queue_timeout < 0 ? 0 :
	    util_now_ms() + p->cf.queue_timeout;
	TAILQ_INSERT_TAIL(&s->queue, r, svc_link);
	TAILQ_INSERT_TAIL(&p->queued_all, r, all_link);
	s->queued++;
	p->nqueued++;
	dispatch(p, s);
}

static void
dequeue(struct pool *p, struct pool_req *r)
{
	TAILQ_REMOVE(&r->svc->queue, r, svc_link);
	TAILQ_REMOVE(&p->queued_all, r, all_link);
	r->svc->queued--;
	p->nqueued--;
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
 * Send a command to a worker, with r's token and body for a REQUEST.
 * The routing id goes first, alone: if the worker has vanished that
 * send fails and r's body is still intact for another worker.
 */
static int
send_worker(struct pool *p, struct pool_worker *w, int cmd,
    struct pool_req *r)
{
	unsigned char	 tok[8];

	if (zmq_send(p->sock, w->id, w->idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT)
	    == -1) {
		p->unroutable++;
		return (-1);
	}
	proto_worker_cmd(&p->out, cmd);
	if (r != NULL) {
		token_put(tok, r->token);
		frames_addmem(&p->out, tok, sizeof(tok));
		frames_add(&p->out);
		frames_moverange(&p->out, &r->body, 0, r->body.n);
		frames_clear(&r->body);
	}
	frames_send(&p->out, p->sock, ZMQ_DONTWAIT);
	if (!w->leaving) {
		w->last_send = util_now_ms();
		TAILQ_REMOVE(&p->by_send, w, send_link);
		TAILQ_INSERT_TAIL(&p->by_send, w, send_link);
	}
	return (0);
}

/* Send a command to a routing id the pool does not know. */
static void
send_stranger(struct pool *p, const struct waha_msg *m, int cmd)
{
	if (zmq_send(p->sock, frames_data(m, 0), frames_size(m, 0),
	    ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1) {
		p->unroutable++;
		return;
	}
	proto_worker_cmd(&p->out, cmd);
	frames_send(&p->out, p->sock, ZMQ_DONTWAIT);
}

/*
 * Hand queued requests of s to its available workers, least recently
 * used first.  A worker found gone is dropped and the request tries the
 * next one.
 */
static void
dispatch(struct pool *p, struct pool_service *s)
{
	struct pool_worker	*w;
	struct pool_req		*r;

	while ((r = TAILQ_FIRST(&s->queue)) != NULL &&
	    (w = TAILQ_FIRST(&s->avail)) != NULL) {
		r->token = p->next_token++;
		if (send_worker(p, w, WAHA_REQUEST, r) == -1) {
			worker_kill(p, w, 503, "worker vanished");
			continue;
		}
		dequeue(p, r);
		r->worker = w;
		r->deadline = p->cf.run_timeout < 0 ? 0 :
		    util_now_ms() + p->cf.run_timeout;
		HASH_ADD(hh, p->running, token, sizeof(r->token), r);
		TAILQ_INSERT_TAIL(&p->running_all, r, all_link);
		TAILQ_INSERT_TAIL(&w->reqs, r, w_link);
		p->nrunning++;
		s->inflight++;
		TAILQ_REMOVE(&s->avail, w, avail_link);
		if (++w->inflight < w->capacity)
			TAILQ_INSERT_TAIL(&s->avail, w, avail_link);
		else
			w->avail = 0;
	}
}

/* Take r off its worker, leaving the worker's accounting right. */
static void
unrun(struct pool *p, struct pool_req *r)
{
	struct pool_worker	*w = r->worker;

	HASH_DEL(p->running, r);
	TAILQ_REMOVE(&p->running_all, r, all_link);
	TAILQ_REMOVE(&w->reqs, r, w_link);
	p->nrunning--;
	r->svc->inflight--;
	r->worker = NULL;
	if (w->inflight-- == w->capacity && !w->leaving) {
		w->avail = 1;
		TAILQ_INSERT_TAIL(&w->svc->avail, w, avail_link);
	}
}

/* Count a request's end, answer it through the owner, and free it. */
static void
finish(struct pool *p, struct pool_req *r, int status, struct waha_msg *m,
    size_t first, const char *reason)
{
	int	 i = util_status_index(status);

	if (r->worker != NULL)
		unrun(p, r);
	if (i != -1) {
		p->total.status[i]++;
		if (r->svc != NULL)
			r->svc->stats.status[i]++;
	}
	if (status == 200)
		p->replies++;
	if (r->svc != NULL)
		hist_add(&r->svc->stats.latency, util_now_us() - r->arrived);
	hist_add(&p->total.latency, util_now_us() - r->arrived);
	p->ops.reply(p->arg, r, status, m, first, reason);
	req_free(r);
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
	s = why == NULL ? pool_service_find(p, in->service, in->service_len) :
	    NULL;
	if (why == NULL && s == NULL && p->nservices >= p->cf.max_services)
		why = "too many services";
	if (why != NULL) {
		notice(p, 0, "worker refused: READY for '%.*s': %s",
		    (int)(in->service_len > 64 ? 64 : in->service_len),
		    in->service, why);
		send_stranger(p, m, WAHA_DISCONNECT);
		return;
	}
	if (s == NULL)
		s = service_new(p, in->service, in->service_len);
	w = xcalloc(1, sizeof(*w));
	w->idlen = frames_size(m, 0);
	memcpy(w->id, frames_data(m, 0), w->idlen);
	w->svc = s;
	w->capacity = in->capacity;
	w->last_recv = w->last_send = util_now_ms();
	w->avail = 1;
	TAILQ_INIT(&w->reqs);
	HASH_ADD(hh, p->workers, id, w->idlen, w);
	TAILQ_INSERT_TAIL(&p->by_recv, w, recv_link);
	TAILQ_INSERT_TAIL(&p->by_send, w, send_link);
	TAILQ_INSERT_TAIL(&s->workers, w, svc_link);
	TAILQ_INSERT_TAIL(&s->avail, w, avail_link);
	p->nworkers++;
	s->capacity += w->capacity;
	notice(p, 1, "worker %s ready for %s, capacity %u", worker_name(w),
	    s->name, w->capacity);
	if (s->nworkers++ == 0) {
		TAILQ_REMOVE(&p->orphans, s, orphan_link);
		s->orphaned = 0;
		if (p->ops.change != NULL)
			p->ops.change(p->arg, s);
	}
	dispatch(p, s);
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
	if (--s->nworkers == 0)
		service_orphan(p, s);
}

/* Remove a worker, answering each request it holds with status. */
static void
worker_remove(struct pool *p, struct pool_worker *w, int status,
    const char *reason)
{
	struct pool_req	*r;

	worker_leave(p, w);
	while ((r = TAILQ_FIRST(&w->reqs)) != NULL)
		finish(p, r, status, NULL, 0, reason);
	w->svc->leaving--;
	TAILQ_REMOVE(&p->by_recv, w, recv_link);
	HASH_DEL(p->workers, w);
	p->nworkers--;
	free(w);
}

/* Remove a worker that failed, and say so. */
static void
worker_kill(struct pool *p, struct pool_worker *w, int status,
    const char *reason)
{
	notice(p, 0, "worker %s of %s dropped: %s (%u in flight)",
	    worker_name(w), w->svc->name, reason, w->inflight);
	worker_remove(p, w, status, reason);
}

static void
service_orphan(struct pool *p, struct pool_service *s)
{
	s->orphaned = util_now_ms();
	TAILQ_INSERT_TAIL(&p->orphans, s, orphan_link);
	if (p->ops.change != NULL)
		p->ops.change(p->arg, s);
}

static void
service_free(struct pool *p, struct pool_service *s)
{
	struct pool_req	*r;

	while ((r = TAILQ_FIRST(&s->queue)) != NULL) {
		dequeue(p, r);
		finish(p, r, 404, NULL, 0,
		    "no worker for the service time-to-live");
	}
	TAILQ_REMOVE(&p->orphans, s, orphan_link);
	HASH_DEL(p->services, s);
	p->nservices--;
	free(s->name);
	free(s);
}

static void
worker_result(struct pool *p, struct pool_worker *w, struct waha_msg *m,
    const struct proto_in *in)
{
	struct pool_req	*r;
	uint64_t	 token;
	char		 reason[256];

	if (token_get(m, in->token, &token) == 0)
		HASH_FIND(hh, p->running, &token, sizeof(token), r);
	else
		r = NULL;
	if (r == NULL || r->worker != w) {
		p->late++;
		return;
	}
	w->served++;
	if (in->command == WAHA_REPLY && p->cf.max_size > 0 &&
	    m->bytes > p->cf.max_size) {
		snprintf(reason, sizeof(reason), "reply larger than %zu bytes",
		    p->cf.max_size);
		finish(p, r, 500, NULL, 0, reason);
	} else if (in->command == WAHA_REPLY)
		finish(p, r, 200, m, in->body, NULL);
	else {
		snprintf(reason, sizeof(reason), "%.*s",
		    (int)in->reason_len, in->reason);
		finish(p, r, in->status, NULL, 0, reason);
	}
	if (w->leaving && w->inflight == 0)
		worker_remove(p, w, 503, "left");
	else
		dispatch(p, w->svc);
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

	if (in->env != 1) {
		p->bad_worker_msgs++;
		return;
	}
	HASH_FIND(hh, p->workers, frames_data(m, 0), frames_size(m, 0), w);
	if (!ok || (w != NULL && in->command == WAHA_READY) ||
	    in->command == WAHA_REQUEST) {
		p->bad_worker_msgs++;
		/* Strangers are not worth a warning: they could flood the log. */
		notice(p, w != NULL ? 0 : 1, "worker %s: protocol error: %s",
		    w != NULL ? worker_name(w) : "(unknown)",
		    !ok ? in->reason : "unexpected command");
		if (w != NULL)
			worker_kill(p, w, 503, "worker protocol error");
		send_stranger(p, m, WAHA_DISCONNECT);
		return;
	}
	if (in->command == WAHA_READY) {
		worker_ready(p, m, in);
		return;
	}
	if (w == NULL) {
		if (in->command != WAHA_DISCONNECT)
			send_stranger(p, m, WAHA_DISCONNECT);
		return;
	}
	w->last_recv = util_now_ms();
	TAILQ_REMOVE(&p->by_recv, w, recv_link);
	TAILQ_INSERT_TAIL(&p->by_recv, w, recv_link);
	switch (in->command) {
	case WAHA_REPLY:
	case WAHA_FAIL:
		worker_result(p, w, m, in);
		break;
	case WAHA_DISCONNECT:
		notice(p, 1, "worker %s of %s disconnects, %u in flight",
		    worker_name(w), w->svc->name, w->inflight);
		worker_leave(p, w);
		if (w->inflight == 0)
			worker_remove(p, w, 503, "left");
		break;
	}
}

static int64_t
earliest(int64_t a, int64_t b)
{
	if (a == 0)
		return (b);
	if (b == 0)
		return (a);
	return (a < b ? a : b);
}

/* Milliseconds until the next timer of the pool is due, or -1 if none. */
int
pool_timeout(struct pool *p, int64_t now)
{
	struct pool_worker	*w;
	struct pool_req		*r;
	struct pool_service	*s;
	int64_t			 t = 0;

	if ((w = TAILQ_FIRST(&p->by_send)) != NULL)
		t = earliest(t, w->last_send + p->cf.heartbeat);
	if ((w = TAILQ_FIRST(&p->by_recv)) != NULL)
		t = earliest(t, w->last_recv +
		    (int64_t)p->cf.heartbeat * p->cf.liveness);
	if ((r = TAILQ_FIRST(&p->queued_all)) != NULL)
		t = earliest(t, r->deadline);
	if ((r = TAILQ_FIRST(&p->running_all)) != NULL)
		t = earliest(t, r->deadline);
	if ((s = TAILQ_FIRST(&p->orphans)) != NULL)
		t = earliest(t, s->orphaned + p->cf.service_ttl);
	if (t == 0)
		return (-1);
	return (t <= now ? 0 : (int)(t - now > 3600000 ? 3600000 : t - now));
}

static void
expire_requests(struct pool *p, int64_t now)
{
	struct pool_req		*r;
	struct pool_service	*s;
	char			 why[64];

	while ((r = TAILQ_FIRST(&p->queued_all)) != NULL &&
	    r->deadline != 0 && r->deadline <= now) {
		dequeue(p, r);
		p->total.expired++;
		r->svc->stats.expired++;
		snprintf(why, sizeof(why), "waited in queue over %d ms",
		    p->cf.queue_timeout);
		finish(p, r, 504, NULL, 0, why);
	}
	while ((r = TAILQ_FIRST(&p->running_all)) != NULL &&
	    r->deadline != 0 && r->deadline <= now) {
		s = r->svc;
		p->total.expired++;
		s->stats.expired++;
		snprintf(why, sizeof(why), "ran over %d ms",
		    p->cf.run_timeout);
		finish(p, r, 504, NULL, 0, why);
		dispatch(p, s);
	}
}

/* Run the pool's timers: heartbeats, dead workers, expiries. */
void
pool_tick(struct pool *p, int64_t now)
{
	struct pool_worker	*w;
	struct pool_service	*s;
	int64_t			 dead = (int64_t)p->cf.heartbeat *
			    p->cf.liveness;

	while ((w = TAILQ_FIRST(&p->by_send)) != NULL &&
	    w->last_send + p->cf.heartbeat <= now) {
		if (send_worker(p, w, WAHA_HEARTBEAT_CMD, NULL) == -1)
			worker_kill(p, w, 503, "worker vanished");
	}
	while ((w = TAILQ_FIRST(&p->by_recv)) != NULL &&
	    w->last_recv + dead <= now)
		worker_kill(p, w, 503, "worker died (no heartbeat)");
	expire_requests(p, now);
	while ((s = TAILQ_FIRST(&p->orphans)) != NULL &&
	    s->orphaned + p->cf.service_ttl <= now) {
		if (s->leaving == 0) {
			service_free(p, s);
			continue;
		}
		TAILQ_REMOVE(&p->orphans, s, orphan_link);
		s->orphaned = now;
		TAILQ_INSERT_TAIL(&p->orphans, s, orphan_link);
	}
}

/* Stop taking requests and answer every queued one with 503. */
void
pool_drain(struct pool *p)
{
	struct pool_req	*r;

	p->draining = 1;
	while ((r = TAILQ_FIRST(&p->queued_all)) != NULL) {
		dequeue(p, r);
		finish(p, r, 503, NULL, 0, "shutting down");
	}
}

/* Answer every running request with 503 and DISCONNECT every worker. */
void
pool_stop(struct pool *p)
{
	struct pool_worker	*w, *tmp;

	pool_drain(p);
	HASH_ITER(hh, p->workers, w, tmp) {
		if (!w->leaving)
			send_worker(p, w, WAHA_DISCONNECT, NULL);
		worker_remove(p, w, 503, "shutting down");
	}
}
