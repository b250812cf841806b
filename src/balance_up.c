/*
 * waha-proxy-balance, upstream side: one WAHA worker of the service at
 * the broker, registered only while the pool behind has a live worker.
 * Each REQUEST becomes a pool request whose envelope is the broker's
 * token, with the time it has left as its deadline; the pool's reply
 * callback sends REPLY or FAIL back on the registration that brought it.
 * A CANCEL from the broker cancels the pool request, which passes it on
 * to the backend worker that holds it.  Streams pass both ways: partials
 * from the backend go up as PARTIAL, the broker's CREDIT goes down.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"
#include "balance.h"

static void
register_up(struct balance_env *env)
{
	struct balance_up	*u;
	char			*cause = NULL;

	u = xcalloc(1, sizeof(*u));
	if ((u->ws = worker_new(env->ctx, &env->wcf, &cause)) == NULL) {
		log_warnx("upstream: %s: retrying in %d ms", cause,
		    env->wcf.reconnect);
		free(cause);
		free(u);
		env->register_at = util_now_ms() + env->wcf.reconnect;
		return;
	}
	u->gen = env->next_gen++;
	env->cur = u;
	env->register_at = 0;
	log_info("upstream: registered with %s as %s, capacity %u",
	    env->wcf.url, env->wcf.service, env->wcf.capacity);
}

static void
withdraw_up(struct balance_env *env)
{
	struct balance_up	*u = env->cur;

	worker_withdraw(u->ws);
	u->retired = util_now_ms();
	TAILQ_INSERT_TAIL(&env->retired, u, link);
	env->nretired++;
	env->cur = NULL;
	log_info("upstream: withdrawn from %s (%s), %u requests in flight",
	    env->wcf.url, env->pool->draining ? "shutting down" :
	    "no live backend worker", u->inflight);
}

/*
 * Make the upstream registration follow the pool: registered while the
 * service has a live backend worker and we are not shutting down,
 * withdrawn (DISCONNECT) otherwise, so that the broker answers clients
 * itself.  The pool's change callback and the drain call this.
 */
void
balance_up_sync(struct balance_env *env)
{
	struct pool_service	*s;
	int			 want;

	s = pool_service_find(env->pool, env->wcf.service,
	    strlen(env->wcf.service));
	want = !env->pool->draining && s != NULL && s->nworkers > 0;
	if (want && env->cur == NULL && env->register_at == 0)
		register_up(env);
	else if (!want && env->cur != NULL)
		withdraw_up(env);
	if (!want)
		env->register_at = 0;
}

static struct balance_up *
find_up(struct balance_env *env, int gen)
{
	struct balance_up	*u;

	if (env->cur != NULL && env->cur->gen == gen)
		return (env->cur);
	TAILQ_FOREACH(u, &env->retired, link) {
		if (u->gen == gen)
			return (u);
	}
	return (NULL);
}

static void
free_up(struct balance_env *env, struct balance_up *u)
{
	if (u->inflight > 0)
		log_warnx("upstream: registration closed with %u requests "
		    "unanswered", u->inflight);
	TAILQ_REMOVE(&env->retired, u, link);
	env->nretired--;
	worker_free(u->ws);
	free(u);
}

/*
 * The pool ends a request: REPLY on the registration that brought it,
 * or FAIL.  A FAIL carries only 400, 500, 503 and 504, so a 404 from the
 * pool (its service expired without workers) becomes 503.
 */
void
balance_up_reply(void *arg, struct pool_req *r, int status,
    struct waha_msg *m, size_t first, const char *reason)
{
	struct balance_env	*env = arg;
	struct balance_up	*u;
	int			 rc;

	log_debug("request %s: %d%s%s (%.1f ms)", env->wcf.service, status,
	    reason != NULL ? " " : "", reason != NULL ? reason : "",
	    (env->pool->now_us - r->arrived) / 1000.0);
	if ((u = find_up(env, r->kind)) == NULL) {
		log_debug("upstream: registration %d is closed: reply dropped",
		    r->kind);
		return;
	}
	u->inflight--;
	if (status == 0) {
		worker_forget(u->ws);	/* cancelled: the broker wants nothing */
		return;
	}
	if (status == 200) {
		frames_clear(&env->out);
		frames_moverange(&env->out, m, first, m->n);
		rc = worker_reply(u->ws, &r->env.part[0], &env->out);
	} else {
		if (!proto_status_ok(status, 1)) {
			status = 503;
			reason = "no backend worker for the service";
		}
		rc = worker_fail(u->ws, &r->env.part[0], status, reason);
	}
	if (rc == -1)
		log_debug("upstream: reply not sent: %s", zmq_strerror(errno));
}

/*
 * The pool relays a partial of a stream: PARTIAL upstream, on the
 * registration that brought the request.  -1 if it cannot be sent (the
 * stream is then cancelled).
 */
int
balance_up_partial(void *arg, struct pool_req *r, struct waha_msg *m,
    size_t first)
{
	struct balance_env	*env = arg;
	struct balance_up	*u;

	if ((u = find_up(env, r->kind)) == NULL)
		return (-1);
	if (m == NULL)
		return (0);	/* the broker above keeps its client alive */
	frames_clear(&env->out);
	frames_moverange(&env->out, m, first, m->n);
	return (worker_partial(u->ws, &r->env.part[0], &env->out));
}

