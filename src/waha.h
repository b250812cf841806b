/*
 * WAHA internal header: shared structures and the prototypes of the core
 * library (libwaha.a), grouped by the file that defines them.
 */
#ifndef WAHA_H
#define WAHA_H

#include <sys/types.h>
#include <sys/queue.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <popt.h>
#include <zmq.h>

/*
 * uthash hashes with util_hash, seeded at random, so that service names
 * and routing ids chosen by peers cannot be aimed at one bucket.
 */
unsigned util_hash(const void *, size_t);
#define HASH_FUNCTION(key, len, hashv)	((hashv) = util_hash((key), (len)))
#include <uthash.h>

#include "compat/compat.h"

#define WAHA_ATTR_PRINTF(f, a)	__attribute__((__format__(printf, f, a)))
#define WAHA_ATTR_DEAD		__attribute__((__noreturn__))

/* Defaults of DESIGN.md; every one of them is an option. */
#define WAHA_BROKER_URL		"tcp://127.0.0.1:10000"
#define WAHA_BALANCE_URL	"tcp://127.0.0.1:10001"
#define WAHA_HEARTBEAT		2500	/* ms */
#define WAHA_LIVENESS		3
#define WAHA_TIMEOUT		5000	/* ms, client side */
#define WAHA_QUEUE_TIMEOUT	60000	/* ms, for requests without a deadline */
#define WAHA_SERVICE_TTL	30000	/* ms */
#define WAHA_MAX_QUEUE		1000000	/* per service */
#define WAHA_MAX_QUEUE_BYTES	(256 * 1024 * 1024)	/* all services */
#define WAHA_MAX_SERVICES	10000
#define WAHA_MAX_FRAMES		256
#define WAHA_FRAMES_LIMIT	65536	/* the most --max-frames may be */
#define WAHA_MAX_MSG_SIZE	(16 * 1024 * 1024)
#define WAHA_GRACE		5000	/* ms */
#define WAHA_NAME_MAX		255
#define WAHA_CAPACITY_MAX	65535
#define WAHA_LINGER		1000	/* ms a closing socket may flush */
#define WAHA_HWM		100000
#define WAHA_STREAM_WINDOW	262144	/* bytes: a stream's opening window */
#define WAHA_STREAM_WINDOW_DEF_MAX (4 * 1024 * 1024) /* --stream-window */
#define WAHA_STREAM_WINDOW_MAX	(64 * 1024 * 1024) /* the most it may be */
#define WAHA_STREAM_IDLE	300000	/* ms a stream may stay silent */
#define WAHA_STREAM_PING	1000	/* ms: keepalive of a silent stream */
#define WAHA_MAX_BROKERS	16	/* endpoints in a -u list */
#define WAHA_MAX_BROKERS_STR	"16"

/* Protocol headers and MDP worker commands (RFC 7, FAIL and 2.8). */
#define WAHA_MDPC		"MDPC01"
#define WAHA_MDPW		"MDPW01"
#define WAHA_EXT		"WAHA01"	/* extended native request */
#define WAHA_READY		0x01
#define WAHA_REQUEST		0x02
#define WAHA_REPLY		0x03
#define WAHA_HEARTBEAT_CMD	0x04
#define WAHA_DISCONNECT		0x05
#define WAHA_FAIL		0x06
#define WAHA_PARTIAL		0x07
#define WAHA_CANCEL		0x08
#define WAHA_CREDIT		0x09

/* Worker features (READY's FEATURES frame, DESIGN.md 2.8). */
#define WAHA_FEAT_OPTIONS	0x01	/* declared any: REQUEST has options */
#define WAHA_FEAT_CANCEL	0x02
#define WAHA_FEAT_STREAM	0x04

/*
 * A worker's REPLY has this many frames more than the request it answers
 * ("MDPW01", the command, the token and "" where the request has the
 * service): a daemon that takes replies receives that much more than
 * its request limit.
 */
#define WAHA_REPLY_EXTRA	3

/* Statuses that are counted one by one in the statistics. */
#define WAHA_NSTATUS		8
extern const int waha_statuses[WAHA_NSTATUS];

/* A multipart ZeroMQ message. */
struct waha_msg {
	zmq_msg_t	*part;
	size_t		 n;
	size_t		 cap;
	size_t		 dropped;	/* parts received past the limit */
	size_t		 bytes;		/* received: all parts, dropped too */
};

