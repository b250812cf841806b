#!/bin/sh
# Options of waha-proxy-balance: each bad one is a one-line error and
# exit 1 before anything is bound; --help lists them all.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "$WAHA_LIB")/balance-lib.sh"
setup
plan 22

EP="$SCRATCH/bal.endpoint"
# bad DESC PATTERN ARGS...: exits 1, first stderr line matches, nothing bound
bad() {
	_d=$1
	_p=$2
	shift 2
	"$WAHA_BALANCE" -b 'tcp://127.0.0.1:*' --endpoint-file "$EP" "$@" \
	    >/dev/null 2>"$SCRATCH/err"
	_rc=$?
	_first=$(head -n 1 "$SCRATCH/err")
	if [ "$_rc" = 1 ] && [ ! -e "$EP" ] &&
	    printf '%s\n' "$_first" | grep -Eq -- "$_p"; then
		ok "$_d" true
	else
		ok "$_d" false
		diag "exit $_rc, stderr: $(cat "$SCRATCH/err")"
	fi
}

bad "-n is required" "-n NAME is required"
bad "an empty name" "-n: empty service name" -n ''
bad "a name with a space" "not visible ASCII" -n 'a b'
bad "an mmi. name" "mmi\\. namespace is reserved" -n mmi.x
bad "--capacity 0" "--capacity: '0' is too small" -n svc --capacity 0
bad "--capacity 65536" "--capacity: '65536' is too large" \
    -n svc --capacity 65536
bad "--heartbeat abc" "--heartbeat: 'abc' is invalid" -n svc --heartbeat abc
bad "--liveness 0" "--liveness: '0' is too small" -n svc --liveness 0
bad "--queue-timeout -2" "--queue-timeout: '-2'" -n svc --queue-timeout -2
bad "--run-timeout x" "--run-timeout: 'x'" -n svc --run-timeout x
bad "--max-queue -1" "--max-queue: '-1'" -n svc --max-queue -1
bad "--max-queue-bytes x" "--max-queue-bytes: 'x' is invalid" -n svc \
    --max-queue-bytes x
bad "--max-frames 2" "--max-frames: '2' is too small" -n svc --max-frames 2
bad "--max-msg-size 10" "--max-msg-size: '10'" -n svc --max-msg-size 10
bad "--grace -1" "--grace: '-1'" -n svc --grace -1
bad "an unknown option" "--bogus: unknown option" -n svc --bogus
bad "a stray argument" "unexpected argument: extra" -n svc extra
bad "a broker URL that does not parse" "-u: nope: not an endpoint" -n svc -u nope
bad "a backend that cannot be bound" "bind bogus://x" -n svc -b bogus://x

like "$("$WAHA_BALANCE" --version)" "^waha-proxy-balance \(waha\) [0-9]" \
    "--version prints the version"
help=$("$WAHA_BALANCE" -h)
is "$?" 0 "-h exits 0"
missing=""
for o in -n, --name -u, --url -b, --backend --capacity --heartbeat \
    --liveness --queue-timeout --run-timeout --max-queue --max-queue-bytes \
    --max-msg-size \
    --max-frames --grace --syslog --endpoint-file -v, --verbose --version \
    -h, --help; do
	printf '%s\n' "$help" | grep -q -- "$o" || missing="$missing $o"
done
is "$missing" "" "-h lists every option"
