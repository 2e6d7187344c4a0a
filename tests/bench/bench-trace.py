#!/usr/bin/env python3
"""Benchmark vmscope-trace (run by `make bench`; prints figures, never fails on timing).

1. Attach time: from starting the tracer to the moment its probes are live
   ("Hit Ctrl-C" from vmscope-trace, the BEGIN probe's printf from bpftrace),
   and detach time (SIGINT to exit), for
     - vmscope-trace on all of QEMU's attach points (~1400 functions),
     - vmscope-trace and bpftrace on the same 28 functions (put/get/vmstate
       and a few visitors: bpftrace would need minutes to detach from all),
     - vmscope-trace on those 28 with one perf uprobe each (the fallback for
       kernels without uprobe_multi).
   Target: vmscope-trace attaches in under 100 ms.

2. Migration time of a paused QEMU's device state (x-ignore-shared, RAM in
   /dev/shm, to exec:cat > /dev/null), untraced and traced, from the migrate
   command to QEMU's MIGRATION "completed" event (QEMU's own timestamp).
   Two machines: the tests' (two e1000 NICs, whose 32768-register arrays
   make ~69000 qemu_put_be32 calls) and a small one (two serial ports, no
   NIC).  Traced in summary mode (-m summary: vmstate_* only), call by call,
   and call by call with --events.  Target: traced no more than 1.5x
   untraced.

3. vmscope-devhost, through its USDT probes: attach and detach time in
   summary and calls mode (target: under 100 ms), and the migration time of
   a host of 1,000 serial ports (device state only) to a fresh destination
   over a unix socket and to exec:cat > /dev/null, untraced and traced in
   summary mode, calls mode and calls mode with --events (one tracer on
   every devhost process, so both ends of the unix migrations).  Target:
   traced no more than 1.5x untraced.
"""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import tracetest as T  # noqa: E402

RUNS = 5
SUBSET = [
    "qemu_put_byte", "qemu_put_be16", "qemu_put_be32", "qemu_put_be64", "qemu_put_buffer",
    "qemu_put_buffer_async", "qemu_put_counted_string",
    "qemu_get_byte", "qemu_get_be16", "qemu_get_be32", "qemu_get_be64", "qemu_get_buffer",
    "qemu_get_buffer_in_place", "qemu_file_skip",
    "vmstate_save_state", "vmstate_save_state_v", "vmstate_load_state",
    "visit_start_struct", "visit_end_struct", "visit_start_list", "visit_end_list",
    "visit_type_int", "visit_type_str", "visit_type_bool", "visit_type_enum",
    "visit_type_uint64", "visit_type_q_obj_migrate_arg_members", "visit_type_MigrationInfo",
]


def skipped(why):
    print(f"bench-trace: skipped: {why}")
    sys.exit(0)


def wait_for(path, text, proc, what):
    deadline = time.monotonic() + T.WAIT
    while True:
        with open(path) as f:
            if text in f.read():
                return
        if proc.poll() is not None or time.monotonic() > deadline:
            with open(path) as f:
                raise RuntimeError(f"{what} did not start: {f.read().strip()[-300:]}")
        time.sleep(0.001)


def stop(proc):
    t = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=600)
    return time.monotonic() - t


def tracer_cycle(tmp, qemu, args, env=None):
    """(attach s, detach s, attach syscalls s) for one vmscope-trace run."""
    err_path = os.path.join(tmp, "bench-trace.err")
    with open(err_path, "w") as err:
        t = time.monotonic()
        p = T.spawn([T.trace_binary(), "-b", qemu, "-v"] + args, stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=err,
                    env=dict(os.environ, **env) if env else None)
        wait_for(err_path, "Hit Ctrl-C", p, "vmscope-trace")
        attach = time.monotonic() - t
    detach = stop(p)
    with open(err_path) as f:
        # "vmscope-trace: N uprobes on M functions of ... with uprobe_multi in 3.2 ms"
        line = [x for x in f.read().splitlines() if " uprobes on " in x][-1]
        inner = float(line.rsplit(" in ", 1)[1].split(" ms")[0]) / 1e3
    return attach, detach, inner


def bpftrace_cycle(tmp, qemu, funcs):
    out_path = os.path.join(tmp, "bench-bpftrace.out")
    probes = ",".join(f"uprobe:{qemu}:{f}" for f in funcs)
    script = f'BEGIN {{ printf("ready\\n"); }} {probes} {{ @[probe] = count(); }}'
    with open(out_path, "w") as out:
        t = time.monotonic()
        p = T.spawn(["bpftrace", "-B", "line", "-e", script], stdin=subprocess.DEVNULL,
                    stdout=out, stderr=subprocess.STDOUT)
        wait_for(out_path, "ready", p, "bpftrace")
        attach = time.monotonic() - t
    return attach, stop(p)


