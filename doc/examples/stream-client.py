#!/usr/bin/env python3
# A WAHA streaming client in Python: one request with stream=1.
#   stream-client.py URL SERVICE [FIELD...]
# writes each partial reply to stdout as it comes, then the final
# reply's fields; exits 1 with the status and reason on stderr if the
# final is not 200.  It grants credit for each partial once written, so
# a slow stdout slows the service down.  ^C cancels the request.
import sys
import zmq

url, service, fields = sys.argv[1], sys.argv[2], sys.argv[3:]
sock = zmq.Context().socket(zmq.DEALER)
sock.linger = 1000                      # time for a cancel=1 to leave
sock.connect(url)
sock.send_multipart([b"", b"WAHA01", b"stream=1", service.encode()] +
                    [f.encode() for f in fields])
out = sys.stdout.buffer
try:
    while True:
        _, status, *reply = sock.recv_multipart()
        if status == b"206":            # a partial; none at all: keepalive
            size = sum(len(f) for f in reply)
            for field in reply:
                out.write(field)
            out.flush()
            if size > 0:
                sock.send_multipart([b"", b"WAHA01", b"credit=%d" % size])
            continue
        if status != b"200":
            reason = reply[0].decode(errors="replace") if reply else ""
            print(status.decode(), reason, file=sys.stderr)
            sys.exit(1)
        for field in reply:
            out.write(field)
        break
except KeyboardInterrupt:
    sock.send_multipart([b"", b"WAHA01", b"cancel=1"])
    sys.exit(130)
