#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Compose the kernel source tree the build uses: pristine base + the patch series + the
# repository's new files at their kernel paths. Only files whose content changed are written,
# so make's timestamps stay meaningful and builds are incremental.

. "$(dirname "$0")/lib.sh"

[[ -f "$PRISTINE/Makefile" ]] || die "no base tree at $PRISTINE (run 'make setup', or set KERNEL_SRC)"

if [[ ! -f "$TREE/.vfio-rs-tree" ]]; then
	log "copying base tree to $TREE"
	rm -rf "$TREE"
	mkdir -p "$(dirname "$TREE")"
	cp -a "$PRISTINE" "$TREE.tmp"
	touch "$TREE.tmp/.vfio-rs-tree"
	mv "$TREE.tmp" "$TREE"
fi

STAGE="$CACHE_ROOT/$BASE_KEY/stage"
rm -rf "$STAGE"
mkdir -p "$STAGE"

# 1. The patch series, applied to copies of the files it touches.
while read -r p; do
	[[ -z "$p" || "$p" == \#* ]] && continue
	for f in $(sed -n 's|^+++ b/||p' "$REPO/patches/$p" | cut -f1); do
		if [[ -f "$PRISTINE/$f" && ! -f "$STAGE/$f" ]]; then
			mkdir -p "$STAGE/$(dirname "$f")"
			cp "$PRISTINE/$f" "$STAGE/$f"
		fi
	done
	patch -s -d "$STAGE" -p1 --no-backup-if-mismatch -F0 <"$REPO/patches/$p" ||
		die "patch $p does not apply to the base"
done <"$REPO/patches/series"

# 2. The project's own files at their kernel paths.
for d in $(overlay_dirs); do
	(cd "$REPO" && git ls-files --cached --others --exclude-standard -- "$d" 2>/dev/null ||
		find "$d" -type f) | while read -r f; do
		[[ -f "$REPO/$f" ]] || continue
		if [[ -f "$PRISTINE/$f" ]]; then
			die "$f exists upstream: change it through patches/, do not copy it"
		fi
		mkdir -p "$STAGE/$(dirname "$f")"
		cp "$REPO/$f" "$STAGE/$f"
	done
done

# 3. Sync the stage into the tree, writing only what differs; undo what is no longer staged.
MANIFEST="$TREE/.vfio-rs-manifest"
(cd "$STAGE" && find . -type f | sed 's|^\./||' | sort) >"$STAGE.manifest"
if [[ -f "$MANIFEST" ]]; then
	comm -23 "$MANIFEST" "$STAGE.manifest" | while read -r f; do
		if [[ -f "$PRISTINE/$f" ]]; then
			cmp -s "$PRISTINE/$f" "$TREE/$f" || cp "$PRISTINE/$f" "$TREE/$f"
		else
			rm -f "$TREE/$f"
		fi
	done
fi
changed=0
while read -r f; do
	if ! cmp -s "$STAGE/$f" "$TREE/$f"; then
		mkdir -p "$TREE/$(dirname "$f")"
		cp "$STAGE/$f" "$TREE/$f"
		changed=$((changed + 1))
	fi
done <"$STAGE.manifest"
mv "$STAGE.manifest" "$MANIFEST"
log "composed $TREE ($(wc -l <"$MANIFEST") project files, $changed changed)"
