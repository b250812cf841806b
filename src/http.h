/*
 * waha-proxy-http: the state shared by its main loop, its connections,
 * its requests, its broker socket and its metrics.
 *
 * Its files call one another one way only, each the ones below it:
 *	http.c		options, main()
 *	http_loop.c	event loops, threads, signals, draining
 *	http_gateway.c	each request: checked, sent to the broker, answered
 *	http_stream.c	streamed replies: SSE, NDJSON, chunked bytes
 *	http_reply.c	writing replies
 *	http_broker.c	the DEALER; hands requests back by their callbacks
 *	http_conn.c	connections: read deadlines, clients leaving
 *	http_auth.c, http_params.c, http_metrics.c, http_status.c,
 *	http_samples.c: no calls to the others (http_status.c reads
 *	http_samples.c)
 */
#ifndef WAHA_HTTP_H
#define WAHA_HTTP_H

#include <pthread.h>
#include <time.h>

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
#define HTTP_CT_TEXT		"text/plain; charset=utf-8"
#define HTTP_CT_HTML		"text/html; charset=utf-8"
#define HTTP_CT_PLAIN		"text/plain"
#define HTTP_CT_SSE		"text/event-stream"
#define HTTP_CT_NDJSON		"application/x-ndjson"
#define HTTP_KEEPALIVE		15000	/* ms between SSE comments */
#define HTTP_STREAM_MARGIN	1000	/* ms the gateway waits past timeout= */
#define HTTP_STATUS_PATH	"status"	/* and status.json */
#define HTTP_STATUS_INTERVAL	2000	/* ms between samples */
#define HTTP_STATUS_SAMPLES	150	/* kept: 5 minutes at 2 s */
#define HTTP_STATUS_SERVICES	64	/* services with a chart */

/* What a request asks of the broker. */
enum http_kind {
	HTTP_CALL,		/* GET or POST /SERVICE */
	HTTP_PROBE,		/* HEAD /SERVICE: mmi.service */
	HTTP_METRICS,		/* GET /metrics: mmi.stats */
	HTTP_HEALTH,		/* GET /healthz: mmi.services */
	HTTP_STATUS,		/* GET /status: mmi.stats as a page */
	HTTP_STATUS_JSON,	/* GET /status.json: mmi.stats */
	HTTP_POLL		/* loop 0's sample for the page's charts */
};

/* How a reply is written. */
enum http_type {
	HTTP_JSON,
	HTTP_PLAIN,
	HTTP_JSONP
};

/* Whether and how a reply is streamed (DESIGN.md 2.7). */
enum http_stream_mode {
	HTTP_STREAM_NONE,
	HTTP_STREAM_SSE,	/* Accept: text/event-stream */
	HTTP_STREAM_NDJSON,	/* stream=1 */
	HTTP_STREAM_PLAIN	/* stream=1&type=plain: the bytes, chunked */
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
	uint64_t	 streams;	/* streamed replies begun */
	uint64_t	 stream_bytes;	/* partial payload written to clients */
	uint64_t	 stream_cut;	/* type=plain streams cut by a failure */
	unsigned	 streaming;	/* streamed replies open */
	unsigned	 active;	/* requests handed over, not written */
	unsigned	 conns;
	int		 connected;	/* to a broker that answers */
	int		 link_up[WAHA_MAX_BROKERS];	/* each broker's */
};

/* Change a loop's statistics, which /metrics reads from any loop. */
#define HTTP_STAT(l, e) do {						\
	pthread_mutex_lock(&(l)->lock);					\
	e;								\
	pthread_mutex_unlock(&(l)->lock);				\
} while (0)

/* The options, read-only once the loops run. */
struct http_env {
	const char	*url;		/* -u as given */
	struct urls	 urls;		/* its endpoints */
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
	int		 keepalive;	/* ms between SSE comments */
	struct http_auth *auth;		/* NULL: no access control */
	const char	*status_path;	/* without its /; NULL: no page */
	int		 status_interval;	/* ms */
	struct http_samples *samples;	/* the page's charts */
	struct curve_cert curve_own;	/* CURVE to the broker if has_secret */
	struct curve_cert curve_server;
	void		*zctx;
	struct http_loop *loops;
	char		 bound[128];	/* address:port actually bound */
	int		 signals;	/* TERM/INT seen so far */
};

/*
 * ms between probes of a broker (mmi.service), and without an answer
 * before it is taken for hung.
 */
#define HTTP_LINK_PROBE		1000
#define HTTP_LINK_HUNG		3000

/* A loop's connection to one broker: DEALER, monitor, probe. */
struct http_link {
	struct http_loop *loop;
	unsigned	 idx;		/* in -u */
	const char	*url;
	void		*dealer;
	void		*monitor;
	struct event	*dealer_ev;
	struct event	*monitor_ev;
	struct event	*retry_ev;	/* a new socket after a refusal */
	struct event	*probe_ev;
	int		 retry_ms;	/* its delay, doubling */
	char		 refused[192];	/* why the handshake failed, or "" */
	int		 connected;	/* handshake made, not lost since */
	int		 hung;		/* its probe went unanswered */
	int64_t		 probe_sent;	/* ms; 0 if no probe is out */
};

