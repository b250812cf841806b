#!/bin/sh
# A worker whose connection is gone: what it sent before it went still
# counts.  A worker that replies and exits at once leaves its reply on
# the broker's socket while the connection closes; a heartbeat due at
# that moment fails, and the broker must read the reply before it
# answers 503 for the worker.  A worker killed while it holds a request
# is still answered 503 as soon as the broker finds it gone.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
need_pyzmq
setup
plan 8

# Heartbeats every 100 ms, so that one falls due while the broker is
# stopped below; 50 of them missed before a worker is dead, so that the
# stop kills nobody for silence.
start_broker broker --heartbeat 100 --liveness 50 || exit 1
bpid=$(pid_of broker)

# quick_exit NAME: the reply of an MDP worker that sends DISCONNECT and
# its reply and closes at once, while the broker is stopped; the broker
# wakes to a closed connection with the reply unread behind it.
quick_exit() {
	start_mdp_worker "$1" "$1" --disconnect-after 1 --graceful \
	    --delay 300 || return 1
	cli -t 20000 -n "$1" hi >"$SCRATCH/$1.out" 2>&1 &
	_qc=$!
	wait_for "$1 to take the request" grep -q '^serving 1$' \
	    "$SCRATCH/$1.events"
	kill -STOP "$bpid"
	wait_for "$1 to exit" sh -c "! kill -0 $(pid_of "$1") 2>/dev/null"
	kill -CONT "$bpid"
	wait "$_qc"
	echo "$?: $(cat "$SCRATCH/$1.out")"
}

# Twice: whether the heartbeat or the reply comes first after the stop
# is up to libzmq's threads.
is "$(quick_exit q1)" "0: hi" "a reply sent just before the worker exits arrives"
is "$(quick_exit q2)" "0: hi" "and again"
is "$(grep -c 'q[12].*dropped' "$SCRATCH/broker.log")" 0 \
    "neither worker was dropped with a request"
is "$(cli -n mmi.service q1)" 404 "the worker that left is gone"

# Killed while it holds a request: 503, found by a failed send.
start_mdp_worker k k --delay 30000 || exit 1
cli -t 20000 -n k hi >"$SCRATCH/k.out" 2>&1 &
client=$!
wait_for "k to take the request" grep -q '^serving 1$' "$SCRATCH/k.events"
kill -KILL "$(pid_of k)"
wait $client
is "$?" 5 "the client of a killed worker gets a 5xx"
is "$(cat "$SCRATCH/k.out")" "waha-cli: 503 worker vanished" \
    "503: worker vanished (not a silence of 5 s)"
is "$(cli -n mmi.service k)" 404 "the killed worker no longer serves"
cli -n mmi.stats >/dev/null
is "$?" 0 "the broker still answers"
