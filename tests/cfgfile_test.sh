#!/usr/bin/env bash
# tests/cfgfile_test.sh - `nvmf -c FILE` end to end for the formats config.c
# translates: a legacy SPDK INI file and an nvmetcli JSON file each start a
# target that our host identifies and writes and verifies through; their
# ignored keys are named on stderr; save_config of the result restarts to
# the same state; a broken file stops the target from starting.
#   (tests/config_test.c checks each translation key by key; this checks
#    that what it produces is what rpc.c accepts and the host sees.)
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0 tgt=''
T=$(mktemp -d)
DETAIL="$T/detail"
. tests/lib.sh
stop() { [ -n "$tgt" ] && kill "$tgt" 2>/dev/null && wait "$tgt"; local rc=$?; tgt=''; return $rc; }
trap 'stop; rm -rf "$T"' EXIT
start() {	# start ARGS...: ./nvmf on our RPC socket, until it says "try:"
	./nvmf -r "$T/sock" -D 0 "$@" >"$T/target.out" 2>&1 &
	tgt=$!
	wait_target "$T/target.out" $tgt
}
port=$(free_port)
trid="trtype:TCP traddr:127.0.0.1 trsvcid:$port"

# ---- legacy INI ------------------------------------------------------------
truncate -s 16M "$T/aio0"
cat >"$T/nvmf.conf" <<EOC
[Global]
  ReactorMask 0x1
[Malloc]
  NumberOfLuns 1
  LunSizeInMB 32
  BlockSize 512
[AIO]
  AIO $T/aio0 AIO0 4096
[Transport]
  Type TCP
  InCapsuleDataSize 4096
[Subsystem1]
  NQN nqn.2016-06.io.spdk:cnode1
  Listen TCP 127.0.0.1:$port
  AllowAnyHost Yes
  SN SPDK00000000000001
  MN SPDK_Controller1
  Namespace Malloc0 1
  Namespace AIO0 2
EOC
nqn=nqn.2016-06.io.spdk:cnode1
check "INI: the target starts from nvmf.conf" start -c "$T/nvmf.conf"
check "INI: [Global] ReactorMask is named as ignored" grep -q 'ReactorMask: not supported, ignored' "$T/target.out"
out=$(./nvmf identify -r "$trid subnqn:$nqn" 2>&1); echo "$out" >>"$T/detail"
check "INI: SN and MN as the file says" bash -c 'grep -q SPDK00000000000001 <<<"$1" && grep -q SPDK_Controller1 <<<"$1"' _ "$out"
check "INI: both namespaces are there" grep -q '^Namespace 2:' <<<"$out"
check "INI: in-capsule data from InCapsuleDataSize" grep -q '4096 bytes of in-capsule data' <<<"$out"
check "INI: perf --verify on the Malloc namespace" ./nvmf perf -q 8 -o 4096 -w randrw -t 1 --verify -r "$trid subnqn:$nqn"
check "INI: perf --verify on the AIO file namespace (4096-byte blocks)" \
	./nvmf perf -n 2 -q 8 -o 16384 -w randrw -t 1 --verify -r "$trid subnqn:$nqn"
check "INI: save_config" bash -c "./nvmf rpc -s '$T/sock' save_config >'$T/saved1.json'"
check "INI: target exits 0" stop
check "INI: restart from the saved config" start -c "$T/saved1.json"
check "INI: save_config again" bash -c "./nvmf rpc -s '$T/sock' save_config >'$T/saved2.json'"
check "INI: ... identical" diff "$T/saved1.json" "$T/saved2.json"
check "INI: the AIO file namespace reads after the restart" \
	./nvmf perf -n 2 -q 1 -o 4096 -w read -t 1 -r "$trid subnqn:$nqn"
stop

