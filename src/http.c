/*
 * waha-proxy-http: the HTTP gateway.  Anything that speaks HTTP calls a
 * WAHA service through it: GET /SERVICE?args=[...] or POST /SERVICE.
 * This file reads the options and runs the loops of http_loop.c, which
 * hand each request to http_gateway.c.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>

#include "waha.h"
#include "http.h"

static struct http_env	 env0;

static struct {
	const char	*port, *timeout, *threads, *max_body;
	const char	*header_timeout, *body_timeout, *grace;
	const char	*htpasswd, *acl;
	const char	*curve_server, *curve_secret;
	const char	**hosts;
	int		 open_probes;
	const char	*status_path, *status_interval;
	int		 no_status;
	const char	*keepalive;
} opt;

static struct poptOption http_options[] = {
	{ "port", 'p', POPT_ARG_STRING, &opt.port, 0,
	  "TCP port to listen on; 0 lets the kernel choose (default 9001)",
	  "PORT" },
	{ "address", '\0', POPT_ARG_STRING, &env0.address, 0,
	  "address to listen on (default " HTTP_ADDRESS ")", "ADDRESS" },
	{ "url", 'u', POPT_ARG_STRING, &cmdline.url, 0,
	  "broker endpoint, or several comma-separated: requests are "
	  "spread over those that answer (default " WAHA_BROKER_URL ")",
	  "URL[,URL...]" },
	{ "timeout", 't', POPT_ARG_STRING, &opt.timeout, 0,
	  "default request timeout, then 504; -1 none (default 5000)", "MS" },
	{ "threads", '\0', POPT_ARG_STRING, &opt.threads, 0,
	  "event loops, one per thread (default 1)", "N" },
	{ "max-body", '\0', POPT_ARG_STRING, &opt.max_body, 0,
	  "largest request body, then 413 (default 1048576)", "BYTES" },
	{ "no-jsonp", '\0', POPT_ARG_NONE, &env0.no_jsonp, 0,
	  "refuse JSONP (jsonp= and callback=) with 400", NULL },
	{ "cors", '\0', POPT_ARG_STRING, &env0.cors, 0,
	  "allow cross-origin calls from ORIGIN, or * (default off)",
	  "ORIGIN" },
	{ "header-timeout", '\0', POPT_ARG_STRING, &opt.header_timeout, 0,
	  "longest wait for a request's header; -1 none (default 10000)",
	  "MS" },
	{ "body-timeout", '\0', POPT_ARG_STRING, &opt.body_timeout, 0,
	  "longest wait for a request's body, or for a client to read a "
	  "reply; -1 none (default 30000)", "MS" },
	{ "grace", '\0', POPT_ARG_STRING, &opt.grace, 0,
	  "on SIGTERM, wait this long for requests in flight (default 5000)",
	  "MS" },
	{ "htpasswd", '\0', POPT_ARG_STRING, &opt.htpasswd, 0,
	  "ask for a user and password (HTTP Basic) found in FILE "
	  "(yescrypt, bcrypt or sha512-crypt hashes)", "FILE" },
	{ "acl", '\0', POPT_ARG_STRING, &opt.acl, 0,
	  "the services each user may call (rules with user NAME or any "
	  "subjects); the rest is 403", "FILE" },
	{ "allow-host", '\0', POPT_ARG_ARGV, &opt.hosts, 0,
	  "serve requests for this Host only (repeatable; localhost and IP "
	  "addresses always), 421 for others", "NAME" },
	{ "curve-server", '\0', POPT_ARG_STRING, &opt.curve_server, 0,
	  "the broker's public CURVE certificate (with --curve-secret)",
	  "FILE" },
	{ "curve-secret", '\0', POPT_ARG_STRING, &opt.curve_secret, 0,
	  "own secret CURVE certificate (mode 0600)", "FILE" },
	{ "open-probes", '\0', POPT_ARG_NONE, &opt.open_probes, 0,
	  "leave /metrics, /healthz and the status page open to all, "
	  "without --htpasswd or --acl", NULL },
	{ "status-path", '\0', POPT_ARG_STRING, &opt.status_path, 0,
	  "serve the status page at PATH and PATH.json (default /status)",
	  "PATH" },
	{ "no-status", '\0', POPT_ARG_NONE, &opt.no_status, 0,
	  "no status page: /status is a service like any other", NULL },
	{ "status-interval", '\0', POPT_ARG_STRING, &opt.status_interval, 0,
	  "how often the status page's charts ask the broker for mmi.stats "
	  "(default 2000)", "MS" },
	{ "stream-keepalive", '\0', POPT_ARG_STRING, &opt.keepalive, 0,
	  "a comment this often on a silent Server-Sent Events stream "
	  "(default 15000)", "MS" },
	CMDLINE_BINDING_DAEMON,
	POPT_TABLEEND
};

static void
check_address(poptContext ctx, const char *address)
{
	struct addrinfo	 hints, *ai;
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(address, NULL, &hints, &ai)) != 0)
		cmdline_usage(ctx, "--address %s: %s", address,
		    gai_strerror(rc));
	freeaddrinfo(ai);
}

/* The access control options; a bad file is fatal, with its line. */
static void
auth_options(poptContext ctx, struct http_env *env)
{
	char	*cause = NULL;

	cmdline_curve(ctx, opt.curve_server, opt.curve_secret,
	    &env->curve_own, &env->curve_server);
	if (opt.open_probes && opt.htpasswd == NULL && opt.acl == NULL)
		cmdline_usage(ctx, "--open-probes: without --htpasswd or "
		    "--acl, the gateway's own paths are open anyway");
	if (opt.htpasswd == NULL && opt.acl == NULL && opt.hosts == NULL)
		return;
	env->auth = http_auth_new(opt.htpasswd, opt.acl, opt.hosts,
	    opt.open_probes, &cause);
	if (env->auth == NULL) {
		fprintf(stderr, "waha-proxy-http: %s\n", cause);
		poptFreeContext(ctx);
		exit(1);
	}
}

