# tests/vm/test-auth.sh: NVMe in-band authentication (DH-HMAC-CHAP) with the
# Linux host. Sourced by suite.sh, which runs auth_checks against each target.
#
#   target: $NQN, namespace 1, 127.0.0.1:4420 and discovery on 8009;
#           $HOST_NQN must authenticate (host secret KEY, controller secret
#           CKEY), $HOST2_NQN is allowed without a secret
#     nvmet: configfs hosts/<nqn>/dhchap_key, dhchap_ctrl_key, dhchap_hash,
#            dhchap_dhgroup           nvmf: --host --dhchap-key --dhchap-ctrl-key,
#                                     --dhchap-digests/--dhchap-dhgroups (restart)
#   for sha256+null, sha512+ffdhe4096: nvme connect -S (one way) + fio verify,
#       -S -C (both ways) | no secret, wrong host secret, wrong controller
#       secret: refused, dmesg says why | $HOST2_NQN: no authentication |
#       nvme discover -S | a discovery controller that asks (nvmf
#       --dhchap-discovery): nvme discover -S refused ("no key"), the
#       kernel's own /dev/nvme-fabrics + nvme discover -d works | nvmf identify/perf --dhchap-secret (our host) |
#       how long authentication adds to a connect (logs/auth-timing.txt) |
#       nvmf only: the same secrets from an nvmetcli JSON file (-c): -S, -S -C
#       and no secret refused
#
# Debian's 6.1 is built without CONFIG_NVME_AUTH (no nvme-auth module): there
# both halves are skipped. The refused connects make the kernel log errors on
# purpose; those checks move the dmesg mark past them.
. tests/vm/fabrics.sh

HOST_NQN=nqn.2014-08.org.nvmexpress:uuid:a17ba17b-0000-4000-8000-00000000a001
HOST2_NQN=nqn.2014-08.org.nvmexpress:uuid:a17ba17b-0000-4000-8000-00000000a002
KEY='' CKEY='' BAD_KEY='' BAD_CKEY=''
AUTH_KEYFILE=/tmp/nvmf-auth-host.key
AUTH_HASH='' AUTH_GROUP=''

auth_no_kernel_auth() {
	modprobe nvme-auth 2>/dev/null ||
		echo "kernel $KERNEL has no NVMe in-band authentication (built without CONFIG_NVME_AUTH)"
}
auth_skip_nvmet() { auth_no_kernel_auth; }
auth_skip_nvmf() {
	local r
	r=$(auth_no_kernel_auth)
	[ -n "$r" ] && { echo "$r"; return; }
	nvmf_built || echo "./nvmf not built"
}

# Fresh secrets from nvme-cli, the way an admin makes them: the host's
# transformed with SHA-256 (DHHC-1:01), the controller's with SHA-512.
auth_keys() {
	KEY=$(nvme gen-dhchap-key -m 1 -n "$HOST_NQN") &&
	CKEY=$(nvme gen-dhchap-key -m 3 -l 64 -n "$NQN") &&
	BAD_KEY=$(nvme gen-dhchap-key -m 1 -n "$HOST_NQN") &&
	BAD_CKEY=$(nvme gen-dhchap-key -m 3 -l 64 -n "$NQN") &&
	echo "$KEY" >"$AUTH_KEYFILE" && chmod 600 "$AUTH_KEYFILE"
}

auth_start_nvmet() {
	local s=$NVMET/subsystems/$NQN h
	TR=tcp ADDR=127.0.0.1
	auth_keys || return 1
	nvmet_start tcp 127.0.0.1 || return 1
	echo 0 >"$s/attr_allow_any_host"
	for h in "$HOST_NQN" "$HOST2_NQN"; do
		mkdir -p "$NVMET/hosts/$h" && ln -s "$NVMET/hosts/$h" "$s/allowed_hosts/$h" || return 1
	done
	echo "$KEY" >"$NVMET/hosts/$HOST_NQN/dhchap_key" &&
	echo "$CKEY" >"$NVMET/hosts/$HOST_NQN/dhchap_ctrl_key"
}

