#!/bin/sh
# waha-cli usage: --help, --version, and every kind of bad option, each
# a usage error (exit 1, a message on stderr, nothing on stdout) that
# sends nothing to the broker.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
setup
plan 41

start_broker || exit 1
start_worker echo echo || exit 1

"$WAHA_CLI" --help >"$SCRATCH/out" 2>"$SCRATCH/err"
is "$?" 0 "--help exits 0"
like "$(head -n 1 "$SCRATCH/out")" '^Usage: waha-cli .*-n NAME' \
    "--help prints the usage on stdout"
is "$(cat "$SCRATCH/err")" "" "--help writes nothing on stderr"
for o in -n -u -t -i -d --in-sep -o -e --out-sep -p -v --version -h; do
	grep -q -e "$o[ ,=]" "$SCRATCH/out" || echo "$o" >>"$SCRATCH/missing"
done
is "$(cat "$SCRATCH/missing" 2>/dev/null)" "" "--help lists every option"
is "$("$WAHA_CLI" -h | head -n 1)" "$(head -n 1 "$SCRATCH/out")" \
    "-h is --help"
like "$("$WAHA_CLI" --version)" '^waha-cli \(waha\) [0-9]' \
    "--version prints the package version"

before=$(reached)

# usage MESSAGE-PATTERN ARGS...: waha-cli ARGS is a usage error
usage() {
	_pat=$1
	shift
	cli "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" </dev/null
	_rc=$?
	like "$_rc:$(cat "$SCRATCH/out"):$(head -n 1 "$SCRATCH/err")" \
	    "^1::waha-cli: $_pat" "usage error: $(printf '%s' "$*" | tr '\\' /)"
}

usage 'a service name is required' hi
usage '-q: unknown option' -n echo -q
usage '--bogus: unknown option' -n echo --bogus
usage '-n: empty service name' -n ''
usage '-n: service name has a byte' -n 'a b'
usage '-n: service name too long' -n "$(printf '%0256d' 0)"
usage '--timeout: .abc. is invalid' -n echo -t abc
usage '--timeout: .-2. is too small' -n echo -t -2
usage '--timeout: .* is too large' -n echo -t 99999999999
usage '-t: missing argument' -n echo -t
usage "--input: 'csv' is not one of args, plain, delimited, json" \
    -n echo -i csv
usage "--output: 'xml' is not one of empty, plain, delimited, json" \
    -n echo -o xml
usage "--decode: 'b64' is not one of plain, base64, hex" -n echo -d b64
usage "--encode: 'HEX' is not one of plain, base64, hex" -n echo -e HEX
usage "--in-sep: '' is not one byte" -n echo -i delimited --in-sep ''
usage "--in-sep: 'ab' is not one byte" -n echo -i delimited --in-sep ab
usage "--in-sep: '.q' is not one byte" -n echo -i delimited --in-sep '\q'
usage "--in-sep: '.x4' is not one byte" -n echo -i delimited --in-sep '\x4'
usage "--in-sep: '.xzz' is not one byte" -n echo -i delimited --in-sep '\xzz'
usage "--in-sep: '.x  ' is not one byte" -n echo -i delimited --in-sep '\x  '
usage "--out-sep: '.n.n' is not one byte" -n echo --out-sep '\n\n'
usage "--out-sep: 'é' is not one byte" -n echo --out-sep 'é'
usage '-d has no meaning with -i json' -n echo -i json -d base64
usage '-d has no meaning with -i json' -n echo -i json -d plain
usage '--in-sep has no meaning with -i plain' -n echo -i plain --in-sep ,
usage '--in-sep has no meaning with -i args' -n echo --in-sep , x
usage '-e has no meaning with -o plain' -n echo -o plain -e hex
usage '-e has no meaning with -o empty' -n echo -o empty -e base64
usage '--out-sep has no meaning with -o json' -n echo -o json --out-sep ,
usage '-p has no meaning with -o delimited' -n echo -p
usage 'unexpected argument with -i plain: x' -n echo -i plain x
usage 'unexpected argument with -i json: x' -n echo -i json -- x
usage '-u: foo: not an endpoint' -n echo -u foo
usage '-u: ,: empty endpoint in the list' -n echo -u ,

is "$(reached)" "$before" "none of these reached the broker"
