/*
 * Small helpers shared by every program: clocks, socket setup, the
 * endpoint file, systemd readiness and status bookkeeping.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#ifdef HAVE_GETRANDOM
#include <sys/random.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "waha.h"

const int waha_statuses[WAHA_NSTATUS] = {
	200, 400, 403, 404, 500, 501, 503, 504
};

/*
 * The decimal digits of v at out, which has room for 20, with no NUL;
 * returns how many.  For hot paths, where snprintf costs more than the
 * rest of the work.
 */
size_t
util_decimal(char *out, uint64_t v)
{
	char	 rev[20];
	size_t	 n = 0, i;

	do {
		rev[n++] = (char)('0' + v % 10);
	} while ((v /= 10) > 0);
	for (i = 0; i < n; i++)
		out[i] = rev[n - 1 - i];
	return (n);
}

/* Monotonic time in milliseconds. */
int64_t
util_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Monotonic time in microseconds. */
int64_t
util_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/* Index of status in waha_statuses, or -1. */
int
util_status_index(int status)
{
	int	 i;

	for (i = 0; i < WAHA_NSTATUS; i++) {
		if (waha_statuses[i] == status)
			return (i);
	}
	return (-1);
}

/*
 * Tell systemd the daemon is ready (Type=notify), without libsystemd: a
 * datagram "READY=1" to $NOTIFY_SOCKET.  Nothing happens if it is unset.
 */
int
util_notify_ready(void)
{
	struct sockaddr_un	 sun;
	const char		*path;
	socklen_t		 len;
	int			 fd, rc;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL || *path == '\0')
		return (0);
	if ((path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path)) {
		errno = EINVAL;
		return (-1);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	rc = sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sun,
	    len) == 7 ? 0 : -1;
	close(fd);
	/* Said once: programs we run (--keep-env) must not say it for us. */
	unsetenv("NOTIFY_SOCKET");
	return (rc);
}

/*
 * Write the last endpoint bound by sock to path, atomically, so that a
 * test or a script can learn the port the kernel chose.
 */
int
util_write_endpoint(const char *path, void *sock, char **cause)
{
	char	 ep[1024];
	size_t	 len = sizeof(ep);

	if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, ep, &len) != 0) {
		xasprintf(cause, "ZMQ_LAST_ENDPOINT: %s", zmq_strerror(errno));
		return (-1);
	}
	return (util_write_file(path, ep, cause));
}

/* Write a line of text to path through a temporary file and rename. */
int
util_write_file(const char *path, const char *text, char **cause)
{
	char	*tmp;
	FILE	*f;

	xasprintf(&tmp, "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL) {
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return (-1);
	}
	fprintf(f, "%s\n", text);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return (-1);
	}
	free(tmp);
	return (0);
}

/* Write len bytes of data as lowercase hex into out (2 * len + 1). */
void
util_hex(char *out, const void *data, size_t len)
{
	static const char	 digits[] = "0123456789abcdef";
	const unsigned char	*p = data;
	size_t			 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * len] = '\0';
}

/*
 * Create a socket with WAHA's common options: a bounded linger so no
 * exit path hangs, and high-water marks.
 */
void *
util_socket(void *ctx, int type)
{
	void	*sock;
	int	 linger = WAHA_LINGER, hwm = WAHA_HWM;

	if ((sock = zmq_socket(ctx, type)) == NULL)
		fatalx("zmq_socket: %s", zmq_strerror(errno));
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	return (sock);
}

/* Bind (bind != 0) or connect sock to url; on failure fill cause. */
int
util_attach(void *sock, int bind, const char *url, char **cause)
{
	int	 rc;

	rc = bind ? zmq_bind(sock, url) : zmq_connect(sock, url);
	if (rc != 0) {
		xasprintf(cause, "%s %s: %s", bind ? "bind" : "connect", url,
		    zmq_strerror(errno));
		return (-1);
	}
	return (0);
}

/*
 * The ROUTER socket that workers (and, for the broker, clients) talk to:
 * ZMQ_ROUTER_MANDATORY so that sends to vanished peers fail and are
 * counted, and ZMQ_MAXMSGSIZE.  Not bound yet, so that security options
 * can be set first: util_bind does that.
 */
void *
util_router(void *ctx, int max_msg_size)
{
	void	*sock;
	int64_t	 maxsize = max_msg_size;
	int	 one = 1;

	sock = util_socket(ctx, ZMQ_ROUTER);
	zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
	zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxsize, sizeof(maxsize));
	return (sock);
}

