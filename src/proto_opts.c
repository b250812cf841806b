/*
 * The extensions of DESIGN.md 2.6 and 2.8: the options frame of an
 * extended request ("WAHA01" OPTIONS SERVICE FIELD*) and of a REQUEST to
 * a worker that declared features, the commands on an open request
 * (cancel=1, credit=BYTES), and READY's FEATURES frame.
 *
 * Options are name=value pairs joined by '&', without escapes.  A client
 * is held to the letter (an unknown name or a bad value is refused with a
 * reason that names it); a worker ignores names it does not know, so that
 * a newer broker can add options without breaking older workers.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "waha.h"

/* Longest options frame a client may send. */
#define OPTS_MAX	1024

/* Say what is wrong with the option (or value) s, cut to 32 bytes. */
static int
opts_bad(char *why, size_t len, const char *what, const char *s, size_t slen,
    const char *problem)
{
	snprintf(why, len, "%s%.*s%s", what, (int)(slen > 32 ? 32 : slen), s,
	    problem);
	return (-1);
}

/* Parse a decimal number of 1 to max, no sign and no leading zero. */
static int
opts_number(const char *s, size_t len, long long max, long long *v)
{
	size_t	 i;

	*v = 0;
	if (len == 0 || len > 19 || s[0] == '0')
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || *v > (max - (s[i] - '0')) / 10)
			return (-1);	/* the next digit would pass max */
		*v = *v * 10 + (s[i] - '0');
	}
	return (0);
}

static int
opts_is(const char *name, size_t nlen, const char *want)
{
	return (nlen == strlen(want) && memcmp(name, want, nlen) == 0);
}

/* Take one name=value pair into o; bit is set in seen for each name. */
static int
opts_pair(const char *name, size_t nlen, const char *val, size_t vlen,
    struct proto_opts *o, unsigned *seen, int flags, char *why, size_t wlen)
{
	long long	 n;
	unsigned	 bit;

	if (opts_is(name, nlen, "timeout"))
		bit = PROTO_OPT_TIMEOUT;
	else if (opts_is(name, nlen, "stream"))
		bit = PROTO_OPT_STREAM;
	else if (opts_is(name, nlen, "cancel"))
		bit = PROTO_OPT_CANCEL;
	else if (opts_is(name, nlen, "credit"))
		bit = PROTO_OPT_CREDIT;
	else if (flags & PROTO_OPTS_LENIENT)
		return (0);
	else
		return (opts_bad(why, wlen, "unknown option '", name, nlen,
		    "'"));
	if (*seen & bit)
		return (opts_bad(why, wlen, "option '", name, nlen,
		    "' given twice"));
	*seen |= bit;
	switch (bit) {
	case PROTO_OPT_TIMEOUT:
		if (opts_number(val, vlen, INT32_MAX, &n) != 0)
			return (opts_bad(why, wlen, "timeout=", val, vlen,
			    ": not a number of milliseconds from 1 to "
			    "2147483647"));
		o->timeout = (int)n;
		break;
	case PROTO_OPT_CREDIT:
		if (opts_number(val, vlen, INT64_MAX / 2, &n) != 0)
			return (opts_bad(why, wlen, "credit=", val, vlen,
			    ": not a number of bytes"));
		o->credit = n;
		break;
	default:
		if (vlen != 1 || (val[0] != '0' && val[0] != '1'))
			return (opts_bad(why, wlen, "", name, nlen,
			    ": the value is not 0 or 1"));
		if (bit == PROTO_OPT_STREAM)
			o->stream = val[0] == '1';
		else
			o->cancel = val[0] == '1';
		break;
	}
	return (0);
}

/*
 * Parse an options frame of len bytes into o.  Returns a bit mask of the
 * names found (PROTO_OPT_*), or -1 with the reason in why.  With
 * PROTO_OPTS_LENIENT (a worker reading a REQUEST) unknown names are
 * skipped.
 */
int
proto_opts_parse(const char *s, size_t len, struct proto_opts *o, int flags,
    char *why, size_t wlen)
{
	const char	*end = s + len, *amp, *eq;
	unsigned	 seen = 0;

	memset(o, 0, sizeof(*o));
	o->timeout = -1;
	o->credit = -1;
	if (len > OPTS_MAX && !(flags & PROTO_OPTS_LENIENT)) {
		snprintf(why, wlen, "options frame over %d bytes", OPTS_MAX);
		return (-1);
	}
	while (s < end) {
		if ((amp = memchr(s, '&', end - s)) == NULL)
			amp = end;
		if (amp == s) {
			snprintf(why, wlen, "empty option");
			return (-1);
		}
		if ((eq = memchr(s, '=', amp - s)) == NULL)
			return (opts_bad(why, wlen, "option '", s, amp - s,
			    "' has no value"));
		if (opts_pair(s, eq - s, eq + 1, amp - eq - 1, o, &seen, flags,
		    why, wlen) != 0)
			return (-1);
		s = amp == end ? end : amp + 1;
		if (amp != end && s == end) {
			snprintf(why, wlen, "empty option");
			return (-1);
		}
	}
	return ((int)seen);
}

/*
 * Write the options of a REQUEST to a worker with features (or of an
 * extended request) into buf: the time left, and stream=1 with the
 * opening window when it is not the default, as they apply.  Returns the
 * length.
 */
size_t
proto_opts_format(char *buf, size_t len, int timeout, int stream,
    long long window)
{
	int	 n = 0;

	buf[0] = '\0';
	if (timeout >= 0)
		n = snprintf(buf, len, "timeout=%d", timeout < 1 ? 1 : timeout);
	if (stream && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, "%sstream=1", n > 0 ? "&" : "");
	if (stream && window > 0 && window != WAHA_STREAM_WINDOW && n >= 0 &&
	    (size_t)n < len)
		n += snprintf(buf + n, len - n, "&credit=%lld", window);
	return (n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n);
}

/*
 * Parse READY's FEATURES frame: comma-separated tokens; "cancel",
 * "stream" (which implies cancel); unknown tokens are ignored.  The
 * result always has WAHA_FEAT_OPTIONS: the worker declared features.
 */
unsigned
proto_features_parse(const char *s, size_t len)
{
	const char	*end = s + len, *comma;
	unsigned	 f = WAHA_FEAT_OPTIONS;

	for (; s < end; s = comma + 1) {
		if ((comma = memchr(s, ',', end - s)) == NULL)
			comma = end;
		if (opts_is(s, comma - s, "cancel"))
			f |= WAHA_FEAT_CANCEL;
		else if (opts_is(s, comma - s, "stream"))
			f |= WAHA_FEAT_CANCEL | WAHA_FEAT_STREAM;
		if (comma == end)
			break;
	}
	return (f);
}
