/*
 * What the libFuzzer harnesses of fuzz/ share: turning a fuzzer's bytes
 * into a multipart message whose every part is a heap block of its own
 * size, so that AddressSanitizer sees a read past the end of any part
 * (ZeroMQ keeps small parts inside the zmq_msg_t, where it would not).
 *
 * Input format: a part is one length byte L and L bytes (fewer if the
 * input ends first); fuzz/mkcorpus.py writes seeds in it.
 */
#ifndef WAHA_FUZZ_H
#define WAHA_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"

/* Fail loudly: libFuzzer records the input that got here. */
#define FUZZ_ASSERT(e) do {						\
	if (!(e)) {							\
		fprintf(stderr, "%s:%d: assertion failed: %s\n",	\
		    __FILE__, __LINE__, #e);				\
		abort();						\
	}								\
} while (0)

static void
fuzz_free_part(void *data, void *hint)
{
	free(data);
}

/* Append a part holding an exact-size heap copy of len bytes. */
static inline void
fuzz_add_part(struct waha_msg *m, const uint8_t *data, size_t len)
{
	zmq_msg_t	*p;
	void		*copy;

	p = frames_add(m);
	if (len == 0)
		return;
	copy = xmalloc(len);
	memcpy(copy, data, len);
	zmq_msg_close(p);
	if (zmq_msg_init_data(p, copy, len, fuzz_free_part, NULL) != 0)
		abort();
}

/* Decode parts from data until it ends; returns the bytes consumed. */
static inline void
fuzz_parts(struct waha_msg *m, const uint8_t *data, size_t size)
{
	size_t	 len;

	while (size > 0) {
		len = data[0];
		data++;
		size--;
		if (len > size)
			len = size;
		fuzz_add_part(m, data, len);
		data += len;
		size -= len;
	}
}

/* A checksum of every part, to tell that a parser changed nothing. */
static inline uint64_t
fuzz_sum(const struct waha_msg *m)
{
	const unsigned char	*p;
	uint64_t		 h = 1469598103934665603ULL;
	size_t			 i, k, len;

	for (i = 0; i < m->n; i++) {
		p = frames_data(m, i);
		len = frames_size(m, i);
		for (k = 0; k < len; k++)
			h = (h ^ p[k]) * 1099511628211ULL;
		h = (h ^ len ^ 0xff) * 1099511628211ULL;
	}
	return (h ^ m->n);
}

/* Whether [p, p + len) lies inside part i of m. */
static inline int
fuzz_inside(const struct waha_msg *m, size_t i, const void *p, size_t len)
{
	const char	*base = frames_data(m, i), *q = p;

	return (i < m->n && q >= base && q + len <= base + frames_size(m, i));
}

#endif
