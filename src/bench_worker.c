/*
 * waha-bench's built-in echo workers, one thread each, so that the
 * broker alone can be measured: WAHA workers (the core's MDP worker
 * session, with a capacity), or with --raw plain DEALER echo servers for
 * a proxy with no broker logic, such as zmq_proxy().  A raw worker
 * answers [envelope] "" SERVICE PAYLOAD as a broker would,
 * [envelope] "" 200 PAYLOAD, so that a client does the same work with
 * either; an MDP client's request it sends back as it came.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"
#include "bench.h"

struct bench_worker {
	pthread_t		 thread;
	const struct bench_config *cf;
	struct worker_session	*ws;	/* a WAHA worker */
	void			*sock;	/* a raw one */
	struct waha_msg		 in;
	struct waha_msg		 out;
	int			 stop;
};

static void	*run_mdp(void *);
static void	*run_raw(void *);

static void
on_notice(void *arg, const char *msg)
{
	log_info("worker: %s", msg);
}

/*
 * A worker of cf->service at cf->worker_url; a WAHA worker registers at
 * once.  NULL with a cause if the endpoint does not take.
 */
struct bench_worker *
bench_worker_new(void *zctx, const struct bench_config *cf, char **cause)
{
	struct bench_worker	*w;
	struct worker_config	 wc;

	w = xcalloc(1, sizeof(*w));
	w->cf = cf;
	frames_init(&w->in);
	frames_init(&w->out);
	if (cf->raw) {
		w->sock = util_socket(zctx, ZMQ_DEALER);
		if ((cf->curve_own == NULL || curve_client_setup(w->sock,
		    cf->curve_own, cf->curve_server, CURVE_ONCE, cause) == 0) &&
		    util_attach(w->sock, 0, cf->worker_url, cause) == 0)
			return (w);
	} else {
		memset(&wc, 0, sizeof(wc));
		wc.url = cf->worker_url;
		wc.service = cf->service;
		wc.capacity = cf->capacity;
		wc.heartbeat = wc.reconnect = WAHA_HEARTBEAT;
		wc.liveness = WAHA_LIVENESS;
		wc.notice = on_notice;
		wc.curve_own = cf->curve_own;
		wc.curve_server = cf->curve_server;
		if ((w->ws = worker_new(zctx, &wc, cause)) != NULL)
			return (w);
	}
	bench_worker_free(w);
	return (NULL);
}

/* Free a worker that has been joined (or never started). */
void
bench_worker_free(struct bench_worker *w)
{
	if (w == NULL)
		return;
	worker_free(w->ws);
	util_close(&w->sock, 0);
	frames_free(&w->in);
	frames_free(&w->out);
	free(w);
}

/* Start the worker's thread. */
int
bench_worker_start(struct bench_worker *w)
{
	return (pthread_create(&w->thread, NULL, w->cf->raw ? run_raw :
	    run_mdp, w) == 0 ? 0 : -1);
}

/* Tell the worker to leave (a WAHA worker says DISCONNECT) and wait. */
void
bench_worker_join(struct bench_worker *w)
{
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELAXED);
	pthread_join(w->thread, NULL);
}

static int
stopping(struct bench_worker *w)
{
	return (__atomic_load_n(&w->stop, __ATOMIC_RELAXED));
}

static void *
run_mdp(void *arg)
{
	struct bench_worker	*w = arg;
	struct waha_msg		 body;
	zmq_pollitem_t		 items[WAHA_MAX_BROKERS];
	zmq_msg_t		 token;
	struct proto_opts	 opts;
	int			 t, n;

	frames_init(&body);
	zmq_msg_init(&token);
	while (!stopping(w)) {
		t = worker_timeout(w->ws, util_now_ms());
		if (t == -1 || t > BENCH_TICK)
			t = BENCH_TICK;
		n = worker_pollitems(w->ws, items, WAHA_MAX_BROKERS);
		if (zmq_poll(items, n, t) == -1 && errno != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(errno));
		while (worker_recv(w->ws, &token, &body, &opts) ==
		    WORKER_REQUEST)
			worker_reply(w->ws, &token, &body);
		worker_tick(w->ws, util_now_ms());
	}
	worker_withdraw(w->ws);
	zmq_msg_close(&token);
	frames_free(&body);
	return (NULL);
}

/* Answer a request the way a broker would, without moving the payload. */
static void
echo(struct bench_worker *w)
{
	size_t	 d = frames_delim(&w->in, 0);

	if (d + 1 >= w->in.n || w->in.dropped > 0)
		return;
	if (frames_is(&w->in, d + 1, WAHA_MDPC)) {
		frames_send(&w->in, w->sock, ZMQ_DONTWAIT);
		return;
	}
	frames_moverange(&w->out, &w->in, 0, d + 1);
	frames_addstr(&w->out, "200");
	frames_moverange(&w->out, &w->in, d + 2, w->in.n);
	frames_send(&w->out, w->sock, ZMQ_DONTWAIT);
}

static void *
run_raw(void *arg)
{
	struct bench_worker	*w = arg;
	zmq_pollitem_t		 item = { w->sock, 0, ZMQ_POLLIN, 0 };

	while (!stopping(w)) {
		if (zmq_poll(&item, 1, BENCH_TICK) == -1 && errno != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(errno));
		while (frames_recv(&w->in, w->sock, ZMQ_DONTWAIT,
		    WAHA_MAX_FRAMES) == 0)
			echo(w);
	}
	return (NULL);
}
