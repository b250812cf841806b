#!/bin/sh
# The broker answers native requests: 200 from a worker, 404 for an
# unknown service, the mmi. services.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup
plan 6

start_broker broker --heartbeat 200 || exit 1
start_worker w1 echo --heartbeat 200

is "$(cli -n echo hello world)" "hello
world" "echo replies with the fields, one a line"
out=$(cli -n nosuch x 2>&1)
rc=$?
is "$rc" 4 "an unknown service exits 4"
is "$out" "waha-cli: 404 no such service" "and says 404 on stderr"
is "$(cli -n mmi.service echo)" 200 "mmi.service says 200 for echo"
is "$(cli -n mmi.service nosuch)" 404 "mmi.service says 404 otherwise"
is "$(cli -n mmi.services)" echo "mmi.services lists echo"
