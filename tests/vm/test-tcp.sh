# tests/vm/test-tcp.sh: NVMe/TCP on the guest's loopback, nvme-cli as host.
# Sourced by suite.sh, which runs tcp_checks against each target.
#
#   target 127.0.0.1:4420 (I/O) + 127.0.0.1:8009 (discovery)
#   discover (8009, the default) | discover -s 4420 | connect | list
#   | id-ctrl | id-ns | ns-descs | smart-log | get-feature 7 | flush
#   | fio 64 MiB randrw crc32c | disconnect | reconnect
#   | connect with header and data digests + fio 8 MiB
#   | connect-all through 4420 and through 8009 (every entry must connect)
#   then suite.sh: stop, dmesg-clean
. tests/vm/fabrics.sh

tcp_start_nvmet() { TR=tcp ADDR=127.0.0.1; nvmet_start tcp 127.0.0.1; }
tcp_stop_nvmet() { nvmet_stop; }
tcp_skip_nvmf() { nvmf_built || echo "./nvmf not built"; }
tcp_start_nvmf() {
	TR=tcp ADDR=127.0.0.1
	NVMF_WAIT_PORTS="4420 8009" nvmf_start "$LOGS/nvmf-tcp.log" \
		-l 127.0.0.1:4420 -s "$NQN" --ns ram:64M
}
tcp_stop_nvmf() { nvmf_stop; }

# Digests on: CRC32C over every PDU header and data, both ways.
c_digest() {
	c_connect --hdr-digest --data-digest || return 1
	c_fio 8M || return 1
	c_disconnect
}

# nvmf's own host side over NVMe/TCP against this target (nvmet or nvmf):
# the same questions the kernel asks, with nvmf's stricter answers.
TTRID() { echo "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$1${2:+ subnqn:$2}"; }
c_host_tcp() {
	local out
	out=$(run ./nvmf discover -r "$(TTRID 8009)") && echo "$out" | grep -q "$NQN" || { echo "$out"; return 1; }
	out=$(run ./nvmf identify -r "$(TTRID 4420 "$NQN")") && echo "$out" | grep -q "$NQN" || { echo "$out"; return 1; }
	run ./nvmf perf -q 16 -o 65536 -w randrw -M 50 -t 2 --verify -r "$(TTRID 4420 "$NQN")"
}

tcp_checks() {
	check host-side c_host_tcp
	check discover-8009 c_discover
	check discover-4420 c_discover -s 4420
	check connect c_connect
	check list c_list
	check id-ctrl c_id_ctrl
	check id-ns c_id_ns
	check ns-descs c_ns_descs
	check smart-log c_smart_log
	check get-feature-7 c_get_feature_7
	check flush c_flush
	check fio c_fio 64M
	check disconnect c_disconnect
	check reconnect c_reconnect
	check digest c_digest
	check connect-all-4420 c_connect_all 4420
	check connect-all-8009 c_connect_all 8009
}
