/*
 * Reading mmi.stats documents, shared by the gateway's status page and
 * waha-top: numbers that may be missing, errors summed over statuses,
 * rates between two documents of one broker run, and worker liveness.
 * Apart from codec_json.c's users, only these programs link it.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>

#include <jansson.h>

#include "waha.h"

/* The integer at key in o, 0 if there is none. */
int64_t
stats_int(json_t *o, const char *key)
{
	return (json_integer_value(json_object_get(o, key)));
}

/* The sum of the counts of o's "errors" object (status to count). */
uint64_t
stats_errors(json_t *o)
{
	const char	*k;
	json_t		*v;
	uint64_t	 n = 0;

	json_object_foreach(json_object_get(o, "errors"), k, v)
		n += json_integer_value(v);
	return (n);
}

/*
 * The ms of broker time from document prev to doc, or 0 if they are not
 * of the same run of one broker (another pid, or an uptime that went
 * back: a restart starts every counter again).
 */
int64_t
stats_dt(json_t *prev, json_t *doc)
{
	int64_t	 dt;

	if (prev == NULL || doc == NULL ||
	    stats_int(prev, "pid") != stats_int(doc, "pid"))
		return (0);
	dt = stats_int(doc, "uptime_ms") - stats_int(prev, "uptime_ms");
	return (dt > 0 ? dt : 0);
}

/* The rate per second of a counter that went from a to b in dt ms. */
double
stats_rate(uint64_t a, uint64_t b, int64_t dt)
{
	if (dt <= 0 || b < a)
		return (NAN);
	return ((b - a) * 1000.0 / dt);
}

/* A service's recent latency quantile q ("p50", "p99"), NAN if none. */
double
stats_recent(json_t *svc, const char *q)
{
	json_t	*r = json_object_get(svc, "recent_latency_ms");

	if (stats_int(r, "count") <= 0)
		return (NAN);
	return (json_number_value(json_object_get(r, q)));
}

/*
 * Whether worker w of document doc has been silent for over two
 * heartbeat intervals: it missed heartbeats, and may be dead or stuck.
 */
int
stats_silent(json_t *doc, json_t *w)
{
	int64_t	 hb = stats_int(doc, "heartbeat_ms");

	return (hb > 0 && stats_int(w, "last_heartbeat_ms") > 2 * hb);
}

/* A duration in ms as a person reads it, in buf: 850 ms, 12.5 s, 3 min. */
void
stats_age(char *buf, size_t len, double ms)
{
	if (ms < 1000)
		snprintf(buf, len, "%.0f ms", ms);
	else if (ms < 60000)
		snprintf(buf, len, "%.1f s", ms / 1000);
	else if (ms < 3600000)
		snprintf(buf, len, "%.0f min", ms / 60000);
	else if (ms < 86400000)
		snprintf(buf, len, "%.1f h", ms / 3600000);
	else
		snprintf(buf, len, "%.1f d", ms / 86400000);
}
