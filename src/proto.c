/*
 * The three sub-protocols of DESIGN.md section 2: native requests (with
 * the WAHA01 extension of 2.6), MDP clients and MDP workers with WAHA's
 * extensions (capacity, FAIL, and the features of 2.8).  Parsing only
 * looks at frames; it never copies or moves them.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "waha.h"

static int	parse_status(const struct waha_msg *, size_t);
static int	parse_capacity(const struct waha_msg *, size_t, unsigned *);
static int	parse_bytes(const struct waha_msg *, size_t, long long *);

static int
bad(struct proto_in *in, const char *reason)
{
	in->status = 400;
	in->reason = reason;
	in->reason_len = strlen(reason);
	return (-1);
}

/*
 * Whether the frame after WAHA01 is a command on an open request: alone,
 * and naming cancel or credit.  A command is never answered, not even
 * when it is malformed, since its envelope is that of a request.
 */
static int
is_command(const struct waha_msg *m, size_t o)
{
	const char	*s = frames_data(m, o);
	size_t		 len = frames_size(m, o);

	return (o + 1 == m->n && len >= 7 && (memcmp(s, "cancel=", 7) == 0 ||
	    memcmp(s, "credit=", 7) == 0));
}

/*
 * An extended request, "WAHA01" at hdr: the options frame, then the
 * service; or a command.  Returns the index of the service frame, or 0
 * for a command, or -1 when malformed.
 */
static int
parse_extended(struct waha_msg *m, struct proto_in *in, size_t hdr,
    size_t *service)
{
	size_t	 o = hdr + 1;
	int	 seen;

	in->extended = 1;
	if (o >= m->n)
		return (bad(in, "WAHA01 without an options frame"));
	if (is_command(m, o))
		in->kind = PROTO_CMD;
	seen = proto_opts_parse(frames_data(m, o), frames_size(m, o),
	    &in->opts, 0, in->why, sizeof(in->why));
	if (seen == -1)
		return (bad(in, in->why));
	if (in->kind == PROTO_CMD) {
		if (seen & ~(PROTO_OPT_CANCEL | PROTO_OPT_CREDIT))
			return (bad(in, "a command takes cancel= or credit= "
			    "alone"));
		return (0);
	}
	if (seen & PROTO_OPT_CANCEL)
		return (bad(in, "cancel= is a command, not a request option"));
	/* With stream=1, credit= is the opening window (2.7). */
	if ((seen & PROTO_OPT_CREDIT) && !in->opts.stream)
		return (bad(in, "credit= in a request needs stream=1"));
	*service = o + 1;
	return (0);
}

/*
 * Parse a message received on a ROUTER socket.  in->kind says which
 * sub-protocol it claims; on a malformed message -1 is returned with
 * in->status 400 and in->reason, and in->env still tells where the
 * return envelope ends so that a native client can be answered.
 */
int
proto_parse(struct waha_msg *m, struct proto_in *in, size_t max_name)
{
	size_t		 hdr;
	const char	*why;

	/* Not the 128 bytes of why: it is written before it is read. */
	memset(in, 0, offsetof(struct proto_in, why));
	in->why[0] = '\0';
	in->kind = PROTO_NATIVE;
	in->env = frames_delim(m, 0);
	if (in->env == 0)
		return (bad(in, "no return envelope"));
	if (in->env == m->n) {
		in->env = 1;
		return (bad(in, "no empty delimiter frame before the service"));
	}
	hdr = in->env + 1;
	if (frames_is(m, hdr, WAHA_MDPW)) {
		in->kind = PROTO_MDPW;
		return (proto_parse_worker(m, in, 0));
	}
	if (m->dropped > 0)
		return (bad(in, "too many frames"));
	if (frames_is(m, hdr, WAHA_MDPC)) {
		in->kind = PROTO_MDPC;
		hdr++;
	} else if (frames_is(m, hdr, WAHA_EXT)) {
		if (parse_extended(m, in, hdr, &hdr) != 0)
			return (-1);
		if (in->kind == PROTO_CMD)
			return (0);
	}
	if (hdr >= m->n)
		return (bad(in, "no service name"));
	in->service = frames_data(m, hdr);
	in->service_len = frames_size(m, hdr);
	in->body = hdr + 1;
	if ((why = proto_name_check(in->service, in->service_len,
	    max_name)) != NULL)
		return (bad(in, why));
	return (0);
}

