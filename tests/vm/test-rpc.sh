# tests/vm/test-rpc.sh: live configuration while the kernel host is
# connected. Sourced by suite.sh, which runs rpc_checks against each target.
#
#   target: $NQN with namespace 1 on 127.0.0.1:4420, only $HOST_NQN allowed
#     nvmet: configfs (allowed_hosts)      nvmf: ./nvmf --empty, then the
#                                          seed tutorial's RPCs (tests/rpc.py)
#   connect as $HOST_NQN | add namespace 2 live -> the host sees nvmeXn2
#   (namespace-attribute AEN, rescan) | fio on it | nvmf only: durability
#   (file namespace, write, flush, kill -9, restart from save_config, read)
#   | remove the host from the allow list | disconnect | reconnect refused
#
# The refused reconnect makes the kernel log a connect error; the check
# that expects it moves the dmesg mark past it, so dmesg-clean still
# judges everything else.
. tests/vm/fabrics.sh

HOST_NQN=nqn.2014-08.org.nvmexpress:uuid:0c0ffee0-1234-4321-abcd-0123456789ab
RPC_SOCK=/tmp/nvmf-rpc.sock
NVMET_IMG2=/tmp/nvmet-ns2.img

rpc() { python3 tests/rpc.py "$RPC_SOCK" "$@"; }

rpc_start_nvmet() {
	local s=$NVMET/subsystems/$NQN
	TR=tcp ADDR=127.0.0.1
	nvmet_start tcp 127.0.0.1 || return 1
	mkdir -p "$NVMET/hosts/$HOST_NQN" || return 1
	echo 0 >"$s/attr_allow_any_host"	# before the list: nvmet refuses both
	ln -s "$NVMET/hosts/$HOST_NQN" "$s/allowed_hosts/$HOST_NQN"
}

rpc_stop_nvmet() {
	local s=$NVMET/subsystems/$NQN
	if [ -d "$s/namespaces/2" ]; then
		echo 0 >"$s/namespaces/2/enable"
		rmdir "$s/namespaces/2"
	fi
	rm -f "$s/allowed_hosts/$HOST_NQN" "$NVMET_IMG2" 2>/dev/null
	nvmet_stop
	rmdir "$NVMET/hosts/$HOST_NQN" 2>/dev/null
	return 0
}

rpc_skip_nvmf() { nvmf_built || echo "./nvmf not built"; }

# The seed tutorial, then an allow list of one host.
rpc_start_nvmf() {
	TR=tcp ADDR=127.0.0.1
	rm -f "$RPC_SOCK"
	NVMF_WAIT_PORTS="" nvmf_start "$LOGS/nvmf-rpc.log" --empty -D 0 -r "$RPC_SOCK" || return 1
	for _ in $(seq 100); do [ -S "$RPC_SOCK" ] && break; sleep 0.1; done
	local la='{"trtype":"tcp","adrfam":"ipv4","traddr":"127.0.0.1"'
	rpc nvmf_create_transport '{"trtype":"TCP","io_unit_size":16384,"max_io_qpairs_per_ctrlr":8,"in_capsule_data_size":8192}' &&
	rpc bdev_malloc_create '{"name":"Malloc0","num_blocks":131072,"block_size":512}' &&
	rpc nvmf_create_subsystem "{\"nqn\":\"$NQN\",\"serial_number\":\"SPDK00000000000001\",\"model_number\":\"SPDK_Controller1\"}" &&
	rpc nvmf_subsystem_add_host "{\"nqn\":\"$NQN\",\"host\":\"$HOST_NQN\"}" &&
	rpc nvmf_subsystem_add_ns "{\"nqn\":\"$NQN\",\"namespace\":{\"bdev_name\":\"Malloc0\"}}" &&
	rpc nvmf_subsystem_add_listener "{\"nqn\":\"$NQN\",\"listen_address\":$la,\"trsvcid\":\"4420\"}}" &&
	rpc nvmf_subsystem_add_listener "{\"nqn\":\"nqn.2014-08.org.nvmexpress.discovery\",\"listen_address\":$la,\"trsvcid\":\"8009\"}}" &&
	wait_listen 4420
}

rpc_stop_nvmf() { nvmf_stop; }

# Namespace 2, 32 MiB, added while the host is connected.
rpc_add_ns_nvmet() {
	local n=$NVMET/subsystems/$NQN/namespaces/2
	truncate -s 32M "$NVMET_IMG2" && mkdir "$n" &&
	echo -n "$NVMET_IMG2" >"$n/device_path" && echo 1 >"$n/buffered_io" &&
	echo 1 >"$n/enable"
}
rpc_add_ns_nvmf() {
	rpc bdev_malloc_create '{"name":"Malloc1","num_blocks":65536,"block_size":512}' &&
	rpc nvmf_subsystem_add_ns "{\"nqn\":\"$NQN\",\"namespace\":{\"bdev_name\":\"Malloc1\",\"nsid\":2}}"
}
rpc_remove_host_nvmet() { rm "$NVMET/subsystems/$NQN/allowed_hosts/$HOST_NQN"; }
rpc_remove_host_nvmf() { rpc nvmf_subsystem_remove_host "{\"nqn\":\"$NQN\",\"host\":\"$HOST_NQN\"}"; }

