#!/usr/bin/env python3
# A WAHA service in Python: a standard MDP worker (RFC 7) that answers
# each request with its fields in upper case.
#   worker.py URL SERVICE
# SIGTERM or ^C: DISCONNECT, then exit.
import signal
import sys
import time
import zmq

READY, REQUEST, REPLY = b"\1", b"\2", b"\3"   # MDP/Worker commands
HEARTBEAT, DISCONNECT = b"\4", b"\5"
INTERVAL, LIVENESS = 2.5, 3     # as the broker's (seconds, count)

def send(sock, command, *frames):
    sock.send_multipart([b"", b"MDPW01", command, *frames])

def serve(sock, service):
    """Serve until the broker goes silent or says DISCONNECT."""
    send(sock, READY, service)
    heard = said = time.monotonic()
    while time.monotonic() - heard < INTERVAL * LIVENESS:
        if sock.poll(INTERVAL * 1000):
            _, _, command, *rest = sock.recv_multipart()
            heard = time.monotonic()
            if command == REQUEST:
                token, _, *body = rest
                reply = [field.upper() for field in body]
                send(sock, REPLY, token, b"", *reply)
                said = time.monotonic()
            elif command == DISCONNECT:
                return
        if time.monotonic() - said >= INTERVAL:
            send(sock, HEARTBEAT)
            said = time.monotonic()

def main(url, service):
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    ctx = zmq.Context()
    while True:                         # a new socket for each session
        sock = ctx.socket(zmq.DEALER)
        sock.linger = 1000
        sock.connect(url)
        try:
            serve(sock, service.encode())
        except KeyboardInterrupt:
            send(sock, DISCONNECT)
            sock.close()
            return
        sock.close()

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
