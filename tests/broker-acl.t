#!/bin/sh
# waha-broker --acl: '*' is one token and '>' the rest, deny beats allow,
# what no rule allows is denied; a native client gets 403, an MDP client
# nothing (counted in mmi.stats), a READY for a service the key may not
# serve gets DISCONNECT; mmi.* services obey the rules.  SIGHUP applies
# new keys and rules to sessions already open; a bad file is refused at
# start with its line, and on SIGHUP the old rules stay.  Without CURVE
# only 'any' rules make sense.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
need_pyzmq
setup
: "${WAHA_KEYGEN:=$WAHA_BINDIR/waha-keygen}"
plan 28

cd "$SCRATCH" || exit 1
mkdir clients
"$WAHA_KEYGEN" broker >/dev/null
for k in alice ops worker; do
	"$WAHA_KEYGEN" --name $k $k >/dev/null
	cp $k clients/
done

cat >acl <<'RULES'
# alice
allow call svc.* name alice
allow call deep.> name alice
deny call svc.secret name alice
allow call echo name alice
allow call mmi.service any
# the operator reads the statistics
allow call mmi.> name ops
allow serve echo name worker
allow serve kept name worker
RULES

# One session that stays open: a request, then another when told to.
cat >session.py <<'PY'
import os, sys, time, zmq, zmq.auth
url, server, secret, mode, service, go = sys.argv[1:7]
ctx = zmq.Context()
s = ctx.socket(zmq.REQ)
s.linger = 0
s.curve_serverkey = zmq.auth.load_certificate(server)[0]
s.curve_publickey, s.curve_secretkey = zmq.auth.load_certificate(secret)
s.connect(url)
def ask():
    s.send_multipart(([b"MDPC01"] if mode == "mdp" else []) +
                     [service.encode(), b"x"])
    if s.poll(1500):
        m = s.recv_multipart()
        print(m[2].decode() if mode == "mdp" else m[0].decode(), flush=True)
        return True
    print("none", flush=True)
    return False
if not ask():
    sys.exit(0)
end = time.time() + 20
while not os.path.exists(go) and time.time() < end:
    time.sleep(0.05)
ask()
PY

start_broker broker --heartbeat 200 --curve-secret broker_secret \
    --clients clients --acl acl || exit 1
like "$(cat broker.log)" "CURVE, 3 keys allowed, 8 rules" \
    "the broker says what it enforces"
ALICE="--curve-server broker --curve-secret alice_secret"
OPS="--curve-server broker --curve-secret ops_secret"
CLI_OPTS=$OPS
start_script echo echo -s echo --curve-server broker \
    --curve-secret worker_secret || exit 1
start_script kept kept -s echo --curve-server broker \
    --curve-secret worker_secret || exit 1

status() {
	CLI_OPTS=$ALICE cli -t 3000 -n "$1" x 2>&1 >/dev/null |
	    sed -e 's/^waha-cli: //' -e 's/ .*//'
}
is "$(CLI_OPTS=$ALICE cli -n echo hi)" hi "alice may call echo"
is "$(status svc.a)" 404 "svc.* allows svc.a (not served: 404)"
is "$(status svc.a.b)" 403 "but '*' is one token: svc.a.b is 403"
is "$(status deep.a.b)" 404 "deep.> allows deep.a.b"
is "$(status deep)" 403 "but '>' needs a token: deep is 403"
is "$(status svc.secret)" 403 "deny beats allow: svc.secret is 403"
is "$(status other)" 403 "what no rule allows is denied"
out=$(CLI_OPTS=$ALICE cli -n other 2>&1)
like "$?: $out" "^4: .*403 not allowed" "waha-cli says 403 not allowed, exit 4"
is "$(status mmi.stats)" 403 "mmi.stats is hidden from alice"
is "$(CLI_OPTS=$ALICE cli -n mmi.service echo)" 200 \
    "mmi.service is allowed to any key"
