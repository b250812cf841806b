/*
 * Option parsing shared by every program: the common popt tables, usage
 * errors, and checked conversion of numeric option values.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"

struct cmdline cmdline;

/* -v, --version and -h, in every program. */
struct poptOption cmdline_common[] = {
	{ "verbose", 'v', POPT_ARG_NONE, NULL, 'v',
	  "log more; twice to trace every message", NULL },
	{ "version", '\0', POPT_ARG_NONE, &cmdline.version, 0,
	  "print the version and exit", NULL },
	{ "help", 'h', POPT_ARG_NONE, &cmdline.help, 0,
	  "show this help and exit", NULL },
	POPT_TABLEEND
};

/* What every daemon adds. */
struct poptOption cmdline_daemon[] = {
	{ "syslog", '\0', POPT_ARG_NONE, &cmdline.syslog, 0,
	  "log to syslog (facility daemon) instead of stderr", NULL },
	POPT_TABLEEND
};

/* What every daemon that binds or listens adds. */
struct poptOption cmdline_bind[] = {
	{ "endpoint-file", '\0', POPT_ARG_STRING, &cmdline.endpoint_file, 0,
	  "write the endpoint actually bound to FILE", "FILE" },
	POPT_TABLEEND
};

static struct {
	const char	*heartbeat, *liveness, *queue_timeout, *run_timeout;
	const char	*max_queue, *max_queue_bytes, *max_msg_size, *max_frames;
	const char	*grace, *stream_window, *stream_max, *stream_idle;
} pool_opt;

/* The dispatch options of a daemon built on pool.c. */
struct poptOption cmdline_pool[] = {
	{ "heartbeat", '\0', POPT_ARG_STRING, &pool_opt.heartbeat, 0,
	  "heartbeat interval (default 2500)", "MS" },
	{ "liveness", '\0', POPT_ARG_STRING, &pool_opt.liveness, 0,
	  "heartbeats a peer may miss before it is dead (default 3)", "N" },
	{ "queue-timeout", '\0', POPT_ARG_STRING, &pool_opt.queue_timeout, 0,
	  "longest wait in a queue of a request without a deadline of its "
	  "own, then 504; -1 none (default 60000)", "MS" },
	{ "run-timeout", '\0', POPT_ARG_STRING, &pool_opt.run_timeout, 0,
	  "longest run in a worker, then 504; -1 none (default -1)", "MS" },
	{ "max-queue", '\0', POPT_ARG_STRING, &pool_opt.max_queue, 0,
	  "requests queued per service, then 503 (default 1000000)", "N" },
	{ "max-queue-bytes", '\0', POPT_ARG_STRING, &pool_opt.max_queue_bytes,
	  0, "memory of the requests queued in all services, then 503 "
	  "(default 268435456)",
	  "BYTES" },
	{ "max-msg-size", '\0', POPT_ARG_STRING, &pool_opt.max_msg_size, 0,
	  "largest request or reply, all frames (default 16777216)",
	  "BYTES" },
	{ "max-frames", '\0', POPT_ARG_STRING, &pool_opt.max_frames, 0,
	  "most frames in a request, then 400 (default 256)", "N" },
	{ "grace", '\0', POPT_ARG_STRING, &pool_opt.grace, 0,
	  "on SIGTERM, wait this long for requests in flight (default 5000)",
	  "MS" },
	{ "stream-window", '\0', POPT_ARG_STRING, &pool_opt.stream_window, 0,
	  "largest opening window a streaming client may ask (default "
	  "4194304)", "BYTES" },
	{ "stream-max", '\0', POPT_ARG_STRING, &pool_opt.stream_max, 0,
	  "most partial bytes one stream may carry, then 500; 0 none "
	  "(default 0)", "BYTES" },
	{ "stream-idle", '\0', POPT_ARG_STRING, &pool_opt.stream_idle, 0,
	  "end a stream silent (no partial, no credit) this long with 504; "
	  "0 none (default 300000)", "MS" },
	POPT_TABLEEND
};

/*
 * Check the values given to the cmdline_pool options and fill cf and
 * lim with them or their defaults; a bad one is a usage error.
 */
void
cmdline_pool_config(poptContext ctx, struct pool_config *cf,
    struct cmdline_limits *lim)
{
	cf->heartbeat = cmdline_num(ctx, "--heartbeat", pool_opt.heartbeat,
	    10, 3600000, WAHA_HEARTBEAT);
	cf->liveness = cmdline_num(ctx, "--liveness", pool_opt.liveness,
	    1, 1000, WAHA_LIVENESS);
	cf->queue_timeout = cmdline_ms(ctx, "--queue-timeout",
	    pool_opt.queue_timeout, WAHA_QUEUE_TIMEOUT);
	cf->run_timeout = cmdline_ms(ctx, "--run-timeout",
	    pool_opt.run_timeout, -1);
	cf->max_queue = cmdline_num(ctx, "--max-queue", pool_opt.max_queue,
	    0, 100000000, WAHA_MAX_QUEUE);
	cf->max_queue_bytes = cmdline_num(ctx, "--max-queue-bytes",
	    pool_opt.max_queue_bytes, 0, (long long)1 << 40,
	    WAHA_MAX_QUEUE_BYTES);
	lim->max_msg_size = cmdline_num(ctx, "--max-msg-size",
	    pool_opt.max_msg_size, 1024, INT_MAX, WAHA_MAX_MSG_SIZE);
	cf->max_size = lim->max_msg_size;
	lim->max_frames = cmdline_num(ctx, "--max-frames", pool_opt.max_frames,
	    3, WAHA_FRAMES_LIMIT, WAHA_MAX_FRAMES);
	lim->grace = cmdline_num(ctx, "--grace", pool_opt.grace, 0, INT_MAX,
	    WAHA_GRACE);
	cf->stream_window = cmdline_num(ctx, "--stream-window",
	    pool_opt.stream_window, 1024, WAHA_STREAM_WINDOW_MAX,
	    WAHA_STREAM_WINDOW_DEF_MAX);
	cf->stream_max = cmdline_num(ctx, "--stream-max", pool_opt.stream_max,
	    0, INT64_MAX / 2, 0);
	cf->stream_idle = cmdline_num(ctx, "--stream-idle",
	    pool_opt.stream_idle, 0, INT_MAX, WAHA_STREAM_IDLE);
}

