#!/bin/sh
# The man pages: each renders without a warning (mandoc -Tlint and
# man --warnings), and every option that a program's --help lists appears
# in its page, so that code and page cannot drift apart.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup

pages=""
for page in "$WAHA_MANDIR"/*.[1-8]; do
	[ -f "$page" ] && pages="$pages $page"
done
[ -n "$pages" ] || skip_all "no man pages"

for page in $pages; do
	name=$(basename "$page")
	if command -v mandoc >/dev/null 2>&1; then
		out=$(mandoc -Tlint -W warning "$page" 2>&1)
		is "$out" "" "$name: mandoc -Tlint -W warning is silent"
	fi
	if command -v man >/dev/null 2>&1; then
		out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
		    man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
		is "$out" "" "$name: man --warnings is silent"
	fi
done

for prog in waha-bench waha-broker waha-cli waha-keygen waha-top waha-proxy-balance \
    waha-proxy-http waha-service-script; do
	bin="$WAHA_BINDIR/$prog"
	page=$(ls "$WAHA_MANDIR/$prog".[1-8] 2>/dev/null | head -n 1)
	[ -x "$bin" ] || continue
	ok "$prog has a man page" test -n "$page"
	[ -n "$page" ] || continue
	# Compare with the page's hyphens unescaped: \- and - are alike.
	sed 's/\\-/-/g' "$page" >"$SCRATCH/page"
	# Long options from --help, as "--name"; short ones as "-x".
	for o in $("$bin" --help | grep -Eo -- '(^|[ ,])--[a-z][a-z0-9-]*' |
	    sed 's/^[ ,]*//' | sort -u); do
		ok "$prog: $o is in $(basename "$page")" \
		    grep -Eq -- "Fl -?${o#-}([^a-z-]|\$)" "$SCRATCH/page"
	done
	for o in $("$bin" --help | grep -Eo -- '^ +-[A-Za-z],' |
	    tr -d ' ,' | sort -u); do
		ok "$prog: $o is in $(basename "$page")" \
		    grep -Eq -- "Fl ${o#-}( |,|\$)|Fl [a-zA-Z]*${o#-}" "$SCRATCH/page"
	done
done
echo "1..$_tap_n"
