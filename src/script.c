/*
 * waha-service-script: expose a program as a WAHA service.  Each request
 * runs the program with the predefined arguments and the request's fields
 * as argv; its stdout (and, as asked, its stderr and exit status) is the
 * reply.  One zmq_poll loop watches the broker, the self-pipe of the
 * signals (SIGCHLD among them) and the pipes of every run.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "waha.h"
#include "script.h"

static struct script_env env0;

static struct {
	const char	*concurrency, *timeout, *max_output, *stream_timeout;
	const char	*heartbeat, *liveness;
	const char	*curve_server, *curve_secret;
} opt;

static struct poptOption script_options[] = {
	{ "name", 'n', POPT_ARG_STRING, &env0.name, 0,
	  "service name (required)", "NAME" },
	{ "script", 's', POPT_ARG_STRING, &env0.program, 0,
	  "program to run for each request (required; searched in PATH "
	  "if it has no slash)", "PROGRAM" },
	{ "url", 'u', POPT_ARG_STRING, &cmdline.url, 0,
	  "broker endpoints, comma-separated: registers with each "
	  "(default " WAHA_BROKER_URL ")", "URL[,URL...]" },
	{ "no-stdout", '\0', POPT_ARG_NONE, &env0.no_stdout, 0,
	  "leave the program's stdout out of the reply", NULL },
	{ "stderr", 'e', POPT_ARG_NONE, &env0.with_stderr, 0,
	  "add the program's stderr to the reply", NULL },
	{ "ret-code", 'r', POPT_ARG_NONE, &env0.ret_code, 0,
	  "add the exit status to the reply (128+N if killed by signal N)",
	  NULL },
	{ "concurrency", 'c', POPT_ARG_STRING, &opt.concurrency, 0,
	  "programs run at once (default 1)", "N" },
	{ "timeout", '\0', POPT_ARG_STRING, &opt.timeout, 0,
	  "longest run, then SIGTERM, SIGKILL and 504; -1 none "
	  "(default 30000)", "MS" },
	{ "max-output", '\0', POPT_ARG_STRING, &opt.max_output, 0,
	  "most bytes of stdout or of stderr, then the run is killed and "
	  "fails with 500 (default 1048576; a streamed stdout has no limit)",
	  "BYTES" },
	{ "stream-timeout", '\0', POPT_ARG_STRING, &opt.stream_timeout, 0,
	  "longest run of a streamed request (stream=1), then as --timeout; "
	  "-1 none (default -1)", "MS" },
	{ "stdin", '\0', POPT_ARG_NONE, &env0.use_stdin, 0,
	  "write the last field to the program's stdin, not to its argv",
	  NULL },
	{ "chdir", '\0', POPT_ARG_STRING, &env0.chdir, 0,
	  "run the programs (and resolve relative paths) in DIR", "DIR" },
	{ "keep-env", '\0', POPT_ARG_NONE, &env0.keep_env, 0,
	  "pass the service's whole environment to the programs", NULL },
	{ "persistent", '\0', POPT_ARG_NONE, &env0.persistent, 0,
	  "start -c copies of the program once and give them one request "
	  "at a time, a line of JSON on stdin, a reply line on stdout",
	  NULL },
	{ "heartbeat", '\0', POPT_ARG_STRING, &opt.heartbeat, 0,
	  "heartbeat interval with the broker (default 2500)", "MS" },
	{ "liveness", '\0', POPT_ARG_STRING, &opt.liveness, 0,
	  "heartbeats the broker may miss before it is dead (default 3)",
	  "N" },
	{ "curve-server", '\0', POPT_ARG_STRING, &opt.curve_server, 0,
	  "the broker's public CURVE certificate (with --curve-secret)",
	  "FILE" },
	{ "curve-secret", '\0', POPT_ARG_STRING, &opt.curve_secret, 0,
	  "own secret CURVE certificate (mode 0600)", "FILE" },
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, cmdline_daemon, 0,
	  "Daemon options:", NULL },
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, cmdline_common, 0,
	  "Common options:", NULL },
	POPT_TABLEEND
};

static void
on_notice(void *arg, const char *msg)
{
	log_warnx("script: %s", msg);
}

static void
options(struct script_env *env, int argc, const char **argv)
{
	poptContext	 ctx;
	const char	**args, *why;
	struct urls	 urls;
	int		 i;

	ctx = cmdline_parse("waha-service-script",
	    "[OPTION...] -n NAME -s PROGRAM [--] [ARG...]", argc, argv,
	    script_options);
	if (env->name == NULL)
		cmdline_usage(ctx, "-n NAME is required");
	if ((why = proto_name_check(env->name, strlen(env->name),
	    WAHA_NAME_MAX)) != NULL)
		cmdline_usage(ctx, "-n: %s", why);
	if (env->program == NULL || *env->program == '\0')
		cmdline_usage(ctx, "-s PROGRAM is required");
	cmdline_urls(ctx, "-u", cmdline.url, &urls);
	urls_free(&urls);
	env->concurrency = cmdline_num(ctx, "-c", opt.concurrency, 1,
	    WAHA_CAPACITY_MAX, 1);
	env->timeout = cmdline_ms(ctx, "--timeout", opt.timeout,
	    SCRIPT_TIMEOUT);
	if (env->timeout == 0)
		cmdline_usage(ctx, "--timeout: 0 is not a timeout "
		    "(-1 is none)");
	env->stream_timeout = cmdline_ms(ctx, "--stream-timeout",
	    opt.stream_timeout, -1);
	if (env->stream_timeout == 0)
		cmdline_usage(ctx, "--stream-timeout: 0 is not a timeout "
		    "(-1 is none)");
	if (env->persistent && (why = script_persist_refuse(env)) != NULL)
		cmdline_usage(ctx, "%s", why);
	env->max_output = cmdline_num(ctx, "--max-output", opt.max_output, 0,
	    INT_MAX, SCRIPT_MAX_OUTPUT);
	env->wcf.heartbeat = cmdline_num(ctx, "--heartbeat", opt.heartbeat,
	    10, 3600000, WAHA_HEARTBEAT);
	env->wcf.liveness = cmdline_num(ctx, "--liveness", opt.liveness, 1,
	    1000, WAHA_LIVENESS);
	/* The certs are read before --chdir moves elsewhere. */
	if (cmdline_curve(ctx, opt.curve_server, opt.curve_secret,
	    &env->curve_own, &env->curve_server)) {
		env->wcf.curve_own = &env->curve_own;
		env->wcf.curve_server = &env->curve_server;
	}
	if (env->chdir != NULL && chdir(env->chdir) == -1)
		cmdline_usage(ctx, "--chdir: %s: %s", env->chdir,
		    strerror(errno));
	args = poptGetArgs(ctx);
	for (i = 0; args != NULL && args[i] != NULL; i++)
		;
	env->nargs = i;
	env->args = xcalloc(i + 1, sizeof(*env->args));
	for (i = 0; i < env->nargs; i++)
		env->args[i] = xstrdup(args[i]);
	env->name = xstrdup(env->name);
	env->program = xstrdup(env->program);
	poptFreeContext(ctx);
	env->wcf.url = cmdline.url != NULL ? cmdline.url : WAHA_BROKER_URL;
	env->wcf.service = env->name;
	env->wcf.capacity = env->concurrency;
	/* A copy that stays running answers a line: it does not stream. */
	env->wcf.features = env->persistent ? WAHA_FEAT_CANCEL :
	    WAHA_FEAT_STREAM;
	env->wcf.reconnect = env->wcf.heartbeat;
	env->wcf.notice = on_notice;
}

