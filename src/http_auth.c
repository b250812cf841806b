/*
 * The gateway's access control: the Host header against --allow-host
 * (421, against DNS rebinding), HTTP Basic authentication against an
 * --htpasswd file (401), and the --acl rules for its users (403).
 *
 * Password hashes are slow on purpose (yescrypt takes tens of ms), and a
 * loop that hashed each request's password would serve a few dozen
 * requests a second.  So each loop caches the credentials it has seen
 * succeed, keyed by a keyed BLAKE2b hash of the Authorization value (no
 * password is kept), for HTTP_AUTH_TTL.  Failures are not cached.
 *
 * SIGHUP reloads the password file and the rules; the loops read them
 * under a read lock and drop their caches when the generation changes.
 */
#include "config.h"

#include <arpa/inet.h>

#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>

#include "waha.h"
#include "http.h"

#define HTPASSWD_MAX_SIZE	(4 * 1024 * 1024)
#define CRED_MAX		1024	/* longest Authorization value */

struct htuser {
	char		*name;
	char		*hash;
	UT_hash_handle	 hh;
};

struct cached {
	unsigned char	 digest[32];
	char		*user;
	int64_t		 expires;	/* ms */
	UT_hash_handle	 hh;
};

struct http_auth_cache {
	struct cached	*by_digest;
	unsigned	 n;
	unsigned	 generation;
};

struct http_auth {
	const char	*htpasswd_path;
	const char	*acl_path;
	const char	**hosts;	/* --allow-host, NULL-terminated */
	int		 open_probes;
	pthread_rwlock_t lock;		/* of users, acl and generation */
	struct htuser	*users;
	struct acl	*acl;
	unsigned	 generation;
	unsigned char	 key[crypto_generichash_KEYBYTES];
};

/* Free the users of an htpasswd file. */
void
http_auth_users_free(struct htuser *users)
{
	struct htuser	*u, *tmp;

	HASH_ITER(hh, users, u, tmp) {
		HASH_DEL(users, u);
		free(u->name);
		explicit_bzero(u->hash, strlen(u->hash));
		free(u->hash);
		free(u);
	}
}

/* Whether hash is one of the formats we accept, or why not. */
static const char *
hash_check(const char *hash)
{
	static const char *const ok[] = { "$y$", "$2b$", "$2y$", "$2a$",
	    "$6$" };
	size_t	 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (strncmp(hash, ok[i], strlen(ok[i])) == 0)
			return (crypt_checksalt(hash) == CRYPT_SALT_OK ? NULL :
			    "a malformed hash");
	}
	if (strncmp(hash, "$apr1$", 6) == 0)
		return ("an Apache MD5 ($apr1$) hash, which crypt(3) cannot "
		    "check: make it with htpasswd -B (bcrypt)");
	if (strncmp(hash, "{SHA}", 5) == 0)
		return ("a {SHA} hash, which is unsalted: make it with "
		    "htpasswd -B (bcrypt)");
	return ("not a yescrypt ($y$), bcrypt ($2b$, $2y$) or sha512-crypt "
	    "($6$) hash (a plain-text password?)");
}

static int
htpasswd_line(struct htuser **users, char *s, const char *path, int line,
    char **cause)
{
	struct htuser	*u;
	const char	*why;
	char		*colon;

	if ((colon = strchr(s, ':')) == NULL || colon == s) {
		xasprintf(cause, "%s:%d: expected user:hash", path, line);
		return (-1);
	}
	*colon = '\0';
	if ((why = hash_check(colon + 1)) != NULL) {
		xasprintf(cause, "%s:%d: user %s: %s", path, line, s, why);
		return (-1);
	}
	HASH_FIND_STR(*users, s, u);
	if (u != NULL) {
		xasprintf(cause, "%s:%d: user %s a second time", path, line, s);
		return (-1);
	}
	u = xcalloc(1, sizeof(*u));
	u->name = xstrdup(s);
	u->hash = xstrdup(colon + 1);
	HASH_ADD_STR(*users, name, u);
	return (0);
}

/*
 * Parse the text of an htpasswd file (cut up in place) into users;
 * errors name path and the line.  Returns how many users, or -1.
 */
int
http_auth_users_parse(char *text, const char *path, struct htuser **users,
    char **cause)
{
	char	*s, *line;
	int	 n = 0, rc = 0;

	*users = NULL;
	for (s = text; rc == 0 && (line = util_line(&s)) != NULL;) {
		n++;
		if (*line != '\0' && *line != '#')
			rc = htpasswd_line(users, line, path, n, cause);
	}
	if (rc != 0) {
		http_auth_users_free(*users);
		*users = NULL;
		return (-1);
	}
	return ((int)HASH_COUNT(*users));
}

