/*
 * Authorization rules (DESIGN.md 2.9): one rule a line,
 *
 *	allow|deny call|serve PATTERN SUBJECT
 *
 * PATTERN is a service name in which the token "*" matches one
 * dot-separated token and a last token ">" matches one or more tokens
 * (NATS subjects).  SUBJECT is "key Z85", "name NAME", "user NAME" or
 * "any".  A line whose first non-blank character is '#' is a comment.
 * Deny beats allow, and what no rule allows is denied.
 *
 * Rules with exact patterns are kept in a hash by service name, the
 * others in one list, so a check costs a lookup and a walk over that
 * name's rules and the wildcard rules.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waha.h"

#define ACL_MAX_SIZE	(4 * 1024 * 1024)

enum acl_subject {
	SUBJ_ANY,
	SUBJ_KEY,
	SUBJ_NAME,
	SUBJ_USER
};

struct acl_rule {
	int		 allow;
	enum acl_action	 action;
	enum acl_subject subject;
	char		*who;		/* key, name or user; NULL for any */
	char		*pattern;
	size_t		 plen;
	int		 line;
	struct acl_rule	*next;
};

/* The rules of one exact service name. */
struct acl_exact {
	char		*name;
	struct acl_rule	*rules;
	UT_hash_handle	 hh;
};

struct acl {
	struct acl_exact *exact;
	struct acl_rule	*wild;
	unsigned	 n;
};

/*
 * Whether name (len bytes) matches pattern (plen bytes), token by token:
 * "*" is any one token, a last ">" one or more.
 */
int
acl_match(const char *pat, size_t plen, const char *name, size_t len)
{
	size_t	 p = 0, n = 0, pe, ne;

	for (;;) {
		for (pe = p; pe < plen && pat[pe] != '.'; pe++)
			;
		for (ne = n; ne < len && name[ne] != '.'; ne++)
			;
		if (pe - p == 1 && pat[p] == '>' && pe == plen)
			return (n < len);
		if (pe - p == 1 && pat[p] == '*') {
			if (ne == n)
				return (0);
		} else if (pe - p != ne - n || memcmp(pat + p, name + n,
		    pe - p) != 0)
			return (0);
		if (pe == plen || ne == len)
			return (pe == plen && ne == len);
		p = pe + 1;
		n = ne + 1;
	}
}

/* Whether pattern is valid: a service name, '*' and '>' whole tokens. */
const char *
acl_pattern_check(const char *pat, size_t len)
{
	size_t	 i;
	int	 start;

	if (proto_name_check(pat, len, WAHA_NAME_MAX) != NULL)
		return ("a pattern is 1 to 255 printable bytes");
	for (i = 0; i < len; i++) {
		start = i == 0 || pat[i - 1] == '.';
		if ((pat[i] == '*' || pat[i] == '>') &&
		    (!start || (i + 1 < len && pat[i + 1] != '.')))
			return ("'*' and '>' must be whole tokens");
		if (pat[i] == '>' && i + 1 != len)
			return ("'>' must be the last token");
	}
	return (NULL);
}

static int
is_wild(const char *pat, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if ((pat[i] == '*' || pat[i] == '>') &&
		    (i == 0 || pat[i - 1] == '.') &&
		    (i + 1 == len || pat[i + 1] == '.'))
			return (1);
	}
	return (0);
}

static void
rule_free(struct acl_rule *r)
{
	free(r->who);
	free(r->pattern);
	free(r);
}

/* Free the rules; NULL does nothing. */
void
acl_free(struct acl *acl)
{
	struct acl_exact	*e, *etmp;
	struct acl_rule		*r, *next;

	if (acl == NULL)
		return;
	HASH_ITER(hh, acl->exact, e, etmp) {
		HASH_DEL(acl->exact, e);
		for (r = e->rules; r != NULL; r = next) {
			next = r->next;
			rule_free(r);
		}
		free(e->name);
		free(e);
	}
	for (r = acl->wild; r != NULL; r = next) {
		next = r->next;
		rule_free(r);
	}
	free(acl);
}

static void
add_rule(struct acl *acl, struct acl_rule *r)
{
	struct acl_exact	*e;

	acl->n++;
	if (is_wild(r->pattern, r->plen)) {
		r->next = acl->wild;
		acl->wild = r;
		return;
	}
	HASH_FIND(hh, acl->exact, r->pattern, r->plen, e);
	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->name = xstrdup(r->pattern);
		HASH_ADD_KEYPTR(hh, acl->exact, e->name, r->plen, e);
	}
	r->next = e->rules;
	e->rules = r;
}

static const char *
subject(struct acl_rule *r, char **w, int nw)
{
	if (strcmp(w[3], "any") == 0) {
		r->subject = SUBJ_ANY;
		return (nw == 4 ? NULL : "text after the subject");
	}
	if (nw != 5)
		return (nw == 4 ? "expected allow|deny call|serve PATTERN "
		    "SUBJECT" : "text after the subject");
	if (strcmp(w[3], "key") == 0) {
		if (strlen(w[4]) != CURVE_Z85_LEN ||
		    zmq_z85_decode((uint8_t [CURVE_KEY_LEN]){ 0 }, w[4]) == NULL)
			return ("a key is 40 Z85 characters");
		r->subject = SUBJ_KEY;
	} else if (strcmp(w[3], "name") == 0)
		r->subject = SUBJ_NAME;
	else if (strcmp(w[3], "user") == 0)
		r->subject = SUBJ_USER;
	else
		return ("the subject is key Z85, name NAME, user NAME or any");
	r->who = xstrdup(w[4]);
	return (NULL);
}