/* Descriptors 0, 1 and 2 open, so that no pipe of a run lands there. */
static void
std_fds(void)
{
	int	 fd;

	while ((fd = open("/dev/null", O_RDWR)) != -1 && fd <= 2)
		;
	if (fd == -1)
		fatal("/dev/null");
	close(fd);
}

static void
free_buf(void *data, void *hint)
{
	free(data);
}

/* Append a run's output to m as one field, without copying it. */
void
script_add_output(struct waha_msg *m, struct script_buf *b)
{
	zmq_msg_t	*p;

	p = frames_add(m);
	if (b->len == 0)
		return;
	zmq_msg_close(p);
	if (zmq_msg_init_data(p, b->data, b->len, free_buf, NULL) != 0)
		fatal("zmq_msg_init_data");
	memset(b, 0, sizeof(*b));
}

static int
exit_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return (WEXITSTATUS(wstatus));
	if (WIFSIGNALED(wstatus))
		return (128 + WTERMSIG(wstatus));
	return (-1);
}

/*
 * Answer a request that failed: FAIL with its status and reason; or
 * nothing, if its client gave up (the broker has answered it).
 */
void
script_fail(struct script_env *env, struct script_run *run)
{
	if (run->silent) {
		log_debug("script: request %llu: stopped: %s",
		    (unsigned long long)run->seq, run->reason);
		worker_forget(env->ws);
		script_exec_free(run);
		return;
	}
	log_warnx("script: request %llu: %d %s", (unsigned long long)run->seq,
	    run->fail, run->reason);
	worker_fail(env->ws, &run->token, run->fail, run->reason);
	script_exec_free(run);
}

