#!/bin/sh
# Bad options: a one-line error on stderr (and a pointer to --help) and
# exit 1, before anything connects; --help and --version exit 0.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 31

# bad EXPECTED-FIRST-LINE ARGS...: two tests, the exit status and the
# first line of stderr
bad() {
	_want=$1
	shift
	"$WAHA_SCRIPT" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
	is "$?" 1 "exit 1: $*"
	is "$(head -n 1 "$SCRATCH/err")" "waha-service-script: $_want" \
	    "says why: $*"
}

bad "-n NAME is required"
bad "-s PROGRAM is required" -n svc
bad "-n NAME is required" -s true
bad "-n: service name has a byte that is not visible ASCII" -n 'a b' -s true
bad "-c: '0' is too small (expected 1 to 65535)" -n svc -s true -c 0
bad "-c: 'x' is invalid (expected 1 to 65535)" -n svc -s true -c x
bad "-c: '65536' is too large (expected 1 to 65535)" -n svc -s true \
    --concurrency 65536
bad "--timeout: 0 is not a timeout (-1 is none)" -n svc -s true --timeout 0
bad "--timeout: '-2' is too small (expected -1 to 2147483647)" -n svc \
    -s true --timeout -2
bad "--max-output: '-5' is too small (expected 0 to 2147483647)" -n svc \
    -s true --max-output -5
bad "--heartbeat: '5' is too small (expected 10 to 3600000)" -n svc \
    -s true --heartbeat 5
bad "--chdir: $SCRATCH/nosuch: No such file or directory" -n svc -s true \
    --chdir "$SCRATCH/nosuch"
bad "--bogus: unknown option" -n svc -s true --bogus
bad "-u: nonsense: not an endpoint (TRANSPORT://ADDRESS, e.g. tcp://127.0.0.1:10000)" \
    -n svc -s true -u nonsense

"$WAHA_SCRIPT" --help >"$SCRATCH/help"
is "$?" 0 "--help exits 0"
missing=""
for o in --name --script --url --no-stdout --stderr --ret-code \
    --concurrency --timeout --max-output --stdin --chdir --keep-env \
    --heartbeat --liveness --syslog --verbose --version --help; do
	grep -q -- "$o" "$SCRATCH/help" || missing="$missing $o"
done
is "$missing" "" "--help lists every option"
like "$("$WAHA_SCRIPT" --version)" '^waha-service-script \(waha\) ' \
    "--version names the program and the package"