/*
 * Parse argv against table, handling -v, --help and --version.  A bad
 * option is a usage error: one line on stderr and exit 1.
 */
poptContext
cmdline_parse(const char *prog, const char *synopsis, int argc,
    const char **argv, const struct poptOption *table)
{
	poptContext	 ctx;
	int		 rc;

	cmdline.progname = prog;
	ctx = poptGetContext(prog, argc, argv, table, 0);
	if (synopsis != NULL)
		poptSetOtherOptionHelp(ctx, synopsis);
	while ((rc = poptGetNextOpt(ctx)) > 0) {
		if (rc == 'v')
			cmdline.verbose++;
	}
	if (rc != -1)
		cmdline_usage(ctx, "%s: %s", poptBadOption(ctx, 0),
		    poptStrerror(rc));
	if (cmdline.help) {
		poptPrintHelp(ctx, stdout, 0);
		poptFreeContext(ctx);
		exit(0);
	}
	if (cmdline.version) {
		printf("%s (%s) %s\n", prog, PACKAGE_NAME, PACKAGE_VERSION);
		poptFreeContext(ctx);
		exit(0);
	}
	return (ctx);
}

/* Report a usage error on stderr and exit 1. */
void
cmdline_usage(poptContext ctx, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "%s: ", cmdline.progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n",
	    cmdline.progname);
	if (ctx != NULL)
		poptFreeContext(ctx);
	exit(1);
}

/*
 * Convert the value of option name to an integer in [min, max], or fail
 * with a usage error.  A NULL value gives def.
 */
long long
cmdline_num(poptContext ctx, const char *name, const char *value,
    long long min, long long max, long long def)
{
	const char	*errstr;
	long long	 n;

	if (value == NULL)
		return (def);
	n = strtonum(value, min, max, &errstr);
	if (errstr != NULL)
		cmdline_usage(ctx, "%s: '%s' is %s (expected %lld to %lld)",
		    name, value, errstr, min, max);
	return (n);
}

/*
 * The index of value in the NULL-terminated words, or a usage error that
 * lists them.  A NULL value gives def.
 */
int
cmdline_choose(poptContext ctx, const char *name, const char *value,
    const char *const *words, int def)
{
	char	 list[128] = "";
	int	 i;

	if (value == NULL)
		return (def);
	for (i = 0; words[i] != NULL; i++) {
		if (strcmp(value, words[i]) == 0)
			return (i);
		if (i > 0)
			strlcat(list, ", ", sizeof(list));
		strlcat(list, words[i], sizeof(list));
	}
	cmdline_usage(ctx, "%s: '%s' is not one of %s", name, value, list);
}

/*
 * Convert a timeout in milliseconds: -1 means none, otherwise 0 or more.
 */
int
cmdline_ms(poptContext ctx, const char *name, const char *value, int def)
{
	return (cmdline_num(ctx, name, value, -1, INT_MAX, def));
}

/*
 * The certs of a client's --curve-server and --curve-secret, which go
 * together: 1 when both were given and are read into own and server, 0
 * when neither was; anything else is a usage error.
 */
int
cmdline_curve(poptContext ctx, const char *server, const char *secret,
    struct curve_cert *own, struct curve_cert *srv)
{
	char	*cause = NULL;

	if ((server == NULL) != (secret == NULL))
		cmdline_usage(ctx, "--curve-server and --curve-secret go "
		    "together");
	if (server == NULL)
		return (0);
	if (curve_client_certs(secret, server, own, srv, &cause) != 0)
		cmdline_usage(ctx, "%s", cause);
	return (1);
}

/*
 * The endpoints of a -u list (NULL: the default broker); a bad item is
 * a usage error naming it.
 */
void
cmdline_urls(poptContext ctx, const char *name, const char *value,
    struct urls *u)
{
	char	*cause = NULL;

	if (urls_parse(value != NULL ? value : WAHA_BROKER_URL, u,
	    &cause) != 0)
		cmdline_usage(ctx, "%s: %s", name, cause);
}

/*
 * -u of a program that talks to one broker only (it watches or measures
 * that broker): one URL, checked as cmdline_urls does; a list is a usage
 * error that says so.
 */
const char *
cmdline_url_one(poptContext ctx, const char *name, const char *value,
    const char *why)
{
	struct urls	 u;

	cmdline_urls(ctx, name, value, &u);
	if (u.n > 1)
		cmdline_usage(ctx, "%s: one broker only: %s", name, why);
	urls_free(&u);
	return (value != NULL ? value : WAHA_BROKER_URL);
}
