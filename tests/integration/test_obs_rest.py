"""Observability REST contract (spec/observability.md §1-§5): POST /events,
GET /sessions, GET /events/{id}, PATCH /sessions/{id}/metadata,
DELETE /sessions/{id}, POST /sessions/{id}/stop, with FastAPI-style errors.
The WebSocket /ws (§6) is not covered here."""

import http.client
import json
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import uuid

import pytest

import roostlib
from roostlib import HOST
from roostlib import SLOW, assert_error_shape, check_common, wait_for

FAM = "observability"
SESSION_KEYS = ["session_id", "session_name", "status", "created_at", "modified_at",
                "project_dir", "agent_name"]
EVENT_KEYS = ["id", "session_id", "event_type", "timestamp", "tool_name", "tool_input",
              "tool_output", "error", "exit_code", "reason", "role", "content", "pid"]
OFF6 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")


# ---- helpers ----------------------------------------------------------------------

def sid():
    return str(uuid.uuid4())


def call(server, method, path, body=None, raw=None, headers=None):
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    return server.request(FAM, method, path, body=data, headers=headers)


def ok_json(resp, status=200):
    assert resp.status == status, resp
    assert resp.header("Content-Type") == "application/json", resp
    return resp.json()


def ev(session, event_type="message", ts="2025-11-25T10:00:00.000001+00:00", **kw):
    body = {"event_type": event_type, "session_id": session, "session_name": session,
            "timestamp": ts}
    body.update(kw)
    return body


def post(server, body):
    r = call(server, "POST", "/events", body)
    assert ok_json(r) == {"ok": True}
    assert r.body == b'{"ok":true}'


def start(server, session, ts="2025-11-25T10:00:00.000001+00:00", name=None, **kw):
    b = ev(session, "session_start", ts, **kw)
    if name is not None:
        b["session_name"] = name
    post(server, b)


def sessions(server):
    j = ok_json(call(server, "GET", "/sessions"))
    assert list(j.keys()) == ["sessions"]
    for s in j["sessions"]:
        assert list(s.keys()) == SESSION_KEYS, s
    return j["sessions"]


def session(server, session_id):
    found = [s for s in sessions(server) if s["session_id"] == session_id]
    return found[0] if found else None


def events(server, session_id, query=""):
    j = ok_json(call(server, "GET", f"/events/{urllib.parse.quote(session_id, safe='')}{query}"))
    assert list(j.keys()) == ["events"]
    for e in j["events"]:
        assert list(e.keys()) == EVENT_KEYS, e
    return j["events"]


def detail(resp):
    j = assert_error_shape(FAM, resp, 422)
    assert isinstance(j["detail"], list), j
    return j["detail"]


# ---- POST /events, GET /sessions, GET /events ---------------------------------------

def test_session_start_creates_running_session(server):
    s = sid()
    start(server, s, "2025-11-25T10:00:00.000001+00:00", name="web-research")
    assert session(server, s) == {
        "session_id": s, "session_name": "web-research", "status": "running",
        "created_at": "2025-11-25T10:00:00.000001+00:00",
        "modified_at": "2025-11-25T10:00:00.000001+00:00",
        "project_dir": None, "agent_name": None}


def test_example_event_and_stored_event(server):
    s = sid()
    start(server, s)
    body = {"event_type": "post_tool", "session_id": s, "session_name": s,
            "timestamp": "2025-11-25T10:11:12.123456+00:00", "tool_name": "Bash",
            "tool_input": {"command": "ls"},
            "tool_output": {"stdout": "README.md\n", "stderr": "", "interrupted": False},
            "error": None, "pid": 48211, "unknown_field": [1, 2]}
    post(server, body)
    got = events(server, s)
    assert [e["event_type"] for e in got] == ["session_start", "post_tool"]
    assert got[0]["id"] < got[1]["id"]
    e = got[1]
    assert e == {"id": e["id"], "session_id": s, "event_type": "post_tool",
                 "timestamp": "2025-11-25T10:11:12.123456+00:00", "tool_name": "Bash",
                 "tool_input": {"command": "ls"},
                 "tool_output": {"stdout": "README.md\n", "stderr": "", "interrupted": False},
                 "error": None, "exit_code": None, "reason": None, "role": None,
                 "content": None, "pid": 48211}
    assert isinstance(e["id"], int)
    assert session(server, s)["modified_at"] == "2025-11-25T10:11:12.123456+00:00"