/* The status page options: where it is, how often it samples. */
static void
status_options(poptContext ctx, struct http_env *env)
{
	const char	*p = opt.status_path;
	size_t		 i, len;

	if (opt.no_status && (p != NULL || opt.status_interval != NULL))
		cmdline_usage(ctx, "--no-status: no --status-path or "
		    "--status-interval without a status page");
	env->status_interval = cmdline_num(ctx, "--status-interval",
	    opt.status_interval, 100, 3600000, HTTP_STATUS_INTERVAL);
	if (opt.no_status)
		return;
	if (p == NULL)
		p = HTTP_STATUS_PATH;
	if (*p == '/')
		p++;
	len = strlen(p);
	for (i = 0; i < len; i++) {
		if (p[i] < 0x21 || p[i] > 0x7e || strchr("?#%", p[i]) != NULL)
			break;
	}
	if (len == 0 || i < len || len > WAHA_NAME_MAX - 5)
		cmdline_usage(ctx, "--status-path: a path is /, then 1 to %d "
		    "visible ASCII characters but ? # %%", WAHA_NAME_MAX - 5);
	if (strcmp(p, "metrics") == 0 || strcmp(p, "healthz") == 0)
		cmdline_usage(ctx, "--status-path: /%s is taken", p);
	env->status_path = p;
	env->samples = http_samples_new();
}

static void
options(struct http_env *env, int argc, const char **argv)
{
	poptContext	 ctx;
	const char	*p;

	ctx = cmdline_parse("waha-proxy-http", "[OPTION...]", argc, argv,
	    http_options);
	if (poptPeekArg(ctx) != NULL)
		cmdline_usage(ctx, "unexpected argument: %s", poptPeekArg(ctx));
	env->url = cmdline.url != NULL ? cmdline.url : WAHA_BROKER_URL;
	cmdline_urls(ctx, "-u", cmdline.url, &env->urls);
	if (env->address == NULL)
		env->address = HTTP_ADDRESS;
	check_address(ctx, env->address);
	env->port = cmdline_num(ctx, "--port", opt.port, 0, 65535, HTTP_PORT);
	env->timeout = cmdline_ms(ctx, "--timeout", opt.timeout, WAHA_TIMEOUT);
	env->threads = cmdline_num(ctx, "--threads", opt.threads, 1,
	    HTTP_THREADS_MAX, 1);
	env->max_body = cmdline_num(ctx, "--max-body", opt.max_body, 0,
	    INT_MAX, HTTP_MAX_BODY);
	env->header_timeout = cmdline_ms(ctx, "--header-timeout",
	    opt.header_timeout, HTTP_HEADER_TIMEOUT);
	env->body_timeout = cmdline_ms(ctx, "--body-timeout",
	    opt.body_timeout, HTTP_BODY_TIMEOUT);
	env->grace = cmdline_num(ctx, "--grace", opt.grace, 0, INT_MAX,
	    WAHA_GRACE);
	env->keepalive = cmdline_num(ctx, "--stream-keepalive", opt.keepalive,
	    100, 3600000, HTTP_KEEPALIVE);
	for (p = env->cors; p != NULL && *p != '\0'; p++) {
		if (*p < 0x21 || *p > 0x7e)
			break;
	}
	if (env->cors != NULL && (*env->cors == '\0' || *p != '\0'))
		cmdline_usage(ctx, "--cors: an origin is visible ASCII, "
		    "without spaces");
	auth_options(ctx, env);
	status_options(ctx, env);
	poptFreeContext(ctx);
}

/* libevent's own messages: errors are warnings, the rest debug. */
static void
event_log(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_ERR)
		log_warnx("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

int
main(int argc, char **argv)
{
	struct http_env	*env = &env0;
	char		 access[64] = "";

	options(env, argc, (const char **)argv);
	log_init(cmdline.syslog, cmdline.verbose, "waha-proxy-http");
	event_set_log_callback(event_log);
	env->zctx = zmq_ctx_new();
	http_loop_open(env);
	if (env->auth != NULL)
		http_auth_describe(env->auth, access, sizeof(access));
	log_info("http: %s listening on %s, broker %s, %d thread%s%s",
	    PACKAGE_VERSION, env->bound, env->url, env->threads,
	    env->threads > 1 ? "s" : "", access);
	if (util_notify_ready() != 0)
		log_warn("http: NOTIFY_SOCKET");

	http_loop_run(env);

	http_loop_close(env);
	http_auth_free(env->auth);
	http_samples_free(env->samples);
	curve_cert_clear(&env->curve_own);
	curve_cert_clear(&env->curve_server);
	urls_free(&env->urls);
	zmq_ctx_term(env->zctx);
	log_info("http: stopped");
	return (0);
}
