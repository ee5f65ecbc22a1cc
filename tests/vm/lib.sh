# tests/vm/lib.sh: shared settings for the lab scripts, sourced, never run.
#
#   kernel.sh ----> $LAB_CACHE/<label>/        dpkg -x of one Debian kernel
#   initramfs.sh -> $LAB_CACHE/<label>/initrd.img
#   run.sh, lab.sh, check.sh: boot them with lab_boot below
#
# A kernel is named by a label: "6.1" (Debian 12's linux-image-amd64) or
# "6.12" (the backports-style linux-image-6.12.*-amd64-unsigned in bookworm).
# Everything downloaded or built lives in LAB_CACHE, outside the work tree so
# that a fresh clone in CI reuses it; everything a run writes (console logs,
# results) lives in LAB_OUT, which is git-ignored.
#
# Environment knobs (all optional):
#   NVMF_LAB_CACHE    cache dir            (default: $HOME/.cache/nvmf-lab)
#   NVMF_LAB_OUT      run artifacts        (default: tests/vm/out)
#   NVMF_LAB_KERNELS  labels for check.sh  (default: "6.1 6.12")
#   NVMF_LAB_TIMEOUT  seconds per VM run   (default: 600)
#   NVMF_LAB_MEM / NVMF_LAB_SMP            (default: 2G / 2)

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_REPO=$(cd "$LAB_DIR/../.." && pwd)
LAB_CACHE=${NVMF_LAB_CACHE:-${HOME:-/root}/.cache/nvmf-lab}
LAB_OUT=${NVMF_LAB_OUT:-$LAB_DIR/out}
LAB_KERNELS=${NVMF_LAB_KERNELS:-"6.1 6.12"}

lab_log() { printf 'lab: %s\n' "$*" >&2; }
lab_die() { printf 'lab: error: %s\n' "$*" >&2; exit 1; }

# The unpacked root of kernel LABEL, fetching it first if needed.
# Prints the directory; it holds boot/vmlinuz-* and lib/modules/<kver>.
lab_kernel_dir() {
	bash "$LAB_DIR/kernel.sh" "$1" | tail -n 1
}

# The kernel release (uname -r) found in an unpacked root.
lab_kver() {
	local m
	m=$(ls "$1/lib/modules" 2>/dev/null | head -n 1)
	[ -n "$m" ] || lab_die "no lib/modules in $1"
	printf '%s\n' "$m"
}

# The qemu command line booting kernel LABEL with nvmf.mode=MODE, the
# writable share SHARE, IMG as the emulated NVMe's disk and EXTRA kernel
# parameters (unknown NAME=VALUE ones reach /init as environment); the
# caller appends the console (-chardev/-serial) and runs the array LAB_QEMU.
#
#   q35 + intel-iommu (intremap needs the split irqchip), TCG only: /dev/kvm
#   exists on the CI machines but a stock kernel hangs on it.
#   9p "hostroot" = host /, read-only;  9p "labout" = SHARE, writable.
#   virtio-net on user-mode networking with restrict=on: no way out.
#   hardened_usercopy=off: Debian 6.1's nvmet-tcp receives large writes into
#   multi-page (non-compound) buffers and the check takes that for an
#   overflow: "usercopy: Kernel memory exposure attempt detected from page
#   alloc", kernel BUG in nvmet_tcp_io_work, the control target dies.
#   no_timer_check: under TCG on a busy host the kernel's early check that
#   the timer interrupt arrives can time out, and with interrupt remapping
#   that is a panic ("timer doesn't work through Interrupt-remapped
#   IO-APIC") before the guest has done anything.
#   -device nvme backed by a small sparse image, for the VFIO exercises.
lab_qemu_cmd() {
	local label=$1 mode=$2 share=$3 img=$4 extra=${5:-}
	local kdir kver initrd
	kdir=$(lab_kernel_dir "$label") || return 1
	kver=$(lab_kver "$kdir")
	initrd=$(bash "$LAB_DIR/initramfs.sh" "$label" | tail -n 1) || return 1
	LAB_QEMU=(qemu-system-x86_64
		-machine q35,kernel-irqchip=split -accel tcg,thread=multi
		-cpu max -smp "${NVMF_LAB_SMP:-2}" -m "${NVMF_LAB_MEM:-2G}"
		-nodefaults -display none -no-reboot
		-device intel-iommu,intremap=on
		-kernel "$kdir/boot/vmlinuz-$kver" -initrd "$initrd"
		-append "console=ttyS0 loglevel=4 panic=-1 intel_iommu=on iommu=pt mitigations=off hardened_usercopy=off no_timer_check nvmf.mode=$mode nvmf.repo=$LAB_REPO $extra"
		-fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
		-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
		-fsdev local,id=labout,path="$share",security_model=none,multidevs=remap
		-device virtio-9p-pci,fsdev=labout,mount_tag=labout
		-netdev user,id=n0,restrict=on,net=10.0.2.0/24
		-device virtio-net-pci,netdev=n0
		-drive file="$img",if=none,id=nvm,format=raw
		-device nvme,serial=lab1,drive=nvm
		-device virtio-rng-pci)
}
