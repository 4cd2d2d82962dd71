"""Observability WebSocket /ws contract (spec/observability.md §6, README §3):
the init snapshot (same sessions, same order as GET /sessions, also when it
is large and fragmented), one `event` message per recorded event with the 13
keys in order, `session_updated` after PATCH metadata and stop,
`session_deleted` after DELETE, fan-out to several clients in order, client
text ignored, auth per observability.auth, and 404 on other paths.

RFC 6455 framing itself is covered by test_ws_conformance.py.
"""

import asyncio
import http.client
import json
import re
import threading
import urllib.parse
import uuid

import pytest

import roostlib
from roostlib import HOST
from roostlib import IO_TIMEOUT, assert_error_shape, limits, wait_for
from wslib import OP_BINARY, OP_TEXT, WS, new_key, upgrade, upgrade_request

FAM = "observability"
SESSION_KEYS = ["session_id", "session_name", "status", "created_at", "modified_at",
                "project_dir", "agent_name"]
WS_EVENT_KEYS = ["event_type", "session_id", "session_name", "timestamp", "tool_name",
                 "tool_input", "tool_output", "error", "exit_code", "reason", "role",
                 "content", "pid"]


# ---- helpers ----------------------------------------------------------------------

def sid():
    return str(uuid.uuid4())


def q(s):
    return urllib.parse.quote(s, safe="")


