#!/bin/sh
# waha-cli refuses bad input: base64, hex or JSON that does not parse
# gets one line on stderr and exit 1, and nothing reaches the broker.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
setup
plan 22

start_broker || exit 1
start_worker echo echo || exit 1
before=$(reached)

# bad MESSAGE-PATTERN STDIN ARGS...: waha-cli ARGS with STDIN is refused
# with exit 1, one line on stderr matching the pattern, nothing on stdout
bad() {
	_pat=$1
	_in=$2
	printf '%s' "$_in" >"$SCRATCH/in"
	shift 2
	cli -n echo "$@" <"$SCRATCH/in" >"$SCRATCH/out" 2>"$SCRATCH/err"
	_rc=$?
	like "$_rc:$(lines "$SCRATCH/err"):$(cat "$SCRATCH/out"):$(cat \
	    "$SCRATCH/err")" "^1:1::waha-cli: $_pat" \
	    "bad input refused: $(printf '%s' "$* <<< $_in" |
	    LC_ALL=C tr -c ' -[]-~' '?')"
}

bad 'field 1 is not valid base64' '' -d base64 'not base64!'
bad 'field 2 is not valid base64' '' -d base64 aGk= 'aGk=x'
bad 'field 1 is not valid base64' '' -d base64 abcde
bad 'field 1 is not valid base64' '' -d base64 'ab=c'
bad 'field 1 is not valid base64' '' -d base64 'aGk==='
bad 'field 1 is not valid hex' '' -d hex abc
bad 'field 3 is not valid hex' '' -d hex 00 11 zz
bad 'field 1 is not valid hex' '' -d hex '0x41'
bad 'field 1 is not valid base64' "$(printf 'aGk\001')" -i plain -d base64
bad 'field 1 is not valid hex' 'abc
' -i plain -d hex
bad 'field 3 is not valid base64' 'aGk=
aGk=
a
' -i delimited -d base64
bad 'field 2 is not valid hex' '00,0g' -i delimited --in-sep , -d hex
bad 'stdin is not JSON: ' 'not json' -i json
bad 'stdin is not JSON: ' '' -i json
bad 'stdin is not JSON: .*line 1, column 5' '["a",' -i json
bad 'stdin is not JSON: ' '["a"] ["b"]' -i json
bad 'stdin is not JSON: ' "$(printf '["\377"]')" -i json
bad 'stdin is not JSON: .*too big integer' '[12345678901234567890]' -i json
bad 'stdin is JSON but not an array' '{"a": 1}' -i json
bad 'stdin is JSON but not an array' '"a"' -i json
bad 'stdin is JSON but not an array' '42' -i json

is "$(reached)" "$before" "none of these reached the broker"
