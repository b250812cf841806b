/*
 * test-worker: a WAHA worker for the test suite, built on the core's
 * worker session.  Modes: echo, reverse, sleep (the first field, if a
 * number, is the delay in ms), never (never replies), fail (FAIL with
 * --status), crash (exits on the first request, without a word), unhex
 * (replies each field decoded from hex, to send any bytes back; a field
 * that is not hex gets FAIL 400), frames (replies as many fields as the
 * first field says).  With --features it declares them in READY, and
 * --log FILE gets a line for every REQUEST (with its options) and every
 * CANCEL; a cancelled request it holds is dropped unanswered.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "waha.h"

enum mode { ECHO, REVERSE, SLEEP, NEVER, FAIL, CRASH, UNHEX, FRAMES };

struct pending {
	zmq_msg_t	 token;
	struct waha_msg	 body;
	int64_t		 due;		/* ms; 0 never */
	struct pending	*next;
};

static struct {
	const char	*name, *mode, *capacity, *delay, *status;
	const char	*heartbeat, *liveness, *disconnect_after;
	const char	*features, *log;
} opt;

static struct poptOption options[] = {
	{ "url", 'u', POPT_ARG_STRING, &cmdline.url, 0, "broker", "URL" },
	{ "name", 'n', POPT_ARG_STRING, &opt.name, 0, "service", "NAME" },
	{ "mode", 'm', POPT_ARG_STRING, &opt.mode, 0,
	  "echo, reverse, sleep, never, fail, crash, unhex or frames", "MODE" },
	{ "capacity", 'c', POPT_ARG_STRING, &opt.capacity, 0, "", "N" },
	{ "delay", '\0', POPT_ARG_STRING, &opt.delay, 0, "sleep mode", "MS" },
	{ "status", '\0', POPT_ARG_STRING, &opt.status, 0, "fail mode", "N" },
	{ "heartbeat", '\0', POPT_ARG_STRING, &opt.heartbeat, 0, "", "MS" },
	{ "liveness", '\0', POPT_ARG_STRING, &opt.liveness, 0, "", "N" },
	{ "disconnect-after", '\0', POPT_ARG_STRING, &opt.disconnect_after,
	  0, "DISCONNECT after N requests, answer them, exit", "N" },
	{ "features", '\0', POPT_ARG_STRING, &opt.features, 0,
	  "declare features: cancel or stream", "LIST" },
	{ "log", '\0', POPT_ARG_STRING, &opt.log, 0,
	  "append a line for each REQUEST and CANCEL to FILE", "FILE" },
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, cmdline_common, 0, NULL, NULL },
	POPT_TABLEEND
};

static struct pending	*pending;
static unsigned		 npending;
static FILE		*logfp;

static void
log_line(const char *what, zmq_msg_t *token, const struct proto_opts *o)
{
	char	 hex[2 * 16 + 1];
	size_t	 len = zmq_msg_size(token);

	if (logfp == NULL)
		return;
	util_hex(hex, zmq_msg_data(token), len > 16 ? 16 : len);
	if (o != NULL)
		fprintf(logfp, "%s %s timeout=%d\n", what, hex, o->timeout);
	else
		fprintf(logfp, "%s %s\n", what, hex);
	fflush(logfp);
}

/* Drop the held request with this token: 1 if there was one. */
static int
drop(zmq_msg_t *token)
{
	struct pending	*p, **pp;

	for (pp = &pending; (p = *pp) != NULL; pp = &p->next) {
		if (zmq_msg_size(&p->token) == zmq_msg_size(token) &&
		    memcmp(zmq_msg_data(&p->token), zmq_msg_data(token),
		    zmq_msg_size(token)) == 0) {
			*pp = p->next;
			npending--;
			frames_free(&p->body);
			zmq_msg_close(&p->token);
			free(p);
			return (1);
		}
	}
	return (0);
}

static void
hold(zmq_msg_t *token, struct waha_msg *body, int64_t due)
{
	struct pending	*p, **pp;

	p = xcalloc(1, sizeof(*p));
	zmq_msg_init(&p->token);
	zmq_msg_move(&p->token, token);
	frames_init(&p->body);
	frames_moverange(&p->body, body, 0, body->n);
	p->due = due;
	for (pp = &pending; *pp != NULL && (*pp)->due != 0 &&
	    (due == 0 || (*pp)->due <= due); pp = &(*pp)->next)
		;
	p->next = *pp;
	*pp = p;
	npending++;
}

static void
answer_due(struct worker_session *ws, int64_t now)
{
	struct pending	*p;

	while ((p = pending) != NULL && p->due != 0 && p->due <= now) {
		pending = p->next;
		npending--;
		worker_reply(ws, &p->token, &p->body);
		frames_free(&p->body);
		zmq_msg_close(&p->token);
		free(p);
	}
}

static void
unhex(struct worker_session *ws, zmq_msg_t *token, struct waha_msg *body)
{
	struct waha_msg	 out;
	void		*bytes;
	size_t		 i, len;

	frames_init(&out);
	for (i = 0; i < body->n; i++) {
		if ((bytes = codec_hex_decode(frames_data(body, i),
		    frames_size(body, i), &len)) == NULL) {
			worker_fail(ws, token, 400, "not hex");
			frames_free(&out);
			return;
		}
		frames_addmem(&out, bytes, len);
		free(bytes);
	}
	worker_reply(ws, token, &out);
	frames_free(&out);
}

/* The first field as a number, or def if it is not one. */
static int
first_number(struct waha_msg *body, int def)
{
	const char	*errstr;
	char		 num[16];
	int		 n;

	if (body->n == 0 || frames_size(body, 0) >= sizeof(num))
		return (def);
	snprintf(num, sizeof(num), "%.*s", (int)frames_size(body, 0),
	    (const char *)frames_data(body, 0));
	n = strtonum(num, 0, INT_MAX, &errstr);
	return (errstr != NULL ? def : n);
}

