/*
 * A JSON array as request fields, the rule of waha-cli's -i json and of
 * the HTTP gateway: a string is a field as it is, any other value its
 * compact JSON text.  Apart from codec.c so that only the programs that
 * use it link jansson.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

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

/*
 * A field of len bytes at d as JSON: a string when it is valid UTF-8,
 * and otherwise an object {"base64": "..."}, so that no byte is lost.
 */
json_t *
codec_json_field(const void *d, size_t len)
{
	json_t	*v;
	char	*b;
	size_t	 n;

	if (codec_utf8_valid(d, len))
		v = json_stringn(d, len);
	else {
		b = codec_b64_encode(d, len, &n);
		v = json_pack("{s:s%}", "base64", b, n);
		free(b);
	}
	if (v == NULL)
		fatalx("codec_json_field: out of memory");
	return (v);
}

/* The fields of m from first on as a JSON array of codec_json_field. */
json_t *
codec_json_array(const struct waha_msg *m, size_t first)
{
	json_t	*a;
	size_t	 i;

	if ((a = json_array()) == NULL)
		fatalx("codec_json_array: out of memory");
	for (i = first; i < m->n; i++) {
		if (json_array_append_new(a, codec_json_field(frames_data(m,
		    i), frames_size(m, i))) != 0)
			fatalx("codec_json_array: out of memory");
	}
	return (a);
}

/*
 * The fields of m as one line of the persistent programs' protocol
 * (waha-service-script --persistent): a compact JSON array ended by a
 * newline, each field a string when it is valid UTF-8 and otherwise an
 * object {"base64": "..."}.  JSON escapes every newline inside a string,
 * so the line holds no other.  Its length is in *len.
 */
char *
codec_json_line(const struct waha_msg *m, size_t *len)
{
	json_t		*a;
	char		*s;

	a = codec_json_array(m, 0);
	if ((s = json_dumps(a, JSON_COMPACT)) == NULL)
		fatalx("json_dumps");
	json_decref(a);
	*len = strlen(s);
	s = xreallocarray(s, *len + 2, 1);
	s[(*len)++] = '\n';
	s[*len] = '\0';
	return (s);
}

/* One element of a reply array: a string, or {"base64": "..."}. */
static int
reply_field(struct waha_msg *m, json_t *v)
{
	json_t	*b;
	void	*data;
	size_t	 len;

	if (json_is_string(v)) {
		frames_addmem(m, json_string_value(v), json_string_length(v));
		return (0);
	}
	if (!json_is_object(v) || json_object_size(v) != 1 ||
	    (b = json_object_get(v, "base64")) == NULL || !json_is_string(b))
		return (-1);
	data = codec_b64_decode(json_string_value(b), json_string_length(b),
	    &len);
	if (data == NULL)
		return (-1);
	frames_addmem(m, data, len);
	free(data);
	return (0);
}

/*
 * Read a reply line of a persistent program (len bytes at text, without
 * its newline).  An array of strings and {"base64": "..."} objects is a
 * success: its fields go to m and 200 is returned.  An object
 * {"status": N, "reason": "..."} is a failure: N (400, 500, 503 or 504)
 * is returned with the reason in *reason (to free).  Anything else
 * returns -1 with a cause, and m as it was.
 */
int
codec_json_reply(struct waha_msg *m, const void *text, size_t len,
    char **reason, char **cause)
{
	json_error_t	 err;
	json_t		*doc, *v;
	size_t		 i, n0 = m->n;
	int		 status = 200;

	*reason = NULL;
	if ((doc = json_loadb(text, len, JSON_ALLOW_NUL, &err)) == NULL) {
		xasprintf(cause, "reply is not JSON: %s (column %d)",
		    err.text, err.column);
		return (-1);
	}
	if (json_is_array(doc)) {
		json_array_foreach(doc, i, v) {
			if (reply_field(m, v) == 0)
				continue;
			xasprintf(cause, "reply field %zu is neither a string "
			    "nor {\"base64\": STRING}", i + 1);
			status = -1;
			while (m->n > n0)
				zmq_msg_close(&m->part[--m->n]);
			break;
		}
	} else {
		v = json_object_get(doc, "status");
		status = json_is_integer(v) ? (int)json_integer_value(v) : 0;
		if (status == 200 || !proto_status_ok(status, 1)) {
			xasprintf(cause, "reply object without a status of "
			    "400, 500, 503 or 504");
			status = -1;
		} else if (json_is_string(v = json_object_get(doc, "reason")))
			*reason = xstrndup(json_string_value(v),
			    json_string_length(v));
		else
			*reason = xstrdup("the program failed");
	}
	json_decref(doc);
	return (status);
}
