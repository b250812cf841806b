#!/bin/sh
# waha-cli input modes: args, plain, delimited (with each kind of
# separator) and json, through an echo worker shown as JSON.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
setup
plan 24

start_broker || exit 1
start_worker echo echo || exit 1

# fields: the request's fields as the echo worker returns them, in JSON
fields() {
	cli -n echo -o json "$@"
}

is "$(fields a 'b c' '')" '["a","b c",""]' "-i args: each string is a field"
is "$(fields -i args x)" '["x"]' "-i args is the default"
is "$(fields)" '[]' "-i args with no strings sends no field"
is "$(fields -- -x --y)" '["-x","--y"]' "-- lets fields start with -"

is "$(printf 'one\ntwo\n' | fields -i plain)" '["one\ntwo\n"]' \
    "-i plain: all of stdin is one field, newlines kept"
is "$(fields -i plain </dev/null)" '[""]' \
    "-i plain with empty stdin sends one empty field"
head -c 1048576 /dev/zero | tr '\0' x >"$SCRATCH/big"
is "$(cli -n echo -i plain -o plain <"$SCRATCH/big" | wc -c | tr -d ' ')" \
    1048576 "-i plain carries a 1 MiB field"

is "$(printf 'a\nb\n' | fields -i delimited)" '["a","b"]' \
    "-i delimited splits at newlines"
is "$(printf 'a\nb' | fields -i delimited)" '["a","b"]' \
    "the last field needs no separator"
is "$(printf 'a\n\n' | fields -i delimited)" '["a",""]' \
    "only the one empty part after the last separator is dropped"
is "$(printf '\n' | fields -i delimited)" '[""]' \
    "a lone separator is one empty field"
is "$(fields -i delimited </dev/null)" '[]' \
    "empty stdin is no field"
is "$(printf 'a,b,,c' | fields -i delimited --in-sep ,)" '["a","b","","c"]' \
    "--in-sep , splits at commas"
is "$(printf 'a\nb,c' | fields -i delimited --in-sep ,)" '["a\nb","c"]' \
    "with another separator, newlines are data"
is "$(printf 'a\0b\0' | fields -i delimited --in-sep '\0')" '["a","b"]' \
    "--in-sep NUL escape splits at NUL bytes (find -print0)"
is "$(printf 'a\tb' | fields -i delimited --in-sep '\t')" '["a","b"]' \
    "--in-sep tab escape splits at tabs"
is "$(printf 'a;b' | fields -i delimited --in-sep '\x3b')" '["a","b"]' \
    "--in-sep x3b escape is a byte in hex"
is "$(printf 'a\\b' | fields -i delimited --in-sep '\\')" '["a","b"]' \
    "--in-sep backslash escape is a backslash"
is "$(printf 'a\rb' | fields -i delimited --in-sep '\r')" '["a","b"]' \
    "--in-sep CR escape splits at carriage returns"

is "$(echo '["a", "é", "q\"uote"]' | fields -i json)" \
    '["a","é","q\"uote"]' "-i json: strings are fields as they are"
is "$(echo '[1, -2.5, 1.1, 1e3, true, false, null]' | fields -i json)" \
    '["1","-2.5","1.1","1000.0","true","false","null"]' \
    "numbers and literals become their JSON text"
is "$(echo '[{"k": [1, "v"]}, []]' | fields -i json)" \
    '["{\"k\":[1,\"v\"]}","[]"]' "objects and arrays become compact JSON"
is "$(echo '["x\u0000y"]' | cli -n echo -i json -e hex)" 780079 \
    "a NUL escape in a JSON string is a NUL byte of the field"
is "$(echo ' [ ] ' | fields -i json)" '[]' "an empty array sends no field"
