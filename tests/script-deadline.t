#!/bin/sh
# Requests whose client gave up (DESIGN.md 2.6): a request whose deadline
# passes while it waits is never started, and a program whose client's
# deadline passes, or whose client sends cancel=1, is killed with its
# whole process group, and nothing more is sent for it.  Through
# waha-cli, the HTTP gateway and a balancer.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
. "$(dirname "${WAHA_LIB:-$0}")/http-lib.sh"
. "$(dirname "${WAHA_LIB:-$0}")/balance-lib.sh"
need_pyzmq
command -v curl >/dev/null || skip_all "no curl"
setup
plan 28

# run.sh DIR NAME SECONDS: writes its pid and its child's, then waits for
# the child; the files prove that it started, and name what to watch.
cat >"$SCRATCH/run.sh" <<'SH'
#!/bin/sh
echo $$ >"$1/$2.pid"
sleep "$3" &
echo $! >"$1/$2.tmp"
mv "$1/$2.tmp" "$1/$2.child"
wait
echo "done $2"
SH
chmod +x "$SCRATCH/run.sh"

# gone NAME: whether the run NAME's program and its child are both gone
# (a zombie is gone: only its parent can still collect it)
gone() {
	for _f in "$SCRATCH/$1.pid" "$SCRATCH/$1.child"; do
		case $(ps -o stat= -p "$(cat "$_f")" 2>/dev/null) in
		""|Z*) ;;
		*) return 1 ;;
		esac
	done
}

# killed NAME: it started, and within 2 s all of it is gone (SIGTERM at
# the deadline, SIGKILL one second later at most)
killed() {
	wait_for "$1 to start" test -s "$SCRATCH/$1.child" &&
	    WAIT_LIMIT=2 wait_for "$1 to be killed" gone "$1"
}

late() {
	stat 's["totals"]["late_replies"]'
}

# gave_up OUTPUT: waha-cli's own timeout (3), or the broker's 504 (5)
gave_up='^(3:waha-cli: no reply from .* within [0-9]+ ms|5:waha-cli: 504 .*)$'

# never_started SERVICE PREFIX WHERE: a request queued behind a slow one
# (PREFIXslow) past its 300 ms deadline (PREFIXnever) is never started.
never_started() {
	cli -t 20000 -n "$1" "$2slow" 3 >"$SCRATCH/$2slow.out" 2>&1 &
	_slow=$!
	wait_for "$2slow to start" test -s "$SCRATCH/$2slow.child"
	out=$(cli -t 300 -n "$1" "$2never" 0 2>&1)
	like "$?:$out" "$gave_up" \
	    "$3: -t 300 behind a slow request: 504 or its own timeout"
	wait $_slow
	is "$(cat "$SCRATCH/$2slow.out")" "done $2slow" \
	    "$3: the slow request completes"
	is "$(cli -n "$1" "$2after" 0)" "done $2after" \
	    "$3: the next request is served"
	ok "$3: the request whose client gave up never started" \
	    test ! -e "$SCRATCH/$2never.pid"
}

start_broker broker --heartbeat 200 || exit 1
start_script s1 svc -c 1 -s "$SCRATCH/run.sh" -- "$SCRATCH" || exit 1

# 1. waha-cli: a request whose deadline passes in the queue.
never_started svc "" waha-cli

# 2. waha-cli: a program still running at the deadline is killed, with
# its child, and its run sends nothing more (no late reply).
before=$(late)
out=$(cli -t 500 -n svc k1 100 2>&1)
like "$?:$out" '^(3:waha-cli: no reply from .* within [0-9]+ ms|5:waha-cli: 504 its deadline of 500 ms passed while it ran)$' \
    "waha-cli -t 500 on a long run: 504 or its own timeout"
ok "the program and its child are killed at the deadline" killed k1
is "$(cli -n svc after1 0)" "done after1" "the service serves again"
is "$(late)" "$before" "the killed run sent nothing more"

