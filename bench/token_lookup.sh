#!/bin/bash
# bench/token_lookup.sh -- what finding and spending a token costs, at
# deletion_firewall.max_tokens = 1024 (the default) and 1000000 (the
# maximum) (issue 10 item 1).
#
# Two throwaway clusters, one per max_tokens, each with 1,000 live tokens
# issued (drop tokens for another table: they fill slots without matching).
# In each, the agent (deletion_firewall.max_rows = 0 for it, so every row it
# deletes needs a token) sets one token confirm('delete', 'public.t',
# uses => ...) and runs N statements 'DELETE FROM t WHERE id = k', one row
# each: every one is a decision that looks for an approval, finds the token
# and spends a use.  A human runs the same N deletes on another range of
# rows (no decision at all) as the baseline.  Timed with psql \timing
# (client round trip included, the same in every column); medians.
#
# Prints, side by side: median ms per statement (agent spending a token,
# human, and the difference), and the shared memory each cluster allocated
# for 'deletion_firewall tokens' (pg_shmem_allocations).
#
# Usage:  bench/token_lookup.sh        (or: make bench-tokens)
# Knobs (environment): TOKBENCH_N (statements per role, default 2000),
# TOKBENCH_LIVE (live tokens issued, default 1000), TOKBENCH_SIZES (default
# "1024 1000000"), TOKBENCH_PORT (default 55460), TOKBENCH_KEEP=1, PG_CONFIG.
# Works as root (the servers run as the postgres OS user from a /tmp
# directory) and as a normal user.  Uses the installed library.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
# PG_CONFIG, PG_BINDIR, PG_OS_USER, as_pg, make_workdir
# shellcheck source=tests/lib.sh
. "$REPO/tests/lib.sh"
BINDIR=$PG_BINDIR
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
LIB=deletion_firewall
N=${TOKBENCH_N:-2000}
LIVE=${TOKBENCH_LIVE:-1000}
SIZES=${TOKBENCH_SIZES:-"1024 1000000"}
PORT=${TOKBENCH_PORT:-55460}

[ -f "$PKGLIBDIR/$LIB.so" ] || { echo "token_lookup: $PKGLIBDIR/$LIB.so missing: run 'make install' first" >&2; exit 1; }
W=$(make_workdir dfw-tokbench)
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cleanup() {
    set +e
    for d in "$W"/c*; do
        [ -f "$d/postmaster.pid" ] && as_pg "$BINDIR/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1
    done
    if [ "${TOKBENCH_KEEP:-0}" = 1 ]; then
        echo "token_lookup: kept $W" >&2
    else
        rm -rf "$W"
    fi
}
trap cleanup EXIT

# median of the numbers on stdin, 3 decimals
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit }
        printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# deletes FROM TO: a psql script deleting rows FROM..TO one statement each,
# timed after the marker line 'measure' (the first 50 are a warm-up)
deletes() {
    printf '%s\n' '\set ON_ERROR_STOP 1' '\timing on'
    seq "$1" "$(($1 + 49))" | awk '{ printf "DELETE FROM t WHERE id = %d;\n", $1 }'
    printf '%s\n' '\echo measure'
    seq "$(($1 + 50))" "$2" | awk '{ printf "DELETE FROM t WHERE id = %d;\n", $1 }'
}
times() { awk '/^measure$/ { m = 1; next } m && /^Time: / { print $2 }' "$1"; }

declare -A AGENT_MS HUMAN_MS SHMEM SPENT
ROWS=$((2 * (N + 50)))
i=0
for size in $SIZES; do
    d=$W/c$size
    p=$((PORT + i))
    i=$((i + 1))
    log "cluster max_tokens=$size (port $p)"
    as_pg "$BINDIR/initdb" -D "$d" -U postgres -A trust --no-sync -E UTF8 --locale=C >"$W/initdb-$size.log" 2>&1
    cat >>"$d/postgresql.conf" <<CONF

# bench/token_lookup.sh
shared_preload_libraries = '$LIB'
deletion_firewall.max_tokens = $size
deletion_firewall.window_rows = -1
listen_addresses = ''
unix_socket_directories = '$W'
max_connections = 20
synchronous_commit = off
autovacuum = off
CONF
    as_pg "$BINDIR/pg_ctl" -D "$d" -o "-p $p" -l "$W/server-$size.log" -w start >/dev/null
    psql_as() { as_pg "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$W" -p "$p" -U "$1" -d postgres "${@:2}"; }
    psql_as postgres <<SQL >/dev/null
