#!/usr/bin/env python3
"""Edited copies of QEMU 7.2's pc -dump-vmstate for compat-view.sh.

  compat-edit-dump.py SRC BREAKS COMPATIBLE DEST
BREAKS: one break of each kind compat_compare knows, each in a section of
its own, plus the compatible changes; COMPATIBLE: the compatible changes
only (a field added with a version bump, a new subsection, an older
minimum version); DEST: breaks that the pc-plain stream's load would meet
(for explain), one per section.
"""
import json, sys
src, breaks, compatible, dest_path = sys.argv[1:5]
d = json.load(open(src))
def desc(key): return d[key]["Description"]
def field(key, name):
    return next(f for f in desc(key)["Fields"] if f["field"] == name)
def set_version(key, v, minimum=None):
    for o in (d[key], desc(key)):
        o["version_id"] = v
        if minimum is not None:
            o["minimum_version_id"] = minimum
# Compatible changes, in both copies.
def compatible_changes():
    set_version("ne2k_isa", 3)
    desc("ne2k_isa")["Fields"].append({"field": "added", "version_id": 3, "field_exists": False, "size": 4})
    desc("usb-tablet")["Subsections"] = [{"name": "usb-ptr/added", "version_id": 1,
                                          "minimum_version_id": 1, "Fields": []}]
    set_version("virtio-rng-device", 1, 0)
compatible_changes()
json.dump(d, open(compatible, "w"), indent=2)
# One break of each kind, each in a section of its own.
d["vmschkmachine"]["Name"] = "pc-i440fx-7.1"
del d["port92"]
set_version("isa-fdc", 1, 1)
set_version("cfi.pflash01", 2, 2)
fs = desc("vmmouse")["Fields"]; fs.remove(field("vmmouse", "nb_queue"))
field("isa-parallel", "state.status")["field"] = "state.stat"
field("hpet", "isr")["size"] = 4
fs = desc("i8257")["Fields"]
fs.insert(3, {"field": "extra", "version_id": 0, "field_exists": False, "size": 4})
set_version("usb-kbd", 2); field("usb-kbd", "hid")["version_id"] = 2
del field("i8042", "kbd")["Description"]
field("i82801b11-bridge", "parent_obj")["Description"]["name"] = "PCIDevice2"
desc("e1000")["Subsections"] = [s for s in desc("e1000")["Subsections"] if s["name"] != "e1000/tx_tso_state"]
json.dump(d, open(breaks, "w"), indent=2)

# For explain: what pc-plain.mig's load meets, in sections of their own.
d = json.load(open(src))
desc("mc146818rtc")["version_id"] = 2
desc("PIIX4_PM")["Subsections"] = []
field("hpet", "isr")["size"] = 4
field("vmmouse", "nb_queue")["field"] = "nb_queue2"
desc("isa-pcspk")["Fields"].pop()
desc("port92")["Fields"].append({"field": "extra", "version_id": 0, "field_exists": False, "size": 1})
field("i8042", "kbd")["Description"]["name"] = "pckbd2"
for key in ("e1000", "e1000-82544gc", "e1000-82545em"):   # all three "e1000"s
    for sub in desc(key)["Subsections"]:
        if sub["name"] == "e1000/mit_state":
            sub["version_id"] = sub["minimum_version_id"] = 0
json.dump(d, open(dest_path, "w"))
