#!/bin/sh
# GET /metrics is Prometheus text exposition 0.0.4, checked line by
# line; GET /healthz says whether the broker answers.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/http-lib.sh"
setup
plan 29

# The exposition format, version 0.0.4, checked line by line; prints
# "ok" or the first fault, then the samples as "name{labels} value"
# with label values unescaped.
cat >"$SCRATCH/expo.py" <<'PY'
import math, re, sys
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r"(%s)(?:\{((?:%s,?)*)\})? (\S+)(?: (-?[0-9]+))?$"
    % (NAME, LABEL.replace("(", "(?:").replace("(?:?:", "(?:")))
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
def fail(n, why, line):
    print("line %d: %s: %r" % (n, why, line))
    sys.exit(0)
def unescape(v):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v)
def family(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
            return base
    return name
data = sys.stdin.buffer.read()
if not data.endswith(b"\n"):
    fail(0, "no final newline", data[-20:])
text = data.decode("utf-8")
types, helps, done, seen, samples = {}, {}, set(), set(), []
current = None
hist = {}
for n, line in enumerate(text.split("\n")[:-1], 1):
    if line == "":
        continue
    if line.startswith("#"):
        m = re.match(r"# (HELP|TYPE) (%s) (.*)$" % NAME, line)
        if not m:
            continue
        kind, name, rest = m.groups()
        if not name.startswith("waha_"):
            fail(n, "name without waha_", line)
        if kind == "TYPE":
            if rest not in TYPES:
                fail(n, "unknown type", line)
            if name in types:
                fail(n, "second TYPE", line)
            types[name] = rest
            if rest == "counter" and not name.endswith("_total"):
                fail(n, "counter without _total", line)
        else:
            if name in helps:
                fail(n, "second HELP", line)
            helps[name] = rest
        if name in done:
            fail(n, "family not contiguous", line)
        if current is not None and current != name:
            done.add(current)
        current = name
        continue
    m = SAMPLE.match(line)
    if not m:
        fail(n, "not a sample", line)
    name, labels, value = m.group(1), m.group(2) or "", m.group(3)
    fam = family(name, types)
    if fam not in types:
        fail(n, "sample before its TYPE", line)
    if fam not in helps:
        fail(n, "sample without HELP", line)
    if fam != current:
        fail(n, "family not contiguous", line)
    try:
        v = float(value.replace("Inf", "inf"))
    except ValueError:
        fail(n, "bad value", line)
    if value.lower() in ("inf", "nan", "-inf") :
        fail(n, "Inf and NaN are spelt +Inf, -Inf, NaN", line)
    pairs = [(k, unescape(v)) for k, v in re.findall(LABEL, labels)]
    key = (name, tuple(pairs))
    if key in seen:
        fail(n, "duplicate sample", line)
    seen.add(key)
    if types[fam] == "counter" and (v < 0 or math.isnan(v)):
        fail(n, "negative counter", line)
    if types[fam] == "histogram":
        h = hist.setdefault(fam, {"le": [], "count": None})
        if name.endswith("_bucket"):
            le = dict(pairs).get("le")
            if le is None:
                fail(n, "bucket without le", line)
            if h["le"] and (float(le.replace("Inf", "inf")) <= h["le"][-1][0] or v < h["le"][-1][1]):
                fail(n, "buckets not cumulative", line)
            h["le"].append((float(le.replace("Inf", "inf")), v))
        elif name.endswith("_count"):
            h["count"] = v
    samples.append("%s{%s} %s" % (name, ",".join('%s="%s"' % p for p in pairs), value))
for fam, h in hist.items():
    if not h["le"] or h["le"][-1][0] != float("inf") or h["le"][-1][1] != h["count"]:
        fail(0, "histogram %s: +Inf bucket is not _count" % fam, "")
print("ok")
for s in samples:
    print(s)
PY
# scrape: check /metrics; the verdict in $verdict, samples in $SCRATCH/samples
scrape() {
	curl -s -D "$SCRATCH/mheaders" "http://$HTTP/metrics" | \
	    $PYTHON "$SCRATCH/expo.py" >"$SCRATCH/samples"
	verdict=$(head -n 1 "$SCRATCH/samples")
}
# value NAME{LABELS}: a sample's value from the last scrape
value() {
	K=$1 awk '$1 == ENVIRON["K"] { print $2 }' "$SCRATCH/samples"
}

start_broker broker --heartbeat 200 || exit 1
start_worker w1 echo --heartbeat 200 -c 4
start_worker w2 'we"ird\name' --heartbeat 200
start_gateway || exit 1
wait_for "gateway connected" healthy

hreq /nosuch
hreq '/echo?args=["a"]'
hreq '/echo?args=["b"]'
scrape
is "$verdict" ok "/metrics follows the exposition format"
like "$(tr -d '\r' <"$SCRATCH/mheaders" | grep -i '^content-type')" \
    '^Content-Type: text/plain; version=0.0.4' "as text/plain version 0.0.4"
is "$(value 'waha_broker_up{}')" 1 "the broker answered"
is "$(value 'waha_http_broker_connected{}')" 1 "the gateway is connected"
is "$(value 'waha_http_requests_total{code="200"}')" 3 \
    "requests by code: 200 (two calls and /healthz)"
is "$(value 'waha_http_requests_total{code="404"}')" 1 "404"
is "$(value 'waha_http_in_flight{}')" 1 "in flight: this scrape"
all=$(awk '/^waha_http_requests_total/ { n += $2 } END { print n }' \
    "$SCRATCH/samples")
is "$(value 'waha_http_request_duration_seconds_count{}')" "$all" \
    "the latency histogram counts every reply"
is "$(value 'waha_service_workers{service="echo"}')" 1 \
    "a service's workers"
is "$(value 'waha_service_capacity{service="echo"}')" 4 \
    "a service's capacity"
is "$(value 'waha_service_requests_total{service="echo"}')" 2 \
    "a service's requests"
is "$(value 'waha_service_workers{service="we"ird\name"}')" 1 \
    "a label with a quote and a backslash is escaped"
