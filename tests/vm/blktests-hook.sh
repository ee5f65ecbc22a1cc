#!/bin/bash
# tests/vm/blktests-hook.sh: the target blktests drives through
# NVME_TARGET_CONTROL, run in the guest by test-blktests.sh.
#
#   blktests-hook.sh config --show-trtype | --show-traddr | ...   one value
#   blktests-hook.sh setup --subsysnqn N --subsys-uuid U --hostnqn H
#                          [--hostkey K] [--ctrlkey K | --ctrkey K]
#   blktests-hook.sh add-ports ...          (blktests itself calls it a stub)
#   blktests-hook.sh cleanup --subsysnqn N
#
# blktests' nvme group normally builds nvmet through configfs itself; with
# this hook it asks us instead, so the same tests run against either target:
#
#   BT_TARGET=nvmet    configfs: subsystem N, namespace 1 (uuid U), host H
#                      allowed, port 1 on BT_TRTYPE BT_TRADDR:BT_TRSVCID
#   BT_TARGET=nvmf     ./nvmf rpc -s BT_RPC (SPDK's method names): a bdev on
#                      the backing store, subsystem N, the namespace with
#                      uuid U, host H (with its DH-HMAC-CHAP keys), listener
#
# The backing store is made here, not by blktests (a hook is told no path):
# a sparse BT_SIZE file in BT_STATE, behind a loop device when
# BT_BLKDEV=device (the default), or the file itself when BT_BLKDEV=file.
# State per subsystem lives in BT_STATE/<hash of N>, so cleanup finds what
# setup made. Errors go to stderr and the status; blktests hides our output
# and sees the result as a connect that fails.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
NVMET=/sys/kernel/config/nvmet
: "${BT_TARGET:=nvmf}" "${BT_TRTYPE:=tcp}" "${BT_TRADDR:=127.0.0.1}"
: "${BT_TRSVCID:=4420}" "${BT_BLKDEV:=device}" "${BT_SIZE:=1G}"
: "${BT_STATE:=/tmp/blktests-hook}" "${BT_RPC:=/tmp/blktests-nvmf.sock}"
# blktests' own defaults, so that its checks of the host identity hold.
HOSTID=0f01fb42-9f7f-4856-b0b3-51e60b8de349
HOSTNQN=nqn.2014-08.org.nvmexpress:uuid:$HOSTID
SUBSYS_UUID=91fdba0d-f87b-4c25-b80f-db7be1418b9e

die() { echo "blktests-hook: $*" >&2; exit 1; }
rpc() { "$REPO/nvmf" rpc -s "$BT_RPC" "$@" >/dev/null || die "rpc $1 failed"; }
# The same without stopping: cleanup undoes as much as it can.
rpc_try() { "$REPO/nvmf" rpc -s "$BT_RPC" "$@" >/dev/null; }

# ---- config: the values blktests uses to connect ----------------------------

hook_config() {
	case ${1:-} in
	--show-blkdev-type) echo "$BT_BLKDEV" ;;
	--show-trtype) echo "$BT_TRTYPE" ;;
	--show-hostnqn) echo "$HOSTNQN" ;;
	--show-hostid) echo "$HOSTID" ;;
	--show-host-traddr) echo "$BT_TRADDR" ;;
	--show-traddr) echo "$BT_TRADDR" ;;
	--show-trsvid) echo "$BT_TRSVCID" ;;
	--show-subsys-uuid) echo "$SUBSYS_UUID" ;;
	--show-subsysnqn) echo blktests-subsystem-1 ;;
	*) die "config: unknown option '${1:-}'" ;;
	esac
}

# ---- backing store ------------------------------------------------------------

# The directory holding what setup made for subsystem $1 (any name: hashed).
state_dir() { echo "$BT_STATE/$(printf '%s' "$1" | md5sum | cut -c1-16)"; }

# backing_make DIR: the image and, for "device", its loop device; prints the
# path the namespace uses.
backing_make() {
	local img=$1/ns.img dev
	truncate -s "$BT_SIZE" "$img" || die "cannot make $img"
	dev=$img
	if [ "$BT_BLKDEV" = device ]; then
		dev=$(losetup -f --show "$img") || die "losetup $img failed"
		echo "$dev" >"$1/loop"
	fi
	echo "$dev"
}

backing_free() {
	[ -s "$1/loop" ] && losetup -d "$(cat "$1/loop")"
	rm -rf "$1"
}

# ---- nvmet through configfs -------------------------------------------------

# nvmet_setup N U H HOSTKEY CTRLKEY DEV
nvmet_setup() {
	local s=$NVMET/subsystems/$1 h=$NVMET/hosts/$3 p=$NVMET/ports/1
	mkdir "$s" || die "nvmet refused subsystem '$1'"
	echo 0 >"$s/attr_allow_any_host"
	[ -d "$h" ] || mkdir "$h" || die "nvmet refused host '$3'"
	# Keys are set on the host entry, as blktests does without a hook.
	[ -n "$4" ] && { echo "$4" >"$h/dhchap_key" || die "nvmet: dhchap_key refused"; }
	[ -n "$5" ] && { echo "$5" >"$h/dhchap_ctrl_key" || die "nvmet: dhchap_ctrl_key refused"; }
	ln -s "$h" "$s/allowed_hosts/$3" || die "cannot allow host '$3'"
	mkdir "$s/namespaces/1"
	echo -n "$6" >"$s/namespaces/1/device_path"
	echo "$2" >"$s/namespaces/1/device_uuid"
	[ -f "$6" ] && echo 1 >"$s/namespaces/1/buffered_io"
	echo 1 >"$s/namespaces/1/enable" || die "nvmet: namespace on $6 not enabled"
	if [ ! -d "$p" ]; then
		mkdir "$p"
		echo "$BT_TRTYPE" >"$p/addr_trtype"
		echo ipv4 >"$p/addr_adrfam"
		echo "$BT_TRADDR" >"$p/addr_traddr"
		echo "$BT_TRSVCID" >"$p/addr_trsvcid"
	fi
	ln -s "$s" "$p/subsystems/$1" || die "cannot link '$1' to port 1"
}

