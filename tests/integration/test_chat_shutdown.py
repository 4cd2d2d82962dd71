"""Chat streams and the end of the process.

SIGTERM with chats in flight: every open stream gets `error` "Server
shutting down" and `done`, the provider connections are closed, roostd
exits 0, and after a restart the partial turn is there with stop_reason
`server_stopped`, for a plain turn and for one whose sub-agent was running;
the bus clients see that sub-agent cancelled ("Server stopping") before
their own close 1001.

kill -9 mid-stream: nothing half-written. The restarted server opens the
same database, the session made for the turn is there (empty), and the
next turn on it works.
"""

import signal

import pytest

import fakellm
import roostlib
from fakellm import FakeLLM
from fleetlib import Fleet
from roostlib import IO_TIMEOUT, wait_for
from test_chat import Bus, chat, make_bot, messages, provider_args, session_data
from wslib import OP_CLOSE

# What this file needs built into roostd (conftest.py deselects it, and
# lists it, for a profile without them).
NEEDS = {"fleet", "llm"}


@pytest.fixture
def fake():
    f = FakeLLM().start()
    yield f
    f.release()
    f.stop()


def start(tmp_path, fake, data_dir=None):
    srv = roostlib.Server(tmp_path / "srv", data_dir=data_dir,
                          args=["--llm.providers=main"] +
                          provider_args("main", "anthropic", fake.base_url, "main-model"))
    srv.start()
    return srv


def test_sigterm_ends_open_chats_and_keeps_what_was_said(tmp_path, fake):
    srv = start(tmp_path, fake)
    stopped = False
    try:
        fl = Fleet(srv)
        bot = make_bot(fl, "Stopper")
        bus = Bus(srv)
        fake.script(fakellm.stall(["said before ", "never said"], after=1),
                    user_contains="plain")
        fake.script(fakellm.spawn(["waits forever"]), user_contains="agents")
        fake.script(fakellm.stall(["child part"], after=1), task="waits forever")
        plain = chat(srv, bot["id"], "plain turn")
        plain.until("text_delta")
        agents = chat(srv, bot["id"], "agents turn")
        spawned = bus.wait(lambda e: e.get("type") == "agent_spawned", what="agent_spawned")
        wait_for(lambda: len(fake.requests) == 3, IO_TIMEOUT, what="the child's call")
        srv.stop(sig=signal.SIGTERM, expect_rc=0)
        stopped = True
        for s in (plain, agents):
            s.finish()
            assert s.names()[-2:] == ["error", "done"], s.names()
            assert s.of("error") == [{"message": "Server shutting down"}]
        fake.requests[0].wait_closed()           # the stalled root call
        fake.requests[2].wait_closed()           # the stalled child
        # the chats end before the bus clients get their 1001: the child's
        # cancellation reaches them
        assert bus.wait("agent_cancelled") == {
            "type": "agent_cancelled", "agent_id": spawned["agent_id"],
            "reason": "Server stopping"}
        f = bus.ws.recv_frame()
        assert (f.opcode, f.close_code) == (OP_CLOSE, 1001), f
        bus.close()
        # the partial turns are there after a restart
        srv2 = start(tmp_path, fake, data_dir=srv.data_dir)
        try:
            fl2 = Fleet(srv2)
            m = messages(fl2, plain.session_id())
            assert [(x["role"], x["content"]) for x in m] == \
                [("user", "plain turn"), ("assistant", "said before ")], m
            assert m[1]["stop_reason"] == "server_stopped", m[1]
            assert session_data(fl2, plain.session_id())["message_count"] == 2
            m = messages(fl2, agents.session_id())
            assert m[1]["stop_reason"] == "server_stopped", m
            assert m[1]["content"].startswith("I'll split this up."), m[1]
        finally:
            srv2.stop()
    finally:
        if not stopped:
            srv.stop()


def test_kill9_mid_stream_leaves_a_usable_database(tmp_path, fake):
    srv = start(tmp_path, fake)
    fl = Fleet(srv)
    bot = make_bot(fl, "Crasher")
    fake.script(fakellm.stall(["half ", "never"], after=1), user_contains="crash")
    s = chat(srv, bot["id"], "crash now")
    s.until("text_delta")
    sid = s.session_id()
    srv.kill9()
    fake.requests[0].wait_closed()
    s.close()
    srv2 = start(tmp_path, fake, data_dir=srv.data_dir)
    try:
        fl2 = Fleet(srv2)
        sess = session_data(fl2, sid)       # made before the stream: it survived
        assert sess["message_count"] == 0 and messages(fl2, sid) == [], sess
        assert fl2.call("GET", f"bots/{bot['id']}").status == 200
        fake.script(fakellm.text("after ", "the crash"), user_contains="again")
        t = chat(srv2, bot["id"], "again", session_id=sid)
        t.finish()
        assert t.text() == "after the crash" and t.names()[-1] == "done", t.names()
        got = wait_for(lambda: (lambda m: m if len(m) == 2 else None)(messages(fl2, sid)),
                       IO_TIMEOUT, 0.05, "the turn after the crash stored")
        assert [x["content"] for x in got] == ["again", "after the crash"]
    finally:
        srv2.stop()
