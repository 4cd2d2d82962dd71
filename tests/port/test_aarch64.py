"""The aarch64 build under qemu-aarch64: a smoke test of the real binary.

`make check-aarch64` builds build/aarch64/roostd (ARCH=aarch64: Debian's
cross compiler, linked statically) and runs this file with ROOSTD_AARCH64
pointing at it. qemu-aarch64 is called explicitly (binfmt may not be
registered, as in a container), through a small wrapper script that the
integration helpers (tests/integration/roostlib.py) run as if it were
roostd: `exec` keeps the process id, so SIGTERM reaches qemu, which hands
it to the guest.

What it checks: the `ready` line, GET /health on every family, fleet CRUD
with the API key from roost-data/api_key, one observability event POSTed
and received over /ws, and SIGTERM ending the process with status 0.

What it cannot check: the one-thread property (tests/integration/
test_threads.py). qemu-user runs its own threads beside the guest's, so
/proc/<pid>/task counts qemu's threads, not roost's; that property is
checked on the native build only.
"""

import json
import os
import shutil
import stat
import sys
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

BINARY = os.environ.get("ROOSTD_AARCH64", "")
QEMU = shutil.which("qemu-aarch64")
if not (BINARY and os.path.isfile(BINARY)):
    raise RuntimeError("ROOSTD_AARCH64 must name build/aarch64/roostd (make check-aarch64)")
if QEMU is None:
    raise RuntimeError("qemu-aarch64 not found (Debian package qemu-user; tools/deps.sh)")


def _wrapper(directory):
    path = os.path.join(directory, "roostd-aarch64")
    with open(path, "w") as f:
        f.write(f'#!/bin/sh\nexec {QEMU} -L /usr/aarch64-linux-gnu {BINARY} "$@"\n')
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


# roostlib reads $ROOSTD for every run (limits(), Server): the wrapper.
_WRAP_DIR = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"roost-aarch64-{os.getpid()}")
os.makedirs(_WRAP_DIR, exist_ok=True)
os.environ["ROOSTD"] = _wrapper(_WRAP_DIR)

import roostlib  # noqa: E402
from roostlib import Server  # noqa: E402
from fleetlib import Fleet, parse_json  # noqa: E402
from wslib import WS  # noqa: E402

# Under emulation every step is slower: a longer wait for `ready`.
READY = 60.0


def test_binary_is_aarch64():
    with open(BINARY, "rb") as f:
        head = f.read(20)
    assert head[:4] == b"\x7fELF"
    # e_machine (little-endian, offset 18): 183 is EM_AARCH64
    assert int.from_bytes(head[18:20], "little") == 183


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("aarch64"))
    srv.start(wait=False)
    srv.wait_ready(timeout=READY)
    yield srv
    if srv.alive():
        srv.kill9()


def test_health_on_every_family(server):
    fams = roostlib.built_families()
    assert set(fams) == set(roostlib.FAMILIES), fams
    for fam in fams:
        r = server.request(fam, "GET", "/health", timeout=20.0)
        assert r.status == 200, f"{fam}: {r!r}"


def test_fleet_crud(server):
    fleet = Fleet(server)
    assert fleet.key and fleet.key == server.api_key()
    bot = fleet.create_bot("Cross Built")
    got = parse_json(fleet.get_bot(bot["id"]).body)["data"]
    assert got["name"] == "Cross Built"
    r = fleet.call("PUT", f"bots/{bot['id']}", {"name": "Renamed"})
    assert r.status == 200, repr(r)
    assert parse_json(fleet.get_bot(bot["id"]).body)["data"]["name"] == "Renamed"
    r = fleet.call("DELETE", f"bots/{bot['id']}")
    assert r.status == 200, repr(r)
    assert fleet.get_bot(bot["id"]).status == 404
    # without the key: refused
    assert fleet.call("GET", "bots", key=False).status == 401


def test_observability_event_over_ws(server):
    port = server.ports["observability"]
    session = f"a64-{uuid.uuid4().hex[:12]}"
    # WS reads the first message itself (read_init) and checks it is `init`.
    with WS(port, timeout=20.0) as ws:
        assert ws.init["type"] == "init"
        assert isinstance(ws.init["sessions"], list)
        body = {"event_type": "pre_tool", "session_id": session, "session_name": session,
                "timestamp": "2025-11-25T10:00:00.000001+00:00", "tool_name": "Read",
                "tool_input": {"n": 1}}
        r = server.request("observability", "POST", "/events",
                           headers={"Content-Type": "application/json"},
                           body=json.dumps(body).encode(), timeout=20.0)
        assert r.status in (200, 201), repr(r)
        while True:
            m = ws.recv_json(timeout=20.0)
            if m.get("type") == "event" and m["data"]["session_id"] == session:
                break
        assert m["data"]["tool_name"] == "Read"
        assert m["data"]["tool_input"] == {"n": 1}


def test_sigterm_exits_zero(server):
    assert server.alive()
    assert server.stop(timeout=30.0, expect_rc=0) == 0
    assert "ready" in server.stdout()
