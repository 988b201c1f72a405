#!/usr/bin/env bash
# Start a throwaway cluster with deletion_firewall preloaded, run
# tests/demo.sql through psql (echoing every statement, carrying on after
# errors), stop the cluster and remove it.  The extension must already be
# installed (make demo does that).  Exit status: psql's.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh

PORT=${DEMO_PORT:-54329}
W=$(make_workdir)
copy_in "$W" tests/demo.sql
cd "$W"

stop() {
    as_pg pg_ctl -D "$W/data" -m fast stop >/dev/null 2>&1 || true
    cd /
    rm -rf "$W"
}
trap stop EXIT

as_pg initdb -D "$W/data" -U postgres --auth=trust --no-sync >"$W/initdb.log" 2>&1 ||
    { cat "$W/initdb.log"; exit 1; }
# The socket lives in the private temporary directory and TCP is off, so the
# port cannot clash with another server.
cat >>"$W/data/postgresql.conf" <<CONF
shared_preload_libraries = 'deletion_firewall'
listen_addresses = ''
port = $PORT
unix_socket_directories = '$W'
CONF
if ! as_pg pg_ctl -D "$W/data" -l "$W/server.log" -w start >/dev/null; then
    cat "$W/server.log"
    exit 1
fi

as_pg env PGHOST="$W" PGPORT="$PORT" PGUSER=postgres PGDATABASE=postgres \
    psql -X -e -v ON_ERROR_STOP=0 -f tests/demo.sql