/* Parse one line into a rule, or say why not. */
static const char *
parse_rule(char *s, struct acl_rule *r)
{
	char		*w[6];
	const char	*why;
	int		 nw = 0;

	while (nw < 6 && (w[nw] = strsep(&s, " \t")) != NULL) {
		if (*w[nw] != '\0')
			nw++;
	}
	if (nw < 4)
		return ("expected allow|deny call|serve PATTERN SUBJECT");
	if (strcmp(w[0], "allow") != 0 && strcmp(w[0], "deny") != 0)
		return ("a rule starts with allow or deny");
	r->allow = w[0][0] == 'a';
	if (strcmp(w[1], "call") == 0)
		r->action = ACL_CALL;
	else if (strcmp(w[1], "serve") == 0)
		r->action = ACL_SERVE;
	else
		return ("the action is call or serve");
	if ((why = acl_pattern_check(w[2], strlen(w[2]))) != NULL)
		return (why);
	if ((why = subject(r, w, nw)) != NULL)
		return (why);
	r->pattern = xstrdup(w[2]);
	r->plen = strlen(w[2]);
	return (NULL);
}

/*
 * Parse the rules in text (a NUL-terminated copy that is cut up in
 * place); errors name path, the file it came from, and the line.
 */
struct acl *
acl_parse(char *text, const char *path, char **cause)
{
	struct acl	*acl;
	struct acl_rule	*r;
	const char	*why;
	char		*s, *line, *t;
	int		 n = 0;

	acl = xcalloc(1, sizeof(*acl));
	for (s = text; (line = util_line(&s)) != NULL;) {
		n++;
		t = line + strspn(line, " \t");
		if (*t == '\0' || *t == '#')
			continue;
		r = xcalloc(1, sizeof(*r));
		r->line = n;
		if ((why = parse_rule(t, r)) != NULL) {
			xasprintf(cause, "%s:%d: %s", path, n, why);
			rule_free(r);
			acl_free(acl);
			acl = NULL;
			break;
		}
		add_rule(acl, r);
	}
	return (acl);
}

/* Read the rules of the file at path; errors name the file and line. */
struct acl *
acl_load(const char *path, char **cause)
{
	struct acl	*acl;
	char		*text;

	if ((text = util_read_text(path, ACL_MAX_SIZE, cause)) == NULL)
		return (NULL);
	acl = acl_parse(text, path, cause);
	free(text);
	return (acl);
}

/* How many rules there are. */
unsigned
acl_count(const struct acl *acl)
{
	return (acl->n);
}

static int
subject_is(const struct acl_rule *r, const char *key, const char *name,
    const char *user)
{
	switch (r->subject) {
	case SUBJ_ANY:
		return (1);
	case SUBJ_KEY:
		return (key != NULL && strcmp(key, r->who) == 0);
	case SUBJ_NAME:
		return (name != NULL && strcmp(name, r->who) == 0);
	case SUBJ_USER:
		return (user != NULL && strcmp(user, r->who) == 0);
	}
	return (0);
}

/* Fold the rules of list that apply into *allowed; 1 on a deny. */
static int
walk(const struct acl_rule *r, enum acl_action action, const char *svc,
    size_t len, int exact, const char *key, const char *name,
    const char *user, int *allowed)
{
	for (; r != NULL; r = r->next) {
		if (r->action != action || !subject_is(r, key, name, user))
			continue;
		if (!exact && !acl_match(r->pattern, r->plen, svc, len))
			continue;
		if (!r->allow)
			return (1);
		*allowed = 1;
	}
	return (0);
}

/*
 * Whether the peer may do action on service (len bytes): 1 yes, 0 no.
 * key is its Z85 User-Id, name its cert's name, user its HTTP user,
 * each NULL when unknown.
 */
int
acl_check(const struct acl *acl, enum acl_action action, const char *service,
    size_t len, const char *key, const char *name, const char *user)
{
	const struct acl_exact	*e;
	int			 allowed = 0;

	HASH_FIND(hh, acl->exact, service, len, e);
	if (e != NULL && walk(e->rules, action, service, len, 1, key, name,
	    user, &allowed))
		return (0);
	if (walk(acl->wild, action, service, len, 0, key, name, user,
	    &allowed))
		return (0);
	return (allowed);
}

static int
first_line(const struct acl_rule *r, unsigned mask, int best)
{
	static const unsigned	 bit[] = { ACL_SUBJ_ANY, ACL_SUBJ_KEY,
				    ACL_SUBJ_NAME, ACL_SUBJ_USER };

	for (; r != NULL; r = r->next) {
		if ((bit[r->subject] & mask) && (best == 0 || r->line < best))
			best = r->line;
	}
	return (best);
}

/*
 * The line of the first rule whose subject is of a kind in mask
 * (ACL_SUBJ_*), or 0 if there is none: a daemon that has no keys, or
 * no HTTP users, refuses rules it could never match.
 */
int
acl_subject_line(const struct acl *acl, unsigned mask)
{
	const struct acl_exact	*e, *tmp;
	int			 best;

	best = first_line(acl->wild, mask, 0);
	HASH_ITER(hh, acl->exact, e, tmp)
		best = first_line(e->rules, mask, best);
	return (best);
}
