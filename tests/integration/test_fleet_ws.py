"""fleet GET /ws/events (spec/fleet.md §9, README §3): authentication per
fleet.auth, nothing sent on connect, the client commands of §9.2 and what is
ignored, the protocol heartbeat, the SSE variant for EventSource clients, and
the end of a stream when its client leaves.

No fleet bus events can be produced from outside yet (they come from chat
requests), so delivery is checked negatively: events of another family's
topic never reach /ws/events.
"""

import json
import socket
import time
import uuid

import pytest

import roostlib
from fleetlib import INVALID_KEY_MSG, MISSING_KEY_MSG
from roostlib import IO_TIMEOUT, SLOW, Raw, assert_error_shape, wait_for
from wslib import (OP_BINARY, OP_PING, OP_TEXT, QUIET, WS, build_frame, expect_heartbeat_close,
                   heartbeat_server, new_key, upgrade, upgrade_request)

# What this file needs built into roostd (conftest.py deselects it, and
# lists it, for a profile without them).
NEEDS = {"fleet"}

FAM = "fleet"
PATH = "/ws/events"
MSG_BYTES = roostlib.limits()["CFG_STREAM_MSG_BYTES"]   # the longest command
HB_MS = 300
OPEN = 'roost_stream_open{stream="fleet /ws/events"}'

PONG = b'{"type":"pong"}'
RUN = "0194f3e1-0000-7000-8000-000000000042"


def ws(srv, path=PATH, **kw):
    kw.setdefault("read_init", False)
    return WS(srv.ports[FAM], path=path, **kw)


def ping(c):
    """A ping command gets exactly the pong reply as the next message."""
    c.send_text('{"type":"ping"}')
    m = c.recv_message()
    assert m.opcode == OP_TEXT and m.payload == PONG, f"expected the pong reply, got {m!r}"


def subscribed(run_id):
    return json.dumps({"type": "workflow_subscribed", "run_id": run_id},
                      separators=(",", ":")).encode()


def metrics(srv, headers=None):
    r = srv.request(FAM, "GET", "/metrics", headers=headers)
    assert r.status == 200, r
    out = {}
    for line in r.body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def metric(srv, name):
    m = metrics(srv)
    assert name in m, f"/metrics has no {name}"
    return m[name]


def post_observability_event(srv):
    """An observability hook event (session_start of a new session): it
    goes to the ring under the observability topic."""
    sid = str(uuid.uuid4())
    body = json.dumps({"event_type": "session_start", "session_id": sid,
                       "session_name": sid,
                       "timestamp": "2025-11-25T10:00:00.000001+00:00"}).encode()
    r = srv.request("observability", "POST", "/events", body=body,
                    headers={"Content-Type": "application/json"})
    assert r.status == 200, r


def sse_open(srv, path=PATH, headers=None, accept="text/event-stream"):
    """Open an SSE GET on a raw socket; returns (Raw, status, headers dict)."""
    extra = "" if accept is None else f"Accept: {accept}\r\n"
    for k, v in (headers or {}).items():
        extra += f"{k}: {v}\r\n"
    c = Raw(srv.ports[FAM])
    c.send(roostlib.get_req(path, extra=extra))
    c._need(lambda: b"\r\n\r\n" in c.buf, "the SSE response head")
    head, c.buf = c.buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    hdrs = {}
    for ln in lines[1:]:
        k, v = ln.split(":", 1)
        hdrs[k.strip().lower()] = v.strip()
    return c, status, hdrs


@pytest.fixture(scope="module")
def hb_server(roostd, tmp_path_factory):
    yield from heartbeat_server(tmp_path_factory, FAM, HB_MS)


@pytest.fixture(scope="module")
def key_server(roostd, tmp_path_factory):
    srv = roostlib.Server(tmp_path_factory.mktemp("fleetwskey"), args=["--fleet.auth=key"])
    srv.start()
    yield srv
    srv.stop()


# ---- authentication (README §3) -----------------------------------------------------

