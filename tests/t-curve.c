/*
 * Unit tests of curve.c and curve_zap.c: certificates as czmq, pyzmq and
 * waha-keygen write them (keys with '#' in them), bare keys, bad files
 * with their line, the secret file's mode, the clients directory; then
 * real sockets in one thread: an allowed key gets through with its
 * User-Id and name, an unknown key and a client without CURVE are
 * refused, a server without a ZAP handler lets no one in, and a wrong
 * server key fails once instead of reconnecting in a loop.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "waha.h"
#include "tap.h"

/* Written by czmq 4.2.1's zcert_save (both keys contain '#'). */
#define CZ_PUB	"3LqN<4$Q/a57jOZ/1#C?H-l(HH2=h.1pKmkxbtJ1"
#define CZ_SEC	">se^}Uo:q1x.#{4kJ$@zI3uV(($8c/u^!<U4o]Z."
#define CZ_HEAD	"#   ****  Generated on 2026-12-01 09:24:42 by CZMQ  ****\n"
static const char czmq_public[] = CZ_HEAD
    "#   ZeroMQ CURVE Public Certificate\n"
    "#   Exchange securely, or use a secure mechanism to verify the "
    "contents\n#   of this file after exchange. Store public certificates "
    "in your home\n#   directory, in the .curve subdirectory.\n\n"
    "metadata\n    name = \"alice\"\ncurve\n"
    "    public-key = \"" CZ_PUB "\"\n";
static const char czmq_secret[] = CZ_HEAD
    "#   ZeroMQ CURVE **Secret** Certificate\n"
    "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its "
    "permissions.\n\nmetadata\n    name = \"alice\"\ncurve\n"
    "    public-key = \"" CZ_PUB "\"\n"
    "    secret-key = \"" CZ_SEC "\"\n";

static char	 dir[1024];

static const char *
put(const char *name, const char *text, mode_t mode)
{
	static char	 path[1200];
	int		 fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)) == -1 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    fchmod(fd, mode) != 0 || close(fd) != 0)
		fatal("%s", path);
	return (path);
}

/* Load text as a cert; "ok" or the error, without the directory. */
static void
load_is(const char *text, int secret, mode_t mode, const char *want,
    const char *desc)
{
	struct curve_cert	 c;
	const char		*path = put("c", text, mode);
	char			*cause = NULL;
	const char		*got = "ok";

	if (curve_cert_load(path, secret, &c, &cause) != 0)
		got = cause + strlen(dir) + 1;
	else
		curve_cert_clear(&c);
	tap_is_mem(got, strlen(got), want, strlen(want), desc);
	free(cause);
}

static void
formats(void)
{
	struct curve_cert	 c;
	char			*cause = NULL;

	tap_ok(curve_cert_load(put("a", czmq_public, 0644), 0, &c, &cause)
	    == 0, "czmq's public cert loads");
	tap_is_mem(c.public_txt, strlen(c.public_txt), CZ_PUB, 40,
	    "its public key, with '#' in it");
	tap_ok(c.name != NULL && strcmp(c.name, "alice") == 0 &&
	    !c.has_secret, "its name, and no secret key");
	curve_cert_clear(&c);
	tap_ok(curve_cert_load(put("a_secret", czmq_secret, 0600), 1, &c,
	    &cause) == 0, "czmq's secret cert loads");
	tap_is_mem(c.secret_txt, strlen(c.secret_txt), CZ_SEC, 40,
	    "its secret key");
	curve_cert_clear(&c);
	load_is("metadata\n    name = Bob\ncurve\n    public-key = \""
	    CZ_PUB "\"\n", 0, 0644, "ok", "an unquoted value (pyzmq)");
	tap_ok(curve_cert_load(put("b", CZ_PUB "\n", 0644), 0, &c, &cause) == 0
	    && strcmp(c.public_txt, CZ_PUB) == 0, "a bare public key");
	curve_cert_clear(&c);
	tap_ok(curve_cert_load(put("b", "# the key\n" CZ_SEC "\r\n", 0400), 1,
	    &c, &cause) == 0 && strcmp(c.public_txt, CZ_PUB) == 0,
	    "a bare secret key, CRLF: its public key is derived");
	curve_cert_clear(&c);
	load_is("#5pR(uZn-Q6ZJ<6tH?oPyh<Z(D6&uI05ZuOc[9?I\n", 0, 0644,
	    "c: no public-key", "a line starting with '#' is a comment");
}

