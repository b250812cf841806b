/*
 * libFuzzer harness of waha-cli's input readers and output writers
 * (cli_io.c): stdin read as one field, as delimited fields or as a JSON
 * array, or NUL-separated arguments, each decoded as plain, base64 or
 * hex.
 *
 * Input: a mode byte (bits 0-1 input, bits 2-3 decoding), a separator
 * byte, then stdin.  Checked: a refusal gives a cause; plain delimited
 * fields joined again are the input; and what cli_io_write writes in
 * delimited form (encoded as the fields were decoded) reads back as the
 * same fields, as does JSON output of valid UTF-8; codec_printable
 * never lets a control character through.
 */
#include "config.h"

#include <stdio.h>

#include "waha.h"
#include "cli.h"
#include "fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* cli_io_read on text as stdin (or as argv for CLI_IN_ARGS). */
static int
read_from(struct cli_env *cli, const char *text, size_t len,
    struct waha_msg *m, char **cause)
{
	const char	**args;
	FILE		*saved = stdin, *f;
	char		*copy;
	size_t		 i, n = 0;
	int		 rc;

	if (cli->input == CLI_IN_ARGS) {
		/* Each argument ends at a NUL, the last at the input's end. */
		copy = xmalloc(len + 1);
		memcpy(copy, text, len);
		copy[len] = '\0';
		args = xreallocarray(NULL, len + 2, sizeof(*args));
		for (i = 0; i < len; i += strlen(copy + i) + 1)
			args[n++] = copy + i;
		args[n] = NULL;
		rc = cli_io_read(cli, args, m, cause);
		free(args);
		free(copy);
		return (rc);
	}
	/* An empty fmemopen buffer is refused: read /dev/null then. */
	f = len > 0 ? fmemopen((void *)text, len, "r") :
	    fopen("/dev/null", "r");
	FUZZ_ASSERT(f != NULL);
	stdin = f;
	rc = cli_io_read(cli, NULL, m, cause);
	stdin = saved;
	fclose(f);
	return (rc);
}

/* Fields joined by the separator, as read_delimited split them. */
static void
check_joined(struct cli_env *cli, const struct waha_msg *m, const char *text,
    size_t len)
{
	size_t	 i, o = 0, n;

	for (i = 0; i < m->n; i++) {
		n = frames_size(m, i);
		FUZZ_ASSERT(o + n <= len);
		FUZZ_ASSERT(n == 0 || memcmp(text + o, frames_data(m, i), n) == 0);
		o += n;
		if (o < len) {
			FUZZ_ASSERT(text[o] == cli->in_sep);
			o++;
		}
	}
	FUZZ_ASSERT(o == len);
}

/* Write m as cli writes replies, read it back with the same codec. */
static void
write_read(struct cli_env *cli, struct waha_msg *m, enum cli_output out)
{
	struct cli_env	 back = *cli;
	struct waha_msg	 again;
	FILE		*f;
	char		*buf = NULL, *cause = NULL;
	size_t		 len = 0, i;

	back.output = out;
	back.encode = cli->decode;
	back.out_sep = back.in_sep = '\n';
	back.input = out == CLI_OUT_JSON ? CLI_IN_JSON : CLI_IN_DELIMITED;
	back.pretty = 0;
	if (out == CLI_OUT_JSON) {
		back.encode = back.decode = CLI_PLAIN;
		for (i = 0; i < m->n; i++) {
			if (!codec_utf8_valid(frames_data(m, i),
			    frames_size(m, i)))
				return;
		}
	} else if (cli->decode == CLI_PLAIN)
		return;		/* plain fields may hold the separator */
	FUZZ_ASSERT((f = open_memstream(&buf, &len)) != NULL);
	FUZZ_ASSERT(cli_io_write(&back, m, 0, f) == 0);
	fclose(f);
	frames_init(&again);
	FUZZ_ASSERT(read_from(&back, buf, len, &again, &cause) == 0);
	FUZZ_ASSERT(again.n == m->n);
	for (i = 0; i < m->n; i++) {
		FUZZ_ASSERT(frames_size(&again, i) == frames_size(m, i));
		FUZZ_ASSERT(memcmp(frames_data(&again, i), frames_data(m, i),
		    frames_size(m, i)) == 0);
	}
	frames_free(&again);
	free(buf);
}

static void
check_printable(const uint8_t *data, size_t size)
{
	const unsigned char	*p;
	char			*s;
	size_t			 i, len;

	s = codec_printable(data, size);
	p = (const unsigned char *)s;
	len = strlen(s);
	FUZZ_ASSERT(codec_utf8_valid(s, len));
	for (i = 0; i < len; i++) {
		FUZZ_ASSERT(p[i] >= 0x20 && p[i] != 0x7f);
		FUZZ_ASSERT(!(p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
		    p[i + 1] < 0xa0));
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum cli_input inputs[] = { CLI_IN_ARGS, CLI_IN_PLAIN,
	    CLI_IN_DELIMITED, CLI_IN_JSON };
	static const enum cli_codec codecs[] = { CLI_PLAIN, CLI_BASE64,
	    CLI_HEX, CLI_PLAIN };
	struct cli_env	 cli;
	struct waha_msg	 m;
	const char	*text;
	char		*cause = NULL;
	size_t		 len;

	if (size < 2)
		return (0);
	memset(&cli, 0, sizeof(cli));
	cli.input = inputs[data[0] & 3];
	cli.decode = codecs[(data[0] >> 2) & 3];
	cli.in_sep = (char)data[1];
	text = (const char *)data + 2;
	len = size - 2;
	frames_init(&m);
	if (read_from(&cli, text, len, &m, &cause) != 0) {
		FUZZ_ASSERT(cause != NULL);
		free(cause);
		frames_free(&m);
		check_printable(data, size);
		return (0);
	}
	FUZZ_ASSERT(cause == NULL);
	if (cli.input == CLI_IN_DELIMITED && cli.decode == CLI_PLAIN)
		check_joined(&cli, &m, text, len);
	if (cli.input == CLI_IN_PLAIN && cli.decode == CLI_PLAIN)
		FUZZ_ASSERT(m.n == 1 && frames_size(&m, 0) == len);
	write_read(&cli, &m, CLI_OUT_DELIMITED);
	write_read(&cli, &m, CLI_OUT_JSON);
	frames_free(&m);
	return (0);
}
