#!/usr/bin/env bash
# tests/rpc_test.sh - the JSON-RPC server (rpc.c, rpc_methods.c) and live configuration
# (subsys.c) against a running ./nvmf, over a Unix socket in a temp dir:
#
#   1. the seed tutorial's sequence (transport, malloc bdev, subsystem,
#      namespace, listener; list; the host side does I/O; then remove
#      listener, namespace, subsystem), and what each step changes live
#   2. every method, its parameters and its errors
#   3. bad clients: malformed JSON, unknown method, wrong types, an
#      oversized request, a client gone mid-request; the target serves on
#   4. save_config -> restart with -c -> save_config: identical
#
# The client is SPDK's own rpc.py (../shared/spdk, v23.05) for every
# request its command line can express: `c` below. tests/rpc.py (`r`)
# stays only for what rpc.py cannot send, because its argparse checks
# types and knows the keys: a parameter of the wrong type, an unknown
# parameter, a missing required one, malformed JSON, a batch, an
# oversized or cut request; and for methods v23.05's rpc.py has no
# command for (referrals, the deprecated delete_nvmf_subsystem, load_config
# given inline). Without SPDK's kit `nvmf rpc`, which takes
# rpc.py's arguments, stands in (and says so).
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0
T=$(mktemp -d)
detail=tests/out/rpc_test.detail
mkdir -p tests/out
: >$detail
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

DETAIL=$detail
. tests/lib.sh



