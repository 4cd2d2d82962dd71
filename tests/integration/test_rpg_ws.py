"""The rpg WebSocket /ws (spec rpg.md §9; README §3 for its auth): the
on-connect messages and their order, 404 on other paths, `windows` only on
change (terminalContent aside), `terminal_output` on a changed capture,
`pane_removed`, client messages ignored, backpressure exactly as §9.4 says,
the heartbeat of §9.5 and the 1001 close on shutdown.

Traffic comes from a private tmux server (rpglib.Tmux): windows made and
renamed, and fake claude panes whose output is captured. The backpressure
tests need much more traffic than the kernel of a client that never reads
absorbs (its SO_RCVBUF and MSS are clamped, wslib.connect, yet the kernel
still takes ~100-150 KB): fake claudes stream long lines, and the tests
count what a reading client received before they look at the stuck one.
"""

import hashlib
import os
import re
import signal
import time
import uuid

import pytest

import roostlib
import rpglib
from roostlib import IO_TIMEOUT, SLOW, RPG_TS, wait_for
from rpglib import (CAPTURE_TIMEOUT, CONNECT_TYPES, FAM, UUID4, Client, Reader, call, enc,
                    get_state, ok, post_event, rpg_server, strip_content, wait_claude,
                    wait_gone, wait_pane)
from wslib import OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, new_key, upgrade, upgrade_request

NEEDS = {"rpg"}


# The module's tmux server and roostd, each test's windows cleaned after it (rpglib).
tmux, rpg = rpglib.tmux, rpglib.rpg
_clean_tmux, _rpg_still_running = rpglib.clean_tmux, rpglib.rpg_still_running


def quiet_polls(n=10):
    """Long enough for n polls of rpglib.POLL_MS to have run."""
    return n * rpglib.POLL_MS / 1000.0 * SLOW + 0.2


def windows_msgs(msgs):
    return [m for m in msgs if m["type"] == "windows"]


def has_window(m, wid, pred=lambda w: True):
    return any(w["id"] == wid and pred(w) for w in m["payload"])


# ---- §9.1 on connect ---------------------------------------------------------------

def test_on_connect_messages_in_order(rpg, tmux):
    _, pane = tmux.new_claude_window()
    wait_claude(rpg, pane, lambda cs: True)
    wait_pane(rpg, pane, lambda p: "Welcome to Claude Code" in p.get("terminalContent", ""),
              "the Claude pane's banner captured", timeout=CAPTURE_TIMEOUT)
    with Client(rpg) as a, Client(rpg, path="/ws?client=2") as b:
        for c in (a, b):
            con, win, comp, quests = c.connect
            assert set(con) == {"type", "sessionId", "timestamp"}, con
            assert UUID4.match(con["sessionId"]), con
            assert RPG_TS.match(con["timestamp"]), con
            assert set(win) == {"type", "payload"} and isinstance(win["payload"], list), win
            assert set(comp) == {"type", "payload"} and isinstance(comp["payload"], list)
            assert set(quests) == {"type", "payload"} and isinstance(quests["payload"], list)
        assert a.connect[0]["sessionId"] != b.connect[0]["sessionId"]
        state = get_state(rpg)
        assert strip_content(a.connect[1]["payload"]) == strip_content(state["windows"])
        p = [p for w in a.connect[1]["payload"] for p in w["panes"] if p["id"] == pane][0]
        assert "Welcome to Claude Code" in p["terminalContent"], p


@pytest.mark.parametrize("path", ["/", "/wsx", "/ws/", "/ws/extra", "/api/ws", "/socket",
                                  "/event", "/health"])
def test_upgrade_on_another_path_is_404(rpg, path):
    c, r = upgrade(rpg.ports[FAM], upgrade_request(path, new_key()))
    c.close()
    rpglib.fail(r, 404, "NOT_FOUND", f"Route not found: GET {path}")


