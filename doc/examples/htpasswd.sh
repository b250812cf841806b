#!/bin/sh
# The htpasswd example, runnable: a broker, a balancer with two password
# checkers behind it, and an adder, all with htpasswd(1) from
# apache2-utils; then add a user and check a right and a wrong password.
#
#   htpasswd.sh [BROKER_URL BACKEND_URL]
#
# The programs come from PATH (set WAHA_BIN to a build's src/ to use it);
# the URLs default to the usual loopback endpoints.  Everything it starts
# is stopped when it ends.
set -eu
broker=${1:-tcp://127.0.0.1:10000}
backend=${2:-tcp://127.0.0.1:10001}
bin=${WAHA_BIN:+$WAHA_BIN/}
dir=$(mktemp -d)
pids=""
trap 'kill $pids 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
cd "$dir"
touch users.passwd

"${bin}waha-broker" -u "$broker" & pids="$pids $!"
"${bin}waha-proxy-balance" -u "$broker" -b "$backend" \
    -n system.user.check & pids="$pids $!"
for i in 1 2; do
	"${bin}waha-service-script" -u "$backend" -n system.user.check \
	    -s htpasswd --ret-code --no-stdout -- -bv users.passwd &
	pids="$pids $!"
done
"${bin}waha-service-script" -u "$broker" -n system.user.add \
    -s htpasswd --ret-code --stderr -- -b users.passwd & pids="$pids $!"

cli() {
	"${bin}waha-cli" -u "$broker" "$@"
}
for s in system.user.add system.user.check; do
	i=0
	until [ "$(cli -t 1000 -n mmi.service "$s" 2>/dev/null)" = 200 ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "$s did not come up" >&2; exit 1; }
		sleep 0.1
	done
done

set -x
cli -o json -n system.user.add admin admin
cli -o json -n system.user.check admin admin
cli -o json -n system.user.check admin wrong
