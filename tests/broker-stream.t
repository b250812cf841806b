#!/bin/sh
# Streaming at the broker (DESIGN.md 2.7, 2.8), against the Python peers
# of tests/stream.py: partials relayed within the worker's credit,
# credit passed on, the opening window asked and clamped, a worker over
# its credit or streaming unasked failed 500 and cancelled, keepalives,
# a vanished client and a silent stream cancelled, --stream-max, and
# MDP and plain clients served as before.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
need_pyzmq
setup
plan 22

start_broker broker --heartbeat 200 --stream-idle 3000 \
    --stream-max 1000000 -v || exit 1

# sworker NAME SERVICE MODE [OPTIONS...]: a tests/stream.py worker
sworker() {
	_sn=$1
	_ss=$2
	shift 2
	start_served "$_sn" "$_ss" "$PYTHON" "$TESTS_SRC/stream.py" worker \
	    "$BROKER" "$_ss" "$@" --log "$SCRATCH/$_sn.events"
}
sclient() {
	"$PYTHON" "$TESTS_SRC/stream.py" client "$BROKER" "$@"
}
sevents() {
	grep -c "^$2" "$SCRATCH/$1.events"
}

# 40 partials of 16 KiB: 640 KiB, over twice the opening window, so the
# worker must wait for credit the client grants as it reads.
sworker flow flow flow --count 40 || exit 1
sum=$("$PYTHON" -c 'import hashlib; print(hashlib.sha256(b"x" * 655360).hexdigest())')
out=$(sclient flow --bytes --delay 5)
is "$out" "655360 $sum
200 end" "640 KiB streamed in partials, intact, then the final reply"
like "$(grep '^request' "$SCRATCH/flow.events")" '^request stream=1$' \
    "the worker was asked to stream, with the default window unsaid"
ok "the worker ran out of credit and waited" \
    [ "$(sevents flow stalled)" -ge 1 ]
ok "the client's credit reached the worker as CREDIT" \
    [ "$(sevents flow 'credit 16384')" -ge 20 ]
is "$(sclient flow --no-stream)" "200 plain" \
    "without stream=1 the same worker gives its one reply"
is "$(mdp client "$BROKER" flow hello)" "plain" \
    "an MDP client of a streaming service gets its one reply"

: >"$SCRATCH/flow.events"
sclient flow --bytes --window 65536 >/dev/null
like "$(grep '^request' "$SCRATCH/flow.events")" \
    '^request stream=1&credit=65536$' "a smaller opening window is passed on"
: >"$SCRATCH/flow.events"
sclient flow --bytes --window 999999999 >/dev/null
like "$(grep '^request' "$SCRATCH/flow.events")" \
    '^request stream=1&credit=4194304$' \
    "a window over --stream-window is cut to it"

# A worker over its credit, and one streaming unasked: 500 and CANCEL.
sworker over over over || exit 1
is "$(sclient over)" "500 the worker sent 1 bytes over its credit" \
    "a partial over the credit: 500"
wait_for "the CANCEL" grep -q '^cancel' "$SCRATCH/over.events"
is "$(sevents over cancel)" 1 "and the worker is told to stop"
sworker unasked unasked nostream || exit 1
is "$(sclient unasked --no-stream)" \
    "500 the worker sent a partial reply to a request without stream=1" \
    "a partial for a request without stream=1: 500"
wait_for "the CANCEL" grep -q '^cancel' "$SCRATCH/unasked.events"
is "$(sevents unasked cancel)" 1 "and cancelled"
is "$(sclient flow --no-stream)" "200 plain" "the broker still serves"

# --stream-max 1000000: 100 partials of 16 KiB are too many.
is "$(sclient flow --bytes --window 4194304 2>&1 | tail -1)" "200 end" \
    "a stream under --stream-max ends well"
sworker big big flow --count 100 || exit 1
is "$(sclient big --bytes | tail -1)" \
    "500 the stream is over 1000000 bytes (--stream-max)" \
    "a stream over --stream-max: 500"

# A silent stream gets keepalives (empty partials), then --stream-idle
# ends it: 504, and the worker is told.
sworker silent silent silent || exit 1
out=$(sclient silent --wait 5000 --keepalives)
like "$(echo "$out" | head -1)" '^206 0$' "a silent stream gets keepalives"
is "$(echo "$out" | tail -1)" \
    "504 the stream was silent for 3000 ms (--stream-idle)" \
    "and --stream-idle ends it with 504"
wait_for "the CANCEL" grep -q '^cancel' "$SCRATCH/silent.events"
is "$(sevents silent cancel)" 1 "the silent worker is told to stop"
is "$(sclient silent --timeout 500 | tail -1)" \
    "504 its deadline of 500 ms passed while it ran" \
    "a stream's own deadline still applies"

# A client that goes while the stream waits for its credit: found by
# the keepalive, well before --stream-idle, and cancelled.
sworker forever forever forever || exit 1
is "$(sclient forever --no-credit --quit-after 1)" "206 16384" \
    "the client takes one partial and goes"
wait_for "the CANCEL" grep -q '^cancel' "$SCRATCH/forever.events"
ok "the broker saw the client gone, not the idle timer" \
    grep -q 'stream of forever: its client is gone' "$SCRATCH/broker.log"

is "$(stat '(s["streams_open"], s["totals"]["streams"] >= 8, s["totals"]["streamed_bytes"] >= 655360 * 3)')" \
    "(0, True, True)" "mmi.stats counts the streams and their bytes"
