#!/bin/bash
# tests/vm/run.sh KERNEL SCRIPT [ARGS...]: run SCRIPT inside a throwaway guest.
#
#   host                                   guest (KERNEL = 6.1 | 6.12)
#   ----                                   -----
#   kernel.sh, initramfs.sh (cached)
#   SHARE=$LAB_OUT/KERNEL  -- 9p labout -->  /run/lab
#     job  "cd REPO; bash SCRIPT ARGS"  -->  guest.sh runs it, cwd = work tree
#          (with the BT_* variables of our environment exported)
#     rc   <-- its exit status               (then init.sh powers off)
#     config-<kver>  the kernel's config, for the script to use
#     console.log  <-- serial console, also streamed to our stdout
#   qemu under `timeout` (NVMF_LAB_TIMEOUT, default 600 s): a hung guest
#   never hangs CI; on exit or signal we kill qemu by its PID.
#
# SCRIPT is a host path; the guest sees the host's / at the same paths (but
# its own /tmp and /run: a script there, outside the work tree, is copied
# into SHARE), and the current directory is kept. Exit status: the
# script's, or 124 on timeout, or 125 if the guest died without an answer.
# SHARE (console.log, anything the script left in /run/lab) is kept; the
# path is printed when the run fails.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || lab_die "usage: run.sh KERNEL SCRIPT [ARGS...]"
label=$1 script=$2
shift 2
[ -f "$script" ] || lab_die "no such script: $script"
script=$(cd "$(dirname "$script")" && pwd)/$(basename "$script")
for t in qemu-system-x86_64 timeout; do
	command -v $t >/dev/null || lab_die "missing $t (apt-get install qemu-system-x86 coreutils)"
done

share=$LAB_OUT/$label
rm -rf "$share"
mkdir -p "$share"
img=$(mktemp /tmp/nvmf-lab-nvme.XXXXXX)
truncate -s 64M "$img"
# The guest mounts its own /tmp and /run over the host's: ship such a script.
# (init.sh binds the work tree back, wherever it is).
case $script in
"$LAB_REPO"/*) ;;
/tmp/* | /run/* | /dev/shm/*)
	cp "$script" "$share/script.sh"
	script=/run/lab/script.sh ;;
esac
{
	# The blktests knobs (BT_*, see test-blktests.sh) reach the guest.
	for v in $(compgen -v BT_); do
		printf 'export %s=%q\n' "$v" "${!v}"
	done
	printf 'cd %q || exit 1\n' "$PWD"
	printf 'exec bash %q' "$script"
	[ $# -eq 0 ] || printf ' %q' "$@"
	printf '\n'
} >"$share/job"

qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	rm -f "$img"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

lab_qemu_cmd "$label" run "$share" "$img" || lab_die "cannot prepare kernel $label"
# The kernel's config, for tools in the guest that read it (blktests): the
# guest has no /boot/config-<kver> of its own.
cp "$(lab_kernel_dir "$label")"/boot/config-* "$share/" 2>/dev/null
LAB_QEMU+=(-chardev "stdio,id=con0,signal=off,logfile=$share/console.log"
	-serial chardev:con0)

start=$SECONDS
lab_log "booting $label for $(basename "$script") (limit ${NVMF_LAB_TIMEOUT:-600}s)"
timeout -k 10 "${NVMF_LAB_TIMEOUT:-600}" "${LAB_QEMU[@]}" </dev/null &
qpid=$!
wait "$qpid"
qrc=$?
qpid=
if [ -s "$share/rc" ]; then
	rc=$(cat "$share/rc")
elif [ $qrc -eq 124 ]; then
	lab_log "timeout after ${NVMF_LAB_TIMEOUT:-600}s: guest killed"
	rc=124
else
	lab_log "the guest stopped without a result (qemu status $qrc)"
	rc=125
fi
lab_log "$label: status $rc after $((SECONDS - start))s"
[ "$rc" -eq 0 ] || lab_log "console log kept: $share/console.log"
exit "$rc"
