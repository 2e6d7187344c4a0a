#!/bin/sh
# vmscope-view compat and explain on QEMU 7.2's own -dump-vmstate (pc and
# q35, tests/fixtures/qemu72-*.vmstate.json.gz) and the QEMU stream
# fixtures: identical and compatible inputs are clean; each kind of break,
# made by editing a copy (compat-edit-dump.py), is found exactly once with
# its exact text, all in one run; --reverse, --json; explain says where the
# load of a real stream fails against edited dumps, and which sections it
# did not check; unreadable input exits 2 with one line.
. "$(dirname "$0")/view-test.sh"
gunzip -c "$fixtures/qemu72-pc.vmstate.json.gz" >"$tmp/pc.json" || exit 99
gunzip -c "$fixtures/qemu72-q35.vmstate.json.gz" >"$tmp/q35.json" || exit 99
gunzip -c "$fixtures/pc-plain.mig.gz" >"$tmp/pc.mig" || exit 99
gunzip -c "$fixtures/q35-plain.mig.gz" >"$tmp/q35.mig" || exit 99
gunzip -c "$fixtures/pc20.mig.gz" >"$tmp/pc20.mig" || exit 99
python3 "$(dirname "$0")/compat-edit-dump.py" "$tmp/pc.json" "$tmp/breaks.json" \
    "$tmp/compatible.json" "$tmp/dest.json" || exit 99

# --- compat: dumps ---------------------------------------------------------
expect 0 "compatible: 213 sections compared, 0 errors, 0 warnings$nl" "" -- \
    "$view" compat "$tmp/pc.json" "$tmp/pc.json"
expect 0 "compatible: 213 sections compared, 0 errors, 0 warnings$nl" "" -- \
    "$view" compat "$tmp/q35.json" "$tmp/q35.json"
expect 0 "warning: vmschkmachine: machine type 'pc-i440fx-7.2' in OLD, 'pc-q35-7.2' in NEW${nl}\
compatible: 213 sections compared, 0 errors, 1 warning$nl" "" -- \
    "$view" compat "$tmp/pc.json" "$tmp/q35.json"
expect 0 "compatible: 213 sections compared, 0 errors, 0 warnings$nl" "" -- \
    "$view" compat "$tmp/pc.json" "$tmp/compatible.json"
breaks="warning: vmschkmachine: machine type 'pc-i440fx-7.2' in OLD, 'pc-i440fx-7.1' in NEW
error: vmmouse: nb_queue: field missing in NEW
error: e1000: e1000/tx_tso_state: subsection missing in NEW
error: i8042 (pckbd): kbd: nested description 'pckbd' missing in NEW
error: hpet: isr: size 8 in OLD, 4 in NEW
error: i8257 (dma): extra: NEW reads this field at version 1, OLD does not send it
error: port92: section missing in NEW
error: usb-kbd: hid: NEW reads the field only from version 2, OLD sends it at version 1
error: isa-fdc (fdc): version 1 in NEW is older than 2 in OLD
error: i82801b11-bridge (i82801b11_bridge): parent_obj: description 'PCIDevice' is 'PCIDevice2' in NEW
error: cfi.pflash01 (pflash_cfi01): NEW loads versions 2 and up, OLD sends version 1
error: isa-parallel (parallel_isa): state.status: field renamed to 'state.stat' in NEW
incompatible: 213 sections compared, 11 errors, 1 warning
"
expect 1 "$breaks" "" -- "$view" compat "$tmp/pc.json" "$tmp/breaks.json"
expect 1 "$breaks" "" -- "$view" compat "$tmp/breaks.json" "$tmp/pc.json" --reverse
# The same edits of q35's dump: the same findings (q35 has the same device classes).
python3 "$(dirname "$0")/compat-edit-dump.py" "$tmp/q35.json" "$tmp/q35-breaks.json" \
    "$tmp/q35-compatible.json" "$tmp/q35-dest.json" || exit 99
expect 1 "$(printf '%s' "$breaks" | sed "1s/'pc-i440fx-7.2' in OLD/'pc-q35-7.2' in OLD/")$nl" "" -- \
    "$view" compat "$tmp/q35.json" "$tmp/q35-breaks.json"
expect 0 "compatible: 213 sections compared, 0 errors, 0 warnings$nl" "" -- \
    "$view" compat "$tmp/q35.json" "$tmp/q35-compatible.json"
# The other way round, the compatible changes are breaks, and so are some of the others.
"$view" compat "$tmp/compatible.json" "$tmp/pc.json" >"$tmp/out" 2>&1
[ $? = 1 ] || fail "compat compatible.json pc.json: not incompatible"
grep -qx "error: usb-tablet (usb-ptr): usb-ptr/added: subsection missing in NEW" "$tmp/out" ||
    fail "compat compatible.json pc.json: no subsection-missing"
grep -qx "error: ne2k_isa (ne2000): version 2 in NEW is older than 3 in OLD" "$tmp/out" ||
    fail "compat compatible.json pc.json: no version-older"

