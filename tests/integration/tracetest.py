"""Shared pieces of the vmscope-trace tests: QEMU driven over QMP, the tracer
run as a process, and parsers for its text and JSON output.

Everything a test starts is registered here and killed at exit (normal exit,
exception or SIGTERM/SIGINT), and the temporary directory and /dev/shm files
are removed.  Every wait is bounded.

Environment (set by `make check`): top_builddir, top_srcdir, QEMU (empty when
configure found no qemu-system-x86_64).
"""
import atexit
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

WAIT = 60           # seconds: the longest any single wait may take


def skip(why):
    print(f"SKIP: {why}", flush=True)
    sys.exit(77)


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------- cleanup

_procs = []
_paths = []


def _cleanup():
    for p in reversed(_procs):
        if p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
    for path in _paths:
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.exists(path):
            os.unlink(path)


def _on_signal(signum, frame):
    _cleanup()
    sys.exit(128 + signum)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


def spawn(args, **kw):
    p = subprocess.Popen(args, **kw)
    _procs.append(p)
    return p


def tmpdir():
    d = tempfile.mkdtemp(prefix="vmscope-trace-test.")
    _paths.append(d)
    return d


# ---------------------------------------------------------------- programs

def builddir():
    return os.environ.get("top_builddir") or os.getcwd()


def trace_binary():
    return os.path.join(builddir(), "probes", "vmscope-trace")


def view_binary():
    return os.path.join(builddir(), "viewers", "vmscope-view")


def devhost_binary():
    return os.path.join(builddir(), "devices", "vmscope-devhost")


def devhost_default_devices():
    """What a vmscope-devhost runs without --devices, as it says itself:
    [{"id", "type", "section", "instance-id", "version-id"}, ...]."""
    r = subprocess.run([devhost_binary(), "--list-devices"], capture_output=True, text=True,
                       timeout=WAIT)
    check(r.returncode == 0, f"vmscope-devhost --list-devices: exit {r.returncode}: {r.stderr}")
    return json.loads(r.stdout)


def has_usdt(path):
    """Does the ELF file `path` carry vmscope's USDT probes (.note.stapsdt)?"""
    if not os.path.exists(path) or not shutil.which("readelf"):
        return False
    r = subprocess.run(["readelf", "-n", "--wide", path], capture_output=True, text=True,
                       timeout=WAIT)
    return "Provider: vmscope" in r.stdout


def qemu_binary():
    q = os.environ.get("QEMU")
    if q is None:
        q = shutil.which("qemu-system-x86_64") or ""
    return q


def require_tracing():
    """Skip unless vmscope-trace is built, we are root, QEMU exists and BPF works."""
    if not os.path.exists(trace_binary()):
        skip("vmscope-trace is not built (configure found no clang, bpftool or libbpf, "
             "or --enable-probes=no)")
    if os.geteuid() != 0:
        skip("loading BPF programs needs root")
    qemu = qemu_binary()
    if not qemu or not os.path.exists(qemu):
        skip("qemu-system-x86_64 not found")
    # Attach one probe and detach: says plainly what is missing if BPF is not there.
    r = subprocess.run([trace_binary(), "-b", qemu, "-f", "qemu_put_byte", "-d", "0.01"],
                       capture_output=True, text=True, timeout=WAIT)
    if r.returncode != 0:
        lines = r.stderr.strip().splitlines()
        skip(lines[-1] if lines else f"vmscope-trace exited with {r.returncode}")
    return qemu


# ---------------------------------------------------------------- QEMU

