#!/usr/bin/env python3
"""Streaming peers for the test suite (DESIGN.md 2.6-2.8), in Python so
that the broker is checked against the protocol text rather than against
WAHA's own C worker and client.

    stream.py worker URL SERVICE MODE [--log FILE] [--size N] [--count N]
    stream.py client URL SERVICE [FIELD...] [options]

Worker modes, for a REQUEST with stream=1 (other requests get one REPLY
"plain"):
    flow    send COUNT partials of SIZE bytes, each only within its
            credit (the opening window, then CREDIT), then REPLY "end"
    over    send a window and one byte without waiting for credit
    nostream  send a PARTIAL whatever the request said
    forever send partials within credit until CANCEL
    silent  send nothing, ever (until CANCEL)
    progress  send a partial "ready\n", wait until --wait-file exists,
            send "done\n", then REPLY "end\n"
    fail    send a partial "partly\n", then FAIL 500 "broke"
    binary  send partials "caf\xc3", "\xa9\n" (UTF-8 cut in two) and
            "\xff\r\n", then REPLY "end"
The log gets one line per event: "request OPTIONS", "credit N",
"cancel", "stalled" (out of credit), "sent N" (bytes in all).

The client sends one request with WAHA01 and stream=1 (unless
--no-stream) on a DEALER with a correlation frame, and prints each
message as "STATUS BYTES" (partials 206), a keepalive as "206 0" with
--keepalives (they come whenever the stream is silent a while); it
grants credit for each partial after --delay ms, and with --bytes it
prints only the total and the final, and with --quit-after N it closes
its socket after N partials without a word.
"""

import argparse
import hashlib
import os
import sys
import time

import zmq

MDPW = b"MDPW01"
READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT = (bytes([c]) for c in
                                                range(1, 6))
PARTIAL, CANCEL, CREDIT = b"\x07", b"\x08", b"\x09"
FAIL = b"\x06"
WINDOW = 262144


def log(fp, line):
    if fp is not None:
        fp.write(line + "\n")
        fp.flush()


def parse_opts(frame):
    opts = {}
    for pair in frame.decode().split("&") if frame else []:
        name, _, value = pair.partition("=")
        opts[name] = value
    return opts


def worker(args):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.connect(args.url)
    sock.send_multipart([b"", MDPW, READY, args.service.encode(), b"4",
                         b"stream"])
    fp = open(args.log, "a") if args.log else None
    streams = {}        # token -> [credit left, partials left]
    last_hb = time.monotonic()
    chunk = b"x" * args.size
    while True:
        if sock.poll(100):
            msg = sock.recv_multipart()
            cmd = msg[2]
            if cmd == REQUEST:
                token, opts = msg[3], parse_opts(msg[4])
                log(fp, "request " + msg[4].decode())
                if opts.get("stream") != "1" and args.mode != "nostream":
                    sock.send_multipart([b"", MDPW, REPLY, token, b"",
                                         b"plain"])
                    continue
                window = int(opts.get("credit", WINDOW))
                if args.mode == "over":
                    sock.send_multipart([b"", MDPW, PARTIAL, token, b"",
                                         b"y" * (window + 1)])
                elif args.mode == "fail":
                    sock.send_multipart([b"", MDPW, PARTIAL, token, b"",
                                         b"partly\n"])
                    sock.send_multipart([b"", MDPW, FAIL, token, b"",
                                         b"500", b"broke"])
                    continue
                elif args.mode == "binary":
                    for part in (b"caf\xc3", b"\xa9\n", b"\xff\r\n"):
                        sock.send_multipart([b"", MDPW, PARTIAL, token,
                                             b"", part])
                    sock.send_multipart([b"", MDPW, REPLY, token, b"",
                                         b"end"])
                    continue
                elif args.mode == "nostream":
                    sock.send_multipart([b"", MDPW, PARTIAL, token, b"",
                                         b"unasked"])
                streams[token] = [window, args.count, 0]
            elif cmd == CREDIT:
                log(fp, "credit " + msg[4].decode())
                if msg[3] in streams:
                    streams[msg[3]][0] += int(msg[4])
            elif cmd == CANCEL:
                log(fp, "cancel")
                streams.pop(msg[3], None)
            elif cmd == DISCONNECT:
                return
        if args.mode in ("flow", "forever"):
            for token, st in list(streams.items()):
                while st[0] >= len(chunk) and (st[1] > 0 or
                                               args.mode == "forever"):
                    sock.send_multipart([b"", MDPW, PARTIAL, token, b"",
                                         chunk])
                    st[0] -= len(chunk)
                    st[1] -= 1
                    st[2] += len(chunk)
                if args.mode == "flow" and st[1] == 0:
                    sock.send_multipart([b"", MDPW, REPLY, token, b"",
                                         b"end"])
                    log(fp, "sent %d" % st[2])
                    del streams[token]
                elif st[0] < len(chunk) and len(st) == 3:
                    log(fp, "stalled")
                    st.append(True)
                elif st[0] >= len(chunk) and len(st) == 4:
                    st.pop()
        if args.mode == "progress":
            for token, st in list(streams.items()):
                if st[2] == 0:
                    sock.send_multipart([b"", MDPW, PARTIAL, token, b"",
                                         b"ready\n"])
                    log(fp, "sent ready")
                    st[2] = 6
                elif os.path.exists(args.wait_file):
                    sock.send_multipart([b"", MDPW, PARTIAL, token, b"",
                                         b"done\n"])
                    sock.send_multipart([b"", MDPW, REPLY, token, b"",
                                         b"end\n"])
                    log(fp, "sent done")
                    del streams[token]
        if time.monotonic() - last_hb > 0.2:
            sock.send_multipart([b"", MDPW, HEARTBEAT])
            last_hb = time.monotonic()


