#!/bin/sh
# bench/http.sh: requests per second, CPU and latency of waha-proxy-http
# in front of a broker and an echo worker, measured with wrk, next to
# two anchors on the same machine in the same run, alternating:
#   nginx static  nginx answering the same bytes itself (return 200);
#   nginx proxy   a second nginx in front of that one (proxy_pass, with
#                 as many kept-alive connections as wrk has): a gateway
#                 with a program behind it, which is what
#                 waha-proxy-http is.
# Not a test: make check does not run it.
#
# Usage: bench/http.sh [-c connections] [-d seconds] [-t wrk-threads]
#                      [-g gateway-threads] [-r rounds]
# Run from a built tree; needs wrk and nginx (Debian: wrk, nginx-light).
set -u

conns=50
secs=10
wthreads=2
gthreads=1
rounds=3
while getopts c:d:t:g:r: o; do
	case $o in
	c) conns=$OPTARG ;;
	d) secs=$OPTARG ;;
	t) wthreads=$OPTARG ;;
	g) gthreads=$OPTARG ;;
	r) rounds=$OPTARG ;;
	*) echo "usage: $0 [-c conns] [-d secs] [-t wrk-threads]" \
	    "[-g gateway-threads] [-r rounds]" >&2; exit 1 ;;
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
broker_pid=$!
pids="$pids $broker_pid"
await "the broker's endpoint" test -s "$tmp/broker.ep"
url=$(cat "$tmp/broker.ep")
"$worker" -u "$url" -n echo -c 256 2>"$tmp/worker.log" &
worker_pid=$!
pids="$pids $worker_pid"
"$gateway" -p 0 -u "$url" --threads "$gthreads" \
    --endpoint-file "$tmp/gateway.ep" 2>"$tmp/gateway.log" &
gateway_pid=$!
pids="$pids $gateway_pid"
await "the gateway's endpoint" test -s "$tmp/gateway.ep"
gw=$(cat "$tmp/gateway.ep")

# A free port.  (Only a benchmark may probe for one: the tests never do.)
free_port() {
	python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_nginx NAME SERVER-BLOCK: an nginx of its own prefix, in the
# foreground, one worker process, no logs of requests; its pid in
# ${NAME}_pid.
start_nginx() {
	_d=$tmp/$1
	mkdir -p "$_d/logs"
	cat >"$_d/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $_d/nginx.pid;
error_log $_d/logs/error.log;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $_d/body;
	proxy_temp_path $_d/proxy;
	fastcgi_temp_path $_d/fastcgi;
	uwsgi_temp_path $_d/uwsgi;
	scgi_temp_path $_d/scgi;
	$2
}
EOF
	"$nginx" -p "$_d" -c "$_d/nginx.conf" -e "$_d/logs/error.log" \
	    2>"$tmp/$1.log" &
	pids="$pids $!"
	eval "${1}_pid=$!"
}

static_port=$(free_port)
start_nginx static "server {
		listen 127.0.0.1:$static_port;
		keepalive_requests 1000000;
		location = /echo {
			default_type application/json;
			return 200 '[\"hello\"]';
		}
	}"
proxy_port=$(free_port)
start_nginx proxy "upstream static {
		server 127.0.0.1:$static_port;
		keepalive $conns;
	}
	server {
		listen 127.0.0.1:$proxy_port;
		keepalive_requests 1000000;
		location = /echo {
			proxy_pass http://static;
			proxy_http_version 1.1;
			proxy_set_header Connection \"\";
		}
	}"

gateway_url="http://$gw/echo?args=%5B%22hello%22%5D"
static_url="http://127.0.0.1:$static_port/echo"
proxy_url="http://127.0.0.1:$proxy_port/echo"
i=0
until [ "$(curl -s "$gateway_url")" = '["hello"]' ] &&
    [ "$(curl -s "$static_url")" = '["hello"]' ] &&
    [ "$(curl -s "$proxy_url")" = '["hello"]' ]; do
	i=$((i + 1))
	[ $i -gt 200 ] && { echo "$0: the gateway or an nginx is not" \
	    "answering" >&2; cat "$tmp"/*.log "$tmp"/*/logs/error.log >&2
	    exit 1; }
	sleep 0.05
done

hz=$(getconf CLK_TCK)

