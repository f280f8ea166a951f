# SPDX-License-Identifier: GPL-2.0
# Shared settings for the harness scripts. Sourced, never executed.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../base.env
. "$REPO/harness/base.env"

CACHE_ROOT=${VFIO_RS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vfio-rs}
CONFIG_NAME=${CONFIG_NAME:-test}

# The base tree: the pinned Debian source, or the user's own tree.
if [[ -n "${KERNEL_SRC:-}" ]]; then
	PRISTINE=$(cd "$KERNEL_SRC" && pwd)
	BASE_KEY="src-$(printf '%s' "$PRISTINE" | sha1sum | cut -c1-12)"
else
	PRISTINE="$CACHE_ROOT/base/$BASE_PKG_VERSION/$BASE_TOPDIR"
	BASE_KEY="$BASE_KERNELVERSION"
fi

# Composed source (base + overlay + patches) and the object directory, kept outside the
# checkout and keyed by base and config so that later builds are incremental.
TREE="$CACHE_ROOT/$BASE_KEY/tree"
BUILD="$CACHE_ROOT/$BASE_KEY/build-$CONFIG_NAME"
MODROOT="$BUILD/modroot"
GUEST_BIN="$BUILD/guest-bin"
RESULTS=${RESULTS:-$REPO/results}

# Toolchain: Debian's rustc-web (it has the library source the kernel needs), clang/lld 19.
export PATH="/usr/bin:$HOME/.cargo/bin:$PATH"
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm-19/lib}
KMAKE=(make -s -C "$TREE" O="$BUILD" LLVM=-19
	RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTFMT=/usr/bin/rustfmt
	CLIPPY_DRIVER=/usr/bin/clippy-driver BINDGEN="$HOME/.cargo/bin/bindgen"
	HOSTRUSTC=/usr/bin/rustc)

# Top-level directories of the repository that are kernel paths (overlaid onto the tree).
overlay_dirs() {
	local d
	for d in "$REPO"/*/; do
		d=$(basename "$d")
		[[ -d "$PRISTINE/$d" ]] && printf '%s\n' "$d"
	done
	return 0
}

log() { printf '>>> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
