#!/usr/bin/env python3
"""vmscope-trace refuses to start, with one clear line and exit status 2,
when it cannot trace: no privileges to load BPF programs, no such binary, a
binary that is neither QEMU nor vmscope's, a process that is not there, bad
flags.

The privilege check runs as user nobody (setpriv, when we are root), or as
ourselves when we are not root.
"""
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tracetest as T  # noqa: E402


def run(args, prefix=()):
    return subprocess.run(list(prefix) + [T.trace_binary()] + args, capture_output=True,
                          text=True, timeout=T.WAIT)


def expect(args, stderr, prefix=(), status=2):
    r = run(args, prefix)
    T.check(r.returncode == status and r.stderr == stderr and r.stdout == "",
            f"{' '.join(list(prefix) + args)}: exit {r.returncode}, stderr {r.stderr!r}, "
            f"stdout {r.stdout[:200]!r}; wanted exit {status}, stderr {stderr!r}")
    T.log(f"ok: {' '.join(args)} -> {status}: {stderr.strip()}")


def code_offset(binary, func):
    """File offset of an exported function (nm's address, readelf's sections)."""
    addr = None
    for line in subprocess.run(["nm", "-D", "--defined-only", binary], capture_output=True,
                               text=True, check=True).stdout.splitlines():
        f = line.split()
        if len(f) == 3 and f[2] == func:
            addr = int(f[0], 16)
    T.check(addr is not None, f"{binary}: no {func}")
    for line in subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        f = line.replace("[ ", "[").split()
        if len(f) > 5 and f[1] == ".text":
            return addr - int(f[3], 16) + int(f[4], 16)
    T.fail(f"{binary}: no .text section")


def main():
    if not os.path.exists(T.trace_binary()):
        T.skip("vmscope-trace is not built (configure found no clang, bpftool or libbpf, "
               "or --enable-probes=no)")
    qemu = T.qemu_binary() or "/usr/bin/qemu-system-x86_64"
    have_qemu = os.path.exists(qemu)
    tmp = T.tmpdir()

    # Without privileges.
    if have_qemu:
        if os.geteuid() == 0:
            if not shutil.which("setpriv"):
                T.skip("setpriv (util-linux) is needed to drop root")
            prefix, uid = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"), 65534
        else:
            prefix, uid = (), os.getuid()
        expect(["-b", qemu, "-d", "1"],
               "vmscope-trace: needs root or CAP_BPF+CAP_PERFMON to load BPF programs "
               f"(running as uid {uid})\n", prefix)

    # Binaries.
    missing = os.path.join(tmp, "no-such-qemu")
    expect(["-b", missing], f"vmscope-trace: {missing}: No such file or directory\n")
    notelf = os.path.join(tmp, "not-elf")
    with open(notelf, "w") as f:
        f.write("#!/bin/sh\n")
    expect(["-b", notelf], f"vmscope-trace: {notelf}: not an ELF file\n")
    true = shutil.which("true")
    expect(["-b", true],
           f"vmscope-trace: {true}: not a QEMU binary (missing functions qemu_put_byte, "
           "qemu_put_be16, qemu_put_be32, qemu_put_be64, qemu_put_buffer, qemu_get_byte, "
           "qemu_get_be16, qemu_get_be32, qemu_get_be64, qemu_get_buffer, vmstate_save_state, "
           "vmstate_load_state) nor a vmscope binary (no vmscope USDT probes)\n")
    if have_qemu:
        expect(["-b", qemu, "-f", "no_such_function*"],
               f"vmscope-trace: {qemu}: no function to trace matches the -f patterns\n")
        # Summary mode reads QEMUFile's layout from QEMU's code: a copy of
        # QEMU whose qemu_file_total_transferred_fast reads another register
        # is refused.
        odd = os.path.join(tmp, "qemu-odd")
        shutil.copyfile(qemu, odd)
        off = code_offset(qemu, "qemu_file_total_transferred_fast")
        with open(odd, "r+b") as f:
            f.seek(off)
            code = f.read(2)
            T.check(code == b"\x8b\x97", f"{qemu}: unexpected code {code.hex()} (not QEMU 7.2?)")
            f.seek(off + 1)
            f.write(b"\x96")    # mov 0x8440(%rsi),%edx
        expect(["-b", odd, "-m", "summary"],
               f"vmscope-trace: -m summary: {odd}: qemu_file_total_transferred_fast is not the "
               "code expected (QEMU 7.2's, x86-64): cannot find QEMUFile's members\n")
        os.unlink(odd)
    devhost = T.devhost_binary()
    if T.has_usdt(devhost):
        expect(["-b", devhost, "-f", "no_such_function*"],
               f"vmscope-trace: {devhost}: no function to trace matches the -f patterns\n")

    # Flags.
    usage = "Try 'vmscope-trace --help'.\n"
    expect(["-p", "12x"], "vmscope-trace: -p: not a process id: '12x'\n")
    expect(["-p", "0"], "vmscope-trace: -p: not a process id: '0'\n")
    expect(["-d", "-1"], "vmscope-trace: -d: not a positive number of seconds: '-1'\n")
    expect(["-m", "all"], "vmscope-trace: -m: not a mode (summary or calls): 'all'\n")
    expect(["-m", "summary", "--events"],
           "vmscope-trace: -m summary counts whole sections: --events and -f need -m calls\n")
    expect(["-m", "summary", "-f", "qemu_put_*"],
           "vmscope-trace: -m summary counts whole sections: --events and -f need -m calls\n")
    expect(["-d"], "vmscope-trace: option '-d' needs an argument\n" + usage)
    expect(["--frobnicate"], "vmscope-trace: unknown option '--frobnicate'\n" + usage)
    expect(["extra"], "vmscope-trace: unexpected argument 'extra'\n" + usage)
    dead = subprocess.Popen(["true"])
    dead.wait()
    expect(["-p", str(dead.pid)], f"vmscope-trace: no process with PID {dead.pid}\n")
    r = run(["--help"])
    T.check(r.returncode == 0 and r.stdout.startswith("Usage: vmscope-trace"), f"--help: {r}")

    # Processes (past the privilege check: root only).
    if have_qemu and os.geteuid() == 0:
        dead = subprocess.Popen(["true"])
        dead.wait()
        expect(["-b", qemu, "-p", str(dead.pid)], f"vmscope-trace: no process with PID {dead.pid}\n")
        sleeper = T.spawn(["sleep", "60"])
        exe = os.path.realpath(shutil.which("sleep"))
        expect(["-b", qemu, "-p", str(sleeper.pid)],
               f"vmscope-trace: process {sleeper.pid} runs {exe}, not {qemu}\n")
        # Without -b, the binary is what the process runs.
        r = run(["-p", str(sleeper.pid)])
        T.check(r.returncode == 2 and r.stderr.startswith(
                    f"vmscope-trace: {exe}: not a QEMU binary (missing functions ")
                and r.stderr.endswith(" nor a vmscope binary (no vmscope USDT probes)\n"),
                f"-p {sleeper.pid}: {r}")
    T.log("PASS")


main()
