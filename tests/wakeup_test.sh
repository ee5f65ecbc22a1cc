#!/usr/bin/env bash
# tests/wakeup_test.sh - no lost wakeups under real workloads.
#
# A reactor sleeps in epoll_wait once its spin ends. Work it leaves behind
# that no socket or CQ event will announce (a response not yet sent, a
# command waiting for a buffer that has come back) would wait for the
# 100 ms tick: the stall a host sees as a 100 ms maximum latency. Before
# each sleep the reactor asks itself whether such work exists (main.c,
# nvmf_reactor_stranded); if so it counts a lost wakeup and does not sleep.
# So the count is a fact, not a timing: this test runs SPDK's perf through
# the paths that sleep and wake (deep and shallow queues, reads held by a
# full socket, writes by R2T, a pool too small for the load, short runs
# with idle gaps between them, two reactors) and wants every reactor's
# lost_wakeups at 0, read with SPDK's rpc.py nvmf_get_stats.
set -u
cd "$(dirname "$0")/.."
DETAIL=tests/out/wakeup_test.detail
. tests/lib.sh
mkdir -p tests/out
: >"$DETAIL"
if ! spdk_kit; then
	echo "wakeup_test: 0 passed, 0 failed, 1 skipped (no SPDK kit in ../shared/spdk)"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "wakeup_test: 0 passed, 0 failed, 1 skipped (SPDK's perf needs root for hugepages)"
	exit 0
fi
nqn=nqn.2026-11.io.nvmf:wakeup
tgt=""
sock=$(mktemp -u /tmp/nvmf-wakeup.XXXXXX)
trap '[ -n "$tgt" ] && kill $tgt 2>/dev/null; wait 2>/dev/null; rm -f "$sock"' EXIT
trap 'exit 130' INT TERM

# start_target CORES POOL: a 64 MiB RAM namespace; sets tgt and port.
start_target() {
	port=$(free_port)
	./nvmf target -m "$1" --buffer-pool "$2" -l 127.0.0.1:$port -D 0 -r "$sock" -s $nqn \
		--ns ram:64M:512 >tests/out/wakeup_test.target.out 2>&1 &
	tgt=$!
	wait_target tests/out/wakeup_test.target.out $tgt
}

# perf ARGS...: one SPDK perf run on the target; passes when it ends well.
perf() {
	local out trid="trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$port subnqn:$nqn"
	out=$(timeout -k 5 60 "$SPDK" perf -c 0x2 "$@" -r "$trid" 2>&1)
	local rc=$?
	echo "$out" | grep -E '^Total|ERROR|error'
	[ $rc = 0 ] && grep -q '^Total' <<<"$out" && ! grep -q 'ERROR' <<<"$out"
}

# Short runs with idle gaps: every run starts on a sleeping reactor.
gaps() {
	for i in 1 2 3 4 5; do
		perf -q 4 -o 4096 -w randrw -M 50 -t 1 || return 1
		sleep 0.3
	done
}

# lost_wakeups REACTORS: nvmf_get_stats has a poll group per reactor, each
# with lost_wakeups, and every one is 0.
lost_wakeups() {
	local json
	json=$("$SPDK" rpc.py -s "$sock" nvmf_get_stats) || return 1
	echo "$json"
	python3 -c '
import json, sys
groups = json.loads(sys.argv[1])["poll_groups"]
counts = [g["lost_wakeups"] for g in groups]
print("lost_wakeups per reactor:", counts)
sys.exit(len(counts) != int(sys.argv[2]) or any(counts))' "$json" "$1"
}

target_exits() { kill "$tgt" && wait "$tgt"; }

# One reactor with a pool that holds the load, then two reactors with a
# pool far too small for it (commands wait for buffers, capsules park).
for setup in "0x1 64M 1" "0x3 2M 2"; do
	read -r cores pool reactors <<<"$setup"
	what="-m $cores, pool $pool"
	check "the target starts ($what)" start_target "$cores" "$pool"
	check "4K randread QD128 ($what)" perf -q 128 -o 4096 -w randread -t 2
	check "4K randwrite QD128 ($what)" perf -q 128 -o 4096 -w randwrite -t 2
	check "128K read QD32, the socket fills ($what)" perf -q 32 -o 131072 -w read -t 2
	check "128K write QD32, by R2T ($what)" perf -q 32 -o 131072 -w write -t 2
	check "128K randrw on 4 queues ($what)" perf -P 4 -q 64 -o 131072 -w randrw -M 50 -t 2
	check "4K randread QD1 ($what)" perf -q 1 -o 4096 -w randread -t 2
	check "short runs with idle gaps ($what)" gaps
	check "no reactor lost a wakeup ($what)" lost_wakeups "$reactors"
	check "the target exits 0 ($what)" target_exits
	tgt=""
done
echo "wakeup_test: $pass passed, $fail failed"
