/*
 * The broker's own services in the mmi. namespace (RFC 8 plus WAHA's
 * mmi.services and mmi.stats), and the statistics document.
 */
#include "config.h"

#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "waha.h"
#include "broker.h"
#include "guard.h"

static json_t *
statuses_json(const struct pool_counters *c)
{
	json_t	*o;
	char	 key[8];
	int	 i;

	o = json_object();
	for (i = 0; i < WAHA_NSTATUS; i++) {
		if (waha_statuses[i] == 200 || c->status[i] == 0)
			continue;
		snprintf(key, sizeof(key), "%d", waha_statuses[i]);
		json_object_set_new(o, key, json_integer(c->status[i]));
	}
	return (o);
}

static json_t *
latency_json(const struct hist *h)
{
	return (json_pack("{s:f, s:f}",
	    "p50", hist_quantile(h, 0.50) / 1000.0,
	    "p99", hist_quantile(h, 0.99) / 1000.0));
}

/* The recent latency: quantiles over the last 10 to 20 s, and a count. */
static json_t *
recent_json(struct hist_recent *r, int64_t now)
{
	struct hist	 h;

	hist_recent_get(r, now, &h);
	return (json_pack("{s:f, s:f, s:I}",
	    "p50", hist_quantile(&h, 0.50) / 1000.0,
	    "p99", hist_quantile(&h, 0.99) / 1000.0,
	    "count", (json_int_t)h.count));
}

static json_t *
service_json(struct pool_service *s, int64_t now)
{
	struct pool_req	*oldest = TAILQ_FIRST(&s->queue);
	int64_t		 age = 0;

	if (oldest != NULL)
		age = (util_now_us() - oldest->arrived) / 1000;
	return (json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o,"
	    " s:o}",
	    "workers", (json_int_t)s->nworkers,
	    "capacity", (json_int_t)s->capacity,
	    "in_flight", (json_int_t)s->inflight,
	    "queued", (json_int_t)s->queued,
	    "oldest_queued_ms", (json_int_t)age,
	    "requests", (json_int_t)s->stats.requests,
	    "expired", (json_int_t)s->stats.expired,
	    "cancelled", (json_int_t)s->stats.cancelled,
	    "errors", statuses_json(&s->stats),
	    "latency_ms", latency_json(&s->stats.latency),
	    "recent_latency_ms", recent_json(&s->stats.recent, now)));
}

static json_t *
worker_json(const struct pool_worker *w, int64_t now)
{
	char	 id[2 * sizeof(w->id) + 1];

	util_hex(id, w->id, w->idlen);
	return (json_pack("{s:s%, s:s, s:I, s:I, s:I, s:I, s:b, s:b}",
	    "service", w->svc->name, w->svc->len,
	    "identity", id,
	    "capacity", (json_int_t)w->capacity,
	    "in_flight", (json_int_t)w->inflight,
	    "served", (json_int_t)w->served,
	    "last_heartbeat_ms", (json_int_t)(now - w->last_recv),
	    "leaving", w->leaving,
	    "cancel", (w->features & WAHA_FEAT_CANCEL) != 0));
}

/* CPU time the broker has used, user and system, in ms. */
static int64_t
cpu_ms(void)
{
	struct rusage	 ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return (0);
	return ((int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000);
}

/* The mmi.stats document, as compact JSON text (caller frees). */
char *
broker_mmi_stats(struct broker_env *env)
{
	struct pool		*p = env->pool;
	struct pool_service	*s, *stmp;
	struct pool_worker	*w, *wtmp;
	json_t			*doc, *services, *workers, *totals;
	int64_t			 now = util_now_ms();
	long long		 rss;
	char			*text;

	totals = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
	    " s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o}",
	    "requests", (json_int_t)(p->total.requests + env->mmi_requests),
	    "streams", (json_int_t)p->streams,
	    "partials", (json_int_t)p->partials,
	    "streamed_bytes", (json_int_t)p->stream_bytes,
	    "replies", (json_int_t)p->replies,
	    "expired", (json_int_t)p->total.expired,
	    "cancelled", (json_int_t)p->total.cancelled,
	    "queue_full", (json_int_t)p->queue_full,
	    "commands", (json_int_t)env->commands,
	    "unroutable", (json_int_t)p->unroutable,
	    "late_replies", (json_int_t)p->late,
	    "bad_requests", (json_int_t)env->bad_requests,
	    "bad_worker_messages", (json_int_t)p->bad_worker_msgs,
	    "dropped", (json_int_t)p->dropped,
	    "mmi_requests", (json_int_t)env->mmi_requests,
	    "refused", (json_int_t)env->refused,
	    "refused_messages", (json_int_t)guard_refused(env->guard),
	    "mdp_dropped", statuses_json(&env->mdp),
	    "errors", statuses_json(&p->total),
	    "latency_ms", latency_json(&p->total.latency),
	    "recent_latency_ms", recent_json(&p->total.recent, now));
	services = json_object();
	HASH_ITER(hh, p->services, s, stmp)
		json_object_set_new(services, s->name, service_json(s, now));
	workers = json_array();
	HASH_ITER(hh, p->workers, w, wtmp)
		json_array_append_new(workers, worker_json(w, now));
	doc = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:I, s:I,"
	    " s:I, s:I, s:I, s:o, s:o, s:o}",
	    "version", PACKAGE_VERSION,
	    "pid", (json_int_t)getpid(),
	    "uptime_ms", (json_int_t)(now - env->started),
	    "cpu_ms", (json_int_t)cpu_ms(),
	    "heartbeat_ms", (json_int_t)p->cf.heartbeat,
	    "liveness", (json_int_t)p->cf.liveness,
	    "draining", env->pool->draining,
	    "services_known", (json_int_t)p->nservices,
	    "workers_known", (json_int_t)p->nworkers,
	    "queued", (json_int_t)p->nqueued,
	    "queued_bytes", (json_int_t)p->queued_bytes,
	    "in_flight", (json_int_t)p->nrunning,
	    "streams_open", (json_int_t)p->nstreams,
	    "totals", totals,
	    "services", services,
	    "workers", workers);
	if (doc == NULL)
		fatalx("mmi.stats: cannot build the document");
	if ((rss = util_rss()) >= 0)
		json_object_set_new(doc, "rss_bytes", json_integer(rss));
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(doc);
	if (text == NULL)
		fatalx("mmi.stats: cannot encode the document");
	return (text);
}