/* log.c */
void	 log_init(int, int, const char *);
int	 log_verbose(void);
void	 log_warn(const char *, ...) WAHA_ATTR_PRINTF(1, 2);
void	 log_warnx(const char *, ...) WAHA_ATTR_PRINTF(1, 2);
void	 log_info(const char *, ...) WAHA_ATTR_PRINTF(1, 2);
void	 log_debug(const char *, ...) WAHA_ATTR_PRINTF(1, 2);
void	 log_trace(const char *, ...) WAHA_ATTR_PRINTF(1, 2);
void	 log_x(int, const char *, ...) WAHA_ATTR_PRINTF(2, 3);
void	 fatal(const char *, ...) WAHA_ATTR_PRINTF(1, 2) WAHA_ATTR_DEAD;
void	 fatalx(const char *, ...) WAHA_ATTR_PRINTF(1, 2) WAHA_ATTR_DEAD;

/* xmalloc.c */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...) WAHA_ATTR_PRINTF(2, 3);

/* cmdline.c */
struct cmdline {
	const char	*progname;
	const char	*url;
	const char	*endpoint_file;
	int		 verbose;
	int		 syslog;
	int		 version;
	int		 help;
};
extern struct cmdline cmdline;
extern struct poptOption cmdline_common[];
extern struct poptOption cmdline_daemon[];
extern struct poptOption cmdline_bind[];
/* The tables that end the options of every daemon that binds. */
#define CMDLINE_BINDING_DAEMON						\
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, cmdline_daemon, 0,	\
	  "Daemon options:", NULL },					\
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, cmdline_bind, 0, NULL, NULL }, \
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, cmdline_common, 0,	\
	  "Common options:", NULL }
poptContext cmdline_parse(const char *, const char *, int, const char **,
	    const struct poptOption *);
void	 cmdline_usage(poptContext, const char *, ...)
	    WAHA_ATTR_PRINTF(2, 3) WAHA_ATTR_DEAD;
long long cmdline_num(poptContext, const char *, const char *, long long,
	    long long, long long);
int	 cmdline_ms(poptContext, const char *, const char *, int);
int	 cmdline_choose(poptContext, const char *, const char *,
	    const char *const *, int);
/* What the broker and the balancer share: options of their pool.c. */
struct cmdline_limits {
	int		 max_msg_size;	/* bytes, ZMQ_MAXMSGSIZE */
	int		 max_frames;
	int		 grace;		/* ms to drain on SIGTERM */
};
extern struct poptOption cmdline_pool[];
struct pool_config;
void	 cmdline_pool_config(poptContext, struct pool_config *,
	    struct cmdline_limits *);
struct curve_cert;
int	 cmdline_curve(poptContext, const char *, const char *,
	    struct curve_cert *, struct curve_cert *);

/* urls.c: -u lists, "URL[,URL...]" */
struct urls {
	char		**url;
	unsigned	 n;
};
int	 urls_parse(const char *, struct urls *, char **);
void	 urls_free(struct urls *);
void	 cmdline_urls(poptContext, const char *, const char *, struct urls *);
const char *cmdline_url_one(poptContext, const char *, const char *,
	    const char *);

/* frames.c */
void	 frames_init(struct waha_msg *);
void	 frames_clear(struct waha_msg *);
void	 frames_free(struct waha_msg *);
int	 frames_recv(struct waha_msg *, void *, int, size_t);
int	 frames_send(struct waha_msg *, void *, int);
zmq_msg_t *frames_add(struct waha_msg *);
void	 frames_addmem(struct waha_msg *, const void *, size_t);
void	 frames_addstr(struct waha_msg *, const char *);
void	 frames_addmove(struct waha_msg *, zmq_msg_t *);
void	 frames_moverange(struct waha_msg *, struct waha_msg *, size_t,
	    size_t);
size_t	 frames_delim(const struct waha_msg *, size_t);
size_t	 frames_size(const struct waha_msg *, size_t);
const void *frames_data(const struct waha_msg *, size_t);
int	 frames_is(const struct waha_msg *, size_t, const char *);
size_t	 frames_key(const struct waha_msg *, size_t, unsigned char *, size_t);

