#!/bin/sh
# Every status of DESIGN 2.1 reaches a native client with its reason:
# 200, 400 (each malformed shape), 404, 500, 501, 503, 504, and FAIL
# statuses from workers.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 20

start_broker broker --heartbeat 200 --max-frames 8 --max-msg-size 4096 \
    --queue-timeout 500 || exit 1
start_worker echo echo --heartbeat 200
for st in 400 500 503 504; do
	start_worker "fail$st" "fail$st" --heartbeat 200 --mode fail --status $st
done

raw() {
	"$TEST_RAW" -u "$BROKER" -t 5000 "$@"
}

is "$(raw '' echo a b)" "
200
a
b" "200 with the fields"
is "$(raw '' echo)" "
200" "200 with no fields"

is "$(raw echo a)" "
400
no empty delimiter frame before the service" "400: no delimiter"
is "$(raw '')" "
400
no service name" "400: no service frame"
is "$(raw '' '')" "
400
empty service name" "400: empty service name"
long=$(printf '%0256d' 0)
is "$(raw '' "$long")" "
400
service name too long" "400: service name of 256 bytes"
is "$(raw '' 'a b')" "
400
service name has a byte that is not visible ASCII" "400: space in the name"
is "$(raw '' 'x:6563686fff')" "
400
service name has a byte that is not visible ASCII" "400: 8-bit byte in the name"
is "$(raw '' echo 1 2 3 4 5 6 7)" "
400
too many frames" "400: more frames than --max-frames"
big=$(printf '%03000d' 0)
is "$(raw '' echo "$big" "$big")" "
400
request too large" "400: frames together over --max-msg-size"
is "$(raw '' echo ok)" "
200
ok" "still serving after the bad requests"

is "$(raw '' nosuch)" "
404
no such service" "404: no such service"
is "$(raw '' mmi.nosuch)" "
501
no such mmi. service" "501: unknown mmi. service"

for st in 400 500 503 504; do
	is "$(raw '' "fail$st" x)" "
$st
test failure" "FAIL $st from a worker reaches the client"
done

# 503: the worker holding the request dies (crashes on it).
start_worker crash crash --heartbeat 200 --mode crash
out=$(raw '' crash x)
like "$(echo $out)" '^503 worker (died|vanished)' \
    "503 when the worker holding it crashes"

# 504: it waited in the queue past --queue-timeout (the only worker is
# busy for longer).
start_worker slow slow --heartbeat 200 --mode sleep
raw '' slow 3000 >"$SCRATCH/first" &
first=$!
wait_for "the first request to run" sh -c \
    "[ \"\$(\"$WAHA_CLI\" -u $BROKER -n mmi.stats | grep -o '\"in_flight\":1' | head -n 1)\" ]"
is "$(raw '' slow 1)" "
504
waited in queue over 500 ms" "504 after waiting in the queue"
wait $first
is "$(cat "$SCRATCH/first")" "
200
3000" "the request ahead still gets its 200"