def test_open_on_loopback_by_default(server):
    with ws(server) as c:
        ping(c)


def test_key_required_with_auth_key(key_server):
    c, r = upgrade(key_server.ports[FAM], upgrade_request(PATH, new_key()))
    c.close()
    assert_error_shape("fleet", r, 401, code="UNAUTHORIZED", message=MISSING_KEY_MSG)
    assert r.header("Upgrade") is None, r


def test_wrong_key_is_invalid(key_server):
    req = upgrade_request(PATH, new_key(), headers={"X-API-Key": "roost_" + "0" * 64})
    c, r = upgrade(key_server.ports[FAM], req)
    c.close()
    assert_error_shape("fleet", r, 401, code="UNAUTHORIZED", message=INVALID_KEY_MSG)


def test_wrong_query_key_is_invalid(key_server):
    c, r = upgrade(key_server.ports[FAM],
                   upgrade_request(PATH + "?api_key=roost_nope", new_key()))
    c.close()
    assert_error_shape("fleet", r, 401, code="UNAUTHORIZED", message=INVALID_KEY_MSG)


@pytest.mark.parametrize("how", ["x-api-key", "bearer", "query"])
def test_key_accepted(key_server, how):
    key = key_server.api_key()
    if how == "x-api-key":
        c = ws(key_server, headers={"X-API-Key": key})
    elif how == "bearer":
        c = ws(key_server, headers={"Authorization": f"Bearer {key}"})
    else:
        c = ws(key_server, path=f"{PATH}?api_key={key}")
    with c:
        ping(c)


def test_sse_key_required_and_query_accepted(key_server):
    c, status, _ = sse_open(key_server)
    c.close()
    assert status == 401
    c, status, hdrs = sse_open(key_server, path=f"{PATH}?api_key={key_server.api_key()}")
    with c:
        assert status == 200
        assert hdrs.get("content-type", "").startswith("text/event-stream"), hdrs


def test_query_key_ignored_on_plain_get(key_server):
    """?api_key= counts only for upgrades and EventSource GETs."""
    r = key_server.request(FAM, "GET", f"{PATH}?api_key={key_server.api_key()}")
    assert_error_shape("fleet", r, 401, code="UNAUTHORIZED", message=MISSING_KEY_MSG)


# ---- refused upgrades ---------------------------------------------------------------

def test_plain_get_is_400_envelope(server):
    r = server.request(FAM, "GET", PATH)
    assert_error_shape("fleet", r, 400)


def test_bad_version_is_426(server):
    c, r = upgrade(server.ports[FAM], upgrade_request(PATH, new_key(), version="8"))
    c.close()
    assert r.status == 426, r
    assert r.header("Sec-WebSocket-Version") == "13", r


def test_post_is_405(server):
    r = server.request(FAM, "POST", PATH, body=b"{}")
    assert_error_shape("fleet", r, 405)


# ---- commands (§9.2) ----------------------------------------------------------------

def test_nothing_sent_on_connect(server):
    with ws(server) as c:
        c.expect_quiet(0.5 * SLOW)
        ping(c)


def test_ping_pong_exact(server):
    with ws(server) as c:
        for _ in range(3):
            ping(c)
        c.send_text('  {"type" : "ping", "extra": [1, {"a": null}]}  ')
        assert c.recv_message().payload == PONG


def test_subscribe_workflow(server):
    with ws(server) as c:
        c.send_text(json.dumps({"type": "subscribe_workflow", "run_id": RUN}))
        m = c.recv_message()
        assert m.opcode == OP_TEXT and m.payload == subscribed(RUN), m
        # the same id again, and in upper case: acknowledged in canonical form
        c.send_text(json.dumps({"type": "subscribe_workflow", "run_id": RUN.upper()}))
        assert c.recv_message().payload == subscribed(RUN)
        c.send_text(json.dumps({"type": "subscribe_workflow",
                                "run_id": RUN.replace("-", "")}))
        assert c.recv_message().payload == subscribed(RUN)