static void
bad_files(void)
{
	load_is(czmq_secret, 1, 0640, "c: mode 0640: group or others may "
	    "read this secret key (chmod 600 it)", "a 0640 secret is refused");
	load_is(czmq_secret, 1, 0604, "c: mode 0604: group or others may "
	    "read this secret key (chmod 600 it)", "a 0604 secret is refused");
	load_is(czmq_public, 1, 0600, "c: no secret-key",
	    "a public cert given as a secret one");
	load_is("metadata\ncurve\n    public-key = \"abc\"\n", 0, 0644,
	    "c:3: a key is 40 Z85 characters", "a short key, with its line");
	load_is("curve\n    public-key = \"" CZ_PUB "\n", 0, 0644,
	    "c:2: unterminated quoted value", "an unterminated quote");
	load_is("curve\n  public-key = \"" CZ_PUB "\"\n  public-key = \""
	    CZ_PUB "\"\n", 0, 0644, "c:3: a second key of the same kind",
	    "two public keys");
	load_is("    public-key = \"" CZ_PUB "\"\n", 0, 0644,
	    "c:1: an indented line outside a section", "no section");
	load_is("curve\n    public-key\n", 0, 0644,
	    "c:2: expected name = value", "a property without a value");
	load_is("curve public\n", 0, 0644,
	    "c:1: expected a section name or a key", "a bad section line");
	load_is("curve\n    public-key = \"" CZ_PUB "\"\n    secret-key = \""
	    "rj#GUE4-h-Z&bNKA>}9hL%w2hd{]SmsI4.i=<Ccn\"\n", 1, 0600,
	    "c: the public-key does not match the secret-key",
	    "keys that are not a pair");
	load_is("", 0, 0644, "c: no public-key", "an empty file");
	load_is("metadata\n", 0, 0644, "c: no public-key", "no key at all");
}

static void
round_trip(void)
{
	struct curve_cert	 c, pub, sec;
	struct stat		 st;
	char			 base[1200], path[1300], *cause = NULL;

	snprintf(base, sizeof(base), "%s/web", dir);
	tap_ok(curve_cert_generate(&c, "web front", &cause) == 0 &&
	    curve_cert_save(base, &c, &cause) == 0, "a new pair is saved");
	snprintf(path, sizeof(path), "%s_secret", base);
	tap_ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "the secret file has mode 0600");
	tap_ok(curve_cert_load(base, 0, &pub, &cause) == 0 &&
	    curve_cert_load(path, 1, &sec, &cause) == 0, "both load again");
	tap_ok(strcmp(pub.public_txt, c.public_txt) == 0 &&
	    strcmp(sec.secret_txt, c.secret_txt) == 0 &&
	    memcmp(sec.secret_key, c.secret_key, 32) == 0,
	    "with the same keys");
	tap_ok(pub.name != NULL && strcmp(pub.name, "web front") == 0,
	    "and the same name");
	tap_ok(curve_cert_save(base, &c, &cause) == -1 &&
	    strstr(cause, "exists already") != NULL, "no overwriting");
	free(cause);
	curve_cert_clear(&c);
	curve_cert_clear(&pub);
	curve_cert_clear(&sec);
	tap_ok(curve_name_check("a\"b") != NULL &&
	    curve_name_check("") != NULL && curve_name_check("ok") == NULL,
	    "names without quotes, not empty");
}

