#!/usr/bin/env python3
"""Live QEMU VMs in vmscope-agent (slow: real QEMU under TCG).

Each QEMU has two monitors: one for the agent (--qemu NAME=unix:PATH), one
for this test.

- pc and q35 guests with shared RAM and a mix of device models (-netdev
  user among them): the agent learns the descriptions by itself; with the
  VM paused, the state it returns for every device equals, field by field,
  the decode (`vmscope-view stream`) of a migration stream of the same
  paused VM, globalstate aside; the same sections are listed; the old-style
  slirp section is raw bytes with its reason; the schema is the
  description's.
- A running VM after many snapshots is still running and its guest clock
  (the timer section's cpu_clock_offset, which holds the clock while QEMU
  saves) advances; a paused VM stays paused; the VM's raw disk image stays
  locked to other writers (a `qemu-io` write is refused) before and after; x-ignore-shared is as before the learning.
- A VM with an nvme device: listed with the blocker as reason, never saved
  (no devices, no snapshot), and it keeps running.
- kill -9 of QEMU: HOST_LOST; QEMU restarted on the same socket: back,
  with its devices.
- Requests within --qemu-max-age share one snapshot.
- SIGTERM of the agent at any time (learning included): the VM runs on,
  x-ignore-shared as before, no migration left in progress.
"""
import json
import os
import signal
import shutil
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tracetest as tt  # noqa: E402

QEMU = tt.qemu_binary()
if not QEMU or not os.path.exists(QEMU):
    tt.skip("qemu-system-x86_64 not found")
if not shutil.which("qemu-io"):
    tt.skip("qemu-io not found (Debian package qemu-utils)")
BUILD = tt.builddir()
WAIT = tt.WAIT

PC_DEVICES = [
    "-netdev", "user,id=n0", "-device", "e1000,netdev=n0",
    "-device", "virtio-net-pci", "-device", "virtio-rng-pci",
    "-chardev", "null,id=s0", "-device", "isa-serial,chardev=s0",
    "-chardev", "null,id=s1", "-device", "isa-serial,chardev=s1",
    "-device", "piix3-usb-uhci", "-device", "usb-tablet",
]
Q35_DEVICES = [
    "-netdev", "user,id=n0", "-device", "e1000e,netdev=n0",
    "-device", "virtio-net-pci", "-device", "virtio-balloon-pci",
    "-chardev", "null,id=s0", "-device", "isa-serial,chardev=s0",
    "-device", "ich9-usb-ehci1", "-device", "usb-kbd",
    "-device", "intel-hda", "-device", "hda-duplex,audiodev=a0", "-audiodev", "none,id=a0",
]


