/*
 * Streamed replies (DESIGN.md 2.7): each partial (206) the broker relays
 * is written to the client as it comes, as a Server-Sent Event
 * (Accept: text/event-stream), a line of NDJSON (stream=1) or its bytes
 * (stream=1&type=plain), all in a chunked body.
 *
 * The status line waits for the first partial: a stream that fails or
 * ends before one is answered as any request is, with its own code.
 * After it, a failure can only be told in the body: SSE and NDJSON end
 * with an object that has the status; the bytes of type=plain cannot
 * say anything, so the connection is closed without the last chunk,
 * which a client such as curl reports as an error.
 *
 * Flow control: the broker sends no more than its window of partial
 * payload beyond the credit the gateway gives back, and the gateway
 * gives it back only as the bytes leave the connection's output buffer
 * for the socket.  A callback on that buffer sees every byte added and
 * written; each partial is a segment ending at the byte count where its
 * text ends, and a segment's payload is credited once the count of
 * bytes written has passed its end.  So the gateway holds at most one
 * window a stream, and a slow reader slows the program.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "waha.h"
#include "http.h"

#define STREAM_SEGS	16	/* segments kept; more are merged */
#define STREAM_CREDIT	32768	/* bytes credited at once, at least */

struct seg {
	uint64_t	 end;		/* output bytes to this partial's end */
	long long	 bytes;		/* its payload */
};

struct http_stream {
	struct http_req	*r;
	struct evbuffer	*out;		/* the connection's output */
	struct evbuffer_cb_entry *watch;
	struct event	*keepalive;	/* SSE comments */
	struct event	*cut;		/* type=plain failed: close */
	uint64_t	 added;		/* bytes through out */
	uint64_t	 written;
	struct seg	 seg[STREAM_SEGS];
	int		 nseg;
	long long	 owed;		/* written, not yet credited */
	unsigned	 events;	/* SSE ids so far */
	int		 wrote;		/* since the last keepalive */
	int		 cutting;
	unsigned char	 carry[4];	/* SSE: an unfinished UTF-8 sequence */
	size_t		 ncarry;
};

/* The payload of m from first on: the sum of its fields' sizes. */
static long long
payload(struct waha_msg *m, size_t first)
{
	long long	 n = 0;
	size_t		 i;

	for (i = first; i < m->n; i++)
		n += frames_size(m, i);
	return (n);
}

/*
 * The output buffer's callback: count what is added and written, and
 * credit the broker for the partials written out, in batches, or all
 * of them when the buffer is empty.
 */
static void
on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct http_stream	*st = arg;

	st->added += info->n_added;
	st->written += info->n_deleted;
	while (st->nseg > 0 && st->seg[0].end <= st->written) {
		st->owed += st->seg[0].bytes;
		st->nseg--;
		memmove(st->seg, st->seg + 1, st->nseg * sizeof(st->seg[0]));
	}
	if (st->owed >= STREAM_CREDIT ||
	    (st->owed > 0 && evbuffer_get_length(buf) == 0)) {
		http_broker_credit(st->r, st->owed);
		st->owed = 0;
	}
	if (st->cutting && evbuffer_get_length(buf) == 0)
		event_active(st->cut, EV_TIMEOUT, 1);
}

/* Write b as a chunk of st's reply; it carries bytes of payload. */
static void
put(struct http_stream *st, struct evbuffer *b, long long bytes)
{
	struct http_req	*r = st->r;
	struct seg	*s;

	evhttp_send_reply_chunk(r->ev, b);
	http_conn_sent(r->conn);
	st->wrote = 1;
	if (bytes == 0)
		return;
	HTTP_STAT(r->loop, r->loop->stats.stream_bytes += bytes);
	if (st->nseg == STREAM_SEGS) {
		/* Credited a little later, never early. */
		s = &st->seg[STREAM_SEGS - 1];
		s->bytes += bytes;
	} else {
		s = &st->seg[st->nseg++];
		s->bytes = bytes;
	}
	s->end = st->added;
}

