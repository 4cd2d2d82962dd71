"""Fleet chat sessions, messages and stats (spec/fleet.md §2.4-§2.6, §5.4, §5.5).
Rows are seeded straight into <data_dir>/roost.db (schema: src/store/migrations.c)
while roostd runs; the chat stream that creates them is a later issue."""

import pytest

from fleetlib import (API, MESSAGE_KEYS, MODEL, SESSION_KEYS, STATS_KEYS, Fleet, bot_links,
                      check_message, check_session, db, db_count, seed_session, ts_at, uuid7)

# What this file needs built into roostd (conftest.py deselects it, and
# lists it, for a profile without them).
NEEDS = {"fleet"}


@pytest.fixture(scope="module")
def fleet(server):
    return Fleet(server)


def sess_links(sid):
    return {"self": f"{API}/sessions/{sid}", "messages": f"{API}/sessions/{sid}/messages"}


def msg_links(sid):
    return {"self": f"{API}/sessions/{sid}/messages", "session": f"{API}/sessions/{sid}"}


def list_sessions(fleet, bot, query="", ident=None):
    data = fleet.ok("GET", f"bots/{ident or bot['slug']}/sessions{query}",
                    links={"self": f"{API}/bots/{bot['id']}/sessions"})
    assert isinstance(data, list)
    for s in data:
        check_session(s)
    return data


def messages(fleet, sid, query=""):
    data = fleet.ok("GET", f"sessions/{sid}/messages{query}", links=msg_links(sid))
    assert isinstance(data, list)
    for m in data:
        check_message(m)
    return data


SPEC_MESSAGES = [
    {"role": "user", "content": "Hi Luna", "created_at": "2026-02-14T13:45:00.000000Z"},
    {"role": "assistant", "content": "Hello! What are we exploring today?",
     "created_at": "2026-02-14T13:45:01.912000Z", "input_tokens": 812, "output_tokens": 11,
     "model": MODEL, "stop_reason": "end_turn", "response_ms": 1912},
]


def test_session_and_messages_shapes(fleet, server):
    bot = fleet.create_bot("Chatty")
    sid, mids = seed_session(server, bot["id"], started_at="2026-02-14T13:44:59.000001Z",
                             messages=SPEC_MESSAGES, in_tokens=812, out_tokens=11,
                             model="gpt-4o")
    s = fleet.ok("GET", f"sessions/{sid}", links=sess_links(sid))
    assert list(s.items()) == [
        ("id", sid), ("bot_id", bot["id"]), ("title", None),
        ("started_at", "2026-02-14T13:44:59.000001Z"), ("ended_at", None),
        ("total_input_tokens", 812), ("total_output_tokens", 11), ("message_count", 2),
        ("model", "gpt-4o"), ("status", "active")]
    assert list_sessions(fleet, bot) == [s]
    assert list_sessions(fleet, bot, ident=bot["id"]) == [s]
    m = messages(fleet, sid)
    assert [list(x.items()) for x in m] == [
        [("id", mids[0]), ("session_id", sid), ("role", "user"), ("content", "Hi Luna"),
         ("created_at", "2026-02-14T13:45:00.000000Z"), ("input_tokens", None),
         ("output_tokens", None), ("model", None), ("stop_reason", None),
         ("response_ms", None)],
        [("id", mids[1]), ("session_id", sid), ("role", "assistant"),
         ("content", "Hello! What are we exploring today?"),
         ("created_at", "2026-02-14T13:45:01.912000Z"), ("input_tokens", 812),
         ("output_tokens", 11), ("model", MODEL), ("stop_reason", "end_turn"),
         ("response_ms", 1912)],
    ]
    assert [list(x) for x in m] == [MESSAGE_KEYS, MESSAGE_KEYS]
    assert list(s) == SESSION_KEYS


def test_sessions_list_order_and_paging(fleet, server):
    bot = fleet.create_bot("Busy")
    other = fleet.create_bot("Other Busy")
    seed_session(server, other["id"])
    sids = []
    for i in range(55):                         # i seconds ago: sids[0] is the newest
        sid, _ = seed_session(server, bot["id"], started_at=ts_at(i + 1))
        sids.append(sid)
    default = list_sessions(fleet, bot)
    assert [s["id"] for s in default] == sids[:50]
    assert [s["id"] for s in list_sessions(fleet, bot, "?limit=1000")] == sids
    assert [s["id"] for s in list_sessions(fleet, bot, "?limit=5&offset=10")] == sids[10:15]
    assert [s["id"] for s in list_sessions(fleet, bot, "?offset=50")] == sids[50:]
    assert list_sessions(fleet, bot, "?offset=55") == []
    assert all(s["bot_id"] == bot["id"] for s in default)
    assert len(list_sessions(fleet, other)) == 1
    assert list_sessions(fleet, fleet.create_bot("Lonely")) == []