class Vm(tt.Qmp):
    """A QEMU with shared RAM, a raw disk on virtio-blk, and two monitors."""

    def __init__(self, tmp, name, machine, devices, running=True):
        self.tmp, self.name, self.machine, self.devices = tmp, name, machine, devices
        self.agent_qmp = os.path.join(tmp, f"{name}.agent.qmp")
        self.qmp_path = os.path.join(tmp, f"{name}.qmp")
        self.log_path = os.path.join(tmp, f"{name}.log")
        self.disk = os.path.join(tmp, f"{name}.img")
        self.shm = f"/dev/shm/qemu-live-test-{name}-{os.getpid()}"
        tt._paths.append(self.shm)
        if not os.path.exists(self.disk):
            with open(self.disk, "wb") as f:
                f.truncate(1 << 20)
        self.start(running)

    def start(self, running=True):
        args = [QEMU, "-machine", f"{self.machine},memory-backend=mem", "-m", "64M",
                "-object", f"memory-backend-file,id=mem,size=64M,mem-path={self.shm},share=on",
                "-accel", "tcg", "-nodefaults", "-display", "none", "-rtc", "clock=vm",
                "-drive", f"if=none,id=d0,file={self.disk},format=raw",
                "-device", "virtio-blk-pci,drive=d0",
                "-qmp", f"unix:{self.agent_qmp},server=on,wait=off",
                "-qmp", f"unix:{self.qmp_path},server=on,wait=off"] + self.devices
        if not running:
            args.append("-S")
        with open(self.log_path, "w") as logf:
            self.proc = tt.spawn(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        self.connect(self.name, self.proc, self.qmp_path)

    def migrate_to_file(self, path):
        self.set_capabilities(x_ignore_shared=True)
        self.cmd("migrate", uri=f"exec:cat > {path}")
        self.wait_migration()

    def disk_locked(self):
        """Is a qemu-io write to the disk refused for want of the write lock?"""
        r = subprocess.run(["qemu-io", "-f", "raw", "-c", "write 0 512", self.disk],
                           capture_output=True, text=True, timeout=WAIT)
        return r.returncode != 0 and 'Failed to get "write" lock' in r.stderr + r.stdout

    def capability(self, name):
        for c in self.cmd("query-migrate-capabilities"):
            if c["capability"] == name:
                return c["state"]
        tt.fail(f"no capability {name}")


class Agent(tt.Qmp):
    def __init__(self, tmp, vms, extra=(), http=False):
        self.qmp_path = os.path.join(tmp, "agent.qmp")
        self.log_path = os.path.join(tmp, "agent.log")
        args = [f"{BUILD}/agent/vmscope-agent", "--qmp", f"unix:{self.qmp_path}",
                "--shm-dir", tmp, "--qemu-max-age", "0"]
        args += ["--http", "127.0.0.1:0"] if http else ["--no-http"]
        for vm in vms:
            args += ["--qemu", f"{vm.name}=unix:{vm.agent_qmp}"]
        with open(self.log_path, "w") as logf:
            self.proc = tt.spawn(args + list(extra), stdout=logf, stderr=logf)
        self.connect("agent", self.proc, self.qmp_path)
        self.http = None
        deadline = time.monotonic() + WAIT
        while http and self.http is None:
            for line in self.log().splitlines():
                if line.startswith("http: listening on "):
                    self.http = line.split()[-1].rstrip("/")
            tt.check(time.monotonic() < deadline, f"agent: no HTTP address: {self.log()}")
            time.sleep(0.05)

    def quit(self):
        """SIGTERM: the agent exits 0, with nothing on stderr from the sanitizers."""
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=WAIT)
        self.sock.close()
        log = self.log()
        tt.check(rc == 0 and "Sanitizer" not in log and "runtime error" not in log,
                 f"agent: exit {rc}: {log[-2000:]}")

    def get(self, path):
        with urllib.request.urlopen(self.http + path, timeout=WAIT) as r:
            return r.read().decode()

    def wait_event(self, pred, what):
        deadline = time.monotonic() + WAIT
        while True:
            for e in self.events:
                if pred(e):
                    return e
            tt.check(time.monotonic() < deadline, f"agent: no {what} after {WAIT} s")
            self.call("query-version")
            time.sleep(0.1)

    def host(self, name):
        for h in self.cmd("query-hosts"):
            if h["name"] == name:
                return h
        tt.fail(f"agent: no host {name}")

    def wait_host(self, name, pred, what):
        deadline = time.monotonic() + WAIT
        while True:
            h = self.host(name)
            if pred(h):
                return h
            if time.monotonic() > deadline:
                tt.fail(f"agent: host {name}: not {what} after {WAIT} s: {h}")
            time.sleep(0.1)

    def devices(self, host):
        return [d for d in self.cmd("query-devices") if d["host"] == host]

    def wait_devices(self, host):
        """Its devices, once all but old-style sections decode: a description
        learned while the firmware boots may lack a subsection that appears
        later, and the agent learns again then."""
        deadline = time.monotonic() + WAIT
        while True:
            devs = self.devices(host)
            if devs and all("old-style" in d.get("raw-reason", "old-style") for d in devs):
                return devs
            if time.monotonic() > deadline:
                tt.fail(f"agent: no devices of {host} after {WAIT} s: {self.host(host)}")
            time.sleep(0.2)

    def state(self, path):
        return self.cmd("query-device-state", path=path)


