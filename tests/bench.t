#!/bin/sh
# waha-bench: runs against a real broker with its built-in workers, every
# reply verified and the counts adding up, text and JSON; failures,
# mismatches and a missing broker are counted and make it exit non-zero
# in bounded time; bad options are usage errors.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup

: "${WAHA_BENCH:=$WAHA_BINDIR/waha-bench}"

# bench ARGS...: waha-bench on $BROKER; $rc, $out and $err are set
bench() {
	"$WAHA_BENCH" -u "$BROKER" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
	rc=$?
	out=$(cat "$SCRATCH/out")
	err=$(cat "$SCRATCH/err")
}

# field EXPR: a Python expression over the JSON figures "j" in $out
field() {
	printf '%s\n' "$out" | python3 -c '
import json, sys
j = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$1"
}

# adds_up: requests = replies by status + malformed + timed out
adds_up() {
	field '(j["requests"] == sum(j["status"].values()) + j["malformed"] +
	    j["timeouts"])'
}

start_broker broker || exit 1

bench --workers 2 -N 2000 -c 4 -w 8
is "$rc" 0 "native, 2 built-in workers: exit 0"
like "$out" "requests +2000 sent, 2000 verified" "every reply was verified"
like "$out" "status +200: 2000" "all 2000 were 200"
like "$out" "errors +0 mismatched, 0 malformed, 0 timed out, 0 unknown" \
    "no error"
like "$out" "rate +[0-9]+ req/s" "a rate"
like "$out" "latency +p50 [0-9.]+ ms, p90 [0-9.]+ ms, p99 [0-9.]+ ms, p99.9 [0-9.]+ ms, max [0-9.]+ ms" \
    "latency quantiles"

bench --workers 1 --capacity 8 -N 2000 -c 2 -s 4096 --json
is "$rc" 0 "--json: exit 0"
is "$(field 'j["requests"], j["verified"], j["status"]["200"]')" \
    "(2000, 2000, 2000)" "--json parses: 2000 sent, verified, 200"
is "$(adds_up)" True "the counts add up"
is "$(field 'j["size"], j["clients"], j["window"], j["protocol"]')" \
    "(4096, 2, 16, 'native')" "the settings are in the figures"
is "$(field 'sorted(j["latency_us"])')" \
    "['max', 'mean', 'p50', 'p90', 'p99', 'p99.9']" "latency quantiles"
is "$(field '(j["latency_us"]["p50"] <= j["latency_us"]["max"] and
    j["rate"] > 0)')" True "latency and rate are plausible"

bench --workers 1 --protocol mdp -N 1000 -s 16 --json
is "$rc:$(field 'j["verified"], j["protocol"]')" "0:(1000, 'mdp')" \
    "MDP clients: all 1000 verified"
bench --workers 1 -N 1000 --deadline --json
is "$rc:$(field 'j["verified"]')" "0:1000" "--deadline: all 1000 verified"
bench --workers 1 -N 10 --deadline --protocol mdp -s 16
is "$rc" 1 "--deadline with MDP is a usage error"

# A separate worker process (-c 0), leaving on SIGTERM.
start_daemon workers "$WAHA_BENCH" -u "$BROKER" -n bench.sep -c 0 \
    --workers 2
ok "-c 0 --workers 2 registers two workers" \
    wait_for "two workers of bench.sep" served bench.sep 2
bench -n bench.sep -N 2000 -c 1 -w 1 --json
is "$rc:$(field 'j["verified"]')" "0:2000" "served from the other process"
stop_daemon workers
is "$stopped_status" 0 "-c 0 exits 0 on SIGTERM"
ok "its workers are gone" wait_for "bench.sep withdrawn" served bench.sep 0

# Failures are counted by status, and exit 2.
bench -n nosuch -N 100 -c 2 --json
is "$rc" 2 "404 replies: exit 2"
is "$(field 'j["status"].get("404"), j["verified"]')" "(100, 0)" \
    "counted as 404"
is "$(adds_up)" True "the counts add up"
like "$err" "100 of 100 requests not verified" "and says so"

# A worker that answers 200 with the wrong payload.
start_worker wrong bench.wrong --mode frames -c 16 || exit 1
bench -n bench.wrong -N 200 -c 2 --json
is "$rc:$(field 'j["mismatched"], j["status"]["200"], j["verified"]')" \
    "2:(200, 200, 0)" "200 with another payload: mismatched, exit 2"

