#!/usr/bin/env python3
"""Migration formats chosen by capability negotiation, with vmscope-view migrate.

  1. Two device hosts both list the "ber" capability: vmscope-view migrate
     turns it on at both ends and migrates in BER; every device of the
     destination equals the source's (as an agent shows them).
  2. --format qemu forces QEMU's format.
  3. A destination that lacks "ber" (a QMP end that lists QEMU's capabilities
     only): --format ber fails before anything is sent, and without --format
     the tool falls back to QEMU's format.
  4. Ends set to different formats by hand: the destination refuses the
     stream at its header; the source runs on, the destination still waits,
     its devices unchanged.
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tracetest as tt  # noqa: E402

VIEW = tt.view_binary()
QEMU_CAPS = [{"state": False, "capability": "events"},
             {"state": False, "capability": "x-ignore-shared"}]


class FakeEnd:
    """A QMP end that lists QEMU's capabilities only (no "ber"); its
    query-migrate points at `incoming` (a real destination), if given.
    Every command it gets is recorded."""

    def __init__(self, path, incoming=None):
        self.path = path
        self.incoming = incoming
        self.commands = []
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(path)
        self.sock.listen(1)
        threading.Thread(target=self.serve, daemon=True).start()

    def answer(self, cmd):
        if cmd == "query-migrate-capabilities":
            return QEMU_CAPS
        if cmd == "query-migrate" and self.incoming:
            return {"socket-address": [{"path": self.incoming, "type": "unix"}]}
        return {}

    def serve(self):
        conn, _ = self.sock.accept()
        conn.sendall(b'{"QMP": {"version": {}, "capabilities": []}}\n')
        buf = b""
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                msg = json.loads(line)
                self.commands.append(msg["execute"])
                conn.sendall(json.dumps({"return": self.answer(msg["execute"])}).encode() + b"\n")


def view_migrate(*args):
    return subprocess.run([VIEW, "migrate", *args], capture_output=True, text=True,
                          timeout=tt.WAIT)


def check_report(r, fmt):
    tt.check(r.returncode == 0, f"migrate: exit {r.returncode}: {r.stderr}")
    lines = r.stdout.splitlines()
    tt.check(len(lines) == 4 and lines[0] == f"format: {fmt}", f"migrate printed {r.stdout!r}")
    tt.check(lines[1].startswith("bytes: ") and int(lines[1][7:]) > 1000, r.stdout)
    tt.check(lines[2].startswith("total-time: ") and lines[2].endswith(" ms"), r.stdout)
    tt.check(lines[3].startswith("downtime: ") and lines[3].endswith(" ms"), r.stdout)


def pair(tmp, name):
    incoming = f"{tmp}/{name}.mig"
    src = tt.Devhost(tmp, f"{name}-src", paused=False, tick_ms=10)
    dst = tt.Devhost(tmp, f"{name}-dst", incoming=f"unix:{incoming}")
    return src, dst, incoming


def main():
    tmp = tt.tmpdir()
    agent = tt.Agent(tmp)

    # 1. Negotiated: BER, both ends.
    src, dst, _ = pair(tmp, "ber")
    caps = src.cmd("query-migrate-capabilities")
    tt.check(caps == QEMU_CAPS + [{"state": False, "capability": "ber"}], f"capabilities {caps}")
    tt.check(src.cmd("query-migrate") == {}, "a migration before any")
    time.sleep(0.1)
    check_report(view_migrate(f"unix:{src.qmp_path}", f"unix:{dst.qmp_path}"), "ber")
    for end in (src, dst):
        q = end.cmd("query-migrate")
        tt.check(q["status"] == "completed" and q["format"] == "ber", f"{end.name}: {q}")
        tt.check({"state": True, "capability": "ber"} in end.cmd("query-migrate-capabilities"),
                 f"{end.name}: ber not on")
    tt.check(agent.states(src.host) == agent.states(dst.host), "BER: the devices differ")
    tt.log("ok negotiated BER")

    # 2. Forced: QEMU's format.
    src, dst, _ = pair(tmp, "qemu")
    time.sleep(0.1)
    check_report(view_migrate(f"unix:{src.qmp_path}", f"unix:{dst.qmp_path}", "--format",
                              "qemu"), "qemu")
    tt.check(dst.cmd("query-migrate")["format"] == "qemu", "destination format")
    tt.check(agent.states(src.host) == agent.states(dst.host), "QEMU: the devices differ")
    tt.log("ok forced QEMU format")

    # 3. An end without BER: --format ber fails before anything is sent ...
    src, dst, incoming = pair(tmp, "lack")
    fake = FakeEnd(f"{tmp}/fake.qmp", incoming)
    r = view_migrate(f"unix:{src.qmp_path}", f"unix:{fake.path}", "--format", "ber")
    tt.check(r.returncode == 1 and r.stdout == "", f"exit {r.returncode}: {r.stdout}")
    want = (f"vmscope-view: migrate: --format ber: DST unix:{fake.path} does not list the "
            "'ber' migration capability\n")
    tt.check(r.stderr == want, f"stderr {r.stderr!r}")
    tt.check(fake.commands == ["qmp_capabilities", "query-migrate-capabilities"],
             f"the fake end got {fake.commands}")
    tt.check(src.cmd("query-migrate") == {}, "the source migrated")
    tt.check({"state": False, "capability": "ber"} in src.cmd("query-migrate-capabilities"),
             "the source's capabilities changed")
    # ... and without --format the intersection is QEMU's format.
    fake2 = FakeEnd(f"{tmp}/fake2.qmp", incoming)
    check_report(view_migrate(f"unix:{src.qmp_path}", f"unix:{fake2.path}"), "qemu")
    tt.check("migrate-set-capabilities" not in fake2.commands, f"fake: {fake2.commands}")
    tt.check(dst.cmd("query-migrate")["format"] == "qemu", "destination format")
    tt.check(agent.states(src.host) == agent.states(dst.host), "fallback: the devices differ")
    tt.log("ok an end without BER")

    # 4. Ends told different formats: refused at the header, the source runs on.
    src, dst, incoming = pair(tmp, "mismatch")
    before = agent.states(dst.host)
    src.set_capabilities(ber=True)
    src.cmd("migrate", uri=f"unix:{incoming}")
    deadline = time.monotonic() + tt.WAIT
    while (q := src.cmd("query-migrate"))["status"] not in ("completed", "failed"):
        tt.check(time.monotonic() < deadline, f"no end: {q}")
        time.sleep(0.01)
    tt.check(q["status"] == "failed" and q["format"] == "ber", f"source: {q}")
    tt.check("the stream is in the BER format, which this host was not told to accept "
             "(migration capability 'ber' is off)" in q["error-desc"], q["error-desc"])
    src.wait_status("running")
    g1 = agent.states(src.host)
    time.sleep(0.1)
    tt.check(agent.states(src.host) != g1, "the source does not run on")
    tt.check(dst.cmd("query-status")["status"] == "inmigrate", "the destination gave up")
    dq = dst.cmd("query-migrate")
    tt.check(dq["status"] == "failed" and dq["format"] == "qemu", f"destination: {dq}")
    tt.check(agent.states(dst.host) == before, "the destination's devices changed")
    # The same ends, told the same format: it goes through.
    dst.set_capabilities(ber=True)
    check_report(view_migrate(f"unix:{src.qmp_path}", f"unix:{dst.qmp_path}"), "ber")
    tt.log("ok different formats refused at the header")
    tt.log("PASS")


main()