static void
handle(struct worker_session *ws, enum mode mode, zmq_msg_t *token,
    struct waha_msg *body, int delay, int status)
{
	struct waha_msg	 rev;
	size_t		 i;

	switch (mode) {
	case ECHO:
		worker_reply(ws, token, body);
		break;
	case REVERSE:
		frames_init(&rev);
		for (i = body->n; i > 0; i--)
			frames_moverange(&rev, body, i - 1, i);
		worker_reply(ws, token, &rev);
		frames_free(&rev);
		break;
	case SLEEP:
		hold(token, body, util_now_ms() + first_number(body, delay));
		break;
	case FRAMES:
		frames_init(&rev);
		for (i = first_number(body, 1); i > 0; i--)
			frames_addstr(&rev, "x");
		worker_reply(ws, token, &rev);
		frames_free(&rev);
		break;
	case NEVER:
		hold(token, body, 0);
		break;
	case FAIL:
		worker_fail(ws, token, status, "test failure");
		break;
	case CRASH:
		_exit(7);
	case UNHEX:
		unhex(ws, token, body);
		break;
	}
}

static void
on_notice(void *arg, const char *msg)
{
	log_info("%s", msg);
}

int
main(int argc, char **argv)
{
	static const char *modes[] = { "echo", "reverse", "sleep", "never",
	    "fail", "crash", "unhex", "frames", NULL };
	struct worker_config	 cf;
	struct worker_session	*ws;
	struct waha_msg		 body;
	struct proto_opts	 o;
	zmq_msg_t		 token;
	zmq_pollitem_t		 items[WAHA_MAX_BROKERS + 1];
	poptContext		 ctx;
	enum mode		 mode = ECHO;
	char			*cause = NULL;
	void			*zctx;
	int			 delay, status, timeout, t, i, leaving = 0;
	int			 disconnect_after, got, n;
	unsigned		 seen = 0;

	ctx = cmdline_parse("test-worker", NULL, argc, (const char **)argv,
	    options);
	for (i = 0; opt.mode != NULL && modes[i] != NULL; i++) {
		if (strcmp(opt.mode, modes[i]) == 0) {
			mode = i;
			break;
		}
	}
	if (opt.name == NULL || (opt.mode != NULL && modes[i] == NULL))
		cmdline_usage(ctx, "-n NAME required, --mode must be known");
	memset(&cf, 0, sizeof(cf));
	cf.url = cmdline.url != NULL ? cmdline.url : WAHA_BROKER_URL;
	cf.service = opt.name;
	cf.capacity = cmdline_num(ctx, "-c", opt.capacity, 1, 65535, 1);
	cf.heartbeat = cmdline_num(ctx, "--heartbeat", opt.heartbeat, 10,
	    INT_MAX, WAHA_HEARTBEAT);
	cf.liveness = cmdline_num(ctx, "--liveness", opt.liveness, 1, 100,
	    WAHA_LIVENESS);
	cf.reconnect = cf.heartbeat;
	cf.notice = on_notice;
	if (opt.features != NULL)
		cf.features = proto_features_parse(opt.features,
		    strlen(opt.features)) & ~WAHA_FEAT_OPTIONS;
	if (opt.log != NULL && (logfp = fopen(opt.log, "a")) == NULL)
		fatal("%s", opt.log);
	delay = cmdline_num(ctx, "--delay", opt.delay, 0, INT_MAX, 100);
	status = cmdline_num(ctx, "--status", opt.status, 100, 599, 500);
	disconnect_after = cmdline_num(ctx, "--disconnect-after",
	    opt.disconnect_after, 0, INT_MAX, 0);
	poptFreeContext(ctx);
	log_init(0, cmdline.verbose, "test-worker");
	if (signals_init(0, &cause) != 0)
		fatalx("%s", cause);

	zctx = zmq_ctx_new();
	if ((ws = worker_new(zctx, &cf, &cause)) == NULL)
		fatalx("%s", cause);
	frames_init(&body);
	zmq_msg_init(&token);
	for (;;) {
		int64_t now = util_now_ms();

		timeout = worker_timeout(ws, now);
		if (pending != NULL && pending->due != 0) {
			t = pending->due <= now ? 0 : pending->due - now;
			if (timeout == -1 || t < timeout)
				timeout = t;
		}
		if (leaving && (pending == NULL || pending->due == 0))
			break;
		n = worker_pollitems(ws, items, WAHA_MAX_BROKERS);
		items[n].socket = NULL;
		items[n].fd = signals_fd();
		items[n].events = ZMQ_POLLIN;
		if (zmq_poll(items, n + 1, timeout) == -1 && errno != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(errno));
		if ((signals_take() & SIGNALS_TERM) && !leaving) {
			worker_withdraw(ws);
			leaving = 1;
		}
		while ((got = worker_recv(ws, &token, &body, &o)) != 0) {
			if (got == WORKER_CANCEL) {
				log_line("cancel", &token, NULL);
				if (drop(&token))
					worker_forget(ws);
				continue;
			}
			log_line("request", &token, &o);
			handle(ws, mode, &token, &body, delay, status);
			if (disconnect_after > 0 &&
			    ++seen >= (unsigned)disconnect_after) {
				worker_withdraw(ws);
				leaving = 1;
			}
		}
		answer_due(ws, util_now_ms());
		worker_tick(ws, util_now_ms());
	}
	log_info("exiting, %u requests never answered", npending);
	zmq_msg_close(&token);
	frames_free(&body);
	worker_free(ws);
	zmq_ctx_term(zctx);
	return (0);
}
