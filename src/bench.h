/*
 * waha-bench: the load generator's configuration, its counters, and what
 * its files share.
 */
#ifndef WAHA_BENCH_H
#define WAHA_BENCH_H

#define BENCH_SERVICE	"bench.echo"
#define BENCH_HEADER	16	/* client, slot, sequence at a payload's head */
#define BENCH_SIZE_MAX	(WAHA_MAX_MSG_SIZE / 2)
#define BENCH_TICK	100	/* ms between checks for expired requests */

/* Exit statuses, documented in waha-bench(1). */
#define BENCH_EXIT_OK		0	/* every request verified */
#define BENCH_EXIT_USAGE	1	/* bad options, or could not start */
#define BENCH_EXIT_FAILED	2	/* some request was not verified */

enum bench_proto { BENCH_NATIVE, BENCH_MDP };

struct bench_config {
	const char	*url;
	const char	*worker_url;
	const char	*service;
	enum bench_proto proto;
	unsigned	 clients;
	unsigned	 window;	/* requests in flight per client */
	size_t		 size;		/* payload bytes */
	int		 duration;	/* s; 0 with a count */
	uint64_t	 requests;	/* in all; 0 with a duration */
	int		 timeout;	/* ms a request may take, -1 none */
	unsigned	 workers;
	unsigned	 capacity;
	int		 raw;		/* workers are plain echo servers */
	int		 deadline;	/* send timeout as WAHA01 timeout= */
	int		 json;
	const struct curve_cert *curve_own;	/* CURVE, or NULL */
	const struct curve_cert *curve_server;
};

/* Status counts: those of waha_statuses, then any other. */
#define BENCH_NSTATUS	(WAHA_NSTATUS + 1)

/* What one client counted; the report sums them. */
struct bench_stats {
	uint64_t	 sent;
	uint64_t	 status[BENCH_NSTATUS];	/* well-formed replies */
	uint64_t	 malformed;	/* its reply, but not a reply's shape */
	uint64_t	 mismatched;	/* 200, but not the payload sent */
	uint64_t	 timeouts;
	uint64_t	 unknown;	/* replies to no request in flight */
	int64_t		 first_us;	/* when sending began */
	int64_t		 last_us;	/* when the last reply came */
	int64_t		 max_us;	/* latencies of verified replies */
	int64_t		 sum_us;
	struct hist	 latency;
	int		 gave_up;	/* no reply for the whole timeout */
};

struct bench_client;
struct bench_worker;

/* Set by main() (atomically) to stop the clients sending. */
extern int	 bench_stop;

/* bench_client.c */
struct bench_client *bench_client_new(void *, const struct bench_config *,
	    unsigned, char **);
void	 bench_client_free(struct bench_client *);
int	 bench_client_start(struct bench_client *, pthread_barrier_t *);
void	 bench_client_join(struct bench_client *);
int	 bench_client_done(struct bench_client *);
uint64_t bench_client_replies(struct bench_client *);
const struct bench_stats *bench_client_stats(struct bench_client *);

/* bench_worker.c */
struct bench_worker *bench_worker_new(void *, const struct bench_config *,
	    char **);
void	 bench_worker_free(struct bench_worker *);
int	 bench_worker_start(struct bench_worker *);
void	 bench_worker_join(struct bench_worker *);

/* bench_report.c */
void	 bench_report_add(struct bench_stats *, const struct bench_stats *);
uint64_t bench_report_verified(const struct bench_stats *);
void	 bench_report_text(const struct bench_config *,
	    const struct bench_stats *, FILE *);
int	 bench_report_json(const struct bench_config *,
	    const struct bench_stats *, FILE *);
void	 bench_report_progress(double, uint64_t, double);
void	 bench_report_progress_end(void);

#endif
