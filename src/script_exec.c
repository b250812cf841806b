/*
 * The runs of waha-service-script's program: posix_spawnp with an argv
 * array (never a shell), pipes read and written without blocking, exits
 * noticed by waitid(WNOHANG | WNOWAIT) from the main loop, and deadlines
 * that end in SIGTERM, then SIGKILL, to the run's process group.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "waha.h"
#include "script.h"

extern char **environ;

/* Bytes read from a pipe at a time once the output is being discarded. */
#define SCRIPT_CHUNK	65536

/* A request, its token and fields moved in, not running yet. */
struct script_run *
script_exec_new(struct script_env *env, zmq_msg_t *token,
    struct waha_msg *body)
{
	struct script_run	*run;
	int			 i;

	run = xcalloc(1, sizeof(*run));
	run->seq = ++env->seq;
	zmq_msg_init(&run->token);
	zmq_msg_move(&run->token, token);
	frames_init(&run->body);
	frames_moverange(&run->body, body, 0, body->n);
	frames_clear(body);
	zmq_msg_init(&run->input);
	for (i = 0; i < 3; i++)
		run->fd[i] = -1;
	return (run);
}

/* Free a run: its pipes, buffers, token and fields. */
void
script_exec_free(struct script_run *run)
{
	int	 i;

	if (run == NULL)
		return;
	for (i = 0; i < 3; i++) {
		if (run->fd[i] != -1)
			close(run->fd[i]);
		free(run->out[i].data);
	}
	zmq_msg_close(&run->token);
	zmq_msg_close(&run->input);
	frames_free(&run->body);
	free(run);
}

static void
env_add(struct script_env *env, size_t *n, char *s)
{
	env->envp = xreallocarray(env->envp, *n + 2, sizeof(*env->envp));
	env->envp[(*n)++] = s;
	env->envp[*n] = NULL;
}

/*
 * Build the programs' environment: PATH, LANG and WAHA_SERVICE (or, with
 * --keep-env, the service's own environment and WAHA_SERVICE), then a
 * last slot that each run fills with its WAHA_REQUEST (or each
 * persistent copy with its WAHA_COPY).  PATH is set in
 * the service too when it is missing, so that posix_spawnp searches the
 * same directories the program will see.
 */
void
script_exec_env(struct script_env *env)
{
	const char	*lang;
	char		*s;
	size_t		 n = 0, i;

	if (getenv("PATH") == NULL && setenv("PATH", SCRIPT_DEFPATH, 1) != 0)
		fatal("setenv");
	for (i = 0; env->keep_env && environ[i] != NULL; i++) {
		if (strncmp(environ[i], "WAHA_SERVICE=", 13) != 0 &&
		    strncmp(environ[i], "WAHA_REQUEST=", 13) != 0 &&
		    strncmp(environ[i], "WAHA_COPY=", 10) != 0)
			env_add(env, &n, xstrdup(environ[i]));
	}
	if (!env->keep_env) {
		xasprintf(&s, "PATH=%s", getenv("PATH"));
		env_add(env, &n, s);
		if ((lang = getenv("LANG")) != NULL) {
			xasprintf(&s, "LANG=%s", lang);
			env_add(env, &n, s);
		}
	}
	xasprintf(&s, "WAHA_SERVICE=%s", env->name);
	env_add(env, &n, s);
	env->env_request = n;
	env_add(env, &n, NULL);
}

/*
 * Whether prog can be run: an executable file at its path, or found in
 * PATH when it has no slash, as posix_spawnp will look for it.
 */
int
script_exec_find(const char *prog)
{
	const char	*p;
	char		 buf[PATH_MAX];
	size_t		 len;

	if (strchr(prog, '/') != NULL)
		return (access(prog, X_OK));
	for (p = getenv("PATH"); p != NULL; p += len + 1) {
		len = strcspn(p, ":");
		if (len == 0)
			snprintf(buf, sizeof(buf), "%s", prog);
		else
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, p,
			    prog);
		if (access(buf, X_OK) == 0)
			return (0);
		if (p[len] == '\0')
			break;
	}
	return (-1);
}

/*
 * Build argv in one block: the program, the predefined arguments, then
 * the fields (all but the last with --stdin), each copied and ended by a
 * NUL.  A field holding a NUL byte cannot be an argument: the run fails
 * with 400 and NULL is returned.
 */
