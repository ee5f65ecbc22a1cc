# tests/lib.sh - what the shell tests share. Source it from the repo root
# after setting DETAIL, the file each check's output is appended to:
#
#   DETAIL=tests/out/x_test.detail; . tests/lib.sh
#   check "what it proves" COMMAND ARGS...    -> "ok - ..." / "not ok - ..."
#   port=$(free_port)                         -> a TCP port nobody holds now
#   echo "x_test: $pass passed, $fail failed" (tests/run.sh adds these up)
pass=0 fail=0

check() {	# check DESCRIPTION COMMAND...: passes when COMMAND succeeds
	local what=$1; shift
	if "$@" >>"$DETAIL" 2>&1; then
		echo "ok - $what"; pass=$((pass + 1))
	else
		echo "not ok - $what"; fail=$((fail + 1))
		tail -n 20 "$DETAIL" | sed 's/^/    /'
	fi
}

# The kernel picks the port, so two tests running at once never collide
# (a random number could).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
