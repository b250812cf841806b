/*
 * Multipart messages: receive, send, build and take apart without
 * copying payloads (frames move from one message to another).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "waha.h"

/* Make an empty message. */
void
frames_init(struct waha_msg *m)
{
	m->part = NULL;
	m->n = m->cap = 0;
	m->dropped = 0;
	m->bytes = 0;
}

/* Close every part; the message is empty but keeps its array. */
void
frames_clear(struct waha_msg *m)
{
	size_t	 i;

	for (i = 0; i < m->n; i++)
		zmq_msg_close(&m->part[i]);
	m->n = 0;
	m->dropped = 0;
	m->bytes = 0;
}

/* Close every part and release the array. */
void
frames_free(struct waha_msg *m)
{
	frames_clear(m);
	free(m->part);
	frames_init(m);
}

/* Room for one part more at the end of m, not yet initialised. */
static zmq_msg_t *
slot(struct waha_msg *m)
{
	if (m->n == m->cap) {
		m->cap = m->cap == 0 ? 8 : m->cap * 2;
		m->part = xreallocarray(m->part, m->cap, sizeof(*m->part));
	}
	return (&m->part[m->n]);
}

/* Append an empty part and return it. */
zmq_msg_t *
frames_add(struct waha_msg *m)
{
	zmq_msg_init(slot(m));
	return (&m->part[m->n++]);
}

/* Append a part holding a copy of len bytes of data. */
void
frames_addmem(struct waha_msg *m, const void *data, size_t len)
{
	zmq_msg_t	*p;

	p = slot(m);
	if (zmq_msg_init_size(p, len) != 0)
		fatal("zmq_msg_init_size");
	m->n++;
	if (len > 0)
		memcpy(zmq_msg_data(p), data, len);
}

/* Append a part holding a string, without its NUL. */
void
frames_addstr(struct waha_msg *m, const char *s)
{
	frames_addmem(m, s, strlen(s));
}

/* Append src as a new part; src is left empty. */
void
frames_addmove(struct waha_msg *m, zmq_msg_t *src)
{
	zmq_msg_move(frames_add(m), src);
}

/*
 * Move parts [from, to) of src to the end of dst; src keeps empty parts,
 * but for a range that ends src, which src loses: its parts, being empty,
 * need no close (a request's envelope and body go this way, and every
 * reply's fields).
 * A dst without an array gets one of the size needed: requests waiting
 * in a queue keep their envelope and body this way, and 100,000 of them
 * should not each hold room for eight parts twice.
 */
void
frames_moverange(struct waha_msg *dst, struct waha_msg *src, size_t from,
    size_t to)
{
	size_t	 i;

	if (to > src->n)
		to = src->n;
	if (dst->cap == 0 && to > from) {
		dst->cap = to - from;
		dst->part = xreallocarray(NULL, dst->cap, sizeof(*dst->part));
	}
	for (i = from; i < to; i++)
		zmq_msg_move(frames_add(dst), &src->part[i]);
	if (to == src->n && to > from)
		src->n = from;
}

/* Close parts [from, to) of m. */
static void
close_range(struct waha_msg *m, size_t from, size_t to)
{
	size_t	 i;

	for (i = from; i < to; i++)
		zmq_msg_close(&m->part[i]);
}

/*
 * Receive a whole multipart message into m, which is cleared first.
 * Parts past max are received and discarded, and counted in m->dropped;
 * m->bytes is the size of all parts.
 * Returns 0, or -1 with errno (EAGAIN when nothing is waiting).
 *
 * zmq_msg_recv releases what a part held, so the parts m has already
 * are received into as they are, not closed and made again: that is
 * two calls into libzmq saved per frame.
 */