/* A run is over: reply with its output and status, or FAIL. */
static void
finish(struct script_env *env, struct script_run *run)
{
	struct waha_msg	 fields;
	char		 num[16];
	int		 code = exit_code(run->wstatus);

	TAILQ_REMOVE(&env->running, run, link);
	env->nrunning--;
	/* Whatever of its process group outlived SIGTERM. */
	if (run->fail != 0)
		script_exec_kill(run);
	script_exec_reap(run);
	if (run->fail != 0) {
		script_fail(env, run);
		return;
	}
	log_debug("script: request %llu: exit %d, %zu bytes out (%.1f ms)",
	    (unsigned long long)run->seq, code, run->out[SCRIPT_OUT].len,
	    (util_now_us() - run->started) / 1000.0);
	frames_init(&fields);
	/* A stream's stdout went as partials: send what is left of it. */
	if (run->stream)
		script_stream_flush(env, run);
	else if (!env->no_stdout)
		script_add_output(&fields, &run->out[SCRIPT_OUT]);
	if (env->with_stderr)
		script_add_output(&fields, &run->out[SCRIPT_ERR]);
	if (env->ret_code) {
		snprintf(num, sizeof(num), "%d", code);
		frames_addstr(&fields, num);
	}
	if (worker_reply(env->ws, &run->token, &fields) != 0)
		log_warnx("script: request %llu: reply lost: %s",
		    (unsigned long long)run->seq, zmq_strerror(errno));
	frames_free(&fields);
	script_exec_free(run);
}

static void
start(struct script_env *env, struct script_run *run)
{
	if (run->expires != 0 && run->expires <= util_now_ms()) {
		/* Its client gave up while it waited: never started. */
		run->silent = 1;
		strlcpy(run->reason, "its client's deadline passed before it "
		    "started", sizeof(run->reason));
		script_fail(env, run);
		return;
	}
	if (script_exec_start(env, run) != 0) {
		script_fail(env, run);
		return;
	}
	log_trace("script: request %llu: pid %ld",
	    (unsigned long long)run->seq, (long)run->pid);
	TAILQ_INSERT_TAIL(&env->running, run, link);
	env->nrunning++;
}

static struct script_run *
find_run(struct script_runs *runs, zmq_msg_t *token)
{
	struct script_run	*run;
	size_t			 len = zmq_msg_size(token);

	TAILQ_FOREACH(run, runs, link) {
		if (zmq_msg_size(&run->token) == len &&
		    memcmp(zmq_msg_data(&run->token), zmq_msg_data(token),
		    len) == 0)
			return (run);
	}
	return (NULL);
}

/*
 * CANCEL: kill the run, or forget it if it waits for a slot.  A linear
 * search, over no more than twice the concurrency.
 */
static void
cancel(struct script_env *env, zmq_msg_t *token)
{
	struct script_run	*run;

	if ((run = find_run(&env->waiting, token)) != NULL) {
		TAILQ_REMOVE(&env->waiting, run, link);
		env->nwaiting--;
		run->silent = 1;
		strlcpy(run->reason, "cancelled before it started",
		    sizeof(run->reason));
		script_fail(env, run);
	} else if ((run = find_run(&env->running, token)) != NULL) {
		log_debug("script: request %llu: cancelled, killing pid %ld",
		    (unsigned long long)run->seq, (long)run->pid);
		script_exec_cancel(run, "cancelled");
	}
}

/*
 * Take the requests the broker sent.  It sends no more than the capacity
 * at once, but after a reconnect runs of the old session may still hold
 * slots: those requests wait here for a free one.
 */
