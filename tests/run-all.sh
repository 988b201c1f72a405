#!/usr/bin/env bash
# Run every test suite and print, as the very last line, "N passed, M failed"
# (one count per individual test over all suites).  Exit non-zero if anything
# failed, or if a suite did not run at all (that counts as a failure).
#
#   regress    pg_regress over sql/*.sql, expected output in expected/
#   isolation  pg_isolation_regress over tests/specs/*.spec, expected output
#              in tests/expected/
#   tap        prove -v over tests/t/*.pl (PostgreSQL::Test::Cluster)
#
# The extension must already be installed (make test does that).  Servers run
# as postgres when we are root, in a temporary copy of the tests; results are
# copied back: results/ regression.diffs log/ (regress), output_iso/
# (isolation), tests/tmp_check/log/ (tap).
set -u
cd "$(dirname "$0")/.."
REPO=$(pwd)
. tests/lib.sh

PASSED=0
FAILED=0
W=$(make_workdir)
trap 'rm -rf "$W"' EXIT
copy_in "$W" sql expected tests

# tally SUITE PASSED FAILED
tally() {
    echo "== $1: $2 passed, $3 failed"
    PASSED=$((PASSED + $2))
    FAILED=$((FAILED + $3))
}

# names DIR EXT: sorted basenames of DIR/*.EXT, one a line
names() {
    for f in "$1"/*."$2"; do
        [ -e "$f" ] && basename "$f" ".$2"
    done | LC_ALL=C sort
}

# show FILE [LINES]: print the end of a file, framed, if it exists
show() {
    [ -s "$1" ] || return 0
    echo "----- ${1#"$W"/} (last ${2:-200} lines) -----"
    tail -n "${2:-200}" "$1"
    echo "----- end of ${1#"$W"/} -----"
}

# pg_regress and pg_isolation_regress print one line per test:
#   "test foo   ... ok   12 ms", "     foo ... FAILED   9 ms" (in a group),
#   "test foo   ... FAILED (test process exited with exit code 2)".
# Count the ok lines; every test that has none failed (or never ran).
# regress_suite NAME PROGRAM INPUTDIR OUTDIR TESTS...
regress_suite() {
    local suite=$1 prog=$2 indir=$3 out=$4
    shift 4
    local n=$# ok rc failed
    echo "== $suite: $n tests"
    (cd "$W" && as_pg "$prog" \
        --temp-instance="$W/tmp_check_$suite" \
        --temp-config="$W/tests/regress.conf" \
        --bindir="$PG_BINDIR" \
        --inputdir="$indir" --outputdir="$W/$out" \
        "$@") 2>&1 | tee "$W/$suite.log"
    rc=${PIPESTATUS[0]}
    ok=$(grep -cE ' \.\.\. ok( |$)' "$W/$suite.log")
    failed=$((n - ok))
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        echo "== $suite: $(basename "$prog") exited with status $rc"
        failed=1
    fi
    if [ "$failed" -ne 0 ]; then
        show "$W/$out/regression.diffs" 1000
        if [ -e "$W/$out/log/postmaster.log" ]; then
            show "$W/$out/log/postmaster.log" 100
        else
            show "$W/$out/log/initdb.log" 50
        fi
    fi
    tally "$suite" "$ok" "$failed"
}

# regress
tests=$(names sql sql)
if [ -z "$tests" ]; then
    echo "== regress: no sql/*.sql, skipped"
else
    # shellcheck disable=SC2086
    regress_suite regress "$PG_REGRESS" "$W" regress $tests
    rm -rf results log regression.diffs regression.out
    for f in results log regression.diffs regression.out; do
        [ -e "$W/regress/$f" ] && cp -R "$W/regress/$f" .
    done
fi

# isolation
specs=$(names tests/specs spec)
if [ -z "$specs" ]; then
    echo "== isolation: no tests/specs/*.spec, skipped"
else
    # shellcheck disable=SC2086
    regress_suite isolation "$PG_ISOLATION_REGRESS" "$W/tests" output_iso $specs
    rm -rf output_iso
    [ -e "$W/output_iso" ] && cp -R "$W/output_iso" .
fi

# tap: one prove per file, so that a script that dies is seen as failed even
# when it printed no "not ok" line.
tap=$(names tests/t pl)
if [ -z "$tap" ]; then
    echo "== tap: no tests/t/*.pl, skipped"
else
    tap_ok=0
    tap_failed=0
    for t in $tap; do
        (cd "$W" && as_pg env \
            PERL5LIB="$PG_TAP_LIB:$W/tests${PERL5LIB:+:$PERL5LIB}" \
            PG_REGRESS="$PG_REGRESS" \
            TESTDIR="$W/tests" \
            prove -v "tests/t/$t.pl") 2>&1 | tee "$W/tap_$t.log"
        rc=${PIPESTATUS[0]}
        # TAP lines: "ok 3 - name", "not ok 4 - name"; a failing "# TODO"
        # test is expected to fail and is not counted.
        ok=$(grep -cE '^ok [0-9]+' "$W/tap_$t.log")
        failed=$(grep -E '^not ok [0-9]+' "$W/tap_$t.log" | grep -cv '# TODO')
        if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
            echo "== tap: $t.pl failed (died, bad plan or exit status) with no failing assertion"
            failed=1
        fi
        if [ "$failed" -ne 0 ]; then
            show "$W/tests/tmp_check/log/regress_log_$t" 200
            for f in "$W/tests/tmp_check/log/${t}"_*.log; do
                show "$f" 50
            done
        fi
        tap_ok=$((tap_ok + ok))
        tap_failed=$((tap_failed + failed))
    done
    tally tap "$tap_ok" "$tap_failed"
    rm -rf tests/tmp_check
    if [ -e "$W/tests/tmp_check/log" ]; then
        mkdir -p tests/tmp_check
        cp -R "$W/tests/tmp_check/log" tests/tmp_check/
    fi
fi

# packaging: META.json parses and its version agrees with the control file
if tests/check-meta.sh; then
    tally meta 1 0
else
    tally meta 0 1
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
