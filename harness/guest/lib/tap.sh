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

# pci_bind_override <bdf> <driver>: bind a function to <driver> through driver_override.
pci_bind_override() {
	local cur
	cur=$(pci_driver "$1")
	[[ -n "$cur" ]] && echo "$1" >"/sys/bus/pci/devices/$1/driver/unbind"
	echo "$2" >"/sys/bus/pci/devices/$1/driver_override"
	echo "$1" >/sys/bus/pci/drivers_probe 2>/dev/null
	[[ "$(pci_driver "$1")" == "$2" ]]
}
# pci_unbind_override <bdf>: unbind a function and clear its driver_override.
pci_unbind_override() {
	[[ -n "$(pci_driver "$1")" ]] && echo "$1" >"/sys/bus/pci/devices/$1/driver/unbind"
	echo >"/sys/bus/pci/devices/$1/driver_override"
}
# run_checks <prefix> <command...>: run a program that prints TAP lines, prefixing each.
run_checks() {
	local prefix=$1 line rc
	shift
	while IFS= read -r line; do
		case "$line" in
		"ok - "*) echo "ok - $prefix: ${line#ok - }" ;;
		"not ok - "*)
			echo "not ok - $prefix: ${line#not ok - }"
			FAILED=1
			;;
		"__rc="*)
			rc=${line#__rc=}
			if [[ "$rc" != 0 ]]; then
				echo "not ok - $prefix: exited $rc"
				FAILED=1
			fi
			;;
		*) echo "# $line" ;;
		esac
	done < <("$@" 2>&1; echo "__rc=$?")
}
