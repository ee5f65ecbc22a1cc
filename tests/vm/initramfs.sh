#!/bin/bash
# tests/vm/initramfs.sh LABEL: build the lab initramfs for one kernel.
#
#   $LAB_CACHE/<label>/initrd.img = base.cpio + pad to 4 + modules.cpio
#
#   base.cpio      /init (init.sh), bash, kmod (modprobe), mount, chroot, ...
#                  and the host's shared libraries they need (from ldd)
#   modules.cpio   lib/modules/<kver>: the MODULES below and their
#                  dependencies (modprobe -d ROOT -S KVER --show-depends),
#                  all crypto and lib modules (loaded by name at run time,
#                  e.g. rdma_rxe asks for "crc32", nvme-tcp for "crc32c"),
#                  modules.* re-made by depmod for just this set
#                  /etc/lab-modules: the names init.sh loads at boot
#
# The kernel reads concatenated cpio archives, but each must start on a
# 4-byte boundary or the rest is silently ignored: we pad between them.
# Uncompressed, because under TCG unpacking gzip costs more than the copy.
# Rebuilt only when this file, init.sh, the kernel or the host's bash/kmod
# change (a stamp holds their checksums). Prints the initrd path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

MODULES="virtio_net virtio_pci virtio_rng 9p 9pnet_virtio overlay configfs
	nvme nvme-tcp nvme-rdma nvme-fabrics nvmet nvmet-tcp nvmet-rdma
	rdma_rxe ib_uverbs rdma_ucm ib_umad vfio-pci vfio_iommu_type1
	null_blk loop tls xfs
	crc32c crc32c_generic crc32c-intel crc32 crc32_generic crc32-pclmul"

# (xfs: blktests' nvme/012 makes a filesystem on the namespace.)
# Directories copied whole: modules requested by name at run time.
MODULE_DIRS="kernel/crypto kernel/arch/x86/crypto kernel/lib"

BINS="bash kmod mount umount mkdir chroot cat ln sleep sync uname"

label=${1:?usage: initramfs.sh LABEL}
kdir=$(lab_kernel_dir "$label")
kver=$(lab_kver "$kdir")
out=$kdir/initrd.img

stamp=$( (cat "$0" "$LAB_DIR/init.sh" "$kdir/.pkg"
	for b in $BINS; do sha256sum "$(command -v "$b")"; done) | sha256sum)
if [ -f "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then
	printf '%s\n' "$out"
	exit 0
fi
for b in $BINS cpio depmod; do
	command -v "$b" >/dev/null || lab_die "missing host tool '$b' (apt-get install kmod cpio)"
done
lab_log "building initramfs for $kver"

work=$(mktemp -d "$LAB_CACHE/initrd.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ---- base: init and the tools stage 1 runs, with their libraries ----------
base=$work/base
mkdir -p "$base"/{proc,sys,dev,etc,usr/bin,usr/sbin,usr/lib,usr/lib64}
# Keep the host's merged-/usr layout so ldd's paths land in place.
for d in bin sbin lib lib64; do
	ln -s "usr/$d" "$base/$d"
done

copy_file() {	# copy a host file to the same path in the base tree
	local dst=$base$1
	[ -e "$dst" ] && return
	mkdir -p "$(dirname "$dst")"
	cp -L "$1" "$dst"
}
for b in $BINS; do
	p=$(readlink -f "$(command -v "$b")")
	copy_file "$p"
	[ "$(command -v "$b")" = "$p" ] || ln -sf "$p" "$base/usr/bin/$b" 2>/dev/null || true
	for lib in $(ldd "$p" | awk '/=>/ { print $3 } /^\t\// { print $1 }'); do
		copy_file "$lib"
	done
done
for t in modprobe insmod rmmod lsmod depmod modinfo; do
	ln -sf ../bin/kmod "$base/usr/sbin/$t"
done
install -m 0755 "$LAB_DIR/init.sh" "$base/init"

# ---- modules ---------------------------------------------------------------
mods=$work/mods
src=$kdir/lib/modules/$kver
dst=$mods/usr/lib/modules/$kver
mkdir -p "$dst" "$mods/etc"
avail=
for m in $MODULES; do
	# Names built into this kernel (virtio_pci on 6.12) need no file.
	if modprobe -d "$kdir" -S "$kver" --show-depends "$m" >/dev/null 2>&1; then
		avail="$avail $m"
	else
		lab_log "note: module $m not in $kver, skipped"
	fi
done
modprobe -d "$kdir" -S "$kver" -a --show-depends $avail |
	awk '$1 == "insmod" { print $2 }' | sort -u >"$work/files"
(cd "$src" && for d in $MODULE_DIRS; do
	[ -d "$d" ] && find "$d" -name '*.ko*'
done) | sed "s|^|$src/|" >>"$work/files"
sort -u "$work/files" | while read -r f; do
	rel=${f#"$kdir"/lib/modules/"$kver"/}
	mkdir -p "$dst/$(dirname "$rel")"
	cp "$f" "$dst/$rel"
done
cp "$src"/modules.order "$src"/modules.builtin* "$dst/"
depmod -b "$mods/usr" "$kver" 2>/dev/null || depmod -b "$mods" "$kver"
echo $avail >"$mods/etc/lab-modules"

# ---- pack ------------------------------------------------------------------
pack() { (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet); }
pack "$base" >"$work/initrd"
size=$(stat -c %s "$work/initrd")
pad=$(( (4 - size % 4) % 4 ))
head -c "$pad" /dev/zero >>"$work/initrd"
pack "$mods" >>"$work/initrd"
mv "$work/initrd" "$out"
printf '%s\n' "$stamp" >"$out.stamp"
lab_log "initramfs: $out ($(du -h "$out" | cut -f1))"
printf '%s\n' "$out"