/* Read an htpasswd file; errors name the line. */
static int
htpasswd_load(const char *path, struct htuser **users, char **cause)
{
	char	*text;
	size_t	 len;
	int	 rc;

	if ((text = util_read_text(path, HTPASSWD_MAX_SIZE, cause)) == NULL)
		return (-1);
	len = strlen(text);
	rc = http_auth_users_parse(text, path, users, cause);
	explicit_bzero(text, len);
	free(text);
	return (rc < 0 ? -1 : 0);
}

/* Load the files of a; on failure keep what a had. */
static int
load(struct http_auth *a, char **cause)
{
	struct htuser	*users = NULL;
	struct acl	*acl = NULL;

	if (a->htpasswd_path != NULL &&
	    htpasswd_load(a->htpasswd_path, &users, cause) != 0)
		return (-1);
	if (a->acl_path != NULL &&
	    (acl = acl_load(a->acl_path, cause)) == NULL) {
		http_auth_users_free(users);
		return (-1);
	}
	pthread_rwlock_wrlock(&a->lock);
	http_auth_users_free(a->users);
	acl_free(a->acl);
	a->users = users;
	a->acl = acl;
	a->generation++;
	pthread_rwlock_unlock(&a->lock);
	return (0);
}

/*
 * Set up access control from the options: NULL paths and no hosts mean
 * none of it.  A bad file is an error with its line.
 */
struct http_auth *
http_auth_new(const char *htpasswd, const char *aclpath, const char **hosts,
    int open_probes, char **cause)
{
	struct http_auth	*a = xcalloc(1, sizeof(*a));

	if (sodium_init() < 0) {
		xasprintf(cause, "libsodium cannot start");
		free(a);
		return (NULL);
	}
	a->htpasswd_path = htpasswd;
	a->acl_path = aclpath;
	a->hosts = hosts;
	a->open_probes = open_probes;
	randombytes_buf(a->key, sizeof(a->key));
	pthread_rwlock_init(&a->lock, NULL);
	if (load(a, cause) != 0) {
		http_auth_free(a);
		return (NULL);
	}
	return (a);
}

/* Free it all; NULL does nothing. */
void
http_auth_free(struct http_auth *a)
{
	if (a == NULL)
		return;
	http_auth_users_free(a->users);
	acl_free(a->acl);
	pthread_rwlock_destroy(&a->lock);
	sodium_memzero(a->key, sizeof(a->key));
	free(a);
}

/*
 * Read the files again (SIGHUP).  Returns 1 if there is nothing to
 * reload, 0 when reloaded, -1 with a cause when a file is bad, in which
 * case the old users and rules stay.
 */
int
http_auth_reload(struct http_auth *a, char **cause)
{
	if (a == NULL || (a->htpasswd_path == NULL && a->acl_path == NULL))
		return (1);
	return (load(a, cause));
}

/* Whether a user or rules are configured: the gateway's log line. */
void
http_auth_describe(const struct http_auth *a, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", a->users != NULL ||
	    a->htpasswd_path != NULL ? ", passwords" : "",
	    a->acl != NULL ? ", ACL" : "", a->hosts != NULL ? ", host check" :
	    "");
}

/* Free a loop's cache; NULL does nothing. */
void
http_auth_cache_free(struct http_auth_cache *c)
{
	struct cached	*e, *tmp;

	if (c == NULL)
		return;
	HASH_ITER(hh, c->by_digest, e, tmp) {
		HASH_DEL(c->by_digest, e);
		free(e->user);
		free(e);
	}
	c->n = 0;
}

static void
cache_flush(struct http_auth_cache *c)
{
	http_auth_cache_free(c);
	c->by_digest = NULL;
}

/*
 * Whether host (a Host header) may be served, given the --allow-host
 * names (NULL-terminated): localhost and IP literals always may.
 */
int
http_auth_host_allowed(const char **hosts, const char *host)
{
	unsigned char	 addr[sizeof(struct in_addr)];
	char		 name[256];
	size_t		 len;
	const char	**h;

	if (host == NULL || host[0] == '[')
		return (1);	/* none (HTTP/1.0), or an IPv6 literal */
	len = strcspn(host, ":");
	if (len >= sizeof(name))
		return (0);
	memcpy(name, host, len);
	name[len] = '\0';
	if (len > 0 && name[len - 1] == '.')
		name[--len] = '\0';
	if (strcasecmp(name, "localhost") == 0 ||
	    inet_pton(AF_INET, name, addr) == 1)
		return (1);
	for (h = hosts; *h != NULL; h++) {
		if (strcasecmp(*h, name) == 0)
			return (1);
	}
	return (0);
}

/*
 * Check the Host header of r against --allow-host.  Returns 0 to go on,
 * or 421 for the caller to answer.
 */
