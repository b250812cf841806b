#!/bin/sh
# SIGTERM drains the balancer as it does the broker: withdraw upstream,
# answer what is queued 503, let what runs finish within --grace (503
# after it), DISCONNECT the backend workers, exit 0; a second signal
# exits at once.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "$WAHA_LIB")/balance-lib.sh"
setup
plan 15

start_broker broker --heartbeat 200 || exit 1

# request NAME ARGS...: a client in the background, its output in
# $SCRATCH/NAME.out and its pid in the variable req_NAME
request() {
	_r=$1
	shift
	cli -t 20000 -n svc "$@" >"$SCRATCH/$_r.out" 2>&1 &
	eval "req_$_r=$!"
}

# finished NAME: wait for the client, its exit status in $?
finished() {
	eval "wait \$req_$1"
}

# One request runs on the only worker, a second waits in the queue.
start_balancer svc || exit 1
backend_worker sleepy svc --mode sleep || exit 1
# 4 s: the drain starts while the first still runs, however loaded the
# machine, and that one still ends within --grace (5 s).
wait_for "registered" served svc
request running 4000
wait_for "one request in flight" in_flight 1
request queued 4000
wait_for "two requests in flight" in_flight 2
kill -TERM "$(pid_of bal)"
finished queued
is "$?" 5 "the queued request fails at once"
is "$(cat "$SCRATCH/queued.out")" "waha-cli: 503 shutting down" \
    "with 503 shutting down"
is "$(cli -n mmi.service svc)" 404 "the balancer has withdrawn upstream"
ok "it is still running: a request is in flight" alive bal
finished running
is "$?" 0 "the running request finishes"
is "$(cat "$SCRATCH/running.out")" 4000 "and its reply comes through"
stop_daemon bal
is "$stopped_status" 0 "then the balancer exits 0"
ok "its backend worker got DISCONNECT" \
    log_has sleepy "DISCONNECT"

# Past the grace period, what still runs is answered 503.
start_balancer svc --grace 300 || exit 1
backend_worker stuck svc --mode never || exit 1
wait_for "registered" served svc
request stuck x
wait_for "stuck request in flight" in_flight 1
stop_daemon bal
is "$stopped_status" 0 "with a request that never ends, exit 0 after --grace"
finished stuck
is "$?" 5 "and that request fails"
is "$(cat "$SCRATCH/stuck.out")" "waha-cli: 503 shutting down" \
    "with 503 shutting down"
ok "the log says it waited" log_has bal "waiting up to 300 ms for 1 in flight"

# A second signal does not wait for the grace period.
start_balancer svc --grace 600000 || exit 1
backend_worker stuck2 svc --mode never || exit 1
wait_for "registered" served svc
request stuck2 x
wait_for "stuck request in flight" in_flight 1
kill -TERM "$(pid_of bal)"
wait_for "drain started" log_has bal "shutting down"
stop_daemon bal
is "$stopped_status" 0 "a second SIGTERM exits at once, status 0"
ok "the log says so" log_has bal "second signal"
finished stuck2
is "$(cat "$SCRATCH/stuck2.out")" "waha-cli: 503 shutting down" \
    "the request in flight gets 503"
