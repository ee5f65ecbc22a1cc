#!/usr/bin/env bash
# tests/trace_live_test.sh - --trace on both ends of a real connection:
# the target traced, our host traced (the option before the subcommand, as
# `nvmf --trace identify`), then SPDK's identify as the host. Both ends
# must decode the bring-up a reader checks against the spec (chapter 04):
# read CAP, write CC with EN=1, read CSTS until RDY=1, and in the same words.
# tests/trace_test.c checks each decoder's exact line; this checks that the
# target and the host call them where commands go and come back.
set -u
cd "$(dirname "$0")/.."
d=$(mktemp -d)
DETAIL="$d/detail"
. tests/lib.sh
tgt=''
stop() { [ -n "$tgt" ] && kill "$tgt" 2>/dev/null && wait "$tgt"; local rc=$?; tgt=''; return $rc; }
trap 'stop; [ -n "${KEEP:-}" ] || rm -rf "$d"' EXIT
start() {	# start: the traced target on a free port, until it says "try:"
	port=$(free_port)
	./nvmf --trace -r "$d/rpc.sock" -l 127.0.0.1:$port -D 0 >"$d/target.out" 2>&1 &
	tgt=$!
	wait_target "$d/target.out" $tgt
}
nqn=nqn.2026-11.io.nvmf:cnode1
has() { grep -qE -- "$1" "$2"; }	# has ERE FILE
# The bring-up lines: commands and completions on the admin queue.
cmds() { grep -E '^trace (cmd |done) qid=0 ' "$1"; }

check "target starts with --trace (the option before the target's own)" start
trid="trtype:TCP traddr:127.0.0.1 trsvcid:$port subnqn:$nqn"
check "nvmf --trace identify: a global option before the subcommand is taken" \
	bash -c "./nvmf --trace identify -r '$trid' >'$d/host.out' 2>&1"
for side in host target; do
	f=$d/$side.out
	check "$side: Connect by FCTYPE with QID, SQSIZE and the NQNs from its data" \
		has "^trace cmd  qid=0 cid=[0-9]+ Connect qid=0 sqsize=31 cattr=0x4 kato=[0-9]+ cntlid=0xffff subnqn=$nqn hostnqn=nqn\." "$f"
	check "$side: Connect's completion gives the CNTLID from DW0" \
		has '^trace done qid=0 cid=[0-9]+ Connect status=0x000 \(Success\) cntlid=[0-9]+$' "$f"
	check "$side: PropertyGet CAP, its value split into fields" \
		has '^trace done qid=0 cid=[0-9]+ PropertyGet status=0x000 \(Success\) CAP value=0x[0-9a-f]+ MQES=[0-9]+ CQR=1 ' "$f"
	check "$side: PropertySet CC ... EN=1" \
		has '^trace cmd  qid=0 cid=[0-9]+ PropertySet CC size=4 value=0x[0-9a-f]+ EN=1 CSS=[0-9] MPS=0 AMS=0 SHN=0 IOSQES=6 IOCQES=4$' "$f"
	check "$side: PropertyGet CSTS ... RDY=1" \
		has '^trace done qid=0 cid=[0-9]+ PropertyGet status=0x000 \(Success\) CSTS value=0x1 RDY=1 CFS=0 ' "$f"
	check "$side: Identify by CNS name, Get Log Page by LID name" \
		bash -c "grep -q 'Identify Controller cns=0x01 nsid=0' '$f' && grep -q 'GetLogPage SMART lid=0x02 nsid=0xffffffff numd=127 (512 bytes)' '$f'"
	check "$side: no Fabrics command shows nsid= (those bytes are FCTYPE)" \
		bash -c "! grep -E '(Connect|Property(Get|Set)|Auth(Send|Recv)|Disconnect) .*nsid=' '$f'"
done
check "host and target trace the same commands and completions, in the same words" \
	diff <(cmds "$d/host.out") <(cmds "$d/target.out")

