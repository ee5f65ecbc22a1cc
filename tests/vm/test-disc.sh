# tests/vm/test-disc.sh: a discovery log longer than one command carries.
# Sourced by suite.sh, which runs disc_checks against each target.
#
#   target: DISC_N subsystems (no namespaces needed to be listed) on
#   127.0.0.1:4420; DISC_N entries are about 300 KiB of log, more than
#   one Get Log Page moves, so the host reads it in pieces at an offset
#     nvmet: configfs, every subsystem linked to port 1
#     nvmf:  ./nvmf -s NQN --ns null:1M, DISC_N times, no 8009 port
#   nvme discover -s 4420   (the kernel host: libnvme reads header, pieces,
#                            header again)  | ./nvmf discover (nvmf's host)
# Both must list every subsystem exactly once, and the record count in the
# header must be the number of entries read.
. tests/vm/fabrics.sh

DISC_N=300
DISC_PFX=nqn.2026-12.io.nvmf:disc

disc_nqns() { seq -f "$DISC_PFX%03g" 1 "$DISC_N"; }

# One mkdir and one ln for all subsystems: under TCG every fork costs,
# and 300 of each took minutes.
disc_start_nvmet() {
	local p=$NVMET/ports/1 nqn dirs=()
	modprobe -a nvmet nvmet-tcp || return 1
	mkdir "$p" || return 1
	echo tcp >"$p/addr_trtype"
	echo ipv4 >"$p/addr_adrfam"
	echo 127.0.0.1 >"$p/addr_traddr"
	echo 4420 >"$p/addr_trsvcid"
	for nqn in $(disc_nqns); do
		dirs+=("$NVMET/subsystems/$nqn")
	done
	mkdir "${dirs[@]}" || return 1
	for nqn in "${dirs[@]}"; do
		echo 1 >"$nqn/attr_allow_any_host" || return 1
	done
	ln -s "${dirs[@]}" "$p/subsystems/" || return 1
	wait_listen 4420
}

disc_stop_nvmet() {
	rm -f "$NVMET"/ports/1/subsystems/* 2>/dev/null
	rmdir "$NVMET/ports/1" 2>/dev/null
	rmdir "$NVMET"/subsystems/"$DISC_PFX"* 2>/dev/null
	return 0
}

disc_skip_nvmf() { nvmf_built || echo "./nvmf not built"; }
disc_start_nvmf() {
	local args=() nqn
	for nqn in $(disc_nqns); do
		args+=(-s "$nqn" --ns null:1M)
	done
	NVMF_WAIT_PORTS=4420 nvmf_start "$LOGS/nvmf-disc.log" -l 127.0.0.1:4420 -D 0 "${args[@]}"
}
disc_stop_nvmf() { nvmf_stop; }

# disc_all OUTPUT: every one of the DISC_N subsystems listed exactly once,
# and "Number of Records N" equal to the entries printed.
disc_all() {
	local out=$1 numrec entries listed
	numrec=$(echo "$out" | sed -n 's/^Discovery Log Number of Records \([0-9]*\),.*/\1/p')
	entries=$(echo "$out" | grep -c '^=====Discovery Log Entry')
	listed=$(echo "$out" | grep -oE "^subnqn: +$DISC_PFX[0-9]{3}\$" | awk '{ print $2 }' | sort)
	echo "NUMREC $numrec, entries $entries, subsystems $(echo "$listed" | grep -c .)"
	[ -n "$numrec" ] && [ "$numrec" -eq "$entries" ] || { echo "NUMREC is not the number of entries"; return 1; }
	[ "$listed" = "$(disc_nqns)" ] || { echo "not every subsystem listed exactly once"; return 1; }
}

c_disc_kernel() {
	local out
	out=$(run nvme discover -t tcp -a 127.0.0.1 -s 4420) || { echo "$out"; return 1; }
	disc_all "$out" || { echo "$out" | tail -n 30; return 1; }
}

c_disc_host() {
	local out
	out=$(run ./nvmf discover -r "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:4420") ||
		{ echo "$out"; return 1; }
	disc_all "$out" || { echo "$out" | tail -n 30; return 1; }
}

disc_checks() {
	check discover-300 c_disc_kernel
	check host-side-300 c_disc_host
}
