/*
 * The server side of WAHA's security, shared by the broker and the
 * balancer's backend (DESIGN.md 2.9).
 *
 * With --clients (and --curve-secret) the socket is a CURVE server whose
 * handshakes go to a ZAP handler in the daemon's own loop: unknown keys
 * never get a session.  But a session outlives a reload, so every
 * message is checked too: its User-Id (read from frame 1: libzmq 4.3.4
 * gives a ROUTER's frame 0 no metadata) must still be in the clients
 * table, and the rules of --acl must allow it.  That check costs, per
 * message, one metadata lookup in libzmq, one hash lookup of the key,
 * and acl_check (a hash lookup of the service and a walk over the
 * wildcard rules); with neither option it costs one test.
 *
 * Failed handshakes come from a socket monitor, whose events name the
 * local endpoint only: the peer's address is taken with getpeername()
 * on the descriptor of the ACCEPTED event, and a failure is reported at
 * the DISCONNECTED event of that descriptor.
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"
#include "guard.h"

#define GUARD_MONITOR	"inproc://waha-guard-monitor"
#define GUARD_PEERS_MAX	4096	/* connections whose address is kept */

struct guard_config guard_cf;

struct poptOption guard_options[] = {
	{ "curve-secret", '\0', POPT_ARG_STRING, &guard_cf.curve_secret, 0,
	  "own secret CURVE certificate (mode 0600)", "FILE" },
	{ "clients", '\0', POPT_ARG_STRING, &guard_cf.clients, 0,
	  "CURVE only, for the public certificates in DIR", "DIR" },
	{ "acl", '\0', POPT_ARG_STRING, &guard_cf.acl, 0,
	  "rules of who may call and serve what", "FILE" },
	POPT_TABLEEND
};

struct guard_peer {
	int		 fd;
	char		 addr[64];
	UT_hash_handle	 hh;
};

struct guard {
	struct guard_config	 cf;
	void			*zctx;
	int			 curve;		/* CURVE server */
	int			 check;		/* check every message */
	struct curve_cert	 cert;
	struct curve_clients	*clients;
	struct acl		*acl;
	struct curve_zap	*zap;
	void			*mon;
	struct guard_peer	*peers;		/* by descriptor */
	unsigned		 npeers;
	struct curve_event	 failed;	/* waiting for its DISCONNECTED */
	struct curve_ratelimit	 rl_handshake;
	struct curve_ratelimit	 rl_refusal[3];	/* call, serve, revoked key */
	uint64_t		 refused;
	struct waha_msg		 m;
};

/* Read the rules of path, refusing subjects this daemon cannot match. */
static struct acl *
load_rules(const struct guard *g, char **cause)
{
	struct acl	*acl;
	int		 line;

	if ((acl = acl_load(g->cf.acl, cause)) == NULL)
		return (NULL);
	if ((line = acl_subject_line(acl, ACL_SUBJ_USER)) != 0) {
		xasprintf(cause, "%s:%d: user subjects are HTTP users: they "
		    "apply at waha-proxy-http only", g->cf.acl, line);
		acl_free(acl);
		return (NULL);
	}
	if (!g->curve && (line = acl_subject_line(acl, ACL_SUBJ_KEY |
	    ACL_SUBJ_NAME)) != 0) {
		xasprintf(cause, "%s:%d: key and name subjects need CURVE "
		    "(--curve-secret and --clients): without it no peer has a "
		    "key, and only 'any' rules apply", g->cf.acl, line);
		acl_free(acl);
		return (NULL);
	}
	return (acl);
}

/*
 * Read the keys and rules of cf; the CURVE server is on with
 * cf->clients.  The ZAP handler is bound in zctx.  NULL with a cause on
 * failure.
 */
struct guard *
guard_new(void *zctx, const struct guard_config *cf, char **cause)
{
	struct guard	*g = xcalloc(1, sizeof(*g));

	g->cf = *cf;
	g->zctx = zctx;
	g->curve = cf->clients != NULL;
	g->check = g->curve || cf->acl != NULL;
	frames_init(&g->m);
	if (g->curve && cf->curve_secret == NULL) {
		xasprintf(cause, "--clients needs --curve-secret, the "
		    "server's own key");
		goto fail;
	}
	if (g->curve && (curve_cert_load(cf->curve_secret, 1, &g->cert,
	    cause) != 0 || (g->clients = curve_clients_load(cf->clients,
	    cause)) == NULL))
		goto fail;
	if (cf->acl != NULL && (g->acl = load_rules(g, cause)) == NULL)
		goto fail;
	if (g->curve) {
		if ((g->zap = curve_zap_new(zctx, cause)) == NULL)
			goto fail;
		curve_zap_set_clients(g->zap, g->clients);
	}
	return (g);
fail:
	guard_free(g);
	return (NULL);
}

