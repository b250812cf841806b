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
	TAILQ_ENTRY(script_run) link;
};
TAILQ_HEAD(script_runs, script_run);

/* What a poll item stands for: a run's pipe, or nothing (run NULL). */
struct script_item {
	struct script_run *run;
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
	unsigned	 concurrency;
	int		 timeout;	/* ms; -1 for none */
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

/* script_exec.c */
struct script_run *script_exec_new(struct script_env *, zmq_msg_t *,
	    struct waha_msg *);
void	 script_exec_free(struct script_run *);
void	 script_exec_env(struct script_env *);
int	 script_exec_find(const char *);
int	 script_exec_start(struct script_env *, struct script_run *);
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

#endif
