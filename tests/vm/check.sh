#!/bin/bash
# tests/vm/check.sh [TEST...]: the kernel interop suite (make check-vm).
#
#   for KERNEL in $NVMF_LAB_KERNELS (default "6.1 6.12"):
#       run.sh KERNEL suite.sh TEST...      one guest per kernel, all tests
#       results: $LAB_OUT/KERNEL/results    (ok / not ok / skip lines)
#   totals over both kernels, last line:  "N passed, N failed, N skipped"
#
# TEST is tcp, rdma, vfio, rpc, disc, names, auth or blktests (default: all).
# blktests' nvme group is long under TCG (10-20 minutes per run on two
# idle cores), so check-vm runs it against nvmf on every kernel and asks
# nvmet (the control) only about the tests nvmf failed, in the same guest
# (NVMF_BT_CONTROL unset: see test-blktests.sh). make check-blktests sets
# NVMF_BT_CONTROL=all: the whole group against both targets on every
# kernel, for the full table. NVMF_BT_KERNELS="6.12" (or none) limits the
# kernels blktests runs on. The closing lines tabulate blktests per test
# and kernel, nvmet / nvmf ("-" where that half did not run the test).
# Inside each guest every test runs
# against nvmet (the control) and against ./nvmf; see suite.sh. A guest that
# times out or dies counts as one failure. Artifacts (console.log, per-check
# logs, dmesg per run) stay in $LAB_OUT/KERNEL. Exit status 0 when nothing
# failed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

# A guest runs every test against nvmet and nvmf (tcp, rdma, vfio, rpc,
# disc, names, auth): 4-6 minutes on two idle cores, twice that while
# the cores are busy; blktests' group adds 10-40 minutes per target (see
# test-blktests.sh).
export NVMF_LAB_TIMEOUT=${NVMF_LAB_TIMEOUT:-3600}
passed=0 failed=0 skipped=0

# blktests per test: one column per kernel, "nvmet / nvmf" results
# (passed, failed, not run, - when that half did not run), from the .tsv
# files test-blktests.sh leaves.
bt_table() {
	local files
	files=$(ls "$LAB_OUT"/*/logs/nvm*-blktests.tsv 2>/dev/null) || return 0
	echo "# blktests nvme group (nvmet / nvmf):"
	awk -F'\t' -v kernels="$LAB_KERNELS" -v out="$LAB_OUT" '
		{ r[$1, FILENAME] = $2; t[$1] = 1 }
		function cell(k, tgt, x) {
			x = r[x, out "/" k "/logs/" tgt "-blktests.tsv"]
			return x == "" ? "-" : x
		}
		END {
			nk = split(kernels, k, " ")
			printf "#   %-9s", "test"
			for (i = 1; i <= nk; i++) printf " %-22s", k[i]
			printf "\n"
			n = asorti(t, s)
			for (j = 1; j <= n; j++) {
				printf "#   %-9s", s[j]
				for (i = 1; i <= nk; i++)
					printf " %-22s", cell(k[i], "nvmet", s[j]) " / " cell(k[i], "nvmf", s[j])
				printf "\n"
			}
		}' $files
}
rpid=
trap '[ -n "$rpid" ] && kill "$rpid" 2>/dev/null && wait "$rpid"; exit 130' INT TERM HUP
t0=$SECONDS
for k in $LAB_KERNELS; do
	bash "$LAB_DIR/kernel.sh" "$k" >/dev/null || { failed=$((failed + 1)); continue; }
	tk=$SECONDS
	# In the background so that a signal to us reaches run.sh, whose
	# trap stops the guest.
	BT_CONTROL=1
	case ${NVMF_BT_CONTROL:-none} in
	all | "$k") ;;
	*) BT_CONTROL=0 ;;
	esac
	export BT_CONTROL
	# This guest's tests: all of them, or those asked for, less blktests
	# where it is not to run on this kernel.
	tests=("$@")
	[ ${#tests[@]} -gt 0 ] || tests=(tcp rdma vfio rpc disc names auth blktests)
	case " ${NVMF_BT_KERNELS:-all} " in
	*" all "* | *" $k "*) ;;
	*) tests=("${tests[@]/blktests/}") ;;
	esac
	read -ra tests <<<"${tests[*]}"
	if [ ${#tests[@]} -eq 0 ]; then
		echo "# kernel $k: nothing to run here"
		continue
	fi
	bash "$LAB_DIR/run.sh" "$k" "$LAB_DIR/suite.sh" "${tests[@]}" &
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
bt_table
echo "# check-vm took $((SECONDS - t0))s"
if [ "$failed" -ne 0 ]; then
	echo "# failures:"
	cat "$LAB_OUT"/*/results 2>/dev/null | grep '^not ok' | sed 's/^/#   /'
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
