/*
 * waha-top: what a broker is doing, on a terminal, like top(1) or
 * varnishstat(1): its services sorted by load, with rates computed
 * between polls of mmi.stats, queues, errors, latency, and its workers
 * with their liveness.  With -b, or when stdout is not a terminal, it
 * prints plain tables instead, to be piped.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "waha.h"
#include "top.h"

static struct {
	const char	*delay, *timeout, *iterations, *sort;
	int		 batch;
} opt;

static struct top_env top0;

static struct poptOption top_options[] = {
	{ "url", 'u', POPT_ARG_STRING, &cmdline.url, 0,
	  "broker endpoint (default " WAHA_BROKER_URL ")", "URL" },
	{ "delay", 'd', POPT_ARG_STRING, &opt.delay, 0,
	  "seconds between polls, down to 0.1 (default 1)", "SECONDS" },
	{ "timeout", 't', POPT_ARG_STRING, &opt.timeout, 0,
	  "how long to wait for each reply (default: the delay)", "MS" },
	{ "batch", 'b', POPT_ARG_NONE, &opt.batch, 0,
	  "print plain tables, not a screen (so when stdout is not a "
	  "terminal)", NULL },
	{ "iterations", 'n', POPT_ARG_STRING, &opt.iterations, 0,
	  "stop after N tables or screens (default: 1 with -b, else until "
	  "q)", "N" },
	{ "sort", 's', POPT_ARG_STRING, &opt.sort, 0,
	  "sort services by rate, queue, errors, latency or name "
	  "(default rate)", "KEY" },
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, cmdline_common, 0,
	  "Common options:", NULL },
	POPT_TABLEEND
};

static const char *const sorts[] = { "rate", "queue", "errors", "latency",
    "name", NULL };

/* -d: seconds, with decimals, from 0.1 to a day. */
static int
delay(poptContext ctx, const char *s)
{
	char	*end;
	double	 d;

	if (s == NULL)
		return (TOP_INTERVAL);
	d = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || !(d >= 0.1 && d <= 86400))
		cmdline_usage(ctx, "-d: %s is not a number of seconds from "
		    "0.1 to 86400", s);
	return ((int)(d * 1000 + 0.5));
}

static void
options(struct top_env *top, int argc, const char **argv)
{
	poptContext	 ctx;

	ctx = cmdline_parse("waha-top", "[OPTION...]", argc, argv,
	    top_options);
	if (poptPeekArg(ctx) != NULL)
		cmdline_usage(ctx, "unexpected argument: %s", poptPeekArg(ctx));
	top->url = cmdline_url_one(ctx, "-u", cmdline.url, "waha-top shows "
	    "one broker's numbers (run one for each broker)");
	top->interval = delay(ctx, opt.delay);
	top->timeout = cmdline_num(ctx, "--timeout", opt.timeout, 1, INT32_MAX,
	    top->interval);
	top->batch = opt.batch || !isatty(STDOUT_FILENO);
	top->iterations = cmdline_num(ctx, "--iterations", opt.iterations, 1,
	    INT32_MAX, top->batch ? 1 : 0);
	top->sort = cmdline_choose(ctx, "--sort", opt.sort, sorts,
	    TOP_BY_RATE);
	poptFreeContext(ctx);
}

/*
 * Batch mode: each table needs two polls for its rates, so the first
 * comes one delay after the start.
 */
static int
batch(struct top_env *top)
{
	int64_t	 next = util_now_ms();
	int	 i, rc = 0;

	for (i = 0; i <= top->iterations; i++) {
		while (util_now_ms() < next)
			usleep((next - util_now_ms()) * 1000);
		next = util_now_ms() + top->interval;
		rc = top_poll(top);
		if (i > 0 || (rc != 0 && top->iterations == 1))
			top_view_batch(top, stdout);
		if (rc != 0 && top->iterations == 1)
			break;
	}
	return (rc == 0 ? 0 : 2);
}

int
main(int argc, char **argv)
{
	struct top_env	*top = &top0;
	char		*cause = NULL;
	int		 rc;

	options(top, argc, (const char **)argv);
	log_init(0, cmdline.verbose, "waha-top");
	top->cpu = NAN;
	if (top_poll_open(top, &cause) != 0) {
		fprintf(stderr, "waha-top: -u: %s\n", cause);
		free(cause);
		top_poll_close(top);
		return (1);
	}
	rc = top->batch ? batch(top) : top_view_run(top);
	top_poll_close(top);
	return (rc);
}
