/*
 * CURVE keys: reading and writing certificates in czmq's zcert format,
 * and the socket options of the two sides of a CURVE connection.
 *
 * A zcert file is ZPL text (ZeroMQ RFC 4): a "metadata" section with
 * name = "value" lines and a "curve" section with public-key and, in the
 * NAME_secret file, secret-key, both 40 Z85 characters in quotes.  Z85
 * uses '#', so '#' starts a comment only as a line's first non-blank
 * character, never inside a line.  (A key cannot start with '#': the
 * first character of each 5-character group encodes at most 82.)  A
 * line of exactly 40 Z85 characters is a bare key, as curve_keygen
 * prints them.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "waha.h"

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN	93	/* DRAFT in zmq.h, always handled */
#endif
#ifndef ZMQ_RECONNECT_STOP
#define ZMQ_RECONNECT_STOP	109
#define ZMQ_RECONNECT_STOP_HANDSHAKE_FAILED 0x2
#endif

#define CERT_MAX_SIZE	65536
#define Z85_CHARS	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"

enum section {
	SEC_TOP,
	SEC_METADATA,
	SEC_CURVE,
	SEC_OTHER
};

struct parse {
	const char		*path;
	int			 line;
	int			 secret;	/* reading a NAME_secret file */
	enum section		 sec;
	int			 bare;		/* bare keys seen */
	char			 pub[CURVE_Z85_LEN + 1];
	char			 sec_txt[CURVE_Z85_LEN + 1];
	char			*name;
};

static int
fail(char **cause, struct parse *p, const char *what)
{
	if (p->line > 0)
		xasprintf(cause, "%s:%d: %s", p->path, p->line, what);
	else
		xasprintf(cause, "%s: %s", p->path, what);
	return (-1);
}

/* Whether s (len bytes) is a Z85 key that decodes. */
static int
is_z85_key(const char *s, size_t len)
{
	uint8_t	 bin[CURVE_KEY_LEN];
	char	 txt[CURVE_Z85_LEN + 1];

	if (len != CURVE_Z85_LEN || strspn(s, Z85_CHARS) < len)
		return (0);
	memcpy(txt, s, len);
	txt[len] = '\0';
	return (zmq_z85_decode(bin, txt) != NULL);
}

/* Keep a key value: public-key or secret-key, or a bare key line. */
static int
set_key(struct parse *p, char *dst, const char *v, size_t len, char **cause)
{
	if (!is_z85_key(v, len))
		return (fail(cause, p, "a key is 40 Z85 characters"));
	if (*dst != '\0')
		return (fail(cause, p, "a second key of the same kind"));
	memcpy(dst, v, len);
	dst[len] = '\0';
	return (0);
}

/* The value of a name = value line: quoted, or bare to the end. */
static int
value(struct parse *p, char *s, char **v, size_t *len, char **cause)
{
	char	*end;

	s += strspn(s, " \t");
	if (*s == '"' || *s == '\'') {
		if ((end = strchr(s + 1, *s)) == NULL)
			return (fail(cause, p, "unterminated quoted value"));
		if (end[1 + strspn(end + 1, " \t")] != '\0')
			return (fail(cause, p, "text after a quoted value"));
		*v = s + 1;
		*len = end - (s + 1);
		return (0);
	}
	*v = s;
	*len = strlen(s);
	while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
		(*len)--;
	return (0);
}

/* An indented name = value line inside a section. */
static int
property(struct parse *p, char *s, char **cause)
{
	char	*eq, *v;
	size_t	 nlen, vlen;

	if ((eq = strchr(s, '=')) == NULL)
		return (fail(cause, p, "expected name = value"));
	nlen = eq - s;
	while (nlen > 0 && (s[nlen - 1] == ' ' || s[nlen - 1] == '\t'))
		nlen--;
	if (value(p, eq + 1, &v, &vlen, cause) != 0)
		return (-1);
	if (p->sec == SEC_CURVE && nlen == 10 &&
	    memcmp(s, "public-key", 10) == 0)
		return (set_key(p, p->pub, v, vlen, cause));
	if (p->sec == SEC_CURVE && nlen == 10 &&
	    memcmp(s, "secret-key", 10) == 0)
		return (set_key(p, p->sec_txt, v, vlen, cause));
	if (p->sec == SEC_METADATA && nlen == 4 && memcmp(s, "name", 4) == 0) {
		if (vlen > WAHA_NAME_MAX)
			return (fail(cause, p, "the name is over 255 bytes"));
		free(p->name);
		p->name = xstrndup(v, vlen);
	}
	return (0);
}

