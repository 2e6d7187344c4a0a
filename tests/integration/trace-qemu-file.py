#!/usr/bin/env python3
"""vmscope-trace against the stream it watched being written.

A QEMU (pc, TCG, RAM in /dev/shm) saves its device state to a file with
x-ignore-shared while vmscope-trace follows it.  vmscope-view then splits
the file into sections.  For every vmstate section, the bytes vmscope-trace
attributed to it must equal the section's payload in the file, exactly.

Names: vmscope-trace names a section by its VMStateDescription
(vmsd->name, e.g. "e1000"); the stream names it by its id string, which is
the device's path, "/", and the vmsd name ("0000:00:03.0/e1000"), or just the
vmsd name ("serial").  Several sections can share a vmsd name: the two
isa-serial ports are "serial" instance 0 and 1, the two NICs are
"0000:00:03.0/e1000" and "0000:00:04.0/e1000".  A vmsd name's traced bytes are
therefore compared with the sum over all sections of that name, and the
number of times the section was saved (the count of its @usecs histogram)
with the number of such sections.
"""
import collections
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tracetest as T  # noqa: E402

# Sections that QEMU writes in pieces (SECTION_START/PART/END) come from
# iterative handlers, not from a VMStateDescription: their bytes are traced
# under "(none)".  This machine has one, RAM.
ITERATIVE = {"ram"}


def main():
    qemu = T.require_tracing()
    view = T.view_binary()
    if not os.path.exists(view):
        T.skip("vmscope-view is not built yet (needs `vmscope-view stream FILE --format json`)")
    tmp = T.tmpdir()
    src = T.Qemu(qemu, tmp, "src", T.shm_path("src"))
    tracer = T.Tracer(tmp, "trace", ["-p", str(src.pid), "--json"])
    src.set_capabilities(x_ignore_shared=True)
    path = os.path.join(tmp, "state.mig")
    src.cmd("migrate", uri=f"exec:cat > {path}")
    src.wait_migration()
    _, maps, hists, stats = T.parse_json(tracer.stop())
    src.quit()

    T.check(stats is not None and stats["dropped_events"] == 0, f"stats: {stats}")
    traced = T.one_key(maps[("@bytes", 1)])
    size = os.path.getsize(path)
    T.check(sum(traced.values()) == size,
            f"all traced bytes {sum(traced.values())} != file size {size}")

    r = subprocess.run([view, "stream", path, "--format", "json"], capture_output=True,
                       text=True, timeout=T.WAIT)
    T.check(r.returncode == 0, f"vmscope-view failed ({r.returncode}): {r.stderr.strip()}")
    sections = json.loads(r.stdout)["sections"]
    pieces = collections.Counter(s["section-id"] for s in sections)
    expected = collections.Counter()
    instances = collections.Counter()
    for s in sections:
        vmsd = s["name"].rsplit("/", 1)[-1]
        if s["name"] in ITERATIVE or pieces[s["section-id"]] > 1:
            continue
        expected[vmsd] += s["size"]
        instances[vmsd] += 1
    T.check(expected, "vmscope-view found no device sections")

    saved = {k: sum(b["count"] for b in v) for k, v in hists["@usecs"].items()}
    T.log(f"{'section':24} {'file':>10} {'traced':>10} {'n':>3}")
    bad = []
    for vmsd in sorted(expected):
        got = traced.get(vmsd)
        T.log(f"{vmsd:24} {expected[vmsd]:>10} {got!s:>10} {instances[vmsd]:>3}")
        if got != expected[vmsd]:
            bad.append(f"{vmsd}: file {expected[vmsd]}, traced {got}")
        if saved.get(vmsd) != instances[vmsd]:
            bad.append(f"{vmsd}: {instances[vmsd]} sections in the file, saved {saved.get(vmsd)} times")
    # Traced names that are not sections: stream framing, RAM and vmdesc
    # ("(none)") and the configuration block, which is not a section.
    for vmsd in sorted(set(traced) - set(expected) - {"(none)", "configuration"}):
        bad.append(f"{vmsd}: traced {traced[vmsd]} bytes, no such section in the file")
    T.log(f"{'(none)':24} {'':>10} {traced.get('(none)', 0):>10}")
    T.check(not bad, "; ".join(bad))
    T.log(f"PASS: {len(expected)} section names, {sum(instances.values())} sections, "
          f"{size} bytes in all")


main()
