#!/bin/sh
# Workers with capacity > 1 hold several requests at once and answer out
# of order; requests spread over the workers of a service.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 5

start_broker broker --heartbeat 200 || exit 1
start_worker w1 sleep --heartbeat 200 --mode sleep --capacity 3

# Three requests at once on one worker of capacity 3: the longest first.
jobs=""
# (Far apart, so that the order holds however slowly the clients start.)
for ms in 6000 300 2500; do
	( cli -t 30000 -n sleep "$ms" >/dev/null &&
	    echo "$ms" >>"$SCRATCH/order" ) &
	jobs="$jobs $!"
done
wait $jobs
is "$(cat "$SCRATCH/order")" "300
2500
6000" "a capacity-3 worker answers three requests out of order"
is "$(stat 's["services"]["sleep"]["capacity"]')" 3 \
    "mmi.stats shows the capacity"

# Spread: two workers of capacity 1, four requests of 500 ms at once:
# each worker serves two.
start_worker e1 spread --heartbeat 200 --mode sleep
start_worker e2 spread --heartbeat 200 --mode sleep
jobs=""
for i in 1 2 3 4; do
	cli -n spread 500 >/dev/null &
	jobs="$jobs $!"
done
wait $jobs
served=$(stat '" ".join(str(w["served"]) for w in s["workers"] if w["service"] == "spread")')
is "$served" "2 2" "four requests spread two and two over two workers"

# A worker of capacity 2 next to one of capacity 1: at most 3 at once.
start_worker m1 mixed --heartbeat 200 --mode sleep --capacity 2
start_worker m2 mixed --heartbeat 200 --mode sleep
jobs=""
# Each takes 4 s, so that four clients started on a loaded machine are
# all there at once.
for i in 1 2 3 4; do
	cli -t 30000 -n mixed 4000 >/dev/null &
	jobs="$jobs $!"
done
wait_for "three in flight" sh -c \
    "[ \"\$(\"$WAHA_CLI\" -u $BROKER -n mmi.stats | python3 -c 'import json,sys; s=json.load(sys.stdin)[\"services\"][\"mixed\"]; print(s[\"in_flight\"], s[\"queued\"])')\" = '3 1' ]"
is "$(stat '(s["services"]["mixed"]["in_flight"], s["services"]["mixed"]["queued"])')" \
    "(3, 1)" "capacity 2 + 1 holds three; the fourth queues"
wait $jobs
is "$(stat 's["services"]["mixed"]["in_flight"]')" 0 "all answered"