auth_stop_nvmet() {
	local h
	rm -f "$NVMET/subsystems/$NQN/allowed_hosts/"* 2>/dev/null
	nvmet_stop
	for h in "$HOST_NQN" "$HOST2_NQN"; do rmdir "$NVMET/hosts/$h" 2>/dev/null; done
	rm -f "$AUTH_KEYFILE"
	return 0
}

# nvmf: the host secret from a file, the controller secret as a string.
auth_start_nvmf() {
	TR=tcp ADDR=127.0.0.1
	[ -n "$KEY" ] || auth_keys || return 1
	[ -f "$AUTH_KEYFILE" ] || echo "$KEY" >"$AUTH_KEYFILE"
	auth_nvmf_up "${AUTH_HASH:-sha256}" "${AUTH_GROUP:-null}"
}

auth_nvmf_up() {
	nvmf_start "$LOGS/nvmf-auth-$1-$2.log" -l 127.0.0.1:4420 -s "$NQN" --ns ram:64M \
		--host "$HOST_NQN" --dhchap-key "$AUTH_KEYFILE" --dhchap-ctrl-key "$CKEY" \
		--host "$HOST2_NQN" --dhchap-digests "$1" --dhchap-dhgroups "$2"
}

auth_stop_nvmf() {
	nvmf_stop
	local rc=$?
	rm -f "$AUTH_KEYFILE"
	return $rc
}

# Make the target pick HASH and GROUP: nvmet's per-host attributes, or nvmf
# restarted allowing only those.
auth_use() {
	AUTH_HASH=$1 AUTH_GROUP=$2
	if [ "$TARGET" = nvmet ]; then
		echo "hmac($1)" >"$NVMET/hosts/$HOST_NQN/dhchap_hash" &&
		echo "$2" >"$NVMET/hosts/$HOST_NQN/dhchap_dhgroup"
		return
	fi
	nvmf_stop && auth_nvmf_up "$1" "$2"
}

# nvmf's log must say the host authenticated with what we asked for.
auth_nvmf_said() {
	[ "$TARGET" = nvmf ] || return 0
	grep -q "host $HOST_NQN authenticated ($1$AUTH_HASH, $AUTH_GROUP)" "$NVMF_LOG" || {
		echo "nvmf's log does not say '$1$AUTH_HASH, $AUTH_GROUP':"
		grep auth "$NVMF_LOG" | tail -n 5
		return 1
	}
}

# One way: connect with the host secret, fio verify, disconnect.
c_auth_oneway() {
	auth_use "$1" "$2" || return 1
	c_connect --hostnqn "$HOST_NQN" -S "$KEY" -i 1 || return 1
	c_fio 8M && auth_nvmf_said "" && c_disconnect
}

# Both ways: the controller proves it knows CKEY too.
c_auth_bidir() {
	c_connect --hostnqn "$HOST_NQN" -S "$KEY" -C "$CKEY" -i 1 || return 1
	c_fio 4M && auth_nvmf_said "bidirectional, " && c_disconnect
}

# refused WHY DMESG-ERE CONNECT-OPTIONS...: nvme connect must fail, and the
# host's dmesg must say why (matching DMESG-ERE).
c_refused() {
	local why=$1 ere=$2 mark
	shift 2
	mark=$(dmesg | wc -l)
	if run nvme connect -t tcp -a "$ADDR" -s 4420 -n "$NQN" --hostnqn "$HOST_NQN" -i 1 "$@"; then
		echo "connected with $why"
		return 1
	fi
	sleep 1
	dmesg | tail -n +$((mark + 1))
	dmesg | tail -n +$((mark + 1)) | grep -qiE "$ere" || { echo "dmesg does not say /$ere/"; return 1; }
	DMESG_MARK=$(dmesg | wc -l)	# the refusal's error lines are expected
	wait_gone
}
c_no_secret() { c_refused "no secret" "qid 0: no key" ; }
c_wrong_host_key() { c_refused "a wrong host secret" "qid 0: authentication failed" -S "$BAD_KEY"; }
c_wrong_ctrl_key() {
	c_refused "a wrong controller secret" "qid 0: controller authentication failed" \
		-S "$KEY" -C "$BAD_CKEY"
}

