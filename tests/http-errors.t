#!/bin/sh
# The gateway maps WAHA statuses and its own checks to HTTP codes, with
# {"error": ..., "status": N} bodies, or one line of text for plain.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/http-lib.sh"
setup
plan 31

start_broker broker --heartbeat 200 || exit 1
start_worker w1 echo --heartbeat 200
for st in 400 500 503 504; do
	start_worker "f$st" "fail$st" --heartbeat 200 -m fail --status $st
done
start_gateway || exit 1
wait_for "gateway connected" healthy

hreq /nosuch
is "$code $body" '404 {"error":"no such service","status":404}' \
    "an unknown service is 404"
is "$(header Content-Type)" application/json "as JSON"
hreq '/nosuch?type=plain'
is "$code $body" "404 404 no such service" "plain errors are one line"
is "$(header Content-Type)" "text/plain; charset=utf-8" "of UTF-8 text"
hreq '/nosuch?callback=cb'
is "$code $body" '404 cb({"error":"no such service","status":404});' \
    "JSONP errors are wrapped in the callback"

for st in 400 500 503 504; do
	hreq "/fail$st"
	is "$code $body" "$st {\"error\":\"test failure\",\"status\":$st}" \
	    "a worker's FAIL $st is $st with its reason"
done
hreq /mmi.nosuch
is "$code $body" '501 {"error":"no such mmi. service","status":501}' \
    "an unknown mmi. service is 501"
hreq /mmi.services
is "$code $body" '200 ["echo","fail400","fail500","fail503","fail504"]' \
    "the broker's mmi. services can be called"

hreq '/echo?args=["a",'
like "$code $body" '^400 \{"error":"args is not JSON: .* \(line 1, column 5\)","status":400\}$' \
    "args that are not JSON are 400"
hreq '/echo?args={"a":1}'
is "$code $body" \
    '400 {"error":"args is JSON but not an array","status":400}' \
    "args that are not an array are 400"
hreq /echo --data-binary '"just a string"'
is "$code $body" \
    '400 {"error":"the body is JSON but not an array","status":400}' \
    "a POST body that is not an array is 400"
hreq /echo --data-binary '[1, 2'
like "$code $body" '^400 \{"error":"the body is not JSON: .*' \
    "a POST body that is not JSON is 400"
hreq '/echo?args=["a"]' --data-binary '["b"]'
is "$code" 400 "a POST with args= too is 400"
hreq '/echo?type=xml'
is "$code $body" '400 {"error":"type must be json or plain","status":400}' \
    "type other than json or plain is 400"
hreq '/echo?timeout=soon'
is "$code" 400 "a timeout that is not a number is 400"
hreq '/echo?timeout=-2'
is "$code" 400 "a timeout under -1 is 400"
hreq '/echo?timeout=99999999999'
is "$code" 400 "a timeout too large is 400"
hreq '/echo?type=plain&timeout=x'
is "$code $body" "400 400 timeout must be -1 or a number of ms" \
    "errors follow the type asked for"
hreq '/echo?args=["a"]&args=["b"]'
is "$code $body" '400 {"error":"parameter args given twice","status":400}' \
    "a parameter given twice is 400"
hreq '/echo?jsonp=a&callback=b'
is "$code" 400 "jsonp and callback together are 400"
hreq /
is "$code $body" '400 {"error":"empty service name","status":400}' \
    "an empty service name is 400"
hreq "/$(printf '%0256d' 0)"
is "$code $body" '400 {"error":"service name too long","status":400}' \
    "a name over 255 bytes is 400"
hreq "/$(printf '%0255d' 0)"
is "$code" 404 "a name of 255 bytes is fine (and unknown)"
hreq /ec%20ho
like "$code $body" '^400 .*not visible ASCII' \
    "a name with a space is 400"
hreq /e%C3%A9
is "$code" 400 "a name that is not ASCII is 400"

for m in PUT DELETE PATCH TRACE; do
	hreq /echo -X $m
	[ "$code $(header Allow)" = "405 GET, POST, HEAD, OPTIONS" ] || break
done
is "$m $code $(header Allow)" "TRACE 405 GET, POST, HEAD, OPTIONS" \
    "PUT, DELETE, PATCH and TRACE are 405 with Allow"
is "$body" '{"error":"method not allowed","status":405}' "with a body"

hreq '/echo?args=["still","here"]'
is "$code $body" '200 ["still","here"]' "the gateway still serves"
