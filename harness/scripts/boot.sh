#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the built kernel under QEMU/TCG on the host's root filesystem.
#   boot.sh test   run the guest tests, results in $RESULTS
#   boot.sh demo   show what the project does, on the console
#   boot.sh bench  time C vfio-pci against the Rust one (VFIO_RS_BENCH=smoke|full|profile,
#                  default full; VFIO_RS_BENCH_ROUNDS=<n> rounds per driver), raw results in $RESULTS
#   boot.sh shell  an interactive shell in the guest
# The guest's machine: q35 with a VT-d IOMMU (interrupt remapping on), an igb SR-IOV PF
# behind a PCIe root port (room for its VFs), QEMU's edu device and pci-testdev, and behind a
# second root port one device of two functions, an e1000 and a pci-serial, which a bus reset
# resets together (neither has a reset of its own), and a std VGA (the VGA region). BARs
# smaller than a page: an rtl8139's 256-byte BAR alone behind a third root port (on a page
# boundary, its page free: mapped), and on the root bus an sdhci-pci's 256-byte BAR with a
# pcnet's 32-byte one in the same page (neither mapped).

. "$(dirname "$0")/lib.sh"

MODE=${1:-test}
BZIMAGE="$BUILD/arch/x86/boot/bzImage"
[[ -f "$BZIMAGE" ]] || die "no kernel at $BZIMAGE ('make build' first)"
TIMEOUT=${VFIO_RS_BOOT_TIMEOUT:-2400}

rm -rf "$RESULTS"
mkdir -p "$RESULTS"

# 4 GiB, of which one 1 GiB huge page for vfio_dma_mapping_test's anonymous_hugetlb_1gb cases.
cmdline=(console=ttyS0,115200 panic=-1 oops=panic
	root=/dev/root rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose
	ro init="$REPO/harness/guest/init" intel_iommu=on hugepagesz=1G hugepages=1
	VFIO_RS_MODE="$MODE" VFIO_RS_MODROOT="$MODROOT" VFIO_RS_BIN="$GUEST_BIN")
[[ -n "${ONLY:-}" ]] && cmdline+=(VFIO_RS_ONLY="$ONLY")
[[ -n "${VFIO_RS_BENCH:-}" ]] && cmdline+=(VFIO_RS_BENCH="$VFIO_RS_BENCH")
[[ -n "${VFIO_RS_BENCH_ROUNDS:-}" ]] && cmdline+=(VFIO_RS_BENCH_ROUNDS="$VFIO_RS_BENCH_ROUNDS")
[[ -n "${VFIO_RS_CMDLINE:-}" ]] && cmdline+=($VFIO_RS_CMDLINE)

# Multi-threaded TCG (QEMU 10.0) can dispatch a vCPU's local APIC write (timer initial count,
# EOI) to the VT-d registers while the guest changes the memory map (a BAR's decoding, an FLR,
# VFs), and drop it: QEMU logs "vtd_mem_write: MMIO over range: addr=0x380", and the guest
# sleeps forever. The tests and the benchmark make many such changes, so TCG runs
# single-threaded (thread=single) unless VFIO_RS_TCG=<options> says otherwise.
tcg=${VFIO_RS_TCG-thread=single}
# The root port's link runs at 5 GT/s: at its default 16 GT/s, a secondary bus reset waits for
# Data Link Layer Link Active, which QEMU never sets for a device cold-plugged on a q35 root
# port while ACPI hotplug owns it, and pci_reset_bus() fails with ENOTTY after resetting the
# bus. At 5 GT/s or below the kernel polls the device instead, and the reset succeeds.
qemu=(qemu-system-x86_64 -M q35 -accel "tcg${tcg:+,$tcg}" -cpu max -smp 2 -m "${VFIO_RS_MEM:-4G}"
	-no-reboot -display none -vga none -nodefaults
	-kernel "$BZIMAGE" -append "${cmdline[*]}"
	-device intel-iommu,intremap=on
	-device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1,x-speed=5
	-device igb,bus=rp1
	-device pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2,x-speed=5
	-device e1000,bus=rp2,addr=0.0,multifunction=on
	-device pci-serial,bus=rp2,addr=0.1
	-device edu
	-device pci-testdev
	-device VGA
	-device pcie-root-port,id=rp3,bus=pcie.0,chassis=3,slot=3
	-device rtl8139,bus=rp3,mac=52:54:00:56:78:9a
	-device sdhci-pci
	-device pcnet
	-fsdev local,id=rootfs,path=/,security_model=none,readonly=on,multidevs=remap
	-device virtio-9p-pci,fsdev=rootfs,mount_tag=/dev/root
	-fsdev local,id=results,path="$RESULTS",security_model=none
	-device virtio-9p-pci,fsdev=results,mount_tag=results)

if [[ "$MODE" == shell ]]; then
	exec "${qemu[@]}" -serial mon:stdio
fi

log "booting $(cat "$BUILD/include/config/kernel.release") ($MODE), console in $RESULTS/console.log"
set +e
timeout --kill-after=10 "$TIMEOUT" "${qemu[@]}" \
	-chardev stdio,id=con,signal=off,logfile="$RESULTS/console.log" -serial chardev:con \
	</dev/null
rc=$?
set -e
((rc == 124)) && { log "guest timed out after $TIMEOUT s"; exit 124; }
grep -q '^vfio-rs guest: done' "$RESULTS/console.log" || { log "guest did not finish (panic?)"; exit 1; }
exit 0
