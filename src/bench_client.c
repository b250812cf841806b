/*
 * waha-bench's clients: one thread each, with its own DEALER socket and
 * up to -w requests in flight.  Every request carries its client, slot
 * and sequence number at the head of its payload (and, in the native
 * protocol, in a correlation frame), so that every reply is matched to
 * its request and compared with it byte for byte.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"
#include "bench.h"

/* A request in flight. */
struct slot {
	uint64_t	 seq;
	int64_t		 sent_us;
	int		 busy;
};

/* What heads a payload; the correlation frame is its slot and seq. */
struct header {
	uint32_t	 client;
	uint32_t	 slot;
	uint64_t	 seq;
};
struct corr {
	uint32_t	 slot;
	uint64_t	 seq;
} __attribute__((__packed__));

struct bench_client {
	pthread_t		 thread;
	pthread_barrier_t	*barrier;
	const struct bench_config *cf;
	uint32_t		 id;
	uint64_t		 todo;		/* its share of a count */
	int64_t			 end_us;	/* with a duration */
	int64_t			 heard_us;	/* last reply, or the start */
	int64_t			 checked_us;	/* last look for expiry */
	void			*sock;
	struct slot		*slot;
	uint32_t		*free;		/* stack of free slots */
	unsigned		 nfree;
	uint64_t		 next_seq;
	unsigned char		*tmpl;		/* every payload, header aside */
	char			 opts[32];	/* --deadline: the options frame */
	struct waha_msg		 in;
	struct waha_msg		 out;
	struct bench_stats	 st;
	uint64_t		 progress;	/* verified; main reads it */
	int			 done;		/* main reads it */
};

static void	*run(void *);

/*
 * A client that will connect to cf->url; the id numbers it among
 * cf->clients, which share the count of requests.  NULL with a cause
 * if the endpoint does not take.
 */
struct bench_client *
bench_client_new(void *zctx, const struct bench_config *cf, unsigned id,
    char **cause)
{
	struct bench_client	*c;
	size_t			 i;

	c = xcalloc(1, sizeof(*c));
	c->cf = cf;
	snprintf(c->opts, sizeof(c->opts), "timeout=%d",
	    cf->timeout > 0 ? cf->timeout : 1);
	c->id = id;
	if (cf->requests > 0)
		c->todo = cf->requests / cf->clients +
		    (id < cf->requests % cf->clients);
	c->slot = xcalloc(cf->window, sizeof(*c->slot));
	c->free = xcalloc(cf->window, sizeof(*c->free));
	for (c->nfree = 0; c->nfree < cf->window; c->nfree++)
		c->free[c->nfree] = cf->window - 1 - c->nfree;
	/* Bytes of every value, NUL and high ones too. */
	c->tmpl = xmalloc(cf->size + 1);
	for (i = 0; i < cf->size; i++)
		c->tmpl[i] = (unsigned char)(i * 7 + id);
	frames_init(&c->in);
	frames_init(&c->out);
	c->sock = util_socket(zctx, ZMQ_DEALER);
	if ((cf->curve_own != NULL && curve_client_setup(c->sock,
	    cf->curve_own, cf->curve_server, CURVE_ONCE, cause) != 0) ||
	    util_attach(c->sock, 0, cf->url, cause) != 0) {
		bench_client_free(c);
		return (NULL);
	}
	return (c);
}

/* Free a client that has been joined (or never started). */
void
bench_client_free(struct bench_client *c)
{
	if (c == NULL)
		return;
	util_close(&c->sock, 0);
	frames_free(&c->in);
	frames_free(&c->out);
	free(c->tmpl);
	free(c->free);
	free(c->slot);
	free(c);
}

/* Start the client's thread; it begins once the barrier opens. */
int
bench_client_start(struct bench_client *c, pthread_barrier_t *barrier)
{
	c->barrier = barrier;
	return (pthread_create(&c->thread, NULL, run, c) == 0 ? 0 : -1);
}

/* Wait for the client's thread to end. */
void
bench_client_join(struct bench_client *c)
{
	pthread_join(c->thread, NULL);
}

