#!/bin/sh
# Thousands of random malformed messages: the broker answers what can be
# answered, keeps serving, and its memory stays bounded (queued garbage
# expires; nothing accumulates across rounds).
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 7

start_broker broker --heartbeat 200 --queue-timeout 300 --service-ttl 300 ||
    exit 1
start_worker echo echo --heartbeat 200
bpid=$(pid_of broker)

drained() {
	[ "$(stat 's["queued"]')" = 0 ]
}

round() {
	"$TEST_RAW" -u "$BROKER" -t 200 --garbage 4000 --seed "$1" >/dev/null
	wait_for "garbage to drain" drained
}

round 1
is "$(cli -n echo after-round-1)" after-round-1 \
    "the broker serves after 4000 garbage messages"
rss1=$(rss_kb "$bpid")
for seed in 2 3 4 5 6; do
	round $seed
done
rss2=$(rss_kb "$bpid")
diag "resident memory after 1 round: $rss1 kB, after 6 rounds: $rss2 kB"
ok_memory "memory did not grow with 5 more rounds (grew $((rss2 - rss1)) kB)" \
    test $((rss2 - rss1)) -lt 4096
ok "the broker is alive" alive broker
is "$(cli -n echo after-all)" after-all \
    "the broker serves after 24000 garbage messages"
ok "native garbage was answered 400" \
    test "$(stat 's["totals"]["bad_requests"] > 1000')" = True
ok "worker-side garbage was counted" \
    test "$(stat 's["totals"]["bad_worker_messages"] > 0')" = True
is "$(workers_of echo)" 1 "the real worker is still registered"
