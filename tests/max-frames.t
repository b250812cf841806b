#!/bin/sh
# --max-frames holds requests, not the replies to them: a worker's echo
# of the longest request has three frames more (MDPW01, the command, the
# token and "" where the request has the service), and both the broker
# and the balancer take it; one frame more in the request is 400.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/balance-lib.sh"
setup
plan 5

# 5 frames: routing id, "", service and two fields.
start_broker broker --heartbeat 200 --max-frames 5 || exit 1
start_worker echo echo --heartbeat 200 || exit 1

out=$(cli -n echo a b 2>&1)
is "$?:$out" "0:a
b" "broker: the echo of the longest request passes"
out=$(cli -n echo a b c 2>&1)
is "$?:$out" "4:waha-cli: 400 too many frames" "broker: one frame more is 400"
is "$(workers_of echo)" 1 "broker: the echoing worker was not dropped"

start_balancer bsvc --max-frames 5 || exit 1
backend_worker bw bsvc || exit 1
wait_for "the balancer to register" served bsvc
out=$(cli -n bsvc a b 2>&1)
is "$?:$out" "0:a
b" "balancer: the echo of the longest request passes its backend"
ok "balancer: the backend worker was not dropped" \
    sh -c "! grep -q 'protocol error' '$SCRATCH/bal.log'"