"$view" compat "$tmp/pc.json" "$tmp/breaks.json" --json >"$tmp/out.json"
[ $? = 1 ] || fail "compat --json: exit status"
python3 - "$tmp/out.json" <<'PY' || fail "compat --json"
import json, sys
f = json.load(open(sys.argv[1]))
assert [x["kind"] for x in f] == [
    "machine-type", "field-missing", "subsection-missing", "description-missing", "field-size",
    "field-added", "section-missing", "field-version", "version-older", "description-differs",
    "minimum-version", "field-renamed"], [x["kind"] for x in f]
assert f[0] == {"severity": "warning", "kind": "machine-type",
                "section": {"key": "vmschkmachine", "name": ""}, "path": "",
                "old": "pc-i440fx-7.2", "new": "pc-i440fx-7.1",
                "message": "machine type 'pc-i440fx-7.2' in OLD, 'pc-i440fx-7.1' in NEW"}, f[0]
assert f[4] == {"severity": "error", "kind": "field-size",
                "section": {"key": "hpet", "name": "hpet"}, "path": "isr", "old": 8, "new": 4,
                "message": "size 8 in OLD, 4 in NEW"}, f[4]
assert f[11]["old"] == "state.status" and f[11]["new"] == "state.stat", f[11]
assert all(x["severity"] == "error" for x in f[1:])
PY
expect 0 "[]$nl" "" -- "$view" compat "$tmp/q35.json" "$tmp/q35.json" --json

# --- compat: a stream's descriptions against a dump --------------------------
"$view" compat "$tmp/pc.mig" "$tmp/pc.json" >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] || fail "compat pc.mig pc.json: exit status"
[ "$(tail -n 1 "$tmp/out")" = "compatible: 33 sections compared, 0 errors, 9 warnings" ] ||
    { fail "compat pc.mig pc.json: summary"; cat "$tmp/out"; }
grep -qx "warning: cpu: not described by NEW's dump (QEMU's leaves out sections without a device class): not checked" \
    "$tmp/out" || fail "compat pc.mig pc.json: cpu not listed as not checked"
"$view" compat "$tmp/q35.mig" "$tmp/q35.json" >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] || fail "compat q35.mig q35.json: exit status"
"$view" compat "$tmp/pc.mig" "$tmp/breaks.json" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] || fail "compat pc.mig breaks.json: exit status"
grep -qx "error: hpet: isr: size 8 in OLD, 4 in NEW" "$tmp/out" || fail "compat pc.mig breaks.json: hpet"
# A QEMU dump leaves sections out: one it lacks is not checked, not missing.
grep -qx "warning: port92: not described by NEW's dump (QEMU's leaves out sections without a device class): not checked" \
    "$tmp/out" || fail "compat pc.mig breaks.json: port92"

# --- explain -----------------------------------------------------------------
pc_not_checked="not checked (DEST does not describe them): timer, cpu_common, cpu, apic, PCIBUS, 0000:00:01.1/ide, i2c_bus, acpi_build, globalstate$nl"
expect 0 "${pc_not_checked}the load would succeed: 27 sections checked, 0 errors, 9 not checked$nl" "" -- \
    "$view" explain "$tmp/pc.mig" --dest "$tmp/pc.json"
expect 0 "not checked (DEST does not describe them): timer, cpu_common, cpu, apic, PCIBUS, i2c_bus, acpi_build, globalstate${nl}\
the load would succeed: 24 sections checked, 0 errors, 8 not checked$nl" "" -- \
    "$view" explain "$tmp/q35.mig" --dest "$tmp/q35.json"
expect 1 "error: offset 242690: hpet: isr: the stream has 8 bytes, DEST reads 4
error: offset 242838: mc146818rtc: version 3 refused: DEST loads versions 1 to 2
error: offset 243265: pcspk: dummy_refresh_clock: the stream has field 'dummy_refresh_clock', DEST reads no more fields of 'pcspk'
error: offset 244532: pckbd: kbd: the stream has a struct 'pckbd' here, DEST reads 'pckbd2'
error: offset 248698: vmmouse: nb_queue: the stream has field 'nb_queue' where DEST reads 'nb_queue2'
error: offset 248729: port92: DEST reads field 'extra' (1 bytes) next, the stream's 'port92' has no more fields
error: offset 251669: 0000:00:01.3/piix4_pm (piix4_pm): piix4_pm/memhp: subsection 'piix4_pm/memhp' unknown to DEST
error: offset 319338: 0000:00:02.0/e1000 (e1000): e1000/mit_state: version 1 of 'e1000/mit_state' refused: DEST loads versions 0 to 0
${pc_not_checked}the load would fail: 27 sections checked, 8 errors, 9 not checked$nl" "" -- \
    "$view" explain "$tmp/pc.mig" --dest "$tmp/dest.json"