is "$(stat 's["totals"]["refused"]')" 6 "the operator sees 6 refusals"

out=$("$PYTHON" session.py "$BROKER" broker alice_secret mdp other none)
is "$out" none "an MDP client that may not call gets nothing"
is "$(stat 's["totals"]["mdp_dropped"].get("403")')" 1 \
    "and it is counted in mmi.stats"
like "$(cat broker.log)" "MDP request for other dropped: 403" \
    "and logged"

start_daemon notallowed "$WAHA_SCRIPT" -u "$BROKER" -n other -s echo \
    --heartbeat 200 --curve-server broker --curve-secret worker_secret
wait_for "a DISCONNECT" grep -q "broker sent DISCONNECT" notallowed.log
ok "a READY for a service the key may not serve gets DISCONNECT" test $? -eq 0
like "$(cat broker.log)" "serve other refused for key .* \\(worker\\)" \
    "and a log line"
is "$(CLI_OPTS=$OPS cli -n mmi.service other)" 404 "other is not served"

# SIGHUP: a rule and a key revoked, for sessions already open.
"$PYTHON" session.py "$BROKER" broker alice_secret native echo go \
    >session.out &
sess=$!
wait_for "the first reply" grep -q . session.out
grep -v 'allow serve kept' acl >acl.new && mv acl.new acl
rm clients/alice
kill -HUP "$(pid_of broker)"
wait_for "the reload" grep -q "broker: reloaded" broker.log
touch go
wait "$sess"
is "$(cat session.out | tr '\n' ' ')" "200 403 " \
    "a key removed on SIGHUP is refused on its open session"
like "$(cat broker.log)" "no longer in --clients" "the log says why"
wait_for "kept to go" sh -c "[ \"\$($WAHA_CLI -u $BROKER $OPS -n \
    mmi.service kept)\" = 404 ]"
ok "a worker whose serve rule is revoked is dropped at its next message" \
    test $? -eq 0

echo "allow call x key not-a-key" >>acl
kill -HUP "$(pid_of broker)"
wait_for "the failed reload" grep -q "reload failed" broker.log
like "$(grep 'reload failed' broker.log)" "acl:10: a key is 40 Z85" \
    "a bad file on SIGHUP: logged with its line"
is "$(CLI_OPTS=$OPS cli -n mmi.service echo)" 200 "and the old rules stay"

out=$("$WAHA_BROKER" -u 'tcp://127.0.0.1:*' --curve-secret broker_secret \
    --clients clients --acl acl 2>&1)
like "$?: $out" "^1: .*acl:10: a key is 40 Z85" \
    "a bad file at start: refused, with its line"

# Without CURVE: 'any' rules only.
printf 'allow call > any\ndeny call mmi.stats any\nallow call x name ops\n' \
    >plain.acl
out=$("$WAHA_BROKER" -u 'tcp://127.0.0.1:*' --acl plain.acl 2>&1)
like "$?: $out" "^1: .*plain.acl:3: key and name subjects need CURVE" \
    "--acl without CURVE refuses key and name subjects"
printf 'allow call > any\ndeny call mmi.stats any\n' >any.acl
start_broker plain --acl any.acl || exit 1
out=$("$WAHA_CLI" -u "$url_plain" -n mmi.stats 2>&1)
like "$?: $out" "^4: .*403 not allowed" \
    "without CURVE, 'any' rules apply: mmi.stats is hidden"
out=$("$WAHA_CLI" -u "$url_plain" -n other x 2>&1)
like "$out" "404 no such service" "and 'allow call > any' lets the rest in"
printf 'allow call x user bob\n' >user.acl
out=$("$WAHA_BROKER" -u 'tcp://127.0.0.1:*' --acl user.acl 2>&1)
like "$?: $out" "^1: .*user.acl:1: user subjects are HTTP users" \
    "user subjects are refused at the broker"
