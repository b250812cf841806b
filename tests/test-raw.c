/*
 * test-raw: a raw ZeroMQ peer for protocol tests.  Sends one message made
 * of the frames given as arguments ("x:HEX" is hex, "" an empty frame) on
 * a DEALER (or REQ) socket and prints the frames that come back, one a
 * line, bytes outside printable ASCII as \xHH.  With --garbage N it sends
 * N random malformed messages instead and reports what came back.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"

static struct {
	const char	*timeout, *garbage, *seed;
	int		 req, none;
} opt;

static struct poptOption options[] = {
	{ "url", 'u', POPT_ARG_STRING, &cmdline.url, 0, "peer", "URL" },
	{ "timeout", 't', POPT_ARG_STRING, &opt.timeout, 0, "", "MS" },
	{ "req", '\0', POPT_ARG_NONE, &opt.req, 0, "use a REQ socket", NULL },
	{ "none", '\0', POPT_ARG_NONE, &opt.none, 0,
	  "succeed only if nothing comes back", NULL },
	{ "garbage", '\0', POPT_ARG_STRING, &opt.garbage, 0,
	  "send N random malformed messages", "N" },
	{ "seed", '\0', POPT_ARG_STRING, &opt.seed, 0, "", "N" },
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, cmdline_common, 0, NULL, NULL },
	POPT_TABLEEND
};

static uint64_t	rng = 88172645463325252ULL;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (rng);
}

static void
print_frame(const struct waha_msg *m, size_t i)
{
	const unsigned char	*p = frames_data(m, i);
	size_t			 k;

	for (k = 0; k < frames_size(m, i); k++) {
		if (p[k] >= 0x20 && p[k] < 0x7f && p[k] != '\\')
			putchar(p[k]);
		else
			printf("\\x%02x", p[k]);
	}
	putchar('\n');
}

/* One random message that is wrong in some way the broker must survive. */
static void
garbage(struct waha_msg *m)
{
	static const char *const words[] = { "", "MDPC01", "MDPW01", "\x01",
	    "\x02", "\x03", "\x04", "\x05", "\x06", "\x07", "mmi.service",
	    "mmi.stats", "mmi.nope", "echo", "200", "999", "-1", "0",
	    "65536", "x", "\xff\xfe" };
	char	 buf[512];
	size_t	 nframes, i, len, k;

	nframes = next() % 12;
	for (i = 0; i < nframes; i++) {
		switch (next() % 4) {
		case 0:
		case 1:
			frames_addstr(m, words[next() % (sizeof(words) /
			    sizeof(words[0]))]);
			break;
		case 2:
			len = next() % sizeof(buf);
			for (k = 0; k < len; k++)
				buf[k] = (char)next();
			frames_addmem(m, buf, len);
			break;
		default:
			frames_add(m);
			break;
		}
	}
	if (m->n == 0)
		frames_add(m);
}

static int
run_garbage(void *sock, int count, int timeout)
{
	struct waha_msg	 m;
	int		 i, got = 0;
	zmq_pollitem_t	 item = { sock, 0, ZMQ_POLLIN, 0 };

	frames_init(&m);
	for (i = 0; i < count; i++) {
		garbage(&m);
		if (frames_send(&m, sock, 0) != 0)
			fatalx("send: %s", zmq_strerror(errno));
		while (frames_recv(&m, sock, ZMQ_DONTWAIT, SIZE_MAX) == 0)
			got++;
	}
	while (zmq_poll(&item, 1, timeout) > 0 &&
	    frames_recv(&m, sock, ZMQ_DONTWAIT, SIZE_MAX) == 0)
		got++;
	printf("sent %d received %d\n", count, got);
	frames_free(&m);
	return (0);
}

int
main(int argc, char **argv)
{
	struct waha_msg	 m;
	poptContext	 ctx;
	const char	**args, *url;
	char		*cause = NULL;
	void		*zctx, *sock, *d;
	size_t		 len, i;
	int		 timeout, count, rc;
	zmq_pollitem_t	 item;

	ctx = cmdline_parse("test-raw", NULL, argc, (const char **)argv,
	    options);
	url = cmdline.url != NULL ? cmdline.url : WAHA_BROKER_URL;
	timeout = cmdline_ms(ctx, "-t", opt.timeout, 5000);
	count = cmdline_num(ctx, "--garbage", opt.garbage, 0, INT_MAX, 0);
	rng ^= (uint64_t)cmdline_num(ctx, "--seed", opt.seed, 0, INT_MAX, 1);
	zctx = zmq_ctx_new();
	sock = util_socket(zctx, opt.req ? ZMQ_REQ : ZMQ_DEALER);
	if (util_attach(sock, 0, url, &cause) != 0)
		fatalx("%s", cause);
	if (count > 0) {
		rc = run_garbage(sock, count, timeout);
		goto out;
	}
	frames_init(&m);
	args = poptGetArgs(ctx);
	for (i = 0; args != NULL && args[i] != NULL; i++) {
		if (strncmp(args[i], "x:", 2) != 0) {
			frames_addstr(&m, args[i]);
			continue;
		}
		if ((d = codec_hex_decode(args[i] + 2, strlen(args[i] + 2),
		    &len)) == NULL)
			fatalx("bad hex frame: %s", args[i]);
		frames_addmem(&m, d, len);
		free(d);
	}
	if (m.n == 0)
		fatalx("no frames to send");
	frames_send(&m, sock, 0);
	item.socket = sock;
	item.events = ZMQ_POLLIN;
	rc = 3;
	if (zmq_poll(&item, 1, timeout) > 0 &&
	    frames_recv(&m, sock, 0, SIZE_MAX) == 0) {
		for (i = 0; i < m.n; i++)
			print_frame(&m, i);
		rc = 0;
	}
	if (opt.none)
		rc = rc == 3 ? 0 : 1;
	frames_free(&m);
out:
	poptFreeContext(ctx);
	util_close(&sock, 0);
	zmq_ctx_term(zctx);
	return (rc);
}