class Qmp:
    """A QMP connection (QEMU's or vmscope-devhost's) to the Unix socket
    `path` of process `proc`, retried until it is there."""

    def connect(self, name, proc, path):
        self.name = name
        self.events = []
        self._buf = b""
        self.sock = None
        deadline = time.monotonic() + WAIT
        while True:
            if proc.poll() is not None:
                fail(f"{name}: exited with {proc.returncode}: {self.log()}")
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                self.sock = s
                break
            except OSError:
                s.close()
                if time.monotonic() > deadline:
                    fail(f"{name}: no QMP socket after {WAIT} s")
                time.sleep(0.05)
        self.sock.settimeout(WAIT)
        greeting = self._read()
        check("QMP" in greeting, f"{name}: bad QMP greeting {greeting}")
        self.cmd("qmp_capabilities")

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read().strip()
        except OSError:
            return ""

    def _read(self):
        while b"\n" not in self._buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                fail(f"{self.name}: QMP connection closed")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, execute, **arguments):
        """The whole answer: {"return": ...} or {"error": ...}."""
        msg = {"execute": execute}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._read()
            if "event" in r:
                self.events.append(r)
                continue
            return r

    def cmd(self, execute, **arguments):
        r = self.call(execute, **arguments)
        if "error" in r:
            fail(f"{self.name}: {execute}: {r['error']}")
        return r["return"]

    def set_capabilities(self, **caps):
        self.cmd("migrate-set-capabilities",
                 capabilities=[{"capability": k.replace("_", "-"), "state": v}
                               for k, v in caps.items()])

    def wait_migration(self, timeout=WAIT):
        """Poll query-migrate until completed; returns its answer."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.cmd("query-migrate")
            status = r.get("status")
            if status == "completed":
                return r
            if status in ("failed", "cancelled"):
                fail(f"{self.name}: migration {status}: {r}")
            if time.monotonic() > deadline:
                fail(f"{self.name}: migration not done after {timeout} s: {r}")
            time.sleep(0.02)

    def wait_status(self, wanted, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while True:
            r = self.cmd("query-status")
            if r.get("status") == wanted:
                return
            if time.monotonic() > deadline:
                fail(f"{self.name}: status {r.get('status')}, not {wanted}, after {timeout} s")
            time.sleep(0.02)

    def quit(self):
        try:
            self.sock.sendall(b'{"execute": "quit"}\n')
        except OSError:
            pass
        try:
            self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=WAIT)
        self.sock.close()


class Qemu(Qmp):
    """A qemu-system-x86_64 under TCG with its RAM in /dev/shm (shared, so that
    x-ignore-shared migrations carry device state only), paused (-S), with a
    QMP socket.  `shm` may be shared by a source and its destination."""

    DEVICES = [
        # Two serial ports: two sections named "serial" (instance 0 and 1).
        "-chardev", "null,id=ser0", "-device", "isa-serial,chardev=ser0",
        "-chardev", "null,id=ser1", "-device", "isa-serial,chardev=ser1",
        # Two NICs: sections 0000:00:03.0/e1000 and 0000:00:04.0/e1000.
        "-device", "e1000,addr=03", "-device", "e1000,addr=04",
    ]

    def __init__(self, qemu, tmp, name, shm, incoming=None):
        self.qmp_path = os.path.join(tmp, f"{name}.qmp")
        self.log_path = os.path.join(tmp, f"{name}.log")
        args = [qemu, "-machine", "pc,memory-backend=mem", "-m", "64M",
                "-object", f"memory-backend-file,id=mem,size=64M,mem-path={shm},share=on",
                "-accel", "tcg", "-nodefaults", "-display", "none", "-S",
                "-qmp", f"unix:{self.qmp_path},server=on,wait=off"] + self.DEVICES
        if incoming:
            args += ["-incoming", incoming]
        with open(self.log_path, "w") as logf:
            self.proc = spawn(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        self.pid = self.proc.pid
        self.connect(name, self.proc, self.qmp_path)


class Devhost(Qmp):
    """A vmscope-devhost with its segment in `tmp` and a QMP socket, paused
    (-S: its devices stay in their initial state, so that two hosts started
    alike migrate the same state).  Its devices: the default ones, unless
    `devices` (a --devices LIST) says otherwise; `extra`: more flags."""

    def __init__(self, tmp, name, devices=None, incoming=None, paused=True, tick_ms=None,
                 extra=()):
        self.host = f"trace{os.getpid()}-{name}"
        self.shm_dir = tmp
        self.qmp_path = os.path.join(tmp, f"{name}.qmp")
        self.log_path = os.path.join(tmp, f"{name}.log")
        args = [devhost_binary(), "--name", self.host,
                "--shm-dir", tmp, "--qmp", f"unix:{self.qmp_path}"]
        if devices:
            args += ["--devices", devices]
        if paused:
            args.append("-S")
        if tick_ms:
            args += ["--tick-ms", str(tick_ms)]
        if incoming:
            args += ["--incoming", incoming]
        args += list(extra)
        with open(self.log_path, "w") as logf:
            self.proc = spawn(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        self.pid = self.proc.pid
        self.connect(name, self.proc, self.qmp_path)

    def quit(self):
        """Quit over QMP; the host must exit 0 (under sanitizers: no report)."""
        super().quit()
        check(self.proc.returncode == 0,
              f"{self.name}: vmscope-devhost exited with {self.proc.returncode}: {self.log()[-2000:]}")

    def segment(self):
        return os.path.join(self.shm_dir, f"vmscope-{self.host}")

    def descriptions(self):
        """[(id, type, instance_id, description)] from the host's segment
        (lib/include/vmscope/shm-segment.h), read while the host is paused."""
        with open(self.segment(), "rb") as f:
            seg = f.read()
        check(seg[:8] == b"VMSCOPE\0", f"{self.segment()}: not a segment")
        entry_size, max_devices, dir_offset = struct.unpack_from("<IIQ", seg, 24)
        out = []
        for i in range(max_devices):
            e = dir_offset + i * entry_size
            in_use, instance_id = struct.unpack_from("<II", seg, e + 64)
            if not in_use:
                continue
            desc_offset, desc_length = struct.unpack_from("<QQ", seg, e + 96)
            ident = seg[e + 112:e + 176].split(b"\0")[0].decode()
            typ = seg[e + 176:e + 240].split(b"\0")[0].decode()
            desc = json.loads(seg[desc_offset:desc_offset + desc_length])
            out.append((ident, typ, instance_id, desc))
        return out


class Agent(Qmp):
    """A vmscope-agent without HTTP, finding the device hosts whose segments
    are in `tmp`, with a QMP socket there."""

    def __init__(self, tmp):
        self.qmp_path = f"{tmp}/agent.qmp"
        self.log_path = f"{tmp}/agent.log"
        with open(self.log_path, "w") as logf:
            self.proc = spawn([os.path.join(builddir(), "agent", "vmscope-agent"), "--qmp",
                               f"unix:{self.qmp_path}", "--no-http", "--shm-dir", tmp],
                              stdout=logf, stderr=logf)
        self.connect("agent", self.proc, self.qmp_path)

    def states(self, host, count=8):
        """{device id: state} of one host, as the agent shows it (once it has
        seen its `count` devices)."""
        deadline = time.monotonic() + WAIT
        while True:
            devices = [d for d in self.cmd("query-devices") if d["host"] == host]
            if len(devices) == count:
                break
            check(time.monotonic() < deadline, f"{host}: {len(devices)} devices")
            time.sleep(0.05)
        return {d["id"]: self.cmd("query-device-state", path=d["path"])["state"]
                for d in devices}


def require_devhost_tracing():
    """Skip unless vmscope-trace and vmscope-devhost are built, the devhost
    has vmscope's USDT probes, we are root and BPF works."""
    if not os.path.exists(trace_binary()):
        skip("vmscope-trace is not built (configure found no clang, bpftool or libbpf, "
             "or --enable-probes=no)")
    devhost = devhost_binary()
    if not os.path.exists(devhost):
        skip(f"{devhost} is not built")
    if not has_usdt(devhost):
        skip(f"{devhost} has no vmscope USDT probes (built without <sys/sdt.h>: "
             "install systemtap-sdt-dev)")
    if os.geteuid() != 0:
        skip("loading BPF programs needs root")
    r = subprocess.run([trace_binary(), "-b", devhost, "-d", "0.01"],
                       capture_output=True, text=True, timeout=WAIT)
    if r.returncode != 0:
        lines = r.stderr.strip().splitlines()
        skip(lines[-1] if lines else f"vmscope-trace exited with {r.returncode}")
    return devhost


