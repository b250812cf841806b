/*
 * test-load: C concurrent clients, each an asynchronous DEALER with up to
 * W requests in flight tagged by a correlation envelope frame, send R
 * requests in all to an echo service and check that every reply matches
 * its request.  Prints the counts and the rate; exits 0 only if every
 * request got its own reply.  With --mdp the clients speak MDP/Client
 * 0.1 instead, as the zguide's asynchronous Majordomo client does: no
 * correlation frame, the sequence number is the last body frame.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"

static struct {
	const char	*name, *clients, *requests, *window, *timeout;
	int		 any, mdp;
} opt;

static struct poptOption options[] = {
	{ "url", 'u', POPT_ARG_STRING, &cmdline.url, 0, "broker", "URL" },
	{ "name", 'n', POPT_ARG_STRING, &opt.name, 0, "echo service", "NAME" },
	{ "clients", 'c', POPT_ARG_STRING, &opt.clients, 0, "", "N" },
	{ "requests", 'r', POPT_ARG_STRING, &opt.requests, 0, "in all", "N" },
	{ "window", 'w', POPT_ARG_STRING, &opt.window, 0, "per client", "N" },
	{ "timeout", 't', POPT_ARG_STRING, &opt.timeout, 0, "", "MS" },
	{ "any", '\0', POPT_ARG_NONE, &opt.any, 0,
	  "accept any 200 reply, not only the echo", NULL },
	{ "mdp", '\0', POPT_ARG_NONE, &opt.mdp, 0,
	  "speak MDP/Client 0.1, not the native protocol", NULL },
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, cmdline_common, 0, NULL, NULL },
	POPT_TABLEEND
};

struct client {
	pthread_t	 thread;
	void		*zctx;
	int		 id;
	unsigned	 todo;
	unsigned	 window;
	int		 timeout;
	unsigned	 ok, bad, failed;
};

static void
send_one(void *sock, int id, unsigned seq)
{
	struct waha_msg	 m;
	char		 corr[32], payload[64];

	frames_init(&m);
	snprintf(corr, sizeof(corr), "%u", seq);
	snprintf(payload, sizeof(payload), "client %d request %u", id, seq);
	if (!opt.mdp)
		frames_addstr(&m, corr);
	frames_add(&m);
	if (opt.mdp)
		frames_addstr(&m, WAHA_MDPC);
	frames_addstr(&m, opt.name);
	frames_addstr(&m, payload);
	frames_addstr(&m, corr);
	if (frames_send(&m, sock, 0) != 0)
		fatalx("send: %s", zmq_strerror(errno));
	frames_free(&m);
}

/*
 * Check that a reply is "corr" "" "200" "client ID request corr" corr,
 * or with --mdp "" "MDPC01" SERVICE "client ID request corr" corr.
 */
static int
check(const struct waha_msg *m, int id, unsigned char *seen, unsigned todo)
{
	char		 want[64], corr[32];
	unsigned	 seq;
	const char	*errstr;
	size_t		 c = opt.mdp ? 4 : 0;

	if ((opt.any && !opt.mdp ? m->n < 3 : m->n != 5) ||
	    frames_size(m, c) >= sizeof(corr))
		return (-1);
	snprintf(corr, sizeof(corr), "%.*s", (int)frames_size(m, c),
	    (const char *)frames_data(m, c));
	seq = strtonum(corr, 0, UINT_MAX, &errstr);
	if (errstr != NULL || seq >= todo || seen[seq])
		return (-1);
	if (opt.mdp && (!frames_is(m, 1, WAHA_MDPC) ||
	    !frames_is(m, 2, opt.name)))
		return (-1);
	if (!opt.mdp && !frames_is(m, 2, "200"))
		return (1);
	if (opt.any) {
		seen[seq] = 1;
		return (0);
	}
	snprintf(want, sizeof(want), "client %d request %u", id, seq);
	if (!frames_is(m, 3, want) || !frames_is(m, 4, corr))
		return (-1);
	seen[seq] = 1;
	return (0);
}

static void *
client_run(void *arg)
{
	struct client	*c = arg;
	struct waha_msg	 m;
	unsigned char	*seen;
	unsigned	 sent = 0, done = 0;
	char		*cause = NULL;
	void		*sock;
	zmq_pollitem_t	 item;
	int		 rc;

	sock = util_socket(c->zctx, ZMQ_DEALER);
	if (util_attach(sock, 0, cmdline.url, &cause) != 0)
		fatalx("%s", cause);
	seen = xcalloc(c->todo + 1, 1);
	frames_init(&m);
	item.socket = sock;
	item.events = ZMQ_POLLIN;
	while (done < c->todo) {
		while (sent < c->todo && sent - done < c->window)
			send_one(sock, c->id, sent++);
		if (zmq_poll(&item, 1, c->timeout) <= 0)
			break;
		while (frames_recv(&m, sock, ZMQ_DONTWAIT, 16) == 0) {
			done++;
			rc = check(&m, c->id, seen, c->todo);
			if (rc == 0)
				c->ok++;
			else if (rc == 1)
				c->failed++;
			else
				c->bad++;
		}
	}
	frames_free(&m);
	free(seen);
	util_close(&sock, 0);
	return (NULL);
}

int
main(int argc, char **argv)
{
	struct client	*cl;
	poptContext	 ctx;
	unsigned	 nclients, total, window, i, ok = 0, bad = 0, failed = 0;
	int		 timeout;
	int64_t		 start, us;
	void		*zctx;

	ctx = cmdline_parse("test-load", NULL, argc, (const char **)argv,
	    options);
	if (cmdline.url == NULL || opt.name == NULL)
		cmdline_usage(ctx, "-u URL and -n NAME are required");
	nclients = cmdline_num(ctx, "-c", opt.clients, 1, 1000, 8);
	total = cmdline_num(ctx, "-r", opt.requests, 1, INT_MAX, 100000);
	window = cmdline_num(ctx, "-w", opt.window, 1, 100000, 100);
	timeout = cmdline_ms(ctx, "-t", opt.timeout, 10000);
	poptFreeContext(ctx);
	log_init(0, 0, "test-load");

	zctx = zmq_ctx_new();
	cl = xcalloc(nclients, sizeof(*cl));
	start = util_now_us();
	for (i = 0; i < nclients; i++) {
		cl[i].zctx = zctx;
		cl[i].id = i;
		cl[i].todo = total / nclients + (i < total % nclients);
		cl[i].window = window;
		cl[i].timeout = timeout;
		if (pthread_create(&cl[i].thread, NULL, client_run, &cl[i]))
			fatalx("pthread_create");
	}
	for (i = 0; i < nclients; i++) {
		pthread_join(cl[i].thread, NULL);
		ok += cl[i].ok;
		bad += cl[i].bad;
		failed += cl[i].failed;
	}
	us = util_now_us() - start;
	printf("requests %u matched %u mismatched %u failed %u missing %u "
	    "seconds %.3f rate %.0f\n", total, ok, bad, failed,
	    total - ok - bad - failed, us / 1e6,
	    us > 0 ? ok * 1e6 / us : 0.0);
	free(cl);
	zmq_ctx_term(zctx);
	return (ok == total ? 0 : 1);
}
