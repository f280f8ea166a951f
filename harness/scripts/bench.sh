#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The benchmark (make bench): set up, build, boot one guest that times C vfio-pci and the Rust
# vfio_pci_rs in interleaved rounds (harness/guest/bench), then report: a table per op,
# one "ratio <op> <rust/c>" line per op, $RESULTS/bench.{csv,json} and bench-ratios.png.
# The whole report is also kept in $RESULTS/bench.txt.
#   VFIO_RS_BENCH=smoke|full      iterations and rounds (default full)
#   VFIO_RS_BENCH=profile         no timing: each fast op under perf in the guest, per driver,
#                                 reports in $RESULTS/profile/<driver>-<op>.txt
#   VFIO_RS_BENCH_ROUNDS=<n>      rounds per driver (default 5 in full mode)
#   VFIO_RS_BENCH_BUILD=0         boot the kernel built last, without setup and build

. "$(dirname "$0")/lib.sh"

export VFIO_RS_BENCH=${VFIO_RS_BENCH:-full}
if [[ "${VFIO_RS_BENCH_BUILD:-1}" != 0 ]]; then
	"$REPO/harness/scripts/setup.sh"
	"$REPO/harness/scripts/build.sh"
fi

"$REPO/harness/scripts/boot.sh" bench || die "the bench guest did not finish (console: $RESULTS/console.log)"
if [[ "$VFIO_RS_BENCH" == profile ]]; then
	ls "$RESULTS"/profile/*.txt >/dev/null 2>&1 || die "the guest wrote no profiles (see $RESULTS/bench.log)"
	log "profiles in $RESULTS/profile/"
	exit 0
fi
[[ -s "$RESULTS/bench-raw.txt" ]] || die "the guest wrote no $RESULTS/bench-raw.txt"

# Where it ran: the ratios are meaningful here, the absolute times are not (QEMU TCG).
cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n1)
{
	echo "date $(date -u +%Y-%m-%d)"
	echo "nproc $(nproc)"
	echo "cpu ${cpu:-unknown}"
	echo "accel QEMU TCG ($(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p'))"
} >"$RESULTS/bench-host.txt"

rc=0
python3 "$REPO/harness/scripts/bench-report.py" --check "$RESULTS/bench-raw.txt" |
	tee "$RESULTS/bench.txt" || rc=$?
# A run where some op failed (not a skip: the benchmark itself went wrong) fails.
if grep -q '^fail ' "$RESULTS/bench-raw.txt"; then
	grep '^fail ' "$RESULTS/bench-raw.txt" | sed 's/^/error: /' >&2
	rc=1
fi
exit "$rc"
