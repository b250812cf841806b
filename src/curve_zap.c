/*
 * The ZAP handler (ZeroMQ RFC 27) of a CURVE server, run in the
 * daemon's own zmq_poll loop, and the socket monitor events that tell
 * why a handshake failed.
 *
 * The handler is a REP socket bound to inproc://zeromq.zap.01 in the
 * server socket's context.  libzmq runs the handshake in its I/O thread
 * and resumes it when the reply comes, so the loop only has to answer
 * promptly: one hash lookup per request.  A known key gets 200 with
 * User-Id = its Z85 text and the cert's name as metadata "name"; any
 * other gets 400 (libzmq then sends the client an ERROR, which it sees
 * as ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, and does not reconnect).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"

#define ZAP_ENDPOINT	"inproc://zeromq.zap.01"
#define ZAP_FRAMES	16

struct curve_zap {
	void			*sock;
	const struct curve_clients *clients;
	struct waha_msg		 in;
	struct waha_msg		 out;
	uint64_t		 accepted;
	uint64_t		 refused;
};

/*
 * The ZAP handler of context zctx: bind it before the CURVE server
 * socket binds.  Only one can exist in a context.
 */
struct curve_zap *
curve_zap_new(void *zctx, char **cause)
{
	struct curve_zap	*z = xcalloc(1, sizeof(*z));

	z->sock = util_socket(zctx, ZMQ_REP);
	if (util_attach(z->sock, 1, ZAP_ENDPOINT, cause) != 0) {
		util_close(&z->sock, 0);
		free(z);
		return (NULL);
	}
	frames_init(&z->in);
	frames_init(&z->out);
	return (z);
}

/* Close the handler; NULL does nothing. */
void
curve_zap_free(struct curve_zap *z)
{
	if (z == NULL)
		return;
	util_close(&z->sock, 0);
	frames_free(&z->in);
	frames_free(&z->out);
	free(z);
}

/* The socket to poll for ZMQ_POLLIN. */
void *
curve_zap_socket(struct curve_zap *z)
{
	return (z->sock);
}

/*
 * The keys let in from now on (NULL: none).  The table stays the
 * caller's; a reload swaps it here before freeing the old one.
 */
void
curve_zap_set_clients(struct curve_zap *z, const struct curve_clients *cl)
{
	z->clients = cl;
}

/* Append one ZMTP metadata property (name length, name, value length). */
static void
add_property(struct waha_msg *m, const char *name, const char *value)
{
	size_t		 nlen = strlen(name), vlen = strlen(value);
	unsigned char	*buf = xmalloc(1 + nlen + 4 + vlen);

	buf[0] = (unsigned char)nlen;
	memcpy(buf + 1, name, nlen);
	buf[1 + nlen] = (vlen >> 24) & 0xff;
	buf[2 + nlen] = (vlen >> 16) & 0xff;
	buf[3 + nlen] = (vlen >> 8) & 0xff;
	buf[4 + nlen] = vlen & 0xff;
	memcpy(buf + 5 + nlen, value, vlen);
	frames_addmem(m, buf, 5 + nlen + vlen);
	free(buf);
}

/* Decide one request: fill ev and return the status. */
static int
decide(struct curve_zap *z, struct curve_zap_event *ev)
{
	const struct curve_client	*c;
	struct waha_msg			*m = &z->in;
	size_t				 alen;

	if (m->n < 6 || !frames_is(m, 0, "1.0"))
		return (500);
	alen = frames_size(m, 3);
	if (alen >= sizeof(ev->address))
		alen = sizeof(ev->address) - 1;
	memcpy(ev->address, frames_data(m, 3), alen);
	ev->address[alen] = '\0';
	if (!frames_is(m, 2, WAHA_ZAP_DOMAIN) || !frames_is(m, 5, "CURVE") ||
	    m->n != 7 || frames_size(m, 6) != CURVE_KEY_LEN)
		return (400);
	zmq_z85_encode(ev->key, frames_data(m, 6), CURVE_KEY_LEN);
	if ((c = curve_clients_find(z->clients, ev->key)) == NULL)
		return (400);
	ev->name = c->name;
	return (200);
}

/*
 * Answer one pending ZAP request, if there is one, and say what was
 * decided in ev.  Returns 1 if a request was answered, 0 if none was
 * waiting, -1 on a socket error (errno set).
 */