def test_all_fields_round_trip_verbatim(server):
    s = sid()
    start(server, s)
    content = [{"type": "text", "text": "Find three papers on RAG \u00e9\u2028"},
               {"type": "tool_use", "id": "t1", "input": {"q": 1}}]
    post(server, ev(s, "session_stop", "2025-11-25T10:00:05.000000+00:00", exit_code=-2,
                    reason="user \"quit\"\n", role="assistant", content=content,
                    error="boom \\ \u00fc", tool_name="T\u00f6\u00f6l", pid=2147483647))
    e = events(server, s)[-1]
    assert e["exit_code"] == -2
    assert e["reason"] == "user \"quit\"\n"
    assert e["role"] == "assistant"
    assert e["content"] == content
    assert e["error"] == "boom \\ \u00fc"
    assert e["tool_name"] == "T\u00f6\u00f6l"
    assert e["pid"] == 2147483647


@pytest.mark.parametrize("field,value", [
    ("tool_input", {}), ("tool_output", {}), ("tool_output", []), ("tool_output", ""),
    ("tool_output", 0), ("tool_output", 0.0), ("tool_output", False), ("content", []),
])
def test_empty_values_stored_as_null(server, field, value):
    s = sid()
    start(server, s)
    post(server, ev(s, "pre_tool", **{field: value}))
    assert events(server, s)[-1][field] is None


@pytest.mark.parametrize("value", ["x", 1, True, [0], {"a": 1}, -0.5])
def test_tool_output_any_json_kept(server, value):
    s = sid()
    start(server, s)
    post(server, ev(s, "post_tool", tool_output=value))
    assert events(server, s)[-1]["tool_output"] == value


def test_integral_float_accepted_as_integer(server):
    s = sid()
    start(server, s)
    post(server, ev(s, "session_stop", exit_code=3.0, pid=12.0))
    e = events(server, s)[-1]
    assert e["exit_code"] == 3 and e["pid"] == 12


def test_state_machine(server):
    s = sid()
    start(server, s, "2025-11-25T10:00:00.000001+00:00", name="first")
    post(server, ev(s, "session_stop", "2025-11-25T10:00:01.000000+00:00"))
    assert session(server, s)["status"] == "finished"
    post(server, ev(s, "session_stop", "2025-11-25T10:00:02.000000+00:00"))
    assert session(server, s)["status"] == "finished"
    # resume: running again, name and created_at unchanged
    start(server, s, "2025-11-25T10:00:03.000000+00:00", name="second")
    got = session(server, s)
    assert got["status"] == "running"
    assert got["session_name"] == "first"
    assert got["created_at"] == "2025-11-25T10:00:00.000001+00:00"
    assert got["modified_at"] == "2025-11-25T10:00:03.000000+00:00"
    # stopped stays stopped on session_stop, resumes on session_start
    r = call(server, "POST", f"/sessions/{s}/stop")
    assert ok_json(r)["success"] is True
    post(server, ev(s, "session_stop", "2025-11-25T10:00:04.000000+00:00"))
    assert session(server, s)["status"] == "stopped"
    start(server, s, "2025-11-25T10:00:05.000000+00:00")
    assert session(server, s)["status"] == "running"
    # other event types: stored, no status change
    post(server, ev(s, "custom_thing", "2025-11-25T10:00:06.000000+00:00"))
    assert session(server, s)["status"] == "running"
    assert session(server, s)["modified_at"] == "2025-11-25T10:00:06.000000+00:00"


def test_events_without_session_are_stored_but_create_none(server):
    s = sid()
    post(server, ev(s, "pre_tool", tool_name="Read"))
    post(server, ev(s, "session_stop"))
    assert session(server, s) is None
    got = events(server, s)
    assert [e["event_type"] for e in got] == ["pre_tool", "session_stop"]