CREATE EXTENSION $LIB;
CREATE ROLE agent LOGIN;
GRANT deletion_firewall_agent TO agent;
CREATE ROLE alice LOGIN;
GRANT deletion_firewall_approver TO alice;
ALTER ROLE agent SET deletion_firewall.max_rows = 0;
CREATE TABLE t (id int PRIMARY KEY);
INSERT INTO t SELECT generate_series(1, $ROWS);
ALTER TABLE t OWNER TO agent;
CREATE TABLE other (id int);
VACUUM ANALYZE t;
SQL
    # the live tokens: for another table, so they fill slots and never match
    psql_as alice -c "SELECT count(deletion_firewall.confirm('drop', 'public.other', valid_for => '1 hour')) FROM generate_series(1, $LIVE)" >/dev/null
    tok=$(psql_as alice -c "SELECT deletion_firewall.confirm('delete', 'public.t', valid_for => '1 hour', agent => 'agent', uses => $((N + 50)))")
    live=$(psql_as postgres -c "SELECT count(*) FROM deletion_firewall.tokens")
    [ "$live" -eq $((LIVE + 1)) ] || { echo "token_lookup: $live live tokens, expected $((LIVE + 1))" >&2; exit 1; }
    SHMEM[$size]=$(psql_as postgres -c "SELECT allocated_size FROM pg_shmem_allocations WHERE name = 'deletion_firewall tokens'")

    log "  agent: $N deletes, each spending a use of the token"
    { printf "SET deletion_firewall.token = '%s';\n" "$tok"; deletes 1 $((N + 50)); } >"$W/agent-$size.sql"
    as_pg "$BINDIR/psql" -X -h "$W" -p "$p" -U agent -d postgres -f - <"$W/agent-$size.sql" >"$W/agent-$size.out" 2>&1 ||
        { tail "$W/agent-$size.out" >&2; echo "token_lookup: the agent's deletes failed" >&2; exit 1; }
    log "  human: $N deletes (no decision)"
    deletes $((N + 51)) $((2 * N + 100)) >"$W/human-$size.sql"
    as_pg "$BINDIR/psql" -X -h "$W" -p "$p" -U postgres -d postgres -f - <"$W/human-$size.sql" >"$W/human-$size.out" 2>&1 ||
        { tail "$W/human-$size.out" >&2; echo "token_lookup: the human's deletes failed" >&2; exit 1; }

    left=$(psql_as postgres -c "SELECT uses_left FROM deletion_firewall.tokens WHERE target = 'public.t'")
    rows=$(psql_as postgres -c "SELECT count(*) FROM t")
    confirmed=$(grep -c 'event=confirmed' "$W/server-$size.log" || true)
    # every agent delete spent a use: none left, and the table is empty
    [ -z "$left" ] && [ "$rows" -eq 0 ] ||
        { echo "token_lookup: uses left '$left', rows left $rows: not every delete spent a use" >&2; exit 1; }
    SPENT[$size]=$confirmed
    AGENT_MS[$size]=$(times "$W/agent-$size.out" | median)
    HUMAN_MS[$size]=$(times "$W/human-$size.out" | median)
    as_pg "$BINDIR/pg_ctl" -D "$d" -w stop >/dev/null
done

mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1048576 }'; }
diffms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.3f", a - b }'; }
{
    echo "deletion_firewall token lookup -- $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores, $(uname -sr), $("$BINDIR/postgres" --version)"
    echo "$LIVE live tokens issued in each cluster; $N timed statements per role (after 50 warm-up), psql \\timing medians"
    echo
    printf '| %-44s |' "max_tokens"
    for size in $SIZES; do printf ' %14s |' "$size"; done
    echo
    printf '|%s|' "----------------------------------------------"
    for size in $SIZES; do printf '%s|' "----------------"; done
    echo
    printf '| %-44s |' "agent DELETE spending a token, ms (median)"
    for size in $SIZES; do printf ' %14s |' "${AGENT_MS[$size]}"; done
    echo
    printf '| %-44s |' "human DELETE (no decision), ms (median)"
    for size in $SIZES; do printf ' %14s |' "${HUMAN_MS[$size]}"; done
    echo
    printf '| %-44s |' "decision + spend, ms (agent - human)"
    for size in $SIZES; do printf ' %14s |' "$(diffms "${AGENT_MS[$size]}" "${HUMAN_MS[$size]}")"; done
    echo
    printf '| %-44s |' "shared memory 'deletion_firewall tokens'"
    for size in $SIZES; do printf ' %14s |' "$(mb "${SHMEM[$size]}")"; done
    echo
    printf '| %-44s |' "confirmed statements in the server log"
    for size in $SIZES; do printf ' %14s |' "${SPENT[$size]}"; done
    echo
}
