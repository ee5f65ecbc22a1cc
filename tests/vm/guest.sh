#!/bin/bash
# tests/vm/guest.sh: stage 2 of the guest, run by init.sh inside the chroot
# (the host's / seen through a RAM overlay), so every tool here is the host's.
#
#   network   lo up; eth0 = 10.0.2.15/24, no default route (QEMU user net,
#             restricted: the guest talks only to itself)
#   limits    RLIMIT_MEMLOCK unlimited (ibv_reg_mr fails with ENOMEM otherwise)
#   nvmf.mode=run   bash /run/lab/job (written by run.sh), its status to
#                   /run/lab/rc, then return: init.sh powers off
#   nvmf.mode=lab   start ./nvmf if it is built, print the "try this" banner,
#                   interactive bash on the serial console until it exits
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
export TERM=${TERM:-vt100}
[ "$TERM" = linux ] && export TERM=vt100

mode=run repo=/ ttysize=
for arg in $(cat /proc/cmdline); do
	case $arg in
	nvmf.tty=*) ttysize=${arg#nvmf.tty=} ;;
	nvmf.mode=*) mode=${arg#nvmf.mode=} ;;
	nvmf.repo=*) repo=${arg#nvmf.repo=} ;;
	esac
done

hostname nvmf-lab
ip link set lo up
if ip link show eth0 >/dev/null 2>&1; then
	ip addr add 10.0.2.15/24 dev eth0
	ip link set eth0 up
else
	echo "lab: no eth0 (virtio_net missing?)" >&2
fi
ulimit -l unlimited
cd "$repo" || exit 1

banner() {
	cat <<EOF

  nvmf lab: Linux $(uname -r), guest 10.0.2.15, work tree $repo (read-only;
  writes land in RAM and vanish at power-off; /run/lab is shared with the
  host as tests/vm/out/lab-$(uname -r | cut -d. -f1-2)).
$1
  try this:
    nvme discover -t tcp -a 127.0.0.1             # discovery on port 8009
    nvme connect  -t tcp -a 127.0.0.1 -s 4420 -n nqn.2026-11.io.nvmf:cnode1
    nvme list; nvme id-ctrl /dev/nvme1; nvme disconnect-all
  RDMA over SoftRoCE (rxe cannot bind lo; use 10.0.2.15):
    rdma link add rxe0 type rxe netdev eth0; ibv_devices
    ./nvmf target -l rdma:10.0.2.15:4420 ...; nvme discover -t rdma -a 10.0.2.15
  VFIO (QEMU's emulated NVMe, serial lab1, behind an emulated IOMMU):
    bdf=\$(basename \$(dirname \$(grep -l 0x010802 /sys/bus/pci/devices/*/class)))
    echo \$bdf > /sys/bus/pci/devices/\$bdf/driver/unbind
    echo vfio-pci > /sys/bus/pci/devices/\$bdf/driver_override
    echo \$bdf > /sys/bus/pci/drivers_probe; ls /dev/vfio
  the kernel target: tests/vm/targets.sh documents an nvmet configfs setup.
  exit (or Ctrl-D) powers the VM off; Ctrl-A x kills it.

EOF
}

case $mode in
run)
	bash /run/lab/job
	rc=$?
	echo "$rc" >/run/lab/rc
	echo "lab: guest script exited with status $rc"
	;;
lab)
	note="  ./nvmf is not built yet (run make on the host, then ./nvmf here)."
	if [ -x ./nvmf ]; then
		./nvmf >/run/lab/nvmf.log 2>&1 &
		note="  ./nvmf is running (pid $!, log /run/lab/nvmf.log): tcp 127.0.0.1:4420, discovery 8009."
	fi
	[ -n "$ttysize" ] && stty -F /dev/ttyS0 rows "${ttysize%x*}" cols "${ttysize#*x}"
	banner "$note"
	setsid -c bash -i </dev/ttyS0 >/dev/ttyS0 2>&1
	;;
*)
	echo "lab: unknown nvmf.mode=$mode" >&2
	;;
esac
