#!/usr/bin/env python3
"""Write the seed corpora of fuzz/corpus/NAME/: small valid inputs of
each kind, in the input format of each harness (see the top of its
fuzz-NAME.c).  Run from the top of the tree: python3 fuzz/mkcorpus.py"""
import os

def parts(*frames):
    out = b""
    for f in frames:
        assert len(f) < 256
        out += bytes([len(f)]) + f
    return out

ID = b"\x00\x6b\x8b\x45\x67"
TOK = b"\x00\x00\x00\x00\x00\x00\x00\x2a"
W = b"MDPW01"
proto = {
    # router side (flags 0): native, MDP client, every worker command
    "native": b"\x00" + parts(ID, b"", b"echo", b"hello", b"world"),
    "native-dealer": b"\x00" + parts(ID, b"corr-1", b"", b"echo", b"x"),
    "native-noservice": b"\x00" + parts(ID, b""),
    "mmi-stats": b"\x00" + parts(ID, b"", b"mmi.stats"),
    "mdp-client": b"\x00" + parts(ID, b"", b"MDPC01", b"echo", b"body"),
    "ready": b"\x00" + parts(ID, b"", W, b"\x01", b"echo"),
    "ready-capacity": b"\x00" + parts(ID, b"", W, b"\x01", b"echo", b"16"),
    "reply": b"\x00" + parts(ID, b"", W, b"\x03", TOK, b"", b"a", b"b"),
    "heartbeat": b"\x00" + parts(ID, b"", W, b"\x04"),
    "disconnect": b"\x00" + parts(ID, b"", W, b"\x05"),
    "fail": b"\x00" + parts(ID, b"", W, b"\x06", TOK, b"", b"503", b"busy"),
    "reply-dropped": b"\x04" + parts(ID, b"", W, b"\x03", TOK, b"", b"a"),
    # worker side (flags 1): what the broker sends a worker
    "w-request": b"\x01" + parts(b"", W, b"\x02", TOK, b"", b"f1", b"f2"),
    "w-heartbeat": b"\x01" + parts(b"", W, b"\x04"),
    "w-disconnect": b"\x01" + parts(b"", W, b"\x05"),
    # client side (flags 2): replies
    "c-ok": b"\x02" + parts(b"", b"200", b"field"),
    "c-error": b"\x02" + parts(b"corr", b"", b"404", b"no such service"),
}
codec = {
    "b64": b"\x00hello, world",
    "b64-text": b"\x00aGVsbG8sIHdvcmxk\n",
    "b64-pad": b"\x00YQ==",
    "hex": b"\x01\x00\xffhex",
    "hex-text": b"\x0168 65 6C 6c 6f",
    "utf8": "\x02h\u00e9llo \u20ac \U0001f600".encode(),
    "utf8-bad": b"\x02a\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xff",
}
json = {
    "strings": b'["a", "b\\u0000c", ""]',
    "values": b'[1, -2.5, 0.1, 1e300, true, null, {"k": [1]}, []]',
    "empty": b"[]",
    "object": b'{"a": 1}',
    "bad": b'["a", ',
}
http = {
    "get": b"\x00/echo\x00args=%5B%22a%22%5D&type=json",
    "plain": b"\x00/svc.name\x00args=[\"x\",1]&type=plain&timeout=250",
    "jsonp": b"\x00/echo\x00callback=a.b.$c&args=[]",
    "jsonp-off": b"\x01/echo\x00jsonp=cb",
    "encoded-path": b"\x00/a%2Fb%20c\x00",
    "bad-percent": b"\x00/echo\x00args=%zz",
    "twice": b"\x00/echo\x00timeout=1&timeout=2",
}
# cli-input: mode byte (input | decoding << 2), separator, stdin
cli = {
    "args": b"\x00\x00one\x00two\x00",
    "plain": b"\x01\x00one field\n",
    "delimited": b"\x02\na\nb\n\nc",
    "delimited-comma": b"\x02,x,y,z",
    "delimited-hex": b"\x0a\n6869\n00ff\n",
    "delimited-b64": b"\x06\naGk=\nAP8\n",
    "json": b'\x03\x00["a", 2, {"b": null}]',
    "json-bad": b'\x03\x00[1',
    "plain-hex": b"\x09\x00de ad be ef",
}
for name, seeds in (("proto", proto), ("codec", codec), ("json", json),
                    ("http-params", http), ("cli-input", cli)):
    d = os.path.join("fuzz", "corpus", name)
    os.makedirs(d, exist_ok=True)
    for k, v in seeds.items():
        with open(os.path.join(d, k), "wb") as f:
            f.write(v)
