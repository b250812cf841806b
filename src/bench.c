/*
 * waha-bench: load a broker with concurrent clients, verify every reply
 * and report the rate, the latency and what went wrong.  Built-in echo
 * workers let the broker alone be measured; -c 0 runs only them.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "waha.h"
#include "bench.h"

int bench_stop;

static struct {
	const char	*clients, *window, *size, *duration, *requests;
	const char	*timeout, *protocol, *workers, *capacity, *worker_url;
	const char	*curve_server, *curve_secret;
} opt;

static struct curve_cert curve_own, curve_server;

static struct bench_config cf0;

static struct poptOption bench_options[] = {
	{ "url", 'u', POPT_ARG_STRING, &cmdline.url, 0,
	  "broker endpoint (default " WAHA_BROKER_URL ")", "URL" },
	{ "name", 'n', POPT_ARG_STRING, &cf0.service, 0,
	  "service to call (default " BENCH_SERVICE ")", "NAME" },
	{ "protocol", '\0', POPT_ARG_STRING, &opt.protocol, 0,
	  "client protocol: native or mdp (default native)", "PROTO" },
	{ "clients", 'c', POPT_ARG_STRING, &opt.clients, 0,
	  "clients, a thread and a socket each (default 8); 0: only the "
	  "workers", "N" },
	{ "window", 'w', POPT_ARG_STRING, &opt.window, 0,
	  "requests in flight per client (default 16)", "N" },
	{ "size", 's', POPT_ARG_STRING, &opt.size, 0,
	  "payload bytes (default 64)", "BYTES" },
	{ "duration", 'd', POPT_ARG_STRING, &opt.duration, 0,
	  "send for this long (default 10)", "SECONDS" },
	{ "requests", 'N', POPT_ARG_STRING, &opt.requests, 0,
	  "send N requests in all instead", "N" },
	{ "timeout", 't', POPT_ARG_STRING, &opt.timeout, 0,
	  "a request unanswered after MS has timed out; -1 never "
	  "(default 5000)", "MS" },
	{ "json", '\0', POPT_ARG_NONE, &cf0.json, 0,
	  "write the figures as one line of JSON", NULL },
	{ "workers", '\0', POPT_ARG_STRING, &opt.workers, 0,
	  "run N echo workers of the service (default 0)", "N" },
	{ "capacity", '\0', POPT_ARG_STRING, &opt.capacity, 0,
	  "requests in flight per worker (default 64)", "N" },
	{ "worker-url", '\0', POPT_ARG_STRING, &opt.worker_url, 0,
	  "endpoint the workers connect to (default -u)", "URL" },
	{ "deadline", '\0', POPT_ARG_NONE, &cf0.deadline, 0,
	  "send -t to the broker as each request's deadline (WAHA01), as "
	  "waha-cli does", NULL },
	{ "raw", '\0', POPT_ARG_NONE, &cf0.raw, 0,
	  "workers are plain DEALER echo servers, for zmq_proxy and the like",
	  NULL },
	{ "curve-server", '\0', POPT_ARG_STRING, &opt.curve_server, 0,
	  "the broker's public CURVE certificate: clients and workers use "
	  "CURVE (with --curve-secret)", "FILE" },
	{ "curve-secret", '\0', POPT_ARG_STRING, &opt.curve_secret, 0,
	  "the secret CURVE certificate of every client and worker", "FILE" },
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, cmdline_common, 0,
	  "Common options:", NULL },
	POPT_TABLEEND
};

static void
nomeaning(poptContext ctx, const char *given, const char *name,
    const char *with)
{
	if (given != NULL)
		cmdline_usage(ctx, "%s has no meaning %s", name, with);
}

/* Options that would do nothing are refused, as waha-cli does. */
static void
check_meaning(poptContext ctx, const struct bench_config *cf)
{
	const char	*json = cf->json ? "" : NULL;
	const char	*raw = cf->raw ? "" : NULL;
	const char	*deadline = cf->deadline ? "" : NULL;

	if (opt.duration != NULL && opt.requests != NULL)
		cmdline_usage(ctx, "-d and -N cannot be given together");
	if (cf->clients == 0 && cf->workers == 0)
		cmdline_usage(ctx, "-c 0 runs only the workers: give --workers");
	if (cf->clients > 0 && cf->requests > 0 &&
	    cf->requests < cf->clients)
		cmdline_usage(ctx, "-N is less than -c: a client would idle");
	if (cf->proto == BENCH_MDP && cf->size < BENCH_HEADER)
		cmdline_usage(ctx, "--protocol mdp needs -s %d or more: the "
		    "sequence number travels in the payload", BENCH_HEADER);
	if (cf->clients == 0) {
		nomeaning(ctx, opt.window, "-w", "with -c 0");
		nomeaning(ctx, opt.size, "-s", "with -c 0");
		nomeaning(ctx, opt.duration, "-d", "with -c 0");
		nomeaning(ctx, opt.requests, "-N", "with -c 0");
		nomeaning(ctx, opt.timeout, "-t", "with -c 0");
		nomeaning(ctx, json, "--json", "with -c 0");
	}
	if (cf->workers == 0) {
		nomeaning(ctx, opt.capacity, "--capacity", "without --workers");
		nomeaning(ctx, opt.worker_url, "--worker-url",
		    "without --workers");
		nomeaning(ctx, raw, "--raw", "without --workers");
	}
	if (cf->raw)
		nomeaning(ctx, opt.capacity, "--capacity", "with --raw");
	if (cf->proto == BENCH_MDP || cf->timeout < 0)
		nomeaning(ctx, deadline, "--deadline",
		    "with --protocol mdp or -t -1");
}

