#!/bin/sh
# Extended requests (DESIGN.md 2.6, 2.8) at the broker: bad options get
# 400 with a reason and leave the broker serving; a worker that declared
# features gets the time left and, at the deadline, CANCEL; an RFC 7
# worker never sees either; a client's cancel=1 stops a request.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
need_pyzmq
setup
plan 28

start_broker broker --heartbeat 200 || exit 1

# raw FRAME...: send one message, print the frames of the reply after ""
raw() {
	"$TEST_RAW" -u "$BROKER" -t 2000 "" "$@" | sed 1d | tr '\n' '|'
}

# Bad options, each answered 400 with its reason.
start_worker echo echo --heartbeat 200 || exit 1
is "$(raw WAHA01 "colour=red" echo a)" "400|unknown option 'colour'|" \
    "an unknown option: 400 naming it"
is "$(raw WAHA01 "timeout=abc" echo a)" \
    "400|timeout=abc: not a number of milliseconds from 1 to 2147483647|" \
    "a bad timeout: 400 naming the value"
is "$(raw WAHA01 "timeout=0" echo a)" \
    "400|timeout=0: not a number of milliseconds from 1 to 2147483647|" \
    "timeout=0: 400"
is "$(raw WAHA01 "timeout=5&timeout=6" echo a)" \
    "400|option 'timeout' given twice|" "an option twice: 400"
is "$(raw WAHA01 "timeout=5&" echo a)" "400|empty option|" \
    "an empty option: 400"
is "$(raw WAHA01 "timeout=500")" "400|no service name|" \
    "WAHA01 without a service: 400"
is "$(raw WAHA01)" "400|WAHA01 without an options frame|" \
    "WAHA01 alone: 400"
is "$(raw WAHA01 "stream=1" echo a)" "200|a|" \
    "stream=1 to a worker that does not stream: its one reply"
is "$(raw WAHA01 "cancel=1" echo a)" \
    "400|cancel= is a command, not a request option|" \
    "cancel= as a request option: 400"
ok "a command gets no reply, not even a malformed one" \
    "$TEST_RAW" -u "$BROKER" -t 500 --none "" WAHA01 "cancel=maybe"
is "$(raw WAHA01 "" echo a b)" "200|a|b|" "empty options: served"
is "$(raw WAHA01 "timeout=2000" echo a)" "200|a|" "a deadline: served"
is "$(raw echo plain)" "200|plain|" "a 2.1 request: served as before"
is "$(stat 's["totals"]["commands"]')" 1 "the command was counted"

# A worker with features: REQUEST carries the time left; at the deadline
# the client gets 504 and the worker CANCEL, for the same token.
start_worker feat feat --heartbeat 200 --mode never --features cancel \
    --log "$SCRATCH/feat.events" || exit 1
out=$(raw WAHA01 "timeout=400" feat x)
is "$out" "504|its deadline of 400 ms passed while it ran|" \
    "the deadline passes while it runs: 504"
wait_for "the CANCEL" grep -q '^cancel ' "$SCRATCH/feat.events"
req=$(grep '^request ' "$SCRATCH/feat.events")
can=$(grep '^cancel ' "$SCRATCH/feat.events")
like "$req" '^request [0-9a-f]+ timeout=(400|3[0-9][0-9])$' \
    "the REQUEST said how long it had left"
is "${can#cancel }" "$(echo "$req" | cut -d' ' -f2)" \
    "CANCEL names the request's token"
raw feat y >/dev/null &
wait_for "an undeadlined request" sh -c \
    "grep -q 'timeout=-1\$' '$SCRATCH/feat.events'"
ok "a request without a deadline: empty options (no time limit)" \
    grep -q 'timeout=-1$' "$SCRATCH/feat.events"

# An RFC 7 worker: mdp.py refuses anything RFC 7 does not allow, so an
# options frame or a CANCEL would end it with a protocol error.
start_mdp_worker rfc7 rfc7 --delay 400 || exit 1
out=$(raw WAHA01 "timeout=150" rfc7 slow)
is "$out" "504|its deadline of 150 ms passed while it ran|" \
    "RFC 7 worker: the deadline passes, 504"
