"""Responses larger than a send buffer, produced window by window (DESIGN.md,
Memory): a rendered answer is written again for each window as the client
reads, so it must come out whole and byte-identical to one rendered at once,
and a body that changes between windows must cut the connection rather than
send a mix of two versions.

- GET of a soul of ~200 KiB, read slowly (SO_RCVBUF 4096): the whole body,
  valid JSON, the content as stored; the envelope's meta (request id,
  timestamp) is the same throughout, so the JSON parses.
- PUT of a soul of ~200 KiB (a changing method: rendered by the resource
  as stored) and PUT identity: the answer is whole.
- (A body that changes between windows cuts the connection: the kernel's
  socket buffers take a whole soul answer, so that case is a unit test,
  tests/unit/test_net.c test_render_changed_between_windows_cuts.)
- POST /events with a missing field and a ~150 KiB tool_input (less in a
  profile with a smaller body slot): the 422
  echoes the whole object, larger than a buffer, rendered from the same body
  for each window: whole and valid.
- PATCH of a session whose answer is large: whole, and the update is
  published once.
- /metrics streamed in whole lines: every line parses.
"""

import json
import socket
import time

import pytest

from fleetlib import API, Fleet
import roostlib
from roostlib import HOST
from roostlib import IO_TIMEOUT, SLOW, Raw, get_req, wait_for

SOUL_BYTES = 200 * 1024


def big_text(tag, n=SOUL_BYTES):
    line = f"# {tag}\n" + ("The quick brown fox says \"hi\" \\ and\tjumps.\n" * 40)
    return (line * (n // len(line) + 1))[:n]


def slow_get(port, path, headers, rcvbuf=4096):
    """A client with a small receive buffer that sends GET and reads nothing
    yet: returns the socket."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect((HOST, port))
    hdrs = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n{hdrs}\r\n".encode())
    return s


def read_some(s, n, timeout=IO_TIMEOUT):
    s.settimeout(timeout)
    got = b""
    while len(got) < n:
        chunk = s.recv(min(4096, n - len(got)))
        if not chunk:
            break
        got += chunk
    return got


def read_all(s, timeout=IO_TIMEOUT * 2):
    """Everything until the server closes or stays quiet; (bytes, closed)."""
    s.settimeout(timeout)
    got = b""
    closed = False
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            closed = True
            break
        got += chunk
    return got, closed


def split_response(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return lines[0], hdrs, body


def call_ok(fl, method, path, body=None):
    r = fl.call(method, path, body)
    assert r.status == 200, r.body[:300]
    return json.loads(r.body)["data"]


def metric(srv, name):
    r = srv.request("fleet", "GET", "/metrics")
    assert r.status == 200
    for ln in r.body.decode().splitlines():
        if ln.startswith(name + " "):
            return int(float(ln.split()[1]))
    raise AssertionError(f"{name} not in /metrics")


@pytest.mark.needs("fleet")
def test_big_soul_get_read_slowly_is_whole(fresh):
    srv = fresh()
    fl = Fleet(srv)
    bot = fl.create_bot("Windowed")
    content = big_text("slow get")
    call_ok(fl, "PUT", f"{API}/bots/{bot['slug']}/soul", {"content": content, "message": "big"})
    s = slow_get(srv.ports["fleet"], f"{API}/bots/{bot['slug']}/soul",
                 {"X-API-Key": srv.api_key()})
    try:
        first = read_some(s, 2048)
        time.sleep(0.3 * SLOW)          # the server waits for room meanwhile
        rest, _ = read_all(s, timeout=2 * SLOW)
    finally:
        s.close()
    status, hdrs, body = split_response(first + rest)
    assert status.startswith("HTTP/1.1 200"), status
    assert int(hdrs["content-length"]) == len(body) > SOUL_BYTES
    doc = json.loads(body)
    assert doc["data"]["content"] == content
    assert doc["meta"]["request_id"]
    assert metric(srv, "roost_http_render_passes_total") > 0


@pytest.mark.needs("fleet")
def test_big_answers_of_changing_methods_are_whole(fresh):
    srv = fresh()
    fl = Fleet(srv)
    bot = fl.create_bot("Changer")
    content = big_text("put")
    d = call_ok(fl, "PUT", f"{API}/bots/{bot['slug']}/soul", {"content": content, "message": "m"})
    assert d["content"] == content and d["version"] == 2
    ident = "# Identity\n" + big_text("identity", 150 * 1024)
    r = fl.call("PUT", f"{API}/bots/{bot['slug']}/identity", {"content": ident})
    assert r.status == 200, r.body[:300]
    assert json.loads(r.body)["data"]["raw"] == ident
    r = fl.call("POST", f"{API}/bots/{bot['slug']}/soul/rollback", {"version": 1})
    assert r.status == 200, r.body[:300]
    assert json.loads(r.body)["data"]["version"] == 3


@pytest.mark.needs("observability")
def test_big_422_echo_is_whole(fresh):
    srv = fresh()
    lim = roostlib.limits()
    size = min(150 * 1024, lim["CFG_BODY_SLOT_BYTES"] - 2048)
    assert size > 2 * lim["CFG_BUF_BYTES"], "the 422 must be larger than a buffer"
    tool_input = {"blob": "y" * size, "n": 1}
    body = {"session_id": "s1", "session_name": "n", "timestamp": "2025-01-01T00:00:00Z",
            "tool_input": tool_input}                      # event_type missing
    r = srv.request("observability", "POST", "/events", body=json.dumps(body).encode(),
                    headers={"Content-Type": "application/json"})
    assert r.status == 422, r.body[:300]
    detail = json.loads(r.body)["detail"]
    missing = [e for e in detail if e["type"] == "missing"]
    assert missing and missing[0]["input"]["tool_input"] == tool_input
    assert len(r.body) > size


@pytest.mark.needs("observability")
def test_big_patch_answer_is_whole_and_published_once(fresh):
    srv = fresh()
    ev = {"event_type": "session_start", "session_id": "p1", "session_name": "n",
          "timestamp": "2025-01-01T00:00:00Z"}
    assert srv.request("observability", "POST", "/events",
                       body=json.dumps(ev).encode()).status == 200
    # enough events that the Session answer grows past one buffer
    for i in range(40):
        e = dict(ev, event_type="pre_tool", tool_name="Read",
                 tool_input={"path": "p" * 900, "i": i})
        assert srv.request("observability", "POST", "/events",
                           body=json.dumps(e).encode()).status == 200
    name = "renamed " + "n" * 200
    r = srv.request("observability", "PATCH", "/sessions/p1/metadata",
                    body=json.dumps({"session_name": name}).encode())
    assert r.status == 200, r.body[:300]
    doc = json.loads(r.body)
    assert doc["ok"] is True and doc["session"]["session_name"] == name


@pytest.mark.needs("fleet")
def test_metrics_lines_are_whole(fresh):
    srv = fresh()
    with Raw(srv.ports["fleet"]) as c:
        r = c.exchange(get_req("/metrics"))
    assert r.status == 200
    assert r.header("Transfer-Encoding") == "chunked"
    text = r.body.decode()
    assert text.endswith("\n")
    for ln in text.splitlines():
        if ln and not ln.startswith("#"):
            name, value = ln.rsplit(" ", 1)
            float(value)
            assert name.startswith("roost_"), ln
    wait_for(lambda: metric(srv, "roost_bufs_lent") >= 0, IO_TIMEOUT)
