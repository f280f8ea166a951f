# SPDX-License-Identifier: GPL-2.0
# Helpers for guest tests: TAP-style result lines and PCI sysfs lookups. Sourced.

FAILED=0

ok() { echo "ok - $*"; }
not_ok() {
	echo "not ok - $*"
	FAILED=1
}
# check <description> <command...>: one result line from a command's exit status.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
# bail <description>: a failed precondition; the rest of the test cannot run.
bail() {
	not_ok "$*"
	exit 1
}
# not <command...>: succeeds when the command fails (for check).
not() { ! "$@"; }
finish() { exit "$FAILED"; }
say() { echo "# $*"; }

# pci_find <vendor> <device>: the addresses of all functions with these IDs.
pci_find() {
	local d
	for d in /sys/bus/pci/devices/*; do
		[[ "$(cat "$d/vendor")" == "0x$1" && "$(cat "$d/device")" == "0x$2" ]] && basename "$d"
	done
	return 0
}
# pci_driver <bdf>: the bound driver's name, or nothing.
pci_driver() {
	local l=/sys/bus/pci/devices/$1/driver
	[[ -e "$l" ]] && basename "$(readlink -f "$l")"
	return 0
}
# pci_driver_dir <module>: the sysfs directory of the PCI driver that <module> registers.
pci_driver_dir() {
	local d
	for d in /sys/bus/pci/drivers/*; do
		[[ "$(basename "$(readlink -f "$d/module" 2>/dev/null)")" == "$1" ]] && { echo "$d"; return 0; }
	done
	return 1
}
# wait_until <seconds> <command...>: poll until the command succeeds.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS >= end)) && return 1
		sleep 0.2
	done
}
# kmsg_mark <tag> / kmsg_since <tag>: the kernel log lines after a marker.
kmsg_mark() { echo "vfio-rs-mark $1" >/dev/kmsg; }
kmsg_since() { dmesg | sed -n "/vfio-rs-mark $1\$/,\$p"; }
