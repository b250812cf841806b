#!/bin/sh
# waha-cli codecs: -d plain|base64|hex on input fields, -e plain|base64|hex
# on output fields (delimited and json), binary round trips, and bytes
# that are not UTF-8 in JSON output.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
setup
plan 19

start_broker || exit 1
start_worker echo echo || exit 1

is "$(cli -n echo -d base64 aGVsbG8= d29ybGQ)" "hello
world" "-d base64 decodes each string, padding optional"
is "$(cli -n echo -d base64 'aGVs bG8=')" hello \
    "white space inside base64 is skipped"
is "$(cli -n echo -d hex 68656c6c6f 4A4b)" "hello
JK" "-d hex decodes each string, either case"
is "$(cli -n echo -d plain 'aGVsbG8=')" "aGVsbG8=" "-d plain leaves it alone"
is "$(cli -n echo -d hex -e hex 00ff '' 41)" "00ff

41" "-d hex and -e hex round trip, empty field included"

head -c 3000 /dev/urandom >"$SCRATCH/bin"
base64 <"$SCRATCH/bin" >"$SCRATCH/bin.b64"
cli -n echo -i plain -d base64 -o plain <"$SCRATCH/bin.b64" >"$SCRATCH/out"
ok "-i plain -d base64 takes wrapped base64, -o plain gives the bytes" \
    cmp -s "$SCRATCH/bin" "$SCRATCH/out"
is "$(cli -n echo -i plain -d base64 -e base64 <"$SCRATCH/bin.b64" |
    base64 -d | hexof)" "$(hexof <"$SCRATCH/bin")" \
    "-e base64 is what base64 -d reads back"
printf '00ff\n\n41\n' >"$SCRATCH/hexlines"
is "$(cli -n echo -i delimited -d hex -o json <"$SCRATCH/hexlines" |
    hexof)" "$(printf '["\\u0000\357\277\275","","A"]\n' | hexof)" \
    "-i delimited -d hex decodes each line"
all=$(awk 'BEGIN { for (i = 0; i < 256; i++) printf "%02x", i }')
is "$(cli -n echo -d hex -e hex "$all")" "$all" "all 256 byte values survive"
is "$(cli -n echo -d hex -e base64 00ff)" "AP8=" "-e base64 pads"
is "$(cli -n echo -d hex -e base64 '')" "" "-e base64 of an empty field"
is "$(cli -n echo -e hex AB)" 4142 "-e hex is lowercase"

is "$(cli -n echo -o json -e base64 -d hex 00ff 41)" '["AP8=","QQ=="]' \
    "-o json -e base64 encodes each string"
is "$(cli -n echo -o json -e hex ab)" '["6162"]' "-o json -e hex"
is "$(cli -n echo -o json -e plain -d hex 61ff62 | hexof)" \
    "$(printf '["a\357\277\275b"]\n' | hexof)" \
    "-o json: a byte that is not UTF-8 becomes U+FFFD"
is "$(cli -n echo -o json -d hex c3a9 | hexof)" \
    "$(printf '["\303\251"]\n' | hexof)" "valid UTF-8 passes through"
is "$(cli -n echo -o json -d hex eda080 | hexof)" \
    "$(printf '["\357\277\275\357\277\275\357\277\275"]\n' | hexof)" \
    "a UTF-16 surrogate is not UTF-8: three U+FFFD"
is "$(cli -n echo -o json -d hex 00 | hexof)" \
    "$(printf '["\\u0000"]\n' | hexof)" "a NUL byte becomes the NUL escape"
is "$(cli -n echo -o json -e base64 -d hex ff | python3 -c '
import base64, json, sys
print(base64.b64decode(json.load(sys.stdin)[0]).hex())')" ff \
    "-e base64 is the lossless way to put bytes in JSON"
