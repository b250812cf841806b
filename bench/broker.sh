#!/bin/sh
# bench/broker.sh: waha-broker against libzmq's zmq_proxy() (a ROUTER and
# a DEALER with no logic at all, bench/zmq-proxy.c) under the same load,
# in one run, alternating: the requests per second of each, their ratio,
# and each server's CPU time per request (utime + stime of all its
# threads, from /proc/PID/task/*/stat), at 64 B and 4 KiB, with 8 clients
# x 16 in flight and with 1 x 1.  Not a test: make check does not run it.
#
# The load is waha-bench in both cases, in the native protocol, so that
# the clients do the same work: behind waha-broker an echo worker of
# capacity 64 (waha-bench -c 0 --workers 1 --capacity 64), behind
# zmq_proxy a plain DEALER echo server that answers as a broker would
# (waha-bench -c 0 --workers 1 --raw), each in a process of its own so
# that the server's CPU is counted alone.
#
# Usage: bench/broker.sh [-d seconds] [-r rounds]
# Run from a built tree; needs cc, pkg-config, libzmq's headers, python3.
set -u

secs=5
rounds=3
while getopts d:r: o; do
	case $o in
	d) secs=$OPTARG ;;
	r) rounds=$OPTARG ;;
	*) echo "usage: $0 [-d seconds] [-r rounds]" >&2; exit 1 ;;
	esac
done

top=$(cd "$(dirname "$0")/.." && pwd)
broker=${WAHA_BROKER:-$top/src/waha-broker}
bench=${WAHA_BENCH:-$top/src/waha-bench}
cli=${WAHA_CLI:-$top/src/waha-cli}
. "$top/bench/lib.sh"
need "$broker" "$bench" "$cli"

# shellcheck disable=SC2046	# pkg-config gives several words
${CC:-cc} -O2 -o "$tmp/zmq-proxy" "$top/bench/zmq-proxy.c" \
    $(pkg-config --cflags --libs libzmq) || exit 1

"$broker" -u 'tcp://127.0.0.1:*' --endpoint-file "$tmp/broker.ep" \
    2>"$tmp/broker.log" &
broker_pid=$!
pids="$pids $broker_pid"
await "broker endpoint" test -s "$tmp/broker.ep"
broker_url=$(cat "$tmp/broker.ep")
"$bench" -c 0 --workers 1 --capacity 64 -u "$broker_url" \
    2>"$tmp/worker.log" &
pids="$pids $!"
await "worker" sh -c "[ \"\$('$cli' -u '$broker_url' -n mmi.service \
    bench.echo)\" = 200 ]"

"$tmp/zmq-proxy" 'tcp://127.0.0.1:*' 'tcp://127.0.0.1:*' >"$tmp/proxy.ep" \
    2>"$tmp/proxy.log" &
proxy_pid=$!
pids="$pids $proxy_pid"
await "zmq-proxy endpoints" sh -c "test \$(wc -l <'$tmp/proxy.ep') -eq 2"
proxy_url=$(sed -n 1p "$tmp/proxy.ep")
"$bench" -c 0 --workers 1 --raw -u "$(sed -n 2p "$tmp/proxy.ep")" \
    2>"$tmp/raw.log" &
pids="$pids $!"
# zmq_proxy holds requests until a worker connects: a short run that
# passes means it has.
await "raw worker" "$bench" -u "$proxy_url" -c 1 -N 100 -t 1000
"$bench" -u "$broker_url" -c 1 -N 100 >/dev/null || exit 1

hz=$(getconf CLK_TCK)

# cpu PID: clock ticks of its main thread and of all its others
cpu() {
	for t in /proc/"$1"/task/*; do
		printf '%s ' "${t##*/}"
		sed 's/.*) //' "$t/stat"
	done | awk -v pid="$1" '
	{ if ($1 == pid) m += $13 + $14; else o += $13 + $14 }
	END { print m + 0, o + 0 }'
}

# run NAME URL PID SIZE CLIENTS WINDOW: one waha-bench run; appends
# "rate cpu-us-per-request main-us io-us unverified" to $tmp/NAME.runs
run() {
	_before=$(cpu "$3")
	"$bench" -u "$2" -s "$4" -c "$5" -w "$6" -d "$secs" --json \
	    >"$tmp/run.json" 2>>"$tmp/bench.log"
	_after=$(cpu "$3")
	python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
b = [int(x) for x in sys.argv[2].split()]
a = [int(x) for x in sys.argv[3].split()]
hz, n = float(sys.argv[4]), max(j["requests"], 1)
m, o = [(a[i] - b[i]) * 1e6 / hz / n for i in (0, 1)]
print("%.0f %.2f %.2f %.2f %d" % (j["rate"], m + o, m, o,
    j["requests"] - j["verified"]))' "$tmp/run.json" "$_before" "$_after" \
	    "$hz" >>"$tmp/$1.runs"
}

# row NAME LABEL BASELINE-RATE BASELINE-CPU
row() {
	_rate=$(median "$1" 1)
	_cpu=$(median "$1" 2)
	_bad=$(awk '{ n += $5 } END { print n + 0 }' "$tmp/$1.runs")
	awk -v l="$2" -v r="$_rate" -v c="$_cpu" -v m="$(median "$1" 3)" \
	    -v o="$(median "$1" 4)" -v br="$3" -v bc="$4" -v bad="$_bad" \
	    -v sp="$(spread "$1")" 'BEGIN {
		printf "  %-12s %9d %5s%% %7.2f %7.2f us  %5.2f us %5.2f us" \
		    " %6.2f%s\n", l, r, sp, r / br, c, m, o, c / bc,
		    (bad > 0 ? "  (" bad " not verified!)" : "")
	}'
}

echo "waha-broker vs zmq_proxy: $(nproc) cores, load" \
    "$(cut -d' ' -f1-3 /proc/loadavg), ${secs} s runs, median of $rounds," \
    "alternating"
printf '  %-12s %9s %6s %7s %10s  %8s %8s %6s\n' "" "req/s" "spread" \
    "x proxy" "CPU/req" "main" "others" "x CPU"
for load in "64 8 16" "4096 8 16" "64 1 1" "4096 1 1"; do
	# shellcheck disable=SC2086
	set -- $load
	rm -f "$tmp/proxy.runs" "$tmp/broker.runs"
	r=1
	while [ $r -le "$rounds" ]; do
		# Alternate which goes first, so neither always runs on a
		# machine the other has just warmed.
		if [ $((r % 2)) -eq 1 ]; then
			run proxy "$proxy_url" "$proxy_pid" "$@"
			run broker "$broker_url" "$broker_pid" "$@"
		else
			run broker "$broker_url" "$broker_pid" "$@"
			run proxy "$proxy_url" "$proxy_pid" "$@"
		fi
		r=$((r + 1))
	done
	[ "$2" -eq 1 ] && who=client || who=clients
	echo "$1 B, $2 $who x $3 in flight:"
	pr=$(median proxy 1)
	pc=$(median proxy 2)
	row proxy zmq_proxy "$pr" "$pc"
	row broker waha-broker "$pr" "$pc"
done
echo "spread: (fastest - slowest) / median of the $rounds runs; CPU/req: the"
echo "server's user + system time per request; main: its main thread, others:"
echo "the rest (ZeroMQ's I/O thread), each column its own median; x: against"
echo "zmq_proxy.  A spread of more than a few percent means a busy machine."
