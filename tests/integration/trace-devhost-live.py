#!/usr/bin/env python3
"""A live vmscope-devhost-to-devhost migration over a unix socket, both ends
traced through vmscope's USDT probes, twice: once call by call (-m calls)
and once in summary mode (one probe hit per section, the default).

Both pairs of hosts start paused (-S) with the same devices, so they hold
the same initial state and migrate the same stream.  What the source puts
into each section must be exactly what the destination gets out of it (per
section, per innermost VMStateDescription in calls mode, in total), and
each section's payload in that stream (a third host started alike writes it
to a file, which vmscope-view reads); the visit_* calls must be the same on
both sides; and the summary mode's per-section maps must equal those
counted call by call.
"""
import collections
import json
import os
import subprocess
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


def migrate(tmp, mode):
    """One traced migration; returns the (put, get) JSON results."""
    sock = os.path.join(tmp, f"{mode}.sock")
    src = T.Devhost(tmp, f"{mode}-src")
    dst = T.Devhost(tmp, f"{mode}-dst", incoming=f"unix:{sock}")
    put = T.Tracer(tmp, f"{mode}-put", ["-p", str(src.pid), "-m", mode, "--json"])
    get = T.Tracer(tmp, f"{mode}-get", ["-p", str(dst.pid), "-m", mode, "--json"])
    src.cmd("migrate", uri=f"unix:{sock}")
    src.wait_migration()
    dst.wait_status("paused")
    src.quit()
    dst.quit()
    # Each tracer ends on its own once its process is gone.
    return T.parse_json(put.wait()), T.parse_json(get.wait())


def by_section(maps, name):
    """{section: {func: n}} of a two-key map, without (none)."""
    out = {}
    for (section, func), n in maps.get((name, 2), {}).items():
        if section != "(none)":
            out.setdefault(section, {})[func] = n
    return out


def visits(calls):
    return {s: {f: n for f, n in fs.items() if f.startswith("visit_")} for s, fs in calls.items()}


def check_pair(mode, put_res, get_res):
    (_, put_maps, put_hists, put_stats), (_, get_maps, get_hists, get_stats) = put_res, get_res
    for stats in (put_stats, get_stats):
        T.check(stats and not any(stats.values()), f"{mode}: losses {stats}")
    put = T.one_key(put_maps[("@bytes", 1)])
    get = T.one_key(get_maps[("@bytes", 1)])
    T.log(f"{mode}: {'section':14} {'put (source)':>13} {'get (destination)':>18}")
    for k in sorted(set(put) | set(get)):
        T.log(f"{mode}: {k:14} {put.get(k)!s:>13} {get.get(k)!s:>18}")
    compare(f"{mode}: @bytes", put, get)
    T.check("(none)" not in put, f"{mode}: bytes outside any section: {put}")
    for s in sorted({d["section"] for d in T.devhost_default_devices()}):
        T.check(put.get(s, 0) > 0, f"{mode}: no bytes for section {s}: {put}")

    put_calls = by_section(put_maps, "@calls")
    get_calls = by_section(get_maps, "@calls")
    put_funcs = {f for fs in put_calls.values() for f in fs}
    get_funcs = {f for fs in get_calls.values() for f in fs}
    T.check(all(f.startswith(("qemu_put_", "visit_")) or f == "vmstate_save_state"
                for f in put_funcs), f"{mode}: source functions {sorted(put_funcs)}")
    T.check(all(f.startswith(("qemu_get_", "visit_")) or f in ("vmstate_load_state", "qemu_file_skip")
                for f in get_funcs), f"{mode}: destination functions {sorted(get_funcs)}")
    # A load visits what a save visits.
    T.check(visits(put_calls) == visits(get_calls),
            f"{mode}: visits differ: put {visits(put_calls)}, get {visits(get_calls)}")
    saves = {s: fs.get("vmstate_save_state") for s, fs in put_calls.items()}
    loads = {s: fs.get("vmstate_load_state") for s, fs in get_calls.items()}
    T.check(saves == loads, f"{mode}: descriptions saved {saves}, loaded {loads}")

    # Each section was timed on both sides: one sample per device.
    saved = {k: sum(b["count"] for b in v) for k, v in put_hists["@usecs"].items()}
    loaded = {k: sum(b["count"] for b in v) for k, v in get_hists["@usecs"].items()}
    T.check(saved == loaded, f"{mode}: sections saved {saved} != loaded {loaded}")
    T.check(saved.get("serial") == 2 and saved.get("slirp") == 1, f"{mode}: sections {saved}")

    if mode == "calls":
        compare(f"{mode}: @vmsd_bytes", T.one_key(put_maps[("@vmsd_bytes", 1)]),
                T.one_key(get_maps[("@vmsd_bytes", 1)]))
        vmsd = T.one_key(put_maps[("@vmsd_bytes", 1)])
        T.check(sum(vmsd.values()) == sum(put.values()),
                f"{mode}: @vmsd_bytes add up to {sum(vmsd.values())}, not {sum(put.values())}")
        T.check(vmsd.get("Fifo8", 0) > 0, f"{mode}: no nested description: {vmsd}")
    else:
        T.check(("@vmsd_bytes", 1) not in put_maps, f"{mode}: has @vmsd_bytes")
    return put, put_calls, get_calls


def stream_sizes(tmp):
    """Per-section payload sizes of the stream a third host, started alike,
    writes to a file, as vmscope-view reads them."""
    mig = os.path.join(tmp, "alike.mig")
    host = T.Devhost(tmp, "alike")
    host.cmd("migrate", uri=f"exec:cat > {mig}")
    host.wait_migration()
    host.quit()
    r = subprocess.run([T.view_binary(), "stream", mig, "--format", "json"],
                       capture_output=True, text=True, timeout=T.WAIT)
    T.check(r.returncode == 0, f"vmscope-view stream {mig}: {r.stderr}")
    sizes = collections.Counter()
    for s in json.loads(r.stdout)["sections"]:
        sizes[s["name"]] += s["size"]
    return dict(sizes)


def main():
    T.require_devhost_tracing()
    if not os.path.exists(T.view_binary()):
        T.skip(f"{T.view_binary()} is not built")
    tmp = T.tmpdir()
    calls_put, calls_src, calls_dst = check_pair("calls", *migrate(tmp, "calls"))
    sum_put, sum_src, sum_dst = check_pair("summary", *migrate(tmp, "summary"))
    # The stream: the same sizes, section by section.
    sizes = stream_sizes(tmp)
    compare("@bytes against the stream's payloads", calls_put, sizes)
    # The summary's counts, handed over once per section, are what the
    # calls mode counts one by one.
    compare("@bytes, calls vs summary", calls_put, sum_put)
    T.check(calls_src == sum_src, f"source @calls: calls mode {calls_src}, summary {sum_src}")
    T.check(calls_dst == sum_dst, f"destination @calls: calls mode {calls_dst}, summary {sum_dst}")
    T.log(f"PASS: {len(calls_put)} sections, {sum(calls_put.values())} bytes each way, "
          "the same in both modes")


main()