static void
stream_free(struct http_stream *st)
{
	struct http_loop	*loop;

	if (st == NULL)
		return;
	loop = st->r->loop;
	evbuffer_remove_cb_entry(st->out, st->watch);
	if (st->keepalive != NULL)
		event_free(st->keepalive);
	event_free(st->cut);
	st->r->st = NULL;
	HTTP_STAT(loop, loop->stats.streaming--);
	free(st);
}

/* The client of a stream has gone (http_conn.c frees r). */
static void
on_gone(struct http_req *r)
{
	stream_free(r->st);
}

/* Every --stream-keepalive: a comment, if nothing else went out. */
static void
on_keepalive(evutil_socket_t fd, short what, void *arg)
{
	struct http_stream	*st = arg;
	struct evbuffer		*b;

	if (!st->wrote && !st->cutting && evbuffer_get_length(st->out) == 0) {
		if ((b = evbuffer_new()) == NULL)
			fatalx("evbuffer_new");
		evbuffer_add(b, ": keepalive\n\n", 13);
		put(st, b, 0);
		evbuffer_free(b);
	}
	st->wrote = 0;
}

/* A failed type=plain stream, its bytes written: close, no last chunk. */
static void
on_cut(evutil_socket_t fd, short what, void *arg)
{
	struct http_stream	*st = arg;
	struct http_req		*r = st->r;
	struct http_conn	*c = r->conn;

	stream_free(st);
	free(r);
	http_conn_abort(c);
}

/* The status line and headers of r's streamed reply: 200, chunked. */
static void
begin(struct http_req *r)
{
	struct http_loop	*loop = r->loop;
	struct http_stream	*st;
	struct evkeyvalq	*h = evhttp_request_get_output_headers(r->ev);
	struct timeval		 tv;
	const char		*ctype;

	st = r->st = xcalloc(1, sizeof(*st));
	st->r = r;
	ctype = r->stream == HTTP_STREAM_SSE ? HTTP_CT_SSE :
	    r->stream == HTTP_STREAM_NDJSON ? HTTP_CT_NDJSON : HTTP_CT_PLAIN;
	/* nginx would buffer the reply otherwise. */
	evhttp_add_header(h, "X-Accel-Buffering", "no");
	http_reply_begin(r, 200, ctype, r->stream == HTTP_STREAM_SSE ?
	    "no-cache" : "no-store");
	http_conn_streaming(r->conn);
	st->out = bufferevent_get_output(r->conn->bev);
	if ((st->watch = evbuffer_add_cb(st->out, on_output, st)) == NULL ||
	    (st->cut = evtimer_new(loop->base, on_cut, st)) == NULL)
		fatalx("http: cannot start a stream");
	evhttp_send_reply_start(r->ev, 200, NULL);
	http_conn_sent(r->conn);
	if (r->stream == HTTP_STREAM_SSE) {
		tv.tv_sec = loop->env->keepalive / 1000;
		tv.tv_usec = (loop->env->keepalive % 1000) * 1000;
		if ((st->keepalive = event_new(loop->base, -1, EV_PERSIST,
		    on_keepalive, st)) == NULL ||
		    event_add(st->keepalive, &tv) != 0)
			fatalx("http: cannot start a stream's keepalive");
	}
	HTTP_STAT(loop, loop->stats.streams++; loop->stats.streaming++);
}

static int
add_json(const char *buf, size_t size, void *data)
{
	return (evbuffer_add(data, buf, size));
}

/* j (its reference taken) to b as one line of JSON, without newline. */
static void
put_json(struct evbuffer *b, json_t *j)
{
	if (j == NULL || json_dump_callback(j, add_json, b,
	    JSON_COMPACT) != 0)
		fatalx("http: cannot encode JSON");
	json_decref(j);
}

/*
 * How many bytes at the end of len at d begin a UTF-8 sequence that the
 * next partial may finish: held back, so that text cut anywhere stays
 * text.
 */
static size_t
utf8_tail(const unsigned char *d, size_t len)
{
	size_t	 k, need;

	for (k = 1; k <= 3 && k <= len; k++) {
		if ((d[len - k] & 0xc0) == 0x80)
			continue;
		if (d[len - k] < 0xc0)
			return (0);
		need = d[len - k] >= 0xf0 ? 4 : d[len - k] >= 0xe0 ? 3 : 2;
		return (need > k ? k : 0);
	}
	return (0);
}

