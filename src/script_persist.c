/*
 * waha-service-script --persistent: -c copies of the program stay
 * running, each serving one request at a time.  A request goes to a
 * copy's stdin as one line of JSON, and the copy answers with one line on
 * its stdout (codec_json_line, codec_json_reply); its stderr goes to the
 * log.  A copy that exits, runs over a deadline or breaks the protocol
 * is killed with its process group and started again, after a growing
 * delay when it keeps exiting at start.  Every pipe is non-blocking and
 * polled by the main loop.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "waha.h"
#include "script.h"

/* Reads of each pipe of a copy that has exited, at most. */
#define SCRIPT_DRAIN	64

/* Why an option cannot go with --persistent, or NULL if none. */
const char *
script_persist_refuse(const struct script_env *env)
{
	if (env->use_stdin)
		return ("--stdin cannot go with --persistent: requests are "
		    "written to the program's stdin");
	if (env->no_stdout)
		return ("--no-stdout cannot go with --persistent: replies "
		    "are read from the program's stdout");
	if (env->with_stderr)
		return ("-e cannot go with --persistent: the program's "
		    "stderr goes to the log");
	if (env->ret_code)
		return ("-r cannot go with --persistent: a copy has no exit "
		    "status per request");
	return (NULL);
}

static void
close_fd(struct script_copy *c, int which)
{
	if (c->fd[which] != -1) {
		close(c->fd[which]);
		c->fd[which] = -1;
	}
}

static int64_t
backoff(unsigned quick)
{
	if (quick == 0)
		return (0);
	if (quick > 7)
		return (SCRIPT_BACKOFF_MAX);
	return (SCRIPT_BACKOFF << (quick - 1) < SCRIPT_BACKOFF_MAX ?
	    SCRIPT_BACKOFF << (quick - 1) : SCRIPT_BACKOFF_MAX);
}

static void
start_copy(struct script_env *env, struct script_copy *c)
{
	static const int	 want[3] = { 1, 1, 1 };
	char			 var[32];
	int			 rc;

	snprintf(var, sizeof(var), "WAHA_COPY=%u", c->idx);
	c->started = util_now_ms();
	c->blameless = 0;
	rc = script_exec_spawn(env, want, env->copy_argv, var, &c->pid, c->fd);
	if (rc == 0) {
		log_debug("script: copy %u: pid %ld", c->idx, (long)c->pid);
		return;
	}
	c->pid = 0;
	c->quick++;
	c->restart_at = c->started + backoff(c->quick);
	log_warnx("script: copy %u: cannot run %s: %s", c->idx,
	    env->program, strerror(rc));
}

/* Start the copies: the program with the predefined arguments. */
void
script_persist_init(struct script_env *env)
{
	unsigned	 i;
	int		 k;

	env->copy_argv = xcalloc(env->nargs + 2, sizeof(*env->copy_argv));
	env->copy_argv[0] = (char *)env->program;
	for (k = 0; k < env->nargs; k++)
		env->copy_argv[k + 1] = (char *)env->args[k];
	env->copies = xcalloc(env->concurrency, sizeof(*env->copies));
	for (i = 0; i < env->concurrency; i++) {
		env->copies[i].idx = i + 1;
		memset(env->copies[i].fd, -1, sizeof(env->copies[i].fd));
		start_copy(env, &env->copies[i]);
	}
}

/*
 * Kill the copy's process group: SIGTERM now, SIGKILL after the grace.
 * Its stdin and stdout are closed at once (nothing more it says can be
 * trusted); stderr stays open, to log its last words.  blameless: for
 * what its request did (a deadline, a cancel, a bad reply), which does
 * not count as an exit at start, bounded as it is by the requests.
 */
void
script_copy_kill(struct script_env *env, struct script_copy *c, int blameless)
{
	close_fd(c, SCRIPT_IN);
	close_fd(c, SCRIPT_OUT);
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_off = 0;
	c->out.len = 0;
	c->blameless = blameless;
	if (c->kill_at == 0) {
		kill(-c->pid, SIGTERM);
		c->kill_at = util_now_ms() + SCRIPT_KILL_GRACE;
	}
}

