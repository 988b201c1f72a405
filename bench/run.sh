#!/bin/bash
# bench/run.sh -- the cost of deletion_firewall, in one run (issue 3).
#
# Prints, side by side:
#  1. instructions per workload (valgrind --tool=callgrind on a single-user
#     backend, 'postgres --single'), library preloaded vs not, start-up
#     subtracted by an empty run, for human roles and for an agent role;
#  2. pgbench tps with and without the library, interleaved rounds;
#  3. the cost of refusing an agent's mass DELETE on 1,000,000 rows against
#     one on 2,000 rows (psql \timing medians, and callgrind instructions).
#
# Usage:  bench/run.sh            (or: make bench)
#         BENCH_QUICK=1 bench/run.sh          a shorter, rougher run
# Knobs (environment): BENCH_ROUNDS, BENCH_SECONDS (pgbench rounds, seconds
# per pgbench run), BENCH_TPCB_TX, BENCH_SELECTS (statements in the callgrind
# scripts), BENCH_SCALE (pgbench scale), BENCH_PORT, BENCH_KEEP=1 (keep the
# temporary directory), PG_CONFIG.
#
# Works as root (the server side runs as the postgres OS user) and as a
# normal user.  Output: bench/out/<timestamp>/: results.md (the table),
# callgrind-totals.txt and callgrind/*.out, where-<role>-tpcb.txt and
# library-inclusive-<role>-tpcb.txt (where the extra instructions go),
# pgbench-tps.txt (every round), massdelete.out, the scripts, server logs.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
# PG_CONFIG, PG_BINDIR, PG_OS_USER, as_pg, make_workdir
# shellcheck source=tests/lib.sh
. "$REPO/tests/lib.sh"
BINDIR=$PG_BINDIR
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)

if [ "${BENCH_QUICK:-0}" = 1 ]; then
    ROUNDS=${BENCH_ROUNDS:-2}
    SECONDS_PER_RUN=${BENCH_SECONDS:-3}
    TPCB_TX=${BENCH_TPCB_TX:-500}
    SELECTS=${BENCH_SELECTS:-2500}
else
    ROUNDS=${BENCH_ROUNDS:-5}
    SECONDS_PER_RUN=${BENCH_SECONDS:-6}
    TPCB_TX=${BENCH_TPCB_TX:-2000}
    SELECTS=${BENCH_SELECTS:-10000}
fi
SCALE=${BENCH_SCALE:-1}
PORT=${BENCH_PORT:-55440}
CLIENTS=2
LIB=deletion_firewall
# Roles of the callgrind runs.  In a single-user backend the authenticated
# user is always the bootstrap superuser 'postgres'; SET SESSION
# AUTHORIZATION changes the session (and current) user only.  So:
#   superuser: SET SESSION AUTHORIZATION postgres -- a human whose three
#              users are one, as in an ordinary login of a human;
#   human:     SET SESSION AUTHORIZATION human -- a non-superuser human
#              (session user human, authenticated user postgres);
#   agent:     SET SESSION AUTHORIZATION agent -- tagged as an agent.
CG_ROLES="superuser human agent"

for tool in valgrind callgrind_annotate awk md5sum; do
    command -v "$tool" >/dev/null || { echo "bench: '$tool' not found (apt-get install valgrind)" >&2; exit 1; }
done
[ -f "$PKGLIBDIR/$LIB.so" ] || { echo "bench: $PKGLIBDIR/$LIB.so missing: run 'make install' first" >&2; exit 1; }

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
SO_MD5=$(md5sum "$PKGLIBDIR/$LIB.so" | cut -c1-12)
SO_DATE=$(date -u -r "$PKGLIBDIR/$LIB.so" '+%Y-%m-%d %H:%M UTC')
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
GIT_REV=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$GIT_REV" != unknown ] && ! git -C "$REPO" diff --quiet HEAD -- extension 2>/dev/null; then
    GIT_REV="$GIT_REV (extension/ modified)"