def test_subscribe_many_still_acknowledged(server):
    """More subscriptions than a connection keeps are still acknowledged."""
    with ws(server) as c:
        ids = [str(uuid.uuid4()) for _ in range(20)]
        for i in ids:
            c.send_text(json.dumps({"type": "subscribe_workflow", "run_id": i}))
        for i in ids:
            assert c.recv_message().payload == subscribed(i)
        ping(c)


def test_unsubscribe_has_no_reply(server):
    with ws(server) as c:
        c.send_text(json.dumps({"type": "subscribe_workflow", "run_id": RUN}))
        assert c.recv_message().payload == subscribed(RUN)
        c.send_text(json.dumps({"type": "unsubscribe_workflow", "run_id": RUN}))
        c.send_text(json.dumps({"type": "unsubscribe_workflow", "run_id": RUN}))
        c.send_text(json.dumps({"type": "unsubscribe_workflow", "run_id": str(uuid.uuid4())}))
        ping(c)


IGNORED = [
    b"",
    b"not json",
    b"{",
    b'{"type":"ping"',
    b'{"type":"ping"} trailing',
    b"{'type':'ping'}",
    b'[{"type":"ping"}]',
    b'"ping"',
    b"null",
    b"42",
    b"{}",
    b'{"type":null}',
    b'{"type":1}',
    b'{"type":"PING"}',
    b'{"type":"pong"}',
    b'{"type":"unknown_command"}',
    b'{"type":"memory_created"}',
    b'{"type":"subscribe_workflow"}',
    b'{"type":"subscribe_workflow","run_id":null}',
    b'{"type":"subscribe_workflow","run_id":42}',
    b'{"type":"subscribe_workflow","run_id":"not-a-uuid"}',
    b'{"type":"subscribe_workflow","run_id":"0194f3e1-0000-7000-8000-00000000004"}',
    b'{"type":"subscribe_workflow","run_id":"0194f3e1-0000-7000-8000-00000000004z"}',
    b'{"type":"subscribe_workflow","run_id":"0194f3e1_0000-7000-8000-000000000042"}',
    b'{"type":"cancel_agent"}',
    b'{"type":"cancel_agent","agent_id":"nope"}',
    b'{"type":"budget_continue","request_id":""}',
    b'{"type":"budget_stop","request_id":[]}',
    # well-formed, but nothing to act on: ignored as well (§7.5, §7.6)
    b'{"type":"cancel_agent","agent_id":"0194f3e1-0000-7000-8000-000000000010"}',
    b'{"type":"budget_continue","request_id":"0194f3e1-0000-7000-8000-000000000000"}',
    b'{"type":"budget_stop","request_id":"0194f3e1-0000-7000-8000-000000000000"}',
]


@pytest.mark.parametrize("text", IGNORED, ids=[repr(t)[2:40] for t in IGNORED])
def test_ignored_without_reply(server, text):
    with ws(server) as c:
        c.send_text(text)
        ping(c)            # the first message back is the pong: nothing came before
        c.alive()


def test_all_ignored_on_one_connection(server):
    with ws(server) as c:
        for t in IGNORED:
            c.send_text(t)
        ping(c)
        c.expect_quiet()


def test_binary_frames_are_ignored(server):
    with ws(server) as c:
        c.send_frame(OP_BINARY, b'{"type":"ping"}')
        c.send_frame(OP_BINARY, b"\xff\x00\x01")
        c.send_frame(OP_BINARY, b"")
        ping(c)
        c.expect_quiet()


def test_fragmented_command(server):
    with ws(server) as c:
        c.send_frame(OP_TEXT, b'{"type"', fin=False)
        c.send_frame(OP_PING, b"hb")
        c.expect_pong(b"hb")
        c.send_frame(0x0, b':"pi', fin=False)
        c.send_frame(0x0, b'ng"}', fin=True)
        assert c.recv_message().payload == PONG


