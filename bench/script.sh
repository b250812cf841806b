#!/bin/sh
# bench/script.sh [BUILDDIR [RUNS]]: programs run by waha-service-script
# on a private broker, in one run (PYTHON names the interpreter,
# WRK_SECONDS how long wrk runs):
#  1. runs per second of /bin/true with -c 1 and with -c 4;
#  2. a Python echo program started for each request, against the same
#     program kept running with --persistent (both -c 2, RUNS/10 and RUNS
#     requests through the native protocol), and the ratio;
#  3. with wrk(1) and Debian's webhook(1) installed: webhook running the
#     same program for each request, against waha-proxy-http in front of
#     the persistent program, both over HTTP, and the ratios.
# Clients keep twice the concurrency in flight, so that the next request
# always waits when one ends, and every reply is checked.  Needs a built
# tree (make check builds tests/test-load).
top=${1:-.}
runs=${2:-5000}
secs=${WRK_SECONDS:-5}
dir=$(mktemp -d)
pids=""
trap 'kill $pids 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM

# await FILE: until it is written (10 s at most)
await() {
	i=0
	until [ -s "$1" ]; do
		i=$((i + 1))
		[ $i -gt 200 ] && { echo "$0: no $1" >&2; exit 1; }
		sleep 0.05
	done
}

# serve NAME OPTIONS...: a waha-service-script, waited for until it serves
serve() {
	_n=$1
	shift
	"$top/src/waha-service-script" -u "$url" -n "$_n" "$@" \
	    2>"$dir/$_n.log" &
	pids="$pids $!"
	until [ "$("$top/src/waha-cli" -u "$url" -n mmi.service "$_n")" = \
	    200 ]; do
		sleep 0.05
	done
}

# load NAME CLIENTS RUNS [--any]: test-load's rate, or exit
load() {
	"$top/tests/test-load" -u "$url" -n "$1" -c "$2" -w 2 -r "$3" \
	    -t 20000 $4 >"$dir/load.out" || { cat "$dir/load.out"; exit 1; }
	sed 's/.* rate //' "$dir/load.out"
}

# wrk_rate URL: requests per second over $secs s, 4 connections, or 0
# when any reply was not a 2xx
wrk_rate() {
	wrk -t 2 -c 4 -d "${secs}s" "$1" >"$dir/wrk.out" 2>&1
	if grep -q 'Non-2xx' "$dir/wrk.out"; then
		echo 0
		return
	fi
	sed -n 's/^Requests\/sec: *//p' "$dir/wrk.out"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'
}

"$top/src/waha-broker" -u 'tcp://127.0.0.1:*' --endpoint-file "$dir/ep" \
    2>"$dir/broker.log" &
pids="$pids $!"
await "$dir/ep"
url=$(cat "$dir/ep")

# The Python echo program: its argument back with no newline when started
# for a request, each request line back as its reply with --persistent.
cat >"$dir/echo.py" <<'PY'
import json, sys
if len(sys.argv) > 1 and sys.argv[1] == "--lines":
    for line in sys.stdin:
        sys.stdout.write(json.dumps(json.loads(line)) + "\n")
        sys.stdout.flush()
else:
    sys.stdout.write(" ".join(sys.argv[1:]))
PY
# The interpreter itself, not a wrapper such as pyenv's shim: $PYTHON, or
# Debian's, or the one python3 runs.
py=${PYTHON:-/usr/bin/python3}
[ -x "$py" ] || py=$(python3 -c 'import sys; print(sys.executable)')

serve true1 -c 1 -s /bin/true
serve true4 -c 4 -s /bin/true
serve pyonce -c 2 -s "$py" -- "$dir/echo.py"
serve pyloop -c 2 --persistent -s "$py" -- "$dir/echo.py" --lines

echo "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $runs runs each"
for c in 1 4; do
	printf -- '/bin/true -c %s: ' "$c"
	"$top/tests/test-load" -u "$url" -n "true$c" --any -c "$c" -w 2 \
	    -r "$runs" -t 20000 || exit 1
done

# Started for a request, the program can only echo one field (its
# stdout): any 200 counts.  The persistent one echoes both of test-load's.
once=$(load pyonce 2 $((runs / 10)) --any)
loop=$(load pyloop 2 "$runs")
echo "python echo, -c 2, native client:"
printf '  started per request  %8.0f req/s\n' "$once"
printf '  --persistent         %8.0f req/s  (%sx)\n' "$loop" \
    "$(ratio "$loop" "$once")"

if ! command -v wrk >/dev/null || ! command -v webhook >/dev/null; then
	echo "over HTTP: skipped (needs wrk and webhook: apt-get install" \
	    "wrk webhook)"
	exit 0
fi
cat >"$dir/hooks.json" <<EOF2
[{"id": "echo", "execute-command": "$py",
  "include-command-output-in-response": true,
  "pass-arguments-to-command": [{"source": "string", "name": "$dir/echo.py"},
    {"source": "url", "name": "a"}]}]
EOF2
# webhook has no way to bind port 0: only a benchmark may probe for a port
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
webhook -hooks "$dir/hooks.json" -ip 127.0.0.1 -port "$port" \
    >"$dir/webhook.log" 2>&1 &
pids="$pids $!"
"$top/src/waha-proxy-http" -p 0 -u "$url" --endpoint-file "$dir/gw.ep" \
    2>"$dir/gateway.log" &
pids="$pids $!"
await "$dir/gw.ep"
gw=$(cat "$dir/gw.ep")
until curl -fs "http://127.0.0.1:$port/hooks/echo?a=x" >/dev/null; do
	sleep 0.05
done
[ "$(curl -s "http://127.0.0.1:$port/hooks/echo?a=hello")" = hello ] ||
    { echo "$0: webhook does not echo" >&2; exit 1; }
[ "$(curl -s "http://$gw/pyloop?args=%5B%22hello%22%5D")" = '["hello"]' ] ||
    { echo "$0: the gateway does not echo" >&2; exit 1; }
hook=$(wrk_rate "http://127.0.0.1:$port/hooks/echo?a=hello")
http=$(wrk_rate "http://$gw/pyloop?args=%5B%22hello%22%5D")
echo "python echo over HTTP, wrk -c 4 for ${secs} s:"
printf '  webhook, started per request         %8.0f req/s\n' "$hook"
printf '  waha-proxy-http, --persistent -c 2   %8.0f req/s  (%sx)\n' \
    "$http" "$(ratio "$http" "$hook")"
printf '  native client, --persistent -c 2     %8.0f req/s  (%sx)\n' \
    "$loop" "$(ratio "$loop" "$hook")"