# ---- nvmetcli JSON ---------------------------------------------------------
truncate -s 16M "$T/img"
cat >"$T/nvmet.json" <<EOC
{ "hosts": [],
  "ports": [ { "addr": { "adrfam": "ipv4", "traddr": "127.0.0.1", "treq": "not specified",
                         "trsvcid": "$port", "trtype": "tcp" },
               "param": { "inline_data_size": "16384" }, "portid": 1, "referrals": [],
               "subsystems": [ "nqn.2026-11.io.nvmf:nvmet1" ] } ],
  "subsystems": [ { "allowed_hosts": [],
      "attr": { "allow_any_host": "1", "model": "Linux", "serial": "c0ffee12345", "version": "1.3" },
      "namespaces": [ { "device": { "nguid": "01234567-89ab-cdef-0123-456789abcdef",
                                    "path": "$T/img", "uuid": "d592cdf3-5d1c-44e0-8412-3fcf7d99df27" },
                        "enable": 1, "nsid": 5 } ],
      "nqn": "nqn.2026-11.io.nvmf:nvmet1" } ] }
EOC
nqn=nqn.2026-11.io.nvmf:nvmet1
check "nvmetcli: the target starts from nvmet.json" start -c "$T/nvmet.json"
check "nvmetcli: ports[0].param.inline_data_size is named as ignored" \
	grep -q 'ports\[0\].param.inline_data_size: not supported, ignored' "$T/target.out"
out=$(./nvmf identify -r "$trid subnqn:$nqn" 2>&1); echo "$out" >>"$T/detail"
check "nvmetcli: serial and model from attr" bash -c 'grep -q c0ffee12345 <<<"$1" && grep -q Linux <<<"$1"' _ "$out"
check "nvmetcli: the namespace has NSID 5" grep -q '^Namespace 5:' <<<"$out"
check "nvmetcli: perf --verify on the file namespace" \
	./nvmf perf -n 5 -q 8 -o 4096 -w randrw -t 1 --verify -r "$trid subnqn:$nqn"
check "nvmetcli: the writes are in the file" test "$(du -k "$T/img" | cut -f1)" -gt 0
check "nvmetcli: target exits 0" stop

# ---- names as nvmet takes them -----------------------------------------------
# The nvmet walkthroughs name a subsystem "ramdisk"; nvmet and the Linux host
# take any such name, so every front door does, with one warning.
trd="$trid subnqn:ramdisk"
one_warning() { test "$(grep -c "'ramdisk' is not an NQN" "$T/target.out")" = 1; }
sed 's/"nqn.2026-11.io.nvmf:nvmet1"/"ramdisk"/' "$T/nvmet.json" >"$T/ramdisk.json"
check "nvmetcli: \"nqn\": \"ramdisk\" starts" start -c "$T/ramdisk.json"
check "... with one warning that it is not an NQN" one_warning
check "... and a host reaches subnqn ramdisk" ./nvmf identify -r "$trd"
check "nvmetcli ramdisk: target exits 0" stop
sed 's/^  NQN .*/  NQN ramdisk/' "$T/nvmf.conf" >"$T/ramdisk.conf"
check "INI: NQN ramdisk starts" start -c "$T/ramdisk.conf"
check "... with one warning" one_warning
check "... and a host reaches it" ./nvmf identify -r "$trd"
check "INI ramdisk: target exits 0" stop
check "-s ramdisk starts" start -l "127.0.0.1:$port" -s ramdisk
check "... with one warning" one_warning
check "... and perf --verify runs on it" ./nvmf perf -q 8 -o 4096 -w randrw -t 1 --verify -r "$trd"
check "-s ramdisk: target exits 0" stop
check "-s with a '/' (nvmet cannot take it): refused, says why" \
	bash -c "! ./nvmf -r '$T/sock' -D 0 -s a/b >'$T/slash.out' 2>&1 && grep -q \"has a '/'\" '$T/slash.out'"

