#!/bin/sh
# A backend worker that dies with a request in flight gives the client
# 503 at once, not a hang; upstream registration follows the pool as it
# empties and refills (mmi.service at the broker: 200, 404, 200).
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "$WAHA_LIB")/balance-lib.sh"
setup
plan 16

start_broker broker --heartbeat 200 || exit 1
start_balancer svc || exit 1

# The crash worker is taken first, so it gets the first request and dies
# on it; the echo worker keeps the service registered.
backend_worker crash svc --mode crash || exit 1
backend_worker echo svc || exit 1
wait_for "balancer registered" served svc
out=$(cli -t 5000 -n svc hello 2>&1)
is "$?" 5 "a worker that dies mid-request: the client exits 5 (5xx)"
like "$out" "^waha-cli: 503 " "with 503, not a timeout"
is "$(cli -n svc hello)" hello "the next request goes to the live worker"
is "$(cli -n mmi.service svc)" 200 "still registered: a live worker is left"

# The only worker sleeps on a request and is killed: 503, and the
# balancer withdraws.
stop_daemon echo
wait_for "withdrawn" withdrawn svc
is "$(cli -n mmi.service svc)" 404 "no backend worker: mmi.service says 404"
backend_worker sleepy svc --mode sleep || exit 1
wait_for "registered again" served svc
is "$(cli -n mmi.service svc)" 200 "a worker appears: registered again, 200"
cli -t 10000 -n svc 30000 >"$SCRATCH/killed.out" 2>&1 &
client=$!
wait_for "request in flight" in_flight 1
stop_daemon sleepy KILL
wait "$client"
is "$?" 5 "the sole worker killed mid-request: the client exits 5"
like "$(cat "$SCRATCH/killed.out")" "^waha-cli: 503 " "with 503"
wait_for "withdrawn again" withdrawn svc
is "$(cli -n mmi.service svc)" 404 "the pool is empty: withdrawn, 404"

# Refilled: served again, by the same balancer.
backend_worker echo2 svc || exit 1
wait_for "registered a third time" served svc
is "$(cli -n mmi.service svc)" 200 "refilled: 200 again"
is "$(cli -n svc back)" back "and served"
is "$(grep -c 'upstream: registered' "$SCRATCH/bal.log")" 3 \
    "the balancer registered three times"
ok "and withdrew twice" \
    test "$(grep -c 'upstream: withdrawn' "$SCRATCH/bal.log")" -eq 2

# The last worker leaves (DISCONNECT) with a request in flight: the
# balancer withdraws, yet that reply still reaches its client, even
# after a new worker has made the balancer register again.
stop_daemon echo2
wait_for "withdrawn a third time" withdrawn svc
backend_worker leaver svc --mode sleep --disconnect-after 1 || exit 1
wait_for "registered a fourth time" served svc
cli -t 20000 -n svc 2000 >"$SCRATCH/left.out" 2>&1 &
client=$!
wait_for "the leaver withdraws" withdrawn svc
backend_worker echo3 svc || exit 1
wait_for "registered a fifth time" served svc
is "$(cli -n svc new)" new "the new worker serves new requests"
wait "$client"
is "$?" 0 "the request held by the worker that left is answered"
is "$(cat "$SCRATCH/left.out")" 2000 "with its reply"
