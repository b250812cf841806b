#!/bin/sh
# Requests that cannot run: a missing or forbidden program is 500, a
# field with a NUL byte or an argument list the kernel refuses is 400,
# output over --max-output is 500; the service goes on serving.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 16

# call SERVICE ARGS...: what waha-cli says on stderr of a failing request
call() {
	_s=$1
	shift
	cli -n "$_s" "$@" 2>&1 >/dev/null
}

start_broker broker --heartbeat 200 || exit 1
printf 'echo hi\n' >"$SCRATCH/noexec"
chmod 644 "$SCRATCH/noexec"
start_script missing missing -s "$SCRATCH/nosuch" || exit 1
start_script noperm noperm -s "$SCRATCH/noexec" || exit 1
start_script nopath nopath -s waha-no-such-program || exit 1
start_script args args -s printf -- '[%s]\n' || exit 1
start_script small small --max-output 1000 -e -s head -- -c || exit 1
start_script err err --max-output 1000 -e -s sh -- -c \
    'head -c "$1" /dev/zero >&2' sh || exit 1

like "$(cat "$SCRATCH/missing.log")" 'nosuch: no such executable' \
    "a missing program is reported at startup"
out=$(call missing x)
rc=$?
is "$out" \
    "waha-cli: 500 cannot run $SCRATCH/nosuch: No such file or directory" \
    "a missing program: 500 with the reason"
is "$rc" 5 "and waha-cli exits 5"
is "$(call noperm)" \
    "waha-cli: 500 cannot run $SCRATCH/noexec: Permission denied" \
    "a file that is not executable: 500 Permission denied"
like "$(call nopath)" '500 cannot run waha-no-such-program: No such file' \
    "a name not found in PATH: 500"
out=$(call args -d hex 61 610062 63)
rc=$?
is "$out" \
    "waha-cli: 400 field 2 holds a NUL byte: it cannot be an argument" \
    "a field with a NUL byte: 400 with the reason"
is "$rc" 4 "and waha-cli exits 4"
head -c 300000 /dev/zero | tr '\0' a >"$SCRATCH/big"
is "$(cli -n args -i plain <"$SCRATCH/big" 2>&1 >/dev/null)" \
    "waha-cli: 400 cannot run printf: argument list too long" \
    "a field longer than the kernel takes (E2BIG): 400"
is "$(cli -o plain -n small 1000 /dev/zero | wc -c)" 1000 \
    "output of exactly --max-output bytes is replied"
is "$(call small 1001 /dev/zero)" "waha-cli: 500 stdout over 1000 bytes" \
    "one byte over --max-output: 500"
is "$(call err 5000)" "waha-cli: 500 stderr over 1000 bytes" \
    "--max-output applies to stderr too"
start=$(now_ms)
start_script flood flood --max-output 100000 -s yes || exit 1
is "$(call flood)" "waha-cli: 500 stdout over 100000 bytes" \
    "a program writing without end is killed: 500"
ok "and answered at once (under 3 s)" test $(($(now_ms) - start)) -lt 3000
is "$(cli -n args still)" "[still]" "the service still serves after all that"
is "$(stat 's["services"]["flood"]["errors"]["500"]')" 1 \
    "the broker counts the 500"
ok "the service is alive" alive args
