#!/usr/bin/env bash
# tests/readme_test.sh - the README's blocks work as pasted.
#
#   README.md
#     <!-- readme_test: banner -->  the banner ./nvmf prints: each line of
#                                   the block must appear, in order
#     <!-- readme_test: host -->    run with ./nvmf (defaults) running
#     <!-- readme_test: live -->    run as is, five times in a row: it
#                                   starts its own target with `&` and
#                                   talks to it at once
#
# The blocks use what a user's machine has: port 4420, discovery on 8009,
# the RPC socket /var/tmp/spdk.sock. Here other people's targets may hold
# all three, so the test runs inside its own namespaces instead of
# editing the blocks: a network namespace (a loopback of its own, every
# port free), a mount namespace with an empty /var/tmp, and a PID
# namespace, so that whatever a block leaves running in the background
# dies with it when the test ends, even when it fails.
set -u
cd "$(dirname "$0")/.."
repo=$PWD

# Extract the fenced block that follows the marker NAME, without fences.
readme_block() {
	awk -v want="<!-- readme_test: $1 -->" '
	$0 == want { armed = 1; next }
	armed && /^```/ { if (inside) exit; inside = 1; next }
	inside { print }' "$repo/README.md"
}

if [ "${1:-}" != --inside ]; then
	# Root (CI) may make namespaces directly; anyone else maps themself
	# to root in a user namespace first.
	[ "$(id -u)" = 0 ] && user= || user=-r
	if ! unshare $user -nmpf --mount-proc true 2>/dev/null; then
		echo "skip - readme_test: cannot create namespaces here (unshare -nmp): the README's fixed port and socket would collide with other targets"
		echo "readme_test: 0 passed, 0 failed, 1 skipped"
		exit 0
	fi
	[ -x ./nvmf ] || { echo "not ok - ./nvmf is not built"; echo "readme_test: 0 passed, 1 failed"; exit 1; }
	exec unshare $user -nmpf --mount-proc bash "$0" --inside
fi

# ---- inside the namespaces ---------------------------------------------
mkdir -p tests/out
DETAIL=$repo/tests/out/readme_test.detail
: >"$DETAIL"
. tests/lib.sh
ip link set lo up
mount -t tmpfs tmpfs /var/tmp
# A directory of the user's: ./nvmf there is this build, and files the
# blocks write (save_config's nvmf.json) land there, not in the tree.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ln -s "$repo/nvmf" "$work/nvmf"
cd "$work"

# run_block NAME LOG: the block as a user pastes it into bash, in its own
# process group (timeout makes one) that is killed afterwards with
# whatever it started with `&`; 0 when every line succeeded.
run_block() {
	local rc
	readme_block "$1" >"$work/$1.sh"
	# A marker that lost its block must not pass as an empty success.
	[ -s "$work/$1.sh" ] || { echo "no block after <!-- readme_test: $1 -->" >>"$DETAIL"; return 1; }
	timeout -k 5 60 bash -eo pipefail "$work/$1.sh" >"$2" 2>&1 &
	local tpid=$!
	wait "$tpid"
	rc=$?
	kill -TERM -- "-$tpid" 2>/dev/null
	sleep 0.2
	cat "$2" >>"$DETAIL"
	return "$rc"
}

# The lines of the README's block appear in the banner, in order. A build
# without RDMA names only TCP, as the README's note on --version says.
banner_matches() {
	local want=$work/banner.want
	readme_block banner >"$want"
	[ -s "$want" ] || return 1
	if ! ./nvmf --version 2>&1 | grep -qw rdma; then
		sed -i -e 's|(NVMe/TCP, NVMe/RDMA)|(NVMe/TCP)|' -e 's| (128 KiB over RDMA)||' "$want"
	fi
	awk 'NR == FNR { want[++n] = $0; next }
	     i < n && index($0, want[i + 1]) { i++ }
	     END { if (i < n) { print "banner lacks: " want[i + 1]; exit 1 } }' \
		"$want" "$work/target.log"
}

./nvmf >"$work/target.log" 2>&1 &
target=$!
check "./nvmf starts" wait_target "$work/target.log" $target
check "./nvmf prints the README's banner" banner_matches
check "the host-side block runs against ./nvmf" run_block host "$work/host.log"
kill "$target"
wait "$target" 2>/dev/null

# `./nvmf --empty &` then `./nvmf rpc ...` at once: the client waits for
# the socket. Five rounds, because a race loses only sometimes.
for round in 1 2 3 4 5; do
	rm -f nvmf.json
	check "the live-configuration block, round $round of 5" run_block live "$work/live.log"
	check "... its save_config wrote a configuration with the subsystem" \
		grep -q 'nqn.2016-06.io.spdk:cnode1' nvmf.json
done
echo "readme_test: $pass passed, $fail failed"
[ "$fail" = 0 ]
