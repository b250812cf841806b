#!/bin/sh
# The balancer spreads requests over its backend workers: least recently
# used first one by one, and every reply reaches its own client under
# concurrent load.  Upstream it is one worker of the announced capacity.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "$WAHA_LIB")/balance-lib.sh"
setup
plan 8

start_broker broker --heartbeat 200 || exit 1
start_balancer svc || exit 1
ok "no backend worker: not registered upstream" \
    test "$(cli -n mmi.service svc)" = 404
backend_worker fwd svc || exit 1
backend_worker rev svc --mode reverse || exit 1
wait_for "balancer registered" served svc
is "$(stat 's["services"]["svc"]["workers"], s["services"]["svc"]["capacity"]')" \
    "(1, 1024)" "the broker sees one worker of capacity 1024"

# Twenty requests one after the other: the echo worker answers "a b",
# the reverse worker "b a"; least recently used first alternates them.
fwd=0 rev=0 other=0
i=0
while [ $i -lt 20 ]; do
	case $(cli -n svc a b | tr '\n' ' ') in
	"a b ") fwd=$((fwd + 1)) ;;
	"b a ") rev=$((rev + 1)) ;;
	*) other=$((other + 1)) ;;
	esac
	i=$((i + 1))
done
is "$fwd $rev $other" "10 10 0" "20 requests: 10 to each worker, none lost"

# Concurrent load: every request gets its own reply (reverse turns the
# two-field payload around, so ask the echo-only pair below).
stop_daemon rev
backend_worker fwd2 svc || exit 1
out=$("$TEST_LOAD" -u "$BROKER" -n svc -c 4 -w 8 -r 4000 -t 10000)
rc=$?
is "$rc" 0 "4000 concurrent requests through the balancer all matched"
diag "$out"
stop_daemon bal
is "$stopped_status" 0 "the balancer exits 0 on SIGTERM"
served_by() {
	sed -n 's/.*backend: worker [0-9a-f]* served \([0-9]*\)$/\1/p' \
	    "$SCRATCH/bal.log" | sort -n | tr '\n' ' '
}
counts=$(served_by)
set -- $counts
is "$#" 2 "two backend workers at the end"
ok "each served at least a quarter of the load ($counts)" \
    test "${1:-0}" -ge 1000 -a "${2:-0}" -ge 1000
ok "each served at most three quarters of it" \
    test "${1:-0}" -le 3000 -a "${2:-0}" -le 3000
