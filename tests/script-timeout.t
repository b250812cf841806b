#!/bin/sh
# --timeout: a run over its time gets SIGTERM to its whole process group,
# SIGKILL after a grace of 1 s, and the client gets 504 with a reason.
# Grandchildren go too, even those that ignore SIGTERM or outlive the
# program while holding its stdout.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 12

# gone PID: the process no longer exists (or is a zombie left to init)
gone() {
	! kill -0 "$1" 2>/dev/null ||
	    ps -o stat= -p "$1" 2>/dev/null | grep -q '^Z'
}

# run SERVICE: call it with a pid file as its field; what waha-cli said
# on stderr is in $out, the grandchild's pid in $child, the time in $ms
run() {
	rm -f "$SCRATCH/pid"
	_t0=$(now_ms)
	out=$(cli -t 10000 -n "$1" "$SCRATCH/pid" 2>&1 >/dev/null)
	ms=$(($(now_ms) - _t0))
	child=$(cat "$SCRATCH/pid" 2>/dev/null)
}

start_broker broker --heartbeat 200 || exit 1
start_script polite polite --timeout 500 -s sh -- -c \
    'sleep 30 & echo $! >"$1"; wait' sh || exit 1
start_script stubborn stubborn --timeout 500 -s sh -- -c \
    'trap "" TERM; sleep 30 & echo $! >"$1"; wait' sh || exit 1
start_script orphan orphan --timeout 500 -s sh -- -c \
    'sleep 30 & echo $! >"$1"' sh || exit 1
start_script quick quick --timeout 500 -s echo || exit 1

run polite
is "$out" "waha-cli: 504 ran over 500 ms" "a run over --timeout: 504"
ok "the sleeping grandchild ($child) is gone too" \
    wait_for "pid $child to go" gone "$child"
ok "answered soon after the timeout ($ms ms)" test "$ms" -lt 3000

run stubborn
is "$out" "waha-cli: 504 ran over 500 ms" "a run that ignores SIGTERM: 504"
ok "its grandchild ($child), which ignores SIGTERM too, is gone" \
    wait_for "pid $child to go" gone "$child"
ok "after the SIGKILL grace ($ms ms >= 1500)" test "$ms" -ge 1500
ok "not much later (under 5 s)" test "$ms" -lt 5000

run orphan
is "$out" "waha-cli: 504 ran over 500 ms" \
    "a grandchild holding stdout after the program exited: 504"
ok "and it is gone ($child)" wait_for "pid $child to go" gone "$child"

is "$(cli -n quick fast)" fast "a run within its time is answered"
is "$(stat 's["services"]["polite"]["errors"]')" "{'504': 1}" \
    "the broker counts the 504"
is "$(cli -n polite >/dev/null 2>&1; cli -n quick again)" again \
    "the service goes on serving"
