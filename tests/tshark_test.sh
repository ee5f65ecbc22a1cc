#!/usr/bin/env bash
# tests/tshark_test.sh - Wireshark's NVMe/TCP dissector, an independent
# reader of the protocol, decodes a capture of a whole session (discovery,
# identify, perf with and without digests, writes big enough for several
# H2CData PDUs) and finds no malformed PDU. Needs root for the capture.
set -u
cd "$(dirname "$0")/.."
if ! command -v tshark >/dev/null || [ "$(id -u)" != 0 ]; then
	echo "skip - tshark_test: needs tshark and root (apt-get install tshark)"
	echo "tshark_test: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
mkdir -p tests/out
DETAIL=tests/out/tshark_test.detail
: >"$DETAIL"
. tests/lib.sh
port=$(free_port) dport=$(free_port) pcap=tests/out/session.pcap
nqn=nqn.2026-11.io.nvmf:cnode1
./nvmf target -r "$(mktemp -u /tmp/nvmf-tshark.XXXXXX)" -l 127.0.0.1:$port -D $dport \
	>tests/out/tshark_target.log 2>&1 &
tgt=$!
tshark -q -B 64 -i lo -f "tcp port $port or tcp port $dport" -w $pcap >tests/out/tshark_capture.log 2>&1 &
cap=$!
trap 'kill $tgt $cap 2>/dev/null; wait $tgt $cap 2>/dev/null' EXIT
check "the target starts" wait_target tests/out/tshark_target.log $tgt
for _ in $(seq 100); do grep -q "Capturing on" tests/out/tshark_capture.log && break; sleep 0.1; done
sleep 0.5
trid="trtype:TCP traddr:127.0.0.1 trsvcid:$port subnqn:$nqn"
./nvmf discover -r "trtype:TCP traddr:127.0.0.1 trsvcid:$dport" >/dev/null 2>&1
./nvmf identify -r "$trid" >/dev/null 2>&1
./nvmf perf -q 1 -o 65536 -w randrw -t 1 --verify -r "$trid" >/dev/null 2>&1
./nvmf perf -q 1 -o 4096 -w randrw -t 1 --hdgst --ddgst -r "$trid" >/dev/null 2>&1
sleep 1
kill $cap; wait $cap 2>/dev/null
decode=(-r $pcap -d tcp.port==$port,nvme-tcp -d tcp.port==$dport,nvme-tcp)
tshark "${decode[@]}" -Y nvme-tcp >tests/out/session.txt 2>/dev/null	# decoded once
n=$(wc -l <tests/out/session.txt)
bad=$(tshark "${decode[@]}" -Y '_ws.malformed || _ws.expert.severity >= error' 2>/dev/null | wc -l)
# A dropped packet leaves a hole the dissector may call malformed (or
# skip): the verdict below means something only on a whole capture. QD1
# and a 64 MiB capture buffer keep the rate low enough for that.
dropped=$(sed -nE 's/^([0-9]+) packets? dropped.*/\1/p' tests/out/tshark_capture.log | head -n 1)
check "the capture is whole (${dropped:-0} packets dropped)" test "${dropped:-0}" = 0
check "the capture holds NVMe/TCP PDUs ($n frames)" test "$n" -gt 100
check "tshark finds no malformed PDU ($bad)" test "$bad" = 0
for what in "Initialize Connection Response" "NVMeOF CQE for Connect" "Ready To Transfer" \
	    "NVMeOF Data for Write" "Get Log Page NVMeOF Discovery"; do
	check "tshark decodes: $what" grep -q "$what" tests/out/session.txt
done
echo "tshark_test: $pass passed, $fail failed"
# The raw capture is most of a gigabyte (64 KiB frames on loopback): it is
# kept only for a failure to look at; session.txt stays either way.
[ "$fail" = 0 ] && rm -f $pcap
[ "$fail" = 0 ]