static void
clients(void)
{
	struct curve_clients		*cl;
	const struct curve_client	*c;
	char				 path[1200], *cause = NULL;

	snprintf(path, sizeof(path), "%s/clients", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/clients/sub", dir);
	mkdir(path, 0755);
	put("clients/alice", czmq_public, 0644);
	put("clients/alice_secret", "garbage", 0600);
	put("clients/sub/bob", "rj#GUE4-h-Z&bNKA>}9hL%w2hd{]SmsI4.i=<Ccn\n",
	    0644);
	snprintf(path, sizeof(path), "%s/clients", dir);
	cl = curve_clients_load(path, &cause);
	tap_ok(cl != NULL && cl->n == 2,
	    "a clients directory: two certs, *_secret skipped, recursive");
	c = curve_clients_find(cl, CZ_PUB);
	tap_ok(c != NULL && c->name != NULL && strcmp(c->name, "alice") == 0,
	    "a key is found with its name");
	tap_ok(curve_clients_find(cl, CZ_SEC) == NULL, "an unknown key is not");
	curve_clients_free(cl);
	put("clients/again", czmq_public, 0644);
	tap_ok(curve_clients_load(path, &cause) == NULL &&
	    strstr(cause, "the same key as") != NULL, "a key twice is refused");
	free(cause);
	cause = NULL;
	put("clients/again", "nonsense = 1\n", 0644);
	tap_ok(curve_clients_load(path, &cause) == NULL &&
	    strstr(cause, "again:1: expected") != NULL,
	    "a bad cert in the directory names file and line");
	free(cause);
}

struct net {
	void			*ctx, *server, *client, *cmon;
	struct curve_zap	*zap;
	struct curve_clients	 cl;
	char			 ep[128];
};

/* Poll server, zap and client monitor for ms; what the server got. */
static int
pump(struct net *n, int ms, struct waha_msg *got, int *fail)
{
	zmq_pollitem_t		 it[3];
	struct curve_zap_event	 zev;
	struct curve_event	 ev;
	struct waha_msg		 m;
	int64_t			 end = util_now_ms() + ms;
	int			 ni = 0, rc = 0;

	it[ni++] = (zmq_pollitem_t){ n->server, 0, ZMQ_POLLIN, 0 };
	it[ni++] = (zmq_pollitem_t){ n->cmon, 0, ZMQ_POLLIN, 0 };
	if (n->zap != NULL)
		it[ni++] = (zmq_pollitem_t){ curve_zap_socket(n->zap), 0,
		    ZMQ_POLLIN, 0 };
	frames_init(&m);
	while (rc == 0 && util_now_ms() < end) {
		zmq_poll(it, ni, end - util_now_ms());
		while (n->zap != NULL && curve_zap_process(n->zap, &zev) > 0)
			;
		while (frames_recv(&m, n->cmon, ZMQ_DONTWAIT, 2) == 0) {
			if (curve_monitor_parse(&m, &ev) == 0 &&
			    ev.fail != CURVE_FAIL_NONE)
				(*fail == 0 ? (void)(*fail = ev.fail) :
				    (void)(*fail += 100));
		}
		if (frames_recv(got, n->server, ZMQ_DONTWAIT, 8) == 0)
			rc = 1;
	}
	frames_free(&m);
	return (rc);
}

static void
net_open(struct net *n, int with_zap, const struct curve_cert *srv,
    const struct curve_cert *srv_seen, const struct curve_cert *own)
{
	char	*cause = NULL;
	size_t	 len = sizeof(n->ep);

	memset(n, 0, sizeof(*n));
	n->ctx = zmq_ctx_new();
	if (with_zap && (n->zap = curve_zap_new(n->ctx, &cause)) == NULL)
		fatalx("%s", cause);
	n->server = util_socket(n->ctx, ZMQ_ROUTER);
	if (curve_server_setup(n->server, srv, &cause) != 0 ||
	    zmq_bind(n->server, "tcp://127.0.0.1:*") != 0)
		fatalx("server: %s", cause);
	zmq_getsockopt(n->server, ZMQ_LAST_ENDPOINT, n->ep, &len);
	n->client = util_socket(n->ctx, ZMQ_DEALER);
	if (own != NULL && curve_client_setup(n->client, own, srv_seen,
	    CURVE_ONCE, &cause) != 0)
		fatalx("client: %s", cause);
	zmq_socket_monitor(n->client, "inproc://cmon", curve_monitor_events());
	n->cmon = util_socket(n->ctx, ZMQ_PAIR);
	zmq_connect(n->cmon, "inproc://cmon");
	zmq_connect(n->client, n->ep);
	zmq_send(n->client, "hello", 5, ZMQ_DONTWAIT);
}

static void
net_close(struct net *n)
{
	zmq_socket_monitor(n->client, NULL, 0);
	util_close(&n->cmon, 0);
	util_close(&n->client, 0);
	util_close(&n->server, 0);
	curve_zap_free(n->zap);
	zmq_ctx_term(n->ctx);
}

static void
sockets(void)
{
	struct curve_cert	 srv, good, bad;
	struct curve_client	 entry;
	struct waha_msg		 got;
	struct net		 n;
	const char		*name;
	char			 key[41], *cause = NULL;
	int			 fail;

	curve_cert_generate(&srv, NULL, &cause);
	curve_cert_generate(&good, "good", &cause);
	curve_cert_generate(&bad, NULL, &cause);
	frames_init(&got);

	net_open(&n, 1, &srv, &srv, &good);
	memset(&entry, 0, sizeof(entry));
	memcpy(entry.key, good.public_txt, sizeof(entry.key));
	entry.name = good.name;
	HASH_ADD_STR(n.cl.by_key, key, &entry);
	curve_zap_set_clients(n.zap, &n.cl);
	fail = 0;
	tap_ok(pump(&n, 5000, &got, &fail) && got.n == 2 &&
	    frames_is(&got, 1, "hello"), "an allowed key gets through");
	tap_ok(curve_msg_identity(&got.part[1], key, &name) == 0 &&
	    strcmp(key, good.public_txt) == 0 && name != NULL &&
	    strcmp(name, "good") == 0, "frame 1 has its User-Id and name");
	HASH_CLEAR(hh, n.cl.by_key);
	net_close(&n);

	net_open(&n, 1, &srv, &srv, &bad);
	fail = 0;
	tap_ok(!pump(&n, 1500, &got, &fail), "an unknown key gets nothing");
	tap_is_int(fail, CURVE_FAIL_AUTH,
	    "its client sees one authentication failure");
	net_close(&n);

	net_open(&n, 0, &srv, &srv, &good);
	fail = 0;
	tap_ok(!pump(&n, 1000, &got, &fail),
	    "without a ZAP handler no key gets in");
	net_close(&n);

	net_open(&n, 1, &srv, &bad, &good);
	fail = 0;
	tap_ok(!pump(&n, 1500, &got, &fail), "a wrong server key: nothing");
	tap_is_int(fail, CURVE_FAIL_NO_DETAIL,
	    "one handshake failure, no reconnect storm");
	net_close(&n);

	net_open(&n, 1, &srv, NULL, NULL);
	fail = 0;
	tap_ok(!pump(&n, 1000, &got, &fail), "a client without CURVE: nothing");
	net_close(&n);

	frames_free(&got);
	curve_cert_clear(&srv);
	curve_cert_clear(&good);
	curve_cert_clear(&bad);
}

static void
ratelimit(void)
{
	struct curve_ratelimit	 rl = { 0, 0, 0 };
	unsigned		 sup, i, logged = 0;

	for (i = 0; i < 25; i++)
		logged += curve_ratelimit(&rl, 1000, &sup);
	tap_is_int(logged, CURVE_LOG_BURST, "a burst is cut at the limit");
	tap_ok(curve_ratelimit(&rl, 1000 + CURVE_LOG_WINDOW, &sup) == 1 &&
	    sup == 25 - CURVE_LOG_BURST, "the next window says how many were "
	    "not logged");
}

int
main(void)
{
	char	 cmd[1200];

	snprintf(dir, sizeof(dir), "%s/t-curve.XXXXXX",
	    getenv("WAHA_SCRATCH") != NULL ? getenv("WAHA_SCRATCH") : "/tmp");
	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp");
	TAP_PLAN(43);
	formats();
	bad_files();
	round_trip();
	clients();
	sockets();
	ratelimit();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	TAP_DONE();
}
