#!/usr/bin/env bash
# tests/dhchap_test.sh - DH-HMAC-CHAP (auth.c) with nvmf's host against
# nvmf's target over loopback: one way and both ways, on the admin queue,
# the I/O queue and the discovery controller; wrong secrets refused with a
# message that says which; a host without a secret not asked; --trace
# decodes each message and prints no secret. (The Linux host and nvmet:
# tests/vm/test-auth.sh.)
set -u
cd "$(dirname "$0")/.."
DETAIL=tests/out/dhchap_test.detail
. tests/lib.sh
mkdir -p tests/out
: >"$DETAIL"
port=$(free_port) dport=$(free_port)
nqn=nqn.2026-11.io.nvmf:dhchap
host=nqn.2014-08.org.nvmexpress:uuid:d1c4a900-0000-4000-8000-000000000001
host2=nqn.2014-08.org.nvmexpress:uuid:d1c4a900-0000-4000-8000-000000000002
# Secrets as nvme gen-dhchap-key writes them (-m 1 and -m 3 -l 64).
key='DHHC-1:01:X7fWDXYKkGsEDDpbZ4IEfXNRzUWs5IHufbT8wdN6qp6sXokS:'
ckey='DHHC-1:03:g4qwIACIMxYkppsKJJ61yYafQzvvNMlQNo/QcLhpq+4VKI4UO25LMt7JSHTdx1VKw6Mkhs8vruucAcEcS0JQk1mbsnw=:'
bad='DHHC-1:01:UwMsFJt9byNRulABQx86VyJYFNIlKs4bA/GIaQfqxD7NYsTk:'
keyfile=tests/out/dhchap_test.key
echo "$key" >"$keyfile"
log=tests/out/dhchap_test.target.out
./nvmf target -r tests/out/dhchap_test.sock -l 127.0.0.1:$port -D $dport -s $nqn --ns ram:16M \
	--host $host --dhchap-key "$keyfile" --dhchap-ctrl-key "$ckey" --host $host2 \
	--dhchap-digests sha384,sha512 --dhchap-dhgroups null,ffdhe2048 --dhchap-discovery >"$log" 2>&1 &
tgt=$!
trap 'kill $tgt 2>/dev/null; wait $tgt 2>/dev/null' EXIT
check "the target starts" wait_target "$log" $tgt
trid="trtype:TCP traddr:127.0.0.1 trsvcid:$port subnqn:$nqn hostnqn:$host"

# fails_saying ERE CMD...: CMD must fail and print something matching ERE.
fails_saying() {
	local ere=$1 out
	shift
	out=$("$@" 2>&1) && { echo "succeeded: $*"; return 1; }
	echo "$out"
	grep -qE "$ere" <<<"$out"
}

check "identify, one way (host secret from a file)" ./nvmf identify -r "$trid" --dhchap-secret "$keyfile"
check "target log: authenticated with SHA-512 and ffdhe2048, the strongest allowed" \
	grep -q "host $host authenticated (sha512, ffdhe2048)" "$log"
check "identify, both ways" ./nvmf identify -r "$trid" --dhchap-secret "$key" --dhchap-ctrl-secret "$ckey"
check "perf --verify both ways: the I/O queue authenticates too" \
	./nvmf perf -q 8 -o 4096 -w randrw -t 1 --verify -r "$trid" --dhchap-secret "$key" --dhchap-ctrl-secret "$ckey"
check "target log: qid 1 authenticated" grep -q "qid=1 host $host authenticated (bidirectional" "$log"
check "discover with the secret on the discovery port (--dhchap-discovery)" \
	./nvmf discover -r "trtype:TCP traddr:127.0.0.1 trsvcid:$dport hostnqn:$host" --dhchap-secret "$key"
check "discover without a secret: told to give --dhchap-secret" \
	fails_saying "requires authentication: give --dhchap-secret" \
	./nvmf discover -r "trtype:TCP traddr:127.0.0.1 trsvcid:$dport hostnqn:$host"
check "a wrong host secret: the controller refused us: authentication failed" \
	fails_saying "refused us: authentication failed" ./nvmf identify -r "$trid" --dhchap-secret "$bad"
check "a wrong controller secret: our host refuses the controller" \
	fails_saying "response R2 is wrong" ./nvmf identify -r "$trid" --dhchap-secret "$key" --dhchap-ctrl-secret "$bad"
check "target log: the host's Failure2 is reported" grep -q "refused the controller: authentication failed" "$log"
check "a host without a secret is not asked" \
	./nvmf identify -r "trtype:TCP traddr:127.0.0.1 trsvcid:$port subnqn:$nqn hostnqn:$host2"