def test_sessions_order_created_desc_ties_by_creation(server):
    a, b, c, d = sid(), sid(), sid(), sid()
    start(server, a, "2030-01-01T00:00:02.000000+00:00")
    start(server, b, "2030-01-01T00:00:01.000000+00:00")
    start(server, c, "2030-01-01T00:00:02.000000+00:00")
    start(server, d, "2030-01-01T00:00:03.000000+00:00")
    order = [x["session_id"] for x in sessions(server) if x["session_id"] in (a, b, c, d)]
    assert order == [d, c, a, b]


def test_events_order_and_paging(server):
    s = sid()
    stamps = ["2025-01-01T00:00:05", "2025-01-01T00:00:01", "2025-01-01T00:00:03",
              "2025-01-01T00:00:01", "2025-01-01T00:00:04"]
    for i, ts in enumerate(stamps):
        post(server, ev(s, "message", ts, reason=str(i)))
    got = events(server, s)
    assert [e["reason"] for e in got] == ["1", "3", "2", "4", "0"]
    ids = [e["id"] for e in got]
    assert [e["reason"] for e in events(server, s, "?limit=2")] == ["1", "3"]
    assert [e["reason"] for e in events(server, s, "?limit=2&offset=2")] == ["2", "4"]
    assert [e["reason"] for e in events(server, s, "?offset=4")] == ["0"]
    assert events(server, s, "?offset=5") == []
    assert [e["id"] for e in events(server, s, "?limit=1000&offset=0")] == ids
    assert [e["reason"] for e in events(server, s, "?limit=%201%20")] == ["1"]


def test_events_default_limit_100(server):
    s = sid()
    conn = http.client.HTTPConnection(HOST, server.ports[FAM], timeout=10 * SLOW)
    try:
        for i in range(130):
            conn.request("POST", "/events", body=json.dumps(
                ev(s, "message", f"2025-01-01T00:00:{i // 60:02d}.{i:06d}")).encode())
            r = conn.getresponse()
            assert r.status == 200 and r.read() == b'{"ok":true}'
    finally:
        conn.close()
    assert len(events(server, s)) == 100
    assert len(events(server, s, "?limit=1000")) == 130
    assert len(events(server, s, "?offset=100")) == 30


def test_big_events_streamed_across_parts(server):
    """Events larger than a send buffer: each row goes out in windows, the
    row rendered again for each (700 KB each by default; in a build with a
    smaller body slot, as large as it takes)."""
    lim = roostlib.limits()
    s = sid()
    start(server, s)
    blob = "x" * min(700_000, lim["CFG_BODY_SLOT_BYTES"] - 1024)
    assert len(blob) > lim["CFG_BUF_BYTES"]
    for i in range(4):
        post(server, ev(s, "post_tool", f"2025-11-25T10:00:0{i + 1}.000000+00:00",
                        tool_output={"i": i, "blob": blob}))
    r = call(server, "GET", f"/events/{s}")
    assert r.status == 200, r
    got = r.json()["events"]
    assert [e["event_type"] for e in got] == ["session_start"] + ["post_tool"] * 4
    assert [e["tool_output"]["i"] for e in got[1:]] == [0, 1, 2, 3]
    assert all(e["tool_output"]["blob"] == blob for e in got[1:])


def test_events_of_unknown_session_404(server):
    r = call(server, "GET", f"/events/{sid()}")
    assert_error_shape(FAM, r, 404, detail="Session not found")
    assert r.body == b'{"detail":"Session not found"}'


def test_percent_encoded_session_id(server):
    s = "sess/\u00e9 %41?" + sid()
    start(server, s)
    q = urllib.parse.quote(s, safe="")
    assert [e["session_id"] for e in events(server, s)] == [s]
    r = call(server, "PATCH", f"/sessions/{q}/metadata", {"agent_name": "x"})
    assert ok_json(r)["session_id"] == s
    r = call(server, "DELETE", f"/sessions/{q}")
    assert ok_json(r)["session_id"] == s


# ---- 422 --------------------------------------------------------------------------

