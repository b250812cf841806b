/*
 * The dispatch core shared by the broker and the balancer: services,
 * FIFO queues with expiry, and dispatch.  The workers' side
 * (registration, heartbeats, death) is in pool_worker.c, the in-flight
 * table and its tokens in pool_run.c.
 *
 * Every per-message operation is O(1) but for the deadlines: hash
 * lookups of service, worker and key, an index by token, FIFO queues,
 * and a heap of deadlines (pool_timer.c, O(log n)), since requests
 * bring their own.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"

static void	service_free(struct pool *, struct pool_service *,
		    const char *);

/* Pass something an operator should read to the owner. */
void
pool_notice(struct pool *p, int level, const char *fmt, ...)
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
	TAILQ_INIT(&p->by_recv);
	TAILQ_INIT(&p->by_send);
	TAILQ_INIT(&p->orphans);
	TAILQ_INIT(&p->vanished);
	TAILQ_INIT(&p->pending);
	TAILQ_INIT(&p->spare);
	frames_init(&p->out);
	p->run_seq = (uint32_t)util_random64();
	pool_clock(p);
	return (p);
}

static void
req_destroy(struct pool_req *r)
{
	frames_free(&r->env);
	frames_free(&r->body);
	if (r->key != r->keybuf)
		free(r->key);
	free(r);
}

/*
 * An ended request goes to the spares, its frames closed but its arrays
 * kept, unless there are enough spares already.
 */
static void
req_free(struct pool *p, struct pool_req *r)
{
	if (p->nspare >= POOL_SPARE_MAX) {
		req_destroy(r);
		return;
	}
	frames_clear(&r->env);
	frames_clear(&r->body);
	if (r->key != r->keybuf)
		free(r->key);
	r->key = NULL;
	TAILQ_INSERT_HEAD(&p->spare, r, svc_link);
	p->nspare++;
}

/* Free a pool and everything in it, answering nothing. */
void
pool_free(struct pool *p)
{
	struct pool_service	*s, *stmp;
	struct pool_worker	*w, *wtmp;
	struct pool_req		*r;
	size_t			 i;

	if (p == NULL)
		return;
	HASH_CLEAR(kh, p->by_key);
	for (i = 0; i < p->run_cap; i++) {
		if (p->run[i] != NULL)
			req_destroy(p->run[i]);
	}
	free(p->run);
	free(p->run_free);
	while ((r = TAILQ_FIRST(&p->spare)) != NULL) {
		TAILQ_REMOVE(&p->spare, r, svc_link);
		req_destroy(r);
	}
	HASH_ITER(hh, p->workers, w, wtmp) {
		HASH_DEL(p->workers, w);
		free(w);
	}
	HASH_ITER(hh, p->services, s, stmp) {
		while ((r = TAILQ_FIRST(&s->queue)) != NULL) {
			TAILQ_REMOVE(&s->queue, r, svc_link);
			req_destroy(r);
		}
		HASH_DEL(p->services, s);
		free(s->name);
		free(s);
	}
	free(p->heap);
	frames_free(&p->out);
	free(p);
}

/*
 * Read the clock into p->now and p->now_us.  Every entry point from the
 * owner (a request, a worker's message, a tick) reads it once, and what
 * it calls uses that reading: one clock read per message, not one in
 * every function on its way.
 */
void
pool_clock(struct pool *p)
{
	p->now_us = util_now_us();
	p->now = p->now_us / 1000;
}

/*
 * A new request of the owner's kind, with empty envelope and body: a
 * spare if there is one.
 */
struct pool_req *
pool_req_new(struct pool *p, int kind)
{
	struct pool_req		*r;
	struct waha_msg		 env, body;

	if ((r = TAILQ_FIRST(&p->spare)) != NULL) {
		TAILQ_REMOVE(&p->spare, r, svc_link);
		p->nspare--;
		env = r->env;
		body = r->body;
		memset(r, 0, sizeof(*r));
		r->env = env;
		r->body = body;
	} else {
		r = xcalloc(1, sizeof(*r));
		frames_init(&r->env);
		frames_init(&r->body);
	}
	r->kind = kind;
	r->timeout = -1;
	r->heap = POOL_NOTIMER;
	return (r);
}

/*
 * Give r a key, the owner's name for it (a client's envelope, say), by
 * which pool_find_key finds it while it is open; before pool_submit.
 * A short one (a client's routing id is 5 bytes) is kept in r itself.
 */
void
pool_req_key(struct pool_req *r, const void *key, size_t len)
{
	r->key = len <= sizeof(r->keybuf) ? r->keybuf : xmalloc(len);
	memcpy(r->key, key, len);
	r->keylen = len;
}

