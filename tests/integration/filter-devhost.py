#!/usr/bin/env python3
"""Tree filters on incoming migrations: kvm-apic into a host that has only an apic.

  1. Without a filter the destination refuses the stream (no kvm-apic
     device there) with a clear error; the source runs on (its state keeps
     changing), the destination still waits with its apic unchanged.
  2. With a filter whose tree does not fit the apic's description (a field
     left out), the load is refused with the field's path; the source runs on.
  3. With filters/kvm-apic-to-apic.json the migration completes, and the
     destination's apic holds the source's kvm-apic values: apicbase, and
     the registers read out of the KVM register page (exact values,
     computed here from the page the source shows).
  4. The same in BER (capability "ber" on at both ends).
"""
import json
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tracetest as tt  # noqa: E402

SRCDIR = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
RULES = os.path.join(SRCDIR, "filters", "kvm-apic-to-apic.json")


def host(tmp, name, devices, incoming=None, rules=None, **kw):
    """A device host running `devices`, with --filter RULES when given."""
    return tt.Devhost(tmp, name, devices=devices, incoming=incoming,
                      extra=["--filter", rules] if rules else [], **kw)


def apic_state(agent, h, device):
    return agent.states(h.host, 1)[device]


def migrate_end(src, uri):
    """Start a migration and wait for its end: query-migrate's answer."""
    src.cmd("migrate", uri=uri)
    deadline = time.monotonic() + tt.WAIT
    while (q := src.cmd("query-migrate"))["status"] not in ("completed", "failed"):
        tt.check(time.monotonic() < deadline, f"no end: {q}")
        time.sleep(0.01)
    return q


def check_runs_on(agent, src):
    """The source is running again and its kvm-apic keeps changing."""
    src.wait_status("running")
    first = apic_state(agent, src, "kvm-apic0")
    deadline = time.monotonic() + tt.WAIT
    while apic_state(agent, src, "kvm-apic0") == first:
        tt.check(time.monotonic() < deadline, "the source does not run on")
        time.sleep(0.05)


def refused(agent, tmp, name, rules, want):
    """A migration into an apic-only host (through `rules`) is refused with `want`."""
    src = host(tmp, f"{name}-src", "kvm-apic", paused=False, tick_ms=10)
    incoming = f"{tmp}/{name}.mig"
    dst = host(tmp, f"{name}-dst", "apic", incoming=f"unix:{incoming}", rules=rules)
    before = apic_state(agent, dst, "apic0")
    q = migrate_end(src, f"unix:{incoming}")
    tt.check(q["status"] == "failed", f"{name}: source {q}")
    tt.check(q["error-desc"] == want, f"{name}: error {q['error-desc']!r}, want {want!r}")
    check_runs_on(agent, src)
    tt.check(dst.cmd("query-status")["status"] == "inmigrate", f"{name}: the destination gave up")
    tt.check(apic_state(agent, dst, "apic0") == before, f"{name}: the destination's apic changed")
    return src, dst


def expected_apic(kvm):
    """The apic state kvm-apic-to-apic.json makes of a kvm-apic state."""
    page = bytes.fromhex(kvm["regs"])
    tt.check(len(page) == 1024, f"register page of {len(page)} bytes")

    def u32(off):
        return struct.unpack_from("<I", page, off)[0]

    return {
        "apicbase": kvm["apicbase"],
        "id": page[0x23], "arb_id": page[0x23], "tpr": page[0x80],
        "spurious_vec": u32(0xf0), "log_dest": page[0xd3], "dest_mode": 15,
        "isr": [u32(0x100 + 16 * i) for i in range(8)],
        "tmr": [u32(0x180 + 16 * i) for i in range(8)],
        "irr": [u32(0x200 + 16 * i) for i in range(8)],
        "lvt": [u32(0x320 + 16 * i) for i in range(6)],
        "esr": u32(0x280), "icr": [u32(0x300), u32(0x310)], "divide_conf": u32(0x3e0),
        "count_shift": 4, "initial_count": u32(0x380),
        "initial_count_load_time": 0, "next_time": 0, "timer_expiry": 0,
        # Not in the stream (kvm-apic has no such subsection): the destination's
        # own, as its apic0 starts (the boot processor waits for no SIPI).
        "apic/sipi": {"sipi_vector": 0, "wait_for_sipi": 0},
    }


