# tests/vm/test-blktests.sh: blktests' nvme group, the suite the kernel's
# NVMe-oF developers run against nvmet, against both targets in the guest.
# Sourced by suite.sh, which runs blktests_checks against each target.
#
#   kit        ../shared/blktests (NVMF_SHARED), copied to /tmp/blktests
#              (it writes results/ beside itself)
#   target     NVME_TARGET_CONTROL=tests/vm/blktests-hook.sh: blktests asks
#              the hook for every subsystem it wants; BT_TARGET says whether
#              the hook builds it in nvmet's configfs or over ./nvmf's RPC
#   transport  BT_TRTYPE tcp (127.0.0.1:4420) or rdma (rxe0, 10.0.2.15)
#   result     one ok / not ok / skip line per blktests test, then
#              suite.sh's stop and dmesg-clean
#
# The verdict for nvmf is differential: a test that passes against nvmet in
# this guest and fails against nvmf is "not ok"; one that fails against
# nvmet too is a skip that says so. tests/vm/blktests.list names the tests
# that cannot apply to an external target (never counted) and the ones
# nvmet itself fails on a given kernel (the control's own failures).
# BT_CONTROL=1 (make check-blktests) runs the whole group against nvmet
# first, for the full table. BT_CONTROL=0 (make check-vm, CI: a group run
# costs 10-20 minutes under TCG) asks the control only what it must: once
# nvmf's run is over, the tests nvmf failed run again against nvmet in the
# same guest (bt_control), and only those that pass there are "not ok".
# fio runs BT_TIMEOUT seconds per job (blktests' TIMEOUT; default 20): under
# TCG its default sizes take minutes per test. Even so a test takes 30-120 s
# under TCG on two shared cores (connect, udev, teardown), about 45 of the
# group run over TCP: BT_RUN_TIMEOUT (1800 s) bounds one target's run.
# BT_TESTS="nvme/041 nvme/042" runs only those tests instead of the group.

BT_LIST=tests/vm/blktests.list
BT_KIT=/tmp/blktests
export BT_TRTYPE=${BT_TRTYPE:-tcp}
export BT_RPC=/tmp/blktests-nvmf.sock BT_STATE=/tmp/blktests-hook
export BT_SIZE=${BT_SIZE:-512M}

# The shared tools beside the repository (CI clones it next to ../shared),
# else the lab machine's copy.
bt_kit_src() {
	local d
	for d in "${NVMF_SHARED:-}" "$PWD/../shared" /work/shared; do
		[ -n "$d" ] && [ -x "$d/blktests/check" ] && { echo "$d/blktests"; return 0; }
	done
	return 1
}

bt_skip() {
	bt_kit_src >/dev/null || { echo "no blktests kit (../shared/blktests; set NVMF_SHARED)"; return; }
	command -v mkfs.xfs >/dev/null || echo "no mkfs.xfs (apt-get install xfsprogs)"
}
blktests_skip_nvmet() {
	[ "${BT_CONTROL:-1}" = 0 ] &&
		{ echo "the control runs only the tests nvmf fails, after nvmf's run (BT_CONTROL=0)"; return; }
	bt_skip
}
blktests_skip_nvmf() { nvmf_built || echo "./nvmf not built"; bt_skip; }

# blktests provokes errors on purpose (a refused key, an out-of-range read,
# a reset), and checks dmesg itself after each test for what no test may
# cause; the half's dmesg-clean looks for the same, not for NVMe errors.
blktests_dmesg_bad='BUG:|WARNING:|Call Trace|KASAN|UBSAN|segfault|general protection|hung_task|blocked for more than'