/* The open request with this key, or NULL. */
struct pool_req *
pool_find_key(struct pool *p, const void *key, size_t len)
{
	struct pool_req	*r;

	HASH_FIND(kh, p->by_key, key, len, r);
	return (r);
}

/*
 * What a request counts against --max-queue-bytes: the memory it holds
 * while it waits, its frames' bytes and its bookkeeping (about 500 bytes
 * for a small request), so that the bound is one on memory.
 */
static size_t
req_bytes(const struct pool_req *r)
{
	size_t	 n, i;

	n = sizeof(*r) + r->keylen + (r->env.n + r->body.n) * sizeof(zmq_msg_t);
	for (i = 0; i < r->env.n; i++)
		n += frames_size(&r->env, i);
	for (i = 0; i < r->body.n; i++)
		n += frames_size(&r->body, i);
	return (n);
}

/* When a queued request expires: its own deadline, else --queue-timeout. */
static int64_t
queue_due(const struct pool *p, const struct pool_req *r, int64_t now)
{
	if (r->deadline != 0)
		return (r->deadline);
	return (p->cf.queue_timeout < 0 ? 0 : now + p->cf.queue_timeout);
}

/* When a running request expires: its deadline or --run-timeout. */
static int64_t
run_due(const struct pool *p, const struct pool_req *r, int64_t now)
{
	return (util_earliest(r->deadline, p->cf.run_timeout < 0 ? 0 :
	    now + p->cf.run_timeout));
}

/*
 * The time a worker with features is told it has for r (the options'
 * timeout=), or -1 for no limit.
 */
int
pool_time_left(const struct pool *p, const struct pool_req *r, int64_t now)
{
	int64_t	 due = run_due(p, r, now);

	if (due == 0)
		return (-1);
	return (due - now < 1 ? 1 : due - now > INT32_MAX ? INT32_MAX :
	    (int)(due - now));
}

/* Find a service by name. */
struct pool_service *
pool_service_find(struct pool *p, const char *name, size_t len)
{
	struct pool_service	*s;

	HASH_FIND(hh, p->services, name, len, s);
	return (s);
}

/*
 * A new service, workerless (so on the orphans list) until a READY, or
 * NULL when --max-services are known and none can make room: the oldest
 * workerless one goes first, so that names made up by clients never keep
 * a worker's service out.
 */
struct pool_service *
pool_service_new(struct pool *p, const char *name, size_t len)
{
	struct pool_service	*s;

	if (p->nservices >= p->cf.max_services) {
		if ((s = TAILQ_FIRST(&p->orphans)) == NULL)
			return (NULL);
		service_free(p, s, "too many services: evicted");
	}

	s = xcalloc(1, sizeof(*s));
	s->name = xstrndup(name, len);
	s->len = len;
	TAILQ_INIT(&s->workers);
	TAILQ_INIT(&s->avail);
	TAILQ_INIT(&s->queue);
	HASH_ADD_KEYPTR(hh, p->services, s->name, s->len, s);
	p->nservices++;
	s->orphaned = p->now;
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

	pool_clock(p);
	r->arrived = p->now_us;
	p->total.requests++;
	if (r->stream) {
		p->nstreams++;
		p->streams++;
		if (r->allowed <= 0)
			r->allowed = WAHA_STREAM_WINDOW;
		if (p->cf.stream_window > 0 && r->allowed > p->cf.stream_window)
			r->allowed = p->cf.stream_window;
	}
	if (p->draining) {
		pool_finish(p, r, 503, NULL, 0, "shutting down");
		return;
	}
	s = pool_service_find(p, name, len);
	if ((s == NULL || !s->served) && !(flags & POOL_CREATE)) {
		/* No worker ever registered it (an MDP client may have). */
		pool_finish(p, r, 404, NULL, 0, "no such service");
		return;
	}
	if (s == NULL && (s = pool_service_new(p, name, len)) == NULL) {
		p->dropped++;
		pool_finish(p, r, 503, NULL, 0, "too many services");
		return;
	}
	r->svc = s;
	s->stats.requests++;
	r->bytes = req_bytes(r);
	if ((s->queued >= p->cf.max_queue || p->queued_bytes + r->bytes >
	    p->cf.max_queue_bytes) && TAILQ_EMPTY(&s->avail)) {
		p->queue_full++;
		pool_finish(p, r, 503, NULL, 0, s->queued >= p->cf.max_queue ?
		    "queue full" : "queues full (--max-queue-bytes)");
		return;
	}
	if (r->timeout >= 0)
		r->deadline = p->now + r->timeout;
	if (r->key != NULL) {
		HASH_ADD_KEYPTR(kh, p->by_key, r->key, r->keylen, r);
		r->keyed = 1;
	}
	TAILQ_INSERT_TAIL(&s->queue, r, svc_link);
	s->queued++;
	p->nqueued++;
	p->queued_bytes += r->bytes;
	pool_timer_set(p, r, queue_due(p, r, p->now));
	pool_dispatch_later(p, s);
}

