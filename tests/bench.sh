#!/usr/bin/env bash
# tests/bench.sh - `make bench`: nvmf next to SPDK's nvmf_tgt, the same
# initiator for both. Prints tables; asserts nothing (speed is measured,
# never tested).
#
#   target on core 0, one at a time      SPDK's perf on core 1
#   ./nvmf target -m 0x1  ............   perf -c 0x2 -r 'trtype:TCP ...'
#   nvmf_tgt -m 0x1 (rpc.py setup)       over NVMe/TCP on loopback
#   each with a 256 MiB RAM namespace of 512-byte blocks
#
# A round starts one target, runs every workload against it, measures its
# idle CPU, stops it, and does the same with the other; rounds alternate
# which target goes first, so a noisy neighbour hurts both alike. The
# table shows the median over the rounds and the ratio nvmf/SPDK (for
# latency SPDK/nvmf, so above 1 always means nvmf is better).
#
# The memory row: resident memory of each target idle, at its peak while
# perf opens 64 I/O queues (-P 64, each as deep as the target allows) and
# keeps 128 commands of 128 KiB randrw in flight across them (perf's -q
# counts per namespace, not per queue), and 3 s after perf disconnects
# (nvmf gives buffers back once idle for 1 s, 4 MiB per 100 ms tick).
# SPDK's figure adds its hugepages. Each target is started afresh for it
# with a null namespace, so the row shows what the target itself costs,
# not the 256 MiB a RAM namespace holds once the writes have touched it.
#
#   BENCH_ROUNDS  rounds (default 3; medians)     BENCH_TIME  s per run (3)
#   BENCH_NVMF_PERF=1  also run each workload with `nvmf perf` as initiator
#   BENCH_ONLY=ERE     only the rows it matches as a word (QD1, randread, memory)
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
rounds=${BENCH_ROUNDS:-3} t=${BENCH_TIME:-3}
out=tests/out/bench
mkdir -p "$out"
rm -f "$out"/*.res
if ! spdk_kit; then
	echo "bench: SPDK's kit (../shared/spdk) is missing; nothing to compare with" >&2
	exit 1
fi
nqn=nqn.2026-11.io.nvmf:bench
tgt=""
trap '[ -n "$tgt" ] && kill $tgt 2>/dev/null; wait 2>/dev/null' EXIT
trap 'exit 130' INT TERM

# name  QD  size  workload  (perf's -q -o -w)
workloads='4K-randread-QD128 128 4096 randread
4K-randwrite-QD128 128 4096 randwrite
128K-read-QD32 32 131072 read
4K-randread-QD1 1 4096 randread'
only=${BENCH_ONLY:-.*}
workloads=$(while read -r name rest; do
	grep -qwE -- "$only" <<<"$name" && echo "$name $rest"
done <<<"$workloads")

# ==== the two targets ===================================================

# Start ./nvmf with the namespace (ram, or null with NS=null) on a fresh
# port; sets tgt and port.
start_nvmf() {
	port=$(free_port)
	./nvmf target -m 0x1 -l 127.0.0.1:$port -D 0 -r "$out/nvmf.sock" -s $nqn \
		--ns "${NS:-ram}:256M:512" >"$out/nvmf.log" 2>&1 &
	tgt=$!
	wait_target "$out/nvmf.log" $tgt
}

# Start SPDK's nvmf_tgt and configure the same subsystem with its own
# rpc.py, the way its documentation does (a malloc bdev, or a null one
# with NS=null); sets tgt and port.
start_spdk() {
	local R="$SPDK rpc.py -s $out/spdk.sock"
	port=$(free_port)
	spdk_tgt_start "$out/spdk.sock" "$out/spdk.log" 4096 512
	local rc=$?
	tgt=$spdk_pid
	[ $rc = 0 ] || return 1
	{ $R nvmf_create_transport -t TCP &&
	  if [ "${NS:-ram}" = null ]; then $R bdev_null_create Ns0 256 512
	  else $R bdev_malloc_create -b Ns0 256 512; fi &&
	  $R nvmf_create_subsystem $nqn -a -s SPDK00000000000001 &&
	  $R nvmf_subsystem_add_ns $nqn Ns0 &&
	  $R nvmf_subsystem_add_listener $nqn -t tcp -a 127.0.0.1 -s "$port"; } >>"$out/spdk.log" 2>&1
}

stop_target() {
	kill "$tgt" 2>/dev/null
	wait "$tgt" 2>/dev/null
	tgt=""
}

# ==== measuring =========================================================

# CPU time (user + system, in clock ticks) a process has used.
cpu_ticks() {
	awk '{print $14 + $15}' "/proc/$1/stat"
}

# Resident memory of a process in KiB, hugepages included.
rss_kib() {
	awk '/^(VmRSS|HugetlbPages):/ {s += $2} END {print s + 0}' "/proc/$1/status"
}

# Percent of one core the target uses over 2 s with no host connected.
idle_cpu() {
	local a b hz
	hz=$(getconf CLK_TCK)
	a=$(cpu_ticks "$tgt"); sleep 2; b=$(cpu_ticks "$tgt")
	echo $(((b - a) * 100 / (2 * hz)))
}

# run_perf TAG NAME QD SIZE WORKLOAD: one SPDK perf run, its Total line
# saved as "IOPS MiB/s avg_us max_us" in $out/TAG.NAME.res (one line per
# round). A failed run leaves a line of dashes and its output in the log.
run_perf() {
	local tag=$1 name=$2 q=$3 o=$4 w=$5 res line
	local trid="trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$port subnqn:$nqn"
	res=$(timeout -k 5 $((t + 30)) "$SPDK" perf -q "$q" -o "$o" -w "$w" -t "$t" -c 0x2 -r "$trid" 2>&1)
	line=$(grep -E '^Total' <<<"$res" | tail -n 1)
	if [ -z "$line" ]; then
		echo "$tag $name failed:" >>"$out/failed.log"; echo "$res" >>"$out/failed.log"
		echo "- - - -" >>"$out/$tag.$name.res"
		return
	fi
	awk -F: '{split($2, f, " "); print f[1], f[2], f[3], f[5]}' <<<"$line" >>"$out/$tag.$name.res"
	if [ "${BENCH_NVMF_PERF:-0}" = 1 ]; then
		line=$(./nvmf perf -c 0x2 -q "$q" -o "$o" -w "$w" -t "$t" -r "$trid" 2>&1 | grep -E '^TCP' | tail -n 1)
		awk -F: '{split($NF, f, " "); print f[1], f[2], f[3], f[5]}' <<<"${line:-x: - - - - -}" \
			>>"$out/$tag-nvmfperf.$name.res"
	fi
}

# The memory row: RSS idle, the peak while 64 I/O queues carry 128 KiB
# randrw, and 3 s after the host has gone. Appends "idle peak after" in MiB.
mem_row() {
	local tag=$1 idle peak=0 r p
	local trid="trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$port subnqn:$nqn"
	idle=$(rss_kib "$tgt")
	timeout -k 5 $((t + 30)) "$SPDK" perf -P 64 -q 128 -o 131072 -w randrw -M 50 -t "$t" -c 0x2 \
		-r "$trid" >>"$out/$tag.mem.log" 2>&1 &
	p=$!
	while kill -0 $p 2>/dev/null; do
		r=$(rss_kib "$tgt"); [ "$r" -gt "$peak" ] && peak=$r
		sleep 0.2
	done
	wait $p
	sleep 3
	echo "$((idle / 1024)) $((peak / 1024)) $(($(rss_kib "$tgt") / 1024))" >>"$out/$tag.mem.res"
}

# One target through every workload, then its idle CPU and memory.
bench_target() {
	local tag=$1 name q o w
	if ! "start_$tag"; then
		echo "bench: $tag did not start; see $out/$tag.log" >&2
		stop_target
		return
	fi
	# Write the namespace once, sequentially, before any row: nvmf's RAM
	# namespace takes memory from the kernel a page at a time, on first
	# touch, and SPDK's malloc bdev is allocated whole at creation, so a
	# first row would otherwise time nvmf's page faults.
	timeout -k 5 30 "$SPDK" perf -q 32 -o 131072 -w write -t 2 -c 0x2 \
		-r "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$port subnqn:$nqn" >>"$out/$tag.log" 2>&1
	while read -r name q o w; do
		[ -n "$name" ] || continue
		run_perf "$tag" "$name" "$q" "$o" "$w"
	done <<<"$workloads"
	idle_cpu >>"$out/$tag.idle.res"
	stop_target
	grep -qwE -- "$only" <<<memory || return
	if NS=null "start_$tag"; then
		mem_row "$tag"
	else
		echo "bench: $tag did not start with a null namespace; see $out/$tag.log" >&2
	fi
	stop_target
}

# ==== the table =========================================================

# median FILE COLUMN: the median of one column over the rounds ("-" when
# every round failed).
median() {
	awk -v c="$2" '$c != "-" {print $c}' "$1" 2>/dev/null | sort -g |
		awk '{v[NR] = $1} END {if (!NR) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
			else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# ratio A B: A/B with two decimals, or "-" when either is missing.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || b + 0 == 0) print "-";
		else printf "%.2fx\n", a / b}'
}

row() {	# row LABEL NVMF SPDK RATIO
	printf '%-30s %12s %12s %8s\n' "$@"
}

table() {
	local name q o w col unit n s
	echo
	echo "nvmf vs SPDK nvmf_tgt v23.05, target on core 0, SPDK perf on core 1,"
	echo "NVMe/TCP loopback, 256 MiB RAM namespace, medians of $rounds rounds of ${t}s"
	row workload nvmf nvmf_tgt ratio
	while read -r name q o w; do
		[ -n "$name" ] || continue
		col=1 unit="K IOPS"
		[ "$o" -ge 131072 ] && col=2 unit="MiB/s"
		n=$(median "$out/nvmf.$name.res" $col) s=$(median "$out/spdk.$name.res" $col)
		if [ "$col" = 1 ]; then
			n=$(awk -v v="$n" 'BEGIN {print v == "-" ? v : sprintf("%.0f", v / 1000)}')
			s=$(awk -v v="$s" 'BEGIN {print v == "-" ? v : sprintf("%.0f", v / 1000)}')
		fi
		[ "$q" != 1 ] && row "$name ($unit)" "$n" "$s" "$(ratio "$n" "$s")"
		if [ "$q" = 1 ]; then
			n=$(median "$out/nvmf.$name.res" 3) s=$(median "$out/spdk.$name.res" 3)
			row "$name average (us)" "$n" "$s" "$(ratio "$s" "$n")"
		fi
		n=$(median "$out/nvmf.$name.res" 4) s=$(median "$out/spdk.$name.res" 4)
		row "  max latency (us)" "$n" "$s" "$(ratio "$s" "$n")"
	done <<<"$workloads"
	row "idle CPU (% of a core)" "$(median "$out/nvmf.idle.res" 1)" "$(median "$out/spdk.idle.res" 1)" ""
	if [ -s "$out/nvmf.mem.res" ] || [ -s "$out/spdk.mem.res" ]; then
		echo
		echo "memory (MiB resident; SPDK's includes its hugepages), 64 I/O queues, QD128 128K randrw,"
		echo "on a fresh target whose namespace is null (the target's own memory, not the data it holds):"
		row "" "idle" "64 queues" "after"
		for tag in nvmf spdk; do
			row "$tag" "$(median "$out/$tag.mem.res" 1)" "$(median "$out/$tag.mem.res" 2)" \
				"$(median "$out/$tag.mem.res" 3)"
		done
	fi
	if [ "${BENCH_NVMF_PERF:-0}" = 1 ]; then
		echo
		echo "nvmf perf as the initiator (IOPS, median):"
		while read -r name q o w; do
			row "$name" "$(median "$out/nvmf-nvmfperf.$name.res" 1)" \
				"$(median "$out/spdk-nvmfperf.$name.res" 1)" ""
		done <<<"$workloads"
	fi
	[ -s "$out/failed.log" ] && echo "some runs failed: see $out/failed.log"
	return 0
}

: >"$out/failed.log"
# SPDK's target takes about 500 MiB of hugepages here (the namespace, its
# buffer pools of 4096 x 8 KiB and 512 x 132 KiB, DPDK's own), perf some
# more. Other SPDK programs on the machine may hold the rest of the kit's
# 1 GiB: add what is missing rather than fail half way.
free_pages=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
if [ "${free_pages:-0}" -lt 400 ] && [ -w /proc/sys/vm/nr_hugepages ]; then
	echo "bench: $free_pages free hugepages; adding $((400 - free_pages))" >&2
	echo $(($(cat /proc/sys/vm/nr_hugepages) + 400 - free_pages)) >/proc/sys/vm/nr_hugepages
fi
for r in $(seq "$rounds"); do
	echo "round $r of $rounds ..." >&2
	if [ $((r % 2)) = 1 ]; then
		bench_target nvmf; bench_target spdk
	else
		bench_target spdk; bench_target nvmf
	fi
done
table
