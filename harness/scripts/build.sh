#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Compose the tree, configure it from harness/config/$CONFIG_NAME.config on top of
# allnoconfig, and build bzImage + modules with LLVM=-19, CLIPPY=1 and W=1. Incremental.
# Warnings in the project's own files fail the build.

. "$(dirname "$0")/lib.sh"

"$REPO/harness/scripts/compose.sh"

FRAG="$REPO/harness/config/$CONFIG_NAME.config"
[[ -f "$FRAG" ]] || die "no config fragment $FRAG"
mkdir -p "$BUILD"

if ! cmp -s "$FRAG" "$BUILD/.vfio-rs-fragment" || [[ ! -f "$BUILD/.config" ]]; then
	log "configuring ($CONFIG_NAME)"
	"${KMAKE[@]}" KCONFIG_ALLCONFIG="$FRAG" allnoconfig >/dev/null
	cp "$FRAG" "$BUILD/.vfio-rs-fragment"
fi
"${KMAKE[@]}" olddefconfig >/dev/null

# Every option the fragment asks for must have survived Kconfig's dependency resolution.
bad=0
while IFS= read -r line; do
	[[ "$line" =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]] || continue
	if ! grep -qx -- "$line" "$BUILD/.config"; then
		printf 'error: %s requested, .config has: %s\n' "$line" \
			"$(grep -E "^(# )?${BASH_REMATCH[1]}[= ]" "$BUILD/.config" || echo nothing)" >&2
		bad=1
	fi
done <"$FRAG"
((bad == 0)) || die "config fragment not satisfied (missing dependencies?)"

"${KMAKE[@]}" rustavailable >/dev/null || die "the kernel does not accept this Rust toolchain"

log "building in $BUILD"
WARNLOG="$BUILD/.vfio-rs-warnings"
set +e
# The full diagnostics go to $WARNLOG; W=1's many kernel-doc notes on upstream C files
# ("Warning: ...") are kept there but not repeated on the terminal.
"${KMAKE[@]}" -j"$(nproc)" CLIPPY=1 W=1 bzImage modules 2> >(tee "$WARNLOG" | grep -v '^Warning: ' >&2)
rc=$?
set -e
((rc == 0)) || die "kernel build failed"

# Warnings in what the project writes or patches are errors: C's, on the line that names the
# file, and rustc's and clippy's, whose "warning: ..." line comes first and the file on a
# "--> <file>:<line>:<col>" line below it.
files=$(cut -d' ' -f1 "$TREE/.vfio-rs-manifest" | sed 's/[.[\*^$]/\\&/g' | paste -sd'|')
if [[ -n "$files" ]] && RE="($files)" awk '
	BEGIN { re = ENVIRON["RE"] }
	/^(warning|error)(\[[^]]*\])?: / { diag = $0; next }
	/^ *--> / && diag != "" && $0 ~ re { print diag; print; found = 1 }
	/^$/ { diag = "" }
	$0 ~ re && tolower($0) ~ /warning|error/ { print; found = 1 }
	END { exit !found }' "$WARNLOG" >&2; then
	die "warnings in project files (see above)"
fi

# Guest programs, built against the base's uAPI headers.
"${KMAKE[@]}" headers >/dev/null
mkdir -p "$GUEST_BIN"
for src in "$REPO"/harness/guest/src/*.c; do
	[[ -f "$src" ]] || continue
	bin="$GUEST_BIN/$(basename "$src" .c)"
	gcc -O2 -g -Wall -Wextra -Werror -static -I"$BUILD/usr/include" -o "$bin.tmp" "$src" ||
		die "building guest program $(basename "$src") failed"
	mv "$bin.tmp" "$bin"
done

# The kernel's VFIO selftests, for guest test 40 (same headers, static, gcc).
"$REPO/harness/scripts/build-selftests.sh"

rm -rf "$MODROOT"
"${KMAKE[@]}" INSTALL_MOD_PATH="$MODROOT" INSTALL_MOD_STRIP=1 modules_install >/dev/null
log "kernel $(cat "$BUILD/include/config/kernel.release"): $BUILD/arch/x86/boot/bzImage"