start_target() {	# start_target SOCK ARGS...: start ./nvmf, wait for its socket
	local sock=$1; shift
	./nvmf -r "$sock" -D 0 "$@" >>"$T/target.out" 2>&1 &
	pids+=($!)
	tgt=$!
	for _ in $(seq 100); do
		[ -S "$sock" ] && grep -q 'JSON-RPC on' "$T/target.out" && return 0
		kill -0 $tgt 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

sock=$T/spdk.sock
r() { python3 tests/rpc.py "$sock" "$@"; }
SHARED=${NVMF_SHARED:-$PWD/../shared}
[ -d "$SHARED/spdk" ] || SHARED=/work/shared	# a worktree beside the kit
if [ -f "$SHARED/spdk/scripts/rpc.py" ]; then
	# The interpreter itself, not a version manager's shim: cheaper.
	PY=$(python3 -c 'import sys; print(sys.executable)')
	c() { "$PY" "$SHARED/spdk/scripts/rpc.py" -s "$sock" "$@"; }
else
	echo "note: SPDK's rpc.py is not at $SHARED/spdk: using ./nvmf rpc instead"
	c() { ./nvmf rpc -s "$sock" "$@"; }
fi
cok() {		# cok DESCRIPTION GREP-E ARGS...: rpc.py ARGS succeeds (and prints GREP-E)
	local what=$1 pat=$2 out rc
	shift 2
	out=$(c "$@" 2>&1); rc=$?
	echo "rpc.py $* -> $out" >>$detail
	check "$what" bash -c '[ "$1" = 0 ] && { [ -z "$2" ] || grep -qE -- "$2" <<<"$3"; }' _ "$rc" "$pat" "$out"
}
cerr() {	# cerr DESCRIPTION GREP-E ARGS...: rpc.py ARGS fails with a matching message
	local what=$1 pat=$2 out rc
	shift 2
	out=$(c "$@" 2>&1); rc=$?
	echo "rpc.py $* -> $out" >>$detail
	check "$what" bash -c '[ "$1" != 0 ] && grep -qE -- "$2" <<<"$3"' _ "$rc" "$pat" "$out"
}
ok() {		# ok DESCRIPTION METHOD [PARAMS] [GREP-E]: succeeds (and prints that)
	local what=$1 m=$2 p=${3-} pat=${4-}
	local out rc
	out=$(r "$m" ${p:+"$p"} 2>&1); rc=$?
	echo "$m $p -> $out" >>$detail
	check "$what" bash -c '[ "$1" = 0 ] && { [ -z "$2" ] || grep -qE -- "$2" <<<"$3"; }' _ "$rc" "$pat" "$out"
}
err() {		# err DESCRIPTION METHOD PARAMS GREP-E: fails with a matching message
	local what=$1 m=$2 p=$3 pat=$4
	local out rc
	out=$(r "$m" ${p:+"$p"} 2>&1); rc=$?
	echo "$m $p -> $out" >>$detail
	check "$what" bash -c '[ "$1" = 2 ] && grep -qE -- "$2" <<<"$3"' _ "$rc" "$pat" "$out"
}

port=$(free_port)
nqn=nqn.2016-06.io.spdk:cnode1
trid="trtype:TCP traddr:127.0.0.1 trsvcid:$port subnqn:$nqn"
la="{\"trtype\":\"tcp\",\"adrfam\":\"ipv4\",\"traddr\":\"127.0.0.1\",\"trsvcid\":\"$port\"}"
check "an empty target starts with -r and --empty" start_target "$sock" --empty

# ---- 1. the seed tutorial -------------------------------------------------
cok "nvmf_create_transport -t TCP -u 16384 -m 8 -c 8192" '' \
	nvmf_create_transport -t TCP -u 16384 -m 8 -c 8192
rss0=$(awk '/^VmRSS/ { print $2 }' /proc/$tgt/status)
cok "bdev_malloc_create -b Malloc0 64 512" '^Malloc0$' bdev_malloc_create -b Malloc0 64 512
rss1=$(awk '/^VmRSS/ { print $2 }' /proc/$tgt/status)
check "... holds its 64 MiB from the start (RSS $rss0 -> $rss1 kB)" test $((rss1 - rss0)) -ge 65536
cok "nvmf_create_subsystem -a -s SPDK00000000000001 -d SPDK_Controller1" '' \
	nvmf_create_subsystem $nqn -a -s SPDK00000000000001 -d SPDK_Controller1
cok "nvmf_subsystem_add_ns" '' nvmf_subsystem_add_ns $nqn Malloc0
cok "... as NSID 1 (rpc.py does not print the NSID)" '"nsid": 1' nvmf_get_subsystems $nqn
cok "nvmf_subsystem_add_listener -t tcp -a 127.0.0.1 -s PORT" '' \
	nvmf_subsystem_add_listener $nqn -t tcp -f ipv4 -a 127.0.0.1 -s $port
cok "nvmf_get_subsystems shows the subsystem, its listener and Malloc0" \
	"\"trsvcid\": \"$port\"" nvmf_get_subsystems
out=$(r nvmf_get_subsystems); echo "$out" >>$detail
check "... with serial, model and the namespace" bash -c 'grep -q SPDK00000000000001 <<<"$1" &&
	grep -q SPDK_Controller1 <<<"$1" && grep -q "\"bdev_name\": \"Malloc0\"" <<<"$1"' _ "$out"
out=$(./nvmf identify -r "$trid" 2>&1); echo "$out" >>$detail
check "the host identifies it: SN and MN as given" bash -c 'grep -q "sn  *: SPDK00000000000001" <<<"$1" &&
	grep -q "mn  *: SPDK_Controller1" <<<"$1"' _ "$out"
check "IOCCSZ follows -c 8192" grep -q "8192 bytes of in-capsule data" <<<"$out"
check "perf --verify through the new subsystem" ./nvmf perf -q 8 -o 4096 -w randrw -t 1 --verify -r "$trid"
cok "bdev_get_iostat counts what perf did" '"num_write_ops": [1-9]' bdev_get_iostat -b Malloc0

# Live: a second namespace while a host is connected (perf keeps one open).
# (Long enough for the calls below on a loaded machine; killed after.)
./nvmf perf -q 1 -o 4096 -w read -t 300 -r "$trid" >>$detail 2>&1 &
perf=$!; pids+=($perf)
for _ in $(seq 100); do
	r nvmf_subsystem_get_controllers "{\"nqn\":\"$nqn\"}" | grep -q cntlid && break
	sleep 0.1
done
cok "nvmf_subsystem_get_controllers lists the connected host" '"num_io_qpairs": 1' \
	nvmf_subsystem_get_controllers $nqn
cok "nvmf_subsystem_get_qpairs lists admin and I/O queue" '"qid": 1' nvmf_subsystem_get_qpairs $nqn
cok "nvmf_get_stats counts them on poll group 0" '"io_qpairs": 1' nvmf_get_stats
cok "bdev_null_create while connected" '^Null0$' bdev_null_create Null0 8 4096
cok "nvmf_subsystem_add_ns -n 5 while connected" '' nvmf_subsystem_add_ns -n 5 $nqn Null0
# (nvmf perf posts no AERs; the AEN itself is checked in nvmf_io_test and,
# with the kernel host, in tests/vm/test-rpc.sh.)
out=$(./nvmf identify -n 5 -r "$trid" 2>&1); echo "$out" >>$detail
check "a new host sees namespace 5" grep -q "^Namespace 5:" <<<"$out"
cok "nvmf_subsystem_remove_ns 5 while connected" '' nvmf_subsystem_remove_ns $nqn 5
check "the connected reader is unaffected" kill -0 $perf
kill $perf; wait $perf 2>/dev/null

cok "nvmf_subsystem_remove_listener" '' \
	nvmf_subsystem_remove_listener $nqn -t tcp -f ipv4 -a 127.0.0.1 -s $port
check "the removed listener no longer accepts" bash -c "! ./nvmf identify -r '$trid'"
cok "nvmf_subsystem_remove_ns 1" '' nvmf_subsystem_remove_ns $nqn 1
cok "Malloc0 is unclaimed again" '"claimed": false' bdev_get_bdevs -b Malloc0
cok "nvmf_delete_subsystem" '' nvmf_delete_subsystem $nqn
cok "it is gone from nvmf_get_subsystems" '^\[$' nvmf_get_subsystems
out=$(r nvmf_get_subsystems); check "... only discovery is left" bash -c '! grep -q cnode1 <<<"$1"' _ "$out"

# ---- 2. every method: parameters and errors -------------------------------
cok "rpc_get_methods lists the nvmf methods" '"nvmf_subsystem_add_ns"' rpc_get_methods
out=$(r rpc_get_methods); echo "$out" >>$detail
check "rpc_get_methods has no aliases by default" bash -c '! grep -q get_nvmf_subsystems <<<"$1"' _ "$out"
cok "rpc_get_methods include_aliases" 'delete_nvmf_subsystem' rpc_get_methods -i
cerr "bdev_malloc_create: duplicate name" 'already exists' bdev_malloc_create -b Malloc0 1 512
cerr "bdev_malloc_create: block size 520" '512 and 4096' bdev_malloc_create -b M1 1 520
# 64 TiB: more than this machine has. With overcommit off or heuristic the
# kernel refuses the mapping at once; with "always" (1) it would grant it
# and the target would be killed filling it, which is what that mode asks.
if [ "$(cat /proc/sys/vm/overcommit_memory)" != 1 ]; then
	cerr "bdev_malloc_create: 64 TiB, more than the machine has" \
		'cannot reserve 67108864 MiB for a RAM namespace' bdev_malloc_create -b M1 67108864 4096
fi
# rpc.py checks types and keys itself: these four need the raw client.
err "bdev_malloc_create: missing num_blocks" bdev_malloc_create '{"name":"M1"}' "missing parameter 'num_blocks'"
err "bdev_malloc_create: num_blocks a string" bdev_malloc_create '{"name":"M1","num_blocks":"8"}' 'must be an integer'
err "bdev_malloc_create: unknown parameter" bdev_malloc_create '{"name":"M1","num_blocks":8,"colour":1}' "unknown parameter 'colour'"
cok "bdev_get_bdevs lists Malloc0 and Null0" '"Null0"' bdev_get_bdevs
cerr "bdev_get_bdevs: unknown bdev" 'does not exist' bdev_get_bdevs -b nope
cerr "bdev_null_delete on a malloc bdev" 'was made by bdev_malloc_create' bdev_null_delete Malloc0
cok "bdev_null_delete" '' bdev_null_delete Null0
dd if=/dev/zero of="$T/disk.img" bs=1M count=4 status=none
if ./nvmf --help | grep -q 'file:'; then
	cok "bdev_aio_create on a file" '^Aio0$' bdev_aio_create "$T/disk.img" Aio0 512
	cok "bdev_aio_delete" '' bdev_aio_delete Aio0
	cok "bdev_uring_create on a file" '^Uring0$' bdev_uring_create "$T/disk.img" Uring0
	cok "bdev_uring_delete" '' bdev_uring_delete Uring0
else
	err "bdev_aio_create says the file backend is not built" bdev_aio_create \
		"{\"name\":\"Aio0\",\"filename\":\"$T/disk.img\"}" 'bdev_aio_create: unknown namespace'
	err "bdev_uring_create says so too" bdev_uring_create \
		"{\"name\":\"U0\",\"filename\":\"$T/disk.img\"}" 'bdev_uring_create: unknown namespace'
fi
cerr "bdev_aio_delete: unknown bdev" 'does not exist' bdev_aio_delete Aio9
cerr "bdev_uring_delete: unknown bdev" 'does not exist' bdev_uring_delete U9
if ./nvmf --help | grep -q 'sim:'; then
	cok "bdev_nvme_attach_controller -t sim" 'Nvme0n1' bdev_nvme_attach_controller -b Nvme0 -t sim -a 64M
	cok "bdev_nvme_get_controllers" '"Nvme0"' bdev_nvme_get_controllers
	cok "bdev_nvme_detach_controller" '' bdev_nvme_detach_controller Nvme0
else
	err "bdev_nvme_attach_controller -t sim: not built yet, says so" bdev_nvme_attach_controller \
		'{"name":"Nvme0","trtype":"sim","traddr":"64M"}' 'unknown namespace'
	ok "bdev_nvme_get_controllers: none" bdev_nvme_get_controllers '' '^\[\]$'
fi
cerr "bdev_nvme_attach_controller -t tcp is refused" 'not NVMe-oF' \
	bdev_nvme_attach_controller -b N1 -t tcp -a 127.0.0.1
cerr "bdev_nvme_detach_controller: unknown" 'does not exist' bdev_nvme_detach_controller N1

cok "nvmf_get_transports" '"io_unit_size": 16384' nvmf_get_transports
cerr "nvmf_create_transport: TCP twice" 'already exists' nvmf_create_transport -t TCP
cerr "nvmf_get_transports: RDMA does not exist" 'does not exist' nvmf_get_transports --trtype RDMA

cok "nvmf_create_subsystem (SPDK defaults)" '' nvmf_create_subsystem $nqn -m 2
cok "... default serial and model, allow_any_host false" '"allow_any_host": false' nvmf_get_subsystems $nqn
cerr "nvmf_create_subsystem: duplicate NQN" 'already exists' nvmf_create_subsystem $nqn
# Names as nvmet takes them: anything the Linux host can send back.
cok "nvmf_create_subsystem: a name nvmet takes (ramdisk)" '' nvmf_create_subsystem ramdisk
check "... one warning that it is not an NQN" test "$(grep -c "'ramdisk' is not an NQN" "$T/target.out")" = 1
cok "... and it goes" '' nvmf_delete_subsystem ramdisk
cerr "nvmf_create_subsystem: a '/' (nvmet cannot)" "has a '/'" nvmf_create_subsystem a/b
cerr "nvmf_create_subsystem: a ',' (the host cannot)" "',' or newline" nvmf_create_subsystem a,b
cerr "nvmf_create_subsystem: 223 bytes (the host takes 222)" 'has 223 bytes: give 1 to 222' \
	nvmf_create_subsystem xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
cerr "nvmf_create_subsystem: the discovery NQN" 'discovery' \
	nvmf_create_subsystem nqn.2014-08.org.nvmexpress.discovery
cerr "nvmf_create_subsystem: serial over 20 characters" 'serial number 1-20' \
	nvmf_create_subsystem nqn.2016-06.io.spdk:x -s 123456789012345678901
err "nvmf_create_subsystem: allow_any_host a string" nvmf_create_subsystem \
	'{"nqn":"nqn.2016-06.io.spdk:x","allow_any_host":"yes"}' 'true or false'
cerr "nvmf_delete_subsystem: unknown NQN" 'does not exist' nvmf_delete_subsystem nqn.2016-06.io.spdk:x
cerr "nvmf_subsystem_add_ns: unknown bdev" 'bdev nope does not exist' nvmf_subsystem_add_ns $nqn nope
cok "nvmf_subsystem_add_ns with uuid" '' \
	nvmf_subsystem_add_ns -u 12345678-1234-1234-1234-123456789abc $nqn Malloc0
cok "... the uuid is kept" '12345678-1234-1234-1234-123456789abc' nvmf_get_subsystems $nqn
cok "a second subsystem" '' nvmf_create_subsystem nqn.2016-06.io.spdk:cnode2
cerr "nvmf_subsystem_add_ns: bdev already claimed" 'already claimed' \
	nvmf_subsystem_add_ns nqn.2016-06.io.spdk:cnode2 Malloc0
cerr "bdev_malloc_delete: claimed bdev" 'claimed by a namespace' bdev_malloc_delete Malloc0
ok "bdev_malloc_create M2 (64 blocks: less than rpc.py's MiB can say)" bdev_malloc_create \
	'{"name":"M2","num_blocks":64,"block_size":512}'
cerr "nvmf_subsystem_add_ns: NSID above max_namespaces" 'above' nvmf_subsystem_add_ns -n 3 $nqn M2
cerr "nvmf_subsystem_add_ns: NSID in use" 'already in use' nvmf_subsystem_add_ns -n 1 $nqn M2
cerr "nvmf_subsystem_remove_ns: no such NSID" 'has no namespace 9' nvmf_subsystem_remove_ns $nqn 9

cok "nvmf_subsystem_add_listener again" '' \
	nvmf_subsystem_add_listener $nqn -t tcp -f ipv4 -a 127.0.0.1 -s $port
cok "nvmf_subsystem_get_listeners" "\"trsvcid\": \"$port\"" nvmf_subsystem_get_listeners $nqn
cerr "nvmf_subsystem_add_listener: the same twice" 'already listens' \
	nvmf_subsystem_add_listener $nqn -t tcp -f ipv4 -a 127.0.0.1 -s $port
busy=$(free_port)
python3 -c "import socket,time,sys; s=socket.socket(); s.bind(('127.0.0.1',$busy)); s.listen(); print('held', flush=True); time.sleep(60)" \
	>"$T/busy.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q held "$T/busy.out" && break; sleep 0.1; done
cerr "nvmf_subsystem_add_listener: address in use" 'Address already in use' \
	nvmf_subsystem_add_listener $nqn -t TCP -a 127.0.0.1 -s $busy
cerr "nvmf_subsystem_add_listener: RDMA before its transport" 'no RDMA transport|without RDMA|TCP only' \
	nvmf_subsystem_add_listener $nqn -t RDMA -a 127.0.0.1 -s 4420
if ./nvmf --version | grep -qE 'transports: [a-z, ]*\brdma\b'; then
	cerr "nvmf_create_transport -t RDMA: MDTS not a power of two" 'power of two' \
		nvmf_create_transport -t RDMA -u 8192 -i 300000
	cok "nvmf_create_transport -t RDMA -i 1 MiB" '' nvmf_create_transport -t RDMA -u 8192 -i 1048576
	cok "nvmf_get_transports lists RDMA" '"trtype": "RDMA"' nvmf_get_transports --trtype RDMA
	cok "nvmf_get_transports: RDMA's MDTS is 1 MiB" '"max_io_size": 1048576' \
		nvmf_get_transports --trtype RDMA
	# This machine has no RDMA device (the lab VM's rxe does): the answer says what to do.
	cerr "nvmf_subsystem_add_listener: RDMA with no RDMA device" 'rdma link add|RDMA interface|RDMA CM' \
		nvmf_subsystem_add_listener $nqn -t RDMA -a 127.0.0.1 -s 4420
else
	cerr "nvmf_create_transport -t RDMA: not built" 'TCP only' nvmf_create_transport -t RDMA
fi
err "nvmf_subsystem_add_listener: listen_address missing" nvmf_subsystem_add_listener \
	"{\"nqn\":\"$nqn\"}" "missing parameter 'listen_address'"
cerr "nvmf_subsystem_remove_listener: not listening there" 'does not listen' \
	nvmf_subsystem_remove_listener $nqn -t TCP -a 127.0.0.1 -s 1

host1=nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555
host2=nqn.2014-08.org.nvmexpress:uuid:66666666-2222-3333-4444-555555555555
check "allow_any_host false: an unlisted host is refused" bash -c "! ./nvmf identify -r '$trid hostnqn:$host1'"
cok "nvmf_subsystem_add_host" '' nvmf_subsystem_add_host $nqn $host1
check "the added host connects" ./nvmf identify -r "$trid hostnqn:$host1"
check "another host is still refused" bash -c "! ./nvmf identify -r '$trid hostnqn:$host2'"
cerr "nvmf_subsystem_add_host: twice" 'already allowed' nvmf_subsystem_add_host $nqn $host1
cerr "nvmf_subsystem_add_host: not an NQN" 'not an NQN' nvmf_subsystem_add_host $nqn bob
cok "nvmf_subsystem_remove_host" '' nvmf_subsystem_remove_host $nqn $host1
check "the removed host's reconnect is refused" bash -c "! ./nvmf identify -r '$trid hostnqn:$host1'"
cerr "nvmf_subsystem_remove_host: not on the list" 'not on' nvmf_subsystem_remove_host $nqn $host1
cok "nvmf_subsystem_allow_any_host -e" '' nvmf_subsystem_allow_any_host -e $nqn
check "now any host connects" ./nvmf identify -r "$trid hostnqn:$host2"
err "nvmf_subsystem_allow_any_host: missing flag" nvmf_subsystem_allow_any_host "{\"nqn\":\"$nqn\"}" 'missing'

cok "nvmf_subsystem_add_listener on the discovery NQN ('discovery')" '' \
	nvmf_subsystem_add_listener discovery -t TCP -a 127.0.0.1 -s $port
# SPDK v23.05's rpc.py has no referral commands (the server methods are
# SPDK's): these go through the raw client.
dref='{"address":{"trtype":"TCP","adrfam":"IPv4","traddr":"127.0.0.2","trsvcid":"8009"}}'
ok "nvmf_discovery_add_referral" nvmf_discovery_add_referral "$dref"
ok "nvmf_discovery_get_referrals" nvmf_discovery_get_referrals '' '"traddr": "127.0.0.2"'
err "nvmf_discovery_add_referral: twice" nvmf_discovery_add_referral "$dref" 'already exists'
out=$(./nvmf discover -r "trtype:TCP traddr:127.0.0.1 trsvcid:$port" 2>&1); echo "$out" >>$detail
check "the discovery log has the referral (SUBTYPE 1)" grep -q "discovery subsystem referral" <<<"$out"
check "... and the subsystem on its port" grep -q "$nqn" <<<"$out"
ok "nvmf_discovery_remove_referral" nvmf_discovery_remove_referral "$dref"
err "nvmf_discovery_remove_referral: gone" nvmf_discovery_remove_referral "$dref" 'no referral'
out=$(./nvmf discover -r "trtype:TCP traddr:127.0.0.1 trsvcid:$port" 2>&1); echo "$out" >>$detail
check "the referral left the discovery log" bash -c '! grep -q "referral" <<<"$1"' _ "$out"
ok "get_nvmf_subsystems (deprecated alias)" get_nvmf_subsystems '' 'cnode2'
ok "delete_nvmf_subsystem (deprecated alias, which rpc.py no longer has)" delete_nvmf_subsystem \
	'{"nqn":"nqn.2016-06.io.spdk:cnode2"}'

# ---- 3. bad clients -------------------------------------------------------
out=$(r --raw '{"jsonrpc":"2.0","id":1,"method":'); echo "$out" >>$detail
check "malformed JSON: parse error -32700 or closed" grep -qE -- '-32700|<closed>' <<<"$out"
out=$(r --raw '{"jsonrpc":"2.0","id":1,]'); echo "$out" >>$detail
check "garbage JSON: parse error -32700" grep -q -- '-32700' <<<"$out"
err "unknown method: -32601" no_such_method '' '-32601'
out=$(r --raw '{"jsonrpc":"1.0","id":7,"method":"rpc_get_methods"}'); echo "$out" >>$detail
check "not JSON-RPC 2.0: invalid request -32600" grep -q -- '-32600' <<<"$out"
out=$(r --raw '[1,2]'); echo "$out" >>$detail
check "a batch (array): invalid request -32600" grep -q -- '-32600' <<<"$out"
out=$(r --raw '{"jsonrpc":"2.0","id":2,"method":"nvmf_get_subsystems","params":[1]}'); echo "$out" >>$detail
check "params not an object: -32602" grep -q -- '-32602' <<<"$out"
out=$(r --big 2000000); echo "$out" >>$detail
check "oversized request: answered 'too large' or closed" grep -qE 'too large|<closed>' <<<"$out"
r --cut
check "a client that hangs up mid-request" true
cok "the server still answers" 'save_config' rpc_get_methods
check "the target still serves hosts" ./nvmf identify -r "$trid"

# ---- 4. save_config -> restart -> load -> save_config ---------------------
c save_config >"$T/saved1.json"; echo "save rc=$?" >>$detail
check "save_config" grep -q '"nvmf_subsystem_add_ns"' "$T/saved1.json"
kill $tgt; wait $tgt; rc=$?
check "target exits 0 on SIGTERM" test "$rc" = 0
check "the RPC socket file is removed at exit" test ! -e "$sock"
check "the target restarts from the saved config (-c)" start_target "$sock" -c "$T/saved1.json"
c save_config >"$T/saved2.json"
check "save_config after the restart is identical" diff "$T/saved1.json" "$T/saved2.json"
check "the reloaded subsystem serves hosts" ./nvmf identify -r "$trid"
ok "load_config over RPC applies a config" load_config \
	'{"subsystems":[{"subsystem":"accel","config":[]},{"subsystem":"bdev","config":[{"method":"bdev_malloc_create","params":{"name":"L0","num_blocks":64,"block_size":512}},{"method":"bdev_raid_create","params":{}}]}]}'
cok "... L0 exists" '"L0"' bdev_get_bdevs -b L0
check "... the unsupported method is named in a warning" grep -q "method 'bdev_raid_create' is not supported" "$T/target.out"
err "load_config stops at a failing entry and names it" load_config \
	'{"subsystems":[{"subsystem":"bdev","config":[{"method":"bdev_malloc_create","params":{"name":"L0","num_blocks":64}}]}]}' 'bdev_malloc_create: bdev L0 already exists'

# Socket path rules: a busy explicit path is an error; a stale file is replaced.
check "a second target on the same -r path refuses to start" bash -c "! ./nvmf --empty -D 0 -r '$sock'"
python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.bind('$T/stale.sock')"
check "a stale socket file is replaced" start_target "$T/stale.sock" --empty
sock=$T/stale.sock
cok "... and that target answers" 'rpc_get_methods' rpc_get_methods

# ---- 5. the seed tutorial through `nvmf rpc`, in rpc.py's own syntax ------
sock=$T/seed.sock
check "a fresh empty target" start_target "$sock" --empty
port=$(free_port)
n() { ./nvmf rpc -s "$sock" "$@"; }
seed_ok() {	# seed_ok DESCRIPTION GREP-E ARGS...: nvmf rpc ARGS succeeds, prints GREP-E
	local what=$1 pat=$2 out rc
	shift 2
	out=$(n "$@" 2>&1); rc=$?
	echo "nvmf rpc $* -> $out" >>$detail
	check "$what" bash -c '[ "$1" = 0 ] && { [ -z "$2" ] || grep -qE -- "$2" <<<"$3"; }' _ "$rc" "$pat" "$out"
}
seed_ok "nvmf rpc nvmf_create_transport -t TCP -u 16384 -m 8 -c 8192" '' \
	nvmf_create_transport -t TCP -u 16384 -m 8 -c 8192
seed_ok "nvmf rpc bdev_malloc_create -b Malloc0 64 512" 'Malloc0' bdev_malloc_create -b Malloc0 64 512
seed_ok "nvmf rpc nvmf_create_subsystem $nqn -a -s SPDK00000000000001 -d SPDK_Controller1" '' \
	nvmf_create_subsystem $nqn -a -s SPDK00000000000001 -d SPDK_Controller1
seed_ok "nvmf rpc nvmf_subsystem_add_ns $nqn Malloc0" '1' nvmf_subsystem_add_ns $nqn Malloc0
seed_ok "nvmf rpc nvmf_subsystem_add_listener $nqn -t tcp -a 127.0.0.1 -s PORT" '' \
	nvmf_subsystem_add_listener $nqn -t tcp -a 127.0.0.1 -s $port
seed_ok "nvmf rpc nvmf_get_subsystems" 'SPDK_Controller1' nvmf_get_subsystems
seed_ok "nvmf rpc get_nvmf_subsystems (the old name)" 'Malloc0' get_nvmf_subsystems
check "perf --verify through the seed tutorial's subsystem" \
	./nvmf perf -q 8 -o 4096 -w randrw -t 1 --verify -r "trtype:TCP traddr:127.0.0.1 trsvcid:$port subnqn:$nqn"
seed_ok "nvmf rpc nvmf_subsystem_remove_listener" '' \
	nvmf_subsystem_remove_listener $nqn -t tcp -a 127.0.0.1 -s $port
seed_ok "nvmf rpc nvmf_subsystem_remove_ns $nqn 1" '' nvmf_subsystem_remove_ns $nqn 1
seed_ok "nvmf rpc delete_nvmf_subsystem $nqn (the old name)" '' delete_nvmf_subsystem $nqn
seed_ok "nvmf rpc bdev_malloc_delete Malloc0" '' bdev_malloc_delete Malloc0
out=$(n nvmf_get_subsystems 2>&1); echo "$out" >>$detail
check "only the discovery subsystem is left" bash -c 'grep -q discovery <<<"$1" && ! grep -q cnode1 <<<"$1"' _ "$out"

# ---- 6. a command-line target: listed, saved, reloaded the same --------
sock=$T/cli.sock
port=$(free_port) dport=$(free_port)
cnqn=nqn.2026-11.io.nvmf:cnode1
./nvmf -l 127.0.0.1:$port -D $dport -r "$sock" --ns ram:64M --ns "file:$T/disk.img" --host $host1 \
	>>"$T/target.out" 2>&1 &
pids+=($!) cli=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
cok "the command line's subsystem is listed, with its port" "\"trsvcid\": \"$port\"" \
	nvmf_get_subsystems $cnqn
cok "... and its RAM namespace as a malloc bdev" '"product_name": "Malloc disk"' bdev_get_bdevs
cok "a second port for it over RPC" '' nvmf_subsystem_add_listener $cnqn -t TCP -a 127.0.0.2 -s $port
c save_config >"$T/cli1.json"
check "save_config of a command-line target" grep -q "\"host\": \"$host1\"" "$T/cli1.json"
check "... its file namespace saved as bdev_aio_create of that file" \
	grep -q "\"filename\": \"$T/disk.img\"" "$T/cli1.json"
kill $cli; wait $cli
check "it restarts from that file" start_target "$sock" -c "$T/cli1.json"
c save_config >"$T/cli2.json"
check "... and saves the same again" diff "$T/cli1.json" "$T/cli2.json"
check "the allowed host connects to the reloaded subsystem" \
	./nvmf identify -r "trtype:TCP traddr:127.0.0.2 trsvcid:$port subnqn:$cnqn hostnqn:$host1"

echo "rpc_test: $pass passed, $fail failed"
[ "$fail" = 0 ]
