#!/usr/bin/env python3
"""A minimal Majordomo Protocol 0.1 (ZeroMQ RFC 7/MDP) client and worker.

Written from the RFC alone (https://rfc.zeromq.org/spec/7/), not from
WAHA's C code, so that the test suite can check that MDP peers written
elsewhere work with waha-broker unchanged.  It uses nothing of RFC 7 that
WAHA adds (no capacity, no FAIL).

    mdp.py client URL SERVICE [BODY...]   one request; prints the reply
    mdp.py worker URL SERVICE [options]   serves SERVICE until killed

A BODY argument "x:HEX" is a frame given in hex.  The client prints each
reply body frame on a line, bytes outside printable ASCII as \\xHH; it
exits 0 on a reply, 3 if none came in time, 2 if the reply breaks the RFC.
The worker writes what happens to --log, one event a line (ready,
request, heartbeat, disconnect-received, disconnect-sent, ...), so that a
test can see which commands the broker sent it.
"""

import argparse
import sys
import time

import zmq

MDPC = b"MDPC01"
MDPW = b"MDPW01"
READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT = (bytes([c]) for c in
                                                range(1, 6))
COMMANDS = {READY: "ready", REQUEST: "request", REPLY: "reply",
            HEARTBEAT: "heartbeat", DISCONNECT: "disconnect"}


class ProtocolError(Exception):
    """A message that RFC 7 does not allow."""


def now_ms():
    return time.monotonic() * 1000.0


class Client:
    """MDP/Client over REQ (synchronous) or DEALER (asynchronous)."""

    def __init__(self, url, dealer=False, ctx=None):
        self.ctx = ctx or zmq.Context.instance()
        self.dealer = dealer
        self.sock = self.ctx.socket(zmq.DEALER if dealer else zmq.REQ)
        self.sock.linger = 0
        self.sock.connect(url)

    def send(self, service, body):
        """Send a REQUEST; with DEALER, several may be outstanding."""
        frames = [MDPC, service] + list(body)
        if self.dealer:
            frames.insert(0, b"")   # frame 0, which REQ adds itself
        self.sock.send_multipart(frames)

    def recv(self, timeout_ms):
        """The next REPLY as (service, body), or None on timeout."""
        if not self.sock.poll(timeout_ms):
            return None
        frames = self.sock.recv_multipart()
        if self.dealer:
            if not frames or frames[0] != b"":
                raise ProtocolError("reply without an empty frame 0")
            frames = frames[1:]
        if len(frames) < 2 or frames[0] != MDPC:
            raise ProtocolError("reply is not MDPC01: %r" % frames[:2])
        return frames[1], frames[2:]

    def request(self, service, body, timeout_ms=5000):
        """One request and its reply body, or None on timeout."""
        self.send(service, body)
        reply = self.recv(timeout_ms)
        if reply is None:
            return None
        if reply[0] != service:
            raise ProtocolError("reply for service %r, asked %r" %
                                (reply[0], service))
        return reply[1]

    def close(self):
        self.sock.close()


class Worker:
    """MDP/Worker on a DEALER socket: READY, REQUEST, REPLY, HEARTBEAT
    both ways, DISCONNECT both ways, reconnection on a new socket."""

    def __init__(self, url, service, heartbeat=2500, liveness=3, log=None,
                 ctx=None):
        self.ctx = ctx or zmq.Context.instance()
        self.url = url
        self.service = service
        self.heartbeat = heartbeat
        self.liveness = liveness
        self.logf = log
        self.sock = None
        self.backlog = []
        self.heard = self.said = 0.0
        self.connect()

    def log(self, event):
        if self.logf is not None:
            self.logf.write(event + "\n")
            self.logf.flush()

    def send(self, command, frames=()):
        self.sock.send_multipart([b"", MDPW, command] + list(frames))
        self.said = now_ms()

    def connect(self):
        """Open a new socket and register with READY."""
        if self.sock is not None:
            self.sock.close()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        self.sock.connect(self.url)
        self.backlog = []
        self.send(READY, [self.service])
        self.heard = now_ms()
        self.log("ready")

    def parse(self, frames):
        """(command, frames after it) of a message from the broker."""
        if len(frames) < 3 or frames[0] != b"" or frames[1] != MDPW:
            raise ProtocolError("not an MDP/Worker message: %r" %
                                frames[:3])
        command = frames[2]
        if command == REQUEST:
            if len(frames) < 5 or frames[4] != b"":
                raise ProtocolError("REQUEST without address and empty "
                                    "frame")
        elif command not in (HEARTBEAT, DISCONNECT):
            raise ProtocolError("unexpected command %r" % command)
        return command, frames[3:]

    def handle(self, frames):
        """Take one message from the broker; a request is kept."""
        command, rest = self.parse(frames)
        self.heard = now_ms()
        self.log(COMMANDS[command] +
                 ("-received" if command == DISCONNECT else ""))
        if command == REQUEST:
            self.backlog.append((rest[0], rest[2:]))
        elif command == DISCONNECT:
            self.connect()

    def drain(self):
        """Take every message already waiting; returns how many requests
        are held now."""
        while self.sock.poll(0):
            self.handle(self.sock.recv_multipart())
        return len(self.backlog)

    def recv(self, until=None):
        """The next request as (address, body), keeping heartbeats going
        and reconnecting when the broker is silent or says DISCONNECT.
        Returns None once the monotonic time until (ms) has passed."""
        while until is None or now_ms() < until:
            if self.backlog:
                return self.backlog.pop(0)
            wait = self.heartbeat
            if until is not None:
                wait = max(0, min(wait, until - now_ms()))
            if self.sock.poll(wait):
                self.handle(self.sock.recv_multipart())
            elif now_ms() - self.heard > self.heartbeat * self.liveness:
                self.log("broker-silent")
                self.connect()
            if now_ms() - self.said >= self.heartbeat:
                self.send(HEARTBEAT)
        return None

    def reply(self, address, body):
        self.send(REPLY, [address, b""] + list(body))

    def disconnect(self):
        self.send(DISCONNECT)
        self.log("disconnect-sent")

    def close(self):
        # Linger so that a reply sent just before (--graceful with no
        # --linger) is flushed, not thrown away with the socket.
        self.sock.close(linger=5000)


