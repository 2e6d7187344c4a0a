#!/bin/sh
# Tree filters on a real QEMU 7.2 stream (slow: starts QEMU).  The pc-plain
# fixture goes through `vmscope-view rewrite --filter` with rules that drop
# an optional subsection (e1000/mit_state), and replace the RTC's base_rtc
# by a value one year later (drop-field + add-field at the same place);
# destination QEMUs (-incoming, qemu-streams.py load) load the original and
# the filtered stream, and over QMP the second reports the RTC one year
# later and everything else as the first.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
view=$top_builddir/viewers/vmscope-view
streams=$top_srcdir/tests/fixtures/qemu-streams.py

if [ -z "${QEMU:-}" ] || [ ! -x "$QEMU" ]; then
    echo "SKIP: qemu-system-x86_64 not found (configure found none)"
    exit 77
fi
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
export QEMU

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }

gunzip -c "$top_srcdir/tests/fixtures/pc-plain.mig.gz" >"$tmp/pc.mig" || exit 99
base=$("$view" stream "$tmp/pc.mig" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(next(x for x in s["sections"] if x["name"] == "mc146818rtc")["state"]["base_rtc"])') ||
    fail "no mc146818rtc.base_rtc"
later=$((base + 365 * 86400))      # 2006-06-17 -> 2007-06-17 (no 29 February between)
cat >"$tmp/rules.json" <<JSON
{"rules": [
  {"name": "no mitigation state", "match": {"section": "0000:00:02.0/e1000", "version": 2},
   "actions": [{"op": "drop-subsection", "subsection": "e1000/mit_state"}]},
  {"name": "a year later", "match": {"section": "mc146818rtc", "version": 3},
   "actions": [{"op": "drop-field", "field": "base_rtc"},
               {"op": "add-field", "field": "base_rtc", "value": $later, "type": "uint64",
                "after": "period"}]}
]}
JSON
"$view" rewrite "$tmp/pc.mig" "$tmp/filtered.mig" --filter "$tmp/rules.json" ||
    fail "rewrite --filter"
"$view" diff "$tmp/pc.mig" "$tmp/filtered.mig" >"$tmp/diff.txt"
[ $? = 1 ] || fail "diff sees no change"
"$view" stream "$tmp/filtered.mig" --format pretty | grep -q "e1000/mit_state" &&
    fail "the subsection is still there"
grep -qx "mc146818rtc.base_rtc: $base -> $later" "$tmp/diff.txt" || fail "diff: $(cat "$tmp/diff.txt")"
grep -q "^0000:00:02.0/e1000.e1000/mit_state: .* -> (absent)$" "$tmp/diff.txt" ||
    fail "diff: $(cat "$tmp/diff.txt")"
[ "$(wc -l <"$tmp/diff.txt")" -eq 2 ] || fail "diff: $(cat "$tmp/diff.txt")"

python3 "$streams" load pc-plain "$tmp/pc.mig" >"$tmp/orig.json" || fail "load the original"
python3 "$streams" load pc-plain "$tmp/filtered.mig" >"$tmp/filtered.json" ||
    fail "load the filtered stream"
python3 - "$tmp/orig.json" "$tmp/filtered.json" <<'PY' || fail "the destination's state"
import json, sys
before, after = (json.load(open(p)) for p in sys.argv[1:3])
b, a = before["rtc-time"], after["rtc-time"]
assert b == {"tm_hour": 16, "tm_mday": 17, "tm_min": 1, "tm_mon": 5, "tm_sec": 21,
             "tm_year": 106}, b
assert a == dict(b, tm_year=107), a
assert after["status"] == before["status"], (before["status"], after["status"])
rest = lambda f: {k: v for k, v in f.items() if k != "rtc-time"}
assert rest(after) == rest(before), (rest(before), rest(after))
print("destination: RTC %d -> %d, status %s, the rest the same" %
      (1900 + b["tm_year"], 1900 + a["tm_year"], after["status"]))
PY
echo "PASS"
