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

# What the benchmarks that alternate keep: a line per run in
# $tmp/NAME.runs, its first column the rate.

# median NAME COLUMN: the median of a column of $tmp/NAME.runs
median() {
	awk -v c="$2" '{ print $c }' "$tmp/$1.runs" | sort -n |
	    awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# spread NAME: (fastest - slowest) / median of the rates, in percent
spread() {
	sort -n "$tmp/$1.runs" | awk '{ v[NR] = $1 }
	    END { printf "%.0f", (v[NR] - v[1]) * 100 / v[int((NR + 1) / 2)] }'
}