/* READY SERVICE [CAPACITY [FEATURES]] with the command at c. */
static int
parse_ready(struct waha_msg *m, struct proto_in *in, size_t c)
{
	if (c + 1 >= m->n || c + 4 < m->n)
		return (bad(in, "READY takes a service, a capacity and "
		    "features"));
	in->service = frames_data(m, c + 1);
	in->service_len = frames_size(m, c + 1);
	in->capacity = 1;
	if (c + 2 < m->n && parse_capacity(m, c + 2, &in->capacity))
		return (bad(in, "READY capacity is not 1 to 65535"));
	if (c + 3 < m->n)
		in->features = proto_features_parse(frames_data(m, c + 3),
		    frames_size(m, c + 3));
	return (0);
}

/*
 * A REQUEST as a worker with features gets it: TOKEN OPTIONS "" BODY*,
 * the command at c.  Options it does not know are skipped.
 */
static int
parse_request_opts(struct waha_msg *m, struct proto_in *in, size_t c)
{
	if (c + 3 >= m->n || frames_size(m, c + 3) != 0)
		return (bad(in, "no token, options and empty frame"));
	in->token = c + 1;
	in->body = c + 4;
	if (proto_opts_parse(frames_data(m, c + 2), frames_size(m, c + 2),
	    &in->opts, PROTO_OPTS_LENIENT, in->why, sizeof(in->why)) == -1)
		return (bad(in, in->why));
	return (0);
}

/*
 * Parse an MDP worker message whose "" delimiter is at in->env: on the
 * broker's side (READY, REPLY, HEARTBEAT, DISCONNECT, FAIL, PARTIAL) or
 * on the worker's (REQUEST, HEARTBEAT, DISCONNECT, CANCEL, CREDIT).
 * With PROTO_WORKER_OPTS in flags, a REQUEST carries an options frame
 * (the worker declared features).
 */
int
proto_parse_worker(struct waha_msg *m, struct proto_in *in, int flags)
{
	size_t	 c = in->env + 2;

	in->kind = PROTO_MDPW;
	if (c >= m->n || frames_size(m, c) != 1)
		return (bad(in, "no MDP worker command"));
	in->command = *(const unsigned char *)frames_data(m, c);
	/* Only a REPLY may be too long: it fails alone (m->dropped). */
	if (m->dropped > 0 && in->command != WAHA_REPLY)
		return (bad(in, "too many frames"));
	switch (in->command) {
	case WAHA_READY:
		return (parse_ready(m, in, c));
	case WAHA_REQUEST:
		if (flags & PROTO_WORKER_OPTS)
			return (parse_request_opts(m, in, c));
		/* FALLTHROUGH */
	case WAHA_REPLY:
	case WAHA_PARTIAL:
	case WAHA_FAIL:
		if (c + 2 >= m->n || frames_size(m, c + 2) != 0)
			return (bad(in, "no token and empty frame"));
		in->token = c + 1;
		in->body = c + 3;
		if (in->command != WAHA_FAIL)
			break;
		if (c + 5 != m->n)
			return (bad(in, "FAIL takes a status and a reason"));
		in->status = parse_status(m, c + 3);
		in->reason = frames_data(m, c + 4);
		in->reason_len = frames_size(m, c + 4);
		if (!proto_status_ok(in->status, 1))
			return (bad(in, "FAIL status is not 400, 500, 503 "
			    "or 504"));
		break;
	case WAHA_CANCEL:
		if (c + 2 != m->n)
			return (bad(in, "CANCEL takes a token"));
		in->token = c + 1;
		break;
	case WAHA_CREDIT:
		if (c + 3 != m->n || parse_bytes(m, c + 2, &in->opts.credit))
			return (bad(in, "CREDIT takes a token and a number of "
			    "bytes"));
		in->token = c + 1;
		break;
	case WAHA_HEARTBEAT_CMD:
	case WAHA_DISCONNECT:
		break;
	default:
		return (bad(in, "unknown MDP worker command"));
	}
	return (0);
}

/*
 * Parse a native reply as a client receives it: [envelope] "" STATUS
 * FIELD*.  Sets the status and the index of the first field.
 */
