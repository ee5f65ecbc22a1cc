#!/bin/bash
# tests/vm/mem-rdma.sh: what nvmf's NVMe/RDMA queues cost in memory, in the
# guest, with the kernel's nvme-rdma host over SoftRoCE:
#
#   tests/vm/run.sh 6.12 tests/vm/mem-rdma.sh [NVMF_BINARY [COUNT...]]
#
# (./nvmf and counts 1 4 by default; give an older build to compare.)
# For each COUNT: start nvmf, connect that many controllers (each on its
# own port, as nvme-cli will not connect twice to one, and with its own
# host NQN) with 2 read/write, 2 write and 2 poll I/O queues (the
# kernel caps each kind at the guest's CPUs), run fio 128 KiB randrw at
# QD128 over all of them, print the target's VmPin (what its memory
# registrations pin) and VmRSS idle, connected and after the hosts left,
# and fio's IOPS for that run and for 4 KiB random reads at QD128.
# It judges nothing; tests/vm/test-rdma.sh has the checks.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/vm/targets.sh
NVMF=${1:-./nvmf}
shift
CTRLS=${*:-1 4}
ADDR=10.0.2.15 LOGS=/run/lab/mem && mkdir -p "$LOGS"
rdma dev show rxe0 >/dev/null 2>&1 || rdma link add rxe0 type rxe netdev eth0 || exit 1
modprobe nvme-rdma
ulimit -l unlimited

mem() { awk '/^(VmPin|VmRSS):/ { printf "%s %6d KiB  ", $1, $2 }' "/proc/$NVMF_PID/status"; }

# The namespace's block device (native multipath: one head for every path).
ns_dev() {
	local s
	for s in /sys/class/nvme-subsystem/*; do
		[ "$(cat "$s/subsysnqn" 2>/dev/null)" = "$NQN" ] || continue
		echo round-robin >"$s/iopolicy" 2>/dev/null
		ls "$s" | grep -m1 -E '^nvme[0-9]+n[0-9]+$'
	done
}

# fio_iops WHAT FILE: fio's IOPS and bandwidth lines from FILE, on one line.
fio_iops() {
	echo "$n controllers  $1: $(grep -E '^ +(read|write): IOPS=' "$2" |
		sed -E 's/^ +//; s/ \(.*//' | tr '\n' ' ')"
}

mem_one() {	# mem_one N: N controllers, 6 I/O queues each
	local n=$1 i dev id
	echo "+ $NVMF target"
	"$NVMF" target $(for i in $(seq "$n"); do echo "-l rdma:$ADDR:$((4419 + i))"; done) -D 0 -s "$NQN" --ns ram:64M -r /tmp/nvmf-mem.sock \
		>"$LOGS/nvmf-$n.log" 2>&1 &
	NVMF_PID=$!
	sleep 2
	echo "$n controllers  idle:       $(mem)"
	for i in $(seq "$n"); do	# a host ID per host NQN, or the kernel refuses
		id=$(cat /proc/sys/kernel/random/uuid)
		nvme connect -t rdma -a "$ADDR" -s $((4419 + i)) -n "$NQN" -i 2 -W 2 -P 2 \
			--hostnqn "nqn.2014-08.org.nvmexpress:uuid:$id" --hostid "$id" \
			>/dev/null || echo "connect $i failed"
	done
	local c q=0 r=0		# queue_count counts the admin queue too
	for c in /sys/class/nvme/nvme*; do
		[ "$(cat "$c/transport" 2>/dev/null)" = rdma ] || continue
		r=$((r + 1)) q=$((q + $(cat "$c/queue_count") - 1))
	done
	echo "$r controllers, $q I/O queues"
	sleep 1
	echo "$n controllers  connected:  $(mem)"
	dev=$(ns_dev)
	fio --name=m --filename="/dev/$dev" --ioengine=libaio --direct=1 --rw=randrw --bs=128k \
		--iodepth=128 --numjobs=2 --group_reporting --time_based --runtime=8 --size=64M \
		>"$LOGS/fio-$n.txt" 2>&1 &
	sleep 6
	echo "$n controllers  under fio:  $(mem)"
	wait $! || echo "fio failed"
	fio_iops "128k randrw qd128 x2" "$LOGS/fio-$n.txt"
	fio --name=r --filename="/dev/$dev" --ioengine=libaio --direct=1 --rw=randread --bs=4k \
		--iodepth=128 --time_based --runtime=4 --size=64M >"$LOGS/fio4k-$n.txt" 2>&1 ||
		echo "fio failed"
	fio_iops "4k randread qd128" "$LOGS/fio4k-$n.txt"
	nvme disconnect -n "$NQN" >/dev/null
	sleep 2
	echo "$n controllers  left:       $(mem)"
	kill -TERM "$NVMF_PID"
	wait "$NVMF_PID"
}

for n in $CTRLS; do
	mem_one "$n"
done
