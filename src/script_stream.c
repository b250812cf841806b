/*
 * Streamed runs of waha-service-script (DESIGN.md 2.7): for a request
 * with stream=1 the program's stdout goes to the broker as partials as
 * soon as there is some, a partial when SCRIPT_STREAM_CHUNK bytes are
 * pending or SCRIPT_STREAM_DELAY ms after the first pending byte, so
 * that a program printing a line at a time shows each line.  What is
 * read never exceeds the credit the broker has given: once it is used
 * up the pipe is not read, the program blocks in write(2), and a slow
 * client costs no memory here.  Its stderr and exit status still come
 * in the final reply, as for any request.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "waha.h"
#include "script.h"

/* How many bytes of stdout run may read now: within chunk and credit. */
size_t
script_stream_room(const struct script_run *run)
{
	size_t		 len = run->out[SCRIPT_OUT].len;
	long long	 credit = run->credit - (long long)len;

	if (len >= SCRIPT_STREAM_CHUNK || credit <= 0)
		return (0);
	return (credit < (long long)(SCRIPT_STREAM_CHUNK - len) ?
	    (size_t)credit : SCRIPT_STREAM_CHUNK - len);
}

/* Send what stdout has pending as a partial (its buffer moves along). */
void
script_stream_flush(struct script_env *env, struct script_run *run)
{
	struct script_buf	*b = &run->out[SCRIPT_OUT];
	struct waha_msg		 fields;
	size_t			 len = b->len;

	run->flush_at = 0;
	if (len == 0)
		return;
	frames_init(&fields);
	script_add_output(&fields, b);
	if (worker_partial(env->ws, &run->token, &fields) != 0)
		log_debug("script: request %llu: partial lost: %s",
		    (unsigned long long)run->seq, zmq_strerror(errno));
	frames_free(&fields);
	run->credit -= (long long)len;
	log_trace("script: request %llu: %zu bytes streamed, credit %lld",
	    (unsigned long long)run->seq, len, run->credit);
}

/* Read the stdout of a streamed run, as much as its room allows. */
void
script_stream_read(struct script_env *env, struct script_run *run)
{
	struct script_buf	*b = &run->out[SCRIPT_OUT];
	size_t			 room = script_stream_room(run);
	ssize_t			 n;

	if (room == 0)
		return;
	if (b->data == NULL) {
		b->data = xmalloc(SCRIPT_STREAM_CHUNK);
		b->cap = SCRIPT_STREAM_CHUNK;
	}
	n = read(run->fd[SCRIPT_OUT], b->data + b->len, room);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(run->fd[SCRIPT_OUT]);
		run->fd[SCRIPT_OUT] = -1;
		script_stream_flush(env, run);
		return;
	}
	b->len += n;
	if (script_stream_room(run) == 0)
		script_stream_flush(env, run);
	else if (run->flush_at == 0)
		run->flush_at = util_now_ms() + SCRIPT_STREAM_DELAY;
}

/* CREDIT: the client of streamed run can take bytes more. */
void
script_stream_credit(struct script_run *run, long long bytes)
{
	if (!run->stream || bytes <= 0)
		return;
	run->credit = run->credit > INT64_MAX / 2 - bytes ? INT64_MAX / 2 :
	    run->credit + bytes;
}
