/*
 * Unit tests of the extensions of DESIGN.md 2.6 and 2.8 (proto_opts.c and
 * their use in proto.c): the WAHA01 options, commands, READY's features,
 * REQUEST's options frame, CANCEL, and the envelope keys of frames.c.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"
#include "tap.h"

static void
build(struct waha_msg *m, ...)
{
	va_list		 ap;
	const char	*s;

	frames_clear(m);
	va_start(ap, m);
	while ((s = va_arg(ap, const char *)) != NULL)
		frames_addstr(m, s);
	va_end(ap);
}

/* Parse an options string; returns the mask or -1, the reason in why. */
static int
opts(const char *s, struct proto_opts *o, int flags, char *why)
{
	why[0] = '\0';
	return (proto_opts_parse(s, strlen(s), o, flags, why, 128));
}

static void
test_options(void)
{
	struct proto_opts	 o;
	char			 why[128];

	tap_is_int(opts("", &o, 0, why), 0, "empty options: none");
	tap_is_int(o.timeout, -1, "no timeout is -1");
	tap_is_int(opts("timeout=300", &o, 0, why), PROTO_OPT_TIMEOUT,
	    "timeout=300 parses");
	tap_is_int(o.timeout, 300, "its value");
	tap_is_int(opts("timeout=2147483647&stream=0", &o, 0, why),
	    PROTO_OPT_TIMEOUT | PROTO_OPT_STREAM, "two options");
	tap_is_int(opts("timeout=2147483648", &o, 0, why), -1,
	    "timeout over 2^31-1 refused");
	tap_is_mem(why, strlen(why), "timeout=2147483648: not a number of "
	    "milliseconds from 1 to 2147483647", 69, "the reason names it");
	tap_is_int(opts("timeout=0", &o, 0, why), -1, "timeout=0 refused");
	tap_is_int(opts("timeout=-5", &o, 0, why), -1, "negative refused");
	tap_is_int(opts("timeout=05", &o, 0, why), -1,
	    "leading zero refused");
	tap_is_int(opts("timeout=", &o, 0, why), -1, "empty value refused");
	tap_is_int(opts("colour=red", &o, 0, why), -1, "unknown name refused");
	tap_is_mem(why, strlen(why), "unknown option 'colour'", 23,
	    "the reason names the option");
	tap_is_int(opts("colour=red&timeout=7", &o, PROTO_OPTS_LENIENT, why),
	    PROTO_OPT_TIMEOUT, "a worker skips unknown names");
	tap_is_int(opts("timeout=1&timeout=2", &o, 0, why), -1,
	    "a name twice refused");
	tap_is_int(opts("timeout", &o, 0, why), -1, "a name without = refused");
	tap_is_int(opts("timeout=1&", &o, 0, why), -1, "trailing & refused");
	tap_is_int(opts("&timeout=1", &o, 0, why), -1, "leading & refused");
	tap_is_int(opts("stream=2", &o, 0, why), -1, "stream=2 refused");
	tap_is_int(opts("credit=4096", &o, 0, why), PROTO_OPT_CREDIT,
	    "credit parses");
	tap_is_int(o.credit, 4096, "its value");
	tap_is_int(opts("credit=4611686018427387903", &o, 0, why),
	    PROTO_OPT_CREDIT, "credit= up to 2^62-1");
	tap_is_int(opts("credit=4611686018427387904", &o, 0, why), -1,
	    "credit= of 2^62 refused");
	tap_is_int(opts("credit=9999999999999999999", &o, 0, why), -1,
	    "credit= of 19 nines refused, without overflow");
}