# What blktests needs from the guest besides the host's tools: the kernel
# config (run.sh puts it in /run/lab), /dev/fd, and for RDMA the rxe
# device on eth0 (rxe cannot bind lo).
bt_prepare() {
	local k
	k=$(uname -r)
	[ -f "/boot/config-$k" ] || cp "/run/lab/config-$k" "/boot/config-$k" || return 1
	# Process substitution needs /dev/fd, which devtmpfs does not make.
	[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd || return 1
	rm -rf "$BT_KIT" "$BT_STATE"
	cp -a "$(bt_kit_src)" "$BT_KIT" && chmod -R u+w "$BT_KIT" || return 1
	BT_TRADDR=127.0.0.1
	if [ "$BT_TRTYPE" = rdma ]; then
		BT_TRADDR=10.0.2.15
		rdma dev show rxe0 >/dev/null 2>&1 || rdma link add rxe0 type rxe netdev eth0 || return 1
	fi
	export BT_TRADDR
}

blktests_start_nvmet() {
	export BT_TARGET=nvmet
	modprobe -a nvmet "nvmet-$BT_TRTYPE" && bt_prepare
}
blktests_stop_nvmet() { bt_leftovers; }

blktests_start_nvmf() {
	export BT_TARGET=nvmf
	bt_prepare || return 1
	# No subsystem and no listener: the hook adds them per test, by RPC.
	# nvmet sets no MDTS; nvme/029 sends single commands of 512 KiB, so
	# ask for 1 MiB (rpc.py's default is SPDK's 128 KiB).
	NVMF_WAIT_PORTS='' nvmf_start "$LOGS/nvmf-target-blktests${1:-}.log" --empty -r "$BT_RPC" -D 0 &&
		./nvmf rpc -s "$BT_RPC" nvmf_create_transport -t "$BT_TRTYPE" -i 1048576 -u 131072 >/dev/null
}
blktests_stop_nvmf() { bt_leftovers; nvmf_stop; }

# A test that stops half-way may leave a subsystem: clean it and say so.
bt_leftovers() {
	local d rc=0
	for d in "$BT_STATE"/*/; do
		[ -d "$d" ] || continue
		echo "blktests left a subsystem set up ($d)"
		[ -s "$d/loop" ] && losetup -d "$(cat "$d/loop")"
		rm -rf "$d"
		rc=1
	done
	return $rc
}

# The list: "TEST KERNELS KIND WHY", KIND "n/a" (cannot apply to an
# external target), "nvmet" (the control fails there on KERNELS) or "nvmf"
# (a known nvmf failure, an open defect: not run against nvmf, and said
# loudly in its skip line).
bt_listed() {	# bt_listed TEST KIND: prints WHY if listed for this kernel
	awk -v t="$1" -v k="$2" -v v="$KERNEL" '$1 == t && $3 == k &&
		($2 == "all" || index("," $2 ",", "," v ",")) {
		$1 = $2 = $3 = ""; sub(/^ +/, ""); print; exit }' "$BT_LIST"
}

# Run the group; the per-test status lines go to $LOGS/$TARGET-blktests.tsv.
bt_run() {
	local log=$LOGS/$TARGET-blktests.log x=() t rc
	# Tests that cannot apply are not run at all: time matters under TCG.
	for t in $(awk '$3 == "n/a" { print $1 }' "$BT_LIST"); do
		x+=(-x "$t")
	done
	# Known nvmf failures are not run against nvmf (their verdict is known,
	# and each costs minutes); nvmet still runs them.
	if [ "$TARGET" = nvmf ]; then
		for t in $(awk -v v="$KERNEL" '$3 == "nvmf" &&
			($2 == "all" || index("," $2 ",", "," v ",")) { print $1 }' "$BT_LIST"); do
			x+=(-x "$t")
		done
	fi
	echo "# blktests nvme group against $TARGET over $BT_TRTYPE (log: $log)"
	# A target that hangs a test must not eat the guest's whole time.
	# USE_RXE: blktests' RDMA tests want rxe (our rxe0), not siw.
	(hook=$PWD/$VM/blktests-hook.sh
	[ "$BT_TRTYPE" = rdma ] && export USE_RXE=1
	cd "$BT_KIT" && NVME_TARGET_CONTROL=$hook \
		TIMEOUT=${BT_TIMEOUT:-20} NVME_IMG_SIZE=$BT_SIZE SYSTEMD_IGNORE_CHROOT=1 \
		timeout -k 10 "${BT_RUN_TIMEOUT:-1800}" ./check "${x[@]}" ${BT_TESTS:-nvme}) >"$log" 2>&1
	rc=$?
	[ $rc -eq 124 ] && echo "blktests stopped after ${BT_RUN_TIMEOUT:-1800} s (BT_RUN_TIMEOUT)"
	sed -nE 's/^(nvme\/[0-9]+) .*\[(passed|failed|not run)\] *$/\1\t\2/p' "$log" \
		>"$LOGS/$TARGET-blktests.tsv"
	# blktests keeps each failure's output under results/; the next run in
	# this guest (the control on demand) would write over it.
	rm -rf "$LOGS/$TARGET-blktests-results"
	mv "$BT_KIT/results" "$LOGS/$TARGET-blktests-results" 2>/dev/null
	[ -s "$LOGS/$TARGET-blktests.tsv" ] || { tail -n 30 "$log"; return 1; }
	[ $rc -ne 124 ]
}

# The reason blktests gave for not running TEST (its indented lines).
bt_why_not_run() {
	awk -v t="$1" 'index($0, t " ") == 1 { on = 1; next }
		on && /^    / { sub(/^ +/, ""); printf "%s%s", sep, $0; sep = "; "; next }
		{ on = 0 }' "$LOGS/$TARGET-blktests.log"
}

# The verdict for one test against this target.
bt_verdict() {
	local t=$1 st=$2 name=$KERNEL/$TARGET/blktests/$1 why ctl=
	why=$(bt_listed "$t" n/a)
	if [ -n "$why" ]; then
		record skip "$name" "cannot apply to an external target: $why"
	elif [ "$TARGET" = nvmf ] && why=$(bt_listed "$t" nvmf) && [ -n "$why" ]; then
		record skip "$name" "KNOWN NVMF FAILURE, open: $why"
	elif [ "$st" = "not run" ]; then
		record skip "$name" "blktests did not run it: $(bt_why_not_run "$t")"
	elif [ "$st" = passed ]; then
		record ok "$name"
	elif why=$(bt_listed "$t" nvmet) && [ -n "$why" ]; then
		record skip "$name" "fails against nvmet (the control) on $KERNEL: $why"
	elif [ "$TARGET" = nvmf ] &&
		ctl=$(awk -v t="$t" -F'\t' '$1 == t { print $2 }' "$LOGS/nvmet-blktests.tsv" 2>/dev/null) &&
		[ "$ctl" = failed ]; then
		record skip "$name" "fails against nvmet (the control) too"
	else
		record "not ok" "$name" "${ctl:+$ctl against nvmet (the control)}"
		bt_show_failure "$t"
	fi
}

# A failure's diff (blktests keeps it as results/.../TEST.out.bad) and the
# hook's complaints, indented like suite.sh's logs.
bt_show_failure() {
	local bad
	bad=$(find "$LOGS/$TARGET-blktests-results" -path "*/$1.out.bad" 2>/dev/null | head -n 1)
	[ -n "$bad" ] && diff "$BT_KIT/tests/$1.out" "$bad" | head -n 20 | sed 's/^/    /'
	cp "$bad" "$LOGS/$TARGET-blktests-${1//\//-}.out.bad" 2>/dev/null
}

# The tests nvmf failed that no list line explains: the ones the control
# must be asked about.
bt_unexplained() {
	local t st
	while IFS=$'\t' read -r t st; do
		[ "$st" = failed ] && [ -z "$(bt_listed "$t" n/a)$(bt_listed "$t" nvmet)" ] && echo "$t"
	done <"$LOGS/nvmf-blktests.tsv"
}

# The control on demand (BT_CONTROL=0): nvmf steps aside (nvmet wants the
# same port), nvmet runs just the tests nvmf failed, and nvmf comes back
# so that its half ends as every half does, with a clean stop.
bt_control() {
	local fails
	[ "${BT_CONTROL:-1}" = 0 ] && [ -s "$LOGS/nvmf-blktests.tsv" ] || return 0
	fails=$(bt_unexplained | tr '\n' ' ')
	[ -n "$fails" ] || return 0
	echo "# nvmf failed $fails- asking nvmet (the control) the same"
	nvmf_stop || return 1
	modprobe -a nvmet "nvmet-$BT_TRTYPE" || return 1
	(export BT_TARGET=nvmet TARGET=nvmet BT_TESTS="$fails"
	 bt_run; bt_leftovers)
	cat "$LOGS/nvmet-blktests.tsv"
	blktests_start_nvmf -after-control
}

blktests_checks() {
	local t st
	check run bt_run
	[ -s "$LOGS/$TARGET-blktests.tsv" ] || return
	[ "$TARGET" = nvmf ] && check control bt_control
	while IFS=$'\t' read -r t st; do
		bt_verdict "$t" "$st"
	done <"$LOGS/$TARGET-blktests.tsv"
	[ "$TARGET" = nvmf ] || return
	for t in $(awk -v v="$KERNEL" '$3 == "nvmf" &&
		($2 == "all" || index("," $2 ",", "," v ",")) { print $1 }' "$BT_LIST"); do
		record skip "$KERNEL/$TARGET/blktests/$t" "KNOWN NVMF FAILURE, open: $(bt_listed "$t" nvmf)"
	done
}
