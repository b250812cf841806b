#!/bin/sh
# -c N: READY with capacity N and N programs at once; a request past the
# capacity waits in the broker's queue; heartbeats flow while programs
# run longer than the broker's liveness period.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 9

start_broker broker --heartbeat 200 || exit 1
start_script nap nap -c 4 -s sleep || exit 1

# naps N SECONDS: N requests to sleep at once; their exit statuses are
# in $SCRATCH/rc, their elapsed time in ms in $elapsed
naps() {
	_jobs=""
	: >"$SCRATCH/rc"
	_t0=$(now_ms)
	for _i in $(seq "$1"); do
		(cli -t 20000 -n nap "$2" >/dev/null 2>&1; echo $? \
		    >>"$SCRATCH/rc") &
		_jobs="$_jobs $!"
	done
	wait $_jobs
	elapsed=$(($(now_ms) - _t0))
}

# busy: whether the broker has 4 naps in flight and 1 queued
busy() {
	[ "$(stat '(s["services"]["nap"]["in_flight"],
	    s["services"]["nap"]["queued"])')" = "(4, 1)" ]
}

is "$(stat '[w["capacity"] for w in s["workers"]]')" "[4]" \
    "READY carries the capacity 4"

naps 4 1
is "$(sort "$SCRATCH/rc" | uniq -c | tr -s ' ')" " 4 0" \
    "four 1 s runs all answered 200"
ok "and they overlap: $elapsed ms, less than 3 runs" test "$elapsed" -lt 3000

# Five at once: four run, the fifth waits in the broker's queue.
(naps 5 1.5; echo "$elapsed" >"$SCRATCH/elapsed5") &
five=$!
wait_for "4 running, 1 queued" busy
is "$?" 0 "four in flight and one queued meanwhile"
wait $five
elapsed=$(cat "$SCRATCH/elapsed5")
is "$(sort "$SCRATCH/rc" | uniq -c | tr -s ' ')" " 5 0" \
    "all five answered 200"
ok "the fifth waited for a slot: $elapsed ms, at least 2 runs" \
    test "$elapsed" -ge 3000
ok "but not for more: under 3 runs" test "$elapsed" -lt 4500

# Runs of 1.5 s are far past the broker's liveness (3 x 200 ms): only
# heartbeats sent while they run keep the worker alive.
is "$(stat 's["services"]["nap"]["errors"]')" "{}" \
    "no 503: heartbeats flowed while programs ran"
is "$(workers_of nap)" 1 "the same worker is still registered"