# A host with no secret is not asked to authenticate (per-host requirement).
c_other_host() {
	c_connect --hostnqn "$HOST2_NQN" -i 1 && c_disconnect
}

# nvme discover with the secret works, the discovery controller not asking
# for it (nvmet's never does, nvmf's by default does not).
c_discover_key() {
	c_discover -s 8009 --hostnqn "$HOST_NQN" -S "$KEY"
}

# A discovery controller that asks (nvmf --dhchap-discovery), and what a
# user of nvme-cli 2.3 can do about it. nvme-cli 2.3 cannot hand the
# kernel a secret for a discovery controller: libnvme 1.3's build_options()
# (src/nvme/fabrics.c) sets discover for the discovery NQN and adds
# "dhchap_secret" and "dhchap_ctrl_secret" only when !discover, so
# `nvme discover -S`, `nvme connect -n <discovery NQN> -S` and a
# dhchap_key in /etc/nvme/config.json all reach the kernel without one;
# the 6.12 host then answers AUTHREQ.ATR with nvme_auth_negotiate()'s
# "qid 0: no key" and -ENOKEY ("Required key not available"). The kernel
# itself takes dhchap_secret for any controller, so the user's way is
# the one libnvme uses underneath: write the options to /dev/nvme-fabrics
# (a persistent discovery controller), then `nvme discover -d nvmeN`.
# nvmet is the control: its discovery controller never asks
# (nvmet_setup_auth() returns early for the discovery subsystem), so both
# ways discover without authenticating there.
auth_disc_ctrl_add() {	# prints the new controller's name, nvmeN
	local line='' opts="nqn=nqn.2014-08.org.nvmexpress.discovery,transport=tcp"
	# hostid too: without one the kernel takes its default host's, which
	# it already knows with another NQN ("found same hostid ... but
	# different hostnqn", -EINVAL); the uuid of our NQN is one of its own.
	opts+=",traddr=$ADDR,trsvcid=8009,hostnqn=$HOST_NQN,hostid=${HOST_NQN##*:uuid:}"
	opts+=",dhchap_secret=$KEY"
	echo "+ write to /dev/nvme-fabrics: ${opts%%,dhchap_secret=*},dhchap_secret=<KEY>" >&2
	exec 3<>/dev/nvme-fabrics || return 1
	printf '%s' "$opts" >&3 && IFS= read -r line <&3
	exec 3>&-
	echo "  /dev/nvme-fabrics answered: ${line:-nothing}" >&2
	[[ $line =~ instance=([0-9]+) ]] && echo "nvme${BASH_REMATCH[1]}"
}
c_discover_auth() {
	local rc=0
	if [ "$TARGET" = nvmf ]; then
		nvmf_stop && nvmf_start "$LOGS/nvmf-auth-disc.log" -l 127.0.0.1:4420 -s "$NQN" \
			--ns ram:64M --host "$HOST_NQN" --dhchap-key "$AUTH_KEYFILE" \
			--dhchap-ctrl-key "$CKEY" --host "$HOST2_NQN" \
			--dhchap-digests "${AUTH_HASH:-sha256}" --dhchap-dhgroups "${AUTH_GROUP:-null}" \
			--dhchap-discovery || rc=1
	fi
	[ $rc = 0 ] && auth_discover_both_ways || rc=1
	if [ "$TARGET" = nvmf ]; then	# back to the target the other checks expect
		nvmf_stop || rc=1
		auth_nvmf_up "${AUTH_HASH:-sha256}" "${AUTH_GROUP:-null}" || rc=1
	fi
	return $rc
}
auth_discover_both_ways() {
	local out ctrl rc mark
	mark=$(dmesg | wc -l)
	out=$(run nvme discover -t tcp -a "$ADDR" -s 8009 --hostnqn "$HOST_NQN" -S "$KEY" 2>&1)
	rc=$?
	echo "$out"
	if [ "$TARGET" = nvmf ]; then	# nvme-cli 2.3 gave the kernel no secret
		[ $rc != 0 ] || { echo "nvme discover -S got in: did it pass the secret after all?"; return 1; }
		sleep 1
		dmesg | tail -n +$((mark + 1)) | grep -E "qid 0: no key" ||
			{ echo "dmesg does not say 'qid 0: no key'"; return 1; }
		DMESG_MARK=$(dmesg | wc -l)	# that refusal is expected
		rc=0
	fi
	[ $rc = 0 ] || return 1
	ctrl=$(auth_disc_ctrl_add) || { echo "no discovery controller from /dev/nvme-fabrics"; return 1; }
	out=$(run nvme discover -d "$ctrl")
	rc=$?
	echo "$out"
	run nvme disconnect -d "$ctrl" || rc=1
	[ $rc = 0 ] || return 1
	echo "$out" | grep -qE "^subnqn: +$NQN\$" || { echo "no entry for $NQN"; return 1; }
	auth_nvmf_said ""	# nvmf: the discovery queue authenticated
}