/* proto.c */
enum proto_kind {
	PROTO_NATIVE,		/* [env] "" [WAHA01 OPTIONS] SERVICE FIELD* */
	PROTO_MDPC,		/* [env] "" MDPC01 SERVICE BODY* */
	PROTO_MDPW,		/* [env] "" MDPW01 COMMAND ... */
	PROTO_CMD		/* [env] "" WAHA01 COMMAND: on an open request */
};

/* Options of an extended request, a REQUEST, or a command (2.6, 2.8). */
struct proto_opts {
	int		 timeout;	/* ms, -1 for none */
	int		 stream;
	int		 cancel;
	long long	 credit;	/* bytes, -1 for none */
};
#define PROTO_OPT_TIMEOUT	0x01
#define PROTO_OPT_STREAM	0x02
#define PROTO_OPT_CANCEL	0x04
#define PROTO_OPT_CREDIT	0x08
#define PROTO_OPTS_LENIENT	0x01	/* skip unknown names (workers) */
#define PROTO_WORKER_OPTS	0x01	/* REQUESTs carry an options frame */

struct proto_in {
	enum proto_kind	 kind;
	size_t		 env;		/* envelope frames before "" */
	size_t		 body;		/* first field or body frame */
	const char	*service;	/* not NUL-terminated */
	size_t		 service_len;
	int		 command;	/* MDPW */
	size_t		 token;		/* index of the token frame */
	unsigned	 capacity;	/* READY */
	unsigned	 features;	/* READY: WAHA_FEAT_*, 0 if none declared */
	int		 extended;	/* native with WAHA01: opts are set */
	struct proto_opts opts;		/* extended request, REQUEST, command */
	int		 status;	/* FAIL, or 400 when malformed */
	const char	*reason;	/* FAIL reason frame, or parse error */
	size_t		 reason_len;
	char		 why[128];	/* room for a reason naming a value; last */
};
int	 proto_parse(struct waha_msg *, struct proto_in *, size_t);
int	 proto_parse_worker(struct waha_msg *, struct proto_in *, int);
int	 proto_parse_reply(struct waha_msg *, int *, size_t *);
const char *proto_name_check(const char *, size_t, size_t);
void	 proto_reply(struct waha_msg *, struct waha_msg *, size_t, int);
void	 proto_worker_cmd(struct waha_msg *, int);
int	 proto_status_ok(int, int);
const char *proto_status_text(int);

/* proto_opts.c */
int	 proto_opts_parse(const char *, size_t, struct proto_opts *, int,
	    char *, size_t);
size_t	 proto_opts_format(char *, size_t, int, int, long long);
unsigned proto_features_parse(const char *, size_t);

/* util.c */
size_t	 util_decimal(char *, uint64_t);
int64_t	 util_now_ms(void);
int64_t	 util_now_us(void);
int	 util_status_index(int);
int	 util_notify_ready(void);
int	 util_write_endpoint(const char *, void *, char **);
int	 util_write_file(const char *, const char *, char **);
char	*util_read_fd(int, const char *, size_t, char **);
char	*util_read_text(const char *, size_t, char **);
char	*util_line(char **);
void	 util_hex(char *, const void *, size_t);
void	*util_socket(void *, int);
int	 util_attach(void *, int, const char *, char **);
void	*util_router(void *, int);
int	 util_bind(void *, const char *, char *, size_t, char **);
int64_t	 util_earliest(int64_t, int64_t);
void	 util_close(void **, int);
uint64_t util_random64(void);
long long util_rss(void);

/*
 * curve.c, curve_clients.c, curve_zap.c: CURVE keys and certs, the authorized clients, the
 * socket options of both sides, the ZAP handler, handshake failures.
 *
 * A CURVE server (the broker, the balancer's backend) does, before it
 * binds: curve_cert_load(secret file, 1), curve_clients_load(--clients),
 * curve_zap_new(zctx), curve_zap_set_clients, curve_server_setup(sock).
 * Its loop polls curve_zap_socket() and calls curve_zap_process() until
 * it returns 0; each message's sender is curve_msg_identity() of frame 1
 * or later (never frame 0 of a ROUTER).  On SIGHUP: load the new table,
 * curve_zap_set_clients(new), then curve_clients_free(old); sessions
 * already open keep their User-Id, so revocation is the ACL's job at
 * each message (acl_check with that key finds no rule).  A client does
 * curve_client_setup(sock, own secret, server public, flags) before it
 * connects and watches a monitor (curve_monitor_events,
 * curve_monitor_parse, curve_fail_text) to report a refusal.
 */