static int
parse_line(struct parse *p, char *s, char **cause)
{
	char	*t = s + strspn(s, " \t");
	size_t	 len = strlen(t);

	while (len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\t'))
		t[--len] = '\0';
	if (len == 0 || *t == '#')
		return (0);
	if (len == CURVE_Z85_LEN && strspn(t, Z85_CHARS) == len) {
		p->bare++;
		return (set_key(p, p->secret ? p->sec_txt : p->pub, t, len,
		    cause));
	}
	if (t != s) {
		if (p->sec == SEC_TOP)
			return (fail(cause, p, "an indented line outside a "
			    "section"));
		return (property(p, t, cause));
	}
	if (strcmp(s, "metadata") == 0)
		p->sec = SEC_METADATA;
	else if (strcmp(s, "curve") == 0)
		p->sec = SEC_CURVE;
	else if (strchr(s, '=') != NULL || strchr(s, ' ') != NULL)
		return (fail(cause, p, "expected a section name or a key"));
	else
		p->sec = SEC_OTHER;
	return (0);
}

/* Check what a file gave: the keys it must have, and that they agree. */
static int
finish(struct parse *p, struct curve_cert *cert, char **cause)
{
	char	 derived[CURVE_Z85_LEN + 1];

	p->line = 0;
	if (p->secret && p->sec_txt[0] == '\0')
		return (fail(cause, p, "no secret-key"));
	if (!p->secret && p->pub[0] == '\0')
		return (fail(cause, p, "no public-key"));
	if (p->secret) {
		if (zmq_curve_public(derived, p->sec_txt) != 0)
			return (fail(cause, p, "the secret-key is not valid"));
		if (p->pub[0] != '\0' && strcmp(derived, p->pub) != 0)
			return (fail(cause, p, "the public-key does not match "
			    "the secret-key"));
		memcpy(p->pub, derived, sizeof(derived));
	}
	memset(cert, 0, sizeof(*cert));
	memcpy(cert->public_txt, p->pub, sizeof(cert->public_txt));
	zmq_z85_decode(cert->public_key, cert->public_txt);
	if (p->secret) {
		memcpy(cert->secret_txt, p->sec_txt, sizeof(cert->secret_txt));
		zmq_z85_decode(cert->secret_key, cert->secret_txt);
		cert->has_secret = 1;
	}
	cert->name = p->name;
	p->name = NULL;
	return (0);
}

/* Open path; a secret must be a regular file only its owner may read. */
static int
open_cert(struct parse *p, char **cause)
{
	struct stat	 st;
	char		 msg[128];
	int		 fd;

	if ((fd = open(p->path, O_RDONLY | O_CLOEXEC)) == -1)
		return (fail(cause, p, strerror(errno)));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return (fail(cause, p, "not a regular file"));
	}
	if (p->secret && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		close(fd);
		snprintf(msg, sizeof(msg), "mode %04o: group or others may "
		    "read this secret key (chmod 600 it)",
		    (unsigned)(st.st_mode & 07777));
		return (fail(cause, p, msg));
	}
	return (fd);
}

/*
 * Parse a certificate from text (NUL-terminated, cut up in place) into
 * cert, a secret one or a public one; errors name path and the line.
 */
int
curve_cert_parse(char *text, const char *path, int secret,
    struct curve_cert *cert, char **cause)
{
	struct parse	 p;
	char		*s, *line;
	int		 rc = 0;

	memset(&p, 0, sizeof(p));
	p.path = path;
	p.secret = secret;
	for (s = text; rc == 0 && (line = util_line(&s)) != NULL;) {
		p.line++;
		rc = parse_line(&p, line, cause);
	}
	if (rc == 0)
		rc = finish(&p, cert, cause);
	explicit_bzero(p.sec_txt, sizeof(p.sec_txt));
	free(p.name);
	return (rc);
}

