/*
 * Codecs of waha-cli and the HTTP gateway: base64 (RFC 4648, standard
 * alphabet), hex, UTF-8 checking and repair, and JSON strings for output.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
is_space(int c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\f' || c == '\v');
}

/* Encode len bytes as base64 with padding; NUL-terminated, length set. */
char *
codec_b64_encode(const void *data, size_t len, size_t *outlen)
{
	const unsigned char	*p = data;
	char			*out, *o;
	size_t			 i;
	uint32_t		 v;

	out = o = xmalloc((len + 2) / 3 * 4 + 1);
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = b64[(v >> 6) & 63];
		*o++ = b64[v & 63];
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	*outlen = o - out;
	return (out);
}

static int
b64_value(int c)
{
	const char	*p;

	if (c == '\0' || (p = strchr(b64, c)) == NULL)
		return (-1);
	return (p - b64);
}

/*
 * Decode base64; white space is skipped, padding is optional.  Returns
 * NULL on any other byte outside the alphabet or a bad length.
 */
void *
codec_b64_decode(const char *s, size_t len, size_t *outlen)
{
	unsigned char	*out;
	size_t		 i, n = 0, pad = 0, o = 0;
	uint32_t	 v = 0;
	int		 d;

	out = xmalloc(len / 4 * 3 + 3);
	for (i = 0; i < len; i++) {
		if (is_space((unsigned char)s[i]))
			continue;
		if (s[i] == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (d = b64_value((unsigned char)s[i])) == -1)
			goto bad;
		v = v << 6 | (uint32_t)d;
		if (++n % 4 == 0) {
			out[o++] = v >> 16;
			out[o++] = v >> 8;
			out[o++] = v;
			v = 0;
		}
	}
	switch (n % 4) {
	case 1:
		goto bad;
	case 2:
		out[o++] = v >> 4;
		break;
	case 3:
		out[o++] = v >> 10;
		out[o++] = v >> 2;
		break;
	}
	if (pad > 2 || (pad > 0 && (n + pad) % 4 != 0))
		goto bad;
	*outlen = o;
	return (out);
bad:
	free(out);
	return (NULL);
}

/* Encode len bytes as lowercase hex; NUL-terminated, length set. */
char *
codec_hex_encode(const void *data, size_t len, size_t *outlen)
{
	char	*out;

	out = xmalloc(2 * len + 1);
	util_hex(out, data, len);
	*outlen = 2 * len;
	return (out);
}

/* The value of a hex digit of either case, or -1. */
int
codec_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Decode hex (either case, white space skipped); NULL if malformed. */
void *
codec_hex_decode(const char *s, size_t len, size_t *outlen)
{
	unsigned char	*out;
	size_t		 i, n = 0;
	int		 d, hi = -1;

	out = xmalloc(len / 2 + 1);
	for (i = 0; i < len; i++) {
		if (is_space((unsigned char)s[i]))
			continue;
		if ((d = codec_hex_digit((unsigned char)s[i])) == -1) {
			free(out);
			return (NULL);
		}
		if (hi == -1)
			hi = d;
		else {
			out[n++] = hi << 4 | d;
			hi = -1;
		}
	}
	if (hi != -1) {
		free(out);
		return (NULL);
	}
	*outlen = n;
	return (out);
}

/*
 * Length of the valid UTF-8 sequence at p (at most len bytes), or 0 if
 * it is not one: overlong forms, surrogates and code points past
 * U+10FFFF are invalid.
 */
static size_t
utf8_seq(const unsigned char *p, size_t len)
{
	size_t		 n, i;
	uint32_t	 cp;

	if (p[0] < 0x80)
		return (1);
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else
		return (0);
	if (n > len)
		return (0);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (0);
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return (0);
	return (n);
}

/* Whether len bytes at data are valid UTF-8 (NUL bytes allowed). */
int
codec_utf8_valid(const void *data, size_t len)
{
	const unsigned char	*p = data;
	size_t			 i = 0, n;

	while (i < len) {
		if ((n = utf8_seq(p + i, len - i)) == 0)
			return (0);
		i += n;
	}
	return (1);
}

/*
 * Copy len bytes at data, replacing each byte that does not start a valid
 * UTF-8 sequence with U+FFFD.  The result is NUL-terminated; its length
 * (which may include NUL bytes from the input) is set.
 */
char *
codec_utf8_fix(const void *data, size_t len, size_t *outlen)
{
	const unsigned char	*p = data;
	char			*out;
	size_t			 i = 0, o = 0, n;

	out = xmalloc(3 * len + 1);
	while (i < len) {
		if ((n = utf8_seq(p + i, len - i)) == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, p + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	*outlen = o;
	return (out);
}

/*
 * A copy of text from the network (a reason, a name) that is safe to
 * print on a terminal: bytes that are not UTF-8 become U+FFFD, control characters
 * (C0, DEL and C1) become \xHH or \u00HH.
 */
char *
codec_printable(const void *data, size_t len)
{
	const unsigned char	*p;
	char			*fixed, *out, *o;
	size_t			 flen, i;

	fixed = codec_utf8_fix(data, len, &flen);
	p = (const unsigned char *)fixed;
	out = o = xmalloc(4 * flen + 1);
	for (i = 0; i < flen; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			o += sprintf(o, "\\x%02x", p[i]);
		else if (p[i] == 0xc2 && i + 1 < flen && p[i + 1] >= 0x80 &&
		    p[i + 1] < 0xa0)
			o += sprintf(o, "\\u%04x", p[++i]);
		else
			*o++ = p[i];
	}

	*o = '\0';
	free(fixed);
	return (out);
}

/*
 * The inside of a JSON string (no quotes) holding the len bytes at data,
 * which must be valid UTF-8, written to out, which must have room for
 * CODEC_JSON_ROOM(len) bytes; returns how many it wrote.  The same bytes
 * as jansson's compact output (fuzz/fuzz-codec.c checks it): '"' and
 * '\' escaped, \b \f \n \r \t, other bytes under 0x20 as \u00XX in
 * upper case, everything else as it is.
 */
size_t
codec_json_escape(char *out, const void *data, size_t len)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p = data;
	char			*o = out;
	size_t			 i;
	unsigned char		 c;

	for (i = 0; i < len; i++) {
		if ((c = p[i]) >= 0x20 && c != '"' && c != '\\') {
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"':
		case '\\':
			*o++ = (char)c;
			break;
		case '\b':
			*o++ = 'b';
			break;
		case '\f':
			*o++ = 'f';
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\t':
			*o++ = 't';
			break;
		default:
			memcpy(o, "u00", 3);
			o[3] = hex[c >> 4];
			o[4] = hex[c & 0xf];
			o += 5;
			break;
		}
	}
	return ((size_t)(o - out));
}