def view_stream(path):
    r = subprocess.run([tt.view_binary(), "stream", path, "--format", "json"],
                       capture_output=True, text=True, timeout=WAIT)
    tt.check(r.returncode == 0, f"vmscope-view stream {path}: {r.stderr}")
    return json.loads(r.stdout)


def section_name(sec):
    """The agent's "section" for a stream's section (qemu_stream_section_display_name)."""
    name = sec["name"]
    if sec["instance-id"]:
        name += f":{sec['instance-id']}"
    return name


def check_equal_to_migration(tmp, machine, devices):
    vm = Vm(tmp, f"eq-{machine}", machine, devices)
    had = vm.capability("x-ignore-shared")
    agent = Agent(tmp, [vm])
    agent.wait_devices(vm.name)
    tt.check(vm.capability("x-ignore-shared") == had, "x-ignore-shared not set back")
    vm.wait_status("running")
    vm.cmd("stop")
    vm.wait_status("paused")
    devs = agent.devices(vm.name)
    states = {d["section"]: agent.state(d["path"]) for d in devs}
    tt.check(vm.cmd("query-status")["status"] == "paused", "the VM does not stay paused")

    mig = os.path.join(tmp, f"{machine}.mig")
    vm.migrate_to_file(mig)
    stream = view_stream(mig)
    full = [s for s in stream["sections"] if s["type"] == "full" and s["name"] != "globalstate"]
    seen = {}
    names = []
    for s in full:
        n = section_name(s)
        k = seen.get(n, 0)
        seen[n] = k + 1
        names.append(n if k == 0 else f"{n}#{k}")
    got = [d["section"] for d in devs if d["section"] != "globalstate"]
    tt.check(got == names, f"{machine}: sections differ:\nagent {got}\nstream {names}")
    for n, s in zip(names, full):
        a = states[n]
        tt.check(a["state"] == s["state"],
                 f"{machine}: {n}: agent {json.dumps(a['state'])[:400]}\n"
                 f"stream {json.dumps(s['state'])[:400]}")
        tt.check(a["version-id"] == s["version-id"] and a["section-id"] == s["section-id"]
                 and a["instance-id"] == s["instance-id"], f"{machine}: {n}: header differs")
        tt.check("taken-at" in a and "seconds" in a["taken-at"], f"{n}: no taken-at")
    slirp = [d for d in devs if d["type"] == "slirp"]
    tt.check(len(slirp) == 1 and "old-style" in slirp[0].get("raw-reason", ""),
             f"{machine}: slirp is not raw with its reason: {slirp}")
    typed = {d["section"]: d["type"] for d in devs}
    tt.check(typed.get("serial") == "serial" and typed.get("timer") == "timer",
             f"{machine}: types: {typed}")
    ids = [d["id"] for d in devs]
    tt.check(len(set(ids)) == len(ids), f"{machine}: duplicate ids {ids}")
    # vmscope-view state: the pretty text of the device, the reason of a raw one.
    r = subprocess.run([tt.view_binary(), "state", f"/{vm.name}/serial", "--qmp",
                        f"unix:{agent.qmp_path}"], capture_output=True, text=True, timeout=WAIT)
    tt.check(r.returncode == 0 and r.stdout.startswith("serial (vmsd serial, version 3) {\n")
             and r.stderr == "", f"vmscope-view state serial: {r.returncode} {r.stdout[:200]} "
             f"{r.stderr}")
    r = subprocess.run([tt.view_binary(), "state", slirp[0]["path"], "--qmp",
                        f"unix:{agent.qmp_path}"], capture_output=True, text=True, timeout=WAIT)
    tt.check(r.returncode == 0 and "data: buffer" in r.stdout and
             r.stderr == f"vmscope-view: {slirp[0]['path']}: raw bytes: "
             f"{slirp[0]['raw-reason']}\n", f"vmscope-view state slirp: {r.stdout[:200]} {r.stderr}")
    schema = agent.cmd("query-device-schema", path=f"/{vm.name}/serial")
    tt.check(schema["schema"]["name"] == "serial" and schema["version-id"] == 3,
             f"{machine}: serial schema {schema}")
    tt.log(f"ok {machine}: {len(names)} sections equal to the migration stream's")
    vm.cmd("quit")
    agent.quit()


