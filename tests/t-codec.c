/*
 * Unit tests of codec.c and codec_json.c: base64 and hex both ways, bad
 * input, UTF-8, JSON arrays as fields.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "waha.h"
#include "tap.h"

static void
b64(const char *in, size_t len, const char *want)
{
	char	*out, *back, desc[64];
	size_t	 olen, blen;

	out = codec_b64_encode(in, len, &olen);
	snprintf(desc, sizeof(desc), "base64 of %zu bytes", len);
	tap_is_mem(out, olen, want, strlen(want), desc);
	back = codec_b64_decode(out, olen, &blen);
	tap_is_mem(back, blen, in, len, "base64 round trip");
	free(out);
	free(back);
}

/* The fields that codec_json_fields makes of text, joined by '|'. */
static void
fields(const char *text, const char *want, const char *desc)
{
	struct waha_msg	 m;
	char		 got[256], *cause = NULL;
	size_t		 i, o = 0;

	frames_init(&m);
	if (codec_json_fields(&m, text, strlen(text), "in", &cause) != 0) {
		snprintf(got, sizeof(got), "error: %s", cause);
		free(cause);
	} else {
		got[0] = '\0';
		for (i = 0; i < m.n && o + frames_size(&m, i) + 2 < sizeof(got);
		    i++) {
			o += snprintf(got + o, sizeof(got) - o, "%s%.*s",
			    i > 0 ? "|" : "", (int)frames_size(&m, i),
			    (const char *)frames_data(&m, i));
		}
	}
	tap_is_mem(got, strlen(got), want, strlen(want), desc);
	frames_free(&m);
}

/* What codec_json_reply makes of text: "STATUS|field|...|" or "-1 cause". */
static void
reply(const char *text, const char *want, const char *desc)
{
	struct waha_msg	 m;
	char		 got[256], *reason = NULL, *cause = NULL;
	size_t		 i, o;
	int		 st;

	frames_init(&m);
	st = codec_json_reply(&m, text, strlen(text), &reason, &cause);
	o = snprintf(got, sizeof(got), "%d", st);
	if (st == -1)
		snprintf(got + o, sizeof(got) - o, " %s", cause);
	else if (st != 200)
		snprintf(got + o, sizeof(got) - o, " %s", reason);
	for (i = 0; st == 200 && i < m.n && o + frames_size(&m, i) + 2 <
	    sizeof(got); i++) {
		o += snprintf(got + o, sizeof(got) - o, "|%.*s",
		    (int)frames_size(&m, i), (const char *)frames_data(&m, i));
	}
	tap_is_mem(got, strlen(got), want, strlen(want), desc);
	free(reason);
	free(cause);
	frames_free(&m);
}

/* The request line that codec_json_line makes of n fields. */
static void
line(const char **f, const size_t *len, size_t n, const char *want,
    const char *desc)
{
	struct waha_msg	 m;
	char		*s;
	size_t		 i, slen;

	frames_init(&m);
	for (i = 0; i < n; i++)
		frames_addmem(&m, f[i], len[i]);
	s = codec_json_line(&m, &slen);
	tap_is_mem(s, slen, want, strlen(want), desc);
	free(s);
	frames_free(&m);
}

