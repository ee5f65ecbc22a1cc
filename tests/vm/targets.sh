# tests/vm/targets.sh: start and stop the two targets under test, in the guest.
# Sourced by suite.sh; also a worked example of an nvmet setup for the lab.
#
#   nvmet (the control)                       nvmf (under test)
#   /sys/kernel/config/nvmet/                 ./nvmf target -l ADDR:4420
#     subsystems/$NQN  allow_any_host=1         -s $NQN --ns ram:64M
#       namespaces/1  -> $NVMET_IMG             (discovery on 8009 by default)
#     ports/1  TR ADDR:4420 -> $NQN           started in the background,
#     ports/2  tcp 127.0.0.1:8009 -> $NQN     stopped with SIGTERM by PID
#
# nvmet answers discovery on every port, but its discovery log lists only the
# subsystems linked to the port asked, so the 8009 port is linked too.
# The namespace is a 64 MiB file in tmpfs used through nvmet's file backend
# (buffered_io: tmpfs has no O_DIRECT before 6.6), the size nvmf's ram
# namespace has, so the same checks hold for both.
#
# Each *_start returns 0 when the target accepts connections; *_stop undoes
# everything its start did and is safe to call twice.

NQN=nqn.2026-11.io.nvmf:cnode1
NVMET=/sys/kernel/config/nvmet
NVMET_IMG=/tmp/nvmet-ns1.img
NVMF_PID='' NVMF_LOG=''

# Wait up to 10 s for a TCP listener on PORT (RDMA listens in the CM, not in
# a socket: callers pass no port for it).
wait_listen() {
	local i
	for i in $(seq 100); do
		ss -ltnH "sport = :$1" | grep -q . && return 0
		sleep 0.1
	done
	echo "nothing listens on port $1" >&2
	return 1
}

# nvmet_port ID TRTYPE ADDR PORT: make a port and link the subsystem to it.
nvmet_port() {
	local p=$NVMET/ports/$1
	mkdir "$p" || return 1
	echo "$2" >"$p/addr_trtype"
	echo ipv4 >"$p/addr_adrfam"
	echo "$3" >"$p/addr_traddr"
	echo "$4" >"$p/addr_trsvcid"
	ln -s "$NVMET/subsystems/$NQN" "$p/subsystems/$NQN"
}

# nvmet_start TRTYPE ADDR [BACKING]: subsystem, namespace 1, I/O port 4420,
# and for TCP the 8009 discovery port. BACKING defaults to a tmpfs file.
nvmet_start() {
	local tr=$1 addr=$2 dev=${3:-$NVMET_IMG} s=$NVMET/subsystems/$NQN
	modprobe -a nvmet "nvmet-$tr" || return 1
	[ "$dev" = "$NVMET_IMG" ] && truncate -s 64M "$NVMET_IMG"
	mkdir "$s" || return 1
	echo 1 >"$s/attr_allow_any_host"
	mkdir "$s/namespaces/1"
	echo -n "$dev" >"$s/namespaces/1/device_path"
	[ -f "$dev" ] && echo 1 >"$s/namespaces/1/buffered_io"
	echo 1 >"$s/namespaces/1/enable" || return 1
	nvmet_port 1 "$tr" "$addr" 4420 || return 1
	if [ "$tr" = tcp ]; then
		nvmet_port 2 tcp "$addr" 8009 || return 1
		wait_listen 4420 && wait_listen 8009
	fi
}

nvmet_stop() {
	local p
	for p in "$NVMET"/ports/*; do
		[ -d "$p" ] || continue
		rm -f "$p"/subsystems/* "$p"/referrals/* 2>/dev/null
		rmdir "$p"
	done
	if [ -d "$NVMET/subsystems/$NQN" ]; then
		echo 0 >"$NVMET/subsystems/$NQN/namespaces/1/enable" 2>/dev/null
		rmdir "$NVMET/subsystems/$NQN/namespaces/1" 2>/dev/null
		rmdir "$NVMET/subsystems/$NQN"
	fi
	rm -f "$NVMET_IMG"
	return 0
}

# True when ./nvmf exists and answers --help.
nvmf_built() {
	[ -x ./nvmf ] && ./nvmf --help >/dev/null 2>&1
}

# nvmf_start LOG ARGS...: ./nvmf target ARGS in the background; waits for the
# listeners and fails, with the log's tail, if the target dies first.
nvmf_start() {
	local log=$1 port
	shift
	NVMF_LOG=$log
	echo "+ ./nvmf target $*"
	./nvmf target "$@" >"$log" 2>&1 &
	NVMF_PID=$!
	for port in ${NVMF_WAIT_PORTS-4420 8009}; do
		if ! wait_listen "$port" || ! kill -0 "$NVMF_PID" 2>/dev/null; then
			echo "./nvmf target $* did not come up; its log:" >&2
			tail -n 30 "$log" >&2
			return 1
		fi
	done
	[ -z "${NVMF_WAIT_PORTS-x}" ] && sleep 1
	kill -0 "$NVMF_PID" 2>/dev/null
}

# SIGTERM, wait up to 10 s, then SIGKILL: the target must not outlive a test.
# Fails when the target had died already (a crash mid-test), did not exit
# on SIGTERM, or exited with a non-zero status: a clean shutdown is part of
# the contract.
nvmf_stop() {
	local i rc=0 st
	[ -n "$NVMF_PID" ] || return 0
	if ! kill -TERM "$NVMF_PID" 2>/dev/null; then
		echo "./nvmf (pid $NVMF_PID) had died before the end of the test" >&2
		rc=1
	fi
	for i in $(seq 100); do
		kill -0 "$NVMF_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$NVMF_PID" 2>/dev/null; then
		echo "./nvmf ignored SIGTERM for 10 s: SIGKILL" >&2
		kill -KILL "$NVMF_PID"
		rc=1
	fi
	wait "$NVMF_PID" 2>/dev/null
	st=$?
	echo "./nvmf exited with status $st"
	[ "$st" -eq 0 ] || rc=1
	[ "$rc" -eq 0 ] || tail -n 20 "$NVMF_LOG" >&2
	NVMF_PID=
	return $rc
}