def shm_path(name):
    path = f"/dev/shm/vmscope-trace-test-{os.getpid()}-{name}"
    _paths.append(path)
    return path


# ---------------------------------------------------------------- the tracer

class Tracer:
    """vmscope-trace running in the background; its output goes to files so
    that a large --events stream cannot block it on a pipe."""

    def __init__(self, tmp, name, args, env=None):
        self.name = name
        self.out_path = os.path.join(tmp, f"{name}.out")
        self.err_path = os.path.join(tmp, f"{name}.err")
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = spawn([trace_binary()] + args, stdin=subprocess.DEVNULL,
                              stdout=out, stderr=err,
                              env=dict(os.environ, **env) if env else None)
        deadline = time.monotonic() + WAIT
        while "Hit Ctrl-C to end." not in self.stderr():
            if self.proc.poll() is not None:
                fail(f"{name}: vmscope-trace exited with {self.proc.returncode}: {self.stderr()}")
            if time.monotonic() > deadline:
                fail(f"{name}: vmscope-trace not attached after {WAIT} s")
            time.sleep(0.01)

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def stdout(self):
        with open(self.out_path) as f:
            return f.read()

    def wait(self, timeout=WAIT):
        """Wait for it to exit by itself (e.g. when its processes are gone)."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            fail(f"{self.name}: vmscope-trace still running after {timeout} s")
        check(rc == 0, f"{self.name}: vmscope-trace exited with {rc}: {self.stderr()}")
        return self.stdout()

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        return self.wait()


# ---------------------------------------------------------------- output parsers

_COUNT = re.compile(r"^(@\w+)\[(.*)\]: (\d+)$")
_HIST = re.compile(r"^(@\w+)\[(.*)\]: $")
_BUCKET = re.compile(r"^(\S.*?)\s+(\d+) \|@*\s*\|$")


def parse_text(out):
    """The maps of vmscope-trace's text report: {(name, arity): {keys: value}}
    for counts, {name: {key: [(label, count)]}} for histograms, and the
    'dropped events' count."""
    maps, hists, dropped = {}, {}, None
    lines = out.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        m = _COUNT.match(line)
        if m:
            keys = tuple(m.group(2).split(", "))
            maps.setdefault((m.group(1), len(keys)), {})[keys] = int(m.group(3))
            continue
        m = _HIST.match(line)
        if m:
            buckets = []
            while i < len(lines) and lines[i]:
                b = _BUCKET.match(lines[i])
                check(b is not None, f"bad histogram line {lines[i]!r}")
                buckets.append((b.group(1), int(b.group(2))))
                i += 1
            hists.setdefault(m.group(1), {})[m.group(2)] = buckets
            continue
        m = re.match(r"^dropped events: (\d+)$", line)
        if m:
            dropped = int(m.group(1))
    return maps, hists, dropped


def parse_json(out):
    """Records of vmscope-trace --json: (events, maps, hists, stats) where maps
    is {(name, arity): {keys: value}} like parse_text's."""
    events, maps, hists, stats = [], {}, {}, None
    for line in out.splitlines():
        rec = json.loads(line)
        t, data = rec["type"], rec["data"]
        if t == "event":
            events.append(data)
        elif t == "map":
            (name, body), = data.items()
            for k, v in body.items():
                if isinstance(v, dict):
                    for k2, v2 in v.items():
                        maps.setdefault((name, 2), {})[(k, k2)] = v2
                else:
                    maps.setdefault((name, 1), {})[(k,)] = v
        elif t == "hist":
            (name, body), = data.items()
            hists[name] = body
        elif t == "stats":
            stats = data
    return events, maps, hists, stats


def one_key(m):
    """{(k,): v} -> {k: v}"""
    return {k[0]: v for k, v in m.items()}
