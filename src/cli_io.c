/*
 * waha-cli input readers (args, plain, delimited, JSON; plain, base64 or
 * hex fields) and output writers (empty, plain, delimited, JSON).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "waha.h"
#include "cli.h"

/*
 * Parse a separator: one character, or \n, \t, \r, \0, \\ or \xHH.
 * Returns 0, or -1 if it is none of these.
 */
int
cli_io_parse_sep(const char *s, char *sep)
{
	static const struct {
		char	 name;
		char	 value;
	} escapes[] = {
		{ 'n', '\n' }, { 't', '\t' }, { 'r', '\r' }, { '0', '\0' },
		{ '\\', '\\' }
	};
	unsigned char	*b;
	size_t		 i, len;

	if (s[0] != '\\' && s[0] != '\0' && s[1] == '\0') {
		*sep = s[0];
		return (0);
	}
	if (s[0] != '\\' || s[1] == '\0')
		return (-1);
	if (s[1] == 'x' && strlen(s) == 4) {
		/* Two digits: the codec skips white space, so check len. */
		if ((b = codec_hex_decode(s + 2, 2, &len)) == NULL)
			return (-1);
		if (len == 1)
			*sep = (char)b[0];
		free(b);
		return (len == 1 ? 0 : -1);
	}
	for (i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		if (s[1] == escapes[i].name && s[2] == '\0') {
			*sep = escapes[i].value;
			return (0);
		}
	}
	return (-1);
}

/* Read all of stdin; NUL-terminated for convenience, length in *len. */
static char *
read_stdin(size_t *len, char **cause)
{
	char	*buf = NULL;
	size_t	 cap = 0, n = 0, got;

	for (;;) {
		if (cap - n < 65536) {
			cap = cap == 0 ? 65536 : cap * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		got = fread(buf + n, 1, cap - n - 1, stdin);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(stdin)) {
		xasprintf(cause, "reading stdin: %s", strerror(errno));
		free(buf);
		return (NULL);
	}
	buf[n] = '\0';
	*len = n;
	return (buf);
}

/* Add one field, decoded as asked; -1 with a cause if malformed. */
static int
add_field(struct cli_env *cli, struct waha_msg *m, const char *s, size_t len,
    size_t index, char **cause)
{
	void	*d;
	size_t	 dlen;

	if (cli->decode == CLI_PLAIN) {
		frames_addmem(m, s, len);
		return (0);
	}
	d = cli->decode == CLI_BASE64 ? codec_b64_decode(s, len, &dlen) :
	    codec_hex_decode(s, len, &dlen);
	if (d == NULL) {
		xasprintf(cause, "field %zu is not valid %s", index + 1,
		    cli->decode == CLI_BASE64 ? "base64" : "hex");
		return (-1);
	}
	frames_addmem(m, d, dlen);
	free(d);
	return (0);
}

static int
read_delimited(struct cli_env *cli, const char *buf, size_t len,
    struct waha_msg *m, char **cause)
{
	const char	*p = buf, *end = buf + len, *q;
	size_t		 i = 0;

	while (p < end) {
		if ((q = memchr(p, cli->in_sep, end - p)) == NULL)
			q = end;
		if (add_field(cli, m, p, q - p, i++, cause) != 0)
			return (-1);
		p = q + 1;
	}
	return (0);
}

/*
 * Read the request fields into m: from the positional args, or stdin as
 * one field, delimited fields, or a JSON array.  Returns 0, or -1 with a
 * cause, and then nothing is to be sent.
 */
int
cli_io_read(struct cli_env *cli, const char **args, struct waha_msg *m,
    char **cause)
{
	char	*buf;
	size_t	 len, i;
	int	 rc = 0;

	if (cli->input == CLI_IN_ARGS) {
		for (i = 0; args != NULL && args[i] != NULL; i++) {
			if (add_field(cli, m, args[i], strlen(args[i]), i,
			    cause) != 0)
				return (-1);
		}
		return (0);
	}
	if ((buf = read_stdin(&len, cause)) == NULL)
		return (-1);
	switch (cli->input) {
	case CLI_IN_PLAIN:
		rc = add_field(cli, m, buf, len, 0, cause);
		break;
	case CLI_IN_DELIMITED:
		rc = read_delimited(cli, buf, len, m, cause);
		break;
	default:
		rc = codec_json_fields(m, buf, len, "stdin", cause);
		break;
	}
	free(buf);
	return (rc);
}

/* A field as the output encoding wants it; *tofree is set if allocated. */
static const char *
encode(struct cli_env *cli, const void *data, size_t len, size_t *outlen,
    char **tofree)
{
	*tofree = NULL;
	switch (cli->encode) {
	case CLI_BASE64:
		return (*tofree = codec_b64_encode(data, len, outlen));
	case CLI_HEX:
		return (*tofree = codec_hex_encode(data, len, outlen));
	default:
		*outlen = len;
		return (data);
	}
}

static int
write_json(struct cli_env *cli, struct waha_msg *m, size_t first, FILE *f)
{
	json_t		*a;
	const char	*s;
	char		*tofree, *fixed, *text;
	size_t		 i, len;
	int		 rc;

	a = json_array();
	for (i = first; i < m->n; i++) {
		s = encode(cli, frames_data(m, i), frames_size(m, i), &len,
		    &tofree);
		/* JSON strings are UTF-8: bad bytes become U+FFFD. */
		fixed = codec_utf8_fix(s, len, &len);
		json_array_append_new(a, json_stringn(fixed, len));
		free(fixed);
		free(tofree);
	}
	text = json_dumps(a, cli->pretty ? JSON_INDENT(2) : JSON_COMPACT);
	json_decref(a);
	if (text == NULL)
		fatalx("json_dumps");
	rc = fprintf(f, "%s\n", text) < 0 ? -1 : 0;
	free(text);
	return (rc);
}

/* Write reply fields first.. of m to f as asked; -1 on a write error. */
int
cli_io_write(struct cli_env *cli, struct waha_msg *m, size_t first, FILE *f)
{
	const char	*s;
	char		*tofree;
	size_t		 i, len;

	switch (cli->output) {
	case CLI_OUT_EMPTY:
		break;
	case CLI_OUT_JSON:
		if (write_json(cli, m, first, f) != 0)
			return (-1);
		break;
	case CLI_OUT_PLAIN:
		for (i = first; i < m->n; i++)
			fwrite(frames_data(m, i), 1, frames_size(m, i), f);
		break;
	case CLI_OUT_DELIMITED:
		for (i = first; i < m->n; i++) {
			s = encode(cli, frames_data(m, i), frames_size(m, i),
			    &len, &tofree);
			fwrite(s, 1, len, f);
			fputc(cli->out_sep, f);
			free(tofree);
		}
		break;
	}
	return (fflush(f) == 0 && !ferror(f) ? 0 : -1);
}
