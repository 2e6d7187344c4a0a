#!/bin/sh
# Every public header (lib/include/vmscope/*.h) is installed and compiles
# on its own, included as <vmscope/NAME.h> with nothing but its
# dependencies' flags (what `pkg-config --cflags vmscope` gives), twice
# (include guards), with warnings as errors.
set -u
: "${top_srcdir:?}" "${VMS_CC:?}"
. "$top_srcdir/tests/install/test-lib.sh"
n=0
for h in "$top_srcdir"/lib/include/vmscope/*.h; do
    name=${h##*/}
    n=$((n + 1))
    case " $(echo $VMS_PUBLIC_HEADERS) " in
    *" lib/include/vmscope/$name "*) ;;
    *) fail "vmscope/$name is not installed: add it to vmscopeinclude_HEADERS" \
            "in its module's local.mk" ;;
    esac
    printf '#include <vmscope/%s>\n#include <vmscope/%s>\n' "$name" "$name" > "$tmp/alone.c"
    # shellcheck disable=SC2086  # the flags are words
    if ! $VMS_CC -std=gnu11 -Wall -Wextra -Werror -fsyntax-only \
            -I"$top_srcdir/lib/include" $VMS_DEPS_CFLAGS "$tmp/alone.c" 2> "$tmp/err"; then
        cat "$tmp/err"
        fail "vmscope/$name does not compile on its own"
    fi
done
echo "$n headers, $failures failures"
[ "$n" -gt 0 ] && [ "$failures" -eq 0 ]