NVMF_TRID() { echo "trtype:TCP traddr:127.0.0.1 trsvcid:4420 subnqn:$NQN hostnqn:$HOST_NQN"; }

# Our host (host.c + auth.c) against this target.
c_nvmf_host() {
	run ./nvmf identify -r "$(NVMF_TRID)" --dhchap-secret "$KEY" --dhchap-ctrl-secret "$CKEY" |
		grep -E '^subnqn *: '"$NQN"'$' || return 1
	run ./nvmf perf -q 8 -o 4096 -w randrw -t 2 --verify -r "$(NVMF_TRID)" \
		--dhchap-secret "$AUTH_KEYFILE" --dhchap-ctrl-secret "$CKEY"
}
c_nvmf_host_wrong() {
	local out
	out=$(run ./nvmf identify -r "$(NVMF_TRID)" --dhchap-secret "$BAD_KEY" 2>&1) &&
		{ echo "our host got in with a wrong secret"; return 1; }
	echo "$out"
	grep -q "refused us: authentication failed" <<<"$out" || return 1
	out=$(run ./nvmf identify -r "$(NVMF_TRID)" --dhchap-secret "$KEY" --dhchap-ctrl-secret "$BAD_CKEY" 2>&1) &&
		{ echo "our host accepted a controller that does not know the secret"; return 1; }
	echo "$out"
	grep -q "response R2 is wrong" <<<"$out" || return 1
	sleep 1
	DMESG_MARK=$(dmesg | wc -l)	# nvmet logs the refusals it was sent
	echo "refused both ways, as it should be"
}

