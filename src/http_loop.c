/*
 * The gateway's event loops: one libevent loop per thread, each with its
 * own evhttp server on the shared listening socket and its own DEALER to
 * the broker; signals, draining on TERM and the grace period.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "waha.h"
#include "http.h"

#define ALL_METHODS	(EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | \
	EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | \
	EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH)

static struct http_env	*env0;
static struct event	*sig_ev[3];

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
	if (loop->poll_ev != NULL)
		event_del(loop->poll_ev);
	http_conn_drain(loop);
	tv_ms(&tv, loop->env->grace);
	evtimer_add(loop->grace_ev, &tv);
	http_conn_check(loop);
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
	for (i = 0; i < env0->threads; i++) {
		if (env0->loops[i].http == arg)
			evtimer_add(env0->loops[i].accept_ev, &tv);
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

/* A sample for the status page has come back, or has failed. */
static void
poll_reply(struct http_req *r, int status, struct waha_msg *m, size_t first)
{
	if (status == 200 && first < m->n)
		http_samples_add(r->loop->env->samples, frames_data(m, first),
		    frames_size(m, first));
	else
		http_samples_add(r->loop->env->samples, NULL, 0);
	r->loop->poll = NULL;
	free(r);
}

static void
poll_fail(struct http_req *r, int code, const char *reason)
{
	log_debug("http: status sample: %d %s", code, reason);
	http_samples_add(r->loop->env->samples, NULL, 0);
	r->loop->poll = NULL;
	free(r);
}

/*
 * Every --status-interval, loop 0 asks the broker for mmi.stats for the
 * status page's charts, through its DEALER like any request; one at a
 * time, so a slow broker is not asked again before it has answered.
 */
static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct http_loop	*loop = arg;
	struct http_req		*r;

	if (loop->poll != NULL || loop->draining)
		return;
	r = xcalloc(1, sizeof(*r));
	r->loop = loop;
	r->kind = HTTP_POLL;
	r->start = util_now_us();
	r->timeout = loop->env->status_interval < HTTP_PROBE_TIMEOUT ?
	    loop->env->status_interval : HTTP_PROBE_TIMEOUT;
	r->on_reply = poll_reply;
	r->on_fail = poll_fail;
	http_broker_begin(loop, r->timeout, 0);
	frames_addstr(&loop->out, "mmi.stats");
	if (http_broker_send(r) != 0) {
		http_samples_add(loop->env->samples, NULL, 0);
		free(r);
		return;
	}
	loop->poll = r;
}

static void
poll_open(struct http_loop *loop)
{
	struct timeval	 tv;

	tv_ms(&tv, loop->env->status_interval);
	if ((loop->poll_ev = event_new(loop->base, -1, EV_PERSIST, on_poll,
	    loop)) == NULL || event_add(loop->poll_ev, &tv) != 0)
		fatalx("http: cannot make the status page's timer");
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
	    (loop->http = evhttp_new(loop->base)) == NULL ||
	    (loop->body = evbuffer_new()) == NULL)
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
	if (id == 0 && env->samples != NULL)
		poll_open(loop);
}

static void
loop_close(struct http_loop *loop)
{
	/* Closing the connections drops what is still in flight. */
	evhttp_free(loop->http);
	if (loop->poll != NULL) {
		http_broker_forget(loop->poll);
		free(loop->poll);
	}
	if (loop->poll_ev != NULL)
		event_free(loop->poll_ev);
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
	evbuffer_free(loop->body);
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
void
http_loop_run(struct http_env *env)
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

/*
 * Make the loops, catch the signals and listen: on return the gateway
 * answers as soon as http_loop_run runs.  Failures are fatal.
 */
void
http_loop_open(struct http_env *env)
{
	int	 i;

	env0 = env;
	env->loops = xcalloc(env->threads, sizeof(*env->loops));
	for (i = 0; i < env->threads; i++)
		loop_open(env, &env->loops[i], i);
	signals_open(env);
	listen_open(env);
}

/* Free what http_loop_open made, once http_loop_run has returned. */
void
http_loop_close(struct http_env *env)
{
	int	 i;

	for (i = 0; i < 3; i++)
		event_free(sig_ev[i]);
	for (i = 0; i < env->threads; i++)
		loop_close(&env->loops[i]);
	free(env->loops);
	env->loops = NULL;
}
