#!/bin/sh
# GET /status, the status page, and /status.json: well-formed HTML that
# shows every number of a known state, escapes the names peers choose,
# follows load and marks a silent worker; the JSON is mmi.stats.  The
# options that move or remove the page, and access control.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/http-lib.sh"
setup
plan 44

# page.py FILE: "ok" or the first fault of the page's HTML (every
# element closed in order, nothing after </html>), then the page's
# tables as JSON: services by name, workers as rows, and its text.
cat >"$SCRATCH/page.py" <<'PY'
import html.parser, json, sys
VOID = {"meta", "br", "link", "img", "hr", "input"}
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.fault, self.tables, self.text = [], None, [], []
        self.cell, self.row, self.ended = None, None, False
    def bad(self, why):
        if self.fault is None:
            self.fault = "%s at %s" % (why, self.getpos())
    def handle_starttag(self, tag, attrs):
        if self.ended:
            self.bad("<%s> after </html>" % tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
        if tag not in VOID:
            self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        if tag not in VOID and tag not in ("path",):
            self.bad("<%s/>" % tag)
    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.bad("</%s> closes %s" % (tag, self.stack[-1:]))
            return
        self.stack.pop()
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables[-1].append(self.row)
            self.row = None
        elif tag == "html":
            self.ended = True
    def handle_data(self, d):
        if self.cell is not None:
            self.cell.append(d)
        self.text.append(d)
    def handle_decl(self, d):
        if d.lower() != "doctype html":
            self.bad("doctype %s" % d)
p = P()
src = open(sys.argv[1], encoding="utf-8").read()
if not src.startswith("<!DOCTYPE html>"):
    p.bad("no doctype")
p.feed(src)
p.close()
if p.stack:
    p.bad("unclosed %s" % p.stack)
print(p.fault or "ok")
t = p.tables + [[], []]
print(json.dumps({"services": {r[0]: r for r in t[0][1:]},
    "workers": t[1][1:], "text": " ".join("".join(p.text).split())}))
PY
# status [PATH]: fetch the page into $SCRATCH/page.html; the verdict in
# $verdict, its tables in $SCRATCH/page.json
status() {
	hreq "${1:-/status}"
	cp "$SCRATCH/body" "$SCRATCH/page.html"
	$PYTHON "$SCRATCH/page.py" "$SCRATCH/page.html" >"$SCRATCH/page.out"
	verdict=$(head -n 1 "$SCRATCH/page.out")
	sed -n 2p "$SCRATCH/page.out" >"$SCRATCH/page.json"
}
# pg EXPR: a Python expression of p (the last page's tables) and s (the
# last mmi.stats), printed
pg() {
	$PYTHON -c '
import json, sys
p = json.load(open(sys.argv[1]))
try:
    s = json.load(open(sys.argv[2]))
except Exception:
    s = None
print(eval(sys.argv[3]))' "$SCRATCH/page.json" "$SCRATCH/stats.json" "$1"
}
# cell SERVICE COLUMN: a cell of the services table (0 is the name)
cell() {
	pg "p['services'][sys.argv[4]][$2]" "$1" 2>/dev/null
}
pg_cell() {
	$PYTHON -c '
import json, sys
p = json.load(open(sys.argv[1]))
print(p["services"][sys.argv[2]][int(sys.argv[3])])' "$SCRATCH/page.json" \
	    "$1" "$2"
}
rate_up() {
	status
	pg_cell echo 6 | grep -q '^[1-9][0-9.]*$'
}
silent() {
	status
	grep -q '<td>silent</td>' "$SCRATCH/page.html"
}

XSS='<script>alert("x")</script>'
start_broker broker --heartbeat 200 --liveness 20 || exit 1
start_worker w1 echo --heartbeat 200 -c 4
start_worker w2 "$XSS" --heartbeat 200
start_worker w3 "a'b&c" --heartbeat 200 --capacity 3
start_gateway gateway --status-interval 200 || exit 1
wait_for "gateway connected" healthy

hreq '/echo?args=["a"]'
hreq '/echo?args=["b"]'
hreq '/echo?args=["c"]'
hreq '/nosuch'
status
cli -n mmi.stats >"$SCRATCH/stats.json"
is "$code" 200 "GET /status is 200"
is "$(header Content-Type)" "text/html; charset=utf-8" "as text/html"
like "$(header Content-Security-Policy)" "^default-src 'none';" \
    "with a policy that allows no script and no load"
is "$verdict" ok "the page is well-formed HTML"
is "$(grep -c '<script' "$SCRATCH/page.html")" 0 "it has no script"
ok "it loads nothing: no src= or href=" \
    sh -c "! grep -Eq '(src|href)=' '$SCRATCH/page.html'"
like "$(wc -c <"$SCRATCH/page.html")" '^ *[0-9]{3,5}$' "it is small"
like "$(grep -o '<meta http-equiv="refresh" content="[0-9]*">' \
    "$SCRATCH/page.html")" 'content="1"' "it reloads itself"

# The services table: every number of mmi.stats for this state.
is "$(pg_cell echo 1) $(pg_cell echo 2) $(pg_cell echo 3) $(pg_cell echo 4)" \
    "1 4 0 0" "echo: workers, capacity, in flight, queued"
is "$(pg_cell echo 5)" "–" "echo: no queue, no oldest age"
is "$(pg_cell echo 7)" 3 "echo: its requests"
is "$(pg_cell echo 8)" 0 "echo: no errors"
is "$(pg_cell echo 9) $(pg_cell echo 10)" \
    "$(pg '"%.2f %.2f" % (s["services"]["echo"]["recent_latency_ms"]["p50"], s["services"]["echo"]["recent_latency_ms"]["p99"])')" \
    "echo: latency p50 and p99 as mmi.stats has them"
is "$(pg_cell "a'b&c" 2)" 3 "a'b&c: its capacity"
is "$(pg 'sorted(p["services"])')" "$(pg 'sorted(s["services"])')" \
    "one row per service of mmi.stats"
is "$(pg 'sorted((w[0], w[1], w[2], w[4]) for w in p["workers"])')" \
    "$(pg 'sorted((w["service"], w["identity"], str(w["capacity"]), str(w["served"])) for w in s["workers"])')" \
    "workers: service, identity, capacity and served as mmi.stats has them"
is "$(pg 'sorted(w[6] for w in p["workers"])')" \
    "['live', 'live', 'live']" "every worker live"
like "$(pg 'p["text"]')" "pid $(pg 's["pid"]'), up " \
    "the broker's pid and uptime"
like "$(pg 'p["text"]')" \
    "3 services, 3 workers, 0 queued, 0 in flight, [0-9]+ requests, 3 replies, 1 errors" \
    "the broker's totals"

# Names come from peers: escaped, in the table and in the workers.
is "$(pg 'sorted(p["services"])[0]')" "$XSS" \
    "a service named $XSS is shown as text"
is "$(grep -c '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;' \
    "$SCRATCH/page.html")" 2 "escaped, in both tables"
is "$(grep -c 'a&#39;b&amp;c' "$SCRATCH/page.html")" 2 \
    "quotes and ampersands too"

# /status.json is mmi.stats.
hreq /status.json
is "$code $(header Content-Type)" "200 application/json" \
    "GET /status.json is JSON"
printf '%s' "$body" >"$SCRATCH/page.json"
is "$(pg 'sorted(p) == sorted(s) and sorted(p["services"]["echo"]) == sorted(s["services"]["echo"]) and sorted(p["totals"]) == sorted(s["totals"])')" \
    True "with the keys of mmi.stats"
is "$(pg 'p["services"]["echo"]["requests"] == s["services"]["echo"]["requests"] and p["pid"] == s["pid"]')" \
    True "and its numbers"

hreq /status -I
is "$code $(header Content-Type)" "200 text/html; charset=utf-8" \
    "HEAD /status"
hreq /status -X POST -d x
is "$code $(header Allow)" "405 GET, HEAD, OPTIONS" \
    "POST /status is 405: the path is reserved"

# Under load the rate moves and the chart draws it.
start_daemon load "$TEST_LOAD" -u "$BROKER" -n echo -c 1 -w 2 -r 100000000
ok "under load, echo's requests per second are above 0" \
    wait_for "a rate" rate_up
like "$(grep -o '<path class="rate" d="[^"]*"' "$SCRATCH/page.html" | \
    sed -n 2p)" 'd="M[0-9]+ [0-9]+L' "and its chart has a line"
stop_daemon load

# A worker that stops answering heartbeats is marked silent.
kill -STOP "$(pid_of w3)"
ok "a worker stopped for two heartbeats is marked silent" \
    wait_for "silent" silent
kill -CONT "$(pid_of w3)"

# Access control: the page is mmi.stats to the rules.
printf 'allow call echo any\n' >"$SCRATCH/rules"
start_gateway acl --acl "$SCRATCH/rules" || exit 1
HTTP=$http_acl
hreq /status
is "$code" 403 "with --acl, the page is refused unless mmi.stats is allowed"
hreq /status.json
is "$code" 403 "and its JSON"
printf 'allow call echo any\nallow call mmi.stats any\n' >"$SCRATCH/rules2"
start_gateway acl2 --acl "$SCRATCH/rules2" || exit 1
HTTP=$http_acl2
hreq /status
is "$code" 200 "allowed where mmi.stats is"
start_gateway open --acl "$SCRATCH/rules" --open-probes || exit 1
HTTP=$http_open
hreq /status
is "$code" 200 "--open-probes leaves it open"

# Moved, or turned off: the service of that name is called instead.
start_worker w4 status --heartbeat 200
start_gateway moved --status-path /ops/st || exit 1
HTTP=$http_moved
status /ops/st
is "$code $verdict" "200 ok" "--status-path moves the page"
hreq /ops/st.json
is "$code $(header Content-Type)" "200 application/json" "and its JSON"
hreq '/status?args=["x"]'
is "$code $body" '200 ["x"]' "/status is then the service status"
start_gateway off --no-status || exit 1
HTTP=$http_off
hreq '/status?args=["y"]'
is "$code $body" '200 ["y"]' "--no-status: /status is the service too"

# Bad options.
out=$("$WAHA_PROXY_HTTP" --status-path / 2>&1)
like "$?:$out" "^1:waha-proxy-http: --status-path: a path is /, then 1 to 250 visible" \
    "an empty --status-path is a usage error"
out=$("$WAHA_PROXY_HTTP" --status-path /metrics 2>&1)
like "$?:$out" "^1:waha-proxy-http: --status-path: /metrics is taken" \
    "so is one that is taken"
out=$("$WAHA_PROXY_HTTP" --no-status --status-path /x 2>&1)
like "$?:$out" "^1:waha-proxy-http: --no-status: " \
    "so is --no-status with --status-path"
out=$("$WAHA_PROXY_HTTP" --status-interval 5 2>&1)
like "$?:$out" "^1:waha-proxy-http: --status-interval" \
    "so is a --status-interval under 100 ms"

# Without the broker the page still answers, and says so.
HTTP=$http_gateway
stop_daemon broker KILL
wait_for "the gateway to lose the broker" sh -c "! curl -sf http://$HTTP/healthz"
status
is "$code $verdict" "200 ok" "without the broker the page is still served"
like "$(pg 'p["text"]')" "The broker does not answer: 50[24] " "and says why"