/* Whether the copy can take a request now. */
static int
idle(const struct script_copy *c)
{
	return (c->pid != 0 && c->run == NULL && c->in == NULL &&
	    c->kill_at == 0 && c->fd[SCRIPT_IN] != -1 &&
	    c->fd[SCRIPT_OUT] != -1);
}

/* Take the request off the copy and answer it with status and reason. */
void
script_copy_fail(struct script_env *env, struct script_copy *c, int status,
    const char *reason)
{
	struct script_run	*run = c->run;

	c->run = NULL;
	env->nrunning--;
	run->fail = status;
	strlcpy(run->reason, reason, sizeof(run->reason));
	script_fail(env, run);
}

static void
assign(struct script_env *env, struct script_copy *c, struct script_run *run)
{
	c->in = codec_json_line(&run->body, &c->in_len);
	c->in_off = 0;
	frames_clear(&run->body);
	c->run = run;
	env->nrunning++;
	run->started = util_now_us();
	c->deadline = env->timeout != -1 ? util_now_ms() + env->timeout : 0;
	c->deadline = util_earliest(c->deadline, run->expires);
	log_trace("script: request %llu: copy %u", (unsigned long long)run->seq,
	    c->idx);
	script_copy_write(env, c);
}

/*
 * A new request: to an idle copy at once (0), or -1 if none is idle.  A
 * request whose client's deadline has passed is dropped (0).
 */
int
script_persist_take(struct script_env *env, struct script_run *run)
{
	unsigned	 i;

	if (run->expires != 0 && run->expires <= util_now_ms()) {
		run->silent = 1;
		strlcpy(run->reason, "its client's deadline passed before it "
		    "started", sizeof(run->reason));
		script_fail(env, run);
		return (0);
	}
	for (i = 0; i < env->concurrency; i++) {
		if (idle(&env->copies[i])) {
			assign(env, &env->copies[i], run);
			return (0);
		}
	}
	return (-1);
}

/*
 * Whether every copy is waiting out a delay after exiting at start twice
 * or more in a row, so that requests waiting would wait for nothing; the
 * soonest restart goes to *ms.
 */
static int
all_down(struct script_env *env, int64_t now, int64_t *ms)
{
	struct script_copy	*c;
	unsigned		 i;

	*ms = INT64_MAX;
	for (i = 0; i < env->concurrency; i++) {
		c = &env->copies[i];
		if (c->pid != 0 || c->quick < 2)
			return (0);
		if (c->restart_at - now < *ms)
			*ms = c->restart_at - now;
	}
	return (1);
}

/*
 * Restart the copies that are due, give the waiting requests to idle
 * copies, and fail them with 503 if every copy keeps exiting at start.
 */
void
script_persist_settle(struct script_env *env)
{
	struct script_run	*run;
	struct script_copy	*c;
	char			 why[256];
	int64_t			 now = util_now_ms(), ms;
	unsigned		 i;

	for (i = 0; i < env->concurrency; i++) {
		c = &env->copies[i];
		if (c->pid == 0 && c->restart_at <= now && !env->draining)
			start_copy(env, c);
	}
	while ((run = TAILQ_FIRST(&env->waiting)) != NULL) {
		TAILQ_REMOVE(&env->waiting, run, link);
		env->nwaiting--;
		if (script_persist_take(env, run) != 0) {
			TAILQ_INSERT_HEAD(&env->waiting, run, link);
			env->nwaiting++;
			break;
		}
	}
	if (TAILQ_EMPTY(&env->waiting) || !all_down(env, now, &ms))
		return;
	snprintf(why, sizeof(why), "%s exits at start or cannot run; next "
	    "start in %lld ms", env->program, (long long)ms);
	while ((run = TAILQ_FIRST(&env->waiting)) != NULL) {
		TAILQ_REMOVE(&env->waiting, run, link);
		env->nwaiting--;
		run->fail = 503;
		strlcpy(run->reason, why, sizeof(run->reason));
		script_fail(env, run);
	}
}