# No broker: bounded, non-zero, said.
nobroker="ipc://$SCRATCH/nobody.sock"
t0=$(now_ms)
"$WAHA_BENCH" -u "$nobroker" -N 2000 -t 1000 --json >"$SCRATCH/out" \
    2>"$SCRATCH/err"
rc=$?
out=$(cat "$SCRATCH/out")
t=$(($(now_ms) - t0))
is "$rc" 2 "no broker: exit 2"
ok "within a few seconds ($t ms)" test "$t" -lt 8000
like "$(cat "$SCRATCH/err")" "no reply from $nobroker for 1000 ms: gave up" \
    "says there was no reply"
is "$(field 'j["verified"], j["gave_up"], j["requests"] == j["timeouts"]')" \
    "(0, True, True)" "every request sent timed out"
"$WAHA_BENCH" -u "$nobroker" --workers 1 -N 10 -t 500 >/dev/null \
    2>"$SCRATCH/err"
is "$?" 1 "no broker to register the workers with: exit 1"
like "$(cat "$SCRATCH/err")" "no broker at .* said bench.echo is served" \
    "and says so"

# Usage errors: exit 1, one line and a hint, nothing on stdout.
usage() {
	_pat=$1
	shift
	"$WAHA_BENCH" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" </dev/null
	_rc=$?
	like "$_rc:$(cat "$SCRATCH/out"):$(head -n 1 "$SCRATCH/err")" \
	    "^1::waha-bench: $_pat" "usage error: $*"
}
usage "-c: '-1' is too small \\(expected 0 to 10000\\)" -c -1
usage "-s: '8388609' is too large \\(expected 0 to 8388608\\)" -s 8388609
usage "--protocol: 'zmtp' is not one of native, mdp" --protocol zmtp
usage "-w: 'x' is invalid" -w x
usage "-d and -N cannot be given together" -d 1 -N 10
usage "-c 0 runs only the workers: give --workers" -c 0
usage "--capacity has no meaning without --workers" --capacity 4
usage "--capacity has no meaning with --raw" --workers 1 --raw --capacity 4
usage "--protocol mdp needs -s 16 or more" --protocol mdp -s 8
usage "-N is less than -c" -N 2 -c 4
usage "unexpected argument: extra" extra
usage "-n: empty service name" -n ''
usage "-u: one broker only" -u tcp://127.0.0.1:1,tcp://127.0.0.1:2
usage "-u: tcp://127.0.0.1:1,: empty endpoint in the list" -u tcp://127.0.0.1:1,

"$WAHA_BENCH" --help >"$SCRATCH/out" 2>&1
is "$?:$(head -n 1 "$SCRATCH/out")" "0:Usage: waha-bench [OPTION...]" \
    "--help exits 0 with the usage"
like "$("$WAHA_BENCH" --version)" '^waha-bench \(waha\) [0-9]' "--version"

# --raw workers behind a bare ROUTER/DEALER proxy (pyzmq's), if there is
# one (Debian: python3-zmq): the clients speak to it exactly as to the
# broker.
pyzmq=""
for p in ${PYTHON:-} python3 /usr/bin/python3; do
	"$p" -c 'import zmq' 2>/dev/null && { pyzmq=$p; break; }
done
if [ -n "$pyzmq" ]; then
	start_daemon proxy "$pyzmq" -c '
import sys, zmq
c = zmq.Context()
f = c.socket(zmq.ROUTER); f.bind("ipc://" + sys.argv[1] + "/front")
b = c.socket(zmq.DEALER); b.bind("ipc://" + sys.argv[1] + "/back")
open(sys.argv[1] + "/proxy.up", "w").close()
zmq.proxy(f, b)' "$SCRATCH"
	wait_for "the proxy" test -e "$SCRATCH/proxy.up"
	start_daemon raw "$WAHA_BENCH" -c 0 --workers 2 --raw \
	    -u "ipc://$SCRATCH/back"
	BROKER="ipc://$SCRATCH/front"
	bench -N 2000 -c 2 -w 4 --json
	is "$rc:$(field 'j["verified"]')" "0:2000" \
	    "native clients through zmq.proxy to --raw workers"
	bench -N 500 -c 1 --protocol mdp --json
	is "$rc:$(field 'j["verified"]')" "0:500" "MDP clients, likewise"
	stop_daemon raw
	is "$stopped_status" 0 "--raw workers exit 0 on SIGTERM"
fi
echo "1..$_tap_n"
