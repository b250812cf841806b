#!/bin/sh
# Load: 1,000 requests from 50 parallel keep-alive clients, each reply
# matched to its request, on one event loop and on two; and the loop
# never waits for a slow request while others are in flight.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/http-lib.sh"
setup
plan 11

start_broker broker --heartbeat 200 || exit 1
start_worker w1 echo --heartbeat 200 -c 32
start_worker w2 slow --heartbeat 200 -m sleep -c 4
start_gateway gateway || exit 1
start_gateway two --threads 2 || exit 1
wait_for "gateway connected" healthy

# load NAME: 1,000 requests, 50 at a time on keep-alive connections
load() {
	rm -rf "$SCRATCH/out"
	mkdir "$SCRATCH/out"
	curl -s --parallel --parallel-max 50 -o "$SCRATCH/out/r#1" \
	    -w '%{http_code} %{num_connects}\n' \
	    "http://$HTTP/echo?args=%5B%22$1-[1-1000]%22%2C%22x%22%5D" \
	    >"$SCRATCH/codes" 2>/dev/null
}
# matched NAME: how many replies hold exactly their request's fields
matched() {
	$PYTHON - "$SCRATCH/out" "$1" <<'PY'
import os, sys
d, name = sys.argv[1], sys.argv[2]
n = 0
for i in range(1, 1001):
    try:
        with open(os.path.join(d, "r%d" % i), "rb") as f:
            n += f.read() == ('["%s-%d","x"]' % (name, i)).encode()
    except OSError:
        pass
print(n)
PY
}

load one
is "$(grep -c '^200 ' "$SCRATCH/codes")" 1000 "1,000 requests are 200"
is "$(matched one)" 1000 "each reply holds its own request's fields"
conns=$(awk '{ n += $2 } END { print n }' "$SCRATCH/codes")
ok "on at most 50 connections, reused ($conns)" [ "$conns" -le 50 ]
is "$(curl -s "http://$HTTP/metrics" | sed -n 's/^waha_http_requests_total{code="200"} //p')" \
    1001 "the gateway counted them (and a /healthz)"

HTTP=$http_two
load two
is "$(grep -c '^200 ' "$SCRATCH/codes")" 1000 \
    "with --threads 2, 1,000 requests are 200"
is "$(matched two)" 1000 "each reply holds its own request's fields"
is "$(curl -s "http://$HTTP/metrics" | sed -n 's/^waha_http_requests_total{code="200"} //p')" \
    1000 "the metrics add up both loops"

HTTP=$http_gateway
curl -s -o "$SCRATCH/slow.out" "http://$HTTP/slow?args=%5B%222000%22%5D" &
slowpid=$!
wait_for "the slow request in flight" \
    sh -c "curl -s http://$HTTP/metrics | grep -qx 'waha_http_in_flight 2'"
hreq '/echo?args=["quick"]'
is "$code $body" '200 ["quick"]' "a quick request is answered"
ok "while the slow one is still in flight" kill -0 $slowpid
wait $slowpid
is "$(cat "$SCRATCH/slow.out")" '["2000"]' "which then completes"
is "$(curl -s "http://$HTTP/metrics" | sed -n 's/^waha_http_in_flight //p')" \
    1 "nothing is left in flight"