/* The copy's request is stopped: CANCEL, or its client's deadline. */
static void
stop_run(struct script_env *env, struct script_copy *c, const char *why)
{
	log_debug("script: request %llu: %s, killing copy %u (pid %ld)",
	    (unsigned long long)c->run->seq, why, c->idx, (long)c->pid);
	c->run->silent = 1;
	script_copy_fail(env, c, 504, why);
	script_copy_kill(env, c, 1);
}

/* CANCEL of a request that a copy serves. */
void
script_persist_cancel(struct script_env *env, zmq_msg_t *token)
{
	struct script_copy	*c;
	size_t			 len = zmq_msg_size(token);
	unsigned		 i;

	for (i = 0; i < env->concurrency; i++) {
		c = &env->copies[i];
		if (c->run != NULL && zmq_msg_size(&c->run->token) == len &&
		    memcmp(zmq_msg_data(&c->run->token), zmq_msg_data(token),
		    len) == 0) {
			stop_run(env, c, "cancelled");
			return;
		}
	}
}

/* Whether the copy has exited (it stays a zombie until gone() reaps it). */
static int
exited(struct script_copy *c, int *wstatus)
{
	siginfo_t	 si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, c->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
	    si.si_pid != c->pid)
		return (0);
	if (si.si_code == CLD_EXITED)
		*wstatus = W_EXITCODE(si.si_status, 0);
	else
		*wstatus = W_EXITCODE(0, si.si_status);
	return (1);
}

/*
 * The copy has exited.  Kill what remains of its process group, read what
 * it left in its pipes (a last reply counts; a bounded amount, in case
 * something outside the group still writes), fail its request if it
 * still has one, reap it, and schedule its restart: at once, or after a
 * delay that doubles each time it exits at start.
 */
static void
gone(struct script_env *env, struct script_copy *c, int wstatus)
{
	char	 why[128];
	int64_t	 now = util_now_ms();
	int	 i, k;

	kill(-c->pid, SIGKILL);
	for (i = SCRIPT_OUT; i <= SCRIPT_ERR; i++) {
		for (k = 0; k < SCRIPT_DRAIN && c->fd[i] != -1 &&
		    script_copy_read(env, c, i) == 1; k++)
			;
	}
	if (WIFSIGNALED(wstatus))
		snprintf(why, sizeof(why), "program exited (killed by signal "
		    "%d)", WTERMSIG(wstatus));
	else
		snprintf(why, sizeof(why), "program exited (exit status %d)",
		    WEXITSTATUS(wstatus));
	if (c->run != NULL)
		script_copy_fail(env, c, 500, why);
	if (!c->blameless)
		c->quick = now - c->started < SCRIPT_QUICK ? c->quick + 1 : 0;
	c->restart_at = now + backoff(c->quick);
	if (c->kill_at == 0 || !c->blameless)
		log_warnx("script: copy %u (pid %ld): %s; restart in %lld ms",
		    c->idx, (long)c->pid, why + 8,
		    (long long)(c->restart_at - now));
	while (waitpid(c->pid, NULL, 0) == -1 && errno == EINTR)
		;
	for (i = 0; i < 3; i++)
		close_fd(c, i);
	script_copy_flush(c);
	c->pid = 0;
	c->kill_at = 0;
	c->deadline = 0;
}

/*
 * A pipe of a copy (which: SCRIPT_IN, _OUT or _ERR) is ready.  At the end
 * of its stdout a copy that has exited is gone; one that has not cannot
 * answer any more, and is killed.
 */
void
script_persist_io(struct script_env *env, struct script_copy *c, int which)
{
	int	 wstatus;

	if (c->fd[which] == -1)
		return;
	if (which == SCRIPT_IN)
		script_copy_write(env, c);
	else if (script_copy_read(env, c, which) == -1 && which == SCRIPT_OUT) {
		if (exited(c, &wstatus))
			gone(env, c, wstatus);
		else if (c->kill_at == 0)
			script_copy_kill(env, c, 0);
	}
}

