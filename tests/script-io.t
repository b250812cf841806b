#!/bin/sh
# What a program gets: stdin (/dev/null, or the last field with --stdin,
# written without blocking the loop), its directory (--chdir), a clean
# environment (or --keep-env), descriptors 0 to 2 only, default signals.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 16

start_broker broker --heartbeat 200 || exit 1
start_script cat cat --stdin --max-output 8000000 -s cat || exit 1
start_script wc wc --stdin -s sh -- -c 'printf "%s|" "$@"; wc -c' sh || exit 1
start_script devnull devnull -s wc -- -c || exit 1
mkdir "$SCRATCH/dir"
start_script pwd pwd --chdir "$SCRATCH/dir" -s pwd || exit 1
printf '#!/bin/sh\necho "relative $*"\n' >"$SCRATCH/dir/rel"
chmod 755 "$SCRATCH/dir/rel"
start_script rel rel --chdir "$SCRATCH/dir" -s ./rel || exit 1
export WAHA_TEST_SECRET=hush
start_script clean clean -s env || exit 1
start_script keep keep --keep-env -s env || exit 1
start_script fds fds -s sh -- -c 'ls /proc/$$/fd; :' || exit 1
start_script sigs sigs -s grep -- '^Sig\(Ign\|Blk\)' /proc/self/status || exit 1

# A 5 MiB payload through stdin and back out of stdout: both pipes are
# far larger than a pipe buffer, so a service that blocked on either
# would deadlock.
head -c 5242880 /dev/urandom >"$SCRATCH/payload"
cli -t 20000 -i plain -o plain -n cat <"$SCRATCH/payload" >"$SCRATCH/back"
is "$?" 0 "--stdin: a 5 MiB payload goes through cat"
ok "and comes back intact" cmp -s "$SCRATCH/payload" "$SCRATCH/back"
is "$(cli -n wc a b 'the last')" "a|b|8" \
    "--stdin: the last field is stdin, the others are arguments"
is "$(cli -n wc)" "|0" "--stdin without fields: empty stdin"
is "$(cli -n devnull)" 0 "without --stdin, stdin is /dev/null"

is "$(cli -n pwd)" "$(cd "$SCRATCH/dir" && pwd -P)" \
    "--chdir: the program runs in DIR"
is "$(cli -n rel x)" "relative x" \
    "--chdir: a relative -s is found from DIR"

env=$(cli -n clean)
is "$(printf '%s\n' "$env" | sed 's/=.*//' | sort | tr '\n' ' ')" \
    "$( (echo PATH WAHA_REQUEST WAHA_SERVICE; [ -n "${LANG+x}" ] &&
    echo LANG) | tr ' ' '\n' | sort | tr '\n' ' ')" \
    "a clean environment: PATH, LANG, WAHA_SERVICE and WAHA_REQUEST"
is "$(printf '%s\n' "$env" | sed -n 's/^PATH=//p')" "$PATH" \
    "PATH is the service's"
like "$env" '^WAHA_SERVICE=clean$' "WAHA_SERVICE is the service name"
req1=$(printf '%s\n' "$env" | sed -n 's/^WAHA_REQUEST=//p')
req2=$(cli -n clean | sed -n 's/^WAHA_REQUEST=//p')
is "$req1 $req2" "1 2" "WAHA_REQUEST numbers the requests"
env=$(cli -n keep)
like "$env" '^WAHA_TEST_SECRET=hush$' "--keep-env passes the environment on"
like "$env" '^WAHA_SERVICE=keep$' "and still sets WAHA_SERVICE"

is "$(cli -n fds | tr -s '\n' ' ')" "0 1 2 " \
    "the program has descriptors 0, 1 and 2 only, no socket of ours"
sigs=$(cli -n sigs)
blk=$(printf '%s\n' "$sigs" | sed -n 's/^SigBlk:[[:space:]]*//p')
ign=$(printf '%s\n' "$sigs" | sed -n 's/^SigIgn:[[:space:]]*//p')
is "$blk" 0000000000000000 "no signal is blocked in the program"
# glibc keeps its two internal real-time signals (32, 33) ignored.
is "$(( 0x$ign & 0x7fffffff ))" 0 \
    "no standard signal is ignored (SIGPIPE is back to its default)"