def frame_arg(s):
    return bytes.fromhex(s[2:]) if s.startswith("x:") else s.encode()


def show(frame):
    return "".join(chr(b) if 0x20 <= b < 0x7f and b != 0x5c else
                   "\\x%02x" % b for b in frame)


def run_client(a):
    client = Client(a.url, dealer=a.dealer)
    service = a.service.encode()
    body = [frame_arg(s) for s in a.body]
    try:
        for _ in range(a.count):
            client.send(service, body)
            if not a.dealer:
                break
        replies = []
        for _ in range(a.count):
            reply = client.recv(a.timeout)
            if reply is None:
                print("mdp.py: no reply within %d ms" % a.timeout,
                      file=sys.stderr)
                return 3
            if reply[0] != service:
                raise ProtocolError("reply for service %r" % reply[0])
            replies.append(reply[1])
            if not a.dealer and len(replies) < a.count:
                client.send(service, body)
    except ProtocolError as e:
        print("mdp.py: %s" % e, file=sys.stderr)
        return 2
    for reply in replies:
        for frame in reply:
            print(show(frame))
    return 0


def answer(mode, body):
    if mode == "reverse":
        return list(reversed(body))
    if mode == "upper":
        return [f.upper() for f in body]
    return body


def run_worker(a):
    log = open(a.log, "a") if a.log else None
    worker = Worker(a.url, a.service.encode(), a.heartbeat, a.liveness, log)
    served = 0
    try:
        while a.disconnect_after == 0 or served < a.disconnect_after:
            address, body = worker.recv()
            worker.log("serving %d" % (served + 1))
            if a.delay:
                time.sleep(a.delay / 1000.0)
            # A standard worker holds one request at a time: one more
            # before this reply would break RFC 7.
            if worker.drain() > 0:
                worker.log("overlap")
            last = a.disconnect_after and served + 1 == a.disconnect_after
            if last and a.graceful:
                worker.disconnect()   # then finish what it holds
            worker.reply(address, answer(a.mode, body))
            served += 1
            if last and not a.graceful:
                worker.disconnect()
        # After DISCONNECT the broker must send nothing more: listen for
        # a while and log whatever comes.
        end = now_ms() + a.linger
        while now_ms() < end:
            if worker.sock.poll(max(0, end - now_ms())):
                frames = worker.sock.recv_multipart()
                worker.log("after-disconnect %s" % show(b"|".join(frames)))
        worker.log("exit")
    except ProtocolError as e:
        worker.log("protocol-error %s" % e)
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        worker.close()
    return 0


def main():
    p = argparse.ArgumentParser(description="RFC 7 MDP client and worker")
    sub = p.add_subparsers(dest="role", required=True)
    c = sub.add_parser("client")
    c.add_argument("url")
    c.add_argument("service")
    c.add_argument("body", nargs="*")
    c.add_argument("--dealer", action="store_true",
                   help="DEALER socket (default REQ)")
    c.add_argument("--timeout", type=int, default=5000, help="ms")
    c.add_argument("--count", type=int, default=1,
                   help="requests; with --dealer all sent at once")
    w = sub.add_parser("worker")
    w.add_argument("url")
    w.add_argument("service")
    w.add_argument("--mode", choices=("echo", "reverse", "upper"),
                   default="echo")
    w.add_argument("--heartbeat", type=int, default=2500, help="ms")
    w.add_argument("--liveness", type=int, default=3)
    w.add_argument("--delay", type=int, default=0,
                   help="ms to take over each request")
    w.add_argument("--disconnect-after", type=int, default=0,
                   help="send DISCONNECT after N requests")
    w.add_argument("--graceful", action="store_true",
                   help="send DISCONNECT before the last reply")
    w.add_argument("--linger", type=int, default=0,
                   help="ms to listen after DISCONNECT")
    w.add_argument("--log", help="file to append events to")
    a = p.parse_args()
    return run_client(a) if a.role == "client" else run_worker(a)


if __name__ == "__main__":
    sys.exit(main())
