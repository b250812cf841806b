/*
 * waha-bench's figures: the clients' counts summed, then written as text
 * for a person, as JSON for a script, or as a progress line on a
 * terminal while the run goes on.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "waha.h"
#include "bench.h"

static const double	 quantiles[] = { 0.50, 0.90, 0.99, 0.999 };
static const char *const qnames[] = { "p50", "p90", "p99", "p99.9" };
#define NQUANTILES	(sizeof(quantiles) / sizeof(quantiles[0]))

/* Add the counts of one client to a sum. */
void
bench_report_add(struct bench_stats *sum, const struct bench_stats *st)
{
	int	 i;

	sum->sent += st->sent;
	for (i = 0; i < BENCH_NSTATUS; i++)
		sum->status[i] += st->status[i];
	sum->malformed += st->malformed;
	sum->mismatched += st->mismatched;
	sum->timeouts += st->timeouts;
	sum->unknown += st->unknown;
	if (sum->first_us == 0 || st->first_us < sum->first_us)
		sum->first_us = st->first_us;
	if (st->last_us > sum->last_us)
		sum->last_us = st->last_us;
	if (st->max_us > sum->max_us)
		sum->max_us = st->max_us;
	sum->sum_us += st->sum_us;
	for (i = 0; i < HIST_BUCKETS; i++)
		sum->latency.bucket[i] += st->latency.bucket[i];
	sum->latency.count += st->latency.count;
	sum->gave_up |= st->gave_up;
}

/* Replies with status 200 and the very payload that was sent. */
uint64_t
bench_report_verified(const struct bench_stats *st)
{
	return (st->latency.count);
}

static double
seconds(const struct bench_stats *st)
{
	return ((st->last_us - st->first_us) / 1e6);
}

static double
rate(const struct bench_stats *st)
{
	double	 s = seconds(st);

	return (s > 0 ? bench_report_verified(st) / s : 0);
}

/* A quantile in us; a bucket's middle is never past the true maximum. */
static double
quantile(const struct bench_stats *st, double q)
{
	double	 v = hist_quantile(&st->latency, q);

	return (v > st->max_us ? (double)st->max_us : v);
}

static double
mean(const struct bench_stats *st)
{
	uint64_t	 n = bench_report_verified(st);

	return (n > 0 ? (double)st->sum_us / n : 0);
}

static const char *
proto_word(const struct bench_config *cf)
{
	return (cf->proto == BENCH_NATIVE ? "native" : "mdp");
}

/* Write the figures for a person. */
void
bench_report_text(const struct bench_config *cf,
    const struct bench_stats *st, FILE *f)
{
	size_t	 i;

	fprintf(f, "%s to %s at %s: %u clients x %u in flight, %zu-byte "
	    "payloads\n", proto_word(cf), cf->service, cf->url, cf->clients,
	    cf->window, cf->size);
	fprintf(f, "requests   %llu sent, %llu verified in %.2f s\n",
	    (unsigned long long)st->sent,
	    (unsigned long long)bench_report_verified(st), seconds(st));
	fprintf(f, "rate       %.0f req/s\n", rate(st));
	fprintf(f, "latency   ");
	for (i = 0; i < NQUANTILES && st->latency.count > 0; i++)
		fprintf(f, " %s %.3f ms,", qnames[i],
		    quantile(st, quantiles[i]) / 1000);
	if (st->latency.count > 0)
		fprintf(f, " max %.3f ms, mean %.3f ms\n",
		    st->max_us / 1000.0, mean(st) / 1000);
	else
		fprintf(f, " none: no reply was verified\n");
	fprintf(f, "status    ");
	for (i = 0; i < WAHA_NSTATUS; i++) {
		if (st->status[i] > 0 || waha_statuses[i] == 200)
			fprintf(f, " %d: %llu", waha_statuses[i],
			    (unsigned long long)st->status[i]);
	}
	if (st->status[WAHA_NSTATUS] > 0)
		fprintf(f, " other: %llu",
		    (unsigned long long)st->status[WAHA_NSTATUS]);
	fprintf(f, "\nerrors     %llu mismatched, %llu malformed, %llu timed "
	    "out, %llu unknown\n", (unsigned long long)st->mismatched,
	    (unsigned long long)st->malformed,
	    (unsigned long long)st->timeouts,
	    (unsigned long long)st->unknown);
}

static json_t *
json_latency(const struct bench_stats *st)
{
	json_t	*o = json_object();
	size_t	 i;

	for (i = 0; i < NQUANTILES; i++)
		json_object_set_new(o, qnames[i],
		    json_real(quantile(st, quantiles[i])));
	json_object_set_new(o, "max", json_integer(st->max_us));
	json_object_set_new(o, "mean", json_real(mean(st)));
	return (o);
}

static json_t *
json_status(const struct bench_stats *st)
{
	json_t	*o = json_object();
	char	 key[8];
	int	 i;

	for (i = 0; i < WAHA_NSTATUS; i++) {
		if (st->status[i] == 0 && waha_statuses[i] != 200)
			continue;
		snprintf(key, sizeof(key), "%d", waha_statuses[i]);
		json_object_set_new(o, key, json_integer(st->status[i]));
	}
	if (st->status[WAHA_NSTATUS] > 0)
		json_object_set_new(o, "other",
		    json_integer(st->status[WAHA_NSTATUS]));
	return (o);
}

/* Write the figures as one JSON object on a line; -1 if it fails. */
int
bench_report_json(const struct bench_config *cf,
    const struct bench_stats *st, FILE *f)
{
	json_t	*o;
	int	 rc;

	o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:f, s:I, s:I, s:f, "
	    "s:o, s:o, s:I, s:I, s:I, s:I, s:b}",
	    "url", cf->url, "service", cf->service, "protocol",
	    proto_word(cf), "clients", (json_int_t)cf->clients,
	    "window", (json_int_t)cf->window, "size", (json_int_t)cf->size,
	    "seconds", seconds(st), "requests", (json_int_t)st->sent,
	    "verified", (json_int_t)bench_report_verified(st),
	    "rate", rate(st), "latency_us", json_latency(st),
	    "status", json_status(st), "mismatched",
	    (json_int_t)st->mismatched, "malformed", (json_int_t)st->malformed,
	    "timeouts", (json_int_t)st->timeouts,
	    "unknown", (json_int_t)st->unknown, "gave_up", st->gave_up);
	if (o == NULL)
		return (-1);
	rc = json_dumpf(o, f, JSON_COMPACT);
	json_decref(o);
	if (rc != 0 || fputc('\n', f) == EOF)
		return (-1);
	return (0);
}

/* The live line on a terminal: elapsed s, verified so far, recent rate. */
void
bench_report_progress(double secs, uint64_t verified, double recent)
{
	fprintf(stderr, "\r%7.1f s %12llu verified %10.0f req/s\033[K", secs,
	    (unsigned long long)verified, recent);
	fflush(stderr);
}

/* Take the live line away before the figures. */
void
bench_report_progress_end(void)
{
	fputs("\r\033[K", stderr);
	fflush(stderr);
}
