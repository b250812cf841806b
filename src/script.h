/*
 * waha-service-script: the state shared by its main loop (script.c) and
 * the runs of the program (script_exec.c).
 */
#ifndef WAHA_SCRIPT_H
#define WAHA_SCRIPT_H

#include <sys/types.h>

/* Defaults and fixed limits. */
#define SCRIPT_TIMEOUT		30000		/* ms per run */
#define SCRIPT_MAX_OUTPUT	(1024 * 1024)	/* bytes per stream */
#define SCRIPT_KILL_GRACE	1000		/* ms from SIGTERM to SIGKILL */
#define SCRIPT_DEFPATH		"/usr/local/bin:/usr/bin:/bin"
#define SCRIPT_QUICK		1000		/* ms: sooner is at start */
#define SCRIPT_BACKOFF		100		/* ms: first restart delay */
#define SCRIPT_BACKOFF_MAX	10000		/* ms: longest restart delay */
#define SCRIPT_ERR_LINE		1024		/* bytes of stderr lines */
#define SCRIPT_ERR_RATE		20		/* stderr lines a second */
#define SCRIPT_STREAM_CHUNK	65536		/* bytes: a partial is sent */
#define SCRIPT_STREAM_DELAY	100		/* ms: or this after a byte */

/* The streams of a run, as indexes of script_run.fd. */
#define SCRIPT_IN	0
#define SCRIPT_OUT	1
#define SCRIPT_ERR	2

struct script_buf {
	char		*data;
	size_t		 len;
	size_t		 cap;
};

/* One request: waiting for a free slot, then running the program. */
struct script_run {
	uint64_t	 seq;		/* WAHA_REQUEST and the log's number */
	zmq_msg_t	 token;
	struct waha_msg	 body;		/* the fields, until it starts */
	pid_t		 pid;		/* also the process group */
	int		 exited;	/* a zombie: script_exec_reap reaps */
	int		 wstatus;
	int		 fd[3];		/* our ends of the pipes, or -1 */
	struct script_buf out[3];	/* SCRIPT_OUT and SCRIPT_ERR used */
	zmq_msg_t	 input;		/* --stdin: what goes to stdin */
	size_t		 in_off;
	int64_t		 started;	/* us */
	int64_t		 deadline;	/* ms; 0 for none */
	int64_t		 expires;	/* ms: its client's deadline; 0 none */
	int		 silent;	/* cancelled or expired: answer nothing */
	int64_t		 kill_at;	/* ms: SIGKILL after SIGTERM; 0 none */
	int		 fail;		/* status once it failed, else 0 */
	char		 reason[256];
	int		 stream;	/* stream=1: stdout goes out as partials */
	long long	 credit;	/* stream: bytes the broker lets us send */
	int64_t		 flush_at;	/* stream: ms, send what is pending */
	TAILQ_ENTRY(script_run) link;
};
TAILQ_HEAD(script_runs, script_run);

/*
 * --persistent: a copy of the program that stays running and serves one
 * request at a time, a line of JSON on its stdin, a line on its stdout.
 */
struct script_copy {
	unsigned	 idx;		/* 1 to -c: WAHA_COPY */
	pid_t		 pid;		/* also its process group; 0: down */
	int		 fd[3];		/* our ends of its pipes, or -1 */
	struct script_run *run;		/* the request it serves, or NULL */
	char		*in;		/* the request line being written */
	size_t		 in_len;
	size_t		 in_off;
	struct script_buf out;		/* the reply line so far */
	struct script_buf err;		/* the stderr line so far */
	int64_t		 started;	/* ms */
	int64_t		 deadline;	/* ms: its request's; 0 none */
	int64_t		 kill_at;	/* ms: SIGKILL after SIGTERM; 0 none */
	int64_t		 restart_at;	/* ms: when down */
	int		 blameless;	/* killed for its request's deadline */
	unsigned	 quick;		/* exits at start in a row */
	int64_t		 err_second;	/* the second err_lines counts */
	unsigned	 err_lines;
	unsigned	 err_dropped;
};