def test_missing_fields_in_model_order(server):
    body = {"tool_name": "Bash"}
    d = detail(call(server, "POST", "/events", body))
    assert d == [{"type": "missing", "loc": ["body", f], "msg": "Field required", "input": body}
                 for f in ("event_type", "session_id", "session_name", "timestamp")]


@pytest.mark.parametrize("raw", [b"", b"null"])
def test_body_absent(server, raw):
    d = detail(call(server, "POST", "/events", raw=raw))
    assert d == [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]


@pytest.mark.parametrize("raw,offset,reason", [
    (b'{"event_type": ', 15, "Expecting value"),
    (b"{bad", 1, "Expecting property name enclosed in double quotes"),
    (b'{"a":1} x', 8, "Extra data"),
    (b"   ", 3, "Expecting value"),
])
def test_json_invalid(server, raw, offset, reason):
    r = call(server, "POST", "/events", raw=raw)
    d = detail(r)
    assert d == [{"type": "json_invalid", "loc": ["body", offset], "msg": "JSON decode error",
                  "input": {}, "ctx": {"error": reason}}]


def test_top_level_not_object(server):
    d = detail(call(server, "POST", "/events", raw=b"[1]"))
    assert d == [{"type": "model_attributes_type", "loc": ["body"],
                  "msg": "Input should be a valid dictionary or object to extract fields from",
                  "input": [1]}]


def test_type_errors_one_entry_each(server):
    body = {"event_type": None, "session_id": 5, "session_name": "n", "timestamp": 123,
            "tool_name": ["x"], "tool_input": "ls", "tool_output": "anything",
            "error": 1, "exit_code": "x", "reason": {}, "role": False,
            "content": "hi", "pid": 1.5}
    d = detail(call(server, "POST", "/events", body))
    s = "Input should be a valid string"
    assert d == [
        {"type": "string_type", "loc": ["body", "event_type"], "msg": s, "input": None},
        {"type": "string_type", "loc": ["body", "session_id"], "msg": s, "input": 5},
        {"type": "string_type", "loc": ["body", "timestamp"], "msg": s, "input": 123},
        {"type": "string_type", "loc": ["body", "tool_name"], "msg": s, "input": ["x"]},
        {"type": "dict_type", "loc": ["body", "tool_input"],
         "msg": "Input should be a valid dictionary", "input": "ls"},
        {"type": "string_type", "loc": ["body", "error"], "msg": s, "input": 1},
        {"type": "int_type", "loc": ["body", "exit_code"],
         "msg": "Input should be a valid integer", "input": "x"},
        {"type": "string_type", "loc": ["body", "reason"], "msg": s, "input": {}},
        {"type": "string_type", "loc": ["body", "role"], "msg": s, "input": False},
        {"type": "list_type", "loc": ["body", "content"],
         "msg": "Input should be a valid list", "input": "hi"},
        {"type": "int_from_float", "loc": ["body", "pid"],
         "msg": "Input should be a valid integer, got a number with a fractional part",
         "input": 1.5},
    ]


def test_content_items_must_be_objects(server):
    s = sid()
    d = detail(call(server, "POST", "/events",
                    ev(s, content=[{"type": "text", "text": "a"}, "hi", 3])))
    msg = "Input should be a valid dictionary"
    assert d == [{"type": "dict_type", "loc": ["body", "content", 1], "msg": msg, "input": "hi"},
                 {"type": "dict_type", "loc": ["body", "content", 2], "msg": msg, "input": 3}]
    assert call(server, "GET", f"/events/{s}").status == 404   # nothing recorded


@pytest.mark.parametrize("field,limit", [("event_type", 64), ("session_id", 256),
                                         ("session_name", 512), ("timestamp", 64),
                                         ("tool_name", 256)])
def test_string_too_long(server, field, limit):
    s = sid()
    ok = ev(s, **{field: "\u00e9" * limit}) if field != "session_id" else ev("\u00e9" * limit)
    post(server, ok)   # exactly the limit, in characters, is fine
    long = "a" * (limit + 1)
    d = detail(call(server, "POST", "/events", ev(s, **{field: long})))
    assert d == [{"type": "string_too_long", "loc": ["body", field],
                  "msg": f"String should have at most {limit} characters", "input": long,
                  "ctx": {"max_length": limit}}]


