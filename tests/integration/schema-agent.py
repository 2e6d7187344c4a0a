#!/usr/bin/env python3
"""JSON Schemas of live devices, checked with python3-jsonschema.

A vmscope-devhost runs every reference device; a vmscope-agent shows them
(their states in BER too, over QMP and HTTP).
For each device, query-device-schema {format: "json-schema"} (over QMP, and
the same over HTTP) must be a valid draft-07 schema; every state the agent
returns (several, as the devices change) must validate against it; the
state with one integer out of range, one value of the wrong type, or one
extra field must not.  Then `vmscope-view schema FILE` on every stream
fixture: each section's state from `vmscope-view stream` validates against
its section's schema.
"""
import glob
import gzip
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tracetest as tt  # noqa: E402  spawn, cleanup, fail, check, skip

try:
    import jsonschema
except ImportError:
    tt.skip("python3-jsonschema is not installed (apt-get install python3-jsonschema)")

BUILD = os.environ.get("top_builddir", ".")
SRC = os.environ.get("top_srcdir", ".")


class Agent(tt.Qmp):
    """A vmscope-agent on the segments in `tmp`, QMP and HTTP (port 0)."""

    def __init__(self, tmp):
        self.qmp_path = f"{tmp}/agent.qmp"
        self.log_path = f"{tmp}/agent.log"
        self.proc = tt.spawn([f"{BUILD}/agent/vmscope-agent", "--qmp", f"unix:{self.qmp_path}",
                              "--http", "127.0.0.1:0", "--shm-dir", tmp],
                             stdout=subprocess.PIPE, text=True)
        self.http = None
        while self.http is None:
            line = self.proc.stdout.readline()
            tt.check(line, "the agent exited")
            if line.startswith("http: listening on "):
                self.http = line.split()[-1].rstrip("/")
        self.connect("agent", self.proc, self.qmp_path)


def ber_description(data):
    """The description name of a BER state: [APPLICATION 2] {UTF8String NAME, ...}."""
    if data[0] != 0x62:
        return None
    at = 2 + (data[1] & 0x7f if data[1] & 0x80 else 0)
    if data[at] != 0x0c:
        return None
    return data[at + 2:at + 2 + data[at + 1]].decode()


def integer_leaves(schema, state):
    """Top-level integer members: (name, maximum)."""
    for name, s in schema["properties"].items():
        if s.get("type") == "integer" and name in state:
            yield name, s["maximum"]


def check_device(schema, states, path):
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    for st in states:
        errors = list(validator.iter_errors(st))
        tt.check(not errors, f"{path}: state does not validate: {errors[:1]}")
    st = states[-1]
    ints = list(integer_leaves(schema, st))
    tt.check(ints, f"{path}: no integer member to tamper with")
    name, maximum = ints[0]
    bad = [dict(st, **{name: maximum + 1}),          # out of range
           dict(st, **{name: str(st[name])}),         # wrong type
           dict(st, colour=1)]                        # extra field
    for b in bad:
        tt.check(list(validator.iter_errors(b)), f"{path}: a tampered state validates: {b}")


def main():
    tmp = tt.tmpdir()
    tt.Devhost(tmp, "schema", paused=False, tick_ms=20)
    q = Agent(tmp)
    http = q.http
    deadline = time.time() + tt.WAIT
    while True:
        devices = q.cmd("query-devices")
        if len(devices) >= 8:
            break
        tt.check(time.time() < deadline, f"devices never appeared: {devices}")
        time.sleep(0.1)

    for dev in devices:
        path = dev["path"]
        schema = q.cmd("query-device-schema", path=path, format="json-schema")["schema"]
        tt.check(schema["$schema"] == "http://json-schema.org/draft-07/schema#", path)
        states = []
        for _ in range(3):
            states.append(q.cmd("query-device-state", path=path)["state"])
            time.sleep(0.05)
        check_device(schema, states, path)
        # The default is the description as vmscope writes it; HTTP gives the same schema.
        plain = q.cmd("query-device-schema", path=path)["schema"]
        tt.check("fields" in plain, f"{path}: the default schema is not the description")
        host, ident = path.strip("/").split("/")
        with urllib.request.urlopen(f"{http}/api/devices/{host}/{ident}/schema"
                                    "?format=json-schema", timeout=tt.WAIT) as resp:
            tt.check(json.load(resp)["schema"] == schema, f"{path}: HTTP schema differs")
        # The state in BER too: over QMP as hex under "data", over HTTP as the bytes.
        data = bytes.fromhex(q.cmd("query-device-state", path=path, format="ber")["data"])
        tt.check(ber_description(data) == schema["title"], f"{path}: BER {data[:16].hex()}")
        with urllib.request.urlopen(f"{http}/api/devices/{host}/{ident}/state?format=ber",
                                    timeout=tt.WAIT) as resp:
            tt.check(resp.headers["Content-Type"] == "application/x-vmscope-ber",
                     f"{path}: {resp.headers['Content-Type']}")
            tt.check(resp.read()[0] == 0x62, f"{path}: HTTP BER")
        tt.log(f"ok {path}: {len(schema['properties'])} properties")

    r = q.call("query-device-schema", path=devices[0]["path"], format="xml")
    tt.check(r.get("error", {}).get("desc") == "Parameter 'format' does not accept value 'xml'",
             f"bad format: {r}")
    try:
        urllib.request.urlopen(f"{http}/api/devices/schema/serial0/schema?format=xml",
                               timeout=tt.WAIT)
        tt.fail("HTTP accepted format=xml")
    except urllib.error.HTTPError as e:
        body = json.load(e)
        tt.check(e.code == 400 and body["error"]["desc"] ==
                 "format 'xml': expected vmstate or json-schema", f"HTTP bad format: {body}")

    # Streams: every section's state validates against its section's schema.
    view = f"{BUILD}/viewers/vmscope-view"
    fixtures = sorted(glob.glob(f"{SRC}/tests/fixtures/*.mig.gz"))
    tt.check(fixtures, "no stream fixtures")
    for fx in fixtures:
        mig = f"{tmp}/{os.path.basename(fx)[:-3]}"
        with gzip.open(fx) as src, open(mig, "wb") as dst:
            dst.write(src.read())
        shown = subprocess.run([view, "stream", mig], capture_output=True)
        if os.path.basename(fx) == "pc20.mig.gz":
            tt.log("skip pc20.mig.gz: no vmdesc (its descriptions come with --desc)")
            continue
        tt.check(shown.returncode == 0, f"{fx}: {shown.stderr}")
        stream = json.loads(shown.stdout)["sections"]
        schemas = json.loads(subprocess.run([view, "schema", mig], check=True,
                                            capture_output=True).stdout)["sections"]
        by_name = {(s["name"], s["instance-id"]): s["schema"] for s in schemas}
        checked = 0
        for sec in stream:
            schema = by_name.get((sec["name"], sec["instance-id"]))
            if schema is None:
                continue
            jsonschema.Draft7Validator.check_schema(schema)
            errors = list(jsonschema.Draft7Validator(schema).iter_errors(sec["state"]))
            tt.check(not errors, f"{fx}: {sec['name']}: {errors[:1]}")
            checked += 1
        tt.check(checked == len(schemas) and checked > 10, f"{fx}: {checked} sections checked")
        tt.log(f"ok {os.path.basename(fx)}: {checked} sections")
    tt.log("PASS")


main()