/* What a poll item stands for: a pipe of a run or of a copy, or neither. */
struct script_item {
	struct script_run *run;
	struct script_copy *copy;
	int		 which;		/* SCRIPT_IN, _OUT or _ERR */
};

struct script_env {
	const char	*name;
	const char	*program;
	const char	**args;		/* predefined arguments */
	int		 nargs;
	int		 no_stdout;
	int		 with_stderr;
	int		 ret_code;
	int		 use_stdin;
	int		 keep_env;
	int		 persistent;
	struct script_copy *copies;	/* -c of them, with --persistent */
	char		**copy_argv;
	unsigned	 concurrency;
	int		 timeout;	/* ms; -1 for none */
	int		 stream_timeout; /* ms, for a streamed request; -1 none */
	size_t		 max_output;	/* bytes per stream */
	const char	*chdir;
	char		**envp;		/* the programs' environment */
	size_t		 env_request;	/* index of WAHA_REQUEST in envp */
	struct worker_config wcf;
	struct curve_cert curve_own;	/* with --curve-secret */
	struct curve_cert curve_server;
	struct worker_session *ws;
	void		*ctx;
	struct script_runs running;
	struct script_runs waiting;	/* more than the capacity was sent */
	unsigned	 nrunning;
	unsigned	 nwaiting;
	uint64_t	 seq;
	int		 draining;
	zmq_pollitem_t	*items;
	struct script_item *item;	/* what each of items is */
	size_t		 nitems;	/* room in both */
	zmq_msg_t	 token;		/* the request being received */
	struct waha_msg	 body;
};

/* script.c */
void	 script_fail(struct script_env *, struct script_run *);
void	 script_add_output(struct waha_msg *, struct script_buf *);

/* script_stream.c */
size_t	 script_stream_room(const struct script_run *);
void	 script_stream_read(struct script_env *, struct script_run *);
void	 script_stream_flush(struct script_env *, struct script_run *);
void	 script_stream_credit(struct script_run *, long long);

/* script_exec.c */
struct script_run *script_exec_new(struct script_env *, zmq_msg_t *,
	    struct waha_msg *);
void	 script_exec_free(struct script_run *);
void	 script_exec_env(struct script_env *);
int	 script_exec_find(const char *);
int	 script_exec_start(struct script_env *, struct script_run *);
int	 script_exec_spawn(struct script_env *, const int [3], char **, char *,
	    pid_t *, int [3]);
void	 script_exec_io(struct script_env *, struct script_run *, int);
void	 script_exec_wait(struct script_env *);
void	 script_exec_reap(struct script_run *);
void	 script_exec_abort(struct script_run *, int, const char *, ...)
	    WAHA_ATTR_PRINTF(3, 4);
int	 script_exec_timeout(struct script_env *, int64_t);
void	 script_exec_tick(struct script_env *, int64_t);
int	 script_exec_done(const struct script_run *);
void	 script_exec_kill(struct script_run *);
void	 script_exec_cancel(struct script_run *, const char *);

/* script_copy.c */
void	 script_copy_write(struct script_env *, struct script_copy *);
int	 script_copy_read(struct script_env *, struct script_copy *, int);
void	 script_copy_flush(struct script_copy *);
void	 script_copy_dropped(struct script_copy *, int64_t);

/* script_persist.c */
const char *script_persist_refuse(const struct script_env *);
void	 script_persist_init(struct script_env *);
void	 script_persist_free(struct script_env *);
int	 script_persist_take(struct script_env *, struct script_run *);
void	 script_persist_settle(struct script_env *);
void	 script_persist_cancel(struct script_env *, zmq_msg_t *);
void	 script_persist_io(struct script_env *, struct script_copy *, int);
void	 script_persist_wait(struct script_env *);
int	 script_persist_timeout(struct script_env *, int64_t);
void	 script_persist_tick(struct script_env *, int64_t);
void	 script_persist_stop(struct script_env *);
void	 script_copy_kill(struct script_env *, struct script_copy *, int);
void	 script_copy_fail(struct script_env *, struct script_copy *, int,
	    const char *);

#endif
