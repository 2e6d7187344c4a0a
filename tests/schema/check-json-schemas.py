#!/usr/bin/env python3
"""The JSON Schemas generated for every device type (devices/qidl/TYPE.schema.json,
docs/qidl.md) accept each device's state in the committed fixed stream
(tests/fixtures/devhost-fixed.mig, decoded by vmscope-view), and refuse a
state with a field out of its type's range."""
import copy
import json
import os
import subprocess
import sys

try:
    import jsonschema
except ImportError:
    print("SKIP: python3-jsonschema is not installed (apt-get install python3-jsonschema)")
    sys.exit(77)

top_srcdir = os.environ.get("top_srcdir", ".")
top_builddir = os.environ.get("top_builddir", ".")
out = subprocess.run([os.path.join(top_builddir, "viewers", "vmscope-view"), "stream",
                      os.path.join(top_srcdir, "tests", "fixtures", "devhost-fixed.mig"),
                      "--format", "json"], check=True, capture_output=True, text=True).stdout
sections = json.loads(out)["sections"]
failures = 0
checked = []
for sec in sections:
    path = os.path.join(top_builddir, "devices", "qidl", sec["name"] + ".schema.json")
    schema = json.load(open(path))
    try:
        jsonschema.validate(sec["state"], schema)
        checked.append(sec["name"])
    except jsonschema.ValidationError as e:
        print("FAIL: %s: %s" % (sec["name"], e.message))
        failures += 1
want = ["mc146818rtc", "serial", "serial", "i8254", "virtio-blk", "apic", "kvm-apic", "slirp"]
if checked != want:
    print("FAIL: sections checked %s, expected %s" % (checked, want))
    failures += 1

serial = next(s for s in sections if s["name"] == "serial")
bad = copy.deepcopy(serial["state"])
bad["divider"] = 70000
try:
    jsonschema.validate(bad, json.load(open(os.path.join(top_builddir, "devices", "qidl",
                                                         "serial.schema.json"))))
    print("FAIL: serial with divider 70000 was accepted")
    failures += 1
except jsonschema.ValidationError as e:
    if list(e.absolute_path) != ["divider"]:
        print("FAIL: the refusal names %s, not divider" % list(e.absolute_path))
        failures += 1
    else:
        checked.append("serial with divider 70000 refused")
print("%d passed, %d failed" % (len(checked), failures))
sys.exit(1 if failures else 0)