static poptContext
options(struct bench_config *cf, int argc, const char **argv)
{
	static const char *const protos[] = { "native", "mdp", NULL };
	poptContext	 ctx;
	const char	*why;

	ctx = cmdline_parse("waha-bench", "[OPTION...]", argc, argv,
	    bench_options);
	if (poptPeekArg(ctx) != NULL)
		cmdline_usage(ctx, "unexpected argument: %s", poptPeekArg(ctx));
	cf->url = cmdline_url_one(ctx, "-u", cmdline.url, "waha-bench measures "
	    "one broker (run one for each broker)");
	cf->worker_url = opt.worker_url != NULL ? opt.worker_url : cf->url;
	if (cf->service == NULL)
		cf->service = BENCH_SERVICE;
	if ((why = proto_name_check(cf->service, strlen(cf->service),
	    WAHA_NAME_MAX)) != NULL)
		cmdline_usage(ctx, "-n: %s", why);
	cf->proto = cmdline_choose(ctx, "--protocol", opt.protocol, protos,
	    BENCH_NATIVE);
	cf->clients = cmdline_num(ctx, "-c", opt.clients, 0, 10000, 8);
	cf->window = cmdline_num(ctx, "-w", opt.window, 1, 100000, 16);
	cf->size = cmdline_num(ctx, "-s", opt.size, 0, BENCH_SIZE_MAX, 64);
	cf->duration = cmdline_num(ctx, "-d", opt.duration, 1, 1000000,
	    opt.requests != NULL ? 0 : 10);
	cf->requests = cmdline_num(ctx, "-N", opt.requests, 1, INT_MAX, 0);
	cf->timeout = cmdline_ms(ctx, "-t", opt.timeout, WAHA_TIMEOUT);
	cf->workers = cmdline_num(ctx, "--workers", opt.workers, 0, 1000, 0);
	cf->capacity = cmdline_num(ctx, "--capacity", opt.capacity, 1,
	    WAHA_CAPACITY_MAX, 64);
	check_meaning(ctx, cf);
	if (cmdline_curve(ctx, opt.curve_server, opt.curve_secret,
	    &curve_own, &curve_server)) {
		cf->curve_own = &curve_own;
		cf->curve_server = &curve_server;
	}
	return (ctx);
}