nvmet_cleanup() {
	local s=$NVMET/subsystems/$1 p h
	for p in "$NVMET"/ports/*; do
		rm -f "$p/subsystems/$1"
		# The port goes with its last subsystem: the next test starts clean.
		[ -n "$(ls "$p/subsystems")" ] || rmdir "$p"
	done
	[ -d "$s" ] || return 0
	for h in "$s"/allowed_hosts/*; do
		[ -L "$h" ] || continue
		rm -f "$h"
		rmdir "$NVMET/hosts/${h##*/}" 2>/dev/null
	done
	echo 0 >"$s/namespaces/1/enable" 2>/dev/null
	rmdir "$s"/namespaces/* 2>/dev/null
	rmdir "$s" || die "cannot remove nvmet subsystem '$1'"
}

# ---- nvmf through its JSON-RPC ----------------------------------------------

# nvmf_setup N U H HOSTKEY CTRLKEY DEV DIR: the key files go through
# keyring_file_add_key and are named in nvmf_subsystem_add_host, SPDK's way.
nvmf_setup() {
	local bdev=bt${7##*/} keys=()
	if [ "$BT_BLKDEV" = device ]; then
		rpc bdev_aio_create "$6" "$bdev"
	else
		rpc bdev_uring_create "$6" "$bdev"
	fi
	echo "$bdev" >"$7/bdev"
	rpc nvmf_create_subsystem "$1"
	rpc nvmf_subsystem_add_ns "$1" "$bdev" -u "$2"
	if [ -n "$4" ]; then
		printf '%s\n' "$4" >"$7/hostkey" && chmod 600 "$7/hostkey"
		rpc keyring_file_add_key "h$bdev" "$7/hostkey"
		echo "h$bdev" >>"$7/keys"
		keys+=(--dhchap-key "h$bdev")
	fi
	if [ -n "$5" ]; then
		printf '%s\n' "$5" >"$7/ctrlkey" && chmod 600 "$7/ctrlkey"
		rpc keyring_file_add_key "c$bdev" "$7/ctrlkey"
		echo "c$bdev" >>"$7/keys"
		keys+=(--dhchap-ctrlr-key "c$bdev")
	fi
	rpc nvmf_subsystem_add_host "$1" "$3" "${keys[@]}"
	echo "$3" >"$7/host"
	rpc nvmf_subsystem_add_listener "$1" -t "$BT_TRTYPE" -a "$BT_TRADDR" \
		-f ipv4 -s "$BT_TRSVCID"
}

nvmf_cleanup() {
	local k del=bdev_aio_delete rc=0
	[ "$BT_BLKDEV" = device ] || del=bdev_uring_delete
	# The host entry goes first: a key still named by a host is in use,
	# and keyring_file_remove_key refuses it.
	rpc_try nvmf_subsystem_remove_host "$1" "$(cat "$2/host")" || rc=1
	for k in $(cat "$2/keys" 2>/dev/null); do
		rpc_try keyring_file_remove_key "$k" || rc=1
	done
	rpc_try nvmf_delete_subsystem "$1" || rc=1
	if [ -s "$2/bdev" ]; then
		rpc_try "$del" "$(cat "$2/bdev")" || rc=1
	fi
	return $rc
}

# ---- commands -----------------------------------------------------------------

hook_setup() {
	local nqn='' uuid=$SUBSYS_UUID host=$HOSTNQN hkey='' ckey='' dir dev
	while [ $# -gt 0 ]; do
		case $1 in
		--subsysnqn) nqn=$2 ;;
		--subsys-uuid) uuid=$2 ;;
		--hostnqn) host=$2 ;;
		--hostkey) hkey=$2 ;;
		# blktests spells it --ctrkey; its documentation --ctrlkey.
		--ctrlkey | --ctrkey) ckey=$2 ;;
		*) die "setup: unknown option '$1'" ;;
		esac
		shift 2
	done
	[ -n "$nqn" ] || die "setup: no --subsysnqn"
	dir=$(state_dir "$nqn")
	[ -d "$dir" ] && die "setup: '$nqn' is set up already"
	mkdir -p "$dir"
	dev=$(backing_make "$dir") || exit 1
	"${BT_TARGET}_setup" "$nqn" "$uuid" "$host" "$hkey" "$ckey" "$dev" "$dir"
}

hook_cleanup() {
	local nqn='' dir
	[ "${1:-}" = --subsysnqn ] && nqn=${2:-}
	[ -n "$nqn" ] || die "cleanup: no --subsysnqn"
	dir=$(state_dir "$nqn")
	"${BT_TARGET}_cleanup" "$nqn" "$dir"
	backing_free "$dir"
}

case $BT_TARGET in
nvmet | nvmf) ;;
*) die "BT_TARGET is '$BT_TARGET', not nvmet or nvmf" ;;
esac
cmd=${1:-}
shift
case $cmd in
config) hook_config "$@" ;;
setup) hook_setup "$@" ;;
add-ports) echo "add-ports: one port per target, nothing to add" >&2 ;;
cleanup) hook_cleanup "$@" ;;
*) die "usage: $0 config|setup|add-ports|cleanup ..." ;;
esac
