#!/bin/sh
# waha-cli with --curve-server and --curve-secret against an independent
# CURVE server (pyzmq, with its own ZAP authenticator): an allowed key
# gets its reply; an unknown key and a wrong server key exit 6 at once,
# saying which, instead of waiting for the timeout.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
need_pyzmq
setup
: "${WAHA_KEYGEN:=$WAHA_BINDIR/waha-keygen}"
plan 9

cd "$SCRATCH" || exit 1
mkdir allowed
"$WAHA_KEYGEN" server >/dev/null
"$WAHA_KEYGEN" other >/dev/null
"$WAHA_KEYGEN" stranger >/dev/null
"$WAHA_KEYGEN" --name good good.key >/dev/null
cp good.key allowed/

# A native broker of one service, CURVE server, keys of allowed/ only.
cat >server.py <<'PY'
import os, sys, zmq, zmq.auth
from zmq.auth.thread import ThreadAuthenticator
ctx = zmq.Context()
auth = ThreadAuthenticator(ctx)
auth.start()
auth.configure_curve(domain="*", location="allowed")
pub, sec = zmq.auth.load_certificate("server_secret")
s = ctx.socket(zmq.ROUTER)
s.curve_secretkey = sec
s.curve_publickey = pub
s.curve_server = True
port = s.bind_to_random_port("tcp://127.0.0.1")
with open("endpoint.tmp", "w") as f:
    f.write("tcp://127.0.0.1:%d\n" % port)
os.rename("endpoint.tmp", "endpoint")
while True:
    m = s.recv_multipart()
    # Echo the service and fields, past the WAHA01 header if sent.
    first = 4 if m[2] == b"WAHA01" else 2
    s.send_multipart([m[0], b"", b"200"] + m[first:])
PY
start_daemon server "$PYTHON" server.py
wait_for "the CURVE server" test -s endpoint || { show_log server; exit 1; }
BROKER=$(cat endpoint)

out=$(cli -t 5000 --curve-server server --curve-secret good.key_secret \
    -n echo hello 2>&1)
is "$?" 0 "an allowed key gets its reply"
is "$out" "echo
hello" "the reply is there"

start=$(now_ms)
out=$(cli -t 10000 --curve-server server --curve-secret stranger_secret \
    -n echo hello 2>&1)
is "$?" 6 "an unknown key: exit 6"
like "$out" "authentication failed" "it says authentication failed"
ok "at once, not after the timeout" test $(($(now_ms) - start)) -lt 5000

start=$(now_ms)
out=$(cli -t 10000 --curve-server other --curve-secret good.key_secret \
    -n echo hello 2>&1)
is "$?" 6 "a wrong server key: exit 6"
like "$out" "wrong server key" "it says wrong server key"
ok "at once, not after the timeout" test $(($(now_ms) - start)) -lt 5000

chmod 644 good.key_secret
out=$(cli --curve-server server --curve-secret good.key_secret -n x 2>&1)
like "$?: $out" "^1: .*good.key_secret: mode 0644" \
    "a secret key others can read is refused, exit 1"
