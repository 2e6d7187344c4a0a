#!/bin/sh
# Every public header (lib/include/vmscope/*.h) is installed and compiles
# on its own, included as <vmscope/NAME.h> with nothing but its
# dependencies' flags (what `pkg-config --cflags vmscope` gives), twice
# (include guards), with warnings as errors.
set -u
: "${top_srcdir:?}" "${VMS_CC:?}"
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
failures=0 n=0
for h in "$top_srcdir"/lib/include/vmscope/*.h; do
    name=${h##*/}
    n=$((n + 1))
    case " $(echo $VMS_PUBLIC_HEADERS) " in
    *" lib/include/vmscope/$name "*) ;;
    *) echo "FAIL: vmscope/$name is not installed: add it to vmscopeinclude_HEADERS" \
            "in its module's local.mk"
       failures=$((failures + 1)) ;;
    esac
    printf '#include <vmscope/%s>\n#include <vmscope/%s>\n' "$name" "$name" > "$tmp/alone.c"
    # shellcheck disable=SC2086  # the flags are words
    if ! $VMS_CC -std=gnu11 -Wall -Wextra -Werror -fsyntax-only \
            -I"$top_srcdir/lib/include" $VMS_DEPS_CFLAGS "$tmp/alone.c" 2> "$tmp/err"; then
        echo "FAIL: vmscope/$name does not compile on its own:"
        cat "$tmp/err"
        failures=$((failures + 1))
    fi
done
echo "$n headers, $failures failures"
[ "$n" -gt 0 ] && [ "$failures" -eq 0 ]
