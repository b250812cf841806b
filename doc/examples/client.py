#!/usr/bin/env python3
# A WAHA client in Python: one request with the native protocol.
#   client.py URL SERVICE [FIELD...]
# prints the reply fields, one a line; exits 1 with the status and
# reason on stderr if it is not 200, 3 if no reply comes in 5 s.
# The request carries that timeout as its deadline, so the broker
# answers 504 and never starts it once the client has given up.
import sys
import zmq

TIMEOUT = 5000                          # ms

url, service, fields = sys.argv[1], sys.argv[2], sys.argv[3:]
sock = zmq.Context().socket(zmq.REQ)   # REQ adds and strips the ""
sock.linger = 0
sock.connect(url)
header = [b"WAHA01", b"timeout=%d" % TIMEOUT]  # extended request
sock.send_multipart(header + [service.encode()] +
                    [f.encode() for f in fields])
if not sock.poll(TIMEOUT):
    print("no reply", file=sys.stderr)
    sys.exit(3)
status, *reply = sock.recv_multipart()
if status != b"200":
    reason = reply[0].decode(errors="replace") if reply else ""
    print(status.decode(), reason, file=sys.stderr)
    sys.exit(1)
for field in reply:
    print(field.decode(errors="replace"))
