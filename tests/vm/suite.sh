#!/bin/bash
# tests/vm/suite.sh [TEST...]: the interop suite, run INSIDE the guest by
# check.sh (through run.sh). Differential: every test runs twice, first against
# the kernel's own target (nvmet, the control), then against ./nvmf.
#
#   for TEST in tcp rdma vfio rpc disc names auth blktests:   (default: all)
#     for TARGET in nvmet nvmf:
#       start TARGET (targets.sh)  ->  test-TEST.sh: check NAME FUNC ...
#       stop TARGET, nvme disconnect-all, dmesg diff   (always, pass or fail)
#
# Output, one line per check, also appended to /run/lab/results:
#   ok <kernel>/<target>/<test>/<check>
#   not ok <kernel>/<target>/<test>/<check>     followed by the indented log
#   skip <kernel>/<target>/<test>: <reason>     the whole half, counted once
# A half that nvmf cannot run yet (no ./nvmf, no RDMA, no VFIO backend) is
# skipped with its reason; the nvmet half always runs: if it fails, the test
# is wrong, not the target. Exit status: 0 when nothing failed.
set -u
cd "$(dirname "$0")/../.." || exit 1
VM=tests/vm
. $VM/targets.sh

KERNEL=$(uname -r | cut -d. -f1-2)
RESULTS=/run/lab/results
LOGS=/run/lab/logs
mkdir -p "$LOGS"
: >>"$RESULTS"
PASSED=0 FAILED=0 SKIPPED=0

record() {	# record ok|"not ok"|skip NAME [REASON]
	local line="$1 $2${3:+: $3}"
	echo "$line"
	echo "$line" >>"$RESULTS"
	case $1 in
	ok) PASSED=$((PASSED + 1)) ;;
	skip) SKIPPED=$((SKIPPED + 1)) ;;
	*) FAILED=$((FAILED + 1)) ;;
	esac
}

# check NAME CMD...: run one check in this shell (so it may set variables for
# later checks), its output to a log; on failure print the log's tail.
check() {
	local name=$KERNEL/$TARGET/$TEST/$1 log=$LOGS/$TARGET-$TEST-$1.log
	shift
	if "$@" >"$log" 2>&1; then
		record ok "$name"
	else
		record "not ok" "$name"
		tail -n 40 "$log" | sed 's/^/    /'
		if [ "$TARGET" = nvmf ] && [ -s "${NVMF_LOG:-}" ]; then
			echo "    --- last lines of $NVMF_LOG:"
			tail -n 10 "$NVMF_LOG" | sed 's/^/    /'
		fi
	fi
}

# ---- helpers shared by the tests --------------------------------------------

# Print "CTRL DEV" (e.g. "nvme1 nvme1n1") for the live controller of $NQN
# over transport TR, waiting up to 15 s; nothing and status 1 if none.
find_ctrl() {
	local tr=$1 c s dev i
	for i in $(seq 150); do
		for c in /sys/class/nvme/nvme*; do
			[ "$(cat "$c/subsysnqn" 2>/dev/null)" = "$NQN" ] || continue
			[ "$(cat "$c/transport" 2>/dev/null)" = "$tr" ] || continue
			[ "$(cat "$c/state" 2>/dev/null)" = live ] || continue
			# With native multipath the block device nvmeXnY (X = the
			# subsystem's instance) is a child of the subsystem, which
			# links its controllers; without, a child of the ctrl.
			dev=$( (ls "$c"; for s in /sys/class/nvme-subsystem/*; do
				[ -e "$s/${c##*/}" ] && ls "$s"; done) 2>/dev/null |
				grep -E '^nvme[0-9]+n[0-9]+$' | head -n 1)
			if [ -n "$dev" ] && [ -b "/dev/$dev" ]; then
				echo "$(basename "$c") $dev"
				return 0
			fi
		done
		sleep 0.1
	done
	return 1
}

# Wait up to 10 s until no controller of $NQN is left.
wait_gone() {
	local i
	for i in $(seq 100); do
		grep -qx "$NQN" /sys/class/nvme/nvme*/subsysnqn 2>/dev/null || return 0
		sleep 0.1
	done
	echo "a controller of $NQN is still there:" >&2
	grep -H . /sys/class/nvme/nvme*/{subsysnqn,state} >&2
	return 1
}

# Field VALUE from nvme-cli's "name : value" output (first match).
field() {
	awk -F: -v k="$1" '{ n = $1; gsub(/[ \t]/, "", n) } n == k {
		v = substr($0, index($0, ":") + 1); gsub(/^[ \t]+|[ \t]+$/, "", v)
		print v; exit }'
}

# Messages a clean run never prints: host or target errors, kernel warnings.
DMESG_BAD='nvme.*(error|fail|invalid|timeout|timed out|reset|abort|reject)|nvmet.*(error|fail|invalid)|rdma_rxe.*fail|BUG:|WARNING:|Call Trace|segfault|general protection'

# A test file may narrow it (<test>_dmesg_bad) when it provokes errors on
# purpose.
dmesg_clean() {
	local v=${TEST}_dmesg_bad
	dmesg | tail -n +$((DMESG_MARK + 1)) >"$LOGS/$TARGET-$TEST-dmesg.txt"
	if grep -iE "${!v:-$DMESG_BAD}" "$LOGS/$TARGET-$TEST-dmesg.txt"; then
		echo "(error lines above, from dmesg since the start of this run)"
		return 1
	fi
}

# ---- one half: one test against one target --------------------------------

# run_half TEST TARGET: start, checks, stop. The test file defines
# <test>_start_<target>, <test>_checks, <test>_stop_<target> and may define
# <test>_skip_<target> to print a reason not to run.
run_half() {
	TEST=$1 TARGET=$2
	local reason
	reason=$("${TEST}_skip_$TARGET" 2>/dev/null)
	if [ -n "$reason" ]; then
		record skip "$KERNEL/$TARGET/$TEST" "$reason"
		return
	fi
	echo "# $KERNEL: $TEST against $TARGET"
	DMESG_MARK=$(dmesg | wc -l)
	local t0=$SECONDS
	if check start "${TEST}_start_$TARGET"; then
		"${TEST}_checks"
	fi
	nvme disconnect-all >/dev/null 2>&1
	check stop "${TEST}_stop_$TARGET"
	check dmesg-clean dmesg_clean
	echo "# $KERNEL: $TEST against $TARGET took $((SECONDS - t0))s"
}

[ $# -gt 0 ] || set -- tcp rdma vfio rpc disc names auth blktests
dmesg -n 4 2>/dev/null
for test in "$@"; do
	if [ ! -f "$VM/test-$test.sh" ]; then
		record "not ok" "$KERNEL/$test" "no such test (tcp, rdma, vfio, rpc, disc, names, auth, blktests)"
		continue
	fi
	. "$VM/test-$test.sh"
	for target in nvmet nvmf; do
		run_half "$test" "$target"
	done
done
echo "# summary $KERNEL: passed=$PASSED failed=$FAILED skipped=$SKIPPED"
[ "$FAILED" -eq 0 ]
