/*
 * waha-proxy-http: the HTTP gateway.  Anything that speaks HTTP calls a
 * WAHA service through it: GET /SERVICE?args=[...] or POST /SERVICE.
 * Each thread runs one libevent loop with its own evhttp server on the
 * shared listening socket and its own DEALER socket to the broker.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "waha.h"
#include "http.h"

#define ALL_METHODS	(EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | \
	EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | \
	EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH)

static struct http_env	 env0;
static struct event	*sig_ev[3];

static struct {
	const char	*port, *timeout, *threads, *max_body;
	const char	*header_timeout, *body_timeout, *grace;
	const char	*htpasswd, *acl;
	const char	*curve_server, *curve_secret;
	const char	**hosts;
	int		 open_probes;
} opt;

static struct poptOption http_options[] = {
	{ "port", 'p', POPT_ARG_STRING, &opt.port, 0,
	  "TCP port to listen on; 0 lets the kernel choose (default 9001)",
	  "PORT" },
	{ "address", '\0', POPT_ARG_STRING, &env0.address, 0,
	  "address to listen on (default " HTTP_ADDRESS ")", "ADDRESS" },
	{ "url", 'u', POPT_ARG_STRING, &cmdline.url, 0,
	  "broker endpoint (default " WAHA_BROKER_URL ")", "URL" },
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
	  "leave /metrics and /healthz open to all, without --htpasswd or "
	  "--acl", NULL },
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
		    "--acl, /metrics and /healthz are open anyway");
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
	for (p = env->cors; p != NULL && *p != '\0'; p++) {
		if (*p < 0x21 || *p > 0x7e)
			break;
	}
	if (env->cors != NULL && (*env->cors == '\0' || *p != '\0'))
		cmdline_usage(ctx, "--cors: an origin is visible ASCII, "
		    "without spaces");
	auth_options(ctx, env);
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

static void
tv_ms(struct timeval *tv, int ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/* Ask a loop, from any thread: 'd' to drain, 'q' to quit now. */
static void
wake(struct http_loop *loop, char c)
{
	if (write(loop->wake[1], &c, 1) != 1)
		log_warn("http: waking loop %d", loop->id);
}

/* Exit a draining loop once nothing is in flight. */
void
http_loop_check(struct http_loop *loop)
{
	if (loop->draining && loop->stats.active == 0)
		event_base_loopexit(loop->base, NULL);
}

static void
drain(struct http_loop *loop)
{
	struct timeval	 tv;

	if (loop->draining)
		return;
	loop->draining = 1;
	if (loop->bound != NULL)
		evhttp_del_accept_socket(loop->http, loop->bound);
	loop->bound = NULL;
	http_conn_drain(loop);
	tv_ms(&tv, loop->env->grace);
	evtimer_add(loop->grace_ev, &tv);
	http_loop_check(loop);
}

static void
on_grace(evutil_socket_t fd, short what, void *arg)
{
	struct http_loop	*loop = arg;
	struct timeval		 tv = { 1, 0 };

	log_warnx("http: grace period over, %u requests in flight "
	    "answered 503", HASH_COUNT(loop->pending));
	http_broker_fail_all(loop, 503, "shutting down");
	/* A second for those replies to be written. */
	event_base_loopexit(loop->base, &tv);
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct http_loop	*loop = arg;
	char			 buf[16];
	ssize_t			 n, i;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++) {
			if (buf[i] == 'd')
				drain(loop);
			else if (buf[i] == 'q')
				event_base_loopbreak(loop->base);
		}
	}
}

/* SIGHUP: read the password file and the rules again, or keep them. */
static void
reload(struct http_env *env)
{
	char	*cause = NULL;

	switch (http_auth_reload(env->auth, &cause)) {
	case 1:
		log_info("http: SIGHUP ignored, there is nothing to reload");
		break;
	case 0:
		log_info("http: SIGHUP: passwords and rules reloaded");
		break;
	default:
		log_warnx("http: SIGHUP: %s; keeping the old passwords and "
		    "rules", cause);
		free(cause);
		break;
	}
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct http_env	*env = arg;
	int		 i;

	if (sig == SIGHUP) {
		reload(env);
		return;
	}
	if (env->signals++ == 0)
		log_info("http: shutting down: no new connections, waiting up "
		    "to %d ms for requests in flight", env->grace);
	else
		log_info("http: second signal, exiting now");
	for (i = 0; i < env->threads; i++)
		wake(&env->loops[i], env->signals == 1 ? 'd' : 'q');
}

