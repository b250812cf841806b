/*
 * The ring of samples behind the status page's charts: every
 * --status-interval loop 0 adds the broker's mmi.stats (http_loop.c),
 * from which each service's request and error rates and recent latency
 * are kept for the last HTTP_STATUS_SAMPLES samples.  Memory is bounded:
 * HTTP_STATUS_SERVICES services at most are charted, and a service gone
 * for a whole window is forgotten.  Pages read it from any loop.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "waha.h"
#include "http.h"

struct series {
	char		*name;
	uint64_t	 requests;	/* counters at the last sample */
	uint64_t	 errors;
	uint64_t	 seen;		/* the last sample it was in */
	struct http_point pt[HTTP_STATUS_SAMPLES];
	UT_hash_handle	 hh;
};

struct http_samples {
	pthread_mutex_t	 lock;
	uint64_t	 n;		/* samples taken */
	json_t		*last;		/* the last document, or NULL */
	double		 cpu;		/* the broker's %, last interval */
	struct series	*series;	/* hash by name */
	unsigned	 nseries;
};

/* A new, empty ring. */
struct http_samples *
http_samples_new(void)
{
	struct http_samples	*st;

	st = xcalloc(1, sizeof(*st));
	pthread_mutex_init(&st->lock, NULL);
	st->cpu = NAN;
	return (st);
}

static void
series_free(struct http_samples *st, struct series *s)
{
	HASH_DEL(st->series, s);
	st->nseries--;
	free(s->name);
	free(s);
}

/* Free the ring. */
void
http_samples_free(struct http_samples *st)
{
	if (st == NULL)
		return;
	while (st->series != NULL)
		series_free(st, st->series);
	json_decref(st->last);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

static void
blank(struct http_point *p)
{
	p->rate = p->errors = p->p50 = p->p99 = NAN;
}

/* The series of name, made if there is room; NULL when there is none. */
static struct series *
series_get(struct http_samples *st, const char *name)
{
	struct series	*s;
	size_t		 i;

	HASH_FIND_STR(st->series, name, s);
	if (s != NULL || st->nseries >= HTTP_STATUS_SERVICES)
		return (s);
	s = xcalloc(1, sizeof(*s));
	s->name = xstrdup(name);
	for (i = 0; i < HTTP_STATUS_SAMPLES; i++)
		blank(&s->pt[i]);
	HASH_ADD_KEYPTR(hh, st->series, s->name, strlen(s->name), s);
	st->nseries++;
	return (s);
}

/* Add one service of a sample taken dt ms after the last (0: none). */
static void
sample_service(struct http_samples *st, const char *name, json_t *svc,
    int64_t dt)
{
	struct series		*s;
	struct http_point	*p;
	uint64_t		 req = stats_int(svc, "requests");
	uint64_t		 err = stats_errors(svc);

	if ((s = series_get(st, name)) == NULL)
		return;
	p = &s->pt[st->n % HTTP_STATUS_SAMPLES];
	if (s->seen + 1 == st->n) {
		p->rate = stats_rate(s->requests, req, dt);
		p->errors = stats_rate(s->errors, err, dt);
	}
	p->p50 = stats_recent(svc, "p50");
	p->p99 = stats_recent(svc, "p99");
	s->requests = req;
	s->errors = err;
	s->seen = st->n;
}

/*
 * Add a sample: the mmi.stats document of len bytes at text, or NULL
 * when the broker did not answer (a gap in the charts).
 */
void
http_samples_add(struct http_samples *st, const char *text, size_t len)
{
	struct series	*s, *tmp;
	const char	*name;
	json_t		*doc = NULL, *svc;
	int64_t		 dt;

	if (text != NULL)
		doc = json_loadb(text, len, 0, NULL);
	pthread_mutex_lock(&st->lock);
	st->n++;
	HASH_ITER(hh, st->series, s, tmp) {
		if (st->n - s->seen > HTTP_STATUS_SAMPLES)
			series_free(st, s);
		else
			blank(&s->pt[st->n % HTTP_STATUS_SAMPLES]);
	}
	dt = stats_dt(st->last, doc);
	st->cpu = stats_rate(stats_int(st->last, "cpu_ms"),
	    stats_int(doc, "cpu_ms"), dt) / 10;
	json_object_foreach(json_object_get(doc, "services"), name, svc)
		sample_service(st, name, svc, dt);
	json_decref(st->last);
	st->last = doc;
	pthread_mutex_unlock(&st->lock);
}

/*
 * Copy the window of service name into pt, HTTP_STATUS_SAMPLES points,
 * oldest first, and return how many samples it spans; 0 if the service
 * is not charted (yet, or because too many are).
 */
size_t
http_samples_window(struct http_samples *st, const char *name,
    struct http_point *pt)
{
	struct series	*s;
	uint64_t	 i, first;
	size_t		 k = 0;

	pthread_mutex_lock(&st->lock);
	HASH_FIND_STR(st->series, name, s);
	first = st->n > HTTP_STATUS_SAMPLES ? st->n - HTTP_STATUS_SAMPLES + 1 :
	    1;
	for (i = first; s != NULL && i <= st->n; i++)
		pt[k++] = s->pt[i % HTTP_STATUS_SAMPLES];
	for (i = k; i < HTTP_STATUS_SAMPLES; i++)
		blank(&pt[i]);
	pthread_mutex_unlock(&st->lock);
	return (k);
}

/* The broker's CPU use over the last interval, in %; NAN if unknown. */
double
http_samples_cpu(struct http_samples *st)
{
	double	 cpu;

	pthread_mutex_lock(&st->lock);
	cpu = st->cpu;
	pthread_mutex_unlock(&st->lock);
	return (cpu);
}
