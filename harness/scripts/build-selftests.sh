#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the kernel's own VFIO selftests (tools/testing/selftests/vfio of the composed tree)
# for the guest, where test 40-vfio-selftests runs them against C vfio-pci and the Rust
# driver. Built with gcc, statically (the guest runs them from the host's root, but takes
# nothing from its shared libraries), against the base's uAPI headers ($BUILD/usr/include,
# from build.sh's `make headers`). Objects go to $BUILD/vfio-selftests, the binaries to
# $GUEST_BIN/vfio-selftests: the guest sees that directory wherever the cache lives.
# Incremental: make's dependency files decide what is rebuilt; a changed build command or
# compiler rebuilds everything. Any error or warning fails the build (the selftests use
# -Wall -Werror).

. "$(dirname "$0")/lib.sh"

SRC="$TREE/tools/testing/selftests/vfio"
OUT="$BUILD/vfio-selftests"
DEST="$GUEST_BIN/vfio-selftests"
HDR="$BUILD/usr/include"

[[ -f "$SRC/Makefile" ]] || die "no VFIO selftests at $SRC (compose the tree first)"
[[ -f "$HDR/linux/vfio.h" && -f "$HDR/linux/iommufd.h" ]] ||
	die "no uAPI headers in $HDR (build.sh runs 'make headers' first)"
command -v gcc >/dev/null || die "gcc not found (make setup)"
# Static links need the archives; gcc prints the bare name when it has none.
for lib in libc.a libuuid.a; do
	[[ "$(gcc -print-file-name=$lib)" == /* ]] || die "no static $lib for gcc (make setup installs libc6-dev, uuid-dev)"
done

# The kselftest harness runs each case in a forked child that ends with _exit(): with stdout
# on a file (fully buffered), what a case prints is lost, and so is every result line if the
# guest's time limit kills a hung binary. Line-buffer stdout from a constructor linked into
# each binary (they are static, so no LD_PRELOAD or stdbuf). The sources stay untouched.
mkdir -p "$OUT" "$DEST"
LINEBUF_SRC='#include <stdio.h>
/* Added by vfio-rs harness/scripts/build-selftests.sh: line-buffered stdout. */
__attribute__((constructor)) static void vfio_rs_linebuf(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}'

MAKE_ARGS=(-C "$SRC" OUTPUT="$OUT" CC=gcc LLVM= CROSS_COMPILE=
	KHDR_INCLUDES="-isystem $HDR" USERLDFLAGS="-static $OUT/vfio-rs-linebuf.o")

# A different command, compiler or line-buffering source than last time: start clean.
stamp="$(gcc --version | head -n1)
${MAKE_ARGS[*]}
$LINEBUF_SRC"
if [[ "$(cat "$OUT/.vfio-rs-stamp" 2>/dev/null)" != "$stamp" ]]; then
	rm -rf "$OUT"
	mkdir -p "$OUT"
	printf '%s\n' "$LINEBUF_SRC" >"$OUT/vfio-rs-linebuf.c"
	gcc -O2 -Wall -Werror -c -o "$OUT/vfio-rs-linebuf.o" "$OUT/vfio-rs-linebuf.c" ||
		die "building the selftests' line-buffering object failed"
fi

# The selftests' Makefile echoes every command: keep those in a log, show errors.
if ! make -j"$(nproc)" "${MAKE_ARGS[@]}" >"$OUT/.build.log" 2>&1; then
	grep -v '^gcc ' "$OUT/.build.log" | tail -n 40 >&2
	die "building the VFIO selftests failed (full log: $OUT/.build.log)"
fi
printf '%s\n' "$stamp" >"$OUT/.vfio-rs-stamp"

# Install the binaries (every executable the Makefile made), only those that changed, and
# drop binaries the selftests no longer have.
n=0
for bin in "$OUT"/*; do
	[[ -f "$bin" && -x "$bin" ]] || continue
	install -C -m 0755 "$bin" "$DEST/$(basename "$bin")"
	n=$((n + 1))
done
((n > 0)) || die "the VFIO selftests' build made no binaries (log: $OUT/.build.log)"
for bin in "$DEST"/*; do
	[[ -e "$bin" && ! -e "$OUT/$(basename "$bin")" ]] && rm -f "$bin"
done
log "VFIO selftests: $n static binaries in $DEST"
