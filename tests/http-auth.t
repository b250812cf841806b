#!/bin/sh
# The gateway's access control: --htpasswd (401 without or with wrong
# credentials, 200 with right ones in yescrypt, bcrypt and sha512-crypt),
# --acl with user subjects (403), --allow-host (421), a CORS preflight
# without credentials, /metrics and /healthz behind the password unless
# --open-probes, bad files refused at start with their line, SIGHUP
# reloading the files or keeping them when the new ones are bad.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "$WAHA_LIB")/http-lib.sh"
setup
command -v htpasswd >/dev/null 2>&1 ||
    skip_all "htpasswd (apache2-utils) is not installed"
command -v perl >/dev/null 2>&1 || skip_all "no perl to make hashes"
plan 39

cd "$SCRATCH" || exit 1
start_broker || exit 1
start_worker echo demo.echo || exit 1
start_worker secret demo.secret || exit 1

# crypt(3) through perl, for the formats htpasswd cannot make.
mkhash() {
	perl -e 'print crypt($ARGV[0], $ARGV[1])' "$1" "$2"
}
{
	htpasswd -nbB alice wonderland | head -n 1
	echo "bob:$(mkhash builder '$y$j9T$F5Jx5fExrKuPp53xLKQ..1$')"
	echo "# a comment"
	echo "carol:$(mkhash singer '$6$saltsalt$')"
} >users
cat >rules <<'R'
# everyone who logs in calls demo.echo; only alice demo.secret
allow call demo.echo any
allow call demo.secret user alice
allow call mmi.> user alice
deny call mmi.stats user carol
R

start_gateway gateway --htpasswd users --acl rules --cors https://app.example \
    --allow-host waha.example || exit 1
E='/demo.echo?args=["hi"]'

hreq "$E"
is "$code" 401 "no credentials: 401"
is "$(header WWW-Authenticate)" 'Basic realm="waha", charset="UTF-8"' \
    "with WWW-Authenticate: Basic realm=\"waha\""
like "$body" '"status":401' "and a JSON error"
hreq "$E" -u alice:wrong
is "$code" 401 "a wrong password: 401"
hreq "$E" -u nobody:wonderland
is "$code" 401 "an unknown user: 401"
hreq "$E" -H 'Authorization: Bearer abc'
is "$code" 401 "another scheme: 401"
hreq "$E" -H 'Authorization: Basic !!!'
is "$code" 401 "bad base64: 401"
hreq "$E" -u alice:wonderland
is "$code" 200 "alice (bcrypt): 200"
is "$body" '["hi"]' "with the service's reply"
hreq "$E" -u bob:builder
is "$code" 200 "bob (yescrypt): 200"
hreq "$E" -u carol:singer
is "$code" 200 "carol (sha512-crypt): 200"
hreq "$E" -u alice:wonderland
is "$code" 200 "alice again (cached): 200"
hreq "$E" -u alice:wonderlan
is "$code" 401 "a password one letter short is still refused"

hreq '/demo.secret?args=["x"]' -u bob:builder
is "$code" 403 "bob may not call demo.secret: 403"
like "$body" '"status":403' "with a JSON error"
hreq '/demo.secret?args=["x"]' -u alice:wonderland
is "$code" 200 "alice may"
hreq '/demo.other' -u alice:wonderland
is "$code" 403 "what no rule allows is denied"

hreq /healthz
is "$code" 401 "/healthz needs the password by default"
hreq /healthz -u alice:wonderland
is "$code" 200 "alice may read /healthz (mmi.services)"
hreq /metrics -u carol:singer
is "$code" 403 "carol may not read /metrics (mmi.stats)"
hreq /metrics -u alice:wonderland
is "$code" 200 "alice may"
like "$body" 'waha_http_requests_total\{code="401"\}' "401s are counted"

hreq "$E" -u alice:wonderland -H 'Host: evil.example'
is "$code" 421 "another Host: 421"
hreq "$E" -u alice:wonderland -H 'Host: WAHA.example:9001'
is "$code" 200 "the allowed host, any case, with a port: 200"
hreq "$E" -u alice:wonderland -H 'Host: localhost:1234'
is "$code" 200 "localhost is always allowed"
hreq "$E" -u alice:wonderland -H 'Host: [::1]:1234'
is "$code" 200 "and IP literals"

hreq /demo.echo -X OPTIONS -H 'Origin: https://app.example' \
    -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: authorization'
is "$code" 204 "a preflight needs no credentials"
like "$(header Access-Control-Allow-Headers)" Authorization \
    "and allows the Authorization header"
hreq "$E" -u alice:wonderland -H 'Origin: https://app.example'
is "$(header Access-Control-Allow-Credentials)" true \
    "replies allow credentials for the configured origin"

# SIGHUP: a bad file is logged and the old ones stay; a good one applies.
echo "dave:plain" >>users
kill -HUP "$(pid_of gateway)"
wait_for "the reload error" grep -q 'users:5: user dave' \
    "$SCRATCH/gateway.log"
ok "a bad line on SIGHUP is logged with its line" \
    grep -q 'keeping the old passwords' "$SCRATCH/gateway.log"
hreq "$E" -u alice:wonderland
is "$code" 200 "and alice still gets in"
sed -i '/^dave:/d; /^alice:/d' users
kill -HUP "$(pid_of gateway)"
wait_for "the reload" grep -q 'passwords and rules reloaded' \
    "$SCRATCH/gateway.log"
hreq "$E" -u alice:wonderland
is "$code" 401 "alice, removed, is refused at once (the cache is dropped)"

# --open-probes; no --htpasswd at all but an ACL (only "any" rules apply).
printf 'allow call demo.echo any\n' >anyrules
start_gateway open --acl anyrules --open-probes || exit 1
HTTP=$http_open
hreq "$E"
is "$code" 200 "an ACL without passwords: any rules apply"
hreq '/demo.secret?args=["x"]'
is "$code" 403 "and the rest is 403"
hreq /healthz
is "$code" 200 "--open-probes leaves /healthz open"

# Bad files refused at start, naming the line.
for bad in 'bob:$apr1$HXMGR130$yLjyaORazVpdWibAWLmwV1' \
    'bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=' 'bob:secret'; do
	printf 'alice:%s\n%s\n' "$(mkhash x '$6$saltsalt$')" "$bad" >badusers
	out=$("$WAHA_PROXY_HTTP" -p 0 --htpasswd badusers 2>&1)
	st=$?
	case $bad in
	*apr1*) what='Apache MD5' ;;
	*SHA*) what='\{SHA\}' ;;
	*) what='plain-text' ;;
	esac
	like "$st $out" "^1 .*badusers:2: user bob: .*$what" \
	    "a ${bad#bob:} line is refused at start with its line"
done
printf 'allow call x any\nallow call x*y any\n' >badrules
out=$("$WAHA_PROXY_HTTP" -p 0 --acl badrules 2>&1)
like "$?: $out" "^1: .*badrules:2: '\\*' and '>' must be whole tokens" \
    "a bad ACL line is refused at start with its line"