static void
requests(struct script_env *env)
{
	struct script_run	*run;
	struct proto_opts	 o;
	int			 got;

	while ((got = worker_recv(env->ws, &env->token, &env->body, &o)) !=
	    0) {
		if (got == WORKER_CANCEL) {
			cancel(env, &env->token);
			continue;
		}
		if (got == WORKER_CREDIT) {
			if ((run = find_run(&env->running, &env->token)) !=
			    NULL || (run = find_run(&env->waiting,
			    &env->token)) != NULL)
				script_stream_credit(run, o.credit);
			continue;
		}
		run = script_exec_new(env, &env->token, &env->body);
		if (o.timeout >= 0)
			run->expires = util_now_ms() + o.timeout;
		if ((run->stream = o.stream))
			run->credit = o.credit > 0 ? o.credit :
			    WAHA_STREAM_WINDOW;
		if (env->persistent && script_persist_take(env, run) == 0)
			continue;
		if (!env->persistent && env->nrunning < env->concurrency)
			start(env, run);
		else if (env->nwaiting < env->concurrency) {
			TAILQ_INSERT_TAIL(&env->waiting, run, link);
			env->nwaiting++;
		} else {
			run->fail = 503;
			strlcpy(run->reason, "more requests than the "
			    "concurrency", sizeof(run->reason));
			script_fail(env, run);
		}
	}
	if (env->persistent)
		script_persist_settle(env);
}

/* Finish the runs that are over, then start those waiting. */
static void
settle(struct script_env *env)
{
	struct script_run	*run, *next;

	if (env->persistent) {
		script_persist_settle(env);
		return;
	}
	for (run = TAILQ_FIRST(&env->running); run != NULL; run = next) {
		next = TAILQ_NEXT(run, link);
		if (script_exec_done(run))
			finish(env, run);
	}
	while (env->nrunning < env->concurrency &&
	    (run = TAILQ_FIRST(&env->waiting)) != NULL) {
		TAILQ_REMOVE(&env->waiting, run, link);
		env->nwaiting--;
		start(env, run);
	}
}

static void
add_item(struct script_env *env, size_t *n, void *sock, int fd, short events,
    struct script_run *run, int which)
{
	env->items[*n].socket = sock;
	env->items[*n].fd = fd;
	env->items[*n].events = events;
	env->items[*n].revents = 0;
	env->item[*n].run = run;
	env->item[*n].copy = NULL;
	env->item[*n].which = which;
	(*n)++;
}

/* The poll items: the brokers, the signals, then every open pipe. */
static size_t
build_items(struct script_env *env)
{
	struct script_run	*run;
	struct script_copy	*c;
	size_t			 n = 0, need;
	unsigned		 k;
	int			 i;

	need = 1 + worker_nsockets(env->ws) + 3 * (size_t)(env->persistent ?
	    env->concurrency : env->nrunning);
	if (need > env->nitems) {
		env->nitems = need * 2;
		env->items = xreallocarray(env->items, env->nitems,
		    sizeof(*env->items));
		env->item = xreallocarray(env->item, env->nitems,
		    sizeof(*env->item));
	}
	n = worker_pollitems(env->ws, env->items, worker_nsockets(env->ws));
	for (k = 0; k < n; k++) {
		env->item[k].run = NULL;
		env->item[k].copy = NULL;
	}
	add_item(env, &n, NULL, signals_fd(), ZMQ_POLLIN, NULL, 0);
	TAILQ_FOREACH(run, &env->running, link) {
		for (i = 0; i < 3; i++) {
			/* A stream out of credit is not read: backpressure. */
			if (i == SCRIPT_OUT && run->stream && run->fail == 0 &&
			    script_stream_room(run) == 0)
				continue;
			if (run->fd[i] != -1)
				add_item(env, &n, NULL, run->fd[i],
				    i == SCRIPT_IN ? ZMQ_POLLOUT : ZMQ_POLLIN,
				    run, i);
		}
	}
	for (k = 0; env->persistent && k < env->concurrency; k++) {
		c = &env->copies[k];
		for (i = 0; i < 3; i++) {
			if (c->fd[i] == -1 || (i == SCRIPT_IN && c->in == NULL))
				continue;
			add_item(env, &n, NULL, c->fd[i], i == SCRIPT_IN ?
			    ZMQ_POLLOUT : ZMQ_POLLIN, NULL, i);
			env->item[n - 1].copy = c;
		}
	}
	return (n);
}

