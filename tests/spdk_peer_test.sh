#!/usr/bin/env bash
# tests/spdk_peer_test.sh - nvmf against SPDK v23.05's own programs, both
# ways, over NVMe/TCP on loopback:
#
#   SPDK perf, identify  ---->  ./nvmf target      (then nvmf perf --verify
#                                                  on the same namespace)
#   nvmf discover, identify,
#   perf --verify        ---->  SPDK nvmf_tgt      (set up with SPDK's rpc.py)
#
# SPDK's tools send an all-zero HOSTNQN unless the transport ID names one;
# nvmf_tgt ends reads with a C2HData SUCCESS flag, which our host may take
# because its Connect turns SQ flow control off. Runs are 1 s each.
# Without SPDK's kit (../shared/spdk) the test says "skipped" and why.
set -u
cd "$(dirname "$0")/.."
DETAIL=tests/out/spdk_peer_test.detail
. tests/lib.sh
mkdir -p tests/out
: >"$DETAIL"
if ! spdk_kit; then
	echo "spdk_peer_test: 0 passed, 0 failed, 1 skipped (no SPDK kit in ../shared/spdk)"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "spdk_peer_test: 0 passed, 0 failed, 1 skipped (SPDK's programs need root for hugepages)"
	exit 0
fi
tmp=$(mktemp -d /tmp/spdk_peer.XXXXXX)
tgt="" spdk_pid=""
cleanup() {
	[ -n "$tgt" ] && kill "$tgt" 2>/dev/null
	[ -n "$spdk_pid" ] && kill "$spdk_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# spdk_perf TRID ARGS...: SPDK's perf on a 1 s run; passes when it ends
# well, prints its Total line and logged no error.
spdk_perf() {
	local trid=$1 out; shift
	out=$(timeout -k 5 60 "$SPDK" perf -t 1 -c 0x2 "$@" -r "$trid" 2>&1)
	local rc=$?
	echo "$out"
	[ $rc = 0 ] && grep -q '^Total' <<<"$out" && ! grep -q 'ERROR' <<<"$out"
}

# ==== SPDK's initiator tools against ./nvmf ============================
port=$(free_port)
nqn=nqn.2026-11.io.nvmf:spdkpeer
lnqn=nqn.2026-11.io.nvmf:spdkpeer-locked
host=nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555
./nvmf target -l 127.0.0.1:$port -D 0 -r "$tmp/nvmf.sock" -s $nqn --ns ram:32M:512 \
	-s $lnqn --ns ram:8M --host $host >tests/out/spdk_peer_test.target.out 2>&1 &
tgt=$!
check "the target starts" wait_target tests/out/spdk_peer_test.target.out $tgt
trid="trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$port subnqn:$nqn"
ltrid="trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$port subnqn:$lnqn"

check "SPDK perf randrw 4K QD32, no hostnqn (all-zero HOSTNQN)" \
	spdk_perf "$trid" -q 32 -o 4096 -w randrw -M 50
check "SPDK perf randrw 128K QD8, header and data digests" \
	spdk_perf "$trid" -q 8 -o 131072 -w randrw -M 50 -H -I
check "SPDK perf randrw 4K QD32, digests, with hostnqn" \
	spdk_perf "$trid hostnqn:$host" -q 32 -o 4096 -w randrw -M 50 -H -I
check "SPDK perf randrw 128K QD8, no digests" \
	spdk_perf "$trid" -q 8 -o 131072 -w randrw -M 50
# A host opens the connection of every I/O queue before it sends any
# Connect (SPDK's perf -P does, so does the Linux host): 64 queues from
# one address at once must all get in, not meet the per-host cap.
check "SPDK perf on 64 I/O queues at once (-P 64), every one connected" \
	spdk_perf "$trid" -P 64 -q 128 -o 131072 -w randrw -M 50

out=$(timeout 60 "$SPDK" identify -r "$trid" 2>&1)
echo "$out" >>"$DETAIL"
check "SPDK identify names the subsystem" grep -q "NVMe over Fabrics controller at 127.0.0.1:$port: $nqn\$" <<<"$out"
check "SPDK identify sees the 32 MiB namespace of 512-byte blocks" \
	grep -q 'Namespace ID:1' <<<"$out"
check "SPDK identify: namespace size 65536 blocks" grep -q 'Size (in LBAs):  *65536 ' <<<"$out"

# An allow list cannot hold an empty HOSTNQN: Connect Invalid Host (SCT 1,
# SC 84h), the answer SPDK's own target gives.
out=$(timeout 60 "$SPDK" identify -r "$ltrid" 2>&1)
echo "$out" >>"$DETAIL"
check "allow list: no hostnqn is refused with sct 1, sc 132 (Connect Invalid Host)" \
	grep -q 'sct 1, sc 132' <<<"$out"
out=$(timeout 60 "$SPDK" identify -r "$ltrid hostnqn:$host" 2>&1)
echo "$out" >>"$DETAIL"
check "allow list: the allowed hostnqn gets in" grep -q "NVMe over Fabrics controller at 127.0.0.1:$port: $lnqn\$" <<<"$out"

check "nvmf perf --verify on the namespace SPDK perf used" \
	./nvmf perf -q 16 -o 4096 -w randrw -M 50 -t 1 --verify -r "$trid"
check "the target is still up" kill -0 $tgt
kill $tgt; wait $tgt 2>/dev/null; tgt=""

# ==== nvmf's host against SPDK's nvmf_tgt ==============================
port=$(free_port)
snqn=nqn.2016-06.io.spdk:cnode1
R="$SPDK rpc.py -s $tmp/spdk.sock"
setup() {
	spdk_tgt_start "$tmp/spdk.sock" tests/out/spdk_peer_test.nvmf_tgt.log 1024 64 &&
	$R nvmf_create_transport -t TCP -u 16384 -m 8 -c 8192 &&
	$R bdev_malloc_create -b Malloc0 32 512 &&
	$R nvmf_create_subsystem $snqn -a -s SPDK00000000000001 -d SPDK_Controller1 &&
	$R nvmf_subsystem_add_ns $snqn Malloc0 &&
	$R nvmf_subsystem_add_listener $snqn -t tcp -a 127.0.0.1 -s $port &&
	$R nvmf_subsystem_add_listener discovery -t tcp -a 127.0.0.1 -s $port
}
check "SPDK nvmf_tgt starts and takes the seed tutorials' rpc.py lines" setup
strid="trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$port subnqn:$snqn"

out=$(./nvmf discover -r "trtype:TCP traddr:127.0.0.1 trsvcid:$port" 2>&1)
echo "$out" >>"$DETAIL"
check "nvmf discover against nvmf_tgt lists its subsystem" grep -q "subnqn: *$snqn" <<<"$out"
check "nvmf discover against nvmf_tgt, with digests" \
	./nvmf discover --hdgst --ddgst -r "trtype:TCP traddr:127.0.0.1 trsvcid:$port"
out=$(./nvmf identify -r "$strid" 2>&1)
echo "$out" >>"$DETAIL"
check "nvmf identify against nvmf_tgt: its model and serial" \
	grep -q 'SPDK_Controller1' <<<"$out"
check "nvmf identify against nvmf_tgt: the namespace, 65536 blocks" grep -q 'nsze *: 65536 ' <<<"$out"
check "nvmf identify against nvmf_tgt: no warnings" bash -c '! grep -qi warning <<<"$1"' _ "$out"
for o in 4096 131072; do
	check "nvmf perf --verify randrw ${o}B against nvmf_tgt (C2HData SUCCESS)" \
		./nvmf perf -q 16 -o $o -w randrw -M 50 -t 1 --verify -r "$strid"
	check "nvmf perf --verify randrw ${o}B against nvmf_tgt, header and data digests" \
		./nvmf perf -q 16 -o $o -w randrw -M 50 -t 1 --verify --hdgst --ddgst -r "$strid"
done
check "nvmf_tgt is still up" kill -0 "$spdk_pid"

echo "spdk_peer_test: $pass passed, $fail failed"
