#!/bin/sh
# Connections: read deadlines for a slow header or body (however the
# bytes trickle in), idle keep-alive, a client that leaves while its
# request is in flight, pipelining and garbage; a big reply to a client
# that reads slowly, and one to an HTTP/1.0 client that closes; the
# headers of the replies the gateway writes itself.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/http-lib.sh"
setup
plan 24

start_broker broker --heartbeat 200 || exit 1
start_worker w1 echo --heartbeat 200
start_worker w2 slow --heartbeat 200 -m sleep -c 4
start_gateway gateway --header-timeout 500 --body-timeout 500 || exit 1
wait_for "gateway connected" healthy

# raw MODE: talk to the gateway over a socket; prints what it saw.
cat >"$SCRATCH/raw.py" <<'PY'
import re, socket, struct, sys, time
host, port = sys.argv[2].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
s.settimeout(20)
mode = sys.argv[1]
def closed_after(t0):
    try:
        while s.recv(65536):
            pass
        return "closed after %.1f s" % (time.time() - t0)
    except socket.timeout:
        return "still open"
def until_closed():
    data = b""
    while True:
        r = s.recv(65536)
        if not r:
            return data
        data += r
t0 = time.time()
if mode == "partial":
    s.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n")
    print(closed_after(t0))
elif mode == "trickle":
    s.sendall(b"GET /echo HTTP/1.1\r\nX-Slow: ")
    try:
        while time.time() - t0 < 10:
            s.sendall(b"a")
            time.sleep(0.1)
        print("still open")
    except OSError:
        print("closed after %.1f s" % (time.time() - t0))
elif mode == "body":
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[\"")
    print(closed_after(t0))
elif mode == "idle":
    s.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
    r = s.recv(65536)
    print(r.split(b"\r\n")[0].decode(), closed_after(time.time()))
