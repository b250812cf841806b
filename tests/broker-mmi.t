#!/bin/sh
# The mmi. services: mmi.service, mmi.services (sorted, only services with
# workers), mmi.stats (the numbers DESIGN 2.4 lists), unknown mmi.* 501.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 27

start_broker broker --heartbeat 200 || exit 1
start_worker a zeta --heartbeat 200
start_worker b alpha --heartbeat 200 --capacity 4
start_worker c alpha --heartbeat 200 --mode fail --status 503

is "$(cli -n mmi.services)" "alpha
zeta" "mmi.services lists the services with workers, sorted"
is "$(cli -n mmi.service zeta)" 200 "mmi.service: 200 for a served service"
is "$(cli -n mmi.service nope)" 404 "mmi.service: 404 for an unknown one"
out=$(cli -n mmi.service 2>&1)
is "$?:$out" "4:waha-cli: 400 mmi.service takes one field, a service name" \
    "mmi.service without a name: 400"
out=$(cli -n mmi.nope 2>&1)
is "$?:$out" "5:waha-cli: 501 no such mmi. service" "unknown mmi.*: 501"
is "$("$TEST_RAW" -u "$BROKER" '' MDPW01 'x:01' mmi.x)" "
MDPW01
\\x05" "a worker may not register in the mmi. namespace"

for i in 1 2 3 4 5 6; do cli -n zeta "$i" >/dev/null; done
for i in 1 2 3 4 5 6; do cli -n alpha "$i" >/dev/null 2>&1; done
cli -n nope x >/dev/null 2>&1

cli -n mmi.stats >"$SCRATCH/stats.json"
ok "mmi.stats is one JSON document" \
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' \
    "$SCRATCH/stats.json"
st() {
	python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$SCRATCH/stats.json" "$1"
}
is "$(st 's["version"]')" "$("$WAHA_BROKER" --version | awk '{ print $3 }')" \
    "version, as --version prints it"
ok "uptime_ms is a number" test "$(st 's["uptime_ms"] >= 0')" = True
is "$(st 's["services"]["zeta"]["requests"]')" 6 "per-service requests"
is "$(st 's["services"]["alpha"]["workers"]')" 2 "per-service workers"
is "$(st 's["services"]["alpha"]["capacity"]')" 5 "per-service total capacity"
ok "alpha has 503 errors counted" test "$(st 's["services"]["alpha"]["errors"]["503"] > 0')" = True
is "$(st 's["totals"]["errors"]["404"]')" 1 "totals count the 404"
is "$(st 's["totals"]["replies"] + s["totals"]["errors"]["503"]')" 12 \
    "totals: replies + 503s = the 12 routed requests"
is "$(st 'sorted(s["services"]["zeta"].keys())')" \
    "['cancelled', 'capacity', 'errors', 'expired', 'in_flight', 'latency_ms', 'oldest_queued_ms', 'queued', 'recent_latency_ms', 'requests', 'workers']" \
    "per-service keys"
is "$(st 's["services"]["zeta"]["recent_latency_ms"]["count"]')" 6 \
    "recent latency counts the 6 replies of zeta"
ok "recent latency p50 <= p99" test "$(st 's["services"]["zeta"]["recent_latency_ms"]["p50"] <= s["services"]["zeta"]["recent_latency_ms"]["p99"]')" = True
is "$(st '(s["heartbeat_ms"], s["liveness"])')" "(200, 3)" \
    "the heartbeat interval and liveness that judge the workers"
ok "cpu_ms is a count of ms" test "$(st 'isinstance(s["cpu_ms"], int) and s["cpu_ms"] >= 0')" = True
ok "rss_bytes, where /proc tells it, is the broker's" test "$(st '"rss_bytes" not in s or abs(s["rss_bytes"] - int(open("/proc/%d/statm" % s["pid"]).read().split()[1]) * __import__("os").sysconf("SC_PAGESIZE")) < 1 << 20')" = True
ok "latency p50 <= p99" test "$(st 's["services"]["zeta"]["latency_ms"]["p50"] <= s["services"]["zeta"]["latency_ms"]["p99"]')" = True
is "$(st 'sorted(s["workers"][0].keys())')" \
    "['cancel', 'capacity', 'identity', 'in_flight', 'last_heartbeat_ms', 'leaving', 'served', 'service']" \
    "per-worker keys"
is "$(st 'sum(w["served"] for w in s["workers"] if w["service"] == "zeta")')" 6 \
    "per-worker served"
is "$(st 'sorted(w["capacity"] for w in s["workers"])')" "[1, 1, 4]" \
    "per-worker capacity"
ok "identities are hex" test "$(st 'all(all(c in "0123456789abcdef" for c in w["identity"]) for w in s["workers"])')" = True
ok "heartbeat ages are recent" test "$(st 'all(w["last_heartbeat_ms"] < 5000 for w in s["workers"])')" = True
