#!/bin/sh
# Install what vmscope needs to build and test, from Debian's packages.
# Installs only what is missing; needs root (or sudo) when something is.
set -e
PKGS="build-essential autoconf automake libtool pkg-config
libjson-c-dev libglib2.0-dev libmicrohttpd-dev libcunit1-dev libsystemd-dev scdoc libtasn1-6-dev
libbpf-dev bpftool clang llvm libclang-14-dev systemtap-sdt-dev bpftrace
qemu-system-x86 qemu-utils curl socat python3 python3-jsonschema openssl gzip prometheus wrk
man-db bash-completion systemd
debhelper dpkg-dev lintian"
if [ "${1:-}" = "--browser" ]; then
    PKGS="$PKGS chromium"
    # node/npm may come from elsewhere than Debian; install Debian's only if absent.
    command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
fi
missing=
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