static void
on_accept_again(evutil_socket_t fd, short what, void *arg)
{
	struct http_loop	*loop = arg;

	if (loop->bound != NULL)
		evconnlistener_enable(evhttp_bound_socket_get_listener(
		    loop->bound));
}

/*
 * Out of descriptors, say: pause accepting for a second rather than
 * spin.  The argument is the listener's, the evhttp of its loop.
 */
static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct timeval	 tv = { 1, 0 };
	int		 i;

	log_warn("http: accept");
	evconnlistener_disable(lev);
	for (i = 0; i < env0.threads; i++) {
		if (env0.loops[i].http == arg)
			evtimer_add(env0.loops[i].accept_ev, &tv);
	}
}

/*
 * An event base whose epoll changes are made once per loop iteration:
 * evhttp turns reading and writing on and off several times for each
 * request, and each would otherwise be an epoll_ctl(2).  Not with more
 * than one loop: the loops then listen on dup(2)s of one socket, and a
 * change list is not safe with those (a deferred delete comes after the
 * close).
 */
static struct event_base *
base_new(int changelist)
{
	struct event_config	*cfg;
	struct event_base	*base;

	if ((cfg = event_config_new()) == NULL)
		return (NULL);
	if (changelist)
		event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return (base);
}

static void
loop_open(struct http_env *env, struct http_loop *loop, int id)
{
	struct timeval	 tv;
	char		*cause = NULL;
	int		 i;

	loop->id = id;
	loop->env = env;
	pthread_mutex_init(&loop->lock, NULL);
	frames_init(&loop->in);
	frames_init(&loop->out);
	if ((loop->base = base_new(env->threads == 1)) == NULL ||
	    (loop->http = evhttp_new(loop->base)) == NULL)
		fatalx("http: cannot make an event loop");
	evhttp_set_gencb(loop->http, http_gateway_request, loop);
	evhttp_set_bevcb(loop->http, http_conn_new, loop);
	evhttp_set_allowed_methods(loop->http, ALL_METHODS);
	evhttp_set_max_body_size(loop->http, env->max_body);
	evhttp_set_max_headers_size(loop->http, HTTP_MAX_HEADERS);
	/* Read a body that is too large to its end, then answer 413. */
	evhttp_set_flags(loop->http, EVHTTP_SERVER_LINGERING_CLOSE);
	if (env->timeout >= 0) {
		tv_ms(&tv, env->timeout);
		loop->default_tv = event_base_init_common_timeout(loop->base,
		    &tv);
	}
	if (pipe(loop->wake) == -1)
		fatal("pipe");
	for (i = 0; i < 2; i++) {
		fcntl(loop->wake[i], F_SETFD, FD_CLOEXEC);
		fcntl(loop->wake[i], F_SETFL, O_NONBLOCK);
	}
	if ((loop->wake_ev = event_new(loop->base, loop->wake[0],
	    EV_READ | EV_PERSIST, on_wake, loop)) == NULL ||
	    event_add(loop->wake_ev, NULL) != 0 ||
	    (loop->grace_ev = evtimer_new(loop->base, on_grace, loop)) == NULL ||
	    (loop->accept_ev = evtimer_new(loop->base, on_accept_again,
	    loop)) == NULL)
		fatalx("http: cannot make the loop's events");
	if (http_broker_open(loop, &cause) != 0)
		fatalx("broker: %s", cause);
}

static void
loop_close(struct http_loop *loop)
{
	/* Closing the connections drops what is still in flight. */
	evhttp_free(loop->http);
	http_broker_close(loop);
	event_free(loop->wake_ev);
	event_free(loop->grace_ev);
	event_free(loop->accept_ev);
	close(loop->wake[0]);
	close(loop->wake[1]);
	event_base_free(loop->base);
	http_auth_cache_free(loop->auth_cache);
	free(loop->auth_cache);
	frames_free(&loop->in);
	frames_free(&loop->out);
	pthread_mutex_destroy(&loop->lock);
}

