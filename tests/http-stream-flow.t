#!/bin/sh
# Flow control through the gateway (DESIGN.md 2.7): 64 MiB streamed to a
# reader slower than the worker arrive intact while the broker and the
# gateway stay small, because the gateway credits the broker only for
# what the client has taken, and the worker waits for that credit.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
. "$(dirname "${WAHA_LIB:-$0}")/http-lib.sh"
need_pyzmq
setup
plan 9

COUNT=1024	# partials of 64 KiB: 64 MiB
start_broker broker --heartbeat 200 || exit 1
start_served fast fast "$PYTHON" "$TESTS_SRC/stream.py" worker "$BROKER" \
    fast flow --size 65536 --count $COUNT --log "$SCRATCH/fast.events" ||
    exit 1
start_gateway gateway || exit 1
wait_for "gateway connected" healthy

# hwm NAME: the daemon's peak resident memory, in kB
hwm() {
	sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' \
	    "/proc/$(pid_of "$1")/status"
}
want=$("$PYTHON" -c "import hashlib; print(hashlib.sha256(b'x' * 65536 * $COUNT + b'end').hexdigest())")

# A reader at 32 MB/s, slower than the worker, which must then wait for
# credit: the gateway gives it for each partial the client has read.
got=$(curl -sS -N --limit-rate 32M "http://$HTTP/fast?stream=1&type=plain" |
    sha256sum | cut -d' ' -f1)
is "$got" "$want" "64 MiB to a slow reader arrive intact (type=plain)"
ok "the worker waited for credit" grep -q '^stalled' "$SCRATCH/fast.events"
ok "and got it partial by partial, as the client read" \
    [ "$(grep -c '^credit 65536$' "$SCRATCH/fast.events")" -ge $((COUNT - 8)) ]
ok_memory "the gateway stayed under 32 MB ($(hwm gateway) kB at most)" \
    [ "$(hwm gateway)" -lt 32768 ]
ok_memory "the broker stayed under 32 MB ($(hwm broker) kB at most)" \
    [ "$(hwm broker)" -lt 32768 ]

# The same through NDJSON and SSE, whose text the gateway makes.
n=$(curl -sS -N --limit-rate 32M "http://$HTTP/fast?stream=1" |
    grep -c '^{"partial":\["x*"\]}$')
is "$n" $COUNT "NDJSON: every partial a line"
n=$(curl -sS -N --limit-rate 32M -H 'Accept: text/event-stream' \
    "http://$HTTP/fast" | grep -c '^event: partial$')
is "$n" $COUNT "SSE: every partial an event"
ok_memory "the gateway still under 32 MB ($(hwm gateway) kB at most)" \
    [ "$(hwm gateway)" -lt 32768 ]
is "$(curl -s "http://$HTTP/metrics" | sed -n 's/^waha_http_streamed_bytes_total //p')" \
    $((3 * 65536 * COUNT)) "/metrics counts the bytes streamed"
