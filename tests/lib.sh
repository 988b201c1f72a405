#!/bin/bash
# Shared helpers for the tests/*.sh scripts and bench/run.sh (bash).  Source
# it; do not run it.
#
# The server refuses to run as root, and CI clones the repository as root
# into a folder the postgres user may not be able to read.  So every
# server-side step copies what it needs into a fresh temporary directory
# owned by the user that runs the server, and runs there.

PG_CONFIG=${PG_CONFIG:-pg_config}
PG_BINDIR=$("$PG_CONFIG" --bindir)
# .../lib/pgxs/src/makefiles/pgxs.mk -> .../lib/pgxs
PGXS_DIR=$(dirname "$(dirname "$(dirname "$("$PG_CONFIG" --pgxs)")")")
PG_REGRESS=$PGXS_DIR/src/test/regress/pg_regress
PG_ISOLATION_REGRESS=$PGXS_DIR/src/test/isolation/pg_isolation_regress
PG_TAP_LIB=$PGXS_DIR/src/test/perl
PATH=$PG_BINDIR:$PATH
export PG_CONFIG PATH

# The OS user that runs the server: postgres when we are root, else ourselves.
if [ "$(id -u)" -eq 0 ]; then
    PG_OS_USER=postgres
else
    PG_OS_USER=$(id -un)
fi

# as_pg CMD ARGS... : run a command as $PG_OS_USER, in the current directory
# (which that user must be able to read).  PATH is passed on explicitly;
# for other variables use: as_pg env X=1 cmd
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$PG_OS_USER" -- env PATH="$PATH" PG_CONFIG="$PG_CONFIG" "$@"
    else
        "$@"
    fi
}

# make_workdir [NAME]: print the name of a fresh temporary directory
# /tmp/NAME.XXXXXX (default NAME: deletion_firewall) that $PG_OS_USER owns.
make_workdir() {
    _d=$(mktemp -d "/tmp/${1:-deletion_firewall}.XXXXXX")
    if [ "$(id -u)" -eq 0 ]; then
        chown "$PG_OS_USER": "$_d"
    fi
    echo "$_d"
}

# pg_can_use PATH: true when $PG_OS_USER can reach PATH (every directory on
# the way searchable, the file readable).  A checkout under /root or in a
# 'mktemp -d' directory (mode 700) fails this for everything inside it.
pg_can_use() {
    (cd / && as_pg test -r "$1") 2>/dev/null
}

# copy_in DIR PATH... : copy repository paths (relative to the repository
# root, which must be the current directory) into DIR, owned by $PG_OS_USER.
copy_in() {
    _dst=$1
    shift
    for _p in "$@"; do
        [ -e "$_p" ] || continue
        mkdir -p "$_dst/$(dirname "$_p")"
        cp -R "$_p" "$_dst/$_p"
    done
    if [ "$(id -u)" -eq 0 ]; then
        chown -R "$PG_OS_USER": "$_dst"
    fi
}

# debian_mirror: the Debian archive URL this machine's apt sources use
# ($DEBIAN_MIRROR if set).
debian_mirror() {
    if [ -n "${DEBIAN_MIRROR:-}" ]; then
        echo "$DEBIAN_MIRROR"
        return
    fi
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
        /etc/apt/sources.list.d/*.sources 2>/dev/null |
        grep -E '^[[:space:]]*(deb|deb-src|URIs:)[[:space:]]' |
        grep -oE '(https?|ftp)://[^][ ]+' | sed 's:/*$::' |
        grep -E '/debian$' | head -n 1
}

# apt_private_opts DIR: create a private apt state in DIR (lists, cache, an
# empty dpkg status; the sources go in DIR/etc/sources.list) and set
# APT_OPTS, the apt-get/apt-cache options that use it instead of the
# machine's.
apt_private_opts() {
    mkdir -p "$1/lists/partial" "$1/cache/archives/partial" "$1/etc"
    [ -e "$1/status" ] || : >"$1/status"
    # shellcheck disable=SC2034  # used by the scripts that source this file
    APT_OPTS=(-q
        -o "Dir::Etc::sourcelist=$1/etc/sources.list"
        -o Dir::Etc::sourceparts=-
        -o Dir::Etc::preferencesparts=-
        -o "Dir::State=$1"
        -o "Dir::State::Lists=$1/lists"
        -o "Dir::State::status=$1/status"
        -o "Dir::Cache=$1/cache"
        -o APT::Get::List-Cleanup=0
        -o Acquire::Languages=none
        -o APT::Sandbox::User=root)
}
