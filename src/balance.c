/*
 * waha-proxy-balance: a broker for exactly one service.  Its backend
 * ROUTER takes that service's MDP workers through the broker's dispatch
 * core (pool.c); upstream it is one worker of the service at the broker
 * (balance_up.c), registered only while the pool has a live worker.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"
#include "balance.h"
#include "guard.h"

static struct balance_env env0;

static struct {
	const char	*name, *backend, *capacity, *curve_server;
} opt;

static struct poptOption balance_options[] = {
	{ "name", 'n', POPT_ARG_STRING, &opt.name, 0,
	  "the service to balance (required)", "NAME" },
	{ "url", 'u', POPT_ARG_STRING, &cmdline.url, 0,
	  "brokers to register with, comma-separated (default "
	  WAHA_BROKER_URL ")", "URL[,URL...]" },
	{ "backend", 'b', POPT_ARG_STRING, &opt.backend, 0,
	  "endpoint to bind for the workers (default " WAHA_BALANCE_URL ")",
	  "URL" },
	{ "capacity", '\0', POPT_ARG_STRING, &opt.capacity, 0,
	  "requests the brokers may have in flight here, all brokers "
	  "together (default 1024)",
	  "N" },
	{ "curve-server", '\0', POPT_ARG_STRING, &opt.curve_server, 0,
	  "the broker's public CURVE certificate: CURVE upstream, with "
	  "--curve-secret", "FILE" },
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, cmdline_pool, 0,
	  "Dispatch options (towards the broker and the workers):", NULL },
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, guard_options, 0,
	  "Security options (the backend is CURVE with --clients; "
	  "--curve-secret is the key of both sides):", NULL },
	CMDLINE_BINDING_DAEMON,
	POPT_TABLEEND
};

static void
check_name(poptContext ctx, const char *name)
{
	const char	*why;

	if (name == NULL)
		cmdline_usage(ctx, "-n NAME is required");
	why = proto_name_check(name, strlen(name), WAHA_NAME_MAX);
	if (why == NULL && strncmp(name, "mmi.", 4) == 0)
		why = "the mmi. namespace is reserved";
	if (why != NULL)
		cmdline_usage(ctx, "-n: %s", why);
}

static void
options(struct balance_env *env, int argc, const char **argv)
{
	struct cmdline_limits	 lim;
	struct urls		 urls;
	poptContext		 ctx;

	ctx = cmdline_parse("waha-proxy-balance", "-n NAME [OPTION...]",
	    argc, argv, balance_options);
	if (poptPeekArg(ctx) != NULL)
		cmdline_usage(ctx, "unexpected argument: %s", poptPeekArg(ctx));
	check_name(ctx, opt.name);
	cmdline_urls(ctx, "-u", cmdline.url, &urls);
	env->nbrokers = urls.n;
	urls_free(&urls);
	env->bind = opt.backend != NULL ? opt.backend : WAHA_BALANCE_URL;
	cmdline_pool_config(ctx, &env->cf, &lim);
	env->max_msg_size = lim.max_msg_size;
	env->max_frames = lim.max_frames;
	env->grace = lim.grace;
	env->cf.service_ttl = WAHA_SERVICE_TTL;
	env->cf.max_services = 1;
	env->cf.max_name = WAHA_NAME_MAX;
	env->cf.only = opt.name;
	env->wcf.url = cmdline.url != NULL ? cmdline.url : WAHA_BROKER_URL;
	env->wcf.service = opt.name;
	env->wcf.capacity = cmdline_num(ctx, "--capacity", opt.capacity,
	    1, WAHA_CAPACITY_MAX, BALANCE_CAPACITY);
	env->wcf.features = WAHA_FEAT_CANCEL | WAHA_FEAT_STREAM;
	env->wcf.heartbeat = env->cf.heartbeat;
	env->wcf.liveness = env->cf.liveness;
	env->wcf.reconnect = env->cf.heartbeat;
	if (guard_cf.curve_secret == NULL && (opt.curve_server != NULL ||
	    guard_cf.clients != NULL))
		cmdline_usage(ctx, "--%s needs --curve-secret, the balancer's "
		    "own key", opt.curve_server != NULL ? "curve-server" :
		    "clients");
	if (guard_cf.curve_secret != NULL && opt.curve_server == NULL &&
	    guard_cf.clients == NULL)
		cmdline_usage(ctx, "--curve-secret is for --curve-server "
		    "(upstream) or --clients (the backend)");
	guard_cf.who = "backend";
	poptFreeContext(ctx);
}

/* The upstream certs, if CURVE is on that side. */
static void
upstream_curve(struct balance_env *env)
{
	char	*cause = NULL;

	if (opt.curve_server == NULL)
		return;
	if (curve_client_certs(guard_cf.curve_secret, opt.curve_server,
	    &env->up_own, &env->up_server, &cause) != 0)
		fatalx("upstream: %s", cause);
	env->wcf.curve_own = &env->up_own;
	env->wcf.curve_server = &env->up_server;
}

