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
#   | nvmf discover, identify, perf --verify over RDMA (our host side)
#   | bench (fio 4k randread QD128, QD32 and QD1, numbers to logs/bench.txt)
#   | bad-input (nvmf only: tests/rdma_bad, then the target's fds are
#     counted: every queue the bad hosts opened must be gone)
#   | nvmf only, memory: what the connected kernel host's queues pin, that
#     it all goes back after disconnect, and a second nvmf whose buffer
#     pool holds one command, so most commands wait for a buffer
#   | nvmf only, out of fds: a third nvmf with a low ulimit -n whose fds an
#     idle TCP flood takes; the kernel host's RDMA connects are refused,
#     logged rarely, no spin; after the flood, connect and fio verify work
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
	# The two limits on queues without Connect are tests/rdma_bad.c's
	# BAD_PER_HOST and BAD_CONNECT_MS; the kernel host, with 2 vCPUs,
	# has at most 3 queues waiting for Connect at once.
	NVMF_WAIT_PORTS="" nvmf_start "$LOGS/nvmf-rdma.log" \
		-l rdma:10.0.2.15:4420 -D 0 -s "$NQN" --ns ram:64M \
		--max-unconnected-per-host 8 --connect-timeout 4000
}
rdma_stop_nvmf() { nvmf_stop; }

c_rdma_link() {
	run rdma link show rxe0/1 | grep -q 'state ACTIVE' || { echo "rxe0 is not ACTIVE"; return 1; }
	run ibv_devinfo -d rxe0 | grep -q PORT_ACTIVE
}

# c_bench: 4 KiB random reads at QD128 and QD32 (IOPS: at 128 the target's
# send queue, 3 entries per queue entry, is as full as the kernel host
# gets it) and QD1 (latency) for 3 s each,
# fio on the kernel host; the same numbers go to logs/bench.txt so the two
# targets can be compared. Benchmarks print numbers; they do not judge them.
c_bench() {
	need_ctrl || return 1
	local qd out iops lat
	for qd in 128 32 1; do
		out=$(run fio --name="randread-qd$qd" --filename="/dev/$DEV" --ioengine=libaio \
			--direct=1 --rw=randread --bs=4k --iodepth=$qd --time_based --runtime=3 \
			--size=64M) || { echo "$out"; return 1; }
		echo "$out"
		iops=$(echo "$out" | sed -nE 's/.*IOPS=([^,]+),.*/\1/p' | head -n 1)
		lat=$(echo "$out" | grep -E '^ +lat \((u|n|m)sec\)' | head -n 1 | sed -E 's/^ +//')
		echo "bench $KERNEL $TARGET rdma 4k randread qd$qd: IOPS=$iops $lat" | tee -a "$LOGS/bench.txt"
	done
}

# nvmf's own host side over NVMe/RDMA against this target (nvmet or nvmf):
# discover, identify, and perf --verify (every block written is read back
# and checked); perf's QD32 and QD1 numbers go to logs/bench.txt as well.
RTRID() { echo "trtype:RDMA adrfam:IPv4 traddr:$ADDR trsvcid:4420${1:+ subnqn:$1}"; }
c_host_discover() {
	local out
	out=$(run ./nvmf discover -r "$(RTRID)") || { echo "$out"; return 1; }
	echo "$out"
	echo "$out" | grep -q "$NQN" && echo "$out" | grep -qE '^trtype: +rdma'
}
c_host_identify() {
	local out
	out=$(run ./nvmf identify -r "$(RTRID "$NQN")") || { echo "$out"; return 1; }
	echo "$out"
	echo "$out" | grep -q "$NQN"
}
c_host_perf() {
	local out qd
	# 64 KiB I/Os: the verify pass prefills the 64 MiB namespace in 1024
	# writes, each fetched by RDMA READ (TCG makes 4 KiB ones too slow).
	run ./nvmf perf -q 16 -o 65536 -w randrw -M 50 -t 2 --verify -r "$(RTRID "$NQN")" || return 1
	for qd in 32 1; do
		out=$(run ./nvmf perf -q $qd -o 4096 -w randread -t 3 -r "$(RTRID "$NQN")") ||
			{ echo "$out"; return 1; }
		echo "$out"
		echo "bench $KERNEL $TARGET rdma nvmf-perf 4k randread qd$qd: $(echo "$out" | grep -E '^RDMA')" |
			tee -a "$LOGS/bench.txt"
	done
}

# The target's open file descriptors (each RDMA queue holds two).
nvmf_fds() { ls "/proc/$NVMF_PID/fd" | wc -l; }

# c_rdma_bad: malformed CM requests, bad SGLs, a bad rkey, a host that
# vanishes mid-I/O, duplicate CIDs and queues that never send Connect
# (tests/rdma_bad.c); then every queue must be gone.
c_rdma_bad() {
	local before after i
	[ -x tests/rdma_bad ] || { echo "tests/rdma_bad not built (make tests/rdma_bad)"; return 1; }
	before=$(nvmf_fds)
	run tests/rdma_bad "$ADDR" 4420 "$NQN" "$NVMF_PID" || return 1
	for i in $(seq 50); do
		after=$(nvmf_fds)
		[ "$after" = "$before" ] && break
		sleep 0.2
	done
	echo "nvmf fds: $before before, $after after"
	[ "$after" = "$before" ] || { ls -l "/proc/$NVMF_PID/fd"; return 1; }
	kill -0 "$NVMF_PID"
}