static void
test_requests(struct waha_msg *m)
{
	struct proto_in	 in;

	build(m, "ID", "", "WAHA01", "timeout=250", "echo", "a", NULL);
	tap_is_int(proto_parse(m, &in, 255), 0, "extended request parses");
	tap_is_int(in.kind, PROTO_NATIVE, "it is native");
	tap_is_int(in.extended, 1, "and extended");
	tap_is_int(in.opts.timeout, 250, "with its timeout");
	tap_is_mem(in.service, in.service_len, "echo", 4, "the service");
	tap_is_int(in.body, 5, "fields after the service");
	build(m, "ID", "c", "", "WAHA01", "", "echo", NULL);
	tap_is_int(proto_parse(m, &in, 255), 0, "empty options frame parses");
	tap_is_int(in.env, 2, "behind a correlation frame");
	build(m, "ID", "", "WAHA01", "timeout=250", NULL);
	tap_is_int(proto_parse(m, &in, 255), -1, "no service: 400");
	tap_is_int(in.status, 400, "status 400");
	build(m, "ID", "", "WAHA01", NULL);
	tap_is_int(proto_parse(m, &in, 255), -1, "no options frame: 400");
	build(m, "ID", "", "WAHA01", "stream=1", "echo", NULL);
	tap_is_int(proto_parse(m, &in, 255), 0, "stream=1 parses");
	tap_is_int(in.opts.stream, 1, "it streams");
	tap_is_int((int)in.opts.credit, -1, "with the default window");
	build(m, "ID", "", "WAHA01", "stream=1&credit=65536", "echo", NULL);
	tap_is_int(proto_parse(m, &in, 255), 0, "stream=1 with a window");
	tap_is_int((int)in.opts.credit, 65536, "the window it asks");
	build(m, "ID", "", "WAHA01", "credit=65536", "echo", NULL);
	tap_is_int(proto_parse(m, &in, 255), -1,
	    "credit= in a request without stream=1 refused");
	build(m, "ID", "", "WAHA01", "cancel=1", "echo", NULL);
	tap_is_int(proto_parse(m, &in, 255), -1,
	    "cancel= in a request refused");
	tap_is_int(in.kind, PROTO_NATIVE, "and answered as a request");
	build(m, "ID", "", "WAHA01", "cancel=1", NULL);
	tap_is_int(proto_parse(m, &in, 255), 0, "cancel command parses");
	tap_is_int(in.kind, PROTO_CMD, "it is a command");
	tap_is_int(in.opts.cancel, 1, "cancel=1");
	build(m, "ID", "", "WAHA01", "cancel=yes", NULL);
	tap_is_int(proto_parse(m, &in, 255), -1, "bad command refused");
	tap_is_int(in.kind, PROTO_CMD, "but still a command: never answered");
	build(m, "ID", "", "WAHA01", "credit=10&timeout=5", NULL);
	tap_is_int(proto_parse(m, &in, 255), -1,
	    "a command with another option refused");
}

