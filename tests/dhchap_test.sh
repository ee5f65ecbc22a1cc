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
	--dhchap-digests sha384,sha512 --dhchap-dhgroups null,ffdhe2048 >"$log" 2>&1 &
tgt=$!
trap 'kill $tgt 2>/dev/null; wait $tgt 2>/dev/null' EXIT
for _ in $(seq 50); do
	grep -q '^try:' "$log" && break
	sleep 0.1
done
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
check "discover with the secret on the discovery port" \
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
trap - EXIT
rm -f "$keyfile"
echo "dhchap_test: $pass passed, $fail failed"
[ "$fail" = 0 ]