/* The pool asks whether a backend worker's key may serve the service. */
static int
on_admit(void *arg, struct waha_msg *m, const char *service, size_t len)
{
	struct balance_env	*env = arg;

	return (guard_allows(env->guard, m, ACL_SERVE, service, len));
}

static void
on_notice(void *arg, int level, const char *msg)
{
	if (level == 0)
		log_warnx("backend: %s", msg);
	else
		log_debug("backend: %s", msg);
}

static void
on_up_notice(void *arg, const char *msg)
{
	log_info("upstream: %s", msg);
}

/* The service got its first live backend worker or lost its last. */
static void
on_change(void *arg, struct pool_service *s)
{
	struct balance_env	*env = arg;

	log_debug("backend: %u live workers", s->nworkers);
	balance_up_sync(env);
}

/*
 * A message on the backend from something that is not a worker: count
 * it, log it (the first and then at each power of two, so a flood
 * cannot fill the log), and tell a native client where it went wrong.
 */
static void
stranger(struct balance_env *env, struct waha_msg *m,
    const struct proto_in *in)
{
	env->strangers++;
	if ((env->strangers & (env->strangers - 1)) == 0)
		log_warnx("backend: message from a %s ignored: not a worker "
		    "(%llu so far)", in->kind == PROTO_MDPC ? "MDP client" :
		    "client", (unsigned long long)env->strangers);
	if (in->kind != PROTO_NATIVE || in->env == 0)
		return;
	proto_reply(&env->out, m, in->env, 400);
	frames_addstr(&env->out, "balancer backend: only workers connect here");
	if (frames_send(&env->out, env->back, ZMQ_DONTWAIT) == -1)
		env->pool->unroutable++;
}

static void
backend_msg(struct balance_env *env, struct waha_msg *m)
{
	struct proto_in	 in;
	int		 ok;

	ok = proto_parse(m, &in, WAHA_NAME_MAX) == 0;
	log_trace("backend: message of %zu frames", m->n + m->dropped);
	if (in.kind == PROTO_MDPW)
		pool_worker_msg(env->pool, m, &in, ok);
	else
		stranger(env, m, &in);
}

static void
start_drain(struct balance_env *env)
{
	log_info("balance: shutting down: %u queued requests answered 503, "
	    "waiting up to %d ms for %u in flight", env->pool->nqueued,
	    env->grace, env->pool->nrunning);
	pool_drain(env->pool, env->grace);
	balance_up_sync(env);
}

static int
next_timeout(struct balance_env *env, int64_t now)
{
	int	 t, u;

	t = pool_timeout(env->pool, now);
	u = balance_up_timeout(env, now);
	if (u != -1 && (t == -1 || u < t))
		t = u;
	return (t);
}

/*
 * The zmq_poll loop: signals, then timers, then the backend and the
 * upstream sockets.  The upstream sockets change as the registration
 * follows the pool, so the pollitems are rebuilt on every turn.
 */
static void
balance_loop_run(struct balance_env *env)
{
	zmq_pollitem_t	*items = NULL;
	size_t		 nalloc = 0;
	int		 timeout, n, ng, sigs;

	for (;;) {
		timeout = next_timeout(env, util_now_ms());
		if (nalloc < 2 + GUARD_ITEMS + (1 + env->nretired) *
		    env->nbrokers) {
			nalloc = 2 + GUARD_ITEMS + (1 + env->nretired) *
			    env->nbrokers;
			items = xreallocarray(items, nalloc, sizeof(*items));
		}
		memset(items, 0, 2 * sizeof(*items));
		items[0].fd = signals_fd();
		items[0].events = ZMQ_POLLIN;
		items[1].socket = env->back;
		items[1].events = ZMQ_POLLIN;
		ng = guard_items(env->guard, items + 2);
		n = 2 + ng + balance_up_sockets(env, items + 2 + ng);
		if (zmq_poll(items, n, timeout) == -1 && errno != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(errno));
		if ((sigs = signals_take()) & SIGNALS_TERM) {
			if (env->pool->draining) {
				log_info("balance: second signal, exiting now");
				break;
			}
			start_drain(env);
		}
		if (sigs & SIGNALS_HUP)
			guard_sighup(env->guard);
		if (ng > 0 && (items[2].revents | items[3].revents))
			guard_events(env->guard);
		pool_tick(env->pool, util_now_ms());
		balance_up_tick(env, util_now_ms());
		for (n = 0; n < BALANCE_BATCH && frames_recv(&env->in,
		    env->back, ZMQ_DONTWAIT, env->max_frames + WAHA_REPLY_EXTRA)
		    == 0; n++)
			backend_msg(env, &env->in);
		if (n < BALANCE_BATCH)
			pool_settle(env->pool);
		balance_up_recv(env);
		pool_flush(env->pool);
		if (pool_drained(env->pool, util_now_ms()))
			break;
	}
	free(items);
}