def ms(xs):
    return f"{statistics.median(xs) * 1e3:9.1f}"


def bench_attach(tmp, qemu):
    print("== attach (median of %d; ms)" % RUNS)
    print(f"{'':46} {'ready':>9} {'attach':>9} {'detach':>9}")
    only = [a for f in SUBSET for a in ("-f", f)]
    rows = [("vmscope-trace, all functions (uprobe_multi)", [], None),
            (f"vmscope-trace, {len(SUBSET)} functions (uprobe_multi)", only, None),
            (f"vmscope-trace, {len(SUBSET)} functions (perf uprobes)", only,
             {"VMSCOPE_TRACE_UPROBES": "perf"})]
    full = None
    for label, args, env in rows:
        runs = [tracer_cycle(tmp, qemu, args, env) for _ in range(RUNS)]
        print(f"{label:46} {ms([r[0] for r in runs])} {ms([r[2] for r in runs])} "
              f"{ms([r[1] for r in runs])}")
        full = full or runs
    if shutil.which("bpftrace"):
        runs = [bpftrace_cycle(tmp, qemu, SUBSET) for _ in range(RUNS)]
        print(f"{'bpftrace, %d functions' % len(SUBSET):46} {ms([r[0] for r in runs])} "
              f"{'':>9} {ms([r[1] for r in runs])}")
    else:
        print("bpftrace: not installed")
    print("(ready: start to probes live, process start-up and BPF load included;"
          " attach: the attach system calls alone)")
    ready = statistics.median(r[0] for r in full)
    print(f"target: attach under 100 ms: all functions ready in {ready * 1e3:.1f} ms: "
          f"{'met' if ready < 0.1 else 'NOT met'}")


class Machine:
    def __init__(self, qemu, tmp, name, devices):
        T.Qemu.DEVICES = devices
        self.q = T.Qemu(qemu, tmp, name, T.shm_path(name))
        self.q.set_capabilities(x_ignore_shared=True, events=True)
        self.migrated = False

    def migrate_ms(self):
        q = self.q
        if self.migrated:
            # Completed is announced a little before the run state changes.
            q.wait_status("postmigrate")
            q.cmd("cont")
            q.cmd("stop")
        self.migrated = True
        q.events.clear()
        t0 = time.time()
        q.cmd("migrate", uri="exec:cat > /dev/null")
        deadline = time.monotonic() + T.WAIT
        while True:
            for e in q.events:
                if e["event"] == "MIGRATION" and e["data"]["status"] == "completed":
                    ts = e["timestamp"]
                    return (ts["seconds"] + ts["microseconds"] / 1e6 - t0) * 1e3
                if e["event"] == "MIGRATION" and e["data"]["status"] == "failed":
                    raise RuntimeError("migration failed")
            if time.monotonic() > deadline:
                raise RuntimeError("migration did not complete")
            q.events.extend([q._read()])

    def calls(self, tmp):
        tr = T.Tracer(tmp, "count", ["-p", str(self.q.pid)])
        self.migrate_ms()
        maps, _, _ = T.parse_text(tr.stop())
        return sum(T.one_key(maps[("@calls", 1)]).values())


