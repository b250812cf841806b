/*
 * Unit tests of acl.c: the wildcards ("*" one token, ">" the rest), deny
 * over allow, default deny, each subject, and bad lines refused with
 * their line number.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "waha.h"
#include "tap.h"

#define KEY_A	"3LqN<4$Q/a57jOZ/1#C?H-l(HH2=h.1pKmkxbtJ1"
#define KEY_B	"rj#GUE4-h-Z&bNKA>}9hL%w2hd{]SmsI4.i=<Ccn"

static char	 path[1100];

static struct acl *
load(const char *text, char **cause)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		fatal("%s", path);
	fputs(text, f);
	fclose(f);
	*cause = NULL;
	return (acl_load(path, cause));
}

static void
match(const char *pat, const char *name, int want)
{
	char	 desc[128];

	snprintf(desc, sizeof(desc), "'%s' %s '%s'", pat,
	    want ? "matches" : "does not match", name);
	tap_is_int(acl_match(pat, strlen(pat), name, strlen(name)), want,
	    desc);
}

static void
wildcards(void)
{
	match("a.b", "a.b", 1);
	match("a.b", "a.bc", 0);
	match("a.*", "a.b", 1);
	match("a.*", "a.b.c", 0);
	match("a.*", "a", 0);
	match("*.b", "x.b", 1);
	match("a.*.c", "a.x.c", 1);
	match("a.*.c", "a..c", 0);
	match("a.>", "a.b", 1);
	match("a.>", "a.b.c.d", 1);
	match("a.>", "a", 0);
	match("a.>", "ab.c", 0);
	match(">", "anything.at.all", 1);
	match("*", "one", 1);
	match("*", "one.two", 0);
}

static int
can(struct acl *acl, enum acl_action a, const char *svc, const char *key,
    const char *name, const char *user)
{
	return (acl_check(acl, a, svc, strlen(svc), key, name, user));
}

static void
rules(void)
{
	struct acl	*acl;
	char		*cause;

	acl = load("# the seed's example\n"
	    "allow call system.user.check any\n"
	    "allow call system.user.* name web\n"
	    "deny  call system.user.add user guest\n"
	    "  # an indented comment\n\n"
	    "allow serve system.> key " KEY_A "\n"
	    "deny serve system.user.add key " KEY_A "\n"
	    "allow call mmi.> user admin\n"
	    "deny call mmi.stats any\n", &cause);
	tap_ok(acl != NULL && acl_count(acl) == 7, "seven rules load");
	if (acl == NULL) {
		printf("# %s\n", cause);
		return;
	}
	tap_ok(can(acl, ACL_CALL, "system.user.check", NULL, NULL, NULL),
	    "any: even a peer with no identity");
	tap_ok(can(acl, ACL_CALL, "system.user.add", KEY_B, "web", NULL),
	    "name web may call system.user.add through '*'");
	tap_ok(!can(acl, ACL_CALL, "system.user.add", NULL, NULL, "guest"),
	    "user guest is denied it");
	tap_ok(!can(acl, ACL_CALL, "system.user.add", KEY_B, "web", "guest"),
	    "deny beats allow for the same peer");
	tap_ok(!can(acl, ACL_CALL, "system.user.add.x", KEY_B, "web", NULL),
	    "'*' is one token only");
	tap_ok(can(acl, ACL_SERVE, "system.a.b", KEY_A, NULL, NULL),
	    "'>' is the rest: key A may serve system.a.b");
	tap_ok(!can(acl, ACL_SERVE, "system.user.add", KEY_A, NULL, NULL),
	    "an exact deny beats a wildcard allow");
	tap_ok(!can(acl, ACL_SERVE, "system.user.check", KEY_B, NULL, NULL),
	    "another key may not serve it");
	tap_ok(!can(acl, ACL_CALL, "system.user.check.x", NULL, NULL, NULL),
	    "default deny");
	tap_ok(!can(acl, ACL_SERVE, "system.user.check", NULL, NULL, NULL),
	    "call rules do not let anyone serve");
	tap_ok(can(acl, ACL_CALL, "mmi.service", NULL, NULL, "admin"),
	    "mmi.* is subject to the rules: admin calls mmi.service");
	tap_ok(!can(acl, ACL_CALL, "mmi.stats", NULL, NULL, "admin"),
	    "but mmi.stats is hidden from everyone");
	acl_free(acl);
	acl = load("", &cause);
	tap_ok(acl != NULL && !can(acl, ACL_CALL, "x", NULL, NULL, NULL),
	    "an empty file denies everything");
	acl_free(acl);
	acl_free(NULL);
}

static void
bad(const char *text, const char *want, const char *desc)
{
	struct acl	*acl;
	char		*cause;
	const char	*got = "loaded";

	if ((acl = load(text, &cause)) == NULL)
		got = cause + strlen(path);
	tap_is_mem(got, strlen(got), want, strlen(want), desc);
	acl_free(acl);
	free(cause);
}

static void
bad_lines(void)
{
	bad("allow call a any\npermit call a any\n",
	    ":2: a rule starts with allow or deny", "a bad verb, line 2");
	bad("# x\n\nallow run a any\n", ":3: the action is call or serve",
	    "a bad action, line 3");
	bad("allow call a.*b any\n", ":1: '*' and '>' must be whole tokens",
	    "a '*' inside a token");
	bad("allow call a.>.b any\n", ":1: '>' must be the last token",
	    "a '>' before the end");
	bad("allow call a key short\n", ":1: a key is 40 Z85 characters",
	    "a short key");
	bad("allow call a name\n", ":1: expected allow|deny call|serve "
	    "PATTERN SUBJECT", "a subject without its value");
	bad("allow call a any more\n", ":1: text after the subject",
	    "text after any");
	bad("allow call a user x y\n", ":1: text after the subject",
	    "text after a user");
	bad("allow call a group x\n", ":1: the subject is key Z85, name NAME, "
	    "user NAME or any", "an unknown subject");
	bad("allow call\n", ":1: expected allow|deny call|serve PATTERN "
	    "SUBJECT", "a short line");
}

int
main(void)
{
	char	 dir[1024], *cause = NULL;

	snprintf(dir, sizeof(dir), "%s/t-acl.XXXXXX",
	    getenv("WAHA_SCRATCH") != NULL ? getenv("WAHA_SCRATCH") : "/tmp");
	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp");
	snprintf(path, sizeof(path), "%s/acl", dir);
	TAP_PLAN(41);
	wildcards();
	rules();
	bad_lines();
	bad("allow call a any\n", "loaded", "a good line loads");
	unlink(path);
	tap_ok(acl_load(path, &cause) == NULL &&
	    strstr(cause, "No such file") != NULL, "a missing file");
	free(cause);
	rmdir(dir);
	TAP_DONE();
}
