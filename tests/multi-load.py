#!/usr/bin/python3
"""Load for the several-broker tests: requests with unique ids, each with
one outcome written to OUT as "ID OUTCOME BROKER SENT_MS DONE_MS".

dealer URLS SERVICE PREFIX COUNT WINDOW TIMEOUT OUT
    DEALER clients as DESIGN.md 2.10 says a client behaves: a socket per
    broker with ZMQ_IMMEDIATE, a monitor and ZMTP heartbeats; each request
    to the next live broker in turn; the requests in flight on a broker
    whose connection is lost are "lost" at once, never sent again.
http HOSTPORT SERVICE PREFIX COUNT WINDOW TIMEOUT OUT
    WINDOW HTTP clients of the gateway, GET /SERVICE?args=["ID"].

OUTCOME is the status (200, 502, 504...), "lost", "nobroker", or "hung"
for a request with no outcome 3 s past its deadline.  --start FILE: wait
until FILE exists before starting; --mark FILE N: create FILE after N
outcomes (so that a test can act under load).
"""
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

import zmq
import zmq.utils.monitor

GRACE = 3000


def now():
    return int(time.time() * 1000)


class Out:
    def __init__(self, path, mark, mark_n):
        self.f = open(path, "w")
        self.n = 0
        self.mark, self.mark_n = mark, mark_n
        self.lock = threading.Lock()

    def put(self, rid, outcome, broker, sent):
        with self.lock:
            self.f.write("%s %s %s %d %d\n" % (rid, outcome, broker, sent,
                                                now()))
            self.f.flush()
            self.n += 1
            if self.mark and self.n == self.mark_n:
                open(self.mark, "w").close()


def dealer(urls, service, prefix, count, window, timeout, out):
    ctx = zmq.Context()
    socks, mons, up = [], [], []
    for u in urls:
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.IMMEDIATE, 1)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.HEARTBEAT_IVL, 200)
        s.setsockopt(zmq.HEARTBEAT_TIMEOUT, 1000)
        m = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED |
                                 zmq.EVENT_DISCONNECTED)
        s.connect(u)
        socks.append(s)
        mons.append(m)
        up.append(False)
    poller = zmq.Poller()
    for s in socks + mons:
        poller.register(s, zmq.POLLIN)
    t0 = now()
    while not any(up) and now() - t0 < 5000:
        for i, m in enumerate(mons):
            while m.poll(10):
                ev = zmq.utils.monitor.recv_monitor_message(m)
                up[i] = ev["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED
    inflight = {}       # id -> (broker, sent)
    nxt, sent = 0, 0
    while sent < count or inflight:
        while sent < count and len(inflight) < window:
            rid = "%s%d" % (prefix, sent)
            sent += 1
            ok = False
            for k in range(len(socks)):
                b = (nxt + k) % len(socks)
                if not up[b]:
                    continue
                try:
                    socks[b].send_multipart(
                        [rid.encode(), b"", b"WAHA01",
                         b"timeout=%d" % timeout, service.encode(),
                         rid.encode()], zmq.NOBLOCK)
                except zmq.Again:
                    continue
                nxt = b + 1
                inflight[rid] = (b, now())
                ok = True
                break
            if not ok:
                out.put(rid, "nobroker", "-", now())
        for s, _ in poller.poll(50):
            if s in mons:
                b = mons.index(s)
                ev = zmq.utils.monitor.recv_monitor_message(s)
                if ev["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                    up[b] = True
                    continue
                up[b] = False
                # Read what came before the loss, then the rest is lost.
                while socks[b].poll(0):
                    take(socks[b].recv_multipart(), b, inflight, out)
                for rid in [r for r, v in inflight.items() if v[0] == b]:
                    out.put(rid, "lost", b, inflight.pop(rid)[1])
                continue
            b = socks.index(s)
            while s.poll(0):
                take(s.recv_multipart(), b, inflight, out)
        t = now()
        for rid in [r for r, v in inflight.items()
                    if t - v[1] > timeout + GRACE]:
            b, st = inflight.pop(rid)
            out.put(rid, "hung", b, st)
    for s in socks + mons:
        s.close(0)
    ctx.term()


def take(frames, b, inflight, out):
    rid = frames[0].decode()
    if rid in inflight:
        out.put(rid, frames[2].decode(), b, inflight.pop(rid)[1])


def http_client(hostport, service, ids, timeout, out):
    host, port = hostport.rsplit(":", 1)
    for rid in ids:
        sent = now()
        try:
            c = http.client.HTTPConnection(host, int(port),
                                           timeout=(timeout + GRACE) / 1000)
            q = urllib.parse.quote(json.dumps([rid]))
            c.request("GET", "/%s?args=%s&timeout=%d" % (service, q, timeout))
            r = c.getresponse()
            r.read()
            out.put(rid, str(r.status), "http", sent)
            c.close()
        except OSError:
            out.put(rid, "hung", "http", sent)


def main():
    args = sys.argv[1:]
    mark, mark_n, start = None, 0, None
    while args and args[0].startswith("--"):
        if args[0] == "--mark":
            mark, mark_n = args[1], int(args[2])
            args = args[3:]
        elif args[0] == "--start":
            start = args[1]
            args = args[2:]
    mode, target, service, prefix, count, window, timeout, path = args
    count, window, timeout = int(count), int(window), int(timeout)
    while start and not os.path.exists(start):
        time.sleep(0.01)
    out = Out(path, mark, mark_n)
    if mode == "dealer":
        dealer(target.split(","), service, prefix, count, window, timeout,
               out)
        return
    ids = ["%s%d" % (prefix, i) for i in range(count)]
    threads = [threading.Thread(target=http_client,
                                args=(target, service, ids[k::window],
                                      timeout, out))
               for k in range(window)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


main()
