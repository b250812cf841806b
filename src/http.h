/*
 * waha-proxy-http: the state shared by its main loop, its connections,
 * its requests, its broker socket and its metrics.
 */
#ifndef WAHA_HTTP_H
#define WAHA_HTTP_H

#include <pthread.h>

struct bufferevent;
struct event;
struct event_base;
struct evhttp;
struct evhttp_bound_socket;
struct evhttp_connection;
struct evhttp_request;
struct evbuffer;
struct evbuffer_cb_entry;

#define HTTP_PORT		9001
#define HTTP_ADDRESS		"127.0.0.1"
#define HTTP_MAX_BODY		(1024 * 1024)
#define HTTP_MAX_HEADERS	(64 * 1024)	/* request line and header */
#define HTTP_HEADER_TIMEOUT	10000	/* ms */
#define HTTP_BODY_TIMEOUT	30000	/* ms */
#define HTTP_THREADS_MAX	64
#define HTTP_CALLBACK_MAX	64	/* longest JSONP callback name */
#define HTTP_PROBE_TIMEOUT	5000	/* ms, /healthz and friends with -t -1 */
#define HTTP_REPLY_FRAMES	(65536 + 3)
#define HTTP_WATCH_BUF		65536	/* bytes read while a request runs */
#define HTTP_AUTH_TTL		300000	/* ms a checked password is cached */
#define HTTP_AUTH_CACHE_MAX	4096	/* cached credentials a loop */
#define HTTP_CT_METRICS		"text/plain; version=0.0.4; charset=utf-8"

/* What a request asks of the broker. */
enum http_kind {
	HTTP_CALL,		/* GET or POST /SERVICE */
	HTTP_PROBE,		/* HEAD /SERVICE: mmi.service */
	HTTP_METRICS,		/* GET /metrics: mmi.stats */
	HTTP_HEALTH		/* GET /healthz: mmi.services */
};

/* How a reply is written. */
enum http_type {
	HTTP_JSON,
	HTTP_PLAIN,
	HTTP_JSONP
};

/* Where a connection is in its request-reply cycle. */
enum http_conn_state {
	CONN_ATTACH,		/* accepted, not yet known to us */
	CONN_HEADER,		/* waiting for a request header */
	CONN_BODY,		/* header in, waiting for its body */
	CONN_BUSY,		/* request handed over, reply pending */
	CONN_WRITING		/* reply being written */
};

/* HTTP codes counted one by one in the metrics; the last is "other". */
#define HTTP_NCODES	14
extern const int http_codes[HTTP_NCODES];

/* Upper bounds (s) of the latency histogram's buckets, +Inf last. */
#define HTTP_NBUCKETS	15
extern const double http_buckets[HTTP_NBUCKETS - 1];

struct http_stats {
	uint64_t	 code[HTTP_NCODES];
	uint64_t	 bucket[HTTP_NBUCKETS];	/* not cumulative */
	uint64_t	 count;
	double		 sum;		/* s */
	uint64_t	 late;		/* broker replies nobody waits for */
	uint64_t	 bad_replies;	/* malformed broker replies */
	uint64_t	 gone;		/* clients gone before their reply */
	uint64_t	 slow;		/* connections cut by a read timeout */
	unsigned	 active;	/* requests handed over, not written */
	unsigned	 conns;
	int		 connected;	/* to the broker */
};

/* Change a loop's statistics, which /metrics reads from any loop. */
#define HTTP_STAT(l, e) do {						\
	pthread_mutex_lock(&(l)->lock);					\
	e;								\
	pthread_mutex_unlock(&(l)->lock);				\
} while (0)

/* The options, read-only once the loops run. */
struct http_env {
	const char	*url;
	const char	*address;
	const char	*cors;
	int		 no_jsonp;	/* jsonp= and callback= refused */
	int		 port;
	int		 timeout;	/* ms, -1 none */
	int		 threads;
	int		 max_body;
	int		 header_timeout;	/* ms, -1 none */
	int		 body_timeout;		/* ms, -1 none */
	int		 grace;		/* ms */
	struct http_auth *auth;		/* NULL: no access control */
	struct curve_cert curve_own;	/* CURVE to the broker if has_secret */
	struct curve_cert curve_server;
	void		*zctx;
	struct http_loop *loops;
	char		 bound[128];	/* address:port actually bound */
	int		 signals;	/* TERM/INT seen so far */
};

