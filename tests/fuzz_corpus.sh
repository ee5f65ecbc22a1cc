#!/usr/bin/env bash
# tests/fuzz_corpus.sh - record the fuzzer's seeds from real sessions:
# SPDK's identify and perf (a real peer) and nvmf's own discover,
# identify and perf, each through a recording proxy to ./nvmf target.
# Each session becomes one seed in tests/fuzz_corpus/ in fuzz_tcp.c's
# format: u16 length, first connection's host bytes, second's (cut at
# 16 KiB: the corpus stays small, the fuzzer grows it).
#
#   host tool --> proxy (records host->target bytes per connection) --> ./nvmf target
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
SHARED=${NVMF_SHARED:-$(cd "$(dirname "$0")/../.." && pwd)/shared}
[ -d "$SHARED" ] || SHARED=/work/shared
out=tests/fuzz_corpus work=$(mktemp -d)
mkdir -p "$out"
tport=$(free_port) pport=$(free_port)
nqn=nqn.2026-11.io.nvmf:fuzz
./nvmf target -l 127.0.0.1:$tport -D 0 -r "$work/rpc.sock" -s $nqn --ns ram:4M >"$work/target.out" 2>&1 &
tgt=$!
trap 'kill $tgt $px 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
python3 - "$pport" "$tport" "$work" <<'PY' &
import os, socket, sys, threading
lport, tport, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", lport)); ls.listen(16)
open(os.path.join(work, "ready"), "w").close()
n = 0
def pump(a, b, rec):
    while True:
        try:
            d = a.recv(65536)
        except OSError:
            d = b""
        if not d:
            break
        if rec:
            rec.write(d); rec.flush()
        try:
            b.sendall(d)
        except OSError:
            break
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
while True:
    c, _ = ls.accept(); n += 1
    t = socket.create_connection(("127.0.0.1", tport))
    rec = open(os.path.join(work, "conn%03d" % n), "wb")
    threading.Thread(target=pump, args=(c, t, rec), daemon=True).start()
    threading.Thread(target=pump, args=(t, c, None), daemon=True).start()
PY
px=$!
wait_target "$work/target.out" $tgt || exit 1
for _ in $(seq 100); do [ -e "$work/ready" ] && break; sleep 0.1; done
trid="trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$pport subnqn:$nqn"
# SPDK's tools send an empty HOSTNQN unless told one.
strid="$trid hostnqn:nqn.2014-08.org.nvmexpress:uuid:5eed5eed-0000-4000-8000-000000000001"

# session NAME CMD...: run one tool through the proxy, save its seed.
session() {
	local name=$1; shift
	local before; before=$(ls "$work" | grep -c '^conn')
	"$@" >"$work/$name.log" 2>&1 || { echo "$name: failed"; tail -5 "$work/$name.log"; }
	sleep 0.5
	python3 - "$work" "$before" "$out/$name" <<'PY'
import os, struct, sys
work, before, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
conns = sorted(f for f in os.listdir(work) if f.startswith("conn"))[before:]
s = [open(os.path.join(work, f), "rb").read() for f in conns]
a = s[0] if s else b""
b = s[1][:16384] if len(s) > 1 else b""
open(dst, "wb").write(struct.pack("<H", len(a)) + a + b)
print("%s: %d connections, %d + %d bytes" % (os.path.basename(dst), len(s), len(a), len(b)))
PY
}

session nvmf-discover ./nvmf discover -r "trtype:TCP traddr:127.0.0.1 trsvcid:$pport"
session nvmf-identify ./nvmf identify -r "$trid"
session nvmf-perf-write ./nvmf perf -q 4 -o 4096 -w write -t 1 -r "$trid"
session nvmf-perf-read-digests ./nvmf perf -q 4 -o 8192 -w randread -t 1 --hdgst --ddgst -r "$trid"
session nvmf-perf-64k ./nvmf perf -q 2 -o 65536 -w randrw -t 1 -r "$trid"
session spdk-identify "$SHARED/spdk/run" identify -r "$strid"
session spdk-perf "$SHARED/spdk/run" perf -q 4 -o 4096 -w randrw -M 50 -t 1 -r "$strid"
ls -l "$out"