/* One event loop, in its own thread: evhttp and a link per broker. */
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
	struct event	*poll_ev;	/* loop 0: the status page's samples */
	struct http_req	*poll;		/* the sample on its way */
	int		 draining;
	struct http_link *links;	/* one per broker */
	unsigned	 nlinks;
	unsigned	 next_link;	/* the next request's, if it is live */
	uint64_t	 next_corr;
	struct http_req	*pending;	/* hash by correlation id */
	int		 replying;	/* answering a broker's reply, outside evhttp */
	char		 date[40];	/* http_write.c: the Date header, */
	time_t		 date_at;	/* made at this second */
	struct http_conn *conns;	/* hash by evhttp connection */
	struct http_auth_cache *auth_cache;	/* this loop's, lazily */
	const struct timeval *default_tv;	/* common timeout */
	pthread_mutex_t	 lock;		/* of stats */
	struct http_stats stats;
	struct waha_msg	 in;
	struct waha_msg	 out;
	struct evbuffer	*body;		/* a reply's, empty between replies */
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
	int		 eof;		/* the client has half-closed */
	struct http_req	*cur;		/* the request in flight */
	/* evhttp's write callback while the gateway has the events */
	void		(*wcb)(struct bufferevent *, void *);
	void		*wcb_arg;
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
	int		 timeout_asked;	/* the client's timeout= */
	enum http_stream_mode stream;
	struct http_stream *st;		/* once a streamed reply has begun */
	int64_t		 start;		/* us */
	uint64_t	 corr;		/* while in loop->pending, else 0 */
	struct http_link *link;		/* the broker it went to, meanwhile */
	struct event	*timer;
	/* How the broker side hands r back: its reply, or a failure. */
	void		(*on_reply)(struct http_req *, int, struct waha_msg *,
			    size_t);
	void		(*on_fail)(struct http_req *, int, const char *);
	/* A partial (206) of a stream; NULL: the request does not stream. */
	void		(*on_partial)(struct http_req *, struct waha_msg *,
			    size_t);
	/* The client has gone: free what r holds but r itself. */
	void		(*on_gone)(struct http_req *);
	UT_hash_handle	 hh;
};

/* http_loop.c */
void	 http_loop_open(struct http_env *);
void	 http_loop_run(struct http_env *);
void	 http_loop_close(struct http_env *);

/* http_auth.c */
struct htuser;
int	 http_auth_users_parse(char *, const char *, struct htuser **,
	    char **);
void	 http_auth_users_free(struct htuser *);
int	 http_auth_host_allowed(const char **, const char *);
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
int	 http_conn_write_rest(struct http_conn *);
void	 http_conn_write_now(struct http_conn *);
struct evbuffer *http_conn_output(struct http_conn *);
void	 http_conn_sent(struct http_conn *);
void	 http_conn_streaming(struct http_conn *);
void	 http_conn_abort(struct http_conn *);
void	 http_conn_complete(struct evhttp_request *, void *);
void	 http_conn_drain(struct http_loop *);
void	 http_conn_check(struct http_loop *);

/* http_gateway.c */
void	 http_gateway_request(struct evhttp_request *, void *);

/* http_stream.c */
void	 http_stream_prepare(struct http_req *);

/* http_reply.c */
void	 http_reply_begin(struct http_req *, int, const char *,
	    const char *);
void	 http_reply_send(struct http_req *, int, struct evbuffer *,
	    const char *);
void	 http_reply_error(struct http_req *, int, const void *, size_t);
void	 http_reply_fields(struct http_req *, struct waha_msg *, size_t);
const char *http_reply_type(const struct http_req *);
int	 http_reply_code(int);
const char *http_reply_phrase(int);

/*
 * http_write.c: bytes gathered on the stack and added to an evbuffer in
 * few pieces (each evbuffer_add runs the buffer's callbacks): a reply's
 * status line and headers, a JSON body.
 */
struct http_gather {
	struct evbuffer	*out;
	size_t		 len;
	char		 buf[1024];
};
void	 http_gather_put(struct http_gather *, const void *, size_t);
void	 http_gather_flush(struct http_gather *);
int	 http_write_ok(struct evhttp_request *, int, const char *);
void	 http_write_header(void *, const char *, const char *);
void	 http_write_begin(struct http_gather *, struct evbuffer *,
	    struct evhttp_request *, int);
void	 http_write_end(struct http_conn *, struct evhttp_request *,
	    struct http_gather *, struct evbuffer *);

/* http_params.c */
char	*http_params_name(const char *, size_t *);
int	 http_params_query(struct http_req *, const char *, char **, size_t *,
	    char **);

/* http_broker.c */
int	 http_broker_open(struct http_loop *, char **);
void	 http_broker_close(struct http_loop *);
void	 http_broker_begin(struct http_loop *, int, int);
int	 http_broker_send(struct http_req *);
void	 http_broker_forget(struct http_req *);
void	 http_broker_cancel(struct http_req *);
void	 http_broker_credit(struct http_req *, long long);
void	 http_broker_fail_all(struct http_loop *, int, const char *);
const char *http_broker_why(struct http_loop *);

/* One service at one sample of http_samples.c; NAN: nothing to show. */
struct http_point {
	float		 rate;		/* requests/s since the last sample */
	float		 errors;	/* errors/s */
	float		 p50, p99;	/* ms, recent */
};

/* http_samples.c */
struct http_samples *http_samples_new(void);
void	 http_samples_free(struct http_samples *);
void	 http_samples_add(struct http_samples *, const char *, size_t);
size_t	 http_samples_window(struct http_samples *, const char *,
	    struct http_point *);
double	 http_samples_cpu(struct http_samples *);

/* http_status.c */
struct evbuffer *http_status_page(struct http_env *, const char *, size_t,
	    const char *);

/* http_metrics.c */
void	 http_metrics_count(struct http_loop *, int, int64_t);
struct evbuffer *http_metrics_text(struct http_env *, const char *, size_t);

#endif