/*
 * An SSE event of text: each line of it a data line, so that the
 * client's data is the text exactly (a text that ends in a newline
 * ends in an empty data line).
 */
static void
sse_text(struct http_stream *st, struct evbuffer *b, const char *d,
    size_t len)
{
	const char	*nl;

	evbuffer_add_printf(b, "event: partial\nid: %u\n", ++st->events);
	for (;;) {
		nl = memchr(d, '\n', len);
		evbuffer_add(b, "data: ", 6);
		evbuffer_add(b, d, nl != NULL ? (size_t)(nl - d) : len);
		evbuffer_add(b, "\n", 1);
		if (nl == NULL)
			break;
		len -= nl + 1 - d;
		d = nl + 1;
	}
	evbuffer_add(b, "\n", 1);
}

/* An SSE event of bytes that are not text for SSE: one base64 line. */
static void
sse_base64(struct http_stream *st, struct evbuffer *b, const void *d,
    size_t len)
{
	char	*s;
	size_t	 n;

	s = codec_b64_encode(d, len, &n);
	evbuffer_add_printf(b, "event: partial-base64\nid: %u\ndata: ",
	    ++st->events);
	evbuffer_add(b, s, n);
	evbuffer_add(b, "\n\n", 2);
	free(s);
}

/*
 * The fields of a partial as one SSE event.  SSE is UTF-8 and takes CR
 * as a line end, so bytes that are not UTF-8, or hold a CR, go as
 * base64 in a partial-base64 event.
 */
static void
sse_partial(struct http_stream *st, struct evbuffer *b,
    struct waha_msg *m, size_t first)
{
	unsigned char	*d;
	size_t		 len, o, i, tail;

	len = st->ncarry + payload(m, first);
	d = xmalloc(len + 1);
	memcpy(d, st->carry, st->ncarry);
	o = st->ncarry;
	for (i = first; i < m->n; i++) {
		memcpy(d + o, frames_data(m, i), frames_size(m, i));
		o += frames_size(m, i);
	}
	tail = utf8_tail(d, len);
	if (codec_utf8_valid(d, len - tail) &&
	    memchr(d, '\r', len - tail) == NULL) {
		if (len - tail > 0 || len == 0)
			sse_text(st, b, (char *)d, len - tail);
		memcpy(st->carry, d + len - tail, tail);
		st->ncarry = tail;
	} else {
		sse_base64(st, b, d, len);
		st->ncarry = 0;
	}
	free(d);
}

