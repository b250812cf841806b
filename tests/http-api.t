#!/bin/sh
# The gateway's API: the original's examples, GET and POST, the output
# types, HEAD and OPTIONS, the timeout parameter and --cors.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/http-lib.sh"
setup
plan 38

start_broker broker --heartbeat 200 || exit 1
start_worker w1 system.user.check --heartbeat 200
start_worker w2 slow --heartbeat 200 -m sleep -c 4
start_gateway gateway -t 2000 || exit 1
wait_for "gateway connected" healthy

hreq '/system.user.check?args=["admin","admin"]'
is "$code $body" '200 ["admin","admin"]' \
    "the original's example answers the fields as a JSON array"
is "$(header Content-Type)" application/json "as application/json"
is "$(header X-Content-Type-Options)" nosniff "with nosniff"

hreq '/system.user.check?args=["admin","admin"]&callback=func123'
is "$code $body" '200 func123(["admin","admin"]);' \
    "the original's JSONP example wraps it in the callback"
is "$(header Content-Type)" "application/javascript; charset=utf-8" \
    "as application/javascript"
is "$(header X-Content-Type-Options)" nosniff "with nosniff"
hreq '/system.user.check?args=["x"]&jsonp=my.cb_$1'
is "$body" 'my.cb_$1(["x"]);' "jsonp= is the same as callback="

hreq '/system.user.check?args=["admin","admin"]&type=plain'
is "$code $body" "200 adminadmin" "type=plain concatenates the fields"
is "$(header Content-Type)" text/plain "as text/plain"
hreq '/system.user.check?args=["a"]&type=json'
is "$body" '["a"]' "type=json is the default"

hreq /system.user.check
is "$code $body" "200 []" "a GET without args sends no fields"
hreq /system.user.check --data-binary '["a",1,-2.5,0.1,true,null,{"k":[1,"v"]},[]]'
is "$body" '["a","1","-2.5","0.1","true","null","{\"k\":[1,\"v\"]}","[]"]' \
    "POST: strings as they are, other values as compact JSON"
hreq /system.user.check -X POST
is "$code $body" "200 []" "a POST without a body sends no fields"
hreq /system.user.check --data-binary '["caf\u00e9","€","a\"b\\c","x\u0000y"]'
is "$body" '["café","€","a\"b\\c","x\u0000y"]' \
    "escapes, non-ASCII and NUL come back as JSON"
hreq '/system.user.check?args=%5B%22a%20b%22%2C%22c%2Bd%22%5D'
is "$body" '["a b","c+d"]' "a percent-encoded args is decoded"
hreq '/system.user.check?args=["a+b"]'
is "$body" '["a b"]' "a + in the query is a space"
hreq '/system.user.check?_=12345&args=["a"]&x'
is "$code $body" '200 ["a"]' "unknown parameters are ignored"

hreq /system.user.check -I
is "$code" 200 "HEAD of a served service is 200"
is "$(header Content-Type)" application/json \
    "with the type a GET would have"
ok "and no body (curl -I writes only the headers)" \
    cmp -s "$SCRATCH/body" "$SCRATCH/headers"
is "$(cli -n mmi.service system.user.check)" 200 "(HEAD did not call it)"
hreq /nosuch -I
is "$code" 404 "HEAD of an unknown service is 404"
hreq '/system.user.check?type=plain' -I
is "$(header Content-Type)" text/plain "HEAD follows type="

hreq /anything -X OPTIONS
is "$code" 204 "OPTIONS is 204"
is "$(header Allow)" "GET, POST, HEAD, OPTIONS" "with Allow"

hreq '/slow?args=["3000"]&timeout=200'
# The broker, told the deadline, and the gateway's own timer race.
like "$code $body" \
    '^504 \{"error":"(no reply within 200 ms|its deadline of 200 ms passed while it ran)","status":504\}$' \
    "timeout= bounds the wait: 504"
hreq '/slow?args=["300","z"]&timeout=-1'
is "$code $body" '200 ["300","z"]' "timeout=-1 waits as long as it takes"
hreq '/slow?args=["3000"]'
is "$code" 504 "-t sets the default timeout"
hreq '/slow?args=["200","fast"]&timeout=2500'
is "$code $body" '200 ["200","fast"]' "a longer timeout= than -t is honoured"
like "$(grep -c 'GET /slow' "$SCRATCH/gateway.log")" '^0$' \
    "without -v there is no line per request"

start_gateway cors --cors https://example.com -v || exit 1
HTTP=$http_cors
wait_for "second gateway connected" healthy
hreq '/system.user.check?args=["c"]'
is "$(header Access-Control-Allow-Origin)" https://example.com \
    "--cors allows the origin"
is "$(header Vary)" Origin "and says it varies by origin"
hreq /system.user.check -X OPTIONS -H 'Origin: https://example.com' \
    -H 'Access-Control-Request-Method: POST'
is "$code $(header Access-Control-Allow-Methods)" \
    "204 GET, POST, HEAD, OPTIONS" "a preflight gets the methods"
is "$(header Access-Control-Allow-Headers)" Content-Type \
    "and Content-Type as a header"
like "$(cat "$SCRATCH/cors.log")" \
    'http: GET /system.user.check\?args=\["c"\] 200 [0-9.]+ ms' \
    "-v logs method, path, code and time"
hreq /system.user.check
HTTP=$http_gateway
hreq /system.user.check
is "$(header Access-Control-Allow-Origin)" "" "without --cors, no CORS"

# A header longer than the block the gateway builds its replies' headers
# in (1 KiB) goes out whole, and so does the rest of the reply.
long="https://$(printf '%01500d' 0 | tr 0 a).example"
start_gateway longcors --cors "$long" || exit 1
HTTP=$http_longcors
hreq '/system.user.check?args=["l"]'
is "$(header Access-Control-Allow-Origin)" "$long" \
    "a 1.5 KB --cors origin goes out whole"
is "$code $(header Vary) $body" '200 Origin ["l"]' \
    "with the headers after it and the body"