def bench_migration(tmp, qemu):
    big = T.Qemu.DEVICES
    small = big[:8]    # the two serial ports only
    print("== migration of device state (median of %d; ms from migrate to completed)" % RUNS)
    print(f"{'machine':22} {'calls':>7} {'untraced':>9} {'summary':>9} {'ratio':>6} "
          f"{'calls':>9} {'ratio':>6} {'+events':>9} {'ratio':>6} {'us/call':>8}")
    ratios, hits = [], []
    for name, devices in (("2 serial + 2 e1000", big), ("2 serial", small)):
        m = Machine(qemu, tmp, name.replace(" ", "").replace("+", "-"), devices)
        calls = m.calls(tmp)
        untraced = [m.migrate_ms() for _ in range(RUNS)]
        tr = T.Tracer(tmp, "summary", ["-p", str(m.q.pid), "-m", "summary"])
        summary = [m.migrate_ms() for _ in range(RUNS)]
        smaps, _, _ = T.parse_text(tr.stop())
        # Probe hits per migration: an entry and a return per vmstate call.
        hits.append((name, 2 * sum(T.one_key(smaps[("@calls", 1)]).values()) // RUNS))
        tr = T.Tracer(tmp, "plain", ["-p", str(m.q.pid)])
        traced = [m.migrate_ms() for _ in range(RUNS)]
        tr.stop()
        tr = T.Tracer(tmp, "events", ["-p", str(m.q.pid), "--events"])
        with_events = [m.migrate_ms() for _ in range(RUNS)]
        tr.stop()
        m.q.quit()
        u, sm, t, e = (statistics.median(x) for x in (untraced, summary, traced, with_events))
        print(f"{name:22} {calls:>7} {u:>9.1f} {sm:>9.1f} {sm / u:>6.2f} {t:>9.1f} {t / u:>6.1f} "
              f"{e:>9.1f} {e / u:>6.1f} {(t - u) * 1e3 / calls:>8.2f}")
        ratios.append((name, sm / u, t / u))
    T.Qemu.DEVICES = big
    print("probe hits per migration in summary mode: " +
          ", ".join(f"{n}: {h}" for n, h in hits))
    print("target: traced migration at most 1.5x untraced: " +
          "; ".join(f"{n}: summary {rs:.2f}x {'met' if rs <= 1.5 else 'NOT met'}, "
                    f"calls {rc:.1f}x {'met' if rc <= 1.5 else 'NOT met'}" for n, rs, rc in ratios))
    print("(summary: only vmstate_* are probed, an entry and a return per vmstate call; calls: every put/get"
          " call is an uprobe hit, a trap into the kernel whose cost, us/call, dwarfs the tens"
          " of ns QEMU spends per call)")


# ---------------------------------------------------------------- vmscope-devhost

DEVHOST_DEVICES = "serial:1000"
DEVHOST_RUNS = 11


def wait_completed(q, t0):
    """ms from t0 (time.time()) to the MIGRATION "completed" event's timestamp."""
    deadline = time.monotonic() + T.WAIT
    while True:
        for e in q.events:
            if e["event"] == "MIGRATION" and e["data"]["status"] == "completed":
                ts = e["timestamp"]
                return (ts["seconds"] + ts["microseconds"] / 1e6 - t0) * 1e3
            if e["event"] == "MIGRATION" and e["data"]["status"] in ("failed", "cancelled"):
                raise RuntimeError(f"migration {e['data']['status']}")
        if time.monotonic() > deadline:
            raise RuntimeError("migration did not complete")
        q.events.append(q._read())


class DevhostPair:
    """A paused source of DEVHOST_DEVICES devices; each migration goes to a
    fresh paused destination over a unix socket (save, send, load, answer)
    or to exec:cat > /dev/null (save and send)."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.n = 0
        self.src = T.Devhost(tmp, "bench-src", devices=DEVHOST_DEVICES)
        self.src.set_capabilities(events=True)
        self.migrated = False

    def migrate_ms(self, transport):
        src = self.src
        if self.migrated:
            src.wait_status("postmigrate")
            src.cmd("cont")
            src.cmd("stop")
        self.migrated = True
        dst = None
        if transport == "unix":
            self.n += 1
            sock = os.path.join(self.tmp, f"bench-{self.n}.sock")
            dst = T.Devhost(self.tmp, f"bench-dst{self.n}", devices=DEVHOST_DEVICES,
                            incoming=f"unix:{sock}")
            uri = f"unix:{sock}"
        else:
            uri = "exec:cat > /dev/null"
        src.events.clear()
        t0 = time.time()
        src.cmd("migrate", uri=uri)
        took = wait_completed(src, t0)
        if dst:
            dst.quit()
        return took

    def quit(self):
        self.src.quit()


def devhost_tracer_cycle(tmp, devhost, args):
    """(ready s, detach s, attach syscalls s) for vmscope-trace on the devhost."""
    err_path = os.path.join(tmp, "bench-devhost-trace.err")
    with open(err_path, "w") as err:
        t = time.monotonic()
        p = T.spawn([T.trace_binary(), "-b", devhost, "-v"] + args, stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=err)
        wait_for(err_path, "Hit Ctrl-C", p, "vmscope-trace")
        ready = time.monotonic() - t
    detach = stop(p)
    with open(err_path) as f:
        line = [x for x in f.read().splitlines() if " uprobes on " in x][-1]
        inner = float(line.rsplit(" in ", 1)[1].split(" ms")[0]) / 1e3
    return ready, detach, inner


def bench_devhost(tmp, devhost):
    print("== vmscope-devhost: attach to its USDT probes (median of %d; ms)" % RUNS)
    print(f"{'':46} {'ready':>9} {'attach':>9} {'detach':>9}")
    readies = []
    for label, args in (("summary mode (2 probes)", []), ("calls mode (7 probes)", ["-m", "calls"])):
        runs = [devhost_tracer_cycle(tmp, devhost, args) for _ in range(RUNS)]
        print(f"{label:46} {ms([r[0] for r in runs])} {ms([r[2] for r in runs])} "
              f"{ms([r[1] for r in runs])}")
        readies.append(statistics.median(r[0] for r in runs))
    print(f"target: attach under 100 ms: ready in {max(readies) * 1e3:.1f} ms at most: "
          f"{'met' if max(readies) < 0.1 else 'NOT met'}")

    print(f"== vmscope-devhost: migration of {DEVHOST_DEVICES} (median of {DEVHOST_RUNS}; "
          "ms from migrate to completed; one tracer on every devhost process)")
    pair = DevhostPair(tmp)
    # How many probe hits a migration makes, in each mode (both ends).
    tr = T.Tracer(tmp, "count", ["-b", devhost, "-m", "calls", "--json"])
    pair.migrate_ms("unix")
    _, maps, hists, _ = T.parse_json(tr.stop())
    per_func = T.one_key(maps[("@calls", 1)])
    calls = sum(per_func.values())
    sections = sum(b["count"] for v in hists["@usecs"].values() for b in v)
    # calls mode: one hit per call, plus the done probe of every description
    hits = calls + per_func.get("vmstate_save_state", 0) + per_func.get("vmstate_load_state", 0)
    print(f"per unix migration (both ends): {calls} calls in {sections} sections; probe hits: "
          f"summary mode {sections}, calls mode {hits}")
    rows = (("untraced", None), ("summary", ["-m", "summary"]), ("calls", ["-m", "calls"]),
            ("calls + events", ["-m", "calls", "--events"]))
    # Rounds of every mode in turn, so that the load of a shared machine
    # spreads over all of them alike.
    times = {(label, tp): [] for label, _ in rows for tp in ("unix", "exec")}
    for _ in range(DEVHOST_RUNS):
        for label, args in rows:
            tr = T.Tracer(tmp, f"bench-{label.replace(' ', '')}", ["-b", devhost] + args) \
                if args else None
            for transport in ("unix", "exec"):
                times[(label, transport)].append(pair.migrate_ms(transport))
            if tr:
                tr.stop()
    print(f"{'transport':10} " + " ".join(f"{label:>15}" for label, _ in rows))
    ratios = {}
    for transport in ("unix", "exec"):
        med = [statistics.median(times[(label, transport)]) for label, _ in rows]
        cells = [f"{med[0]:>15.1f}"] + [f"{m:>8.1f} {m / med[0]:>5.2f}x" for m in med[1:]]
        print(f"{transport:10} " + " ".join(cells))
        ratios[transport] = [m / med[0] for m in med[1:]]
    pair.quit()
    print("(unix: source saves, sends, destination loads and answers; exec: save and send)")
    for i, (label, _) in enumerate(rows[1:]):
        worst = max(r[i] for r in ratios.values())
        print(f"target: traced at most 1.5x untraced, {label}: {worst:.2f}x at worst: "
              f"{'met' if worst <= 1.5 else 'NOT met'}")


def main():
    if not os.path.exists(T.trace_binary()):
        skipped("vmscope-trace is not built")
    if os.geteuid() != 0:
        skipped("needs root to load BPF programs")
    tmp = T.tmpdir()
    qemu = T.qemu_binary()
    if not qemu or not os.path.exists(qemu):
        print("bench-trace: QEMU: skipped: qemu-system-x86_64 not found")
    else:
        r = subprocess.run([T.trace_binary(), "-b", qemu, "-f", "qemu_put_byte", "-d", "0.01"],
                           capture_output=True, text=True, timeout=T.WAIT)
        if r.returncode != 0:
            skipped(r.stderr.strip())
        bench_attach(tmp, qemu)
        bench_migration(tmp, qemu)
    devhost = T.devhost_binary()
    if not os.path.exists(devhost):
        print(f"bench-trace: vmscope-devhost: skipped: {devhost} is not built")
    elif not T.has_usdt(devhost):
        print(f"bench-trace: vmscope-devhost: skipped: {devhost} has no USDT probes")
    else:
        bench_devhost(tmp, devhost)


main()
