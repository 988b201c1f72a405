#!/usr/bin/env bash
# Prove the Debian package (make deb-check; root only; not part of make
# test: it builds a package and installs it into the machine's PostgreSQL):
#
#   1. make deb                      dist/postgresql-15-deletion-firewall_*.deb
#   2. dpkg -i                       (apt-get -f install if dependencies lack)
#   3. the package's files are where Debian's PostgreSQL looks for them, and
#      dfwctl is on PATH (/usr/bin/dfwctl)
#   4. make installcheck             the whole suite against the installed files
#   5. dpkg -r                       every file the package installed is gone
#
# Prints, as the very last line, "N passed, M failed": the checks of this
# script plus the tests of make installcheck.
#
# The machine is left as found: if the package was installed before, this
# refuses to run; files the package would overwrite (left by an earlier
# 'make install' into the system's PostgreSQL 15) are saved first and put
# back after the removal check.
set -u
cd "$(dirname "$0")/.." || exit 2
REPO=$(pwd)
PKG=postgresql-15-deletion-firewall
SYS_PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config

say() { echo "deb-check: $*"; }
PASSED=0
FAILED=0
# check NAME COMMAND...: one counted check
check() {
    local name=$1
    shift
    if "$@"; then
        echo "ok - $name"
        PASSED=$((PASSED + 1))
    else
        echo "not ok - $name"
        FAILED=$((FAILED + 1))
    fi
}
finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit
}

[ "$(id -u)" -eq 0 ] || { say "must run as root (dpkg -i)"; echo "0 passed, 1 failed"; exit 1; }
if dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null | grep -qx installed; then
    say "$PKG is already installed; remove it first (this check installs and removes it)"
    echo "0 passed, 1 failed"
    exit 1
fi

W=$(mktemp -d /tmp/dfw-deb-check.XXXXXX)
trap 'rm -rf "$W"' EXIT

# 1. build
VERSION=$(sed -n "s/^default_version *= *'\(.*\)'.*/\1/p" deletion_firewall.control)
DEB=$REPO/dist/${PKG}_$VERSION-1_$(dpkg --print-architecture).deb
rm -f "$DEB"
make -s deb >"$W/deb.log" 2>&1
rc=$?
tail -n 4 "$W/deb.log"
check "make deb builds ${DEB#"$REPO"/}" test "$rc" -eq 0 -a -e "$DEB"
[ -e "$DEB" ] || { cat "$W/deb.log"; finish; }
check "no lintian errors" bash -c "! grep -q '^E: ' '$W/deb.log'"
check "Depends names postgresql-15" \
    bash -c "dpkg-deb -f '$DEB' Depends | grep -qE '(^|, )postgresql-15( |,|$)'"

# files of the package (not directories), as absolute paths
dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ {print substr($6, 2)}' >"$W/files"
say "$(wc -l <"$W/files") files in the package"
# its directories that do not exist yet: dpkg -r must remove them too
dpkg-deb -c "$DEB" | awk '$1 ~ /^d/ {print substr($6, 2)}' | sed 's:/$::' | grep . |
    while read -r d; do [ -e "$d" ] || echo "$d"; done >"$W/newdirs"

# save what the package would overwrite (an earlier make install)
: >"$W/saved"
while read -r f; do
    if [ -e "$f" ] || [ -L "$f" ]; then echo "$f"; fi
done <"$W/files" >"$W/saved"
if [ -s "$W/saved" ]; then
    say "saving $(wc -l <"$W/saved") files the package overwrites (restored at the end)"
    tar -cpf "$W/saved.tar" -P -T "$W/saved"
fi
restore() {
    if [ -s "$W/saved" ]; then
        tar -xpf "$W/saved.tar" -P && say "restored the $(wc -l <"$W/saved") files saved before dpkg -i"
    fi
}

# 2. install
if ! dpkg -i "$DEB" >"$W/install.log" 2>&1; then
    say "dpkg -i failed; trying apt-get -f install for the dependencies"
    DEBIAN_FRONTEND=noninteractive apt-get -f install -y >>"$W/install.log" 2>&1
fi
check "dpkg -i installs $PKG" \
    bash -c "dpkg-query -W -f='\${db:Status-Status}' $PKG | grep -qx installed"
grep -E 'Setting up|error' "$W/install.log"

# 3. the files where PostgreSQL 15 looks for them
pkglib=$("$SYS_PG_CONFIG" --pkglibdir)
share=$("$SYS_PG_CONFIG" --sharedir)
bindir=$("$SYS_PG_CONFIG" --bindir)
check "library in $pkglib" test -f "$pkglib/deletion_firewall.so"
check "control file in $share/extension" test -f "$share/extension/deletion_firewall.control"
check "install script of $VERSION" test -f "$share/extension/deletion_firewall--1.0.sql" -a -f "$share/extension/deletion_firewall--1.0--$VERSION.sql"
check "dfwctl in $bindir" test -x "$bindir/dfwctl"
check "dfwctl on PATH (/usr/bin/dfwctl) prints version $VERSION" \
    bash -c "env PATH=/usr/bin:/bin dfwctl --version | grep -q ' $VERSION'"
check "every file of the package is on disk" \
    bash -c "while read -r f; do [ -e \"\$f\" ] || { echo \"missing: \$f\"; exit 1; }; done <'$W/files'"

# 4. the suite against the installed files
PG_CONFIG=$SYS_PG_CONFIG make -s installcheck >"$W/installcheck.log" 2>&1
rc=$?
grep -E '^== ' "$W/installcheck.log"
line=$(tail -n 1 "$W/installcheck.log")
echo "installcheck: $line"
if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    PASSED=$((PASSED + BASH_REMATCH[1]))
    FAILED=$((FAILED + BASH_REMATCH[2]))
    if [ "$rc" -ne 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ]; then
        echo "not ok - make installcheck exited $rc"
        FAILED=$((FAILED + 1))
    fi
else
    tail -n 40 "$W/installcheck.log"
    echo "not ok - make installcheck printed no closing line"
    FAILED=$((FAILED + 1))
fi
[ "$rc" -eq 0 ] || tail -n 60 "$W/installcheck.log"

# 5. remove: every file gone, nothing left registered
dpkg -r "$PKG" >"$W/remove.log" 2>&1
check "dpkg -r removes $PKG" \
    bash -c "! dpkg-query -W -f='\${db:Status-Status}' $PKG 2>/dev/null | grep -qE 'installed|config-files'"
check "every file the package installed is gone" \
    bash -c "left=0; while read -r f; do if [ -e \"\$f\" ] || [ -L \"\$f\" ]; then echo \"left: \$f\"; left=1; fi; done <'$W/files'; [ \$left -eq 0 ]"
check "the directories the package created are gone" \
    bash -c "left=0; while read -r d; do if [ -e \"\$d\" ]; then echo \"left: \$d\"; left=1; fi; done <'$W/newdirs'; [ \$left -eq 0 ]"

restore
finish