out=$(./nvmf identify --trace -r "$trid" --dhchap-secret "$key" --dhchap-ctrl-secret "$ckey" 2>&1)
echo "$out" >>"$DETAIL"
check "--trace decodes the five messages" bash -c 'for m in AUTH_Negotiate DH-HMAC-CHAP_Challenge DH-HMAC-CHAP_Reply DH-HMAC-CHAP_Success1 DH-HMAC-CHAP_Success2; do grep -q "auth .* $m" <<<"$1" || exit 1; done' _ "$out"
check "--trace prints no secret" bash -c '! grep -qF -e "${1:10:20}" -e "${2:10:20}" <<<"$3"' _ "$key" "$ckey" "$out"
check "a mistyped secret on the command line: exit 2, says CRC" \
	fails_saying "CRC-32 does not match" ./nvmf target -r tests/out/dhchap_test2.sock -l 127.0.0.1:1 \
	--host $host --dhchap-key "${key/X7f/X8f}"
check "--dhchap-key without --host: says what to do" \
	fails_saying "follow a --host NQN" ./nvmf target -r tests/out/dhchap_test2.sock --dhchap-key "$key"
check "--help lists the DH-HMAC-CHAP options" bash -c './nvmf --help | grep -q -- --dhchap-ctrl-key'
kill $tgt; wait $tgt; rc=$?
check "target exits 0 on SIGTERM" test "$rc" = 0

# ---- the same over JSON-RPC, SPDK's names (keyring, add_host keys) ----------
# SPDK's rpc.py of ../shared/spdk (v23.05) predates DH-HMAC-CHAP (v24.01):
# `nvmf rpc` sends these with rpc.py's syntax.
sock=$PWD/tests/out/dhchap_test.sock
T=$PWD/tests/out/dhchap_test.d
rm -rf "$T"; mkdir -p "$T"
echo "$key" >"$T/key0"; echo "$ckey" >"$T/key1"; echo "$key" >"$T/open"
chmod 600 "$T/key0" "$T/key1"; chmod 644 "$T/open"
rlog=tests/out/dhchap_test.rpc.out
rpc() { ./nvmf rpc -s "$sock" "$@"; }
start_rpc_target() {	# start_rpc_target ARGS...
	rm -f "$sock"
	./nvmf target -r "$sock" -D 0 "$@" >>"$rlog" 2>&1 &
	tgt=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
}
: >"$rlog"
start_rpc_target --empty
trap 'kill $tgt 2>/dev/null; wait $tgt 2>/dev/null' EXIT
rpc nvmf_create_transport -t TCP >/dev/null
rpc bdev_malloc_create -b M0 16 512 >/dev/null
rpc nvmf_create_subsystem $nqn -s SN0001 >/dev/null
rpc nvmf_subsystem_add_ns $nqn M0 >/dev/null
rpc nvmf_subsystem_add_listener $nqn -t tcp -a 127.0.0.1 -s $port >/dev/null
rpc nvmf_subsystem_add_listener discovery -t tcp -a 127.0.0.1 -s $dport >/dev/null
check "keyring_file_add_key key0, key1" bash -c "./nvmf rpc -s $sock keyring_file_add_key key0 $T/key0 && ./nvmf rpc -s $sock keyring_file_add_key key1 $T/key1"
check "keyring_file_add_key of a file others can read: refused, says 0600" \
	fails_saying "make it 0600" rpc keyring_file_add_key open "$T/open"
check "nvmf_set_config --dhchap-digests sha256 --dhchap-dhgroups ffdhe3072" \
	rpc nvmf_set_config --dhchap-digests sha256 --dhchap-dhgroups ffdhe3072
check "nvmf_subsystem_add_host with an unknown key: refused, names it" \
	fails_saying "no key named 'nokey'" rpc nvmf_subsystem_add_host $nqn $host --dhchap-key nokey
check "nvmf_subsystem_add_host --dhchap-key key0 --dhchap-ctrlr-key key1" \
	rpc nvmf_subsystem_add_host $nqn $host --dhchap-key key0 --dhchap-ctrlr-key key1
out=$(rpc keyring_get_keys 2>&1)
echo "$out" >>"$DETAIL"
check "keyring_get_keys: names, paths, refcnt 2; no secret" \
	bash -c 'grep -q "\"name\": \"key0\"" <<<"$1" && grep -q "\"refcnt\": 2" <<<"$1" && ! grep -q DHHC <<<"$1"' _ "$out"
