#!/bin/bash
# tests/vm/kernel.sh [LABEL...]: fetch Debian kernels for the lab, no install.
#
#   label "6.1"  -> linux-image-amd64 (metapackage) -> linux-image-6.1.0-N-amd64
#   label "6.12" -> linux-image-6.12-amd64 (metapackage) -> linux-image-6.12.N+deb12-amd64
#                   -> its "-unsigned" twin (same kernel, no shim/signing deps)
#
#   apt-get download PKG  ->  $LAB_CACHE/debs/PKG_*.deb
#   dpkg -x               ->  $LAB_CACHE/<label>/{boot,lib/modules/<kver>}
#   depmod -b             ->  modules.dep etc. (the package leaves that to postinst)
#
# Why: the build machine's own kernel has no NVMe-oF, RDMA or VFIO modules,
# and installing a kernel is not ours to do. A kernel that is already unpacked
# is reused without touching apt (so the lab works offline once cached); set
# NVMF_LAB_REFRESH=1 to look for a newer one. If apt knows no such package (a
# fresh machine with empty lists) we run `apt-get update` once and retry.
# Prints the unpacked directory of each label, one a line.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Print the package name apt resolves for LABEL, or nothing.
resolve_pkg() {
	local meta dep
	case $1 in
	6.1)  meta=linux-image-amd64 ;;
	6.12) meta=linux-image-6.12-amd64 ;;
	*)    lab_die "unknown kernel label '$1' (use 6.1 or 6.12)" ;;
	esac
	dep=$(apt-cache depends "$meta" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	if [ "$1" = 6.12 ]; then
		if [ -n "$dep" ]; then
			dep=$dep-unsigned
		else
			# No metapackage: take the newest unsigned 6.12 flavour.
			dep=$(apt-cache search --names-only \
				'^linux-image-6\.12\.[0-9]+\+deb[0-9]+-amd64-unsigned$' |
				awk '{ print $1 }' | sort -V | tail -n 1)
		fi
	fi
	[ -n "$dep" ] && apt-cache show "$dep" >/dev/null 2>&1 && printf '%s\n' "$dep"
	return 0
}

# Download (if needed) and unpack the kernel for LABEL; print its directory.
fetch() {
	local label=$1 dir=$LAB_CACHE/$1 pkg deb kver
	if [ -f "$dir/.pkg" ] && [ -z "${NVMF_LAB_REFRESH:-}" ]; then
		printf '%s\n' "$dir"
		return
	fi
	pkg=$(resolve_pkg "$label")
	if [ -z "$pkg" ]; then
		lab_log "apt knows no kernel for $label yet: apt-get update"
		apt-get update -qq >&2 || lab_die "apt-get update failed"
		pkg=$(resolve_pkg "$label")
		[ -n "$pkg" ] || lab_die "no Debian package found for kernel $label"
	fi
	if [ -f "$dir/.pkg" ] && [ "$(cat "$dir/.pkg")" = "$pkg" ]; then
		printf '%s\n' "$dir"
		return
	fi
	mkdir -p "$LAB_CACHE/debs"
	deb=$(ls "$LAB_CACHE/debs/${pkg}_"*.deb 2>/dev/null | head -n 1 || true)
	if [ -z "$deb" ]; then
		lab_log "downloading $pkg"
		# The sandbox user _apt cannot write to a root-owned cache dir.
		(cd "$LAB_CACHE/debs" &&
			apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2) ||
		{ apt-get update -qq >&2 && (cd "$LAB_CACHE/debs" &&
			apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2); } ||
		lab_die "apt-get download $pkg failed"
		deb=$(ls "$LAB_CACHE/debs/${pkg}_"*.deb | head -n 1)
	fi
	lab_log "unpacking $(basename "$deb")"
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	dpkg -x "$deb" "$dir.tmp"
	kver=$(lab_kver "$dir.tmp")
	depmod -b "$dir.tmp" "$kver"
	printf '%s\n' "$pkg" >"$dir.tmp/.pkg"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
	printf '%s\n' "$dir"
}

[ $# -gt 0 ] || set -- $LAB_KERNELS
for label in "$@"; do
	fetch "$label"
done
