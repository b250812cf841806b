#!/bin/sh
# The backend takes workers of its one service only: a READY for another
# name gets DISCONNECT and a line in the log; clients and garbage on the
# backend are counted and leave it serving.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "$WAHA_LIB")/balance-lib.sh"
setup
plan 10

start_broker broker --heartbeat 200 || exit 1
start_balancer svc || exit 1
backend_worker w1 svc || exit 1
wait_for "registered" served svc

out=$("$TEST_RAW" -u "$BACKEND" -t 5000 "" MDPW01 x:01 other)
is "$out" "
MDPW01
\\x05" "READY for another service: DISCONNECT"
ok "logged as refused" log_has bal \
    "worker refused: READY for 'other': this balancer serves another service"
out=$("$TEST_RAW" -u "$BACKEND" -t 5000 "" MDPW01 x:01 mmi.service)
is "$out" "
MDPW01
\\x05" "READY for an mmi. name: DISCONNECT"
"$TEST_WORKER" -u "$BACKEND" -n svcx --heartbeat 200 \
    >"$SCRATCH/wrong.log" 2>&1 &
wrong=$!
wait_for "the wrong worker to be told" log_has wrong "DISCONNECT"
kill "$wrong"
wait "$wrong"
is "$(ready_count)" 1 "a worker of another service is never taken"

out=$("$TEST_RAW" -u "$BACKEND" --req -t 5000 svc hello)
is "$out" "400
balancer backend: only workers connect here" \
    "a client on the backend gets 400"
ok "and is logged" log_has bal "message from a client ignored: not a worker"
ok "an MDP client gets nothing, as RFC 7 says" \
    "$TEST_RAW" -u "$BACKEND" -t 500 --none "" MDPC01 svc hello

"$TEST_RAW" -u "$BACKEND" -t 500 --garbage 500 >/dev/null
ok "500 garbage messages later the balancer runs" alive bal
is "$(cli -n svc still)" still "and serves"
stop_daemon bal
n=$(sed -n 's/.* \([0-9]*\) messages from non-workers$/\1/p' \
    "$SCRATCH/bal.log")
ok "its exit line counts the strangers (${n:-none})" test "${n:-0}" -ge 2
