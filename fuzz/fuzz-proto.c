/*
 * libFuzzer harness of proto.c, called the way the daemons call it: a
 * message as the broker's or the balancer's ROUTER receives it
 * (proto_parse: native with and without the WAHA01 options, commands,
 * MDP client, MDP worker with every command and READY's features), as
 * a worker receives it (proto_parse_worker after worker_recv's checks,
 * with or without the options frame of a worker with features) and as a
 * client receives a reply (proto_parse_reply).
 *
 * The first input byte picks the side, sets m->dropped and, on the
 * worker's side, whether it declared features; the rest is the parts
 * (fuzz.h).  Checked: parsing changes nothing, every pointer
 * it returns lies inside its part, an error carries a 400 and a reason,
 * and a reply built with proto_reply or a worker command built with
 * proto_worker_cmd parses back to what went in.
 */
#include "config.h"

#include <stdio.h>

#include "waha.h"
#include "fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
copy_range(struct waha_msg *dst, const struct waha_msg *src, size_t from,
    size_t to)
{
	size_t	 i;

	for (i = from; i < to; i++)
		fuzz_add_part(dst, frames_data(src, i), frames_size(src, i));
}

static uint64_t
sum_range(const struct waha_msg *m, size_t from, size_t to)
{
	struct waha_msg	 c;
	uint64_t	 h;

	frames_init(&c);
	copy_range(&c, m, from, to);
	h = fuzz_sum(&c);
	frames_free(&c);
	return (h);
}

static void
check_error(const struct waha_msg *m, const struct proto_in *in)
{
	FUZZ_ASSERT(in->status == 400);
	FUZZ_ASSERT(in->reason != NULL);
	FUZZ_ASSERT(in->reason_len == strlen(in->reason));
	FUZZ_ASSERT(in->env <= m->n);
}

/* What a successful options parse promises. */
static void
check_opts(const struct proto_opts *o)
{
	FUZZ_ASSERT(o->timeout == -1 || (o->timeout >= 1 &&
	    o->timeout <= INT32_MAX));
	FUZZ_ASSERT(o->stream == 0 || o->stream == 1);
	FUZZ_ASSERT(o->cancel == 0 || o->cancel == 1);
	FUZZ_ASSERT(o->credit >= -1);
}

/* What a successful worker-protocol parse promises. */
static void
check_worker(const struct waha_msg *m, const struct proto_in *in, int flags)
{
	size_t	 c = in->env + 2;

	FUZZ_ASSERT(in->kind == PROTO_MDPW);
	FUZZ_ASSERT(frames_is(m, in->env + 1, WAHA_MDPW));
	FUZZ_ASSERT(c < m->n && frames_size(m, c) == 1);
	switch (in->command) {
	case WAHA_READY:
		FUZZ_ASSERT(fuzz_inside(m, c + 1, in->service,
		    in->service_len));
		FUZZ_ASSERT(in->capacity >= 1 &&
		    in->capacity <= WAHA_CAPACITY_MAX);
		FUZZ_ASSERT(m->n <= c + 4);
		FUZZ_ASSERT(m->n == c + 4 ? (in->features & WAHA_FEAT_OPTIONS) :
		    in->features == 0);
		break;
	case WAHA_CANCEL:
		FUZZ_ASSERT(in->token == c + 1 && m->n == c + 2);
		break;
	case WAHA_CREDIT:
		FUZZ_ASSERT(in->token == c + 1 && m->n == c + 3);
		FUZZ_ASSERT(in->opts.credit > 0);
		break;
	case WAHA_REQUEST:
		if (flags & PROTO_WORKER_OPTS) {
			FUZZ_ASSERT(in->token == c + 1 && in->body == c + 4);
			FUZZ_ASSERT(frames_size(m, c + 3) == 0);
			check_opts(&in->opts);
			break;
		}
		FUZZ_ASSERT(in->token == c + 1 && in->body == c + 3);
		FUZZ_ASSERT(frames_size(m, c + 2) == 0);
		break;
	case WAHA_FAIL:
		FUZZ_ASSERT(m->n == c + 5);
		FUZZ_ASSERT(proto_status_ok(in->status, 1));
		FUZZ_ASSERT(fuzz_inside(m, c + 4, in->reason, in->reason_len));
		/* FALLTHROUGH */
	case WAHA_REPLY:
	case WAHA_PARTIAL:
		FUZZ_ASSERT(in->token == c + 1 && in->body == c + 3);
		FUZZ_ASSERT(in->body <= m->n);
		FUZZ_ASSERT(frames_size(m, c + 2) == 0);
		break;
	case WAHA_HEARTBEAT_CMD:
	case WAHA_DISCONNECT:
		break;
	default:
		FUZZ_ASSERT(!"unknown command accepted");
	}
}

/* Build the same command again with proto_worker_cmd; it must parse alike. */
static void
rebuild_worker(const struct waha_msg *m, const struct proto_in *in, int flags)
{
	struct waha_msg	 b;
	struct proto_in	 again;

	frames_init(&b);
	copy_range(&b, m, 0, in->env);
	proto_worker_cmd(&b, in->command);
	copy_range(&b, m, in->env + 3, m->n);
	memset(&again, 0, sizeof(again));
	again.env = in->env;
	FUZZ_ASSERT(proto_parse_worker(&b, &again, flags) == 0);
	FUZZ_ASSERT(again.command == in->command);
	FUZZ_ASSERT(again.capacity == in->capacity);
	FUZZ_ASSERT(again.status == in->status);
	FUZZ_ASSERT(again.service_len == in->service_len);
	FUZZ_ASSERT(fuzz_sum(&b) == fuzz_sum(m));
	frames_free(&b);
}

