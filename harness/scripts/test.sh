#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The project's test run: build, host-side checks (patches, checkpatch, rustfmt), one guest
# boot running KUnit and the guest end-to-end tests. Prints one TAP-style line per check and
# ends with "N passed, N failed". Exits non-zero on any failure, guest panic or timeout.
# ONLY=<regex> limits the guest tests (KUnit always runs: it is part of the boot).

. "$(dirname "$0")/lib.sh"

"$REPO/harness/scripts/setup.sh"

TAP="$RESULTS.host.tap"
: >"$TAP"
emit() { printf '%s\n' "$*" | tee -a "$TAP"; }
summary() {
	local passed failed
	passed=$(grep -c '^ok - ' "$TAP" || true)
	failed=$(grep -c '^not ok - ' "$TAP" || true)
	echo
	echo "results: $RESULTS (console.log, host.tap, <test>.log)"
	echo "$passed passed, $failed failed"
	((failed == 0 && passed > 0))
}
check() { # check <name> <command...>
	local name=$1
	shift
	local out
	if out=$("$@" 2>&1); then
		emit "ok - host: $name"
	else
		printf '%s\n' "$out" | sed 's/^/#   /'
		emit "not ok - host: $name"
	fi
}

# --- Host checks on what the project writes ---
project_rs() { grep -E '\.rs$' "$TREE/.vfio-rs-manifest" | sed "s|^|$TREE/|"; }
rustfmt_check() {
	local files
	files=$(project_rs)
	[[ -z "$files" ]] && return 0
	# shellcheck disable=SC2086
	/usr/bin/rustfmt --check --edition 2021 --config-path "$TREE/.rustfmt.toml" $files
}
checkpatch_series() {
	local p rc=0
	while read -r p; do
		[[ -z "$p" || "$p" == \#* ]] && continue
		perl "$TREE/scripts/checkpatch.pl" --no-tree -q --strict --ignore FILE_PATH_CHANGES \
			"$REPO/patches/$p" || rc=1
	done <"$REPO/patches/series"
	return $rc
}
# New files only (patched upstream files are checked as patches), with the documented false
# positives of harness/config/checkpatch-ignore.
checkpatch_files() {
	local f rc=0 ignore
	for f in $(cut -d' ' -f1 "$TREE/.vfio-rs-manifest"); do
		[[ -f "$REPO/$f" ]] || continue
		case "$f" in *.rs | *.c | *.h | Kconfig | */Kconfig | Makefile | */Makefile | *.rst) ;; *) continue ;; esac
		ignore=$(awk -v f="$f" '$1 == f { print $2 }' "$REPO/harness/config/checkpatch-ignore")
		perl "$TREE/scripts/checkpatch.pl" --no-tree -q --strict ${ignore:+--ignore "$ignore"} \
			-f "$REPO/$f" || rc=1
	done
	return $rc
}
check "patch series applies to $BASE_PKG $BASE_PKG_VERSION" "$REPO/harness/scripts/compose.sh"
if "$REPO/harness/scripts/build.sh"; then
	emit "ok - host: kernel and guest programs build (CLIPPY=1 W=1, no warnings in project files)"
else
	emit "not ok - host: kernel and guest programs build"
	mkdir -p "$RESULTS" && cp "$TAP" "$RESULTS/host.tap"
	summary
	exit 1
fi
check "rustfmt clean" rustfmt_check
check "checkpatch clean (patch series)" checkpatch_series
check "checkpatch clean (new files)" checkpatch_files

# --- The guest ---
boot_rc=0
"$REPO/harness/scripts/boot.sh" test || boot_rc=$?
case $boot_rc in
0) emit "ok - guest: booted, ran the tests and powered off" ;;
124) emit "not ok - guest: timed out (console: $RESULTS/console.log)" ;;
*) emit "not ok - guest: did not finish (console: $RESULTS/console.log)" ;;
esac

# Kernel splats anywhere in the run fail it, whatever the tests said.
if grep -nE 'BUG:|WARNING:|Oops|Kernel panic|Call Trace:|UBSAN:|KASAN:' "$RESULTS/console.log" >"$RESULTS/splats.txt"; then
	sed 's/^/#   /' "$RESULTS/splats.txt" | head -40
	emit "not ok - guest: no kernel warnings, oopses or panics"
else
	emit "ok - guest: no kernel warnings, oopses or panics"
fi

python3 "$REPO/harness/scripts/ktap.py" "$RESULTS/console.log" $(for s in ${KUNIT_SUITES:-rust_pci vfio_pci_core_rs_config vfio_pci_core_rs_offsets vfio_pci_core_rs_irqs vfio_pci_core_rs_vf_token rust_pci_dynid}; do echo --expect "$s"; done) |
	tee -a "$TAP" || true
if [[ -s "$RESULTS/guest.tap" ]]; then
	tee -a "$TAP" <"$RESULTS/guest.tap"
else
	emit "not ok - guest: no guest test results"
fi

# --- The benchmark's smoke run (guest test bench-smoke) ---
# Its raw results must make the host's whole report (table, ratio lines, CSV, JSON, PNG), as
# `make bench` makes it. The times are not looked at: a smoke run's numbers mean nothing.
bench_report() {
	python3 "$REPO/harness/scripts/bench-report.py" --check "$RESULTS/bench-raw.txt" \
		>"$RESULTS/bench.txt" 2>&1 || { cat "$RESULTS/bench.txt"; return 1; }
}
if [[ -s "$RESULTS/bench-raw.txt" ]]; then
	check "bench-report.py reports the bench smoke run (results/bench.*)" bench_report
fi

cp "$TAP" "$RESULTS/host.tap"
summary