#define CURVE_KEY_LEN		32	/* bytes */
#define CURVE_Z85_LEN		40	/* characters */
#define WAHA_ZAP_DOMAIN		"waha"
#define CURVE_HANDSHAKE_IVL	5000	/* ms a client handshake may take */
#define CURVE_RECONNECT_MAX	30000	/* ms, longest reconnect backoff */
#define CURVE_LOG_WINDOW	10000	/* ms */
#define CURVE_LOG_BURST		10	/* handshake failures logged a window */
#define CURVE_ONCE		0x01	/* a failed handshake is not retried */

struct curve_cert {
	char		 public_txt[CURVE_Z85_LEN + 1];
	char		 secret_txt[CURVE_Z85_LEN + 1];	/* "" if public */
	uint8_t		 public_key[CURVE_KEY_LEN];
	uint8_t		 secret_key[CURVE_KEY_LEN];
	int		 has_secret;
	char		*name;		/* metadata name, or NULL */
};

struct curve_client {
	char		 key[CURVE_Z85_LEN + 1];	/* Z85 public key */
	char		*name;		/* metadata name, or NULL */
	char		*file;
	UT_hash_handle	 hh;
};
struct curve_clients {
	struct curve_client *by_key;
	unsigned	 n;
};

struct curve_zap;
struct curve_zap_event {
	int		 status;	/* 200, 400, 500 */
	char		 key[CURVE_Z85_LEN + 1];	/* "" if none */
	const char	*name;		/* the client's, while the table lives */
	char		 address[64];	/* the peer's IP address */
};

enum curve_fail {
	CURVE_FAIL_NONE,	/* not a failure (e.g. HANDSHAKE_SUCCEEDED) */
	CURVE_FAIL_AUTH,	/* the ZAP handler said no */
	CURVE_FAIL_NO_DETAIL,	/* undecryptable: wrong server key, garbage */
	CURVE_FAIL_PROTOCOL	/* e.g. one side without CURVE */
};
struct curve_event {
	int		 event;		/* ZMQ_EVENT_* */
	uint32_t	 value;
	enum curve_fail	 fail;
	char		 address[128];	/* the endpoint or peer */
};
struct curve_ratelimit {
	int64_t		 start;		/* ms */
	unsigned	 n;
	unsigned	 suppressed;
};

int	 curve_cert_load(const char *, int, struct curve_cert *, char **);
int	 curve_cert_parse(char *, const char *, int, struct curve_cert *,
	    char **);
void	 curve_cert_clear(struct curve_cert *);
int	 curve_cert_generate(struct curve_cert *, const char *, char **);
int	 curve_cert_save(const char *, const struct curve_cert *, char **);
const char *curve_name_check(const char *);
struct curve_clients *curve_clients_load(const char *, char **);
int	 curve_clients_add_dir(struct curve_clients *, const char *, int,
	    char **);
int	 curve_clients_add_file(struct curve_clients *, const char *,
	    char **);
const struct curve_client *curve_clients_find(const struct curve_clients *,
	    const char *);
void	 curve_clients_free(struct curve_clients *);
int	 curve_server_setup(void *, const struct curve_cert *, char **);
int	 curve_client_setup(void *, const struct curve_cert *,
	    const struct curve_cert *, int, char **);
int	 curve_client_certs(const char *, const char *, struct curve_cert *,
	    struct curve_cert *, char **);
struct curve_zap *curve_zap_new(void *, char **);
void	 curve_zap_free(struct curve_zap *);
void	*curve_zap_socket(struct curve_zap *);
void	 curve_zap_set_clients(struct curve_zap *,
	    const struct curve_clients *);
int	 curve_zap_process(struct curve_zap *, struct curve_zap_event *);
void	 curve_zap_counts(const struct curve_zap *, uint64_t *, uint64_t *);
int	 curve_msg_identity(zmq_msg_t *, char [CURVE_Z85_LEN + 1],
	    const char **);