like "$(grep -c '^waha_worker_served_total{service="echo",identity="[0-9a-f]*"} 2$' "$SCRATCH/samples")" \
    '^1$' "a worker's served count, by service and identity"
like "$(value 'waha_broker_uptime_seconds{}')" '^[0-9.]+$' \
    "the broker's uptime"
is "$(value 'waha_broker_info{version="0.1.0"}')" 1 "the broker's version"
is "$(value 'waha_broker_errors_total{status="404"}')" 1 \
    "the broker's errors by status"
is "$(value 'waha_broker_cancelled_total{}') $(value 'waha_broker_queue_full_total{}')" \
    "0 0" "cancelled and refused requests"
is "$(value 'waha_service_cancelled_total{service="echo"}')" 0 \
    "a service's cancelled requests"
ok "the MDP drops family is there" sh -c "curl -s 'http://$HTTP/metrics' |
    grep -q '^# TYPE waha_broker_mdp_dropped_total counter\$'"

hreq /metrics -I
is "$code $(header Content-Type)" \
    "200 text/plain; version=0.0.4; charset=utf-8" "HEAD /metrics"
hreq /metrics -X POST -d x
is "$code $(header Allow)" "405 GET, HEAD, OPTIONS" \
    "POST /metrics is 405: the path is reserved"
hreq '/metrics?type=json&callback=x'
is "$code $(header Content-Type)" \
    "200 text/plain; version=0.0.4; charset=utf-8" \
    "/metrics takes no parameters"
hreq /healthz
is "$code $body" "200 ok" "/healthz is 200 while the broker answers"
hreq /healthz -X POST -d x
is "$code" 405 "POST /healthz is 405"

unavailable=$(value 'waha_http_requests_total{code="503"}')
stop_daemon broker KILL
wait_for "the gateway to lose the broker" sh -c \
    "curl -s http://$HTTP/metrics | grep -qx 'waha_http_broker_connected 0'"
hreq /healthz
is "$code $body" "503 503 the broker cannot be reached" \
    "/healthz is 503 without the broker"
scrape
is "$verdict" ok "/metrics without the broker still follows the format"
is "$(value 'waha_broker_up{}')" 0 "and says the broker is not up"
is "$(grep -c '^waha_broker_uptime' "$SCRATCH/samples")" 0 \
    "with the gateway's families only"
is "$(value 'waha_http_requests_total{code="503"}')" $((unavailable + 1)) \
    "and counts the 503 of /healthz"
