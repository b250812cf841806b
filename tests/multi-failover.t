#!/bin/sh
# Three brokers under load, from DEALER clients and from the HTTP
# gateway, with script services and a balancer registered with all three
# (DESIGN.md 2.10).  Killing one (kill -9): every request answered or
# failed explicitly, none run twice, none past its deadline, failures no
# more than the dead broker held, the others go on.  Stopping one
# (SIGSTOP): the gateway finds it by its probes, fails its requests and
# sends it nothing until it answers again.  All down: waha-cli fails fast,
# the gateway answers 502.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
. "$(dirname "${WAHA_LIB:-$0}")/http-lib.sh"
. "$(dirname "${WAHA_LIB:-$0}")/balance-lib.sh"
need_pyzmq
setup
plan 25

LOAD="$TESTS_SRC/multi-load.py"
for b in b1 b2 b3; do
	start_broker $b --heartbeat 200 || exit 1
done
ALL="$url_b1,$url_b2,$url_b3"
BROKER=$ALL

# The program logs each id it runs.
cat >"$SCRATCH/run.sh" <<EOS
#!/bin/sh
echo "\$1" >>"$SCRATCH/ran.log"
echo "\$1"
EOS
chmod +x "$SCRATCH/run.sh"
: >"$SCRATCH/ran.log"

# served_at B SERVICE N: whether broker B has N workers of SERVICE
served_at() {
	[ "$(BROKER=$(eval echo "\$url_$1") workers_of "$2")" = "$3" ]
}

for s in s1 s2; do
	start_daemon $s "$WAHA_SCRIPT" -u "$ALL" -n svc -c 4 --heartbeat 200 \
	    -s "$SCRATCH/run.sh"
done
start_balancer bal || exit 1
start_daemon s3 "$WAHA_SCRIPT" -u "$BACKEND" -n bal -c 4 --heartbeat 200 \
    -s "$SCRATCH/run.sh"
for b in b1 b2 b3; do
	wait_for "svc at $b" served_at $b svc 2
	wait_for "bal at $b" served_at $b bal 1
done
start_gateway gateway -u "$ALL" || exit 1
wait_for "the gateway" sh -c "curl -sf http://$HTTP/healthz"

# outcomes FILE: "COUNT OUTCOME" lines, sorted
outcomes() {
	awk '{ print $2 }' "$1" | sort | uniq -c | tr -s ' ' | tr '\n' ';'
}
# count FILE OUTCOME
count() {
	awk -v o="$2" '$2 == o' "$1" | wc -l | tr -d ' '
}

# Kill -9 b2 under load: 1500 DEALER requests (24 in flight) to svc,
# 600 HTTP requests (8 in flight) to the balanced service.
rm -f "$SCRATCH/go"
"$PYTHON" "$LOAD" --mark "$SCRATCH/go" 300 dealer "$ALL" svc d 1500 24 \
    10000 "$SCRATCH/d.out" 2>"$SCRATCH/d.err" &
dl=$!
"$PYTHON" "$LOAD" http "$HTTP" bal h 600 8 10000 "$SCRATCH/h.out" \
    2>"$SCRATCH/h.err" &
hl=$!
wait_for "300 outcomes" test -e "$SCRATCH/go"
kill -KILL "$(pid_of b2)"
tkill=$(now_ms)
wait $dl
is "$?" 0 "the DEALER load ran to its end"
wait $hl
is "$?" 0 "the HTTP load ran to its end"

is "$(awk '{ print $1 }' "$SCRATCH/d.out" | sort -u | wc -l | tr -d ' ')" \
    1500 "each of the 1500 DEALER requests has an outcome"
is "$(wc -l <"$SCRATCH/d.out" | tr -d ' ')" 1500 "and only one"
is "$(awk '{ print $1 }' "$SCRATCH/h.out" | sort -u | wc -l | tr -d ' ')" \
    600 "each of the 600 HTTP requests has one outcome"
is "$(count "$SCRATCH/d.out" hung)$(count "$SCRATCH/h.out" hung)" 00 \
    "none hangs past its deadline"
is "$(awk '$2 != 200 && $2 != "lost"' "$SCRATCH/d.out")" "" \
    "DEALER requests: 200, or lost with the broker (no other failure)"
lost=$(count "$SCRATCH/d.out" lost)
ok "lost: $lost, no more than the dead broker held (24 in flight)" \
    test "$lost" -le 24
is "$(awk '$2 != 200 && $2 != 502' "$SCRATCH/h.out")" "" \
    "HTTP requests: 200, or 502 for the broker lost"
