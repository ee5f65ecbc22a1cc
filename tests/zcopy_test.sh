#!/usr/bin/env bash
# tests/zcopy_test.sh - reads sent from the RAM namespace's own memory
# (nvmf.c: nvmf_io_in_place; tcp.c: tcp_flush_tear), against targets of
# this build over loopback. The host side is tests/zcopy.py:
#
#   1. tear: reads held in a full socket while another queue rewrites
#      their blocks: no block comes back torn, and a read after the
#      writes completed sees them;
#   2. ddgst: with data digest on, reads racing rewrites of the same
#      blocks on another reactor all carry a matching digest;
#   3. randrw --verify on two reactors (the same LBAs), with and without
#      data digest;
#   4. remove: the namespace and its memory are removed over RPC while
#      16 MiB of reads from it sit unread: the removal waits for them;
#   5. stuck: the same with a host that never reads: after a few seconds
#      the target closes that queue and the removal succeeds, while
#      another host stays connected.
#
# NVMF=path runs another build (e.g. one made with -fsanitize=address).
set -u
cd "$(dirname "$0")/.."
DETAIL=tests/out/zcopy_test.detail
. tests/lib.sh
mkdir -p tests/out
: >"$DETAIL"
NVMF=${NVMF:-./nvmf}
export NVMF
nqn=nqn.2026-11.io.nvmf:zcopy
tgt=""
trap '[ -n "$tgt" ] && kill $tgt 2>/dev/null; wait 2>/dev/null' EXIT

# start_target CORES: a target with a 16 MiB namespace of 4 KiB blocks;
# sets tgt, port and sock.
start_target() {
	port=$(free_port)
	sock=$(mktemp -u /tmp/nvmf-zcopy.XXXXXX)
	"$NVMF" target -m "$1" -l 127.0.0.1:$port -D 0 -r "$sock" -s $nqn \
		--ns ram:16M:4096 >tests/out/zcopy_test.target.out 2>&1 &
	tgt=$!
	wait_target tests/out/zcopy_test.target.out $tgt
}

# zcopy MODE ...: tests/zcopy.py's checks, each counted here.
zcopy() {
	local out rc
	out=$(python3 tests/zcopy.py "$@" 2>&1); rc=$?
	echo "$out" >>"$DETAIL"
	while IFS= read -r line; do
		case $line in
		"ok - "*) echo "$line"; pass=$((pass + 1)) ;;
		"not ok - "*) echo "$line"; fail=$((fail + 1)) ;;
		esac
	done <<<"$out"
	if [ $rc != 0 ] && ! grep -q '^not ok' <<<"$out"; then
		echo "not ok - zcopy.py $1 exited $rc"; fail=$((fail + 1))
		tail -n 20 <<<"$out" | sed 's/^/    /'
	fi
}

target_exits() { kill "$tgt" && wait "$tgt"; }
stop_target() {
	check "the target exits 0 on SIGTERM" target_exits
	tgt=""
}

start_target 0x1 || { echo "not ok - target start"; exit 1; }
zcopy tear $port $nqn
stop_target

start_target 0x3 || { echo "not ok - target start"; exit 1; }
zcopy ddgst $port $nqn
trid="trtype:TCP traddr:127.0.0.1 trsvcid:$port subnqn:$nqn"
check "randrw QD32 --verify on two reactors, the same LBAs" \
	"$NVMF" perf -q 32 -o 4096 -w randrw -M 50 -t 2 -c 0x3 --verify -r "$trid"
check "the same with data digest (reads copied, then digested)" \
	"$NVMF" perf -q 32 -o 16384 -w randrw -M 50 -t 2 -c 0x3 --verify --ddgst -r "$trid"
stop_target

start_target 0x1 || { echo "not ok - target start"; exit 1; }
zcopy remove $port $nqn "$sock" ram0
stop_target

start_target 0x1 || { echo "not ok - target start"; exit 1; }
zcopy stuck $port $nqn "$sock" ram0
check "the target says which queue it closed, and why" \
	grep -q "namespace 1 is being removed, and this host has left reads" tests/out/zcopy_test.target.out
stop_target

echo "zcopy_test: $pass passed, $fail failed"
