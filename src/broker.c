/*
 * waha-broker: one ROUTER socket and one zmq_poll loop routing native
 * and MDP client requests to MDP workers through the dispatch core.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"
#include "broker.h"
#include "guard.h"

/*
 * Messages handled before the requests they freed workers for are sent
 * (pool_flush) and the timers get another look.
 */
#define BROKER_BATCH	256

/* Longest envelope by which a command can name its request. */
#define BROKER_KEY_MAX	1024

/* At most one log line a second about MDP requests dropped. */
#define BROKER_MDP_LOG	1000	/* ms */

static struct broker_env env0;

static struct {
	const char	*max_services, *max_name, *service_ttl;
} opt;

static struct poptOption broker_options[] = {
	{ "url", 'u', POPT_ARG_STRING, &cmdline.url, 0,
	  "endpoint to bind (default " WAHA_BROKER_URL ")", "URL" },
	{ "max-services", '\0', POPT_ARG_STRING, &opt.max_services, 0,
	  "most services known at once (default 10000)", "N" },
	{ "max-name", '\0', POPT_ARG_STRING, &opt.max_name, 0,
	  "longest service name, 1 to 255 (default 255)", "BYTES" },
	{ "service-ttl", '\0', POPT_ARG_STRING, &opt.service_ttl, 0,
	  "how long a service outlives its last worker (default 30000)",
	  "MS" },
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, cmdline_pool, 0,
	  "Dispatch options:", NULL },
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, guard_options, 0,
	  "Security options (CURVE with --curve-secret and --clients):",
	  NULL },
	CMDLINE_BINDING_DAEMON,
	POPT_TABLEEND
};

static void
options(struct broker_env *env, int argc, const char **argv)
{
	struct cmdline_limits	 lim;
	poptContext		 ctx;

	ctx = cmdline_parse("waha-broker", "[OPTION...]", argc, argv,
	    broker_options);
	if (poptPeekArg(ctx) != NULL)
		cmdline_usage(ctx, "unexpected argument: %s", poptPeekArg(ctx));
	env->url = cmdline.url != NULL ? cmdline.url : WAHA_BROKER_URL;
	cmdline_pool_config(ctx, &env->cf, &lim);
	env->max_msg_size = lim.max_msg_size;
	env->max_frames = lim.max_frames;
	env->grace = lim.grace;
	env->cf.max_services = cmdline_num(ctx, "--max-services",
	    opt.max_services, 1, 10000000, WAHA_MAX_SERVICES);
	env->cf.max_name = cmdline_num(ctx, "--max-name", opt.max_name,
	    1, WAHA_NAME_MAX, WAHA_NAME_MAX);
	env->cf.service_ttl = cmdline_num(ctx, "--service-ttl",
	    opt.service_ttl, 0, INT_MAX, WAHA_SERVICE_TTL);
	if ((guard_cf.curve_secret == NULL) != (guard_cf.clients == NULL))
		cmdline_usage(ctx, "--curve-secret and --clients go together: "
		    "the broker's own key and the keys it lets in");
	guard_cf.who = "broker";
	poptFreeContext(ctx);
}

/* Send the replies broker_send held; a vanished client is counted. */
void
broker_flush(struct broker_env *env)
{
	size_t	 i;

	for (i = 0; i < env->nout; i++)
		if (frames_send(&env->outbox[i], env->sock, ZMQ_DONTWAIT) ==
		    -1) {
			env->pool->unroutable++;
			log_debug("broker: reply to a vanished client "
			    "dropped: %s", zmq_strerror(errno));
		}
	env->nout = 0;
}

/*
 * Send a message to a client: held (its parts moved, m left empty) until
 * the loop has handled what it read, then sent with the others by
 * broker_flush.  Replies that leave together reach libzmq's I/O thread
 * together, and each client gets several in one write rather than one
 * write each.
 */
void
broker_send(struct broker_env *env, struct waha_msg *m)
{
	struct waha_msg	 spare;

	if (env->nout == BROKER_OUTBOX)
		broker_flush(env);
	spare = env->outbox[env->nout];
	env->outbox[env->nout++] = *m;
	*m = spare;
	frames_clear(m);
}