# The target's pinned memory (what its memory registrations hold) and RSS.
nvmf_mem() {
	awk '/^(VmPin|VmRSS):/ { printf "%s %s kB ", $1, $2 }' "/proc/$NVMF_PID/status"
	echo "($(ls /sys/class/nvme-fabrics/ctl 2>/dev/null | grep -c nvme) controllers)"
}

# c_mem_connected: print what nvmf holds with the kernel host connected
# after fio (numbers for the log; data buffers come from the reactor's pool,
# so they are bounded by --buffer-pool, 64 MiB, not by the queues).
c_mem_connected() {
	need_ctrl || return 1
	echo "connected: $(nvmf_mem)" | tee -a "$LOGS/bench.txt"
	[ "$(awk '/^VmPin:/ { print $2 }' "/proc/$NVMF_PID/status")" -le $((64 * 1024 + 4096)) ]
}

# c_mem_returns: with every host gone, the queues' registrations are gone
# and, once the pool has been idle a second, so are the data buffers'.
c_mem_returns() {
	local i pin
	for i in $(seq 50); do
		pin=$(awk '/^VmPin:/ { print $2 }' "/proc/$NVMF_PID/status")
		[ "$pin" = 0 ] && break
		sleep 0.2
	done
	echo "after disconnect: $(nvmf_mem)" | tee -a "$LOGS/bench.txt"
	[ "$pin" = 0 ]
}

# side_start LOG ARGS...: another ./nvmf target beside the suite's, in the
# background, under ulimit -n $SIDE_NOFILE if set; waits for its "try:"
# banner. Sets SIDE_PID.
side_start() {
	local log=$1 i
	shift
	echo "+ ${SIDE_NOFILE:+ulimit -n $SIDE_NOFILE; }./nvmf target $*"
	(if [ -n "${SIDE_NOFILE:-}" ]; then ulimit -n "$SIDE_NOFILE" || exit 1; fi
	 exec ./nvmf target "$@") >"$log" 2>&1 &
	SIDE_PID=$!
	for i in $(seq 50); do
		grep -q '^try:' "$log" && break
		kill -0 "$SIDE_PID" 2>/dev/null || { cat "$log"; return 1; }
		sleep 0.2
	done
}

# c_pool_wait: a second nvmf whose reactor pool holds one 128 KiB command
# (--buffer-pool 128K; -i 128K so TCP's MDTS fits in it too). perf at
# QD32 then has most commands waiting for a buffer: each must be served,
# none failed, and every block written must read back the same.
c_pool_wait() {
	local pid rc=0 tid="trtype:RDMA adrfam:IPv4 traddr:$ADDR trsvcid:4421 subnqn:$NQN"
	# (the RPC socket cannot live on the 9p mount that holds $LOGS)
	side_start "$LOGS/nvmf-pool.log" -l "rdma:$ADDR:4421" -D 0 -s "$NQN" --ns ram:16M -i 128K \
		--buffer-pool 128K -r /tmp/nvmf-pool.sock || return 1
	pid=$SIDE_PID
	run ./nvmf perf -q 32 -o 65536 -w randrw -M 50 -t 2 --verify -r "$tid" || rc=1
	run ./nvmf perf -q 32 -o 131072 -w randrw -M 50 -t 2 --verify -r "$tid" || rc=1
	kill -TERM "$pid" && wait "$pid" || { echo "pool nvmf: exit $?"; tail "$LOGS/nvmf-pool.log"; rc=1; }
	return $rc
}

# The kernel host's lines for a connect the target refused (REJ), which
# c_rdma_emfile provokes on purpose.
EMFILE_DMESG_OK='Connect rejected|rdma connection establishment failed|failed to connect|failed to create|Failed to read smart log'

