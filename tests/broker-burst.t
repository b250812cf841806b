#!/bin/sh
# Bursts that lose nothing: the zguide's asynchronous Majordomo client
# sends 100,000 requests at once on one DEALER, then waits for them with
# 2.5 s of patience between replies; with the broker's defaults, across
# two workers of capacity 1, every one is answered.  Queues full or not,
# an MDP request the broker does drop is counted and logged (RFC 7
# cannot tell its client), and a queue bound by bytes refuses with 503.
# WAHA_BURST sets the size of the burst (default 100000), for slow builds.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 11

# Under the sanitizers (WAHA_SANITIZER) a fifth of it keeps CI quick.
n=${WAHA_BURST:-$([ -n "${WAHA_SANITIZER:-}" ] && echo 20000 || echo 100000)}
start_broker broker || exit 1
start_worker w1 echo || exit 1
start_worker w2 echo || exit 1
start=$(now_ms)
out=$("$TEST_LOAD" -u "$BROKER" -n echo --mdp -c 1 -w "$n" -r "$n" -t 2500)
rc=$?
diag "burst of $n MDP requests: $out ($(( $(now_ms) - start )) ms)"
is "$rc" 0 "every request of the burst got its own reply"
like "$out" "^requests $n matched $n mismatched 0 failed 0 missing 0 " \
    "matched $n of $n"
is "$(stat 's["totals"]["mdp_dropped"]')" "{}" "no MDP request dropped"
is "$(stat 's["totals"]["queue_full"]')" 0 "no request refused"
ok "no drop was logged" sh -c "! grep -q 'dropped' '$SCRATCH/broker.log'"

# A broker with a queue of 10: most of a burst of 2,000 is refused, each
# refusal counted, and the log says so at most once a second.
start_broker small --max-queue 10 || exit 1
BROKER=$url_small
start_worker w3 echo || exit 1
start=$(now_ms)
"$TEST_LOAD" -u "$BROKER" -n echo --mdp -c 1 -w 2000 -r 2000 -t 1000 \
    >"$SCRATCH/small.out"
secs=$(( ($(now_ms) - start) / 1000 + 1 ))
dropped=$(stat 's["totals"]["mdp_dropped"].get("503", 0)')
full=$(stat 's["totals"]["queue_full"]')
ok "the refusals are counted in mdp_dropped ($dropped)" test "$dropped" -gt 0
is "$full" "$dropped" "and in queue_full"
lines=$(grep -c 'MDP request for echo dropped: 503 queue full' \
    "$SCRATCH/small.log")
ok "the log says so, at most once a second ($lines lines in ${secs} s)" \
    test "$lines" -ge 1 -a "$lines" -le "$secs"

# --max-queue-bytes bounds the memory of every queue together.
start_broker tiny --max-queue-bytes 4096 || exit 1
BROKER=$url_tiny
start_worker w4 slow --mode never || exit 1
cli -t 20000 -n slow held >/dev/null 2>&1 &
i=0
while [ $i -lt 12 ]; do
	cli -t 20000 -n slow queued$i >/dev/null 2>&1 &
	i=$((i + 1))
done
wait_for "queued requests" sh -c \
    "\"$WAHA_CLI\" -u $BROKER -n mmi.stats | grep -q '\"queue_full\":[1-9]'"
out=$(cli -n slow one-more 2>&1)
is "$?:$out" "5:waha-cli: 503 queues full (--max-queue-bytes)" \
    "past --max-queue-bytes: 503 with the reason"
ok "the bytes queued stay under the bound" \
    test "$(stat 's["queued_bytes"]')" -le 4096
is "$(cli -n mmi.services)" "slow" "the broker keeps serving"
