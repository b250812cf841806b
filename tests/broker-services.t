#!/bin/sh
# The service table under hostile or odd use: names made up by MDP
# clients never keep a worker's service out (--max-services), a native
# request for a service no worker ever registered is 404 at once even if
# an MDP client named it, --service-ttl 0 with a worker finishing after
# DISCONNECT does not wedge the broker, and a reply with too many frames
# fails alone (500) without costing the worker.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 12

start_broker broker --heartbeat 200 --max-services 3 --max-frames 8 ||
    exit 1

# Three MDP requests for made-up services fill the table.
for n in 1 2 3; do
	"$TEST_RAW" -u "$BROKER" -t 200 --none '' MDPC01 "junk$n" x
done
is "$(stat 's["services_known"]')" 3 "three made-up services fill the table"
out=$(cli -n junk1 x 2>&1)
is "$?:$out" "4:waha-cli: 404 no such service" \
    "a native request for one of them: 404 at once, not a wait"
start_worker echo echo --heartbeat 200
is "$(cli -n echo hi)" hi "a worker's service still registers, and serves"
is "$(stat 's["services_known"]')" 3 "the oldest made-up service made room"
ok "junk1 went first" test "$(stat '"junk1" not in s["services"]')" = True

# A reply with more frames than a request may have: 500 for it alone.
start_worker many many --heartbeat 200 --mode frames
out=$(cli -n many 20 2>&1)
is "$?:$out" "5:waha-cli: 500 reply has too many frames" \
    "a reply with too many frames: 500"
is "$(cli -n many 2)" "x
x" "the same worker still serves"
is "$(workers_of many)" 1 "and was not dropped"

# --service-ttl 0 while a worker finishes after its DISCONNECT.
start_broker b2 --heartbeat 200 --service-ttl 0 || exit 1
BROKER=$url_b2
start_worker leaver leaver --heartbeat 200 --mode sleep --disconnect-after 1
cli -t 10000 -n leaver 1500 >"$SCRATCH/leaver.out" 2>&1 &
job=$!
wait_for "the DISCONNECT" sh -c "[ \"\$(\"$WAHA_CLI\" -u $BROKER -n mmi.service leaver)\" = 404 ]"
is "$(cli -t 2000 -n mmi.services)" "" \
    "the broker answers while the leaving worker finishes"
wait $job
is "$?:$(cat "$SCRATCH/leaver.out")" "0:1500" "the reply still arrives"
wait_for "the service to go" sh -c \
    "\"$WAHA_CLI\" -u $BROKER -n mmi.stats | grep -q '\"services\":{}'"
is "$(stat 's["services_known"]')" 0 "then the service goes at once"
stop_daemon b2
is "$stopped_status" 0 "and the broker stops cleanly"
