#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Prepare a git work tree to edit the project in place: the pinned base as the first commit
# (tagged vfio-rs-base), the project's new files as the second, then one commit per patch of
# the series. Edit, commit (one commit per patch, rebase to amend), then 'make refresh'.

. "$(dirname "$0")/lib.sh"

WT=${WORKTREE:-$CACHE_ROOT/$BASE_KEY/worktree}
[[ -f "$PRISTINE/Makefile" ]] || die "no base tree at $PRISTINE (run 'make setup')"
if [[ -d "$WT/.git" ]]; then
	[[ "${FORCE:-}" == 1 ]] || die "$WT exists; 'make refresh' exports it, FORCE=1 recreates it"
	rm -rf "$WT"
fi

log "creating $WT"
mkdir -p "$(dirname "$WT")"
cp -a "$PRISTINE" "$WT"
cd "$WT"
git init -q -b main
# Debian's source package ignores everything at the top level ("/*"), which would hide new
# files from git; the work tree's base commit drops that stanza (it is not part of the build).
sed -i '/^# Debian packaging/,/^!\/debian\//d' .gitignore
git config user.name >/dev/null || git config user.name "vfio-rs developer"
git config user.email >/dev/null || git config user.email "vfio-rs@localhost"
git add -A
[[ -n "$(git ls-files Makefile)" ]] || die "base commit would be empty (.gitignore?)"
git commit -q -m "base: $BASE_PKG $BASE_PKG_VERSION"
git tag -f vfio-rs-base >/dev/null

for d in $(overlay_dirs); do
	(cd "$REPO" && git ls-files --cached --others --exclude-standard -- "$d") | while read -r f; do
		mkdir -p "$(dirname "$f")"
		cp "$REPO/$f" "$f"
	done
done
git add -A
git commit -q --allow-empty -m "vfio-rs: project files" -m "New files of the project at their kernel paths."
git tag -f vfio-rs-overlay >/dev/null

while read -r p; do
	[[ -z "$p" || "$p" == \#* ]] && continue
	git am -q --keep-cr "$REPO/patches/$p" || die "patch $p does not apply (git am)"
done <"$REPO/patches/series"
log "work tree ready: $WT ($(git rev-list --count vfio-rs-overlay..HEAD) patches)"
