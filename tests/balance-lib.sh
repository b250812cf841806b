# Helpers of the balancer tests (tests/balance-*.t), sourced after lib.sh.

: "${WAHA_BALANCE:=../src/waha-proxy-balance}"

# start_balancer SERVICE [OPTIONS...]: waha-proxy-balance for SERVICE on
# $BROKER, its backend on a port the kernel picks ($BACKEND), heartbeats
# of 200 ms and -v, so that its log (bal.log) says when workers are ready.
start_balancer() {
	_svc=$1
	shift
	rm -f "$SCRATCH/bal.endpoint"
	start_daemon bal "$WAHA_BALANCE" -n "$_svc" -u "$BROKER" \
	    -b 'tcp://127.0.0.1:*' --endpoint-file "$SCRATCH/bal.endpoint" \
	    --heartbeat 200 -v "$@"
	if ! wait_for "balancer endpoint" test -s "$SCRATCH/bal.endpoint"; then
		show_log bal
		return 1
	fi
	BACKEND=$(cat "$SCRATCH/bal.endpoint")
}

# ready_count: how many backend workers the balancer has taken so far
ready_count() {
	grep -c 'ready for' "$SCRATCH/bal.log"
}

# ready_over N: whether the balancer has taken more than N workers
ready_over() {
	[ "$(ready_count)" -gt "$1" ]
}

# backend_worker NAME SERVICE [OPTIONS...]: a test worker on the
# balancer's backend, waited for until the balancer has taken it.
backend_worker() {
	_wn=$1
	_ws=$2
	shift 2
	_before=$(ready_count)
	start_daemon "$_wn" "$TEST_WORKER" -u "$BACKEND" -n "$_ws" \
	    --heartbeat 200 "$@"
	wait_for "backend worker $_wn" ready_over "$_before"
}

# log_has NAME PATTERN: whether the daemon's log matches (grep -E)
log_has() {
	grep -Eq -- "$2" "$SCRATCH/$1.log"
}

# withdrawn SERVICE: whether the broker says 404 for it (no worker)
withdrawn() {
	[ "$(cli -t 1000 -n mmi.service "$1" 2>/dev/null)" = 404 ]
}

# in_flight N: whether the broker has N requests in flight
in_flight() {
	[ "$(stat 's["in_flight"]' 2>/dev/null)" = "$1" ]
}