/* A pool request's key: the registration and the broker's token. */
static size_t
up_key(unsigned char *key, size_t len, int gen, zmq_msg_t *token)
{
	size_t	 n = zmq_msg_size(token);

	if (n > len - sizeof(gen))
		return (0);
	memcpy(key, &gen, sizeof(gen));
	memcpy(key + sizeof(gen), zmq_msg_data(token), n);
	return (sizeof(gen) + n);
}

/* Hand a request from the broker to the pool. */
static void
submit(struct balance_env *env, struct balance_up *u,
    const struct proto_opts *o)
{
	struct pool_req	*r;
	unsigned char	 key[256];
	size_t		 klen;

	r = pool_req_new(env->pool, u->gen);
	r->timeout = o->timeout;
	r->stream = o->stream;
	r->allowed = o->credit;
	if ((klen = up_key(key, sizeof(key), u->gen, &env->token)) > 0)
		pool_req_key(r, key, klen);
	frames_addmove(&r->env, &env->token);
	frames_moverange(&r->body, &env->body, 0, env->body.n);
	frames_clear(&env->body);
	u->inflight++;
	pool_submit(env->pool, r, env->wcf.service, strlen(env->wcf.service),
	    0);
}

/*
 * The broker cancels a request that u brought (credit < 0), or grants
 * its stream credit bytes more.
 */
static void
command(struct balance_env *env, struct balance_up *u, long long credit)
{
	unsigned char	 key[256];
	size_t		 klen;
	struct pool_req	*r;

	klen = up_key(key, sizeof(key), u->gen, &env->token);
	if (klen == 0 || (r = pool_find_key(env->pool, key, klen)) == NULL)
		return;
	if (credit > 0)
		pool_credit(env->pool, r, credit);
	else {
		log_debug("upstream: request cancelled by the broker");
		pool_cancel(env->pool, r);
	}
}

/*
 * Read what the broker sent on every registration.  Only the current one
 * yields requests; the worker session answers those that reach a
 * withdrawn one with FAIL 503, but a withdrawn one still passes CANCELs
 * for the requests it brought.  A submission may withdraw the current
 * registration (its last worker found gone), hence the re-check.
 */
void
balance_up_recv(struct balance_env *env)
{
	struct balance_up	*u;
	struct proto_opts	 o;
	int			 n, got;

	for (n = 0; n < BALANCE_BATCH && env->cur != NULL && (got =
	    worker_recv(env->cur->ws, &env->token, &env->body, &o)) != 0;
	    n++) {
		if (got == WORKER_CANCEL)
			command(env, env->cur, -1);
		else if (got == WORKER_CREDIT)
			command(env, env->cur, o.credit);
		else
			submit(env, env->cur, &o);
	}
	TAILQ_FOREACH(u, &env->retired, link) {
		while ((got = worker_recv(u->ws, &env->token, &env->body,
		    &o)) == WORKER_CANCEL || got == WORKER_CREDIT)
			command(env, u, got == WORKER_CREDIT ? o.credit : -1);
	}
}

/*
 * When a withdrawn registration may go, or 0 while it has requests in
 * flight (it keeps heartbeating, so the broker still takes their
 * replies): a heartbeat after its last one is answered, time enough for
 * a request that crossed our DISCONNECT to get its 503.
 */
static int64_t
retire_at(struct balance_env *env, struct balance_up *u)
{
	if (u->inflight > 0)
		return (0);
	return (u->retired + env->wcf.heartbeat);
}

/* Milliseconds until balance_up_tick has work, or -1. */
int
balance_up_timeout(struct balance_env *env, int64_t now)
{
	struct balance_up	*u;
	int64_t			 t = env->register_at;
	int			 w;

	if (env->cur != NULL && (w = worker_timeout(env->cur->ws, now)) != -1)
		t = util_earliest(t, now + w);
	TAILQ_FOREACH(u, &env->retired, link) {
		t = util_earliest(t, retire_at(env, u));
		if ((w = worker_timeout(u->ws, now)) != -1)
			t = util_earliest(t, now + w);
	}
	if (t == 0)
		return (-1);
	return (t <= now ? 0 : (int)(t - now));
}

/*
 * Heartbeats on every registration, reconnection of the current one,
 * retries of a failed registration, and retirements.
 */
void
balance_up_tick(struct balance_env *env, int64_t now)
{
	struct balance_up	*u, *next;
	int64_t			 at;

	if (env->cur != NULL)
		worker_tick(env->cur->ws, now);
	if (env->register_at != 0 && env->register_at <= now) {
		env->register_at = 0;
		balance_up_sync(env);
	}
	for (u = TAILQ_FIRST(&env->retired); u != NULL; u = next) {
		next = TAILQ_NEXT(u, link);
		if ((at = retire_at(env, u)) != 0 && at <= now)
			free_up(env, u);
		else
			worker_tick(u->ws, now);
	}
}

/*
 * Fill items (room for (1 + env->nretired) * env->nbrokers) with the
 * upstream sockets to poll, one per broker of each registration;
 * returns how many.
 */
int
balance_up_sockets(struct balance_env *env, zmq_pollitem_t *items)
{
	struct balance_up	*u;
	int			 n = 0;

	if (env->cur != NULL)
		n += worker_pollitems(env->cur->ws, items, env->nbrokers);
	TAILQ_FOREACH(u, &env->retired, link)
		n += worker_pollitems(u->ws, items + n, env->nbrokers);
	return (n);
}

/* Withdraw and close every registration (replies still queued linger). */
void
balance_up_free(struct balance_env *env)
{
	struct balance_up	*u;

	if (env->cur != NULL)
		withdraw_up(env);
	while ((u = TAILQ_FIRST(&env->retired)) != NULL)
		free_up(env, u);
}