/*
 * Bind sock to url.  The endpoint actually bound goes to bound, and to
 * --endpoint-file if given.  -1 with a cause on failure.
 */
int
util_bind(void *sock, const char *url, char *bound, size_t boundlen,
    char **cause)
{
	size_t	 len = boundlen;

	if (util_attach(sock, 1, url, cause) != 0 ||
	    (cmdline.endpoint_file != NULL &&
	    util_write_endpoint(cmdline.endpoint_file, sock, cause) != 0))
		return (-1);
	if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, bound, &len) != 0)
		strlcpy(bound, url, boundlen);
	return (0);
}

/*
 * Read all of fd, a text file of at most max bytes, into a NUL-ended
 * buffer.  A NUL byte inside, or more than max bytes, is an error; the
 * cause names path.
 */
char *
util_read_fd(int fd, const char *path, size_t max, char **cause)
{
	char	*buf = xmalloc(max + 1);
	size_t	 len = 0;
	ssize_t	 n;

	while (len <= max && (n = read(fd, buf + len, max + 1 - len)) > 0)
		len += n;
	if (len <= max && n < 0)
		xasprintf(cause, "%s: %s", path, strerror(errno));
	else if (len > max)
		xasprintf(cause, "%s: over %zu bytes", path, max);
	else if (memchr(buf, '\0', len) != NULL)
		xasprintf(cause, "%s: not a text file", path);
	else {
		buf[len] = '\0';
		return (buf);
	}
	explicit_bzero(buf, len);
	free(buf);
	return (NULL);
}

/* util_read_fd of the file at path. */
char *
util_read_text(const char *path, size_t max, char **cause)
{
	char	*text;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	text = util_read_fd(fd, path, max, cause);
	close(fd);
	return (text);
}

/*
 * The next line of the text at *sp, without its LF or CRLF, and move
 * *sp past it; NULL at the end.  The text is changed in place.
 */
char *
util_line(char **sp)
{
	char	*s = *sp, *nl;
	size_t	 len;

	if (*s == '\0')
		return (NULL);
	if ((nl = strchr(s, '\n')) != NULL) {
		*nl = '\0';
		*sp = nl + 1;
	} else
		*sp = s + strlen(s);
	len = strlen(s);
	if (len > 0 && s[len - 1] == '\r')
		s[len - 1] = '\0';
	return (s);
}

/* The earlier of two deadlines, where 0 means none. */
int64_t
util_earliest(int64_t a, int64_t b)
{
	if (a == 0)
		return (b);
	if (b == 0)
		return (a);
	return (a < b ? a : b);
}

/* Close *sockp after setting its linger (ms), and clear it. */
void
util_close(void **sockp, int linger)
{
	if (*sockp == NULL)
		return;
	zmq_setsockopt(*sockp, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_close(*sockp);
	*sockp = NULL;
}

/* 64 random bits, for token counters and the like. */
uint64_t
util_random64(void)
{
	uint64_t	 v = 0;
	int		 fd;

#ifdef HAVE_GETRANDOM
	if (getrandom(&v, sizeof(v), 0) == sizeof(v))
		return (v);
#endif
	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) != -1) {
		if (read(fd, &v, sizeof(v)) != sizeof(v))
			v = 0;
		close(fd);
	}
	if (v == 0)
		v = (uint64_t)util_now_us() * 6364136223846793005ULL ^
		    (uint64_t)getpid();
	return (v);
}

/*
 * The hash of the service, worker and token tables: FNV-1a over a seed
 * drawn once at random, with a final mix, so that keys chosen by peers
 * (service names, routing ids) cannot be chosen to collide.
 */
unsigned
util_hash(const void *key, size_t len)
{
	static uint64_t		 seed;
	const unsigned char	*p = key;
	uint64_t		 h;
	size_t			 i;

	if (seed == 0)
		seed = util_random64() | 1;
	h = seed ^ 0xcbf29ce484222325ULL;
	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return ((unsigned)h);
}

/*
 * This process's resident memory in bytes, from /proc/self/statm, or -1
 * where there is no such file.
 */
long long
util_rss(void)
{
	FILE		*f;
	long long	 size, resident;
	long		 page = sysconf(_SC_PAGESIZE);
	int		 n;

	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return (-1);
	n = fscanf(f, "%lld %lld", &size, &resident);
	fclose(f);
	if (n != 2 || page <= 0 || resident < 0)
		return (-1);
	return (resident * page);
}
