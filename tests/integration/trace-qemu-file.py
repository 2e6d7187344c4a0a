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

It runs twice: call by call (the default for QEMU) and with -m summary,
where only vmstate_* are probed and a section's bytes come from the
QEMUFile's stream position.  Both must match the file, and the summary's
@calls[SECTION, vmstate_save_state] must equal the per-call run's.
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


def run(qemu, view, mode):
    """Save a QEMU's device state to a file, traced in `mode`; check the
    traced section bytes against the file.  Returns the maps."""
    tmp = T.tmpdir()
    src = T.Qemu(qemu, tmp, "src", T.shm_path("src"))
    args = ["-p", str(src.pid), "--json"] + (["-m", mode] if mode == "summary" else [])
    tracer = T.Tracer(tmp, "trace", args)
    src.set_capabilities(x_ignore_shared=True)
    path = os.path.join(tmp, "state.mig")
    src.cmd("migrate", uri=f"exec:cat > {path}")
    src.wait_migration()
    out = tracer.stop()
    _, maps, hists, stats = T.parse_json(out)
    src.quit()

    T.log(f"-- mode {mode}")
    T.check(stats is not None and stats["dropped_events"] == 0 and stats["read_errors"] == 0,
            f"stats: {stats}")
    traced = T.one_key(maps[("@bytes", 1)])
    size = os.path.getsize(path)
    if mode == "calls":
        T.check(sum(traced.values()) == size,
                f"all traced bytes {sum(traced.values())} != file size {size}")
    else:
        funcs = set(T.one_key(maps[("@calls", 1)]))
        T.check(funcs <= {"vmstate_save_state", "vmstate_save_state_v"} and
                "vmstate_save_state" in funcs, f"summary mode counted {sorted(funcs)}")
        T.check('"type":"note"' in out and "qemu_put_*" in out, "summary mode: no note in the output")
        T.check("(none)" not in traced, f"summary mode: bytes outside sections: {traced}")

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
    T.check(not bad, f"mode {mode}: " + "; ".join(bad))
    T.log(f"mode {mode}: {len(expected)} section names, {sum(instances.values())} sections, "
          f"{size} bytes in all")
    return maps


def main():
    qemu = T.require_tracing()
    view = T.view_binary()
    if not os.path.exists(view):
        T.skip("vmscope-view is not built yet (needs `vmscope-view stream FILE --format json`)")
    calls = run(qemu, view, "calls")
    summary = run(qemu, view, "summary")
    # Same sections saved the same way: the vmstate calls per section agree.
    want = {k: v for k, v in calls[("@calls", 2)].items() if k[1].startswith("vmstate_")}
    got = summary[("@calls", 2)]
    T.check(want == got, f"vmstate calls per section: calls mode {want}, summary {got}")
    bytes_calls = {k: v for k, v in T.one_key(calls[("@bytes", 1)]).items() if k != "(none)"}
    T.check(bytes_calls == T.one_key(summary[("@bytes", 1)]), "bytes per section differ between modes")
    T.log(f"PASS: both modes, {len(got)} (section, vmstate function) counts equal")


main()
