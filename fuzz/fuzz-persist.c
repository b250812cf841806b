/*
 * libFuzzer harness of the line protocol of waha-service-script
 * --persistent (codec_json.c), called as the service calls it: a
 * program's reply line through codec_json_reply, and a request's fields
 * through codec_json_line.
 *
 * Input: a flags byte; bit 0 clear, the rest is a reply line; bit 0
 * set, the rest is the parts of a request (fuzz.h).  Checked: a refused
 * line gives a cause, no reason and leaves the message as it was; a
 * failure carries a status FAIL may carry and a reason; a success's
 * fields written back as a request line and read back as a reply are
 * the same fields; every request line is one line that reads back to its
 * fields, byte for byte.
 */
#include "config.h"

#include <stdio.h>

#include "waha.h"
#include "fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Write m's fields (from first) as a line, read it back: the same. */
static void
round_trip(const struct waha_msg *m, size_t first)
{
	struct waha_msg	 f, back;
	char		*line, *reason = NULL, *cause = NULL;
	size_t		 len, i;

	frames_init(&f);
	for (i = first; i < m->n; i++)
		fuzz_add_part(&f, frames_data(m, i), frames_size(m, i));
	line = codec_json_line(&f, &len);
	FUZZ_ASSERT(len > 0 && line[len - 1] == '\n');
	FUZZ_ASSERT(memchr(line, '\n', len - 1) == NULL);
	frames_init(&back);
	FUZZ_ASSERT(codec_json_reply(&back, line, len - 1, &reason, &cause) ==
	    200);
	FUZZ_ASSERT(back.n == f.n && fuzz_sum(&back) == fuzz_sum(&f));
	frames_free(&back);
	frames_free(&f);
	free(line);
}

static void
reply(const uint8_t *data, size_t size)
{
	struct waha_msg	 m;
	char		*reason = NULL, *cause = NULL;
	int		 st;

	frames_init(&m);
	frames_addstr(&m, "token");
	st = codec_json_reply(&m, data, size, &reason, &cause);
	if (st == -1) {
		FUZZ_ASSERT(cause != NULL && reason == NULL && m.n == 1);
		free(cause);
	} else if (st == 200) {
		FUZZ_ASSERT(cause == NULL && reason == NULL);
		round_trip(&m, 1);
	} else {
		FUZZ_ASSERT(proto_status_ok(st, 1) && st != 200);
		FUZZ_ASSERT(reason != NULL && cause == NULL && m.n == 1);
		free(reason);
	}
	frames_free(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct waha_msg	 m;

	if (size < 1)
		return (0);
	if (data[0] & 1) {
		frames_init(&m);
		fuzz_parts(&m, data + 1, size - 1);
		round_trip(&m, 0);
		frames_free(&m);
	} else
		reply(data + 1, size - 1);
	return (0);
}
