#!/usr/bin/env python3
"""HTTP fuzz driver of tests/http-fuzz.t: hostile traffic against a real
waha-proxy-http for a bounded time.  Usage: http-fuzz.py HOST:PORT SEED
SECONDS.  Each round opens connections that send malformed request
lines, headers and chunked bodies, mutated valid requests, slow
trickles, pipelines, half-closes and resets; it never waits for more
than a short read timeout.  Prints one line: connections and bytes."""
import random
import socket
import struct
import sys
import time

host, port = sys.argv[1].rsplit(":", 1)
rng = random.Random(int(sys.argv[2]))
deadline = time.time() + float(sys.argv[3])
conns = sent = 0

VALID = [
    b"GET /echo?args=[\"a\"] HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /echo?args=%5B%22b%22%5D&type=plain HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n[\"c\"]",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3\r\n[\"d\r\n2\r\n\"]\r\n0\r\n\r\n",
    b"HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\n",
    b"OPTIONS /echo HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /metrics HTTP/1.0\r\n\r\n",
    b"GET /echo?callback=cb&args=[1] HTTP/1.1\r\nHost: x\r\n\r\n",
]

BAD = [
    b"\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"GET /echo HTTP/1.1 extra\r\n\r\n",
    b"G\x00T /echo HTTP/1.1\r\n\r\n",
    b"GET http://evil/echo?args=[] HTTP/1.1\r\nHost: x\r\n\r\n",
    b"CONNECT evil:443 HTTP/1.1\r\n\r\n",
    b"GET /%zz HTTP/1.1\r\n\r\n",
    b"GET /echo?args=%5 HTTP/1.1\r\n\r\n",
    b"GET /" + b"a" * 300 + b" HTTP/1.1\r\n\r\n",
    b"GET /echo HTTP/1.1\r\nNoColon\r\n\r\n",
    b"GET /echo HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
    b"GET /echo HTTP/1.1\r\n" + b"X-Big: " + b"b" * 70000 + b"\r\n\r\n",
    b"GET /echo HTTP/1.1\r\n" + b"X: y\r\n" * 3000 + b"\r\n",
    b"POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nContent-Length: 5000000\r\n\r\n[",
    b"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\n"
    b"[\"e\"]",
    b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"ffffffffffffffffffff\r\n",
    b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nabc\r\n",
    b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\n"
    b"[\"f\"]\r\n0\r\nTrailer: x\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[\"g\"]XX",
    b"POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nContent-Length: 7\r\n\r\n[\"\xff\xfe\"]",
    b"GET /echo?args=[\"\\ud800\"] HTTP/1.1\r\n\r\n",
    b"GET /echo?jsonp=<script> HTTP/1.1\r\n\r\n",
    b"GET /echo?timeout=99999999999 HTTP/1.1\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
]


def mutate(b):
    b = bytearray(b)
    for _ in range(rng.randint(1, 8)):
        op = rng.randint(0, 3)
        i = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[i % len(b)] = rng.randrange(256)
        elif op == 1:
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        elif op == 2 and b:
            del b[i:i + rng.randint(1, 8)]
        else:
            b[i:i] = rng.choice([b"\r\n", b"\n", b"\r", b":", b" ", b"%",
                                 b"\x00", b"\r\n\r\n"])
    return bytes(b)


def message():
    k = rng.randrange(10)
    if k < 3:
        return rng.choice(VALID)
    if k < 6:
        return rng.choice(BAD)
    if k < 9:
        return mutate(rng.choice(VALID + BAD))
    return bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))


def connect():
    global conns
    s = socket.create_connection((host, int(port)))
    s.settimeout(0.3)
    conns += 1
    return s


def drain(s):
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass


def one():
    """A connection of some requests, ended some way."""
    global sent
    s = connect()
    try:
        data = b"".join(message() for _ in range(rng.randint(1, 5)))
        how = rng.randrange(6)
        if how == 0:			# trickled in pieces
            for i in range(0, len(data), 7):
                s.sendall(data[i:i + 7])
        else:
            s.sendall(data)
        sent += len(data)
        end = rng.randrange(4)
        if end == 0:			# half-close, read the answers
            s.shutdown(socket.SHUT_WR)
            drain(s)
        elif end == 1:			# reset
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
        elif end == 2:			# read a little, then close
            try:
                s.recv(rng.randint(1, 100))
            except OSError:
                pass
    except OSError:
        pass
    s.close()


def slowloris(n):
    """n connections that send a header byte at a time, then leave."""
    global sent
    socks = [connect() for _ in range(n)]
    for s in socks:
        s.sendall(b"GET /echo HTTP/1.1\r\n")
    for _ in range(5):
        for s in socks:
            try:
                s.sendall(b"X")
                sent += 1
            except OSError:
                pass
        time.sleep(0.05)
    for s in socks:
        s.close()


def pipeline():
    """A pipeline of many requests, valid and not, sent at once."""
    global sent
    s = connect()
    data = b"".join(rng.choice(VALID[:4] + BAD[:8]) for _ in range(50))
    try:
        s.sendall(data)
        sent += len(data)
        s.shutdown(socket.SHUT_WR)
        drain(s)
    except OSError:
        pass
    s.close()


while time.time() < deadline:
    k = rng.randrange(20)
    if k == 0:
        slowloris(20)
    elif k == 1:
        pipeline()
    else:
        one()
print("%d connections, %d bytes" % (conns, sent))
