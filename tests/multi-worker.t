#!/bin/sh
# Workers registered with several brokers (DESIGN.md 2.10): -u takes a
# list and refuses bad items; one registration per broker, each seen in
# that broker's mmi.stats; the capacity is shared, so a worker of
# capacity 2 on three brokers never runs more than 2 programs at once,
# and what it cannot run yet waits with its deadline; a broker restarted
# on the same port gets the workers back by themselves.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 25

for b in b1 b2 b3; do
	start_broker $b --heartbeat 200 || exit 1
done
ALL="$url_b1,$url_b2,$url_b3"

# at B ARGS...: waha-cli against broker B
at() {
	_b=$1
	shift
	eval "\"\$WAHA_CLI\" -u \"\$url_$_b\"" '"$@"'
}

# served_at B SERVICE: whether broker B has a worker of SERVICE
served_at() {
	[ "$(at "$1" -t 1000 -n mmi.service "$2" 2>/dev/null)" = 200 ]
}

# bad_u LIST PATTERN DESC: the script service refuses -u LIST, exit 1,
# with a message matching PATTERN
bad_u() {
	_out=$("$WAHA_SCRIPT" -n x -s true -u "$1" 2>&1)
	is "$?" 1 "-u '$1' is a usage error"
	like "$_out" "$2" "$3"
}
bad_u "$url_b1,,$url_b2" "-u: .*empty endpoint in the list" \
    "an empty item is named as such"
bad_u "$url_b1," "empty endpoint" "and a trailing comma too"
bad_u "tcp://127.0.0.1" "-u: tcp://127.0.0.1: HOST:PORT expected" \
    "a tcp endpoint without a port"
bad_u "$url_b1,$url_b1" "appears twice" "the same broker twice"
bad_u "localhost:10000" "not an endpoint" "an item without a transport"

# The program logs "+ ID" as it starts and "- ID" as it ends.
cat >"$SCRATCH/conc.sh" <<EOS
#!/bin/sh
echo "+ \$1" >>"$SCRATCH/conc.log"
sleep "\${2:-0.3}"
echo "- \$1" >>"$SCRATCH/conc.log"
echo "\$1"
EOS
chmod +x "$SCRATCH/conc.sh"
: >"$SCRATCH/conc.log"
start_daemon conc "$WAHA_SCRIPT" -u "$ALL" -n conc -c 2 --heartbeat 200 \
    -s "$SCRATCH/conc.sh"
for b in b1 b2 b3; do
	wait_for "conc at $b" served_at $b conc || show_log conc
done
caps=""
for b in b1 b2 b3; do
	caps="$caps $(BROKER=$(eval echo \$url_$b) stat \
	    '[w["capacity"] for w in s["workers"]]')"
done
is "$caps" " [2] [2] [2]" "each broker's mmi.stats shows the worker, capacity 2"

# most_at_once: the most programs running at once, from the log
most_at_once() {
	awk '$1 == "+" { n++; if (n > m) m = n } $1 == "-" { n-- }
	    END { print m + 0 }' "$SCRATCH/conc.log"
}

# 18 requests at once, 6 from each broker: each broker believes it has
# the whole capacity, so up to 6 arrive at once.
: >"$SCRATCH/rc"
jobs=""
for i in $(seq 18); do
	b=b$((i % 3 + 1))
	(at $b -t 30000 -n conc "id$i" >/dev/null 2>&1; echo $? \
	    >>"$SCRATCH/rc") &
	jobs="$jobs $!"
done
wait $jobs
is "$(sort "$SCRATCH/rc" | uniq -c | tr -s ' ')" " 18 0" \
    "all 18 requests from three brokers answered 200"
is "$(most_at_once)" 2 "never more than 2 programs at once (and 2 used)"
is "$(awk '$1 == "+"' "$SCRATCH/conc.log" | sort | uniq -d)" "" \
    "no request ran twice"
is "$(grep -c '^+' "$SCRATCH/conc.log")" 18 "every request ran once"

# Two long runs take both slots; a request with a short deadline waits
# at the worker and is never started once its deadline has passed.
: >"$SCRATCH/conc.log"
at b1 -t 30000 -n conc long1 2 >/dev/null 2>&1 &
l1=$!
at b2 -t 30000 -n conc long2 2 >/dev/null 2>&1 &
l2=$!
wait_for "both slots taken" sh -c \
    "[ \$(grep -c '^+' '$SCRATCH/conc.log') -eq 2 ]"
at b3 -t 400 -n conc short >"$SCRATCH/short.out" 2>&1
like "$?" "^[35]$" "a request that found no slot times out (3 or 5)"
wait $l1 $l2
is "$(grep -c short "$SCRATCH/conc.log")" 0 \
    "and it never ran, not even once a slot was free"
is "$(at b3 -t 5000 -n conc after 0)" after \
    "the slot it waited for was not lost"
is "$(BROKER=$url_b3 stat 's["totals"]["expired"]')" 1 \
    "the broker counts it expired (it answered 504)"

# Kill a broker: the worker stays with the others, and comes back to a
# broker restarted on the same port by itself.
kill -KILL "$(pid_of b3)"
wait "$(pid_of b3)" 2>/dev/null
is "$(at b1 -t 5000 -n conc one 0)" one "b1 still serves after b3 died"
is "$(at b2 -t 5000 -n conc two 0)" two "and b2"
start_daemon b3again "$WAHA_BROKER" -u "$url_b3" --heartbeat 200
wait_for "conc back at the restarted b3" served_at b3 conc
is "$?" 0 "the worker registers again with the restarted broker"
is "$(at b3 -t 5000 -n conc three 0)" three "which serves"
is "$(BROKER=$url_b3 stat '(s["totals"]["requests"] -
    s["totals"]["mmi_requests"], s["totals"]["late_replies"])')" "(1, 0)" \
    "no stale request or reply reached the new broker"
ok "the worker is still running" alive conc
