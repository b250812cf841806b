#!/bin/sh
# Percent-encoding is strict, and no reply can make the gateway emit
# invalid JSON: each byte that is not valid UTF-8 becomes U+FFFD, while
# type=plain passes the bytes as they are.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/http-lib.sh"
setup
plan 29

start_broker broker --heartbeat 200 || exit 1
start_worker w1 echo --heartbeat 200
start_worker w2 bin --heartbeat 200 -m unhex
start_gateway || exit 1
wait_for "gateway connected" healthy

hreq '/%65c%68o?args=["a"]'
is "$code $body" '200 ["a"]' "a percent-encoded path is decoded"
hreq '/ec%6'
is "$code $body" \
    '400 {"error":"malformed percent-encoding in the path","status":400}' \
    "a truncated escape in the path is 400"
hreq '/ec%zzho'
is "$code" 400 "a non-hex escape in the path is 400"
hreq '/ec%00ho'
is "$code" 400 "a NUL in the path is 400"
hreq '/echo?args=%5B%22%ZZ%22%5D'
is "$code $body" \
    '400 {"error":"malformed percent-encoding in the query","status":400}' \
    "a bad escape in a value is 400"
hreq '/echo?ar%G7s=1'
is "$code" 400 "a bad escape in a key is 400"
hreq '/echo?args=["a"]&x=%'
is "$code" 400 "a lone % at the end is 400"
hreq '/echo?args=%5B%22%00%22%5D'
is "$code" 400 "a raw NUL in args is not JSON: 400"
hreq '/echo?args=["a\u0000b"]'
is "$code $body" '200 ["a\u0000b"]' "a JSON-escaped NUL is a NUL byte"
hreq '/echo?args=%5B%22%FF%22%5D'
like "$code" '^400$' "a raw invalid UTF-8 byte in args is not JSON: 400"

# valid JSON, and the expected strings, whatever the bytes
jcheck() {
	printf '%s' "$body" | $PYTHON -c '
import json, sys
raw = sys.stdin.buffer.read()
raw.decode("utf-8")
print(json.dumps(json.loads(raw)))'
}
hreq '/bin?args=["ff41"]'
is "$(jcheck)" '["\ufffdA"]' "0xff is U+FFFD in JSON"
hreq '/bin?args=["e282ac","e282","41"]'
is "$(jcheck)" '["\u20ac", "\ufffd\ufffd", "A"]' \
    "a truncated sequence is one U+FFFD per byte"
hreq '/bin?args=["c0af","eda080","f4908080"]'
is "$(jcheck)" \
    '["\ufffd\ufffd", "\ufffd\ufffd\ufffd", "\ufffd\ufffd\ufffd\ufffd"]' \
    "overlong forms, surrogates and code points past U+10FFFF too"
hreq '/bin?args=["00","0a09","5c22"]'
is "$(jcheck)" '["\u0000", "\n\t", "\\\""]' \
    "NUL, control characters, backslash and quote are escaped"
hreq '/bin?args=["001f225c2f7f0a08"]'
is "$body" '["\u0000\u001F\"\\/'"$(printf '\177')"'\n\b"]' \
    "the JSON is compact, escapes in upper case, / and DEL as they are"
quotes=$($PYTHON -c 'print("22" * 600)')
hreq "/bin?args=[\"$quotes\"]"
is "$body" "[\"$($PYTHON -c 'print("\\\"" * 600)')\"]" \
    "600 escaped quotes, past a piece of the encoder, byte for byte"
hreq '/bin?args=["ff41","00fe"]&type=plain'
is "$(od -An -tx1 "$SCRATCH/body" | tr -d ' \n')" ff4100fe \
    "type=plain passes the bytes as they are"
hreq '/bin?args=["zz"]'
is "$code $body" '400 {"error":"not hex","status":400}' \
    "(the test worker's own 400)"
hreq '/bin?args=["41"]' -X POST --data-binary '["ff"]'
is "$code" 400 "(args and a body in one POST are refused)"
hreq /bin --data-binary '["c3", "28"]'
is "$(jcheck)" '["\ufffd", "("]' "POST: the same rule"

# A field of every byte value, and a long random one.
all=$($PYTHON -c 'print(bytes(range(256)).hex())')
hreq /bin --data-binary "[\"$all\"]"
is "$code" 200 "a field with every byte value"
is "$(jcheck | $PYTHON -c 'import json,sys; print(len(json.loads(sys.stdin.read())[0]))')" \
    256 "comes back as 256 characters of valid JSON"
rnd=$(head -c 65536 /dev/urandom | od -An -tx1 -v | tr -d ' \n')
printf '["%s","%s"]' "$rnd" "$rnd" >"$SCRATCH/rnd.json"
hreq /bin --data-binary @"$SCRATCH/rnd.json"
is "$code" 200 "two fields of 64 KiB of random bytes"
ok "come back as valid JSON" jcheck
hreq '/bin?type=plain' --data-binary @"$SCRATCH/rnd.json"
is "$(od -An -tx1 -v "$SCRATCH/body" | tr -d ' \n')" "$rnd$rnd" \
    "and as the same bytes in plain"

hreq '/echo?args=["%C3%A9t%C3%A9","%E2%82%AC"]'
is "$body" '["été","€"]' "percent-encoded UTF-8 in args is decoded"
hreq '/echo?args=["\ud83d\ude00"]'
is "$body" '["😀"]' "a JSON surrogate pair in args is one character"
hreq '/echo?args=["\ud83d"]'
is "$code" 400 "a lone surrogate escape in args is not JSON: 400"
hreq '/echo?args=["ok"]'
is "$code $body" '200 ["ok"]' "the gateway still serves"
