#!/bin/sh
# Keys at both hops: waha-cli -> broker -> waha-proxy-balance ->
# waha-service-script, each connection CURVE.  The broker lets in the
# client's and the balancer's keys and lets the balancer serve; the
# balancer's backend lets in the worker's key only, and its rules decide
# which key may serve.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "$WAHA_LIB")/balance-lib.sh"
setup
: "${WAHA_KEYGEN:=$WAHA_BINDIR/waha-keygen}"
plan 9

cd "$SCRATCH" || exit 1
mkdir broker.d backend.d
for k in broker balancer client worker intruder; do
	"$WAHA_KEYGEN" --name $k $k >/dev/null
done
cp client balancer broker.d/
cp worker intruder backend.d/
cat >broker.acl <<'RULES'
allow call echo name client
allow call mmi.> name client
allow serve echo name balancer
RULES
echo "allow serve echo name worker" >backend.acl

out=$("$WAHA_BALANCE" -n echo --curve-server broker 2>&1)
like "$?: $out" "^1: .*--curve-server needs --curve-secret" \
    "--curve-server without --curve-secret: usage error"

start_broker broker --heartbeat 200 --curve-secret broker_secret \
    --clients broker.d --acl broker.acl || exit 1
CLI_OPTS="--curve-server broker --curve-secret client_secret"
start_balancer echo --curve-secret balancer_secret --curve-server broker \
    --clients backend.d --acl backend.acl || exit 1
like "$(cat bal.log)" "CURVE, 2 keys allowed, 1 rules.*with CURVE" \
    "the balancer says CURVE on both sides"

start_daemon worker "$WAHA_SCRIPT" -u "$BACKEND" -n echo -s echo \
    --heartbeat 200 --curve-server balancer --curve-secret worker_secret
wait_for "the balancer to register" served echo
ok "a worker with an allowed key: the balancer registers upstream" \
    test $? -eq 0
is "$(cli -n echo through two hops)" "through two hops" \
    "waha-cli -> broker -> balancer -> script, CURVE at each hop"

# A key the backend lets in but whose rules do not let serve.
start_daemon intruder "$WAHA_SCRIPT" -u "$BACKEND" -n echo -s echo \
    --heartbeat 200 --curve-server balancer --curve-secret intruder_secret
wait_for "the refusal" grep -q "serve echo refused for key .*intruder" \
    bal.log
ok "a key that may not serve gets DISCONNECT from the backend" test $? -eq 0
# A key the broker does not know: the backend's worker key, upstream.
start_daemon stranger "$WAHA_SCRIPT" -u "$BROKER" -n echo -s echo \
    --heartbeat 200 --curve-server broker --curve-secret worker_secret
wait_for "the stranger's refusal" grep -q "authentication failed" \
    stranger.log
ok "the broker refuses the backend's key: keys are per hop" test $? -eq 0
is "$(cli -n echo still)" "still" "the chain keeps serving"

# The balancer with a key the broker refuses: reported, retried later.
rm broker.d/balancer
kill -HUP "$(pid_of broker)"
wait_for "the reload" grep -q "broker: reloaded" broker.log
wait_for "the balancer dropped" sh -c "! $WAHA_CLI -u $BROKER $CLI_OPTS \
    -t 1000 -n mmi.service echo | grep -q 200"
ok "a balancer key revoked on SIGHUP: its registration is dropped" \
    test $? -eq 0
wait_for "the balancer's refusal" grep -q \
    "upstream: .*authentication failed" bal.log
ok "and the balancer says authentication failed when it comes back" \
    test $? -eq 0
