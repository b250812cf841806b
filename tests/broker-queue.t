#!/bin/sh
# Queues: a full queue answers 503 at once; a request that waits past
# --queue-timeout gets 504 and is never dispatched afterwards; a request
# that runs past --run-timeout gets 504 and its late reply is discarded;
# a service without workers keeps queueing for --service-ttl, then 404.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 13

start_broker broker --heartbeat 200 --max-queue 2 --queue-timeout 1500 \
    --run-timeout 3000 --service-ttl 1500 || exit 1
start_worker w1 busy --heartbeat 200 --mode sleep

in_flight_queued() {
	stat '"%d %d" % (s["services"]["busy"]["in_flight"], s["services"]["busy"]["queued"])'
}

# One running (2500 ms, under --run-timeout: long enough for a loaded
# machine to start the other clients meanwhile), two queued, the fourth
# refused.
jobs=""
cli -t 20000 -n busy 2500 >"$SCRATCH/r1" 2>&1 &
jobs="$jobs $!"
wait_for "one running" sh -c \
    "\"$WAHA_CLI\" -u $BROKER -n mmi.stats | grep -q '\"in_flight\":1'"
cli -t 20000 -n busy 10 >"$SCRATCH/r2" 2>&1 &
jobs="$jobs $!"
cli -t 20000 -n busy 20 >"$SCRATCH/r3" 2>&1 &
jobs="$jobs $!"
wait_for "two queued" sh -c \
    "\"$WAHA_CLI\" -u $BROKER -n mmi.stats | grep -q '\"queued\":2'"
is "$(in_flight_queued)" "1 2" "one request runs, two wait"
out=$(cli -n busy 30 2>&1)
is "$?:$out" "5:waha-cli: 503 queue full" "the fourth gets 503 queue full"
wait $jobs
is "$(cat "$SCRATCH/r1" "$SCRATCH/r2" "$SCRATCH/r3")" "2500
10
20" "the running and the queued requests complete, in order"

# Queue expiry: the worker is busy for 4000 ms; the next request waits,
# expires at 1500 ms, and is not dispatched when the worker frees up.
cli -t 10000 -n busy 2500 >"$SCRATCH/long" 2>&1 &
long=$!
wait_for "one running" sh -c \
    "\"$WAHA_CLI\" -u $BROKER -n mmi.stats | grep -q '\"in_flight\":1'"
served_before=$(stat 's["workers"][0]["served"]')
# (-t -1: a request without a deadline of its own, as 2.1 clients send.)
out=$(cli -t -1 -n busy expired-marker 2>&1)
is "$out" "waha-cli: 504 waited in queue over 1500 ms" \
    "a request without a deadline that waits past --queue-timeout gets 504"
wait $long
is "$(cat "$SCRATCH/long")" 2500 "the long request completes"
is "$(cli -n busy 1)" 1 "the worker takes the next request"
served_after=$(stat 's["workers"][0]["served"]')
is "$served_after" $((served_before + 2)) \
    "the expired request was never dispatched (served +2, not +3)"
is "$(stat 's["services"]["busy"]["expired"]')" 1 \
    "mmi.stats counts one expired request"

# Run timeout: a request running past 3000 ms gets 504; the worker's late
# reply is counted and dropped.
out=$(cli -t 10000 -n busy 4000 2>&1)
is "$out" "waha-cli: 504 ran over 3000 ms" \
    "a request that runs past --run-timeout gets 504"
wait_for "the late reply" sh -c \
    "\"$WAHA_CLI\" -u $BROKER -n mmi.stats | grep -q '\"late_replies\":1'"
is "$(stat 's["totals"]["late_replies"]')" 1 "its late reply is counted"
is "$(cli -n busy 2)" 2 "the worker serves again"

# Service time-to-live (on a broker of its own, with a queue timeout that
# cannot interfere): the worker goes; within the TTL a request waits and
# is served when a worker comes back; after the TTL, 404.
start_broker b2 --heartbeat 200 --queue-timeout 30000 --service-ttl 3000 ||
    exit 1
BROKER=$url_b2
start_worker w2 ttl --heartbeat 200
stop_daemon w2
cli -t 30000 -n ttl 5 >"$SCRATCH/waiting" 2>&1 &
waiting=$!
wait_for "the request to queue" sh -c \
    "\"$WAHA_CLI\" -u $BROKER -n mmi.stats | grep -q '\"queued\":1'"
start_worker w3 ttl --heartbeat 200
wait $waiting
is "$(cat "$SCRATCH/waiting")" 5 \
    "a request to a service between workers waits for the next one"
stop_daemon w3
wait_for "the service to expire" sh -c \
    "\"$WAHA_CLI\" -u $BROKER -n mmi.stats | grep -q '\"services\":{}'"
out=$(cli -n ttl 6 2>&1)
is "$out" "waha-cli: 404 no such service" \
    "after --service-ttl without workers the service is gone: 404"
