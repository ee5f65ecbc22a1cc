#!/bin/bash
# tests/vm/init.sh: /init of the lab initramfs (stage 1), PID 1 in the guest.
#
#   initramfs (this file, bash, kmod, mount)          host / over virtio-9p
#   ----------------------------------------          ---------------------
#   mount proc, sys, devtmpfs                         tag "hostroot", read-only
#   modprobe -a $(cat /etc/lab-modules)
#   /newroot = overlay(lower: hostroot, upper: tmpfs) <- guest writes stay in RAM
#   /newroot/{proc,sys,dev,dev/pts,dev/shm,tmp,run,sys/kernel/config}
#   /newroot/run/lab  = 9p tag "labout" (writable: job, results, rc)
#   /newroot/lib/modules/<kver> = bind of our modules (modprobe works in chroot)
#   /newroot$repo = bind of /host$repo if the tmpfs mounts above hid it
#   chroot /newroot bash $repo/tests/vm/guest.sh  -> stage 2, the host's tools
#   poweroff (sysrq o) when stage 2 returns
#
# Why bash and not busybox sh: busybox runs its own applets (ip, nc, modprobe)
# even when the real ones are in PATH, and the tests want the real ones.
# The kernel command line carries nvmf.repo=<path of the work tree>.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

fail() {
	echo "lab init: $*" >&2
	echo "lab init: giving up; powering off" >&2
	echo o >/proc/sysrq-trigger
	sleep 10
}

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo 1 >/proc/sys/kernel/sysrq

repo=
for arg in $(cat /proc/cmdline); do
	case $arg in
	nvmf.repo=*) repo=${arg#nvmf.repo=} ;;
	esac
done

# All modules the lab needs, dependencies resolved by modprobe. Loading them
# now, not on demand, gives one clear error here rather than a puzzle later.
modprobe -a $(cat /etc/lab-modules) || echo "lab init: some modules failed to load" >&2

mkdir -p /host /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000 hostroot /host ||
	fail "cannot mount the host root (9p tag hostroot)"
mount -t tmpfs -o mode=0755 rw /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
	fail "cannot mount the overlay on the host root"

n=/newroot
mount -t proc proc $n/proc
mount -t sysfs sys $n/sys
mount -t configfs configfs $n/sys/kernel/config
mount -t devtmpfs dev $n/dev
mkdir -p $n/dev/pts $n/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts $n/dev/pts
mount -t tmpfs -o mode=1777 shm $n/dev/shm
mount -t tmpfs -o mode=1777 tmp $n/tmp
mount -t tmpfs -o mode=0755 run $n/run
mkdir -p $n/run/lab
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 labout $n/run/lab ||
	echo "lab init: no writable share (9p tag labout)" >&2

# A work tree under a path the guest mounts afresh (a CI clone in /tmp) is
# bound back from the host, read-only.
case $repo in
/tmp/* | /run/* | /dev/shm/*)
	mkdir -p "$n$repo"
	mount --bind "/host$repo" "$n$repo" ;;
esac

kver=$(uname -r)
mkdir -p $n/lib/modules/$kver
mount --bind /lib/modules/$kver $n/lib/modules/$kver

# nvme-cli reads /etc/nvme/hostnqn and hostid; make them if the host has none.
if [ ! -s $n/etc/nvme/hostnqn ]; then
	mkdir -p $n/etc/nvme
	uuid=$(cat /proc/sys/kernel/random/uuid)
	echo "nqn.2014-08.org.nvmexpress:uuid:$uuid" >$n/etc/nvme/hostnqn
	echo "$uuid" >$n/etc/nvme/hostid
fi

if [ -z "$repo" ] || [ ! -f "$n$repo/tests/vm/guest.sh" ]; then
	fail "no tests/vm/guest.sh under nvmf.repo='$repo'"
fi
chroot $n /bin/bash "$repo/tests/vm/guest.sh"
echo "lab init: stage 2 returned $?, powering off"
sync
umount $n/run/lab 2>/dev/null
echo o >/proc/sysrq-trigger
sleep 30