@pytest.mark.parametrize("q", ["?limit=0", "?limit=1001", "?limit=x", "?offset=-1",
                               "?offset=1e3"])
def test_sessions_list_bad_query(fleet, q):
    bot = fleet.create_bot("Query Victim")
    fleet.fail("GET", f"bots/{bot['slug']}/sessions{q}", None, 400, "VALIDATION_ERROR")


def test_sessions_list_unknown_bot(fleet):
    fleet.fail("GET", "bots/no-such-bot/sessions", None, 404, "BOT_NOT_FOUND", "Bot not found")


def test_messages_order_ties_and_paging(fleet, server):
    bot = fleet.create_bot("Talker")
    same = "2026-02-14T13:45:00.000000Z"
    hi_id, lo_id = "0194f3c0-0000-7000-8000-0000000000ff", "0194f3c0-0000-7000-8000-000000000001"
    msgs = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"m{i:03d}",
             "created_at": f"2026-02-14T14:{i // 60:02d}:{i % 60:02d}.000000Z"}
            for i in range(103)]
    msgs.insert(0, {"role": "user", "content": "tie-hi", "created_at": same, "id": hi_id})
    msgs.insert(1, {"role": "user", "content": "tie-lo", "created_at": same, "id": lo_id})
    sid, _ = seed_session(server, bot["id"], messages=msgs)
    want = ["tie-lo", "tie-hi"] + [f"m{i:03d}" for i in range(103)]
    assert [m["content"] for m in messages(fleet, sid)] == want[:100]
    assert [m["content"] for m in messages(fleet, sid, "?limit=1000")] == want
    assert [m["content"] for m in messages(fleet, sid, "?limit=3&offset=1")] == want[1:4]
    assert [m["content"] for m in messages(fleet, sid, "?offset=100")] == want[100:]
    assert messages(fleet, sid, "?offset=1000") == []
    for q in ("?limit=0", "?limit=1001", "?limit=abc", "?offset=-2"):
        fleet.fail("GET", f"sessions/{sid}/messages{q}", None, 400, "VALIDATION_ERROR")


def test_message_content_escaped(fleet, server):
    bot = fleet.create_bot("Escaped Talk")
    text = "\"q\" \\ \n\t\u0001 é 🤖 \u2028"
    sid, _ = seed_session(server, bot["id"], messages=[{"role": "user", "content": text}],
                          title="A \"title\"")
    assert [m["content"] for m in messages(fleet, sid)] == [text]
    assert fleet.ok("GET", f"sessions/{sid}", links=sess_links(sid))["title"] == 'A "title"'


def test_empty_session(fleet, server):
    bot = fleet.create_bot("Quiet")
    sid, _ = seed_session(server, bot["id"])
    assert messages(fleet, sid) == []
    s = fleet.ok("GET", f"sessions/{sid}", links=sess_links(sid))
    assert s["message_count"] == 0


@pytest.mark.parametrize("bad", ["not-a-uuid", "1234", "0194f3c0-0000-7000-8000-00000000000",
                                 "0194f3c0-0000-7000-8000-00000000000g",
                                 "0194f3c000007000800000000000000001x"])
def test_invalid_session_uuid(fleet, bad):
    msg = f"Invalid UUID: {bad}"
    fleet.fail("GET", f"sessions/{bad}", None, 400, "VALIDATION_ERROR", msg)
    fleet.fail("GET", f"sessions/{bad}/messages", None, 400, "VALIDATION_ERROR", msg)
    fleet.fail("DELETE", f"sessions/{bad}", None, 400, "VALIDATION_ERROR", msg)
    fleet.fail("POST", f"sessions/{bad}/clear", None, 400, "VALIDATION_ERROR", msg)


def test_unknown_session(fleet):
    for sid in (uuid7(), "0194f3a2-7c1e-4b3a-9d2f-3c4b5a697881"):
        for method, suffix in (("GET", ""), ("GET", "/messages"), ("DELETE", ""),
                               ("POST", "/clear")):
            fleet.fail(method, f"sessions/{sid}{suffix}", None, 404, "SESSION_NOT_FOUND",
                       "Session not found")


def _bot_counters(fleet, bot):
    b = fleet.ok("GET", f"bots/{bot['id']}", links=bot_links(bot["id"], "self", "soul",
                                                             "secrets"))
    return b["conversation_count"], b["total_tokens_used"], b["updated_at"]


