/*
 * GET /metrics: the gateway's own counters and the broker's mmi.stats
 * document as Prometheus text exposition, version 0.0.4.  Every name
 * starts with waha_; every family has its HELP and TYPE lines and its
 * samples together.  A scrape answers 200 even when the broker does
 * not, with waha_broker_up 0 and the gateway's families only.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "waha.h"
#include "http.h"

#define LABELS_MAX	2048

const int http_codes[HTTP_NCODES] = {
	200, 204, 400, 401, 403, 404, 405, 421, 500, 501, 502, 503, 504, 0
};

const double http_buckets[HTTP_NBUCKETS - 1] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10
};

/* A number of the mmi.stats document: where it is, how it is named. */
struct metric {
	const char	*name;
	const char	*type;
	const char	*help;
	const char	*key[3];
	double		 scale;
};

static const struct metric broker_metrics[] = {
	{ "broker_uptime_seconds", "gauge", "Time since the broker started",
	  { "uptime_ms" }, 0.001 },
	{ "broker_resident_memory_bytes", "gauge",
	  "The broker's resident memory (where the system tells it)",
	  { "rss_bytes" }, 1 },
	{ "broker_cpu_seconds_total", "counter",
	  "CPU time the broker has used, user and system", { "cpu_ms" },
	  0.001 },
	{ "broker_draining", "gauge", "1 while the broker shuts down",
	  { "draining" }, 1 },
	{ "broker_services", "gauge", "Services the broker knows",
	  { "services_known" }, 1 },
	{ "broker_workers", "gauge", "Workers the broker knows",
	  { "workers_known" }, 1 },
	{ "broker_queued", "gauge", "Requests waiting for a worker",
	  { "queued" }, 1 },
	{ "broker_in_flight", "gauge", "Requests running in a worker",
	  { "in_flight" }, 1 },
	{ "broker_requests_total", "counter", "Requests the broker received",
	  { "totals", "requests" }, 1 },
	{ "broker_streams_open", "gauge", "Streaming requests open now",
	  { "streams_open" }, 1 },
	{ "broker_streams_total", "counter", "Requests with stream=1",
	  { "totals", "streams" }, 1 },
	{ "broker_partials_total", "counter",
	  "Partial replies relayed to streaming clients",
	  { "totals", "partials" }, 1 },
	{ "broker_streamed_bytes_total", "counter",
	  "Payload bytes of the partial replies relayed",
	  { "totals", "streamed_bytes" }, 1 },
	{ "broker_replies_total", "counter", "Replies workers sent",
	  { "totals", "replies" }, 1 },
	{ "broker_expired_total", "counter",
	  "Requests that waited or ran too long (504)",
	  { "totals", "expired" }, 1 },
	{ "broker_cancelled_total", "counter",
	  "Requests their clients cancelled", { "totals", "cancelled" }, 1 },
	{ "broker_queue_full_total", "counter",
	  "Requests refused because the queues were full (503)",
	  { "totals", "queue_full" }, 1 },
	{ "broker_queued_bytes", "gauge",
	  "Memory the queued requests hold, as --max-queue-bytes counts it",
	  { "queued_bytes" }, 1 },
	{ "broker_unroutable_total", "counter",
	  "Messages to peers that had gone", { "totals", "unroutable" }, 1 },
	{ "broker_late_replies_total", "counter",
	  "Worker replies to requests already answered",
	  { "totals", "late_replies" }, 1 },
	{ "broker_bad_requests_total", "counter",
	  "Malformed client messages", { "totals", "bad_requests" }, 1 },
	{ "broker_bad_worker_messages_total", "counter",
	  "Malformed worker messages", { "totals", "bad_worker_messages" },
	  1 },
	{ "broker_dropped_total", "counter",
	  "MDP requests dropped over the service limit",
	  { "totals", "dropped" }, 1 },
	{ "broker_mmi_requests_total", "counter",
	  "Requests to mmi. services", { "totals", "mmi_requests" }, 1 },
	{ "broker_latency_p50_seconds", "gauge",
	  "Median time from request to reply",
	  { "totals", "latency_ms", "p50" }, 0.001 },
	{ "broker_latency_p99_seconds", "gauge",
	  "99th percentile of the time from request to reply",
	  { "totals", "latency_ms", "p99" }, 0.001 }
};