def test_session_id_empty(server):
    d = detail(call(server, "POST", "/events", ev("")))
    assert d == [{"type": "string_too_short", "loc": ["body", "session_id"],
                  "msg": "String should have at least 1 character", "input": "",
                  "ctx": {"min_length": 1}}]


@pytest.mark.parametrize("pid,entry", [
    (0, {"type": "greater_than_equal", "msg": "Input should be greater than or equal to 1",
         "ctx": {"ge": 1}}),
    (-5, {"type": "greater_than_equal", "msg": "Input should be greater than or equal to 1",
          "ctx": {"ge": 1}}),
    (2147483648, {"type": "less_than_equal",
                  "msg": "Input should be less than or equal to 2147483647",
                  "ctx": {"le": 2147483647}}),
])
def test_pid_range(server, pid, entry):
    d = detail(call(server, "POST", "/events", ev(sid(), pid=pid)))
    want = {"type": entry["type"], "loc": ["body", "pid"], "msg": entry["msg"], "input": pid,
            "ctx": entry["ctx"]}
    assert d == [want]


@pytest.mark.parametrize("query,entries", [
    ("?limit=ten", [{"type": "int_parsing", "loc": ["query", "limit"],
                     "msg": "Input should be a valid integer, unable to parse string as an "
                            "integer", "input": "ten"}]),
    ("?limit=", [{"type": "int_parsing", "loc": ["query", "limit"],
                  "msg": "Input should be a valid integer, unable to parse string as an "
                         "integer", "input": ""}]),
    ("?offset=-1", [{"type": "greater_than_equal", "loc": ["query", "offset"],
                     "msg": "Input should be greater than or equal to 0", "input": "-1",
                     "ctx": {"ge": 0}}]),
    ("?limit=5000", [{"type": "less_than_equal", "loc": ["query", "limit"],
                      "msg": "Input should be less than or equal to 1000", "input": "5000",
                      "ctx": {"le": 1000}}]),
    ("?limit=0&offset=x", [{"type": "greater_than_equal", "loc": ["query", "limit"],
                            "msg": "Input should be greater than or equal to 1", "input": "0",
                            "ctx": {"ge": 1}},
                           {"type": "int_parsing", "loc": ["query", "offset"],
                            "msg": "Input should be a valid integer, unable to parse string "
                                   "as an integer", "input": "x"}]),
])
def test_events_query_validation(server, query, entries):
    # validation comes first: even an unknown session gets the 422
    assert detail(call(server, "GET", f"/events/{sid()}{query}")) == entries


# ---- PATCH /sessions/{id}/metadata -----------------------------------------------------

def test_patch_metadata(server):
    s = sid()
    start(server, s, name="orig")
    post(server, ev(s, "message", "2025-11-25T10:11:12.123456+00:00"))
    r = call(server, "PATCH", f"/sessions/{s}/metadata",
             {"session_name": "web-research", "project_dir": "/home/me/proj",
              "agent_name": "web-researcher"})
    j = ok_json(r)
    sess = {"session_id": s, "session_name": "web-research", "status": "running",
            "created_at": "2025-11-25T10:00:00.000001+00:00",
            "modified_at": "2025-11-25T10:11:12.123456+00:00",
            "project_dir": "/home/me/proj", "agent_name": "web-researcher"}
    assert list(j.keys()) == ["ok", "session"] + SESSION_KEYS
    assert j == dict(ok=True, session=sess, **sess)
    # null and absent fields are not applied; {} is allowed
    j = ok_json(call(server, "PATCH", f"/sessions/{s}/metadata",
                     {"session_name": None, "agent_name": "other"}))
    assert j["session_name"] == "web-research" and j["agent_name"] == "other"
    assert j["project_dir"] == "/home/me/proj"
    j = ok_json(call(server, "PATCH", f"/sessions/{s}/metadata", {}))
    assert j["session"] == session(server, s)
    assert j["session"]["modified_at"] == "2025-11-25T10:11:12.123456+00:00"