def test_auth_key_for_the_upgrade(roostd, tmux, tmp_path):
    srv = rpg_server(tmp_path / "s", tmux, args=["--rpg.auth=key"])
    try:
        c, r = upgrade(srv.ports[FAM], upgrade_request("/ws", new_key()))
        c.close()
        rpglib.fail(r, 401, "UNAUTHORIZED", "Missing or invalid API key")
        key = srv.api_key()
        with Client(srv, path=f"/ws?api_key={key}") as c:
            assert c.connect[0]["type"] == "connected"
        with Client(srv, headers={"X-API-Key": key}) as c:
            assert c.connect[0]["type"] == "connected"
    finally:
        srv.stop()


# ---- §9.2 windows, terminal_output, pane_removed -------------------------------------

def test_windows_sent_only_on_change(rpg, tmux):
    with Client(rpg) as c:
        wid, _ = tmux.new_shell_window(name="wc-0")
        m = c.wait_type("windows", lambda m: has_window(m, wid), f"windows with {wid}")
        assert [w["windowName"] for w in m["payload"] if w["id"] == wid] == ["wc-0"]
        cw, cpane = tmux.new_claude_window(name="wc-claude")
        c.wait_type("windows", lambda m: has_window(
            m, cw, lambda w: w["panes"][0]["process"]["type"] == "claude"),
            "windows with the Claude pane")
        c.wait_type("terminal_output", lambda m: m["payload"]["paneId"] == cpane,
                    "the first capture of the Claude pane")
        c.drain(quiet_polls())
        start = len(c.log)
        # Nothing changes but a Claude pane's content: terminal_output only.
        tmux.type_line(cpane, "/say only-the-content-changes")
        c.wait_type("terminal_output", lambda m: m["payload"]["paneId"] == cpane and
                    "only-the-content-changes" in m["payload"]["content"], "the new content")
        c.drain(quiet_polls())
        ok(call(rpg, "POST", f"/api/windows/{enc(wid)}/rename", {"windowName": "wc-1"}))
        m = c.wait_type("windows", lambda m: has_window(m, wid, lambda w: w["windowName"] ==
                                                         "wc-1"), "windows after the rename")
        between = windows_msgs(c.log[start:])
        assert between == [m], ("windows sent without a change: "
                                f"{[rpglib.summary(x) for x in between]}")
        # The windows payload carries the Claude pane's content.
        p = [p for w in m["payload"] for p in w["panes"] if p["id"] == cpane][0]
        assert "only-the-content-changes" in p.get("terminalContent", ""), p.keys()
        state = get_state(rpg)
        assert strip_content(m["payload"]) == strip_content(state["windows"])


def test_windows_after_each_kind_of_change(rpg, tmux):
    with Client(rpg) as c:
        d = ok(call(rpg, "POST", "/api/windows/create", {"windowName": "kinds"}))
        wid = d["windowId"]
        c.wait_type("windows", lambda m: has_window(m, wid), "the created window")
        pane = ok(call(rpg, "POST", f"/api/windows/{enc(wid)}/new-pane"))["paneId"]
        c.wait_type("windows", lambda m: has_window(m, wid, lambda w: len(w["panes"]) == 2),
                    "the new pane")
        ok(call(rpg, "POST", f"/api/panes/{enc(pane)}/close"))
        c.wait_type("windows", lambda m: has_window(m, wid, lambda w: len(w["panes"]) == 1),
                    "the closed pane")
        tmux.kill_window(wid)
        c.wait_type("windows", lambda m: not has_window(m, wid), "the window gone")


