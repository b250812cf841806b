/*
 * waha-cli: send one request to a service through the broker and print
 * the reply fields.  The exit status tells how it went (see cli.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"
#include "cli.h"

static struct {
	const char	*timeout, *encode, *decode, *output, *input, *window;
	const char	*in_sep, *out_sep;
} opt;

static struct cli_env cli0;

static struct poptOption cli_options[] = {
	{ "name", 'n', POPT_ARG_STRING, &cli0.name, 0,
	  "service to call (required)", "NAME" },
	{ "url", 'u', POPT_ARG_STRING, &cmdline.url, 0,
	  "broker endpoint, or several comma-separated: the first that "
	  "answers is used (default " WAHA_BROKER_URL ")", "URL[,URL...]" },
	{ "timeout", 't', POPT_ARG_STRING, &opt.timeout, 0,
	  "give up after MS milliseconds, and have the broker drop the "
	  "request then; -1 never (default 5000, with --stream -1)", "MS" },
	{ "stream", 'S', POPT_ARG_NONE, &cli0.stream, 0,
	  "ask for a streamed reply and write each part as it comes "
	  "(-o plain by default); Ctrl-C cancels the request", NULL },
	{ "window", '\0', POPT_ARG_STRING, &opt.window, 0,
	  "with --stream: bytes the service may send ahead of what has "
	  "been written (default 262144)", "BYTES" },
	{ "input", 'i', POPT_ARG_STRING, &opt.input, 0,
	  "request fields: args, plain, delimited or json (default args)",
	  "MODE" },
	{ "decode", 'd', POPT_ARG_STRING, &opt.decode, 0,
	  "input field encoding: plain, base64 or hex (default plain)",
	  "CODEC" },
	{ "in-sep", '\0', POPT_ARG_STRING, &opt.in_sep, 0,
	  "input field separator (default \\n)", "CHAR" },
	{ "output", 'o', POPT_ARG_STRING, &opt.output, 0,
	  "reply fields: empty, plain, delimited or json "
	  "(default delimited)", "MODE" },
	{ "encode", 'e', POPT_ARG_STRING, &opt.encode, 0,
	  "output field encoding: plain, base64 or hex (default plain)",
	  "CODEC" },
	{ "out-sep", '\0', POPT_ARG_STRING, &opt.out_sep, 0,
	  "output field separator (default \\n)", "CHAR" },
	{ "pretty", 'p', POPT_ARG_NONE, &cli0.pretty, 0,
	  "indent JSON output", NULL },
	{ "curve-server", '\0', POPT_ARG_STRING, &cli0.curve_server, 0,
	  "use CURVE: the broker's public certificate", "FILE" },
	{ "curve-secret", '\0', POPT_ARG_STRING, &cli0.curve_secret, 0,
	  "use CURVE: this client's secret certificate (mode 0600)", "FILE" },
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, cmdline_common, 0,
	  "Common options:", NULL },
	POPT_TABLEEND
};

static const char *const inputs[] = { "args", "plain", "delimited", "json",
    NULL };
static const char *const outputs[] = { "empty", "plain", "delimited", "json",
    NULL };
static const char *const codecs[] = { "plain", "base64", "hex", NULL };

/* One line on stderr, after the program's name. */
void
cli_say(const char *fmt, ...)
{
	va_list	 ap;

	fputs("waha-cli: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
separator(poptContext ctx, const char *name, const char *value, char *sep)
{
	if (value == NULL)
		*sep = '\n';
	else if (cli_io_parse_sep(value, sep) != 0)
		cmdline_usage(ctx, "%s: '%s' is not one byte or an escape "
		    "(\\n, \\t, \\r, \\0, \\\\, \\xHH)", name, value);
}

/*
 * An option that has no effect with the modes chosen is refused, so that
 * a mistake (-e base64 -o plain, say) does not pass unnoticed.
 */
static void
check_meaning(poptContext ctx, struct cli_env *cli)
{
	const char	*in = inputs[cli->input], *out = outputs[cli->output];

	if (opt.decode != NULL && cli->input == CLI_IN_JSON)
		cmdline_usage(ctx, "-d has no meaning with -i json");
	if (opt.in_sep != NULL && cli->input != CLI_IN_DELIMITED)
		cmdline_usage(ctx, "--in-sep has no meaning with -i %s", in);
	if (opt.encode != NULL && (cli->output == CLI_OUT_EMPTY ||
	    cli->output == CLI_OUT_PLAIN))
		cmdline_usage(ctx, "-e has no meaning with -o %s", out);
	if (opt.out_sep != NULL && cli->output != CLI_OUT_DELIMITED)
		cmdline_usage(ctx, "--out-sep has no meaning with -o %s", out);
	if (cli->pretty && cli->output != CLI_OUT_JSON)
		cmdline_usage(ctx, "-p has no meaning with -o %s", out);
	if (cli->input != CLI_IN_ARGS && poptPeekArg(ctx) != NULL)
		cmdline_usage(ctx, "unexpected argument with -i %s: %s", in,
		    poptPeekArg(ctx));
	if ((cli->curve_server == NULL) != (cli->curve_secret == NULL))
		cmdline_usage(ctx, "--curve-server and --curve-secret go "
		    "together");
}

static poptContext
options(struct cli_env *cli, int argc, const char **argv)
{
	poptContext	 ctx;
	const char	*why;

	ctx = cmdline_parse("waha-cli", "[OPTION...] -n NAME [--] [STRING...]",
	    argc, argv, cli_options);
	cmdline_urls(ctx, "-u", cmdline.url, &cli->urls);
	cli->timeout = cmdline_ms(ctx, "--timeout", opt.timeout,
	    cli->stream ? -1 : WAHA_TIMEOUT);
	if (opt.window != NULL && !cli->stream)
		cmdline_usage(ctx, "--window has no meaning without --stream");
	cli->window = cmdline_num(ctx, "--window", opt.window, 1024,
	    WAHA_STREAM_WINDOW_MAX, 0);
	cli->input = cmdline_choose(ctx, "--input", opt.input, inputs,
	    CLI_IN_ARGS);
	cli->output = cmdline_choose(ctx, "--output", opt.output, outputs,
	    cli->stream ? CLI_OUT_PLAIN : CLI_OUT_DELIMITED);
	cli->decode = cmdline_choose(ctx, "--decode", opt.decode, codecs,
	    CLI_PLAIN);
	cli->encode = cmdline_choose(ctx, "--encode", opt.encode, codecs,
	    CLI_PLAIN);
	separator(ctx, "--in-sep", opt.in_sep, &cli->in_sep);
	separator(ctx, "--out-sep", opt.out_sep, &cli->out_sep);
	if (cli->name == NULL)
		cmdline_usage(ctx, "a service name is required (-n NAME)");
	if ((why = proto_name_check(cli->name, strlen(cli->name),
	    WAHA_NAME_MAX)) != NULL)
		cmdline_usage(ctx, "-n: %s", why);
	check_meaning(ctx, cli);
	return (ctx);
}

/* The exit status for a reply's status. */
static int
exit_status(int status)
{
	if (status == 200)
		return (CLI_EXIT_OK);
	if (status >= 400 && status < 500)
		return (CLI_EXIT_4XX);
	return (CLI_EXIT_5XX);
}

/*
 * Watch c's connection through a monitor socket, so that "no broker
 * there" can be told apart from "the broker did not answer in time",
 * and a broker lost with the request from a slow one.  ZMQ_IMMEDIATE
 * would tell the first too, but it drops a reply that arrives just
 * before the broker closes the connection (at its exit) if it has not
 * been read yet.  Leaves c->mon NULL if monitoring cannot be set up.
 */
static void
watch(struct cli_conn *c)
{
	static unsigned	 n;
	char		 ep[64];

	snprintf(ep, sizeof(ep), "%s-%u", CLI_MONITOR, n++);
	if (zmq_socket_monitor(c->sock, ep, CLI_EVENT_CONNECTED |
	    ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED |
	    curve_monitor_events()) != 0)
		return;
	c->mon = util_socket(c->ctx, ZMQ_PAIR);
	if (zmq_connect(c->mon, ep) != 0) {
		util_close(&c->mon, 0);
		zmq_socket_monitor(c->sock, NULL, 0);
	}
}

/*
 * Read the monitor: a connection made sets c->up, one refused c->refused,
 * one lost after it was made c->lost; a failed CURVE handshake goes to
 * c->fail.
 */
void
cli_monitor(struct cli_conn *c)
{
	struct waha_msg		 m;
	struct curve_event	 ev;

	frames_init(&m);
	while (c->mon != NULL && frames_recv(&m, c->mon, ZMQ_DONTWAIT,
	    2) == 0) {
		if (curve_monitor_parse(&m, &ev) != 0)
			continue;
		if (ev.event == CLI_EVENT_CONNECTED)
			c->up = 1;
		else if (ev.event == ZMQ_EVENT_CONNECT_RETRIED)
			c->refused = 1;
		else if (ev.event == ZMQ_EVENT_DISCONNECTED && c->up)
			c->lost = 1;
		else if (ev.fail != CURVE_FAIL_NONE && c->fail.fail ==
		    CURVE_FAIL_NONE)
			c->fail = ev;
	}
	frames_free(&m);
}

/* Make sock a CURVE client with the certs of --curve-*; 0 or -1. */
static int
curve(struct cli_env *cli, void *sock)
{
	struct curve_cert	 own, server;
	char			*cause = NULL;
	int			 rc = -1;

	memset(&server, 0, sizeof(server));
	if (curve_cert_load(cli->curve_secret, 1, &own, &cause) != 0)
		goto out;
	if (curve_cert_load(cli->curve_server, 0, &server, &cause) == 0 &&
	    curve_client_setup(sock, &own, &server, CURVE_ONCE, &cause) == 0)
		rc = 0;
	curve_cert_clear(&own);
out:
	curve_cert_clear(&server);
	if (rc != 0) {
		cli_say("%s", cause);
		free(cause);
	}
	return (rc);
}

/*
 * Wait for the reply until the deadline (ms, -1 for none) and parse it.
 * Returns 0, or the exit status of what went wrong.  A connection lost
 * after the request went is reported at once: it may have run, so it is
 * not sent again.
 */
static int
recv_reply(struct cli_env *cli, struct cli_conn *c, struct waha_msg *rep,
    int64_t deadline, int *status, size_t *first)
{
	zmq_pollitem_t	 items[3] = { { c->sock, 0, ZMQ_POLLIN, 0 },
			    { NULL, signals_fd(), ZMQ_POLLIN, 0 },
			    { c->mon, 0, ZMQ_POLLIN, 0 } };
	int64_t		 now;

	if (c->mon == NULL)
		c->up = 1;
	for (;;) {
		now = util_now_ms();
		if (zmq_poll(items, c->mon != NULL ? 3 : 2, deadline == -1 ?
		    -1 : deadline <= now ? 0 : (long)(deadline - now)) == -1 &&
		    errno != EINTR) {
			cli_say("zmq_poll: %s", zmq_strerror(errno));
			return (CLI_EXIT_CONNECT);
		}
		/*
		 * Ctrl-C: a request sent with the WAHA01 header (any but -t -1)
		 * can be named, so the broker drops it or stops it.
		 */
		if (signals_take() & SIGNALS_TERM) {
			if (cli->timeout >= 0) {
				cli_cancel(c->sock);
				cli_say("interrupted: the request is cancelled");
			} else
				cli_say("interrupted");
			return (CLI_EXIT_INTERRUPTED);
		}
		cli_monitor(c);
		/* After a failed handshake libzmq neither retries nor says more. */
		if (c->fail.fail != CURVE_FAIL_NONE) {
			cli_say("%s: %s", c->url, curve_fail_text(&c->fail, 1));
			return (CLI_EXIT_AUTH);
		}
		if (frames_recv(rep, c->sock, ZMQ_DONTWAIT, SIZE_MAX) == 0)
			break;
		if (c->lost) {
			cli_say("broker lost: %s: the connection closed before the "
			    "reply; the request may have run, it is not sent "
			    "again", c->url);
			return (CLI_EXIT_CONNECT);
		}
		if (deadline != -1 && util_now_ms() >= deadline) {
			cli_say("%s %s within %d ms", c->up ? "no reply from" :
			    "cannot connect to", c->url, cli->timeout);
			return (c->up ? CLI_EXIT_TIMEOUT : CLI_EXIT_CONNECT);
		}
	}
	/* We sent no envelope, so the reply must start with "". */
	if (proto_parse_reply(rep, status, first) != 0 || *first != 2) {
		cli_say("malformed reply from %s", c->url);
		return (CLI_EXIT_CONNECT);
	}
	return (0);
}

/* Report a failure status and its reason, made safe for a terminal. */
static void
report(struct waha_msg *rep, int status, size_t first)
{
	char	*reason;

	if (first < rep->n && frames_size(rep, first) > 0)
		reason = codec_printable(frames_data(rep, first),
		    frames_size(rep, first));
	else
		reason = xstrdup(proto_status_text(status));
	cli_say("%d %s", status, reason);
	free(reason);
}

/* Write the reply: its fields on 200, else the status on stderr. */
int
cli_output(struct cli_env *cli, struct waha_msg *rep, int status, size_t first)
{
	if (status != 200) {
		report(rep, status, first);
		return (exit_status(status));
	}
	if (cli_io_write(cli, rep, first, stdout) != 0) {
		cli_say("writing the reply: %s", strerror(errno));
		return (CLI_EXIT_USAGE);
	}
	return (CLI_EXIT_OK);
}

/*
 * A DEALER to url, watched, with CURVE if asked; with a list, ZMTP
 * heartbeats too, so that a broker that stops answering (a stopped
 * process keeps its connections open) is given up.  0, or an exit
 * status.
 */
static int
open_conn(struct cli_env *cli, struct cli_conn *c, void *ctx,
    const char *url)
{
	char	*cause = NULL;
	int	 ivl = CLI_HEARTBEAT, ttl = CLI_HEARTBEAT_TIMEOUT;

	memset(c, 0, sizeof(*c));
	c->ctx = ctx;
	c->url = url;
	c->sock = util_socket(ctx, ZMQ_DEALER);
	if (cli->urls.n > 1) {
		zmq_setsockopt(c->sock, ZMQ_HEARTBEAT_IVL, &ivl, sizeof(ivl));
		zmq_setsockopt(c->sock, ZMQ_HEARTBEAT_TIMEOUT, &ttl,
		    sizeof(ttl));
		zmq_setsockopt(c->sock, ZMQ_HEARTBEAT_TTL, &ttl, sizeof(ttl));
	}
	watch(c);
	if (cli->curve_secret != NULL && curve(cli, c->sock) != 0)
		return (CLI_EXIT_USAGE);
	if (util_attach(c->sock, 0, url, &cause) != 0) {
		cli_say("-u: %s", cause);
		free(cause);
		return (CLI_EXIT_USAGE);
	}
	return (0);
}

static void
close_conn(struct cli_conn *c)
{
	if (c->mon != NULL) {
		zmq_socket_monitor(c->sock, NULL, 0);
		util_close(&c->mon, 0);
	}
	util_close(&c->sock, 0);
}

/*
 * With a list: wait until c's connection is made (0), refused or not
 * made within CLI_CONNECT_WAIT (1: try the next broker), or the
 * deadline passes (1).  A refused CURVE handshake is an exit status.
 */
static int
wait_up(struct cli_conn *c, int64_t deadline)
{
	zmq_pollitem_t	 items[2] = { { c->mon, 0, ZMQ_POLLIN, 0 },
			    { NULL, signals_fd(), ZMQ_POLLIN, 0 } };
	int64_t		 until = util_now_ms() + CLI_CONNECT_WAIT, now;

	if (c->mon == NULL)
		return (0);	/* no monitor: hope for the best */
	if (deadline != -1 && deadline < until)
		until = deadline;
	while (!c->up && !c->refused && (now = util_now_ms()) < until) {
		if (zmq_poll(items, 2, (long)(until - now)) == -1 &&
		    errno != EINTR)
			return (1);
		if (signals_take() & SIGNALS_TERM) {
			cli_say("interrupted before a broker answered: nothing "
			    "was sent");
			return (CLI_EXIT_INTERRUPTED);
		}
		cli_monitor(c);
		if (c->fail.fail != CURVE_FAIL_NONE) {
			cli_say("%s: %s", c->url, curve_fail_text(&c->fail, 1));
			return (CLI_EXIT_AUTH);
		}
	}
	if (c->up)
		return (0);
	log_debug("%s: %s", c->url, c->refused ? "refused" :
	    "no connection in time");
	return (1);
}

/*
 * Connect to the first broker of the list that answers, from a random
 * start so that clients spread out; with one broker, just connect (the
 * DEALER queues the request until the connection is made).  0 with c
 * open, or an exit status.
 */
static int
connect_any(struct cli_env *cli, struct cli_conn *c, void *ctx,
    int64_t deadline)
{
	unsigned	 i, k, first;
	int		 rc;

	if (cli->urls.n == 1)
		return (open_conn(cli, c, ctx, cli->urls.url[0]));
	first = util_random64() % cli->urls.n;
	for (k = 0; k < cli->urls.n; k++) {
		i = (first + k) % cli->urls.n;
		if ((rc = open_conn(cli, c, ctx, cli->urls.url[i])) == 0 &&
		    (rc = wait_up(c, deadline)) == 0)
			return (0);
		close_conn(c);
		if (rc != 1)
			return (rc);
		if (deadline != -1 && util_now_ms() >= deadline)
			break;
	}
	cli_say("cannot connect to %s%s", cmdline.url, deadline != -1 &&
	    util_now_ms() >= deadline ? " in time" : ": no broker answers");
	return (CLI_EXIT_CONNECT);
}

/*
 * Send the request and wait for its reply.  DEALER queues the request
 * until the connection is made; if it never is, nothing was delivered.
 */
static int
call(struct cli_env *cli, struct waha_msg *req)
{
	struct waha_msg	 rep;
	struct cli_conn	 c;
	void		*ctx;
	int		 status = 0, rc;
	size_t		 first = 0;
	int64_t		 start = util_now_us(), deadline;

	deadline = cli->timeout < 0 ? -1 : util_now_ms() + cli->timeout;
	ctx = zmq_ctx_new();
	frames_init(&rep);
	memset(&c, 0, sizeof(c));
	if ((rc = connect_any(cli, &c, ctx, deadline)) != 0)
		goto out;
	log_debug("calling %s at %s with %zu fields", cli->name, c.url,
	    req->n - (cli->timeout < 0 && !cli->stream ? 2 : 4));
	if (frames_send(req, c.sock, ZMQ_DONTWAIT) != 0) {
		cli_say("sending to %s: %s", c.url, zmq_strerror(errno));
		rc = CLI_EXIT_CONNECT;
	} else if (cli->stream)
		rc = cli_stream_recv(cli, &c, deadline);
	else if ((rc = recv_reply(cli, &c, &rep, deadline, &status,
	    &first)) == 0) {
		log_debug("status %d with %zu fields in %.1f ms", status,
		    rep.n - first, (util_now_us() - start) / 1000.0);
		rc = cli_output(cli, &rep, status, first);
	}
out:
	frames_free(&rep);
	close_conn(&c);
	zmq_ctx_term(ctx);
	return (rc);
}

int
main(int argc, char **argv)
{
	struct cli_env	*cli = &cli0;
	struct waha_msg	 req;
	poptContext	 ctx;
	char		*cause = NULL, opts[64];
	int		 rc;

	ctx = options(cli, argc, (const char **)argv);
	log_init(0, cmdline.verbose, "waha-cli");
	if (signals_init(0, &cause) != 0)
		fatalx("%s", cause);
	frames_init(&req);
	frames_add(&req);
	if (cli->timeout >= 0 || cli->stream) {
		/* The broker never starts it after we have given up. */
		frames_addstr(&req, WAHA_EXT);
		frames_addmem(&req, opts, proto_opts_format(opts, sizeof(opts),
		    cli->timeout, cli->stream, cli->window));
	}
	frames_addstr(&req, cli->name);
	if (cli_io_read(cli, poptGetArgs(ctx), &req, &cause) != 0) {
		cli_say("%s", cause);
		free(cause);
		rc = CLI_EXIT_USAGE;
	} else
		rc = call(cli, &req);
	frames_free(&req);
	urls_free(&cli->urls);
	poptFreeContext(ctx);
	return (rc);
}