/* SIGCHLD: notice the copies that have exited. */
void
script_persist_wait(struct script_env *env)
{
	struct script_copy	*c;
	unsigned		 i;
	int			 wstatus;

	for (i = 0; i < env->concurrency; i++) {
		c = &env->copies[i];
		if (c->pid != 0 && exited(c, &wstatus))
			gone(env, c, wstatus);
	}
}

/* Milliseconds until script_persist_tick or _settle has work, or -1. */
int
script_persist_timeout(struct script_env *env, int64_t now)
{
	struct script_copy	*c;
	int64_t			 t = 0, r;
	unsigned		 i;

	for (i = 0; i < env->concurrency; i++) {
		c = &env->copies[i];
		if (c->pid == 0)
			r = env->draining ? 0 : c->restart_at;
		else if (c->kill_at != 0)
			r = c->kill_at;
		else
			r = c->run != NULL ? c->deadline : 0;
		if (r != 0 && (t == 0 || r < t))
			t = r;
		r = (c->err_second + 1) * 1000;
		if (c->err_dropped > 0 && (t == 0 || r < t))
			t = r;
	}
	if (t == 0)
		return (-1);
	return (t <= now ? 0 : (int)(t - now > INT_MAX ? INT_MAX : t - now));
}

/* SIGKILL after the grace, and requests over their deadline. */
void
script_persist_tick(struct script_env *env, int64_t now)
{
	struct script_copy	*c;
	char			 why[64];
	unsigned		 i;
	int			 wstatus;

	for (i = 0; i < env->concurrency; i++) {
		c = &env->copies[i];
		script_copy_dropped(c, now);
		if (c->pid != 0 && c->kill_at != 0 && c->kill_at <= now) {
			kill(-c->pid, SIGKILL);
			c->kill_at = now + SCRIPT_KILL_GRACE;
			if (exited(c, &wstatus))
				gone(env, c, wstatus);
		}
		if (c->run == NULL || c->deadline == 0 || c->deadline > now)
			continue;
		if (c->deadline == c->run->expires) {
			stop_run(env, c, "its client's deadline passed");
			continue;
		}
		snprintf(why, sizeof(why), "ran over %d ms", env->timeout);
		script_copy_fail(env, c, 504, why);
		script_copy_kill(env, c, 1);
	}
}

/* Second signal: fail the requests that the copies serve with 503. */
void
script_persist_stop(struct script_env *env)
{
	unsigned	 i;

	for (i = 0; env->copies != NULL && i < env->concurrency; i++) {
		if (env->copies[i].run != NULL)
			script_copy_fail(env, &env->copies[i], 503,
			    "service stopped");
	}
}

/*
 * Stop the copies at exit: EOF on their stdin and SIGTERM, then SIGKILL
 * to those still there after the grace; reap them, free them.
 */
void
script_persist_free(struct script_env *env)
{
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	struct script_copy *c;
	int64_t		 end = util_now_ms() + SCRIPT_KILL_GRACE;
	unsigned	 i, left;
	int		 wstatus;

	if (env->copies == NULL)
		return;
	script_persist_stop(env);
	for (i = 0; i < env->concurrency; i++) {
		if (env->copies[i].pid != 0)
			script_copy_kill(env, &env->copies[i], 1);
	}
	for (;;) {
		for (i = left = 0; i < env->concurrency; i++) {
			c = &env->copies[i];
			if (c->pid != 0 && util_now_ms() >= end)
				kill(-c->pid, SIGKILL);
			if (c->pid != 0 && exited(c, &wstatus))
				gone(env, c, wstatus);
			left += c->pid != 0;
		}
		if (left == 0)
			break;
		nanosleep(&ts, NULL);
	}
	for (i = 0; i < env->concurrency; i++) {
		free(env->copies[i].out.data);
		free(env->copies[i].err.data);
	}
	free(env->copies);
	free(env->copy_argv);
}
