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

static int
choose(poptContext ctx, const char *name, const char *value,
    const char *const *words, int def)
{
	int	 i;

	if (value == NULL)
		return (def);
	for (i = 0; words[i] != NULL; i++) {
		if (strcmp(value, words[i]) == 0)
			return (i);
	}
	cmdline_usage(ctx, "%s: '%s' is not one of the modes listed in "
	    "--help", name, value);
}

static void
separator(poptContext ctx, const char *name, const char *value, char *sep)
{
	if (value == NULL)
		*sep = '\n';
	else if (cli_io_parse_sep(value, sep) != 0)
		cmdline_usage(ctx, "%s: '%s' is not one character or an "
		    "escape (\\n, \\t, \\r, \\0, \\\\, \\xHH)", name, value);
}

static poptContext
options(struct cli_env *cli, int argc, const char **argv)
{
	static const char *const inputs[] = { "args", "plain", "delimited",
	    "json", NULL };
	static const char *const outputs[] = { "empty", "plain",
	    "delimited", "json", NULL };
	static const char *const codecs[] = { "plain", "base64", "hex",
	    NULL };
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
		cmdline_usage(ctx, "-n %s: %s", cli->name, why);
	if (cli->input != CLI_IN_ARGS && poptPeekArg(ctx) != NULL)
		cmdline_usage(ctx, "unexpected argument with -i %s: %s",
		    opt.input, poptPeekArg(ctx));
	if (cli->input == CLI_IN_JSON && cli->decode != CLI_PLAIN)
		cmdline_usage(ctx, "-d has no meaning with -i json");
	return (ctx);
}

static int
exit_status(int status)
{
	if (status == 200)
		return (CLI_EXIT_OK);
	if (status >= 400 && status < 500)
		return (CLI_EXIT_4XX);
	return (CLI_EXIT_5XX);
}

/* Wait for the reply; returns the exit status, the reply in m. */
static int
await_reply(struct cli_env *cli, void *sock, struct waha_msg *m, int *status,
    size_t *first)
{
	zmq_pollitem_t	 item = { sock, 0, ZMQ_POLLIN, 0 };
	int64_t		 deadline = util_now_ms() + cli->timeout, now;
	int		 rc;

	for (;;) {
		now = util_now_ms();
		if (cli->timeout >= 0 && now >= deadline) {
			fprintf(stderr, "waha-cli: no reply from %s within "
			    "%d ms\n", cli->url, cli->timeout);
			return (CLI_EXIT_TIMEOUT);
		}
		rc = zmq_poll(&item, 1, cli->timeout < 0 ? -1 :
		    (long)(deadline - now));
		if (rc == -1 && errno != EINTR) {
			fprintf(stderr, "waha-cli: zmq_poll: %s\n",
			    zmq_strerror(errno));
			return (CLI_EXIT_CONNECT);
		}
		if (rc > 0 && frames_recv(m, sock, ZMQ_DONTWAIT,
		    SIZE_MAX) == 0)
			break;
	}
	if (proto_parse_reply(m, status, first) != 0) {
		fprintf(stderr, "waha-cli: malformed reply from %s\n",
		    cli->url);
		return (CLI_EXIT_CONNECT);
	}
	return (-1);
}

static int
call(struct cli_env *cli, struct waha_msg *req)
{
	struct waha_msg	 rep;
	void		*ctx, *sock;
	char		*cause = NULL;
	int		 status = 0, rc;
	size_t		 first, nfields = req->n;
	int64_t		 start = util_now_us();

	ctx = zmq_ctx_new();
	sock = util_socket(ctx, ZMQ_DEALER);
	if (util_attach(sock, 0, cli->url, &cause) != 0) {
		fprintf(stderr, "waha-cli: %s\n", cause);
		free(cause);
		util_close(&sock, 0);
		zmq_ctx_term(ctx);
		return (CLI_EXIT_CONNECT);
	}
	frames_init(&rep);
	log_debug("calling %s at %s with %zu fields", cli->name, cli->url,
	    nfields - 2);
	frames_send(req, sock, 0);
	if ((rc = await_reply(cli, sock, &rep, &status, &first)) == -1) {
		log_debug("status %d with %zu fields in %.1f ms", status,
		    rep.n - first, (util_now_us() - start) / 1000.0);
		rc = exit_status(status);
		if (status != 200)
			fprintf(stderr, "waha-cli: %d %.*s\n", status,
			    first < rep.n ? (int)frames_size(&rep, first) : 0,
			    first < rep.n ? (const char *)frames_data(&rep,
			    first) : "");
		else if (cli_io_write(cli, &rep, first, stdout) != 0) {
			fprintf(stderr, "waha-cli: writing stdout: %s\n",
			    strerror(errno));
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
		fprintf(stderr, "waha-cli: %s\n", cause);
		free(cause);
		frames_free(&req);
		poptFreeContext(ctx);
		return (CLI_EXIT_USAGE);
	}
	rc = call(cli, &req);
	frames_free(&req);
	poptFreeContext(ctx);
	return (rc);
}