# The same secrets given to nvmf in an nvmetcli JSON file (config.c), as
# nvmetcli saves nvmet's host attributes: the kernel host must authenticate
# one way and both ways, with sha512 + ffdhe4096 as the file says, and is
# refused without its secret. Then the command-line target is back.
auth_nvmetcli_json() {	# auth_nvmetcli_json NAMESPACE-FILE
	cat <<EOJ
{"hosts": [{"nqn": "$HOST_NQN", "dhchap": {"key": "$KEY", "ctrl_key": "$CKEY",
     "hash": "hmac(sha512)", "dhgroup": "ffdhe4096"}},
   {"nqn": "$HOST2_NQN", "dhchap": {"key": "", "ctrl_key": "", "hash": "hmac(sha256)", "dhgroup": "null"}}],
 "ports": [{"portid": 1, "addr": {"trtype": "tcp", "adrfam": "ipv4", "traddr": "127.0.0.1",
     "trsvcid": "4420"}, "subsystems": ["$NQN"], "referrals": []}],
 "subsystems": [{"nqn": "$NQN", "attr": {"allow_any_host": "0"},
     "allowed_hosts": ["$HOST_NQN", "$HOST2_NQN"],
     "namespaces": [{"nsid": 1, "enable": 1, "device": {"path": "$1"}}]}]}
EOJ
}
c_nvmetcli_file() {
	local img=/tmp/nvmf-auth-ns.img json=/tmp/nvmf-auth-nvmet.json rc=0
	nvmf_stop || return 1
	truncate -s 64M "$img" && (umask 077; auth_nvmetcli_json "$img" >"$json") || rc=1
	AUTH_HASH=sha512 AUTH_GROUP=ffdhe4096
	[ $rc = 0 ] && NVMF_WAIT_PORTS=4420 nvmf_start "$LOGS/nvmf-auth-nvmetcli.log" -D 0 -c "$json" || rc=1
	[ $rc = 0 ] && c_connect --hostnqn "$HOST_NQN" -S "$KEY" -i 1 && c_fio 8M &&
		auth_nvmf_said "" && c_disconnect || rc=1
	[ $rc = 0 ] && c_connect --hostnqn "$HOST_NQN" -S "$KEY" -C "$CKEY" -i 1 && c_fio 4M &&
		auth_nvmf_said "bidirectional, " && c_disconnect || rc=1
	[ $rc = 0 ] && c_no_secret || rc=1
	nvmf_stop || rc=1
	rm -f "$img" "$json"
	auth_nvmf_up "$AUTH_HASH" "$AUTH_GROUP" || rc=1
	return $rc
}

# Median of 3 nvme connect times (ms), with and without authentication.
auth_connect_ms() {
	local i t0 ms=()
	for i in 1 2 3; do
		t0=$(date +%s%N)
		nvme connect -t tcp -a "$ADDR" -s 4420 -n "$NQN" -i 1 "$@" >/dev/null || return 1
		ms+=($((($(date +%s%N) - t0) / 1000000)))
		find_ctrl tcp >/dev/null; nvme disconnect -n "$NQN" >/dev/null; wait_gone || return 1
	done
	printf '%s\n' "${ms[@]}" | sort -n | sed -n 2p
}
c_connect_time() {
	local none one both
	none=$(auth_connect_ms --hostnqn "$HOST2_NQN") &&
	one=$(auth_connect_ms --hostnqn "$HOST_NQN" -S "$KEY") &&
	both=$(auth_connect_ms --hostnqn "$HOST_NQN" -S "$KEY" -C "$CKEY") || return 1
	echo "$KERNEL $TARGET $AUTH_HASH+$AUTH_GROUP: nvme connect (admin + 1 I/O queue), median of 3:" \
		"no auth ${none} ms, one way ${one} ms, both ways ${both} ms (TCG guest, shared host)" |
		tee -a "$LOGS/auth-timing.txt"
}

auth_checks() {
	check oneway-sha256-null c_auth_oneway sha256 null
	check bidir-sha256-null c_auth_bidir
	check oneway-sha512-ffdhe4096 c_auth_oneway sha512 ffdhe4096
	check bidir-sha512-ffdhe4096 c_auth_bidir
	check connect-time-sha512-ffdhe4096 c_connect_time
	check no-secret-refused c_no_secret
	check wrong-host-secret-refused c_wrong_host_key
	check wrong-ctrl-secret-refused c_wrong_ctrl_key
	check other-host-no-auth c_other_host
	check discover-with-secret c_discover_key
	check discover-authenticating c_discover_auth
	check nvmf-host c_nvmf_host
	check nvmf-host-wrong-secret c_nvmf_host_wrong
	if [ "$TARGET" = nvmf ]; then	# nvmet reads configfs, not the file
		check nvmetcli-file-secrets c_nvmetcli_file
	fi
}
