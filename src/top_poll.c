/*
 * waha-top's side of the broker: one DEALER that asks for mmi.stats
 * with a deadline, and the rows computed from the last two documents.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"
#include "top.h"

/* Connect to the broker; a bad URL fills cause. */
int
top_poll_open(struct top_env *top, char **cause)
{
	top->zctx = zmq_ctx_new();
	top->sock = util_socket(top->zctx, ZMQ_DEALER);
	if (zmq_socket_monitor(top->sock, TOP_MONITOR,
	    ZMQ_EVENT_CONNECTED) == 0) {
		top->mon = util_socket(top->zctx, ZMQ_PAIR);
		if (zmq_connect(top->mon, TOP_MONITOR) != 0)
			util_close(&top->mon, 0);
	}
	return (util_attach(top->sock, 0, top->url, cause));
}

/* Close the socket and free the documents and rows. */
void
top_poll_close(struct top_env *top)
{
	if (top->mon != NULL) {
		zmq_socket_monitor(top->sock, NULL, 0);
		util_close(&top->mon, 0);
	}
	util_close(&top->sock, 0);
	zmq_ctx_term(top->zctx);
	json_decref(top->prev);
	json_decref(top->doc);
	free(top->services);
	free(top->workers);
	free(top->error);
}

static void
failed(struct top_env *top, const char *why)
{
	free(top->error);
	top->error = xstrdup(why);
}

/* Whether the monitor has seen the connection made. */
static void
watch(struct top_env *top)
{
	struct waha_msg	 m;
	uint16_t	 ev;

	if (top->mon == NULL)
		return;
	frames_init(&m);
	while (frames_recv(&m, top->mon, ZMQ_DONTWAIT, 2) == 0) {
		if (m.n > 0 && frames_size(&m, 0) >= sizeof(ev)) {
			memcpy(&ev, frames_data(&m, 0), sizeof(ev));
			if (ev == ZMQ_EVENT_CONNECTED)
				top->connected = 1;
		}
	}
	frames_free(&m);
}

/*
 * Ask for mmi.stats and wait up to -t for it: the document, or NULL
 * with why in top->error.  Replies to earlier polls that came too late
 * are told apart by their correlation frame.
 */
static json_t *
ask(struct top_env *top)
{
	static uint64_t	 corr;
	zmq_pollitem_t	 it = { top->sock, 0, ZMQ_POLLIN, 0 };
	struct waha_msg	 m;
	json_t		*doc = NULL;
	int64_t		 end = util_now_ms() + top->timeout, now = 0;
	char		 opts[32];
	int		 status;
	size_t		 first;

	corr++;
	free(top->error);
	top->error = NULL;
	frames_init(&m);
	frames_addmem(&m, &corr, sizeof(corr));
	frames_add(&m);
	frames_addstr(&m, WAHA_EXT);
	snprintf(opts, sizeof(opts), "timeout=%d", top->timeout);
	frames_addstr(&m, opts);
	frames_addstr(&m, "mmi.stats");
	if (frames_send(&m, top->sock, ZMQ_DONTWAIT) != 0)
		failed(top, zmq_strerror(errno));
	frames_clear(&m);
	while (doc == NULL && (now = util_now_ms()) < end) {
		if (zmq_poll(&it, 1, end - now) <= 0)
			continue;
		if (frames_recv(&m, top->sock, ZMQ_DONTWAIT, 16) != 0 ||
		    frames_size(&m, 0) != sizeof(corr) ||
		    memcmp(frames_data(&m, 0), &corr, sizeof(corr)) != 0)
			continue;
		if (proto_parse_reply(&m, &status, &first) != 0 ||
		    first >= m.n)
			failed(top, "malformed reply");
		else if (status != 200)
			failed(top, proto_status_text(status));
		else if ((doc = json_loadb(frames_data(&m, first),
		    frames_size(&m, first), 0, NULL)) == NULL)
			failed(top, "mmi.stats is not JSON");
		if (doc == NULL)
			break;
	}
	frames_free(&m);
	watch(top);
	if (doc == NULL && top->error == NULL)
		failed(top, top->connected ? "no reply in time" :
		    "cannot connect");
	return (doc);
}

