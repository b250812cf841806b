/*
 * Unit tests of proto.c: native, MDP client and MDP worker parsing, and
 * the checks on service names, capacities and FAIL statuses.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"
#include "tap.h"

/* Build a message from strings; "" is an empty frame. */
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

int
main(void)
{
	struct waha_msg	 m;
	struct proto_in	 in;
	char		 longname[300];
	int		 status;
	size_t		 first;

	TAP_PLAN(34);
	frames_init(&m);

	build(&m, "ID", "", "echo", "a", "b", NULL);
	tap_is_int(proto_parse(&m, &in, 255), 0, "native request parses");
	tap_is_int(in.kind, PROTO_NATIVE, "it is native");
	tap_is_int(in.env, 1, "envelope is the identity");
	tap_is_mem(in.service, in.service_len, "echo", 4, "service");
	tap_is_int(in.body, 3, "fields start after the service");

	build(&m, "ID", "corr", "x", "", "echo", NULL);
	tap_is_int(proto_parse(&m, &in, 255), 0, "DEALER envelope parses");
	tap_is_int(in.env, 3, "envelope keeps the client's frames");

	build(&m, "ID", "echo", "a", NULL);
	tap_is_int(proto_parse(&m, &in, 255), -1, "no delimiter is refused");
	tap_is_int(in.status, 400, "with 400");
	tap_is_int(in.env, 1, "and the identity to answer");

	build(&m, "ID", "", NULL);
	tap_is_int(proto_parse(&m, &in, 255), -1, "no service is refused");
	build(&m, "ID", "", "", NULL);
	tap_is_int(proto_parse(&m, &in, 255), -1, "empty service refused");
	memset(longname, 'a', 256);
	longname[256] = '\0';
	build(&m, "ID", "", longname, NULL);
	tap_is_int(proto_parse(&m, &in, 255), -1, "256-byte name refused");
	longname[255] = '\0';
	build(&m, "ID", "", longname, NULL);
	tap_is_int(proto_parse(&m, &in, 255), 0, "255-byte name accepted");
	build(&m, "ID", "", "a b", NULL);
	tap_is_int(proto_parse(&m, &in, 255), -1, "space in name refused");

	build(&m, "ID", "", "MDPC01", "echo", "body", NULL);
	tap_is_int(proto_parse(&m, &in, 255), 0, "MDP client parses");
	tap_is_int(in.kind, PROTO_MDPC, "it is MDP client");
	tap_is_int(in.body, 4, "body after the service");

	build(&m, "ID", "", "MDPW01", "\x01", "echo", NULL);
	tap_is_int(proto_parse(&m, &in, 255), 0, "READY parses");
	tap_is_int(in.capacity, 1, "capacity defaults to 1");
	build(&m, "ID", "", "MDPW01", "\x01", "echo", "16", NULL);
	proto_parse(&m, &in, 255);
	tap_is_int(in.capacity, 16, "capacity frame read");
	build(&m, "ID", "", "MDPW01", "\x01", "echo", "0", NULL);
	tap_is_int(proto_parse(&m, &in, 255), -1, "capacity 0 refused");
	build(&m, "ID", "", "MDPW01", "\x01", "echo", "65536", NULL);
	tap_is_int(proto_parse(&m, &in, 255), -1, "capacity 65536 refused");
	build(&m, "ID", "", "MDPW01", "\x03", "TOKEN", "", "r", NULL);
	tap_is_int(proto_parse(&m, &in, 255), 0, "REPLY parses");
	tap_is_int(in.token, 4, "token frame");
	build(&m, "ID", "", "MDPW01", "\x03", "TOKEN", "r", NULL);
	tap_is_int(proto_parse(&m, &in, 255), -1,
	    "REPLY without delimiter refused");
	build(&m, "ID", "", "MDPW01", "\x06", "T", "", "503", "busy", NULL);
	tap_is_int(proto_parse(&m, &in, 255), 0, "FAIL parses");
	tap_is_int(in.status, 503, "FAIL status");
	build(&m, "ID", "", "MDPW01", "\x06", "T", "", "200", "ok", NULL);
	tap_is_int(proto_parse(&m, &in, 255), -1, "FAIL 200 refused");
	build(&m, "ID", "", "MDPW01", "\x0a", NULL);
	tap_is_int(proto_parse(&m, &in, 255), -1, "unknown command refused");

	build(&m, "", "404", "no such service", NULL);
	tap_is_int(proto_parse_reply(&m, &status, &first), 0, "reply parses");
	tap_is_int(status, 404, "reply status");
	build(&m, "", "20x", NULL);
	tap_is_int(proto_parse_reply(&m, &status, &first), -1,
	    "bad status refused");
	build(&m, "", "099", NULL);
	tap_is_int(proto_parse_reply(&m, &status, &first), -1,
	    "status below 100 refused");
	frames_free(&m);
	TAP_DONE();
}
