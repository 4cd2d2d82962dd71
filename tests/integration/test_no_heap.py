"""No system heap after init (DESIGN.md hard property 1).

roostd runs under LD_PRELOAD of tests/shim/countmalloc.so, which arms itself at
the first poll() and counts every malloc/calloc/realloc/free/... after it.
A mixed workload touches every path the foundation has (a SIGHUP reload
among them); after SIGTERM the shim's report must say allocs_after_poll=0
frees_after_poll=0.

A control test proves the shim can fail: a small C program that allocates
after poll() must be reported.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from roostlib import (IO_TIMEOUT, SANITIZED, SLOW, Raw, Server, built, built_families,
                      family_or_other, get_req, limits, raise_nofile,
                      read_shim_report, readable)
from roostlib import HOST
from wslib import OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, WS, build_frame
from wslib import new_key, upgrade, upgrade_request

import doclib
import fakellm



# ---- control: the shim itself ----------------------------------------------------

CONTROL_C = r"""
#include <poll.h>
#include <stdlib.h>
#include <string.h>
void *volatile sink;
int main(int argc, char **argv) {
    sink = malloc(16); free(sink);            /* init: allowed */
    sink = strdup("init"); free(sink);
    poll(NULL, 0, 0);                          /* arms the shim */
    if (argc > 1 && strcmp(argv[1], "malloc") == 0) { sink = malloc(32); }
    if (argc > 1 && strcmp(argv[1], "calloc") == 0) { sink = calloc(4, 8); }
    if (argc > 1 && strcmp(argv[1], "realloc") == 0) { sink = realloc(NULL, 8); }
    if (argc > 1 && strcmp(argv[1], "strdup") == 0) { sink = strdup("x"); }
    if (argc > 1 && strcmp(argv[1], "posix_memalign") == 0) {
        void *p; if (posix_memalign(&p, 64, 64) == 0) { sink = p; }
    }
    if (argc > 1 && strcmp(argv[1], "aligned_alloc") == 0) { sink = aligned_alloc(64, 64); }
    return 0;
}
"""


@pytest.fixture(scope="module")
def control(tmp_path_factory):
    d = tmp_path_factory.mktemp("ctl")
    src = d / "ctl.c"
    src.write_text(CONTROL_C)
    exe = str(d / "ctl")
    # -fno-builtin: keep realloc(NULL, n) a realloc call.
    subprocess.run([shutil.which("cc") or "gcc", "-O0", "-fno-builtin", "-o", exe, str(src)],
                   check=True)
    return exe


def run_control(shim, control, tmp_path, arg):
    rep = tmp_path / f"ctl-{arg or 'none'}.txt"
    env = dict(os.environ, LD_PRELOAD=shim, ROOST_SHIM_REPORT=str(rep))
    subprocess.run([control] + ([arg] if arg else []), env=env, check=True, timeout=30)
    return read_shim_report(rep)


def test_shim_counts_nothing_before_poll(shim, control, tmp_path):
    r = run_control(shim, control, tmp_path, None)
    assert r["armed"]
    assert r["allocs"] == 0 and r["frees"] == 0, r["text"]
    assert r["before"] >= 2, f"allocations before poll() were not seen: {r['text']}"


@pytest.mark.parametrize("fn", ["malloc", "calloc", "realloc", "strdup", "posix_memalign",
                                "aligned_alloc"])
def test_shim_catches_allocation_after_poll(shim, control, tmp_path, fn):
    r = run_control(shim, control, tmp_path, fn)
    assert r["allocs"] == 1, f"{fn} after poll() not counted exactly once:\n{r['text']}"
    assert f"{fn}(" in r["text"], f"no backtrace entry for {fn}:\n{r['text']}"


# ---- the server ---------------------------------------------------------------------

def workload(srv, spa=False):
    """Every path the foundation has, several times over. spa: the fleet
    listener serves a web dir (unknown paths are its index.html)."""
    p = srv.ports
    fleet, rpg = family_or_other("fleet"), family_or_other("rpg")
    # A slow client that will hit the header timeout (408) while the rest runs.
    slow = Raw(p[rpg], timeout=30 * SLOW)
    slow.send(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    t_slow = time.monotonic()

    for rnd in range(3):
        for fam in built_families():
            # fresh connections, keep-alive, HEAD, 404, 405, query strings
            assert srv.request(fam, "GET", "/health").status == 200
            with Raw(p[fam]) as c:
                for _ in range(10):
                    assert c.exchange(get_req("/health?x=1&y=%41")).status == 200
                assert c.exchange(get_req("/health", method="HEAD"), head=True).status == 200
                key = f"X-API-Key: {srv.api_key()}\r\n"
                want = 404 if fam != "fleet" else 401
                assert c.exchange(get_req("/api/nope/%2F/x")).status == want
                assert c.exchange(get_req("/api/nope/%2F/x", extra=key)).status == 404
                if fam == "fleet":   # auth: a wrong key, then the key (hash + compare)
                    bad = "X-API-Key: roost_" + "0" * 64 + "\r\n"
                    assert c.exchange(get_req("/api/v1/stats", extra=bad)).status == 401
                    assert c.exchange(get_req("/api/v1/bots", extra=key)).status in (200, 501)
                nope = 200 if (spa and fam == "fleet") else 404
                assert c.exchange(get_req("/nope")).status == nope
                assert c.exchange(get_req("/health", method="DELETE",
                                          extra="Content-Length: 0\r\n")).status in (404, 405)
                # pipelining
                c.send(get_req("/health") * 5 + get_req("/x"))
                for _ in range(5):
                    assert c.read_response().status == 200
                assert c.read_response().status == nope
                # chunked body, Content-Length body, 100-continue
                c.send(b"GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"5\r\nhello\r\n3;e=1\r\nabc\r\n0\r\nT: 1\r\n\r\n")
                assert c.read_response().status == 200
                c.send(b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody")
                assert c.read_response().status == 200
                c.send(b"GET /health HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                       b"Content-Length: 3\r\n\r\n")
                first = c.read_response()
                c.send(b"abc")
                if first.status == 100:
                    assert c.read_response().status == 200
                # CORS preflight and simple
                c.send(b"OPTIONS /health HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:5173\r\n"
                       b"Access-Control-Request-Method: POST\r\n"
                       b"Access-Control-Request-Headers: content-type\r\n\r\n")
                assert c.read_response().status in (200, 204)
                c.send(get_req("/health", extra="Origin: http://localhost:3000\r\n"))
                assert c.read_response().status == 200
            # malformed input, each on its own connection
            bad = [
                b"\x00\x01garbage\r\n\r\n",
                b"GET /health HTTP/1.1\r\n\r\n",
                b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n",
                b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                get_req("/" + "a" * 9000),
                get_req("/health", extra="".join(f"X-{i}: {'v' * 1000}\r\n" for i in range(20))),
                b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n",
                b"POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\n\r\n",
                get_req("/health", version="HTTP/2.0"),
                b"POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            ]
            for payload in bad:
                with Raw(p[fam]) as c:
                    c.send(payload)
                    r = c.read_response()
                    assert 400 <= r.status < 600, r
            # a client that resets mid-request
            s = socket.create_connection((HOST, p[fam]))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.sendall(b"GET /hea")
            s.close()
        # a chunked body over the limit (413 mid-stream)
        with Raw(p[fleet]) as c:
            c.send(b"POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"10000\r\n" + b"a" * 0x10000 + b"\r\n"
            for _ in range(20):
                if readable(c.sock):
                    break
                try:
                    c.send(chunk)
                except OSError:
                    break
            assert c.read_response().status == 413

    # Concurrency: several clients at once.
    errors = []

    def hammer(fam):
        try:
            with Raw(p[fam]) as c:
                for _ in range(200):
                    assert c.exchange(get_req("/health")).status == 200
        except Exception as e:   # reported below
            errors.append(e)

    # Two per family, fewer where the pool is small (8 connections in the
    # small profile: the slow client holds one).
    fams = (built_families() * 2)[:max(1, limits()["CFG_MAX_CONNS"] - 2)]
    threads = [threading.Thread(target=hammer, args=(f,)) for f in fams]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors

    # Pool exhaustion: idle reclaim, then 503 with everything busy.
    raise_nofile()
    cap = limits()["CFG_MAX_CONNS"]
    idle = []
    try:
        for i in range(cap + 5):
            c = Raw(p[built_families()[i % len(built_families())]], timeout=10 * SLOW)
            assert c.exchange(get_req("/health")).status == 200
            idle.append(c)
    finally:
        for c in idle:
            c.close()
    assert srv.request(fleet, "GET", "/health").status == 200
    busy = []
    try:
        # One listener: accept order is connect order, so the probe comes last.
        for i in range(cap + 3):
            c = Raw(p["documents"], timeout=10 * SLOW)
            c.send(b"GET /health HTTP/1.1\r\nHost: x\r\nX-W: ")
            busy.append(c)
        # (The exact answer is test_limits' business; here only the path counts.)
        for fam in ("documents", rpg):
            with Raw(p[fam]) as c:
                assert c.exchange(get_req("/health")).status in (200, 503)
    finally:
        for c in busy:
            c.close()

    # The slow client gets its 408 (timer path).
    r = slow.read_response(timeout=max(1.0, 15 * SLOW - (time.monotonic() - t_slow)))
    assert r.status == 408, r
    slow.close()
    assert srv.request("agents", "GET", "/health").status == 200


def make_web_dir(root):
    """A small SPA build: index, an asset, a 2 MiB file, a symlink out."""
    web = root / "web"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_bytes(b"<!doctype html><p>spa</p>\n")
    (web / "assets" / "app.js").write_bytes(b"console.log(1);\n")
    (web / "big.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    (web / "cut.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    (root / "secret.txt").write_bytes(b"secret\n")
    (web / "out.txt").symlink_to(root / "secret.txt")
    return web


def spa_workload(srv, web):
    """Static files (fleet.web_dir): files, HEAD, 304, fallback, refusals,
    streamed downloads (whole, aborted, stalled until the 503, cut short)."""
    p = srv.ports["fleet"]

    def small_rcvbuf():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(10 * SLOW)
        s.connect((HOST, p))
        return s

    def head_of(s):
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(4096)
            assert chunk, buf
            buf += chunk
        return int(buf.split(b" ", 2)[1])

    for _ in range(3):
        with Raw(p, timeout=20 * SLOW) as c:
            assert c.exchange(get_req("/")).status == 200
            r = c.exchange(get_req("/assets/app.js"))
            assert r.status == 200
            etag = r.header("ETag")
            assert c.exchange(get_req("/assets/app.js",
                                      extra=f"If-None-Match: {etag}\r\n")).status == 304
            assert c.exchange(get_req("/bots/42")).status == 200
            assert c.exchange(get_req("/big.bin", method="HEAD"), head=True).status == 200
            assert len(c.exchange(get_req("/big.bin")).body) == 2 * 1024 * 1024
            for bad in ("/../etc/passwd", "/%2e%2e/x", "/a%2fb", "/%00", "/out.txt", "/assets/",
                        "/api/x", "/ws/x"):
                assert c.exchange(get_req(bad)).status in (401, 404)
        # a client that leaves mid-file, with RST
        s = small_rcvbuf()
        s.sendall(get_req("/big.bin"))
        assert head_of(s) == 200
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    # every stream busy: the 503, then all released
    held = []
    try:
        for _ in range(1000):
            s = small_rcvbuf()
            s.sendall(get_req("/big.bin"))
            st = head_of(s)
            held.append(s)
            if st == 503:
                break
        assert st == 503
    finally:
        for s in held:
            s.close()
    # a file that shrinks while it is sent: the response is cut
    s = small_rcvbuf()
    s.sendall(get_req("/cut.bin"))
    assert head_of(s) == 200
    os.truncate(web / "cut.bin", 100000)
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    s.close()
    deadline = time.monotonic() + 10 * SLOW
    while True:
        with Raw(p, timeout=20 * SLOW) as c:
            r = c.exchange(get_req("/big.bin"))
        if r.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert r.status == 200 and len(r.body) == 2 * 1024 * 1024


def stream_workload(srv):
    """WebSocket streams: init snapshot, live events (one larger than tx, so
    it is written across drains), ping/pong, ignored text, a protocol error,
    the client's close, and a client that leaves without closing."""
    p = srv.ports["observability"]
    clients = [WS(p, read_init=False) for _ in range(3)]
    for c in clients:
        f = c.recv_frame()
        assert f.opcode == OP_TEXT and json.loads(f.payload)["type"] == "init"
    # One event larger than tx (100 KiB; in a build whose body slot or
    # ring is smaller, as large as both take).
    lim = limits()
    big = "x" * min(100 * 1024, min(lim["CFG_BODY_SLOT_BYTES"], lim["CFG_BUS_BYTES"]) - 2048)
    for i in range(20):
        body = {"event_type": "pre_tool", "session_id": f"heap-{i % 3}", "session_name": "n",
                "timestamp": "2025-01-01T00:00:00Z", "tool_name": "Read",
                "tool_input": {"i": i}, "tool_output": big if i == 7 else None}
        assert srv.request("observability", "POST", "/events",
                           body=json.dumps(body).encode()).status == 200
    for c in clients:
        got = [c.recv_frame(IO_TIMEOUT * 2) for _ in range(20)]
        assert all(json.loads(f.payload)["type"] == "event" for f in got)
    a, b, c = clients
    a.send(build_frame(OP_PING, b"ping") + build_frame(OP_TEXT, b"hel", fin=False) +
           build_frame(OP_CONT, b"lo"))
    f = a.recv_frame()
    assert (f.opcode, f.fin, f.payload) == (OP_PONG, True, b"ping")
    a.send_close(1000)
    assert a.recv_frame().opcode == OP_CLOSE
    b.send(b"\x81\x02hi")                     # unmasked: 1002
    f = b.recv_frame()
    assert f.opcode == OP_CLOSE and f.close_code == 1002
    c.close()                                      # gone without a close frame
    for s in clients:
        s.close()
    assert srv.request("observability", "GET", "/health").status == 200


