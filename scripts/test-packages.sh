#!/bin/sh
# Build vmscope's Debian packages, install them on this machine, check what
# they installed, and purge them again, leaving the machine as it was
# (docs/debian.md).  scripts/test.sh runs it after the test suites, which is
# why the package build skips them (DEB_BUILD_OPTIONS=nocheck, profile
# nocheck).  Needs root (or sudo) and the build dependencies
# (scripts/install-deps.sh).
#
# Checks: lintian (no errors); each program's --version prints the package
# version; `man -w` finds a page for every program; every installed header
# compiles alone with `pkg-config --cflags vmscope`; a C program using the
# public API builds with `pkg-config --cflags --libs vmscope` and runs
# against the installed libvmscope.so.0; the installed agent serves the
# installed dashboard; `systemd-analyze verify` accepts the installed
# units; `promtool check rules` accepts the installed rules.
# Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."; top=$(pwd)
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
PACKAGES="vmscope libvmscope0 libvmscope-dev"

for p in $PACKAGES; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        echo "test-packages: $p is installed already; this test installs and purges it, so it stops here"
        exit 1
    fi
done
. tests/install/test-lib.sh
passed=0
pass() { passed=$((passed + 1)); }
check() {   # check WHAT COMMAND...: one check, its output shown when it fails
    what=$1; shift
    if "$@" > "$tmp/check.out" 2>&1; then pass; else cat "$tmp/check.out"; fail "$what"; fi
}
summary() { echo "$passed passed, $failures failed"; }
dpkg-query -W -f='${Package}\n' | sort > "$tmp/before"
had_run_dir=no; [ -e /run/vmscope ] && had_run_dir=yes
installed=
# Purge the packages and whatever apt brought in for them; true if dpkg then
# lists exactly the packages it listed before.
purge_all() {
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $PACKAGES > /dev/null 2>&1
    dpkg-query -W -f='${Package}\n' | sort > "$tmp/after"
    extra=$(comm -13 "$tmp/before" "$tmp/after" | tr '\n' ' ')
    # shellcheck disable=SC2086
    [ -z "$extra" ] || $SUDO env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $extra \
        > /dev/null 2>&1
    # The postinst's systemd-tmpfiles made /run/vmscope.
    [ "$had_run_dir" = yes ] || $SUDO rm -rf /run/vmscope
    dpkg-query -W -f='${Package}\n' | sort | cmp -s - "$tmp/before"
}
cleanup() {
    [ -z "$installed" ] || purge_all
    test_lib_cleanup
}
trap cleanup EXIT

# The sources as they are here (tracked files and new ones git does not
# ignore), so that the build leaves nothing in this tree or next to it.
mkdir "$tmp/src"
if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
    git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$tmp/src"
else
    tar --exclude=./_build --exclude=./debian/build -cf - . | tar -xf - -C "$tmp/src"
fi
echo "test-packages: building the packages"
if ! (cd "$tmp/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
        dpkg-buildpackage -us -uc -b -Pnocheck) > "$tmp/build.log" 2>&1; then
    tail -40 "$tmp/build.log"
    fail "dpkg-buildpackage -us -uc -b -Pnocheck"
    summary
    exit 1
fi
pass
changes=$(ls "$tmp"/vmscope_*.changes)
lintian --fail-on error "$changes" > "$tmp/lintian.out" 2>&1
lintian_status=$?
grep -v '^running with root' "$tmp/lintian.out"
echo "lintian: $(grep -c '^E:' "$tmp/lintian.out") errors, $(grep -c '^W:' "$tmp/lintian.out") warnings"
[ "$lintian_status" -eq 0 ] && pass || fail "lintian reports errors"

echo "test-packages: installing them"
installed=yes
# shellcheck disable=SC2086
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "$tmp"/vmscope_*.deb "$tmp"/libvmscope0_*.deb "$tmp"/libvmscope-dev_*.deb \
        > "$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    fail "apt-get install"
    summary
    exit 1
fi
pass
version=$(dpkg-query -W -f='${Version}' vmscope)
upstream=${version%-*}

programs=$(dpkg -L vmscope | grep '^/usr/bin/')
[ -n "$programs" ] || fail "vmscope installs no program"
for p in $programs; do
    name=${p##*/}
    out=$("$p" --version 2>&1)
    [ "$out" = "$name $upstream" ] && pass || fail "$name --version: '$out', expected '$name $upstream'"
    page=$(man -w "$name" 2>/dev/null)
    [ -n "$page" ] && pass || fail "man -w $name: no page"
done
for page in $(dpkg -L vmscope | grep '^/usr/share/man/man./'); do
    name=$(basename "$page" | sed 's/\.[0-9]\.gz$//')
    check "man -w $name" man -w "$name"
done

# The library, as another program's author uses it.
for h in /usr/include/vmscope/*.h; do
    printf '#include <vmscope/%s>\n' "${h##*/}" > "$tmp/alone.c"
    # shellcheck disable=SC2046
    check "<vmscope/${h##*/}> alone" cc -std=gnu11 -Wall -Wextra -Werror -fsyntax-only \
        $(pkg-config --cflags vmscope) "$tmp/alone.c"
done
# shellcheck disable=SC2046
check "a program built with pkg-config --cflags --libs vmscope" \
    cc -Wall -Wextra -o "$tmp/example" tests/install/libvmscope-example.c \
    $(pkg-config --cflags --libs vmscope)
check "that program runs" "$tmp/example"
check "it runs on the installed libvmscope.so.0" \
    sh -c "ldd '$tmp/example' | grep -q 'libvmscope.so.0 => /'"
check "pkg-config --modversion vmscope is $upstream" \
    test "$(pkg-config --modversion vmscope)" = "$upstream"

# The installed agent serves the installed dashboard.
check "the installed agent starts" agent_start /usr/bin/vmscope-agent
check "it serves the dashboard" sh -c "curl -sf '$agent_url' | grep -q '<html'"
agent_stop

units=$(dpkg -L vmscope | grep '^/lib/systemd/system/')
# shellcheck disable=SC2086
check "systemd-analyze verify $(echo $units)" systemd-analyze verify $units
check "promtool check rules" promtool check rules /usr/share/vmscope/prometheus/vmscope.rules.yml
check "bash completion for vmscope-agent" test -r /usr/share/bash-completion/completions/vmscope-agent
check "the tree filter rule files" test -r /usr/share/vmscope/filters/kvm-apic-to-apic.json -a \
    -r /usr/share/vmscope/filters/virtio-blk-split.json -a \
    -r /usr/share/vmscope/filters/virtio-blk-merge.json

echo "test-packages: purging them"
check "purged: dpkg lists the packages it listed before" purge_all
installed=
left=
for f in /usr/share/vmscope /usr/include/vmscope /usr/share/doc/vmscope $units /run/vmscope; do
    [ "$f" = /run/vmscope ] && [ "$had_run_dir" = yes ] && continue
    [ -e "$f" ] && left="$left $f"
done
[ -z "$left" ] && pass || fail "left behind:$left"
summary
[ "$failures" -eq 0 ]