/*
 * Read the certificate at path into cert: a secret one (secret != 0,
 * which must have mode 0600 or stricter) or a public one.  Errors name
 * the file and the line.
 */
int
curve_cert_load(const char *path, int secret, struct curve_cert *cert,
    char **cause)
{
	struct parse	 p;
	char		*buf;
	size_t		 len;
	int		 fd, rc;

	memset(&p, 0, sizeof(p));
	p.path = path;
	p.secret = secret;
	if ((fd = open_cert(&p, cause)) == -1)
		return (-1);
	buf = util_read_fd(fd, path, CERT_MAX_SIZE, cause);
	close(fd);
	if (buf == NULL)
		return (-1);
	len = strlen(buf);
	rc = curve_cert_parse(buf, path, secret, cert, cause);
	explicit_bzero(buf, len);
	free(buf);
	return (rc);
}

/* Forget a certificate's keys and free its name. */
void
curve_cert_clear(struct curve_cert *cert)
{
	free(cert->name);
	explicit_bzero(cert, sizeof(*cert));
}

/* A new key pair, with an optional metadata name. */
int
curve_cert_generate(struct curve_cert *cert, const char *name, char **cause)
{
	memset(cert, 0, sizeof(*cert));
	if (zmq_curve_keypair(cert->public_txt, cert->secret_txt) != 0) {
		xasprintf(cause, "zmq_curve_keypair: %s", zmq_strerror(errno));
		return (-1);
	}
	zmq_z85_decode(cert->public_key, cert->public_txt);
	zmq_z85_decode(cert->secret_key, cert->secret_txt);
	cert->has_secret = 1;
	cert->name = name != NULL ? xstrdup(name) : NULL;
	return (0);
}

/* Whether name can be a metadata name: printable, no quotes, <= 255. */
const char *
curve_name_check(const char *name)
{
	const unsigned char	*u = (const unsigned char *)name;

	if (*u == '\0')
		return ("a name is not empty");
	if (strlen(name) > WAHA_NAME_MAX)
		return ("a name is at most 255 bytes");
	for (; *u != '\0'; u++) {
		if (*u < 0x20 || *u == 0x7f || *u == '"')
			return ("a name has no control characters or '\"'");
	}
	return (NULL);
}

static int
write_one(const char *path, const struct curve_cert *cert, int secret,
    char **cause)
{
	FILE	*f;
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    secret ? 0600 : 0644)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (secret)
		fchmod(fd, 0600);	/* whatever the umask */
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	fprintf(f, "#   ZeroMQ CURVE %s certificate, made by waha-keygen\n",
	    secret ? "**secret**" : "public");
	fprintf(f, "#   %s\n\n", secret ?
	    "Keep it secret: mode 0600, never copied to another host." :
	    "Give it to the peers that must know this key.");
	fprintf(f, "metadata\n");
	if (cert->name != NULL)
		fprintf(f, "    name = \"%s\"\n", cert->name);
	fprintf(f, "curve\n    public-key = \"%s\"\n", cert->public_txt);
	if (secret)
		fprintf(f, "    secret-key = \"%s\"\n", cert->secret_txt);
	if (fclose(f) != 0) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	return (0);
}

/*
 * Write cert as czmq does: base (public) and base_secret (mode 0600).
 * Neither may exist already; on failure neither is left behind.
 */
int
curve_cert_save(const char *base, const struct curve_cert *cert,
    char **cause)
{
	char	*secret;
	int	 rc = -1;

	xasprintf(&secret, "%s_secret", base);
	if (access(base, F_OK) == 0 || access(secret, F_OK) == 0) {
		xasprintf(cause, "%s exists already, not overwritten",
		    access(base, F_OK) == 0 ? base : secret);
		goto out;
	}
	if (write_one(secret, cert, 1, cause) != 0)
		goto out;
	if (write_one(base, cert, 0, cause) != 0) {
		unlink(secret);
		goto out;
	}
	rc = 0;
out:
	free(secret);
	return (rc);
}