def client(args):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(args.url)
    opts = "" if args.no_stream else "stream=1"
    if args.timeout:
        opts += ("&" if opts else "") + "timeout=%d" % args.timeout
    if args.window:
        opts += "&credit=%d" % args.window
    fields = [f.encode() for f in args.fields]
    sock.send_multipart([b"c1", b"", b"WAHA01", opts.encode(),
                         args.service.encode()] + fields)
    partials, total = 0, 0
    digest = hashlib.sha256()
    while True:
        if not sock.poll(args.wait):
            print("no reply within %d ms" % args.wait)
            return 3
        msg = sock.recv_multipart()
        status, body = msg[2].decode(), msg[3:]
        size = sum(len(f) for f in body)
        if status == "206":
            if size == 0:
                if args.keepalives:
                    print("206 0")
                continue
            partials += 1
            total += size
            for f in body:
                digest.update(f)
            if not args.bytes:
                print("206 %s" % b"".join(body).decode(errors="replace")
                      if args.text else "206 %d" % size)
            sys.stdout.flush()
            if args.quit_after and partials >= args.quit_after:
                sock.close()
                time.sleep(args.linger / 1000.0)
                return 0
            if args.delay:
                time.sleep(args.delay / 1000.0)
            if not args.no_credit:
                sock.send_multipart([b"c1", b"", b"WAHA01",
                                     b"credit=%d" % size])
            continue
        if args.bytes:
            print("%d %s" % (total, digest.hexdigest()))
        print(status + "".join(" " + f.decode(errors="replace")
                               for f in body))
        return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="role", required=True)
    w = sub.add_parser("worker")
    w.add_argument("url")
    w.add_argument("service")
    w.add_argument("mode", choices=["flow", "over", "nostream", "forever",
                                    "silent", "progress", "fail",
                                    "binary"])
    w.add_argument("--wait-file")
    w.add_argument("--log")
    w.add_argument("--size", type=int, default=16384)
    w.add_argument("--count", type=int, default=64)
    c = sub.add_parser("client")
    c.add_argument("url")
    c.add_argument("service")
    c.add_argument("fields", nargs="*")
    c.add_argument("--no-stream", action="store_true")
    c.add_argument("--no-credit", action="store_true")
    c.add_argument("--timeout", type=int, default=0)
    c.add_argument("--window", type=int, default=0)
    c.add_argument("--delay", type=int, default=0)
    c.add_argument("--wait", type=int, default=10000)
    c.add_argument("--quit-after", type=int, default=0)
    c.add_argument("--linger", type=int, default=0)
    c.add_argument("--bytes", action="store_true")
    c.add_argument("--text", action="store_true")
    c.add_argument("--keepalives", action="store_true")
    args = ap.parse_args()
    sys.exit(worker(args) if args.role == "worker" else client(args))


if __name__ == "__main__":
    main()