def clock(agent, host):
    st = agent.state(f"/{host}/timer")["state"]
    return st["cpu_clock_offset"]


def check_run_state(tmp):
    vm = Vm(tmp, "run", "pc", PC_DEVICES)
    agent = Agent(tmp, [vm], extra=["--qemu-interval", "200"], http=True)
    tt.check(vm.disk_locked(), "disk not locked before")
    agent.wait_devices(vm.name)
    first = clock(agent, vm.name)
    for _ in range(30):
        agent.state(f"/{vm.name}/serial")
    time.sleep(0.2)
    last = clock(agent, vm.name)
    tt.check(vm.cmd("query-status")["status"] == "running", "not running after snapshots")
    tt.check(last > first, f"guest clock did not advance: {first} -> {last}")
    tt.check(vm.disk_locked(), "disk not locked after snapshots of the running VM")
    pause = agent.host(vm.name).get("pause-us")
    tt.check(isinstance(pause, int) and pause > 0, f"no pause-us for a running VM: {pause}")

    vm.cmd("stop")
    vm.wait_status("paused")
    a = clock(agent, vm.name)
    for _ in range(10):
        agent.state(f"/{vm.name}/serial")
    b = clock(agent, vm.name)
    tt.check(a == b, f"guest clock moved while paused: {a} -> {b}")
    tt.check(vm.cmd("query-status")["status"] == "paused", "not paused after snapshots")
    tt.check(vm.disk_locked(), "disk not locked after snapshots of the paused VM")
    vm.cmd("cont")
    tt.log("ok run state, guest clock, disk lock")

    # Events: a client listens, so the agent snapshots every --qemu-interval and
    # tells what changed (the guest clock held in the timer section, at least).
    ev = agent.wait_event(lambda e: e.get("event") == "DEVICE_STATE_CHANGED"
                          and e["data"]["path"] == f"/{vm.name}/timer", "timer change")
    tt.check("cpu_clock_offset" in ev["data"]["changed"], f"timer event: {ev}")
    tt.log("ok DEVICE_STATE_CHANGED " + json.dumps(ev["data"]))

    # HTTP: the same state; /metrics: the pause, time and size histograms.
    st = json.loads(agent.get(f"/api/devices/{vm.name}/serial/state"))
    tt.check(st["type"] == "serial" and "taken-at" in st, f"HTTP state: {st}")
    metrics = agent.get("/metrics")
    for name in ("vmscope_qemu_snapshot_pause_seconds", "vmscope_qemu_snapshot_seconds",
                 "vmscope_qemu_snapshot_bytes"):
        tt.check(f"# TYPE {name} histogram" in metrics, f"/metrics: no {name}")
        count = [ln for ln in metrics.splitlines() if ln.startswith(f"{name}_count ")]
        tt.check(count and int(count[0].split()[1]) > 10, f"/metrics: {name}: {count}")
    tt.log("ok HTTP and /metrics")

    # kill -9: HOST_LOST; back on the same socket.
    vm.proc.send_signal(signal.SIGKILL)
    vm.proc.wait(timeout=WAIT)
    deadline = time.monotonic() + WAIT
    while not any(e.get("event") == "HOST_LOST" and e["data"]["host"] == vm.name
                  for e in agent.events):
        tt.check(time.monotonic() < deadline, f"no HOST_LOST after {WAIT} s")
        agent.call("query-version")
        time.sleep(0.1)
    tt.check(not agent.host(vm.name)["alive"], "a killed QEMU is alive")
    for p in (vm.agent_qmp, vm.qmp_path):
        os.unlink(p)
    vm.start()
    agent.wait_host(vm.name, lambda h: h["alive"], "alive")
    devs = agent.wait_devices(vm.name)
    tt.check(any(d["section"] == "serial" for d in devs), "no serial after the restart")
    tt.log("ok HOST_LOST and back")
    vm.cmd("quit")
    agent.quit()


