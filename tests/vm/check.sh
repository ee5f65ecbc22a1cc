#!/bin/bash
# tests/vm/check.sh [TEST...]: the kernel interop suite (make check-vm).
#
#   for KERNEL in $NVMF_LAB_KERNELS (default "6.1 6.12"):
#       run.sh KERNEL suite.sh TEST...      one guest per kernel, all tests
#       results: $LAB_OUT/KERNEL/results    (ok / not ok / skip lines)
#   totals over both kernels, last line:  "N passed, N failed, N skipped"
#
# TEST is tcp, rdma, vfio, rpc or disc (default: all). Inside each guest
# every test runs against nvmet (the control) and against ./nvmf; see suite.sh. A guest that
# times out or dies counts as one failure. Artifacts (console.log, per-check
# logs, dmesg per run) stay in $LAB_OUT/KERNEL. Exit status 0 when nothing
# failed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

# A guest runs every test against nvmet and nvmf (tcp, rdma, vfio, rpc, disc):
# about 8 minutes on two idle cores, twice that while the cores are busy.
export NVMF_LAB_TIMEOUT=${NVMF_LAB_TIMEOUT:-1500}
passed=0 failed=0 skipped=0
rpid=
trap '[ -n "$rpid" ] && kill "$rpid" 2>/dev/null && wait "$rpid"; exit 130' INT TERM HUP
t0=$SECONDS
for k in $LAB_KERNELS; do
	bash "$LAB_DIR/kernel.sh" "$k" >/dev/null || { failed=$((failed + 1)); continue; }
	tk=$SECONDS
	# In the background so that a signal to us reaches run.sh, whose
	# trap stops the guest.
	bash "$LAB_DIR/run.sh" "$k" "$LAB_DIR/suite.sh" "$@" &
	rpid=$!
	wait "$rpid"
	rc=$?
	rpid=
	res=$LAB_OUT/$k/results
	p=$(grep -c '^ok ' "$res" 2>/dev/null)
	f=$(grep -c '^not ok ' "$res" 2>/dev/null)
	s=$(grep -c '^skip ' "$res" 2>/dev/null)
	p=${p:-0} f=${f:-0} s=${s:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok $k/guest: run.sh status $rc (see $LAB_OUT/$k/console.log)"
		f=1
	fi
	echo "# kernel $k: $p ok, $f not ok, $s skipped in $((SECONDS - tk))s"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done
echo "# check-vm took $((SECONDS - t0))s"
if [ "$failed" -ne 0 ]; then
	echo "# failures:"
	cat "$LAB_OUT"/*/results 2>/dev/null | grep '^not ok' | sed 's/^/#   /'
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