int
main(void)
{
	const char	*lf[] = { "a b", "", "l1\nl2\"q\"", "\xff\xfe",
			    "\xe2\x82\xac", "n\0ul" };
	const size_t	 ll[] = { 3, 0, 8, 2, 3, 4 };
	char	*p, all[256];
	size_t	 len;
	int	 i;

	TAP_PLAN(56);
	/* RFC 4648 section 10 vectors. */
	b64("", 0, "");
	b64("f", 1, "Zg==");
	b64("fo", 2, "Zm8=");
	b64("foo", 3, "Zm9v");
	b64("foob", 4, "Zm9vYg==");
	b64("fooba", 5, "Zm9vYmE=");
	b64("foobar", 6, "Zm9vYmFy");
	for (i = 0; i < 256; i++)
		all[i] = (char)i;
	p = codec_b64_encode(all, 256, &len);
	free(codec_b64_decode(p, len, &len));
	tap_is_int(len, 256, "base64 of every byte value round trips");
	free(p);

	p = codec_b64_decode("Zm9v\nYmFy\n", 10, &len);
	tap_is_mem(p, len, "foobar", 6, "base64 skips white space");
	free(p);
	p = codec_b64_decode("Zm9vYg", 6, &len);
	tap_is_mem(p, len, "foob", 4, "base64 padding is optional");
	free(p);
	tap_ok(codec_b64_decode("Zm9v!", 5, &len) == NULL,
	    "base64 rejects a byte outside the alphabet");
	tap_ok(codec_b64_decode("Z", 1, &len) == NULL,
	    "base64 rejects a lone sextet");
	tap_ok(codec_b64_decode("Zg=a", 4, &len) == NULL,
	    "base64 rejects data after padding");
	tap_ok(codec_b64_decode("Zg===", 5, &len) == NULL,
	    "base64 rejects too much padding");

	p = codec_hex_encode("\x00\xff\x10", 3, &len);
	tap_is_mem(p, len, "00ff10", 6, "hex encodes lowercase");
	free(p);
	p = codec_hex_decode("00FFab", 6, &len);
	tap_is_mem(p, len, "\x00\xff\xab", 3, "hex decodes either case");
	free(p);
	tap_ok(codec_hex_decode("abc", 3, &len) == NULL,
	    "hex rejects an odd digit count");
	tap_ok(codec_hex_decode("zz", 2, &len) == NULL,
	    "hex rejects a non-digit");

	tap_ok(codec_utf8_valid("h\xc3\xa9llo", 6), "UTF-8 accepts e-acute");
	tap_ok(codec_utf8_valid("a\0b", 3), "UTF-8 accepts NUL");
	tap_ok(!codec_utf8_valid("\xc0\xaf", 2), "UTF-8 rejects overlong");
	tap_ok(!codec_utf8_valid("\xed\xa0\x80", 3),
	    "UTF-8 rejects a surrogate");
	tap_ok(!codec_utf8_valid("\xf4\x90\x80\x80", 4),
	    "UTF-8 rejects past U+10FFFF");
	tap_ok(!codec_utf8_valid("\xe2\x82", 2), "UTF-8 rejects truncation");
	p = codec_utf8_fix("a\xffz", 3, &len);
	tap_is_mem(p, len, "a\xef\xbf\xbdz", 5,
	    "a bad byte becomes U+FFFD");
	free(p);
	p = codec_utf8_fix("\xe2\x82\xac", 3, &len);
	tap_is_mem(p, len, "\xe2\x82\xac", 3, "valid UTF-8 is unchanged");
	free(p);

	tap_ok(codec_hex_digit('0') == 0 && codec_hex_digit('9') == 9 &&
	    codec_hex_digit('a') == 10 && codec_hex_digit('F') == 15,
	    "hex digits of either case");
	tap_ok(codec_hex_digit('g') == -1 && codec_hex_digit('%') == -1,
	    "other bytes are not hex digits");

	fields("[\"a\",\"b c\"]", "a|b c", "JSON strings are fields");
	fields("[1,-2,true,null,{\"k\":[1,\"v\"]},[]]",
	    "1|-2|true|null|{\"k\":[1,\"v\"]}|[]",
	    "other values are their compact JSON");
	fields("[0.1,2.5,1e300,0.30000000000000004]",
	    "0.1|2.5|1e300|0.30000000000000004",
	    "reals in the fewest digits that read back the same");
	fields("[]", "", "an empty array is no fields");
	fields("\"x\"", "error: in is JSON but not an array",
	    "a JSON string is not an array");
	fields("[1,", "error: in is not JSON: ']' expected near end "
	    "of file (line 1, column 3)", "bad JSON says where");
	fields("[\"a\\u0000b\"]", "a", "an escaped NUL is kept (the field "
	    "holds a NUL)");

	line(lf, ll, 6, "[\"a b\",\"\",\"l1\\nl2\\\"q\\\"\","
	    "{\"base64\":\"//4=\"},\"\xe2\x82\xac\",\"n\\u0000ul\"]\n",
	    "a request line: strings, base64 for what is not UTF-8, one line");
	line(lf, ll, 0, "[]\n", "a request without fields: []");
	reply("[\"a\",\"\",{\"base64\":\"Zm9v\"}]", "200|a||foo",
	    "a reply array: strings and base64 objects");
	reply("[]", "200", "an empty array: no fields");
	reply("{\"status\":503,\"reason\":\"busy\"}", "503 busy",
	    "a failure object");
	reply("{\"status\":400}", "400 the program failed",
	    "a failure object without a reason");
	reply("{\"status\":200}", "-1 reply object without a status of 400, "
	    "500, 503 or 504", "200 is not a failure status");
	reply("{\"status\":404,\"reason\":\"x\"}", "-1 reply object "
	    "without a status of 400, 500, 503 or 504", "nor is 404");
	reply("[1]", "-1 reply field 1 is neither a string nor "
	    "{\"base64\": STRING}", "a number is not a field");
	reply("[{\"base64\":\"!!\"}]", "-1 reply field 1 is neither a "
	    "string nor {\"base64\": STRING}", "bad base64 is refused");
	reply("[\"a\"] x", "-1 reply is not JSON: end of file expected "
	    "near 'x' (column 7)", "trailing garbage is refused");
	reply("hello", "-1 reply is not JSON: '[' or '{' expected near "
	    "'hello' (column 5)", "a line that is not JSON");
	reply("", "-1 reply is not JSON: '[' or '{' expected near end of "
	    "file (column 0)", "an empty line");
	reply("\"s\"", "-1 reply is not JSON: '[' or '{' expected near "
	    "'\"s\"' (column 3)", "a JSON string is neither");
	TAP_DONE();
}