/* Free it all; NULL does nothing. */
void
guard_free(struct guard *g)
{
	struct guard_peer	*p, *tmp;

	if (g == NULL)
		return;
	HASH_ITER(hh, g->peers, p, tmp) {
		HASH_DEL(g->peers, p);
		free(p);
	}
	util_close(&g->mon, 0);
	curve_zap_free(g->zap);
	curve_clients_free(g->clients);
	acl_free(g->acl);
	curve_cert_clear(&g->cert);
	frames_free(&g->m);
	free(g);
}

/* Whether messages are checked at all (CURVE or rules). */
int
guard_on(const struct guard *g)
{
	return (g != NULL && g->check);
}

/* Whether the socket is a CURVE server. */
int
guard_curve(const struct guard *g)
{
	return (g != NULL && g->curve);
}

/*
 * Make sock, not bound yet, a CURVE server watched by a monitor; the
 * secret key is forgotten once it is set.  Nothing without CURVE.
 */
int
guard_setup(struct guard *g, void *sock, char **cause)
{
	if (!g->curve)
		return (0);
	if (curve_server_setup(sock, &g->cert, cause) != 0)
		return (-1);
	curve_cert_clear(&g->cert);
	if (zmq_socket_monitor(sock, GUARD_MONITOR, curve_monitor_events() |
	    ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
		xasprintf(cause, "zmq_socket_monitor: %s", zmq_strerror(errno));
		return (-1);
	}
	g->mon = util_socket(g->zctx, ZMQ_PAIR);
	return (util_attach(g->mon, 0, GUARD_MONITOR, cause));
}

/* Fill the pollitems of the ZAP handler and the monitor; how many. */
int
guard_items(struct guard *g, zmq_pollitem_t *items)
{
	int	 n = 0;

	if (!g->curve)
		return (0);
	memset(items, 0, GUARD_ITEMS * sizeof(*items));
	items[n].socket = curve_zap_socket(g->zap);
	items[n++].events = ZMQ_POLLIN;
	items[n].socket = g->mon;
	items[n++].events = ZMQ_POLLIN;
	return (n);
}

/* Log a line about a refusal or a failure, at most a burst a window. */
static void
limited(struct curve_ratelimit *rl, const char *fmt, ...)
    WAHA_ATTR_PRINTF(2, 3);

static void
limited(struct curve_ratelimit *rl, const char *fmt, ...)
{
	char		 buf[512];
	unsigned	 suppressed;
	va_list		 ap;

	if (!curve_ratelimit(rl, util_now_ms(), &suppressed))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (suppressed > 0)
		log_warnx("%s (and %u more not logged)", buf, suppressed);
	else
		log_warnx("%s", buf);
}

static void
zap_events(struct guard *g)
{
	struct curve_zap_event	 ev;
	int			 rc;

	while ((rc = curve_zap_process(g->zap, &ev)) == 1) {
		if (ev.status == 200)
			log_debug("%s: key %s%s%s%s from %s let in", g->cf.who,
			    ev.key, ev.name != NULL ? " (" : "",
			    ev.name != NULL ? ev.name : "",
			    ev.name != NULL ? ")" : "", ev.address);
		else
			limited(&g->rl_handshake, "%s: handshake refused: %s "
			    "key %s from %s", g->cf.who, ev.status == 400 ?
			    "unknown" : "malformed", ev.key[0] != '\0' ?
			    ev.key : "-", ev.address);
	}
	if (rc == -1)
		log_warnx("%s: ZAP handler: %s", g->cf.who,
		    zmq_strerror(errno));
}

/* Remember the peer of a new connection, while there is room. */
static void
peer_add(struct guard *g, int fd)
{
	struct guard_peer	*p;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	char			 host[INET6_ADDRSTRLEN];
	int			 port;

	HASH_FIND_INT(g->peers, &fd, p);
	if (p == NULL) {
		if (g->npeers >= GUARD_PEERS_MAX)
			return;
		p = xcalloc(1, sizeof(*p));
		p->fd = fd;
		HASH_ADD_INT(g->peers, fd, p);
		g->npeers++;
	}
	strlcpy(p->addr, "an unknown address", sizeof(p->addr));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
		    host, sizeof(host));
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    host, sizeof(host));
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else {
		strlcpy(p->addr, "a local socket", sizeof(p->addr));
		return;
	}
	snprintf(p->addr, sizeof(p->addr), "%s port %d", host, port);
}

/* A connection ended: report the failure that ended it, if any. */
static void
peer_gone(struct guard *g, int fd)
{
	struct guard_peer	*p;

	HASH_FIND_INT(g->peers, &fd, p);
	if (g->failed.fail != CURVE_FAIL_NONE)
		limited(&g->rl_handshake, "%s: %s, from %s", g->cf.who,
		    curve_fail_text(&g->failed, 0),
		    p != NULL ? p->addr : "an unknown address");
	g->failed.fail = CURVE_FAIL_NONE;
	if (p != NULL) {
		HASH_DEL(g->peers, p);
		g->npeers--;
		free(p);
	}
}

