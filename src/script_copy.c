/*
 * The pipes of waha-service-script's persistent copies: a request line
 * written to a copy's stdin without blocking, the reply line read from its
 * stdout (codec_json_reply says what it is), and its stderr logged line by
 * line, each cut to a length and so many a second.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "waha.h"
#include "script.h"

/* Bytes read from a copy's pipe at a time. */
#define SCRIPT_READ	16384

/*
 * Write what is left of the request line.  A copy whose stdin is closed
 * cannot serve: it is killed, and its request fails when it is gone.
 */
void
script_copy_write(struct script_env *env, struct script_copy *c)
{
	ssize_t	 n;

	if (c->in == NULL)
		return;
	n = write(c->fd[SCRIPT_IN], c->in + c->in_off, c->in_len - c->in_off);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1) {
		log_warnx("script: copy %u: its stdin: %s", c->idx,
		    strerror(errno));
		script_copy_kill(env, c, 0);
		return;
	}
	if ((c->in_off += n) < c->in_len)
		return;
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_off = 0;
}

/* A whole reply line is in c->out: answer the copy's request with it. */
static void
reply_line(struct script_env *env, struct script_copy *c)
{
	struct script_run	*run = c->run;
	struct waha_msg		 fields;
	char			*reason, *cause = NULL;
	int			 st;

	frames_init(&fields);
	st = codec_json_reply(&fields, c->out.data, c->out.len, &reason,
	    &cause);
	c->out.len = 0;
	if (st == 200) {
		c->run = NULL;
		env->nrunning--;
		c->quick = 0;
		log_debug("script: request %llu: copy %u, %zu fields "
		    "(%.1f ms)", (unsigned long long)run->seq, c->idx,
		    fields.n, (util_now_us() - run->started) / 1000.0);
		if (worker_reply(env->ws, &run->token, &fields) != 0)
			log_warnx("script: request %llu: reply lost: %s",
			    (unsigned long long)run->seq, zmq_strerror(errno));
		script_exec_free(run);
	} else if (st != -1) {
		c->quick = 0;
		script_copy_fail(env, c, st, reason);
	} else {
		script_copy_fail(env, c, 500, cause);
		log_warnx("script: copy %u (pid %ld): bad reply line, "
		    "restarting it", c->idx, (long)c->pid);
		script_copy_kill(env, c, 1);
	}
	if (c->in != NULL && c->fd[SCRIPT_IN] != -1) {
		log_warnx("script: copy %u (pid %ld): replied before it read "
		    "the whole request, restarting it", c->idx, (long)c->pid);
		script_copy_kill(env, c, 1);
	}
	frames_free(&fields);
	free(reason);
	free(cause);
}

/* Append len bytes to b. */
static void
append(struct script_buf *b, const char *p, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = b->len + len < 4096 ? 4096 : (b->len + len) * 2;
		b->data = xreallocarray(b->data, b->cap, 1);
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
}

/*
 * Split what a copy wrote on stdout into reply lines.  Anything but one
 * line for the request it serves (output while it serves none, a line
 * over --max-output) means the stream is out of step: the copy is
 * killed.  More lines right after a reply are that request's doing, as
 * far as restarts go; output out of the blue is the program's.  Returns
 * 0 when it should be read again.
 */
static int
lines_out(struct script_env *env, struct script_copy *c, const char *p,
    size_t len)
{
	const char	*nl;
	size_t		 take;
	char		 why[128];
	int		 replied = 0;

	while (len > 0) {
		nl = memchr(p, '\n', len);
		take = nl != NULL ? (size_t)(nl - p) : len;
		if (c->run == NULL) {
			log_warnx("script: copy %u (pid %ld): output while it "
			    "serves no request, restarting it", c->idx,
			    (long)c->pid);
			script_copy_kill(env, c, replied);
			return (-1);
		}
		if (c->out.len + take > env->max_output) {
			snprintf(why, sizeof(why), "reply line over %zu bytes",
			    env->max_output);
			script_copy_fail(env, c, 500, why);
			script_copy_kill(env, c, 1);
			return (-1);
		}
		append(&c->out, p, take);
		if (nl == NULL)
			break;
		reply_line(env, c);
		replied = 1;
		if (c->fd[SCRIPT_OUT] == -1)
			return (-1);
		p += take + 1;
		len -= take + 1;
	}
	if (c->out.len == 0 && c->out.cap > 65536) {
		free(c->out.data);
		memset(&c->out, 0, sizeof(c->out));
	}
	return (0);
}

/*
 * Say how many stderr lines of the copy went unlogged in a second that
 * is over.
 */
void
script_copy_dropped(struct script_copy *c, int64_t now)
{
	if (now / 1000 == c->err_second)
		return;
	if (c->err_dropped > 0)
		log_warnx("script: copy %u: %u lines of stderr not logged",
		    c->idx, c->err_dropped);
	c->err_second = now / 1000;
	c->err_lines = c->err_dropped = 0;
}

/* Log a line of a copy's stderr, within the rate limit. */
static void
log_err(struct script_copy *c)
{
	size_t	 i;

	script_copy_dropped(c, util_now_ms());
	if (c->err_lines++ >= SCRIPT_ERR_RATE) {
		c->err_dropped++;
		c->err.len = 0;
		return;
	}
	for (i = 0; i < c->err.len; i++) {
		if ((unsigned char)c->err.data[i] < 0x20 ||
		    c->err.data[i] == 0x7f)
			c->err.data[i] = '?';
	}
	log_warnx("script: copy %u (pid %ld): %.*s", c->idx, (long)c->pid,
	    (int)c->err.len, c->err.data);
	c->err.len = 0;
}

/* Cut what a copy wrote on stderr into lines, each cut to a length. */
static void
lines_err(struct script_copy *c, const char *p, size_t len)
{
	const char	*nl;
	size_t		 take, room;

	while (len > 0) {
		nl = memchr(p, '\n', len);
		take = nl != NULL ? (size_t)(nl - p) : len;
		room = SCRIPT_ERR_LINE - c->err.len;
		append(&c->err, p, take < room ? take : room);
		if (nl == NULL)
			break;
		log_err(c);
		p += take + 1;
		len -= take + 1;
	}
}

/*
 * Read a copy's stdout or stderr once.  Returns 1 if it should be read
 * again, 0 if not now, -1 at its end (the pipe is closed).
 */
int
script_copy_read(struct script_env *env, struct script_copy *c, int which)
{
	char	 buf[SCRIPT_READ];
	ssize_t	 n;

	n = read(c->fd[which], buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return (0);
	if (n > 0 && which == SCRIPT_ERR) {
		lines_err(c, buf, n);
		return (1);
	}
	if (n > 0)
		return (lines_out(env, c, buf, n) == 0);
	close(c->fd[which]);
	c->fd[which] = -1;
	if (which == SCRIPT_ERR)
		script_copy_flush(c);
	return (-1);
}

/* Log what is left of a copy's last stderr line. */
void
script_copy_flush(struct script_copy *c)
{
	if (c->err.len > 0)
		log_err(c);
}