def test_patch_errors(server):
    s = sid()
    r = call(server, "PATCH", f"/sessions/{s}/metadata", {"agent_name": "x"})
    assert_error_shape(FAM, r, 404, detail="Session not found")
    start(server, s)
    long = "p" * 4097
    d = detail(call(server, "PATCH", f"/sessions/{s}/metadata",
                    {"session_name": 5, "project_dir": long}))
    assert d == [{"type": "string_type", "loc": ["body", "session_name"],
                  "msg": "Input should be a valid string", "input": 5},
                 {"type": "string_too_long", "loc": ["body", "project_dir"],
                  "msg": "String should have at most 4096 characters", "input": long,
                  "ctx": {"max_length": 4096}}]
    d = detail(call(server, "PATCH", f"/sessions/{s}/metadata", raw=b""))
    assert d == [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]
    d = detail(call(server, "PATCH", f"/sessions/{s}/metadata", raw=b"{,}"))
    assert d[0]["type"] == "json_invalid" and d[0]["loc"] == ["body", 1]
    ok_json(call(server, "PATCH", f"/sessions/{s}/metadata", {"project_dir": "q" * 4096}))


# ---- DELETE /sessions/{id} ----------------------------------------------------------------

def test_delete_session(server):
    s = sid()
    start(server, s)
    for i in range(3):
        post(server, ev(s, "message", f"2025-11-25T10:00:0{i + 1}.000000+00:00"))
    j = ok_json(call(server, "DELETE", f"/sessions/{s}"))
    assert j == {"ok": True, "session_id": s, "deleted": {"session": True, "events_count": 4}}
    assert session(server, s) is None
    assert_error_shape(FAM, call(server, "GET", f"/events/{s}"), 404, detail="Session not found")
    r = call(server, "DELETE", f"/sessions/{s}")
    assert_error_shape(FAM, r, 404, detail="Session not found")


def test_delete_leaves_orphan_events(server):
    s = sid()
    post(server, ev(s, "pre_tool"))
    assert_error_shape(FAM, call(server, "DELETE", f"/sessions/{s}"), 404,
                       detail="Session not found")
    assert len(events(server, s)) == 1


# ---- POST /sessions/{id}/stop --------------------------------------------------------------

def stop(server, s, body=None):
    return call(server, "POST", f"/sessions/{s}/stop", raw=body)


def test_stop_without_pid(server):
    s = sid()
    start(server, s)
    before = time.time()
    j = ok_json(stop(server, s, b'{"ignored": true}'))
    assert j == {"success": True, "session_id": s,
                 "message": "Session marked as stopped; no process to signal"}
    got = session(server, s)
    assert got["status"] == "stopped"
    assert OFF6.match(got["modified_at"]), got
    import datetime
    when = datetime.datetime.fromisoformat(got["modified_at"]).timestamp()
    assert before - 5 <= when <= time.time() + 5


def test_stop_errors(server):
    assert_error_shape(FAM, stop(server, sid()), 404, detail="Session not found")
    s = sid()
    start(server, s)
    post(server, ev(s, "session_stop"))
    r = stop(server, s)
    assert_error_shape(FAM, r, 409, detail="Session is not running (status: finished)")
    s2 = sid()
    start(server, s2)
    ok_json(stop(server, s2))
    assert_error_shape(FAM, stop(server, s2), 409,
                       detail="Session is not running (status: stopped)")


@pytest.mark.parametrize("which", ["one", "self", "gone"])
def test_stop_unusable_pid(server, which):
    if which == "one":
        pid = 1
    elif which == "self":
        pid = server.proc.pid
    else:
        p = subprocess.Popen(["sleep", "0"])
        p.wait()
        pid = p.pid
    s = sid()
    start(server, s, pid=pid)
    j = ok_json(stop(server, s))
    assert j["message"] == "Session marked as stopped; no process to signal"
    assert server.alive()


