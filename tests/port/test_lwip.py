"""The lwIP port (make PORT=lwip PROFILE=small: build/lwip/roostd) over a
TAP device, for real: run by `make check-lwip` inside the network namespace
tests/port/lwip_ns.sh sets up (lwIP's address is ROOST_HOST, 192.168.7.2;
the host side of the link is 192.168.7.1).

What is checked here is what the integration suites cannot see: that the
server's TCP is lwIP's and not the kernel's (roostd holds no socket, only
the TAP device; nothing listens on the namespace's own stack), that lwIP's
flags are documented and checked, and that a body larger than lwIP's
window and heap crosses the link both ways intact, and that no system heap
is used after the first poll with lwIP in the process. The suites themselves
(observability, documents, agents and the chassis) run against the same
binary in the same namespace (the make target).
"""

import errno
import json
import os
import socket
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))

import roostlib  # noqa: E402
from roostlib import HOST, Raw, Server, port_accepts, request, run_roostd  # noqa: E402



@pytest.fixture(scope="module", autouse=True)
def in_the_namespace():
    assert roostlib.LWIP_TAPS, "run inside tests/port/lwip_ns.sh (make check-lwip)"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("lwip"))
    s.start()
    yield s
    s.stop()


def test_health_over_lwip(srv):
    r = request(srv.ports["observability"], "GET", "/health")
    assert r.status == 200
    assert b'"healthy"' in r.body


def test_sockets_are_lwips_not_the_kernels(srv):
    links = [os.readlink(f"/proc/{srv.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{srv.pid}/fd")]
    assert "/dev/net/tun" in links, links
    assert not [x for x in links if x.startswith("socket:")], links
    # the namespace's own stack has no listener on the server's ports
    for port in srv.ports.values():
        assert not port_accepts(port, host="127.0.0.1")
        assert port_accepts(port, host=HOST)


def test_large_body_both_ways(srv):
    """A 24 KiB event (more than lwIP's 5.8 KiB window, its 2.9 KiB send
    buffer, and several of its rx pbufs) goes in, and comes back out."""
    sid = str(uuid.uuid4())
    text = "x" * (24 * 1024)
    ts = "2025-11-25T10:00:00.000001+00:00"
    for body in ({"event_type": "session_start", "session_id": sid, "session_name": sid,
                  "timestamp": ts},
                 {"event_type": "post_tool", "session_id": sid, "session_name": sid,
                  "timestamp": ts, "tool_name": "Bash", "tool_output": {"stdout": text}}):
        r = srv.request("observability", "POST", "/events", body=json.dumps(body).encode(),
                        headers={"Content-Type": "application/json"})
        assert r.status == 200, r
    r = srv.request("observability", "GET", f"/events/{sid}")
    assert r.status == 200
    got = json.loads(r.body)["events"]
    assert got[-1]["tool_output"] == {"stdout": text}


def test_many_connections_in_a_row(srv):
    """More connections than lwIP has TCP blocks (closed ones wait in
    TIME_WAIT on roost's side when roost closes first): each is answered."""
    port = srv.ports["observability"]
    for _ in range(3 * roostlib.limits().get("CFG_MAX_CONNS", 8)):
        with Raw(port) as c:
            c.send(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert c.read_response().status == 200


def test_a_port_in_time_wait_on_roosts_side_can_connect_again(srv):
    """roost closes first, so it holds the TIME_WAIT and the client none: a
    client may take the same local port again at once. Its SYN ends the
    TIME_WAIT (lwip_hooks.h); lwIP alone would answer it with an ACK and
    ignore the client's RST for 2 minutes, and the connect would time out."""
    port = srv.ports["observability"]
    local = None
    for _ in range(2):
        for _ in range(100):   # until the client's last ACK of the old one is out
            c = socket.socket()
            c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            c.bind(("0.0.0.0", local or 0))
            local = c.getsockname()[1]
            c.settimeout(5)
            try:
                c.connect((HOST, port))
                break
            except OSError as e:
                c.close()
                if e.errno != errno.EADDRNOTAVAIL:
                    raise
                time.sleep(0.05)
        c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            got = c.recv(65536)
            if not got:
                break
            data += got
        c.close()
        assert data.startswith(b"HTTP/1.1 200"), data


def test_help_documents_the_flags():
    rc, out, _ = run_roostd(["--help"])
    assert rc == 0
    for flag in ("--lwip.tap=NAME", "--lwip.address=A.B.C.D/N", "--lwip.gateway=A.B.C.D"):
        assert flag in out


@pytest.mark.parametrize("flag", ["--lwip.address=300.1.1.1/24", "--lwip.address=10.0.0.1/33",
                                  "--lwip.gateway=1.2.3", "--lwip.tap=", "--lwip.nosuch=1"])
def test_bad_flag_is_a_usage_error(flag):
    rc, _, err = run_roostd([flag, "--budget"])
    assert rc == 2
    assert "lwIP flag" in err


def test_no_tap_stops_the_start(tmp_path):
    rc, out, err = run_roostd([f"--data_dir={tmp_path}/d", "--observability.port=0",
                               "--documents.enabled=false", "--agents.enabled=false"],
                              cwd=str(tmp_path))
    assert rc == 1
    assert "ready" not in out
    assert "--lwip.tap" in err


def test_no_heap_after_first_poll_over_lwip(tmp_path):
    """No system heap after init with lwIP in the process too (its heap and
    pools are static): the no-heap suite's REST, documents and agents
    workloads through lwIP, under the malloc-counting shim, which arms at
    the loop's first poll() (the TAP device's). The suite's /ws part is left
    out here (conftest.py, LWIP_DESELECT: lwIP's buffers)."""
    import test_no_heap  # noqa: E402  (tests/integration, on sys.path above)
    shim = os.environ.get("ROOST_SHIM")
    assert shim and os.path.isfile(shim), "ROOST_SHIM: make check-lwip builds it"
    report = tmp_path / "shim-report.txt"
    srv = Server(tmp_path / "srv", preload=shim)
    srv.env["ROOST_SHIM_REPORT"] = str(report)
    srv.start()
    try:
        test_no_heap.workload(srv)
        test_no_heap.docs_workload(srv)
        test_no_heap.agents_workload(srv)
    finally:
        srv.stop()
    r = roostlib.read_shim_report(report)
    assert r["armed"], r["text"]
    assert r["allocs"] == 0 and r["frees"] == 0, r["text"][:8000]