# ---- nvmetcli hosts with DH-HMAC-CHAP secrets -------------------------------
# nvmet asks a host for its dhchap_key on every subsystem that lists it; the
# same file must make nvmf ask too, never let it in without.
h0=nqn.2014-08.org.nvmexpress:uuid:cf9f11e0-0000-4000-8000-000000000001
h1=nqn.2014-08.org.nvmexpress:uuid:cf9f11e0-0000-4000-8000-000000000002
key='DHHC-1:01:X7fWDXYKkGsEDDpbZ4IEfXNRzUWs5IHufbT8wdN6qp6sXokS:'
ckey='DHHC-1:03:g4qwIACIMxYkppsKJJ61yYafQzvvNMlQNo/QcLhpq+4VKI4UO25LMt7JSHTdx1VKw6Mkhs8vruucAcEcS0JQk1mbsnw=:'
keys_json() {	# keys_json HOST0-KEY: a file where host 0 has that key
	cat <<EOJ
{"hosts": [{"nqn": "$h0", "dhchap": {"key": "$1", "ctrl_key": "$ckey",
    "hash": "hmac(sha384)", "dhgroup": "ffdhe3072"}},
  {"nqn": "$h1", "dhchap": {"key": "", "ctrl_key": "", "hash": "hmac(sha256)", "dhgroup": "null"}}],
 "ports": [{"portid": 1, "addr": {"trtype": "tcp", "adrfam": "ipv4", "traddr": "127.0.0.1",
    "trsvcid": "$port"}, "subsystems": ["nqn.2026-12.io.nvmf:keys"]}],
 "subsystems": [{"nqn": "nqn.2026-12.io.nvmf:keys", "attr": {"allow_any_host": "0"},
    "allowed_hosts": ["$h0", "$h1"], "namespaces": []}]}
EOJ
}
keys_json "$key" >"$T/keys.json"
trk="$trid subnqn:nqn.2026-12.io.nvmf:keys"
export TMPDIR="$T"	# the key files nvmf writes go with the rest of $T
check "nvmetcli with a host secret: starts" start -c "$T/keys.json"
check "... the host with its secrets authenticates both ways, sha384 + ffdhe3072" \
	bash -c "./nvmf identify -r '$trk hostnqn:$h0' --dhchap-secret '$key' --dhchap-ctrl-secret '$ckey' >/dev/null &&
		 grep -q 'authenticated (bidirectional, sha384, ffdhe3072)' '$T/target.out'"
check "... the same host without its secret: refused" \
	bash -c "! ./nvmf identify -r '$trk hostnqn:$h0' >'$T/nokey.out' 2>&1 && grep -q 'requires authentication' '$T/nokey.out'"
check "... the host the file gives no secret connects as before" ./nvmf identify -r "$trk hostnqn:$h1"
./nvmf rpc -s "$T/sock" save_config >"$T/keys-saved.json" 2>>"$DETAIL"
check "... save_config names the key files, holds no secret" \
	bash -c "grep -q nvmet-hosts0-ctrl-key '$T/keys-saved.json' && ! grep -q DHHC '$T/keys-saved.json'"
check "nvmetcli with a host secret: target exits 0" stop
keys_json "${key/X7f/X8f}" >"$T/badkey.json"
check "a mistyped host secret: the target does not start, and names the host" \
	bash -c "! ./nvmf -r '$T/sock' -D 0 -c '$T/badkey.json' >'$T/badkey.out' 2>&1 &&
		 grep -q 'hosts\[0\] ($h0): dhchap_key: secret.s CRC-32 does not match' '$T/badkey.out'"

# ---- refusals --------------------------------------------------------------
printf '[Subsystem1\n' >"$T/broken.conf"
check "a broken file: the target does not start, and says where" \
	bash -c "! ./nvmf -r '$T/sock' -D 0 -c '$T/broken.conf' >'$T/broken.out' 2>&1 && grep -q 'broken.conf:1' '$T/broken.out'"
check "nvmf config on a broken file: exit status 1" bash -c "! ./nvmf config '$T/broken.conf'"
echo "cfgfile_test: $pass passed, $fail failed"
[ "$fail" = 0 ]
