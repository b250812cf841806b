#!/bin/sh
# Message framing (RFC 9112 section 6.3) and the end of a connection:
# a request whose body length is ambiguous is refused with 400 and its
# connection closed, so that nothing after it can pass for a request
# (request smuggling behind a proxy); a client that half-closes after a
# complete request still gets its answer, while one that resets the
# connection has its request dropped.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/http-lib.sh"
setup
plan 12

start_broker broker --heartbeat 200 || exit 1
start_worker w1 echo --heartbeat 200
start_worker w2 slow --heartbeat 200 -m sleep -c 4
start_gateway gateway || exit 1
wait_for "gateway connected" healthy

# raw REQUEST-AS-PYTHON-BYTES [half]: send it, half-close if asked, and
# print the status line of every reply and their JSON bodies until the
# gateway closes.
cat >"$SCRATCH/raw.py" <<'PY'
import ast, re, socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
s.settimeout(10)
s.sendall(ast.literal_eval(sys.argv[2]))
if len(sys.argv) > 3 and sys.argv[3] == "half":
    s.shutdown(socket.SHUT_WR)
data = b""
try:
    while True:
        r = s.recv(65536)
        if not r:
            break
        data += r
    end = "closed"
except socket.timeout:
    end = "still open"
except ConnectionResetError:
    end = "reset"
print(" ".join(m.decode().strip() for m in
    re.findall(rb"HTTP/1\.[01] [0-9]+|\[[^]]*\]", data)), end)
PY
raw() {
	$PYTHON "$SCRATCH/raw.py" "$HTTP" "$@"
}
metric() {
	curl -s "http://$HTTP/metrics" | sed -n "s/^waha_$1 //p"
}

post='b"POST /echo HTTP/1.1\r\nHost: x\r\n'
postc='b"POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'
is "$(raw "$postc"'Content-Length: 5\r\n\r\n[\"a\"]"')" \
    'HTTP/1.1 200 ["a"] closed' "one Content-Length is served"
is "$(raw "$post"'Content-Length: 5\r\nContent-Length: 60\r\n\r\n[\"a\"]'\
'GET /echo?args=[\"smuggled\"] HTTP/1.1\r\nHost: x\r\n\r\n"')" \
    'HTTP/1.1 400 closed' \
    "two different Content-Lengths: 400, and what follows is not a request"
is "$(raw "$post"'Content-Length: 5\r\nContent-Length: 5\r\n\r\n[\"a\"]"')" \
    'HTTP/1.1 400 closed' "two equal Content-Lengths are refused too"
is "$(raw "$post"'Content-Length: 5, 5\r\n\r\n[\"a\"]"')" \
    'HTTP/1.1 400 closed' "and so is a list of them"
is "$(raw "$post"'Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n'\
'5\r\n[\"a\"]\r\n0\r\n\r\n"')" \
    'HTTP/1.1 400 closed' "Content-Length with Transfer-Encoding: 400"
is "$(raw "$post"'Transfer-Encoding: gzip\r\n\r\n[\"a\"]"')" \
    'HTTP/1.1 501 closed' "a transfer coding that is not chunked: 501"
is "$(raw "$postc"'Transfer-Encoding: chunked\r\n\r\n'\
'5\r\n[\"a\"]\r\n0\r\n\r\n"')" \
    'HTTP/1.1 200 ["a"] closed' "a chunked body alone is served"

is "$(raw 'b"GET /slow?args=[\"300\",\"h\"] HTTP/1.1\r\nHost: x\r\n\r\n"' \
    half)" 'HTTP/1.1 200 ["300","h"] closed' \
    "a client that half-closes after its request gets the answer"
is "$(raw 'b"GET /slow?args=[\"200\"] HTTP/1.1\r\nHost: x\r\n\r\n'\
'GET /echo?args=[\"2\"] HTTP/1.1\r\nHost: x\r\n\r\n"' half)" \
    'HTTP/1.1 200 ["200"] HTTP/1.1 200 ["2"] closed' \
    "and so does one that pipelines two requests and half-closes"

# An abortive close (RST) says the client is gone: its request is dropped.
$PYTHON - "$HTTP" <<'PY'
import socket, struct, sys, time
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
s.sendall(b"GET /slow?args=[\"500\"] HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(0.1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
PY
ok "a client that resets its connection is counted gone" wait_for "gone" \
    sh -c "curl -s http://$HTTP/metrics | grep -qx 'waha_http_clients_gone_total 1'"
hreq '/echo?args=["served"]'
is "$code $body" '200 ["served"]' "the gateway still serves"
ok "and is alive" alive gateway
