#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything the build and the guest tests need, and unpack the pinned base.
# Idempotent: a second run only checks. Debian archive URIs are derived from the machine's
# own apt sources; no registry host is named here.

. "$(dirname "$0")/lib.sh"

APT_PKGS=(rustc-web rust-web-src rust-web-clippy rustfmt-web
	clang-19 lld-19 llvm-19 libclang-19-dev
	flex bison bc cpio libelf-dev libssl-dev kmod make patch xz-utils
	pciutils python3
	gcc libc6-dev uuid-dev
	python3-matplotlib)
QEMU_SUITE=bookworm-backports
QEMU_MIN=10

SUDO=
[[ $(id -u) -eq 0 ]] || SUDO=sudo

# The URI of the main Debian archive, as this machine's apt sources give it.
debian_uri() {
	local uri
	uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '{print $2}' | grep -v -- '-security' | grep '/debian/\?$' | head -n1)
	if [[ -z "$uri" ]]; then
		uri=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null |
			awk '{print $2}' | grep -v -- '-security' | grep '/debian/\?$' | head -n1)
	fi
	[[ -n "$uri" ]] || die "cannot find the Debian archive in the apt sources"
	printf '%s\n' "${uri%/}"
}

apt_updated=
apt_update() {
	[[ -n "$apt_updated" ]] && return 0
	$SUDO apt-get update -qq || die "apt-get update failed"
	apt_updated=1
}

# bookworm-backports carries QEMU 10 for this machine; add it (for QEMU only: backports
# are never chosen by default).
ensure_backports() {
	local f=/etc/apt/sources.list.d/vfio-rs-backports.sources
	grep -rqs "$QEMU_SUITE" /etc/apt/sources.list.d/ /etc/apt/sources.list && return 0
	log "adding $QEMU_SUITE to apt sources"
	printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"$(debian_uri)" "$QEMU_SUITE" | $SUDO tee "$f" >/dev/null
	apt_updated=
}

install_packages() {
	local missing=() p
	for p in "${APT_PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	if ((${#missing[@]})); then
		log "installing ${missing[*]}"
		apt_update
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
			"${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
	fi
	local v
	# No QEMU yet is the usual case on a fresh machine: not an error under pipefail.
	v=$({ qemu-system-x86_64 --version 2>/dev/null || true; } | sed -n 's/.*version \([0-9]*\)\..*/\1/p')
	if [[ -z "$v" || "$v" -lt $QEMU_MIN ]]; then
		ensure_backports
		apt_update
		log "installing qemu-system-x86 from $QEMU_SUITE"
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
			-t "$QEMU_SUITE" qemu-system-x86 >/dev/null ||
			die "cannot install qemu-system-x86 >= $QEMU_MIN from $QEMU_SUITE"
	fi
	if [[ ! -x "$HOME/.cargo/bin/bindgen" ]]; then
		log "installing bindgen-cli from crates.io"
		PATH="$HOME/.cargo/bin:$PATH" cargo install --locked --quiet bindgen-cli || die "cargo install bindgen-cli failed"
	fi
}

# Download the pinned source package with a private apt configuration, so the base suite is
# never added to the machine's own sources.
fetch_base() {
	[[ -n "${KERNEL_SRC:-}" ]] && return 0
	[[ -f "$PRISTINE/Makefile" ]] && return 0
	local dl="$CACHE_ROOT/base/$BASE_PKG_VERSION"
	local aptdir="$CACHE_ROOT/apt"
	mkdir -p "$dl" "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/sources"
	printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"$(debian_uri)" "$BASE_SUITE" >"$aptdir/sources/base.sources"
	local opts=(-o Dir::State::Lists="$aptdir/lists" -o Dir::Cache="$aptdir/cache"
		-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$aptdir/sources"
		-o APT::Sandbox::User=root)
	log "fetching $BASE_PKG $BASE_PKG_VERSION from $BASE_SUITE"
	apt-get "${opts[@]}" update -qq || die "cannot read the $BASE_SUITE index"
	(cd "$dl" && apt-get "${opts[@]}" download -qq "$BASE_PKG=$BASE_PKG_VERSION") ||
		die "cannot download $BASE_PKG=$BASE_PKG_VERSION"
	rm -rf "$dl/x" "$PRISTINE.tmp"
	dpkg-deb -x "$dl"/"${BASE_PKG}"_*.deb "$dl/x"
	mkdir -p "$PRISTINE.tmp"
	tar -xf "$dl/x/$BASE_TARBALL" -C "$PRISTINE.tmp" --strip-components=1
	rm -rf "$dl/x" "$dl"/*.deb
	mv "$PRISTINE.tmp" "$PRISTINE"
	log "base at $PRISTINE"
}

# The guest boots on this machine's root filesystem and bind-mounts its modules here.
ensure_modules_dir() {
	[[ -d /lib/modules ]] || $SUDO mkdir -p /lib/modules
}

install_packages
ensure_modules_dir
fetch_base
