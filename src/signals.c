/*
 * Signals as events of a zmq_poll loop: the handler only sets a flag and
 * writes a byte to a self-pipe that the loop polls next to its sockets.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "waha.h"

static int			 sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t	 sig_term, sig_hup, sig_chld, sig_any;

static void
handler(int sig)
{
	int	 saved_errno = errno;
	char	 c = 0;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		sig_term = 1;
		break;
	case SIGHUP:
		sig_hup = 1;
		break;
	case SIGCHLD:
		sig_chld = 1;
		break;
	}
	(void)write(sig_pipe[1], &c, 1);
	/* After the byte: signals_take drains the pipe once this is set. */
	sig_any = 1;
	errno = saved_errno;
}

/*
 * Catch TERM, INT and HUP (and CHLD if chld is set), ignore PIPE.
 * Returns 0, or -1 with the reason in cause.
 */
int
signals_init(int chld, char **cause)
{
	struct sigaction	 sa;
	int			 i;

	if (pipe(sig_pipe) == -1) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		return (-1);
	}
	for (i = 0; i < 2; i++) {
		fcntl(sig_pipe[i], F_SETFD, FD_CLOEXEC);
		fcntl(sig_pipe[i], F_SETFL, O_NONBLOCK);
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = handler;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (chld) {
		sa.sa_flags |= SA_NOCLDSTOP;
		sigaction(SIGCHLD, &sa, NULL);
	}
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	sigaction(SIGPIPE, &sa, NULL);
	return (0);
}

/* The descriptor to poll for readability. */
int
signals_fd(void)
{
	return (sig_pipe[0]);
}

/* Drain the pipe and return the signals that arrived (SIGNALS_*). */
int
signals_take(void)
{
	char	 buf[64];
	int	 got = 0;

	/* Most calls find nothing: spare them a read(2). */
	if (!sig_any)
		return (0);
	sig_any = 0;
	while (read(sig_pipe[0], buf, sizeof(buf)) > 0)
		;
	if (sig_term) {
		sig_term = 0;
		got |= SIGNALS_TERM;
	}
	if (sig_hup) {
		sig_hup = 0;
		got |= SIGNALS_HUP;
	}
	if (sig_chld) {
		sig_chld = 0;
		got |= SIGNALS_CHLD;
	}
	return (got);
}