def test_terminal_output_on_capture_change(rpg, tmux):
    _, shell = tmux.new_shell_window()
    _, pane = tmux.new_claude_window()
    wait_claude(rpg, pane)
    with Client(rpg) as c:
        start = len(c.log)
        tmux.type_line(shell, "echo shell-output-is-not-captured")
        for i in range(2):
            tag = f"term-{i}-{uuid.uuid4().hex[:6]}"
            tmux.type_line(pane, f"/say {tag}")
            m = c.wait_type("terminal_output", lambda m: m["payload"]["paneId"] == pane
                            and tag in m["payload"]["content"], f"terminal_output with {tag}")
            assert set(m) == {"type", "payload"}, m.keys()
            assert set(m["payload"]) == {"paneId", "target", "content"}, m["payload"].keys()
            assert m["payload"]["target"] == pane, m
        outs = [m["payload"]["paneId"] for m in c.log[start:] if m["type"] == "terminal_output"]
        assert shell not in outs, outs
        # The same content in GET /api/windows.
        wait_pane(rpg, pane, lambda p: tag in p.get("terminalContent", ""), "terminalContent")


def test_pane_removed(rpg, tmux):
    wid, pane = tmux.new_claude_window()
    second = tmux.split(wid, [tmux.claude])
    wait_claude(rpg, pane)
    wait_claude(rpg, second)
    with Client(rpg) as c:
        tmux.kill_pane(second)
        m = c.wait_type("pane_removed", lambda m: m.get("paneId") == second, "pane_removed")
        assert m == {"type": "pane_removed", "paneId": second, "payload": {"paneId": second}}, m
        wait_gone(rpg, pane_id=second)
        ok(call(rpg, "POST", f"/api/panes/{enc(pane)}/close"))
        m = c.wait_type("pane_removed", lambda m: m.get("paneId") == pane, "pane_removed")
        assert m["payload"] == {"paneId": pane}, m


def test_pane_update_shape_and_high_priority_fields(rpg, tmux):
    _, pane = tmux.new_claude_window()
    wait_claude(rpg, pane)
    with Client(rpg) as c:
        post_event(rpg, {"hook_event_name": "PreToolUse", "paneId": pane, "session_id": "s-ws",
                         "tool_name": "Read", "tool_use_id": uuid.uuid4().hex})
        m = c.wait_type("pane_update", lambda m: m["paneId"] == pane, "pane_update")
        assert set(m) == {"type", "paneId", "session", "payload"}, m
        assert m["session"]["status"] == "working" and m["session"]["paneId"] == pane, m
        assert m["payload"]["id"] == pane and "terminalContent" not in m["payload"], m


def test_reading_client_keeps_receiving_across_windows_changes(rpg, tmux):
    """A client that reads everything gets every change while Claude panes
    stream output: terminal_output (high) after each `windows` message, the
    windows changes, and low-priority events (§9.2). The panes' content is
    let grow first, so that a `windows` message (which carries it) is
    larger than rpg.ws_pause_bytes (64 KiB)."""
    panes = streaming(tmux, rpg)
    r = Reader(rpg.ports[FAM])
    try:
        r.wait(lambda r: len(r.messages) >= len(CONNECT_TYPES), "the connect messages")
        start_stream(tmux, panes)
        r.wait(lambda r: full_captures(r, panes), "every pane's capture holding 100 lines")
        for k, body in enumerate(({"windowName": "flow-a"}, None)):
            if body is not None:
                wid = ok(call(rpg, "POST", "/api/windows/create", body))["windowId"]
                name = "flow-a"
            else:
                ok(call(rpg, "POST", f"/api/windows/{enc(wid)}/rename", {"windowName": "flow-b"}))
                name = "flow-b"
            r.wait(lambda r: any(has_window(j, wid, lambda w: w["windowName"] == name)
                                 for j in r.of_type("windows")), f"windows with {name}")
            n = r.count("terminal_output")
            r.wait(lambda r: r.count("terminal_output") >= n + 8,
                   f"terminal_output after the windows message with {name} "
                   f"(last messages {r.types()[-4:]})")
        post_event(rpg, {"hook_event_name": "Notification", "paneId": panes[0],
                         "session_id": "flow", "message": "still flowing"})
        r.wait(lambda r: notes(r, panes[0]), "the notification event")
        tag = uuid.uuid4().hex[:6]
        stop_stream(tmux, panes, tag)
        r.wait(lambda r: ends_seen(r, tag, panes), "the end line of every pane")
        assert r.close_frame is None and not r.eof
    finally:
        r.close()
        kill_panes(tmux, panes, rpg)