# A wrong peer input, answered by name: a Connect to a subsystem that is
# not there fails with Connect Invalid Parameters pointing at SUBNQN in
# the data (byte 256) [BASE-2.0c Fig. 549].
./nvmf identify --trace -r "trtype:TCP traddr:127.0.0.1 trsvcid:$port subnqn:nqn.2026-11.io.nvmf:nope" \
	>"$d/bad.out" 2>&1
check "a refused Connect: the status by name and IPO/IATTR, on the host" \
	has '^trace done qid=0 cid=[0-9]+ Connect status=0x182 \(Connect Invalid Parameters\) DNR ipo=256 iattr=data$' "$d/bad.out"
check "... and the same line on the target" \
	has '^trace done qid=0 cid=[0-9]+ Connect status=0x182 \(Connect Invalid Parameters\) DNR ipo=256 iattr=data$' "$d/target.out"

# The other host subcommands take the global options too.
check "nvmf -v --trace discover: the discovery log by LID name" \
	bash -c "./nvmf -v --trace discover -r 'trtype:TCP traddr:127.0.0.1 trsvcid:$port' >'$d/disc.out' 2>&1 &&
		 grep -q 'GetLogPage Discovery lid=0x70 nsid=0 numd=255 (1024 bytes) lpo=0' '$d/disc.out'"
check "nvmf --trace perf: I/O by opcode with SLBA and blocks, on an I/O queue" \
	bash -c "./nvmf --trace perf -q 1 -o 4096 -w read -t 1 -r '$trid' >'$d/perf.out' 2>&1 &&
		 grep -qE '^trace cmd  qid=1 cid=[0-9]+ Read nsid=1 slba=[0-9]+ blocks=8\$' '$d/perf.out' &&
		 grep -qE '^trace done qid=1 cid=[0-9]+ Read status=0x000 \(Success\)\$' '$d/perf.out'"
check "an I/O queue's Connect names its queue on the target too (qid=1, not the unnamed 0)" \
	has "^trace cmd  qid=1 cid=[0-9]+ Connect qid=1 sqsize=[0-9]+ cattr=0x4 kato=0 cntlid=0x[0-9a-f]{4} subnqn=$nqn " "$d/target.out"
./nvmf --trace rpc -s "$d/rpc.sock" spdk_get_version >"$d/rpc.out" 2>&1
rc=$?
check "nvmf --trace rpc: a subcommand with no use for it refuses it (exit 2), naming the option" \
	bash -c "[ $rc = 2 ] && grep -qx \"nvmf: 'rpc' takes no --trace (it is for the target, discover, identify, perf and sim)\" '$d/rpc.out'"

# The real peer: SPDK's identify as the host, our target tracing it.
if spdk_kit; then
	n0=$(wc -l <"$d/target.out")
	check "SPDK identify against the traced target" \
		timeout 60 "$SPDK" identify -r "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$port subnqn:$nqn"
	tail -n +$((n0 + 1)) "$d/target.out" >"$d/spdk.out"
	check "SPDK's host: its Connect decoded, NQNs from the data" \
		has "Connect qid=0 sqsize=[0-9]+ cattr=0x[0-9a-f]+ kato=[0-9]+ cntlid=0xffff subnqn=$nqn hostnqn=" "$d/spdk.out"
	check "SPDK's host: PropertySet CC ... EN=1 and PropertyGet CSTS ... RDY=1" \
		bash -c "grep -qE 'PropertySet CC size=4 value=0x[0-9a-f]+ EN=1 ' '$d/spdk.out' &&
			 grep -qE 'PropertyGet status=0x000 \(Success\) CSTS value=0x1 RDY=1 ' '$d/spdk.out'"
else
	echo "skip - SPDK's identify: no kit in ../shared/spdk"
	skip=1
fi
check "target still up, exits 0 on SIGTERM" stop
echo "trace_live_test: $pass passed, $fail failed${skip:+, $skip skipped}"
[ "$fail" = 0 ]
