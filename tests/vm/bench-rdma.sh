#!/bin/bash
# tests/vm/bench-rdma.sh: nvmf against nvmet-rdma over SoftRoCE, in the guest:
#
#   tests/vm/run.sh 6.12 tests/vm/bench-rdma.sh       (ROUNDS=3 SECS=5)
#
# Same initiator for both (the kernel's nvme-rdma host, fio with libaio on
# the namespace), same guest, alternating targets round by round so that
# the noise of an emulated machine falls on both alike:
#   4 KiB random reads at QD32 (IOPS) and at QD1 (average latency).
# Prints one line per run and the medians. It judges nothing: under TCG
# the numbers are slow; the ratio between the two targets is the point.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/vm/targets.sh
ROUNDS=${ROUNDS:-3} SECS=${SECS:-5}
ADDR=10.0.2.15 LOGS=/run/lab/bench && mkdir -p "$LOGS"
rdma dev show rxe0 >/dev/null 2>&1 || rdma link add rxe0 type rxe netdev eth0 || exit 1
modprobe nvme-rdma

# One fio run on the connected namespace: prints "IOPS AVG_USEC".
bench_fio() {
	local dev=$1 qd=$2 out
	out=$(fio --name=b --filename="/dev/$dev" --ioengine=libaio --direct=1 --rw=randread \
		--bs=4k --iodepth="$qd" --time_based --runtime="$SECS" --size=64M \
		--output-format=terse --terse-version=3) || return 1
	# terse v3: field 8 read IOPS, field 40 read total latency mean (usec)
	echo "$out" | awk -F';' '{ printf "%d %.0f\n", $8, $40 }'
}

bench_one() {	# bench_one TARGET: start, connect, QD32, QD1, disconnect, stop
	local t=$1 dev i r32 r1
	if [ "$t" = nvmet ]; then
		nvmet_start rdma "$ADDR" >/dev/null || return 1
	else
		NVMF_WAIT_PORTS="" nvmf_start "$LOGS/nvmf.log" -l "rdma:$ADDR:4420" -D 0 -s "$NQN" \
			--ns ram:64M >/dev/null || return 1
	fi
	nvme connect -t rdma -a "$ADDR" -s 4420 -n "$NQN" >/dev/null || return 1
	for i in $(seq 100); do	# the namespace of $NQN (native multipath: under the subsystem)
		dev=
		for s in /sys/class/nvme-subsystem/*; do
			[ "$(cat "$s/subsysnqn" 2>/dev/null)" = "$NQN" ] &&
				dev=$(ls "$s" | grep -m1 -E '^nvme[0-9]+n[0-9]+$')
		done
		[ -n "$dev" ] && [ -b "/dev/$dev" ] && break
		sleep 0.1
	done
	r32=$(bench_fio "$dev" 32) r1=$(bench_fio "$dev" 1)
	nvme disconnect -n "$NQN" >/dev/null
	if [ "$t" = nvmet ]; then nvmet_stop; else nvmf_stop >/dev/null; fi
	echo "$t $r32 $r1"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$LOGS/runs"
for r in $(seq "$ROUNDS"); do
	for t in nvmet nvmf; do
		line=$(bench_one $t) || { echo "round $r $t: failed"; continue; }
		echo "$line" >>"$LOGS/runs"
		read -r _ i32 l32 i1 l1 <<<"$line"
		printf 'round %d %-6s QD32 %6s IOPS (avg %6s us)   QD1 %5s IOPS, avg %6s us\n' \
			"$r" "$t" "$i32" "$l32" "$i1" "$l1"
	done
done
echo "median over $ROUNDS rounds, 4 KiB randread, fio + kernel nvme-rdma host, rxe:"
for t in nvmet nvmf; do
	printf '  %-6s QD32 %6s IOPS   QD1 avg latency %6s us\n' "$t" \
		"$(awk -v t=$t '$1 == t { print $2 }' "$LOGS/runs" | median)" \
		"$(awk -v t=$t '$1 == t { print $5 }' "$LOGS/runs" | median)"
done