int	 curve_monitor_events(void);
int	 curve_monitor_parse(const struct waha_msg *, struct curve_event *);
const char *curve_fail_text(const struct curve_event *, int);
int	 curve_ratelimit(struct curve_ratelimit *, int64_t, unsigned *);

/*
 * acl.c: the rules of --acl (DESIGN 2.9), "allow|deny call|serve PATTERN
 * SUBJECT" a line.  acl_check says whether a peer (its Z85 key and cert
 * name, or an HTTP user; NULL for what it lacks) may call or serve a
 * service: deny beats allow, and what no rule allows is denied.  Cost
 * per check: one hash lookup of the service name among the exact
 * patterns, then the rules of that name and every wildcard pattern (each
 * compared in one pass over the name); subjects compare by strcmp.  So
 * keep wildcard rules few.  acl_load never logs; on SIGHUP load the new
 * file, and only if that works free the old one.
 */
enum acl_action {
	ACL_CALL,
	ACL_SERVE
};
struct acl;
struct acl *acl_load(const char *, char **);
struct acl *acl_parse(char *, const char *, char **);
void	 acl_free(struct acl *);
int	 acl_check(const struct acl *, enum acl_action, const char *, size_t,
	    const char *, const char *, const char *);
unsigned acl_count(const struct acl *);
#define ACL_SUBJ_ANY	0x01
#define ACL_SUBJ_KEY	0x02
#define ACL_SUBJ_NAME	0x04
#define ACL_SUBJ_USER	0x08
int	 acl_subject_line(const struct acl *, unsigned);
const char *acl_pattern_check(const char *, size_t);
int	 acl_match(const char *, size_t, const char *, size_t);

/* hist.c: latency histogram, quarter-octave buckets of microseconds */
#define HIST_BUCKETS	160
struct hist {
	uint64_t	 bucket[HIST_BUCKETS];
	uint64_t	 count;
};
void	 hist_add(struct hist *, int64_t);
double	 hist_quantile(const struct hist *, double);

/*
 * The values of the last HIST_RECENT_MS to twice that: two histograms,
 * the older dropped as each period ends, so that quantiles follow what
 * happens now rather than since the start.
 */
#define HIST_RECENT_MS	10000
struct hist_recent {
	struct hist	 cur;
	struct hist	 prev;
	int64_t		 start;		/* ms, of cur's period */
};
void	 hist_recent_add(struct hist_recent *, int64_t, int64_t);
void	 hist_recent_get(struct hist_recent *, int64_t, struct hist *);

/* signals.c */
#define SIGNALS_TERM	0x01
#define SIGNALS_HUP	0x02
#define SIGNALS_CHLD	0x04
int	 signals_init(int, char **);
int	 signals_fd(void);
int	 signals_take(void);

/* codec.c */
char	*codec_b64_encode(const void *, size_t, size_t *);
void	*codec_b64_decode(const char *, size_t, size_t *);
char	*codec_hex_encode(const void *, size_t, size_t *);
void	*codec_hex_decode(const char *, size_t, size_t *);
int	 codec_hex_digit(int);
int	 codec_utf8_valid(const void *, size_t);
char	*codec_utf8_fix(const void *, size_t, size_t *);
char	*codec_printable(const void *, size_t);
size_t	 codec_json_escape(char *, const void *, size_t);
#define CODEC_JSON_ROOM(len)	((len) * 6)	/* \u00XX for each byte */

/* codec_json.c: apart, so that only its users link jansson */
struct json_t;
int	 codec_json_fields(struct waha_msg *, const void *, size_t,
	    const char *, char **);
char	*codec_json_line(const struct waha_msg *, size_t *);
struct json_t *codec_json_field(const void *, size_t);
struct json_t *codec_json_array(const struct waha_msg *, size_t);
int	 codec_json_reply(struct waha_msg *, const void *, size_t, char **,
	    char **);

/* stats.c: reading mmi.stats documents (jansson's json_t) */
int64_t	 stats_int(struct json_t *, const char *);
uint64_t stats_errors(struct json_t *);
int64_t	 stats_dt(struct json_t *, struct json_t *);
double	 stats_rate(uint64_t, uint64_t, int64_t);
double	 stats_recent(struct json_t *, const char *);
int	 stats_silent(struct json_t *, struct json_t *);
void	 stats_age(char *, size_t, double);

