#!/bin/sh
# waha-proxy-http --curve-server and --curve-secret: the gateway reaches
# a CURVE broker with its own key; a key the broker refuses gives 502
# with the reason, and a line in the log, not a silent wait.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "$WAHA_LIB")/http-lib.sh"
setup
: "${WAHA_KEYGEN:=$WAHA_BINDIR/waha-keygen}"
plan 6

cd "$SCRATCH" || exit 1
mkdir clients
for k in broker gateway worker stranger; do
	"$WAHA_KEYGEN" --name $k $k >/dev/null
done
cp gateway worker clients/
printf 'allow call echo name gateway\nallow call mmi.> name gateway\n%s\n' \
    'allow serve echo name worker' >acl

start_broker broker --heartbeat 200 --curve-secret broker_secret \
    --clients clients --acl acl || exit 1
CLI_OPTS="--curve-server broker --curve-secret gateway_secret"
start_script echo echo -s echo --curve-server broker \
    --curve-secret worker_secret || exit 1

start_gateway gateway --curve-server broker --curve-secret gateway_secret ||
    exit 1
wait_for "the gateway to connect" grep -q "connected to" gateway.log
hreq '/echo?args=["hi"]'
is "$code" 200 "a gateway with an allowed key is served"
is "$body" '["hi\n"]' "with the service's reply"
hreq '/other?args=["hi"]'
is "$code" 403 "the broker's rules apply to the gateway's key"

start_gateway refused --curve-server broker --curve-secret stranger_secret ||
    exit 1
HTTP=$http_refused
wait_for "the refusal" grep -q "authentication failed" refused.log
ok "a refused gateway key is logged at once" test $? -eq 0
hreq '/echo?args=["hi"]'
is "$code" 502 "requests get 502"
like "$body" "authentication failed" "with the reason"
