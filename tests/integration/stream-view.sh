#!/bin/sh
# vmscope-view on the QEMU stream fixtures: stream (json, pretty text, --vmdesc),
# rewrite (edits, atomic output, nothing written on error), diff (output
# and exit codes), bad flags (one line + hint, exit 2); every fixture read,
# rewritten byte for byte and checked (streams without a vmdesc with
# --desc), warnings, and check's findings and exit codes.
. "$(dirname "$0")/view-test.sh"
gunzip -c "$fixtures/pc-plain.mig.gz" >"$tmp/a.mig" || exit 99
gunzip -c "$fixtures/pc-shared.mig.gz" >"$tmp/c.mig" || exit 99

# --- bad usage: one line + hint, exit 2 ---------------------------------------
expect 2 "" "vmscope-view: missing command (stream, rewrite, diff, check, state, schema, convert, migrate, compat or explain)$nl$hint" -- "$view"
expect 2 "" "vmscope-view: unknown command 'frob' (stream, rewrite, diff, check, state, schema, convert, migrate, compat or explain)$nl$hint" -- "$view" frob
expect 2 "" "vmscope-view: stream: missing FILE$nl$hint" -- "$view" stream
expect 2 "" "vmscope-view: stream: unknown format 'xml' (json, pretty or ber)$nl$hint" -- \
    "$view" stream "$tmp/a.mig" --format xml
expect 2 "" "vmscope-view: stream: option '--format' needs a value (json, pretty or ber)$nl$hint" -- \
    "$view" stream "$tmp/a.mig" --format
expect 2 "" "vmscope-view: stream: unknown option '--bogus'$nl$hint" -- "$view" stream --bogus "$tmp/a.mig"
expect 2 "" "vmscope-view: stream: unexpected argument 'x'$nl$hint" -- "$view" stream "$tmp/a.mig" x
expect 2 "" "vmscope-view: rewrite: missing OUT$nl$hint" -- "$view" rewrite "$tmp/a.mig"
expect 2 "" "vmscope-view: rewrite: --set 'foo': expected PATH=VALUE$nl$hint" -- \
    "$view" rewrite "$tmp/a.mig" "$tmp/b.mig" --set foo
expect 2 "" "vmscope-view: diff: missing B$nl$hint" -- "$view" diff "$tmp/a.mig"
"$view" --help >"$tmp/out" 2>&1 || fail "--help exits non-zero"
grep -q '^usage: vmscope-view stream FILE' "$tmp/out" || fail "--help: no usage"

# --- stream ------------------------------------------------------------------
expect 1 "" "vmscope-view: $tmp/missing.mig: No such file or directory$nl" -- \
    "$view" stream "$tmp/missing.mig"
head -c 1000 "$tmp/a.mig" >"$tmp/short.mig"
expect 1 "" "vmscope-view: $tmp/short.mig: offset 1000: section 'ram' (id 2): truncated: need 8 bytes, 0 left$nl" -- \
    "$view" stream "$tmp/short.mig"

"$view" stream "$tmp/a.mig" >"$tmp/a.json" || fail "stream a.mig"
"$view" stream "$tmp/a.mig" --vmdesc >"$tmp/a-desc.json" || fail "stream --vmdesc"
"$view" stream --format=pretty "$tmp/a.mig" >"$tmp/a.txt" || fail "stream --format pretty"
python3 - "$tmp/a.json" "$tmp/a-desc.json" <<'EOF' || fail "JSON shape"
import json, sys
a = json.load(open(sys.argv[1]))
d = json.load(open(sys.argv[2]))
assert list(a) == ["header", "configuration", "sections", "warnings"], list(a)
assert list(d) == ["header", "configuration", "sections", "warnings", "vmdesc"], list(d)
assert a["warnings"] == []
assert a["header"] == {"magic": "QEVM", "version": 3}
assert a["configuration"]["name"] == "pc-i440fx-7.2"
keys = ["name", "instance-id", "section-id", "version-id", "type", "offset", "size", "state"]
for s in a["sections"]:
    assert list(s) == keys, list(s)
