# Shell library of the TAP tests: sourced by every tests/*.t.
#
# Each test owns its daemons and its scratch directory; the EXIT trap
# kills every daemon it started and removes the directory.  Nothing here
# sleeps for a fixed time to "let things settle": wait_for polls.

: "${WAHA_BROKER:=../src/waha-broker}"
: "${WAHA_CLI:=../src/waha-cli}"
: "${TEST_WORKER:=./test-worker}"
: "${TEST_RAW:=./test-raw}"
: "${TEST_LOAD:=./test-load}"
: "${WAHA_SCRIPT:=../src/waha-service-script}"
: "${WAHA_SCRATCH:=${TMPDIR:-/tmp}}"
: "${WAIT_LIMIT:=20}"		# seconds a wait_for may take
: "${TEST_LIMIT:=300}"		# seconds a whole test may take

_tap_n=0
_tap_failed=0
_pids=""
_names=""
SCRATCH=""

plan() {
	echo "1..$1"
}

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

diag() {
	printf '# %s\n' "$@"
}

# ok DESC COMMAND...: passes if the command exits 0.
ok() {
	_d=$1
	shift
	_tap_n=$((_tap_n + 1))
	if "$@"; then
		echo "ok $_tap_n - $_d"
	else
		echo "not ok $_tap_n - $_d"
		_tap_failed=$((_tap_failed + 1))
	fi
}

# skip DESC REASON: a test that cannot run here, as a TAP SKIP
skip() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP $2"
}

# ok_memory DESC COMMAND...: ok for a bound on a daemon's memory; a SKIP
# under the sanitizers (WAHA_SANITIZER), whose allocator keeps freed
# memory.
ok_memory() {
	if [ -n "${WAHA_SANITIZER:-}" ]; then
		skip "$1" "the sanitizers' allocator keeps freed memory"
	else
		ok "$@"
	fi
}