/* pool.c, pool_worker.c: the dispatch core of the broker and the balancer */
struct pool;
struct pool_service;

struct pool_counters {
	uint64_t	 requests;
	uint64_t	 status[WAHA_NSTATUS];
	uint64_t	 expired;
	uint64_t	 cancelled;	/* by their clients */
	struct hist	 latency;
	struct hist_recent recent;	/* latency, of late */
};

#define POOL_NOTIMER	((size_t)-1)

/*
 * Ended requests kept for reuse, with their frame arrays, so that a
 * request costs no malloc in the steady state; at most this many, so
 * that a burst's worth does not stay allocated.
 */
#define POOL_SPARE_MAX	1024

/* Keys up to this long are kept in the request, not malloc'd. */
#define POOL_KEY_INLINE	32

struct pool_req {
	uint64_t	 token;
	int		 kind;		/* the owner's, e.g. native or MDP */
	struct waha_msg	 env;		/* the owner's return address */
	struct waha_msg	 body;		/* fields, until dispatched */
	struct pool_service *svc;
	struct pool_worker *worker;	/* while in flight */
	int64_t		 arrived;	/* us */
	int		 timeout;	/* ms, the client's own; -1 none */
	int64_t		 deadline;	/* ms, from timeout; 0 for none */
	int64_t		 due;		/* ms: expiry where it is now; 0 none */
	size_t		 heap;		/* in the pool's timers, or NOTIMER */
	size_t		 bytes;		/* counted in pool.queued_bytes */
	unsigned char	*key;		/* the owner's name for it, or NULL */
	size_t		 keylen;
	unsigned char	 keybuf[POOL_KEY_INLINE]; /* key, if short */
	int		 keyed;		/* in pool.by_key */
	int		 stream;	/* stream=1: partials go to the client */
	long long	 allowed;	/* stream: partial bytes the client took */
	long long	 streamed;	/* stream: partial bytes relayed */
	int64_t		 ends;		/* ms: deadline or --run-timeout; 0 none */
	int64_t		 active;	/* ms: last partial or credit */
	int64_t		 pinged;	/* ms: last partial or keepalive sent */
	TAILQ_ENTRY(pool_req) svc_link;	/* service queue */
	TAILQ_ENTRY(pool_req) w_link;	/* worker's in-flight list */
	UT_hash_handle	 kh;		/* by key, if it has one */
};
TAILQ_HEAD(pool_reqs, pool_req);

struct pool_worker {
	unsigned char	 id[256];	/* ROUTER routing id */
	size_t		 idlen;
	struct pool_service *svc;
	unsigned	 capacity;
	unsigned	 features;	/* WAHA_FEAT_* of its READY */
	unsigned	 inflight;
	uint64_t	 served;
	int64_t		 last_recv;	/* ms */
	int64_t		 last_send;	/* ms */
	int		 leaving;	/* sent DISCONNECT: send it nothing */
	int		 vanished;	/* a send failed: on pool's vanished */
	int		 avail;		/* on the service's available list */
	struct pool_reqs reqs;
	TAILQ_ENTRY(pool_worker) svc_link;
	TAILQ_ENTRY(pool_worker) avail_link;
	TAILQ_ENTRY(pool_worker) recv_link;
	TAILQ_ENTRY(pool_worker) send_link;	/* by_send, or vanished */
	UT_hash_handle	 hh;
};
TAILQ_HEAD(pool_workers, pool_worker);

struct pool_service {
	char		*name;
	size_t		 len;
	struct pool_workers workers;	/* live, not leaving */
	struct pool_workers avail;	/* with free capacity, LRU first */
	unsigned	 nworkers;
	unsigned	 leaving;	/* workers gone but finishing */
	unsigned	 capacity;
	unsigned	 inflight;
	unsigned	 queued;
	struct pool_reqs queue;
	int64_t		 orphaned;	/* ms, since no worker at all; else 0 */
	int		 served;	/* a worker has registered it */
	int		 pending;	/* on the pool's pending list */
	TAILQ_ENTRY(pool_service) orphan_link;
	TAILQ_ENTRY(pool_service) pending_link;
	struct pool_counters stats;
	UT_hash_handle	 hh;
};
TAILQ_HEAD(pool_services, pool_service);