static void
dequeue(struct pool *p, struct pool_req *r)
{
	TAILQ_REMOVE(&r->svc->queue, r, svc_link);
	r->svc->queued--;
	p->nqueued--;
	p->queued_bytes -= r->bytes;
}

/* A queued request reached its expiry: 504, and it is never dispatched. */
static void
expire_queued(struct pool *p, struct pool_req *r)
{
	char	 why[80];

	dequeue(p, r);
	p->total.expired++;
	r->svc->stats.expired++;
	if (r->deadline != 0)
		snprintf(why, sizeof(why), "its deadline of %d ms passed in "
		    "the queue", r->timeout);
	else
		snprintf(why, sizeof(why), "waited in queue over %d ms",
		    p->cf.queue_timeout);
	pool_finish(p, r, 504, NULL, 0, why);
}

/*
 * Tell r's worker to stop it, if the worker takes CANCEL.  A worker
 * found gone is taken out of the pool as in pool_dispatch.
 */
void
pool_stop_at_worker(struct pool *p, struct pool_req *r)
{
	struct pool_worker	*w = r->worker;

	if (!(w->features & WAHA_FEAT_CANCEL) || w->vanished)
		return;
	if (pool_worker_send(p, w, WAHA_CANCEL, r) == -1)
		pool_worker_lost(p, w);
}

/*
 * How often a silent stream gets a keepalive: a partial of no fields,
 * which tells a client that the broker is alive and tells the broker,
 * when it cannot be sent, that the client has gone (even while the
 * stream waits for credit and nothing else would be sent).
 */
static int
ping_interval(const struct pool *p)
{
	return (p->cf.heartbeat < WAHA_STREAM_PING ? p->cf.heartbeat :
	    WAHA_STREAM_PING);
}

/*
 * When a running request's timer is due: at its end (deadline,
 * --run-timeout) or, for a stream, at its next keepalive or once it has
 * been silent (no partial, no credit) for --stream-idle.  These timers
 * are lazy: activity only moves r->active and r->pinged, and the timer,
 * when it fires early, is set again.
 */
static int64_t
running_due(const struct pool *p, const struct pool_req *r)
{
	int64_t	 t;

	if (!r->stream || p->ops.partial == NULL)
		return (r->ends);
	t = util_earliest(r->ends, r->pinged + ping_interval(p));
	if (p->cf.stream_idle > 0)
		t = util_earliest(t, r->active + p->cf.stream_idle);
	return (t);
}

/*
 * A running request's timer fired: its deadline or --run-timeout passed,
 * or a stream stayed silent too long: 504, stopped at its worker.
 */
static void
expire_running(struct pool *p, struct pool_req *r, int64_t now)
{
	struct pool_service	*s = r->svc;
	char			 why[80];

	if (r->ends == 0 || r->ends > now) {
		if (p->cf.stream_idle <= 0 || r->active + p->cf.stream_idle >
		    now) {
			if (r->pinged + ping_interval(p) <= now) {
				r->pinged = now;
				if (p->ops.partial(p->arg, r, NULL, 0) == -1) {
					pool_notice(p, 1, "stream of %s: its "
					    "client is gone", s->name);
					pool_stop_at_worker(p, r);
					pool_finish(p, r, 0, NULL, 0,
					    "the client is gone");
					pool_dispatch(p, s);
					return;
				}
			}
			pool_timer_set(p, r, running_due(p, r));
			return;
		}
		snprintf(why, sizeof(why), "the stream was silent for %d ms "
		    "(--stream-idle)", p->cf.stream_idle);
	} else if (r->deadline != 0 && r->ends == r->deadline)
		snprintf(why, sizeof(why), "its deadline of %d ms passed while "
		    "it ran", r->timeout);
	else
		snprintf(why, sizeof(why), "ran over %d ms",
		    p->cf.run_timeout);
	p->total.expired++;
	s->stats.expired++;
	pool_stop_at_worker(p, r);
	pool_finish(p, r, 504, NULL, 0, why);
	pool_dispatch(p, s);
}

