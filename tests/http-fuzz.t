#!/bin/sh
# A bounded HTTP fuzz run against the real gateway (tests/http-fuzz.py):
# malformed request lines, headers and chunked bodies, mutated requests,
# slowloris, pipelines, half-closes and resets.  The gateway keeps
# serving and its memory stays bounded from one round to the next.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/http-lib.sh"
setup
plan 7

: "${FUZZ_ROUND:=6}"	# seconds per round
start_broker broker --heartbeat 200 || exit 1
start_worker w1 echo --heartbeat 200 -c 16
start_gateway gateway --header-timeout 1000 --body-timeout 1000 \
    --max-body 65536 || exit 1
wait_for "gateway connected" healthy
gpid=$(pid_of gateway)

round() {
	$PYTHON "$WAHA_SRCDIR/tests/http-fuzz.py" "$HTTP" "$1" "$FUZZ_ROUND"
}
# settled: nothing in flight but the /metrics request asking
settled() {
	[ "$(curl -s "http://$HTTP/metrics" |
	    sed -n 's/^waha_http_in_flight //p')" = 1 ]
}

diag "round 1: $(round 1)"
wait_for "round 1 to settle" settled
hreq '/echo?args=["after-1"]'
is "$code $body" '200 ["after-1"]' "the gateway serves after a fuzz round"
rss1=$(rss_kb "$gpid")
diag "round 2: $(round 2)"
diag "round 3: $(round 3)"
wait_for "rounds 2 and 3 to settle" settled
rss2=$(rss_kb "$gpid")
diag "gateway resident memory after 1 round: $rss1 kB, after 3: $rss2 kB"
ok_memory "memory did not grow with 2 more rounds (grew $((rss2 - rss1)) kB)" \
    test $((rss2 - rss1)) -lt 4096
ok "the gateway is alive" alive gateway
hreq '/echo?args=["after-3"]'
is "$code $body" '200 ["after-3"]' "and serves"
ok "nothing is left in flight" settled
is "$(curl -s "http://$HTTP/metrics" | sed -n 's/^waha_http_connections //p')" \
    1 "no connection is left open but the one asking"
ok "the broker is alive" alive broker