def accepted(agent, tmp, name, ber):
    src = host(tmp, f"{name}-src", "kvm-apic", paused=False, tick_ms=10)
    incoming = f"{tmp}/{name}.mig"
    dst = host(tmp, f"{name}-dst", "apic", incoming=f"unix:{incoming}", rules=RULES)
    if ber:
        src.set_capabilities(ber=True)
        dst.set_capabilities(ber=True)
    # A tick or more: the page is not the initial one (TSC deadline, IRR, TMICT set).
    deadline = time.monotonic() + tt.WAIT
    while apic_state(agent, src, "kvm-apic0")["tsc_deadline"] == 0:
        tt.check(time.monotonic() < deadline, f"{name}: the source does not tick")
        time.sleep(0.02)
    q = migrate_end(src, f"unix:{incoming}")
    tt.check(q["status"] == "completed", f"{name}: {q}")
    tt.check(q["format"] == ("ber" if ber else "qemu"), f"{name}: format {q['format']}")
    src.wait_status("postmigrate")
    dst.wait_status("paused")
    kvm = apic_state(agent, src, "kvm-apic0")
    apic = apic_state(agent, dst, "apic0")
    want = expected_apic(kvm)
    tt.check(apic == want, f"{name}: apic {json.dumps(apic)}\n want {json.dumps(want)}")
    # Not the initial state: the timer count and the IRR came from the source's ticks.
    tt.check(apic["apicbase"] == 0xfee00900 and apic["spurious_vec"] == 0x1ff and
             apic["lvt"][0] == 0xec and apic["divide_conf"] == 3 and
             apic["initial_count"] in (0x200000, 0x100000, 0x80000, 0x40000) and
             sum(bin(x).count("1") for x in apic["irr"]) == 1, f"{name}: {apic}")
    tt.log(f"ok {name}: apic {json.dumps(apic)}")


def main():
    tmp = tt.tmpdir()
    agent = tt.Agent(tmp)

    # A bad rule file stops the host before it starts, naming the rule and the key.
    bad = f"{tmp}/bad.json"
    with open(bad, "w") as f:
        json.dump({"rules": [{"name": "n", "match": {"section": "x"},
                              "actions": [{"op": "rename-field", "field": "a"}]}]}, f)
    r = subprocess.run([tt.devhost_binary(), "--name", f"filter{os.getpid()}-bad", "--shm-dir",
                        tmp, "--filter", bad], capture_output=True, text=True, timeout=tt.WAIT)
    tt.check(r.returncode == 1 and r.stderr == f"vmscope-devhost: --filter: {bad}: rule 0 ('n'):"
             " actions[0].to: missing\n", f"bad rules: exit {r.returncode}: {r.stderr!r}")
    tt.check(not os.path.exists(f"{tmp}/vmscope-filter{os.getpid()}-bad"), "a segment was made")

    refused(agent, tmp, "plain", None,
            "the destination refused the migration: incoming migration: offset 50: section "
            "'kvm-apic' (instance 0): no such device "
            "on this host")
    tt.log("ok without the filter: refused, the source runs on")

    # A filter that leaves a field of the apic out: refused with its path.
    with open(RULES) as f:
        rules = json.load(f)
    rules["rules"][0]["actions"] = [a for a in rules["rules"][0]["actions"]
                                    if a.get("field") != "timer_expiry"]
    short = f"{tmp}/short.json"
    with open(short, "w") as f:
        json.dump(rules, f)
    refused(agent, tmp, "short", short,
            "the destination refused the migration: incoming migration: after the filter: "
            "device apic0: apic.timer_expiry: missing")
    tt.log("ok a filtered tree that does not fit: refused with the path, the source runs on")

    accepted(agent, tmp, "qemu", ber=False)
    accepted(agent, tmp, "ber", ber=True)
    tt.log("PASS")


main()
