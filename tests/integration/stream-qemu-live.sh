#!/bin/sh
# Live QEMU (slow): make fresh streams with tests/fixtures/make-qemu-streams.sh
# and run the fixture checks on them (parse, byte-identical round trip, fields
# against QEMU's own answers, broken streams); then edit streams with
# `vmscope-view rewrite`, load them into destination QEMUs
# (-incoming defer + migrate-incoming exec:cat) and check over QMP that the
# destinations see the edits: the RTC date (mc146818rtc.base_rtc) and the
# e1000's PCI interrupt line (its config space byte 0x3c, shown by query-pci);
# also for a stream without a vmdesc (rewrite --desc) and one with duplicate
# sections.
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

echo "== making streams with $QEMU"
"$top_srcdir/tests/fixtures/make-qemu-streams.sh" "$tmp" || { echo "FAIL: make-qemu-streams.sh"; exit 1; }

echo "== fixture checks on the fresh streams"
"$top_builddir/tests/integration/test-stream-fixtures" "$tmp" || { echo "FAIL: fixture checks"; exit 1; }

# edit_and_load CONFIG [DESC]: edit CONFIG's fresh stream (read with --desc DESC
# when given), load it, compare with the unedited one.
edit_and_load() {
    name=$1
    desc=${2:-}
    gunzip -c "$tmp/$name.mig.gz" >"$tmp/$name.mig" || return 1
    [ -z "$desc" ] || gunzip -c "$tmp/$desc.mig.gz" >"$tmp/$desc.mig" || return 1
    "$view" stream "$tmp/$name.mig" ${desc:+--desc "$tmp/$desc.mig"} >"$tmp/$name.json" || return 1
    # The same date and time one year later, and IRQ line 11.
    edits=$(python3 - "$tmp/$name.json" "$tmp/$name.facts.json" <<'EOF'
import calendar, datetime, json, sys
stream = json.load(open(sys.argv[1]))
facts = json.load(open(sys.argv[2]))
full = {s["name"]: s for s in stream["sections"] if s["type"] == "full" and s["instance-id"] == 0}
rtc = full["mc146818rtc"]["state"]
nic = next(p for p in facts["pci"] if p["qdev_id"] == "nic0")
sec = "0000:00:%02x.%x/e1000" % (nic["slot"], nic["function"])
cfg = full[sec]["state"]["parent_obj"]["config[0]"]
cfg = cfg[:2 * 0x3c] + "0b" + cfg[2 * 0x3c + 2:]
now = datetime.datetime.utcfromtimestamp(rtc["base_rtc"])
later = now.replace(year=now.year + 1)
print("mc146818rtc.base_rtc=%d" % calendar.timegm(later.timetuple()))
print("%s.parent_obj.config[0]=%s" % (sec, cfg))
EOF
) || return 1
    set -- ${desc:+--desc "$tmp/$desc.mig"}
    for e in $edits; do set -- "$@" --set "$e"; done
    "$view" rewrite "$tmp/$name.mig" "$tmp/$name-edited.mig" "$@" || return 1
    "$view" diff "$tmp/$name.mig" "$tmp/$name-edited.mig" ${desc:+--desc "$tmp/$desc.mig"}
    [ $? = 1 ] || { echo "diff does not see the edits"; return 1; }

    python3 "$streams" load "$name" "$tmp/$name.mig" >"$tmp/$name.dest.json" || return 1
    python3 "$streams" load "$name" "$tmp/$name-edited.mig" >"$tmp/$name-edited.dest.json" || return 1
    python3 - "$tmp/$name.dest.json" "$tmp/$name-edited.dest.json" <<'EOF'
import json, sys
before = json.load(open(sys.argv[1]))
after = json.load(open(sys.argv[2]))
b, a = before["rtc-time"], after["rtc-time"]
assert a["tm_year"] == b["tm_year"] + 1, (b, a)
assert {k: v for k, v in a.items() if k != "tm_year"} == \
       {k: v for k, v in b.items() if k != "tm_year"}, (b, a)
nic = lambda f: next(p for p in f["pci"] if p["qdev_id"] == "nic0")
assert nic(before)["irq"] == 0 and nic(after)["irq"] == 11, (nic(before), nic(after))
print("destination sees the edits: RTC %d -> %d, nic0 irq %d -> %d" %
      (1900 + b["tm_year"], 1900 + a["tm_year"], nic(before)["irq"], nic(after)["irq"]))
EOF
}

status=0
# pc20: no vmdesc (read with its twin's); pc-slirp4: four slirp sections, all instance 0.
for name in pc-plain q35-shared pc20:pc20-vmdesc pc-slirp4; do
    echo "== ${name%%:*}: rewrite, load into a destination, check over QMP"
    case $name in
    *:*) edit_and_load "${name%%:*}" "${name#*:}" ;;
    *) edit_and_load "$name" ;;
    esac || { echo "FAIL: $name"; status=1; }
done
exit $status