/*
 * The client abandons r: it is stopped at its worker (CANCEL) or taken
 * off its queue, and ends with status 0, which owners answer with
 * nothing.
 */
void
pool_cancel(struct pool *p, struct pool_req *r)
{
	struct pool_service	*s = r->svc;

	pool_clock(p);
	if (r->worker == NULL) {
		dequeue(p, r);
		pool_finish(p, r, 0, NULL, 0, "cancelled by the client");
		return;
	}
	pool_stop_at_worker(p, r);
	pool_finish(p, r, 0, NULL, 0, "cancelled by the client");
	pool_dispatch(p, s);
}

/*
 * The client of stream r can take bytes more: passed on to its worker
 * at once, if it is running, so that the broker holds no more than the
 * window.  Credit for a request that does not stream is ignored.
 */
void
pool_credit(struct pool *p, struct pool_req *r, long long bytes)
{
	struct pool_worker	*w = r->worker;

	if (!r->stream || bytes <= 0)
		return;
	pool_clock(p);
	r->allowed = r->allowed > INT64_MAX / 2 - bytes ? INT64_MAX / 2 :
	    r->allowed + bytes;
	r->active = p->now;
	if (w == NULL || !(w->features & WAHA_FEAT_STREAM) || w->vanished)
		return;
	if (pool_worker_credit(p, w, r, bytes) == -1)
		pool_worker_lost(p, w);
}

/*
 * Hand queued requests of s to its available workers, least recently
 * used first.  A worker found gone is dropped and the request tries the
 * next one.
 */
