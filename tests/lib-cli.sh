# Helpers of the waha-cli and MDP tests, sourced after lib.sh.

# The directory of the test sources (mdp.py and the like).
TESTS_SRC=$(dirname "${WAHA_LIB:-$0}")

# hexof: stdin as one line of lowercase hex, so that exact bytes (a
# trailing newline, a NUL) can be compared.
hexof() {
	od -An -tx1 -v | tr -d ' \n'
}

# lines FILE: how many lines FILE has
lines() {
	wc -l <"$1" | tr -d ' '
}

# reached: how many client messages the broker has seen, mmi. requests
# aside: requests to services plus malformed ones.  A request that was
# not sent leaves it unchanged.
reached() {
	stat '(s["totals"]["requests"] - s["totals"]["mmi_requests"] +
	    s["totals"]["bad_requests"])'
}

# need_pyzmq: set PYTHON to a python3 that can import zmq (python3-zmq),
# or skip the whole test file.  Call it before plan.
need_pyzmq() {
	for PYTHON in ${PYTHON:-} python3 /usr/bin/python3; do
		"$PYTHON" -c 'import zmq' 2>/dev/null && return 0
	done
	skip_all "no python3 with pyzmq (Debian: python3-zmq)"
}

# mdp ARGS...: the independent RFC 7 client and worker, tests/mdp.py
mdp() {
	"$PYTHON" "$TESTS_SRC/mdp.py" "$@"
}

# start_mdp_worker NAME SERVICE [OPTIONS...]: a Python worker, logging
# its events to $SCRATCH/NAME.events, waited for until the broker has it
start_mdp_worker() {
	_mn=$1
	_ms=$2
	shift 2
	start_served "$_mn" "$_ms" "$PYTHON" "$TESTS_SRC/mdp.py" worker \
	    "$BROKER" "$_ms" --heartbeat 100 --liveness 10 \
	    --log "$SCRATCH/$_mn.events" "$@"
}

# events NAME EVENT: how many times the Python worker NAME logged EVENT
events() {
	grep -c "^$2\$" "$SCRATCH/$1.events"
}
