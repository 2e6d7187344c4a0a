#!/bin/sh
# vmscope-view onto a full disk (issue 12): a tmpfs of 256 KiB, too small
# for a 650 KB stream in either format, under
#   rewrite IN OUT --set ...          over an OUT that was there
#   convert IN OUT --to ber           over an OUT that was there
#   convert IN.ber OUT --to qemu      where there was no OUT
# Each must exit 1 with one clear line, leave no partial or temporary file,
# leave an OUT that was there untouched (and create none that was not), and
# never change IN.  Runs in a private mount namespace (unshare -m as root,
# unshare -rm otherwise); skips (77) where neither is allowed.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
view=$(cd "$top_builddir" && pwd)/viewers/vmscope-view
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

gunzip -c "$top_srcdir/tests/fixtures/pc-plain.mig.gz" >"$tmp/in.mig" || exit 99
"$view" convert "$tmp/in.mig" "$tmp/in.ber" --to ber || exit 99
cp "$tmp/in.mig" "$tmp/in.mig.orig" && cp "$tmp/in.ber" "$tmp/in.ber.orig" || exit 99
mkdir "$tmp/full"
[ "$(id -u)" = 0 ] && ns="unshare -m" || ns="unshare -rm"
if ! $ns sh -c "mount -t tmpfs -o size=256k tmpfs '$tmp/full'" 2>/dev/null; then
    echo "SKIP: cannot mount a tmpfs in a private mount namespace ($ns)"
    exit 77
fi

# In the namespace: old OUTs, each command (status, stdout, stderr under
# $tmp/NAME.*), then what is left on the tmpfs.
$ns sh -c "
    mount -t tmpfs -o size=256k tmpfs '$tmp/full' || exit 99
    printf 'old output\n' >'$tmp/full/out.mig'
    printf 'old output\n' >'$tmp/full/out.ber'
    run() { name=\$1; shift; \"\$@\" >'$tmp/'\$name.stdout 2>'$tmp/'\$name.stderr; echo \$? >'$tmp/'\$name.status; }
    run rewrite '$view' rewrite '$tmp/in.mig' '$tmp/full/out.mig' --set mc146818rtc.cmos_index=5
    run to-ber '$view' convert '$tmp/in.mig' '$tmp/full/out.ber' --to ber
    run to-qemu '$view' convert '$tmp/in.ber' '$tmp/full/new.mig' --to qemu
    ls -A '$tmp/full' >'$tmp/left'
    cat '$tmp/full/out.mig' >'$tmp/out.mig-after'
    cat '$tmp/full/out.ber' >'$tmp/out.ber-after'
"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
for case in rewrite:out.mig to-ber:out.ber to-qemu:new.mig; do
    name=${case%%:*} out=${case#*:}
    [ "$(cat "$tmp/$name.status")" = 1 ] || fail "$name: exit status $(cat "$tmp/$name.status"), expected 1"
    printf 'vmscope-view: %s/full/%s: No space left on device\n' "$tmp" "$out" | cmp -s - "$tmp/$name.stderr" ||
        { fail "$name: stderr:"; cat "$tmp/$name.stderr"; }
    [ ! -s "$tmp/$name.stdout" ] || fail "$name: something on stdout"
done
[ "$(cat "$tmp/left" | tr '\n' ' ')" = "out.ber out.mig " ] ||
    { fail "files left on the full disk (expected the old out.ber and out.mig only):"; cat "$tmp/left"; }
[ "$(cat "$tmp/out.mig-after")" = "old output" ] || fail "rewrite: the old OUT was changed"
[ "$(cat "$tmp/out.ber-after")" = "old output" ] || fail "convert --to ber: the old OUT was changed"
cmp -s "$tmp/in.mig" "$tmp/in.mig.orig" || fail "IN (QEMU's format) was changed"
cmp -s "$tmp/in.ber" "$tmp/in.ber.orig" || fail "IN (BER) was changed"
[ $failures = 0 ] && echo "PASS: rewrite, convert --to ber and convert --to qemu onto a full disk:" \
    "exit 1, one line, no partial file, IN and OUT untouched"
exit $((failures > 0))