def test_commands_in_one_write_answered_in_order(server):
    with ws(server) as c:
        frames = b"".join([
            build_frame(OP_TEXT, b'{"type":"ping"}'),
            build_frame(OP_TEXT, json.dumps({"type": "subscribe_workflow", "run_id": RUN})),
            build_frame(OP_TEXT, b"garbage"),
            build_frame(OP_TEXT, b'{"type":"ping"}'),
        ])
        c.send(frames)
        assert c.recv_message().payload == PONG
        assert c.recv_message().payload == subscribed(RUN)
        assert c.recv_message().payload == PONG
        c.expect_quiet()


def test_command_of_max_size_is_handled(server):
    body = b'{"type":"ping","pad":"'
    tail = b'"}'
    msg = body + b"x" * (MSG_BYTES - len(body) - len(tail)) + tail
    assert len(msg) == MSG_BYTES
    with ws(server) as c:
        c.send_text(msg)
        assert c.recv_message().payload == PONG


def test_command_over_max_size_closes_1009(server):
    body = b'{"type":"ping","pad":"'
    tail = b'"}'
    msg = body + b"x" * (MSG_BYTES + 1 - len(body) - len(tail)) + tail
    with ws(server) as c:
        c.send_text(msg)
        c.expect_close(1009)


def test_protocol_ping_answered(server):
    with ws(server) as c:
        c.alive()
        c.send_frame(OP_PING, b"")
        c.expect_pong(b"")


def test_client_close_is_answered(server):
    with ws(server) as c:
        ping(c)
        c.send_close(1000)
        c.expect_close(1000)


def test_many_clients_each_get_their_own_reply(server):
    clients = [ws(server) for _ in range(8)]
    try:
        for i, c in enumerate(clients):
            c.send_text(json.dumps({"type": "subscribe_workflow",
                                    "run_id": f"0194f3e1-0000-7000-8000-{i:012x}"}))
        for i, c in enumerate(clients):
            assert c.recv_message().payload == subscribed(f"0194f3e1-0000-7000-8000-{i:012x}")
            c.expect_quiet(0.05)
    finally:
        for c in clients:
            c.close()


def test_other_families_events_do_not_arrive(server):
    """Observability hook events go to the ring under their own topic only."""
    with ws(server) as c:
        post_observability_event(server)
        c.expect_quiet()
        ping(c)


def test_websockets_library_client(server):
    """A stock client library (python3-websockets, asyncio API) talks to it."""
    import asyncio
    websockets = pytest.importorskip("websockets")

    async def run():
        uri = f"ws://127.0.0.1:{server.ports[FAM]}{PATH}"
        async with websockets.connect(uri, ping_interval=None) as c:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(c.recv(), 0.3 * SLOW)
            await c.send('{"type":"ping"}')
            assert await asyncio.wait_for(c.recv(), IO_TIMEOUT) == PONG.decode()
            await c.send(b'{"type":"ping"}')                       # binary: ignored
            await c.send(json.dumps({"type": "subscribe_workflow", "run_id": RUN}))
            assert await asyncio.wait_for(c.recv(), IO_TIMEOUT) == subscribed(RUN).decode()
            pong = await c.ping(b"lib")
            await asyncio.wait_for(pong, IO_TIMEOUT)

    asyncio.run(run())


# ---- heartbeat ----------------------------------------------------------------------

def test_heartbeat_pings_and_silent_client_closed_1001(hb_server):
    t0 = time.monotonic()
    with ws(hb_server) as c:
        expect_heartbeat_close(c, HB_MS, t0, (6 * HB_MS / 1000 + 2) * SLOW)


def test_heartbeat_answering_client_stays_open(hb_server):
    with ws(hb_server) as c:
        pings = c.answer_pings(8 * HB_MS / 1000)
        assert pings >= 3, f"only {pings} pings in {8 * HB_MS} ms"
        ping(c)


