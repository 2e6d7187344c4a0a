#!/bin/sh
# Browser end-to-end test of the dashboard: a real vmscope-devhost and
# vmscope-agent, the page in headless Chromium driven by playwright-core
# (tests/e2e/dashboard.test.mjs does the work; this script finds what it
# needs).  Screenshots go to tests/output/e2e/ in the build directory.
#
# Skips (exit 77) when the programs are not built or chromium, node or npm
# is missing.  VMSCOPE_AGENT, VMSCOPE_DEVHOST and CHROMIUM override where the
# programs are looked for.
set -u
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${top_builddir:-$(pwd)}

find_prog() {
    for dir in agent devices viewers bridge .; do
        if [ -x "$builddir/$dir/$1" ]; then echo "$builddir/$dir/$1"; return; fi
    done
}
agent=${VMSCOPE_AGENT:-$(find_prog vmscope-agent)}
devhost=${VMSCOPE_DEVHOST:-$(find_prog vmscope-devhost)}
if [ ! -x "${agent:-/nonexistent}" ] || [ ! -x "${devhost:-/nonexistent}" ]; then
    echo "SKIP: vmscope-agent/vmscope-devhost not built"
    exit 77
fi
# Until the HTTP bridge is built into the agent, it says so instead of serving.
if grep -q -a "http: not built into this agent yet" "$agent"; then
    echo "SKIP: $agent has no HTTP server yet"
    exit 77
fi
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
    echo "SKIP: chromium not installed (apt-get install chromium)"
    exit 77
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "SKIP: node/npm not installed (apt-get install nodejs npm)"
    exit 77
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
    echo "SKIP: playwright-core needs Node.js 20 or later (found $(node --version))"
    exit 77
fi

# playwright-core, exactly as the lock file says, installed once into the
# build tree (the source tree may be read-only, as in make distcheck).
deps=$builddir/tests/e2e/npm
if ! cmp -s "$srcdir/tests/e2e/package-lock.json" "$deps/package-lock.json" ||
   [ ! -f "$deps/node_modules/playwright-core/package.json" ]; then
    rm -rf "$deps" && mkdir -p "$deps" || exit 99
    cp "$srcdir/tests/e2e/package.json" "$srcdir/tests/e2e/package-lock.json" "$deps/" &&
        chmod u+w "$deps/package.json" "$deps/package-lock.json" || exit 99
    echo "installing playwright-core into $deps"
    if ! (cd "$deps" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error); then
        echo "ERROR: npm ci failed in $deps: cannot install playwright-core"
        rm -rf "$deps"
        exit 99
    fi
fi

dashboard=$(cd "$srcdir/viewers/dashboard" && pwd) || exit 99
out=$builddir/tests/output/e2e
rm -rf "$out" && mkdir -p "$out" || exit 99

# The test bounds every wait itself; this is the backstop for a hung browser.
exec timeout -k 10 300 node "$srcdir/tests/e2e/dashboard.test.mjs" \
    --agent "$agent" --devhost "$devhost" --chromium "$chromium" \
    --modules "$deps" --dashboard "$dashboard" --output "$out" --qemu "${QEMU:-}"