serial = [s for s in a["sections"] if s["name"] == "serial"]
assert [s["instance-id"] for s in serial] == [0, 1]
assert serial[0]["state"]["state"]["divider"] == 12, serial[0]
assert serial[0]["size"] == 11
assert len(d["vmdesc"]["devices"]) == len([s for s in a["sections"] if s["type"] == "full"])
EOF
# The pretty text is the pretty-print visitor's, as for live state: the
# stream's start, and the first serial port's section whole.
head -11 "$tmp/a.txt" >"$tmp/head"
cat >"$tmp/want" <<'EOF'
stream {
  header {
    magic: string = "QEVM"
    version: uint32 = 3 (0x00000003)
  }
  configuration {
    offset: uint64 = 9 (0x0000000000000009)
    size: uint64 = 17 (0x0000000000000011)
    name: string = "pc-i440fx-7.2"
  }
  sections: list[39] [
EOF
cmp -s "$tmp/want" "$tmp/head" || { fail "pretty: stream start"; diff "$tmp/want" "$tmp/head"; }
sed -n '/^      name: string = "serial"$/,/^    }$/p' "$tmp/a.txt" | sed -n '1,/^    }$/p' >"$tmp/serial"
cat >"$tmp/want" <<'EOF'
      name: string = "serial"
      instance-id: uint32 = 0 (0x00000000)
      section-id: uint32 = 40 (0x00000028)
      version-id: uint32 = 3 (0x00000003)
      type: string = "full"
      offset: uint64 = 450540 (0x000000000006dfec)
      size: uint64 = 11 (0x000000000000000b)
      state (vmsd serial, version 3) {
        state (vmsd serial, version 3) {
          divider: uint16 = 12 (0x000c)
          rbr: uint8 = 0 (0x00)
          ier: uint8 = 0 (0x00)
          iir: uint8 = 1 (0x01)
          lcr: uint8 = 0 (0x00)
          mcr: uint8 = 8 (0x08)
          lsr: uint8 = 96 (0x60)
          msr: uint8 = 176 (0xb0)
          scr: uint8 = 0 (0x00)
          fcr_vmstate: uint8 = 0 (0x00)
        }
      }
    }
EOF
cmp -s "$tmp/want" "$tmp/serial" || { fail "pretty: serial section"; diff "$tmp/want" "$tmp/serial"; }
[ "$(tail -1 "$tmp/a.txt")" = "}" ] || fail "pretty: does not end with the stream's }"

# --- rewrite -------------------------------------------------------------------
"$view" rewrite "$tmp/a.mig" "$tmp/same.mig" || fail "rewrite without changes"
cmp -s "$tmp/a.mig" "$tmp/same.mig" || fail "rewrite without changes is not byte-identical"

"$view" rewrite "$tmp/a.mig" "$tmp/b.mig" --set mc146818rtc.base_rtc=1182096081 \
    --set serial:1.state.scr=0x5a --set=0000:00:02.0/e1000.mac_reg[0][1]=0x80000000 ||
    fail "rewrite with --set"
[ "$(cmp -l "$tmp/a.mig" "$tmp/b.mig" | wc -l)" -le 14 ] || fail "rewrite changed more than the fields"
expect 1 "mc146818rtc.base_rtc: 1150560081 -> 1182096081
0000:00:02.0/e1000.mac_reg[0][1]: 2147505716 -> 2147483648
serial:1.state.scr: 0 -> 90
" "" -- "$view" diff "$tmp/a.mig" "$tmp/b.mig"
expect 0 "" "" -- "$view" diff "$tmp/a.mig" "$tmp/same.mig"

# Errors write nothing: no OUT, no temporary file left, an existing OUT untouched.
expect 1 "" "vmscope-view: serial.state.lsr: value 300 out of range for uint8$nl" -- \
    "$view" rewrite "$tmp/a.mig" "$tmp/new.mig" --set serial.state.lsr=300
[ -e "$tmp/new.mig" ] && fail "rewrite error left OUT behind"
expect 1 "" "vmscope-view: serial.nothing: no such field in section 'serial'$nl" -- \
    "$view" rewrite "$tmp/a.mig" "$tmp/b.mig" --set serial.state.scr=1 --set serial.nothing=1
"$view" diff "$tmp/a.mig" "$tmp/b.mig" | grep -q 'serial:1.state.scr: 0 -> 90' ||
    fail "failed rewrite changed the existing OUT"
expect 1 "" "vmscope-view: $tmp/short.mig: offset 1000: section 'ram' (id 2): truncated: need 8 bytes, 0 left$nl" -- \
    "$view" rewrite "$tmp/short.mig" "$tmp/new.mig"
expect 1 "" "vmscope-view: $tmp/nodir/x.mig: cannot create a temporary file in $tmp/nodir: No such file or directory$nl" -- \
    "$view" rewrite "$tmp/a.mig" "$tmp/nodir/x.mig"
ls -A "$tmp" | grep -q '^\.' && fail "temporary file left behind: $(ls -A "$tmp")"

# --- diff ----------------------------------------------------------------------
"$view" diff "$tmp/a.mig" "$tmp/c.mig" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] || fail "diff of different streams: exit status"
head -2 "$tmp/out" >"$tmp/head"
printf '%s\n' 'configuration.capabilities: (absent) -> ["x-ignore-shared"]' 'ram: payload differs' |
    cmp -s - "$tmp/head" || { fail "diff a c: first lines"; cat "$tmp/head"; }
