# tests/vm/test-vfio.sh: QEMU's emulated NVMe (serial lab1, 64 MiB, behind
# the emulated Intel IOMMU), exported over NVMe/TCP to the guest's own host.
# Sourced by suite.sh, which runs vfio_checks against each target.
#
#   nvmet half: PCI device -> vfio-pci (proves the IOMMU group and
#               /dev/vfio/N work) -> back to the kernel's nvme driver ->
#               /dev/nvmeXn1 exported by nvmet on 127.0.0.1:4420
#   nvmf half:  PCI device -> vfio-pci -> ./nvmf --ns nvme:BDF (pcie_nvme.c,
#               a user-space driver) on 127.0.0.1:4420; afterwards the
#               device goes back to the nvme driver
#   checks:     connect | list | id-ctrl | id-ns (64 MiB) | ns-descs | fio
#               16 MiB | disconnect
#   nvmf only:  driver-tests: nvmf stopped, tests/pcie_test nvme:BDF runs
#               the driver's test list (the one tests/pcie_test runs on sim/)
#               against QEMU's NVMe through VFIO; then ./nvmf --ns sim:64M
#               (the same driver on sim/): connect | id-ns | fio | disconnect
#
# The nvmf half is skipped until ./nvmf --help mentions an nvme: namespace.
. tests/vm/fabrics.sh

# The PCI address of the emulated NVMe controller (class 01 08 02).
nvme_bdf() {
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/class")" = 0x010802 ] && { basename "$d"; return 0; }
	done
	echo "no PCI NVMe controller in the guest" >&2
	return 1
}

# pci_bind BDF DRIVER: move the device to DRIVER through driver_override.
pci_bind() {
	local bdf=$1 drv=$2 d=/sys/bus/pci/devices/$1 i
	if [ -e "$d/driver" ]; then
		[ "$(basename "$(readlink "$d/driver")")" = "$drv" ] && return 0
		echo "$bdf" >"$d/driver/unbind"
	fi
	echo "$drv" >"$d/driver_override"
	echo "$bdf" >/sys/bus/pci/drivers_probe
	echo >"$d/driver_override"
	for i in $(seq 50); do
		[ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" = "$drv" ] && break
		sleep 0.1
	done
	echo "$bdf: driver $(basename "$(readlink "$d/driver" 2>/dev/null)")"
	[ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" = "$drv" ]
}

# The block device of the PCI controller with serial lab1, after a rebind.
pci_blockdev() {
	local c dev i
	for i in $(seq 100); do
		for c in /sys/class/nvme/nvme*; do
			[ "$(cat "$c/serial" 2>/dev/null | tr -d ' ')" = lab1 ] || continue
			dev=$(ls "$c" | grep -E '^nvme[0-9]+n[0-9]+$' | head -n 1)
			[ -n "$dev" ] && [ -b "/dev/$dev" ] && { echo "$dev"; return 0; }
		done
		sleep 0.1
	done
	echo "no block device for the controller with serial lab1" >&2
	return 1
}

vfio_start_nvmet() {
	local bdf grp blk
	TR=tcp ADDR=127.0.0.1
	bdf=$(nvme_bdf) || return 1
	grp=$(basename "$(readlink "/sys/bus/pci/devices/$bdf/iommu_group")") ||
		{ echo "$bdf has no IOMMU group: is intel_iommu=on?"; return 1; }
	pci_bind "$bdf" vfio-pci || return 1
	run ls -l "/dev/vfio/$grp" || return 1
	pci_bind "$bdf" nvme || return 1
	blk=$(pci_blockdev) || return 1
	echo "exporting /dev/$blk (kernel nvme driver) through nvmet"
	nvmet_start tcp 127.0.0.1 "/dev/$blk"
}
vfio_stop_nvmet() { nvmet_stop; }

vfio_skip_nvmf() {
	if ! nvmf_built; then
		echo "./nvmf not built"
	elif ! ./nvmf --help 2>&1 | grep -qE '\bnvme:'; then
		echo "nvmf has no nvme: (VFIO) backend yet"
	fi
}
vfio_start_nvmf() {
	local bdf
	TR=tcp ADDR=127.0.0.1
	bdf=$(nvme_bdf) || return 1
	pci_bind "$bdf" vfio-pci || return 1
	NVMF_WAIT_PORTS="4420 8009" nvmf_start "$LOGS/nvmf-vfio.log" \
		-l 127.0.0.1:4420 -s "$NQN" --ns "nvme:$bdf"
}
vfio_stop_nvmf() {
	local bdf
	nvmf_stop
	bdf=$(nvme_bdf) && pci_bind "$bdf" nvme
}

# One driver, two devices: the test list of tests/pcie_test on this one.
c_driver_tests() {
	local bdf out
	nvmf_stop || return 1		# the VFIO group is nvmf's until it exits
	bdf=$(nvme_bdf) || return 1
	[ -x tests/pcie_test ] || { echo "tests/pcie_test not built (make tests/pcie_test)"; return 1; }
	out=$(run tests/pcie_test "nvme:$bdf")
	echo "$out"
	echo "$out" | grep -qE '^pcie: [0-9]+ passed, 0 failed'
}

# The same kernel host on --ns sim:64M: the driver on sim/'s simulated SSD
# (vfio_stop_nvmf stops this target).
c_sim_start() {
	NVMF_WAIT_PORTS="4420 8009" nvmf_start "$LOGS/nvmf-sim.log" \
		-l 127.0.0.1:4420 -s "$NQN" --ns sim:64M
}

vfio_checks() {
	check connect c_connect
	check list c_list
	check id-ctrl c_id_ctrl
	check id-ns c_id_ns
	check ns-descs c_ns_descs
	check fio c_fio 16M
	check disconnect c_disconnect
	[ "$TARGET" = nvmf ] || return 0
	check driver-tests c_driver_tests
	check sim-start c_sim_start
	check sim-connect c_connect
	check sim-id-ns c_id_ns
	check sim-fio c_fio 16M
	check sim-disconnect c_disconnect
}