# ---- §9.3 client messages ------------------------------------------------------------

def still_open(c):
    """A ping is answered (data messages meanwhile are skipped): the
    connection is open and served."""
    tag = os.urandom(8)
    c.ws.send_frame(OP_PING, tag)
    while True:
        f = c.ws.recv_frame()
        assert f.opcode != OP_CLOSE, f"closed: {f!r}"
        if f.opcode == OP_PONG and f.payload == tag:
            return


def test_client_text_and_binary_messages_are_ignored(rpg, tmux):
    with Client(rpg) as c:
        c.ws.send_text("hello")
        c.ws.send_text('{"type":"subscribe","payload":{"all":true}}')
        c.ws.send_text("{not json")
        c.ws.send_frame(OP_BINARY, b"\x00\x01\x02\xff")
        still_open(c)
        wid, _ = tmux.new_shell_window(name="after-client-text")
        c.wait_type("windows", lambda m: has_window(m, wid), "windows after client messages")
        still_open(c)


# ---- §9.5 heartbeat, shutdown -----------------------------------------------------------

HB_MS = 300


@pytest.fixture(scope="module")
def hb(roostd, tmux, tmp_path_factory):
    srv = rpg_server(tmp_path_factory.mktemp("hb"), tmux, args=[f"--rpg.ws_heartbeat_ms={HB_MS}"])
    yield srv
    srv.stop()


def test_heartbeat_pings_and_an_answering_client_stays(hb):
    with Client(hb) as c:
        pings = 0
        end = time.monotonic() + 8 * HB_MS / 1000
        while time.monotonic() < end:
            if not c.ws.raw.buf and not roostlib.readable(c.ws.sock, end - time.monotonic()):
                continue
            f = c.ws.recv_frame()
            assert f.opcode != OP_CLOSE, f"closed although it answered every ping: {f!r}"
            if f.opcode == OP_PING:
                pings += 1
                c.ws.send_frame(OP_PONG, f.payload)
        assert pings >= 4, f"only {pings} pings in {8 * HB_MS} ms"
        c.ws.alive()


def test_heartbeat_silent_client_closed_1001(hb):
    t0 = time.monotonic()
    c = Client(hb, connect=False)
    try:
        pings = 0
        deadline = time.monotonic() + (10 * HB_MS / 1000 + 5) * SLOW
        while True:
            assert time.monotonic() < deadline, f"not closed after {pings} unanswered pings"
            f = c.ws.recv_frame(timeout=max(0.1, deadline - time.monotonic()))
            if f.opcode == OP_PING:
                pings += 1            # never answered
                continue
            if f.opcode == OP_CLOSE:
                break
        took = time.monotonic() - t0
        assert f.close_code == 1001 and f.close_reason == "heartbeat timeout", f
        assert pings >= 1, "closed for silence without a ping first"
        assert took >= 0.9 * 2 * HB_MS / 1000, f"closed after {took:.3f}s, before 2 heartbeats"
        c.ws.expect_eof()
    finally:
        c.close()
    ok(call(hb, "GET", "/health"))


def test_sigterm_closes_clients_1001(roostd, tmux, tmp_path):
    srv = rpg_server(tmp_path / "s", tmux)
    c = Client(srv)
    try:
        srv.proc.send_signal(signal.SIGTERM)
        f = None
        while True:
            f = c.ws.next_frame(timeout=IO_TIMEOUT * 2)
            if f.opcode == OP_CLOSE:
                break
        assert f.close_code == 1001, f
    finally:
        c.close()
        srv.stop()


# ---- §9.4 backpressure ------------------------------------------------------------------