/* Whether the client has finished: nothing more to send or to wait for. */
int
bench_client_done(struct bench_client *c)
{
	return (__atomic_load_n(&c->done, __ATOMIC_ACQUIRE));
}

/* Verified replies so far, for the progress line. */
uint64_t
bench_client_replies(struct bench_client *c)
{
	return (__atomic_load_n(&c->progress, __ATOMIC_RELAXED));
}

/* The client's counts; read them only once it is joined. */
const struct bench_stats *
bench_client_stats(struct bench_client *c)
{
	return (&c->st);
}

static int
sending(struct bench_client *c, int64_t now)
{
	if (__atomic_load_n(&bench_stop, __ATOMIC_RELAXED) || c->st.gave_up)
		return (0);
	if (c->cf->requests > 0)
		return (c->st.sent < c->todo);
	return (now < c->end_us);
}

static void
add_payload(struct bench_client *c, uint32_t s, uint64_t seq)
{
	struct header	 h = { c->id, s, seq };
	size_t		 n = c->cf->size;

	frames_addmem(&c->out, c->tmpl, n);
	memcpy(zmq_msg_data(&c->out.part[c->out.n - 1]), &h,
	    n < sizeof(h) ? n : sizeof(h));
}

/*
 * Send a request in a free slot.  Returns when it was sent (us), or -1
 * if the socket would not take it.
 */
static int64_t
send_one(struct bench_client *c)
{
	struct corr	 k;
	uint32_t	 s = c->free[--c->nfree];

	k.slot = s;
	k.seq = c->next_seq++;
	if (c->cf->proto == BENCH_NATIVE) {
		frames_addmem(&c->out, &k, sizeof(k));
		frames_add(&c->out);
		if (c->cf->deadline) {
			frames_addstr(&c->out, WAHA_EXT);
			frames_addstr(&c->out, c->opts);
		}
	} else {
		frames_add(&c->out);
		frames_addstr(&c->out, WAHA_MDPC);
	}
	frames_addstr(&c->out, c->cf->service);
	add_payload(c, s, k.seq);
	c->slot[s].seq = k.seq;
	c->slot[s].sent_us = util_now_us();
	if (frames_send(&c->out, c->sock, ZMQ_DONTWAIT) != 0) {
		c->free[c->nfree++] = s;
		return (-1);
	}
	c->slot[s].busy = 1;
	c->st.sent++;
	return (c->slot[s].sent_us);
}

static void
release(struct bench_client *c, uint32_t s)
{
	c->slot[s].busy = 0;
	c->free[c->nfree++] = s;
}

/* The slot in flight that slot s and seq name, or -1. */
static int
lookup(struct bench_client *c, uint32_t s, uint64_t seq)
{
	if (s >= c->cf->window || !c->slot[s].busy || c->slot[s].seq != seq)
		return (-1);
	return ((int)s);
}

/* Whether part i is the payload sent in slot s. */
static int
payload_ok(struct bench_client *c, size_t i, uint32_t s)
{
	struct header	 h = { c->id, s, c->slot[s].seq };
	const char	*p = frames_data(&c->in, i);
	size_t		 n = c->cf->size, hn = n < sizeof(h) ? n : sizeof(h);

	return (frames_size(&c->in, i) == n && memcmp(p, &h, hn) == 0 &&
	    memcmp(p + hn, c->tmpl + hn, n - hn) == 0);
}

/* [corr] "" STATUS FIELD*: the slot it answers, or -1; sets ok. */
static int
check_native(struct bench_client *c, int *ok)
{
	struct corr	 k;
	size_t		 first;
	int		 s, status, i;

	if (c->in.n == 0 || frames_size(&c->in, 0) != sizeof(k))
		return (-1);
	memcpy(&k, frames_data(&c->in, 0), sizeof(k));
	if ((s = lookup(c, k.slot, k.seq)) == -1)
		return (-1);
	if (proto_parse_reply(&c->in, &status, &first) != 0 || first != 3) {
		c->st.malformed++;
		return (s);
	}
	i = util_status_index(status);
	c->st.status[i == -1 ? WAHA_NSTATUS : i]++;
	if (status != 200)
		return (s);
	if (c->in.n == first + 1 && payload_ok(c, first, s))
		*ok = 1;
	else
		c->st.mismatched++;
	return (s);
}

