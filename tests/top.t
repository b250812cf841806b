#!/bin/sh
# waha-top -b against a real broker with known load: the services and
# their rates, the workers and a silent one; a broker that is not
# there; bad options.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 17

: "${WAHA_TOP:=../src/waha-top}"

# row SERVICE FIELD: a field of SERVICE's row in the last table of
# $SCRATCH/top (1 is the name); FIELD "rate" is REQ/S, counted from the
# end of the row because OLDEST is two words ("3 ms") or one ("-")
row() {
	awk -v s="$1" -v f="$2" '/^SERVICE / { t = 1; next }
	    /^$/ { t = 0 } t && $1 == s { v = f == "rate" ? $(NF - 4) : $f }
	    END { print v }' "$SCRATCH/top"
}
silent() {
	"$WAHA_TOP" -b -u "$BROKER" -d 0.2 >"$SCRATCH/top" 2>&1
	grep -q ' silent$' "$SCRATCH/top"
}

start_broker broker --heartbeat 200 --liveness 20 || exit 1
start_worker w1 echo --heartbeat 200 -c 4
start_worker w2 idle --heartbeat 200
start_daemon load "$TEST_LOAD" -u "$BROKER" -n echo -c 1 -w 2 -r 100000000
loaded() {
	[ "$(stat 's["services"]["echo"]["requests"] > 100')" = True ]
}
wait_for "load on echo" loaded

"$WAHA_TOP" -b -u "$BROKER" -d 0.5 >"$SCRATCH/top" 2>&1
is "$?" 0 "waha-top -b exits 0"
like "$(head -n 1 "$SCRATCH/top")" \
    "^waha-top: $BROKER  broker [0-9.]+ pid $(pid_of broker) up " \
    "its first line names the broker and its pid"
like "$(sed -n 2p "$SCRATCH/top")" \
    "^2 services, 2 workers, .* sorted by rate\$" "then its totals"
is "$(row echo 1) $(row echo 2) $(row echo 3)" "echo 1 4" \
    "echo: its workers and capacity"
ok "echo's rate is above 0 under load" \
    awk -v r="$(row echo rate)" 'BEGIN { exit !(r + 0 > 0) }'
ok "and sane: under 10 million a second" \
    awk -v r="$(row echo rate)" 'BEGIN { exit !(r + 0 < 10000000) }'
is "$(row idle rate)" 0.0 "an idle service's rate is 0"
is "$(awk '/^SERVICE / { t = 1; next } t && NF { print $1; exit }' \
    "$SCRATCH/top")" echo "sorted by rate, the busy service first"
is "$(grep -c ' live$' "$SCRATCH/top")" 2 "both workers live"

"$WAHA_TOP" -u "$BROKER" -d 0.2 -n 2 -s name >"$SCRATCH/top" 2>&1
is "$?:$(grep -c '^SERVICE ' "$SCRATCH/top")" "0:2" \
    "not on a terminal it prints tables: -n 2 prints two"
is "$(awk '/^SERVICE / { t = 1; next } t && NF { print $1; exit }' \
    "$SCRATCH/top")" echo "-s name sorts by name"
stop_daemon load

kill -STOP "$(pid_of w2)"
ok "a worker stopped for two heartbeats is marked silent" \
    wait_for "silent" silent
kill -CONT "$(pid_of w2)"

out=$("$WAHA_TOP" -b -u "ipc://$SCRATCH/none" -d 0.1 -t 200 2>&1)
is "$?:$out" "2:waha-top: ipc://$SCRATCH/none
broker: cannot connect" "no broker: it says so, exit 2"

out=$("$WAHA_TOP" -d 0 2>&1)
like "$?:$out" "^1:waha-top: -d: 0 is not a number of seconds" \
    "-d 0 is a usage error"
out=$("$WAHA_TOP" -s load 2>&1)
like "$?:$out" "^1:waha-top: --sort" "an unknown -s is a usage error"
out=$("$WAHA_TOP" -u tcp://127.0.0.1:1,tcp://127.0.0.1:2 2>&1)
like "$?:$out" "^1:waha-top: -u: one broker only" \
    "a list of brokers is a usage error that says why"
out=$("$WAHA_TOP" extra 2>&1)
like "$?:$out" "^1:waha-top: unexpected argument: extra" \
    "so is an argument"