elif mode == "gone":
    s.sendall(b"GET /slow?args=[\"1000\"] HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.2)
    # An abortive close: an end of file alone is a half-close.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print("gone")
elif mode == "pipeline":
    s.sendall(b"GET /echo?args=[\"p1\"] HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /slow?args=[\"300\",\"p2\"] HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /echo?args=[\"p3\"] HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = until_closed()
    print(" ".join(m.decode().strip() for m in
        re.findall(rb"HTTP/1\.1 [0-9]+ [A-Za-z ]+\r\n|\[[^]]*\]", data)))
elif mode == "garbage":
    s.sendall(b"HELLO THERE\r\n\r\n")
    print(s.recv(65536).split(b"\r\n")[0].decode())
PY
raw() {
	$PYTHON "$SCRATCH/raw.py" "$1" "$HTTP"
}
metric() {
	curl -s "http://$HTTP/metrics" | sed -n "s/^waha_$1 //p"
}

like "$(raw partial)" "^closed after [0-4]\.[0-9] s$" \
    "a header that stops coming is cut off by --header-timeout"
like "$(raw trickle)" "^closed after [0-4]\.[0-9] s$" \
    "so is one that trickles in a byte every 100 ms"
like "$(raw body)" "^closed after [0-4]\.[0-9] s$" \
    "and a body that stops coming, by --body-timeout"
like "$(raw idle)" "^HTTP/1.1 200 OK closed after [0-4]\.[0-9] s$" \
    "an idle keep-alive connection is closed after --header-timeout"
is "$(metric http_slow_clients_total)" 3 \
    "slow clients are counted, idle ones are not"
hreq '/echo?args=["served"]'
is "$code $body" '200 ["served"]' "the gateway still serves"

is "$(raw gone)" gone "a client sends a slow request and resets the connection"
wait_for "the gateway to notice" \
    sh -c "curl -s http://$HTTP/metrics | grep -qx 'waha_http_clients_gone_total 1'"
is "$(metric http_clients_gone_total)" 1 "its request is dropped"
wait_for "the broker to cancel it" sh -c \
    "[ \"\$(\"$WAHA_CLI\" -u $BROKER -n mmi.stats | $PYTHON -c 'import json, sys; print(json.load(sys.stdin)[\"totals\"][\"cancelled\"])')\" = 1 ]"
is "$(stat 's["totals"]["cancelled"]')" 1 \
    "and cancelled at the broker (cancel=1), which sends nothing back"

is "$(raw pipeline)" \
    'HTTP/1.1 200 OK ["p1"] HTTP/1.1 200 OK ["300","p2"] HTTP/1.1 200 OK ["p3"]' \
    "pipelined requests are answered in order"
is "$(raw garbage)" "HTTP/1.1 400 Bad Request" "garbage is 400"
hreq '/echo?args=["served"]'
is "$code $body" '200 ["served"]' "the gateway still serves"
is "$(metric http_in_flight)" 1 "nothing is left in flight but /metrics"
is "$(metric http_connections)" 1 "no connection is left but this one"

start_gateway patient --header-timeout -1 --body-timeout -1 || exit 1
HTTP=$http_patient
cat >>"$SCRATCH/raw.py" <<'PY'
if mode == "wait":
    s.sendall(b"GET /echo?args=[\"w\"] HTTP/1.1\r\nHost: x\r\n")
    s.settimeout(1.5)
    print(closed_after(t0))
PY
is "$(raw wait)" "still open" "-1 waits for a header as long as it takes"
ok "and the first gateway is still up" alive gateway

# The header's end is found however it is split, CRLF or bare LF: the
# body then has --body-timeout, far longer here than the 2 s it takes,
# which --header-timeout would have cut off.
start_gateway split --header-timeout 1500 --body-timeout 20000 || exit 1
cat >>"$SCRATCH/raw.py" <<'PY'
if mode in ("split-crlf", "split-lf"):
    if mode == "split-crlf":
        pieces = [b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r",
            b"\n\r", b"\n"]
    else:
        pieces = [b"POST /echo HTTP/1.1\nHost: x\nContent-Length: 5\n", b"\n"]
    for p in pieces:
        s.sendall(p)
        time.sleep(0.05)
    time.sleep(2)
    s.sendall(b'["a"]')
    r = b""
    while b"]" not in r.split(b"\r\n\r\n", 1)[-1]:
        got = s.recv(65536)
        if not got:
            break
        r += got
    print(r.split(b"\r\n")[0].decode(), r.split(b"\r\n\r\n", 1)[-1].decode())
PY
keep=$HTTP
HTTP=$http_split
is "$(raw split-crlf)" 'HTTP/1.1 200 OK ["a"]' \
    "a header whose CRLF CRLF comes in three pieces, then a late body"
is "$(raw split-lf)" 'HTTP/1.1 200 OK ["a"]' \
    "the same with bare LFs"
HTTP=$keep

# A reply is written as it comes from the broker; what the socket cannot
# take at once is left to the loop.  A client with a small receive buffer
# that reads late gets all of a 600 KB reply, and its connection serves
# again.
cat >>"$SCRATCH/raw.py" <<'PY'
def reply(sock, step):
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(step)
    head, body = data.split(b"\r\n\r\n", 1)
    n = int(re.search(rb"Content-Length: ([0-9]+)", head).group(1))
    while len(body) < n:
        body += sock.recv(step)
    return head.split(b"\r\n")[0].decode(), body
if mode == "bigslow":
    b = socket.socket()
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    b.connect((host, int(port)))
    b.settimeout(20)
    field = "x" * 600000
    data = ('["%s"]' % field).encode()
    b.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
        b"\r\n" % len(data) + data)
    time.sleep(0.5)
    status, body = reply(b, 4096)
    b.sendall(b"GET /echo?args=[\"again\"] HTTP/1.1\r\nHost: x\r\n\r\n")
    status2, body2 = reply(b, 4096)
    print(status, body == data, status2, body2.decode())
elif mode == "absolute":
    s.sendall(b'GET http://x/echo?args=["abs"] HTTP/1.1\r\nHost: x\r\n\r\n')
    data = until_closed()
    print(data.split(b"\r\n")[0].decode(), data.split(b"\r\n\r\n", 1)[1].decode())
elif mode == "http10":
    s.sendall(b"GET /echo?args=[\"old\"] HTTP/1.0\r\n\r\n")
    data = until_closed()
    print(data.split(b"\r\n")[0].decode(), data.split(b"\r\n\r\n", 1)[1].decode())
elif mode == "heads":
    import email.utils
    out = []
    for path, more in ((b'/echo?args=["h"]', b""),
        (b"/nosuch", b"Connection: keep-alive\r\n")):
        s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n" + more +
            b"\r\n")
        status, body = reply(s, 65536)
        out.append(status)
    print(" | ".join(out))
    s.sendall(b'GET /echo?args=["h"] HTTP/1.1\r\nHost: x\r\n\r\n')
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    head = data.split(b"\r\n\r\n")[0].decode().split("\r\n")
    names = [h.split(":")[0] for h in head[1:]]
    date = [h[6:] for h in head if h.startswith("Date: ")][0]
    ok = re.match(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
        r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
        r"[0-9]{2}:[0-9]{2}:[0-9]{2} GMT$", date) is not None and \
        abs(email.utils.parsedate_to_datetime(date).timestamp() - time.time()) < 5
    print(",".join(names), "date ok" if ok else "bad date " + date)
PY
heads=$(raw heads)
is "$(echo "$heads" | head -n 1)" 'HTTP/1.1 200 OK | HTTP/1.1 404 Not Found' \
    "one connection: a reply, then the broker's 404 (keep-alive asked)"
is "$(echo "$heads" | tail -n 1)" \
    "Content-Type,X-Content-Type-Options,Cache-Control,Date,Content-Length date ok" \
    "a reply's headers, in evhttp's order, with a Date of now"
is "$(raw bigslow)" "HTTP/1.1 200 OK True HTTP/1.1 200 OK [\"again\"]" \
    "a big reply to a client that reads late arrives whole, and it is served again"
is "$(raw http10)" 'HTTP/1.0 200 OK ["old"]' \
    "an HTTP/1.0 client gets its reply and the connection closes"
is "$(raw absolute)" 'HTTP/1.1 200 OK ["abs"]' \
    "a request in absolute form (as to a proxy) is answered, then closed"
is "$(metric http_connections)" 1 "no connection is left but /metrics's"
