#!/bin/sh
# WAHA quick start on Debian: install what the build and the tests need,
# build this tree, and run a broker with example services on loopback:
#
#   broker              tcp://127.0.0.1:10000
#   system.user.add     htpasswd -b run/users.passwd USER PASSWORD
#   system.user.check   htpasswd -bv, two copies behind a balancer
#                       (backend tcp://127.0.0.1:10001)
#   demo.echo           echo ARGS...
#   demo.progress       doc/examples/progress.sh [STEPS]: a line a second,
#                       streamed to clients that ask (waha-cli -S, SSE)
#   HTTP gateway        http://127.0.0.1:9001/
#
# They run in the background; their logs and pids are in ./run.
#   ./quickstart.sh          install, build, start (the default)
#   ./quickstart.sh stop     stop them
set -eu
cd "$(dirname "$0")"
top=$PWD
run=$top/run

deps="build-essential autoconf automake autoconf-archive pkgconf
    libzmq3-dev libevent-dev libjansson-dev libpopt-dev uthash-dev
    libcrypt-dev libsodium-dev libncurses-dev
    apache2-utils python3 python3-zmq curl mandoc man-db"

say() {
	printf 'quickstart: %s\n' "$*"
}

stop() {
	for f in "$run"/*.pid; do
		[ -f "$f" ] || continue
		kill "$(cat "$f")" 2>/dev/null || true
		rm -f "$f"
	done
	say "stopped"
}

# start NAME COMMAND...: in the background, log in run/NAME.log
start() {
	n=$1
	shift
	"$@" >"$run/$n.log" 2>&1 &
	echo $! >"$run/$n.pid"
}

# ready SERVICE: wait until the broker says a worker serves it
ready() {
	i=0
	while [ "$("$top/src/waha-cli" -t 1000 -n mmi.service "$1" 2>/dev/null)" != 200 ]; do
		i=$((i + 1))
		if [ $i -ge 100 ]; then
			say "$1 did not come up; see $run/*.log"
			exit 1
		fi
		sleep 0.1
	done
}

case "${1:-start}" in
stop)
	stop
	exit 0
	;;
start)
	;;
*)
	echo "usage: $0 [start|stop]" >&2
	exit 1
	;;
esac

if ls "$run"/*.pid >/dev/null 2>&1; then
	say "already running (./quickstart.sh stop first)"
	exit 1
fi

# 1. What the build needs, from Debian's archive.
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo=sudo
else
	say "run me as root, or install sudo: apt-get needs root"
	exit 1
fi
say "installing build dependencies"
$sudo apt-get update -q
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
    --no-install-recommends $deps

# 2. Build.
say "building"
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure -q
make -s -j"$(nproc)"

# 3. Run: a broker, a balanced password checker, an adder, an echo
# service and the HTTP gateway, all on loopback.
mkdir -p "$run"
: >>"$run/users.passwd"
start broker src/waha-broker
start balance src/waha-proxy-balance -n system.user.check
for i in 1 2; do
	start "check$i" src/waha-service-script -u tcp://127.0.0.1:10001 \
	    -n system.user.check -s htpasswd --ret-code --no-stdout \
	    -- -bv "$run/users.passwd"
done
start add src/waha-service-script -n system.user.add -s htpasswd \
    --ret-code --stderr -- -b "$run/users.passwd"
start echo src/waha-service-script -n demo.echo -s echo
start progress src/waha-service-script -n demo.progress \
    -s "$top/doc/examples/progress.sh"
start http src/waha-proxy-http
for s in system.user.add system.user.check demo.echo demo.progress; do
	ready "$s"
done

say "running; try:"
cat <<'EOF'
    ./src/waha-cli -n mmi.services
    ./src/waha-cli -n demo.echo hello world
    ./src/waha-cli -n system.user.add admin admin
    ./src/waha-cli -o json -n system.user.check admin admin    # ["0"]
    ./src/waha-cli -o json -n system.user.check admin wrong    # ["3"]
    curl -g 'http://127.0.0.1:9001/system.user.check?args=["admin","admin"]'
    curl 'http://127.0.0.1:9001/metrics'
    ./src/waha-cli -S -n demo.progress 5      # a line a second; ^C stops it
    curl -gN -H 'Accept: text/event-stream' 'http://127.0.0.1:9001/demo.progress?args=["5"]'
    ./src/waha-top                     # watch it; or open http://127.0.0.1:9001/status
  stop them with ./quickstart.sh stop; run the tests with make check
EOF