static char **
make_argv(struct script_env *env, struct script_run *run, char **block)
{
	struct waha_msg	*m = &run->body;
	size_t		 nf = m->n, i, k = 0, len, size = 1;
	char		**argv, *p;

	if (env->use_stdin && nf > 0)
		nf--;
	for (i = 0; i < nf; i++) {
		len = frames_size(m, i);
		if (memchr(frames_data(m, i), '\0', len) != NULL) {
			run->fail = 400;
			snprintf(run->reason, sizeof(run->reason),
			    "field %zu holds a NUL byte: it cannot be an "
			    "argument", i + 1);
			return (NULL);
		}
		size += len + 1;
	}
	argv = xreallocarray(NULL, env->nargs + nf + 2, sizeof(*argv));
	p = *block = xmalloc(size);
	argv[k++] = (char *)env->program;
	for (i = 0; i < (size_t)env->nargs; i++)
		argv[k++] = (char *)env->args[i];
	for (i = 0; i < nf; i++) {
		len = frames_size(m, i);
		memcpy(p, frames_data(m, i), len);
		p[len] = '\0';
		argv[k++] = p;
		p += len + 1;
	}
	argv[k] = NULL;
	return (argv);
}

/*
 * Open the pipes asked for in want (stdin, stdout, stderr), close-on-exec,
 * our ends non-blocking; say in fa where the program's ends go.  Stdin
 * and stdout without a pipe are /dev/null, stderr that of the service.
 */
static int
make_pipes(const int want[3], int p[3][2], posix_spawn_file_actions_t *fa)
{
	int	 i, ours;

	for (i = 0; i < 3; i++) {
		if (!want[i])
			continue;
		ours = i == SCRIPT_IN;	/* we write stdin, read the others */
		if (pipe2(p[i], O_CLOEXEC) == -1 ||
		    fcntl(p[i][ours], F_SETFL, O_NONBLOCK) == -1)
			return (-1);
		posix_spawn_file_actions_adddup2(fa, p[i][!ours], i);
	}
	if (!want[SCRIPT_IN])
		posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY,
		    0);
	if (!want[SCRIPT_OUT])
		posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_WRONLY,
		    0);
#ifdef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP
	/* Ours are close-on-exec; this also drops what we inherited. */
	posix_spawn_file_actions_addclosefrom_np(fa, 3);
#endif
	return (0);
}

/*
 * Spawn the program in a process group of its own, with the signals the
 * service ignores or catches back to their defaults and an empty mask,
 * and var (WAHA_REQUEST or WAHA_COPY) in its environment.
 */
static int
spawn(struct script_env *env, char **argv, posix_spawn_file_actions_t *fa,
    char *var, pid_t *pid)
{
	posix_spawnattr_t	 attr;
	sigset_t		 set;
	int			 rc;

	posix_spawnattr_init(&attr);
	sigemptyset(&set);
	posix_spawnattr_setsigmask(&attr, &set);
	sigfillset(&set);
	posix_spawnattr_setsigdefault(&attr, &set);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	env->envp[env->env_request] = var;
	rc = posix_spawnp(pid, env->program, fa, &attr, argv, env->envp);
	env->envp[env->env_request] = NULL;
	posix_spawnattr_destroy(&attr);
	return (rc);
}

/*
 * Start the program with argv and var in its environment, with pipes
 * for the streams in want; our ends go to fd (-1 for the others).
 * Returns 0, or an errno value with every pipe closed.
 */
int
script_exec_spawn(struct script_env *env, const int want[3], char **argv,
    char *var, pid_t *pid, int fd[3])
{
	posix_spawn_file_actions_t	 fa;
	int				 p[3][2], i, ours, rc;

	memset(p, -1, sizeof(p));
	posix_spawn_file_actions_init(&fa);
	if (make_pipes(want, p, &fa) == -1)
		rc = errno;
	else
		rc = spawn(env, argv, &fa, var, pid);
	posix_spawn_file_actions_destroy(&fa);
	for (i = 0; i < 3; i++) {
		ours = i == SCRIPT_IN;
		if (p[i][!ours] != -1)
			close(p[i][!ours]);
		fd[i] = p[i][ours];
		if (rc != 0 && fd[i] != -1) {
			close(fd[i]);
			fd[i] = -1;
		}
	}
	return (rc);
}

