#!/usr/bin/env bash
# tests/spdk_rpc_test.sh - SPDK's own rpc.py (v23.05, ../shared/spdk)
# against ./nvmf, and the same requests against SPDK's nvmf_tgt to compare:
#
#   1. the seed sequence with rpc.py against each target, then
#      nvmf_get_subsystems, bdev_get_bdevs and save_config compared: same
#      keys and types, same values but for the differences by design
#      listed in BY_DESIGN below; the monitoring methods too
#   2. configs both ways: rpc.py save_config from nvmf, load_config into
#      a fresh nvmf_tgt, and the other way round; the subsystems,
#      namespaces, hosts and listeners come out the same
#   3. every rpc.py line of README.md and tutorial/*.md, with SPDK's
#      rpc.py, against a fresh ./nvmf; and the README's block pasted as
#      is (`./nvmf --empty &` then `./nvmf rpc ...` at once)
#   4. the default socket /var/tmp/spdk.sock never stops the target:
#      held by a live server, read-only, a stale socket of root's met by
#      user nobody; an explicit -r with the same problem is an error
#
# Parts 3 and 4 use the default path and port 4420 as a user would, so
# they run in their own mount and network namespaces (unshare -mn) with
# a private /var/tmp: nothing of another target on this machine is seen
# or touched. nvmf_tgt polls (a core at 100%) and is stopped by PID.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${NVMF_SHARED:-$ROOT/../shared}
[ -d "$SHARED/spdk" ] || SHARED=/work/shared	# a worktree beside the kit
SPDK=$SHARED/spdk
mkdir -p tests/out
DETAIL=tests/out/spdk_rpc_test.detail
: >"$DETAIL"
. tests/lib.sh
if [ ! -x "$SPDK/run" ] || [ ! -f "$SPDK/scripts/rpc.py" ]; then
	echo "skip - spdk_rpc_test: SPDK's kit is not at $SPDK (set NVMF_SHARED to the directory holding spdk/)"
	echo "spdk_rpc_test: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
T=$(mktemp -d)
chmod 755 "$T"			# user nobody runs ./nvmf with files in here
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

# SPDK's run wrapper execs python3 on scripts/rpc.py; so do we, with the
# interpreter itself rather than a version manager's shim in PATH, which
# costs more than the request on a loaded machine.
PY=$(python3 -c 'import sys; print(sys.executable)')
rpcpy() { "$PY" "$SPDK/scripts/rpc.py" "$@"; }

