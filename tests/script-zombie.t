#!/bin/sh
# After 1,000 runs the service has no zombie (nor any) children and the
# same descriptors as before; every descriptor it opens is close-on-exec.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 8

# fds PID: its open descriptors, one a line
fds() {
	ls "/proc/$1/fd" | sort -n
}

# children PID: its child processes, as "PID STATE" lines
children() {
	ps -o pid=,stat= --ppid "$1"
}

start_broker broker --heartbeat 200 || exit 1
start_script true true -c 4 -s /bin/true || exit 1
pid=$(pid_of true)
cli -n true >/dev/null
before=$(fds "$pid")
out=$("$TEST_LOAD" -u "$BROKER" -n true --any -c 4 -w 4 -r 1000 -t 20000)
is "$?" 0 "1,000 runs through test-load all answered 200"
diag "$out"
is "$(children "$pid")" "" "no child left, zombie or not"
is "$(fds "$pid")" "$before" "the same descriptors as before the runs"
is "$(stat 's["workers"][0]["served"]')" 1001 "the broker counted every run"
ok "the service is alive" alive true

# Every descriptor the service opened (not those it inherited from this
# shell) is close-on-exec, pipes of a running program included.
start_script slow slow --stdin -e -s sh -- -c 'sleep 2; cat' sh || exit 1
spid=$(pid_of slow)
cli -t 10000 -n slow payload >"$SCRATCH/slow.out" &
slow=$!
running() {
	[ -n "$(children "$spid")" ]
}
wait_for "a running program" running
mine=$(ls /proc/$$/fd)
bad=""
n=0
for fd in $(fds "$spid"); do
	[ "$fd" -le 2 ] && continue
	printf '%s\n' "$mine" | grep -qx "$fd" && continue
	n=$((n + 1))
	flags=$(sed -n 's/^flags:[[:space:]]*//p' "/proc/$spid/fdinfo/$fd")
	[ $((0$flags & 02000000)) -ne 0 ] || bad="$bad $fd"
done
ok "the service has descriptors of its own ($n)" test "$n" -gt 3
is "$bad" "" "every one of them is close-on-exec"
wait "$slow"
is "$(cat "$SCRATCH/slow.out")" payload "and the slow run is answered"
