# tests/vm/test-tcp.sh: NVMe/TCP on the guest's loopback, nvme-cli as host.
# Sourced by suite.sh, which runs tcp_checks against each target.
#
#   target 127.0.0.1:4420 (I/O) + 127.0.0.1:8009 (discovery)
#   discover (8009, the default) | discover -s 4420 | connect | list
#   | id-ctrl | id-ns | ns-descs | smart-log | get-feature 7 | flush
#   | fio 64 MiB randrw crc32c | disconnect | reconnect
#   | connect with header and data digests + fio 8 MiB
#   | connect-all through 4420 and through 8009 (every entry must connect)
#   | nvmf only: the kernel's bring-up read from a traced target (4421)
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

# The Linux host's bring-up as nvmf's --trace shows it (nvmf only; nvmet
# has no such trace): a second, traced target on 4421; nvme connect, then
# disconnect. The trace must show the kernel's Connect with its NQNs (from
# the capsule's data), CC.EN=1 then CSTS.RDY=1, Identify and Number of
# Queues by name, the I/O queue's Connect, and the shutdown the kernel asks
# for on disconnect (CC.SHN=1, then CSTS.SHST=2); and no Fabrics command
# with an nsid=, as those bytes are FCTYPE.
c_trace_kernel() {
	local log=$LOGS/nvmf-trace.log nqn=nqn.2026-11.io.nvmf:trace pid rc=0 re
	./nvmf target --trace -r /tmp/nvmf-trace.sock -l 127.0.0.1:4421 -D 0 -s $nqn \
		--ns ram:16M >"$log" 2>&1 &
	pid=$!
	if wait_listen 4421; then
		run nvme connect -t tcp -a 127.0.0.1 -s 4421 -n $nqn || rc=1
		run nvme disconnect -n $nqn || rc=1
	else
		rc=1
	fi
	kill -TERM $pid 2>/dev/null
	wait $pid || rc=1
	for re in "cmd  qid=0 cid=[0-9]+ Connect qid=0 sqsize=[0-9]+ cattr=0x[0-9a-f]+ kato=[0-9]+ cntlid=0xffff subnqn=$nqn hostnqn=nqn\\." \
		  'done qid=0 cid=[0-9]+ Connect status=0x000 \(Success\) cntlid=[0-9]+' \
		  'PropertySet CC size=4 value=0x[0-9a-f]+ EN=1 CSS=[0-9] MPS=0 AMS=0 SHN=0 IOSQES=6 IOCQES=4$' \
		  'PropertyGet status=0x000 \(Success\) CSTS value=0x1 RDY=1 ' \
		  'Identify Controller cns=0x01 nsid=0' \
		  'SetFeatures NumberOfQueues fid=0x07 value=0x[0-9a-f]+ NSQR=' \
		  "cmd  qid=1 cid=[0-9]+ Connect qid=1 sqsize=[0-9]+ .* subnqn=$nqn " \
		  'PropertySet CC size=4 value=0x[0-9a-f]+ EN=1 CSS=[0-9] MPS=0 AMS=0 SHN=1 ' \
		  'PropertyGet status=0x000 \(Success\) CSTS value=0x9 RDY=1 CFS=0 SHST=2 '; do
		grep -qE -- "$re" "$log" || { echo "not in the trace: $re"; rc=1; }
	done
	if grep -E '(Connect|Property(Get|Set)|Auth(Send|Recv)|Disconnect) .*nsid=' "$log"; then
		echo "a Fabrics command traced with an nsid="
		rc=1
	fi
	grep -E '^trace (cmd |done) qid=0 ' "$log" | head -n 30
	return $rc
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
	if [ "$TARGET" = nvmf ]; then
		check trace-kernel c_trace_kernel
	fi
}
