#!/bin/sh
# waha-broker's options: --help, --version, and a one-line error with exit
# status 1 for every bad option, before any socket is opened.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 21

out=$("$WAHA_BROKER" --help)
is "$?" 0 "--help exits 0"
like "$out" "--queue-timeout=MS" "--help lists the options"
is "$("$WAHA_BROKER" --version)" \
    "waha-broker (waha) $("$WAHA_BROKER" --version | awk '{ print $3 }')" \
    "--version prints name, package and version"
like "$("$WAHA_BROKER" --version)" '^waha-broker \(waha\) [0-9]+\.[0-9]+\.[0-9]+$' \
    "the version is three numbers"

bad() {
	_want=$1
	shift
	_out=$("$WAHA_BROKER" "$@" 2>&1 >/dev/null)
	_rc=$?
	is "$_rc:$(printf '%s\n' "$_out" | head -n 1)" "1:waha-broker: $_want" \
	    "waha-broker $*"
}

bad "--bogus: unknown option" --bogus
bad "--heartbeat: 'abc' is invalid (expected 10 to 3600000)" --heartbeat abc
bad "--heartbeat: '5' is too small (expected 10 to 3600000)" --heartbeat 5
bad "--liveness: '0' is too small (expected 1 to 1000)" --liveness 0
bad "--queue-timeout: '-2' is too small (expected -1 to 2147483647)" \
    --queue-timeout -2
bad "--max-name: '256' is too large (expected 1 to 255)" --max-name 256
bad "--max-msg-size: '100' is too small (expected 1024 to 2147483647)" \
    --max-msg-size 100
bad "--grace: '1e3' is invalid (expected 0 to 2147483647)" --grace 1e3
bad "--max-queue-bytes: '-1' is too small (expected 0 to 1099511627776)" \
    --max-queue-bytes -1
bad "--max-queue-bytes: '2TiB' is invalid (expected 0 to 1099511627776)" \
    --max-queue-bytes 2TiB
bad "unexpected argument: extra" extra
bad "--heartbeat: missing argument" --heartbeat

out=$("$WAHA_BROKER" -u 'bogus://x' 2>&1)
is "$?:$out" "1:waha-broker: fatal: broker: bind bogus://x: Protocol not supported" \
    "an endpoint that does not parse: exit 1 with the reason"

start_broker broker || exit 1
out=$("$WAHA_BROKER" -u "$BROKER" 2>&1)
like "$?:$out" "^1:waha-broker: fatal: broker: bind tcp://127.0.0.1:[0-9]+: Address already in use$" \
    "an endpoint in use: exit 1 with the reason"
is "$(cli -n mmi.services)" "" "the first broker still serves"

# --syslog: nothing on stderr (the lines go to syslog(3) instead).
start_broker quiet --syslog || exit 1
stop_daemon quiet
is "$stopped_status" 0 "a broker with --syslog stops cleanly"
is "$(cat "$SCRATCH/quiet.log")" "" "and writes nothing to stderr"