/*
 * Answer m as the broker does (proto_reply, then the fields or the
 * reason) and read the answer as a client does: same status, same
 * fields.
 */
static void
reply_round_trip(struct waha_msg *m, const struct proto_in *in, int rc)
{
	struct waha_msg	 out;
	uint64_t	 fields = 0;
	size_t		 first, nf = 0;
	int		 status, want = rc == 0 ? 200 : 400;

	frames_init(&out);
	if (rc == 0) {
		fields = sum_range(m, in->body, m->n);
		nf = m->n - in->body;
	}
	proto_reply(&out, m, in->env, want);
	if (rc == 0)
		frames_moverange(&out, m, in->body, m->n);
	else
		frames_addmem(&out, in->reason, in->reason_len);
	FUZZ_ASSERT(proto_parse_reply(&out, &status, &first) == 0);
	FUZZ_ASSERT(status == want);
	FUZZ_ASSERT(first == in->env + 2);
	if (rc == 0) {
		FUZZ_ASSERT(out.n - first == nf);
		FUZZ_ASSERT(sum_range(&out, first, out.n) == fields);
	} else
		FUZZ_ASSERT(out.n == first + 1);
	frames_free(&out);
}

static void
router_side(struct waha_msg *m, size_t max_name)
{
	struct proto_in	 in;
	uint64_t	 h = fuzz_sum(m);
	size_t		 n = m->n;
	int		 rc;

	rc = proto_parse(m, &in, max_name);
	FUZZ_ASSERT(rc == 0 || rc == -1);
	FUZZ_ASSERT(m->n == n && fuzz_sum(m) == h);
	if (rc == -1) {
		check_error(m, &in);
		/*
		 * The broker answers a native client, which has an envelope;
		 * a command (PROTO_CMD) is never answered.
		 */
		if (in.kind == PROTO_NATIVE && in.env > 0)
			reply_round_trip(m, &in, rc);
		return;
	}
	FUZZ_ASSERT(in.env >= 1 && frames_size(m, in.env) == 0);
	if (in.kind == PROTO_MDPW) {
		check_worker(m, &in, 0);
		rebuild_worker(m, &in, 0);
		return;
	}
	if (in.kind == PROTO_CMD) {
		/* [env] "" WAHA01 COMMAND, and nothing after. */
		FUZZ_ASSERT(in.extended && m->n == in.env + 3);
		FUZZ_ASSERT(frames_is(m, in.env + 1, WAHA_EXT));
		check_opts(&in.opts);
		FUZZ_ASSERT(in.opts.timeout == -1 && !in.opts.stream);
		return;
	}
	if (in.extended) {
		FUZZ_ASSERT(frames_is(m, in.env + 1, WAHA_EXT));
		FUZZ_ASSERT(in.body == in.env + 4);
		check_opts(&in.opts);
		/* No command in a request; credit= only as a stream's window. */
		FUZZ_ASSERT(!in.opts.cancel);
		FUZZ_ASSERT(in.opts.credit == -1 || (in.opts.stream &&
		    in.opts.credit > 0));
	}
	FUZZ_ASSERT(m->dropped == 0);
	FUZZ_ASSERT(in.body >= in.env + 2 && in.body <= m->n);
	FUZZ_ASSERT(fuzz_inside(m, in.body - 1, in.service, in.service_len));
	FUZZ_ASSERT(in.service_len == frames_size(m, in.body - 1));
	FUZZ_ASSERT(proto_name_check(in.service, in.service_len,
	    max_name) == NULL);
	if (in.kind == PROTO_NATIVE)
		reply_round_trip(m, &in, rc);
}

/* As worker_recv reads what the broker sends a worker. */
static void
worker_side(struct waha_msg *m, int flags)
{
	struct proto_in	 in;
	uint64_t	 h = fuzz_sum(m);

	memset(&in, 0, sizeof(in));
	in.env = frames_delim(m, 0);
	if (!frames_is(m, in.env + 1, WAHA_MDPW))
		return;
	if (proto_parse_worker(m, &in, flags) != 0) {
		check_error(m, &in);
		FUZZ_ASSERT(fuzz_sum(m) == h);
		return;
	}
	FUZZ_ASSERT(fuzz_sum(m) == h);
	check_worker(m, &in, flags);
	rebuild_worker(m, &in, flags);
}

/* As waha-cli and the gateway read a reply. */
static void
client_side(struct waha_msg *m)
{
	uint64_t	 h = fuzz_sum(m);
	size_t		 first;
	int		 status;

	if (proto_parse_reply(m, &status, &first) != 0)
		return;
	FUZZ_ASSERT(fuzz_sum(m) == h);
	FUZZ_ASSERT(status >= 100 && status <= 599);
	FUZZ_ASSERT(first >= 2 && first <= m->n);
	FUZZ_ASSERT(frames_size(m, first - 2) == 0);
	FUZZ_ASSERT(frames_size(m, first - 1) == 3);
	(void)proto_status_text(status);
	(void)proto_status_ok(status, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct waha_msg	 m;
	unsigned	 flags;

	if (size < 1)
		return (0);
	flags = data[0];
	frames_init(&m);
	fuzz_parts(&m, data + 1, size - 1);
	m.dropped = (flags & 0x04) ? 1 : 0;
	switch (flags & 0x03) {
	case 0:
		router_side(&m, (flags & 0x08) ? 8 : WAHA_NAME_MAX);
		break;
	case 1:
		worker_side(&m, (flags & 0x10) ? PROTO_WORKER_OPTS : 0);
		break;
	default:
		client_side(&m);
		break;
	}
	frames_free(&m);
	return (0);
}