/*
 * Check the broker endpoints now, while a mistake is still a startup
 * error: the first registration may come much later.  zmq_connect only
 * parses each; the socket is closed before any peer is involved.
 */
static void
check_url(struct balance_env *env)
{
	struct urls	 urls;
	void		*probe;
	char		*cause = NULL;
	unsigned	 i;

	if (urls_parse(env->wcf.url, &urls, &cause) != 0)
		fatalx("upstream: %s", cause);
	probe = util_socket(env->ctx, ZMQ_DEALER);
	for (i = 0; i < urls.n; i++) {
		if (util_attach(probe, 0, urls.url[i], &cause) != 0)
			fatalx("upstream: %s", cause);
	}
	util_close(&probe, 0);
	urls_free(&urls);
}

static void
balance_open(struct balance_env *env)
{
	char	*cause = NULL;

	env->ctx = zmq_ctx_new();
	check_url(env);
	upstream_curve(env);
	if ((env->guard = guard_new(env->ctx, &guard_cf, &cause)) == NULL)
		fatalx("backend: %s", cause);
	env->back = util_router(env->ctx, env->max_msg_size);
	if (guard_setup(env->guard, env->back, &cause) != 0 ||
	    util_bind(env->back, env->bind, env->bound, sizeof(env->bound),
	    &cause) != 0)
		fatalx("backend: %s", cause);
	if (signals_init(0, &cause) != 0)
		fatalx("balance: %s", cause);
}

/* Say what each backend worker served, answer what is left, and close. */
static void
balance_stop(struct balance_env *env)
{
	struct pool_worker	*w, *tmp;
	char			 id[2 * 16 + 1];

	HASH_ITER(hh, env->pool->workers, w, tmp) {
		util_hex(id, w->id, w->idlen > 16 ? 16 : w->idlen);
		log_info("backend: worker %s served %llu", id,
		    (unsigned long long)w->served);
	}
	pool_stop(env->pool);
	balance_up_free(env);
	log_info("balance: stopped: %llu requests, %llu replies, "
	    "%llu unroutable, %llu messages from non-workers",
	    (unsigned long long)env->pool->total.requests,
	    (unsigned long long)env->pool->replies,
	    (unsigned long long)env->pool->unroutable,
	    (unsigned long long)env->strangers);
	pool_free(env->pool);
	frames_free(&env->in);
	frames_free(&env->out);
	frames_free(&env->body);
	zmq_msg_close(&env->token);
	util_close(&env->back, WAHA_LINGER);
	guard_free(env->guard);
	curve_cert_clear(&env->up_own);
	curve_cert_clear(&env->up_server);
	zmq_ctx_term(env->ctx);
}

int
main(int argc, char **argv)
{
	struct balance_env	*env = &env0;
	struct pool_ops		 ops = { balance_up_reply, on_change,
				    on_notice, NULL, balance_up_partial };
	char			 what[128];

	options(env, argc, (const char **)argv);
	log_init(cmdline.syslog, cmdline.verbose, "waha-proxy-balance");
	env->wcf.notice = on_up_notice;
	env->wcf.arg = env;
	TAILQ_INIT(&env->retired);
	frames_init(&env->in);
	frames_init(&env->out);
	frames_init(&env->body);
	zmq_msg_init(&env->token);
	balance_open(env);
	if (guard_on(env->guard))
		ops.admit = on_admit;
	env->pool = pool_new(env->back, &env->cf, &ops, env);
	guard_describe(env->guard, what, sizeof(what));
	log_info("balance: %s for %s: backend bound to %s (%s), broker %s%s",
	    PACKAGE_VERSION, env->wcf.service, env->bound, what, env->wcf.url,
	    env->wcf.curve_own != NULL ? " with CURVE" : "");
	if (util_notify_ready() != 0)
		log_warn("balance: NOTIFY_SOCKET");

	balance_loop_run(env);

	balance_stop(env);
	log_info("balance: exiting");
	return (0);
}