/* First signal: DISCONNECT, fail what waits, let the runs finish. */
static void
start_drain(struct script_env *env)
{
	struct script_run	*run;

	requests(env);
	worker_withdraw(env->ws);
	env->draining = 1;
	while ((run = TAILQ_FIRST(&env->waiting)) != NULL) {
		TAILQ_REMOVE(&env->waiting, run, link);
		env->nwaiting--;
		run->fail = 503;
		strlcpy(run->reason, "service shutting down",
		    sizeof(run->reason));
		script_fail(env, run);
	}
	log_info("script: shutting down, waiting for %u runs", env->nrunning);
}

/* Second signal: kill every run and fail its request at once. */
static void
stop_now(struct script_env *env)
{
	struct script_run	*run;

	log_info("script: second signal, killing %u runs", env->nrunning);
	if (env->persistent)
		script_persist_stop(env);
	while ((run = TAILQ_FIRST(&env->running)) != NULL) {
		TAILQ_REMOVE(&env->running, run, link);
		env->nrunning--;
		script_exec_kill(run);
		script_exec_reap(run);
		run->fail = 503;
		strlcpy(run->reason, "service stopped", sizeof(run->reason));
		script_fail(env, run);
	}
}

/* The zmq_poll loop: signals, pipes, exits, timers, then the broker. */
static void
script_loop_run(struct script_env *env)
{
	int64_t	 now;
	size_t	 n, i;
	int	 timeout, t, sigs;

	for (;;) {
		if (env->draining && env->nrunning == 0)
			return;
		now = util_now_ms();
		timeout = worker_timeout(env->ws, now);
		t = env->persistent ? script_persist_timeout(env, now) :
		    script_exec_timeout(env, now);
		if (t != -1 && (timeout == -1 || t < timeout))
			timeout = t;
		n = build_items(env);
		if (zmq_poll(env->items, n, timeout) == -1 && errno != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(errno));
		sigs = signals_take();
		if ((sigs & SIGNALS_TERM) && env->draining) {
			stop_now(env);
			return;
		}
		if (sigs & SIGNALS_TERM)
			start_drain(env);
		for (i = 0; i < n; i++) {
			if (env->item[i].run != NULL && env->items[i].revents)
				script_exec_io(env, env->item[i].run,
				    env->item[i].which);
			if (env->item[i].copy != NULL && env->items[i].revents)
				script_persist_io(env, env->item[i].copy,
				    env->item[i].which);
		}
		if ((sigs & SIGNALS_CHLD) && env->persistent)
			script_persist_wait(env);
		else if (sigs & SIGNALS_CHLD)
			script_exec_wait(env);
		if (env->persistent)
			script_persist_tick(env, util_now_ms());
		else
			script_exec_tick(env, util_now_ms());
		settle(env);
		requests(env);
		worker_tick(env->ws, util_now_ms());
	}
}

int
main(int argc, char **argv)
{
	struct script_env	*env = &env0;
	char			*cause = NULL;

	std_fds();
	options(env, argc, (const char **)argv);
	log_init(cmdline.syslog, cmdline.verbose, "waha-service-script");
	script_exec_env(env);
	if (script_exec_find(env->program) != 0)
		log_warnx("script: %s: no such executable program; requests "
		    "fail with %d until there is one", env->program,
		    env->persistent ? 503 : 500);
	if (signals_init(1, &cause) != 0)
		fatalx("script: %s", cause);
	if (env->persistent)
		script_persist_init(env);
	TAILQ_INIT(&env->running);
	TAILQ_INIT(&env->waiting);
	frames_init(&env->body);
	zmq_msg_init(&env->token);
	env->ctx = zmq_ctx_new();
	if ((env->ws = worker_new(env->ctx, &env->wcf, &cause)) == NULL)
		fatalx("script: %s", cause);
	log_info("script: %s serves %s with %s, %u %s, brokers %s%s",
	    PACKAGE_VERSION, env->name, env->program, env->concurrency,
	    env->persistent ? "persistent copies" : "at once", env->wcf.url,
	    env->wcf.curve_own != NULL ? " with CURVE" : "");
	if (util_notify_ready() != 0)
		log_warn("script: NOTIFY_SOCKET");

	script_loop_run(env);

	script_persist_free(env);
	worker_free(env->ws);
	curve_cert_clear(&env->curve_own);
	curve_cert_clear(&env->curve_server);
	zmq_msg_close(&env->token);
	frames_free(&env->body);
	free(env->items);
	free(env->item);
	while (zmq_ctx_term(env->ctx) == -1 && errno == EINTR)
		;
	log_info("script: stopped");
	return (0);
}