def check_max_age(tmp):
    """Requests within --qemu-max-age share one snapshot."""
    vm = Vm(tmp, "age", "pc", PC_DEVICES)
    # No snapshots for events in between: --qemu-interval as long.
    agent = Agent(tmp, [vm], extra=["--qemu-max-age", "600000", "--qemu-interval", "600000"])
    # Listed is enough: with no snapshot for 10 minutes, a section that the
    # boot-time description lacks (cpu/msr_smi_count) is not learned again
    # (wait_devices would wait for that); serial and timer always decode.
    deadline = time.monotonic() + WAIT
    while not agent.devices(vm.name):
        tt.check(time.monotonic() < deadline, f"agent: no devices of {vm.name} after {WAIT} s")
        time.sleep(0.2)
    snaps = agent.host(vm.name)["generation"]
    a = agent.state(f"/{vm.name}/serial")
    b = agent.state(f"/{vm.name}/timer")
    c = agent.cmd("query-device-schema", path=f"/{vm.name}/serial")
    tt.check(a["taken-at"] == b["taken-at"] and c["type"] == "serial",
             f"two snapshots within max-age: {a['taken-at']} {b['taken-at']}")
    tt.check(agent.host(vm.name)["generation"] == snaps, "a snapshot taken within max-age")
    tt.log("ok requests within --qemu-max-age share a snapshot")
    vm.cmd("quit")
    agent.quit()


def check_interrupted_learning(tmp):
    """SIGTERM while the agent may be learning (a migration into it): once it
    has exited, the VM runs, with its capabilities as before."""
    vm = Vm(tmp, "learn", "pc", PC_DEVICES)
    for delay in (0.0, 0.05, 0.1, 0.2, 0.4, 0.8):
        agent = Agent(tmp, [vm])
        time.sleep(delay)
        agent.quit()
        st = vm.cmd("query-status")["status"]
        tt.check(st == "running", f"SIGTERM after {delay} s: the VM is {st}")
        tt.check(vm.capability("x-ignore-shared") is False,
                 f"SIGTERM after {delay} s: x-ignore-shared left set")
        mig = vm.cmd("query-migrate").get("status", "none")
        tt.check(mig in ("none", "completed", "cancelled", "failed"),
                 f"SIGTERM after {delay} s: migration {mig}")
        os.unlink(agent.qmp_path) if os.path.exists(agent.qmp_path) else None
    tt.log("ok SIGTERM during learning leaves the VM running, capabilities as before")
    vm.cmd("quit")


def check_blocked(tmp):
    vm = Vm(tmp, "nvme", "pc", ["-drive", f"if=none,id=nv,file={tmp}/nvme-ns.img,format=raw",
                                "-device", "nvme,serial=vmscope,drive=nv"])
    agent = Agent(tmp, [vm])
    h = agent.wait_host(vm.name, lambda h: h["alive"] and "reason" in h, "with a reason")
    tt.check("blocked" in h["reason"] and "nvme" in h["reason"], f"reason: {h['reason']}")
    tt.check(agent.devices(vm.name) == [], "devices of a blocked VM")
    r = agent.call("query-device-state", path=f"/{vm.name}/serial")
    tt.check("error" in r and "blocked" in r["error"]["desc"], f"state of a blocked VM: {r}")
    time.sleep(1)
    tt.check(vm.proc.poll() is None, "the nvme VM died")
    tt.check(vm.cmd("query-status")["status"] == "running", "the nvme VM is not running")
    h = agent.host(vm.name)
    tt.check("taken-at" not in h and h["devices"] == 0, f"a blocked VM was saved: {h}")
    tt.log("ok nvme: " + h["reason"])
    vm.cmd("quit")
    agent.quit()


def main():
    tmp = tt.tmpdir()
    with open(f"{tmp}/nvme-ns.img", "wb") as f:
        f.truncate(1 << 20)
    check_equal_to_migration(tmp, "pc", PC_DEVICES)
    check_equal_to_migration(tmp, "q35", Q35_DEVICES)
    check_run_state(tmp)
    check_max_age(tmp)
    check_interrupted_learning(tmp)
    check_blocked(tmp)


main()
