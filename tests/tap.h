/*
 * A tiny TAP producer for the C unit tests: plan, ok, is_int, is_str.
 */
#ifndef WAHA_TAP_H
#define WAHA_TAP_H

#include <stdio.h>
#include <string.h>

static int	tap_n;
static int	tap_failed;

#define TAP_PLAN(n)	printf("1..%d\n", (n))

static int
tap_ok(int cond, const char *desc)
{
	tap_n++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, desc);
	if (!cond)
		tap_failed++;
	return (cond);
}

static int
tap_is_int(long long got, long long want, const char *desc)
{
	if (!tap_ok(got == want, desc))
		printf("# got %lld, want %lld\n", got, want);
	return (got == want);
}

static int
tap_is_mem(const void *got, size_t glen, const void *want, size_t wlen,
    const char *desc)
{
	int	 ok = glen == wlen && (glen == 0 || memcmp(got, want, glen) == 0);

	if (!tap_ok(ok, desc))
		printf("# got %zu bytes '%.*s', want %zu bytes '%.*s'\n",
		    glen, (int)glen, got != NULL ? (const char *)got : "",
		    wlen, (int)wlen, (const char *)want);
	return (ok);
}

#define TAP_DONE()	return (tap_failed != 0)

#endif