/* A partial of r's stream: begin the reply if need be, write it. */
static void
partial(struct http_req *r, struct waha_msg *m, size_t first)
{
	struct evbuffer	*b;
	size_t		 i;

	if (r->st == NULL)
		begin(r);
	if ((b = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	switch (r->stream) {
	case HTTP_STREAM_SSE:
		sse_partial(r->st, b, m, first);
		break;
	case HTTP_STREAM_NDJSON:
		put_json(b, json_pack("{s:o}", "partial",
		    codec_json_array(m, first)));
		evbuffer_add(b, "\n", 1);
		break;
	default:
		for (i = first; i < m->n; i++)
			evbuffer_add(b, frames_data(m, i), frames_size(m, i));
		break;
	}
	put(r->st, b, payload(m, first));
	evbuffer_free(b);
}

/* The last event or line: {"status":200,"fields":[...]} or an error. */
static void
put_final(struct http_req *r, struct evbuffer *b, int code,
    struct waha_msg *m, size_t first, const char *reason, size_t len)
{
	struct http_stream	*st = r->st;
	json_t			*o;
	char			*fixed;
	size_t			 flen;

	if (code == 200)
		o = json_pack("{s:i, s:o}", "status", 200, "fields",
		    codec_json_array(m, first));
	else {
		fixed = codec_utf8_fix(reason, len, &flen);
		o = json_pack("{s:s%, s:i}", "error", fixed, flen, "status",
		    code);
		free(fixed);
	}
	if (r->stream == HTTP_STREAM_SSE) {
		if (st->ncarry > 0)
			sse_base64(st, b, st->carry, st->ncarry);
		evbuffer_add_printf(b, "event: final\nid: %u\ndata: ",
		    ++st->events);
	}
	put_json(b, o);
	evbuffer_add(b, r->stream == HTTP_STREAM_SSE ? "\n\n" : "\n",
	    r->stream == HTTP_STREAM_SSE ? 2 : 1);
}

/* End r's streamed reply with its last chunk, and free r. */
static void
finish(struct http_req *r)
{
	struct http_conn	*c = r->conn;
	struct evkeyvalq	*h = evhttp_request_get_output_headers(r->ev);
	int			 chunked;

	/* HTTP/1.0 has no chunks: its body ends when the connection does. */
	chunked = evhttp_find_header(h, "Transfer-Encoding") != NULL;
	stream_free(r->st);
	http_conn_reply(c);
	evhttp_send_reply_end(r->ev);
	/* Without chunks evhttp may be done, and c freed, already. */
	if (chunked)
		http_conn_sent(c);
	free(r);
}

/*
 * A type=plain stream failed after its first bytes: log it, and close
 * the connection once the bytes are written, without the last chunk.
 */
static void
cut(struct http_req *r, int code, const char *reason, size_t len)
{
	struct http_stream	*st = r->st;
	const char		*uri = evhttp_request_get_uri(r->ev);
	char			*s, *u;

	s = codec_printable(reason, len);
	u = codec_printable(uri, strlen(uri));
	log_warnx("http: stream %s failed after %llu bytes out: %d %s; "
	    "closing without its last chunk", u,
	    (unsigned long long)st->added, code, s);
	free(s);
	free(u);
	HTTP_STAT(r->loop, r->loop->stats.stream_cut++);
	st->cutting = 1;
	if (evbuffer_get_length(st->out) == 0)
		event_active(st->cut, EV_TIMEOUT, 1);
}

/*
 * The end of r's stream, the final reply (fields of m from first on,
 * code 200) or a failure (code and reason, len bytes).  Before any
 * partial the reply is a plain one, with the failure's own code.
 */
static void
end(struct http_req *r, int code, struct waha_msg *m, size_t first,
    const char *reason, size_t len)
{
	struct evbuffer	*b;
	size_t		 i;

	http_broker_forget(r);
	if (r->st == NULL && (code != 200 || r->stream == HTTP_STREAM_PLAIN)) {
		if (code == 200)
			http_reply_fields(r, m, first);
		else
			http_reply_error(r, code, reason, len);
		return;
	}
	if (r->st == NULL)
		begin(r);
	if (r->stream == HTTP_STREAM_PLAIN && code != 200) {
		cut(r, code, reason, len);
		return;
	}
	if ((b = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	if (r->stream == HTTP_STREAM_PLAIN) {
		for (i = first; i < m->n; i++)
			evbuffer_add(b, frames_data(m, i), frames_size(m, i));
	} else
		put_final(r, b, code, m, first, reason, len);
	put(r->st, b, 0);
	evbuffer_free(b);
	finish(r);
}

/* The broker's final reply to r's stream. */
static void
final(struct http_req *r, int status, struct waha_msg *m, size_t first)
{
	const char	*reason = first < m->n ? frames_data(m, first) : "";
	size_t		 len = first < m->n ? frames_size(m, first) : 0;
	int		 code = http_reply_code(status);

	if (code != status) {
		reason = "unknown status from the broker";
		len = strlen(reason);
	}
	end(r, code, m, first, reason, len);
}

/* The gateway's own end of r's stream: its timeout, a lost broker. */
static void
fail(struct http_req *r, int code, const char *reason)
{
	end(r, code, NULL, 0, reason, strlen(reason));
}

/* Make r, about to be sent, stream its reply. */
void
http_stream_prepare(struct http_req *r)
{
	r->on_partial = partial;
	r->on_reply = final;
	r->on_fail = fail;
	r->on_gone = on_gone;
}
