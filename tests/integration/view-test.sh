# Sourced by the vmscope-view test scripts: where things are, a temporary
# directory removed at exit, and the helpers fail and expect.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
view=$top_builddir/viewers/vmscope-view
fixtures=$top_srcdir/tests/fixtures
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect STATUS STDOUT-FILE-CONTENT STDERR-CONTENT -- command...
expect() {
    want_status=$1 want_out=$2 want_err=$3; shift 4
    "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
    [ "$status" = "$want_status" ] || fail "$*: exit $status, expected $want_status"
    printf '%s' "$want_out" | cmp -s - "$tmp/out" ||
        { fail "$*: stdout"; echo "--- got:"; cat "$tmp/out"; echo "--- expected:"; printf '%s' "$want_out"; }
    printf '%s' "$want_err" | cmp -s - "$tmp/err" ||
        { fail "$*: stderr"; echo "--- got:"; cat "$tmp/err"; echo "--- expected:"; printf '%s' "$want_err"; }
}

nl='
'
hint="Try 'vmscope-view --help'.$nl"