int
http_auth_host(struct http_req *r)
{
	struct http_auth	*a = r->loop->env->auth;
	struct evkeyvalq	*in = evhttp_request_get_input_headers(r->ev);

	if (a == NULL || a->hosts == NULL ||
	    http_auth_host_allowed(a->hosts, evhttp_find_header(in, "Host")))
		return (0);
	return (421);
}

static int
equal(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b);

	return (la == lb && sodium_memcmp(a, b, la) == 0);
}

/* Check "user:password" against the file; the user, or NULL. */
static char *
verify(struct http_auth *a, char *cred)
{
	struct crypt_data	*cd;
	struct htuser		*u;
	char			*colon, *user = NULL;
	const char		*out;

	if ((colon = strchr(cred, ':')) == NULL)
		return (NULL);
	*colon = '\0';
	HASH_FIND_STR(a->users, cred, u);
	if (u == NULL)
		return (NULL);
	cd = xcalloc(1, sizeof(*cd));
	out = crypt_rn(colon + 1, u->hash, cd, sizeof(*cd));
	if (out != NULL && equal(out, u->hash))
		user = xstrdup(cred);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return (user);
}

/* The user that value (an Authorization header) proves, or NULL. */
static const char *
authenticate(struct http_auth *a, struct http_auth_cache *c,
    const char *value)
{
	struct cached	*e;
	unsigned char	 d[32];
	char		*raw, *cred, *user;
	size_t		 len;
	int64_t		 now = util_now_ms();

	if (value == NULL || strlen(value) > CRED_MAX ||
	    strncasecmp(value, "Basic ", 6) != 0)
		return (NULL);
	value += 6 + strspn(value + 6, " ");
	crypto_generichash(d, sizeof(d), (const unsigned char *)value,
	    strlen(value), a->key, sizeof(a->key));
	HASH_FIND(hh, c->by_digest, d, sizeof(d), e);
	if (e != NULL && e->expires > now)
		return (e->user);
	if ((raw = codec_b64_decode(value, strlen(value), &len)) == NULL)
		return (NULL);
	cred = xmalloc(len + 1);
	memcpy(cred, raw, len);
	cred[len] = '\0';
	sodium_memzero(raw, len);
	free(raw);
	user = memchr(cred, '\0', len) == NULL ? verify(a, cred) : NULL;
	sodium_memzero(cred, len);
	free(cred);
	if (user == NULL)
		return (NULL);
	if (e == NULL) {
		if (c->n >= HTTP_AUTH_CACHE_MAX)
			cache_flush(c);
		e = xcalloc(1, sizeof(*e));
		memcpy(e->digest, d, sizeof(d));
		HASH_ADD(hh, c->by_digest, digest, sizeof(e->digest), e);
		c->n++;
	} else
		free(e->user);
	e->user = user;
	e->expires = now + HTTP_AUTH_TTL;
	return (user);
}

/*
 * May r call service (len bytes)?  probe says that it is one of the
 * gateway's own paths, which --open-probes leaves open.  Returns 0 to go
 * on, or 401 (with its WWW-Authenticate header added to r) or 403 for
 * the caller to answer.
 */
int
http_auth_check(struct http_req *r, const char *service, size_t len,
    int probe)
{
	struct http_loop	*loop = r->loop;
	struct http_auth	*a = loop->env->auth;
	struct evkeyvalq	*in;
	const char		*user = NULL;
	int			 ok = 1, need;

	if (a == NULL || (probe && a->open_probes))
		return (0);
	if (loop->auth_cache == NULL)
		loop->auth_cache = xcalloc(1, sizeof(*loop->auth_cache));
	in = evhttp_request_get_input_headers(r->ev);
	pthread_rwlock_rdlock(&a->lock);
	if (loop->auth_cache->generation != a->generation) {
		cache_flush(loop->auth_cache);
		loop->auth_cache->generation = a->generation;
	}
	need = a->htpasswd_path != NULL;
	if (need && (user = authenticate(a, loop->auth_cache,
	    evhttp_find_header(in, "Authorization"))) == NULL)
		ok = 0;
	else if (a->acl != NULL)
		ok = acl_check(a->acl, ACL_CALL, service, len, NULL, NULL,
		    user) ? 1 : -1;
	if (ok == -1)
		log_debug("http: user %s may not call %.*s",
		    user != NULL ? user : "(none)", (int)len, service);
	pthread_rwlock_unlock(&a->lock);
	if (ok == 0)
		evhttp_add_header(evhttp_request_get_output_headers(r->ev),
		    "WWW-Authenticate",
		    "Basic realm=\"waha\", charset=\"UTF-8\"");
	return (ok == 1 ? 0 : ok == 0 ? 401 : 403);
}

/* Whether requests need credentials (the CORS headers say so). */
int
http_auth_credentials(const struct http_auth *a)
{
	return (a != NULL && a->htpasswd_path != NULL);
}