def agents_workload(srv):
    """The agents family: blueprints created, read (one and the list, larger
    than tx), patched field by field, disabled, refused a delete while an
    observability session of theirs runs (Decision 8), deleted; an
    invalid directory skipped; the errors (422, 400, 404, 409)."""
    if not built("agents"):
        return
    agents_dir = os.path.join(srv.workdir, ".agent-orchestrator", "agents")
    big = min(100 * 1024, limits()["CFG_BODY_SLOT_BYTES"] // 4)

    def a(method, path, body=None, raw=None):
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        return srv.request("agents", method, path, body=data)

    for i in range(12):
        body = {"name": f"heap-{i:02d}", "description": "d \u00e9" * 100,
                "skills": [f"s{k}" for k in range(10)],
                "mcp_servers": {"m": {"command": "npx", "args": ["x"], "env": {"K": "V"}}}}
        if i == 3:
            body["system_prompt"] = "p\u2028\x01" * (big // 13)   # 13 bytes of JSON each
        assert a("POST", "/agents", body).status == 201
    os.makedirs(os.path.join(agents_dir, "broken"), exist_ok=True)
    with open(os.path.join(agents_dir, "broken", "agent.json"), "w") as f:
        f.write("{nope")
    for _ in range(3):
        r = a("GET", "/agents")
        assert r.status == 200 and len(json.loads(r.body)) == 12
        assert a("GET", "/agents/heap-03").status == 200
        assert a("HEAD", "/agents/heap-03").status == 200
    for patch in ({"description": "new"}, {"skills": ["a"]}, {"skills": []},
                  {"system_prompt": "sp"}, {"system_prompt": ""},
                  {"mcp_servers": {"n": {"command": "c", "args": []}}}, {"mcp_servers": {}}, {}):
        assert a("PATCH", "/agents/heap-01", patch).status == 200
    for status in ("inactive", "inactive", "active", "active"):
        assert a("PATCH", "/agents/heap-02/status", {"status": status}).status == 200
    assert a("PATCH", "/agents/heap-02/status", {"status": "x" * big}).status == 422
    assert a("POST", "/agents", {"name": "x", "pad": "y" * big}).status == 422
    assert a("POST", "/agents", raw=b"{bad").status == 422
    assert a("POST", "/agents", {"name": "bad name", "description": "d"}).status == 400
    assert a("POST", "/agents", {"name": "heap-00", "description": "d"}).status == 409
    assert a("GET", "/agents/..").status == 404
    assert a("GET", "/agents/broken").status == 404
    if built("observability"):
        sid = "heap-agent-session"
        ev = {"event_type": "session_start", "session_id": sid, "session_name": sid,
              "timestamp": "2025-01-01T00:00:00Z"}
        assert srv.request("observability", "POST", "/events",
                           body=json.dumps(ev).encode()).status == 200
        assert srv.request("observability", "PATCH", f"/sessions/{sid}/metadata",
                           body=json.dumps({"agent_name": "heap-00"}).encode()).status == 200
        assert a("DELETE", "/agents/heap-00").status == 409
        ev["event_type"] = "session_stop"
        assert srv.request("observability", "POST", "/events",
                           body=json.dumps(ev).encode()).status == 200
    for i in range(12):
        assert a("DELETE", f"/agents/heap-{i:02d}").status == 204
    assert a("DELETE", "/agents/heap-00").status == 404


def hooks_workload(srv, tdir):
    """Claude Code hooks posted to rpg, recorded by observability too
    (Decision 9): an implicit start, a prompt, tool hooks, a Stop whose
    transcript (under a path of more than 1 KiB, through a link and `..`)
    is read, parsed and recorded, a refused path and a duplicate."""
    deep = os.path.join(tdir, *(["d" * 200] * 6))
    os.makedirs(deep)
    line = json.dumps({"message": {"role": "assistant",
                                   "content": ["x", {"type": "text", "text": "done"}]}})
    with open(os.path.join(deep, "t.jsonl"), "w") as f:
        f.write('{"type":"user"}\n' + line + "\n")
    os.symlink(os.path.join(deep, "t.jsonl"), os.path.join(tdir, "link.jsonl"))
    sid = "hooks-no-heap"
    bodies = [
        {"session_id": sid, "hook_event_name": "UserPromptSubmit", "prompt": "go", "pid": 77},
        {"session_id": sid, "hook_event_name": "PreToolUse", "tool_name": "Bash",
         "tool_input": {"command": "ls"}, "tool_use_id": "t1"},
        {"session_id": sid, "hook_event_name": "PreToolUse", "tool_name": "Bash",
         "tool_input": {"command": "ls"}, "tool_use_id": "t1"},
        {"session_id": sid, "hook_event_name": "PostToolUse", "tool_name": "Bash",
         "tool_response": {"stdout": "a"}, "tool_use_id": "t1"},
        {"session_id": sid, "hook_event_name": "Stop",
         "transcript_path": os.path.join(deep, "..", "d" * 200, "t.jsonl")},
        {"session_id": sid, "hook_event_name": "Stop",
         "transcript_path": os.path.join(tdir, "link.jsonl")},
        {"session_id": sid, "hook_event_name": "Stop", "transcript_path": "/etc/passwd"},
        {"session_id": "s" * 300, "hook_event_name": "PreToolUse"},
    ]
    for b in bodies:
        r = srv.request("rpg", "POST", "/event", body=json.dumps(b).encode(),
                        headers={"Content-Type": "application/json"})
        assert r.status == 200, r
    r = srv.request("observability", "GET", f"/events/{sid}")
    assert [e["event_type"] for e in r.json()["events"]] == [
        "session_start", "message", "pre_tool", "post_tool", "session_stop", "message",
        "session_stop", "message", "session_stop"], r


def tmux_start(tmp_path):
    """A private tmux server (its own TMUX_TMPDIR) with a shell window and a
    window running the fake Claude Code (tests/integration/data/fake_claude,
    installed as `claude`): the environment roostd is given to watch it."""
    tdir = tmp_path / "tmux"
    bindir = tmp_path / "bin"
    tdir.mkdir()
    bindir.mkdir()
    shutil.copy(os.path.join(os.path.dirname(__file__), "data", "fake_claude"),
                str(bindir / "claude"))
    os.chmod(str(bindir / "claude"), 0o755)
    env = dict(os.environ)
    env.pop("TMUX", None)
    env["TMUX_TMPDIR"] = str(tdir)
    env["PATH"] = f"{bindir}:{env.get('PATH', '/usr/bin:/bin')}"
    subprocess.run(["tmux", "new-session", "-d", "-s", "main", "-x", "160", "-y", "40"],
                   env=env, check=True)
    subprocess.run(["tmux", "new-window", "-t", "main", "-n", "claude",
                    f"{bindir}/claude --stream 50"], env=env, check=True)
    return env


def tmux_stop(env):
    subprocess.run(["tmux", "kill-server"], env=env, check=False)


def rpg_workload(srv, env):
    """The rpg family's live half with real tmux: polls and captures of a
    streaming Claude pane, /ws snapshots and broadcasts, every action (each
    a tmux child answered later), hooks changing a pane's status, an unknown
    id (an immediate poll first), and a failing tmux command."""
    hdr = {"Content-Type": "application/json"}

    def post(path, body=None):
        return srv.request("rpg", "POST", path, body=(json.dumps(body).encode()
                                                      if body is not None else b""),
                           headers=hdr)

    ws = WS(srv.ports["rpg"], "/ws", read_init=False)
    deadline = time.monotonic() + 15 * SLOW
    claude = None
    while claude is None and time.monotonic() < deadline:
        st = srv.request("rpg", "GET", "/api/windows").json()["data"]
        claude = next((p for p in st["panes"] if p["process"]["type"] == "claude"
                       and p.get("terminalContent")), None)
        time.sleep(0.1)
    assert claude is not None, st
    pid = claude["id"].replace("%", "%25")
    r = post("/api/windows/create", {"sessionName": "main", "windowName": "nh"})
    assert r.status == 200, r
    wid = r.json()["data"]["windowId"].replace("@", "%40")
    assert post(f"/api/windows/{wid}/rename", {"windowName": "no-heap"}).status == 200
    r = post(f"/api/windows/{wid}/new-pane")
    assert r.status == 200, r
    np = r.json()["data"]["paneId"].replace("%", "%25")
    assert post(f"/api/panes/{np}/prompt", {"prompt": "echo hi"}).status == 200
    assert post(f"/api/panes/{np}/signal", {"signal": "SIGINT"}).status == 200
    r = post(f"/api/panes/{np}/refresh")
    assert r.status == 200 and r.json()["data"]["refreshed"], r
    assert post(f"/api/panes/{np}/dismiss").status == 200
    assert post(f"/api/panes/{np}/close").status == 200
    assert post("/api/panes/%2599999/close").status == 404
    assert post("/api/windows/create", {"sessionName": "nosuch"}).status == 404
    for b in ({"hook_event_name": "UserPromptSubmit", "paneId": claude["id"],
               "session_id": "nh", "prompt": "go"},
              {"hook_event_name": "PreToolUse", "paneId": claude["id"], "session_id": "nh",
               "tool_name": "Task", "tool_use_id": "nh1", "tool_input": {"description": "d"}},
              {"hook_event_name": "PostToolUse", "paneId": claude["id"], "session_id": "nh",
               "tool_name": "Bash", "tool_use_id": "nh2", "error": "permission denied"},
              {"hook_event_name": "Stop", "paneId": claude["id"], "session_id": "nh"}):
        assert post("/event", b).status == 200
    assert post(f"/api/windows/{wid}/new-claude").status == 200
    assert post(f"/api/windows/{wid}/close").status == 200
    kinds = set()
    while time.monotonic() < deadline and not {"terminal_output", "pane_update"} <= kinds:
        m = ws.recv_json(timeout=2.0)
        kinds.add(m["type"])
    ws.close()
    assert {"connected", "windows", "terminal_output", "pane_update"} <= kinds, kinds


def chat_stream(srv, bot, body, read_all=True):
    """POST a chat turn; the SSE body as (event, data) pairs (read_all False:
    the open socket after the first text_delta)."""
    payload = json.dumps(body).encode()
    s = socket.create_connection((HOST, srv.ports["fleet"]), timeout=IO_TIMEOUT * 2)
    s.sendall((f"POST /api/v1/bots/{bot}/chat/stream HTTP/1.1\r\nHost: x\r\n"
               f"X-API-Key: {srv.api_key()}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload)
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
        if not read_all and b"event: text_delta" in buf:
            return s
    s.close()
    head, _, body_bytes = buf.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    events = []
    for block in body_bytes.decode().split("\n\n"):
        lines = [ln for ln in block.split("\n") if ln and not ln.startswith(":")]
        if lines:
            events.append((lines[0][len("event: "):], json.loads(lines[1][len("data: "):])))
    return events


def chat_workload(srv, fake, tls_fake):
    """Chat turns through the outbound stack (curl, c-ares, mbedtls): plain
    http and TLS providers, both wire formats, history, a failover, sub-agents
    with a cancel from /ws/events, and a client that leaves mid-stream."""
    r = srv.request("fleet", "POST", "/api/v1/bots", headers=srv.key_headers(),
                    body=json.dumps({"name": "Heap Bot"}).encode())
    bot = json.loads(r.body)["data"]["id"]
    ev = chat_stream(srv, bot, {"message": "plain turn"})
    assert [e for e, _ in ev][0] == "session" and ev[-1][0] == "done", ev
    sid = ev[0][1]["session_id"]
    ev = chat_stream(srv, bot, {"message": "second turn", "session_id": sid})
    assert ev[-1][0] == "done" and not any(e == "error" for e, _ in ev), ev
    # failover: the primary answers 500, the TLS openai provider takes over
    ev = chat_stream(srv, bot, {"message": "fail over please"})
    assert any(e == "text_delta" for e, _ in ev) and ev[-1][0] == "done", ev
    # sub-agents; the stalled one is cancelled from /ws/events
    ws = WS(srv.ports["fleet"], path="/ws/events", read_init=False,
            headers={"X-API-Key": srv.api_key()})
    done = {}
    t = threading.Thread(target=lambda: done.setdefault("ev", chat_stream(
        srv, bot, {"message": "spawn please"})))
    t.start()
    stalled = None
    while stalled is None:
        f = ws.recv_frame(IO_TIMEOUT * 2)
        m = json.loads(f.payload)
        if m["type"] == "agent_spawned" and m["task_description"] == "stall here":
            stalled = m["agent_id"]
    ws.send(build_frame(OP_TEXT, json.dumps({"type": "cancel_agent",
                                             "agent_id": stalled}).encode(), mask=True))
    t.join(IO_TIMEOUT * 4)
    assert done["ev"][-1][0] == "done", done
    assert any(e == "agent_cancelled" for e, _ in done["ev"]), done["ev"]
    ws.close()
    # a client that leaves mid-stream
    s = chat_stream(srv, bot, {"message": "leave early"}, read_all=False)
    s.close()
    fake.requests[-1].wait_closed()
    assert srv.request("fleet", "GET", "/health").status == 200


def docs_workload(srv):
    """documents: uploads over Content-Length and chunked bodies, refused
    and failed ones, a client that leaves mid-upload, downloads whole, by
    range and conditional, the list, tags, PATCH and DELETE."""
    p = srv.ports["documents"]
    ids = []
    for i in range(4):
        d = doclib.upload(srv, b"%d" % i * 30000, f"n{i}.md", tags="a, b", metadata={"k": "v"})
        ids.append(d["id"])
    body = doclib.upload_body(b"c" * 50000, "c.txt", tags="c")
    head = (f"POST /documents HTTP/1.1\r\nHost: x\r\nContent-Type: "
            f"{doclib.mp_headers()['Content-Type']}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    st, _, _ = doclib.raw_request(p, head, [doclib.chunked(body, 7000)])
    assert st == 201
    for data in (doclib.upload_body(metadata="{bad"), b"garbage",
                 doclib.upload_body(b"x" * 100)[:-30]):
        r = srv.request("documents", "POST", "/documents", headers=doclib.mp_headers(), body=data)
        assert r.status in (400, 422), r
    c = socket.create_connection((HOST, p))
    c.sendall(head + b"1000\r\n" + b"--" + doclib.BOUNDARY.encode())
    time.sleep(0.1)
    c.close()
    for i in ids:
        assert srv.request("documents", "GET", f"/documents/{i}").status == 200
        r = srv.request("documents", "GET", f"/documents/{i}", headers={"Range": "bytes=5-99"})
        assert r.status == 206
        etag = r.header("ETag")
        assert srv.request("documents", "GET", f"/documents/{i}",
                           headers={"If-None-Match": etag}).status == 304
        assert srv.request("documents", "GET", f"/documents/{i}",
                           headers={"Range": "bytes=999999-"}).status == 416
    assert srv.request("documents", "GET", "/documents?tags=a,b&limit=2").status == 200
    assert srv.request("documents", "GET", "/documents?filename=N1").status == 200
    assert srv.request("documents", "GET", "/documents/tags").status == 200
    r = srv.request("documents", "PATCH", f"/documents/{ids[0]}",
                    headers={"Content-Type": "application/json"},
                    body=b'{"tags":["X","y"],"description":"d"}')
    assert r.status == 200, r
    for i in ids:
        assert srv.request("documents", "DELETE", f"/documents/{i}").status == 200


# ---- fleet's builder ------------------------------------------------------------------

HEAP_TURN = {"action": "ask_question", "phase": "basics", "question": "Name?",
             "options": [{"id": "1", "label": "Heap Scout", "description": None},
                         {"id": "other", "label": "Other", "description": "Your own"}],
             "allow_free_text": True, "phase_label": "Setting up basics..."}
HEAP_SKILL_MD = ("---\nname: heap-generated\ndescription: Searches for heap use\nmetadata:\n"
                 "  version: \"0.1.0\"\n  skill-type: prompt\n  capabilities: [http_get]\n"
                 "  author: builder\n---\n\n# heap-generated\n\nSearches.\n")


def builder_turns(**kw):
    """The builder's non-streaming calls (spec/fleet.md §10): a turn, or
    (kw) another one."""
    return fakellm.text(json.dumps(dict(HEAP_TURN, **kw)))


def script_builder(fake, tls_fake):
    """Replies for builder_workload, ahead of the chat catch-alls: builder
    calls are the non-streaming ones."""
    def nonstream(marker=None, anywhere=False):
        def pred(r):
            if r.stream:
                return False
            if marker is None:
                return True
            if anywhere:
                return any(marker in m["content"] for m in r.messages)
            return marker in r.last_user
        return pred
    slots = limits().get("CFG_BUILDER_TURNS", 16)
    fake.script(fakellm.stall([json.dumps(HEAP_TURN)], after=0), when=nonstream("heap slot"),
                times=slots)
    fake.script(fakellm.stall([json.dumps(HEAP_TURN)], after=0), when=nonstream("heap stall"),
                times=None)
    fake.script(fakellm.text("not a turn"), when=nonstream("heap retry"), times=None)
    fake.script(fakellm.text("```\nnever { a turn"), when=nonstream("heap fails", True),
                times=None)
    fake.script(fakellm.http_error(529), when=nonstream("heap failover"), times=None)
    fake.script(fakellm.text(json.dumps({"skill_md": HEAP_SKILL_MD, "capabilities": [
        {"capability": "http_get", "reason": "fetches"}], "source_code": "fn main() {}\n"})),
        when=nonstream("heap-skill-"), times=None)
    fake.script(builder_turns(phase="personality", phase_label=None),
                when=nonstream("heap next phase"), times=None)
    fake.script(builder_turns(), when=nonstream(), times=None)
    tls_fake.script(builder_turns(question="Over TLS?"), stream=False, times=None)


def builder_workload(srv, fake):
    """fleet's builder (spec/fleet.md §5.8, §10): every REST endpoint and
    its errors, every answer form, Back, a reply retried, one failing twice,
    a failover to the TLS provider, two turns at once on one session and
    every builder slot busy (503s), assemble with stub skills, create-skill
    local and wasm, reconfigure; /ws/builder with every client message, its
    errors, and a client that leaves mid-turn."""
    key = srv.api_key()
    fp = srv.ports["fleet"]

    def call(method, path, body=None):
        return srv.request("fleet", method, "/api/v1" + path, body=(
            None if body is None else json.dumps(body).encode()), headers={
            "X-API-Key": key, "Content-Type": "application/json"}, timeout=IO_TIMEOUT * 2)

    def ok(r):
        assert r.status == 200, r
        return json.loads(r.body)["data"]

    def raw_post(path, body):
        data = json.dumps(body).encode()
        c = Raw(fp, timeout=IO_TIMEOUT * 2)
        c.send(f"POST /api/v1{path} HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
               .encode() + data)
        return c

    bot = ok(call("POST", "/bots", {"name": "Heap Builder Bot"}))
    for rnd in range(2):
        sid = ok(call("POST", "/builder/sessions", {"description": f"heap bot {rnd} \u00e9"}))[
            "session_id"]
        assert call("POST", f"/builder/sessions/{sid}/answer", {"answer": "Back"}).status == 400
        for ans in ({"FreeText": "heap next phase"}, "Back", {"OptionIndex": 1},
                    {"FreeText": "heap \u00e9 text " * 50}, {"Confirm": True},
                    {"Confirm": False}, {"FreeText": "heap retry"},
                    {"FreeText": "heap failover"}):
            ok(call("POST", f"/builder/sessions/{sid}/answer", {"answer": ans}))
        for bad in ({"OptionIndex": 99}, {"OptionIndex": -1}, "back", {}, None):
            assert call("POST", f"/builder/sessions/{sid}/answer",
                        {"answer": bad}).status == 400
        assert call("POST", f"/builder/sessions/{sid}/answer",
                    {"answer": {"FreeText": "heap fails"}}).status == 500
        # a second turn while one runs
        n = len(fake.requests)
        c = raw_post(f"/builder/sessions/{sid}/answer", {"answer": {"FreeText": "heap stall"}})
        fake.wait_requests(n + 1)
        r = call("POST", f"/builder/sessions/{sid}/answer", {"answer": {"FreeText": "x"}})
        assert r.status == 503, r
        fake.release()
        assert c.read_response().status == 200
        c.close()
        ok(call("GET", f"/builder/sessions/{sid}"))
        ok(call("GET", "/builder/drafts"))
        for path in ("/builder/sessions/not-a-uuid", "/builder/sessions/" + "0" * 40):
            assert call("GET", path).status == 400
        ok(call("POST", f"/builder/sessions/{sid}/reconfigure", {"bot_slug": bot["slug"]}))
        assert call("POST", f"/builder/sessions/{sid}/reconfigure",
                    {"bot_slug": "no-such-bot"}).status == 404
        cfg = {"name": f"Heap Assembled {rnd}", "description": "Assembled under the shim",
               "category": "research", "tags": ["heap"],
               "personality": {"tone": "frugal", "traits": ["careful", "static"],
                               "purpose": "Never allocate.", "boundaries": None},
               "model_config": {"model": "heap-model", "temperature": 0.2, "max_tokens": 100},
               "skills": [{"name": f"heap-stub-{rnd}", "description": "A stub",
                           "skill_type": "wasm"},
                          {"name": f"heap-local-{rnd}", "description": "Another",
                           "skill_type": "local"}]}
        ok(call("POST", f"/builder/sessions/{sid}/assemble", {"config": cfg}))
        assert call("GET", f"/builder/sessions/{sid}").status == 404
        assert call("POST", f"/builder/sessions/{sid}/assemble",
                    {"config": dict(cfg, name="")}).status == 400
        for st in ("local", "wasm"):
            ok(call("POST", f"/builder/sessions/{sid}/create-skill", {"skill_request": {
                "name": f"heap-skill-{st}-{rnd}", "description": "Heap skill", "skill_type": st,
                "capabilities": ["http_get"]}}))
        assert call("POST", f"/builder/sessions/{sid}/create-skill", {"skill_request": {
            "name": "Bad Name", "description": "x"}}).status == 400
        sid = ok(call("POST", "/builder/sessions", {"description": "heap delete me",
                                                    "mode": "skill"}))["session_id"]
        ok(call("DELETE", f"/builder/sessions/{sid}"))
        assert call("DELETE", f"/builder/sessions/{sid}").status == 404

    # every builder slot busy
    slots = limits().get("CFG_BUILDER_TURNS", 16)
    n = len(fake.requests)
    held = [raw_post("/builder/sessions", {"description": f"heap slot {i}"})
            for i in range(slots)]
    fake.wait_requests(n + slots)
    r = call("POST", "/builder/sessions", {"description": "heap one too many"})
    assert r.status == 503, r
    fake.release()
    for c in held:
        assert c.read_response().status == 200
        c.close()

    # the WebSocket
    c, r = upgrade(fp, upgrade_request("/ws/builder/not-a-uuid", new_key()))
    c.close()
    assert r.status == 400, r
    ws = None

    def ask_ws(msg, want):
        ws.send_text(json.dumps(msg) if not isinstance(msg, (str, bytes)) else msg)
        got = ws.recv_json()
        assert got["type"] in ((want,) if isinstance(want, str) else want), (msg, got)
        return got

    for rnd in range(2):
        sid = f"0194f3d0-0000-7000-8000-00000000bee{rnd}"
        ws = WS(fp, path=f"/ws/builder/{sid}", read_init=False, timeout=IO_TIMEOUT * 2)
        ask_ws({"type": "ping"}, "pong")
        ask_ws("not json", "error")
        ask_ws({"type": "answer", "answer": {"FreeText": "x"}}, "error")
        ask_ws({"type": "resume"}, "error")
        ask_ws({"type": "start_bot", "description": "heap over the socket"}, "turn")
        ask_ws({"type": "answer", "answer": {"OptionIndex": 0}}, "turn")
        ask_ws({"type": "answer", "answer": {"FreeText": "heap next phase"}}, "turn")
        ask_ws({"type": "answer", "answer": "Back"}, "turn")
        ask_ws({"type": "answer", "answer": {"FreeText": "heap fails"}}, "error")
        ask_ws({"type": "resume"}, "turn")
        ask_ws({"type": "create_skill", "skill_request": {"name": "heap-x", "description": "x"}},
               "error")
        ask_ws({"type": "assemble_bot", "config": {"name": ""}}, "error")
        ask_ws({"type": "start_skill", "description": "heap skill over the socket"}, "turn")
        ask_ws({"type": "assemble_bot", "config": {"name": "x"}}, "error")
        ask_ws({"type": "create_skill", "skill_request": {"name": "heap-skill-ws",
                                                         "description": "Over the socket"}},
               "skill_created")
        ask_ws({"type": "start_bot", "description": "heap again"}, "turn")
        ask_ws({"type": "assemble_bot", "config": {
            "name": "Heap WS Bot", "personality": {"tone": "t", "traits": [], "purpose": "p"},
            "model_config": {"model": "m", "temperature": 1, "max_tokens": 10}}},
            ("bot_assembled", "error"))
        ws.close()
    # a client that leaves mid-turn; the turn is saved, a new client resumes it
    sid = "0194f3d0-0000-7000-8000-00000000beef"
    ws = WS(fp, path=f"/ws/builder/{sid}", read_init=False, timeout=IO_TIMEOUT * 2)
    ask_ws({"type": "start_bot", "description": "heap leaving"}, "turn")
    n = len(fake.requests)
    ws.send_text(json.dumps({"type": "answer", "answer": {"FreeText": "heap stall"}}))
    fake.wait_requests(n + 1)
    ws.close()
    time.sleep(0.1)
    fake.release()
    fake.requests[n].wait_done()
    ws = WS(fp, path=f"/ws/builder/{sid}", read_init=False, timeout=IO_TIMEOUT * 2)
    ask_ws({"type": "resume"}, "turn")
    ws.close()
    assert srv.request("fleet", "GET", "/health").status == 200


def reload_workload(srv, conf):
    """SIGHUP: the config re-read and compared in fixed buffers (a live key
    applied, a restart-only key logged, a bad file refused, back again)."""
    fam = family_or_other("documents")

    def hup_until(text, n):
        os.kill(srv.pid, signal.SIGHUP)
        deadline = time.monotonic() + 10 * SLOW
        while srv.stderr().count(text) < n:
            assert time.monotonic() < deadline, f"no {text!r} after SIGHUP\n{srv.logs()}"
            time.sleep(0.02)

    conf.write_text(f"log_level = info\nmax_json_body_bytes = 2000000\n"
                    f"{fam}.cors_origins = http://reload.example\n")
    hup_until("max_json_body_bytes changed: applied", 1)
    assert f"{fam}.cors_origins changed: needs a restart" in srv.stderr()
    conf.write_text("log_level = info\nmax_json_body_bytes = lots\n")
    hup_until("the running configuration is kept", 1)
    conf.write_text("log_level = info\n")
    hup_until("max_json_body_bytes changed: applied", 2)
    with Raw(srv.ports[fam]) as c:
        c.send(get_req("/health"))
        assert c.read_response().status == 200


@pytest.mark.skipif(SANITIZED, reason="ASan replaces malloc; the shim measures the plain build")
def test_no_heap_after_first_poll(roostd, shim, tmp_path):
    report = tmp_path / "shim-report.txt"
    web = make_web_dir(tmp_path)
    fake = fakellm.FakeLLM()
    tls_fake = fakellm.FakeLLM(tls=True)
    fake.start()
    tls_fake.start()
    fake.script(fakellm.http_error(500, "overloaded"), user_contains="fail over")
    fake.script(fakellm.spawn(["quick one", "stall here"]), user_contains="spawn please")
    fake.script(fakellm.text("quick result"), task="quick one")
    fake.script(fakellm.stall(["slow ", "result"], after=1), task="stall here")
    fake.script(fakellm.text("Synthesised."), synthesis=True)
    fake.script(fakellm.stall(["first words ", "never"], after=1), user_contains="leave early")
    script_builder(fake, tls_fake)
    fake.script(fakellm.text("Hello ", "from the fake."), times=None)
    tls_fake.script(fakellm.text("Over ", "TLS."), times=None)
    # Without fleet (the small profile): the chassis, observability and
    # the other families built; no web dir, no providers, no chat.
    with_fleet = built("fleet") and built("llm")
    args = ([f"--fleet.web_dir={web}", "--llm.providers=main,backup",
             f"--llm.ca_file={tls_fake.ca_file}"] +
            fake.provider_args("main") + tls_fake.provider_args("backup", kind="openai-compatible",
                                                             default_model="local-model")
            if with_fleet else [])
    tdir = tmp_path / "transcripts"
    tdir.mkdir()
    args += [f"--observability.transcript_dirs={tdir}"]
    conf = tmp_path / "roost.conf"
    conf.write_text("log_level = info\n")
    args += [f"--config={conf}"]
    tmux_env = tmux_start(tmp_path) if built("rpg") else None
    srv_env = {"ROOST_SHIM_REPORT": str(report)}
    if tmux_env is not None:
        srv_env.update({"TMUX_TMPDIR": tmux_env["TMUX_TMPDIR"], "PATH": tmux_env["PATH"]})
    srv = Server(tmp_path / "srv", preload=shim, env=srv_env, args=args)
    srv.env["ROOST_SHIM_REPORT"] = str(report)    # clean_env drops ROOST_*; put it back
    srv.start()
    try:
        workload(srv, spa=with_fleet)
        reload_workload(srv, conf)
        if with_fleet:
            spa_workload(srv, web)
        stream_workload(srv)
        if built("documents"):
            docs_workload(srv)
        agents_workload(srv)
        if built("rpg") and built("observability"):
            hooks_workload(srv, str(tdir))
        if tmux_env is not None:
            rpg_workload(srv, tmux_env)
        if with_fleet:
            chat_workload(srv, fake, tls_fake)
            builder_workload(srv, fake)
    finally:
        srv.stop()
        fake.stop()
        tls_fake.stop()
        if tmux_env is not None:
            tmux_stop(tmux_env)
    r = read_shim_report(report)
    assert r["armed"], f"the shim never saw poll(): is roostd polling with poll()?\n{r['text']}"
    assert r["allocs"] == 0 and r["frees"] == 0, (
        f"heap used after the first poll(): {r['allocs']} allocation(s), {r['frees']} free(s)\n"
        f"{r['text'][:12000]}")


# ---- TLS listeners ------------------------------------------------------------------

@pytest.mark.needs("llm")
@pytest.mark.skipif(SANITIZED, reason="ASan replaces malloc; the shim measures the plain build")
def test_no_heap_with_tls_listeners(roostd, shim, tmp_path):
    """Every listener on TLS (mbedtls' server on the TLS heap): handshakes,
    keep-alive and new connections on each family, WSS, plain HTTP to a TLS
    port, a handshake that stalls to its deadline, more handshakes than
    slots, a reload (good files, then bad ones): no system heap."""
    import asyncio
    import http.client
    import signal as _signal
    import tlslib
    from roostlib import wait_for
    report = tmp_path / "shim-report.txt"
    pki = tlslib.Pki(tmp_path / "pki")
    cert, key = pki.server("live")
    srv = Server(tmp_path / "srv", preload=shim,
                 args=tlslib.tls_args(cert, key) + ["--tls.handshake_timeout_ms=300"])
    srv.env["ROOST_SHIM_REPORT"] = str(report)
    srv.start()
    ctx = pki.context()
    try:
        for fam in built_families():
            port = srv.ports[fam]
            for _ in range(3):
                assert tlslib.https(ctx, port, "GET", "/health")[0] == 200
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=IO_TIMEOUT)
            for i in range(20):
                c.request("GET", "/health" if i % 2 else "/nope",
                          headers={f"X-Pad-{k}": "p" * 300 for k in range(i)})
                c.getresponse().read()
            c.close()
        if built("fleet"):
            status, _ = tlslib.https(ctx, srv.ports["fleet"], "GET", "/api/v1/bots",
                                     headers={"X-API-Key": srv.api_key()})
            assert status == 200
        if built("observability"):
            websockets = pytest.importorskip("websockets")

            async def wss():
                async with websockets.connect(
                        f"wss://127.0.0.1:{srv.ports['observability']}/ws", ssl=ctx,
                        open_timeout=IO_TIMEOUT) as w:
                    await asyncio.wait_for(w.recv(), IO_TIMEOUT)
                    await asyncio.wait_for(await w.ping(), IO_TIMEOUT)
            asyncio.run(wss())
        port = srv.ports[built_families()[0]]
        with Raw(port) as r:
            r.send(get_req("/health"))
            r.closed_by_peer()
        s = tlslib.stalled_handshake(port)
        assert tlslib.closed_by_peer(s, 10.0 * SLOW)
        s.close()
        stalled = [tlslib.stalled_handshake(port) for _ in range(limits()["CFG_TLS_HANDSHAKES"] + 2)]
        for s in stalled:
            tlslib.closed_by_peer(s, 10.0 * SLOW)
            s.close()
        new_cert, new_key = pki.server("renewed")
        os.replace(new_cert, cert)
        os.replace(new_key, key)
        os.kill(srv.pid, _signal.SIGHUP)
        wait_for(lambda: "certificate reloaded" in srv.stderr(), IO_TIMEOUT, what="reload")
        assert tlslib.https(ctx, port, "GET", "/health")[0] == 200
        with open(key, "w") as f:
            f.write("garbage\n")
        os.kill(srv.pid, _signal.SIGHUP)
        wait_for(lambda: "the certificate loaded before stays" in srv.stderr(), IO_TIMEOUT,
                 what="failed reload")
        assert tlslib.https(ctx, port, "GET", "/health")[0] == 200
    finally:
        srv.stop()
    r = read_shim_report(report)
    assert r["armed"], r["text"]
    assert r["allocs"] == 0 and r["frees"] == 0, (
        f"heap used after the first poll() with TLS: {r['allocs']} allocation(s), "
        f"{r['frees']} free(s)\n{r['text'][:12000]}")
