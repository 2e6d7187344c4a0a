#!/usr/bin/env python3
"""A live QEMU-to-QEMU migration over a unix socket, both ends traced.

Source and destination share their RAM (/dev/shm, x-ignore-shared), so the
stream carries device state.  One vmscope-trace follows each process (text
output), and stops by itself when its process exits.  The source's uses
uprobe_multi (when the kernel has it) on every function; the destination's
uses one perf-event uprobe per function (VMSCOPE_TRACE_UPROBES=perf) on the
put/get/vmstate functions only, so both ways of attaching are checked.  What the source puts
into each section must be exactly what the destination gets out of it, for
the sections, for the innermost VMStateDescriptions, and in total.

Then again with -m summary on both ends (vmstate_* only, bytes from each
QEMUFile's stream position: written on the source, read on the
destination): put bytes equal get bytes per section, and equal the bytes
the per-call run counted.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tracetest as T  # noqa: E402


def compare(what, put, get):
    bad = []
    for k in sorted(set(put) | set(get)):
        if put.get(k) != get.get(k):
            bad.append(f"{k}: put {put.get(k)}, get {get.get(k)}")
    T.check(not bad, f"{what}: " + "; ".join(bad))


def migrate(qemu, summary):
    """One migration, both ends traced; returns the two reports' maps and hists."""
    tmp = T.tmpdir()
    shm = T.shm_path("mem")
    sock = os.path.join(tmp, "migrate.sock")
    src = T.Qemu(qemu, tmp, "src", shm)
    dst = T.Qemu(qemu, tmp, "dst", shm, incoming=f"unix:{sock}")
    if summary:
        put_tracer = T.Tracer(tmp, "put", ["-p", str(src.pid), "-m", "summary"])
        get_tracer = T.Tracer(tmp, "get", ["-p", str(dst.pid), "-m", "summary", "-v"],
                              env={"VMSCOPE_TRACE_UPROBES": "perf"})
        T.check("summary mode) with perf uprobes in " in get_tracer.stderr(), get_tracer.stderr())
    else:
        put_tracer = T.Tracer(tmp, "put", ["-p", str(src.pid)])
        get_tracer = T.Tracer(tmp, "get", ["-p", str(dst.pid), "-v", "-f", "qemu_*", "-f", "vmstate_*"],
                              env={"VMSCOPE_TRACE_UPROBES": "perf"})
        T.check(" with perf uprobes in " in get_tracer.stderr(), get_tracer.stderr())
    for q in (src, dst):
        q.set_capabilities(x_ignore_shared=True)
    src.cmd("migrate", uri=f"unix:{sock}")
    src.wait_migration()
    dst.wait_migration()
    src.quit()
    dst.quit()
    # Each tracer ends on its own once its process is gone.
    put_out, get_out = put_tracer.wait(), get_tracer.wait()
    if summary:
        for out in (put_out, get_out):
            T.check("note: summary mode: calls of qemu_put_*" in out, f"no summary note: {out}")
            T.check("names or strings that could not be read" not in out, f"read errors: {out}")
    return T.parse_text(put_out), T.parse_text(get_out)


def check_run(summary, put_report, get_report):
    (put_maps, put_hists, put_dropped), (get_maps, get_hists, get_dropped) = put_report, get_report
    T.log(f"-- {'summary mode' if summary else 'call by call'}")
    T.check(put_dropped == 0 and get_dropped == 0, f"dropped {put_dropped}, {get_dropped}")
    put = T.one_key(put_maps[("@bytes", 1)])
    get = T.one_key(get_maps[("@bytes", 1)])
    T.log(f"{'section':24} {'put (source)':>14} {'get (destination)':>18}")
    for k in sorted(set(put) | set(get)):
        T.log(f"{k:24} {put.get(k)!s:>14} {get.get(k)!s:>18}")
    compare("@bytes", put, get)
    if not summary:
        compare("@vmsd_bytes", T.one_key(put_maps[("@vmsd_bytes", 1)]),
                T.one_key(get_maps[("@vmsd_bytes", 1)]))
    else:
        T.check(("@vmsd_bytes", 1) not in put_maps and "(none)" not in put,
                "summary mode: innermost descriptions or (none) reported")
    T.check(sum(put.values()) == sum(get.values()),
            f"total put {sum(put.values())} != total get {sum(get.values())}")
    T.check(put.get("e1000", 0) > 0 and put.get("serial", 0) > 0, f"sections missing: {put}")

    # The source only saves and the destination only loads.
    put_funcs = {k[1] for k in put_maps[("@calls", 2)]}
    get_funcs = {k[1] for k in get_maps[("@calls", 2)]}
    T.check("vmstate_save_state" in put_funcs and "vmstate_load_state" not in put_funcs,
            f"source functions: {sorted(put_funcs)}")
    T.check("vmstate_load_state" in get_funcs and "vmstate_save_state" not in get_funcs,
            f"destination functions: {sorted(get_funcs)}")
    if summary:
        T.check(put_funcs | get_funcs <= {"vmstate_save_state", "vmstate_save_state_v",
                                          "vmstate_load_state"},
                f"summary mode counted {sorted(put_funcs | get_funcs)}")
    # Each section was timed on both sides: one sample per section instance.
    saved = {k: sum(n for _, n in v) for k, v in put_hists["@usecs"].items()}
    loaded = {k: sum(n for _, n in v) for k, v in get_hists["@usecs"].items()}
    T.check(saved == loaded, f"sections saved {saved} != loaded {loaded}")
    T.check(saved.get("serial") == 2 and saved.get("e1000") == 2, f"section counts: {saved}")
    T.log(f"{len(put) - (not summary)} sections, {sum(put.values())} bytes each way")
    return put


def main():
    qemu = T.require_tracing()
    calls = check_run(False, *migrate(qemu, False))
    summary = check_run(True, *migrate(qemu, True))
    calls.pop("(none)", None)
    compare("@bytes per-call run against summary run", calls, summary)
    T.log(f"PASS: {len(summary)} sections, {sum(summary.values())} bytes each way in both modes")


main()
