#!/bin/sh
# Install the Debian packages the build and the tests need, when running as
# root and something is missing.  Otherwise a no-op.
#
#   tests/setup-deps.sh        for make test / demo / matrix / installcheck:
#                              the server and dev packages of the PostgreSQL
#                              major that PG_CONFIG names (or PG_MAJOR), and
#                              the Perl modules of the TAP tests
#   tests/setup-deps.sh deb    for make deb: Debian's packaging tools
#                              (debhelper, postgresql-server-dev-all, lintian)
#
# The major: $PG_MAJOR if set; else from '$PG_CONFIG --version'; else (a
# pg_config that is not installed yet) from a Debian path such as
# /usr/lib/postgresql/16/bin/pg_config; else 15.  Packages are installed
# only where the machine's apt sources have them (apt-cache policy
# postgresql-NN); otherwise this says what is missing and where to get it,
# and does not install another major instead.
set -eu

PG_CONFIG=${PG_CONFIG:-pg_config}
MODE=${1:-test}
DEFAULT_MAJOR=15

say() { echo "setup-deps: $*"; }

# installed PKG: true when dpkg has PKG installed
installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}

# in_archive PKG: true when apt knows a candidate version of PKG
in_archive() {
    c=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
    [ -n "$c" ] && [ "$c" != "(none)" ]
}

pg_major() {
    if [ -n "${PG_MAJOR:-}" ]; then
        echo "$PG_MAJOR"
        return
    fi
    v=$("$PG_CONFIG" --version 2>/dev/null | sed -n 's/^PostgreSQL \([0-9][0-9]*\).*/\1/p') || v=
    if [ -n "$v" ]; then
        echo "$v"
        return
    fi
    v=$(echo "$PG_CONFIG" | sed -n 's:.*/postgresql/\([0-9][0-9]*\)/bin/pg_config$:\1:p')
    echo "${v:-$DEFAULT_MAJOR}"
}

# pg_config_usable: PG_CONFIG runs, is of major $MAJOR and names a PGXS and
# a server, whatever installed them (a source build, a private copy)
pg_config_usable() {
    v=$("$PG_CONFIG" --version 2>/dev/null | sed -n 's/^PostgreSQL \([0-9][0-9]*\).*/\1/p') &&
        [ "$v" = "$MAJOR" ] &&
        pgxs=$("$PG_CONFIG" --pgxs 2>/dev/null) && [ -e "$pgxs" ] &&
        bindir=$("$PG_CONFIG" --bindir 2>/dev/null) && [ -x "$bindir/postgres" ]
}

if ! command -v dpkg-query >/dev/null 2>&1; then
    say "no dpkg-query (not Debian?); not installing anything"
    exit 0
fi

case $MODE in
deb)
    # build-essential: a fresh Debian image has no compiler; fakeroot is
    # not needed (Rules-Requires-Root: no).
    MAJOR=$DEFAULT_MAJOR
    PACKAGES="build-essential debhelper dpkg-dev postgresql-server-dev-all postgresql-server-dev-$MAJOR libpq-dev lintian"
    ;;
test)
    MAJOR=$(pg_major)
    PERL_PACKAGES="libipc-run-perl libio-pty-perl"
    # the real neighbours of the TAP tests: a connection pooler, and
    # Node.js with npm for node-postgres (only when the machine has no node
    # of its own, such as NodeSource's, which Debian's npm would conflict with)
    TAP_PACKAGES="$PERL_PACKAGES pgbouncer"
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        TAP_PACKAGES="$TAP_PACKAGES nodejs npm"
    fi
    if [ "$MAJOR" = "$DEFAULT_MAJOR" ]; then
        # as always: Debian 12's own 15 (postgresql-contrib is its metapackage)
        PACKAGES="postgresql-$MAJOR postgresql-server-dev-$MAJOR postgresql-contrib $TAP_PACKAGES"
    else
        # contrib is part of postgresql-NN; the metapackage would pull in 15
        PACKAGES="postgresql-$MAJOR postgresql-server-dev-$MAJOR $TAP_PACKAGES"
    fi
    ;;
*)
    echo "usage: tests/setup-deps.sh [test|deb]" >&2
    exit 2
    ;;
esac

missing=
for p in $PACKAGES; do
    installed "$p" || missing="$missing $p"
done

if [ -z "$missing" ]; then
    say "all present ($PACKAGES)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    say "missing:$missing; not root, so not installing (run 'make deps' as root)"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# The archive's package lists may never have been fetched (fresh image).
unavailable=
for p in $missing; do
    in_archive "$p" || unavailable="$unavailable $p"
done
if [ -n "$unavailable" ]; then
    apt-get update
    unavailable=
    for p in $missing; do
        in_archive "$p" || unavailable="$unavailable $p"
    done
fi

if [ -n "$unavailable" ]; then
    say "PostgreSQL $MAJOR (from PG_CONFIG=$PG_CONFIG${PG_MAJOR:+, PG_MAJOR=$PG_MAJOR}):"
    say "  missing and not in this machine's apt sources:$unavailable"
    say "  (apt-cache policy shows no candidate; Debian 12 itself carries only PostgreSQL 15)"
    say "  add the PostgreSQL project's archive (https://apt.postgresql.org, 'pgdg') to the apt"
    say "  sources, or build PostgreSQL $MAJOR from source and point PG_CONFIG at its pg_config"
    installable=
    for p in $missing; do
        case " $unavailable " in *" $p "*) ;; *) installable="$installable $p" ;; esac
    done
    if [ -n "$installable" ]; then
        say "installing what the archive has:$installable"
        # shellcheck disable=SC2086
        apt-get install -y $installable
    fi
    if [ "$MODE" = test ] && pg_config_usable; then
        say "$PG_CONFIG names a usable PostgreSQL $MAJOR (PGXS and a server): going on without those packages"
        exit 0
    fi
    say "not installing PostgreSQL $DEFAULT_MAJOR instead: stopping"
    exit 1
fi

say "missing:$missing; installing $PACKAGES"
# shellcheck disable=SC2086
apt-get install -y $PACKAGES
