# Helpers of the gateway's tests (tests/http-*.t), sourced after lib.sh.

: "${WAHA_PROXY_HTTP:=../src/waha-proxy-http}"
: "${PYTHON:=python3}"

# start_gateway [NAME] [OPTIONS...]: a gateway on 127.0.0.1, on a port
# the kernel picks, to $BROKER; its address:port is in $HTTP (or in the
# variable http_NAME for another name).
start_gateway() {
	_gn=${1:-gateway}
	[ $# -gt 0 ] && shift
	rm -f "$SCRATCH/$_gn.endpoint"
	start_daemon "$_gn" "$WAHA_PROXY_HTTP" -p 0 -u "$BROKER" \
	    --endpoint-file "$SCRATCH/$_gn.endpoint" "$@"
	if ! wait_for "$_gn endpoint" test -s "$SCRATCH/$_gn.endpoint"; then
		show_log "$_gn"
		return 1
	fi
	eval "http_$_gn=\$(cat \"\$SCRATCH/\$_gn.endpoint\")"
	[ "$_gn" = gateway ] && HTTP=$(cat "$SCRATCH/$_gn.endpoint")
	return 0
}

# hreq PATH [CURL-ARGS...]: a request to http://$HTTP/PATH, the path
# sent as written (brackets and quotes included).  The code is in
# $code, the body in $body and $SCRATCH/body, the headers in
# $SCRATCH/headers.
hreq() {
	_p=$1
	shift
	code=$(curl -sS -g -o "$SCRATCH/body" -D "$SCRATCH/headers" \
	    -w '%{http_code}' "$@" "http://$HTTP$_p")
	body=$(cat "$SCRATCH/body")
}

# header NAME: the value of header NAME in the last hreq's reply
header() {
	tr -d '\r' <"$SCRATCH/headers" | sed -n "s/^$1: //Ip" | head -n 1
}

# healthy: whether the gateway's /healthz says 200
healthy() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' \
	    "http://$HTTP/healthz")" = 200 ]
}
