/*
 * waha-cli --stream: the reply of a request sent with stream=1 arrives
 * as partials ("206") and a final reply.  Each partial is written and
 * flushed as it comes, and only then is its size granted back to the
 * broker as credit, so that a slow reader (a pipe, a disk) slows the
 * program down and nothing piles up.  SIGINT and SIGTERM cancel the
 * request before waha-cli exits; so does a reader that goes away.  A
 * broker connection that drops is reported at once.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"
#include "cli.h"

/* ms a closing socket may take to deliver a cancel=1 */
#define CLI_CANCEL_LINGER	1000

/*
 * ms past the deadline to wait for the broker's own 504, which says more
 * than "no reply" (the broker enforces the same deadline).
 */
#define CLI_DEADLINE_GRACE	1000

/* Send a command on the open request: credit=N or cancel=1. */
static void
command(void *sock, const char *cmd)
{
	struct waha_msg	 m;

	frames_init(&m);
	frames_add(&m);
	frames_addstr(&m, WAHA_EXT);
	frames_addstr(&m, cmd);
	if (frames_send(&m, sock, ZMQ_DONTWAIT) != 0)
		log_debug("%s not sent: %s", cmd, zmq_strerror(errno));
	frames_free(&m);
}

/* Cancel the request, and give the cancel time to leave. */
void
cli_cancel(void *sock)
{
	int	 linger = CLI_CANCEL_LINGER;

	command(sock, "cancel=1");
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
}

/* Write a partial's fields, then grant their size back as credit. */
static int
partial(struct cli_env *cli, void *sock, struct waha_msg *rep, size_t first)
{
	char	 cmd[40];
	size_t	 i, n = 0;

	for (i = first; i < rep->n; i++)
		n += frames_size(rep, i);
	if (n == 0)
		return (0);	/* a keepalive */
	if (cli_io_write(cli, rep, first, stdout) != 0) {
		cli_say("writing the stream: %s", strerror(errno));
		cli_cancel(sock);
		return (CLI_EXIT_USAGE);
	}
	snprintf(cmd, sizeof(cmd), "credit=%zu", n);
	command(sock, cmd);
	return (0);
}

/*
 * Receive the partials and the final reply of a streamed request sent
 * on c, until the deadline (ms, -1 for none).  Returns the exit
 * status.
 */
int
cli_stream_recv(struct cli_env *cli, struct cli_conn *c, int64_t deadline)
{
	zmq_pollitem_t		 items[3] = { { c->sock, 0, ZMQ_POLLIN, 0 },
				    { NULL, signals_fd(), ZMQ_POLLIN, 0 },
				    { c->mon, 0, ZMQ_POLLIN, 0 } };
	struct waha_msg		 rep;
	int64_t			 now, connect_by, wait;
	size_t			 first;
	int			 status, rc = -1;

	frames_init(&rep);
	if (c->mon == NULL)
		c->up = 1;
	connect_by = util_now_ms() + WAHA_TIMEOUT;
	if (deadline != -1)
		deadline += CLI_DEADLINE_GRACE;
	while (rc == -1) {
		now = util_now_ms();
		wait = deadline == -1 ? -1 : deadline <= now ? 0 :
		    deadline - now;
		/* Without a deadline, still give up on a broker never seen. */
		if (!c->up && (wait == -1 || wait > connect_by - now))
			wait = connect_by <= now ? 0 : connect_by - now;
		if (zmq_poll(items, c->mon != NULL ? 3 : 2, (long)wait) == -1 &&
		    errno != EINTR) {
			cli_say("zmq_poll: %s", zmq_strerror(errno));
			rc = CLI_EXIT_CONNECT;
			break;
		}
		if (signals_take() & SIGNALS_TERM) {
			cli_say("interrupted: the request is cancelled");
			cli_cancel(c->sock);
			rc = CLI_EXIT_INTERRUPTED;
			break;
		}
		cli_monitor(c);
		if (c->fail.fail != CURVE_FAIL_NONE) {
			cli_say("%s: %s", c->url, curve_fail_text(&c->fail, 1));
			rc = CLI_EXIT_AUTH;
			break;
		}
		while (rc == -1 && frames_recv(&rep, c->sock, ZMQ_DONTWAIT,
		    SIZE_MAX) == 0) {
			if (proto_parse_reply(&rep, &status, &first) != 0 ||
			    first != 2) {
				cli_say("malformed reply from %s", c->url);
				rc = CLI_EXIT_CONNECT;
			} else if (status == 206)
				rc = partial(cli, c->sock, &rep, first) == 0 ?
				    -1 : CLI_EXIT_USAGE;
			else
				rc = cli_output(cli, &rep, status, first);
		}
		if (rc != -1)
			break;
		if (c->lost) {
			cli_say("broker lost: %s: the connection closed while "
			    "the stream was open; it is not sent again", c->url);
			rc = CLI_EXIT_CONNECT;
		} else if (!c->up && deadline == -1 && util_now_ms() >=
		    connect_by) {
			cli_say("cannot connect to %s within %d ms", c->url,
			    WAHA_TIMEOUT);
			cli_cancel(c->sock);
			rc = CLI_EXIT_CONNECT;
		} else if (deadline != -1 && util_now_ms() >= deadline) {
			cli_say("%s %s within %d ms", c->up ? "no reply from" :
			    "cannot connect to", c->url, cli->timeout);
			cli_cancel(c->sock);
			rc = c->up ? CLI_EXIT_TIMEOUT : CLI_EXIT_CONNECT;
		}
	}
	frames_free(&rep);
	return (rc);
}