int
frames_recv(struct waha_msg *m, void *sock, int flags, size_t max)
{
	zmq_msg_t	 spill;
	zmq_msg_t	*p;
	size_t		 old = m->n;
	int		 more, rc, first = 1;

	m->n = m->dropped = m->bytes = 0;
	do {
		if (m->n >= max) {
			p = &spill;
			zmq_msg_init(p);
		} else if (m->n < old)
			p = &m->part[m->n++];
		else
			p = frames_add(m);
		/*
		 * The rest of a multipart message is already here: block
		 * for it and retry on EINTR, so that a message is never
		 * split.
		 */
		while ((rc = zmq_msg_recv(p, sock, first ? flags : 0)) == -1 &&
		    errno == EINTR && !first)
			;
		first = 0;
		if (rc == -1) {
			if (p == &spill)
				zmq_msg_close(p);
			close_range(m, 0, m->n > old ? m->n : old);
			m->n = 0;
			return (-1);
		}
		more = zmq_msg_more(p);
		m->bytes += (size_t)rc;		/* the part's size */
		if (p == &spill) {
			zmq_msg_close(p);
			m->dropped++;
		}
	} while (more);
	close_range(m, m->n, old);
	return (0);
}

/*
 * Send every part of m, moving them out; m is empty afterwards whatever
 * happens.  Returns 0, or -1 with errno (EHOSTUNREACH for a vanished
 * ROUTER peer, EAGAIN when it would block).
 */
int
frames_send(struct waha_msg *m, void *sock, int flags)
{
	size_t	 i;
	int	 rc = 0;

	for (i = 0; i < m->n && rc != -1; i++) {
		/*
		 * A signal (SIGCHLD in the script service) can interrupt a
		 * send even with ZMQ_DONTWAIT: retry, or the message is lost
		 * or, past its first part, cut in two.
		 */
		while ((rc = zmq_msg_send(&m->part[i], sock,
		    flags | (i + 1 < m->n ? ZMQ_SNDMORE : 0))) == -1 &&
		    errno == EINTR)
			;
	}
	/*
	 * libzmq leaves a sent part empty, needing no close: only those
	 * not sent (after a failure) hold anything.
	 */
	if (rc == -1)
		for (i--; i < m->n; i++)
			zmq_msg_close(&m->part[i]);
	m->n = 0;
	m->dropped = 0;
	m->bytes = 0;
	return (rc == -1 ? -1 : 0);
}

/* Index of the first empty part at or after from, or m->n if none. */
size_t
frames_delim(const struct waha_msg *m, size_t from)
{
	size_t	 i;

	for (i = from; i < m->n; i++) {
		if (zmq_msg_size(&m->part[i]) == 0)
			break;
	}
	return (i);
}

/* Size of part i. */
size_t
frames_size(const struct waha_msg *m, size_t i)
{
	return (zmq_msg_size((zmq_msg_t *)&m->part[i]));
}

/* Data of part i. */
const void *
frames_data(const struct waha_msg *m, size_t i)
{
	return (zmq_msg_data((zmq_msg_t *)&m->part[i]));
}

/* Whether part i exists and holds exactly the string s. */
int
frames_is(const struct waha_msg *m, size_t i, const char *s)
{
	size_t	 len = strlen(s);

	return (i < m->n && frames_size(m, i) == len &&
	    memcmp(frames_data(m, i), s, len) == 0);
}

/*
 * Write a key naming the first n parts of m (an envelope) into buf: each
 * part's length, four bytes big-endian, then its bytes.  Returns the
 * key's length, or 0 if it does not fit in len bytes.
 */
size_t
frames_key(const struct waha_msg *m, size_t n, unsigned char *buf, size_t len)
{
	size_t	 i, k = 0, sz;

	for (i = 0; i < n && i < m->n; i++) {
		sz = frames_size(m, i);
		if (sz > len || len - sz < 4 || k > len - sz - 4)
			return (0);
		buf[k++] = sz >> 24;
		buf[k++] = sz >> 16;
		buf[k++] = sz >> 8;
		buf[k++] = sz;
		memcpy(buf + k, frames_data(m, i), sz);
		k += sz;
	}
	return (k);
}
