#!/bin/sh
# The original example, exactly as README.md and waha-service-script(8)
# show it: a broker; a balancer for system.user.check with two htpasswd
# checkers behind it; an htpasswd adder on the broker.  Add a user, then
# check a right and a wrong password.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
command -v htpasswd >/dev/null 2>&1 ||
    skip_all "htpasswd (apache2-utils) is not installed"
plan 12

cd "$SCRATCH" || exit 1
touch users.passwd
start_broker broker --heartbeat 200 || exit 1
start_daemon balance "$WAHA_BALANCE" -u "$BROKER" -n system.user.check \
    -b 'tcp://127.0.0.1:*' --endpoint-file "$SCRATCH/backend" \
    --heartbeat 200
wait_for "the balancer's backend" test -s "$SCRATCH/backend"
BACKEND=$(cat "$SCRATCH/backend")
for i in 1 2; do
	start_daemon "check$i" "$WAHA_SCRIPT" -u "$BACKEND" \
	    -n system.user.check -s htpasswd --ret-code --no-stdout \
	    --heartbeat 200 -v -- -bv users.passwd
done
start_script add system.user.add -s htpasswd --ret-code --stderr \
    -- -b users.passwd || exit 1
wait_for "the balancer to register" served system.user.check

out=$(cli -o json -n system.user.add admin admin)
is "$?" 0 "waha-cli -n system.user.add admin admin succeeds"
is "$out" '["","Adding password for user admin\n","0"]' \
    "the reply is htpasswd's stdout, stderr and exit status"
ok "the password file has admin" grep -q '^admin:' users.passwd

is "$(cli -o json -n system.user.check admin admin)" '["0"]' \
    "the right password: exit status 0"
is "$(cli -o json -n system.user.check admin wrong)" '["3"]' \
    "a wrong password: exit status 3"
is "$(cli -o json -n system.user.check nobody admin)" '["6"]' \
    "an unknown user: exit status 6"

# Both checkers behind the balancer get work (they log each request).
jobs=""
for i in 1 2 3 4 5 6 7 8; do
	cli -n system.user.check admin admin >/dev/null &
	jobs="$jobs $!"
done
wait $jobs
ok "both checkers behind the balancer ran htpasswd" sh -c \
    "grep -q 'request .*: exit 0' '$SCRATCH/check1.log' &&
    grep -q 'request .*: exit 0' '$SCRATCH/check2.log'"
is "$(cli -n mmi.services)" "system.user.add
system.user.check" "the broker lists both services"
is "$(workers_of system.user.check)" 1 \
    "to the broker the pool is one worker (the balancer)"

# A field that a shell would act on arrives as one argument.
out=$(cli -o json -n system.user.add 'x;touch pwned' '$(touch pwned)')
is "$out" '["","Adding password for user x;touch pwned\n","0"]' \
    "a hostile user name is only a user name"
ok "and nothing ran" test ! -e pwned
ok "the broker still serves" test "$(cli -n mmi.service system.user.add)" = 200