# c_rdma_emfile: out of file descriptors [issue 15]. A third nvmf with
# ulimit -n 32 listens for RDMA on 4422 and TCP on 127.0.0.1:4423; 40
# idle TCP sockets (tests/flood.py) take every fd it may open (the TCP
# listener backs off at EMFILE). A new RDMA queue needs two fds (its CM
# and completion channels), so while the flood lasts 8 kernel hosts'
# connects at once (own host NQNs and IDs) must each fail, not hang; the target must say
# why (REJ no resources, "raise ulimit -n") in at most one line a second,
# not one per connect, and must not spin (under 1.5 s of CPU in 3 s). Once
# the flood is gone, the kernel host connects and fio verifies its data.
c_rdma_emfile() {
	local pid fl i n p rc=0 t0 secs lines cpu0 cpu1 mark fds found cps=()
	local log=$LOGS/nvmf-emfile.log flog=$LOGS/nvmf-emfile-flood.out
	local hn=nqn.2014-08.org.nvmexpress:uuid:emfile
	mark=$(dmesg | wc -l)
	SIDE_NOFILE=32 side_start "$log" -l "rdma:$ADDR:4422" -l 127.0.0.1:4423 -D 0 -s "$NQN" \
		--ns ram:16M --max-unconnected 1000 --max-unconnected-per-host 1000 \
		--icreq-timeout 60000 -r /tmp/nvmf-emfile.sock || return 1
	pid=$SIDE_PID
	python3 tests/flood.py idle 127.0.0.2 4423 40 120 >"$flog" 2>&1 &
	fl=$!
	for i in $(seq 100); do
		fds=$(ls "/proc/$pid/fd" | wc -l)
		[ "$fds" -ge 32 ] && grep -q '^ready' "$flog" && break
		sleep 0.2
	done
	echo "flood: $(head -n 1 "$flog"); the target holds $fds fds of 32"
	[ "$fds" -ge 32 ] || { echo "the flood did not use up the fds"; rc=1; }
	t0=$SECONDS
	for i in $(seq 8); do
		timeout -k 5 60 nvme connect -t rdma -a "$ADDR" -s 4422 -n "$NQN" --hostnqn "$hn-$i" \
			--hostid "$(cat /proc/sys/kernel/random/uuid)" >"$LOGS/nvmf-emfile-connect$i.out" 2>&1 &
		cps+=($!)
	done
	n=0
	for p in "${cps[@]}"; do
		wait "$p"
		case $? in
		0) echo "a connect succeeded with no fds left"; rc=1 ;;
		124|137) echo "a connect hung"; rc=1 ;;
		*) n=$((n + 1)) ;;
		esac
	done
	secs=$((SECONDS - t0))
	cpu0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	sleep 3
	cpu1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	lines=$(grep -c 'RDMA connect from .* rejected (no resources)' "$log")
	echo "$n of 8 connects refused in ${secs} s; $lines log lines; CPU ticks in 3 s: $((cpu1 - cpu0))"
	grep -m 3 'rejected (no resources)' "$log"
	[ "$n" = 8 ] || rc=1
	grep -q 'rejected (no resources).*raise ulimit -n' "$log" || { echo "no reason logged"; rc=1; }
	[ "$lines" -ge 1 ] && [ "$lines" -le $((secs + 1)) ] && [ "$lines" -lt 8 ] ||
		{ echo "want 1 to $((secs + 1)) lines (one a second), not one per connect"; rc=1; }
	[ $((cpu1 - cpu0)) -lt 150 ] || { echo "the target spins"; rc=1; }
	nvme disconnect -n "$NQN" >/dev/null 2>&1	# any connect that wrongly got in
	kill "$fl" && wait "$fl"
	for i in $(seq 100); do
		[ "$(ls "/proc/$pid/fd" | wc -l)" -lt 24 ] && break
		sleep 0.2
	done
	echo "after the flood: $(ls "/proc/$pid/fd" | wc -l) fds"
	run nvme connect -t rdma -a "$ADDR" -s 4422 -n "$NQN" || rc=1
	if found=$(find_ctrl rdma); then
		set -- $found
		run fio --name=emfile-verify --filename="/dev/$2" --ioengine=libaio --direct=1 \
			--rw=randrw --bs=64k --iodepth=16 --size=8M --verify=crc32c --verify_fatal=1 \
			--do_verify=1 || rc=1
	else
		echo "no live controller after the flood"; rc=1
	fi
	run nvme disconnect -n "$NQN" >/dev/null
	kill -TERM "$pid" && wait "$pid" || { echo "emfile nvmf: exit $?"; tail "$log"; rc=1; }
	# The kernel's lines for the refused connects are expected: the lines
	# before them must be clean still, and dmesg-clean looks at what follows.
	dmesg | tail -n +$((mark + 1)) | grep -vE "$EMFILE_DMESG_OK" | grep -iE "$DMESG_BAD" && rc=1
	if ! dmesg | sed -n "$((DMESG_MARK + 1)),${mark}p" | grep -qiE "$DMESG_BAD"; then
		DMESG_MARK=$(dmesg | wc -l)
	fi
	return $rc
}

rdma_checks() {
	check rdma-link c_rdma_link
	check discover c_discover
	check host-discover c_host_discover
	check host-identify c_host_identify
	check host-perf-verify c_host_perf
	check connect c_connect
	check list c_list
	check id-ctrl c_id_ctrl
	check id-ns c_id_ns
	check ns-descs c_ns_descs
	check smart-log c_smart_log
	check flush c_flush
	check fio c_fio 16M
	check bench c_bench
	if [ "$TARGET" = nvmf ]; then
		check mem-connected c_mem_connected
	fi
	check disconnect c_disconnect
	if [ "$TARGET" = nvmf ]; then
		check mem-returns c_mem_returns
	fi
	check reconnect c_reconnect
	check connect-all c_connect_all 4420
	if [ "$TARGET" = nvmf ]; then
		check bad-input c_rdma_bad
		check pool-wait c_pool_wait
		check out-of-fds c_rdma_emfile
	fi
}
