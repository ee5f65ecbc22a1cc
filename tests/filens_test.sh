#!/usr/bin/env bash
# tests/filens_test.sh - the file backend (bdev.c) behind the whole target:
# nvmf perf --verify over loopback against file namespaces, with one and two
# reactors (one io_uring per bdev per reactor), and a read-only namespace.
# tests/file_test.c checks each operation and error alone; this checks that
# completions find their way back through the reactors' epoll.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0 tgt=''
d=$(mktemp -d)
DETAIL="$d/detail"
. tests/lib.sh
stop() { [ -n "$tgt" ] && kill "$tgt" 2>/dev/null && wait "$tgt"; local rc=$?; tgt=''; return $rc; }
trap 'stop; rm -rf "$d"' EXIT
start() {	# start ARGS...: the target on a free port, until it says "try:"
	port=$(free_port)
	./nvmf target -r "$d/rpc.sock" -l 127.0.0.1:$port -D 0 -s nqn.2026-11.io.nvmf:filens "$@" \
		>"$d/target.out" 2>&1 &
	tgt=$!
	wait_target "$d/target.out" $tgt
}
perf() { ./nvmf perf -r "trtype:TCP traddr:127.0.0.1 trsvcid:$port subnqn:nqn.2026-11.io.nvmf:filens" "$@"; }

truncate -s 32M "$d/a" "$d/b"
check "target with two file namespaces (512 and 4096-byte blocks), two reactors" \
	start --ns "file:$d/a" --ns "file:$d/b:4096" -m 0x3
check "perf randrw --verify, 4K, QD32, namespace 1" perf -q 32 -o 4096 -w randrw -M 50 -t 2 --verify
check "perf randrw --verify, 64K, QD8, namespace 2 (4096-byte blocks)" \
	perf -n 2 -q 8 -o 65536 -w randrw -M 50 -t 2 --verify
check "the writes reached the file" test "$(du -k "$d/a" | cut -f1)" -gt 0
check "target exits 0 on SIGTERM" stop
check "target with a read-only file namespace" start --ns "file:$d/a:ro"
check "reads work" perf -q 8 -o 4096 -w randread -t 1
./nvmf identify -r "trtype:TCP traddr:127.0.0.1 trsvcid:$port subnqn:nqn.2026-11.io.nvmf:filens" >"$d/ro.id" 2>&1
check "Identify Namespace says write protected (NSATTR bit 0)" grep -q 'nsattr  : 0x01 (write protected)' "$d/ro.id"
perf -q 1 -o 4096 -w write -t 1 >"$d/ro.out" 2>&1
check "writes fail with Namespace is Write Protected" grep -q 'status 0x020 (Namespace is Write Protected), DNR' "$d/ro.out"
check "no write succeeded" bash -c "! grep -qE 'errors: 0 failed' '$d/ro.out'"
check "target still up after the refused writes" kill -0 "$tgt"
check "target exits 0 on SIGTERM" stop
echo "filens_test: $pass passed, $fail failed"
[ "$fail" = 0 ]
