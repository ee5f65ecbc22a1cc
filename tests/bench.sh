#!/usr/bin/env bash
# tests/bench.sh - `make bench`: the target pinned to core 0 with a RAM
# namespace, `nvmf perf` pinned to core 1, over NVMe/TCP on loopback.
# Prints one table; it asserts nothing (speed is measured, not tested).
# BENCH_TIME=seconds per run (default 5).
set -u
cd "$(dirname "$0")/.."
t=${BENCH_TIME:-5}
port=$((20000 + RANDOM % 20000))
nqn=nqn.2026-11.io.nvmf:bench
./nvmf target -m 0x1 -l 127.0.0.1:$port -D 0 -s $nqn --ns ram:1G >/dev/null 2>tests/out/bench-target.log &
tgt=$!
trap 'kill $tgt 2>/dev/null; wait $tgt 2>/dev/null' EXIT
mkdir -p tests/out
sleep 0.5
trid="trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$port subnqn:$nqn"
printf '%-22s %12s %10s %10s %10s %10s\n' workload IOPS MiB/s avg_us min_us max_us
while read -r name q o w; do
	out=$(./nvmf perf -c 0x2 -q "$q" -o "$o" -w "$w" -t "$t" -r "$trid" 2>&1)
	line=$(grep -E '^TCP' <<<"$out" | tail -n 1)
	if [ -z "$line" ]; then
		printf '%-22s failed: %s\n' "$name" "$(tail -n 1 <<<"$out")"
		continue
	fi
	read -r iops mibs avg min max <<<"$(awk -F: '{print $NF}' <<<"$line")"
	printf '%-22s %12s %10s %10s %10s %10s\n' "$name" "$iops" "$mibs" "$avg" "$min" "$max"
done <<'LIST'
4K-randread-QD128 128 4096 randread
4K-randwrite-QD128 128 4096 randwrite
128K-read-QD32 32 131072 read
4K-randread-QD1 1 4096 randread
LIST