# is GOT WANT DESC
is() {
	_tap_n=$((_tap_n + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $_tap_n - $3"
	else
		echo "not ok $_tap_n - $3"
		printf '%s\n' "$1" | sed -e '1s/^/#   got:  /' -e '2,$s/^/#         /'
		printf '%s\n' "$2" | sed -e '1s/^/#   want: /' -e '2,$s/^/#         /'
		_tap_failed=$((_tap_failed + 1))
	fi
}

# like GOT PATTERN DESC: a grep -E pattern
like() {
	_tap_n=$((_tap_n + 1))
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		echo "ok $_tap_n - $3"
	else
		echo "not ok $_tap_n - $3"
		printf '#   got:  %s\n#   want: /%s/\n' "$1" "$2"
		_tap_failed=$((_tap_failed + 1))
	fi
}

# wait_for DESC COMMAND...: poll until the command succeeds, up to
# WAIT_LIMIT seconds; returns 1 (and says so) if it never does.
wait_for() {
	_wd=$1
	shift
	_end=$(($(date +%s) + WAIT_LIMIT))
	while ! "$@" >/dev/null 2>&1; do
		if [ "$(date +%s)" -ge "$_end" ]; then
			diag "gave up waiting for $_wd"
			return 1
		fi
		sleep 0.05
	done
	return 0
}

# start_daemon NAME COMMAND...: run it in the background, stdout and
# stderr to $SCRATCH/NAME.log; its pid is in the variable pid_NAME.
start_daemon() {
	_n=$1
	shift
	"$@" >"$SCRATCH/$_n.log" 2>&1 &
	eval "pid_$_n=$!"
	_pids="$_pids $!"
	_names="$_names $_n"
}

# pid_of NAME
pid_of() {
	eval "echo \$pid_$1"
}

# alive NAME: whether the daemon is still running
alive() {
	kill -0 "$(pid_of "$1")" 2>/dev/null
}

# stop_daemon NAME [SIGNAL]: signal it (TERM) and wait for it to exit,
# up to WAIT_LIMIT seconds; the exit status is in $stopped_status.
stop_daemon() {
	_p=$(pid_of "$1")
	kill "-${2:-TERM}" "$_p" 2>/dev/null
	if ! wait_for "$1 to exit" sh -c "! kill -0 $_p"; then
		stopped_status=timeout
		return 1
	fi
	wait "$_p" 2>/dev/null
	stopped_status=$?
	return 0
}

# show_log NAME: the daemon's log as TAP comments, to explain a failure
show_log() {
	sed -e 's/^/# /' "$SCRATCH/$1.log" 2>/dev/null | tail -n 40
}

_cleanup() {
	_rc=$?
	for _p in $_pids; do
		kill -TERM "$_p" 2>/dev/null
	done
	for _p in $_pids; do
		_i=0
		while kill -0 "$_p" 2>/dev/null && [ $_i -lt 100 ]; do
			sleep 0.05
			_i=$((_i + 1))
		done
		kill -KILL "$_p" 2>/dev/null
	done
	[ -n "$_watchdog" ] && kill "$_watchdog" 2>/dev/null
	wait 2>/dev/null
	[ -n "$SCRATCH" ] && rm -rf "$SCRATCH"
	exit $_rc
}

# Every test starts here: a scratch directory, the cleanup trap and a
# watchdog that ends a test hung past TEST_LIMIT.
setup() {
	SCRATCH=$(mktemp -d "$WAHA_SCRATCH/waha-test.XXXXXX") || exit 99
	trap _cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'echo "Bail out! killed, or over $TEST_LIMIT s"; exit 143' TERM
	(
		trap 'kill $_s 2>/dev/null; exit 0' TERM
		sleep "$TEST_LIMIT" &
		_s=$!
		wait $_s && kill -TERM $$
	) >/dev/null 2>&1 </dev/null &
	_watchdog=$!
}

# start_broker [NAME] [OPTIONS...]: a broker on a port the kernel picks;
# its endpoint is in $BROKER (or the variable url_NAME for another name).
start_broker() {
	_bn=${1:-broker}
	[ $# -gt 0 ] && shift
	rm -f "$SCRATCH/$_bn.endpoint"
	start_daemon "$_bn" "$WAHA_BROKER" -u 'tcp://127.0.0.1:*' \
	    --endpoint-file "$SCRATCH/$_bn.endpoint" "$@"
	if ! wait_for "$_bn endpoint" test -s "$SCRATCH/$_bn.endpoint"; then
		show_log "$_bn"
		return 1
	fi
	eval "url_$_bn=\$(cat \"\$SCRATCH/\$_bn.endpoint\")"
	[ "$_bn" = broker ] && BROKER=$(cat "$SCRATCH/$_bn.endpoint")
	return 0
}

# cli ARGS...: waha-cli against $BROKER, with $CLI_OPTS (e.g. its keys)
cli() {
	"$WAHA_CLI" -u "$BROKER" ${CLI_OPTS:-} "$@"
}

# served NAME [N]: whether the broker has N (default 1) workers of NAME;
# with no N, whether mmi.service says 200.
served() {
	if [ $# -eq 1 ]; then
		[ "$(cli -t 1000 -n mmi.service "$1" 2>/dev/null)" = 200 ]
		return
	fi
	[ "$(workers_of "$1")" = "$2" ]
}

# workers_of NAME: the number of live workers of NAME per mmi.stats
workers_of() {
	cli -t 1000 -n mmi.stats 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)["services"].get(sys.argv[1])
print(s["workers"] if s else 0)' "$1"
}

# stat PYTHON-EXPRESSION: evaluate over the mmi.stats document "s"
stat() {
	cli -t 2000 -n mmi.stats | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$1"
}

# start_served NAME SERVICE COMMAND...: start_daemon a worker program
# and wait until the broker counts one more worker of SERVICE.
start_served() {
	_wn=$1
	_ws=$2
	shift 2
	_before=$(workers_of "$_ws")
	start_daemon "$_wn" "$@"
	if ! wait_for "worker $_wn" served "$_ws" $((_before + 1)); then
		show_log "$_wn"
		return 1
	fi
}

# start_worker NAME SERVICE [OPTIONS...]: a test worker on $BROKER,
# waited for until the broker counts it.
start_worker() {
	_wn=$1
	_ws=$2
	shift 2
	start_served "$_wn" "$_ws" "$TEST_WORKER" -u "$BROKER" -n "$_ws" "$@"
}

# start_script NAME SERVICE [OPTIONS...]: a waha-service-script on
# $BROKER with 200 ms heartbeats, waited for until the broker counts it.
start_script() {
	_wn=$1
	_ws=$2
	shift 2
	start_served "$_wn" "$_ws" "$WAHA_SCRIPT" -u "$BROKER" -n "$_ws" \
	    --heartbeat 200 "$@"
}

# now_ms: wall-clock milliseconds, for elapsed times
now_ms() {
	date +%s%3N
}

# rss_kb PID: resident memory in kB
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}
