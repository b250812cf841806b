/*
 * The pool's requests in flight, by token.  A token is minted here: its
 * low 32 bits are the request's slot in an array, so that a worker's
 * reply finds its request with an index and a compare instead of a hash,
 * and its high 32 bits count dispatches.  A token stays with its request
 * until it ends; the token of one that has ended (a late reply, a worker
 * that was dropped and came back) does not name the request that takes
 * its slot next, only one that takes it exactly 2^32 dispatches later,
 * which must be at the same worker too (pool_worker.c checks that).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "waha.h"

#define SLOT(token)	((size_t)((token) & 0xffffffff))

/* Room for twice as many requests in flight, every new slot free. */
static void
grow(struct pool *p)
{
	size_t	 cap, i;

	cap = p->run_cap == 0 ? 64 : p->run_cap * 2;
	if (cap - 1 > UINT32_MAX)
		fatalx("pool: too many requests in flight");
	p->run = xreallocarray(p->run, cap, sizeof(*p->run));
	p->run_free = xreallocarray(p->run_free, cap, sizeof(*p->run_free));
	/* The lowest slots on top of the stack: they are used first. */
	for (i = cap; i > p->run_cap; i--) {
		p->run[i - 1] = NULL;
		p->run_free[p->run_nfree++] = i - 1;
	}
	p->run_cap = cap;
}

/* Put r in flight with a new token, in r->token. */
void
pool_run_add(struct pool *p, struct pool_req *r)
{
	size_t	 i;

	if (p->run_nfree == 0)
		grow(p);
	i = p->run_free[--p->run_nfree];
	r->token = (uint64_t)p->run_seq++ << 32 | i;
	p->run[i] = r;
}

/* The request in flight with this token, or NULL. */
struct pool_req *
pool_run_find(struct pool *p, uint64_t token)
{
	struct pool_req	*r;

	if (SLOT(token) >= p->run_cap || (r = p->run[SLOT(token)]) == NULL ||
	    r->token != token)
		return (NULL);
	return (r);
}

/* Take r, which is in flight, out of the table; its slot is free. */
void
pool_run_del(struct pool *p, struct pool_req *r)
{
	p->run[SLOT(r->token)] = NULL;
	p->run_free[p->run_nfree++] = SLOT(r->token);
}
