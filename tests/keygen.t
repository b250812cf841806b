#!/bin/sh
# waha-keygen: a pair in czmq's format that pyzmq reads back, mode 0600
# for the secret whatever the umask, no overwriting, usage errors.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
need_pyzmq
setup
: "${WAHA_KEYGEN:=$WAHA_BINDIR/waha-keygen}"
plan 12

cd "$SCRATCH" || exit 1
pub=$(umask 0 && "$WAHA_KEYGEN" --name web web)
is "$?" 0 "waha-keygen --name web web exits 0"
like "$pub" '^.{40}$' "it prints the 40-character public key"
is "$(command stat -c %a web_secret)" 600 "web_secret has mode 0600 under umask 0"
ok "web is the public cert" sh -c "grep -q 'public-key = ' web &&
    ! grep -q secret-key web"
ok "both have the name" grep -q 'name = "web"' web_secret
got=$("$PYTHON" -c '
import sys, zmq.auth
p, s = zmq.auth.load_certificate("web_secret")
q, _ = zmq.auth.load_certificate("web")
print(p.decode() == sys.argv[1] and q == p and len(s) == 40)' "$pub" 2>&1)
is "$got" True "pyzmq reads both files with the same key"

before=$(cat web_secret)
err=$("$WAHA_KEYGEN" web 2>&1)
is "$?" 1 "an existing pair is not overwritten: exit 1"
like "$err" "web exists already" "and it says so"
is "$(cat web_secret)" "$before" "the secret is unchanged"
"$WAHA_KEYGEN" >/dev/null 2>&1
is "$?" 1 "no NAME: usage error"
err=$("$WAHA_KEYGEN" --name 'a"b' x 2>&1)
like "$err" "--name: a name has no control" "a bad --name is refused"
err=$("$WAHA_KEYGEN" nosuchdir/x 2>&1)
like "$err" "nosuchdir/x_secret: No such file" "an unwritable place is named"
