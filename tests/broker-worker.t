#!/bin/sh
# Worker life: a busy worker that stops heartbeating is declared dead and
# its request answered 503 (not a hang); a killed worker's successor
# serves without anything else restarting; a worker that DISCONNECTs
# still has its replies accepted; RFC 7 protocol errors get DISCONNECT.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 14

# 10 heartbeats of 100 ms missed before a worker is dead: quick enough to
# test, and longer than a busy machine should stall a live worker.
start_broker broker --heartbeat 100 --liveness 10 || exit 1
bpid=$(pid_of broker)

# Heartbeat death of a busy worker.  Capacity 2: once thawed, the request
# it held still takes a slot until it ends (the worker session never runs
# more than its capacity, whichever connection brought the requests).
start_worker stuck stuck --heartbeat 100 --mode sleep -c 2
cli -t 20000 -n stuck 10000 >"$SCRATCH/stuck.out" 2>&1 &
client=$!
wait_for "the request to run" sh -c \
    "\"$WAHA_CLI\" -u $BROKER -n mmi.stats | grep -q '\"in_flight\":1'"
kill -STOP "$(pid_of stuck)"
start=$(date +%s%N)
wait $client
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
is "$rc" 5 "the client of a frozen worker gets a 5xx"
is "$(cat "$SCRATCH/stuck.out")" "waha-cli: 503 worker died (no heartbeat)" \
    "503: worker died (no heartbeat)"
ok "declared dead well before the 10 s job would end ($ms ms)" \
    test "$ms" -lt 5000
is "$(cli -n mmi.service stuck)" 404 "the dead worker no longer serves"
kill -CONT "$(pid_of stuck)"
wait_for "the thawed worker to re-register" served stuck
is "$(cli -n stuck 5)" 5 "a thawed worker reconnects on a new socket and serves"

# A restarted worker serves again; the broker is the same process.
start_worker w1 restart --heartbeat 100
is "$(cli -n restart one)" one "the first worker serves"
kill -KILL "$(pid_of w1)"
start_worker w2 restart --heartbeat 100
is "$(cli -n restart two)" two "its successor serves"
is "$(pid_of broker)" "$bpid" "without restarting the broker"
ok "the broker is still running" alive broker
wait_for "the dead worker to be dropped" served restart 1
is "$(workers_of restart)" 1 "the killed worker is dropped"

# Graceful DISCONNECT: the worker leaves after one request but its reply,
# sent after the DISCONNECT, still reaches the client.
start_worker leaver leaver --heartbeat 100 --mode sleep --disconnect-after 1
is "$(cli -n leaver 500)" 500 \
    "a reply sent after DISCONNECT is accepted"
wait_for "the leaver to exit" sh -c "! kill -0 $(pid_of leaver)"
is "$(cli -n mmi.service leaver)" 404 "and the service has no worker"

# Protocol errors: a second READY, an unknown command.
is "$("$TEST_RAW" -u "$BROKER" '' MDPW01 'x:09')" "
MDPW01
\\x05" "an unknown worker command gets DISCONNECT"
is "$("$TEST_RAW" -u "$BROKER" '' MDPW01 'x:04')" "
MDPW01
\\x05" "a HEARTBEAT from an unknown worker gets DISCONNECT"
