#!/bin/sh
# Type=notify readiness: with NOTIFY_SOCKET set, each daemon sends
# READY=1 there once its sockets are bound (a path, and an abstract
# address), and without it nothing breaks.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup

# listen ADDRESS OUTFILE: receive one datagram, write it to OUTFILE.
listen() {
	python3 - "$1" "$2" <<'PY' &
import socket, sys
addr, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
open(out + ".ready", "w").close()
s.settimeout(20)
try:
    data = s.recv(4096)
except socket.timeout:
    data = b"(nothing)"
open(out, "wb").write(data)
PY
	_listener=$!
	wait_for "the listener" test -e "$2.ready"
}

# check NAME ADDRESS COMMAND...
check() {
	_n=$1
	_a=$2
	shift 2
	listen "$_a" "$SCRATCH/$_n.got"
	NOTIFY_SOCKET=$_a start_daemon "$_n" "$@"
	wait $_listener
	is "$(cat "$SCRATCH/$_n.got")" "READY=1" "$_n sends READY=1 to $_a"
	stop_daemon "$_n"
	is "$stopped_status" 0 "$_n stops cleanly"
}

check broker "$SCRATCH/notify.sock" \
    "$WAHA_BROKER" -u 'tcp://127.0.0.1:*' --endpoint-file "$SCRATCH/ep"
check abstract "@waha-test-$$" \
    "$WAHA_BROKER" -u 'tcp://127.0.0.1:*'
BROKER=$(cat "$SCRATCH/ep")
if [ -x "$WAHA_BINDIR/waha-proxy-balance" ]; then
	check balance "$SCRATCH/notify2.sock" "$WAHA_BINDIR/waha-proxy-balance" \
	    -n svc -b 'tcp://127.0.0.1:*'
fi
if [ -x "$WAHA_BINDIR/waha-service-script" ]; then
	check script "$SCRATCH/notify3.sock" "$WAHA_BINDIR/waha-service-script" \
	    -n svc -s true
fi
if [ -x "$WAHA_BINDIR/waha-proxy-http" ]; then
	check http "$SCRATCH/notify4.sock" "$WAHA_BINDIR/waha-proxy-http" -p 0
fi

start_daemon plain "$WAHA_BROKER" -u 'tcp://127.0.0.1:*' \
    --endpoint-file "$SCRATCH/ep2"
wait_for "a broker without NOTIFY_SOCKET" test -s "$SCRATCH/ep2"
ok "without NOTIFY_SOCKET the broker runs" alive plain
echo "1..$_tap_n"
