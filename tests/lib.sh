# tests/lib.sh - what the shell tests share. Source it from the repo root
# after setting DETAIL, the file each check's output is appended to:
#
#   DETAIL=tests/out/x_test.detail; . tests/lib.sh
#   check "what it proves" COMMAND ARGS...    -> "ok - ..." / "not ok - ..."
#   port=$(free_port)                         -> a TCP port nobody holds now
#   echo "x_test: $pass passed, $fail failed" (tests/run.sh adds these up)
pass=0 fail=0

check() {	# check DESCRIPTION COMMAND...: passes when COMMAND succeeds
	local what=$1; shift
	if "$@" >>"$DETAIL" 2>&1; then
		echo "ok - $what"; pass=$((pass + 1))
	else
		echo "not ok - $what"; fail=$((fail + 1))
		tail -n 20 "$DETAIL" | sed 's/^/    /'
	fi
}

# wait_target OUT PID [SECONDS]: wait up to SECONDS (10) for the target
# PID, started in the background with its stdout on OUT, to print its
# "try:" line (it listens by then); if it exits first or never does, show
# what it printed and fail.
#   OUT counts only once it is PID's stdout: `./nvmf ... >OUT &` returns
#   before the child has opened (and so emptied) OUT, and a "try:" still
#   there from the last run, or from the last target of this one, would
#   let the test talk to a port nobody listens on yet ("Connection
#   refused"). A target whose stdout is not OUT (a pipe) never counts.
wait_target() {
	local out=$1 pid=$2 i
	for i in $(seq $((${3:-10} * 10))); do
		[ /proc/"$pid"/fd/1 -ef "$out" ] && grep -q '^try:' "$out" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$out"
	return 1
}

# The kernel picks the port, so two tests running at once never collide
# (a random number could).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---- SPDK's own programs, the peer ------------------------------------
# SPDK v23.05's nvmf_tgt, perf, identify and rpc.py live in ../shared/spdk
# beside the clone (NVMF_SHARED overrides; a worktree under /work/wt has
# none beside it, so /work/shared is the fallback). spdk_kit sets SPDK to
# the kit's `run` wrapper, or returns 1 when there is no kit.
spdk_kit() {
	local d=${NVMF_SHARED:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared}
	[ -x "$d/spdk/run" ] || d=/work/shared
	[ -x "$d/spdk/run" ] || return 1
	SPDK=$d/spdk/run
}

# spdk_tgt_start SOCK LOG [SMALL LARGE]: SPDK's nvmf_tgt on core 0, its RPC
# on SOCK, ready for rpc.py; sets spdk_pid (the caller kills it in its
# trap: it polls its core at 100% until then). SMALL and LARGE size its
# data buffer pools (8 KiB and 132 KiB buffers, default 2048 and 256):
# the stock 8192 and 1024 take 200 MiB of hugepages, and the machine's
# 1 GiB of them is shared. --disable-cpumask-locks: another SPDK program
# on the same machine may hold core 0's lock file, which is no concern of
# ours. Returns 1 when it does not come up.
spdk_tgt_start() {
	local sock=$1 log=$2 i
	rm -f "$sock"
	"$SPDK" nvmf_tgt -m 0x1 -u -r "$sock" --disable-cpumask-locks --wait-for-rpc >"$log" 2>&1 &
	spdk_pid=$!
	for i in $(seq 100); do
		[ -S "$sock" ] && break
		kill -0 "$spdk_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	"$SPDK" rpc.py -s "$sock" iobuf_set_options --small-pool-count "${3:-2048}" \
		--large-pool-count "${4:-256}" >>"$log" 2>&1 &&
		"$SPDK" rpc.py -s "$sock" framework_start_init >>"$log" 2>&1 &&
		"$SPDK" rpc.py -s "$sock" framework_wait_init >>"$log" 2>&1
}
