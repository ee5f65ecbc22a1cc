#!/bin/bash
# tests/vm/file-durability.sh: the file backend (bdev.c) under the Linux
# kernel host, run INSIDE a lab guest:
#     tests/vm/run.sh 6.12 tests/vm/file-durability.sh     (or 6.1)
#
#   ./nvmf --ns file:IMG  <-- nvme connect (nvme-tcp, 127.0.0.1:4420)
#     id-ctrl: VWC present (a file has a cache to flush)
#     fio randrw 16 MiB, crc32c verify, direct I/O
#     dd 4 MiB pattern, nvme flush, kill -9 the target
#     restart on the same file, reconnect: the pattern is there
#     restart with file:IMG:ro: reads work, a write fails
#
# The guest's /tmp is tmpfs: 6.12's tmpfs takes O_DIRECT, 6.1's does not,
# so the two kernels run the two open paths of bdev_file_create.
# Output: ok / not ok lines and "file-durability: N passed, M failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
NQN=nqn.2026-11.io.nvmf:filetest
d=$(mktemp -d)
IMG=$d/disk
pass=0 fail=0 pid=''
DETAIL="$d/detail"
. tests/lib.sh
start() {	# start SPEC: ./nvmf with one namespace, wait for 4420
	./nvmf -l 127.0.0.1:4420 -D 0 -s $NQN --ns "$1" >>"$d/nvmf.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		ss -ltnH 'sport = :4420' | grep -q . && return 0
		sleep 0.1
	done
	return 1
}
dev() {		# /dev/nvmeXn1 of our subsystem, waiting up to 15 s; with native
		# multipath the disk hangs off the subsystem, else off the controller
	local c n
	for _ in $(seq 150); do
		for c in /sys/class/nvme/nvme*; do
			[ "$(cat "$c/subsysnqn" 2>/dev/null)" = $NQN ] || continue
			[ "$(cat "$c/state" 2>/dev/null)" = live ] || continue
			n=$( (ls "$c"; for s in /sys/class/nvme-subsystem/*; do
				[ -e "$s/${c##*/}" ] && ls "$s"; done) 2>/dev/null |
				grep -E '^nvme[0-9]+n1$' | head -n 1)
			[ -n "$n" ] && [ -b "/dev/$n" ] && echo "/dev/$n" && return 0
		done
		sleep 0.1
	done
	return 1
}
same() {	# same FILE-OR-DEV [dd options]: 4 MiB at 8 MiB equal the pattern
	local src=$1; shift
	dd if="$src" of="$d/read" bs=1M skip=8 count=4 status=none "$@" && cmp "$d/read" "$d/pattern"
}
cleanup() {
	nvme disconnect -n $NQN >/dev/null 2>&1
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$d"
}
trap cleanup EXIT
modprobe nvme-tcp
truncate -s 64M "$IMG"
dd if=/dev/urandom of="$d/pattern" bs=1M count=4 status=none

check "target starts on a file namespace" start "file:$IMG"
check "nvme connect" nvme connect -t tcp -a 127.0.0.1 -s 4420 -n $NQN
DEV=$(dev)
check "a namespace block device appears ($DEV)" test -b "$DEV"
check "id-ctrl: volatile write cache present" bash -c "nvme id-ctrl $DEV | grep -E '^vwc +: 0x[1357]'"
check "fio randrw 16 MiB with crc32c verify" fio --name=v --filename="$DEV" --direct=1 --rw=randrw \
	--bs=4k-64k --size=16M --iodepth=16 --ioengine=libaio --verify=crc32c --do_verify=1 \
	--verify_fatal=1 --output=/dev/null
check "write a 4 MiB pattern at 8 MiB" dd if="$d/pattern" of="$DEV" bs=1M seek=8 oflag=direct status=none
check "nvme flush" nvme flush "$DEV"
check "kill -9 the target" kill -9 "$pid"
wait "$pid" 2>/dev/null
nvme disconnect -n $NQN >>"$d/detail" 2>&1
check "restart on the same file" start "file:$IMG"
check "reconnect" nvme connect -t tcp -a 127.0.0.1 -s 4420 -n $NQN
DEV=$(dev)
check "after kill -9 and restart the flushed pattern is there" \
	same "$DEV" iflag=direct
nvme disconnect -n $NQN >>"$d/detail" 2>&1
kill "$pid"; wait "$pid" 2>/dev/null
check "restart read-only (file:IMG:ro)" start "file:$IMG:ro"
check "connect to the read-only namespace" nvme connect -t tcp -a 127.0.0.1 -s 4420 -n $NQN
DEV=$(dev)
check "reads work" same "$DEV" iflag=direct
check "a write fails (Namespace is Write Protected)" \
	bash -c "! dd if=/dev/zero of=$DEV bs=4k count=1 oflag=direct status=none"
check "the file is unchanged" same "$IMG"
check "the target is still up" kill -0 "$pid"
echo "file-durability: $pass passed, $fail failed"
[ "$fail" = 0 ]
