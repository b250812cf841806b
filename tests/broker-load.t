#!/bin/sh
# 100,000 requests from 8 concurrent asynchronous clients across 3 workers:
# every reply is matched to its own request.  The rate is printed for the
# record, not asserted.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 5

start_broker broker || exit 1
for w in 1 2 3; do
	start_worker "w$w" echo
done

out=$("$TEST_LOAD" -u "$BROKER" -n echo -c 8 -r 100000 -w 100 -t 30000)
rc=$?
diag "$out"
is "$rc" 0 "test-load exits 0"
like "$out" "^requests 100000 matched 100000 mismatched 0 failed 0 missing 0 " \
    "every one of 100000 replies matched its request"
is "$(stat 's["services"]["echo"]["requests"]')" 100000 \
    "the broker counted 100000 requests"
served=$(stat '" ".join(str(w["served"]) for w in s["workers"])')
diag "served per worker: $served"
ok "every worker took a share" \
    test "$(stat 'min(w["served"] for w in s["workers"]) > 10000')" = True
is "$(stat 's["totals"]["unroutable"]')" 0 "no reply was lost"
