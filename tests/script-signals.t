#!/bin/sh
# SIGTERM: DISCONNECT, let running programs finish, send their replies,
# exit 0; a second signal kills the programs and exits at once.  A
# restarted broker gets the service back without a restart of its own.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 14

# in_flight SERVICE N: whether the broker has N requests of it in flight
in_flight() {
	[ "$(stat "s['services']['$1']['in_flight']")" = "$2" ]
}

start_broker broker --heartbeat 200 || exit 1

# Drain.  The run (1.5 s) outlasts the broker's liveness (3 x 200 ms),
# so its reply only counts if the service keeps heartbeating meanwhile.
start_script drain nap -s sleep || exit 1
cli -t 10000 -n nap 1.5 >"$SCRATCH/drain.out" 2>&1 &
job=$!
wait_for "the run" in_flight nap 1
kill -TERM "$(pid_of drain)"
wait_for "the withdrawal" sh -c "! $WAHA_CLI -u $BROKER -n mmi.service nap |
    grep -q 200"
is "$?" 0 "on SIGTERM the service withdraws at once (DISCONNECT)"
ok "while its program still runs" alive drain
wait "$job"
is "$?" 0 "the running request is answered 200"
is "$(cat "$SCRATCH/drain.out")" "" "with the program's (empty) output"
stop_daemon drain
is "$stopped_status" 0 "then the service exits 0"
like "$(cat "$SCRATCH/drain.log")" 'shutting down, waiting for 1 runs' \
    "and says what it waits for"

# Second signal.
start_script hard hard -s sh -- -c 'echo $$ >"$1"; exec sleep 30' sh ||
    exit 1
rm -f "$SCRATCH/pid"
cli -t 10000 -n hard "$SCRATCH/pid" >"$SCRATCH/hard.out" 2>&1 &
job=$!
wait_for "the program" test -s "$SCRATCH/pid"
child=$(cat "$SCRATCH/pid")
kill -TERM "$(pid_of hard)"
wait_for "the drain" grep -q 'shutting down' "$SCRATCH/hard.log"
t0=$(now_ms)
stop_daemon hard TERM
ms=$(($(now_ms) - t0))
is "$stopped_status" 0 "a second SIGTERM: the service exits 0"
ok "at once ($ms ms)" test "$ms" -lt 2000
ok "its program ($child) is killed" sh -c "! kill -0 $child 2>/dev/null"
wait "$job"
is "$(cat "$SCRATCH/hard.out")" "waha-cli: 503 service stopped" \
    "the client gets 503"

# Broker restart, on an endpoint that stays the same.
start_broker b1 --heartbeat 200 -u "ipc://$SCRATCH/broker.sock" || exit 1
BROKER=$url_b1
start_script again again -s echo || exit 1
is "$(cli -n again one)" one "served through the first broker"
stop_daemon b1
start_broker b2 --heartbeat 200 -u "ipc://$SCRATCH/broker.sock" || exit 1
wait_for "registration with the new broker" served again 1
is "$?" 0 "the service registers with the restarted broker by itself"
is "$(cli -n again two)" two "and is served through it"
ok "the same process all along" alive again
