#!/usr/bin/env bash
# tests/pcie_nvmf_test.sh - the whole path on any laptop: socket -> nvmf.c
# -> pcie_nvme.c (the driver) -> sim/ (the device), with namespaces
# --ns sim:64M and --ns sim:32M:4096 on two reactors, checked by the
# host side's perf --verify. The same run against QEMU's NVMe through VFIO is
# tests/vm/test-vfio.sh.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0
DETAIL=tests/out/pcie_nvmf_test.detail
. tests/lib.sh
mkdir -p tests/out
: >tests/out/pcie_nvmf_test.detail
port=$(free_port)
nqn=nqn.2026-11.io.nvmf:pcietest
./nvmf target -r "$(mktemp -u /tmp/nvmf-pcie.XXXXXX)" -m 0x3 -l 127.0.0.1:$port -D 0 -s $nqn --ns sim:64M --ns sim:32M:4096 \
	>tests/out/pcie_nvmf_test.target.out 2>&1 &
tgt=$!
trap 'kill $tgt 2>/dev/null; wait $tgt 2>/dev/null' EXIT
check "the target starts" wait_target tests/out/pcie_nvmf_test.target.out $tgt
trid="trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$port subnqn:$nqn"

check "the target brought both simulated controllers up" \
	grep -c 'pci_bdev_open: sim' tests/out/pcie_nvmf_test.target.out
check "nsid 1 is served by the driver (sim0, 512-byte blocks)" \
	grep -q 'nsid 1: sim0, 64 MiB, 512-byte blocks' tests/out/pcie_nvmf_test.target.out
check "perf randrw --verify, 4K, QD16, through the driver" \
	./nvmf perf -q 16 -o 4096 -w randrw -M 50 -t 2 --verify -r "$trid"
check "perf randrw --verify, 128K (PRP lists of 31 entries), QD8" \
	./nvmf perf -q 8 -o 131072 -w randrw -M 50 -t 2 --verify -r "$trid"
check "perf --verify on the 4096-byte-block simulated namespace" \
	./nvmf perf -n 2 -q 32 -o 8192 -w randrw -t 2 --verify -r "$trid"
check "two reactors, each with its own I/O queue on one simulated controller" \
	./nvmf perf -c 0x3 -q 16 -o 4096 -w randrw -M 50 -t 2 --verify -r "$trid"
check "a namespace the target cannot parse is refused with a message" \
	bash -c "./nvmf target -l 127.0.0.1:0 --ns sim:12Q 2>&1 | grep -q sim"
kill $tgt; wait $tgt; rc=$?
check "target exits 0 on SIGTERM (controllers shut down)" test "$rc" = 0
trap - EXIT
echo "pcie_nvmf_test: $pass passed, $fail failed"
[ "$fail" = 0 ]
