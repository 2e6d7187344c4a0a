#!/bin/sh
# `PROGRAM --version` prints "PROGRAM VERSION" (the package version) and
# nothing else, for every program make installs.
set -u
: "${top_srcdir:?}" "${top_builddir:?}" "${VMS_PROGRAMS:?}" "${VMS_PACKAGE_VERSION:?}"
. "$top_srcdir/tests/install/test-lib.sh"
n=0
for p in $VMS_PROGRAMS; do
    n=$((n + 1))
    name=${p##*/}
    out=$("$top_builddir/$p" --version 2>&1)
    status=$?
    if [ "$status" -ne 0 ] || [ "$out" != "$name $VMS_PACKAGE_VERSION" ]; then
        fail "$name --version: exit $status, '$out' (expected '$name $VMS_PACKAGE_VERSION')"
    fi
done
echo "$n programs, $failures failures"
[ "$n" -gt 0 ] && [ "$failures" -eq 0 ]
