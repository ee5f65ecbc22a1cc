#!/usr/bin/env bash
# tests/status_test.sh [DIR] - every status code nvme.h defines is an
# answer the code gives and a test provokes.
#
#   nvme.h: #define NVME_SC_X ...
#     |-- named in a source file (*.c, sim/*.c)   else "defined, never used"
#     '-- named in a test (tests/*.c, tests/*.sh, tests/vm/*.sh) that
#         expects it                               else "never provoked"
#
# A code that nothing answers with is a promise the target does not keep:
# a reader of nvme.h would look for the check that sends it. A code the
# target sends that no test expects is an answer nobody has seen. Either
# way the code goes, or the check and its test come.
#
# The check is by name: a test names the code in the comparison that
# expects it (CHECK_EQ_U(status, NVME_SC_X ...), or bad_case(..., st ==
# NVME_SC_X)). Each "ok" line says where, so this output is the list of
# which test provokes which answer. DIR (default: the repository) lets the
# tutorial run the check on a broken copy.
set -u
cd "${1:-$(dirname "$0")/..}" || exit 2
pass=0 fail=0

# The files that may send a status, and the files that test one. This
# script names every code in its own text only through nvme.h, so it is
# not in the list.
srcs=$(ls *.c sim/*.c 2>/dev/null)
tests=$(ls tests/*.c tests/*.sh tests/vm/*.sh 2>/dev/null | grep -v '^tests/status_test.sh$')

for code in $(sed -nE 's/^#define (NVME_SC_[A-Z0-9_]+)[[:space:]].*/\1/p' nvme.h); do
	# -w: NVME_SC_INTERNAL must not be found inside NVME_SC_INTERNAL_X.
	used=$(grep -lw -- "$code" $srcs | tr '\n' ' ')
	tested=$(grep -lw -- "$code" $tests | tr '\n' ' ')
	if [ -z "$used" ]; then
		echo "not ok - $code: defined in nvme.h, never used (remove it, or send it where the spec says)"
		fail=$((fail + 1))
	elif [ -z "$tested" ]; then
		echo "not ok - $code: sent by ${used% } but never provoked by a test"
		fail=$((fail + 1))
	else
		echo "ok - $code: sent by ${used% }; provoked in ${tested% }"
		pass=$((pass + 1))
	fi
done
# No code at all means the parse above broke, not that all is well.
if [ $((pass + fail)) = 0 ]; then
	echo "not ok - no NVME_SC_ definition found in nvme.h"
	fail=1
fi
echo "status_test: $pass passed, $fail failed"
[ "$fail" = 0 ]