bad=$(count "$SCRATCH/h.out" 502)
ok "502: $bad, no more than the dead broker held (8 in flight)" \
    test "$bad" -le 8
is "$(sort "$SCRATCH/ran.log" | uniq -d)" "" "no request ran twice"
is "$(awk '$2 == 200 { print $1 }' "$SCRATCH/d.out" "$SCRATCH/h.out" |
    sort | comm -23 - "$(sort "$SCRATCH/ran.log" >"$SCRATCH/ran.sorted";
    echo "$SCRATCH/ran.sorted")")" "" "every 200 ran, once"

# When the failures came, and how long the others took to carry on.
first_fail=$(awk -v k="$tkill" '$2 == "lost" { print $5 - k; exit }' \
    "$SCRATCH/d.out")
gap=$(sort -n -k5 "$SCRATCH/d.out" | awk -v k="$tkill" '$2 == 200 &&
    $5 > k { if (p && $5 - p > g) g = $5 - p; if (!p) f = $5 - k; p = $5 }
    END { print (f > g ? f : g) + 0 }')
diag "kill -9 to the first lost request: ${first_fail:-none} ms;" \
    "longest wait for a 200 after it: $gap ms"
ok "the other brokers carry on: no pause over 5 s ($gap ms)" \
    test "$gap" -lt 5000
hreq /healthz
is "$code" 200 "/healthz is 200 while a broker answers"
wait_for "b2 down in /metrics" sh -c "curl -s http://$HTTP/metrics |
    grep -qF 'waha_http_broker_up{broker=\"$url_b2\"} 0'"
is "$?" 0 "/metrics shows the dead broker down"
is "$(curl -s "http://$HTTP/metrics" | grep -c '^waha_http_broker_up{.*} 1$')" \
    2 "and the two others up"

# SIGSTOP b3 under HTTP load: found by the probes, its requests 502, the
# others serve; SIGCONT: used again.
rm -f "$SCRATCH/go"
"$PYTHON" "$LOAD" --mark "$SCRATCH/go" 60 http "$HTTP" svc p 400 6 \
    10000 "$SCRATCH/p.out" 2>"$SCRATCH/p.err" &
pl=$!
wait_for "60 outcomes" test -e "$SCRATCH/go"
kill -STOP "$(pid_of b3)"
wait_for "b3 hung in /metrics" sh -c "curl -s http://$HTTP/metrics |
    grep -qF 'waha_http_broker_up{broker=\"$url_b3\"} 0'"
is "$?" 0 "the gateway finds the stopped broker (its TCP connection is up)"
wait $pl
is "$(count "$SCRATCH/p.out" hung)" 0 "no request hangs on the stopped broker"
is "$(awk '$2 != 200 && $2 != 502' "$SCRATCH/p.out")" "" \
    "HTTP requests: 200, or 502 for the stopped broker"
bad=$(count "$SCRATCH/p.out" 502)
ok "502: $bad, no more than were in flight (6)" test "$bad" -le 6

kill -CONT "$(pid_of b3)"
wait_for "b3 up again in /metrics" sh -c "curl -s http://$HTTP/metrics |
    grep -qF 'waha_http_broker_up{broker=\"$url_b3\"} 1'"
is "$?" 0 "after SIGCONT it is up again"
n0=$(BROKER=$url_b3 stat 's["totals"]["requests"] - s["totals"]["mmi_requests"]')
for i in $(seq 12); do
	curl -s -o /dev/null "http://$HTTP/svc?args=%5B%22again$i%22%5D"
done
n1=$(BROKER=$url_b3 stat 's["totals"]["requests"] - s["totals"]["mmi_requests"]')
ok "and gets requests again ($n0 then $n1)" test "$n1" -gt "$n0"

# All down.
kill -KILL "$(pid_of b1)" "$(pid_of b3)"
wait_for "all down in /metrics" sh -c "! curl -s http://$HTTP/metrics |
    grep -q '^waha_http_broker_up{.*} 1$'"
t0=$(now_ms)
out=$("$WAHA_CLI" -u "$ALL" -t 10000 -n svc x 2>&1)
rc=$?
ms=$(($(now_ms) - t0))
is "$rc:$out" "2:waha-cli: cannot connect to $ALL: no broker answers" \
    "all brokers down: waha-cli exits 2, cannot connect"
ok "fast: $ms ms" test "$ms" -lt 5000
hreq '/svc?args=["x"]'
is "$code" 502 "and the gateway answers 502"