static void
write_input(struct script_run *run)
{
	size_t	 len = zmq_msg_size(&run->input);
	ssize_t	 n;

	if (run->in_off < len) {
		n = write(run->fd[SCRIPT_IN],
		    (char *)zmq_msg_data(&run->input) + run->in_off,
		    len - run->in_off);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n > 0 && (run->in_off += n) < len)
			return;
	}
	/* All written, or the program closed its stdin (EPIPE). */
	close(run->fd[SCRIPT_IN]);
	run->fd[SCRIPT_IN] = -1;
	zmq_msg_close(&run->input);
	zmq_msg_init(&run->input);
}

/*
 * Start a run.  Returns 0, or -1 with the status (400 or 500) and the
 * reason in run->fail and run->reason.
 */
int
script_exec_start(struct script_env *env, struct script_run *run)
{
	char	**argv, *block = NULL, req[64];
	int	 want[3], rc;

	if ((argv = make_argv(env, run, &block)) == NULL)
		return (-1);
	if (env->use_stdin && run->body.n > 0)
		zmq_msg_move(&run->input, &run->body.part[run->body.n - 1]);
	frames_clear(&run->body);
	want[SCRIPT_IN] = env->use_stdin;
	want[SCRIPT_OUT] = !env->no_stdout;
	want[SCRIPT_ERR] = env->with_stderr;
	snprintf(req, sizeof(req), "WAHA_REQUEST=%llu",
	    (unsigned long long)run->seq);
	rc = script_exec_spawn(env, want, argv, req, &run->pid, run->fd);
	free(argv);
	free(block);
	if (rc != 0) {
		run->fail = rc == E2BIG ? 400 : 500;
		snprintf(run->reason, sizeof(run->reason), "cannot run %s: %s",
		    env->program, rc == E2BIG ? "argument list too long" :
		    strerror(rc));
		return (-1);
	}
	run->started = util_now_us();
	if ((run->stream ? env->stream_timeout : env->timeout) != -1)
		run->deadline = util_now_ms() + (run->stream ?
		    env->stream_timeout : env->timeout);
	run->deadline = util_earliest(run->deadline, run->expires);
	if (run->fd[SCRIPT_IN] != -1)
		write_input(run);
	return (0);
}

/* Make room to read into b, up to limit bytes in all. */
static void
grow(struct script_buf *b, size_t limit)
{
	size_t	 cap;

	if (b->cap - b->len >= 4096 || b->cap >= limit)
		return;
	cap = b->cap < 8192 ? 16384 : b->cap * 2;
	if (cap > limit)
		cap = limit;
	b->data = xreallocarray(b->data, cap, 1);
	b->cap = cap;
}

static void
read_output(struct script_env *env, struct script_run *run, int which)
{
	struct script_buf	*b = &run->out[which];
	char			 scratch[SCRIPT_CHUNK], *dst = scratch;
	size_t			 room = sizeof(scratch);
	ssize_t			 n;

	if (which == SCRIPT_OUT && run->stream && run->fail == 0) {
		script_stream_read(env, run);
		return;
	}
	if (run->fail == 0) {
		grow(b, env->max_output + 1);
		dst = b->data + b->len;
		room = b->cap - b->len;
	}
	n = read(run->fd[which], dst, room);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(run->fd[which]);
		run->fd[which] = -1;
		return;
	}
	if (run->fail == 0 && (b->len += n) > env->max_output)
		script_exec_abort(run, 500, "%s over %zu bytes",
		    which == SCRIPT_OUT ? "stdout" : "stderr", env->max_output);
}

/* One of the run's pipes (which: SCRIPT_IN, _OUT or _ERR) is ready. */
void
script_exec_io(struct script_env *env, struct script_run *run, int which)
{
	if (run->fd[which] == -1)
		return;
	if (which == SCRIPT_IN)
		write_input(run);
	else
		read_output(env, run, which);
}

/*
 * Notice the programs that have exited, without blocking and without
 * reaping them: a zombie leader keeps its process group id, so that a
 * later kill(-pid) of a run still under way (a grandchild holding its
 * pipes) can never reach a new group that reused the id.
 * script_exec_reap collects the zombie when the run is over.
 */
