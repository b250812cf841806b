#!/bin/sh
# waha-cli against a fake broker that answers with whatever frames the
# request asks for: malformed replies exit 2, statuses outside 4xx and
# 5xx exit 5, and a hostile reason is printed on one safe line.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
need_pyzmq
setup
plan 20

# The fake broker: a ROUTER on a port of its own, written to the file
# argv[1].  As "mirror" it answers each "" SERVICE FIELD* with FIELD* as
# the reply frames (after the routing id), and counts what it received
# in the file argv[3]; as "once" it answers one request 503 and exits
# at once.
cat >"$SCRATCH/fake.py" <<'PY'
import os, sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.ROUTER)
s.bind("tcp://127.0.0.1:*")
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(s.getsockopt_string(zmq.LAST_ENDPOINT))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
n = 0
while sys.argv[2] == "mirror":
    m = s.recv_multipart()
    n += 1
    with open(sys.argv[3], "w") as f:
        f.write("%d\n" % n)
    # Past the WAHA01 header and its options, if waha-cli sent them.
    first = 5 if m[2] == b"WAHA01" else 3
    s.send_multipart([m[0]] + m[first:])
m = s.recv_multipart()
s.send_multipart([m[0], b"", b"503", b"shutting down"])
s.close(linger=1000)
ctx.term()
PY
start_daemon mirror "$PYTHON" "$SCRATCH/fake.py" "$SCRATCH/mirror.ep" \
    mirror "$SCRATCH/mirror.count"
wait_for "the mirror" test -s "$SCRATCH/mirror.ep" || exit 1
BROKER=$(cat "$SCRATCH/mirror.ep")

# reply FRAME...: waha-cli gets the frames (hex) as its reply
reply() {
	cli -n mirror -d hex "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
	rc=$?
	out=$(cat "$SCRATCH/out")
	err=$(cat "$SCRATCH/err")
}
hex() {
	printf '%s' "$1" | hexof
}

reply '' "$(hex 200)" "$(hex a)" "$(hex b)"
is "$rc/$out" "0/a
b" "the mirror works: 200 a b"

reply '' "$(hex 302)" "$(hex moved)"
is "$rc/$err" "5/waha-cli: 302 moved" "a 3xx status exits 5, as 5xx do"
reply '' "$(hex 100)" "$(hex x)"
is "$rc" 5 "a 1xx status exits 5"
reply '' "$(hex 201)" "$(hex x)"
is "$rc/$out" "5/" "a 2xx other than 200 exits 5, prints no field"
reply '' "$(hex 418)" "$(hex teapot)"
is "$rc/$err" "4/waha-cli: 418 teapot" "any 4xx exits 4"
reply '' "$(hex 599)" "$(hex x)"
is "$rc" 5 "any 5xx exits 5"
reply '' "$(hex 404)"
is "$rc/$err" "4/waha-cli: 404 no such service" \
    "no reason: the status's own text"
reply '' "$(hex 500)" "$(printf 'bad\n\033[31mred\177\302\233x\377' | hexof)"
is "$rc/$err" "5/waha-cli: 500 bad\\x0a\\x1b[31mred\\x7f\\u009bx$(printf \
    '\357\277\275')" "a hostile reason is printed on one line, escaped"

reply "$(hex 200)"
is "$rc/$err" "2/waha-cli: malformed reply from $BROKER" \
    "no empty frame: exit 2"
reply '' "$(hex 20)"
is "$rc" 2 "a two-digit status: exit 2"
reply '' "$(hex 600)"
is "$rc" 2 "status 600: exit 2"
reply '' "$(hex abc)"
is "$rc" 2 "a status that is not digits: exit 2"
reply ''
is "$rc" 2 "no status: exit 2"
reply "$(hex env)" '' "$(hex 200)"
is "$rc" 2 "an envelope it did not send: exit 2"
is "$out" "" "stdout stays empty"

reply '' "$(hex 200)"
is "$rc/$out" "0/" "200 with no field: exit 0, nothing printed"
reply '' "$(hex 200)" ''
is "$(cat "$SCRATCH/out" | hexof)" 0a "200 with one empty field: a newline"
is "$(cat "$SCRATCH/mirror.count")" 16 "the mirror saw each request once"
# No frame asked for: the mirror sends nothing back.
cli -n mirror -t 300 >"$SCRATCH/out" 2>"$SCRATCH/err"
is "$?:$(cat "$SCRATCH/err")" "3:waha-cli: no reply from $BROKER within 300 ms" \
    "no reply within -t: exit 3, and says so"

# A reply sent just before the peer closes the connection still arrives
# (as when a broker answers 503 on its way out).
lost=0
for i in 1 2 3 4 5; do
	rm -f "$SCRATCH/once.ep"
	start_daemon "once$i" "$PYTHON" "$SCRATCH/fake.py" \
	    "$SCRATCH/once.ep" once
	wait_for "once$i" test -s "$SCRATCH/once.ep" || exit 1
	"$WAHA_CLI" -u "$(cat "$SCRATCH/once.ep")" -t 3000 -n x 2>/dev/null
	[ $? = 5 ] || lost=$((lost + 1))
done
is "$lost" 0 "a reply sent as the peer exits is not lost (5 tries)"
