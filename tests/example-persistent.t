#!/bin/sh
# The persistent programs of doc/examples, persistent.py and
# persistent.sh, run as waha-service-script(8) shows them.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
command -v python3 >/dev/null || skip_all "no python3"
setup
plan 10

EXAMPLES=$WAHA_SRCDIR/doc/examples

start_broker broker --heartbeat 200 || exit 1
for m in echo reverse upper pid; do
	start_script "py$m" "py.$m" --persistent -c 2 \
	    -s "$EXAMPLES/persistent.py" -- "$m" || exit 1
done
start_script shecho sh.echo --persistent -s "$EXAMPLES/persistent.sh" \
    -- echo || exit 1

is "$(cli -n py.echo -o json a 'b c' '')" '["a","b c",""]' \
    "persistent.py echo"
is "$(cli -n py.reverse hello world)" "dlrow
olleh" "persistent.py reverse"
is "$(cli -n py.upper -o json 'été' x)" '["ÉTÉ","X"]' "persistent.py upper"
is "$(cli -n py.echo -d hex -e hex ff00 61)" "ff00
61" "persistent.py passes a field that is not UTF-8 back as it came"
out=$(cli -n py.pid)
ok "persistent.py pid: a pid, then WAHA_COPY ($out)" \
    test "$(echo "$out" | sed -n 2p)" = 1 -a -n "$(echo "$out" | sed -n 1p)"
is "$(cli -n sh.echo -o json 'a b' ' lead' 'new
line' '')" '["a b"," lead","new\nline",""]' \
    "persistent.sh echo: fields with spaces and newlines come back"
is "$(cli -n sh.echo -d hex -e hex ff00fe 00)" "ff00fe
00" "persistent.sh echo: bytes that are not UTF-8 and a NUL too"
is "$(cli -n sh.echo -o json)" '[]' "persistent.sh echo: no fields"
if command -v jq >/dev/null 2>&1; then
	start_script shupper sh.upper --persistent \
	    -s "$EXAMPLES/persistent.sh" -- upper || exit 1
	is "$(cli -n sh.upper -o json abc 'd e')" '["ABC","D E"]' \
	    "persistent.sh upper, with jq"
	is "$(cli -n sh.upper -o json x; cli -n sh.upper -o json y)" \
	    '["X"]
["Y"]' "and again, by the same copy"
else
	ok "# SKIP jq is not installed" true
	ok "# SKIP jq is not installed" true
fi