check "identify both ways: authenticated with sha256 and ffdhe3072" \
	bash -c "./nvmf identify -r '$trid' --dhchap-secret '$key' --dhchap-ctrl-secret '$ckey' >/dev/null && grep -q 'authenticated (bidirectional, sha256, ffdhe3072)' $rlog"
check "identify without a secret: refused" fails_saying "requires authentication" ./nvmf identify -r "$trid"
check "discovery without --dhchap-discovery: no secret asked" \
	./nvmf discover -r "trtype:TCP traddr:127.0.0.1 trsvcid:$dport hostnqn:$host"
rpc save_config >"$T/saved.json"
cat "$T/saved.json" >>"$DETAIL"
check "save_config: keyring first, set_config, add_host with key names, no secret" \
	python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); s=c["subsystems"]; t=open(sys.argv[1]).read()
assert s[0]["subsystem"]=="keyring" and [e["params"]["name"] for e in s[0]["config"]]==["key0","key1"]
n=[x for x in s if x["subsystem"]=="nvmf"][0]["config"]
assert n[0]=={"method":"nvmf_set_config","params":{"dhchap_digests":["sha256"],"dhchap_dhgroups":["ffdhe3072"]}}, n[0]
h=[e["params"] for e in n if e["method"]=="nvmf_subsystem_add_host"][0]
assert h["dhchap_key"]=="key0" and h["dhchap_ctrlr_key"]=="key1", h
assert "DHHC" not in t' "$T/saved.json"
kill $tgt; wait $tgt
start_rpc_target -c "$T/saved.json"
check "restarted from save_config: authenticates again" \
	./nvmf identify -r "$trid" --dhchap-secret "$key" --dhchap-ctrl-secret "$ckey"
check "keyring_file_remove_key of a key in use: refused" fails_saying "in use" rpc keyring_file_remove_key key0
rpc nvmf_subsystem_remove_host $nqn $host >/dev/null
rpc nvmf_subsystem_add_host $nqn $host >/dev/null
check "remove_host, add_host without keys: no authentication any more" ./nvmf identify -r "$trid"
# A deleted subsystem's hosts let go of their keys: before, the keyring
# kept counting them (remove_key refused forever) and a subsystem made
# again under the same NQN asked its hosts for the old secrets.
rpc nvmf_subsystem_remove_host $nqn $host >/dev/null
rpc nvmf_subsystem_add_host $nqn $host --dhchap-key key0 --dhchap-ctrlr-key key1 >/dev/null
check "nvmf_delete_subsystem of a subsystem whose host holds key0 and key1" rpc nvmf_delete_subsystem $nqn
out=$(rpc keyring_get_keys 2>&1)
echo "$out" >>"$DETAIL"
check "keyring_get_keys after the delete: refcnt 1 (the keyring's own) for both" \
	bash -c '[ "$(grep -c "\"refcnt\": 1" <<<"$1")" = 2 ] && ! grep -q "\"refcnt\": 2" <<<"$1"' _ "$out"
check "keyring_file_remove_key key0 now works" rpc keyring_file_remove_key key0
rpc nvmf_create_subsystem $nqn >/dev/null
rpc nvmf_subsystem_add_ns $nqn M0 >/dev/null
rpc nvmf_subsystem_add_listener $nqn -t tcp -a 127.0.0.1 -s $port >/dev/null
rpc nvmf_subsystem_add_host $nqn $host >/dev/null
check "the same NQN made again, host added without keys: no old secret asked" \
	./nvmf identify -r "$trid"
kill $tgt; wait $tgt; rc=$?
check "RPC target exits 0 on SIGTERM" test "$rc" = 0

