#!/usr/bin/env bash
# tests/fuzz.sh SECONDS - run the libFuzzer build of tests/fuzz_test.c
# (make fuzz builds it) on tests/fuzz_corpus for SECONDS. New inputs go to
# tests/out/fuzz-work, never into the checked-in corpus; a finding leaves
# its input in tests/out/ and fails the run. Copy that input into
# tests/fuzz_corpus/ with the fix, and tests/fuzz_test replays it for good.
set -u
cd "$(dirname "$0")/.."
secs=${1:-60}
mkdir -p tests/out/fuzz-work
log=tests/out/fuzz.log
# detect_leaks: a leak per input is a finding too.
ASAN_OPTIONS=detect_leaks=1 tests/fuzz_fuzzer -max_total_time="$secs" -max_len=65536 \
	-print_final_stats=1 -artifact_prefix=tests/out/fuzz- \
	tests/out/fuzz-work tests/fuzz_corpus >"$log" 2>&1
rc=$?
grep -E '^(stat::|Done)' "$log"
if [ "$rc" = 0 ]; then
	echo "fuzz: 1 passed, 0 failed"
	echo "1 passed, 0 failed"
else
	grep -E 'ERROR|SUMMARY|Test unit written|abort|runtime error' "$log" | head -20
	echo "fuzz: 0 passed, 1 failed"
	echo "0 passed, 1 failed"
	echo "(exit $rc; log $log)"
fi
[ "$rc" = 0 ]