void
script_exec_wait(struct script_env *env)
{
	struct script_run	*run;
	siginfo_t		 si;

	TAILQ_FOREACH(run, &env->running, link) {
		if (run->exited)
			continue;
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, run->pid, &si, WEXITED | WNOHANG | WNOWAIT)
		    != 0 || si.si_pid != run->pid)
			continue;
		run->exited = 1;
		if (si.si_code == CLD_EXITED)
			run->wstatus = W_EXITCODE(si.si_status, 0);
		else
			run->wstatus = W_EXITCODE(0, si.si_status);
	}
}

/* Collect the run's program, once it is over and killed for good. */
void
script_exec_reap(struct script_run *run)
{
	while (waitpid(run->pid, NULL, 0) == -1 && errno == EINTR)
		;
}

/*
 * Fail a running run with status: SIGTERM to its process group now,
 * SIGKILL after the grace; what it writes from now on is discarded.
 */
void
script_exec_abort(struct script_run *run, int status, const char *fmt, ...)
{
	va_list	 ap;
	int	 i;

	if (run->fail != 0)
		return;
	run->fail = status;
	va_start(ap, fmt);
	vsnprintf(run->reason, sizeof(run->reason), fmt, ap);
	va_end(ap);
	kill(-run->pid, SIGTERM);
	run->kill_at = util_now_ms() + SCRIPT_KILL_GRACE;
	for (i = 0; i < 3; i++) {
		free(run->out[i].data);
		memset(&run->out[i], 0, sizeof(run->out[i]));
	}
}

/* SIGKILL the run's process group and stop reading its pipes. */
void
script_exec_kill(struct script_run *run)
{
	int	 i;

	kill(-run->pid, SIGKILL);
	for (i = 0; i < 3; i++) {
		if (run->fd[i] != -1) {
			close(run->fd[i]);
			run->fd[i] = -1;
		}
	}
	run->kill_at = 0;
}

/* Whether the program has exited and every pipe is closed. */
int
script_exec_done(const struct script_run *run)
{
	return (run->exited && run->fd[SCRIPT_IN] == -1 &&
	    run->fd[SCRIPT_OUT] == -1 && run->fd[SCRIPT_ERR] == -1);
}

static int64_t
next_timer(const struct script_run *run)
{
	if (run->kill_at != 0)
		return (run->kill_at);
	if (run->fail != 0)
		return (0);
	return (util_earliest(run->deadline, run->flush_at));
}

/* Milliseconds until script_exec_tick has work, or -1. */
int
script_exec_timeout(struct script_env *env, int64_t now)
{
	struct script_run	*run;
	int64_t			 t = 0, r;

	TAILQ_FOREACH(run, &env->running, link) {
		r = next_timer(run);
		if (r != 0 && (t == 0 || r < t))
			t = r;
	}
	if (t == 0)
		return (-1);
	return (t <= now ? 0 : (int)(t - now > INT_MAX ? INT_MAX : t - now));
}

/*
 * Stop a run whose client gave up (CANCEL, or the time left that came
 * with the request ran out): it is killed like a run over its deadline,
 * and its request gets no answer, since the broker has given one.
 */
void
script_exec_cancel(struct script_run *run, const char *why)
{
	run->silent = 1;
	script_exec_abort(run, 504, "%s", why);
}

/*
 * Runs over their deadline (--timeout, or their client's) get SIGTERM,
 * then SIGKILL after the grace.
 */
void
script_exec_tick(struct script_env *env, int64_t now)
{
	struct script_run	*run;

	TAILQ_FOREACH(run, &env->running, link) {
		if (script_exec_done(run))
			continue;
		if (run->flush_at != 0 && run->flush_at <= now &&
		    run->fail == 0)
			script_stream_flush(env, run);
		if (run->kill_at != 0 && run->kill_at <= now)
			script_exec_kill(run);
		else if (run->fail != 0 || run->deadline == 0 ||
		    run->deadline > now)
			continue;
		else if (run->deadline == run->expires)
			script_exec_cancel(run, "its client's deadline passed");
		else
			script_exec_abort(run, 504, "ran over %d ms",
			    run->stream ? env->stream_timeout : env->timeout);
	}
}