# start_nvmf SOCK: an empty ./nvmf on its own socket; sets $tgt.
start_nvmf() {
	./nvmf --empty -D 0 -r "$1" >>"$T/nvmf.out" 2>&1 &
	tgt=$!; pids+=($tgt)
	rpcpy -s "$1" -t 10 -r 50 framework_wait_init >/dev/null
}
# start_spdk SOCK: SPDK's target on core 0, no PCI devices; sets $tgt.
start_spdk() {
	"$SPDK/run" nvmf_tgt -m 0x1 -u -r "$1" >>"$T/spdk.out" 2>&1 &
	tgt=$!; pids+=($tgt)
	for _ in $(seq 300); do
		[ -S "$1" ] && break
		kill -0 $tgt 2>/dev/null || return 1
		sleep 0.1
	done
	rpcpy -s "$1" -t 30 framework_wait_init >/dev/null
}
stop() {	# stop the target; its log goes to the detail file
	kill "$tgt" 2>/dev/null; wait "$tgt" 2>/dev/null
	cat "$T"/*.out >>"$DETAIL" 2>/dev/null; rm -f "$T"/*.out
	return 0
}

port=$(free_port)
nqn=nqn.2016-06.io.spdk:cnode1
nqn2=nqn.2016-06.io.spdk:cnode2
hostnqn=nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555

# The seed tutorial's lines, then a second subsystem with an allow list
# and a namespace at a chosen NSID, so hosts and NSIDs travel too. One
# rpc.py reads them all from stdin (its script mode, which SPDK's own
# tests use); each line is still parsed and sent as on the command line.
seed() {	# seed SOCK DIR: configure, then save what the target reports
	rpcpy -s "$1" <<-EOF && snapshot "$1" "$2"
	nvmf_create_transport -t TCP -u 16384 -m 8 -c 8192
	bdev_malloc_create -b Malloc0 64 512
	bdev_malloc_create -b Malloc1 32 4096
	nvmf_create_subsystem $nqn -a -s SPDK00000000000001 -d SPDK_Controller1
	nvmf_subsystem_add_ns $nqn Malloc0
	nvmf_subsystem_add_listener $nqn -t tcp -a 127.0.0.1 -s $port
	nvmf_create_subsystem $nqn2 -s SPDK00000000000002
	nvmf_subsystem_add_host $nqn2 $hostnqn
	nvmf_subsystem_add_ns -n 3 $nqn2 Malloc1
	nvmf_subsystem_add_listener $nqn2 -t tcp -a 127.0.0.1 -s $port
	EOF
}
snapshot() {	# snapshot SOCK DIR: what the comparisons read
	mkdir -p "$2" &&
	rpcpy -s "$1" nvmf_get_subsystems >"$2/subsystems.json" &&
	rpcpy -s "$1" bdev_get_bdevs >"$2/bdevs.json" &&
	rpcpy -s "$1" save_config >"$2/config.json" &&
	for m in spdk_get_version framework_get_reactors nvmf_get_stats bdev_get_iostat \
		 nvmf_get_transports framework_get_subsystems; do
		rpcpy -s "$1" $m >"$2/$m.json" || return 1
	done
}

# ---- comparing two targets' answers -----------------------------------------
# Paths are keys joined by '.', [] for any list element. What differs by
# design, and why; anything else that differs fails the comparison.
BY_DESIGN='
bdevs[].aliases                    SPDK lists each bdev UUID as an alias; nvmf bdevs have no UUID
bdevs[].uuid                       nvmf bdevs have no UUID (the namespace has one)
bdevs[].assigned_rate_limits       nvmf has no QoS rate limits
bdevs[].claim_type                 nvmf has one kind of claim, shown by "claimed"
bdevs[].zoned                      nvmf has no zoned bdevs
bdevs[].memory_domains             SPDK accel DMA domains; nvmf has none
bdevs[].driver_specific            SPDK per-module details
bdevs[].supported_io_types.reset   nvmf lists only the I/O types it serves
bdevs[].supported_io_types.compare
bdevs[].supported_io_types.compare_and_write
bdevs[].supported_io_types.abort
bdevs[].supported_io_types.nvme_admin
bdevs[].supported_io_types.nvme_io
subsystems[].max_cntlid            nvmf hands out CNTLIDs 1..NVMF_CNTLID_MAX
subsystems[].namespaces[].nguid    random per namespace on each target
subsystems[].namespaces[].uuid     random per namespace on each target
config.subsystems[]                SPDK has iobuf, sock, vmd, accel, nbd and scheduler sections
config.bdev[]                      SPDK writes bdev_set_options, bdev_nvme_set_* and bdev_wait_for_examine
config.nvmf[]                      SPDK writes nvmf_set_config, nvmf_set_max_subsystems, nvmf_set_crdt
config.bdev_malloc_create.physical_block_size   not an nvmf bdev property
config.bdev_malloc_create.optimal_io_boundary   not an nvmf bdev property
config.bdev_malloc_create.uuid                  nvmf bdevs have no UUID
config.nvmf_create_transport.max_aq_depth       SPDK buffer and pool tuning nvmf does not have
config.nvmf_create_transport.num_shared_buffers
config.nvmf_create_transport.buf_cache_size
config.nvmf_create_transport.dif_insert_or_strip
config.nvmf_create_transport.zcopy
config.nvmf_create_transport.c2h_success
config.nvmf_create_transport.sock_priority
config.nvmf_create_transport.abort_timeout_sec
config.nvmf_create_transport.io_unit_size       SPDK buffer chunk; nvmf gives a command one buffer
config.nvmf_create_subsystem.min_cntlid         nvmf always starts at CNTLID 1
config.nvmf_create_subsystem.max_cntlid
config.nvmf_create_subsystem.ana_reporting      nvmf has no ANA
config.nvmf_subsystem_add_ns.namespace.nguid    random per namespace on each target
config.nvmf_subsystem_add_ns.namespace.uuid
transports[].max_aq_depth          as nvmf_create_transport above
transports[].num_shared_buffers
transports[].buf_cache_size
transports[].dif_insert_or_strip
transports[].zcopy
transports[].c2h_success
transports[].sock_priority
transports[].abort_timeout_sec
transports[].io_unit_size
version.version                    the program and its version
version.fields.*                   the version numbers
reactors.tick_rate                 nvmf counts nanoseconds, SPDK its TSC
reactors.reactors[].busy           time, measured
reactors.reactors[].idle
reactors.reactors[].in_interrupt   nvmf reactors sleep when idle, SPDK polls
reactors.reactors[].lw_threads[]   SPDK runs its app thread on reactor 0 too
stats.tick_rate                    as reactors
stats.poll_groups[].pending_bdev_io   SPDK bdev layer counters nvmf does not keep
stats.poll_groups[].completed_nvme_io
stats.poll_groups[].lost_wakeups   nvmf only: sleeps a reactor refused because work was stranded
iostat.tick_rate                   nvmf counts milliseconds, SPDK its TSC
iostat.ticks
iostat.bdevs[]                     SPDK counts the I/O of its own examine; nvmf has none
iostat.bdevs[].*_latency_ticks     SPDK latency and unmap/copy counters nvmf does not keep
iostat.bdevs[].bytes_unmapped
iostat.bdevs[].num_unmap_ops
iostat.bdevs[].bytes_copied
iostat.bdevs[].num_copy_ops
iostat.bdevs[].io_error
iostat.bdevs[].bytes_read
iostat.bdevs[].num_read_ops
framework[]                        the sections each target has (see config.subsystems)
'
printf '%s' "$BY_DESIGN" >"$T/by_design"

# compare WHAT A B: A from nvmf, B from SPDK; prints each difference.
compare() {
	python3 - "$T/by_design" "$@" <<'EOF'
import fnmatch, json, sys
# fnmatch patterns; "[]" is literal here, not a character class
design = [l.split()[0].replace("[", "[[]") for l in open(sys.argv[1]) if l.strip()]
what, a, b = sys.argv[2], json.load(open(sys.argv[3])), json.load(open(sys.argv[4]))
diffs = []
def allowed(path):   # a listed path covers what is below it too
    return any(fnmatch.fnmatchcase(path, d) or fnmatch.fnmatchcase(path, d + ".*") or
               fnmatch.fnmatchcase(path, d + "[[]]*") for d in design)
def key(e, i):
    # Match list elements by what names them, not by position.
    if isinstance(e, dict):
        for k in ("nqn", "name", "subsystem", "nsid", "lcore"):
            if k in e and not isinstance(e[k], (dict, list)):
                return str(e[k])
        if "method" in e:
            return e["method"] + "#" + str(i)
    return str(i)
def walk(x, y, path):
    if type(x) != type(y):
        if not allowed(path):
            diffs.append(f"{path}: type {type(x).__name__} in nvmf, {type(y).__name__} in SPDK")
        return
    if isinstance(x, dict):
        for k in sorted(set(x) | set(y)):
            p = f"{path}.{k}"
            if k not in x or k not in y:
                if not allowed(p):
                    diffs.append(f"{p}: only in {'nvmf' if k in x else 'SPDK'}")
            else:
                walk(x[k], y[k], p)
    elif isinstance(x, list):
        def index(l):
            seen, out = {}, {}
            for i, e in enumerate(l):
                k = key(e, 0)
                if isinstance(e, dict) and "method" in e:   # Nth call of a method
                    seen[e["method"]] = seen.get(e["method"], -1) + 1
                    k = e["method"] + "#" + str(seen[e["method"]])
                elif k == "0":
                    k = str(i)
                out[k] = e
            return out
        xi, yi = index(x), index(y)
        for k in sorted(set(xi) | set(yi)):
            if k not in xi or k not in yi:
                if not allowed(path + "[]"):
                    diffs.append(f"{path}[{k}]: only in {'nvmf' if k in xi else 'SPDK'}")
            else:
                sub = path + "[]"
                e = xi[k]
                if isinstance(e, dict) and "method" in e:   # config entries by method
                    walk(e.get("params", {}), yi[k].get("params", {}), what + "." + e["method"])
                else:
                    walk(e, yi[k], sub)
    elif x != y and not allowed(path):
        diffs.append(f"{path}: {x!r} in nvmf, {y!r} in SPDK")
if what == "config":   # sections by name, then each section's calls
    xs = {s["subsystem"]: s["config"] for s in a["subsystems"]}
    ys = {s["subsystem"]: s["config"] for s in b["subsystems"]}
    for s in sorted(set(xs) | set(ys)):
        if s not in xs or s not in ys:
            if not allowed("config.subsystems[]"):
                diffs.append(f"section {s}: only in {'nvmf' if s in xs else 'SPDK'}")
            continue
        x = {e["method"] for e in xs[s]}; y = {e["method"] for e in ys[s]}
        for m in sorted(x ^ y):
            if not allowed(f"config.{s}[]"):
                diffs.append(f"config {s}: {m} only in {'nvmf' if m in x else 'SPDK'}")
        walk([e for e in xs[s] if e["method"] in y], [e for e in ys[s] if e["method"] in x], what)
else:
    walk(a, b, what)
for d in diffs:
    print("differs:", d)
print(f"{what}: {len(diffs)} unexpected difference(s)")
sys.exit(1 if diffs else 0)
EOF
}

# What a target serves, as the values that must survive a save and load.
essence() {	# essence FILE: nvmf_get_subsystems reduced to what config moves
	python3 - "$1" <<'EOF'
import json, sys
for s in sorted(json.load(open(sys.argv[1])), key=lambda s: s["nqn"]):
    if s["subtype"] != "NVMe":
        continue
    print(s["nqn"], s["serial_number"], s["model_number"], "any" if s["allow_any_host"] else "list",
          "hosts=" + ",".join(sorted(h["nqn"] for h in s["hosts"])))
    for l in s["listen_addresses"]:
        print("  listener", l["trtype"].upper(), l["adrfam"].lower(), l["traddr"], l["trsvcid"])
    for n in s["namespaces"]:
        print("  ns", n["nsid"], n["bdev_name"], n["uuid"], n["nguid"])
EOF
}

# ---- 1. the same rpc.py sequence against both targets ------------------------
start_nvmf "$T/nvmf.sock"
check "rpc.py configures ./nvmf (seed sequence, a host list, NSID 3)" seed "$T/nvmf.sock" "$T/n"
nwarn=$(grep -c 'nvmf_create_transport: nvmf does not use' "$T/nvmf.out")
check "the parameters nvmf ignores are named in one warning per call" [ "$nwarn" = 1 ]
grep 'does not use' "$T/nvmf.out" | sed 's/^/    ignored: /'
check "rpc.py spdk_get_version, framework_get_reactors answer" \
	grep -q '"lw_threads"' "$T/n/framework_get_reactors.json"
stop
start_spdk "$T/spdk.sock"
check "rpc.py configures SPDK's nvmf_tgt with the same lines" seed "$T/spdk.sock" "$T/s"
stop
check "nvmf_get_subsystems: same keys, types and values" \
	compare subsystems "$T/n/subsystems.json" "$T/s/subsystems.json"
check "bdev_get_bdevs: same keys, types and values" \
	compare bdevs "$T/n/bdevs.json" "$T/s/bdevs.json"
check "save_config: same sections and calls" compare config "$T/n/config.json" "$T/s/config.json"
check "nvmf_get_transports alike" compare transports "$T/n/nvmf_get_transports.json" \
	"$T/s/nvmf_get_transports.json"
check "spdk_get_version alike" compare version "$T/n/spdk_get_version.json" "$T/s/spdk_get_version.json"
check "framework_get_reactors alike" compare reactors "$T/n/framework_get_reactors.json" \
	"$T/s/framework_get_reactors.json"
check "nvmf_get_stats alike" compare stats "$T/n/nvmf_get_stats.json" "$T/s/nvmf_get_stats.json"
check "bdev_get_iostat alike" compare iostat "$T/n/bdev_get_iostat.json" "$T/s/bdev_get_iostat.json"
check "framework_get_subsystems alike" compare framework "$T/n/framework_get_subsystems.json" \
	"$T/s/framework_get_subsystems.json"

# ---- 2. configs both ways ----------------------------------------------------
essence "$T/n/subsystems.json" >"$T/n.essence"
essence "$T/s/subsystems.json" >"$T/s.essence"
start_spdk "$T/spdk2.sock"
check "rpc.py load_config: nvmf's save_config into nvmf_tgt" \
	rpcpy -s "$T/spdk2.sock" load_config -j "$T/n/config.json"
rpcpy -s "$T/spdk2.sock" nvmf_get_subsystems >"$T/s2.json"
stop
check "... the same subsystems, namespaces (UUIDs too), hosts, listeners" \
	diff <(essence "$T/s2.json") "$T/n.essence"
start_nvmf "$T/nvmf2.sock"
check "rpc.py load_config: nvmf_tgt's save_config into nvmf" \
	rpcpy -s "$T/nvmf2.sock" load_config -j "$T/s/config.json"
rpcpy -s "$T/nvmf2.sock" nvmf_get_subsystems >"$T/n2.json"
check "... nvmf warned about SPDK's tuning it has no counterpart for" \
	grep -q 'sock_impl_set_options: SPDK tuning' "$T/nvmf.out"
grep 'SPDK tuning' "$T/nvmf.out" | sed 's/^/    ignored: /'
stop
check "... the same subsystems, namespaces (UUIDs too), hosts, listeners" \
	diff <(essence "$T/n2.json") "$T/s.essence"
cat "$T/n.essence" >>"$DETAIL"

# ---- 3. every rpc.py line of README.md and the tutorial -----------------------
# A line is one that runs `./nvmf rpc` (the README) or the chapter's rpc()
# function defined as `./nvmf rpc` (not those on tests/rpc.py); each runs
# with `./nvmf rpc [-s X]` replaced by SPDK's rpc.py on a fresh target.
doc_lines() {	# doc_lines FILE: the rpc.py-syntax lines in its sh blocks
	awk '/^```sh/ { sh = 1; raw = 0; next } /^```/ { sh = 0; next }
	     sh && /^rpc\(\) \{ python3 tests\/rpc\.py/ { raw = 1 }
	     sh && /^rpc\(\) \{ \.\/nvmf rpc/ { raw = 0 }
	     sh && /^\.\/nvmf rpc / && !/--dry-run/ { print; next }
	     sh && !raw && /^rpc [a-z_]/ { print }' "$1"
}
run_doc() {	# run_doc FILE: its lines in order, each must succeed
	local f=$1 sock=$T/doc.sock n=0 line
	rm -rf "$T/doc" && mkdir "$T/doc"
	start_nvmf "$sock" || return 1
	while IFS= read -r line; do
		n=$((n + 1))
		line=$(sed -E 's#^\./nvmf rpc( -s ("[^"]*"|[^ ]+))? #rpc #; s/ 4420\b/ $port/g' <<<"$line")
		echo "$f: $line" >>"$DETAIL"
		(cd "$T/doc" && PY=$PY SPDK=$SPDK sock=$sock port=$port nqn=$nqn bash -o pipefail -c \
			'rpc() { "$PY" "$SPDK/scripts/rpc.py" -s "$sock" "$@"; }; '"$line") >>"$DETAIL" 2>&1 ||
			{ echo "failed: $f: $line" >>"$DETAIL"; stop; return 1; }
	done < <(doc_lines "$f")
	stop
	echo "$f: $n rpc.py line(s) passed" >>"$DETAIL"
	[ "$n" -gt 0 ]
}
for f in README.md tutorial/*.md; do
	[ -n "$(doc_lines "$f")" ] || continue
	check "$f: its rpc.py lines, with SPDK's rpc.py, succeed against ./nvmf" run_doc "$f"
done

# The README's block pasted into a shell as is: default socket, port 4420,
# `nvmf rpc` right after `./nvmf --empty &`, in namespaces of its own.
awk '/^```sh/ { sh = 1; next } /^```/ { if (sh && b) exit; sh = 0; next }
     sh && /^\.\/nvmf --empty &/ { b = 1 } sh && b { print }' README.md >"$T/readme.sh"
readme_block() {
	mkdir -p "$T/paste" && ln -sf "$ROOT/nvmf" "$T/paste/nvmf"
	unshare -mn bash -c 'mount -t tmpfs tmpfs /var/tmp && ip link set lo up && cd "$1" &&
		trap "kill %1 2>/dev/null; wait" EXIT; set -e; . "$2"; test -s nvmf.json' \
		_ "$T/paste" "$T/readme.sh"
}
# Parts 3 and 4 touch /var/tmp/spdk.sock and port 4420 only inside a
# mount and network namespace of their own. Where none can be made (not
# root), they are skipped, never run on the machine's own /var/tmp: there
# a live target of someone else's holds the socket, or would lose it.
skip=0
ns_or_skip() {	# ns_or_skip DESCRIPTION: 0 when namespaces work, else say skip
	unshare -mn true 2>/dev/null && return 0
	echo "skip - $1: needs a private /var/tmp and loopback (unshare -mn, as root)"
	skip=$((skip + 1))
	return 1
}
ns_or_skip "README's live-configuration block" &&
	check "README's live-configuration block runs as pasted ($(wc -l <"$T/readme.sh") lines)" readme_block

# ---- 4. the default RPC socket never stops the target --------------------------
# Each case in a private /var/tmp; XDG_RUNTIME_DIR is where a user's
# fallback socket goes, so it is in $T (nobody may write there).
mkdir -m 1777 "$T/xdg"
cat >"$T/case.sh" <<'EOF'
# case.sh T CASE: run in a fresh mount namespace by the test.
set -u
T=$1; mount -t tmpfs tmpfs /var/tmp || exit 1
kids=(); trap 'for k in "${kids[@]}"; do kill $k 2>/dev/null; wait $k 2>/dev/null; done' EXIT
# A command prefix, not a function: a function run with & is a subshell,
# and killing that would leave the target running.
as_nobody="setpriv --reuid=nobody --regid=nogroup --clear-groups"
serve() {	# serve LOG [PREFIX]: ./nvmf with the default socket; banner in LOG
	${2-} ./nvmf --empty -D 0 >"$1" 2>&1 & kids+=($!)
	for _ in $(seq 300); do grep -q "JSON-RPC o" "$1" && return 0; sleep 0.1; done
	return 1
}
fallback() {	# the warning, the banner, and rpc.py on the fallback path
	serve "$T/o" "${1-}" && [ "$(grep -c '^W' "$T/o")" = 1 ] &&
	grep -q "^W.*$2.*meanwhile RPC is on $T/xdg/nvmf.sock" "$T/o" &&
	grep -q "^  JSON-RPC on $T/xdg/nvmf.sock" "$T/o" &&
	"$PY" "$SPDK/scripts/rpc.py" -s "$T/xdg/nvmf.sock" spdk_get_version >/dev/null
}
explicit() {	# explicit PATTERN [PREFIX]: -r on the same path is an error
	! ${2-} ./nvmf --empty -D 0 -r /var/tmp/spdk.sock >"$T/e" 2>&1 &&
	grep -q "^nvmf: .*$1" "$T/e"
}
stale() { python3 -c 'import os, socket, sys; os.umask(int(sys.argv[1], 8));
socket.socket(socket.AF_UNIX).bind("/var/tmp/spdk.sock")' "$1"; }
case $2 in
live)	serve "$T/first" && fallback "" "in use by another server" && explicit "in use";;
rofs)	stale 022 && mount -o remount,ro /var/tmp &&
	fallback "" "stale and cannot be removed (Read-only" && explicit "Read-only";;
rodir)	mount -o remount,ro /var/tmp && fallback "" "cannot listen.*Read-only" &&
	explicit "cannot listen.*Read-only";;
nobody)	stale 022 && fallback "$as_nobody" "belongs to uid 0 and uid 65534 may not use it" &&
	explicit "belongs to uid 0" "$as_nobody";;
nobody777) stale 000 && fallback "$as_nobody" "left over from a server run by uid 0.*sudo rm" &&
	explicit "cannot remove it" "$as_nobody";;
nowhere) mount -o remount,ro /var/tmp && mount -t tmpfs -o ro tmpfs "$T/xdg" &&
	serve "$T/o" && grep -q "running without RPC" "$T/o" &&
	grep -q "^  JSON-RPC off" "$T/o" && kill -0 "${kids[0]}";;
esac
EOF
rpc_case() { PY=$PY SPDK=$SPDK XDG_RUNTIME_DIR=$T/xdg unshare -m bash "$T/case.sh" "$T" "$1"; }
if ns_or_skip "the default socket's six cases"; then
	check "default socket held by a live server: one warning, RPC on the fallback path" rpc_case live
	check "default socket stale on a read-only /var/tmp: warning, fallback; -r: an error" rpc_case rofs
	check "read-only /var/tmp: warning, fallback; -r: an error naming it" rpc_case rodir
	check "user nobody, root's stale socket (0755): warning, fallback; -r: an error" rpc_case nobody
	check "user nobody, root's stale socket (0777): 'sudo rm' advice, fallback; -r: error" rpc_case nobody777
	check "no usable path at all: the target serves without RPC, and says so" rpc_case nowhere
fi

echo "spdk_rpc_test: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