static void
test_worker(struct waha_msg *m)
{
	struct proto_in	 in;

	build(m, "ID", "", "MDPW01", "\x01", "svc", "4", "cancel,frobnicate",
	    NULL);
	tap_is_int(proto_parse(m, &in, 255), 0, "READY with features parses");
	tap_is_int(in.features, WAHA_FEAT_OPTIONS | WAHA_FEAT_CANCEL,
	    "cancel, and the unknown token ignored");
	build(m, "ID", "", "MDPW01", "\x01", "svc", "4", "stream", NULL);
	proto_parse(m, &in, 255);
	tap_is_int(in.features, WAHA_FEAT_OPTIONS | WAHA_FEAT_CANCEL |
	    WAHA_FEAT_STREAM, "stream implies cancel");
	build(m, "ID", "", "MDPW01", "\x01", "svc", "4", "", NULL);
	proto_parse(m, &in, 255);
	tap_is_int(in.features, WAHA_FEAT_OPTIONS, "an empty FEATURES frame "
	    "still declares features");
	build(m, "ID", "", "MDPW01", "\x01", "svc", NULL);
	proto_parse(m, &in, 255);
	tap_is_int(in.features, 0, "an RFC 7 READY declares none");
	build(m, "ID", "", "MDPW01", "\x01", "svc", "4", "cancel", "x", NULL);
	tap_is_int(proto_parse(m, &in, 255), -1, "READY of 7 frames refused");

	memset(&in, 0, sizeof(in));
	build(m, "", "MDPW01", "\x02", "TOKEN", "timeout=99&later=1", "",
	    "body", NULL);
	tap_is_int(proto_parse_worker(m, &in, PROTO_WORKER_OPTS), 0,
	    "REQUEST with options parses");
	tap_is_int(in.opts.timeout, 99, "the time left");
	tap_is_int(in.body, 6, "the body after the empty frame");
	memset(&in, 0, sizeof(in));
	build(m, "", "MDPW01", "\x02", "TOKEN", "", "body", NULL);
	tap_is_int(proto_parse_worker(m, &in, 0), 0,
	    "an RFC 7 REQUEST parses without options");
	tap_is_int(in.body, 5, "its body");
	memset(&in, 0, sizeof(in));
	build(m, "", "MDPW01", "\x08", "TOKEN", NULL);
	tap_is_int(proto_parse_worker(m, &in, PROTO_WORKER_OPTS), 0,
	    "CANCEL parses");
	tap_is_int(in.token, 3, "its token");
	memset(&in, 0, sizeof(in));
	build(m, "", "MDPW01", "\x08", NULL);
	tap_is_int(proto_parse_worker(m, &in, 0), -1,
	    "CANCEL without a token refused");
	memset(&in, 0, sizeof(in));
	build(m, "", "MDPW01", "\x09", "TOKEN", "65536", NULL);
	tap_is_int(proto_parse_worker(m, &in, PROTO_WORKER_OPTS), 0,
	    "CREDIT parses");
	tap_is_int((int)in.opts.credit, 65536, "its bytes");
	memset(&in, 0, sizeof(in));
	build(m, "", "MDPW01", "\x09", "TOKEN", "0", NULL);
	tap_is_int(proto_parse_worker(m, &in, 0), -1, "CREDIT of 0 refused");
	memset(&in, 0, sizeof(in));
	build(m, "", "MDPW01", "\x09", "TOKEN", "12x", NULL);
	tap_is_int(proto_parse_worker(m, &in, 0), -1,
	    "CREDIT that is not a number refused");
	memset(&in, 0, sizeof(in));
	build(m, "", "MDPW01", "\x09", "TOKEN", "40409888839999999999", NULL);
	tap_is_int(proto_parse_worker(m, &in, 0), -1,
	    "CREDIT of 20 digits refused");
	memset(&in, 0, sizeof(in));
	build(m, "", "MDPW01", "\x09", "TOKEN", "9999999999999999999", NULL);
	tap_is_int(proto_parse_worker(m, &in, 0), -1,
	    "CREDIT of 19 nines refused, without overflow");
	memset(&in, 0, sizeof(in));
	build(m, "", "MDPW01", "\x02", "TOKEN", "stream=1&credit=4096", "",
	    "body", NULL);
	tap_is_int(proto_parse_worker(m, &in, PROTO_WORKER_OPTS), 0,
	    "REQUEST of a stream parses");
	tap_is_int(in.opts.stream * 100000 + (int)in.opts.credit, 104096,
	    "stream=1 and its opening window");
}

static void
test_format_and_keys(struct waha_msg *m)
{
	unsigned char	 key[16];
	char		 buf[64];
	size_t		 len;

	len = proto_opts_format(buf, sizeof(buf), 1500, 0, -1);
	tap_is_mem(buf, len, "timeout=1500", 12, "format: the time left");
	len = proto_opts_format(buf, sizeof(buf), -1, 0, -1);
	tap_is_int(len, 0, "format: no limit, no options");
	len = proto_opts_format(buf, sizeof(buf), 0, 1, -1);
	tap_is_mem(buf, len, "timeout=1&stream=1", 18,
	    "format: at least 1 ms, and stream");
	len = proto_opts_format(buf, sizeof(buf), -1, 1, WAHA_STREAM_WINDOW);
	tap_is_mem(buf, len, "stream=1", 8, "format: the default window unsaid");
	len = proto_opts_format(buf, sizeof(buf), -1, 1, 4096);
	tap_is_mem(buf, len, "stream=1&credit=4096", 20,
	    "format: another window");
	build(m, "ab", "c", NULL);
	len = frames_key(m, 2, key, sizeof(key));
	tap_is_mem(key, len, "\0\0\0\2ab\0\0\0\1c", 11, "envelope key");
	build(m, "0123456789ab", "c", NULL);
	tap_is_int(frames_key(m, 2, key, sizeof(key)), 0,
	    "a key that does not fit is 0");
}

int
main(void)
{
	struct waha_msg	 m;

	TAP_PLAN(78);
	frames_init(&m);
	test_options();
	test_requests(&m);
	test_worker(&m);
	test_format_and_keys(&m);
	frames_free(&m);
	TAP_DONE();
}