grep -q '^serial:1: only in A$' "$tmp/out" || fail "diff a c: serial:1 only in A"
expect 2 "" "vmscope-view: $tmp/short.mig: offset 1000: section 'ram' (id 2): truncated: need 8 bytes, 0 left$nl" -- \
    "$view" diff "$tmp/a.mig" "$tmp/short.mig"

# --- every fixture: stream, rewrite byte for byte, check ----------------------
# desc_for NAME: the --desc a fixture needs (its twin's, or its stream's vmdesc), or nothing.
desc_for() {
    case $1 in
    pc20) echo "$tmp/pc20-vmdesc.mig" ;;
    *.devstate) echo "$tmp/${1%.devstate}.mig" ;;
    esac
}
for gz in "$fixtures"/*.mig.gz "$fixtures"/*.devstate.gz; do
    name=$(basename "$gz" .gz)
    gunzip -c "$gz" >"$tmp/$name" || exit 99
done
for gz in "$fixtures"/*.mig.gz "$fixtures"/*.devstate.gz; do
    file=$(basename "$gz" .gz)
    name=${file%.mig}
    desc=$(desc_for "$name")
    set -- ${desc:+--desc "$desc"}
    "$view" stream "$tmp/$file" "$@" >"$tmp/out.json" 2>"$tmp/err" || fail "stream $name: $(cat "$tmp/err")"
    [ -s "$tmp/err" ] && fail "stream $name: stderr: $(cat "$tmp/err")"
    "$view" rewrite "$tmp/$file" "$tmp/same.mig" "$@" 2>"$tmp/err" || fail "rewrite $name"
    cmp -s "$tmp/$file" "$tmp/same.mig" || fail "rewrite $name: not byte-identical"
    case $name in
    *-slirp4) want_status=1 ;;
    *) want_status=0 ;;
    esac
    "$view" check "$tmp/$file" "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
    [ "$status" = "$want_status" ] || fail "check $name: exit $status: $(cat "$tmp/out" "$tmp/err")"
done

# Four slirp sections: the warning in the JSON, on stderr with pretty text, check's finding.
dup="offset 202279: section 'slirp' instance 0: 4 sections (ids 4, 5, 6, 7): a destination QEMU would load all of them into one device"
"$view" stream "$tmp/pc-slirp4.mig" >"$tmp/out.json" 2>"$tmp/err" || fail "stream pc-slirp4"
python3 - "$tmp/out.json" "$dup" <<'EOF' || fail "pc-slirp4: JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["warnings"] == [sys.argv[2]], d["warnings"]
slirp = [s for s in d["sections"] if s["name"] == "slirp"]
assert [s["section-id"] for s in slirp] == [4, 5, 6, 7], slirp
assert all(list(s["state"]) == ["data"] and len(s["state"]["data"]) == 262 for s in slirp)
EOF
[ -s "$tmp/err" ] && fail "stream pc-slirp4 --format json: stderr: $(cat "$tmp/err")"
"$view" stream "$tmp/pc-slirp4.mig" --format pretty >"$tmp/out.txt" 2>"$tmp/err" || fail "stream pc-slirp4 pretty"
printf 'warning: %s: %s\n' "$tmp/pc-slirp4.mig" "$dup" | cmp -s - "$tmp/err" ||
    { fail "pretty: warning on stderr"; cat "$tmp/err"; }
grep -qF "    [0]: string = \"$dup\"" "$tmp/out.txt" || fail "pretty: warnings in the text"
expect 1 "$dup$nl" "" -- "$view" check "$tmp/pc-slirp4.mig"
expect 1 "[{\"offset\":202279,\"where\":\"section 'slirp' instance 0\",\"finding\":\"4 sections (ids 4, 5, 6, 7): a destination QEMU would load all of them into one device\"}]$nl" "" -- \
    "$view" check "$tmp/pc-slirp4.mig" --json
expect 0 "[]$nl" "" -- "$view" check --json "$tmp/pc-slirp.mig"
expect 0 "" "" -- "$view" check "$tmp/q35-wide.mig"

# A footer for another section: an error for stream, a finding for check.
cp "$tmp/pc-slirp4.mig" "$tmp/footer.mig"
printf '\006' | dd of="$tmp/footer.mig" bs=1 seek=202588 conv=notrunc 2>/dev/null
expect 1 "" "vmscope-view: $tmp/footer.mig: offset 202584: section 'slirp' (id 5): footer is for section id 6$nl" -- \
    "$view" stream "$tmp/footer.mig"
expect 1 "$dup${nl}offset 202584: section 'slirp' (id 5): footer is for section id 6$nl" "" -- \
    "$view" check "$tmp/footer.mig"

# The duplicates by name: rewrite the third, diff names it.
zeros=$(printf '%0262d' 0)
sevens=$(printf '%0262d' 0 | tr 0 7)
"$view" rewrite "$tmp/pc-slirp4.mig" "$tmp/b.mig" --set "slirp#2.data=$sevens" 2>/dev/null ||
    fail "rewrite slirp#2"
expect 1 "slirp#2.data: \"$zeros\" -> \"$sevens\"$nl" \
    "warning: $tmp/pc-slirp4.mig: $dup${nl}warning: $tmp/b.mig: $dup$nl" -- "$view" diff "$tmp/pc-slirp4.mig" "$tmp/b.mig"

# Without a vmdesc: what is missing and how to give it, one line.
nodesc="offset 234571: section 'timer' (id 0): cannot decode: the stream has no vmdesc, and no descriptions were given; give them with --desc DESC (a migration stream with a vmdesc from the same QEMU and machine, or a vmdesc JSON file)"
expect 1 "" "vmscope-view: $tmp/pc20.mig: $nodesc$nl" -- "$view" stream "$tmp/pc20.mig"
expect 1 "" "vmscope-view: $tmp/pc20.mig: $nodesc$nl" -- "$view" rewrite "$tmp/pc20.mig" "$tmp/x.mig"
expect 2 "" "vmscope-view: $tmp/pc20.mig: $nodesc$nl" -- "$view" diff "$tmp/pc20.mig" "$tmp/pc20-vmdesc.mig"
expect 2 "" "vmscope-view: $tmp/pc20.mig: $nodesc$nl" -- "$view" check "$tmp/pc20.mig"
[ -e "$tmp/x.mig" ] && fail "rewrite without descriptions left OUT behind"
# With them: the donor's state; a vmdesc JSON file is as good as a stream.
"$view" stream "$tmp/pc20-vmdesc.mig" --vmdesc >"$tmp/donor.json" || fail "stream pc20-vmdesc"
python3 -c 'import json, sys; json.dump(json.load(open(sys.argv[1]))["vmdesc"], open(sys.argv[2], "w"))' \
    "$tmp/donor.json" "$tmp/pc20.vmdesc.json" || exit 99
expect 0 "" "" -- "$view" diff "$tmp/pc20.mig" "$tmp/pc20-vmdesc.mig" --desc "$tmp/pc20.vmdesc.json"
expect 0 "" "" -- "$view" check "$tmp/pc20.mig" --desc "$tmp/pc20.vmdesc.json"
expect 1 "" "vmscope-view: $tmp/pc20.mig: the stream has no vmdesc to take descriptions from$nl" -- \
    "$view" stream "$tmp/pc20.mig" --desc "$tmp/pc20.mig"
printf '{"devices": [' >"$tmp/bad.json"
expect 1 "" "vmscope-view: $tmp/bad.json: offset 13: JSON ends early$nl" -- \
    "$view" stream "$tmp/pc20.mig" --desc "$tmp/bad.json"
expect 2 "" "vmscope-view: check: missing FILE$nl$hint" -- "$view" check
expect 2 "" "vmscope-view: check: option '--desc' needs a value (DESC)$nl$hint" -- "$view" check "$tmp/pc20.mig" --desc

# The device-state file: the stream's values, but for the run state ("running", not "prelaunch").
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; printf "%0$2d" 0; }
expect 1 "configuration: only in A${nl}ram: only in A${nl}globalstate.size: 10 -> 8${nl}\
globalstate.runstate: \"$(hex prelaunch 182)\" -> \"$(hex running 186)\"$nl" "" -- \
    "$view" diff "$tmp/pc-devstate.mig" "$tmp/pc-devstate.devstate" --desc "$tmp/pc-devstate.mig"
# Truncated: an error for stream, unreadable for check, the same line.
head -c 10000 "$tmp/pc-devstate.devstate" >"$tmp/cut.devstate"
cut="vmscope-view: $tmp/cut.devstate: offset 9922: section '0000:00:01.1/ide' (id 29): parent_obj: truncated: need 276 bytes, 78 left$nl"
expect 1 "" "$cut" -- "$view" stream "$tmp/cut.devstate" --desc "$tmp/pc-devstate.mig"
expect 2 "" "$cut" -- "$view" check "$tmp/cut.devstate" --desc "$tmp/pc-devstate.mig"

[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "ok"
