#!/bin/sh
# waha-broker with --curve-secret and --clients: an allowed key is
# served; an unknown key, a client without CURVE and a client with the
# wrong server key are refused at the handshake, and say so at once; a
# worker whose key is refused says "authentication failed" and retries
# with a growing delay, not in a loop; the failures are logged with the
# peer's address, and not once per retry.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
: "${WAHA_KEYGEN:=$WAHA_BINDIR/waha-keygen}"
plan 16

cd "$SCRATCH" || exit 1
mkdir clients
for k in broker other stranger; do "$WAHA_KEYGEN" $k >/dev/null; done
"$WAHA_KEYGEN" --name alice alice >/dev/null
"$WAHA_KEYGEN" --name worker worker >/dev/null
cp alice worker clients/

chmod 640 broker_secret
out=$("$WAHA_BROKER" -u 'tcp://127.0.0.1:*' --curve-secret broker_secret \
    --clients clients 2>&1)
like "$?: $out" "^1: .*broker_secret: mode 0640" \
    "a secret key the group may read is refused at start"
chmod 600 broker_secret
out=$("$WAHA_BROKER" -u 'tcp://127.0.0.1:*' --curve-secret broker_secret \
    2>&1)
like "$?: $out" "^1: .*--curve-secret and --clients go together" \
    "--curve-secret alone is a usage error"

start_broker broker --heartbeat 200 --curve-secret broker_secret \
    --clients clients || exit 1
like "$(cat broker.log)" "CURVE, 2 keys allowed" "the broker says CURVE is on"
CLI_OPTS="--curve-server broker --curve-secret alice_secret"
start_script echo echo -s echo --curve-server broker \
    --curve-secret worker_secret || exit 1

is "$(cli -n echo hello)" "hello" "an allowed client key is served by an \
allowed worker key"

start=$(now_ms)
out=$(CLI_OPTS="--curve-server broker --curve-secret stranger_secret" \
    cli -t 10000 -n echo hello 2>&1)
is "$?" 6 "an unknown key: waha-cli exits 6"
like "$out" "authentication failed" "and says authentication failed"
ok "at once" test $(($(now_ms) - start)) -lt 5000
wait_for "the refusal in the log" grep -q \
    "handshake refused: unknown key .* from 127.0.0.1" broker.log
ok "the broker logs the refused key and the peer's address" test $? -eq 0

out=$(CLI_OPTS= cli -t 10000 -n echo hello 2>&1)
is "$?" 6 "a client without CURVE: exit 6"
# waha-cli leaves at once, maybe before the broker has read its greeting
# (then there is no failed handshake to log); a plain client that stays
# connected a while (test-raw) is one the broker must log.
"$TEST_RAW" -u "$BROKER" -t 1500 --none "" echo x >/dev/null 2>&1
wait_for "the failure in the log" grep -Eq \
    "(a client without CURVE|a garbled or undecryptable handshake.*), from 127.0.0.1 port" \
    broker.log
ok "the broker logs a client without CURVE with its address" test $? -eq 0

before=$(grep -c 'wrong server key' broker.log)
start=$(now_ms)
out=$(CLI_OPTS="--curve-server other --curve-secret alice_secret" \
    cli -t 10000 -n echo hello 2>&1)
is "$?: $(($(now_ms) - start < 5000))" "6: 1" \
    "a wrong server key: exit 6 at once"
like "$out" "wrong server key" "it says wrong server key"
# At most one line for its handshake (the log of handshake failures is
# rate-limited), and a late one of the plain client above: a storm would
# be dozens.
n=$(($(grep -c 'wrong server key' broker.log) - before))
ok "one handshake, at most one line: no reconnect storm ($n)" \
    test "$n" -le 2

# A worker with a refused key: a few attempts, further and further apart.
start_daemon refused "$WAHA_SCRIPT" -u "$BROKER" -n echo -s echo \
    --heartbeat 200 --curve-server broker --curve-secret stranger_secret
refusals() {
	grep -c 'authentication failed' refused.log
}
wait_for "two refusals" sh -c "[ \$(grep -c 'authentication failed' \
    refused.log) -ge 2 ]"
ok "a refused worker says authentication failed" test $? -eq 0
# 200, 400, 800, 1600 ms: 4 or 5 attempts in the next 3 s, not dozens.
before=$(refusals)
sleep 3
n=$(($(refusals) - before))
ok "and backs off: $n more attempts in 3 s" test "$n" -ge 1 -a "$n" -le 4
is "$(cli -n echo again)" "again" "the broker serves everyone else meanwhile"