def default_sigint():
    """A child that dies of SIGINT even when this run was started in the
    background (a shell's background job ignores SIGINT, and children
    inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_stop_sends_sigint_to_latest_pid(server):
    old = subprocess.Popen(["sleep", "60"], preexec_fn=default_sigint)
    child = subprocess.Popen(["sleep", "60"], preexec_fn=default_sigint)
    try:
        s = sid()
        start(server, s, pid=old.pid)
        post(server, ev(s, "pre_tool", pid=child.pid))
        post(server, ev(s, "post_tool"))   # no pid: the latest one that had one counts
        j = ok_json(stop(server, s))
        assert j == {"success": True, "session_id": s, "message": "Session stopped successfully"}
        assert child.wait(timeout=5 * SLOW) == -signal.SIGINT
        assert old.poll() is None
    finally:
        for p in (old, child):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_stop_sigterm_after_grace(server):
    """A process that ignores SIGINT gets SIGTERM after stop_grace_ms (5 s)."""
    code = ("import signal, time\n"
            "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert child.stdout.readline() == b"ready\n"
        s = sid()
        start(server, s, pid=child.pid)
        t0 = time.monotonic()
        j = ok_json(stop(server, s))
        assert j["message"] == "Session stopped successfully"
        time.sleep(1.0)
        assert child.poll() is None, "SIGINT must be ignored by this child"
        rc = child.wait(timeout=15 * SLOW)
        assert rc == -signal.SIGTERM
        assert time.monotonic() - t0 >= 4.0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


# ---- methods, limits -----------------------------------------------------------------------

@pytest.mark.parametrize("method,path,allow", [
    ("GET", "/events", {"POST"}),
    ("POST", "/sessions", {"GET", "HEAD"}),
    ("GET", "/sessions/x/stop", {"POST"}),
    ("PUT", "/sessions/x/metadata", {"PATCH"}),
    ("GET", "/sessions/x", {"DELETE"}),
])
def test_wrong_method(server, method, path, allow):
    r = call(server, method, path, raw=b"")
    assert_error_shape(FAM, r, 405, detail="Method Not Allowed")
    assert {m.strip() for m in r.header("Allow").split(",")} == allow


def test_head_sessions(server):
    r = server.request(FAM, "HEAD", "/sessions")
    assert r.status == 200 and r.body == b""


def test_hook_body_limit(fresh):
    srv = fresh(args=["--max_hook_body_bytes=2000", "--max_json_body_bytes=100"])
    s = sid()
    big = ev(s, "message", reason="r" * 1500)   # over the JSON limit, under the hook limit
    r = srv.request(FAM, "POST", "/events", body=json.dumps(big).encode())
    assert r.status == 200, r
    bigger = ev(s, "message", reason="r" * 2100)
    r = srv.request(FAM, "POST", "/events", body=json.dumps(bigger).encode())
    assert_error_shape(FAM, r, 413, detail="Request body too large")
    # PATCH follows max_json_body_bytes
    r = srv.request(FAM, "PATCH", f"/sessions/{s}/metadata",
                    body=json.dumps({"project_dir": "p" * 200}).encode())
    assert_error_shape(FAM, r, 413, detail="Request body too large")


def test_persisted_across_restart(fresh):
    srv = fresh()
    s = sid()
    start_body = ev(s, "session_start")
    assert srv.request(FAM, "POST", "/events", body=json.dumps(start_body).encode()).status == 200
    srv.stop()
    srv.start()
    r = srv.request(FAM, "GET", "/sessions")
    check_common(r)
    assert [x["session_id"] for x in r.json()["sessions"]] == [s]
    r = srv.request(FAM, "GET", f"/events/{s}")
    assert len(r.json()["events"]) == 1
    wait_for(srv.alive, 1, what="server alive")


def test_huge_integers(server):
    big = 10 ** 30
    d = detail(call(server, "POST", "/events",
                    raw=json.dumps(ev(sid(), exit_code=big, pid=big)).encode()))
    assert d == [{"type": "int_type", "loc": ["body", "exit_code"],
                  "msg": "Input should be a valid integer", "input": big},
                 {"type": "less_than_equal", "loc": ["body", "pid"],
                  "msg": "Input should be less than or equal to 2147483647", "input": big,
                  "ctx": {"le": 2147483647}}]
