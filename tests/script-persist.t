#!/bin/sh
# waha-service-script --persistent: copies of the program stay running
# and take one request at a time, a JSON line on stdin, a reply line on
# stdout.  Copies that die, hang, print garbage or nothing are killed and
# started again; a program that exits at start is restarted with a
# growing delay; a cancelled request or one past its client's deadline
# kills its copy and sends nothing.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
command -v python3 >/dev/null || skip_all "no python3"
setup
plan 56

# prog.py: the first field says what to do with the request
cat >"$SCRATCH/prog.py" <<'PY'
import json, os, sys, time
for line in sys.stdin:
    f = json.loads(line)
    cmd = f[0] if f and isinstance(f[0], str) else "echo"
    out = None
    if cmd == "pid":
        out = [str(os.getpid()), os.environ.get("WAHA_COPY", "")]
    elif cmd == "sleep":
        if len(f) > 2:
            open(f[2], "w").close()
        time.sleep(float(f[1]))
        out = [str(os.getpid())]
    elif cmd == "die":
        sys.exit(3)
    elif cmd == "hang":
        time.sleep(300)
    elif cmd == "nothing":
        continue
    elif cmd == "garbage":
        print("this is not JSON", flush=True)
        continue
    elif cmd == "two":
        print('["one"]\n["two"]', flush=True)
        continue
    elif cmd == "fail":
        out = {"status": 503, "reason": "busy now"}
    elif cmd == "big":
        out = ["x" * 200]
    elif cmd == "show":
        out = [json.dumps(f[1:])]
    elif cmd == "stderr":
        for i in range(int(f[1])):
            print("line %d from stderr" % i, file=sys.stderr, flush=True)
        out = ["ok"]
    else:
        out = f
    print(json.dumps(out), flush=True)
PY

# pid SERVICE: the pid of the copy that serves the next request
pid() {
	cli -t 20000 -n "$1" pid | head -n 1
}

# gone PID: the process no longer exists (or is a zombie)
gone() {
	! kill -0 "$1" 2>/dev/null ||
	    ps -o stat= -p "$1" 2>/dev/null | grep -q '^Z'
}

# log_has NAME TEXT: whether the daemon's log has TEXT
log_has() {
	grep -qF -- "$2" "$SCRATCH/$1.log"
}

# killed_soon PID: it is gone within 3 s
killed_soon() {
	WAIT_LIMIT=3 wait_for "$1 to go" gone "$1"
}

late() {
	stat 's["totals"]["late_replies"]'
}

# Heartbeats are not what this test is about: a long liveness keeps a
# slow machine (the sanitizers, a busy CI) from declaring anyone dead.
start_broker broker --heartbeat 200 --liveness 20 || exit 1
start_script p1 p1 --liveness 20 --persistent --timeout 1000 \
    --max-output 100 \
    -s python3 -- "$SCRATCH/prog.py" || exit 1
start_script p2 p2 --liveness 20 --persistent -c 2 -s python3 -- \
    "$SCRATCH/prog.py" ||
    exit 1

# 1. Requests are served by the same long-lived copy.
is "$(cli -n p1 -o json echo a 'b c' '')" '["echo","a","b c",""]' "a request is served by the persistent program"
first=$(pid p1)
is "$(pid p1)" "$first" "the next request is served by the same copy"
is "$(cli -n p1 pid | tail -n 1)" 1 "the copy has WAHA_COPY=1"
is "$(cli -n p1 -o json)" '[]' "a request without fields: an empty array"
out=$(cli -n p1 fail 2>&1)
is "$?:$out" "5:waha-cli: 503 busy now" \
    "a failure object is the request's status and reason"
is "$(pid p1)" "$first" "and the copy goes on serving"

# 2. Fields that are not UTF-8 go as {"base64": ...} and come back.
is "$(cli -n p1 -d hex -e hex 73686f77 ff00fe 61)" \
    "$(printf '[{"base64": "/wD+"}, "a"]' | od -An -tx1 -v | tr -d ' \n')" \
    "the program sees a field that is not UTF-8 as {\"base64\": ...}"
