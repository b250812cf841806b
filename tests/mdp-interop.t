#!/bin/sh
# Majordomo (RFC 7/MDP) peers written elsewhere work with waha-broker
# unchanged: tests/mdp.py is an independent pyzmq client and worker
# written from the RFC.  Python client to Python worker and to a WAHA
# worker, waha-cli to a Python worker, RFC 8 mmi. replies, a request
# queued until its first worker comes, DISCONNECT both ways, heartbeats.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
need_pyzmq
setup
plan 27

# Heartbeats every 100 ms, and 10 of them missed before a peer is dead,
# so that a loaded machine does not make peers look dead.
start_broker broker --heartbeat 100 --liveness 10 --queue-timeout 20000 ||
    exit 1

start_mdp_worker pecho pecho --delay 20 || exit 1
start_worker rev rev --mode reverse --heartbeat 100 --liveness 10 || exit 1
start_worker fail fail --mode fail --status 500 --heartbeat 100 \
    --liveness 10 || exit 1

is "$(mdp client "$BROKER" pecho hello x:00ff)" 'hello
\x00\xff' "MDP REQ client, MDP worker: the body comes back"
is "$(mdp client --dealer "$BROKER" pecho a b)" 'a
b' "MDP DEALER client (explicit empty frame 0)"
is "$(mdp client --dealer --count 10 "$BROKER" pecho a | tr -d '\n')" \
    aaaaaaaaaa "ten requests in flight at once all come back"
is "$(events pecho overlap)" 0 \
    "the RFC worker never got a second request before its reply"
is "$(mdp client "$BROKER" rev a b c | tr '\n' ' ')" "c b a " \
    "MDP client, WAHA worker (test-worker)"
is "$(cli -n pecho x '' y)" "x

y" "waha-cli (native), MDP worker: the fields come back"
is "$(cli -n pecho -o json -e base64 -d hex 00ff)" '["AP8="]' \
    "binary fields pass an MDP worker unchanged"
is "$(cli -n pecho -d hex -e hex 00ff)" 00ff "byte for byte"

is "$(mdp client "$BROKER" mmi.service pecho)" 200 \
    "RFC 8: mmi.service of a served service is 200"
is "$(mdp client "$BROKER" mmi.service nosuch)" 404 \
    "RFC 8: mmi.service of an unknown service is 404"
is "$(mdp client "$BROKER" mmi.nope)" 501 \
    "RFC 8: an unknown mmi. service is 501"

# RFC 7: the broker queues requests for a service nobody serves yet.
start_daemon early "$PYTHON" "$TESTS_SRC/mdp.py" client --timeout 20000 \
    "$BROKER" later q1
queued_later() {
	[ "$(stat 's["services"].get("later", {}).get("queued")')" = 1 ]
}
ok "a request to a service with no worker is queued" wait_for "queued" \
    queued_later
start_mdp_worker later later || exit 1
ok "and served when the first worker arrives" wait_for "the early client" \
    sh -c "! kill -0 $(pid_of early)"
is "$(cat "$SCRATCH/early.log")" q1 "with the right reply"

# FAIL has no MDP form: the MDP client hears nothing, and times out.
mdp client --timeout 500 "$BROKER" fail x >/dev/null 2>&1
is "$?" 3 "an MDP request that a worker FAILs gets no reply"

# Heartbeats: the broker's reach the Python worker, and the worker's
# keep it registered past liveness x heartbeat (1 s) of silence from
# anything else.
n=$(events pecho heartbeat)
heartbeats_since() {
	[ "$(events pecho heartbeat)" -ge $((n + $1)) ]
}
ok "the broker's heartbeats reach the MDP worker" wait_for "12 heartbeats" \
    heartbeats_since 12
is "$(workers_of pecho)" 1 "the idle MDP worker is still registered"
is "$(mdp client "$BROKER" pecho still)" still "and still served"

# A worker that says DISCONNECT gets nothing more from the broker.
start_mdp_worker bye bye --disconnect-after 1 --linger 1000 || exit 1
is "$(cli -n bye hi)" hi "an MDP worker serves a request"
ok "after its DISCONNECT the broker drops it" wait_for "bye to go" \
    served bye 0
ok "the MDP worker exits after listening for 1 s" wait_for "bye to exit" \
    sh -c "! kill -0 $(pid_of bye)"
is "$(grep -c '^after-disconnect' "$SCRATCH/bye.events")" 0 \
    "the broker sent it nothing after DISCONNECT"

# DISCONNECT, then the reply to the request it holds (graceful exit).
start_mdp_worker grace grace --disconnect-after 1 --graceful --delay 200 ||
    exit 1
got=$(cli -n grace hi 2>"$SCRATCH/grace.err")
is "$got" hi "a reply sent after DISCONNECT still arrives"
if [ "$got" != hi ]; then
	sed -e 's/^/# /' "$SCRATCH/grace.err" "$SCRATCH/grace.events"
	show_log broker
fi

# The broker's DISCONNECT reaches an MDP worker when it shuts down.
stop_daemon broker TERM
is "$stopped_status" 0 "the broker stops cleanly"
ok "its DISCONNECT reaches the MDP worker" wait_for "disconnect" \
    grep -q '^disconnect-received$' "$SCRATCH/pecho.events"

# A restarted broker is just a new peer: the MDP worker registers again
# by itself (ipc:// keeps the endpoint across the restart).
BROKER=ipc://$SCRATCH/again.sock
start_daemon again1 "$WAHA_BROKER" -u "$BROKER" --heartbeat 100 --liveness 10
start_mdp_worker phoenix phoenix || exit 1
stop_daemon again1 TERM
start_daemon again2 "$WAHA_BROKER" -u "$BROKER" --heartbeat 100 --liveness 10
ok "after a broker restart the MDP worker registers again" \
    wait_for "phoenix" served phoenix
is "$(mdp client "$BROKER" phoenix back)" back "and serves"
