#!/bin/sh
# Run every libFuzzer harness for a fixed time and fail on any crash, leak
# or sanitizer report (docs/fuzzing.md).
#   tests/fuzz/run-fuzz.sh [SECONDS] [HARNESS...]     in a build configured
#                                                      with --enable-fuzzing
# SECONDS per harness (default 40); HARNESS: qemu-stream, vmstate-desc,
# qmp-json, shm-reader, http-target, compat-dump, filter, ber (default: all).  Each starts from its
# seed corpus (tests/fuzz/corpus/NAME) and the saved regressions, copied:
# the committed corpus is never changed.  What a run finds is kept under
# fuzz-out/NAME/ in the build directory: crash-*, leak-*, timeout-* inputs
# and the log; the summary says which harness failed and where its input is.
set -u
secs=${1:-40}
[ $# -gt 0 ] && shift
src=$(cd "$(dirname "$0")/../.." && pwd)
harnesses=${*:-qemu-stream vmstate-desc qmp-json shm-reader http-target compat-dump filter ber}
failed=0
for h in $harnesses; do
    bin=tests/fuzz/fuzz-$h
    if [ ! -x "$bin" ]; then
        echo "run-fuzz: $bin not built: run this in a build configured with" \
             "CC=clang --enable-fuzzing, after make fuzz" >&2
        exit 2
    fi
    out=fuzz-out/$h
    rm -rf "$out"; mkdir -p "$out/corpus"
    cp "$src/tests/fuzz/corpus/$h"/* "$out/corpus/"
    [ -d "$src/tests/fuzz/regressions/$h" ] && cp "$src/tests/fuzz/regressions/$h"/* "$out/corpus/"
    # Leaks are reported (ASan's LeakSanitizer); one input may take 10 s at most.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/" "$out/corpus" > "$out/log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -1)
    if [ $rc -eq 0 ]; then
        echo "fuzz-$h: ${runs:-?} runs in ${secs}s, no crash"
    else
        failed=1
        echo "fuzz-$h: FAILED (exit $rc); input: $(ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* 2>/dev/null | head -1); log: $out/log"
        grep -E 'ERROR:|invariant broken|runtime error' "$out/log" | head -5
    fi
done
exit $failed
