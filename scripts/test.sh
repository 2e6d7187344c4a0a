#!/bin/sh
# Install dependencies, build vmscope from scratch and run the whole test suite.
#   scripts/test.sh          make check in a plain build and in an ASan/UBSan
#                            build, every libFuzzer harness for FUZZ_SECONDS
#                            (default 25) each in a clang build, make
#                            distcheck (fast tests: make distcheck-fast), then the Debian packages
#                            (scripts/test-packages.sh; what CI runs)
#   scripts/test.sh --quick  the plain build's make check only
# Ends with a line "N passed, N failed, N skipped" (test programs).
set -e
cd "$(dirname "$0")/.."; top=$(pwd)
full=yes; [ "${1:-}" = "--quick" ] && full=no
scripts/install-deps.sh --browser
[ -x configure ] || ./autogen.sh >/dev/null
status=0
run_suite() {   # run_suite BUILDDIR [configure args...]
    dir=$1; shift
    mkdir -p "$dir"
    (cd "$dir" && { [ -f Makefile ] || "$top/configure" -q "$@"; } && make -j"$(nproc)" >/dev/null &&
        make -j"$(nproc)" check) || status=1
    scripts/test-summary.sh "$dir" >> _build/summary.txt || true
}
mkdir -p _build; : > _build/summary.txt
run_suite _build/default
if [ "$full" = yes ]; then
    run_suite _build/sanitizers --enable-sanitizers
    # Fuzzing, time-boxed: 8 harnesses x FUZZ_SECONDS (25: 3.3 minutes; docs/fuzzing.md).
    mkdir -p _build/fuzz
    if (cd _build/fuzz && { [ -f Makefile ] || CC=clang "$top/configure" -q --enable-fuzzing; } &&
        make -j"$(nproc)" fuzz >/dev/null) then
        (cd _build/fuzz && "$top/tests/fuzz/run-fuzz.sh" "${FUZZ_SECONDS:-25}") | tee _build/fuzz.log
        [ -s _build/fuzz.log ] && ! grep -q FAILED _build/fuzz.log || status=1
    else
        echo "fuzz: the clang build failed" > _build/fuzz.log; status=1
    fi
    awk '/no crash/ {p++} /FAILED|failed/ {f++} END {printf "%d passed, %d failed, 0 skipped  (_build/fuzz: fuzzing)\n", p, f}' \
        _build/fuzz.log >> _build/summary.txt
    if (cd _build/default && make -j"$(nproc)" distcheck-fast) > _build/distcheck.log 2>&1; then
        echo "distcheck: ok"
    else
        tail -40 _build/distcheck.log; echo "distcheck: FAILED (log: _build/distcheck.log)"; status=1
    fi
    # The Debian packages: built without the suites (they just ran), installed
    # on this machine, checked, purged (docs/debian.md).  At most 15 minutes.
    if timeout 900 scripts/test-packages.sh > _build/packages.log 2>&1; then
        echo "packages: ok"
    else
        tail -40 _build/packages.log; echo "packages: FAILED (log: _build/packages.log)"; status=1
    fi
    tail -1 _build/packages.log | sed -n 's/^\([0-9]* passed, [0-9]* failed\)$/\1, 0 skipped  (packages)/p' \
        >> _build/summary.txt
fi
cat _build/summary.txt
awk '{p+=$1; f+=$3; s+=$5} END {printf "%d passed, %d failed, %d skipped\n", p, f, s;
     if (p == 0 || f > 0) exit 1}' _build/summary.txt || status=1
exit $status