int
proto_parse_reply(struct waha_msg *m, int *status, size_t *first)
{
	size_t	 d;

	d = frames_delim(m, 0);
	if (d + 1 >= m->n)
		return (-1);
	if ((*status = parse_status(m, d + 1)) == -1)
		return (-1);
	*first = d + 2;
	return (0);
}

/*
 * Check a service name: 1 to max bytes of visible ASCII.  Returns NULL
 * if it is good, otherwise the reason.
 */
const char *
proto_name_check(const char *name, size_t len, size_t max)
{
	size_t	 i;

	if (len == 0)
		return ("empty service name");
	if (len > max)
		return ("service name too long");
	for (i = 0; i < len; i++) {
		if (name[i] < 0x21 || name[i] > 0x7e)
			return ("service name has a byte that is not visible "
			    "ASCII");
	}
	return (NULL);
}

/*
 * Start a native reply in out: the first n frames of env (the client's
 * envelope, moved), "", and the status.  The caller adds the fields.
 */
void
proto_reply(struct waha_msg *out, struct waha_msg *env, size_t n, int status)
{
	char	 st[3];

	frames_clear(out);
	frames_moverange(out, env, 0, n);
	frames_add(out);
	/* Every reply comes here: three digits without snprintf's cost. */
	st[0] = '0' + status / 100 % 10;
	st[1] = '0' + status / 10 % 10;
	st[2] = '0' + status % 10;
	frames_addmem(out, st, sizeof(st));
}

/* Append "" MDPW01 COMMAND to m. */
void
proto_worker_cmd(struct waha_msg *m, int command)
{
	unsigned char	 c = command;

	frames_add(m);
	frames_addstr(m, WAHA_MDPW);
	frames_addmem(m, &c, 1);
}

/* Whether status is one a reply may carry (a FAIL only the failures). */
int
proto_status_ok(int status, int fail)
{
	switch (status) {
	case 400:
	case 500:
	case 503:
	case 504:
		return (1);
	case 200:
	case 404:
	case 501:
		return (!fail);
	}
	return (0);
}

/* A short text for a status. */
const char *
proto_status_text(int status)
{
	switch (status) {
	case 200:
		return ("ok");
	case 400:
		return ("bad request");
	case 403:
		return ("not allowed");
	case 404:
		return ("no such service");
	case 500:
		return ("service failed");
	case 501:
		return ("not implemented");
	case 503:
		return ("service unavailable");
	case 504:
		return ("timed out");
	}
	return ("unknown status");
}

/* Parse part i as a status: three ASCII digits, 100 to 599; else -1. */
static int
parse_status(const struct waha_msg *m, size_t i)
{
	const char	*s;

	if (i >= m->n || frames_size(m, i) != 3)
		return (-1);
	s = frames_data(m, i);
	if (s[0] < '1' || s[0] > '5' || s[1] < '0' || s[1] > '9' ||
	    s[2] < '0' || s[2] > '9')
		return (-1);
	return ((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
}

/* Parse part i as a positive number of bytes, at most 2^62. */
static int
parse_bytes(const struct waha_msg *m, size_t i, long long *v)
{
	const char	*s = frames_data(m, i);
	size_t		 len = frames_size(m, i), k;

	*v = 0;
	if (len == 0 || len > 19 || s[0] == '0')
		return (-1);
	for (k = 0; k < len; k++) {
		if (s[k] < '0' || s[k] > '9' ||
		    *v > (INT64_MAX / 2 - (s[k] - '0')) / 10)
			return (-1);	/* the next digit would pass 2^62 */
		*v = *v * 10 + (s[k] - '0');
	}
	return (0);
}

/* Parse part i as a capacity, 1 to 65535 in ASCII decimal. */
static int
parse_capacity(const struct waha_msg *m, size_t i, unsigned *cap)
{
	const char	*s = frames_data(m, i);
	size_t		 len = frames_size(m, i), k;
	unsigned	 n = 0;

	if (len == 0 || len > 5)
		return (-1);
	for (k = 0; k < len; k++) {
		if (s[k] < '0' || s[k] > '9')
			return (-1);
		n = n * 10 + (s[k] - '0');
	}
	if (n < 1 || n > WAHA_CAPACITY_MAX)
		return (-1);
	*cap = n;
	return (0);
}