/* The address and port a listening socket actually got. */
static void
bound_name(int fd, char *buf, size_t size)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	char			 host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), serv,
	    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		fatal("http: getsockname");
	snprintf(buf, size, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
	    host, serv);
}

/*
 * Listen on loop 0, and let the other loops accept on duplicates of the
 * same socket.  The address actually bound goes to --endpoint-file.
 */
static void
listen_open(struct http_env *env)
{
	struct http_loop	*loop;
	char			*cause = NULL;
	int			 fd, i;

	loop = &env->loops[0];
	if ((loop->bound = evhttp_bind_socket_with_handle(loop->http,
	    env->address, env->port)) == NULL)
		fatal("http: cannot listen on %s port %d", env->address,
		    env->port);
	fd = evhttp_bound_socket_get_fd(loop->bound);
	bound_name(fd, env->bound, sizeof(env->bound));
	if (cmdline.endpoint_file != NULL &&
	    util_write_file(cmdline.endpoint_file, env->bound, &cause) != 0)
		fatalx("http: %s", cause);
	for (i = 1; i < env->threads; i++) {
		loop = &env->loops[i];
		if ((fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1 ||
		    (loop->bound = evhttp_accept_socket_with_handle(
		    loop->http, fd)) == NULL)
			fatal("http: cannot share the listening socket");
	}
	for (i = 0; i < env->threads; i++)
		evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(
		    env->loops[i].bound), on_accept_error);
}

static void
signals_open(struct http_env *env)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction	 sa;
	int			 i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	for (i = 0; i < 3; i++) {
		if ((sig_ev[i] = evsignal_new(env->loops[0].base, sigs[i],
		    on_signal, env)) == NULL || evsignal_add(sig_ev[i],
		    NULL) != 0)
			fatalx("http: cannot catch signal %d", sigs[i]);
	}
}

static void *
loop_thread(void *arg)
{
	struct http_loop	*loop = arg;

	event_base_dispatch(loop->base);
	return (NULL);
}

/* Run loop 0 here and the others in threads that take no signals. */
static void
run(struct http_env *env)
{
	sigset_t	 all, old;
	int		 i;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 1; i < env->threads; i++) {
		if (pthread_create(&env->loops[i].thread, NULL, loop_thread,
		    &env->loops[i]) != 0)
			fatalx("http: cannot start thread %d", i);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	event_base_dispatch(env->loops[0].base);
	for (i = 1; i < env->threads; i++)
		pthread_join(env->loops[i].thread, NULL);
}

int
main(int argc, char **argv)
{
	struct http_env	*env = &env0;
	char		 access[64] = "";
	int		 i;

	options(env, argc, (const char **)argv);
	log_init(cmdline.syslog, cmdline.verbose, "waha-proxy-http");
	event_set_log_callback(event_log);
	env->zctx = zmq_ctx_new();
	env->loops = xcalloc(env->threads, sizeof(*env->loops));
	for (i = 0; i < env->threads; i++)
		loop_open(env, &env->loops[i], i);
	signals_open(env);
	listen_open(env);
	if (env->auth != NULL)
		http_auth_describe(env->auth, access, sizeof(access));
	log_info("http: %s listening on %s, broker %s, %d thread%s%s",
	    PACKAGE_VERSION, env->bound, env->url, env->threads,
	    env->threads > 1 ? "s" : "", access);
	if (util_notify_ready() != 0)
		log_warn("http: NOTIFY_SOCKET");

	run(env);

	for (i = 0; i < 3; i++)
		event_free(sig_ev[i]);
	for (i = 0; i < env->threads; i++)
		loop_close(&env->loops[i]);
	free(env->loops);
	http_auth_free(env->auth);
	curve_cert_clear(&env->curve_own);
	curve_cert_clear(&env->curve_server);
	zmq_ctx_term(env->zctx);
	log_info("http: stopped");
	return (0);
}
