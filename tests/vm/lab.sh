#!/bin/bash
# tests/vm/lab.sh [KERNEL]: the teaching lab (make lab), an interactive guest.
#
#   host terminal  <-- serial console (stdio, Ctrl-A x quits qemu) -->  guest
#   guest: Linux KERNEL (default 6.12) with nvme-cli, fio, nvmet, nvme-tcp,
#          nvme-rdma, SoftRoCE (rdma_rxe) and vfio-pci loaded; the host's
#          tools and this work tree at the same paths; ./nvmf started in the
#          background if it is built; a "try this" banner (guest.sh)
#   $LAB_OUT/lab-KERNEL  <-- 9p -->  /run/lab  (nvmf.log, anything you save)
#
# No time limit: the VM lives until the guest shell exits (power-off) or
# qemu is told to quit. Same machine as run.sh (lib.sh: lab_qemu_cmd).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

label=${1:-6.12}
command -v qemu-system-x86_64 >/dev/null ||
	lab_die "missing qemu-system-x86_64 (apt-get install qemu-system-x86)"
[ -t 0 ] || lab_log "stdin is not a terminal: the guest shell will see EOF"
[ -x "$LAB_REPO/nvmf" ] || lab_log "./nvmf is not built: the guest will start without a target (run make first)"

share=$LAB_OUT/lab-$label
mkdir -p "$share"
rm -f "$share/rc"
img=$(mktemp /tmp/nvmf-lab-nvme.XXXXXX)
truncate -s 64M "$img"
qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	rm -f "$img"
}
trap cleanup EXIT
trap 'exit 130' TERM HUP

# TERM=... on the kernel command line becomes /init's environment: the
# guest shell then edits lines for the host's terminal;
# nvmf.tty=ROWSxCOLS: the serial line has no size of its own.
size=$(stty size 2>/dev/null | tr ' ' x)
lab_qemu_cmd "$label" lab "$share" "$img" "TERM=${TERM:-vt100} nvmf.tty=${size:-24x80}" ||
	lab_die "cannot prepare kernel $label"
# mux=on shares the console with qemu's monitor: Ctrl-A x quits, Ctrl-A c
# toggles the monitor, and Ctrl-C goes to the guest.
LAB_QEMU+=(-chardev "stdio,id=con0,mux=on,signal=off,logfile=$share/console.log"
	-serial chardev:con0 -mon chardev=con0,mode=readline)
lab_log "booting $label (about 10 s under TCG); exit the guest shell to power off"
# In the background so a signal reaches our trap at once; <&0 because a
# script's background job otherwise reads /dev/null, not the terminal.
"${LAB_QEMU[@]}" <&0 &
qpid=$!
wait "$qpid"
qpid=
