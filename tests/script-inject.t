#!/bin/sh
# Hostile fields reach the program verbatim, as single arguments, and
# nothing else runs: there is no shell between the request and execve.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 6

start_broker broker --heartbeat 200 || exit 1
start_script args args -s printf -- '[%s]\n' || exit 1
X=$SCRATCH/pwned
nl='
'

out=$(cli -n args -- "; touch $X" "\$(touch $X)" "\`touch $X\`" \
    "| touch $X" "&& touch $X" "> $X" --help '`id`' '*' "a${nl}b" \
    "'\"" '$HOME')
is "$out" "[; touch $X]
[\$(touch $X)]
[\`touch $X\`]
[| touch $X]
[&& touch $X]
[> $X]
[--help]
[\`id\`]
[*]
[a
b]
['\"]
[\$HOME]" "every field arrives verbatim, one argument each"
ok "and none of them ran anything" test ! -e "$X"

# Fields only ever come after the predefined arguments.
start_script fixed fixed -s printf -- '<%s>' || exit 1
is "$(cli -n fixed -- '%s%s%n' x)" "<%s%s%n><x>" \
    "a field cannot take the place of a predefined argument"

# A file without #! is not run through a shell (no ENOEXEC fallback).
printf 'touch %s\n' "$X" >"$SCRATCH/noshebang"
chmod 755 "$SCRATCH/noshebang"
start_script noshebang noshebang -s "$SCRATCH/noshebang" || exit 1
is "$(cli -n noshebang 2>&1)" \
    "waha-cli: 500 cannot run $SCRATCH/noshebang: Exec format error" \
    "a script without #! fails with 500 (no /bin/sh fallback)"
ok "and did not run" test ! -e "$X"
is "$(cli -n args ok)" "[ok]" "the service still serves"