is "$(cli -n p1 -d hex -e hex 6563686f ff00fe 00 c3a9)" "6563686f
ff00fe
00
c3a9" "bytes that are not UTF-8, a NUL and UTF-8 round trip exactly"

# 3. -c 2: both copies serve, side by side.
cli -n p2 sleep 1 >"$SCRATCH/c1" &
c1=$!
cli -n p2 sleep 1 >"$SCRATCH/c2" &
c2=$!
t0=$(now_ms)
wait $c1 $c2
ms=$(($(now_ms) - t0))
ok "two requests served by two different copies" \
    test -s "$SCRATCH/c1" -a -s "$SCRATCH/c2" -a \
    "$(cat "$SCRATCH/c1")" != "$(cat "$SCRATCH/c2")"
diag "two 1 s requests on two copies took $ms ms"
is "$(cli -n p2 pid | tail -n 1; cli -n p2 pid | tail -n 1)" "1
1" "an idle service uses its first copy"

# 4. The program dies: 500, and a new copy serves the next request.
out=$(cli -n p1 die 2>&1)
is "$out" "waha-cli: 500 program exited (exit status 3)" \
    "a copy that exits while serving: 500 program exited"
second=$(pid p1)
ok "the next request is served by a restarted copy ($first, $second)" \
    test -n "$second" -a "$second" != "$first"
ok "the service logged the exit" log_has p1 "copy 1 (pid $first): exited"

# 5. It hangs: 504 after --timeout, killed, restarted.
t0=$(now_ms)
out=$(cli -n p1 hang 2>&1)
ms=$(($(now_ms) - t0))
is "$out" "waha-cli: 504 ran over 1000 ms" "a copy that hangs: 504"
ok "at --timeout ($ms ms)" test "$ms" -ge 900 -a "$ms" -lt 6000
ok "the hung copy is killed" wait_for "$second to go" gone "$second"
third=$(pid p1)
ok "a new copy serves ($third)" test -n "$third" -a "$third" != "$second"

# 6. It prints nothing for a request: 504, restarted.
is "$(cli -n p1 nothing 2>&1)" "waha-cli: 504 ran over 1000 ms" \
    "a copy that answers nothing: 504 at --timeout"
ok "it is killed" wait_for "$third to go" gone "$third"
fourth=$(pid p1)
ok "and restarted ($fourth)" test -n "$fourth" -a "$fourth" != "$third"

# 7. Garbage, two lines, a line too long: 500, restarted.
is "$(cli -n p1 garbage 2>&1)" "waha-cli: 500 reply is not JSON: '[' or '{' expected near 'this' (column 4)" \
    "a copy that prints garbage: 500 with the reason"
ok "it is killed" wait_for "$fourth to go" gone "$fourth"
fifth=$(pid p1)
ok "and restarted ($fifth)" test -n "$fifth" -a "$fifth" != "$fourth"
is "$(cli -n p1 two)" one "two reply lines: the first is the reply"
ok "the copy out of step is killed" wait_for "$fifth to go" gone "$fifth"
ok "and the service logged why" \
    log_has p1 "output while it serves no request, restarting it"
is "$(cli -n p1 big 2>&1)" "waha-cli: 500 reply line over 100 bytes" \
    "a reply line over --max-output: 500"
ok "the service still serves" test -n "$(pid p1)"

# 8. Stderr goes to the log, line by line, so many a second.
is "$(cli -n p1 stderr 2)" ok "a request that writes on stderr"
ok "its stderr lines are in the log" \
    wait_for "stderr in the log" log_has p1 "): line 1 from stderr"
is "$(cli -n p1 stderr 1000)" ok "a request that floods stderr"
ok "the log says how many lines it left out" \
    wait_for "a count of lines left out" log_has p1 "lines of stderr not logged"
n=$(grep -c "from stderr" "$SCRATCH/p1.log")
ok "no more than a few dozen lines logged ($n)" test "$n" -lt 100

# 9. Cancel and expiry: the copy is killed, nothing is sent for it.
before=$(late)
pa=$(pid p1)
out=$(cli -t 400 -n p1 hang 2>&1)
like "$?:$out" '^(3:waha-cli: no reply from .* within [0-9]+ ms|5:waha-cli: 504 .*)$' \
    "waha-cli -t 400 on a hanging copy: 504 or its own timeout"
