#!/bin/sh
# Signals: SIGTERM stops accepting and lets requests in flight finish,
# up to --grace, then exits 0; a second signal exits at once; SIGHUP is
# ignored.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/http-lib.sh"
setup
plan 15

start_broker broker --heartbeat 200 || exit 1
start_worker w1 slow --heartbeat 200 -m sleep -c 16
start_gateway || exit 1
wait_for "gateway connected" healthy

kill -HUP "$(pid_of gateway)"
wait_for "SIGHUP to be logged" grep -q 'SIGHUP ignored' "$SCRATCH/gateway.log"
ok "SIGHUP is ignored" alive gateway

# in_flight N: whether the gateway has N requests in flight besides
# the /metrics that asks
in_flight() {
	curl -s "http://$HTTP/metrics" | grep -qx "waha_http_in_flight $(($1 + 1))"
}

pids=""
for i in 1 2 3 4 5; do
	curl -s -o "$SCRATCH/r$i" -w '%{http_code}' \
	    "http://$HTTP/slow?args=%5B%221000%22%2C%22$i%22%5D" \
	    >"$SCRATCH/c$i" &
	pids="$pids $!"
done
wait_for "5 requests in flight" in_flight 5
kill -TERM "$(pid_of gateway)"
wait_for "the drain to start" grep -q 'shutting down' "$SCRATCH/gateway.log"
curl -s -o /dev/null "http://$HTTP/slow"
is "$?" 7 "after SIGTERM new connections are refused"
for p in $pids; do
	wait "$p"
done
good=0
for i in 1 2 3 4 5; do
	[ "$(cat "$SCRATCH/c$i") $(cat "$SCRATCH/r$i")" = \
	    "200 [\"1000\",\"$i\"]" ] && good=$((good + 1))
done
is "$good" 5 "the 5 requests in flight complete with their replies"
wait_for "the gateway to exit" sh -c "! kill -0 $(pid_of gateway)"
wait "$(pid_of gateway)"
is "$?" 0 "then it exits 0"
like "$(tail -n 1 "$SCRATCH/gateway.log")" 'http: stopped$' \
    "saying it stopped"

start_gateway short --grace 300 || exit 1
HTTP=$http_short
wait_for "second gateway connected" healthy
curl -s -o "$SCRATCH/rs" -w '%{http_code}' \
    "http://$HTTP/slow?args=%5B%223000%22%5D" >"$SCRATCH/cs" &
cpid=$!
wait_for "a request in flight" in_flight 1
start=$(date +%s)
kill -TERM "$(pid_of short)"
wait "$cpid"
is "$(cat "$SCRATCH/cs") $(cat "$SCRATCH/rs")" \
    '503 {"error":"shutting down","status":503}' \
    "a request still in flight after --grace is answered 503"
wait_for "the gateway to exit" sh -c "! kill -0 $(pid_of short)"
wait "$(pid_of short)"
is "$?" 0 "and the gateway exits 0"
ok "well before the request would have ended" \
    [ $(($(date +%s) - start)) -le 2 ]
like "$(cat "$SCRATCH/short.log")" \
    'grace period over, 1 requests in flight answered 503' \
    "saying so in its log"

start_gateway twice || exit 1
HTTP=$http_twice
wait_for "third gateway connected" healthy
curl -s -o /dev/null "http://$HTTP/slow?args=%5B%2210000%22%5D&timeout=-1" &
cpid=$!
wait_for "a request in flight" in_flight 1
kill -INT "$(pid_of twice)"
wait_for "the drain to start" grep -q 'shutting down' "$SCRATCH/twice.log"
ok "SIGINT drains like SIGTERM" alive twice
start=$(date +%s)
kill -TERM "$(pid_of twice)"
wait_for "the gateway to exit" sh -c "! kill -0 $(pid_of twice)"
wait "$(pid_of twice)"
is "$?" 0 "a second signal exits 0"
ok "at once" [ $(($(date +%s) - start)) -le 2 ]
like "$(cat "$SCRATCH/twice.log")" 'second signal, exiting now' \
    "saying so"
wait "$cpid"
ok "and the client's connection is closed" [ $? -ne 0 ]
ok "the broker is still up" alive broker
