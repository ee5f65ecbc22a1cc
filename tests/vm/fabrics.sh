# tests/vm/fabrics.sh: the host-side checks, with nvme-cli and fio, that the
# TCP and RDMA tests share. Sourced by test-tcp.sh and test-rdma.sh.
#
#   inputs   TR (tcp|rdma), ADDR (target address), NQN (targets.sh)
#   state    c_connect sets CTRL (nvme1) and DEV (nvme1n1) for the checks after
#
#   discover --> connect --> list, id-ctrl, id-ns, ns-descs, smart-log,
#                get-feature 7, flush, fio --> disconnect --> reconnect
#                --> connect-all
#
# Each c_* prints what it ran and saw, and returns non-zero on a mismatch.
# The expected values are what the spec and the Linux host require,
# checked on nvmet first: a check nvmet fails is wrong.

CTRL='' DEV=''

# Checks after a failed connect fail at once rather than on "/dev/".
need_ctrl() {
	[ -n "$CTRL" ] && [ -e "/dev/$CTRL" ] && return 0
	echo "no controller: the connect before this check failed"
	return 1
}

# Run a command, echoing it first so the check's log reads like a transcript;
# kill it after RUN_TIMEOUT seconds (a hung target must not eat the VM's time).
run() {
	echo "+ $*"
	timeout -k 5 "${RUN_TIMEOUT:-120}" "$@"
}

# c_discover [-s PORT]: the log page must list $NQN over $TR.
c_discover() {
	local out
	out=$(run nvme discover -t "$TR" -a "$ADDR" "$@") || { echo "$out"; return 1; }
	echo "$out"
	echo "$out" | grep -qE "^subnqn: +$NQN\$" || { echo "no entry for $NQN"; return 1; }
	echo "$out" | grep -qE "^trtype: +$TR\$" || { echo "no trtype $TR"; return 1; }
}

# c_connect [nvme connect options]: connect to $NQN on port 4420 and wait
# for a live controller with a namespace block device.
c_connect() {
	local found
	run nvme connect -t "$TR" -a "$ADDR" -s 4420 -n "$NQN" "$@" || return 1
	found=$(find_ctrl "$TR") || { echo "no live $TR controller for $NQN"; return 1; }
	set -- $found
	CTRL=$1 DEV=$2
	echo "controller $CTRL, namespace $DEV"
}

c_list() {
	need_ctrl || return 1
	local out
	out=$(run nvme list) || return 1
	echo "$out"
	echo "$out" | grep -qw "/dev/$DEV" || { echo "/dev/$DEV not listed"; return 1; }
}

# The values the Linux host checks before it accepts a controller.
c_id_ctrl() {
	need_ctrl || return 1
	local out v
	out=$(run nvme id-ctrl "/dev/$CTRL") || return 1
	echo "$out"
	v=$(echo "$out" | field subnqn)
	[ "$v" = "$NQN" ] || { echo "subnqn '$v', expected '$NQN'"; return 1; }
	v=$(echo "$out" | field cntlid)
	[ $((v)) -eq $(($(cat "/sys/class/nvme/$CTRL/cntlid"))) ] ||
		{ echo "cntlid $v differs from the Connect answer"; return 1; }
	v=$(echo "$out" | field kas)
	[ $((v)) -ne 0 ] || { echo "kas is 0"; return 1; }
	v=$(echo "$out" | field ioccsz)
	[ $((v)) -ge 4 ] || { echo "ioccsz $v < 4"; return 1; }
	v=$(echo "$out" | field iorcsz)
	[ $((v)) -ge 1 ] || { echo "iorcsz $v < 1"; return 1; }
	v=$(echo "$out" | field maxcmd)
	[ $((v)) -ne 0 ] || { echo "maxcmd is 0"; return 1; }
}

# The namespace's size from Identify must be the block device's: 64 MiB.
c_id_ns() {
	need_ctrl || return 1
	local out nsze ncap flbas lbads bytes
	out=$(run nvme id-ns "/dev/$DEV") || return 1
	echo "$out"
	nsze=$(echo "$out" | field nsze)
	ncap=$(echo "$out" | field ncap)
	flbas=$(echo "$out" | field flbas)
	lbads=$(echo "$out" | awk -v f=$(($flbas & 0xf)) \
		'$1 == "lbaf" && $2 == f { sub(/.*lbads:/, ""); print $1 + 0 }')
	[ -n "$lbads" ] || { echo "no lbaf for flbas $flbas"; return 1; }
	bytes=$(( nsze << lbads ))
	echo "nsze $nsze << lbads $lbads = $bytes bytes"
	[ $((ncap)) -le $((nsze)) ] && [ $((ncap)) -gt 0 ] || { echo "bad ncap $ncap"; return 1; }
	[ "$bytes" -eq "$(blockdev --getsize64 "/dev/$DEV")" ] || { echo "block device size differs"; return 1; }
	[ "$bytes" -eq $((64 << 20)) ] || { echo "expected 64 MiB"; return 1; }
}

# The host needs a unique ID (UUID, NGUID or EUI-64) for every namespace.
c_ns_descs() {
	need_ctrl || return 1
	local out
	out=$(run nvme ns-descs "/dev/$DEV") || return 1
	echo "$out"
	echo "$out" | grep -qiE '^(uuid|nguid|eui64) *: *[0-9a-f]' || { echo "no namespace ID"; return 1; }
}

c_smart_log() {
	need_ctrl || return 1
	local out
	out=$(run nvme smart-log "/dev/$CTRL") || return 1
	echo "$out"
	echo "$out" | grep -q critical_warning
}

# Number of Queues: the host set it at connect; read it back.
c_get_feature_7() {
	need_ctrl || return 1
	local out
	out=$(run nvme get-feature "/dev/$CTRL" -f 7) || return 1
	echo "$out"
	echo "$out" | grep -qi 'Current value'
}

c_flush() {
	need_ctrl || return 1
	run nvme flush "/dev/$DEV"
}

# c_fio SIZE: random mixed reads and writes, 4 KiB to 512 KiB (larger than one
# H2CData PDU or one MDTS), each written block read back and CRC32C-checked.
c_fio() {
	need_ctrl || return 1
	run fio --name=randrw-verify --filename="/dev/$DEV" --ioengine=libaio \
		--direct=1 --rw=randrw --bssplit=4k/50:64k/30:512k/20 --iodepth=16 \
		--size="$1" --verify=crc32c --verify_fatal=1 --do_verify=1 &&
	echo "fio: $1 written, read and verified"
}

c_disconnect() {
	local out
	CTRL='' DEV=''
	out=$(run nvme disconnect -n "$NQN") || { echo "$out"; return 1; }
	echo "$out"
	echo "$out" | grep -q 'disconnected 1 controller' || return 1
	wait_gone
}

# Connect again to the same target, read a block, disconnect.
c_reconnect() {
	c_connect || return 1
	run dd if="/dev/$DEV" of=/dev/null bs=4k count=16 iflag=direct || return 1
	c_disconnect
}

# c_connect_all PORT: discover through PORT and connect to every entry.
c_connect_all() {
	run nvme connect-all -t "$TR" -a "$ADDR" -s "$1" || return 1
	c_list_after_connect_all
}
c_list_after_connect_all() {
	local found
	found=$(find_ctrl "$TR") || { echo "connect-all made no live controller for $NQN"; return 1; }
	set -- $found
	CTRL=$1 DEV=$2
	echo "controller $CTRL, namespace $DEV"
	run nvme disconnect-all
	wait_gone
}