/* One event loop, in its own thread: evhttp, DEALER and monitor. */
struct http_loop {
	int		 id;
	struct http_env	*env;
	struct event_base *base;
	struct evhttp	*http;
	struct evhttp_bound_socket *bound;
	pthread_t	 thread;
	int		 wake[2];	/* pipe: 'd' drain, 'q' quit */
	struct event	*wake_ev;
	struct event	*grace_ev;
	struct event	*accept_ev;	/* listening again after EMFILE */
	int		 draining;
	void		*dealer;
	void		*monitor;
	struct event	*dealer_ev;
	struct event	*monitor_ev;
	struct event	*retry_ev;	/* a new socket after a refusal */
	int		 retry_ms;	/* its delay, doubling */
	char		 refused[192];	/* why the handshake failed, or "" */
	uint64_t	 next_corr;
	struct http_req	*pending;	/* hash by correlation id */
	struct http_conn *conns;	/* hash by evhttp connection */
	struct http_auth_cache *auth_cache;	/* this loop's, lazily */
	const struct timeval *default_tv;	/* common timeout */
	pthread_mutex_t	 lock;		/* of stats */
	struct http_stats stats;
	struct waha_msg	 in;
	struct waha_msg	 out;
};

struct http_conn {
	struct http_loop *loop;
	struct bufferevent *bev;
	struct evhttp_connection *evcon;
	struct evbuffer_cb_entry *scan;
	struct event	*deadline;
	enum http_conn_state state;
	int		 newlines;	/* header end scanner */
	int		 started;	/* bytes of a request seen */
	struct http_req	*cur;		/* the request in flight */
	UT_hash_handle	 hh;
};

struct http_req {
	struct http_loop *loop;
	struct http_conn *conn;
	struct evhttp_request *ev;
	enum http_kind	 kind;
	enum http_type	 type;
	char		 callback[HTTP_CALLBACK_MAX + 1];
	int		 timeout;	/* ms, -1 none */
	int64_t		 start;		/* us */
	uint64_t	 corr;		/* while in loop->pending, else 0 */
	struct event	*timer;
	UT_hash_handle	 hh;
};

/* http.c */
void	 http_loop_check(struct http_loop *);

/* http_auth.c */
struct http_auth *http_auth_new(const char *, const char *, const char **,
	    int, char **);
void	 http_auth_free(struct http_auth *);
int	 http_auth_reload(struct http_auth *, char **);
void	 http_auth_describe(const struct http_auth *, char *, size_t);
void	 http_auth_cache_free(struct http_auth_cache *);
int	 http_auth_host(struct http_req *);
int	 http_auth_check(struct http_req *, const char *, size_t, int);
int	 http_auth_credentials(const struct http_auth *);

/* http_conn.c */
struct bufferevent *http_conn_new(struct event_base *, void *);
struct http_conn *http_conn_find(struct http_loop *,
	    struct evhttp_connection *);
void	 http_conn_busy(struct http_conn *, struct http_req *);
void	 http_conn_reply(struct http_conn *);
void	 http_conn_complete(struct evhttp_request *, void *);
void	 http_conn_drain(struct http_loop *);

/* http_gateway.c */
void	 http_gateway_request(struct evhttp_request *, void *);
void	 http_gateway_reply(struct http_req *, int, struct waha_msg *,
	    size_t);
void	 http_gateway_error(struct http_req *, int, const char *);
void	 http_gateway_send(struct http_req *, int, struct evbuffer *,
	    const char *);
void	 http_gateway_gone(struct http_req *);

/* http_params.c */
char	*http_params_name(const char *, size_t *);
int	 http_params_query(struct http_req *, const char *, char **, size_t *,
	    char **);

/* http_broker.c */
int	 http_broker_open(struct http_loop *, char **);
void	 http_broker_close(struct http_loop *);
void	 http_broker_begin(struct http_loop *, int);
int	 http_broker_send(struct http_req *);
void	 http_broker_forget(struct http_req *);
void	 http_broker_fail_all(struct http_loop *, int, const char *);
const char *http_broker_why(struct http_loop *);

/* http_metrics.c */
void	 http_metrics_count(struct http_loop *, int, int64_t);
void	 http_metrics_reply(struct http_req *, const char *, size_t);

#endif
