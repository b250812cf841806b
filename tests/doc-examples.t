#!/bin/sh
# The example programs of waha-protocol(7), doc/examples/client.py and
# worker.py, work against a broker, and the page shows them as they are.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
need_pyzmq
setup
plan 17

EXAMPLES=$TESTS_SRC/../doc/examples
PAGE=${WAHA_MANDIR:-$TESTS_SRC/../man}/waha-protocol.7

# shown FILE: the lines of the page between its ".\" begin FILE" and
# ".\" end FILE" comments, with the roff escapes \e and \& undone
shown() {
	sed -n "/^\\.\\\\\" begin $1\$/,/^\\.\\\\\" end $1\$/p" "$PAGE" |
	    sed -e '1d' -e '$d' -e '/^\.Bd /d' -e '/^\.Ed$/d' \
	    -e 's/\\e/\\/g' -e 's/\\&//g'
}

for f in client.py worker.py stream-client.py stream-worker.py; do
	shown "$f" >"$SCRATCH/$f"
	ok "waha-protocol(7) shows $f as it is" \
	    cmp -s "$SCRATCH/$f" "$EXAMPLES/$f"
done

start_broker || exit 1
start_daemon worker "$PYTHON" "$EXAMPLES/worker.py" "$BROKER" upper
ok "worker.py registers" wait_for "worker.py" served upper
is "$(cli -n upper hello world)" "HELLO
WORLD" "waha-cli calls worker.py"

client() {
	"$PYTHON" "$EXAMPLES/client.py" "$BROKER" "$@"
}
is "$(client upper a b)" "A
B" "client.py calls worker.py"
is "$(client mmi.service upper)" 200 "client.py calls mmi.service"
out=$(client nosuch x 2>&1)
is "$?/$out" "1/404 no such service" "client.py reports a 404"

start_daemon sworker "$PYTHON" "$EXAMPLES/stream-worker.py" "$BROKER" count
ok "stream-worker.py registers" wait_for "stream-worker.py" served count
is "$("$PYTHON" "$EXAMPLES/stream-client.py" "$BROKER" count 3)" "1
2
3
done" "stream-client.py streams from stream-worker.py"
is "$(cli -n count 2)" "1
2
done" "a request without stream=1 gets it all in one reply"

# (at the broker's default heartbeat, as worker.py and stream-worker.py)
start_served progress demo.progress "$WAHA_SCRIPT" -u "$BROKER" \
    -n demo.progress -s "$EXAMPLES/progress.sh" || exit 1
is "$("$WAHA_CLI" -u "$BROKER" -S -n demo.progress 2)" "step 1 of 2
step 2 of 2
done" "progress.sh streams through waha-cli -S"

stop_daemon worker TERM
is "$stopped_status" 0 "worker.py exits 0 on SIGTERM"
ok "after its DISCONNECT the broker has no worker for upper" \
    served upper 0
is "$(client mmi.service upper)" 404 "mmi.service says so"

# doc/examples/htpasswd.sh, the original example as a script, runs as
# written (on endpoints of this test's own).
if command -v htpasswd >/dev/null 2>&1; then
	out=$(WAHA_BIN=$WAHA_BINDIR sh "$EXAMPLES/htpasswd.sh" \
	    "ipc://$SCRATCH/b.sock" "ipc://$SCRATCH/back.sock" 2>/dev/null)
	is "$out" '["","Adding password for user admin\n","0"]
["0"]
["3"]' "doc/examples/htpasswd.sh adds a user and checks two passwords"
else
	ok "# SKIP htpasswd is not installed" true
fi