fi
OUT=$REPO/bench/out/$STAMP
mkdir -p "$OUT" || { echo "bench: cannot write $OUT" >&2; exit 1; }
W=$(make_workdir dfw-bench)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cleanup() {
    set +e
    for d in "$W/on" "$W/off" "$W/tmpl"; do
        [ -f "$d/postmaster.pid" ] && as_pg "$BINDIR/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1
    done
    cp "$W"/*.log "$OUT"/ 2>/dev/null
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "bench: kept $W" >&2
    else
        rm -rf "$W"
    fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- set-up
log "template cluster in $W (scale $SCALE)"
as_pg "$BINDIR/initdb" -D "$W/tmpl" -U postgres -A trust --no-sync -E UTF8 --locale=C >"$W/initdb.log" 2>&1
cat >>"$W/tmpl/postgresql.conf" <<EOF

# bench/run.sh
shared_preload_libraries = '$LIB'
listen_addresses = ''
unix_socket_directories = '$W'
max_connections = 20
synchronous_commit = off
autovacuum = off
EOF
as_pg "$BINDIR/pg_ctl" -D "$W/tmpl" -o "-p $PORT" -l "$W/tmpl.log" -w start >/dev/null
PSQL_SUPER=("$BINDIR/psql" -X -q -h "$W" -p "$PORT" -U postgres -d postgres)
as_pg "$BINDIR/pgbench" -h "$W" -p "$PORT" -U postgres -i -q -s "$SCALE" postgres >"$W/pgbench-init.log" 2>&1
as_pg "${PSQL_SUPER[@]}" -f - <"$HERE/setup.sql" >"$W/setup.log" 2>&1
as_pg "$BINDIR/pg_ctl" -D "$W/tmpl" -w stop >/dev/null

# Fixed SQL for the single-user backend: pgbench's tpcb-like and select-only
# transactions with literal values, from a fixed-seed Park-Miller generator
# (exact in awk's double arithmetic, so every awk gives the same file).
gen() { # gen MODE N
    awk -v mode="$1" -v n="$2" -v scale="$SCALE" '
    function rnd(lo, hi) { seed = (seed * 16807) % 2147483647; return lo + seed % (hi - lo + 1) }
    BEGIN {
        seed = 20260101; na = 100000 * scale; nb = scale; nt = 10 * scale
        for (i = 0; i < n; i++) {
            if (mode == "select") {
                printf "SELECT abalance FROM pgbench_accounts WHERE aid = %d\n", rnd(1, na)
                continue
            }
            a = rnd(1, na); b = rnd(1, nb); t = rnd(1, nt); d = rnd(-5000, 5000)
            print "BEGIN"
            printf "UPDATE pgbench_accounts SET abalance = abalance + %d WHERE aid = %d\n", d, a
            printf "SELECT abalance FROM pgbench_accounts WHERE aid = %d\n", a
            printf "UPDATE pgbench_tellers SET tbalance = tbalance + %d WHERE tid = %d\n", d, t
            printf "UPDATE pgbench_branches SET bbalance = bbalance + %d WHERE bid = %d\n", d, b
            printf "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (%d, %d, %d, %d, CURRENT_TIMESTAMP)\n", t, b, a, d
            print "END"
        }
    }'
}
mkdir -p "$W/sql"
gen tpcb "$TPCB_TX" >"$W/sql/tpcb.body"
gen select "$SELECTS" >"$W/sql/select.body"
: >"$W/sql/empty.body"
for i in 1 2 3 4 5 6 7 8 9 10; do echo "DELETE FROM dfw_big"; done >"$W/sql/delbig.body"
for i in 1 2 3 4 5 6 7 8 9 10; do echo "DELETE FROM dfw_small"; done >"$W/sql/delsmall.body"
for role in $CG_ROLES; do
    for s in empty select tpcb delbig delsmall; do
        u=$role; [ $role = superuser ] && u=postgres
        { echo "SET SESSION AUTHORIZATION $u"; cat "$W/sql/$s.body"; } >"$W/sql/$s.$role.sql"
    done
done
(cd "$W/sql" && md5sum tpcb.body select.body) >"$OUT/scripts.md5"
cp "$W/sql/tpcb.body" "$OUT/tpcb.sql"
cp "$W/sql/select.body" "$OUT/select.sql"
[ "$(id -u)" -eq 0 ] && chown -R "$PG_OS_USER": "$W"

# single SCRIPT LIBVALUE [valgrind args...]: run a single-user backend on a
# fresh copy of the template (always at the same path, so that the backend
# does the same work each time), stdin from SCRIPT.  Output in $W/single.*
# A single-user backend applies no ALTER DATABASE/ROLE settings, so the
# window is set on its command line: on, and out of reach of the 2,000
# updates of pgbench_branches' one row (its cost is measured, not a refusal).
single() {
    local script=$1 libval=$2 dfw=()
    shift 2
    [ -n "$libval" ] && dfw=(-c deletion_firewall.window_rows=100000000)
    as_pg rm -rf "$W/run"
    as_pg cp -a "$W/tmpl" "$W/run"
    as_pg "$@" "$BINDIR/postgres" --single -D "$W/run" \
        -c shared_preload_libraries="$libval" -c autovacuum=off "${dfw[@]}" postgres \
        <"$W/sql/$script" >"$W/single.out" 2>"$W/single.err"
}

# ------------------------------------------------ check the hooks are live
log "checking the library is active in single-user mode"
single delsmall.agent.sql "$LIB"
grep -q 'deletion_firewall refused delete' "$W/single.err" ||
    { cat "$W/single.err" >&2; echo "bench: an agent's mass DELETE was not refused in --single with the library" >&2; exit 1; }
printf 'SET SESSION AUTHORIZATION agent\nBEGIN\nDELETE FROM dfw_small\nROLLBACK\n' >"$W/sql/check-off.sql"
single check-off.sql ""
if grep -q 'deletion_firewall' "$W/single.err" || grep -q 'ERROR' "$W/single.err"; then
    cat "$W/single.err" >&2; echo "bench: the run without the library is not clean" >&2; exit 1
fi
printf 'SET SESSION AUTHORIZATION human\nBEGIN\nDELETE FROM pgbench_accounts WHERE aid <= 500\nROLLBACK\n' >"$W/sql/check-human.sql"
single check-human.sql "$LIB" # a human is never refused
if grep -q 'ERROR' "$W/single.err"; then
    cat "$W/single.err" >&2; echo "bench: a human's DELETE was refused" >&2; exit 1
fi

# ------------------------------------------------------------- callgrind
# cg NAME SCRIPT LIBVALUE: instructions of one single-user run
declare -A IR
cg() {
    local name=$1 script=$2 libval=$3
    single "$script" "$libval" valgrind --tool=callgrind --callgrind-out-file="$W/cg.$name.out" \
        --dump-instr=no
    IR[$name]=$(awk '/^totals:/ { print $2 }' "$W/cg.$name.out")
    [ -n "${IR[$name]}" ] || { cat "$W/single.err" >&2; echo "bench: no callgrind totals for $name" >&2; exit 1; }
    printf '%-22s %15s\n' "$name" "${IR[$name]}" >>"$OUT/callgrind-totals.txt"
    case $script in
        tpcb.*|select.*|empty.*)
            if grep -q 'ERROR' "$W/single.err"; then
                cat "$W/single.err" >&2; echo "bench: errors in callgrind run $name" >&2; exit 1
            fi ;;
    esac
}
: >"$OUT/callgrind-totals.txt"
log "callgrind: $TPCB_TX tpcb-like transactions, $SELECTS select-only statements, per role and library on/off"
for role in $CG_ROLES; do
    for s in empty select tpcb; do
        for lib in off on; do
            libval=""; [ $lib = on ] && libval=$LIB
            log "  callgrind $s $role lib=$lib"
            cg "$s.$role.$lib" "$s.$role.sql" "$libval"
        done
    done
done
log "  callgrind mass-delete refusals (agent, 10 x 1,000,000 rows / 10 x 2,000 rows)"
for s in delbig delsmall; do
    cg "$s.agent.on" "$s.agent.sql" "$LIB"
    n=$(grep -c 'deletion_firewall refused delete' "$W/single.err" || true)
    [ "$n" -eq 10 ] || { echo "bench: expected 10 refusals in $s, got $n" >&2; exit 1; }
done
# Where the extra instructions go: per function, with library minus
# without (self cost, all functions), for each role's tpcb-like run; and the
# inclusive cost of the library's own functions (hooks and what they call).
mkdir -p "$OUT/callgrind"
cp "$W"/cg.*.out "$OUT/callgrind/"
annotate() { callgrind_annotate --threshold=100 --auto=no "$@" 2>/dev/null || true; }
fn_diff() { # fn_diff ON ON-EMPTY OFF OFF-EMPTY: top 25 functions by extra self
    # instructions of the workload (start-up differences cancel out)
    { annotate --inclusive=no "$1" | sed 's/^/a /'; annotate --inclusive=no "$2" | sed 's/^/b /'
      annotate --inclusive=no "$3" | sed 's/^/b /'; annotate --inclusive=no "$4" | sed 's/^/a /'; } |
        awk '{ tag = $1; sub(/^[a-z]+ +/, "") }
             /^[0-9,]+ +\( *[0-9.]+%\) +/ && !/PROGRAM TOTALS/ {
                 c = $1; gsub(",", "", c); f = $0; sub(/^[0-9,]+ +\( *[0-9.]+%\) +/, "", f)
                 if (tag == "a") d[f] += c; else d[f] -= c
             }
             END { for (f in d) if (d[f] != 0) printf "%12d  %s\n", d[f], f }' |
        sort -k1,1 -g -r | awk 'NR <= 25'
}
for role in $CG_ROLES; do
    fn_diff "$W/cg.tpcb.$role.on.out" "$W/cg.empty.$role.on.out" \
        "$W/cg.tpcb.$role.off.out" "$W/cg.empty.$role.off.out" >"$OUT/where-$role-tpcb.txt"
    annotate --inclusive=yes "$W/cg.tpcb.$role.on.out" | grep -F "$LIB.so" | awk 'NR <= 25' \
        >"$OUT/library-inclusive-$role-tpcb.txt" || true
done

# ratio A B: A/B with 4 decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.4f", a / b }'; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", a - b }'; }
work() { minus "${IR[$1.$2.$3]}" "${IR[empty.$2.$3]}"; }

# ---------------------------------------------------------------- pgbench
log "pgbench: $ROUNDS interleaved rounds x ${SECONDS_PER_RUN}s, -c $CLIENTS -j $CLIENTS, per script/role/library"
as_pg cp -a "$W/tmpl" "$W/on"
as_pg cp -a "$W/tmpl" "$W/off"
as_pg "$BINDIR/pg_ctl" -D "$W/on" -o "-p $PORT" -l "$W/server-on.log" -w start >/dev/null
as_pg "$BINDIR/pg_ctl" -D "$W/off" -o "-p $((PORT + 1)) -c shared_preload_libraries=''" -l "$W/server-off.log" -w start >/dev/null
on_loaded=$(as_pg "$BINDIR/psql" -X -At -h "$W" -p "$PORT" -U postgres -d postgres -c "SHOW shared_preload_libraries")
off_loaded=$(as_pg "$BINDIR/psql" -X -At -h "$W" -p $((PORT + 1)) -U postgres -d postgres -c "SHOW shared_preload_libraries")
[ "$on_loaded" = "$LIB" ] && [ -z "$off_loaded" ] || { echo "bench: servers misconfigured ($on_loaded / $off_loaded)" >&2; exit 1; }

declare -A TPS
: >"$OUT/pgbench-tps.txt"
for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then order="off on"; else order="on off"; fi
    for s in select-only tpcb-like; do
        for role in human agent; do
            for lib in $order; do
                p=$PORT; [ $lib = off ] && p=$((PORT + 1))
                # what pgbench does before a run, done by the superuser (an
                # agent may not TRUNCATE): fresh history, vacuumed small tables
                as_pg "$BINDIR/psql" -X -q -h "$W" -p $p -U postgres -d postgres \
                    -c "VACUUM pgbench_branches, pgbench_tellers" -c "TRUNCATE pgbench_history" >/dev/null
                tps=$(as_pg "$BINDIR/pgbench" -h "$W" -p $p -U "$role" -n -b "$s" -c $CLIENTS -j $CLIENTS \
                    -T "$SECONDS_PER_RUN" postgres 2>"$W/pgbench.err" | awk '/^tps = / { print $3; exit }')
                [ -n "$tps" ] || { cat "$W/pgbench.err" >&2; echo "bench: pgbench failed ($s $role $lib)" >&2; exit 1; }
                grep -q 'aborted' "$W/pgbench.err" && { cat "$W/pgbench.err" >&2; exit 1; }
                TPS[$s.$role.$lib]="${TPS[$s.$role.$lib]:-} $tps"
                printf 'round %d %-10s %-5s lib=%-3s tps=%s\n' "$r" "$s" "$role" "$lib" "$tps" >>"$OUT/pgbench-tps.txt"
                log "  round $r $s $role lib=$lib: $tps tps"
            done
        done
    done
done
median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.0f", v[(NR + 1) / 2]; else printf "%.0f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ------------------------------------------------------- mass delete timing
log "mass-delete refusals: psql \\timing, 20 interleaved pairs, as the agent"
# the script: two warm-up pairs, then 20 timed pairs
pairs() { for _ in $(seq "$1"); do printf 'DELETE FROM dfw_big;\nDELETE FROM dfw_small;\n'; done; }
{
    printf '%s\n' '-- massdelete.sql: psql script, run as the agent by bench/run.sh,' \
        '-- which writes it.  Every DELETE below must be refused by the firewall' \
        '-- (42501); interleaved so that machine load hits both sizes alike.' \
        '-- Two warm-up refusals each, then 20 timed pairs.' \
        '\set VERBOSITY verbose' '\timing on' '\echo warmup'
    pairs 2
    printf '%s\n' '\echo measure'
    pairs 20
} >"$W/massdelete.sql"
cp "$W/massdelete.sql" "$OUT/massdelete.sql"
as_pg "$BINDIR/psql" -X -h "$W" -p "$PORT" -U agent -d postgres -f - <"$W/massdelete.sql" >"$W/massdelete.out" 2>&1 || true
cp "$W/massdelete.out" "$OUT/massdelete.out"
refusals=$(grep -c '^psql:.*ERROR:  42501: deletion_firewall refused delete' "$W/massdelete.out" || true)
[ "$refusals" -eq 44 ] || { echo "bench: expected 44 refusals, got $refusals (see $OUT/massdelete.out)" >&2; exit 1; }
remaining=$(as_pg "$BINDIR/psql" -X -At -h "$W" -p "$PORT" -U postgres -d postgres \
    -c "SELECT (SELECT count(*) FROM dfw_big) || ' ' || (SELECT count(*) FROM dfw_small)")
[ "$remaining" = "1000000 2000" ] || { echo "bench: rows were deleted: $remaining" >&2; exit 1; }
# after '\echo measure' the Time: lines alternate big, small
awk '/^measure$/ { m = 1; next } m && /^Time: / { n++; print (n % 2 ? "big" : "small"), $2 }' \
    "$W/massdelete.out" >"$W/massdelete.times"
median_ms() { # median_ms big|small
    awk -v k="$1" '$1 == k { print $2 }' "$W/massdelete.times" | sort -g |
        awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
BIG_MS=$(median_ms big)
SMALL_MS=$(median_ms small)
as_pg "$BINDIR/pg_ctl" -D "$W/on" -w stop >/dev/null
as_pg "$BINDIR/pg_ctl" -D "$W/off" -w stop >/dev/null

# ------------------------------------------------------------------ report
verdict() { # verdict VALUE LIMIT
    awk -v v="$1" -v l="$2" 'BEGIN { print (v != "n/a" && v + 0 <= l + 0) ? "ok" : "MISSED" }'
}
verdict_lt() { awk -v v="$1" -v l="$2" 'BEGIN { print (v != "n/a" && v + 0 < l + 0) ? "ok" : "MISSED" }'; }
{
    echo "deletion_firewall benchmark -- $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores, $(uname -sr), $("$BINDIR/postgres" --version)"
    echo "load average (1/5/15 min) at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
    echo "library: $PKGLIBDIR/$LIB.so md5 $SO_MD5 (installed $SO_DATE); repository at $GIT_REV"
    echo "settings: scale $SCALE; callgrind: $TPCB_TX tpcb-like tx, $SELECTS select-only statements;" \
        "pgbench: $ROUNDS rounds x ${SECONDS_PER_RUN}s, -c $CLIENTS -j $CLIENTS, simple protocol, synchronous_commit=off"
    echo
    echo "1. Instructions per workload (callgrind, postgres --single, start-up subtracted by an empty run)"
    echo
    printf '| %-11s | %-9s | %15s | %15s | %10s | %8s | %9s | %-7s |\n' workload role "without library" "with library" "extra/stmt" ratio target verdict
    printf '|%s|\n' "-------------|-----------|-----------------|-----------------|------------|----------|-----------|---------"
    for s in select tpcb; do
        nstmt=$SELECTS; [ $s = tpcb ] && nstmt=$((TPCB_TX * 7))
        for role in $CG_ROLES; do
            off=$(work "$s" "$role" off)
            on=$(work "$s" "$role" on)
            rt=$(ratio "$on" "$off")
            per=$(awk -v a="$on" -v b="$off" -v n="$nstmt" 'BEGIN { printf "%.0f", (a - b) / n }')
            lim=1.005; [ $role = agent ] && lim=1.02
            label=select-only; [ $s = tpcb ] && label=tpcb-like
            printf '| %-11s | %-9s | %15s | %15s | %10s | %8s | <= %6s | %-7s |\n' "$label" "$role" "$off" "$on" "$per" "$rt" "$lim" "$(verdict "$rt" "$lim")"
        done
    done
    echo
    echo "2. pgbench tps, median of $ROUNDS interleaved rounds (depends on machine load; for humans to read)"
    echo
    printf '| %-11s | %-9s | %15s | %15s | %8s |\n' workload role "without library" "with library" ratio
    printf '|%s|\n' "-------------|-----------|-----------------|-----------------|----------"
    for s in select-only tpcb-like; do
        for role in human agent; do
            off=$(echo "${TPS[$s.$role.off]}" | median)
            on=$(echo "${TPS[$s.$role.on]}" | median)
            printf '| %-11s | %-9s | %15s | %15s | %8s |\n' "$s" "$role" "$off" "$on" "$(ratio "$on" "$off")"
        done
    done
    echo
    echo "3. Refusing an agent's mass DELETE (stops after max_rows + 1 = 101 rows)"
    echo
    big_ir=$(awk -v a="${IR[delbig.agent.on]}" -v e="${IR[empty.agent.on]}" 'BEGIN { printf "%.0f", (a - e) / 10 }')
    small_ir=$(awk -v a="${IR[delsmall.agent.on]}" -v e="${IR[empty.agent.on]}" 'BEGIN { printf "%.0f", (a - e) / 10 }')
    ir_ratio=$(ratio "$big_ir" "$small_ir")
    ms_ratio=$(ratio "$BIG_MS" "$SMALL_MS")
    printf '| %-38s | %15s | %15s | %8s | %9s | %-7s |\n' measure "1,000,000 rows" "2,000 rows" ratio target verdict
    printf '|%s|\n' "----------------------------------------|-----------------|-----------------|----------|-----------|---------"
    printf '| %-38s | %15s | %15s | %8s | %9s | %-7s |\n' "instructions per refusal (callgrind)" "$big_ir" "$small_ir" "$ir_ratio" "< 1.5" "$(verdict_lt "$ir_ratio" 1.5)"
    printf '| %-38s | %15s | %15s | %8s | %9s | %-7s |\n' "median psql \\timing, ms (20 each)" "$BIG_MS" "$SMALL_MS" "$ms_ratio" "< 1.5" "$(verdict_lt "$ms_ratio" 1.5)"
    echo
    echo "All refused with 42501 ($refusals of 44); rows remaining afterwards: $remaining."
    if [ "$(md5sum "$PKGLIBDIR/$LIB.so" | cut -c1-12)" != "$SO_MD5" ]; then
        echo "WARNING: $LIB.so was reinstalled during the run; the figures mix two builds: run again."
    fi
    echo "Output: bench/out/$STAMP/"
} | tee "$OUT/results.md"
