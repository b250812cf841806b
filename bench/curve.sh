#!/bin/sh
# bench/curve.sh: what CURVE costs the broker.  Two waha-brokers under the
# same load in one run, alternating: one plain, one with --curve-secret,
# --clients and --acl (so that the per-message key and rule checks are in
# the figure too), each with its own echo worker of capacity 64 in a
# process of its own (waha-bench -c 0 --workers 1), its clients and
# worker CURVE clients of the second.  The requests per second of each,
# their ratio, and each broker's CPU time per request (utime + stime of
# all its threads: CURVE's crypto runs in ZeroMQ's I/O thread), at 64 B
# and 4 KiB with 8 clients x 16 in flight.  Not a test.
#
# Usage: bench/curve.sh [-d seconds] [-r rounds]
# Run from a built tree; needs python3.
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
keygen=${WAHA_KEYGEN:-$top/src/waha-keygen}
. "$top/bench/lib.sh"
need "$broker" "$bench" "$cli" "$keygen"

cd "$tmp" || exit 1
"$keygen" broker >/dev/null && "$keygen" --name bench bench >/dev/null ||
    exit 1
mkdir clients && cp bench clients/
printf 'allow call bench.echo name bench\nallow serve bench.echo name bench\n%s\n' \
    'allow call mmi.service any' >acl
K="--curve-server broker --curve-secret bench_secret"

# start NAME OPTIONS...: a broker and its echo worker; its endpoint in
# the variable url_NAME, its pid in pid_NAME, its clients' options in
# opts_NAME
start() {
	_n=$1
	shift
	"$broker" -u 'tcp://127.0.0.1:*' --endpoint-file "$_n.ep" "$@" \
	    2>"$_n.log" &
	eval "pid_$_n=$!"
	pids="$pids $!"
	await "$_n endpoint" test -s "$_n.ep"
	eval "url_$_n=\$(cat $_n.ep)"
	[ $# -gt 0 ] && _o=$K || _o=
	eval "opts_$_n=\$_o"
	# shellcheck disable=SC2086
	"$bench" -c 0 --workers 1 --capacity 64 -u "$(cat "$_n.ep")" $_o \
	    2>"$_n-worker.log" &
	pids="$pids $!"
	# shellcheck disable=SC2086
	await "$_n worker" sh -c "[ \"\$('$cli' -u '$(cat "$_n.ep")' $_o \
	    -n mmi.service bench.echo)\" = 200 ]"
}
start plain
start curve --curve-secret broker_secret --clients clients --acl acl

hz=$(getconf CLK_TCK)

# cpu PID: clock ticks of all its threads
cpu() {
	cat /proc/"$1"/task/*/stat | sed 's/.*) //' |
	    awk '{ t += $12 + $13 } END { print t + 0 }'
}

# shellcheck disable=SC2154	# _u, _p and _o are set by eval
# run NAME SIZE: one waha-bench run; appends "rate cpu-us-per-request
# unverified" to NAME.runs
run() {
	eval "_u=\$url_$1 _p=\$pid_$1 _o=\$opts_$1"
	_before=$(cpu "$_p")
	# shellcheck disable=SC2086
	"$bench" -u "$_u" $_o -s "$2" -c 8 -w 16 -d "$secs" --json \
	    >run.json 2>>bench.log
	_after=$(cpu "$_p")
	python3 -c '
import json, sys
j = json.load(open("run.json"))
n = max(j["requests"], 1)
c = (int(sys.argv[2]) - int(sys.argv[1])) * 1e6 / float(sys.argv[3]) / n
print("%.0f %.2f %d" % (j["rate"], c, j["requests"] - j["verified"]))' \
	    "$_before" "$_after" "$hz" >>"$1.runs"
}

row() {
	_bad=$(awk '{ n += $3 } END { print n + 0 }' "$1.runs")
	awk -v l="$2" -v r="$(median "$1" 1)" -v c="$(median "$1" 2)" \
	    -v br="$3" -v bc="$4" -v bad="$_bad" -v sp="$(spread "$1")" \
	    'BEGIN { printf "  %-6s %9d %5s%% %7.2f %9.2f us %6.2f%s\n",
		l, r, sp, r / br, c, c / bc,
		(bad > 0 ? "  (" bad " not verified!)" : "") }'
}

echo "waha-broker, plain and CURVE (--clients, --acl): $(nproc) cores, load" \
    "$(cut -d' ' -f1-3 /proc/loadavg), ${secs} s runs, median of $rounds," \
    "alternating"
printf '  %-6s %9s %6s %7s %12s %6s\n' "" "req/s" "spread" "x plain" \
    "CPU/req" "x CPU"
for size in 64 4096; do
	rm -f plain.runs curve.runs
	r=1
	while [ $r -le "$rounds" ]; do
		if [ $((r % 2)) -eq 1 ]; then
			run plain "$size"
			run curve "$size"
		else
			run curve "$size"
			run plain "$size"
		fi
		r=$((r + 1))
	done
	echo "$size B, 8 clients x 16 in flight:"
	pr=$(median plain 1)
	pc=$(median plain 2)
	row plain plain "$pr" "$pc"
	row curve CURVE "$pr" "$pc"
done
echo "CPU/req: the broker's user + system time per request, all threads;"
echo "x: against the plain broker.  A spread of more than a few percent"
echo "means a busy machine."