/*
 * Start a reply in env->out to the client whose request is m: its
 * envelope (moved from m), then "" and the status for a native client or
 * "" MDPC01 SERVICE for an MDP client.  The caller adds fields and sends.
 */
void
broker_reply(struct broker_env *env, struct waha_msg *m, size_t envlen,
    int kind, int status, const char *service)
{
	if (kind != BROKER_MDP) {
		proto_reply(&env->out, m, envlen, status);
		return;
	}
	frames_clear(&env->out);
	frames_moverange(&env->out, m, 0, envlen);
	frames_add(&env->out);
	frames_addstr(&env->out, WAHA_MDPC);
	frames_addstr(&env->out, service);
}

/*
 * An MDP request ends without a reply (RFC 7 has no error reply): count
 * it, by status, and say so in the log, at most once a second.
 */
void
broker_mdp_dropped(struct broker_env *env, int len, const char *name,
    int status, const char *reason)
{
	int64_t	 now = util_now_ms();
	int	 i = util_status_index(status);

	env->mdp.requests++;
	if (i != -1)
		env->mdp.status[i]++;
	if (now < env->mdp_log_at)
		return;
	env->mdp_log_at = now + BROKER_MDP_LOG;
	log_warnx("broker: MDP request for %.*s dropped: %d %s (%llu so far; "
	    "RFC 7 cannot tell its client)", len, name, status,
	    reason != NULL ? reason : "", (unsigned long long)env->mdp.requests);
}

/* The pool ends a request: answer its client. */
static void
on_reply(void *arg, struct pool_req *r, int status, struct waha_msg *m,
    size_t first, const char *reason)
{
	struct broker_env	*env = arg;
	const char		*name = r->svc != NULL ? r->svc->name : NULL;
	int			 len = name != NULL ? (int)r->svc->len :
				    (int)env->cur_len;

	if (name == NULL)
		name = env->cur_name != NULL ? env->cur_name : "-";
	log_debug("request %.*s: %d %s (%.1f ms)", len, name, status,
	    reason != NULL ? reason : "",
	    (env->pool->now_us - r->arrived) / 1000.0);
	if (status == 0)
		return;		/* cancelled: its client wants nothing */
	if (r->kind == BROKER_MDP && status != 200) {
		broker_mdp_dropped(env, len, name, status, reason);
		return;
	}
	broker_reply(env, &r->env, r->env.n, r->kind, status,
	    r->svc != NULL ? r->svc->name : "");
	if (status == 200)
		frames_moverange(&env->out, m, first, m->n);
	else
		frames_addstr(&env->out, reason);
	broker_send(env, &env->out);
}

/*
 * The pool relays a partial of stream r: "206" and its fields, to the
 * envelope of r (copied: the final reply still needs it).  -1 if the
 * client cannot take it.
 */
static int
on_partial(void *arg, struct pool_req *r, struct waha_msg *m, size_t first)
{
	struct broker_env	*env = arg;
	size_t			 i;

	frames_clear(&env->out);
	for (i = 0; i < r->env.n; i++)
		frames_addmem(&env->out, frames_data(&r->env, i),
		    frames_size(&r->env, i));
	frames_add(&env->out);
	frames_addstr(&env->out, "206");
	if (m != NULL)
		frames_moverange(&env->out, m, first, m->n);
	broker_flush(env);	/* what the client was sent before, first */
	if (frames_send(&env->out, env->sock, ZMQ_DONTWAIT) == -1) {
		env->pool->unroutable++;
		return (-1);
	}
	return (0);
}

static void
on_notice(void *arg, int level, const char *msg)
{
	if (level == 0)
		log_warnx("%s", msg);
	else
		log_debug("%s", msg);
}

/*
 * A request the rules refuse: 403 to a native client; an MDP client
 * gets nothing (RFC 7 has no error reply), as mdp_dropped counts.
 */
static void
refuse(struct broker_env *env, struct waha_msg *m, const struct proto_in *in,
    int kind)
{
	env->refused++;
	if (kind == BROKER_MDP) {
		broker_mdp_dropped(env, (int)in->service_len, in->service, 403,
		    proto_status_text(403));
		return;
	}
	broker_reply(env, m, in->env, kind, 403, NULL);
	frames_addstr(&env->out, proto_status_text(403));
	broker_send(env, &env->out);
}

