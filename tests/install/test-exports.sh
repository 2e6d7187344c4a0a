#!/bin/sh
# libvmscope.so exports exactly what the public headers declare: every
# global symbol of the library whose name a header in lib/include/vmscope/
# mentions, and nothing else (lib/libvmscope.map says which).  Its soname
# is libvmscope.so.0 and every export carries the version node VMSCOPE_0.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
so=$top_builddir/lib/.libs/libvmscope.so
archive=$top_builddir/lib/.libs/libvmscope-internal.a
if [ ! -f "$so" ]; then
    echo "SKIP: no $so (configured with --disable-shared)"
    exit 77
fi
. "$top_srcdir/tests/install/test-lib.sh"

soname=$(objdump -p "$so" | awk '$1 == "SONAME" {print $2}')
[ "$soname" = libvmscope.so.0 ] || fail "soname is '$soname', expected libvmscope.so.0"

# Every word the public headers use; the library's global symbols.
cat "$top_srcdir"/lib/include/vmscope/*.h | grep -o '[A-Za-z_][A-Za-z0-9_]*' | sort -u > "$tmp/words"
nm -g --defined-only "$archive" | awk 'NF == 3 {print $3}' | grep -v '^_' | sort -u > "$tmp/globals"
comm -12 "$tmp/globals" "$tmp/words" > "$tmp/public"

nm -D --defined-only "$so" | awk 'NF == 3 {print $3}' > "$tmp/dynamic"
grep -v '@@VMSCOPE_0$' "$tmp/dynamic" | grep -v '^VMSCOPE_0$' > "$tmp/unversioned"
[ -s "$tmp/unversioned" ] && fail "exported without the version node VMSCOPE_0:" $(cat "$tmp/unversioned")
sed -n 's/@@VMSCOPE_0$//p' "$tmp/dynamic" | sort -u > "$tmp/exported"

comm -23 "$tmp/exported" "$tmp/public" > "$tmp/extra"
comm -13 "$tmp/exported" "$tmp/public" > "$tmp/missing"
if [ -s "$tmp/extra" ]; then
    fail "exported but declared in no public header (name it under local: in" \
         "lib/libvmscope.map, or make it static):" $(cat "$tmp/extra")
fi
if [ -s "$tmp/missing" ]; then
    fail "declared in a public header but not exported (add its prefix under global:" \
         "in lib/libvmscope.map):" $(cat "$tmp/missing")
fi
echo "$(wc -l < "$tmp/exported") symbols exported, $(wc -l < "$tmp/public") declared;" \
     "$failures failures"
[ "$failures" -eq 0 ] && [ -s "$tmp/exported" ]