static const struct metric service_metrics[] = {
	{ "service_workers", "gauge", "Live workers of a service",
	  { "workers" }, 1 },
	{ "service_capacity", "gauge",
	  "Requests a service's workers take at once", { "capacity" }, 1 },
	{ "service_in_flight", "gauge", "Requests running in a service",
	  { "in_flight" }, 1 },
	{ "service_queued", "gauge", "Requests waiting for a service",
	  { "queued" }, 1 },
	{ "service_oldest_queued_seconds", "gauge",
	  "Age of a service's oldest waiting request",
	  { "oldest_queued_ms" }, 0.001 },
	{ "service_requests_total", "counter", "Requests to a service",
	  { "requests" }, 1 },
	{ "service_expired_total", "counter",
	  "Requests to a service that waited or ran too long",
	  { "expired" }, 1 },
	{ "service_cancelled_total", "counter",
	  "Requests to a service their clients cancelled", { "cancelled" }, 1 },
	{ "service_latency_p50_seconds", "gauge",
	  "Median time from request to reply of a service",
	  { "latency_ms", "p50" }, 0.001 },
	{ "service_latency_p99_seconds", "gauge",
	  "99th percentile of the time from request to reply of a service",
	  { "latency_ms", "p99" }, 0.001 }
};

static const struct metric worker_metrics[] = {
	{ "worker_capacity", "gauge", "Requests a worker takes at once",
	  { "capacity" }, 1 },
	{ "worker_in_flight", "gauge", "Requests running in a worker",
	  { "in_flight" }, 1 },
	{ "worker_served_total", "counter", "Requests a worker answered",
	  { "served" }, 1 },
	{ "worker_last_heartbeat_seconds", "gauge",
	  "Time since a worker was last heard from",
	  { "last_heartbeat_ms" }, 0.001 },
	{ "worker_leaving", "gauge", "1 once a worker has said DISCONNECT",
	  { "leaving" }, 1 }
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* Count a reply sent with code after us microseconds. */
void
http_metrics_count(struct http_loop *loop, int code, int64_t us)
{
	double	 s = us / 1e6;
	int	 i, b;

	for (i = 0; i < HTTP_NCODES - 1 && http_codes[i] != code; i++)
		;
	for (b = 0; b < HTTP_NBUCKETS - 1 && s > http_buckets[b]; b++)
		;
	pthread_mutex_lock(&loop->lock);
	loop->stats.code[i]++;
	loop->stats.bucket[b]++;
	loop->stats.count++;
	loop->stats.sum += s;
	pthread_mutex_unlock(&loop->lock);
}

/* Add up the statistics of every loop. */
static void
gather(struct http_env *env, struct http_stats *t)
{
	struct http_stats	*s;
	int			 i, k;

	memset(t, 0, sizeof(*t));
	t->connected = 1;
	for (i = 0; i < env->threads; i++) {
		s = &env->loops[i].stats;
		pthread_mutex_lock(&env->loops[i].lock);
		for (k = 0; k < HTTP_NCODES; k++)
			t->code[k] += s->code[k];
		for (k = 0; k < HTTP_NBUCKETS; k++)
			t->bucket[k] += s->bucket[k];
		t->count += s->count;
		t->sum += s->sum;
		t->late += s->late;
		t->bad_replies += s->bad_replies;
		t->gone += s->gone;
		t->slow += s->slow;
		t->streams += s->streams;
		t->stream_bytes += s->stream_bytes;
		t->stream_cut += s->stream_cut;
		t->streaming += s->streaming;
		t->active += s->active;
		t->conns += s->conns;
		t->connected &= s->connected;
		for (k = 0; k < (int)env->urls.n; k++)
			t->link_up[k] = (i == 0 || t->link_up[k]) &&
			    s->link_up[k];
		pthread_mutex_unlock(&env->loops[i].lock);
	}
}

static void
family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP waha_%s %s\n# TYPE waha_%s %s\n",
	    name, help, name, type);
}

