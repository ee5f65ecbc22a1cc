#!/usr/bin/env python3
# tests/rpc.py - a minimal JSON-RPC 2.0 client for the tests (stdlib only),
# kept only for what SPDK's own rpc.py cannot send, which the tests use
# for everything else: params of the wrong type, unknown or missing keys
# (rpc.py's argparse checks those before sending), malformed JSON, a batch,
# an oversized request, a request cut off mid-way, and methods v23.05's
# rpc.py has no command for (referrals, deprecated names). Usage:
# rpc.py SOCK METHOD [PARAMS]   one JSON-RPC call; exit 0 on "result", 2 on "error"
# rpc.py SOCK --raw TEXT        send TEXT as is, print the answer or <closed>
# rpc.py SOCK --big N           a request of N bytes, never finished
# rpc.py SOCK --cut             half a request, then hang up
import json, signal, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(sys.argv[1])
def answer():
    buf = b""
    while True:
        try:
            d = s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            d = b""
        if not d:
            return buf
        buf += d
        try:
            json.loads(buf)
            return buf
        except ValueError:
            pass
mode = sys.argv[2]
if mode == "--raw":
    s.sendall(sys.argv[3].encode())
    print(answer().decode() or "<closed>")
elif mode == "--big":
    try:
        s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":"' + b"A" * int(sys.argv[3]))
    except (ConnectionResetError, BrokenPipeError):
        pass
    print(answer().decode() or "<closed>")
elif mode == "--cut":
    s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"rpc_get')
    s.close()
else:
    req = {"jsonrpc": "2.0", "method": mode, "id": 1}
    if len(sys.argv) > 3:
        req["params"] = json.loads(sys.argv[3])
    s.sendall(json.dumps(req).encode())
    r = json.loads(answer())
    if "error" in r:
        print(json.dumps(r["error"]))
        sys.exit(2)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)	# quiet when piped into grep -q
    print(json.dumps(r["result"], indent=2))