int
curve_zap_process(struct curve_zap *z, struct curve_zap_event *ev)
{
	struct waha_msg	*out = &z->out;
	int		 status;

	memset(ev, 0, sizeof(*ev));
	if (frames_recv(&z->in, z->sock, ZMQ_DONTWAIT, ZAP_FRAMES) != 0)
		return (errno == EAGAIN ? 0 : -1);
	status = ev->status = decide(z, ev);
	frames_clear(out);
	frames_addstr(out, "1.0");
	if (z->in.n > 1)
		frames_addmem(out, frames_data(&z->in, 1),
		    frames_size(&z->in, 1));
	else
		frames_addstr(out, "");
	frames_addstr(out, status == 200 ? "200" :
	    status == 400 ? "400" : "500");
	frames_addstr(out, status == 200 ? "OK" :
	    status == 400 ? "unknown key" : "malformed ZAP request");
	frames_addstr(out, status == 200 ? ev->key : "");
	if (status == 200 && ev->name != NULL)
		add_property(out, "name", ev->name);
	else
		frames_addstr(out, "");
	frames_clear(&z->in);
	if (status == 200)
		z->accepted++;
	else
		z->refused++;
	if (frames_send(out, z->sock, 0) != 0)
		return (-1);
	return (1);
}

/* Handshakes let in and refused so far. */
void
curve_zap_counts(const struct curve_zap *z, uint64_t *accepted,
    uint64_t *refused)
{
	*accepted = z->accepted;
	*refused = z->refused;
}

/*
 * The CURVE identity of a received message: its User-Id (the sender's
 * Z85 public key) into key and its cert's name (or NULL) into *name.
 * On a ROUTER pass frame 1 or later: libzmq 4.3.4 gives frame 0, the
 * routing id, no metadata.  Returns -1 for a message without CURVE.
 */
int
curve_msg_identity(zmq_msg_t *part, char key[CURVE_Z85_LEN + 1],
    const char **name)
{
	const char	*uid;

	*name = NULL;
	if ((uid = zmq_msg_gets(part, "User-Id")) == NULL ||
	    strlen(uid) != CURVE_Z85_LEN)
		return (-1);
	memcpy(key, uid, CURVE_Z85_LEN + 1);
	*name = zmq_msg_gets(part, "name");
	return (0);
}

/* The monitor events a CURVE socket's monitor should ask for. */
int
curve_monitor_events(void)
{
	return (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
	    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
	    ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
}

/*
 * Decode a monitor message (an event frame, then the peer's address)
 * into ev.  Returns -1 if it is not a monitor message.
 */
int
curve_monitor_parse(const struct waha_msg *m, struct curve_event *ev)
{
	const unsigned char	*p;
	uint16_t		 event;
	uint32_t		 value;
	size_t			 alen;

	memset(ev, 0, sizeof(*ev));
	if (m->n < 2 || frames_size(m, 0) != 6)
		return (-1);
	p = frames_data(m, 0);
	memcpy(&event, p, 2);
	memcpy(&value, p + 2, 4);
	ev->event = event;
	ev->value = value;
	alen = frames_size(m, 1);
	if (alen >= sizeof(ev->address))
		alen = sizeof(ev->address) - 1;
	memcpy(ev->address, frames_data(m, 1), alen);
	ev->address[alen] = '\0';
	if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
		ev->fail = CURVE_FAIL_AUTH;
	else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
		ev->fail = CURVE_FAIL_NO_DETAIL;
	else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
		ev->fail = CURVE_FAIL_PROTOCOL;
	return (0);
}

/*
 * What a failed handshake means, for a log line or a client's error:
 * seen from the client side (client != 0) or the server side.
 */
const char *
curve_fail_text(const struct curve_event *ev, int client)
{
	switch (ev->fail) {
	case CURVE_FAIL_AUTH:
		return (client ? "authentication failed: the server does "
		    "not accept this key" : "authentication failed");
	case CURVE_FAIL_NO_DETAIL:
		return (client ? "handshake failed: wrong server key, or "
		    "the server does not use CURVE" :
		    "handshake failed: a garbled or undecryptable handshake "
		    "(a client with the wrong server key?)");
	case CURVE_FAIL_PROTOCOL:
		if (ev->value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
			return (client ? "handshake failed: the server does "
			    "not use CURVE, or uses it and this client does "
			    "not" : "handshake failed: a client without CURVE");
		if (ev->value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
			return (client ? "handshake failed: wrong server key?" :
			    "handshake failed: undecryptable (a client with "
			    "the wrong server key?)");
		return ("handshake failed: protocol error");
	case CURVE_FAIL_NONE:
		break;
	}
	return ("handshake succeeded");
}

/*
 * Whether to log one more event now (ms): at most CURVE_LOG_BURST per
 * CURVE_LOG_WINDOW.  When it says yes after having said no, *suppressed
 * is how many were not logged meanwhile.
 */
int
curve_ratelimit(struct curve_ratelimit *rl, int64_t now,
    unsigned *suppressed)
{
	*suppressed = 0;
	if (now - rl->start >= CURVE_LOG_WINDOW) {
		rl->start = now;
		rl->n = 0;
	}
	if (rl->n >= CURVE_LOG_BURST) {
		rl->suppressed++;
		return (0);
	}
	rl->n++;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return (1);
}