def test_commands_count_as_activity(hb_server):
    """The pong timeout closes clients that send nothing after a ping; one that
    keeps sending commands (and never answers a ping) is not silent."""
    with ws(hb_server) as c:
        end = time.monotonic() + 6 * HB_MS / 1000
        while time.monotonic() < end:
            c.send_text('{"type":"ping"}')
            f, _ = c.skip_pings()       # server pings deliberately not answered
            assert f.opcode == OP_TEXT and f.payload == PONG, f
            time.sleep(HB_MS / 4000)


def test_default_heartbeat_is_quiet(server):
    with ws(server) as c:
        assert not roostlib.readable(c.sock, 1.0), "frame on an idle connection"


# ---- SSE variant --------------------------------------------------------------------

def test_sse_head_and_nothing_on_connect(server):
    c, status, hdrs = sse_open(server)
    with c:
        assert status == 200, hdrs
        assert hdrs.get("content-type", "").startswith("text/event-stream"), hdrs
        assert hdrs.get("cache-control") == "no-cache", hdrs
        assert "content-length" not in hdrs, hdrs
        assert not roostlib.readable(c.sock, 0.5 * SLOW) and c.buf == b"", c.buf


def test_sse_accept_list(server):
    c, status, hdrs = sse_open(server, accept="application/json, text/event-stream")
    with c:
        assert status == 200, hdrs
        assert hdrs.get("content-type", "").startswith("text/event-stream"), hdrs


def test_sse_keepalive_comments(hb_server):
    c, status, hdrs = sse_open(hb_server)
    with c:
        assert status == 200, hdrs
        t0 = time.monotonic()
        c._need(lambda: c.buf.count(b":\n\n") >= 3, "three keep-alive comments",
                (4 * HB_MS / 1000 + 2) * SLOW)
        took = time.monotonic() - t0
        assert took >= 2 * 0.8 * HB_MS / 1000, f"three comments after {took:.3f}s"
        assert set(c.buf.split(b":\n\n")) <= {b""}, f"unexpected SSE bytes {c.buf[:200]!r}"


def test_sse_other_families_events_do_not_arrive(server):
    c, status, _ = sse_open(server)
    with c:
        assert status == 200
        post_observability_event(server)
        assert not roostlib.readable(c.sock, QUIET) and c.buf == b"", c.buf


# ---- disconnect and metrics ---------------------------------------------------------

def test_client_disconnect_is_noticed(fresh):
    srv = fresh()
    assert metric(srv, OPEN) == 0
    clients = [ws(srv) for _ in range(3)]
    sse, status, _ = sse_open(srv)
    assert status == 200
    for c in clients:
        ping(c)
    wait_for(lambda: metric(srv, OPEN) == 4, 3 * SLOW,
             what="4 open /ws/events streams in /metrics")
    clients[0].close()                     # TCP close without a close frame
    clients[1].send_close(1000)
    clients[1].expect_close(1000)
    clients[1].close()
    wait_for(lambda: metric(srv, OPEN) == 2, 3 * SLOW,
             what="2 open streams after two clients left")
    sse.close()                            # SSE: client EOF ends the stream
    clients[2].sock.shutdown(socket.SHUT_RDWR)
    clients[2].close()
    wait_for(lambda: metric(srv, OPEN) == 0, 3 * SLOW,
             what="no open streams after every client left")
    # and the server still serves a new one
    with ws(srv) as c:
        ping(c)


def test_command_counters(fresh):
    srv = fresh()
    with ws(srv) as c:
        ping(c)
        c.send_text("nope")
        c.send_text(json.dumps({"type": "cancel_agent", "agent_id": str(uuid.uuid4())}))
        c.send_text(json.dumps({"type": "subscribe_workflow", "run_id": RUN}))
        assert c.recv_message().payload == subscribed(RUN)
        m = metrics(srv)
        assert m.get("roost_fleet_ws_commands_total") == 4, m
        assert m.get("roost_fleet_ws_pongs_total") == 1, m
        assert m.get("roost_fleet_ws_ignored_total") == 2, m
        assert m.get("roost_fleet_ws_workflow_subscribed_total") == 1, m
        assert m.get("roost_fleet_ws_cancels_total") == 0, m
