/*
 * waha-top: a terminal view of a broker's mmi.stats, polled every -d
 * seconds, with rates computed between polls.
 */
#ifndef WAHA_TOP_H
#define WAHA_TOP_H

#include <jansson.h>

#define TOP_INTERVAL	1000	/* ms between polls */
#define TOP_MONITOR	"inproc://waha-top-monitor"

/* How the services are sorted: by load first, or by name. */
enum top_sort {
	TOP_BY_RATE,
	TOP_BY_QUEUE,
	TOP_BY_ERRORS,
	TOP_BY_LATENCY,
	TOP_BY_NAME
};

/* One service between two polls. */
struct top_service {
	const char	*name;		/* in the document */
	int64_t		 workers, capacity, in_flight, queued, oldest;
	uint64_t	 requests, errors;
	double		 rate, err_rate;	/* per s, NAN unknown */
	double		 p50, p99;		/* ms, recent, NAN none */
};

/* One worker of the last poll. */
struct top_worker {
	const char	*service, *identity;
	int64_t		 capacity, in_flight, served, heard;
	const char	*state;		/* live, leaving, silent */
};

struct top_env {
	const char	*url;
	int		 interval;	/* ms */
	int		 timeout;	/* ms */
	int		 batch;
	int		 iterations;	/* 0: until quit */
	enum top_sort	 sort;
	void		*zctx;
	void		*sock;
	void		*mon;
	int		 connected;
	json_t		*prev, *doc;	/* the last two documents */
	char		*error;		/* why the last poll failed */
	struct top_service *services;
	size_t		 nservices;
	struct top_worker *workers;
	size_t		 nworkers;
	double		 cpu;		/* the broker's %, NAN unknown */
};

/* top_poll.c */
int	 top_poll_open(struct top_env *, char **);
void	 top_poll_close(struct top_env *);
int	 top_poll(struct top_env *);
void	 top_poll_sort(struct top_env *);

/* top_view.c */
const char *top_view_sort_name(enum top_sort);
void	 top_view_batch(struct top_env *, FILE *);
int	 top_view_run(struct top_env *);

#endif