# A BER stream is explained as its QEMU form (offsets too).
"$view" convert "$tmp/pc.mig" "$tmp/pc.ber" --to ber || fail "convert --to ber"
"$view" explain "$tmp/pc.mig" --dest "$tmp/dest.json" >"$tmp/qemu.txt" 2>&1
"$view" explain "$tmp/pc.ber" --dest "$tmp/dest.json" >"$tmp/ber.txt" 2>&1
[ $? = 1 ] && cmp -s "$tmp/qemu.txt" "$tmp/ber.txt" || fail "explain of the BER form differs"
"$view" explain "$tmp/q35.mig" --dest "$tmp/q35-dest.json" >"$tmp/out" 2>&1
[ $? = 1 ] || fail "explain q35.mig q35-dest.json: exit status"
grep -qx "error: offset 269626: mc146818rtc: version 3 refused: DEST loads versions 1 to 2" "$tmp/out" &&
grep -qx "error: offset 347148: 0000:00:01.0/e1000 (e1000): e1000/mit_state: version 1 of 'e1000/mit_state' refused: DEST loads versions 0 to 0" "$tmp/out" &&
[ "$(tail -n 1 "$tmp/out")" = "the load would fail: 24 sections checked, 7 errors, 8 not checked" ] ||
    { fail "explain q35.mig q35-dest.json"; cat "$tmp/out"; }
"$view" explain "$tmp/pc.mig" --dest "$tmp/dest.json" --json >"$tmp/out.json"
[ $? = 1 ] || fail "explain --json: exit status"
python3 - "$tmp/out.json" <<'PY' || fail "explain --json"
import json, sys
e = json.load(open(sys.argv[1]))
assert e["checked"] == 27 and len(e["not-checked"]) == 9 and e["not-checked"][0] == "timer", e
assert [x["kind"] for x in e["findings"]] == [
    "field-size", "version-refused", "field-extra", "description-differs", "field-renamed",
    "field-missing", "unknown-subsection", "version-refused"], e["findings"]
assert e["findings"][1] == {"severity": "error", "kind": "version-refused",
                            "section": {"key": "mc146818rtc", "name": "mc146818rtc"}, "path": "",
                            "offset": 242838, "old": 3, "new": 2,
                            "message": "version 3 refused: DEST loads versions 1 to 2"}, e
PY

# --- bad usage and unreadable input: one line, exit 2 -----------------------
expect 2 "" "vmscope-view: compat: missing OLD and NEW$nl$hint" -- "$view" compat
expect 2 "" "vmscope-view: compat: missing NEW$nl$hint" -- "$view" compat "$tmp/pc.json"
expect 2 "" "vmscope-view: compat: unexpected argument 'x'$nl$hint" -- \
    "$view" compat "$tmp/pc.json" "$tmp/pc.json" x
expect 2 "" "vmscope-view: compat: unknown option '--bogus'$nl$hint" -- "$view" compat --bogus a b
expect 2 "" "vmscope-view: explain: missing --dest DEST (a -dump-vmstate JSON file)$nl$hint" -- \
    "$view" explain "$tmp/pc.mig"
expect 2 "" "vmscope-view: explain: missing STREAM$nl$hint" -- "$view" explain --dest "$tmp/pc.json"
expect 2 "" "vmscope-view: compat: $tmp/missing.json: No such file or directory$nl" -- \
    "$view" compat "$tmp/pc.json" "$tmp/missing.json"
printf '{"a": [' >"$tmp/bad.json"
expect 2 "" "vmscope-view: compat: $tmp/bad.json: JSON parse error at offset 7: unexpected end of input$nl" -- \
    "$view" compat "$tmp/pc.json" "$tmp/bad.json"
python3 - "$tmp/pc.json" "$tmp/bad-size.json" "$tmp/bad-key.json" <<'PY' || exit 99
import json, sys
d = json.load(open(sys.argv[1]))
d["hpet"]["Description"]["Fields"][1]["size"] = "8"
json.dump(d, open(sys.argv[2], "w"))
d = json.load(open(sys.argv[1]))
d["port92"]["Description"]["Fields"][0]["extra"] = 1
json.dump(d, open(sys.argv[3], "w"))
PY
expect 2 "" "vmscope-view: compat: $tmp/bad-size.json: hpet.Description.Fields[1].size: expected uint64, got string$nl" -- \
    "$view" compat "$tmp/bad-size.json" "$tmp/pc.json"
expect 2 "" "vmscope-view: compat: $tmp/bad-key.json: port92.Description.Fields[0]: unexpected field 'extra'$nl" -- \
    "$view" compat "$tmp/pc.json" "$tmp/bad-key.json"
expect 2 "" "vmscope-view: explain: $tmp/pc.json: not a migration stream$nl" -- \
    "$view" explain "$tmp/pc.json" --dest "$tmp/pc.json"
expect 2 "" "vmscope-view: explain: $tmp/pc20.mig: offset 234571: section 'timer' (id 0): cannot decode: the stream has no vmdesc, and no descriptions were given$nl" -- \
    "$view" explain "$tmp/pc20.mig" --dest "$tmp/pc.json"
exit $((failures > 0))