STREAM_PANES = 4
# The backpressure tests stream with the smallest capture (50 lines): a
# poll's burst of terminal_output (every streaming pane's whole terminal)
# then stays well below the caps, and the data rate low enough that a
# reading client slowed by a loaded machine is neither over a cap nor
# overtaken by the event ring (both close it 1013, as they should).
SMALL_CAPTURES = "--rpg.terminal_capture_lines=50"
RING_BYTES = 1152 * 1024      # CFG_BUS_BYTES in the default profile (profiles/default.h)
STREAM_MS = 20
STREAM_WIDTH = int(os.environ.get("ROOST_RPG_STREAM_WIDTH", "180"))


def streaming(tmux, srv, n=STREAM_PANES):
    """n fake claude windows known to roostd as Claude panes (not yet
    streaming)."""
    panes = []
    for _ in range(n):
        _, p = tmux.new_claude_window()
        panes.append(p)
    for p in panes:
        wait_claude(srv, p)
    return panes


def start_stream(tmux, panes):
    for p in panes:
        tmux.type_line(p, f"/stream {STREAM_MS} {STREAM_WIDTH}")


def stop_stream(tmux, panes, tag):
    """Stop streaming and print an end line per pane: the last content."""
    for p in panes:
        tmux.type_line(p, "/stream 0")
        tmux.type_line(p, f"/say end-{tag}-{p}")


def kill_panes(tmux, panes, srv=None):
    """Kill the streaming panes; with srv, until roostd's state has none of
    them (the next test starts without their output)."""
    for p in panes:
        try:
            tmux.kill_pane(p)
        except AssertionError:
            pass
    if srv is not None and srv.alive():
        for p in panes:
            wait_gone(srv, pane_id=p)


def high_bytes(r):
    with r.lock:
        return sum(n for t, _, n, _ in r.messages if t == "terminal_output")


def ends_seen(r, tag, panes):
    with r.lock:
        got = {j["payload"]["paneId"] for t, j, _, _ in r.messages if t == "terminal_output"
               and f"end-{tag}-{j['payload']['paneId']}" in j["payload"]["content"]}
    return set(panes) <= got


def full_captures(r, panes, lines=100):
    """The last terminal_output of every pane holds `lines` streamed lines."""
    last = {}
    with r.lock:
        for t, j, _, _ in r.messages:
            if t == "terminal_output":
                last[j["payload"]["paneId"]] = j["payload"]["content"]
    return all(last.get(p, "").count("tick ") >= lines for p in panes)


def outputs(r):
    """(paneId, sha1 of content) of every terminal_output, in order."""
    with r.lock:
        return [(j["payload"]["paneId"], hashlib.sha1(j["payload"]["content"].encode())
                 .hexdigest()) for t, j, _, _ in r.messages if t == "terminal_output"]


def last_outputs(r, panes):
    """The last terminal_output payload of each pane ({} for none yet)."""
    with r.lock:
        last = {p: {"content": ""} for p in panes}
        for t, j, _, _ in r.messages:
            if t == "terminal_output" and j["payload"]["paneId"] in last:
                last[j["payload"]["paneId"]] = j["payload"]
        return list(last.values())


def notes(r, tag):
    with r.lock:
        return [j["payload"] for t, j, _, _ in r.messages if t == "event"
                and j["payload"].get("eventType") == "hook:notification"
                and j["payload"].get("paneId") == tag]


def log_text(srv):
    return srv.stdout() + srv.stderr()