# ---- an nvmetcli file's secrets: key files while the target runs, none after
# config.c writes each secret to a 0600 file in a 0700 directory under
# $TMPDIR and names it in keyring_file_add_key; the target removes both
# when it exits (SIGTERM, SIGINT, a start that fails). Meanwhile its
# save_config output names them, and loads.
K=$PWD/tests/out/dhchap_test.tmp
rm -rf "$K"; mkdir -p "$K"
truncate -s 16M "$K/ns.img"
nvmet_json() {	# nvmet_json PORT NAMESPACE-FILE
	cat <<EOJ
{"hosts": [{"nqn": "$host", "dhchap": {"key": "$key", "ctrl_key": "$ckey",
     "hash": "hmac(sha256)", "dhgroup": "ffdhe2048"}}],
 "ports": [{"portid": 1, "addr": {"trtype": "tcp", "adrfam": "ipv4", "traddr": "127.0.0.1",
     "trsvcid": "$1"}, "subsystems": ["$nqn"], "referrals": []}],
 "subsystems": [{"nqn": "$nqn", "attr": {"allow_any_host": "0"}, "allowed_hosts": ["$host"],
     "namespaces": [{"nsid": 1, "enable": 1, "device": {"path": "$2"}}]}]}
EOJ
}
nvmet_json "$port" "$K/ns.img" >"$K/nvmet.json"
keydirs() { ls -d "$K"/nvmf-keys.* 2>/dev/null; }
start_keys_target() {	# start_keys_target SOCK ARGS..., with TMPDIR=$K
	local s=$1
	shift
	rm -f "$s"
	TMPDIR=$K ./nvmf target -r "$s" -D 0 "$@" >>"$rlog" 2>&1 &
	tgt=$!
	for _ in $(seq 100); do [ -S "$s" ] && break; sleep 0.05; done
}
start_keys_target "$sock" -c "$K/nvmet.json"
dir=$(keydirs)
check "-c nvmetcli file: one key directory, mode 0700, two key files of mode 0600" \
	bash -c '[ "$(wc -w <<<"$1")" = 1 ] && [ "$(stat -c %a "$1")" = 700 ] &&
		[ "$(stat -c %a "$1"/* | sort -u)" = 600 ] && [ "$(ls "$1" | wc -l)" = 2 ]' _ "$dir"
check "identify both ways against it" \
	./nvmf identify -r "$trid" --dhchap-secret "$key" --dhchap-ctrl-secret "$ckey"
rpc save_config >"$K/saved.json"
cat "$K/saved.json" >>"$DETAIL"
port2=$(free_port)
python3 - "$K/saved.json" "$port" "$port2" >"$K/saved2.json" <<'EOPY'
import json, sys
c = json.load(open(sys.argv[1]))
def walk(x):	# the same file on another port, for a second target
	if isinstance(x, dict):
		for k, v in x.items():
			x[k] = sys.argv[3] if k == "trsvcid" and str(v) == sys.argv[2] else walk(v)
	elif isinstance(x, list):
		x[:] = [walk(v) for v in x]
	return x
print(json.dumps(walk(c)))
EOPY
check "save_config names the key files, holds no secret" \
	bash -c 'grep -qF "$1/hosts0.key" "$2" && ! grep -q DHHC "$2"' _ "$dir" "$K/saved.json"
tgt1=$tgt
start_keys_target "$sock.2" -c "$K/saved2.json"
check "its save_config output loads into a second target, which authenticates" \
	./nvmf identify -r "trtype:TCP traddr:127.0.0.1 trsvcid:$port2 subnqn:$nqn hostnqn:$host" \
	--dhchap-secret "$key" --dhchap-ctrl-secret "$ckey"
kill $tgt; wait $tgt; rc=$?
check "the second target exits 0 and leaves the first's key files alone" \
	bash -c '[ "$1" = 0 ] && [ -f "$2/hosts0.key" ]' _ "$rc" "$dir"
tgt=$tgt1
kill $tgt; wait $tgt; rc=$?
check "SIGTERM: exit 0, no key directory left" bash -c '[ "$1" = 0 ] && [ -z "$2" ]' _ "$rc" "$(keydirs)"
start_keys_target "$sock" -c "$K/nvmet.json"
check "started again: a key directory" test -n "$(keydirs)"
kill -INT $tgt; wait $tgt; rc=$?
check "SIGINT: exit 0, no key directory left" bash -c '[ "$1" = 0 ] && [ -z "$2" ]' _ "$rc" "$(keydirs)"
nvmet_json "$port" "$K/no-such.img" >"$K/bad.json"
rm -f "$sock"
TMPDIR=$K ./nvmf target -r "$sock" -D 0 -c "$K/bad.json" >>"$rlog" 2>&1; rc=$?
check "a start that fails after writing the key files: exit 1, no key directory left" \
	bash -c '[ "$1" = 1 ] && [ -z "$2" ]' _ "$rc" "$(keydirs)"
out=$(TMPDIR=$K ./nvmf config "$K/nvmet.json" 2>&1 >/dev/null)
echo "$out" >>"$DETAIL"
dir=$(keydirs)
check "nvmf config: the key files are its output, kept, and it says where" \
	bash -c '[ -n "$1" ] && [ -f "$1/hosts0.key" ] && grep -qF "$1" <<<"$2"' _ "$dir" "$out"
trap - EXIT
rm -rf "$keyfile" "$T" "$K"
echo "dhchap_test: $pass passed, $fail failed"
[ "$fail" = 0 ]
