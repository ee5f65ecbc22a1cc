#!/usr/bin/env bash
# tests/tutorial_check.sh [--no-vm] [NN ...]: keep the tutorial honest
# (make tutorial-check; make test-chNN runs one chapter).
#
#   tutorial/NN-*.md
#     |-- every anchor  `FILE:/ERE/`  --> grep -cE ERE FILE must be exactly 1
#     |                                   (an anchor that matches nothing, or
#     |                                   two places, points nowhere)
#     |-- <!-- in file order: FILE -->  --> the chapter's anchors into FILE
#     |                                   find ascending lines of FILE
#     |-- ```sh test     block --> bash -eo pipefail, repo root, 120 s
#     |-- ```sh test-vm  block --> the same, inside one 6.12 lab guest
#     '-- ```output      block right after either: an excerpt of what the
#                         block printed (stdout and stderr together), not
#                         all of it: each non-empty line must appear as a
#                         substring, in this order; lines in between and
#                         around are allowed (timings, addresses, PIDs vary)
#
# Output: "ok"/"not ok" lines, then "N passed, M failed" (skipped VM blocks
# are counted as skipped, never as passed). Logs: tests/out/tutorial/.
# Without a usable lab (no qemu, or --no-vm) the test-vm blocks are skipped
# and say so.
set -u
cd "$(dirname "$0")/.."
out=tests/out/tutorial
rm -rf "$out"
mkdir -p "$out"
vm=1
chapters=()
for a in "$@"; do
	case $a in
	--no-vm) vm=0 ;;
	[0-9][0-9]) chapters+=(tutorial/"$a"-*.md) ;;
	*) echo "usage: $0 [--no-vm] [NN ...]" >&2; exit 2 ;;
	esac