def test_paused_client_drops_normal_and_low_keeps_high_and_converges(roostd, tmux, tmp_path):
    srv = rpg_server(tmp_path / "bp", tmux, args=["--rpg.ws_pause_bytes=65536",
                                                   "--rpg.ws_resume_bytes=16384",
                                                   "--rpg.ws_max_buffer_bytes=4194304",
                                                   SMALL_CAPTURES])
    panes = []
    fast = slow = None
    try:
        panes = streaming(tmux, srv)
        hook_pane = panes[0]
        fast = Reader(srv.ports[FAM])
        slow = Reader(srv.ports[FAM], rcvbuf=4096, mss=536, start=False)
        fast.wait(lambda r: len(r.messages) >= len(CONNECT_TYPES), "the connect messages")
        tag = uuid.uuid4().hex[:6]
        start_stream(tmux, panes)
        # More high-priority traffic than the slow client's kernel takes
        # (~100-250 KB) and rpg.ws_pause_bytes together.
        fast.wait(lambda r: high_bytes(r) > 600_000, "600 KB of terminal_output",
                  timeout=60 * SLOW)
        # Normal and low messages while the slow client is paused.
        d = ok(call(srv, "POST", "/api/windows/create", {"windowName": f"paused-{tag}"}))
        wid = d["windowId"]
        fast.wait(lambda r: any(has_window(j, wid) for j in r.of_type("windows")),
                  "windows with the new window")
        ok(call(srv, "POST", f"/api/windows/{enc(wid)}/rename", {"windowName": f"final-{tag}"}))
        fast.wait(lambda r: any(has_window(j, wid, lambda w: w["windowName"] == f"final-{tag}")
                                for j in r.of_type("windows")), "windows with the rename")
        for i in range(3):
            post_event(srv, {"hook_event_name": "Notification", "paneId": hook_pane,
                             "session_id": "bp", "message": f"paused-{i}"})
        fast.wait(lambda r: len(notes(r, hook_pane)) >= 3, "the 3 notifications")
        stop_stream(tmux, panes, tag)
        fast.wait(lambda r: ends_seen(r, tag, panes), "the end line of every pane",
                  timeout=CAPTURE_TIMEOUT)
        # Now the slow client reads: every high message, in order, then the
        # current windows snapshot; the dropped messages never come.
        slow.start()
        slow.wait(lambda r: ends_seen(r, tag, panes), "the end line of every pane",
                  timeout=60 * SLOW)
        slow.wait(lambda r: any(has_window(j, wid, lambda w: w["windowName"] == f"final-{tag}")
                                for j in r.of_type("windows")),
                  "the windows snapshot after the resume", timeout=IO_TIMEOUT)
        assert slow.close_frame is None and not slow.eof, slow.close_frame
        # Every terminal_output the fast client got after the slow one
        # connected, in order: the slow client's list is the tail of the
        # fast one's (the fast client connected first, so a capture of the
        # panes' first screens may have reached it alone; one lost in the
        # middle makes the lists differ).
        so, fo = outputs(slow), outputs(fast)
        assert so and fo[len(fo) - len(so):] == so, (
            f"high-priority messages differ: slow {len(so)}, fast {len(fo)}")
        assert slow.types()[:4] == CONNECT_TYPES, slow.types()[:6]
        assert notes(slow, hook_pane) == [], "low-priority events reached the paused client"
        sw = slow.of_type("windows")
        assert not any(has_window(j, wid, lambda w: w["windowName"] == f"paused-{tag}")
                       for j in sw), "a windows message reached the paused client"
        assert strip_content(sw[-1]["payload"]) == strip_content(
            fast.of_type("windows")[-1]["payload"]), "the slow client did not converge"
        # Resumed: low-priority messages flow again.
        post_event(srv, {"hook_event_name": "Notification", "paneId": hook_pane,
                         "session_id": "bp", "message": "resumed"})
        fast.wait(lambda r: len(notes(r, hook_pane)) == 4, "the event after the resume")
        try:
            slow.wait(lambda r: len(notes(r, hook_pane)) == 1, "an event after the resume",
                      timeout=IO_TIMEOUT)
        except AssertionError as e:
            raise AssertionError(f"{e}; the slow client's last messages: "
                                 f"{slow.types()[-8:]}") from None
        assert fast.close_frame is None and not fast.eof
    finally:
        for r in (fast, slow):
            if r is not None:
                r.close()
        kill_panes(tmux, panes)
        srv.stop()


@pytest.mark.parametrize("cap,changes,full_first",
                         [(262144, False, False), (1048576, True, False), (524288, False, True)],
                         ids=["256KiB-stream-only", "1MiB-windows-changing",
                              "stuck-in-the-snapshot"])
