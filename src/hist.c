/*
 * Latency histogram: constant-time insertion into quarter-octave buckets
 * (at most 19% relative error), from which quantiles are read.
 */
#include "config.h"

#include <string.h>

#include "waha.h"

static int
bucket_of(int64_t v)
{
	int	 e;

	if (v < 4)
		return (v < 0 ? 0 : (int)v);
	e = 63 - __builtin_clzll((unsigned long long)v);
	if (4 * (e - 1) + 3 >= HIST_BUCKETS)
		return (HIST_BUCKETS - 1);
	return (4 * (e - 1) + (int)((v >> (e - 2)) & 3));
}

static double
bucket_low(int i)
{
	int	 e;

	if (i < 4)
		return (i);
	e = i / 4 + 1;
	return ((double)((int64_t)(4 + i % 4) << (e - 2)));
}

/* Count one value (microseconds). */
void
hist_add(struct hist *h, int64_t v)
{
	h->bucket[bucket_of(v)]++;
	h->count++;
}

/* The q-quantile (0 < q <= 1) in microseconds; 0 when empty. */
double
hist_quantile(const struct hist *h, double q)
{
	uint64_t	 want, seen = 0;
	int		 i;

	if (h->count == 0)
		return (0);
	want = (uint64_t)(q * (double)h->count + 0.5);
	if (want < 1)
		want = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= want)
			break;
	}
	if (i >= HIST_BUCKETS - 1)
		return (bucket_low(HIST_BUCKETS - 1));
	return ((bucket_low(i) + bucket_low(i + 1)) / 2);
}

/* Start the period of now, dropping what is older than the last one. */
static void
rotate(struct hist_recent *r, int64_t now)
{
	if (now - r->start < HIST_RECENT_MS)
		return;
	if (now - r->start < 2 * HIST_RECENT_MS)
		r->prev = r->cur;
	else
		memset(&r->prev, 0, sizeof(r->prev));
	memset(&r->cur, 0, sizeof(r->cur));
	r->start = now - (now - r->start) % HIST_RECENT_MS;
}

/* Count one value (microseconds) at now (ms). */
void
hist_recent_add(struct hist_recent *r, int64_t now, int64_t v)
{
	rotate(r, now);
	hist_add(&r->cur, v);
}

/* The values of the last one or two periods at now (ms), in out. */
void
hist_recent_get(struct hist_recent *r, int64_t now, struct hist *out)
{
	int	 i;

	rotate(r, now);
	for (i = 0; i < HIST_BUCKETS; i++)
		out->bucket[i] = r->cur.bucket[i] + r->prev.bucket[i];
	out->count = r->cur.count + r->prev.count;
}
