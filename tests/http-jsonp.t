#!/bin/sh
# JSONP: the callback name must be a JavaScript identifier path, or the
# request is refused (400) with a plain JSON error, never echoed back.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/http-lib.sh"
setup
plan 27

start_broker broker --heartbeat 200 || exit 1
start_worker w1 echo --heartbeat 200
start_worker w2 bin --heartbeat 200 -m unhex
start_gateway || exit 1
wait_for "gateway connected" healthy

bad='{"error":"jsonp and callback take a JavaScript name of letters, digits, _, $ and dots, at most 64 characters","status":400}'
for cb in 'alert(1)' 'a;b' '%3Cscript%3E' '1abc' 'a..b' '.a' 'a.' \
    'a%0Ab' 'a%20b' 'a-b' 'a%00' '' 'x.1y' "$(printf '%065d' 0 | tr 0 a)" \
    'a%22b' '%E2%80%A8' 'a/*b*/'; do
	hreq "/echo?args=[\"x\"]&callback=$cb"
	is "$code $(header Content-Type) $body" "400 application/json $bad" \
	    "callback=$cb is refused"
done

cb=$(printf '%064d' 0 | tr 0 b)
hreq "/echo?args=[\"x\"]&callback=$cb"
is "$code $body" "200 $cb([\"x\"]);" "a name of 64 characters is fine"
hreq '/echo?args=["x"]&callback=$._x9.Y$'
is "$code $body" '200 $._x9.Y$(["x"]);' "letters, digits, _, $ and dots"
hreq '/echo?args=["x"]&callback=cb&type=plain'
is "$code" 400 "JSONP and type=plain do not mix"
hreq '/echo?args=["x"]&callback=cb&type=json'
is "$code $body" '200 cb(["x"]);' "JSONP and type=json do"

hreq '/bin?args=["e280a8","e280a9","c3a9","3c2f7363726970743e"]&callback=cb'
is "$body" 'cb(["\u2028","\u2029","\u00E9","</script>"]);' \
    "JSONP is ASCII: U+2028, U+2029 and the rest escaped"
hreq '/bin?args=["ff"]&callback=cb'
is "$body" 'cb(["\uFFFD"]);' "an invalid byte is U+FFFD in JSONP too"
hreq '/echo?args=["</script><script>alert(1)</script>"]&callback=cb'
is "$(header Content-Type) $(header X-Content-Type-Options)" \
    "application/javascript; charset=utf-8 nosniff" \
    "JSONP is served as a script that no browser sniffs as HTML"

# --no-jsonp: no page can read a reply through a script tag.
start_gateway strict --no-jsonp || exit 1
HTTP=$http_strict
hreq '/echo?args=["x"]&callback=cb'
is "$code $body" '400 {"error":"JSONP is turned off here (--no-jsonp)","status":400}' \
    "--no-jsonp: callback= is 400, in plain JSON"
hreq '/echo?args=["x"]&jsonp=cb'
is "$code" 400 "--no-jsonp: jsonp= too"
hreq '/echo?args=["x"]'
is "$code $body" '200 ["x"]' "--no-jsonp: plain JSON still works"
