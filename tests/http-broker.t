#!/bin/sh
# The broker: unreachable is 502 at once, losing it answers what is in
# flight with 502, and the gateway reconnects when it comes back.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/http-lib.sh"
setup
plan 13

BROKER="ipc://$SCRATCH/broker.sock"
start_gateway gateway -t 10000 || exit 1
hreq '/echo?args=["a"]'
is "$code $body" '502 {"error":"the broker cannot be reached","status":502}' \
    "with no broker, a request is 502"
hreq '/echo?args=["a"]&type=plain'
is "$code $body" "502 502 the broker cannot be reached" "in plain too"
hreq /healthz
is "$code" 503 "and /healthz is 503"
is "$(curl -s "http://$HTTP/metrics" | grep -c '^waha_broker_up 0$')" 1 \
    "and /metrics says the broker is not up"

start_broker broker --heartbeat 200 -u "$BROKER" || exit 1
start_worker w1 echo --heartbeat 200
start_worker w2 slow --heartbeat 200 -m sleep
wait_for "the gateway to connect" healthy
like "$(cat "$SCRATCH/gateway.log")" "broker: connected to $BROKER" \
    "once the broker is up, the gateway connects"
hreq '/echo?args=["b"]'
is "$code $body" '200 ["b"]' "and serves"

curl -s -o "$SCRATCH/r1" -w '%{http_code}' \
    "http://$HTTP/slow?args=%5B%225000%22%5D" >"$SCRATCH/c1" &
cpid=$!
wait_for "the request in flight" sh -c \
    "curl -s http://$HTTP/metrics | grep -qx 'waha_http_in_flight 2'"
start=$(date +%s)
stop_daemon broker KILL
wait "$cpid"
is "$(cat "$SCRATCH/c1") $(cat "$SCRATCH/r1")" \
    '502 {"error":"lost the connection to the broker","status":502}' \
    "losing the broker answers a request in flight 502"
ok "at once, not at its timeout" [ $(($(date +%s) - start)) -le 3 ]
like "$(cat "$SCRATCH/gateway.log")" \
    "broker: lost $BROKER, 1 requests in flight answered 502" \
    "the gateway says so"
hreq '/echo?args=["c"]'
is "$code" 502 "new requests are 502"

start_broker broker2 --heartbeat 200 -u "$BROKER" || exit 1
start_worker w3 echo --heartbeat 200
wait_for "the gateway to reconnect" healthy
hreq '/echo?args=["d"]'
is "$code $body" '200 ["d"]' "a new broker at the address is used at once"
ok "the gateway never stopped" alive gateway
is "$(grep -c 'broker: connected' "$SCRATCH/gateway.log")" 2 \
    "it connected twice"