ok "the copy is killed at the client's deadline" killed_soon "$pa"
pb=$(pid p1)
ok "a new copy serves the next request" test -n "$pb" -a "$pb" != "$pa"
is "$(late)" "$before" "the killed copy's request got no late reply"

# 10. A program that exits at start is restarted with a growing delay.
start_script bad bad --liveness 20 --persistent -s sh -- -c 'exit 1' || exit 1
sleep 3
n=$(grep -c "exited (exit status 1); restart in" "$SCRATCH/bad.log")
ok "exits at start: a handful of restarts in 3 s ($n), not hundreds" \
    test "$n" -ge 2 -a "$n" -le 10
out=$(cli -n bad x 2>&1)
like "$out" '^waha-cli: (503 sh exits at start or cannot run; next start in [0-9]+ ms|500 program exited \(exit status 1\))$' \
    "its requests fail at once, 503 (or 500)"

# A program that cannot run at all: the same, with the reason logged.
start_script missing missing --liveness 20 --persistent \
    -s "$SCRATCH/nosuch" || exit 1
ok "the service logs why it cannot start a copy, again with a delay" \
    wait_for "two failed starts" sh -c "[ \$(grep -c \
    'copy 1: cannot run $SCRATCH/nosuch: No such file' \
    '$SCRATCH/missing.log') -ge 2 ]"
like "$(cli -n missing x 2>&1)" "^waha-cli: 503 $SCRATCH/nosuch exits at start or cannot run; next start in [0-9]+ ms\$" \
    "its requests fail at once with 503 and the reason"

# 11. A request larger than a pipe holds is written without blocking.
head -c 1000000 /dev/zero | tr '\0' a >"$SCRATCH/big.in"
start_script p3 p3 --liveness 20 --persistent --max-output 2000000 \
    -s python3 -- "$SCRATCH/prog.py" || exit 1
cli -n p3 -i plain -o plain <"$SCRATCH/big.in" >"$SCRATCH/big.out"
ok "a 1 MB field goes to the copy and comes back intact" \
    cmp -s "$SCRATCH/big.in" "$SCRATCH/big.out"

# 12. SIGTERM: the request a copy serves is answered, then the copies go.
p3pid=$(pid p3)
cli -n p3 sleep 1 "$SCRATCH/sleeping" >"$SCRATCH/drain.out" &
c1=$!
wait_for "the request to reach the copy" test -e "$SCRATCH/sleeping"
stop_daemon p3 TERM
is "$stopped_status" 0 "SIGTERM with a request in flight: exit 0"
wait $c1
is "$(cat "$SCRATCH/drain.out")" "$p3pid" "the request in flight was answered"
ok "and the copy is gone" gone "$p3pid"

# A second signal fails the request in flight with 503 and stops at once.
start_script p4 p4 --liveness 20 --persistent -s python3 -- \
    "$SCRATCH/prog.py" || exit 1
p4pid=$(pid p4)
cli -n p4 sleep 30 "$SCRATCH/sleeping4" >"$SCRATCH/stop.out" 2>&1 &
c1=$!
wait_for "the request to reach the copy" test -e "$SCRATCH/sleeping4"
kill -TERM "$(pid_of p4)"
wait_for "p4 to start draining" log_has p4 "shutting down"
stop_daemon p4 TERM
is "$stopped_status" 0 "a second SIGTERM: exit 0 at once"
wait $c1
is "$(cat "$SCRATCH/stop.out")" "waha-cli: 503 service stopped" \
    "the request in flight gets 503"
ok "the copy is gone" wait_for "$p4pid to go" gone "$p4pid"

# 13. Options that make no sense with --persistent are refused.
for o in -e -r --stdin --no-stdout; do
	out=$("$WAHA_SCRIPT" -u "$BROKER" -n x --persistent -s cat "$o" 2>&1)
	is "$?" 1 "--persistent $o: exit 1"
	case $o in
	-e) want="-e cannot go with --persistent" ;;
	-r) want="-r cannot go with --persistent" ;;
	*) want="$o cannot go with --persistent" ;;
	esac
	like "$out" "^waha-service-script: $want" "--persistent $o: says why"
done