void
pool_dispatch(struct pool *p, struct pool_service *s)
{
	struct pool_worker	*w;
	struct pool_req		*r;
	int64_t			 now = p->now;

	while ((r = TAILQ_FIRST(&s->queue)) != NULL &&
	    (w = TAILQ_FIRST(&s->avail)) != NULL) {
		if (r->due != 0 && r->due <= now) {
			expire_queued(p, r);
			continue;
		}
		pool_run_add(p, r);
		if (pool_worker_send(p, w, WAHA_REQUEST, r) == -1) {
			pool_run_del(p, r);
			pool_worker_lost(p, w);
			continue;
		}
		dequeue(p, r);
		r->worker = w;
		r->ends = run_due(p, r, now);
		r->active = r->pinged = now;
		pool_timer_set(p, r, running_due(p, r));
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

/*
 * Dispatch s's queue at the next pool_flush rather than now.  The owner
 * flushes after each batch of messages it reads, so that the requests
 * for a worker leave together, in one write, instead of one at a time
 * between the replies to clients: fewer system calls at both ends.
 */
void
pool_dispatch_later(struct pool *p, struct pool_service *s)
{
	if (s->pending)
		return;
	s->pending = 1;
	TAILQ_INSERT_TAIL(&p->pending, s, pending_link);
}

/* Dispatch every service pool_dispatch_later named. */
void
pool_flush(struct pool *p)
{
	struct pool_service	*s;

	while ((s = TAILQ_FIRST(&p->pending)) != NULL) {
		TAILQ_REMOVE(&p->pending, s, pending_link);
		s->pending = 0;
		pool_dispatch(p, s);
	}
}

/* Take r off its worker, leaving the worker's accounting right. */
static void
unrun(struct pool *p, struct pool_req *r)
{
	struct pool_worker	*w = r->worker;

	pool_run_del(p, r);
	TAILQ_REMOVE(&w->reqs, r, w_link);
	p->nrunning--;
	r->svc->inflight--;
	r->worker = NULL;
	if (w->inflight-- == w->capacity && !w->leaving) {
		w->avail = 1;
		TAILQ_INSERT_TAIL(&w->svc->avail, w, avail_link);
	}
}

/*
 * Count a request's end, answer it through the owner, and free it.
 * Status 0 is a request its client cancelled: the owner sends nothing.
 */
void
pool_finish(struct pool *p, struct pool_req *r, int status, struct waha_msg *m,
    size_t first, const char *reason)
{
	int64_t	 us;
	int	 i = util_status_index(status);

	if (r->worker != NULL)
		unrun(p, r);
	pool_timer_set(p, r, 0);
	if (r->keyed)
		HASH_DELETE(kh, p->by_key, r);
	if (r->stream)
		p->nstreams--;
	if (status == 0) {
		p->total.cancelled++;
		r->svc->stats.cancelled++;
		p->ops.reply(p->arg, r, status, NULL, 0, reason);
		req_free(p, r);
		return;
	}
	if (i != -1) {
		p->total.status[i]++;
		if (r->svc != NULL)
			r->svc->stats.status[i]++;
	}
	if (status == 200)
		p->replies++;
	us = p->now_us - r->arrived;
	if (r->svc != NULL) {
		hist_add(&r->svc->stats.latency, us);
		hist_recent_add(&r->svc->stats.recent, p->now, us);
	}
	hist_add(&p->total.latency, us);
	hist_recent_add(&p->total.recent, p->now, us);
	p->ops.reply(p->arg, r, status, m, first, reason);
	req_free(p, r);
}

/*
 * A service has no worker left, not even one finishing after DISCONNECT:
 * start its time-to-live.
 */
void
pool_service_orphan(struct pool *p, struct pool_service *s)
{
	if (s->orphaned != 0 || s->nworkers != 0 || s->leaving != 0)
		return;
	s->orphaned = p->now;
	TAILQ_INSERT_TAIL(&p->orphans, s, orphan_link);
}

static void
service_free(struct pool *p, struct pool_service *s, const char *why)
{
	struct pool_req	*r;

	while ((r = TAILQ_FIRST(&s->queue)) != NULL) {
		dequeue(p, r);
		pool_finish(p, r, 404, NULL, 0, why);
	}
	TAILQ_REMOVE(&p->orphans, s, orphan_link);
	if (s->pending)
		TAILQ_REMOVE(&p->pending, s, pending_link);
	HASH_DEL(p->services, s);
	p->nservices--;
	free(s->name);
	free(s);
}

/* Milliseconds until the next timer of the pool is due, or -1 if none. */
int
pool_timeout(struct pool *p, int64_t now)
{
	struct pool_worker	*w;
	struct pool_req		*r;
	struct pool_service	*s;
	int64_t			 t = 0;

	if (!TAILQ_EMPTY(&p->vanished) || !TAILQ_EMPTY(&p->pending))
		return (0);	/* pool_flush and pool_settle are due */
	if ((w = TAILQ_FIRST(&p->by_send)) != NULL)
		t = util_earliest(t, w->last_send + p->cf.heartbeat);
	if ((w = TAILQ_FIRST(&p->by_recv)) != NULL)
		t = util_earliest(t, w->last_recv +
		    (int64_t)p->cf.heartbeat * p->cf.liveness);
	if ((r = pool_timer_first(p)) != NULL)
		t = util_earliest(t, r->due);
	if ((s = TAILQ_FIRST(&p->orphans)) != NULL)
		t = util_earliest(t, s->orphaned + p->cf.service_ttl);
	if (p->draining)
		t = util_earliest(t, p->grace_end);
	if (t == 0)
		return (-1);
	return (t <= now ? 0 : (int)(t - now > 3600000 ? 3600000 : t - now));
}

static void
expire_requests(struct pool *p, int64_t now)
{
	struct pool_req	*r;

	while ((r = pool_timer_first(p)) != NULL && r->due <= now) {
		if (r->worker == NULL)
			expire_queued(p, r);
		else
			expire_running(p, r, now);
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

	pool_clock(p);
	while ((w = TAILQ_FIRST(&p->by_send)) != NULL &&
	    w->last_send + p->cf.heartbeat <= now) {
		if (pool_worker_send(p, w, WAHA_HEARTBEAT_CMD, NULL) == -1)
			pool_worker_lost(p, w);
	}
	while ((w = TAILQ_FIRST(&p->by_recv)) != NULL &&
	    w->last_recv + dead <= now)
		pool_worker_kill(p, w, 503, "worker died (no heartbeat)");
	expire_requests(p, now);
	while ((s = TAILQ_FIRST(&p->orphans)) != NULL &&
	    s->orphaned + p->cf.service_ttl <= now)
		service_free(p, s, "no worker for the service time-to-live");
}

/*
 * Stop taking requests, answer every queued one with 503, and give those
 * in flight grace ms (pool_drained says when the drain is over).
 */
void
pool_drain(struct pool *p, int grace)
{
	struct pool_service	*s, *tmp;
	struct pool_req		*r;

	pool_clock(p);
	p->draining = 1;
	p->grace_end = p->now + grace;
	HASH_ITER(hh, p->services, s, tmp) {
		while ((r = TAILQ_FIRST(&s->queue)) != NULL) {
			dequeue(p, r);
			pool_finish(p, r, 503, NULL, 0, "shutting down");
		}
	}
}

/* Whether a drain is over: nothing in flight, or the grace period gone. */
int
pool_drained(struct pool *p, int64_t now)
{
	return (p->draining && (p->nrunning == 0 || now >= p->grace_end));
}