static int
setopt(void *sock, int opt, const void *v, size_t len, const char *what,
    char **cause)
{
	if (zmq_setsockopt(sock, opt, v, len) == 0)
		return (0);
	xasprintf(cause, "%s: %s", what, zmq_strerror(errno));
	return (-1);
}

/*
 * Make sock a CURVE server with the secret cert: the binds that follow
 * use CURVE, and every handshake goes to the ZAP handler of domain
 * WAHA_ZAP_DOMAIN, refused if there is none (ZMQ_ZAP_ENFORCE_DOMAIN:
 * without it libzmq lets every key in when no handler is bound).
 */
int
curve_server_setup(void *sock, const struct curve_cert *cert, char **cause)
{
	int	 one = 1;

	if (!cert->has_secret) {
		xasprintf(cause, "a CURVE server needs a secret key");
		return (-1);
	}
	if (setopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one),
	    "ZMQ_CURVE_SERVER", cause) != 0 ||
	    setopt(sock, ZMQ_CURVE_SECRETKEY, cert->secret_key, CURVE_KEY_LEN,
	    "ZMQ_CURVE_SECRETKEY", cause) != 0 ||
	    setopt(sock, ZMQ_ZAP_DOMAIN, WAHA_ZAP_DOMAIN,
	    strlen(WAHA_ZAP_DOMAIN), "ZMQ_ZAP_DOMAIN", cause) != 0 ||
	    setopt(sock, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof(one),
	    "ZMQ_ZAP_ENFORCE_DOMAIN", cause) != 0)
		return (-1);
	return (0);
}

/*
 * Make sock a CURVE client of the server whose public cert is server,
 * with its own secret cert: the connects that follow use CURVE.  A
 * handshake must end within CURVE_HANDSHAKE_IVL.  With CURVE_ONCE a
 * failed handshake is not retried (for a one-shot client that reports
 * it); otherwise reconnects back off up to CURVE_RECONNECT_MAX.
 */
int
curve_client_setup(void *sock, const struct curve_cert *own,
    const struct curve_cert *server, int flags, char **cause)
{
	int	 ivl = CURVE_HANDSHAKE_IVL, max = CURVE_RECONNECT_MAX;
	int	 stop = ZMQ_RECONNECT_STOP_HANDSHAKE_FAILED;

	if (!own->has_secret) {
		xasprintf(cause, "a CURVE client needs its own secret key");
		return (-1);
	}
	if (setopt(sock, ZMQ_CURVE_SERVERKEY, server->public_key,
	    CURVE_KEY_LEN, "ZMQ_CURVE_SERVERKEY", cause) != 0 ||
	    setopt(sock, ZMQ_CURVE_PUBLICKEY, own->public_key, CURVE_KEY_LEN,
	    "ZMQ_CURVE_PUBLICKEY", cause) != 0 ||
	    setopt(sock, ZMQ_CURVE_SECRETKEY, own->secret_key, CURVE_KEY_LEN,
	    "ZMQ_CURVE_SECRETKEY", cause) != 0 ||
	    setopt(sock, ZMQ_HANDSHAKE_IVL, &ivl, sizeof(ivl),
	    "ZMQ_HANDSHAKE_IVL", cause) != 0)
		return (-1);
	if (flags & CURVE_ONCE)
		return (setopt(sock, ZMQ_RECONNECT_STOP, &stop, sizeof(stop),
		    "ZMQ_RECONNECT_STOP", cause));
	return (setopt(sock, ZMQ_RECONNECT_IVL_MAX, &max, sizeof(max),
	    "ZMQ_RECONNECT_IVL_MAX", cause));
}

/*
 * Read a client's certs: its own secret one at secret and the server's
 * public one at server.  On failure neither is left filled.
 */
int
curve_client_certs(const char *secret, const char *server,
    struct curve_cert *own, struct curve_cert *srv, char **cause)
{
	if (curve_cert_load(secret, 1, own, cause) != 0)
		return (-1);
	if (curve_cert_load(server, 0, srv, cause) != 0) {
		curve_cert_clear(own);
		return (-1);
	}
	return (0);
}
