#!/usr/bin/env python3
"""vmscope-view explain and compat on a real vmscope-devhost stream.

A device host (default devices, paused) migrates to a file.  Against the
descriptions of a host like it (vmscope-devhost --dump-vmstate) the load
would succeed; against a host whose virtio-blk has another number of
queues (an _equal field), the field is named at its offset with both
values; against a host that runs serial at version 3
(--device-version serial=3), both serial sections are refused at their
headers; against a dump whose serial divider is an int16 (same size, other
type), the field is named at its offset; a host's dump lists every section
it loads, so a section it lacks is an unknown section (not "not checked").
compat says the same of the stream's descriptions, and a stream of an
older device (serial=2) is compatible with the current host.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tracetest as tt  # noqa: E402

VIEW = tt.view_binary()
DEVHOST = tt.devhost_binary()


def run(*args):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=tt.WAIT)
    return r.returncode, r.stdout, r.stderr


def expect(args, status, stdout):
    code, out, err = run(*args)
    tt.check(code == status and out == stdout and err == "",
             f"{' '.join(args)}: exit {code} (expected {status})\n--- stdout:\n{out}"
             f"--- expected:\n{stdout}--- stderr:\n{err}")


def stream_of(tmp, name, extra=()):
    """A migration stream of a paused host with the default devices."""
    host = tt.Devhost(tmp, name)
    if extra:   # a host at other versions: started by hand, same QMP
        host.quit()
        host = VersionedDevhost(tmp, name, extra)
    path = os.path.join(tmp, f"{name}.mig")
    host.cmd("migrate", uri=f"exec:cat > {path}")
    host.wait_migration()
    host.quit()
    return path


class VersionedDevhost(tt.Devhost):
    def __init__(self, tmp, name, extra):
        self.host = f"compat{os.getpid()}-{name}"
        self.shm_dir = tmp
        self.qmp_path = os.path.join(tmp, f"{name}-v.qmp")
        self.log_path = os.path.join(tmp, f"{name}-v.log")
        args = [DEVHOST, "--name", self.host, "--shm-dir", tmp, "--qmp",
                f"unix:{self.qmp_path}", "-S"] + list(extra)
        with open(self.log_path, "w") as logf:
            self.proc = tt.spawn(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        self.pid = self.proc.pid
        self.connect(name, self.proc, self.qmp_path)


def dump(tmp, name, *flags):
    path = os.path.join(tmp, f"{name}.json")
    code, out, err = run(DEVHOST, *flags, "--dump-vmstate", path)
    tt.check(code == 0 and out == "" and err == "", f"--dump-vmstate {flags}: {code} {err}")
    return path


def main():
    tmp = tt.tmpdir()
    mig = stream_of(tmp, "src")
    old_mig = stream_of(tmp, "old", ["--device-version", "serial=2"])
    same = dump(tmp, "same")
    v3 = dump(tmp, "v3", "--device-version", "serial=3")
    no_slirp = dump(tmp, "noslirp", "--devices", "mc146818rtc,serial:2,i8254,virtio-blk,apic,kvm-apic")

    with open(same) as f:
        d = json.load(f)
    divider = d["serial"]["Description"]["Fields"][0]
    tt.check(divider["field"] == "divider" and divider["type"] == "uint16", f"{divider}")
    divider["type"] = "int16"
    typed = os.path.join(tmp, "typed.json")
    with open(typed, "w") as f:
        json.dump(d, f)
    # A destination whose virtio-blk has 4 queues: num_queues is an _equal field.
    with open(same) as f:
        d = json.load(f)
    fields = d["virtio-blk"]["Description"]["Fields"]
    at = [f["field"] for f in fields].index("num_queues")
    tt.check(fields[at]["equal"] == 2, f"{fields[at]}")
    before = sum(f["size"] for f in fields[:at])
    fields[at]["equal"] = 4
    queues = os.path.join(tmp, "queues.json")
    with open(queues, "w") as f:
        json.dump(d, f)

    # Offsets: the serial sections' headers and first fields, from the stream itself.
    code, out, err = run(VIEW, "stream", mig)
    tt.check(code == 0, f"stream: {err}")
    secs = [s for s in json.loads(out)["sections"] if s["name"] == "serial"]
    tt.check(len(secs) == 2, f"serial sections: {secs}")
    head = [s["offset"] - (1 + 4 + 1 + len("serial") + 4 + 4) for s in secs]
    body = [s["offset"] for s in secs]
    blk = [s["offset"] for s in json.loads(out)["sections"] if s["name"] == "virtio-blk"]
    tt.check(len(blk) == 1, f"virtio-blk sections: {blk}")

    expect([VIEW, "explain", mig, "--dest", same], 0,
           "the load would succeed: 8 sections checked, 0 errors, 0 not checked\n")
    expect([VIEW, "explain", mig, "--dest", v3], 1,
           f"error: offset {head[0]}: serial: version 4 refused: DEST loads versions 2 to 3\n"
           f"error: offset {head[1]}: serial:1 (serial): version 4 refused: DEST loads versions 2 to 3\n"
           "the load would fail: 8 sections checked, 2 errors, 0 not checked\n")
    expect([VIEW, "explain", mig, "--dest", typed], 1,
           f"error: offset {body[0]}: serial: divider: the stream has a uint16, DEST reads a int16\n"
           f"error: offset {body[1]}: serial:1 (serial): divider: the stream has a uint16, DEST reads a int16\n"
           "the load would fail: 8 sections checked, 2 errors, 0 not checked\n")
    expect([VIEW, "explain", mig, "--dest", queues], 1,
           f"error: offset {blk[0] + before}: virtio-blk: num_queues: the stream has 2, DEST has 4 "
           "(an _equal field: they must be equal)\n"
           "the load would fail: 8 sections checked, 1 error, 0 not checked\n")
    expect([VIEW, "compat", same, queues], 1,
           "error: virtio-blk: num_queues: an _equal field: 2 in OLD, 4 in NEW\n"
           "incompatible: 7 sections compared, 1 error, 0 warnings\n")
    code, out, err = run(VIEW, "explain", mig, "--dest", no_slirp)
    tt.check(code == 1 and out.startswith("error: offset ") and
             out.endswith(": slirp: section unknown to DEST\n"
                          "the load would fail: 7 sections checked, 1 error, 0 not checked\n"),
             f"explain against a host without slirp: {code}\n{out}{err}")

    expect([VIEW, "compat", mig, same], 0, "compatible: 7 sections compared, 0 errors, 0 warnings\n")
    expect([VIEW, "compat", mig, v3], 1,
           "error: serial: version 3 in NEW is older than 4 in OLD\n"
           "error: serial: rx_total: field missing in NEW\n"
           "incompatible: 7 sections compared, 2 errors, 0 warnings\n")
    expect([VIEW, "compat", mig, typed], 1,
           "error: serial: divider: type uint16 in OLD, int16 in NEW\n"
           "incompatible: 7 sections compared, 1 error, 0 warnings\n")
    # An older device's stream loads on the current host: compatible.
    expect([VIEW, "compat", old_mig, same], 0,
           "compatible: 7 sections compared, 0 errors, 0 warnings\n")
    expect([VIEW, "explain", old_mig, "--dest", same], 0,
           "the load would succeed: 8 sections checked, 0 errors, 0 not checked\n")
    tt.log("PASS")


main()