/* Block (or unblock) the signals main() handles, around pthread_create. */
static void
mask(int block)
{
	sigset_t	 set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

static struct bench_worker **
start_workers(void *zctx, const struct bench_config *cf)
{
	struct bench_worker	**wk;
	char			 *cause = NULL;
	unsigned		  i;

	wk = xcalloc(cf->workers + 1, sizeof(*wk));
	mask(1);
	for (i = 0; i < cf->workers; i++) {
		if ((wk[i] = bench_worker_new(zctx, cf, &cause)) == NULL)
			fatalx("--worker-url: %s", cause);
		if (bench_worker_start(wk[i]) != 0)
			fatalx("pthread_create failed");
	}
	mask(0);
	return (wk);
}

static void
stop_workers(struct bench_worker **wk, unsigned n)
{
	unsigned	 i;

	for (i = 0; i < n; i++) {
		bench_worker_join(wk[i]);
		bench_worker_free(wk[i]);
	}
	free(wk);
}

/* Whether a request to mmi.service answers that the service is served. */
static int
ask_served(void *sock, const struct bench_config *cf, struct waha_msg *m)
{
	zmq_pollitem_t	 item = { sock, 0, ZMQ_POLLIN, 0 };
	int		 yes = 0;

	frames_add(m);
	if (cf->proto == BENCH_MDP)
		frames_addstr(m, WAHA_MDPC);
	frames_addstr(m, "mmi.service");
	frames_addstr(m, cf->service);
	if (frames_send(m, sock, ZMQ_DONTWAIT) != 0)
		return (0);
	if (zmq_poll(&item, 1, BENCH_TICK) <= 0)
		return (0);
	while (frames_recv(m, sock, ZMQ_DONTWAIT, 8) == 0)
		yes |= frames_is(m, m->n - 1, "200");
	return (yes);
}

/*
 * Wait until the broker says that the built-in workers serve the
 * service, for the timeout at most, so that the run measures them and
 * not their registration.
 */
static int
wait_served(void *zctx, const struct bench_config *cf)
{
	struct waha_msg	 m;
	char		*cause = NULL;
	void		*sock;
	int64_t		 end;
	int		 yes = 0;

	end = util_now_ms() + (cf->timeout < 0 ? WAHA_TIMEOUT : cf->timeout);
	sock = util_socket(zctx, ZMQ_DEALER);
	if ((cf->curve_own != NULL && curve_client_setup(sock, cf->curve_own,
	    cf->curve_server, CURVE_ONCE, &cause) != 0) ||
	    util_attach(sock, 0, cf->url, &cause) != 0)
		fatalx("-u: %s", cause);
	frames_init(&m);
	while (!yes && util_now_ms() < end)
		yes = ask_served(sock, cf, &m);
	frames_free(&m);
	util_close(&sock, 0);
	return (yes ? 0 : -1);
}

static int
all_done(struct bench_client **cl, unsigned n, uint64_t *verified)
{
	unsigned	 i, done = 0;

	*verified = 0;
	for (i = 0; i < n; i++) {
		done += bench_client_done(cl[i]);
		*verified += bench_client_replies(cl[i]);
	}
	return (done == n);
}

/*
 * While the clients run: a progress line every second on a terminal,
 * and a signal stops the sending (the clients still wait for what is in
 * flight); a second one ends the program.
 */
static void
watch(struct bench_client **cl, const struct bench_config *cf)
{
	zmq_pollitem_t	 item = { NULL, signals_fd(), ZMQ_POLLIN, 0 };
	int64_t		 start = util_now_us(), last = start, now;
	uint64_t	 prev = 0, verified;
	int		 tty = isatty(STDERR_FILENO);

	while (!all_done(cl, cf->clients, &verified)) {
		if (zmq_poll(&item, 1, BENCH_TICK / 2) == -1 && errno != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(errno));
		if (signals_take() & SIGNALS_TERM) {
			if (__atomic_load_n(&bench_stop, __ATOMIC_RELAXED))
				fatalx("interrupted");
			__atomic_store_n(&bench_stop, 1, __ATOMIC_RELAXED);
		}
		now = util_now_us();
		if (tty && now - last >= 1000000) {
			bench_report_progress((now - start) / 1e6, verified,
			    (verified - prev) * 1e6 / (now - last));
			prev = verified;
			last = now;
		}
	}
	if (tty && last != start)
		bench_report_progress_end();
}

/* Run the clients to the end and sum their counts into sum. */
static void
run_clients(void *zctx, const struct bench_config *cf,
    struct bench_stats *sum)
{
	struct bench_client	**cl;
	const struct bench_stats *st;
	pthread_barrier_t	  barrier;
	char			 *cause = NULL;
	unsigned		  i;

	cl = xcalloc(cf->clients, sizeof(*cl));
	for (i = 0; i < cf->clients; i++) {
		if ((cl[i] = bench_client_new(zctx, cf, i, &cause)) == NULL)
			fatalx("-u: %s", cause);
	}
	pthread_barrier_init(&barrier, NULL, cf->clients + 1);
	mask(1);
	for (i = 0; i < cf->clients; i++) {
		if (bench_client_start(cl[i], &barrier) != 0)
			fatalx("pthread_create failed");
	}
	mask(0);
	pthread_barrier_wait(&barrier);
	watch(cl, cf);
	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < cf->clients; i++) {
		bench_client_join(cl[i]);
		st = bench_client_stats(cl[i]);
		log_debug("client %u: %llu sent, %llu verified", i,
		    (unsigned long long)st->sent,
		    (unsigned long long)bench_report_verified(st));
		bench_report_add(sum, st);
		bench_client_free(cl[i]);
	}
	pthread_barrier_destroy(&barrier);
	free(cl);
}

