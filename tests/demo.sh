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

# An approver's chat hook: dfwctl watch --json prints each new refusal as
# one JSON line (here to a file; --exec 'CMD' would pipe it to CMD).  It
# starts once the extension exists, i.e. after the scene's first lines, in
# a process group of its own so that it can be stopped whole.
watch_json() {
    for _ in $(seq 100); do
        as_pg env PGHOST="$W" PGPORT="$PORT" psql -XAtq -U postgres -d postgres \
            -c "SELECT 1 FROM pg_extension WHERE extname = 'deletion_firewall'" 2>/dev/null |
            grep -q 1 && break
        sleep 0.05
    done
    as_pg env PGHOST="$W" PGPORT="$PORT" dfwctl -U alice -d postgres watch --json
}
set -m
watch_json >"$W/watch.json" 2>/dev/null &
WATCH=$!
set +m

rc=0
as_pg env PGHOST="$W" PGPORT="$PORT" PGUSER=postgres PGDATABASE=postgres \
    psql -X -e -v ON_ERROR_STOP=0 -f tests/demo.sql || rc=$?

sleep 1.5
kill -- -"$WATCH" 2>/dev/null || true
wait "$WATCH" 2>/dev/null || true
echo
echo "=== Meanwhile an approver's 'dfwctl watch --json' printed one line per refusal (first two):"
head -n 2 "$W/watch.json"
exit $rc