/* The pool asks whether a worker's key may serve a service. */
static int
on_admit(void *arg, struct waha_msg *m, const char *service, size_t len)
{
	struct broker_env	*env = arg;

	return (guard_allows(env->guard, m, ACL_SERVE, service, len));
}

/*
 * A request from a client: checked against the keys and rules (mmi.
 * services too), then mmi. here and everything else to the pool.
 */
static void
client_request(struct broker_env *env, struct waha_msg *m,
    const struct proto_in *in)
{
	struct pool_req	*r;
	unsigned char	 key[BROKER_KEY_MAX];
	size_t		 klen;
	int		 kind = in->kind == PROTO_MDPC ? BROKER_MDP :
			    BROKER_NATIVE;

	if (!guard_allows(env->guard, m, ACL_CALL, in->service,
	    in->service_len)) {
		refuse(env, m, in, kind);
		return;
	}
	if (in->service_len >= 4 && memcmp(in->service, "mmi.", 4) == 0) {
		env->mmi_requests++;
		broker_mmi(env, m, in);
		return;
	}
	r = pool_req_new(env->pool, kind);
	if (in->extended) {
		r->timeout = in->opts.timeout;
		r->stream = in->opts.stream;
		r->allowed = in->opts.credit;
		if ((klen = frames_key(m, in->env, key, sizeof(key))) > 0)
			pool_req_key(r, key, klen);
	}
	frames_moverange(&r->env, m, 0, in->env);
	frames_moverange(&r->body, m, in->body, m->n);
	env->cur_name = in->service;
	env->cur_len = in->service_len;
	pool_submit(env->pool, r, in->service, in->service_len,
	    kind == BROKER_MDP ? POOL_CREATE : 0);
	env->cur_name = NULL;
}

/*
 * A command on an open request, named by its envelope (DESIGN.md 2.6).
 * Commands get no reply, not even when malformed or when they name no
 * open request: the request's own reply may be on its way.
 */
static void
command(struct broker_env *env, struct waha_msg *m, const struct proto_in *in,
    int ok)
{
	unsigned char	 key[BROKER_KEY_MAX];
	size_t		 klen;
	struct pool_req	*r;

	env->commands++;
	if (!ok) {
		env->bad_requests++;
		log_debug("bad command ignored: %s", in->reason);
		return;
	}
	klen = frames_key(m, in->env, key, sizeof(key));
	if (klen == 0 || (r = pool_find_key(env->pool, key, klen)) == NULL) {
		log_debug("%s: no such open request",
		    in->opts.cancel ? "cancel" : "credit");
		return;
	}
	if (in->opts.credit > 0) {
		pool_credit(env->pool, r, in->opts.credit);
		return;
	}
	if (!in->opts.cancel)
		return;		/* cancel=0 */
	log_debug("request %s: cancelled by its client", r->svc->name);
	pool_cancel(env->pool, r);
}

static void
handle(struct broker_env *env, struct waha_msg *m)
{
	struct proto_in	 in;
	int		 ok;

	ok = proto_parse(m, &in, env->cf.max_name) == 0;
	if (ok && in.kind != PROTO_MDPW && m->bytes > env->cf.max_size) {
		ok = 0;
		in.reason = "request too large";
	}
	/*
	 * Up to WAHA_REPLY_EXTRA more frames came for workers' replies; the
	 * two of the WAHA01 header do not count against --max-frames.
	 */
	if (ok && in.kind != PROTO_MDPW && m->n > (size_t)env->max_frames +
	    (in.extended ? 2 : 0)) {
		ok = 0;
		in.reason = "too many frames";
	}
	log_trace("message of %zu frames, %s", m->n + m->dropped,
	    in.kind == PROTO_MDPW ? "worker" :
	    in.kind == PROTO_MDPC ? "MDP client" : "client");
	if (in.kind == PROTO_MDPW) {
		pool_worker_msg(env->pool, m, &in, ok);
		return;
	}
	if (in.kind == PROTO_CMD) {
		command(env, m, &in, ok);
		return;
	}
	if (ok) {
		client_request(env, m, &in);
		return;
	}
	env->bad_requests++;
	log_debug("bad request: %s", in.reason);
	if (in.kind == PROTO_NATIVE) {
		broker_reply(env, m, in.env, BROKER_NATIVE, 400, NULL);
		frames_addstr(&env->out, in.reason);
		broker_send(env, &env->out);
	}
}

