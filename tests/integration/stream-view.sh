#!/bin/sh
# vmscope-view on the QEMU stream fixtures: stream (json, pretty text, --desc),
# rewrite (edits, atomic output, nothing written on error), diff (output
# and exit codes), and bad flags (one line + hint, exit 2).
. "$(dirname "$0")/view-test.sh"
gunzip -c "$fixtures/pc-plain.mig.gz" >"$tmp/a.mig" || exit 99
gunzip -c "$fixtures/pc-shared.mig.gz" >"$tmp/c.mig" || exit 99

# --- bad usage: one line + hint, exit 2 ---------------------------------------
expect 2 "" "vmscope-view: missing command (stream, rewrite, diff, state, schema, convert or migrate)$nl$hint" -- "$view"
expect 2 "" "vmscope-view: unknown command 'frob' (stream, rewrite, diff, state, schema, convert or migrate)$nl$hint" -- "$view" frob
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
"$view" stream "$tmp/a.mig" --desc >"$tmp/a-desc.json" || fail "stream --desc"
"$view" stream --format=pretty "$tmp/a.mig" >"$tmp/a.txt" || fail "stream --format pretty"
python3 - "$tmp/a.json" "$tmp/a-desc.json" <<'EOF' || fail "JSON shape"
import json, sys
a = json.load(open(sys.argv[1]))
d = json.load(open(sys.argv[2]))
assert list(a) == ["header", "configuration", "sections"], list(a)
assert list(d) == ["header", "configuration", "sections", "vmdesc"], list(d)
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

[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "ok"
