#!/usr/bin/env python3
"""vmscope-trace and bpftrace watch the same migration and must agree.

A QEMU saves its device state to a file (x-ignore-shared) while both
vmscope-trace (--events --json) and bpftrace (Debian's package) trace it.
bpftrace attaches plain uprobes to the same functions, one perf event each,
so it gets a subset: every put/get/vmstate point and a handful of visitors
(all ~1400 visit_type_* would take bpftrace minutes to detach).  For every
function of that subset the call counts must be equal.

vmscope-trace must also agree with itself: one event per call, the bytes of
the events add up to the maps, the maps add up to the size of the file.
"""
import collections
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tracetest as T  # noqa: E402

FUNCS = [
    "qemu_put_byte", "qemu_put_be16", "qemu_put_be32", "qemu_put_be64", "qemu_put_buffer",
    "qemu_put_buffer_async", "qemu_put_counted_string",
    "qemu_get_byte", "qemu_get_be16", "qemu_get_be32", "qemu_get_be64", "qemu_get_buffer",
    "qemu_get_buffer_in_place", "qemu_file_skip",
    "vmstate_save_state", "vmstate_save_state_v", "vmstate_load_state",
    "visit_start_struct", "visit_end_struct", "visit_start_list", "visit_end_list",
    "visit_type_int", "visit_type_str", "visit_type_bool", "visit_type_enum",
    "visit_type_uint64", "visit_type_q_obj_migrate_arg_members", "visit_type_MigrationInfo",
]


def start_bpftrace(tmp, qemu, pid):
    probes = ",\n".join(f"uprobe:{qemu}:{f}" for f in FUNCS)
    script = (f"BEGIN {{ printf(\"ready\\n\"); }}\n"
              f"{probes}\n/pid == {pid}/ {{ @calls[probe] = count(); }}\n")
    out_path = os.path.join(tmp, "bpftrace.out")
    with open(out_path, "w") as out:
        proc = T.spawn(["bpftrace", "-B", "line", "-e", script], stdin=subprocess.DEVNULL,
                       stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + T.WAIT
    while True:
        with open(out_path) as f:
            text = f.read()
        if "ready" in text:
            return proc, out_path
        if proc.poll() is not None:
            T.skip(f"bpftrace cannot run here: {text.strip().splitlines()[-1:]}")
        if time.monotonic() > deadline:
            T.fail(f"bpftrace not ready after {T.WAIT} s")
        time.sleep(0.02)


def main():
    qemu = T.require_tracing()
    if not shutil.which("bpftrace"):
        T.skip("bpftrace is not installed")
    tmp = T.tmpdir()
    src = T.Qemu(qemu, tmp, "src", T.shm_path("src"))
    bt, bt_out = start_bpftrace(tmp, qemu, src.pid)
    tracer = T.Tracer(tmp, "trace", ["-p", str(src.pid), "--events", "--json"])
    src.set_capabilities(x_ignore_shared=True)
    path = os.path.join(tmp, "state.mig")
    src.cmd("migrate", uri=f"exec:cat > {path}")
    src.wait_migration()
    # Stop bpftrace first: vmscope-trace's window is then inside bpftrace's,
    # and nothing happens in QEMU in between.
    bt.send_signal(2)
    try:
        bt.wait(timeout=T.WAIT)
    except subprocess.TimeoutExpired:
        T.fail(f"bpftrace did not stop within {T.WAIT} s")
    events, maps, _, stats = T.parse_json(tracer.stop())
    src.quit()

    with open(bt_out) as f:
        bt_calls = {m.group(1): int(m.group(2)) for m in
                    re.finditer(r"^@calls\[uprobe:[^\]]*:(\w+)\]: (\d+)$", f.read(), re.M)}
    calls = T.one_key(maps[("@calls", 1)])
    T.check(bt_calls, "bpftrace counted nothing")
    bad = []
    T.log(f"{'function':40} {'vmscope-trace':>14} {'bpftrace':>10}")
    for f in FUNCS:
        a, b = calls.get(f, 0), bt_calls.get(f, 0)
        if a or b:
            T.log(f"{f:40} {a:>14} {b:>10}")
        if a != b:
            bad.append(f"{f}: vmscope-trace {a}, bpftrace {b}")
    T.check(not bad, "; ".join(bad))
    T.check(calls.get("qemu_put_be32", 0) > 1000, f"too few qemu_put_be32 calls: {calls}")

    # One event per call: on entry, or on return for functions whose byte count
    # is their return value (every traced call has returned by now).
    T.check(stats["dropped_events"] == 0, f"dropped events: {stats}")
    per_func = collections.Counter(e["func"] for e in events if e["phase"] != "return")
    T.check(per_func == collections.Counter(calls),
            f"events per function {dict(per_func)} != @calls {calls}")
    ev_bytes = collections.Counter()
    for e in events:
        ev_bytes[e["section"]] += e.get("bytes", 0)
    traced = T.one_key(maps[("@bytes", 1)])
    T.check({k: v for k, v in ev_bytes.items() if v} == {k: v for k, v in traced.items() if v},
            f"event bytes {dict(ev_bytes)} != @bytes {traced}")
    size = os.path.getsize(path)
    T.check(sum(traced.values()) == size, f"traced {sum(traced.values())} bytes, file has {size}")
    T.log(f"PASS: {len(bt_calls)} functions agree, {len(events)} events, {size} bytes")


main()
