#!/bin/sh
# Native clients of both kinds: REQ (no envelope) and DEALER with its own
# envelope frames, which come back unchanged; binary fields pass intact.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 7

start_broker broker --heartbeat 200 || exit 1
start_worker echo echo --heartbeat 200
start_worker rev reverse --heartbeat 200 --mode reverse

raw() {
	"$TEST_RAW" -u "$BROKER" -t 5000 "$@"
}

is "$(raw --req echo a b)" "200
a
b" "REQ client: the socket adds and strips the delimiter"
is "$(raw corr-17 '' echo a)" "corr-17

200
a" "DEALER client: a correlation frame comes back first"
is "$(raw one two three '' echo a)" "one
two
three

200
a" "DEALER client: an envelope of three frames comes back unchanged"
is "$(raw '' reverse 1 2 3)" "
200
3
2
1" "fields keep their frames (reverse worker)"
is "$(raw '' echo 'x:00ff0a0d' '' 'x:80')" "
200
\\x00\\xff\\x0a\\x0d

\\x80" "binary and empty fields pass byte for byte"

# Many asynchronous requests on one DEALER, answered by correlation.
out=$("$TEST_LOAD" -u "$BROKER" -n echo -c 1 -r 500 -w 50)
like "$out" "matched 500 mismatched 0" \
    "500 pipelined requests on one DEALER all matched"
is "$(cli -n echo last)" last "the broker still serves"
