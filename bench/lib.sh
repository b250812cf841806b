# What the benchmarks of bench/ share, sourced after they set $top: the
# scratch directory $tmp, the pids to end ($pids), their cleanup on any
# exit, and await.

tmp=$(mktemp -d "${TMPDIR:-/tmp}/waha-bench.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
# A signal must end the script through exit, so that cleanup runs: PIPE
# too, when its output goes to a pipe that closes (| head).
trap 'exit 129' HUP
trap 'exit 130' INT TERM
trap 'exit 141' PIPE

# need PROGRAM...: each must be built
need() {
	for p in "$@"; do
		[ -x "$p" ] ||
		    { echo "$0: $p: not found (build first?)" >&2; exit 1; }
	done
}

# await WHAT COMMAND...: poll until the command succeeds, 10 s at most
await() {
	_what=$1
	shift
	_i=0
	until "$@" >/dev/null 2>&1; do
		_i=$((_i + 1))
		if [ $_i -gt 200 ]; then
			echo "$0: no $_what" >&2
			cat "$tmp"/*.log >&2
			exit 1
		fi
		sleep 0.05
	done
}
