#!/usr/bin/env python3
"""vmscope-view rewrite and convert --filter, on streams a device host wrote.

  1. filters/virtio-blk-split.json makes two sections of virtio-blk
     (virtio-pci + virtio-blk) and virtio-blk-merge.json gives back the
     identical stream; the same in BER (rewrite keeps BER as BER), and
     through convert --to ber --filter / --to qemu --filter.
  2. filters/kvm-apic-to-apic.json rewrites a kvm-apic stream into an apic
     stream that a device host with only an apic loads WITHOUT a filter
     (the bytes sent to its --incoming socket as a source would).
  3. Errors: a bad rule file names the rule and the key, a filtered tree
     that does not fit names the path; OUT is not written.
"""
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tracetest as tt  # noqa: E402

SRCDIR = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
FILTERS = os.path.join(SRCDIR, "filters")
VIEW = tt.view_binary()


def view(*args, ok=True):
    r = subprocess.run([VIEW, *args], capture_output=True, text=True, timeout=tt.WAIT)
    if ok:
        tt.check(r.returncode == 0, f"vmscope-view {' '.join(args)}: exit {r.returncode}: "
                 f"{r.stderr}")
    return r


def read(path):
    with open(path, "rb") as f:
        return f.read()


def save_stream(tmp, name, devices):
    """A stream saved by a device host running `devices` for a few ticks."""
    host = tt.Devhost(tmp, name, devices=devices, paused=False, tick_ms=10)
    time.sleep(0.1)
    out = f"{tmp}/{name}.mig"
    host.cmd("migrate", uri=f"exec:cat > {out}")
    host.wait_migration()
    host.quit()
    return out


def sections(path):
    s = json.loads(view("stream", path).stdout)
    return [(x["name"], x["version-id"], list(x["state"])) for x in s["sections"]]


def send_stream(path, data):
    """Send a stream to a destination's --incoming socket; its result line."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(tt.WAIT)
    s.connect(path)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    line = b""
    while not line.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        line += chunk
    s.close()
    return json.loads(line)


def main():
    tmp = tt.tmpdir()
    split, merge = f"{FILTERS}/virtio-blk-split.json", f"{FILTERS}/virtio-blk-merge.json"

    # 1. Split and merge back, in both formats.
    orig = save_stream(tmp, "blk", "serial,virtio-blk,i8254")
    view("rewrite", orig, f"{tmp}/split.mig", "--filter", split)
    got = sections(f"{tmp}/split.mig")
    tt.check([(n, v) for n, v, _ in got] ==
             [("serial", 4), ("virtio-pci", 1), ("virtio-blk", 2), ("i8254", 3)], f"{got}")
    tt.check(got[1][2] == ["pci_config", "host_features", "guest_features", "status", "isr",
                           "queue_sel", "config_vector"] and
             got[2][2][:3] == ["num_queues", "capacity", "vq"], f"{got}")
    view("rewrite", f"{tmp}/split.mig", f"{tmp}/back.mig", "--filter", merge)
    tt.check(read(f"{tmp}/back.mig") == read(orig), "split + merge: not the same stream")
    # The unsplit state equals the split one's halves.
    whole = json.loads(view("stream", orig).stdout)["sections"][1]["state"]
    parts = json.loads(view("stream", f"{tmp}/split.mig").stdout)["sections"]
    tt.check({**parts[1]["state"], **parts[2]["state"]} == whole, "the halves differ")
    tt.log("ok split and merge: the same bytes")

    view("convert", orig, f"{tmp}/orig.ber", "--to", "ber")
    view("rewrite", f"{tmp}/orig.ber", f"{tmp}/split.ber", "--filter", split)
    tt.check(read(f"{tmp}/split.ber")[:2] == read(f"{tmp}/orig.ber")[:2], "rewrite left BER")
    view("rewrite", f"{tmp}/split.ber", f"{tmp}/back.ber", "--filter", merge)
    tt.check(read(f"{tmp}/back.ber") == read(f"{tmp}/orig.ber"), "BER split + merge differs")
    view("convert", orig, f"{tmp}/conv.ber", "--to", "ber", "--filter", split)
    tt.check(read(f"{tmp}/conv.ber") == read(f"{tmp}/split.ber"), "convert --filter differs")
    view("convert", f"{tmp}/conv.ber", f"{tmp}/conv.mig", "--to", "qemu", "--filter", merge)
    tt.check(read(f"{tmp}/conv.mig") == read(orig), "convert back --filter differs")
    tt.log("ok BER: rewrite and convert --filter")

    # 2. kvm-apic -> apic, loaded by an apic-only host without a filter.
    kvm = save_stream(tmp, "kvm", "kvm-apic")
    view("rewrite", kvm, f"{tmp}/apic.mig", "--filter", f"{FILTERS}/kvm-apic-to-apic.json")
    got = sections(f"{tmp}/apic.mig")
    tt.check(got[0][:2] == ("apic", 3), f"{got}")
    # --set comes after the filter: its paths are the filtered stream's.
    view("rewrite", kvm, f"{tmp}/apic-set.mig", "--filter", f"{FILTERS}/kvm-apic-to-apic.json",
         "--set", "apic.tpr=0x40")
    set_state = json.loads(view("stream", f"{tmp}/apic-set.mig").stdout)["sections"][0]["state"]
    plain = json.loads(view("stream", f"{tmp}/apic.mig").stdout)["sections"][0]["state"]
    tt.check(set_state == dict(plain, tpr=0x40), f"--set after --filter: {set_state}")
    incoming = f"{tmp}/apic.in"
    dst = tt.Devhost(tmp, "apic-dst", devices="apic", incoming=f"unix:{incoming}")
    r = send_stream(incoming, read(kvm))
    tt.check(r == {"status": "failed", "error": "incoming migration: offset 50: section "
                   "'kvm-apic' (instance 0): no such device on this host"}, f"kvm-apic: {r}")
    r = send_stream(incoming, read(f"{tmp}/apic.mig"))
    tt.check(r == {"status": "completed"}, f"apic: {r}")
    dst.wait_status("paused")
    tt.log("ok kvm-apic rewritten as apic loads into an apic-only host")

    # 3. Errors: the file and rule named; OUT not written.
    bad = f"{tmp}/bad.json"
    with open(bad, "w") as f:
        json.dump({"rules": [{"name": "b", "match": {"section": "virtio-blk"},
                              "actions": [{"op": "drop-field", "field": "capacity",
                                           "value": 1}]}]}, f)
    r = view("rewrite", orig, f"{tmp}/none.mig", "--filter", bad, ok=False)
    tt.check(r.returncode == 1 and r.stderr ==
             f"vmscope-view: {bad}: rule 0 ('b'): actions[0]: unexpected field 'value'\n",
             f"bad rule: {r.returncode} {r.stderr!r}")
    with open(bad, "w") as f:
        json.dump({"rules": [{"name": "t", "match": {"section": "virtio-blk"},
                              "actions": [{"op": "set-type", "field": "capacity",
                                           "type": "uint8"}]}]}, f)
    r = view("rewrite", orig, f"{tmp}/none.mig", "--filter", bad, ok=False)
    tt.check(r.returncode == 1 and r.stderr.startswith(
        f"vmscope-view: {orig}: --filter {bad}: rule 0 ('t'): section 'virtio-blk' (instance 0):"
        " set-type 'capacity': value ") and r.stderr.endswith(" does not fit uint8\n"),
        f"misfit: {r.stderr!r}")
    tt.check(not os.path.exists(f"{tmp}/none.mig"), "OUT written after an error")
    dst.quit()
    tt.log("PASS")


main()
