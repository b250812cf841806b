#!/bin/sh
# bench/script.sh [BUILDDIR [RUNS]]: runs per second of /bin/true through
# waha-service-script with -c 1 and with -c 4, on a private broker.
# Clients keep twice the concurrency in flight, so that the next request
# always waits in the broker when a run ends.  Needs a built tree
# (make check builds tests/test-load).
top=${1:-.}
runs=${2:-5000}
dir=$(mktemp -d)
pids=""
trap 'kill $pids 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM

"$top/src/waha-broker" -u 'tcp://127.0.0.1:*' --endpoint-file "$dir/ep" \
    2>"$dir/broker.log" &
pids="$pids $!"
until [ -s "$dir/ep" ]; do
	sleep 0.05
done
url=$(cat "$dir/ep")
for c in 1 4; do
	"$top/src/waha-service-script" -u "$url" -n "true$c" -c "$c" \
	    -s /bin/true 2>"$dir/script$c.log" &
	pids="$pids $!"
	until [ "$("$top/src/waha-cli" -u "$url" -n mmi.service "true$c")" = \
	    200 ]; do
		sleep 0.05
	done
done
echo "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $runs runs each"
for c in 1 4; do
	printf -- '-c %s: ' "$c"
	"$top/tests/test-load" -u "$url" -n "true$c" --any -c "$c" -w 2 \
	    -r "$runs" -t 20000 || exit 1
done
