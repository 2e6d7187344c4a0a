#!/usr/bin/env python3
"""A running vmscope-devhost migrates to `exec:cat > FILE`, traced through its
USDT probes, once call by call (-m calls) and once in summary mode.

For every section the traced bytes must equal the section's payload in the
file, as `vmscope-view stream FILE --format json` reports it ("size").  And
every call must be what the devices' descriptions say: the expected
visit_* calls, qemu_put_* calls and vmstate_save_state calls of each
section are computed here from the descriptions the host publishes in its
segment (the shapes: which fields are arrays) and the vmdesc at the end of
the file (which subsections were sent, how many elements each array had),
never written down by hand.
"""
import collections
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tracetest as T  # noqa: E402

PUT_INT = {1: "qemu_put_byte", 2: "qemu_put_be16", 4: "qemu_put_be32", 8: "qemu_put_be64"}


def visit_names(fields):
    """QEMU's vmdesc names: a name shared by several fields gets [k]."""
    total = collections.Counter(f["name"] for f in fields)
    seen = collections.Counter()
    out = []
    for f in fields:
        n = f["name"]
        out.append(f"{n}[{seen[n]}]" if total[n] > 1 else n)
        seen[n] += 1
    return out


def walk(desc, vmdesc, c):
    """Add to Counter c the calls that saving one description makes:
    `desc` is its vmstate_describe() JSON (from the segment), `vmdesc` what
    the stream's vmdesc says was saved of it."""
    c["vmstate_save_state"] += 1
    entries = vmdesc.get("fields", [])
    j = 0
    for f, name in zip(desc["fields"], visit_names(desc["fields"])):
        taken = []
        while j < len(entries) and entries[j]["name"] == name:
            taken.append(entries[j])
            j += 1
        if len(taken) == 1 and "array_len" in taken[0]:
            elems = taken * taken[0]["array_len"]
        else:
            elems = taken        # one per "index", one, or none (an empty array)
        if "array" in f:
            c["visit_start_list"] += 1
            c["visit_end_list"] += 1
        else:
            T.check(len(elems) == 1, f"{desc['name']}.{name}: {len(elems)} vmdesc entries")
        for e in elems:
            element(f, e, c)
    T.check(j == len(entries), f"{desc['name']}: vmdesc fields left: {entries[j:]}")
    subs = {s["name"]: s for s in desc.get("subsections", [])}
    for sv in vmdesc.get("subsections", []):
        # Opened by the parent: its header is put_byte (0x05), put_byte (length),
        # put_buffer (name), put_be32 (version), as QEMU writes it.
        c["visit_start_struct"] += 1
        c["visit_end_struct"] += 1
        c["qemu_put_byte"] += 2
        c["qemu_put_buffer"] += 1
        c["qemu_put_be32"] += 1
        walk(subs[sv["vmsd_name"]], sv, c)


def element(f, e, c):
    t = f["type"]
    if t == "struct":
        c["visit_start_struct"] += 1
        c["visit_end_struct"] += 1
        walk(f["struct"], e["struct"], c)
    elif t in ("buffer", "unused"):
        c["visit_type_buffer"] += 1
        c["qemu_put_buffer"] += 1
    elif t == "bool":
        c["visit_type_bool"] += 1
        c["qemu_put_byte"] += 1
    else:
        c["visit_type_" + t.removesuffix("_equal")] += 1
        c[PUT_INT[f["size"]]] += 1


def expected_calls(host, stream):
    """{section name: Counter of calls} for the sections of `stream`."""
    descs = {(d["name"], inst): d for _, _, inst, d in host.descriptions()}
    out = {}
    for dev in stream["vmdesc"]["devices"]:
        key = (dev["name"], dev["instance_id"])
        T.check(key in descs, f"section {key} has no device in the segment")
        walk(descs[key], dev, out.setdefault(dev["name"], collections.Counter()))
    return out


def run(tmp, mode):
    mig = os.path.join(tmp, f"{mode}.mig")
    # Running devices (a tick every 5 ms), so that the state has grown
    # lists (slirp's sockets) and optional subsections.
    host = T.Devhost(tmp, f"file-{mode}", paused=False, tick_ms=5)
    tracer = T.Tracer(tmp, mode, ["-p", str(host.pid), "-m", mode, "--json"])
    time.sleep(0.3)
    host.cmd("migrate", uri=f"exec:cat > {mig}")
    host.wait_migration()
    expected = None
    r = subprocess.run([T.view_binary(), "stream", mig, "--format", "json", "--vmdesc"],
                       capture_output=True, text=True, timeout=T.WAIT)
    T.check(r.returncode == 0, f"vmscope-view stream {mig}: {r.stderr}")
    stream = json.loads(r.stdout)
    expected = expected_calls(host, stream)
    host.quit()
    _, maps, hists, stats = T.parse_json(tracer.wait())
    T.check(stats and not any(stats.values()), f"{mode}: losses {stats}")

    # Bytes: the payload of each section in the file (same-named sections add up).
    sizes = collections.Counter()
    for s in stream["sections"]:
        sizes[s["name"]] += s["size"]
    traced = T.one_key(maps[("@bytes", 1)])
    T.log(f"{mode}: {'section':14} {'traced':>8} {'in file':>8}")
    for k in sorted(set(sizes) | set(traced)):
        T.log(f"{mode}: {k:14} {traced.get(k)!s:>8} {sizes.get(k)!s:>8}")
    T.check(dict(sizes) == traced, f"{mode}: traced bytes {traced}, sizes in the file {dict(sizes)}")

    # Calls: exactly what the descriptions say, function by function.
    got = {}
    for (section, func), n in maps[("@calls", 2)].items():
        if section != "(none)":
            got.setdefault(section, {})[func] = n
    want = {s: dict(c) for s, c in expected.items()}
    for s in sorted(set(want) | set(got)):
        w, g = want.get(s, {}), got.get(s, {})
        bad = {f: (g.get(f), w.get(f)) for f in set(w) | set(g) if g.get(f) != w.get(f)}
        T.check(not bad, f"{mode}: section {s}: (traced, expected) {bad}")
        T.log(f"{mode}: {s}: {sum(v for f, v in w.items() if f.startswith('visit_'))} visits, "
              f"{sum(v for f, v in w.items() if f.startswith('qemu_put_'))} puts, "
              f"{w['vmstate_save_state']} descriptions, as described")
    n_sections = collections.Counter(s["name"] for s in stream["sections"])
    timed = {k: sum(b["count"] for b in v) for k, v in hists["@usecs"].items()}
    T.check(timed == dict(n_sections), f"{mode}: timed sections {timed}, in file {n_sections}")
    return traced


def main():
    T.require_devhost_tracing()
    if not os.path.exists(T.view_binary()):
        T.skip(f"{T.view_binary()} is not built")
    tmp = T.tmpdir()
    for mode in ("calls", "summary"):
        traced = run(tmp, mode)
        T.log(f"{mode}: {len(traced)} sections, {sum(traced.values())} bytes, calls as described")
    T.log("PASS")


main()