static int
by_name(const void *a, const void *b)
{
	const struct pool_service *const *sa = a, *const *sb = b;

	return (strcmp((*sa)->name, (*sb)->name));
}

/* Append the names of the services that have workers, sorted. */
static void
add_services(struct broker_env *env, struct waha_msg *out)
{
	struct pool_service	*s, *tmp, **v;
	size_t			 n = 0, i;

	v = xreallocarray(NULL, env->pool->nservices + 1, sizeof(*v));
	HASH_ITER(hh, env->pool->services, s, tmp) {
		if (s->nworkers > 0)
			v[n++] = s;
	}
	qsort(v, n, sizeof(*v), by_name);
	for (i = 0; i < n; i++)
		frames_addmem(out, v[i]->name, v[i]->len);
	free(v);
}

/*
 * Answer a request for an mmi. service.  MDP clients get the RFC 8
 * status as the body ("200", "404", "501"); native clients get status
 * 200 and the same body, or 501 for an unknown mmi. service.
 */
void
broker_mmi(struct broker_env *env, struct waha_msg *m,
    const struct proto_in *in)
{
	struct pool_service	*s;
	int			 kind = in->kind == PROTO_MDPC ? BROKER_MDP :
				    BROKER_NATIVE;
	char			 name[WAHA_NAME_MAX + 1], *text;
	size_t			 n = m->n - in->body;

	snprintf(name, sizeof(name), "%.*s", (int)in->service_len,
	    in->service);
	/*
	 * Requests of this batch not yet handed to free workers are not
	 * queued in any sense an operator cares about: hand them over
	 * first, so that the figures say what waits.
	 */
	pool_flush(env->pool);
	if (env->pool->draining) {
		if (kind == BROKER_MDP) {
			broker_mdp_dropped(env, (int)in->service_len,
			    in->service, 503, "shutting down");
			return;
		}
		broker_reply(env, m, in->env, kind, 503, name);
		frames_addstr(&env->out, "shutting down");
	} else if (strcmp(name, "mmi.service") == 0) {
		if (n != 1 && kind == BROKER_NATIVE) {
			broker_reply(env, m, in->env, kind, 400, name);
			frames_addstr(&env->out,
			    "mmi.service takes one field, a service name");
		} else {
			s = n == 1 ? pool_service_find(env->pool,
			    frames_data(m, in->body),
			    frames_size(m, in->body)) : NULL;
			broker_reply(env, m, in->env, kind, 200, name);
			frames_addstr(&env->out,
			    s != NULL && s->nworkers > 0 ? "200" : "404");
		}
	} else if (strcmp(name, "mmi.services") == 0) {
		broker_reply(env, m, in->env, kind, 200, name);
		add_services(env, &env->out);
	} else if (strcmp(name, "mmi.stats") == 0) {
		broker_reply(env, m, in->env, kind, 200, name);
		text = broker_mmi_stats(env);
		frames_addstr(&env->out, text);
		free(text);
	} else {
		broker_reply(env, m, in->env, kind, 501, name);
		frames_addstr(&env->out, kind == BROKER_MDP ? "501" :
		    "no such mmi. service");
	}
	log_debug("request %s: mmi", name);
	broker_send(env, &env->out);
}
