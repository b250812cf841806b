#!/bin/sh
# A client that asks for a large reply, does not read it, and keeps
# sending on the same connection cannot grow the gateway's memory: the
# gateway stops reading while its reply is unread.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/http-lib.sh"
setup
plan 5

start_broker broker --heartbeat 200 || exit 1
start_worker w1 echo --heartbeat 200
start_gateway gateway --body-timeout 30000 --max-body 16000000 || exit 1
wait_for "gateway connected" healthy
gpid=$(pid_of gateway)

cat >"$SCRATCH/flood.py" <<'PY'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
seconds = float(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((host, int(port)))
# a reply larger than what the kernel's socket buffers hold
body = b'["' + b"y" * 12000000 + b'"]'
s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
    % len(body) + body)
s.setblocking(False)
junk = b"z" * 65536
sent, end = 0, time.time() + seconds
while time.time() < end:
    try:
        sent += s.send(junk)
    except BlockingIOError:
        time.sleep(0.01)
    except OSError:
        break       # the gateway may also close on us: bounded too
print(sent)
PY

# A first large request, read normally, sets the baseline: the memory
# its buffers take is not the flood's.
"$PYTHON" -c 'import sys; sys.stdout.write("[\"" + "y" * 12000000 + "\"]")' \
    >"$SCRATCH/big.json"
hreq /echo --data-binary @"$SCRATCH/big.json"
is "$code" 200 "a 12 MB request and reply pass"
rss0=$(rss_kb "$gpid")
sent=$("$PYTHON" "$SCRATCH/flood.py" "$HTTP" 4)
rss1=$(rss_kb "$gpid")
diag "sent $sent bytes without reading; gateway RSS $rss0 -> $rss1 kB"
ok "the flood was held back by the gateway (under 24 MB sent)" \
    test "$sent" -lt 24000000
ok_memory "the gateway's memory stayed bounded (grew $((rss1 - rss0)) kB)" \
    test $((rss1 - rss0)) -lt 16384
ok "the gateway is alive" alive gateway
hreq '/echo?args=["after"]'
is "$code $body" '200 ["after"]' "and serves others"
