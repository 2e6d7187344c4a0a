#!/bin/sh
# vmscope-devhost --dump-vmstate FILE: the descriptions of the devices asked
# for, in QEMU's -dump-vmstate JSON (QEMU 7.2's keys, plus "type" per field
# and "equal" for _equal fields), at their --device-version; errors leave no
# file behind.
. "$(dirname "$0")/view-test.sh"
devhost=$top_builddir/devices/vmscope-devhost

expect 0 "" "" -- "$devhost" --dump-vmstate "$tmp/all.json"
expect 0 "" "" -- "$devhost" --devices serial,virtio-blk --device-version serial=2 \
    --dump-vmstate "$tmp/v2.json"
python3 - "$tmp/all.json" "$tmp/v2.json" <<'PY' || fail "dump shape"
import json, sys
top_keys = ["Name", "version_id", "minimum_version_id", "Description"]
desc_keys = ["name", "version_id", "minimum_version_id", "Fields", "Subsections"]
field_keys = ["field", "version_id", "field_exists", "size", "type", "equal", "Description"]
def check_desc(d, path):
    keys = list(d)
    assert keys == [k for k in desc_keys if k in d], (path, keys)
    for i, f in enumerate(d.get("Fields", [])):
        assert list(f) == [k for k in field_keys if k in f], (path, i, list(f))
        assert f["field_exists"] is False and isinstance(f["size"], int)
        if "Description" in f:
            check_desc(f["Description"], path + "." + f["field"])
    for s in d.get("Subsections", []):
        check_desc(s, path + "/" + s["name"])
a = json.load(open(sys.argv[1]))
assert list(a) == ["vmschkmachine", "mc146818rtc", "serial", "i8254", "virtio-blk",
                   "apic", "kvm-apic", "slirp"], list(a)
assert a["vmschkmachine"] == {"Name": "vmscope-devhost"}
for k, e in a.items():
    if k == "vmschkmachine":
        continue
    assert list(e) == top_keys and e["Name"] == k, k
    check_desc(e["Description"], k)
s = a["serial"]
assert (s["version_id"], s["minimum_version_id"], s["Description"]["name"]) == (4, 2, "serial"), s
assert s["Description"]["Fields"][0] == {"field": "divider", "version_id": 2, "field_exists": False,
                                         "size": 2, "type": "uint16"}, s["Description"]["Fields"][0]
nq = [f for f in a["virtio-blk"]["Description"]["Fields"] if f["field"] == "num_queues"]
assert nq == [{"field": "num_queues", "version_id": 0, "field_exists": False, "size": 2,
               "type": "uint16_equal", "equal": 2}], nq
assert sum("equal" in f for e in a.values() if "Description" in e
           for f in e["Description"].get("Fields", [])) == 1
v2 = json.load(open(sys.argv[2]))
assert list(v2) == ["vmschkmachine", "serial", "virtio-blk"], list(v2)
assert v2["serial"]["version_id"] == 2 and v2["serial"]["Description"]["version_id"] == 2
assert all(f["version_id"] <= 2 for f in v2["serial"]["Description"]["Fields"])
assert len(v2["serial"]["Description"]["Fields"]) < len(s["Description"]["Fields"])
PY

# Errors: one line, exit 1, no file.
expect 1 "" "vmscope-devhost: --device-version serial=9: device type 'serial' supports versions 2 to 4, not 9$nl" -- \
    "$devhost" --device-version serial=9 --dump-vmstate "$tmp/bad.json"
[ ! -e "$tmp/bad.json" ] || fail "a file was written on error"
"$devhost" --dump-vmstate "$tmp/no/such/dir/d.json" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] || fail "--dump-vmstate into a missing directory: exit status"
[ "$(wc -l <"$tmp/err")" = 1 ] && grep -q '^vmscope-devhost: --dump-vmstate: .*No such file or directory$' "$tmp/err" ||
    { fail "--dump-vmstate into a missing directory: stderr"; cat "$tmp/err"; }
exit $((failures > 0))
