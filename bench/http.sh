#!/bin/sh
# bench/http.sh: requests per second and latency of waha-proxy-http in
# front of a broker and an echo worker, measured with wrk, next to nginx
# answering the same bytes from a static location on the same machine,
# both in one run.  Not a test: make check does not run it.
#
# Usage: bench/http.sh [-c connections] [-d seconds] [-t wrk-threads]
#                      [-g gateway-threads]
# Run from a built tree; needs wrk and nginx (Debian: wrk, nginx-light).
set -u

conns=50
secs=10
wthreads=2
gthreads=1
while getopts c:d:t:g: o; do
	case $o in
	c) conns=$OPTARG ;;
	d) secs=$OPTARG ;;
	t) wthreads=$OPTARG ;;
	g) gthreads=$OPTARG ;;
	*) echo "usage: $0 [-c conns] [-d secs] [-t wrk-threads]" \
	    "[-g gateway-threads]" >&2; exit 1 ;;
	esac
done

top=$(cd "$(dirname "$0")/.." && pwd)
broker=${WAHA_BROKER:-$top/src/waha-broker}
gateway=${WAHA_PROXY_HTTP:-$top/src/waha-proxy-http}
worker=${TEST_WORKER:-$top/tests/test-worker}
nginx=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
. "$top/bench/lib.sh"
need "$broker" "$gateway" "$worker" "$nginx"
command -v wrk >/dev/null || { echo "$0: wrk: not found" >&2; exit 1; }

"$broker" -u 'tcp://127.0.0.1:*' --endpoint-file "$tmp/broker.ep" \
    2>"$tmp/broker.log" &
pids="$pids $!"
await "the broker's endpoint" test -s "$tmp/broker.ep"
url=$(cat "$tmp/broker.ep")
"$worker" -u "$url" -n echo -c 256 2>"$tmp/worker.log" &
pids="$pids $!"
"$gateway" -p 0 -u "$url" --threads "$gthreads" \
    --endpoint-file "$tmp/gateway.ep" 2>"$tmp/gateway.log" &
pids="$pids $!"
await "the gateway's endpoint" test -s "$tmp/gateway.ep"
gw=$(cat "$tmp/gateway.ep")

# nginx on a free port, with its own prefix, in the foreground.  (Only a
# benchmark may probe for a free port: the tests never do.)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $tmp/nginx/body;
	proxy_temp_path $tmp/nginx/proxy;
	fastcgi_temp_path $tmp/nginx/fastcgi;
	uwsgi_temp_path $tmp/nginx/uwsgi;
	scgi_temp_path $tmp/nginx/scgi;
	server {
		listen 127.0.0.1:$port;
		location = /echo {
			default_type application/json;
			return 200 '["hello"]';
		}
	}
}
EOF
"$nginx" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" \
    -e "$tmp/nginx/logs/error.log" 2>"$tmp/nginx.log" &
pids="$pids $!"

gw_url="http://$gw/echo?args=%5B%22hello%22%5D"
ng_url="http://127.0.0.1:$port/echo"
i=0
until [ "$(curl -s "$gw_url")" = '["hello"]' ] &&
    [ "$(curl -s "$ng_url")" = '["hello"]' ]; do
	i=$((i + 1))
	[ $i -gt 200 ] && { echo "$0: gateway or nginx not answering" >&2
	    cat "$tmp"/*.log "$tmp/nginx/logs/error.log" >&2; exit 1; }
	sleep 0.05
done

# run NAME URL: wrk, its summary kept in $tmp/NAME.wrk
run() {
	wrk -t"$wthreads" -c"$conns" -d"${secs}s" --latency "$2" \
	    >"$tmp/$1.wrk" 2>&1
}
# row NAME LABEL: requests/s, latency average and percentiles
row() {
	awk -v label="$2" '
	/Requests\/sec/ { rps = $2 }
	/^ +Latency / && !lat { avg = $2; lat = 1 }
	/^ +50%/ { p50 = $2 } /^ +90%/ { p90 = $2 } /^ +99%/ { p99 = $2 }
	/Non-2xx/ { bad = $NF }
	END {
		printf "%-22s %10s %9s %9s %9s %9s%s\n", label, rps, avg, p50,
		    p90, p99, bad ? "  (" bad " non-2xx!)" : ""
	}' "$tmp/$1.wrk"
}

echo "wrk -t$wthreads -c$conns -d${secs}s on $(nproc) cores," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
run gateway "$gw_url"
run nginx "$ng_url"
printf '%-22s %10s %9s %9s %9s %9s\n' "" "requests/s" "avg" "p50" "p90" \
    "p99"
row gateway "waha-proxy-http ($gthreads)"
row nginx "nginx static (1)"
echo "gateway: GET /echo?args=[\"hello\"] through waha-broker to an echo" \
    "worker; nginx: return 200 '[\"hello\"]'."
