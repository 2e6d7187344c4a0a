#!/usr/bin/env python3
"""Device-state snapshots of a live QEMU through vmscope-agent (make bench).

q35 guests under TCG with shared RAM and more than 15 device models, one
with heavy ones (six virtio devices, three NICs), one with light ones; the
agent holds its own monitor.  Figures, for each:

  - the VM pause per snapshot, from QEMU's STOP and RESUME event timestamps
    (the agent's "pause-us"), median and p99;
  - snapshot to decoded state (the agent's "snapshot-us": asking QEMU,
    reading the bytes back, decoding the sections that changed), median and
    p99, and a query-device-state round trip as a client sees it;
  - next to them, the downtime QEMU reports (query-migrate "downtime") for
    a device-state-only migration (x-ignore-shared, shared RAM) of the same
    VM.
Targets (issue 11): pause median <= 2 ms, p99 <= 5 ms; snapshot to decoded
state <= 10 ms median.  This prints figures; it asserts none.
"""
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import tracetest as tt  # noqa: E402

N = int(os.environ.get("BENCH_QEMU_SNAPSHOTS", "300"))
QEMU = tt.qemu_binary()
if not QEMU or not os.path.exists(QEMU):
    print("bench-qemu-snapshot: SKIP: qemu-system-x86_64 not found")
    sys.exit(0)
BUILD = tt.builddir()

# Many models, six virtio devices among them (about 45 KB of state each: QEMU
# saves every one of their 1024 possible queues) and three NICs.
HEAVY = [
    "-netdev", "user,id=n0", "-device", "e1000e,netdev=n0",
    "-device", "virtio-net-pci", "-device", "rtl8139", "-device", "e1000",
    "-device", "virtio-balloon-pci", "-device", "virtio-rng-pci",
    "-device", "virtio-serial-pci", "-device", "virtio-scsi-pci",
    "-device", "ich9-usb-ehci1", "-device", "usb-kbd", "-device", "usb-tablet",
    "-device", "qemu-xhci", "-device", "intel-hda", "-device", "hda-duplex,audiodev=a0",
    "-audiodev", "none,id=a0", "-device", "i6300esb", "-device", "pvpanic",
    "-chardev", "null,id=s0", "-device", "isa-serial,chardev=s0",
]
# The same machine with light models only: q35's own (ICH9 LPC, AHCI, SMBus,
# RTC, PIT, HPET, PIC, IOAPIC, fw_cfg, PS/2, DMA...) and a few more.
LIGHT = [
    "-netdev", "user,id=n0", "-device", "rtl8139,netdev=n0",
    "-device", "ich9-usb-ehci1", "-device", "usb-kbd", "-device", "usb-tablet",
    "-device", "intel-hda", "-device", "hda-duplex,audiodev=a0",
    "-audiodev", "none,id=a0", "-device", "i6300esb", "-device", "pvpanic",
    "-chardev", "null,id=s0", "-device", "isa-serial,chardev=s0",
]


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def run(tmp, label, devices):
    shm = f"/dev/shm/bench-qemu-ram-{label}-{os.getpid()}"
    tt._paths.append(shm)
    disk = os.path.join(tmp, f"{label}.img")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    vm = tt.Qmp()
    vm.qmp_path = os.path.join(tmp, f"{label}.qmp")
    vm.log_path = os.path.join(tmp, f"{label}.log")
    agent_mon = os.path.join(tmp, f"{label}.agent.qmp")
    args = [QEMU, "-machine", "q35,memory-backend=mem", "-m", "128M",
            "-object", f"memory-backend-file,id=mem,size=128M,mem-path={shm},share=on",
            "-accel", "tcg", "-nodefaults", "-display", "none",
            "-drive", f"if=none,id=d0,file={disk},format=raw", "-device", "virtio-blk-pci,drive=d0",
            "-qmp", f"unix:{agent_mon},server=on,wait=off",
            "-qmp", f"unix:{vm.qmp_path},server=on,wait=off"] + devices
    with open(vm.log_path, "w") as logf:
        vm.proc = tt.spawn(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
    vm.connect("qemu", vm.proc, vm.qmp_path)

    agent = tt.Qmp()
    agent.qmp_path = os.path.join(tmp, f"{label}.agent.sock")
    agent.log_path = os.path.join(tmp, f"{label}.agent.log")
    with open(agent.log_path, "w") as logf:
        agent.proc = tt.spawn([f"{BUILD}/agent/vmscope-agent", "--no-http", "--qmp",
                               f"unix:{agent.qmp_path}", "--qemu", f"vm=unix:{agent_mon}",
                               "--qemu-max-age", "0", "--qemu-interval", "3600000"],
                              stdout=logf, stderr=logf)
    agent.connect("agent", agent.proc, agent.qmp_path)
    deadline = time.monotonic() + tt.WAIT
    while True:
        devs = [d for d in agent.cmd("query-devices") if d["host"] == "vm"]
        if devs and all("old-style" in d.get("raw-reason", "old-style") for d in devs):
            break
        tt.check(time.monotonic() < deadline, "the agent shows no decoded devices")
        time.sleep(0.2)
    types = {d["type"] for d in devs}
    total = sum(d["state-size"] for d in devs)
    print(f"{label}: q35 guest, {len(devs)} sections, {len(types)} device types, "
          f"{total} bytes of state")

    pauses, snaps, trips = [], [], []
    for i in range(N):
        t0 = time.perf_counter()
        r = agent.cmd("query-device-state", path="/vm/serial")
        trips.append((time.perf_counter() - t0) * 1e3)
        pauses.append(r["pause-us"] / 1e3)
        snaps.append(r["snapshot-us"] / 1e3)
    tt.check(vm.cmd("query-status")["status"] == "running", "the VM is not running")

    downtimes = []
    for _ in range(5):
        vm.set_capabilities(x_ignore_shared=True)
        vm.cmd("migrate", uri="exec:cat > /dev/null")
        r = vm.wait_migration()
        downtimes.append(r["downtime"])
        vm.cmd("cont")
        vm.wait_status("running")
    vm.set_capabilities(x_ignore_shared=False)

    print(f"{N} snapshots of a running VM:")
    print(f"  VM pause (QEMU STOP->RESUME)    median {statistics.median(pauses):6.2f} ms"
          f"   p99 {pct(pauses, 99):6.2f} ms   (targets 2 / 5 ms)")
    print(f"  snapshot to decoded state       median {statistics.median(snaps):6.2f} ms"
          f"   p99 {pct(snaps, 99):6.2f} ms   (target 10 ms median)")
    print(f"  query-device-state round trip   median {statistics.median(trips):6.2f} ms"
          f"   p99 {pct(trips, 99):6.2f} ms")
    print(f"  device-state-only migration: QEMU's downtime median "
          f"{statistics.median(downtimes)} ms (runs: {downtimes})")
    vm.cmd("quit")
    agent.proc.terminate()
    agent.proc.wait(timeout=tt.WAIT)


def main():
    tmp = tt.tmpdir()
    run(tmp, "heavy", HEAVY)
    run(tmp, "light", LIGHT)


main()
