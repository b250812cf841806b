#!/bin/sh
# SIGTERM: the broker stops taking requests (503), answers what is queued
# with 503, lets in-flight requests finish within --grace (or answers them
# 503 when it ends), DISCONNECTs its workers and exits 0.  A second signal
# exits at once.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 12

start_broker broker --heartbeat 200 --grace 5000 || exit 1
start_worker w1 slow --heartbeat 200 --mode sleep

cli -t 10000 -n slow 1500 >"$SCRATCH/inflight" 2>&1 &
inflight=$!
wait_for "one running" sh -c \
    "\"$WAHA_CLI\" -u $BROKER -n mmi.stats | grep -q '\"in_flight\":1'"
cli -t 10000 -n slow 10 >"$SCRATCH/queued" 2>&1 &
queued=$!
wait_for "one queued" sh -c \
    "\"$WAHA_CLI\" -u $BROKER -n mmi.stats | grep -q '\"queued\":1'"
kill -TERM "$(pid_of broker)"
wait $queued
is "$?:$(cat "$SCRATCH/queued")" "5:waha-cli: 503 shutting down" \
    "a queued request is answered 503 at once"
out=$(cli -n slow 1 2>&1)
is "$?:$out" "5:waha-cli: 503 shutting down" "a new request gets 503"
ok "the broker waits for the request in flight" alive broker
wait $inflight
is "$?:$(cat "$SCRATCH/inflight")" "0:1500" "the request in flight completes"
stop_daemon broker
is "$stopped_status" 0 "then the broker exits 0"
wait_for "the worker to hear DISCONNECT" \
    grep -q "broker sent DISCONNECT" "$SCRATCH/w1.log"
ok "the worker got DISCONNECT" grep -q "broker sent DISCONNECT" \
    "$SCRATCH/w1.log"

# Grace period ends before the request: 503, exit 0, in about --grace.
start_broker b2 --heartbeat 200 --grace 500 || exit 1
BROKER=$url_b2
start_worker w2 slow --heartbeat 200 --mode sleep
cli -t 20000 -n slow 8000 >"$SCRATCH/long" 2>&1 &
long=$!
wait_for "one running" sh -c \
    "\"$WAHA_CLI\" -u $BROKER -n mmi.stats | grep -q '\"in_flight\":1'"
start=$(date +%s%N)
stop_daemon b2
ms=$((($(date +%s%N) - start) / 1000000))
is "$stopped_status" 0 "a broker whose grace ends exits 0"
ok "after the grace period, not the 8 s request ($ms ms)" test "$ms" -lt 5000
wait $long
is "$?:$(cat "$SCRATCH/long")" "5:waha-cli: 503 shutting down" \
    "the request still in flight gets 503"

# A second signal exits at once.
start_broker b3 --heartbeat 200 --grace 30000 || exit 1
BROKER=$url_b3
start_worker w3 slow --heartbeat 200 --mode sleep
cli -t 20000 -n slow 15000 >"$SCRATCH/long3" 2>&1 &
long=$!
wait_for "one running" sh -c \
    "\"$WAHA_CLI\" -u $BROKER -n mmi.stats | grep -q '\"in_flight\":1'"
kill -TERM "$(pid_of b3)"
wait_for "the drain to start" grep -q "shutting down" "$SCRATCH/b3.log"
start=$(date +%s%N)
stop_daemon b3 INT
ms=$((($(date +%s%N) - start) / 1000000))
ok "a second signal ends the drain at once ($ms ms)" test "$ms" -lt 3000
wait $long
is "$?:$(cat "$SCRATCH/long3")" "5:waha-cli: 503 shutting down" \
    "its request in flight gets 503"
ok "the log says why" grep -q "second signal" "$SCRATCH/b3.log"
