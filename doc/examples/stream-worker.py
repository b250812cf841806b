#!/usr/bin/env python3
# A WAHA streaming service in Python: for a request "N" it counts from 1
# to N, a line every 200 ms, each line a partial reply when the request
# asked for stream=1 (all of them in one reply otherwise), then "done".
#   stream-worker.py URL SERVICE
# One request at a time; it stops on CANCEL and waits for CREDIT when
# the client is slow.  SIGTERM or ^C: DISCONNECT, then exit.
import signal
import sys
import time
import zmq

READY, REQUEST, REPLY = b"\x01", b"\x02", b"\x03"   # MDP/Worker commands
HEARTBEAT, DISCONNECT = b"\x04", b"\x05"
PARTIAL, CANCEL, CREDIT = b"\x07", b"\x08", b"\x09"   # WAHA's features
INTERVAL = 2.5                  # heartbeat, as the broker's (seconds)

def send(sock, command, *frames):
    sock.send_multipart([b"", b"MDPW01", command, *frames])

def serve(sock, service):
    send(sock, READY, service, b"1", b"stream")
    job = None                  # [token, streaming, credit, next, last]
    said = time.monotonic()
    while True:
        if sock.poll(50):
            _, _, command, *rest = sock.recv_multipart()
            if command == REQUEST:
                token, options, _, *body = rest
                opts = dict(o.split(b"=", 1) for o in options.split(b"&")
                            if o)
                last = int(body[0]) if body and body[0].isdigit() else 3
                job = [token, opts.get(b"stream") == b"1",
                       int(opts.get(b"credit", 262144)), 1, last, []]
            elif command == CREDIT and job and rest[0] == job[0]:
                job[2] += int(rest[1])
            elif command == CANCEL and job and rest[0] == job[0]:
                job = None
            elif command == DISCONNECT:
                return
        if job and job[3] <= job[4]:
            line = b"%d\n" % job[3]
            if not job[1]:
                job[5].append(line)
            elif job[2] >= len(line):   # within the credit only
                send(sock, PARTIAL, job[0], b"", line)
                job[2] -= len(line)
            else:
                continue
            job[3] += 1
            time.sleep(0.2)
            said = time.monotonic()
        elif job:
            send(sock, REPLY, job[0], b"", b"".join(job[5]) + b"done\n")
            job = None
            said = time.monotonic()
        if time.monotonic() - said >= INTERVAL:
            send(sock, HEARTBEAT)
            said = time.monotonic()

def main(url, service):
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sock = zmq.Context().socket(zmq.DEALER)
    sock.linger = 1000
    sock.connect(url)
    try:
        serve(sock, service.encode())
    except KeyboardInterrupt:
        send(sock, DISCONNECT)

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
