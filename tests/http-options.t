#!/bin/sh
# Options: --help and --version, and every bad option or value is a
# one-line error with exit status 1, before anything listens.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/http-lib.sh"
setup
plan 29

out=$("$WAHA_PROXY_HTTP" --help)
is "$?" 0 "--help exits 0"
for o in --port --address --url --timeout --threads --max-body --cors \
    --header-timeout --body-timeout --grace --syslog --endpoint-file \
    --verbose --version --help; do
	case $out in
	*"$o"*) ;;
	*) break ;;
	esac
done
is "$o" --help "--help lists every option"
is "$("$WAHA_PROXY_HTTP" --version)" "waha-proxy-http (waha) 0.1.0" \
    "--version"

# bad ARGS... PATTERN: exit 1, the pattern on stderr's first line, and
# a pointer to --help
bad() {
	_pat=$(eval "echo \${$#}")
	_n=$(($# - 1))
	_args=""
	_i=0
	for _a in "$@"; do
		_i=$((_i + 1))
		[ $_i -le $_n ] && _args="$_args '$_a'"
	done
	_err=$(eval "\"\$WAHA_PROXY_HTTP\" -u tcp://127.0.0.1:1 $_args" \
	    2>&1 >/dev/null </dev/null)
	_rc=$?
	_tap_n=$((_tap_n + 1))
	if [ $_rc = 1 ] && printf '%s\n' "$_err" | head -n 1 |
	    grep -Eq -- "$_pat" && printf '%s\n' "$_err" | grep -q Try; then
		echo "ok $_tap_n - $_args is refused"
	else
		echo "not ok $_tap_n - $_args is refused"
		printf '#   rc %s: %s\n' "$_rc" "$_err"
		_tap_failed=$((_tap_failed + 1))
	fi
}
bad -p 65536 "--port: '65536' is too large"
bad -p -1 "--port: '-1' is too small"
bad -p http "--port: 'http' is invalid"
bad -t -2 "--timeout: '-2' is too small"
bad -t 5s "--timeout: '5s' is invalid"
bad --threads 0 "--threads: '0' is too small"
bad --threads 65 "--threads: '65' is too large"
bad --max-body -1 "--max-body: '-1' is too small"
bad --max-body 1M "--max-body: '1M' is invalid"
bad --header-timeout -5 "--header-timeout: '-5' is too small"
bad --body-timeout x "--body-timeout: 'x' is invalid"
bad --grace -1 "--grace: '-1' is too small"
bad --cors 'a b' "--cors: an origin is visible ASCII"
bad --cors '' "--cors: an origin is visible ASCII"
bad --address 'no such host!' "--address no such host!: "
bad --frobnicate "--frobnicate: unknown option"
bad -p "-p: missing argument"
bad extra "unexpected argument: extra"

start_broker broker --heartbeat 200 || exit 1
start_gateway || exit 1
like "$HTTP" '^127\.0\.0\.1:[0-9]+$' "--endpoint-file has the address:port bound"
like "$(cat "$SCRATCH/gateway.log")" \
    "listening on $HTTP, broker $BROKER, 1 thread" \
    "which is logged at startup"
port=${HTTP##*:}
err=$("$WAHA_PROXY_HTTP" -p "$port" -u "$BROKER" 2>&1 >/dev/null)
is "$?" 1 "a port in use is an error"
like "$err" "cannot listen on 127.0.0.1 port $port: Address already in use" \
    "that says why"
err=$("$WAHA_PROXY_HTTP" -p 0 -u "$BROKER" \
    --endpoint-file "$SCRATCH/no/such/dir/ep" 2>&1 >/dev/null)
is "$?" 1 "an endpoint file that cannot be written is an error"
if $PYTHON -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
    2>/dev/null; then
	start_gateway six --address ::1 || exit 1
	like "$http_six" '^\[::1\]:[0-9]+$' "--address ::1 listens on IPv6"
else
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n # SKIP no IPv6 loopback here"
fi

# --syslog: nothing on stderr, even with -v (the lines go to syslog(3)).
start_gateway quiet --syslog -v || exit 1
HTTP=$http_quiet
hreq '/nosuch'
stop_daemon quiet
is "$stopped_status" 0 "a gateway with --syslog stops cleanly"
is "$(cat "$SCRATCH/quiet.log")" "" "and writes nothing to stderr"