struct pool_config {
	int		 heartbeat;	/* ms */
	int		 liveness;
	int		 queue_timeout;	/* ms, -1 for none */
	int		 run_timeout;	/* ms, -1 for none */
	int		 service_ttl;	/* ms */
	unsigned	 max_queue;	/* per service */
	size_t		 max_queue_bytes; /* all services */
	unsigned	 max_services;
	size_t		 max_name;
	size_t		 max_size;	/* largest reply, all frames */
	const char	*only;		/* accept workers of this service only */
	long long	 stream_window;	/* largest opening window asked */
	long long	 stream_max;	/* most bytes a stream carries; 0 none */
	int		 stream_idle;	/* ms a stream may be silent; 0 none */
};

struct pool_ops {
	/* A request ends: 200 with fields, or another status and a reason. */
	void	(*reply)(void *, struct pool_req *, int, struct waha_msg *,
		    size_t, const char *);
	/* A service got its first live worker or lost its last. */
	void	(*change)(void *, struct pool_service *);
	/* Something an operator should read: a worker died, and so on. */
	void	(*notice)(void *, int, const char *);
	/*
	 * Optional: whether the sender of worker message m may serve the
	 * service (len bytes).  Asked for every message of a worker, so
	 * that a reload applies to workers already registered; a refused
	 * READY gets DISCONNECT, a refused worker is dropped.
	 */
	int	(*admit)(void *, struct waha_msg *, const char *, size_t);
	/*
	 * Optional: relay a partial of a stream (fields from first on) to
	 * its client, or with m NULL a keepalive (a partial of no fields);
	 * -1 when the client cannot be reached, and the stream is then
	 * cancelled.
	 */
	int	(*partial)(void *, struct pool_req *, struct waha_msg *, size_t);
};

struct pool {
	void		*sock;		/* ROUTER facing the workers */
	struct pool_config cf;
	struct pool_ops	 ops;
	void		*arg;
	struct pool_service *services;	/* hash by name */
	struct pool_worker *workers;	/* hash by routing id */
	struct pool_req	**run;		/* pool_run.c: in flight, by slot */
	uint32_t	*run_free;	/* free slots, a stack */
	size_t		 run_nfree;
	size_t		 run_cap;
	struct pool_req	*by_key;	/* hash by the owner's key */
	struct pool_req	**heap;		/* pool_timer.c: by due, earliest first */
	size_t		 nheap;
	size_t		 heapcap;
	struct pool_workers by_recv;	/* least recently heard first */
	struct pool_workers by_send;	/* least recently sent to first */
	struct pool_services orphans;	/* workerless services, oldest first */
	struct pool_workers vanished;	/* gone, maybe with replies unread */
	struct pool_services pending;	/* to dispatch at pool_flush */
	struct pool_reqs spare;		/* ended, for pool_req_new to reuse */
	unsigned	 nspare;
	unsigned	 nservices;
	unsigned	 nworkers;
	unsigned	 nqueued;
	unsigned	 nrunning;
	size_t		 queued_bytes;
	uint32_t	 run_seq;	/* dispatches: tokens' high half */
	int		 draining;
	int64_t		 grace_end;	/* ms, while draining */
	int64_t		 now;		/* ms, read by pool_clock */
	int64_t		 now_us;	/* the same instant, in us */
	struct pool_counters total;
	uint64_t	 replies;
	uint64_t	 late;		/* replies to unknown tokens */
	uint64_t	 unroutable;	/* sends to vanished peers */
	uint64_t	 bad_worker_msgs;
	uint64_t	 dropped;	/* MDP requests over max-services */
	uint64_t	 queue_full;	/* refused: --max-queue or -bytes */
	unsigned	 nstreams;	/* open requests with stream=1 */
	uint64_t	 streams;	/* requests with stream=1, in all */
	uint64_t	 partials;	/* relayed */
	uint64_t	 stream_bytes;	/* partial payload relayed */
	struct waha_msg	 out;		/* scratch for sending */
};

#define POOL_CREATE	0x01	/* queue even for a never seen service */

struct pool *pool_new(void *, const struct pool_config *,
	    const struct pool_ops *, void *);
