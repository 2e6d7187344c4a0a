#!/bin/sh
# vmscope-view rewrite onto a full disk (issue 12): a tmpfs of 256 KiB, too
# small for a 650 KB stream.  It must exit 1 with one clear line, leave no
# partial or temporary file, leave an OUT that was there untouched, and
# never change IN.  Runs in a private mount namespace (unshare -m as root,
# unshare -rm otherwise); skips (77) where neither is allowed.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
view=$(cd "$top_builddir" && pwd)/viewers/vmscope-view
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

gunzip -c "$top_srcdir/tests/fixtures/pc-plain.mig.gz" >"$tmp/in.mig" || exit 99
cp "$tmp/in.mig" "$tmp/in.orig" || exit 99
mkdir "$tmp/full"
[ "$(id -u)" = 0 ] && ns="unshare -m" || ns="unshare -rm"
if ! $ns sh -c "mount -t tmpfs -o size=256k tmpfs '$tmp/full'" 2>/dev/null; then
    echo "SKIP: cannot mount a tmpfs in a private mount namespace ($ns)"
    exit 77
fi

# In the namespace: an old OUT, the rewrite, then what is left on the tmpfs.
$ns sh -c "
    mount -t tmpfs -o size=256k tmpfs '$tmp/full' || exit 99
    printf 'old output\n' >'$tmp/full/out.mig'
    '$view' rewrite '$tmp/in.mig' '$tmp/full/out.mig' --set mc146818rtc.cmos_index=5 \
        >'$tmp/stdout' 2>'$tmp/stderr'
    echo \$? >'$tmp/status'
    ls -A '$tmp/full' >'$tmp/left'
    cat '$tmp/full/out.mig' >'$tmp/out-after'
"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
[ "$(cat "$tmp/status")" = 1 ] || fail "exit status $(cat "$tmp/status"), expected 1"
printf 'vmscope-view: %s/full/out.mig: No space left on device\n' "$tmp" | cmp -s - "$tmp/stderr" ||
    { fail "stderr:"; cat "$tmp/stderr"; }
[ ! -s "$tmp/stdout" ] || fail "something on stdout"
[ "$(cat "$tmp/left")" = out.mig ] || { fail "files left on the full disk:"; cat "$tmp/left"; }
[ "$(cat "$tmp/out-after")" = "old output" ] || fail "the old OUT was changed"
cmp -s "$tmp/in.mig" "$tmp/in.orig" || fail "IN was changed"
[ $failures = 0 ] && echo "PASS: rewrite onto a full disk: exit 1, one line, no partial file, IN and OUT untouched"
exit $((failures > 0))
