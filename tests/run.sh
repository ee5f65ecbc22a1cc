#!/usr/bin/env bash
# tests/run.sh [--slow] - run the tests on the host and add up their
# closing "NAME: N passed, M failed" lines into one. Output of each test
# is kept in tests/out/NAME.log; failures are printed in full.
#
#   tests/run.sh          the quick tests (make test): unit tests, the
#                         protocol test, the host side, the README
#   tests/run.sh --slow   the rest (make check, make asan): tests that
#                         start hundreds of clients or SPDK's programs,
#                         each a minute or more on a busy machine
set -u
cd "$(dirname "$0")/.."
# A test is slow when it dominates the wait for `make test` (rpc_test runs
# `nvmf rpc` and rpc.py a few hundred times; the SPDK tests start
# nvmf_tgt; flood and pool open thousands of connections; tshark decodes
# a whole capture). They still run in CI, through `make check`.
slow=" rpc_test spdk_peer_test spdk_rpc_test flood_test pool_test tshark_test wakeup_test "
want_slow=0
[ "${1:-}" = --slow ] && want_slow=1
mkdir -p tests/out
total_pass=0 total_fail=0 total_skip=0 broken=()

run() {	# run NAME CMD...: one test program or script, if it is in this set
	local name=$1; shift
	local is_slow=0
	[[ $slow == *" $name "* ]] && is_slow=1
	[ "$is_slow" = "$want_slow" ] || return 0
	local log=tests/out/$name.log
	printf '%-14s ' "$name"
	local t0=$SECONDS
	"$@" >"$log" 2>&1
	local rc=$? line
	line=$(grep -E '^[A-Za-z0-9_-]+: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "no result line (exit $rc)"; broken+=("$name"); total_fail=$((total_fail + 1))
		tail -n 30 "$log"; return
	fi
	local p f s
	p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/.*passed, ([0-9]+) failed.*/\1/' <<<"$line")
	# A test whose tool is missing says so and counts it as skipped,
	# never as passed: "N passed, M failed, K skipped".
	s=$(sed -nE 's/.*failed, ([0-9]+) skipped.*/\1/p' <<<"$line")
	total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + ${s:-0}))
	# Seconds are printed to see where the time goes, never judged.
	echo "${line#*: } ($((SECONDS - t0)) s)"
	[ "${s:-0}" != 0 ] && grep -E '^skip' "$log" | sed 's/^/  /'
	if [ "$f" != 0 ] || [ "$rc" != 0 ]; then
		grep -E '^not ok|^    got' "$log"
		[ "$f" = 0 ] && { echo "  exit status $rc"; total_fail=$((total_fail + 1)); }
		broken+=("$name")
	fi
}

for t in tests/*_test; do
	[ -x "$t" ] && run "$(basename "$t")" "$t"
done
for t in tests/*_test.sh; do
	[ -x "$t" ] && run "$(basename "$t" .sh)" "$t"
done

[ ${#broken[@]} -gt 0 ] && echo "failing: ${broken[*]} (logs in tests/out/)"
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" = 0 ]
