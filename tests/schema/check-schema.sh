#!/bin/sh
# The schema baseline (docs/qidl.md): the descriptions the devices are built
# with (devices/qidl/TYPE.vmstate.json, written by qidl-describe from the
# generated descriptions) compared with the ones committed in
# tests/schema/TYPE.json by `vmscope-view compat BASELINE BUILT`.
#
#   check-schema.sh [DUMP]      DUMP: a -dump-vmstate file to check instead
#                               of the devices built here (the guard's test):
#                               only the device types it has are checked
#
# An incompatible change (compat's errors: a field whose type or size
# changed without a version bump, a removed field, a lowered version, ...)
# fails, naming the device, the field and the reason; so do a device
# without a baseline and a baseline without a device.  A compatible change
# (a new field with q_version and a version bump) passes and is reported;
# `make update-schema` records it.  Exit 0 or 1 (99: could not run).
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
baseline=$top_srcdir/tests/schema
view=$top_builddir/viewers/vmscope-view
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmscope-schema-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ $# -ge 1 ]; then
    # One file per device type of the dump, in the baseline's form.
    built=$tmp
    python3 - "$1" "$tmp" <<'PY' || exit 99
import json, sys
dump = json.load(open(sys.argv[1]))
for key, entry in dump.items():
    if key != "vmschkmachine":
        with open("%s/%s.vmstate.json" % (sys.argv[2], key), "w") as f:
            json.dump({"vmschkmachine": dump.get("vmschkmachine"), key: entry}, f, indent=2)
PY
else
    built=$top_builddir/devices/qidl
    [ -e "$built/descriptions.stamp" ] || { echo "schema: $built: not built (make all)"; exit 99; }
fi
for f in "$built"/*.vmstate.json; do
    [ -e "$f" ] && basename "$f" .vmstate.json
done >"$tmp/types"

failures=0
changed=0
for file in "$baseline"/*.json; do
    [ -e "$file" ] && [ $# = 0 ] || continue
    type=$(basename "$file" .json)
    grep -qx "$type" "$tmp/types" ||
        { echo "schema: $type: in the baseline ($file) but no device of that type is built" \
               "(a removed device: incompatible)"; failures=$((failures + 1)); }
done
while read -r type; do
    old=$baseline/$type.json
    if [ ! -e "$old" ]; then
        echo "schema: $type: no baseline: run 'make update-schema' and commit tests/schema/$type.json"
        failures=$((failures + 1))
        continue
    fi
    new=$built/$type.vmstate.json
    "$view" compat "$old" "$new" >"$tmp/out" 2>"$tmp/err"
    status=$?
    if [ $status = 1 ]; then
        echo "schema: $type: incompatible with the baseline (tests/schema/$type.json):"
        sed "s/^/  /" "$tmp/out"
        failures=$((failures + 1))
    elif [ $status != 0 ]; then
        echo "schema: $type: vmscope-view compat failed (exit $status):"
        cat "$tmp/err"
        exit 99
    elif ! python3 - "$old" "$new" "$type" >"$tmp/changes" <<'PY'
import json, sys
old, new, key = json.load(open(sys.argv[1]))[sys.argv[3]], json.load(open(sys.argv[2]))[sys.argv[3]], sys.argv[3]
if old == new:
    sys.exit(0)
def walk(o, n, path):
    if o.get("version_id") != n.get("version_id"):
        print("  %s: version %s -> %s" % (path, o.get("version_id"), n.get("version_id")))
    of = [f["field"] for f in o.get("Fields", [])]
    for f in n.get("Fields", []):
        if f["field"] not in of:
            print("  %s.%s: new field (version %d)" % (path, f["field"], f["version_id"]))
    nf = {f["field"]: f for f in n.get("Fields", [])}
    for f in o.get("Fields", []):
        if f["field"] in nf and "Description" in f and "Description" in nf[f["field"]]:
            walk(f["Description"], nf[f["field"]]["Description"], path + "." + f["field"])
    osub = {s["name"]: s for s in o.get("Subsections", [])}
    for s in n.get("Subsections", []):
        if s["name"] in osub:
            walk(osub[s["name"]], s, s["name"])
        else:
            print("  %s: new subsection" % s["name"])
walk(old["Description"], new["Description"], key)
sys.exit(1)
PY
    then
        echo "schema: $type: compatible change, not yet in the baseline ('make update-schema' records it):"
        cat "$tmp/changes"
        changed=$((changed + 1))
    fi
done <"$tmp/types"

n=$(wc -l <"$tmp/types")
if [ $failures -gt 0 ]; then
    echo "schema: FAIL: $failures of $n device types break the baseline"
    exit 1
fi
echo "schema: $n device types compatible with the baseline, $changed with compatible changes"
exit 0