def test_clear_keeps_session_and_tokens(fleet, server):
    bot = fleet.create_bot("Clearable")
    with db(server) as con:
        con.execute("UPDATE bots SET conversation_count=3, total_tokens_used=900 WHERE id=?",
                    (bot["id"],))
    sid, mids = seed_session(server, bot["id"], messages=SPEC_MESSAGES, in_tokens=812,
                             out_tokens=11)
    keep, _ = seed_session(server, bot["id"], messages=SPEC_MESSAGES)
    before = _bot_counters(fleet, bot)
    r = fleet.ok("POST", f"sessions/{sid}/clear")
    assert list(r.items()) == [("cleared", True), ("session_id", sid)]
    s = fleet.ok("GET", f"sessions/{sid}", links=sess_links(sid))
    assert (s["message_count"], s["total_input_tokens"], s["total_output_tokens"],
            s["status"]) == (0, 812, 11, "active")
    assert messages(fleet, sid) == []
    assert db_count(server, "SELECT COUNT(*) FROM chat_messages WHERE session_id=?",
                    (sid,)) == 0
    assert len(messages(fleet, keep)) == 2
    assert _bot_counters(fleet, bot) == before
    # clearing again is fine: the session still exists
    assert fleet.ok("POST", f"sessions/{sid}/clear") == {"cleared": True, "session_id": sid}


def test_delete_session(fleet, server):
    bot = fleet.create_bot("Deleter")
    with db(server) as con:
        con.execute("UPDATE bots SET conversation_count=2, total_tokens_used=50 WHERE id=?",
                    (bot["id"],))
    sid, _ = seed_session(server, bot["id"], messages=SPEC_MESSAGES)
    keep, _ = seed_session(server, bot["id"], messages=SPEC_MESSAGES)
    before = _bot_counters(fleet, bot)
    r = fleet.ok("DELETE", f"sessions/{sid}")
    assert list(r.items()) == [("deleted", True)]
    fleet.fail("GET", f"sessions/{sid}", None, 404, "SESSION_NOT_FOUND", "Session not found")
    fleet.fail("GET", f"sessions/{sid}/messages", None, 404, "SESSION_NOT_FOUND",
               "Session not found")
    fleet.fail("DELETE", f"sessions/{sid}", None, 404, "SESSION_NOT_FOUND", "Session not found")
    assert db_count(server, "SELECT COUNT(*) FROM chat_messages WHERE session_id=?",
                    (sid,)) == 0
    assert [s["id"] for s in list_sessions(fleet, bot)] == [keep]
    assert len(messages(fleet, keep)) == 2
    assert _bot_counters(fleet, bot) == before


# ---- stats -----------------------------------------------------------------------------

def stats(fl):
    s = fl.ok("GET", "stats")
    assert list(s) == STATS_KEYS, list(s)
    assert all(isinstance(v, int) and not isinstance(v, bool) for v in s.values()), s
    return s


def test_stats(fresh):
    srv = fresh(args=["--rpg.enabled=false", "--observability.enabled=false",
                      "--documents.enabled=false", "--agents.enabled=false"])
    fl = Fleet(srv)
    assert stats(fl) == dict.fromkeys(STATS_KEYS, 0)
    bots = [fl.create_bot(f"Stat {i}") for i in range(6)]
    for b, status in ((bots[0], "disabled"), (bots[1], "archived"), (bots[2], "archived")):
        fl.ok("PUT", f"bots/{b['id']}", {"status": status}, links=bot_links(b["id"], "self"))
    two = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    seed_session(srv, bots[0]["id"], messages=two)
    seed_session(srv, bots[3]["id"], messages=two + two[:1])
    seed_session(srv, bots[3]["id"], status="completed", messages=two[:1])
    seed_session(srv, bots[4]["id"], status="crashed")
    doomed = seed_session(srv, bots[5]["id"], messages=two)[0]
    assert stats(fl) == {"total_bots": 6, "active_bots": 3, "disabled_bots": 1,
                         "archived_bots": 2, "total_sessions": 5, "active_sessions": 3,
                         "total_messages": 8}
    fl.ok("POST", f"sessions/{doomed}/clear")
    assert stats(fl)["total_messages"] == 6
    fl.ok("DELETE", f"bots/{bots[3]['slug']}")
    assert stats(fl) == {"total_bots": 5, "active_bots": 2, "disabled_bots": 1,
                         "archived_bots": 2, "total_sessions": 3, "active_sessions": 2,
                         "total_messages": 2}
    # no links on /stats
    r = fl.call("GET", "stats")
    assert "_links" not in r.json()
