#!/usr/bin/env bash
# Harmless to humans: PostgreSQL's own core regression suite (make test-core).
#
# Runs src/test/regress/parallel_schedule of the installed 15.x twice, on two
# throwaway clusters of the installed Debian server (a private copy made by
# tests/matrix.sh --prepare 15, with this tree's extension installed in it):
#
#   without  a stock server
#   with     shared_preload_libraries = 'deletion_firewall', and the
#            extension created in the test database (--load-extension)
#
# Both run as the bootstrap superuser (a human: not an agent, not tagged).
# Then compares: every test that fails "with" must also fail "without", with
# the same output.  Prints one line per run ending in "N passed, M failed",
# and exits non-zero if the library made any test fail or change.
#
# The test sources come from Debian's source package postgresql-15 (the
# installed version if the archive still has it, else the nearest one it
# has), fetched with apt-get source against a private apt state in
# .cache/apt-src; regress.so (and autoinc.so, refint.so, which the triggers
# test loads from the same directory) are built against the installed
# server headers.  Everything is cached in .cache/core.
#
# Environment: CORE_SERIAL=1 runs the two suites one after the other (they
# run side by side by default); CORE_KEEP=1 keeps the work directory.
set -u
cd "$(dirname "$0")/.." || exit 2
REPO=$(pwd)
# as_pg, debian_mirror, apt_private_opts
# shellcheck source=tests/lib.sh
. tests/lib.sh
CACHE=$REPO/.cache
CORE=$CACHE/core
LOGS=$CACHE/logs
PG15_CONFIG=${PG15_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PG_REGRESS=/usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress
mkdir -p "$CORE" "$LOGS"

say() { echo "core-regress: $*" >&2; }
die() { say "$*"; exit 2; }

[ -x "$PG_REGRESS" ] || die "Debian's PostgreSQL 15 is needed: run 'make deps'"

# 1. the installed server, privately copied, with the extension installed
prep=$(tests/matrix.sh --prepare 15) || die "could not build and install the extension"
BINDIR='' SRV_VERSION=''
eval "$prep"    # sets PGC BINDIR SRV_VERSION HDR_VERSION (BINDIR, SRV_VERSION used)

exec 9>"$CACHE/.lock"
flock 9 || die "cannot lock $CACHE/.lock"

# 2. the source package, as close as possible to the installed version
fetch_source() {
    local installed d=$CACHE/apt-src mirror v kr=/usr/share/keyrings/debian-archive-keyring.gpg
    installed=$(dpkg-query -W -f='${Version}' postgresql-15 2>/dev/null)
    [ -n "$installed" ] || die "postgresql-15 is not installed"
    if [ -e "$CORE/src.version" ] && [ -d "$CORE/src/src/test/regress" ] &&
        [ "$(sed -n 1p "$CORE/src.version")" = "$installed" ]; then
        SRC_VERSION=$(sed -n 2p "$CORE/src.version")
        return 0
    fi
    mirror=$(debian_mirror)
    [ -n "$mirror" ] || die "cannot find the Debian archive in /etc/apt/sources.list*; set DEBIAN_MIRROR"
    apt_private_opts "$d"
    cat >"$d/etc/sources.list" <<EOF
deb-src [signed-by=$kr] $mirror bookworm main
deb-src [signed-by=$kr] $mirror bookworm-updates main
deb-src [signed-by=$kr] ${DEBIAN_SECURITY_MIRROR:-$mirror-security} bookworm-security main
EOF
    say "apt-get update (private state in ${d#"$REPO"/})"
    apt-get "${APT_OPTS[@]}" update >"$d/update.log" 2>&1 ||
        { cat "$d/update.log" >&2; die "apt-get update failed"; }
    rm -rf "$CORE/dl" "$CORE/src"
    mkdir -p "$CORE/dl"
    # the installed version first, then the others, newest first
    for v in "$installed" $(apt-cache "${APT_OPTS[@]}" showsrc postgresql-15 |
        sed -n 's/^Version: //p' | sort -rV | grep -vxF "$installed"); do
        say "apt-get source postgresql-15=$v"
        if (cd "$CORE/dl" && apt-get "${APT_OPTS[@]}" source --download-only \
            "postgresql-15=$v") >"$CORE/dl/source.log" 2>&1; then
            SRC_VERSION=$v
            break
        fi
        rm -f "$CORE"/dl/postgresql-15_*
        say "postgresql-15 $v: not downloadable from the archive"
    done
    [ -n "${SRC_VERSION:-}" ] || { cat "$CORE/dl/source.log" >&2; die "no postgresql-15 source"; }
    dpkg-source -x "$CORE"/dl/postgresql-15_"${SRC_VERSION#*:}".dsc "$CORE/dl/tree" \
        >"$CORE/dl/extract.log" 2>&1 ||
        { cat "$CORE/dl/extract.log" >&2; die "dpkg-source -x failed"; }
    # keep only what the suite needs (a few MB of the 180)
    mkdir -p "$CORE/src/src/test" "$CORE/src/contrib"
    if ! mv "$CORE/dl/tree/src/test/regress" "$CORE/src/src/test/" ||
        ! mv "$CORE/dl/tree/contrib/spi" "$CORE/src/contrib/"; then
        die "unexpected layout of the postgresql-15 source"
    fi
    rm -rf "$CORE/dl"
    printf '%s\n%s\n' "$installed" "$SRC_VERSION" >"$CORE/src.version"
    rm -rf "${CORE:?}/lib"
}
fetch_source
[ "$SRC_VERSION" = "$(dpkg-query -W -f='${Version}' postgresql-15)" ] ||
    say "note: the archive no longer has the installed $(dpkg-query -W -f='${Version}' postgresql-15) source; using $SRC_VERSION"

# 3. regress.so, autoinc.so, refint.so against the installed server headers
LIB=$CORE/lib
if [ ! -e "$LIB/regress.so" ] || [ ! -e "$LIB/autoinc.so" ] || [ ! -e "$LIB/refint.so" ]; then
    say "building regress.so, autoinc.so, refint.so"
    rm -rf "$LIB"
    mkdir -p "$LIB"
    cp "$CORE/src/src/test/regress/regress.c" "$CORE/src/contrib/spi/autoinc.c" \
        "$CORE/src/contrib/spi/refint.c" "$LIB/"
    cat >"$LIB/Makefile" <<'EOF'
MODULES = regress autoinc refint
PG_CPPFLAGS = -DREFINT_VERBOSE
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
EOF
    make -C "$LIB" PG_CONFIG="$PG15_CONFIG" with_llvm=no >"$LIB/build.log" 2>&1 ||
        { cat "$LIB/build.log" >&2; rm -f "$LIB"/*.so; die "building the test libraries failed"; }
fi

# 4. the two runs
W=$(mktemp -d /tmp/dfw-core.XXXXXX)
if [ "${CORE_KEEP:-0}" = 1 ]; then
    say "keeping $W"
else
    trap 'rm -rf "$W"' EXIT
fi
R=$CORE/src/src/test/regress
mkdir -p "$W/src" "$W/with" "$W/without"
cp -R "$R/sql" "$R/expected" "$R/data" "$R/parallel_schedule" "$R/resultmap" "$W/src/"
# shellcheck disable=SC2016
printf '%s\n' "shared_preload_libraries = 'deletion_firewall'" >"$W/with.conf"
: >"$W/without.conf"
# The server (the private copy in .cache/pg15) and regress.so (.cache/core)
# live in the checkout, which $PG_OS_USER may not reach (a clone under /root
# or in a 'mktemp -d' directory): copy them into the work directory then.
# The server finds its lib and share directories relative to its own path.
if ! pg_can_use "$BINDIR/postgres"; then
    root=${BINDIR%/usr/lib/postgresql/15/bin}
    say "$PG_OS_USER cannot reach ${root#"$REPO"/}: running the server from a copy in $W/root"
    cp -a "$root" "$W/root" || die "copy to $W failed"
    BINDIR=$W/root/usr/lib/postgresql/15/bin
fi
if ! pg_can_use "$LIB/regress.so"; then
    cp -a "$LIB" "$W/lib" || die "copy to $W failed"
    LIB=$W/lib
fi
[ "$(id -u)" -eq 0 ] && chown -R "$PG_OS_USER": "$W"

# run NAME PORT [EXTRA ARGS]
run() {
    local name=$1 port=$2
    shift 2
    (cd "$W/$name" && as_pg env LANG=C LC_ALL=C PGTZ= PGDATESTYLE= "$PG_REGRESS" \
        --temp-instance="$W/$name/tmp_check" --temp-config="$W/$name.conf" \
        --bindir="$BINDIR" --dlpath="$LIB" --port="$port" \
        --inputdir="$W/src" --outputdir="$W/$name" \
        --schedule="$W/src/parallel_schedule" --max-connections=20 "$@") \
        >"$W/$name.log" 2>&1
    echo $? >"$W/$name.rc"
}

start=$SECONDS
say "running the core suite of $SRC_VERSION on server $SRV_VERSION, without and with deletion_firewall"
if [ "${CORE_SERIAL:-0}" = 1 ]; then
    run without 54415
    run with 54416 --load-extension=deletion_firewall
else
    run without 54415 &
    run with 54416 --load-extension=deletion_firewall &
    wait
fi

# 5. compare.  Result lines: "test name ... ok 12 ms", "     name ... FAILED 9 ms",
# "     name ... failed (ignored) 5 ms".
results() {
    sed -nE 's/^(test| ) +([A-Za-z0-9_.+-]+) +\.\.\. +(ok|FAILED|failed \(ignored\)).*/\2 \3/p' "$1" |
        sed 's/ failed (ignored)/ ignored/'
}
for n in without with; do
    results "$W/$n.log" >"$W/$n.results"
    cp "$W/$n.log" "$LOGS/core-$n.log"
    rm -f "$LOGS/core-$n.diffs"
    [ -e "$W/$n/regression.diffs" ] && cp "$W/$n/regression.diffs" "$LOGS/core-$n.diffs"
done

status=0
for n in without with; do
    total=$(grep -c . "$W/$n.results")
    ok=$(grep -c ' ok$' "$W/$n.results")
    if [ "$total" -eq 0 ]; then
        say "$n: pg_regress ran no test (exit $(cat "$W/$n.rc")):"
        tail -n 20 "$W/$n.log" >&2
        [ -e "$W/$n/log/postmaster.log" ] && tail -n 20 "$W/$n/log/postmaster.log" >&2
        status=1
    fi
    if [ $n = with ]; then TOTAL_with=$total; else TOTAL_without=$total; fi
    echo "core $SRC_VERSION on $SRV_VERSION, $n deletion_firewall: $ok passed, $((total - ok)) failed"
done

# the "with" run really had it: CREATE EXTENSION succeeds only when preloaded
# (and the data directory is gone when every test passed, so ask the log)
if ! grep -A1 '^=* installing deletion_firewall' "$W/with.log" | grep -q '^CREATE EXTENSION$'; then
    say "the 'with' run did not preload the library and create the extension:"
    sed -n '1,/running regression test queries/p' "$W/with.log" >&2
    status=1
fi

# tests that fail with the library: each must fail without it too, the same way
newly=
changed=
while read -r t s; do
    [ "$s" = ok ] && continue
    before=$(awk -v t="$t" '$1 == t {print $2}' "$W/without.results")
    if [ "$before" = ok ] || [ -z "$before" ]; then
        newly="$newly $t"
    elif ! cmp -s "$W/with/results/$t.out" "$W/without/results/$t.out"; then
        changed="$changed $t"
    fi
done <"$W/with.results"
[ "$TOTAL_with" -eq "$TOTAL_without" ] || {
    say "the runs differ in their number of tests: $TOTAL_with with, $TOTAL_without without"
    status=1
}
if [ -n "$newly" ] || [ -n "$changed" ]; then
    [ -n "$newly" ] && say "fail only with deletion_firewall:$newly"
    [ -n "$changed" ] && say "fail both ways, but differently with deletion_firewall:$changed"
    say "diffs: ${LOGS#"$REPO"/}/core-with.diffs (and core-without.diffs)"
    status=1
fi
echo "core regress compared in $((SECONDS - start))s: $( [ $status -eq 0 ] && echo "no test fails only with deletion_firewall" || echo "deletion_firewall made tests fail" )"
exit $status