/* "" MDPC01 SERVICE BODY, matched by the header of its last part. */
static int
check_mdp(struct bench_client *c, int *ok)
{
	struct header	 h;
	size_t		 last = c->in.n - 1;
	int		 s;

	if (c->in.n == 0 || frames_size(&c->in, last) < sizeof(h))
		return (-1);
	memcpy(&h, frames_data(&c->in, last), sizeof(h));
	if (h.client != c->id || (s = lookup(c, h.slot, h.seq)) == -1)
		return (-1);
	if (c->in.n != 4 || frames_size(&c->in, 0) != 0 ||
	    !frames_is(&c->in, 1, WAHA_MDPC) ||
	    !frames_is(&c->in, 2, c->cf->service)) {
		c->st.malformed++;
		return (s);
	}
	/* An RFC 7 reply is a success: failures are never sent. */
	c->st.status[util_status_index(200)]++;
	if (payload_ok(c, last, s))
		*ok = 1;
	else
		c->st.mismatched++;
	return (s);
}

static void
on_reply(struct bench_client *c, int64_t now)
{
	int64_t	 us;
	int	 s, ok = 0;

	s = c->cf->proto == BENCH_NATIVE ? check_native(c, &ok) :
	    check_mdp(c, &ok);
	if (s == -1 || c->in.dropped > 0) {
		c->st.unknown++;
		return;
	}
	c->heard_us = c->st.last_us = now;
	if (ok) {
		us = now - c->slot[s].sent_us;
		hist_add(&c->st.latency, us);
		c->st.sum_us += us;
		if (us > c->st.max_us)
			c->st.max_us = us;
	}
	release(c, s);
}

/*
 * Count the requests older than the timeout as timed out and forget
 * them.  A client that has had no reply for a whole timeout gives up:
 * no broker there, or it stopped answering.
 */
static void
expire(struct bench_client *c, int64_t now)
{
	int64_t		 limit = (int64_t)c->cf->timeout * 1000;
	uint32_t	 s;
	int		 all;

	if (c->cf->timeout < 0 || now - c->checked_us < BENCH_TICK * 1000)
		return;
	c->checked_us = now;
	all = c->nfree < c->cf->window && now - c->heard_us >= limit;
	if (all)
		c->st.gave_up = 1;
	for (s = 0; s < c->cf->window; s++) {
		if (c->slot[s].busy && (all || now - c->slot[s].sent_us >=
		    limit)) {
			c->st.timeouts++;
			release(c, s);
		}
	}
}

/* Wait for replies (a tick at most) and take all that are there. */
static void
take_replies(struct bench_client *c)
{
	zmq_pollitem_t	 item = { c->sock, 0, ZMQ_POLLIN, 0 };
	int64_t		 now = util_now_us();
	long		 ms = BENCH_TICK;

	if (c->cf->requests == 0 && sending(c, now) &&
	    (c->end_us - now) / 1000 < ms)
		ms = (c->end_us - now) / 1000;
	if (zmq_poll(&item, 1, ms) == -1 && errno != EINTR)
		fatalx("zmq_poll: %s", zmq_strerror(errno));
	while (frames_recv(&c->in, c->sock, ZMQ_DONTWAIT, 8) == 0)
		on_reply(c, util_now_us());
	__atomic_store_n(&c->progress, c->st.latency.count, __ATOMIC_RELAXED);
}

static void *
run(void *arg)
{
	struct bench_client	*c = arg;
	int64_t			 now, t;

	pthread_barrier_wait(c->barrier);
	now = util_now_us();
	c->st.first_us = c->st.last_us = c->heard_us = c->checked_us = now;
	c->end_us = now + (int64_t)c->cf->duration * 1000000;
	while (sending(c, now) || c->nfree < c->cf->window) {
		while (c->nfree > 0 && sending(c, now) &&
		    (t = send_one(c)) != -1)
			now = t;
		take_replies(c);
		now = util_now_us();
		expire(c, now);
	}
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	return (NULL);
}