c_connect_host() { c_connect --hostnqn "$HOST_NQN"; }

# The new namespace must appear as a block device by itself: the target
# sends a namespace-attribute notice, the host reads the Changed
# Namespace List and rescans [BASE-2.0c §5.2, §5.16.1.5].
c_ns_appears() {
	need_ctrl || return 1
	local dev2 out
	echo "+ rpc_add_ns_$TARGET"
	"rpc_add_ns_$TARGET" || return 1
	dev2=$(dev_of_nsid 2) || { echo "namespace 2 did not appear"; return 1; }
	out=$(run nvme list) || return 1
	echo "$out"
	echo "$out" | grep -qw "/dev/$dev2" || { echo "/dev/$dev2 not in nvme list"; return 1; }
	DEV2=$dev2
}

c_fio_ns2() {
	[ -n "${DEV2:-}" ] || { echo "no namespace 2"; return 1; }
	run fio --name=ns2 --filename="/dev/$DEV2" --rw=randrw --bs=4k --size=8M \
		--ioengine=libaio --iodepth=8 --direct=1 --verify=crc32c --do_verify=1
}

# Take the host off the allow list; its controller stays, its next
# connect is refused.
c_reconnect_refused() {
	need_ctrl || return 1
	echo "+ rpc_remove_host_$TARGET"
	"rpc_remove_host_$TARGET" || return 1
	run nvme disconnect -n "$NQN" || return 1
	wait_gone || return 1
	if run nvme connect -t tcp -a "$ADDR" -s 4420 -n "$NQN" --hostnqn "$HOST_NQN"; then
		echo "the removed host connected again"
		return 1
	fi
	sleep 1
	DMESG_MARK=$(dmesg | wc -l)	# the refusal's error lines are expected
	echo "refused, as it should be"
}

# The block device of namespace NSID of the subsystem behind $DEV, waiting
# up to 15 s. The Y of nvmeXnY is an instance number, not the NSID: a host
# that scans several namespaces at once numbers them in any order.
dev_of_nsid() {
	local i b
	for i in $(seq 150); do
		for b in /sys/block/${DEV%n*}n*; do
			[ "$(cat "$b/nsid" 2>/dev/null)" = "$1" ] && [ -b "/dev/${b##*/}" ] &&
				{ echo "${b##*/}"; return 0; }
		done
		sleep 0.1
	done
	return 1
}

# nvmf only: a file namespace added over RPC, written through the kernel
# host and flushed; the target is killed with SIGKILL (no shutdown path
# runs) and restarted from its save_config; the data reads back. The
# host's reconnect attempts while the target is down log errors: the
# dmesg mark moves past them.
DUR_IMG=/tmp/nvmf-durable.img DUR_PAT=/tmp/nvmf-durable.pat
c_durability() {
	need_ctrl || return 1
	local dev3 i
	rm -f "$DUR_IMG" && truncate -s 16M "$DUR_IMG" || return 1
	head -c 4M /dev/urandom >"$DUR_PAT"
	rpc bdev_aio_create "{\"name\":\"Aio0\",\"filename\":\"$DUR_IMG\",\"block_size\":512}" &&
	rpc nvmf_subsystem_add_ns "{\"nqn\":\"$NQN\",\"namespace\":{\"bdev_name\":\"Aio0\",\"nsid\":3}}" || return 1
	dev3=$(dev_of_nsid 3) || { echo "namespace 3 did not appear"; return 1; }
	run dd if="$DUR_PAT" of="/dev/$dev3" bs=1M oflag=direct status=none || return 1
	run nvme flush "/dev/$dev3" || return 1
	rpc save_config >/tmp/nvmf-saved.json || return 1
	echo "+ kill -9 $NVMF_PID"
	kill -9 "$NVMF_PID"; wait "$NVMF_PID" 2>/dev/null
	run nvme disconnect -n "$NQN"
	wait_gone || return 1
	nvmf_start "$LOGS/nvmf-rpc-restart.log" -D 0 -c /tmp/nvmf-saved.json -r "$RPC_SOCK" || return 1
	c_connect_host || return 1
	dev3=$(dev_of_nsid 3) || { echo "namespace 3 did not come back"; return 1; }
	run dd if="/dev/$dev3" of=/tmp/nvmf-durable.back bs=1M count=4 iflag=direct status=none || return 1
	cmp "$DUR_PAT" /tmp/nvmf-durable.back || { echo "the data did not survive"; return 1; }
	sleep 1
	DMESG_MARK=$(dmesg | wc -l)	# the host's reconnect errors while it was down
	echo "4 MiB written, flushed, kill -9, restarted from save_config: identical"
}

rpc_checks() {
	check connect c_connect_host
	check ns-appears c_ns_appears
	check fio-ns2 c_fio_ns2
	[ "$TARGET" = nvmf ] && check durability c_durability
	check reconnect-refused c_reconnect_refused
}