static void
start_drain(struct broker_env *env)
{
	log_info("broker: shutting down: %u queued requests answered 503, "
	    "waiting up to %d ms for %u in flight", env->pool->nqueued,
	    env->grace, env->pool->nrunning);
	pool_drain(env->pool, env->grace);
}

/*
 * The zmq_poll loop: signals, then timers, then the ZAP handler and the
 * handshake monitor, then the socket.
 */
static void
broker_loop_run(struct broker_env *env)
{
	zmq_pollitem_t	 items[2 + GUARD_ITEMS];
	int		 timeout, sigs, n, nitems, i;

	memset(items, 0, sizeof(items));
	items[0].socket = env->sock;
	items[0].events = ZMQ_POLLIN;
	items[1].fd = signals_fd();
	items[1].events = ZMQ_POLLIN;
	nitems = 2 + guard_items(env->guard, items + 2);
	for (;;) {
		timeout = pool_timeout(env->pool, util_now_ms());
		for (i = 0; i < nitems; i++)
			items[i].revents = 0;
		if (zmq_poll(items, nitems, timeout) == -1 && errno != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(errno));
		if ((sigs = signals_take()) & SIGNALS_TERM) {
			if (env->pool->draining) {
				log_info("broker: second signal, exiting now");
				return;
			}
			start_drain(env);
		}
		if (sigs & SIGNALS_HUP)
			guard_sighup(env->guard);
		pool_tick(env->pool, util_now_ms());
		if (nitems > 2 && (items[2].revents | items[3].revents))
			guard_events(env->guard);
		for (n = 0; n < BROKER_BATCH && frames_recv(&env->in,
		    env->sock, ZMQ_DONTWAIT, env->max_frames + WAHA_REPLY_EXTRA)
		    == 0; n++)
			handle(env, &env->in);
		pool_flush(env->pool);
		if (n < BROKER_BATCH)
			pool_settle(env->pool);
		broker_flush(env);
		if (pool_drained(env->pool, util_now_ms()))
			return;
	}
}

static void
broker_open(struct broker_env *env)
{
	char	*cause = NULL;

	env->ctx = zmq_ctx_new();
	if ((env->guard = guard_new(env->ctx, &guard_cf, &cause)) == NULL)
		fatalx("broker: %s", cause);
	env->sock = util_router(env->ctx, env->max_msg_size);
	if (guard_setup(env->guard, env->sock, &cause) != 0 ||
	    util_bind(env->sock, env->url, env->bound, sizeof(env->bound),
	    &cause) != 0)
		fatalx("broker: %s", cause);
	if (signals_init(0, &cause) != 0)
		fatalx("broker: %s", cause);
}

int
main(int argc, char **argv)
{
	struct broker_env	*env = &env0;
	struct pool_ops		 ops = { on_reply, NULL, on_notice, NULL,
				    on_partial };
	char			 what[128];
	size_t			 i;

	options(env, argc, (const char **)argv);
	log_init(cmdline.syslog, cmdline.verbose, "waha-broker");
	frames_init(&env->in);
	frames_init(&env->out);
	broker_open(env);
	if (guard_on(env->guard))
		ops.admit = on_admit;
	env->pool = pool_new(env->sock, &env->cf, &ops, env);
	env->started = util_now_ms();
	guard_describe(env->guard, what, sizeof(what));
	log_info("broker: %s bound to %s (%s)", PACKAGE_VERSION, env->bound,
	    what);
	if (util_notify_ready() != 0)
		log_warn("broker: NOTIFY_SOCKET");

	broker_loop_run(env);

	pool_stop(env->pool);
	broker_flush(env);
	pool_free(env->pool);
	frames_free(&env->in);
	frames_free(&env->out);
	for (i = 0; i < BROKER_OUTBOX; i++)
		frames_free(&env->outbox[i]);
	util_close(&env->sock, WAHA_LINGER);
	guard_free(env->guard);
	zmq_ctx_term(env->ctx);
	log_info("broker: stopped");
	return (0);
}
