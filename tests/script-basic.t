#!/bin/sh
# waha-service-script's argv and reply rules: argv is the program, the
# predefined arguments, then the fields (empty ones too); the reply is
# stdout, then stderr with -e, then the exit status with -r.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 12

start_broker broker --heartbeat 200 || exit 1
start_script args args -s printf -- '[%s]\n' pre || exit 1
prog='echo out; echo err >&2; exit 3'
start_script all all -s sh -e -r -- -c "$prog" || exit 1
start_script rc rc -s sh --no-stdout -r -- -c "$prog" || exit 1
start_script none none -s sh --no-stdout -- -c "$prog" || exit 1
start_script plain plain -s sh -- -c "$prog" || exit 1
start_script sig sig -s sh -r -- -c 'echo before; kill -9 $$' || exit 1
start_script status status -s sh --no-stdout -r -- -c 'exit "$1"' sh || exit 1

is "$(cli -n args one 'two words' '' last)" "[pre]
[one]
[two words]
[]
[last]" "predefined args, then every field, empty ones as empty args"
is "$(cli -n args)" "[pre]" "no fields: the predefined args alone"
is "$(cli -o json -n args -- -x --y)" '["[pre]\n[-x]\n[--y]\n"]' \
    "stdout is one field, newlines and all"
is "$(cli -o json -n all)" '["out\n","err\n","3"]' \
    "-e -r: stdout, stderr, exit status, in that order"
is "$(cli -o json -n rc)" '["3"]' "--no-stdout -r: the exit status alone"
is "$(cli -o json -n none)" '[]' "--no-stdout alone: an empty reply"
is "$(cli -o json -n plain)" '["out\n"]' \
    "by default stdout alone; stderr is not in the reply"
out=$(cli -n plain)
is "$?" 0 "a non-zero exit without -r is still a 200 reply"
is "$(cli -o json -n sig)" '["before\n","137"]' \
    "killed by signal 9 reports 128+9"
is "$(cli -n status 0) $(cli -n status 42)" "0 42" \
    "exit statuses come through as decimal text"
like "$(cat "$SCRATCH/plain.log")" 'err' \
    "without -e, stderr goes to the service's own stderr"
is "$(cli -n mmi.stats | python3 -c '
import json, sys
w = [x for x in json.load(sys.stdin)["workers"] if x["service"] == "args"]
print(w[0]["capacity"])')" 1 "the default capacity is 1"