def call(srv, method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    return srv.request(FAM, method, path, body=data, headers=headers)


def post(srv, body, headers=None):
    r = call(srv, "POST", "/events", body, headers)
    assert r.status == 200 and r.json() == {"ok": True}, r


def ev(session, event_type="message", ts="2025-11-25T10:00:00.000001+00:00", **kw):
    body = {"event_type": event_type, "session_id": session, "session_name": session,
            "timestamp": ts}
    body.update(kw)
    return body


def start(srv, session, ts="2025-11-25T10:00:00.000001+00:00", name=None):
    b = ev(session, "session_start", ts)
    if name is not None:
        b["session_name"] = name
    post(srv, b)


def get_sessions(srv, headers=None):
    r = call(srv, "GET", "/sessions", headers=headers)
    assert r.status == 200, r
    return r.json()["sessions"]


def full_event(body):
    """The `data` of the event message for a POST body: 13 keys, null when absent."""
    return {k: body.get(k) for k in WS_EVENT_KEYS}


def connect(srv, **kw):
    return WS(srv.ports[FAM], **kw)


def expect_msg(c, want):
    """The next message is exactly `want`, keys in the same order at every level."""
    m = c.recv_message()
    assert m.opcode == OP_TEXT, f"expected a text message, got {m!r}"
    got = m.json()
    assert got == want, f"message differs:\n got  {got}\n want {want}"
    assert json.dumps(got) == json.dumps(want), \
        f"key order differs:\n got  {json.dumps(got)}\n want {json.dumps(want)}"
    return got


def expect_event(c, body):
    got = expect_msg(c, {"type": "event", "data": full_event(body)})
    assert list(got["data"].keys()) == WS_EVENT_KEYS
    assert "id" not in got["data"]
    return got


def one_session(srv, session_id):
    found = [s for s in get_sessions(srv) if s["session_id"] == session_id]
    assert len(found) == 1, found
    return found[0]


# ---- init -------------------------------------------------------------------------

def test_init_empty_server(fresh):
    srv = fresh()
    with connect(srv, read_init=False) as c:
        m = c.recv_message()
        assert m.opcode == OP_TEXT, m
        assert json.loads(m.payload) == {"type": "init", "sessions": []}, m
        assert list(json.loads(m.payload).keys()) == ["type", "sessions"]


def test_init_has_sessions_in_get_sessions_order(server):
    ids = [sid() for _ in range(4)]
    # created_at out of creation order, and a tie
    start(server, ids[0], "2025-11-25T10:00:00.000002+00:00", name="b")
    start(server, ids[1], "2025-11-25T10:00:00.000009+00:00", name="a")
    start(server, ids[2], "2025-11-25T10:00:00.000002+00:00", name="tie")
    start(server, ids[3], "2024-01-01T00:00:00.000000+00:00", name="old")
    r = call(server, "PATCH", f"/sessions/{ids[3]}/metadata",
             {"project_dir": "/p", "agent_name": "ag"})
    assert r.status == 200, r
    want = get_sessions(server)
    with connect(server, read_init=False) as c:
        m = c.recv_message()
        got = m.json()
    assert list(got.keys()) == ["type", "sessions"], got
    assert got["type"] == "init"
    assert got["sessions"] == want
    assert json.dumps(got["sessions"]) == json.dumps(want), "key order differs from GET /sessions"
    for s in got["sessions"]:
        assert list(s.keys()) == SESSION_KEYS, s
    pos = [s["session_id"] for s in got["sessions"]]
    assert pos.index(ids[1]) < pos.index(ids[2]) < pos.index(ids[0]) < pos.index(ids[3])


def test_init_reflects_status_changes(server):
    a, b = sid(), sid()
    start(server, a)
    start(server, b)
    post(server, ev(a, "session_stop"))
    r = call(server, "POST", f"/sessions/{b}/stop")
    assert r.status == 200, r
    with connect(server) as c:
        st = {s["session_id"]: s["status"] for s in c.init["sessions"]}
    assert st[a] == "finished" and st[b] == "stopped", st


def test_large_init_is_fragmented_and_complete(fresh):
    """300 sessions with long names: the init is well over 64 KiB, arrives as
    a fragmented text message, and reassembles to GET /sessions."""
    srv = fresh()
    conn = http.client.HTTPConnection(HOST, srv.ports[FAM], timeout=IO_TIMEOUT)
    try:
        for i in range(300):
            s = f"sess-{i:04d}-{uuid.uuid4()}"
            body = ev(s, "session_start", f"2025-11-25T10:{i // 60:02d}:{i % 60:02d}.000000+00:00")
            body["session_name"] = f"{i:04d} " + ("näme \"q\" \\ " * 40)[:400]
            conn.request("POST", "/events", body=json.dumps(body).encode(),
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            assert r.status == 200, r.read()
            r.read()
    finally:
        conn.close()
    raw = call(srv, "GET", "/sessions")
    assert len(raw.body) > 65536, len(raw.body)
    want = raw.json()["sessions"]
    assert len(want) == 300
    with connect(srv, read_init=False) as c:
        m = c.recv_message(timeout=IO_TIMEOUT * 2)
        assert m.opcode == OP_TEXT, m
        assert len(m.payload) > 65536, len(m.payload)
        got = m.json()
        assert m.frames > 1, "a >64 KiB init came as a single frame"
        assert got["type"] == "init"
        assert got["sessions"] == want
        assert json.dumps(got) == json.dumps({"type": "init", "sessions": want})
        # The stream goes on normally after the snapshot.
        e = ev(sid(), "message", role="user")
        post(srv, e)
        expect_event(c, e)


def test_large_init_with_websockets_library(fresh):
    """A third-party client (python websockets) reads the same large init."""
    websockets = pytest.importorskip("websockets")
    srv = fresh()
    for i in range(150):
        start(srv, f"lib-{i:03d}-" + "x" * 240, name="n" * 500)
    want = get_sessions(srv)

    async def run():
        async with websockets.connect(f"ws://{HOST}:{srv.ports[FAM]}/ws",
                                      max_size=None, open_timeout=IO_TIMEOUT) as w:
            init = json.loads(await asyncio.wait_for(w.recv(), IO_TIMEOUT))
            e = ev(sid(), "pre_tool", tool_name="Read", tool_input={"file_path": "/x"})
            await asyncio.get_running_loop().run_in_executor(None, post, srv, e)
            nxt = json.loads(await asyncio.wait_for(w.recv(), IO_TIMEOUT))
            await w.close()
            return init, nxt, e, w.close_code
    init, nxt, e, code = asyncio.run(run())
    assert init == {"type": "init", "sessions": want}
    assert nxt == {"type": "event", "data": full_event(e)}
    assert code == 1000


def test_connect_sees_init_then_only_new_events(server):
    """Events recorded before the connection are not replayed."""
    old = ev(sid(), "message", content=[{"type": "text", "text": "old"}])
    post(server, old)
    with connect(server) as c:
        new = ev(sid(), "message", content=[{"type": "text", "text": "new"}])
        post(server, new)
        expect_event(c, new)


# ---- event ------------------------------------------------------------------------

def test_event_with_every_field(server):
    s = sid()
    start(server, s)
    with connect(server) as c:
        body = {"event_type": "post_tool", "session_id": s, "session_name": "web-research",
                "timestamp": "2025-11-25T10:11:12.123456+00:00", "tool_name": "Bash",
                "tool_input": {"command": "ls", "nested": {"a": [1, 2, {"b": None}]}},
                "tool_output": {"stdout": "README.md\n", "stderr": "", "interrupted": False},
                "error": "boom", "exit_code": 2, "reason": "why", "role": "assistant",
                "content": [{"type": "text", "text": "hi"}, {"type": "tool_use", "id": "t1"}],
                "pid": 48211}
        post(server, body)
        got = expect_event(c, body)
        assert got["data"]["session_name"] == "web-research"


def test_event_minimal_has_nulls(server):
    with connect(server) as c:
        body = ev(sid(), "pre_tool", "2025-11-25T10:11:10.000000+00:00")
        post(server, body)
        got = expect_event(c, body)
        for k in WS_EVENT_KEYS[4:]:
            assert got["data"][k] is None, got


def test_event_explicit_nulls_and_unknown_fields(server):
    with connect(server) as c:
        body = ev(sid(), "message", tool_name=None, tool_input=None, pid=None,
                  extra_field={"ignored": True}, id=12345)
        post(server, body)
        want = dict(body)
        del want["extra_field"]
        del want["id"]
        expect_event(c, want)


def test_event_values_as_received(server):
    """The broadcast carries values as received: empty objects/strings are
    not turned into null (that is only the stored form, §2.2)."""
    with connect(server) as c:
        body = ev(sid(), "post_tool", tool_input={}, tool_output="", content=[],
                  exit_code=0, error="")
        post(server, body)
        expect_event(c, body)


@pytest.mark.parametrize("output", [
    "plain text", 0, False, True, [1, "two", None, {"three": 3.5}], -12345678901234,
    {"unicode": "é ✓ 😀", "esc": "line\nbreak \"quoted\" \\ \t \u0001"},
])
def test_event_tool_output_any_json(server, output):
    with connect(server) as c:
        body = ev(sid(), "post_tool", tool_name="X", tool_output=output)
        post(server, body)
        expect_event(c, body)


def test_event_unicode_and_escapes_in_strings(server):
    with connect(server) as c:
        body = ev("sess \"quoted\" ✓ " + sid(), "message",
                  "2025-11-25T10:00:00.5+01:00", role="user",
                  reason="tab\tnewline\nnul-ish \u0001 emoji 😀 </script>",
                  content=[{"type": "text", "text": "“smart” \\ back"}])
        body["session_name"] = "名前"
        post(server, body)
        expect_event(c, body)


def test_event_for_unknown_session_is_broadcast(server):
    with connect(server) as c:
        body = ev("no-such-session-" + sid(), "post_tool", tool_name="Read")
        post(server, body)
        expect_event(c, body)


def test_events_arrive_in_post_order(server):
    s = sid()
    with connect(server) as c:
        bodies = [ev(s, "session_start" if i == 0 else "message",
                     f"2025-11-25T10:00:{59 - i:02d}.000000+00:00", exit_code=i)
                  for i in range(40)]
        for b in bodies:
            post(server, b)
        for b in bodies:
            expect_event(c, b)


def test_session_start_announced_only_by_its_event(server):
    with connect(server) as c:
        s = sid()
        b = ev(s, "session_start")
        post(server, b)
        expect_event(c, b)
        c.expect_quiet()


def test_rejected_event_is_not_broadcast(server):
    with connect(server) as c:
        r = call(server, "POST", "/events", {"event_type": "message"})
        assert r.status == 422, r
        r = server.request(FAM, "POST", "/events", body=b"{not json")
        assert r.status == 422, r
        good = ev(sid(), "message")
        post(server, good)
        expect_event(c, good)


# ---- session_updated / session_deleted -----------------------------------------

def test_session_updated_after_patch(server):
    s = sid()
    start(server, s, name="before")
    with connect(server) as c:
        r = call(server, "PATCH", f"/sessions/{q(s)}/metadata",
                 {"session_name": "after", "project_dir": "/home/me/proj",
                  "agent_name": "web-researcher"})
        assert r.status == 200, r
        sess = r.json()["session"]
        assert sess["session_name"] == "after"
        got = expect_msg(c, {"type": "session_updated", "session": sess})
        assert list(got["session"].keys()) == SESSION_KEYS
        assert got["session"] == one_session(server, s)


def test_session_updated_after_empty_patch(server):
    s = sid()
    start(server, s, name="same")
    with connect(server) as c:
        r = call(server, "PATCH", f"/sessions/{q(s)}/metadata", {})
        assert r.status == 200, r
        expect_msg(c, {"type": "session_updated", "session": one_session(server, s)})


def test_failed_patch_is_not_broadcast(server):
    with connect(server) as c:
        r = call(server, "PATCH", f"/sessions/{q('missing-' + sid())}/metadata",
                 {"session_name": "x"})
        assert r.status == 404, r
        s = sid()
        start(server, s)
        r = call(server, "PATCH", f"/sessions/{q(s)}/metadata", {"session_name": 5})
        assert r.status == 422, r
        expect_event(c, ev(s, "session_start"))
        c.expect_quiet()


def test_session_updated_after_stop(server):
    s = sid()
    start(server, s, name="to-stop")
    with connect(server) as c:
        r = call(server, "POST", f"/sessions/{q(s)}/stop")
        assert r.status == 200, r
        assert r.json()["success"] is True
        m = c.recv_message().json()
        assert list(m.keys()) == ["type", "session"], m
        assert m["type"] == "session_updated", m
        sess = m["session"]
        assert list(sess.keys()) == SESSION_KEYS, sess
        assert sess["session_id"] == s and sess["status"] == "stopped", sess
        assert sess["session_name"] == "to-stop"
        assert sess == one_session(server, s)
        # A second stop is 409 and says nothing on the socket.
        r = call(server, "POST", f"/sessions/{q(s)}/stop")
        assert r.status == 409, r
        c.expect_quiet()


def test_session_deleted_after_delete(server):
    s = sid()
    start(server, s)
    post(server, ev(s, "message"))
    with connect(server) as c:
        r = call(server, "DELETE", f"/sessions/{q(s)}")
        assert r.status == 200, r
        expect_msg(c, {"type": "session_deleted", "session_id": s})
        r = call(server, "DELETE", f"/sessions/{q(s)}")
        assert r.status == 404, r
        c.expect_quiet()


def test_session_id_needing_escapes(server):
    s = 'we"ird \\ id ✓ ' + sid()
    with connect(server) as c:
        b = ev(s, "session_start")
        post(server, b)
        expect_event(c, b)
        r = call(server, "DELETE", f"/sessions/{q(s)}")
        assert r.status == 200, r
        expect_msg(c, {"type": "session_deleted", "session_id": s})


# ---- several clients, client messages -------------------------------------------

def lifecycle(srv, s):
    """A sequence of actions; returns the messages every client must see."""
    out = []
    b = ev(s, "session_start")
    post(srv, b)
    out.append({"type": "event", "data": full_event(b)})
    b = ev(s, "pre_tool", tool_name="Bash", tool_input={"command": "ls"}, pid=None)
    post(srv, b)
    out.append({"type": "event", "data": full_event(b)})
    r = call(srv, "PATCH", f"/sessions/{q(s)}/metadata", {"agent_name": "a1"})
    assert r.status == 200, r
    out.append({"type": "session_updated", "session": r.json()["session"]})
    r = call(srv, "POST", f"/sessions/{q(s)}/stop")
    assert r.status == 200, r
    out.append({"type": "session_updated", "session": one_session(srv, s)})
    b = ev(s, "session_stop", exit_code=130)
    post(srv, b)
    out.append({"type": "event", "data": full_event(b)})
    r = call(srv, "DELETE", f"/sessions/{q(s)}")
    assert r.status == 200, r
    out.append({"type": "session_deleted", "session_id": s})
    return out


def test_two_clients_get_everything_in_order(server):
    with connect(server) as c1, connect(server) as c2:
        assert c1.init == c2.init
        want = lifecycle(server, sid())
        for c in (c1, c2):
            for w in want:
                expect_msg(c, w)
            c.expect_quiet()


def test_client_text_is_ignored(server):
    with connect(server) as c, connect(server) as other:
        c.send_text('{"type":"init"}')
        c.send_text("subscribe me please")
        c.send_frame(OP_TEXT, b'{"type":', fin=False)
        c.send_frame(0x0, b'"x"}')
        c.send_frame(OP_BINARY, b"\x00\x01")
        c.expect_quiet()
        b = ev(sid(), "message", role="user")
        post(server, b)
        expect_event(c, b)
        expect_event(other, b)
        other.expect_quiet(0.05)


def test_client_close_leaves_others_served(server):
    c1 = connect(server)
    with connect(server) as c2:
        c1.send_close(1000)
        c1.expect_close(1000)
        c1.close()
        b = ev(sid(), "message")
        post(server, b)
        expect_event(c2, b)


def test_many_events_to_slow_reader(server):
    """A client that reads late still gets every message, in order (200
    small events fit its queue)."""
    s = sid()
    with connect(server) as c:
        bodies = [ev(s, "message", exit_code=i, reason="r" * 100) for i in range(200)]
        for b in bodies:
            post(server, b)
        for b in bodies:
            expect_event(c, b)


# ---- auth, paths ------------------------------------------------------------------

@pytest.fixture(scope="module")
def keyed(roostd, tmp_path_factory):
    srv = roostlib.Server(tmp_path_factory.mktemp("obskey"),
                          args=["--observability.auth=key"])
    srv.start()
    yield srv
    srv.stop()


def test_auth_key_upgrade_without_key_is_401(keyed):
    c, r = upgrade(keyed.ports[FAM], upgrade_request("/ws", key=new_key()))
    c.close()
    assert_error_shape(FAM, r, 401, detail="Not authenticated")
    assert r.header("Sec-WebSocket-Accept") is None, r
    assert r.header("WWW-Authenticate") == "Bearer", r


@pytest.mark.parametrize("how", ["query_wrong", "header_wrong", "bearer_wrong"])
def test_auth_key_wrong_key_is_401(keyed, how):
    bad = "roost_" + "0" * 64
    path, headers = "/ws", None
    if how == "query_wrong":
        path = "/ws?api_key=" + bad
    elif how == "header_wrong":
        headers = {"X-API-Key": bad}
    else:
        headers = {"Authorization": "Bearer " + bad}
    c, r = upgrade(keyed.ports[FAM], upgrade_request(path, key=new_key(), headers=headers))
    c.close()
    assert_error_shape(FAM, r, 401, detail="Not authenticated")


@pytest.mark.parametrize("how", ["query", "x_api_key", "bearer"])
def test_auth_key_upgrade_with_key(keyed, how):
    key = keyed.api_key()
    path, headers = "/ws", None
    if how == "query":
        path = "/ws?api_key=" + q(key)
    elif how == "x_api_key":
        headers = {"X-API-Key": key}
    else:
        headers = {"Authorization": f"Bearer {key}"}
    with connect(keyed, path=path, headers=headers) as c:
        assert c.init["type"] == "init"
        b = ev(sid(), "session_start")
        post(keyed, b, headers={"X-API-Key": key})
        expect_event(c, b)


def test_auth_key_query_param_not_for_plain_requests(keyed):
    r = call(keyed, "GET", "/sessions?api_key=" + q(keyed.api_key()))
    assert_error_shape(FAM, r, 401, detail="Not authenticated")


def test_auth_default_loopback_is_open(server):
    with connect(server) as c:
        assert c.init["type"] == "init"


@pytest.mark.parametrize("path", ["/ws/", "/ws/extra", "/wss", "/websocket", "/",
                                  "/sessions/x/ws", "/WS"])
def test_upgrade_on_other_path_is_404(server, path):
    c, r = upgrade(server.ports[FAM], upgrade_request(path, key=new_key()))
    c.close()
    assert_error_shape(FAM, r, 404, detail="Not Found")
    assert r.header("Sec-WebSocket-Accept") is None, r


def test_ws_messages_are_text_json_only(server):
    """Every server data frame is a text frame holding a JSON object with a
    known type."""
    with connect(server) as c:
        s = sid()
        want = lifecycle(server, s)
        for _ in want:
            m = c.recv_message()
            assert m.opcode == OP_TEXT, m
            j = m.json()
            assert j["type"] in ("event", "session_updated", "session_deleted"), j


# ---- large events, backpressure ----------------------------------------------------

def test_event_larger_than_tx_arrives_whole(server):
    """An event near the body limit of this build (1 MiB by default) goes
    out as one message written across many drains, to every client, in
    order."""
    lim = limits()
    room = min(lim["CFG_BODY_SLOT_BYTES"], lim["CFG_BUS_BYTES"]) - 1024
    assert room > 4 * lim["CFG_BUF_BYTES"], "the event must be larger than tx"
    with connect(server) as c1, connect(server) as c2:
        big = ev(sid(), "post_tool", tool_name="Read",
                 tool_output={"stdout": "0123456789abcdef" * min(64000, room // 16),
                              "tail": "✓"})
        small = ev(sid(), "message", role="assistant")
        post(server, big)
        post(server, small)
        for c in (c1, c2):
            expect_event(c, big)
            expect_event(c, small)


def test_stalled_client_closed_1013_others_unaffected(fresh):
    """A client that reads nothing while its queue grows past
    observability.ws_max_buffer_bytes is closed with 1013 (spec §6); a
    reading client gets every event, also after the close."""
    # The queue limit and event size scale down with the ring of a small
    # build: the stalled client must pass the limit before the ring wraps.
    # Each event fits a send buffer, so the stalled client's close can
    # follow whatever it has whole (an event larger than tx is written as
    # one frame across drains, and a ring that wraps under a frame begun
    # for a stalled client cuts it: test_event_larger_than_tx_arrives_whole
    # covers large events for reading clients).
    lim = limits()
    max_buffer = min(65536, lim["CFG_BUS_BYTES"] // 4)
    srv = fresh(args=[f"--observability.ws_max_buffer_bytes={max_buffer}"])
    size = min(12000, lim["CFG_BUF_BYTES"] // 2) if max_buffer >= 65536 else max_buffer // 12
    # The server's queue only grows once the kernel takes no more for the
    # stalled socket, and how much the kernel takes is not ours to know:
    # even with the small receive buffer and MSS, a paced sender's send
    # buffer autotunes (about 100 KiB with 1 KiB events on Linux 6.18, more
    # than 100 small-build events). So events are published until the
    # server logs the close, up to far more than any socket buffers hold.
    limit = max(200, (8 << 20) // (size + 512))
    after = 10                      # events the reading client gets after the close
    # the reading client is kept within a quarter of the ring (it reads in
    # this process, beside the publisher: a reader starved of the GIL must
    # not be mistaken for a slow client)
    window = max(1, lim["CFG_BUS_BYTES"] // (4 * (size + 512)))
    got, errors, total = [], [], [None]
    fast = connect(srv)
    slow = connect(srv, rcvbuf=4096)

    def reader():
        try:
            while total[0] is None or len(got) < total[0]:
                got.append(fast.recv_json(timeout=IO_TIMEOUT * 2))
        except AssertionError as e:          # reported below
            errors.append(e)
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    bodies = []
    closed_rx = re.compile(r"observability /ws #\d+: .*: closed 1013")
    conn = http.client.HTTPConnection(HOST, srv.ports[FAM], timeout=IO_TIMEOUT)

    def post_one(i):
        wait_for(lambda: len(got) >= i - window or errors, IO_TIMEOUT * 2,
                 what="the reading client to keep up")
        b = ev("bp-" + sid(), "post_tool", exit_code=i, tool_output="y" * size)
        bodies.append(b)
        conn.request("POST", "/events", body=json.dumps(b).encode())
        r = conn.getresponse()
        r.read()
        assert r.status == 200

    try:
        while not closed_rx.search(srv.stderr()):
            assert len(bodies) < limit, \
                f"stalled client not closed after {len(bodies)} events:\n{srv.logs()}"
            post_one(len(bodies))
        # known before the last events go out: the reader stops at the last
        total[0] = len(bodies) + after
        for _ in range(after):
            post_one(len(bodies))
    finally:
        conn.close()
    n = len(bodies)
    print(f"stalled client closed within {n - after} events of {size} bytes")
    t.join(IO_TIMEOUT * 4)
    assert not errors, errors
    assert len(got) == n, f"reading client got {len(got)} of {n} events"
    assert [g["data"]["exit_code"] for g in got] == list(range(n))
    assert got[-1] == {"type": "event", "data": full_event(bodies[-1])}
    # The stalled client: a prefix of the events, then close 1013, then EOF.
    seen = 0
    while True:
        m = slow.recv_message(timeout=IO_TIMEOUT)
        if m.opcode != OP_TEXT:
            break
        j = m.json()
        assert j == {"type": "event", "data": full_event(bodies[seen])}, \
            f"stalled client: message {seen} differs"
        seen += 1
    assert m.frame.close_code == 1013, m.frame
    assert seen <= n - after, "the stalled client got events published after its close"
    slow.expect_eof()
    slow.close()
    fast.alive()
    fast.close()