# 3. The HTTP gateway's timeout= parameter, and its -t.
start_gateway gateway -t 700 || exit 1
hreq '/svc?args=["h1","100"]&timeout=500'
is "$code" 504 "gateway timeout=500 on a long run: 504"
ok "the program and its child are killed at the deadline" killed h1
hreq '/svc?args=["h2","100"]'
is "$code" 504 "gateway -t 700 on a long run: 504"
ok "the program and its child are killed at -t's deadline" killed h2
cli -t 20000 -n svc slow2 3 >/dev/null 2>&1 &
slow=$!
wait_for "slow2 to start" test -s "$SCRATCH/slow2.child"
hreq '/svc?args=["hnever","0"]&timeout=300'
is "$code" 504 "gateway timeout=300 behind a slow request: 504"
wait $slow
is "$(cli -n svc after2 0)" "done after2" "the next request is served"
ok "the request the gateway gave up on never started" \
    test ! -e "$SCRATCH/hnever.pid"

# An HTTP client that resets its connection while its request runs: the
# gateway cancels it at the broker, and the program is stopped.
cat >"$SCRATCH/reset.py" <<'PY'
import os, socket, struct, sys, time
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
s.sendall(b'GET /svc?args=["hreset","100"]&timeout=-1 HTTP/1.1\r\n'
          b'Host: localhost\r\n\r\n')
end = time.monotonic() + 20
while not os.path.exists(sys.argv[2]):
    if time.monotonic() > end:
        sys.exit("the program never started")
    time.sleep(0.02)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
PY
"$PYTHON" "$SCRATCH/reset.py" "$HTTP" "$SCRATCH/hreset.child"
ok "a client's reset stops its program (timeout=-1: no deadline)" \
    killed hreset
is "$(stat 's["services"]["svc"]["cancelled"]')" 1 \
    "the gateway cancelled it at the broker"

# 4. cancel=1 from a DEALER client stops the program; nothing comes back
# for it, and the socket's next request is answered.
cat >"$SCRATCH/cancel.py" <<'PY'
import os, sys, time, zmq
url, child = sys.argv[1], sys.argv[2]
s = zmq.Context().socket(zmq.DEALER)
s.linger = 0
s.connect(url)
s.send_multipart([b"c1", b"", b"WAHA01", b"", b"svc", b"c1", b"100"])
end = time.monotonic() + 20
while not os.path.exists(child):
    if time.monotonic() > end:
        sys.exit("the program never started")
    time.sleep(0.02)
s.send_multipart([b"c1", b"", b"WAHA01", b"cancel=1"])
s.send_multipart([b"c2", b"", b"svc", b"c2", b"0"])
if not s.poll(20000):
    sys.exit("no reply")
print(b"|".join(s.recv_multipart()).decode().rstrip("\n"))
print("more" if s.poll(300) else "nothing more")
PY
out=$("$PYTHON" "$SCRATCH/cancel.py" "$BROKER" "$SCRATCH/c1.child")
is "$out" "c2||200|done c2
nothing more" "after cancel=1 only the next request is answered"
ok "the cancelled program and its child are killed" killed c1
is "$(stat 's["services"]["svc"]["cancelled"]')" 2 \
    "mmi.stats counts the cancelled requests"

# 5. Through a balancer: it passes the time left and the CANCEL on.
start_balancer bsvc || exit 1
start_daemon bs "$WAHA_SCRIPT" -u "$BACKEND" -n bsvc --heartbeat 200 -c 1 \
    -s "$SCRATCH/run.sh" -- "$SCRATCH"
wait_for "the balancer to register" served bsvc || exit 1
out=$(cli -t 500 -n bsvc b1 100 2>&1)
like "$?:$out" "$gave_up" \
    "balancer: -t 500 on a long run: 504 or timeout"
ok "balancer: the program and its child are killed" killed b1
never_started bsvc b balancer
ok "balancer: its backend worker took CANCEL" \
    log_has bal 'ready for bsvc, capacity 1, takes CANCEL'
is "$(stat 's["workers"][[w["service"] for w in s["workers"]].index("bsvc")]["cancel"]')" \
    True "balancer: it declared cancel upstream"