# ticks PID...: the clock ticks (user + system) of all their threads
ticks() {
	for _p in "$@"; do
		cat /proc/"$_p"/task/*/stat
	done | sed 's/.*) //' | awk '{ t += $12 + $13 } END { print t + 0 }'
}

# busy: the clock ticks the whole machine has not been idle, interrupts
# and softirqs (where the loopback's TCP work partly goes) included
busy() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# run NAME URL PID...: one wrk run; appends "rate server-us machine-us
# p50 p99 non-2xx" to $tmp/NAME.runs (CPU per request, latency in ms)
run() {
	_name=$1
	_url=$2
	shift 2
	_t0=$(ticks "$@")
	_b0=$(busy)
	wrk -t"$wthreads" -c"$conns" -d"${secs}s" --latency "$_url" \
	    >"$tmp/wrk.out" 2>&1
	_b1=$(busy)
	_t1=$(ticks "$@")
	awk -v t="$((_t1 - _t0))" -v b="$((_b1 - _b0))" -v hz="$hz" '
	function ms(v) {
		if (v ~ /us$/) return v / 1000
		if (v ~ /ms$/) return v + 0
		if (v ~ /m$/) return v * 60000
		return v * 1000
	}
	/requests in/ { n = $1 }
	/Requests\/sec/ { rps = $2 }
	/^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
	/Non-2xx/ { bad = $NF }
	END {
		if (n == 0) n = 1
		printf "%.0f %.2f %.2f %.3f %.3f %d\n", rps, t * 1e6 / hz / n,
		    b * 1e6 / hz / n, p50, p99, bad
	}' "$tmp/wrk.out" >>"$tmp/$_name.runs"
}

# row NAME LABEL
row() {
	awk -v l="$2" -v r="$(median "$1" 1)" -v sp="$(spread "$1")" \
	    -v sr="$(median static 1)" -v pr="$(median proxy 1)" \
	    -v c="$(median "$1" 2)" -v m="$(median "$1" 3)" \
	    -v p50="$(median "$1" 4)" -v p99="$(median "$1" 5)" \
	    -v bad="$(awk '{ n += $6 } END { print n + 0 }' "$tmp/$1.runs")" \
	    'BEGIN {
		printf "  %-16s %7d %4s%% %6.2f %6.2f %6.2f us %6.2f us" \
		    " %6.2f %6.2f%s\n", l, r, sp, r / sr, r / pr, c, m, p50,
		    p99, (bad > 0 ? "  (" bad " not 2xx!)" : "")
	}'
}

echo "waha-proxy-http vs nginx: $(nproc) cores, load" \
    "$(cut -d' ' -f1-3 /proc/loadavg); wrk -t$wthreads -c$conns," \
    "${secs} s runs, median of $rounds, alternating"
# start_nginx set these through eval.
static_pid=${static_pid:?}
proxy_pid=${proxy_pid:?}
r=1
while [ $r -le "$rounds" ]; do
	# Each round in another order, so that none always runs first.
	case $((r % 3)) in
	1) order="gateway static proxy" ;;
	2) order="static proxy gateway" ;;
	0) order="proxy gateway static" ;;
	esac
	for who in $order; do
		case $who in
		gateway) run gateway "$gateway_url" "$gateway_pid" \
		    "$broker_pid" "$worker_pid" ;;
		static) run static "$static_url" "$static_pid" ;;
		proxy) run proxy "$proxy_url" "$proxy_pid" "$static_pid" ;;
		esac
	done
	r=$((r + 1))
done
printf '  %-16s %7s %5s %6s %6s %9s %9s %6s %6s\n' "" "req/s" "spread" \
    "x stat" "x prox" "servers" "machine" "p50" "p99"
row static "nginx static"
row proxy "nginx proxy"
row gateway "waha-proxy-http"
cat <<EOF
waha-proxy-http: GET /echo?args=["hello"], $gthreads thread(s), through
waha-broker to an echo worker; nginx static: return 200 '["hello"]';
nginx proxy: proxy_pass to that nginx over kept-alive connections.
x stat, x prox: req/s against nginx static and nginx proxy.  CPU per
request: servers, the user + system time of the processes that answer
(gateway, broker and worker; both nginx for the proxy); machine, all the
time the machine was not idle (wrk, interrupts and softirqs included).
p50, p99: wrk's latency percentiles in ms.  spread: (fastest - slowest)
/ median of the $rounds runs; more than a few percent means a busy machine.
EOF