/* Write the figures; the exit status says whether all were verified. */
static int
report(const struct bench_config *cf, const struct bench_stats *st)
{
	uint64_t	 verified = bench_report_verified(st);
	int		 rc = 0;

	if (cf->json)
		rc = bench_report_json(cf, st, stdout);
	else
		bench_report_text(cf, st, stdout);
	if (rc != 0 || fflush(stdout) != 0 || ferror(stdout))
		fatalx("writing the figures failed");
	if (st->gave_up)
		log_warnx("no reply from %s for %d ms: gave up", cf->url,
		    cf->timeout);
	if (verified == st->sent && st->unknown == 0)
		return (BENCH_EXIT_OK);
	log_warnx("%llu of %llu requests not verified",
	    (unsigned long long)(st->sent - verified),
	    (unsigned long long)st->sent);
	return (BENCH_EXIT_FAILED);
}

/* With -c 0: serve until a signal comes. */
static void
serve(const struct bench_config *cf)
{
	zmq_pollitem_t	 item = { NULL, signals_fd(), ZMQ_POLLIN, 0 };

	log_info("%u %s workers of %s at %s", cf->workers, cf->raw ? "raw" :
	    "WAHA", cf->service, cf->worker_url);
	while (!(signals_take() & SIGNALS_TERM)) {
		if (zmq_poll(&item, 1, -1) == -1 && errno != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(errno));
	}
}

int
main(int argc, char **argv)
{
	struct bench_config	 *cf = &cf0;
	struct bench_worker	**wk;
	struct bench_stats	  sum;
	poptContext		  ctx;
	char			 *cause = NULL;
	void			 *zctx;
	int			  rc = BENCH_EXIT_OK;

	ctx = options(cf, argc, (const char **)argv);
	log_init(0, cmdline.verbose, "waha-bench");
	if (signals_init(0, &cause) != 0)
		fatalx("%s", cause);
	zctx = zmq_ctx_new();
	wk = start_workers(zctx, cf);
	if (cf->clients == 0)
		serve(cf);
	else if (cf->workers > 0 && !cf->raw && wait_served(zctx, cf) != 0) {
		log_warnx("no broker at %s said %s is served within %d ms",
		    cf->url, cf->service, cf->timeout < 0 ? WAHA_TIMEOUT :
		    cf->timeout);
		rc = BENCH_EXIT_USAGE;
	} else {
		run_clients(zctx, cf, &sum);
		rc = report(cf, &sum);
	}
	stop_workers(wk, cf->workers);
	zmq_ctx_term(zctx);
	curve_cert_clear(&curve_own);
	curve_cert_clear(&curve_server);
	poptFreeContext(ctx);
	return (rc);
}
