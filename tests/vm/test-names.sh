# tests/vm/test-names.sh: a subsystem named the way the nvmet walkthroughs
# name it ("ramdisk", not an NQN), with the Linux host. Sourced by suite.sh.
#
#   nvmet: configfs subsystems/ramdisk        nvmf: ./nvmf -c nvmet.json, an
#          (targets.sh, NQN=ramdisk)                nvmetcli file whose
#                                                   "nqn" is "ramdisk"
#   connect -n ramdisk | id-ctrl (subnqn ramdisk) | fio | disconnect
#   nvmf only: the target warned once that the name is not an NQN; then
#   ./nvmf -s ramdisk, the command line's way, and the same connect and fio
. tests/vm/fabrics.sh

NAMES_JSON=/tmp/nvmet-ramdisk.json
NAMES_IMG=/tmp/nvmf-ramdisk.img

names_start_nvmet() { NQN=ramdisk TR=tcp ADDR=127.0.0.1; nvmet_start tcp 127.0.0.1; }
names_stop_nvmet() { nvmet_stop; NQN=nqn.2026-11.io.nvmf:cnode1; }
names_skip_nvmf() { nvmf_built || echo "./nvmf not built"; }

# The file nvmetcli saves for the walkthrough's setup: one port, one
# subsystem "ramdisk" with a file namespace, any host.
names_json() {
	cat <<EOF
{ "hosts": [],
  "ports": [ { "addr": { "adrfam": "ipv4", "traddr": "127.0.0.1", "treq": "not specified",
                         "trsvcid": "4420", "trtype": "tcp" },
               "portid": 1, "referrals": [], "subsystems": [ "ramdisk" ] } ],
  "subsystems": [ { "allowed_hosts": [], "attr": { "allow_any_host": "1" },
      "namespaces": [ { "device": { "path": "$NAMES_IMG" }, "enable": 1, "nsid": 1 } ],
      "nqn": "ramdisk" } ] }
EOF
}

names_start_nvmf() {
	NQN=ramdisk TR=tcp ADDR=127.0.0.1
	truncate -s 64M "$NAMES_IMG" && names_json >"$NAMES_JSON" || return 1
	cat "$NAMES_JSON"
	NVMF_WAIT_PORTS=4420 nvmf_start "$LOGS/nvmf-names.log" -c "$NAMES_JSON"
}
names_stop_nvmf() {
	nvmf_stop
	local rc=$?
	rm -f "$NAMES_JSON" "$NAMES_IMG"
	NQN=nqn.2026-11.io.nvmf:cnode1
	return $rc
}

# Exactly one warning that "ramdisk" is not in NQN form: said, not repeated.
c_one_warning() {
	local n
	n=$(grep -c "'ramdisk' is not an NQN" "$NVMF_LOG")
	echo "$n warning(s) in $NVMF_LOG"
	[ "$n" = 1 ]
}

# The command line's way: ./nvmf -s ramdisk (a ram namespace by default).
c_cmdline() {
	nvmf_stop || return 1
	NVMF_WAIT_PORTS=4420 nvmf_start "$LOGS/nvmf-names-s.log" -l 127.0.0.1:4420 -D 0 -s ramdisk &&
		c_one_warning
}

names_checks() {
	check connect c_connect
	check id-ctrl c_id_ctrl
	check fio c_fio 16M
	check disconnect c_disconnect
	[ "$TARGET" = nvmf ] || return 0
	check one-warning c_one_warning
	check cmdline-s c_cmdline
	check connect-s c_connect
	check fio-s c_fio 16M
	check disconnect-s c_disconnect
}
