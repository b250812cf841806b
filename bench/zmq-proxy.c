/*
 * zmq-proxy FRONTEND BACKEND: libzmq's own zmq_proxy() between a ROUTER
 * that clients connect to and a DEALER that echo workers connect to; a
 * broker with no logic at all, the baseline of bench/broker.sh.  Writes
 * the endpoints actually bound, one a line, then proxies until killed.
 * Built by bench/broker.sh with cc; not installed.
 */
#include <stdio.h>
#include <stdlib.h>

#include <zmq.h>

static void *
bound(void *ctx, int type, const char *url)
{
	char	 ep[256];
	size_t	 len = sizeof(ep);
	void	*s;
	int	 hwm = 100000;	/* as WAHA's sockets have */

	if ((s = zmq_socket(ctx, type)) == NULL ||
	    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_bind(s, url) != 0 ||
	    zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len) != 0) {
		fprintf(stderr, "zmq-proxy: %s: %s\n", url,
		    zmq_strerror(zmq_errno()));
		exit(1);
	}
	printf("%s\n", ep);
	return (s);
}

int
main(int argc, char **argv)
{
	void	*ctx, *front, *back;

	if (argc != 3) {
		fprintf(stderr, "usage: zmq-proxy FRONTEND BACKEND\n");
		return (1);
	}
	ctx = zmq_ctx_new();
	front = bound(ctx, ZMQ_ROUTER, argv[1]);
	back = bound(ctx, ZMQ_DEALER, argv[2]);
	fflush(stdout);
	zmq_proxy(front, back, NULL);
	return (0);
}
