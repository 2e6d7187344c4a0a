#!/bin/sh
# Print "P passed, F failed, S skipped  (BUILDDIR)" from automake's .trs files,
# listing skipped tests with the reason they printed.
dir=$1
p=0 f=0 s=0
for t in $(find "$dir" -name '*.trs' | sort); do
    r=$(sed -n 's/^:test-result: //p' "$t" | head -1)
    case $r in
    PASS|XFAIL) p=$((p+1)) ;;
    SKIP) s=$((s+1)); log=${t%.trs}.log
          echo "  skipped ${t#$dir/}: $(grep -m1 -i 'skip' "$log" 2>/dev/null)" >&2 ;;
    *) f=$((f+1)) ;;
    esac
done
echo "$p passed, $f failed, $s skipped  ($dir)"
