/*
 * A JSON array as request fields, the rule of waha-cli's -i json and of
 * the HTTP gateway: a string is a field as it is, any other value its
 * compact JSON text.  Apart from codec.c so that only the programs that
 * use it link jansson.
 */
#include "config.h"

#include <stdlib.h>

#include <jansson.h>

#include "waha.h"

/*
 * The compact text of a value that is not a string.  A real is written
 * with the fewest digits that read back as the same double (0.1, not
 * 0.10000000000000001).
 */
static char *
value_text(json_t *v)
{
	char	*s;
	int	 p;

	for (p = 15; json_is_real(v) && p < 17; p++) {
		s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(p));
		if (s != NULL && strtod(s, NULL) == json_real_value(v))
			return (s);
		free(s);
	}
	if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		fatalx("json_dumps");
	return (s);
}

/*
 * Append the elements of the JSON array in len bytes at text to m, one
 * field each.  Returns 0, or -1 with a cause that starts with what (the
 * name of the input, such as "stdin").
 */
int
codec_json_fields(struct waha_msg *m, const void *text, size_t len,
    const char *what, char **cause)
{
	json_error_t	 err;
	json_t		*doc, *v;
	size_t		 i;
	char		*s;

	doc = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (doc == NULL) {
		xasprintf(cause, "%s is not JSON: %s (line %d, column %d)",
		    what, err.text, err.line, err.column);
		return (-1);
	}
	if (!json_is_array(doc)) {
		json_decref(doc);
		xasprintf(cause, "%s is JSON but not an array", what);
		return (-1);
	}
	json_array_foreach(doc, i, v) {
		if (json_is_string(v)) {
			frames_addmem(m, json_string_value(v),
			    json_string_length(v));
			continue;
		}
		s = value_text(v);
		frames_addstr(m, s);
		free(s);
	}
	json_decref(doc);
	return (0);
}