done
all=0
[ ${#chapters[@]} -gt 0 ] || { all=1; chapters=(tutorial/[0-9][0-9]-*.md); }
pass=0 fail=0 skip=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "not ok - $*"; fail=$((fail + 1)); }

# --- anchors -----------------------------------------------------------
# An anchor is inline code `FILE:/ERE/`; FILE is relative to the repo root.
# A chapter that walks a file from top to bottom says so with a line
#   <!-- in file order: FILE -->
# and then its anchors into FILE must find lines in ascending order, so
# a reader who follows the chapter never scrolls back. Only the first
# mention of an anchor counts: naming again something already read is a
# reminder, not a step back.
check_anchors() {
	local md=$1 file re n line
	local -A ordered=() last_line=() last_re=() seen=()
	for file in $(sed -nE 's/^<!-- in file order: ([^ ]+) -->$/\1/p' "$md"); do
		[ -f "$file" ] || bad "$md: file-order marker names $file: no such file"
		ordered[$file]=1
	done
	while IFS=$'\t' read -r file re; do
		if [ ! -f "$file" ]; then
			bad "$md: anchor $file:/$re/: no such file"
			continue
		fi
		n=$(grep -cE -- "$re" "$file")
		if [ "$n" != 1 ]; then
			bad "$md: anchor $file:/$re/ matches $n lines (want exactly 1)"
			continue
		fi
		pass=$((pass + 1))
		[ -n "${ordered[$file]:-}" ] && [ -z "${seen[$file:$re]:-}" ] || continue
		seen[$file:$re]=1
		line=$(grep -nE -- "$re" "$file" | cut -d: -f1)
		if [ "$line" -lt "${last_line[$file]:-0}" ]; then
			bad "$md: anchor $file:/$re/ (line $line) comes after $file:/${last_re[$file]}/ (line ${last_line[$file]}), but the chapter says it follows $file in file order"
		fi
		last_line[$file]=$line last_re[$file]=$re
	done < <(grep -oE '`[A-Za-z0-9_./-]+:/[^`]+/`' "$md" |
		sed -E 's/^`([^:]+):\/(.*)\/`$/\1\t\2/')
}

# --- lab blocks ----------------------------------------------------------
# Split a chapter into its tested blocks: $out/CH-N.{sh,kind,expect}.
extract_blocks() {
	local md=$1 ch=$2
	awk -v dir="$out" -v ch="$ch" '
	function fail(msg) { print FILENAME ": " msg > "/dev/stderr"; bad = 1 }
	/^```/ {
		if (!infence) {
			infence = 1
			info = substr($0, 4)
			if (info == "sh test" || info == "sh test-vm") {
				n++; kind = (info == "sh test") ? "host" : "vm"
				cur = dir "/" ch "-" n ".sh"
				print kind > (dir "/" ch "-" n ".kind")
				want_output = 0
			} else if (info == "output") {
				if (!want_output) fail("an output block that follows no test block")
				cur = dir "/" ch "-" n ".expect"
				want_output = 0
			} else {
				if (want_output) fail("test block " n " has no output block after it")
				cur = ""; want_output = 0
			}
			next
		}
		infence = 0
		if (cur ~ /\.sh$/) want_output = 1
		if (cur != "") { close(cur) }
		cur = ""
		next
	}
	infence && cur != "" { print > cur; next }
	!infence && want_output && NF { fail("test block " n " has no output block after it"); want_output = 0 }
	END { if (want_output) fail("test block " n " has no output block after it"); exit bad }
	' "$md"
}

# The lines of EXPECT must appear in LOG, in order, as substrings: the
# output block is an excerpt, so other lines may come before, between and
# after them, but never in another order.
match_expect() {
	local expect=$1 log=$2
	# Several expected lines may match one output line, left to right.
	awk 'NR == FNR { if (NF) want[++n] = $0; next }
	     { rest = $0
	       while (i < n && (k = index(rest, want[i + 1]))) {
		       rest = substr(rest, k + length(want[i + 1])); i++
	       } }
	     END { if (i < n) { print "missing: " want[i + 1]; exit 1 } }' \
		"$expect" "$log"
}

# The labs use what a reader's machine has: port 4420, discovery on 8009,
# the RPC socket /var/tmp/spdk.sock. Here another suite's targets may hold
# all three, so each block runs in namespaces of its own, as
# tests/readme_test.sh does: a network namespace (its own loopback, every
# port free), a mount namespace with an empty /var/tmp, and a PID
# namespace. Root makes them directly; anyone else maps themself to root
# in a user namespace first. Where neither works, blocks run as they are
# and may collide with a target already on those ports (said once).
[ "$(id -u)" = 0 ] && ns_user= || ns_user=-r
if unshare $ns_user -nmpf --mount-proc true 2>/dev/null; then
	in_ns=(unshare $ns_user -nmpf --mount-proc bash -c \
		'ip link set lo up && mount -t tmpfs tmpfs /var/tmp && exec "$@"' _)
else
	in_ns=()
	echo "# note: cannot create namespaces here (unshare -nmp): lab blocks share this machine's ports 4420 and 8009 and /var/tmp/spdk.sock"
fi

run_host_block() {	# run_host_block CH-N
	local b=$1 rc tmp
	# The block's mktemp files (a "Break it" block's copy of the tree and
	# its build) go to a directory of its own, removed after it: a run
	# leaves nothing behind in /tmp.
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/nvmf-tutorial.XXXXXX")
	# timeout puts itself at the head of a new process group; whatever the
	# block left running (a target started with &) dies with that group
	# (and, in a PID namespace, with the block's shell).
	TMPDIR=$tmp timeout -k 5 120 "${in_ns[@]}" bash -eo pipefail "$out/$b.sh" >"$out/$b.log" 2>&1 &
	local tpid=$!
	wait "$tpid"
	rc=$?
	kill -TERM -- "-$tpid" 2>/dev/null
	rm -rf "$tmp"
	judge "$b" "$rc"
}

judge() {	# judge CH-N STATUS: the block's verdict from its log
	local b=$1 rc=$2 why
	if [ "$rc" != 0 ]; then
		bad "lab block $b exited $rc (log $out/$b.log)"
		tail -n 15 "$out/$b.log" | sed 's/^/#   /'
	elif ! why=$(match_expect "$out/$b.expect" "$out/$b.log"); then
		bad "lab block $b: $why (log $out/$b.log)"
		tail -n 15 "$out/$b.log" | sed 's/^/#   /'
	else
		ok "lab block $b"
	fi
}

vm_blocks=()
for md in "${chapters[@]}"; do
	[ -f "$md" ] || { bad "$md: no such chapter"; continue; }
	ch=$(basename "$md" .md)
	check_anchors "$md"
	if ! extract_blocks "$md" "$ch"; then
		bad "$md: malformed lab blocks"
		continue
	fi
	for k in "$out/$ch"-*.kind; do
		[ -f "$k" ] || continue
		b=$(basename "$k" .kind)
		if [ "$(cat "$k")" = host ]; then
			run_host_block "$b"
		else
			vm_blocks+=("$b")
		fi
	done
done

# A chapter for every file of the product card that exists, and for every
# other source file at the top: some chapter must anchor into it (a
# directory: into a file under it).
if [ "$all" = 1 ]; then
	for f in GNUmakefile README.md nvmf.c tcp.c rdma.c pcie_nvme.c sim/ tests/ \
		$(ls *.c *.h | grep -vxE 'nvmf.c|tcp.c|rdma.c|pcie_nvme.c'); do
		[ -e "$f" ] || continue
		if grep -qE "\`$f[A-Za-z0-9_./-]*:/" tutorial/[0-9][0-9]-*.md; then
			pass=$((pass + 1))
		else
			bad "no chapter anchors into $f (every file of the card gets one)"
		fi
	done

# The project stands alone: nothing a reader gets in a clone may send them
# to a document outside it. Only the tests and benchmarks that run the
# external test kits (SPDK's programs, blktests) name the directory beside
# the clone where those live.
if [ "$all" = 1 ]; then
	refs=$(grep -nE '\.\./shared/[A-Z]+\.md|shared/[A-Z]+\.md|\[(STYLE|INTEROP|DESIGN)[] ;:§]' \
		*.c *.h sim/*.c README.md GNUmakefile tutorial/*.md tests/*.c tests/*.sh tests/vm/*.sh 2>/dev/null)
	if [ -z "$refs" ]; then
		ok "no reference to a document outside the repository"
	else
		bad "references to documents outside the repository:"; echo "$refs" | sed 's/^/    /'
	fi
fi
fi

# All test-vm blocks of this run share one guest: boot once, run each in
# order, keep each log in the share, judge them here.
if [ ${#vm_blocks[@]} -gt 0 ]; then
	if [ "$vm" = 0 ] || ! command -v qemu-system-x86_64 >/dev/null; then
		for b in "${vm_blocks[@]}"; do
			echo "skip - lab block $b (needs the lab VM)"; skip=$((skip + 1))
		done
	else
		# Each block as on the host: its own process group, killed with
		# whatever it left running, so one block's target never holds
		# the next block's port. 240 s a block; the guest gets them all.
		job=$PWD/$out/vm-job.sh
		{
			echo 'cd "$(dirname "$0")/../../.." || exit 1'
			for b in "${vm_blocks[@]}"; do
				printf 'timeout -k 5 240 bash -eo pipefail %q >%q 2>&1 &\n' \
					"$PWD/$out/$b.sh" "/run/lab/$b.log"
				printf 'pid=$!; wait $pid; echo $? >%q; kill -TERM -- -$pid 2>/dev/null; sleep 1\n' \
					"/run/lab/$b.rc"
			done
		} >"$job"
		NVMF_LAB_TIMEOUT=$((300 + 250 * ${#vm_blocks[@]})) NVMF_LAB_OUT=$PWD/$out/lab \
			bash tests/vm/run.sh 6.12 "$job" >"$out/vm.log" 2>&1
		for b in "${vm_blocks[@]}"; do
			cp "$out/lab/6.12/$b.log" "$out/$b.log" 2>/dev/null || echo "(no log: guest run failed, see $out/vm.log)" >"$out/$b.log"
			judge "$b" "$(cat "$out/lab/6.12/$b.rc" 2>/dev/null || echo 125)"
		done
	fi
fi

if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" = 0 ]
