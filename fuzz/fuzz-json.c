/*
 * libFuzzer harness of codec_json_fields, the JSON array reader of
 * waha-cli's -i json and of the gateway's args= and POST bodies.
 * Checked: a refusal adds no field and gives a cause that names the
 * input; an array gives one field per element, a string as it is and
 * any other value as JSON text that reads back equal (reals included).
 */
#include "config.h"

#include <stdio.h>

#include <jansson.h>

#include "waha.h"
#include "fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct waha_msg	 m;
	json_t		*doc, *v, *back;
	char		*cause = NULL;
	size_t		 i;
	int		 rc;

	frames_init(&m);
	frames_addstr(&m, "service");
	rc = codec_json_fields(&m, data, size, "the body", &cause);
	doc = json_loadb((const char *)data, size,
	    JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (rc != 0) {
		FUZZ_ASSERT(m.n == 1);
		FUZZ_ASSERT(cause != NULL &&
		    strncmp(cause, "the body ", 9) == 0);
		FUZZ_ASSERT(doc == NULL || !json_is_array(doc));
		free(cause);
		json_decref(doc);
		frames_free(&m);
		return (0);
	}
	FUZZ_ASSERT(cause == NULL);
	FUZZ_ASSERT(doc != NULL && json_is_array(doc));
	FUZZ_ASSERT(m.n == 1 + json_array_size(doc));
	json_array_foreach(doc, i, v) {
		if (json_is_string(v)) {
			FUZZ_ASSERT(frames_size(&m, i + 1) ==
			    json_string_length(v));
			FUZZ_ASSERT(memcmp(frames_data(&m, i + 1),
			    json_string_value(v), json_string_length(v)) == 0);
			continue;
		}
		back = json_loadb(frames_data(&m, i + 1), frames_size(&m, i + 1),
		    JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		FUZZ_ASSERT(back != NULL && json_equal(back, v));
		json_decref(back);
	}
	json_decref(doc);
	frames_free(&m);
	return (0);
}
