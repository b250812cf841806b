#!/bin/sh
# waha-cli exit statuses: 0 on 200, 1 usage or bad input, 2 cannot
# connect, 3 timeout, 4 any 4xx, 5 any 5xx; the status and reason on
# stderr, nothing on stdout unless 200.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
setup
plan 27

start_broker broker --heartbeat 200 --max-name 20 --run-timeout 1500 ||
    exit 1
start_worker echo echo --heartbeat 200 || exit 1
start_worker never never --mode never --heartbeat 200 || exit 1
start_worker fail500 fail500 --mode fail --status 500 --heartbeat 200 ||
    exit 1
start_worker fail400 fail400 --mode fail --status 400 --heartbeat 200 ||
    exit 1
start_worker crash crash --mode crash --heartbeat 200 || exit 1

# run ARGS...: waha-cli, with $rc, $out and $err set
run() {
	cli "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
	rc=$?
	out=$(cat "$SCRATCH/out")
	err=$(cat "$SCRATCH/err")
}

run -n echo hi
is "$rc/$out/$err" "0/hi/" "200: exit 0, the fields on stdout, stderr quiet"
run -n echo -t -1 hi
is "$rc/$out" "0/hi" "-t -1 waits as long as it takes"

run -n echo -x
is "$rc" 1 "a bad option: exit 1"
run -n echo -d hex zz
is "$rc" 1 "bad input: exit 1"

run -n echo -u "ipc://$SCRATCH/nobody.sock" -t 300 hi
is "$rc" 2 "no broker at the endpoint: exit 2"
is "$err" \
    "waha-cli: cannot connect to ipc://$SCRATCH/nobody.sock within 300 ms" \
    "and says so"
is "$out" "" "stdout stays empty"

# The broker, told the deadline, answers 504 as waha-cli gives up: either
# may be first.  (cli-reply.t has the timeout alone, from a silent peer.)
run -n never -t 300 hi
like "$rc" '^[35]$' "no reply within -t: exit 3 (or 5, the broker's 504)"
like "$rc:$err" "^(3:waha-cli: no reply from $BROKER within 300 ms|5:waha-cli: 504 its deadline of 300 ms passed while it ran)\$" \
    "and says so"
is "$out" "" "stdout stays empty"

run -n nosuch hi
is "$rc" 4 "404: exit 4"
is "$err" "waha-cli: 404 no such service" "status and reason on stderr"
is "$out" "" "stdout stays empty"
run -n abcdefghijklmnopqrstu
is "$rc" 4 "400 from the broker (name over --max-name): exit 4"
is "$err" "waha-cli: 400 service name too long" "with its reason"
run -n fail400 x
is "$rc/$err" "4/waha-cli: 400 test failure" \
    "400 from a worker's FAIL: exit 4"

run -n fail500 x
is "$rc" 5 "500: exit 5"
is "$err" "waha-cli: 500 test failure" "with the worker's reason"
is "$out" "" "stdout stays empty"
run -n crash x
is "$rc" 5 "503 (the worker died with the request): exit 5"
like "$err" '^waha-cli: 503 ' "stderr says 503"
ok "the crashing worker is gone" wait_for "crash to exit" sh -c \
    "! kill -0 $(pid_of crash)"

# never holds every request: the first one waits in the worker until
# the run timeout (1500 ms) answers it 504.
run -n never -t 10000 x
is "$rc" 5 "504 (ran too long in the worker): exit 5"
like "$err" '^waha-cli: 504 ran over 1500 ms$' "stderr says 504 and why"

run -n mmi.nope
is "$rc/$err" "5/waha-cli: 501 no such mmi. service" "501: exit 5"
run -n mmi.service echo
is "$rc/$out" "0/200" "mmi.service answers 200 with the RFC 8 code"
run -n mmi.service nosuch
is "$rc/$out" "0/404" "mmi.service of an unknown service is still a 200 reply"
