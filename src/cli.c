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
	const char	*timeout, *encode, *decode, *output, *input;
	const char	*in_sep, *out_sep;
} opt;

static struct cli_env cli0;

static struct poptOption cli_options[] = {
	{ "name", 'n', POPT_ARG_STRING, &cli0.name, 0,
	  "service to call (required)", "NAME" },
	{ "url", 'u', POPT_ARG_STRING, &cmdline.url, 0,
	  "broker endpoint (default " WAHA_BROKER_URL ")", "URL" },
	{ "timeout", 't', POPT_ARG_STRING, &opt.timeout, 0,
	  "give up after MS milliseconds; -1 never (default 5000)", "MS" },
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
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, cmdline_common, 0,
	  "Common options:", NULL },
	POPT_TABLEEND
};

static const char *const inputs[] = { "args", "plain", "delimited", "json",
    NULL };
static const char *const outputs[] = { "empty", "plain", "delimited", "json",
    NULL };
static const char *const codecs[] = { "plain", "base64", "hex", NULL };

static void
say(const char *, ...) WAHA_ATTR_PRINTF(1, 2);

/* One line on stderr, after the program's name. */
static void
say(const char *fmt, ...)
{
	va_list	 ap;

	fputs("waha-cli: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
choose(poptContext ctx, const char *name, const char *value,
    const char *const *words, int def)
{
	char	 list[64] = "";
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
}

static poptContext
options(struct cli_env *cli, int argc, const char **argv)
{
	poptContext	 ctx;
	const char	*why;

	ctx = cmdline_parse("waha-cli", "[OPTION...] -n NAME [--] [STRING...]",
	    argc, argv, cli_options);
	cli->url = cmdline.url != NULL ? cmdline.url : WAHA_BROKER_URL;
	cli->timeout = cmdline_ms(ctx, "--timeout", opt.timeout, WAHA_TIMEOUT);
	cli->input = choose(ctx, "--input", opt.input, inputs, CLI_IN_ARGS);
	cli->output = choose(ctx, "--output", opt.output, outputs,
	    CLI_OUT_DELIMITED);
	cli->decode = choose(ctx, "--decode", opt.decode, codecs, CLI_PLAIN);
	cli->encode = choose(ctx, "--encode", opt.encode, codecs, CLI_PLAIN);
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
 * Wait until sock is ready for events or the deadline (ms, -1 for none)
 * passes.  Returns 0 when ready, or an exit status: CLI_EXIT_TIMEOUT,
 * or CLI_EXIT_CONNECT when polling fails.
 */
static int
await(void *sock, short events, int64_t deadline)
{
	zmq_pollitem_t	 item = { sock, 0, events, 0 };
	int64_t		 now;
	int		 rc;

	for (;;) {
		now = util_now_ms();
		rc = zmq_poll(&item, 1, deadline == -1 ? -1 :
		    deadline <= now ? 0 : (long)(deadline - now));
		if (rc > 0)
			return (0);
		if (rc == -1 && errno != EINTR) {
			say("zmq_poll: %s", zmq_strerror(errno));
			return (CLI_EXIT_CONNECT);
		}
		if (deadline != -1 && util_now_ms() >= deadline)
			return (CLI_EXIT_TIMEOUT);
	}
}

/*
 * Connect and send the request.  ZMQ_IMMEDIATE keeps the request off a
 * connection that is not yet made, so "no broker there" is told apart
 * from "the broker did not answer in time".
 */
static int
send_request(struct cli_env *cli, void *sock, struct waha_msg *req,
    int64_t deadline)
{
	char	*cause = NULL;
	int	 one = 1, rc;

	zmq_setsockopt(sock, ZMQ_IMMEDIATE, &one, sizeof(one));
	if (util_attach(sock, 0, cli->url, &cause) != 0) {
		say("-u: %s", cause);
		free(cause);
		return (CLI_EXIT_USAGE);
	}
	if ((rc = await(sock, ZMQ_POLLOUT, deadline)) != 0) {
		if (rc == CLI_EXIT_TIMEOUT) {
			say("cannot connect to %s within %d ms", cli->url,
			    cli->timeout);
			rc = CLI_EXIT_CONNECT;
		}
		return (rc);
	}
	if (frames_send(req, sock, ZMQ_DONTWAIT) != 0) {
		say("sending to %s: %s", cli->url, zmq_strerror(errno));
		return (CLI_EXIT_CONNECT);
	}
	return (0);
}

/* Receive the reply in rep, with its status and first field. */
static int
recv_reply(struct cli_env *cli, void *sock, struct waha_msg *rep,
    int64_t deadline, int *status, size_t *first)
{
	int	 rc;

	do {
		if ((rc = await(sock, ZMQ_POLLIN, deadline)) != 0) {
			if (rc == CLI_EXIT_TIMEOUT)
				say("no reply from %s within %d ms", cli->url,
				    cli->timeout);
			return (rc);
		}
	} while (frames_recv(rep, sock, ZMQ_DONTWAIT, SIZE_MAX) != 0);
	/* We sent no envelope, so the reply must start with "". */
	if (proto_parse_reply(rep, status, first) != 0 || *first != 2) {
		say("malformed reply from %s", cli->url);
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
		reason = cli_io_printable(frames_data(rep, first),
		    frames_size(rep, first));
	else
		reason = xstrdup(proto_status_text(status));
	say("%d %s", status, reason);
	free(reason);
}

static int
call(struct cli_env *cli, struct waha_msg *req)
{
	struct waha_msg	 rep;
	void		*ctx, *sock;
	int		 status = 0, rc;
	size_t		 first = 0;
	int64_t		 start = util_now_us(), deadline;

	deadline = cli->timeout < 0 ? -1 : util_now_ms() + cli->timeout;
	ctx = zmq_ctx_new();
	sock = util_socket(ctx, ZMQ_DEALER);
	frames_init(&rep);
	log_debug("calling %s at %s with %zu fields", cli->name, cli->url,
	    req->n - 2);
	if ((rc = send_request(cli, sock, req, deadline)) == 0 &&
	    (rc = recv_reply(cli, sock, &rep, deadline, &status,
	    &first)) == 0) {
		log_debug("status %d with %zu fields in %.1f ms", status,
		    rep.n - first, (util_now_us() - start) / 1000.0);
		rc = exit_status(status);
		if (status != 200)
			report(&rep, status, first);
		else if (cli_io_write(cli, &rep, first, stdout) != 0) {
			say("writing the reply: %s", strerror(errno));
			rc = CLI_EXIT_USAGE;
		}
	}
	frames_free(&rep);
	util_close(&sock, 0);
	zmq_ctx_term(ctx);
	return (rc);
}

int
main(int argc, char **argv)
{
	struct cli_env	*cli = &cli0;
	struct waha_msg	 req;
	poptContext	 ctx;
	char		*cause = NULL;
	int		 rc;

	ctx = options(cli, argc, (const char **)argv);
	log_init(0, cmdline.verbose, "waha-cli");
	frames_init(&req);
	frames_add(&req);
	frames_addstr(&req, cli->name);
	if (cli_io_read(cli, poptGetArgs(ctx), &req, &cause) != 0) {
		say("%s", cause);
		free(cause);
		rc = CLI_EXIT_USAGE;
	} else
		rc = call(cli, &req);
	frames_free(&req);
	poptFreeContext(ctx);
	return (rc);
}