static void
monitor_events(struct guard *g)
{
	struct curve_event	 ev;

	while (frames_recv(&g->m, g->mon, ZMQ_DONTWAIT, 2) == 0) {
		if (curve_monitor_parse(&g->m, &ev) != 0)
			continue;
		if (ev.event == ZMQ_EVENT_ACCEPTED)
			peer_add(g, (int)ev.value);
		else if (ev.event == ZMQ_EVENT_DISCONNECTED)
			peer_gone(g, (int)ev.value);
		else if (ev.fail != CURVE_FAIL_NONE &&
		    ev.fail != CURVE_FAIL_AUTH)
			g->failed = ev;	/* the ZAP handler logs refusals */
	}
}

/* Answer the ZAP requests waiting and log the handshakes that failed. */
void
guard_events(struct guard *g)
{
	if (!g->curve)
		return;
	zap_events(g);
	monitor_events(g);
}

/*
 * Read the clients and the rules again (SIGHUP).  If either fails, both
 * old ones stay and -1 comes back with the cause.  From the next
 * message on, sessions already open are checked against the new ones.
 */
int
guard_reload(struct guard *g, char **cause)
{
	struct curve_clients	*cl = NULL;
	struct acl		*acl = NULL;

	if (g->curve && (cl = curve_clients_load(g->cf.clients, cause)) ==
	    NULL)
		return (-1);
	if (g->cf.acl != NULL && (acl = load_rules(g, cause)) == NULL) {
		curve_clients_free(cl);
		return (-1);
	}
	if (g->curve) {
		curve_zap_set_clients(g->zap, cl);
		curve_clients_free(g->clients);
		g->clients = cl;
	}
	if (g->cf.acl != NULL) {
		acl_free(g->acl);
		g->acl = acl;
	}
	return (0);
}

/* SIGHUP: reload, and say in the log how it went. */
void
guard_sighup(struct guard *g)
{
	char	*cause = NULL, what[128];

	if (!guard_on(g)) {
		log_info("SIGHUP: no keys or rules to reload");
		return;
	}
	if (guard_reload(g, &cause) != 0) {
		log_warnx("%s: reload failed, the old keys and rules stay: %s",
		    g->cf.who, cause);
		free(cause);
		return;
	}
	guard_describe(g, what, sizeof(what));
	log_info("%s: reloaded: %s", g->cf.who, what);
}

/*
 * Whether the sender of m may do action on service (len bytes).  A
 * refusal is counted and logged, rate-limited by kind (call, serve, a
 * key no longer let in), so that a flood of one kind hides no other;
 * the caller answers.
 */
int
guard_allows(struct guard *g, struct waha_msg *m, enum acl_action action,
    const char *service, size_t len)
{
	const struct curve_client	*c = NULL;
	const char			*name = NULL, *why;
	char				 key[CURVE_Z85_LEN + 1];
	int				 kind = 2;

	if (g == NULL || !g->check)
		return (1);
	key[0] = '\0';
	if (g->curve) {
		if (m->n < 2 || curve_msg_identity(&m->part[1], key,
		    &name) != 0)
			why = "no CURVE identity";
		else if ((c = curve_clients_find(g->clients, key)) == NULL)
			why = "the key is no longer in --clients";
		else
			goto rules;
		goto refuse;
	}
rules:
	if (g->acl == NULL || acl_check(g->acl, action, service, len,
	    c != NULL ? c->key : NULL, c != NULL ? c->name : NULL, NULL))
		return (1);
	why = "no rule allows it, or a rule denies it";
	kind = action == ACL_CALL ? 0 : 1;
refuse:
	g->refused++;
	name = c != NULL ? c->name : NULL;
	limited(&g->rl_refusal[kind], "%s: %s %.*s refused for key %s%s%s%s: %s",
	    g->cf.who, action == ACL_CALL ? "call" : "serve",
	    (int)(len > 64 ? 64 : len), service, key[0] != '\0' ? key : "-",
	    name != NULL ? " (" : "", name != NULL ? name : "",
	    name != NULL ? ")" : "", why);
	return (0);
}

/* Messages refused so far. */
uint64_t
guard_refused(const struct guard *g)
{
	return (g != NULL ? g->refused : 0);
}

/* A few words on what is on, for the startup log line. */
void
guard_describe(const struct guard *g, char *buf, size_t len)
{
	if (g == NULL || !g->check) {
		strlcpy(buf, "no CURVE, no rules", len);
		return;
	}
	if (g->curve)
		snprintf(buf, len, "CURVE, %u keys allowed, ", g->clients->n);
	else
		snprintf(buf, len, "no CURVE, ");
	if (g->acl != NULL)
		snprintf(buf + strlen(buf), len - strlen(buf), "%u rules",
		    acl_count(g->acl));
	else
		strlcat(buf, "no --acl: every key may call and serve all", len);
}
