#!/bin/sh
# Streaming from waha-service-script through the broker (and a balancer)
# to waha-cli --stream (DESIGN.md 2.7): progress shows as it happens,
# proved by a program that waits for a file the test creates only after
# it has seen the first line; the final reply keeps stderr and the exit
# status; a slow reader holds the program back in bounded memory; a
# reader that goes (Ctrl-C, kill -9, a closed DEALER) stops the program's
# process group within 2 s; requests without stream=1 are unchanged.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
. "$(dirname "${WAHA_LIB:-$0}")/balance-lib.sh"
need_pyzmq
setup
plan 27

start_broker broker --heartbeat 200 || exit 1

# progress FILE: "ready", then "done" once FILE exists; "oops" on stderr
cat >"$SCRATCH/progress" <<'PROG'
#!/bin/sh
echo ready
while [ ! -e "$1" ]; do sleep 0.02; done
echo done
echo oops >&2
exit 3
PROG
# hold PIDFILE: its pid (its process group) in PIDFILE, "ready", then it
# and a child wait, silent
cat >"$SCRATCH/hold" <<'PROG'
#!/bin/sh
echo $$ >"$1.tmp" && mv "$1.tmp" "$1"
echo ready
sleep 300 &
wait
PROG
chmod +x "$SCRATCH/progress" "$SCRATCH/hold"
start_script progress progress -s "$SCRATCH/progress" -e -r -c 4 || exit 1
start_script hold hold -s "$SCRATCH/hold" -c 4 || exit 1

# has FILE TEXT: whether FILE holds a line TEXT
has() {
	grep -qx "$2" "$1" 2>/dev/null
}

# Through waha-cli: "ready" arrives while the program still waits.
"$WAHA_CLI" -u "$BROKER" --stream -n progress "$SCRATCH/go1" \
    >"$SCRATCH/out1" 2>"$SCRATCH/err1" &
cpid=$!
ok "waha-cli shows the first line while the program runs" \
    wait_for "ready" has "$SCRATCH/out1" ready
ok "and nothing more yet" [ "$(cat "$SCRATCH/out1")" = ready ]
touch "$SCRATCH/go1"
wait $cpid
is "$?" 0 "the stream ends well"
is "$(cat "$SCRATCH/out1")" "ready
done
oops
3" "partials, then the final's stderr and exit status"

# Without --stream: one reply, as before; -o delimited shows the fields.
touch "$SCRATCH/go2"
is "$(cli -n progress "$SCRATCH/go2")" "ready
done

oops

3" "without stream=1 the same service replies once, as before"
is "$(mdp client "$BROKER" progress "$SCRATCH/go2")" 'ready\x0adone\x0a
oops\x0a
3' "an MDP client too"
touch "$SCRATCH/go3"
is "$("$WAHA_CLI" -u "$BROKER" --stream -o json -n progress "$SCRATCH/go3")" \
    '["ready\ndone\n"]
["oops\n","3"]' "-o json: a line for each part"

# Through a balancer: the same handshake.
start_balancer bprog || exit 1
_before=$(ready_count)
start_daemon bscript "$WAHA_SCRIPT" -u "$BACKEND" -n bprog \
    -s "$SCRATCH/progress" --heartbeat 200 || exit 1
wait_for "the script behind the balancer" ready_over "$_before"
wait_for "the balancer registered" served bprog 1
"$WAHA_CLI" -u "$BROKER" --stream -n bprog "$SCRATCH/go4" \
    >"$SCRATCH/out4" 2>"$SCRATCH/err4" &
cpid=$!
ok "through a balancer: the first line while the program runs" \
    wait_for "ready" has "$SCRATCH/out4" ready
touch "$SCRATCH/go4"
wait $cpid
is "$?" 0 "and the stream ends well"
is "$(cat "$SCRATCH/out4")" "ready
done" "with everything"

# A slow reader: 64 MiB, and a reader that waits for a file before it
# reads.  Until then the program is held back by the window: the broker
# has streamed little, and memory stays small.
cat >"$SCRATCH/zero" <<'PROG'
#!/bin/sh
exec head -c 67108864 /dev/zero
PROG
cat >"$SCRATCH/reader" <<'PROG'
#!/bin/sh
while [ ! -e "$1" ]; do sleep 0.02; done
exec sha256sum
PROG
chmod +x "$SCRATCH/zero" "$SCRATCH/reader"
start_script zero zero -s "$SCRATCH/zero" || exit 1
want=$(head -c 67108864 /dev/zero | sha256sum)
("$WAHA_CLI" -u "$BROKER" --stream -n zero |
    "$SCRATCH/reader" "$SCRATCH/read") >"$SCRATCH/hash" 2>&1 &