/* Append name="value" to a label list, escaped as the format says. */
static void
label(char *buf, const char *name, const char *value)
{
	size_t	 o = strlen(buf);

	o += snprintf(buf + o, LABELS_MAX - o, "%s%s=\"", o > 0 ? "," : "",
	    name);
	for (; *value != '\0' && o + 4 < LABELS_MAX; value++) {
		if (*value == '\\' || *value == '"' || *value == '\n') {
			buf[o++] = '\\';
			buf[o++] = *value == '\n' ? 'n' : *value;
		} else
			buf[o++] = *value;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

static void
sample(struct evbuffer *b, const char *name, const char *labels, double v)
{
	char	 num[64];

	if (v > -1e15 && v < 1e15 && v == (double)(long long)v)
		snprintf(num, sizeof(num), "%lld", (long long)v);
	else
		snprintf(num, sizeof(num), "%.12g", v);
	evbuffer_add_printf(b, "waha_%s%s%s%s %s\n", name,
	    *labels != '\0' ? "{" : "", labels, *labels != '\0' ? "}" : "",
	    num);
}

/* The number at m's keys in o; -1 if there is none. */
static int
lookup(json_t *o, const struct metric *m, double *v)
{
	int	 i;

	for (i = 0; i < 3 && m->key[i] != NULL && o != NULL; i++)
		o = json_object_get(o, m->key[i]);
	if (json_is_number(o))
		*v = json_number_value(o) * m->scale;
	else if (json_is_boolean(o))
		*v = json_is_true(o);
	else
		return (-1);
	return (0);
}

/* One sample per status of an "errors" object, after labels base. */
static void
errors(struct evbuffer *b, const char *name, const char *base, json_t *e)
{
	const char	*status;
	json_t		*n;
	char		 lb[LABELS_MAX];

	json_object_foreach(e, status, n) {
		strlcpy(lb, base, sizeof(lb));
		label(lb, "status", status);
		sample(b, name, lb, json_number_value(n));
	}
}

static void
services(struct evbuffer *b, json_t *all)
{
	const struct metric	*m;
	const char		*name;
	json_t			*s;
	char			 lb[LABELS_MAX];
	double			 v;
	size_t			 i;

	for (i = 0; i < NITEMS(service_metrics); i++) {
		m = &service_metrics[i];
		family(b, m->name, m->type, m->help);
		json_object_foreach(all, name, s) {
			lb[0] = '\0';
			label(lb, "service", name);
			if (lookup(s, m, &v) == 0)
				sample(b, m->name, lb, v);
		}
	}
	family(b, "service_errors_total", "counter",
	    "Requests to a service answered with an error, by status");
	json_object_foreach(all, name, s) {
		lb[0] = '\0';
		label(lb, "service", name);
		errors(b, "service_errors_total", lb,
		    json_object_get(s, "errors"));
	}
}

static void
workers(struct evbuffer *b, json_t *all)
{
	const struct metric	*m;
	json_t			*w;
	char			 lb[LABELS_MAX];
	double			 v;
	size_t			 i, k;

	for (i = 0; i < NITEMS(worker_metrics); i++) {
		m = &worker_metrics[i];
		family(b, m->name, m->type, m->help);
		json_array_foreach(all, k, w) {
			lb[0] = '\0';
			label(lb, "service", json_string_value(json_object_get(
			    w, "service")) != NULL ? json_string_value(
			    json_object_get(w, "service")) : "");
			label(lb, "identity", json_string_value(
			    json_object_get(w, "identity")) != NULL ?
			    json_string_value(json_object_get(w, "identity")) :
			    "");
			if (lookup(w, m, &v) == 0)
				sample(b, m->name, lb, v);
		}
	}
}

static void
broker(struct evbuffer *b, json_t *doc)
{
	const struct metric	*m;
	const char		*version;
	char			 lb[LABELS_MAX];
	double			 v;
	size_t			 i;

	lb[0] = '\0';
	version = json_string_value(json_object_get(doc, "version"));
	label(lb, "version", version != NULL ? version : "");
	family(b, "broker_info", "gauge", "The broker's version");
	sample(b, "broker_info", lb, 1);
	for (i = 0; i < NITEMS(broker_metrics); i++) {
		m = &broker_metrics[i];
		family(b, m->name, m->type, m->help);
		if (lookup(doc, m, &v) == 0)
			sample(b, m->name, "", v);
	}
	family(b, "broker_errors_total", "counter",
	    "Requests answered with an error, by status");
	errors(b, "broker_errors_total", "", json_object_get(
	    json_object_get(doc, "totals"), "errors"));
	family(b, "broker_mdp_dropped_total", "counter",
	    "MDP requests dropped unanswered (RFC 7 has no error reply), "
	    "by status");
	errors(b, "broker_mdp_dropped_total", "", json_object_get(
	    json_object_get(doc, "totals"), "mdp_dropped"));
	services(b, json_object_get(doc, "services"));
	workers(b, json_object_get(doc, "workers"));
}

static void
one(struct evbuffer *b, const char *name, const char *type,
    const char *help, double v)
{
	family(b, name, type, help);
	sample(b, name, "", v);
}

static void
gateway(struct evbuffer *b, const struct http_stats *t)
{
	char		 lb[LABELS_MAX], code[16];
	uint64_t	 sum = 0;
	int		 i;

	family(b, "http_requests_total", "counter",
	    "HTTP requests answered, by status code");
	for (i = 0; i < HTTP_NCODES; i++) {
		lb[0] = '\0';
		snprintf(code, sizeof(code), "%d", http_codes[i]);
		label(lb, "code", http_codes[i] != 0 ? code : "other");
		sample(b, "http_requests_total", lb, t->code[i]);
	}
	family(b, "http_request_duration_seconds", "histogram",
	    "Time from a request's arrival to its reply");
	for (i = 0; i < HTTP_NBUCKETS; i++) {
		lb[0] = '\0';
		snprintf(code, sizeof(code), "%g", i < HTTP_NBUCKETS - 1 ?
		    http_buckets[i] : 0);
		label(lb, "le", i < HTTP_NBUCKETS - 1 ? code : "+Inf");
		sum += t->bucket[i];
		sample(b, "http_request_duration_seconds_bucket", lb, sum);
	}
	sample(b, "http_request_duration_seconds_sum", "", t->sum);
	sample(b, "http_request_duration_seconds_count", "", t->count);
	one(b, "http_in_flight", "gauge", "HTTP requests being answered",
	    t->active);
	one(b, "http_connections", "gauge", "Open HTTP connections",
	    t->conns);
	one(b, "http_broker_connected", "gauge",
	    "1 when every event loop is connected to a broker that answers",
	    t->connected);
	one(b, "http_late_replies_total", "counter",
	    "Broker replies that came after their request was answered",
	    t->late);
	one(b, "http_bad_replies_total", "counter",
	    "Malformed broker replies", t->bad_replies);
	one(b, "http_clients_gone_total", "counter",
	    "Clients that left before their reply", t->gone);
	one(b, "http_slow_clients_total", "counter",
	    "Connections closed for a header or body read timeout", t->slow);
	one(b, "http_streams", "gauge", "Streamed replies being written",
	    t->streaming);
	one(b, "http_streams_total", "counter", "Streamed replies begun",
	    t->streams);
	one(b, "http_streamed_bytes_total", "counter",
	    "Partial payload bytes written to streaming clients",
	    t->stream_bytes);
	one(b, "http_streams_cut_total", "counter",
	    "type=plain streams closed without their last chunk by a failure",
	    t->stream_cut);
}

/*
 * Each broker of -u: 1 when every loop is connected to it and it
 * answers the probes, 0 while it is lost or hung.
 */
static void
brokers(struct evbuffer *b, struct http_env *env, struct http_stats *t)
{
	char		 lb[LABELS_MAX];
	unsigned	 i;

	family(b, "http_broker_up", "gauge",
	    "1 while the gateway is connected to this broker and it answers");
	for (i = 0; i < env->urls.n; i++) {
		lb[0] = '\0';
		label(lb, "broker", env->urls.url[i]);
		sample(b, "http_broker_up", lb, t->link_up[i]);
	}
}

/*
 * The text of GET /metrics (caller frees): the gateway's counters and
 * the mmi.stats document of len bytes at text, or NULL when the broker
 * did not answer.
 */
struct evbuffer *
http_metrics_text(struct http_env *env, const char *text, size_t len)
{
	struct evbuffer	*b;
	struct http_stats t;
	json_error_t	 err;
	json_t		*doc = NULL;

	if (text != NULL && (doc = json_loadb(text, len, 0, &err)) == NULL)
		log_warnx("metrics: mmi.stats is not JSON: %s", err.text);
	if ((b = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	gather(env, &t);
	one(b, "broker_up", "gauge",
	    "1 when the broker answered mmi.stats for this scrape",
	    doc != NULL);
	gateway(b, &t);
	brokers(b, env, &t);
	if (doc != NULL)
		broker(b, doc);
	json_decref(doc);
	return (b);
}
