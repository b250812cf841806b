#!/bin/sh
# waha-cli with several brokers (DESIGN.md 2.10): -u takes a list and
# refuses bad items; the first broker that answers is used, from a
# random start; brokers that cannot be reached (absent, or stopped) are
# passed over; with all of them down it fails fast with its "cannot
# connect" status; a broker lost with the request in flight is reported
# at once (exit 2), not retried.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 21

for b in b1 b2 b3; do
	start_broker $b --heartbeat 200 || exit 1
done
ALL="$url_b1,$url_b2,$url_b3"
NONE1="ipc://$SCRATCH/none1.sock"
NONE2="ipc://$SCRATCH/none2.sock"

# at B ARGS...: waha-cli against broker B alone
at() {
	_b=$1
	shift
	eval "\"\$WAHA_CLI\" -u \"\$url_$_b\"" '"$@"'
}

# requests_at B: how many requests (mmi.* aside) broker B has had
requests_at() {
	BROKER=$(eval echo "\$url_$1") stat \
	    's["totals"]["requests"] - s["totals"]["mmi_requests"]'
}

# bad_u LIST PATTERN DESC
bad_u() {
	"$WAHA_CLI" -n echo -u "$1" >/dev/null 2>"$SCRATCH/err"
	is "$?:$(head -n 1 "$SCRATCH/err")" "1:waha-cli: -u: $2" "$3"
}
bad_u "$url_b1,,$url_b2" "$url_b1,,$url_b2: empty endpoint in the list" \
    "an empty item: usage error"
bad_u "tcp://127.0.0.1:99999" \
    "tcp://127.0.0.1:99999: the port must be a number from 1 to 65535" \
    "a bad port: usage error naming the item"
bad_u "$url_b2,nowhere" "nowhere: not an endpoint (TRANSPORT://ADDRESS, e.g. tcp://127.0.0.1:10000)" \
    "an item without a transport: usage error naming it"

# One echo worker registered with the three brokers.
start_daemon echo "$TEST_WORKER" -u "$ALL" -n echo --heartbeat 100
for b in b1 b2 b3; do
	wait_for "echo at $b" sh -c "[ \"\$(\"$WAHA_CLI\" -u $(eval echo \
	    \$url_$b) -t 1000 -n mmi.service echo)\" = 200 ]"
done

: >"$SCRATCH/rc"
for i in $(seq 30); do
	"$WAHA_CLI" -u "$ALL" -n echo "hi$i" >/dev/null 2>&1
	echo $? >>"$SCRATCH/rc"
done
is "$(sort "$SCRATCH/rc" | uniq -c | tr -s ' ')" " 30 0" \
    "30 calls with the list all answered"
n1=$(requests_at b1)
n2=$(requests_at b2)
n3=$(requests_at b3)
is "$((n1 + n2 + n3))" 30 "each call went to exactly one broker"
ok "from a random start: every broker got some ($n1 $n2 $n3)" \
    test "$n1" -gt 0 -a "$n2" -gt 0 -a "$n3" -gt 0

out=$("$WAHA_CLI" -u "$NONE1,$NONE2,$url_b2" -n echo over 2>&1)
is "$?:$out" "0:over" "brokers that cannot be reached are passed over"

t0=$(now_ms)
out=$("$WAHA_CLI" -u "$NONE1,$NONE2" -t 10000 -n echo hi 2>&1)
rc=$?
ms=$(($(now_ms) - t0))
is "$rc:$out" "2:waha-cli: cannot connect to $NONE1,$NONE2: no broker answers" \
    "all brokers down: exit 2, cannot connect"
ok "and fast: $ms ms, not the 10 s timeout" test "$ms" -lt 5000

# A stopped broker keeps its listening socket: the connection is never
# made, and after a while the next broker is tried.
kill -STOP "$(pid_of b3)"
t0=$(now_ms)
out=$("$WAHA_CLI" -u "$url_b3,$url_b1" -t 10000 -n echo past 2>&1)
rc=$?
ms=$(($(now_ms) - t0))
kill -CONT "$(pid_of b3)"
is "$rc:$out" "0:past" "a stopped broker is passed over"
ok "in a few seconds ($ms ms)" test "$ms" -lt 5000

# The request in flight on a broker that dies: exit 2 at once.
start_daemon slow "$TEST_WORKER" -u "$url_b1,$url_b2" -n slow \
    --mode sleep --heartbeat 100
for b in b1 b2; do
	wait_for "slow at $b" sh -c "[ \"\$(\"$WAHA_CLI\" -u $(eval echo \
	    \$url_$b) -t 1000 -n mmi.service slow)\" = 200 ]"
done
"$WAHA_CLI" -u "$url_b1,$NONE1" -t 30000 -n slow 20000 \
    >"$SCRATCH/lost.out" 2>&1 &
client=$!
wait_for "the request to run at b1" sh -c "\"$WAHA_CLI\" \
    -u $url_b1 -n mmi.stats | grep -q '\"in_flight\":1'"
t0=$(now_ms)
kill -KILL "$(pid_of b1)"
wait $client
rc=$?
ms=$(($(now_ms) - t0))
is "$rc" 2 "a broker killed with the request in flight: exit 2"
like "$(cat "$SCRATCH/lost.out")" "^waha-cli: broker lost: $url_b1: " \
    "reported as broker lost"
ok "at once ($ms ms)" test "$ms" -lt 2000

# Stopped with the request in flight: found by ZMTP heartbeats.
"$WAHA_CLI" -u "$url_b2,$NONE1" -t 30000 -n slow 20000 \
    >"$SCRATCH/stop.out" 2>&1 &
client=$!
wait_for "the request to run at b2" sh -c "\"$WAHA_CLI\" \
    -u $url_b2 -n mmi.stats | grep -q '\"in_flight\":1'"
t0=$(now_ms)
kill -STOP "$(pid_of b2)"
wait $client
rc=$?
ms=$(($(now_ms) - t0))
kill -CONT "$(pid_of b2)"
is "$rc" 2 "a broker stopped with the request in flight: exit 2"
like "$(cat "$SCRATCH/stop.out")" "^waha-cli: broker lost: $url_b2: " \
    "reported as broker lost"
ok "within the heartbeat timeout, not the 30 s timeout ($ms ms)" \
    test "$ms" -lt 10000
ok "the slow worker is still running" alive slow

# One broker still works as before: a request queued until the broker
# comes, "cannot connect" after the timeout.
out=$("$WAHA_CLI" -u "$NONE1" -t 300 -n echo hi 2>&1)
is "$?:$out" "2:waha-cli: cannot connect to $NONE1 within 300 ms" \
    "a single broker: cannot connect after the timeout, as before"
is "$(at b3 -t 5000 -n echo single)" single "a single live broker serves"
ok "b3 is still running" alive b3
