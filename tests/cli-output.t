#!/bin/sh
# waha-cli output modes: delimited (each field followed by the
# separator), plain, json (compact and pretty) and empty; exact bytes.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
setup
plan 16

start_broker || exit 1
start_worker echo echo || exit 1
start_worker reverse reverse --mode reverse || exit 1

# out ARGS...: the exact bytes written, in hex
out() {
	cli "$@" | hexof
}

is "$(out -n echo a b)" 610a620a \
    "-o delimited is the default: each field followed by a newline"
is "$(out -n echo -o delimited a '' b)" 610a0a620a \
    "an empty field is just its separator"
is "$(out -n echo)" "" "no field, no output"
is "$(out -n echo --out-sep , a b)" 612c622c "--out-sep , after each field"
is "$(out -n echo --out-sep '\0' a b)" 61006200 \
    "--out-sep NUL escape for xargs -0"
is "$(out -n echo --out-sep '\x7c' a b)" 617c627c "--out-sep in hex"
is "$(cli -n reverse a b c | tr '\n' ' ')" "c b a " \
    "fields come out in the order of the reply"

is "$(out -n echo -o plain ab c)" 616263 \
    "-o plain: fields concatenated, nothing added"
is "$(out -n echo -o plain)" "" "-o plain with no field writes nothing"

is "$(cli -n echo -o json a 'b c')" '["a","b c"]' "-o json: an array of strings"
is "$(out -n echo -o json a)" 5b2261225d0a "one line, newline-terminated"
is "$(cli -n echo -o json -p a b)" '[
  "a",
  "b"
]' "-p indents it"
is "$(cli -n echo -o json)" '[]' "no field is an empty array"
printf 'q"b\\n\nt\tc\001' >"$SCRATCH/odd"
is "$(cli -n echo -i plain -o json <"$SCRATCH/odd" |
    python3 -c 'import json, sys; sys.stdout.write(json.load(sys.stdin)[0])' |
    hexof)" "$(hexof <"$SCRATCH/odd")" \
    "quotes, backslashes and control characters survive as JSON"

is "$(out -n echo -o empty a b)" "" "-o empty writes nothing"
cli -n nosuch -o empty 2>/dev/null
is "$?" 4 "-o empty still exits with the status"
