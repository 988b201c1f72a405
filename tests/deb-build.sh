#!/usr/bin/env bash
# Build the Debian package (make deb):
#   dist/postgresql-15-deletion-firewall_<version>-1_amd64.deb
#
# 1. tests/setup-deps.sh deb: as root, install what the build needs
#    (debhelper, postgresql-server-dev-all, postgresql-server-dev-15,
#    libpq-dev, lintian, build-essential) when missing.
# 2. Copy the tree (the files git knows, tracked or not, not ignored) into a
#    scratch directory under /tmp: the checkout may be read-only or dirty
#    with build products, and dpkg-buildpackage writes beside the source.
# 3. The version is the control file's default_version, Debian revision 1.
#    If debian/changelog names another upstream version, a changelog entry
#    for this one is added in the scratch copy only (and said so).
# 4. pg_buildext updatecontrol, dpkg-buildpackage -b (binary only: no orig
#    tarball needed), then lintian on the .deb: any error (E:) fails the
#    build; warnings are printed.
#
# Environment: DEB_KEEP=1 keeps the scratch directory; DIST_DIR overrides
# where the .deb goes (default dist/ in the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

say() { echo "deb: $*" >&2; }
die() { say "$*"; exit 1; }

tests/setup-deps.sh deb

for c in dpkg-buildpackage pg_buildext lintian; do
    command -v "$c" >/dev/null 2>&1 || die "$c is missing: run 'make deb' as root (it installs the build dependencies) or install debhelper postgresql-server-dev-all lintian"
done

VERSION=$(sed -n "s/^default_version *= *'\(.*\)'.*/\1/p" deletion_firewall.control)
[ -n "$VERSION" ] || die "no default_version in deletion_firewall.control"
DEBVER=$VERSION-1
ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
PKG=postgresql-15-deletion-firewall
DEB=${PKG}_${DEBVER}_$ARCH.deb
DIST=${DIST_DIR:-$REPO/dist}

S=$(mktemp -d /tmp/dfw-deb.XXXXXX)
if [ "${DEB_KEEP:-0}" = 1 ]; then
    say "keeping $S"
else
    trap 'rm -rf "$S"' EXIT
fi
SRC=$S/deletion-firewall-$VERSION
mkdir -p "$SRC"
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$REPO" ls-files -z -co --exclude-standard |
        tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$SRC"
else
    tar --exclude=./.cache --exclude=./dist --exclude='*.o' --exclude='*.so' \
        --exclude='*.bc' --exclude=./dfwctl/dfwctl -cf - . | tar -xf - -C "$SRC"
fi
[ -x "$SRC/debian/rules" ] || die "no debian/rules in the copied tree"

cd "$SRC"
top=$(dpkg-parsechangelog -S Version)
if [ "$top" != "$DEBVER" ]; then
    say "debian/changelog is at $top, the control file at $VERSION: adding a $DEBVER entry (in the build copy only; update debian/changelog)"
    {
        echo "deletion-firewall ($DEBVER) unstable; urgency=medium"
        echo
        echo "  * New upstream version $VERSION."
        echo
        echo " -- $(dpkg-parsechangelog -S Maintainer)  $(date -R)"
        echo
        cat debian/changelog
    } >debian/changelog.new
    mv debian/changelog.new debian/changelog
fi

pg_buildext updatecontrol
say "dpkg-buildpackage -b in $SRC (log: $S/build.log)"
if ! dpkg-buildpackage -b -us -uc >"$S/build.log" 2>&1; then
    tail -n 60 "$S/build.log" >&2
    die "dpkg-buildpackage failed (DEB_KEEP=1 keeps $S)"
fi
[ -e "$S/$DEB" ] || { ls "$S" >&2; die "dpkg-buildpackage did not produce $DEB"; }

mkdir -p "$DIST" || die "cannot create $DIST (set DIST_DIR)"
cp "$S/$DEB" "$DIST/"
say "built $DIST/$DEB"
dpkg-deb -f "$DIST/$DEB" Package Version Depends
dpkg-deb -c "$DIST/$DEB" | awk '{print $6, $7, $8}'

# lintian: no errors allowed; warnings are printed.  The one expected:
# initial-upload-closes-no-bugs (a first Debian upload closes an ITP bug;
# this package is not uploaded to Debian, so there is none to close).
say "lintian $DEB"
lintian --allow-root --display-info "$DIST/$DEB" | tee "$S/lintian.log" >&2 || true
if grep -q '^E: ' "$S/lintian.log"; then
    die "lintian found errors"
fi
echo "deb: $DIST/$DEB ($(grep -c '^E: ' "$S/lintian.log") lintian errors, $(grep -c '^W: ' "$S/lintian.log") warnings)"