static void
services(struct top_env *top)
{
	struct top_service	*s;
	const char		*name;
	json_t			*svc, *old, *prev;
	int64_t			 dt = stats_dt(top->prev, top->doc);

	prev = json_object_get(top->prev, "services");
	top->nservices = json_object_size(json_object_get(top->doc,
	    "services"));
	top->services = xreallocarray(top->services, top->nservices + 1,
	    sizeof(*top->services));
	s = top->services;
	json_object_foreach(json_object_get(top->doc, "services"), name,
	    svc) {
		s->name = name;
		s->workers = stats_int(svc, "workers");
		s->capacity = stats_int(svc, "capacity");
		s->in_flight = stats_int(svc, "in_flight");
		s->queued = stats_int(svc, "queued");
		s->oldest = stats_int(svc, "oldest_queued_ms");
		s->requests = stats_int(svc, "requests");
		s->errors = stats_errors(svc);
		old = json_object_get(prev, name);
		s->rate = old == NULL ? NAN : stats_rate(stats_int(old,
		    "requests"), s->requests, dt);
		s->err_rate = old == NULL ? NAN : stats_rate(stats_errors(old),
		    s->errors, dt);
		s->p50 = stats_recent(svc, "p50");
		s->p99 = stats_recent(svc, "p99");
		s++;
	}
	top->cpu = stats_rate(stats_int(top->prev, "cpu_ms"),
	    stats_int(top->doc, "cpu_ms"), dt) / 10;
}

static void
workers(struct top_env *top)
{
	struct top_worker	*w;
	json_t			*all = json_object_get(top->doc, "workers"), *j;
	size_t			 i;

	top->workers = xreallocarray(top->workers, json_array_size(all) + 1,
	    sizeof(*top->workers));
	w = top->workers;
	json_array_foreach(all, i, j) {
		w->service = json_string_value(json_object_get(j, "service"));
		w->identity = json_string_value(json_object_get(j, "identity"));
		if (w->service == NULL || w->identity == NULL)
			continue;
		w->capacity = stats_int(j, "capacity");
		w->in_flight = stats_int(j, "in_flight");
		w->served = stats_int(j, "served");
		w->heard = stats_int(j, "last_heartbeat_ms");
		w->state = stats_silent(top->doc, j) ? "silent" :
		    json_is_true(json_object_get(j, "leaving")) ? "leaving" :
		    "live";
		w++;
	}
	top->nworkers = w - top->workers;
}

/*
 * Poll the broker once and compute the rows against the poll before;
 * 0, or -1 if the broker did not answer (the rows are then empty).
 */
int
top_poll(struct top_env *top)
{
	json_t	*doc;

	if ((doc = ask(top)) == NULL) {
		top->nservices = top->nworkers = 0;
		return (-1);
	}
	json_decref(top->prev);
	top->prev = top->doc;
	top->doc = doc;
	services(top);
	workers(top);
	top_poll_sort(top);
	return (0);
}

static enum top_sort	 sort_by;

/* NAN last, then the larger first. */
static int
cmp_num(double a, double b)
{
	if (isnan(a) || isnan(b))
		return (isnan(a) - isnan(b));
	return (a < b ? 1 : a > b ? -1 : 0);
}

static int
cmp_service(const void *va, const void *vb)
{
	const struct top_service *a = va, *b = vb;
	int	 c = 0;

	switch (sort_by) {
	case TOP_BY_RATE:
		c = cmp_num(a->rate, b->rate);
		break;
	case TOP_BY_QUEUE:
		c = cmp_num(a->queued, b->queued);
		if (c == 0)
			c = cmp_num(a->oldest, b->oldest);
		break;
	case TOP_BY_ERRORS:
		c = cmp_num(a->err_rate, b->err_rate);
		if (c == 0)
			c = cmp_num(a->errors, b->errors);
		break;
	case TOP_BY_LATENCY:
		c = cmp_num(a->p99, b->p99);
		break;
	case TOP_BY_NAME:
		break;
	}
	return (c != 0 ? c : strcmp(a->name, b->name));
}

static int
cmp_worker(const void *va, const void *vb)
{
	const struct top_worker *a = va, *b = vb;
	int	 c = strcmp(a->service, b->service);

	return (c != 0 ? c : strcmp(a->identity, b->identity));
}

/* Sort the rows as top->sort says; workers by service and identity. */
void
top_poll_sort(struct top_env *top)
{
	sort_by = top->sort;
	qsort(top->services, top->nservices, sizeof(*top->services),
	    cmp_service);
	qsort(top->workers, top->nworkers, sizeof(*top->workers), cmp_worker);
}
