# tests/vm/test-rdma.sh: NVMe/RDMA over SoftRoCE, nvme-cli as host.
# Sourced by suite.sh, which runs rdma_checks against each target.
#
#   rdma link add rxe0 type rxe netdev eth0      (rxe cannot bind lo)
#   target 10.0.2.15:4420 over rxe0; the host connects to the same address,
#   so the traffic loops inside the guest's rxe driver
#   rdma-link | discover (default port, 4420 for RDMA) | connect | list
#   | id-ctrl | id-ns | ns-descs | smart-log | flush | fio 16 MiB
#   | disconnect | reconnect | connect-all
#
# The nvmf half is skipped until ./nvmf --version lists rdma among its
# transports (rdma.c is built only when libibverbs and librdmacm exist).
. tests/vm/fabrics.sh

# One rxe device on eth0 for the guest's lifetime.
rxe_up() {
	rdma dev show rxe0 >/dev/null 2>&1 ||
		run rdma link add rxe0 type rxe netdev eth0 || return 1
	run rdma link show rxe0/1 && run ibv_devices
}

rdma_start_nvmet() { TR=rdma ADDR=10.0.2.15; rxe_up && nvmet_start rdma 10.0.2.15; }
rdma_stop_nvmet() { nvmet_stop; }
rdma_skip_nvmf() {
	if ! nvmf_built; then
		echo "./nvmf not built"
	elif ! ./nvmf --version 2>&1 | grep -qE 'transports: [a-z, ]*\brdma\b'; then
		echo "nvmf built without rdma"
	fi
}
rdma_start_nvmf() {
	TR=rdma ADDR=10.0.2.15
	rxe_up || return 1
	NVMF_WAIT_PORTS="" nvmf_start "$LOGS/nvmf-rdma.log" \
		-l rdma:10.0.2.15:4420 -D 0 -s "$NQN" --ns ram:64M
}
rdma_stop_nvmf() { nvmf_stop; }

c_rdma_link() {
	run rdma link show rxe0/1 | grep -q 'state ACTIVE' || { echo "rxe0 is not ACTIVE"; return 1; }
	run ibv_devinfo -d rxe0 | grep -q PORT_ACTIVE
}

rdma_checks() {
	check rdma-link c_rdma_link
	check discover c_discover
	check connect c_connect
	check list c_list
	check id-ctrl c_id_ctrl
	check id-ns c_id_ns
	check ns-descs c_ns_descs
	check smart-log c_smart_log
	check flush c_flush
	check fio c_fio 16M
	check disconnect c_disconnect
	check reconnect c_reconnect
	check connect-all c_connect_all 4420
}
