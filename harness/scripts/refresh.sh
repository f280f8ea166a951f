#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Export the work tree back into the repository: files new relative to the base are copied to
# their kernel paths; changes to upstream files become patches/ (one per commit that touches
# them) and patches/series is rewritten.

. "$(dirname "$0")/lib.sh"

WT=${WORKTREE:-$CACHE_ROOT/$BASE_KEY/worktree}
[[ -d "$WT/.git" ]] || die "no work tree at $WT ('make worktree' makes one)"
cd "$WT"
[[ -z "$(git status --porcelain)" ]] || die "uncommitted changes in $WT: commit them first"

# New files.
new=$(git diff --name-only --diff-filter=A vfio-rs-base HEAD)
for d in $(overlay_dirs) $(printf '%s\n' "$new" | cut -d/ -f1 | sort -u); do
	(cd "$REPO" && git ls-files -- "$d") | while read -r f; do
		grep -qx -- "$f" <<<"$new" || { log "removing $f"; rm -f "$REPO/$f"; }
	done
done
printf '%s\n' "$new" | while read -r f; do
	[[ -n "$f" ]] || continue
	mkdir -p "$REPO/$(dirname "$f")"
	cmp -s "$f" "$REPO/$f" || cp "$f" "$REPO/$f"
done

# Changed upstream files, as a patch series.
changed=$(git diff --name-only --diff-filter=MD vfio-rs-base HEAD)
rm -f "$REPO"/patches/*.patch
{
	echo "# Quilt-style series applied to the pinned base, in order."
	if [[ -n "$changed" ]]; then
		# shellcheck disable=SC2086
		git format-patch -N --zero-commit --no-signature -o "$REPO/patches" \
			vfio-rs-base..HEAD -- $changed | xargs -rn1 basename
	fi
} >"$REPO/patches/series.new"
mv "$REPO/patches/series.new" "$REPO/patches/series"
log "refreshed: $(printf '%s\n' "$new" | grep -c .) new files, $(grep -vc '^#' "$REPO/patches/series") patches"