rpid=$!
streamed() {
	stat 's["totals"]["streamed_bytes"]'
}
wait_for "the opening window used" \
    sh -c "[ \"\$(\"$WAHA_CLI\" -u $BROKER -t 2000 -n mmi.stats | $PYTHON -c 'import json,sys; print(json.load(sys.stdin)[\"totals\"][\"streamed_bytes\"])')\" -ge 262144 ]"
first=$(streamed)
ok "while the reader waits, little is streamed ($first bytes)" \
    [ "$first" -lt 1048576 ]
touch "$SCRATCH/read"
wait $rpid
is "$(cat "$SCRATCH/hash")" "$want" "then all 64 MiB arrive intact"
hwm() {
	awk '/^VmHWM/ { print $2 }' "/proc/$(pid_of "$1")/status"
}
ok_memory "the broker stayed under 32 MB ($(hwm broker) kB)" \
    [ "$(hwm broker)" -lt 32768 ]
ok_memory "the script service stayed under 32 MB ($(hwm zero) kB)" \
    [ "$(hwm zero)" -lt 32768 ]

# gone_within PIDFILE MS: whether the process group in PIDFILE is gone
# within MS milliseconds
gone_within() {
	_pg=$(cat "$1")
	_end=$(($(now_ms) + $2))
	while kill -0 -- "-$_pg" 2>/dev/null; do
		[ "$(now_ms)" -ge "$_end" ] && return 1
		sleep 0.02
	done
	return 0
}

# A reader that goes: Ctrl-C (waha-cli cancels), kill -9 (the broker
# finds the client gone), a DEALER closed.
"$WAHA_CLI" -u "$BROKER" --stream -n hold "$SCRATCH/pg1" \
    >"$SCRATCH/out5" 2>"$SCRATCH/err5" &
cpid=$!
wait_for "ready" has "$SCRATCH/out5" ready
kill -INT $cpid
wait $cpid
is "$?" 130 "Ctrl-C: waha-cli exits 130"
ok "after it has cancelled the request" \
    grep -q 'interrupted: the request is cancelled' "$SCRATCH/err5"
ok "the program's process group is gone within 2 s" \
    gone_within "$SCRATCH/pg1" 2000

"$WAHA_CLI" -u "$BROKER" --stream -n hold "$SCRATCH/pg2" \
    >"$SCRATCH/out6" 2>&1 &
cpid=$!
wait_for "ready" has "$SCRATCH/out6" ready
kill -9 $cpid
ok "kill -9 of waha-cli: the process group is gone within 2 s" \
    gone_within "$SCRATCH/pg2" 2000

is "$("$PYTHON" "$TESTS_SRC/stream.py" client "$BROKER" hold "$SCRATCH/pg3" \
    --quit-after 1 --text)" "206 ready" "a DEALER takes the first line and closes"
ok "its program's process group is gone within 2 s" \
    gone_within "$SCRATCH/pg3" 2000

# A deadline still ends a stream: 504 after the partials.
out=$("$WAHA_CLI" -u "$BROKER" --stream -t 500 -n hold "$SCRATCH/pg4" 2>&1)
is "$?" 5 "-t 500 on a stream that runs on: exit 5"
is "$out" "ready
waha-cli: 504 its deadline of 500 ms passed while it ran" \
    "the line it printed, then the 504"

# Bad input.
out=$("$WAHA_CLI" -u "$BROKER" --window 4096 -n progress x 2>&1)
is "$?" 1 "--window without --stream: usage error"
like "$out" "window has no meaning without --stream" "which it names"
out=$("$WAHA_CLI" -u "$BROKER" --stream --window 12 -n progress x 2>&1)
is "$?" 1 "--window 12: usage error"
is "$("$WAHA_CLI" -u "$BROKER" --stream -n nosuch 2>&1)" \
    "waha-cli: 404 no such service" "a stream to no service: 404"
is "$(stat 's["streams_open"]')" 0 "no stream is left open"
