#!/usr/bin/env bash
# tests/host_test.sh - the host side (host.c, host_queue.c, perf.c)
# against the target, both from this build, over loopback: discover,
# identify, perf --verify.
# These are the acceptance commands of the README's quick start.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0
DETAIL=tests/out/host_test.detail
. tests/lib.sh
mkdir -p tests/out
: >tests/out/host_test.detail
port=$(free_port) dport=$(free_port)
nqn=nqn.2026-11.io.nvmf:hosttest
./nvmf target -r "$(mktemp -u /tmp/nvmf-host.XXXXXX)" -l 127.0.0.1:$port -D $dport -s $nqn \
	--ns ram:64M --ns ram:32M:4096 \
	>tests/out/host_test.target.out 2>&1 &
tgt=$!
trap 'kill $tgt 2>/dev/null; wait $tgt 2>/dev/null' EXIT
check "the target starts" wait_target tests/out/host_test.target.out $tgt
trid="trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$port subnqn:$nqn"

out=$(./nvmf discover -r "trtype:TCP traddr:127.0.0.1 trsvcid:$dport" 2>&1)
echo "$out" >>tests/out/host_test.detail
check "nvmf discover on the discovery port succeeds" test -n "$out"
check "discover lists the subsystem" grep -q "$nqn" <<<"$out"
check "discover lists the I/O port" grep -q "$port" <<<"$out"
check "nvmf discover with digests" ./nvmf discover --hdgst --ddgst -r "trtype:TCP traddr:127.0.0.1 trsvcid:$port"

out=$(./nvmf identify -r "$trid" 2>&1)
echo "$out" >>tests/out/host_test.detail
check "nvmf identify succeeds" test -n "$out"
check "identify shows the subsystem NQN" grep -q "$nqn" <<<"$out"
check "identify shows two namespaces" grep -q "^Namespace 2:" <<<"$out"

check "perf randrw --verify, 4K, QD16" ./nvmf perf -q 16 -o 4096 -w randrw -M 50 -t 2 --verify -r "$trid"
check "perf randrw --verify, 64K (several H2CData per write), QD8" \
	./nvmf perf -q 8 -o 65536 -w randrw -M 50 -t 2 --verify -r "$trid"
check "perf write --verify with digests" ./nvmf perf -q 8 -o 8192 -w randrw -t 2 --verify --hdgst --ddgst -r "$trid"
check "perf --verify on the 4096-byte-block namespace" \
	./nvmf perf -n 2 -q 16 -o 4096 -w randrw -t 2 --verify -r "$trid"
check "perf against an unknown subsystem fails" \
	bash -c "! ./nvmf perf -q 1 -o 4096 -w read -t 1 -r 'trtype:TCP traddr:127.0.0.1 trsvcid:$port subnqn:nqn.2026-11.io.nvmf:nope'"
kill $tgt; wait $tgt; rc=$?
check "target exits 0 on SIGTERM" test "$rc" = 0

# A discovery log of 1,000 subsystems (1 MiB), read in pieces at an
# offset by our host and by SPDK's identify (the real peer).
spdk_kit || SPDK=/nonexistent/spdk/run	# tests/lib.sh: SPDK's run wrapper
port=$(free_port)
big=()
for i in $(seq -w 1 1000); do
	big+=(-s "nqn.2026-12.io.nvmf:big$i" --ns null:1M)
done
./nvmf target -r "$(mktemp -u /tmp/nvmf-host.XXXXXX)" -l 127.0.0.1:$port -D 0 "${big[@]}" \
	>tests/out/host_test.target2.out 2>&1 &
tgt=$!
check "the target starts with 1000 subsystems" wait_target tests/out/host_test.target2.out $tgt 30
# listed_all OUTPUT: big0001..big1000, each exactly once
listed_all() {
	[ "$(grep -oE 'nqn\.2026-12\.io\.nvmf:big[0-9]{4}' <<<"$1" | sort | uniq -u | wc -l)" = 1000 ] &&
		[ "$(grep -cE 'nqn\.2026-12\.io\.nvmf:big[0-9]{4}' <<<"$1")" = 1000 ]
}
out=$(./nvmf discover -r "trtype:TCP traddr:127.0.0.1 trsvcid:$port" 2>&1)
echo "$out" >>tests/out/host_test.detail
check "discover: 1,000 subsystems give NUMREC 1001 (and the discovery entry)" \
	grep -q "^Discovery Log Number of Records 1001," <<<"$out"
check "discover: every one of the 1,000 subsystems listed once" listed_all "$out"
out=$("$SPDK" identify -r "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$port \
subnqn:nqn.2014-08.org.nvmexpress.discovery hostnqn:nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555" 2>&1)
echo "$out" >>tests/out/host_test.detail
check "SPDK identify: Number of Records 1001 in the discovery log" \
	grep -qE "^Number of Records: +1001\$" <<<"$out"
check "SPDK identify: every one of the 1,000 subsystems listed once" listed_all "$out"
kill $tgt; wait $tgt; rc=$?
check "the 1,000-subsystem target exits 0 on SIGTERM" test "$rc" = 0
trap - EXIT
echo "host_test: $pass passed, $fail failed"
[ "$fail" = 0 ]
