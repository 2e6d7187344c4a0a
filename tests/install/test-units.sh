#!/bin/sh
# systemd/: `systemd-analyze verify` accepts the units, with ExecStart=
# pointing at the programs just built (the man pages they name are checked
# after installation, by scripts/test-packages.sh), and `systemd-analyze
# security` rates the sandboxing of each service at most 2.5 ("OK").
set -u
: "${top_srcdir:?}" "${top_builddir:?}" "${VMS_BINDIR:?}"
analyze=${SYSTEMD_ANALYZE:-$(command -v systemd-analyze)}
if [ -z "$analyze" ]; then
    echo "SKIP: no systemd-analyze (Debian package systemd)"
    exit 77
fi
. "$top_srcdir/tests/install/test-lib.sh"

mkdir "$tmp/bin" "$tmp/units"
ln -s "$top_builddir/agent/vmscope-agent" "$tmp/bin/"
ln -s "$top_builddir/devices/vmscope-devhost" "$tmp/bin/"
for u in "$top_builddir/systemd/vmscope-agent.service" \
         "$top_builddir/systemd/vmscope-devhost@.service" \
         "$top_srcdir/systemd/vmscope-agent.socket"; do
    [ -f "$u" ] || { fail "$u was not built"; continue; }
    grep -q "^ExecStart=$VMS_BINDIR/" "$u" || case $u in *.service) fail "$u: ExecStart is not in $VMS_BINDIR";; esac
    sed "s|^ExecStart=$VMS_BINDIR/|ExecStart=$tmp/bin/|" "$u" > "$tmp/units/${u##*/}"
done
cd "$tmp/units" || exit 99
"$analyze" verify --man=no vmscope-agent.socket vmscope-agent.service ./vmscope-devhost@.service \
    > "$tmp/verify.out" 2>&1 || fail "systemd-analyze verify"
if [ -s "$tmp/verify.out" ]; then
    cat "$tmp/verify.out"
    fail "systemd-analyze verify had something to say"
fi
for s in vmscope-agent.service vmscope-devhost@.service; do
    "$analyze" security --offline=yes --threshold=25 "./$s" > "$tmp/security.out" 2>&1 ||
        { tail -3 "$tmp/security.out"; fail "$s: sandboxing rated above 2.5"; }
    grep 'Overall exposure' "$tmp/security.out"
done
echo "$failures failures"
[ "$failures" -eq 0 ]