void	 pool_free(struct pool *);
void	 pool_clock(struct pool *);
struct pool_req *pool_req_new(struct pool *, int);
void	 pool_req_key(struct pool_req *, const void *, size_t);
void	 pool_submit(struct pool *, struct pool_req *, const char *, size_t,
	    int);
struct pool_req *pool_find_key(struct pool *, const void *, size_t);
void	 pool_cancel(struct pool *, struct pool_req *);
void	 pool_credit(struct pool *, struct pool_req *, long long);
void	 pool_worker_msg(struct pool *, struct waha_msg *,
	    const struct proto_in *, int);
int	 pool_timeout(struct pool *, int64_t);
void	 pool_tick(struct pool *, int64_t);
void	 pool_drain(struct pool *, int);
int	 pool_drained(struct pool *, int64_t);
void	 pool_settle(struct pool *);
void	 pool_flush(struct pool *);
void	 pool_stop(struct pool *);
struct pool_service *pool_service_find(struct pool *, const char *, size_t);

/* pool.c and pool_worker.c, between themselves */
void	 pool_notice(struct pool *, int, const char *, ...)
	    WAHA_ATTR_PRINTF(3, 4);
struct pool_service *pool_service_new(struct pool *, const char *, size_t);
void	 pool_service_orphan(struct pool *, struct pool_service *);
void	 pool_dispatch(struct pool *, struct pool_service *);
void	 pool_dispatch_later(struct pool *, struct pool_service *);
void	 pool_finish(struct pool *, struct pool_req *, int, struct waha_msg *,
	    size_t, const char *);
int	 pool_time_left(const struct pool *, const struct pool_req *, int64_t);
int	 pool_worker_send(struct pool *, struct pool_worker *, int,
	    struct pool_req *);
void	 pool_worker_kill(struct pool *, struct pool_worker *, int,
	    const char *);
void	 pool_worker_lost(struct pool *, struct pool_worker *);
void	 pool_stop_at_worker(struct pool *, struct pool_req *);
int	 pool_worker_credit(struct pool *, struct pool_worker *,
	    struct pool_req *, long long);

/* pool_run.c */
void	 pool_run_add(struct pool *, struct pool_req *);
struct pool_req *pool_run_find(struct pool *, uint64_t);
void	 pool_run_del(struct pool *, struct pool_req *);

/* pool_timer.c */
void	 pool_timer_set(struct pool *, struct pool_req *, int64_t);
struct pool_req *pool_timer_first(struct pool *);

/* worker.c: the MDP worker session of WAHA's own workers */
struct worker_config {
	const char	*url;		/* "URL[,URL...]": one session each */
	const char	*service;
	unsigned	 capacity;
	unsigned	 features;	/* WAHA_FEAT_CANCEL, _STREAM, or 0 */
	int		 heartbeat;	/* ms */
	int		 liveness;
	int		 reconnect;	/* ms after a DISCONNECT; doubles up to
					   CURVE_RECONNECT_MAX while refused */
	const struct curve_cert *curve_own;	/* NULL: no CURVE */
	const struct curve_cert *curve_server;
	/* Something an operator should read: reconnecting, and so on. */
	void		(*notice)(void *, const char *);
	void		*arg;
};
struct worker_session;

struct worker_session *worker_new(void *, const struct worker_config *,
	    char **);
void	 worker_free(struct worker_session *);
void	*worker_socket(struct worker_session *);
int	 worker_pollitems(struct worker_session *, zmq_pollitem_t *, int);
int	 worker_nsockets(struct worker_session *);
#define WORKER_REQUEST	1
#define WORKER_CANCEL	2
#define WORKER_CREDIT	3
int	 worker_recv(struct worker_session *, zmq_msg_t *, struct waha_msg *,
	    struct proto_opts *);
int	 worker_reply(struct worker_session *, zmq_msg_t *,
	    struct waha_msg *);
int	 worker_fail(struct worker_session *, zmq_msg_t *, int, const char *);
int	 worker_partial(struct worker_session *, zmq_msg_t *,
	    struct waha_msg *);
void	 worker_forget(struct worker_session *);
int	 worker_timeout(struct worker_session *, int64_t);
void	 worker_tick(struct worker_session *, int64_t);
void	 worker_withdraw(struct worker_session *);
int	 worker_register(struct worker_session *, char **);

#endif
