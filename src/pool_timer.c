/*
 * The pool's deadlines: a binary min-heap of requests keyed by when each
 * expires where it is now (queued or running).  Requests carry their own
 * deadlines (DESIGN.md 2.6), so arrival order is no longer expiry order;
 * the heap keeps the earliest at the top for O(1) peeks, and costs
 * O(log n) per insert, change or removal, n being the requests that have
 * a deadline: about three of those per request, 17 levels at 100,000.
 */
#include "config.h"

#include <stdlib.h>

#include "waha.h"

static void
heap_place(struct pool *p, size_t i, struct pool_req *r)
{
	p->heap[i] = r;
	r->heap = i;
}

static void
sift_up(struct pool *p, size_t i)
{
	struct pool_req	*r = p->heap[i];
	size_t		 up;

	while (i > 0 && p->heap[up = (i - 1) / 2]->due > r->due) {
		heap_place(p, i, p->heap[up]);
		i = up;
	}
	heap_place(p, i, r);
}

static void
sift_down(struct pool *p, size_t i)
{
	struct pool_req	*r = p->heap[i];
	size_t		 c;

	while ((c = 2 * i + 1) < p->nheap) {
		if (c + 1 < p->nheap && p->heap[c + 1]->due < p->heap[c]->due)
			c++;
		if (p->heap[c]->due >= r->due)
			break;
		heap_place(p, i, p->heap[c]);
		i = c;
	}
	heap_place(p, i, r);
}

static void
heap_remove(struct pool *p, struct pool_req *r)
{
	size_t		 i = r->heap;
	struct pool_req	*last;

	r->heap = POOL_NOTIMER;
	last = p->heap[--p->nheap];
	if (i == p->nheap)
		return;
	heap_place(p, i, last);
	if (i > 0 && p->heap[(i - 1) / 2]->due > last->due)
		sift_up(p, i);
	else
		sift_down(p, i);
}

/* Make r expire at due (ms), or never if due is 0. */
void
pool_timer_set(struct pool *p, struct pool_req *r, int64_t due)
{
	int64_t	 old = r->due;

	r->due = due;
	if (r->heap != POOL_NOTIMER && due == 0) {
		heap_remove(p, r);
		return;
	}
	if (due == 0)
		return;
	if (r->heap != POOL_NOTIMER) {
		if (due < old)
			sift_up(p, r->heap);
		else
			sift_down(p, r->heap);
		return;
	}
	if (p->nheap == p->heapcap) {
		p->heapcap = p->heapcap == 0 ? 256 : p->heapcap * 2;
		p->heap = xreallocarray(p->heap, p->heapcap,
		    sizeof(*p->heap));
	}
	heap_place(p, p->nheap++, r);
	sift_up(p, r->heap);
}

/* The request that expires first, or NULL if none has a deadline. */
struct pool_req *
pool_timer_first(struct pool *p)
{
	return (p->nheap > 0 ? p->heap[0] : NULL);
}
