#!/bin/sh
# The broker restarts (killed, then stopped gracefully) on the same
# endpoint: the balancer registers with the new one by itself, and the
# service is served again with no restart of the balancer or its workers.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "$WAHA_LIB")/balance-lib.sh"
setup
plan 9

BROKER="ipc://$SCRATCH/broker.sock"
# run_broker NAME: a broker on the fixed endpoint $BROKER
run_broker() {
	rm -f "$SCRATCH/$1.endpoint"
	start_daemon "$1" "$WAHA_BROKER" -u "$BROKER" --heartbeat 200 \
	    --endpoint-file "$SCRATCH/$1.endpoint"
	wait_for "$1 endpoint" test -s "$SCRATCH/$1.endpoint"
}

run_broker broker1 || exit 1
start_balancer svc || exit 1
backend_worker w1 svc || exit 1
wait_for "balancer registered" served svc
is "$(cli -n svc one)" one "served through the first broker"

stop_daemon broker1 KILL
run_broker broker2 || exit 1
wait_for "registered with the new broker" served svc
is "$(cli -n mmi.service svc)" 200 "the new broker sees the service"
is "$(cli -n svc two)" two "served through the second broker"

stop_daemon broker2
is "$stopped_status" 0 "the second broker stops gracefully"
run_broker broker3 || exit 1
wait_for "registered with the third broker" served svc
is "$(cli -n svc three)" three "served after a graceful broker restart"

ok "the balancer kept running" alive bal
ok "it reconnected by itself, once per restart" \
    test "$(grep -c 'upstream: .*reconnect' "$SCRATCH/bal.log")" -ge 2
ok "and so did its worker" alive w1
is "$(ready_count)" 1 "the worker never had to register again"