def test_client_that_cannot_take_high_messages_is_closed_1013(roostd, tmux, tmp_path, cap,
                                                              changes, full_first):
    """The stuck client's queue passes rpg.ws_max_buffer_bytes: what it
    finally reads is well-formed frames (whole messages, the normal ones it
    was paused for left out), then the close 1013 "backpressure", then
    EOF. With `changes`, windows change meanwhile (normal messages dropped
    while paused). With `full_first` the terminals are full before the
    stuck client connects, so it stops reading in the middle of its
    on-connect windows snapshot (larger than the socket buffers), while
    ring events are held for it: the ring overtaking it closes it all the
    same once the snapshot is read."""
    srv = rpg_server(tmp_path / "bp", tmux, args=["--rpg.ws_pause_bytes=16384",
                                                   "--rpg.ws_resume_bytes=4096",
                                                   f"--rpg.ws_max_buffer_bytes={cap}"] +
                     ([] if full_first else [SMALL_CAPTURES]))
    panes = []
    fast = stuck = None
    try:
        panes = streaming(tmux, srv)
        fast = Reader(srv.ports[FAM])
        if full_first:
            start_stream(tmux, panes)
            fast.wait(lambda r: all(len(w["content"]) > 16384 for w in last_outputs(r, panes)),
                      "every streaming terminal over 16 KiB", timeout=CAPTURE_TIMEOUT)
        stuck = Reader(srv.ports[FAM], rcvbuf=4096, mss=536, start=False)
        if not full_first:
            start_stream(tmux, panes)
        # Stream (and change windows) until roostd reports the close: its
        # queue passed the cap, or the ring overtook it. Both follow from
        # bytes published, not from time (the fake's output rate depends on
        # the machine's load), so the bound is on what the reading client
        # received meanwhile: the cap plus the ring, twice over, and more
        # than that with no close is a failure. A stream that stops growing
        # fails too.
        wid = ok(call(srv, "POST", "/api/windows/create", {"windowName": "cap-0"}))["windowId"]
        base = last = fast.bytes_in
        bound = 2 * (cap + RING_BYTES) + (1 << 20)
        stalled_at = time.monotonic()
        k = 0
        while not re.search(r"backpressure|1013", log_text(srv), re.I):
            got = fast.bytes_in
            assert got - base < bound, (
                f"no backpressure close logged after the reading client got "
                f"{got - base} bytes ({k} rounds):\n{srv.logs()[-1500:]}")
            if got != last:
                last, stalled_at = got, time.monotonic()
            assert time.monotonic() - stalled_at < 10 * SLOW, \
                f"the stream stopped at {got - base} bytes ({k} rounds)"
            k += 1
            if changes:
                ok(call(srv, "POST", f"/api/windows/{enc(wid)}/rename",
                        {"windowName": f"cap-{k}"}))
            time.sleep(0.3)                 # pacing the changes, not measuring
        stuck.start()
        wait_for(lambda: stuck.eof or stuck.error, IO_TIMEOUT * 2,
                 what="the stuck client's connection ending")
        assert stuck.error is None, f"the stuck client's stream is broken: {stuck.error}"
        assert stuck.close_frame == (1013, "backpressure"), stuck.close_frame
        assert stuck.types()[-1] == "__close__", stuck.types()[-5:]
        assert stuck.types()[:4] == CONNECT_TYPES, stuck.types()[:6]
        assert stuck.rest == b"", "bytes after the close frame"
        # The reading client is unaffected.
        tag = uuid.uuid4().hex[:6]
        stop_stream(tmux, panes, tag)
        fast.wait(lambda r: ends_seen(r, tag, panes), "the end line of every pane",
                  timeout=CAPTURE_TIMEOUT)
        assert fast.close_frame is None and not fast.eof
        ok(call(srv, "GET", "/health"))
    finally:
        for r in (fast, stuck):
            if r is not None:
                r.close()
        kill_panes(tmux, panes)
        srv.stop()