is "$(raw WAHA01 "timeout=5000" rfc7 next)" "200|next|" \
    "RFC 7 worker: it serves the next request, late reply and all"
ok "RFC 7 worker: it saw no options frame and no CANCEL" \
    sh -c "! grep -q protocol-error '$SCRATCH/rfc7.events'"
is "$(events rfc7 request)" 2 "RFC 7 worker: it got both REQUESTs"

# cancel=1 from a DEALER: a queued request is taken off the queue and a
# running one is stopped at its worker; neither gets any reply.
cat >"$SCRATCH/cancel.py" <<'PY'
import json, sys, time, zmq
url, events = sys.argv[1], sys.argv[2]
ctx = zmq.Context()
s = ctx.socket(zmq.DEALER)
s.linger = 0
s.connect(url)
def wait_for(what, pred):
    end = time.monotonic() + 20
    while not pred():
        if time.monotonic() > end:
            sys.exit("gave up waiting for " + what)
        time.sleep(0.02)
def count(word):
    return sum(1 for l in open(events) if l.startswith(word + " "))
def queued(service):
    m = ctx.socket(zmq.REQ)
    m.linger = 0
    m.connect(url)
    m.send_multipart([b"mmi.stats"])
    st = json.loads(m.recv_multipart()[1])
    m.close()
    return st["services"][service]["queued"]
s.send_multipart([b"run", b"", b"WAHA01", b"", b"feat2", b"r"])
s.send_multipart([b"q", b"", b"WAHA01", b"", b"busy", b"q"])
wait_for("the request to run", lambda: count("request") == 1)
wait_for("the request to queue", lambda: queued("busy") == 1)
s.send_multipart([b"run", b"", b"WAHA01", b"cancel=1"])
s.send_multipart([b"q", b"", b"WAHA01", b"cancel=1"])
wait_for("the CANCEL", lambda: count("cancel") == 1)
wait_for("the queue to empty", lambda: queued("busy") == 0)
s.send_multipart([b"after", b"", b"echo", b"z"])
if not s.poll(5000):
    sys.exit("no reply")
print(b"|".join(s.recv_multipart()).decode())
print("more" if s.poll(300) else "nothing more")
PY
start_worker feat2 feat2 --heartbeat 200 --mode never --features cancel \
    --log "$SCRATCH/feat2.events" || exit 1
start_worker busy busy --heartbeat 200 --mode never || exit 1
busy_in_flight() {
	[ "$(stat 's["services"]["busy"]["in_flight"]')" = "$1" ]
}
# The busy worker holds a request, so the next one waits in the queue.
raw WAHA01 "timeout=60000" busy hold >/dev/null &
wait_for "busy to hold one" busy_in_flight 1
is "$("$PYTHON" "$SCRATCH/cancel.py" "$BROKER" "$SCRATCH/feat2.events")" \
    "after||200|z
nothing more" "cancelled requests get no reply, and the next one is served"
is "$(stat 's["totals"]["cancelled"]')" 2 "both cancels were counted"
is "$(stat 's["services"]["busy"]["in_flight"]')" 1 \
    "the queued one was never dispatched (busy holds only the first)"

# Ctrl-C in waha-cli: the request (sent with its deadline, so it can be
# named) is cancelled at the broker, which stops it at its worker.
before=$(grep -c '^cancel ' "$SCRATCH/feat2.events")
"$WAHA_CLI" -u "$BROKER" -t 60000 -n feat2 ctrl-c >"$SCRATCH/int.out" 2>&1 &
cpid=$!
wait_for "the request at the worker" sh -c \
    "[ \$(grep -c '^request ' '$SCRATCH/feat2.events') -ge 2 ]"
kill -INT $cpid
wait $cpid
is "$?" 130 "waha-cli interrupted: exit 130"
is "$(cat "$SCRATCH/int.out")" \
    "waha-cli: interrupted: the request is cancelled" "and it says so"
ok "its worker was told to stop it" wait_for "the CANCEL" sh -c \
    "[ \$(grep -c '^cancel ' '$SCRATCH/feat2.events') -gt $before ]"
