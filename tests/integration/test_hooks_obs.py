"""Decision 9, the observability side (spec/hooks.md §4-§8): a Claude Code
hook posted to rpg's POST /event is also recorded as observability events,
checked through observability's own REST (GET /sessions, GET
/events/{id}) and its /ws.

The walk-through of §8; every row of the §4.2 table (and the scripts'
defaults for absent fields); the implicit start of §4.3 (first contact,
after a session_stop, never for a stopped session); the prompt rule; the
Stop transcript message of §5 (string and array content, the directory
check against links and `..`, missing, not JSON, too long, not a regular
file, the last-line rule); the pid of §6; duplicates, a hook without a pane
and a body that is not an object (§7); POST /events' validation applied to
the hooks' events. The server runs with HOME set to a temporary home, so
the default observability.transcript_dirs, ~/.claude/projects, is checked
with its `~` expanded.
"""

import datetime
import json
import os
import re
import time
import urllib.parse
import uuid

import pytest

import roostlib
from roostlib import IO_TIMEOUT, assert_error_shape, readable
from wslib import OP_TEXT, WS

NEEDS = {"rpg", "observability"}
OBS = "observability"
RECEIVED = {"success": True, "data": {"received": True}, "ok": True}
KEYS = ["event_type", "session_id", "session_name", "timestamp", "tool_name", "tool_input",
        "tool_output", "error", "exit_code", "reason", "role", "content", "pid"]
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
MIB = 1024 * 1024
# The render scratch that reads a transcript's final 1 MiB (hooks.c: the
# session id, the tail, the reserve below it).
BIG_LINE_SCRATCH = 1032 + MIB + 2 + 16384


# ---- fixtures and helpers ---------------------------------------------------------

@pytest.fixture(scope="module")
def srv(roostd, tmp_path_factory):
    """One roostd for the module, HOME a temporary home: the transcripts
    live in its ~/.claude/projects (the default transcript_dirs)."""
    base = tmp_path_factory.mktemp("hooks")
    home = base / "home"
    tdir = home / ".claude" / "projects"
    tdir.mkdir(parents=True)
    outside = base / "outside"
    outside.mkdir()
    s = roostlib.Server(base / "srv", env={"HOME": str(home)})
    s.start()
    s.tdir = str(tdir)
    s.outside = str(outside)
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def _srv_alive(request):
    yield
    if "srv" in request.fixturenames:
        s = request.getfixturevalue("srv")
        if not s.alive():
            pytest.fail(f"roostd died during this test\n{s.logs()}")


def sid():
    return str(uuid.uuid4())


def q(s):
    return urllib.parse.quote(s, safe="")


def hook(s, body):
    """POST the hook to rpg; rpg answers received whatever observability does."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = s.request("rpg", "POST", "/event", body=data,
                  headers={"Content-Type": "application/json"})
    assert r.status == 200 and r.json() == RECEIVED, r
    return r


def events(s, session):
    """The stored events of the session (GET /events), [] when none."""
    r = s.request(OBS, "GET", f"/events/{q(session)}?limit=1000")
    if r.status == 404:
        return []
    assert r.status == 200, r
    return r.json()["events"]


def types(s, session):
    return [e["event_type"] for e in events(s, session)]


def session_of(s, session):
    r = s.request(OBS, "GET", "/sessions")
    assert r.status == 200, r
    found = [x for x in r.json()["sessions"] if x["session_id"] == session]
    assert len(found) <= 1, found
    return found[0] if found else None


def data(event_type, session, ts, **kw):
    """The `data` of an event message: 13 keys, null unless given."""
    d = {k: None for k in KEYS}
    d.update(event_type=event_type, session_id=session, session_name=session, timestamp=ts)
    d.update(kw)
    return d


def stored(d):
    """What GET /events returns for a recorded data (empty values -> null),
    without its id and session_name."""
    out = {k: v for k, v in d.items() if k != "session_name"}
    for k in ("tool_input", "tool_output", "content"):
        if out[k] in ({}, [], "", 0, False):
            out[k] = None
    return out


def strip_ids(evs):
    out = []
    for e in evs:
        assert isinstance(e.pop("id"), int)
        out.append(e)
    return out


def check_ts(ts, before, after):
    assert TS.match(ts), ts
    t = datetime.datetime.fromisoformat(ts)
    assert before - datetime.timedelta(seconds=1) <= t <= after + datetime.timedelta(seconds=1), \
        (ts, before, after)


class Watch:
    """A /ws client that collects the `event` messages of one session."""

    def __init__(self, s, session):
        self.ws = WS(s.ports[OBS])
        self.session = session

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.ws.close()

    def next(self, timeout=IO_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"/ws: no event of {self.session}"
            m = self.ws.recv_message(timeout=left)
            assert m.opcode == OP_TEXT, m
            j = m.json()
            if j.get("type") == "event" and j["data"]["session_id"] == self.session:
                assert list(j["data"].keys()) == KEYS, j
                return j["data"]

    def take(self, n):
        return [self.next() for _ in range(n)]

    def quiet(self, seconds=0.3):
        """No event of the session arrives for a while (a marker event of
        another session is what the tests use to be sure)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not self.ws.raw.buf and not readable(self.ws.sock, end - time.monotonic()):
                continue
            m = self.ws.recv_message()
            if m.opcode == OP_TEXT:
                j = m.json()
                assert not (j.get("type") == "event" and
                            j["data"]["session_id"] == self.session), j


def now():
    return roostlib.now_utc()


def prompt(session, text="hello", **kw):
    b = {"session_id": session, "hook_event_name": "UserPromptSubmit", "prompt": text}
    b.update(kw)
    return b


def pre(session, **kw):
    b = {"session_id": session, "hook_event_name": "PreToolUse", "tool_name": "Read",
         "tool_input": {"file_path": "/x"}, "tool_use_id": "toolu_" + uuid.uuid4().hex}
    b.update(kw)
    return b


def stop(session, **kw):
    b = {"session_id": session, "hook_event_name": "Stop", "stop_hook_active": False}
    b.update(kw)
    return b


def transcript(s, name, lines, raw=None, where=None):
    """A transcript file under the transcript directory (or where): the
    JSON lines joined by newlines, with a final newline; raw: the bytes."""
    path = os.path.join(where or s.tdir, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    body = raw if raw is not None else \
        ("\n".join(json.dumps(x) for x in lines) + "\n").encode()
    with open(path, "wb") as f:
        f.write(body)
    return path


def assistant(content):
    return {"type": "assistant", "uuid": str(uuid.uuid4()),
            "message": {"role": "assistant", "model": "claude", "content": content}}


def stop_message(s, path_or_value, session=None):
    """Post a Stop with that transcript_path; the events it recorded."""
    session = session or sid()
    hook(s, stop(session, transcript_path=path_or_value))
    return session, events(s, session)


# ---- §8 walk-through ---------------------------------------------------------------

def test_walkthrough(srv):
    """hooks.md §8, observability side: four hooks of a first contact, then
    a later prompt of the same session; /ws and GET /events agree."""
    s = "5f1e6a3c-9a77-4b2e-8f9d-" + uuid.uuid4().hex[:12]
    tpath = transcript(srv, f"-home-me-proj/{s}.jsonl", [
        {"type": "user", "message": {"role": "user", "content": "Run the tests"}},
        assistant([{"type": "text", "text": "All 12 tests pass."}]),
    ])
    common = {"session_id": s, "transcript_path": tpath, "cwd": "/home/me/proj",
              "permission_mode": "default", "tmuxTarget": "work:1.0", "paneId": "%3",
              "timestamp": 1738300000000}
    with Watch(srv, s) as w:
        before = now()
        hook(srv, dict(common, hook_event_name="UserPromptSubmit", hookType="UserPromptSubmit",
                       prompt="Run the tests"))
        start, msg = w.take(2)
        ts1 = start["timestamp"]
        assert start == data("session_start", s, ts1)
        assert msg == data("message", s, ts1, role="user",
                           content=[{"type": "text", "text": "Run the tests"}])
        assert session_of(srv, s)["status"] == "running"
        assert session_of(srv, s)["created_at"] == ts1

        hook(srv, dict(common, hook_event_name="PreToolUse", hookType="PreToolUse",
                       tool_name="Bash",
                       tool_input={"command": "npm test", "description": "Run the test suite"},
                       tool_use_id="toolu_01AbCdEfGh"))
        p = w.next()
        assert p == data("pre_tool", s, p["timestamp"], tool_name="Bash",
                         tool_input={"command": "npm test", "description": "Run the test suite"})

        resp = {"stdout": "12 passing", "stderr": "", "interrupted": False}
        hook(srv, dict(common, hook_event_name="PostToolUse", tool_name="Bash",
                       tool_input={"command": "npm test"}, tool_response=resp,
                       tool_use_id="toolu_01AbCdEfGh"))
        po = w.next()
        assert po == data("post_tool", s, po["timestamp"], tool_name="Bash",
                          tool_input={"command": "npm test"}, tool_output=resp)

        hook(srv, dict(common, hook_event_name="Stop", stop_hook_active=False))
        st, last = w.take(2)
        assert st == data("session_stop", s, st["timestamp"])
        assert last == data("message", s, st["timestamp"], role="assistant",
                            content=[{"type": "text", "text": "All 12 tests pass."}])
        assert session_of(srv, s)["status"] == "finished"
        walk = [start, msg, p, po, st, last]

        # a later prompt finds the session finished: started again first
        hook(srv, dict(common, hook_event_name="UserPromptSubmit", prompt="And lint"))
        again, msg2 = w.take(2)
        assert again == data("session_start", s, again["timestamp"])
        assert msg2["event_type"] == "message" and msg2["timestamp"] == again["timestamp"]
        after = now()
    sess = session_of(srv, s)
    assert sess["status"] == "running"
    assert sess["created_at"] == ts1, "a restart keeps created_at"
    assert sess["modified_at"] == again["timestamp"]
    for d in walk + [again, msg2]:
        check_ts(d["timestamp"], before, after)
    got = strip_ids(events(srv, s))
    assert got == [stored(d) for d in walk + [again, msg2]]


# ---- §4.2: every row ----------------------------------------------------------------

def test_session_start_row(srv):
    s = sid()
    before = now()
    with Watch(srv, s) as w:
        hook(srv, {"session_id": s, "hook_event_name": "SessionStart", "source": "startup"})
        d = w.next()
    assert d == data("session_start", s, d["timestamp"])
    check_ts(d["timestamp"], before, now())
    sess = session_of(srv, s)
    assert sess["status"] == "running" and sess["session_name"] == s
    assert sess["created_at"] == d["timestamp"]
    assert strip_ids(events(srv, s)) == [stored(d)]


def test_pre_tool_row(srv):
    s = sid()
    hook(srv, {"session_id": s, "hook_event_name": "SessionStart"})
    with Watch(srv, s) as w:
        hook(srv, pre(s, tool_name="Grep", tool_input={"pattern": "x", "n": [1, 2]}))
        d = w.next()
    assert d == data("pre_tool", s, d["timestamp"], tool_name="Grep",
                     tool_input={"pattern": "x", "n": [1, 2]})
    assert strip_ids(events(srv, s))[1:] == [stored(d)]


def test_pre_tool_defaults(srv):
    """The scripts' .get defaults: tool_name "unknown", tool_input {} (sent
    as {}, stored as null like any empty value). (An explicit null is not
    checked here: rpg hands it over as an absent field.)"""
    s = sid()
    hook(srv, {"session_id": s, "hook_event_name": "SessionStart"})
    with Watch(srv, s) as w:
        hook(srv, {"session_id": s, "hook_event_name": "PreToolUse"})
        d = w.next()
    assert d == data("pre_tool", s, d["timestamp"], tool_name="unknown", tool_input={})
    got = strip_ids(events(srv, s))[1:]
    assert got == [stored(d)]
    assert got[0]["tool_input"] is None


def test_post_tool_row(srv):
    s = sid()
    hook(srv, {"session_id": s, "hook_event_name": "SessionStart"})
    with Watch(srv, s) as w:
        hook(srv, {"session_id": s, "hook_event_name": "PostToolUse", "tool_name": "Read",
                   "tool_input": {"file_path": "/a"}, "tool_response": "file text",
                   "tool_use_id": "t1", "error": "permission denied"})
        d1 = w.next()
        hook(srv, {"session_id": s, "hook_event_name": "PostToolUse", "tool_use_id": "t2"})
        d2 = w.next()
        hook(srv, {"session_id": s, "hook_event_name": "PostToolUse", "tool_name": "Bash",
                   "tool_input": {}, "tool_response": [1, {"a": None}], "tool_use_id": "t3",
                   "success": False, "output": "ignored"})
        d3 = w.next()
    assert d1 == data("post_tool", s, d1["timestamp"], tool_name="Read",
                      tool_input={"file_path": "/a"}, tool_output="file text",
                      error="permission denied")
    # absent: tool_name "unknown", tool_input {}, tool_output "", error null
    assert d2 == data("post_tool", s, d2["timestamp"], tool_name="unknown", tool_input={},
                      tool_output="")
    assert d3 == data("post_tool", s, d3["timestamp"], tool_name="Bash", tool_input={},
                      tool_output=[1, {"a": None}])
    got = strip_ids(events(srv, s))[1:]
    assert got == [stored(d1), stored(d2), stored(d3)]
    assert got[1]["tool_output"] is None and got[1]["tool_input"] is None


@pytest.mark.parametrize("name", ["UserPromptSubmit", "user_prompt", "USER_PROMPT_SUBMIT"])
def test_prompt_row(srv, name):
    s = sid()
    hook(srv, {"session_id": s, "hook_event_name": "SessionStart"})
    text = "Fix \"it\" \\ now\n\u00e9\u2028 \U0001F600"
    with Watch(srv, s) as w:
        hook(srv, {"session_id": s, "hook_event_name": name, "prompt": text})
        d = w.next()
    assert d == data("message", s, d["timestamp"], role="user",
                     content=[{"type": "text", "text": text}])
    assert strip_ids(events(srv, s))[1:] == [stored(d)]


def test_prompt_not_a_string(srv):
    """The scripts put whatever prompt is into text (the content stays an
    array of objects, so the backend takes it)."""
    s = sid()
    hook(srv, prompt(s, {"parts": ["a", 1]}))
    assert events(srv, s)[1]["content"] == [{"type": "text", "text": {"parts": ["a", 1]}}]


@pytest.mark.parametrize("body", [
    {},
    {"prompt": ""},
    {"prompt": None},
    {"prompt": 0},
    {"prompt": []},
], ids=["absent", "empty", "null", "zero", "empty-list"])
def test_prompt_absent_or_empty(srv, body):
    """Nothing is recorded, not even an implicit start."""
    s = sid()
    b = {"session_id": s, "hook_event_name": "UserPromptSubmit"}
    b.update(body)
    hook(srv, b)
    hook(srv, pre(s))   # a marker after it: the first event of the session
    assert types(srv, s) == ["session_start", "pre_tool"]


def test_stop_row(srv):
    """session_stop with no exit_code and no reason; no transcript_path, no
    message."""
    s = sid()
    hook(srv, {"session_id": s, "hook_event_name": "SessionStart"})
    with Watch(srv, s) as w:
        hook(srv, stop(s, exit_code=3, reason="done"))
        d = w.next()
    assert d == data("session_stop", s, d["timestamp"])
    assert types(srv, s) == ["session_start", "session_stop"]
    assert session_of(srv, s)["status"] == "finished"


@pytest.mark.parametrize("name", ["Notification", "SubagentStop", "SessionEnd", "PreCompact",
                                  "SomethingNew", ""])
def test_other_types_record_nothing(srv, name):
    s = sid()
    hook(srv, {"session_id": s, "hook_event_name": name, "message": "m", "reason": "r",
               "trigger": "auto", "prompt": "p", "tool_name": "Read"})
    assert events(srv, s) == []
    assert session_of(srv, s) is None


def test_type_and_session_aliases(srv):
    """The type from hookType (rpg.md §5 step 1), the session from sessionId."""
    s = sid()
    hook(srv, {"sessionId": s, "hookType": "PreToolUse", "tool_name": "Read"})
    assert types(srv, s) == ["session_start", "pre_tool"]


def test_session_id_absent_is_unknown(srv):
    tag = uuid.uuid4().hex
    hook(srv, {"hook_event_name": "PreToolUse", "tool_name": "Read", "tool_input": {"tag": tag}})
    evs = events(srv, "unknown")
    assert [e for e in evs if (e["tool_input"] or {}).get("tag") == tag], evs
    sess = session_of(srv, "unknown")
    assert sess["session_name"] == "unknown"


# ---- §4.3 implicit start -------------------------------------------------------------

def test_implicit_start_first_contact(srv):
    s = sid()
    with Watch(srv, s) as w:
        hook(srv, pre(s, tool_name="Bash"))
        a, b = w.take(2)
    assert a == data("session_start", s, b["timestamp"])
    assert b["event_type"] == "pre_tool"
    sess = session_of(srv, s)
    assert sess["status"] == "running" and sess["created_at"] == a["timestamp"]
    assert sess["session_name"] == s


def test_implicit_start_after_finished(srv):
    s = sid()
    hook(srv, pre(s))
    first = session_of(srv, s)["created_at"]
    hook(srv, stop(s))
    assert session_of(srv, s)["status"] == "finished"
    hook(srv, pre(s))     # finished -> started again first
    hook(srv, pre(s))     # running: no second start
    hook(srv, {"session_id": s, "hook_event_name": "PostToolUse", "tool_use_id": "x"})
    assert types(srv, s) == ["session_start", "pre_tool", "session_stop", "session_start",
                             "pre_tool", "pre_tool", "post_tool"]
    sess = session_of(srv, s)
    assert sess["status"] == "running" and sess["created_at"] == first


def test_no_implicit_restart_of_stopped(srv):
    s = sid()
    hook(srv, pre(s))
    r = srv.request(OBS, "POST", f"/sessions/{q(s)}/stop")
    assert r.status == 200, r
    hook(srv, pre(s))
    hook(srv, prompt(s))
    hook(srv, stop(s))   # a final Stop keeps it stopped
    assert types(srv, s) == ["session_start", "pre_tool", "pre_tool", "message", "session_stop"]
    assert session_of(srv, s)["status"] == "stopped"
    # only an explicit SessionStart restarts it
    hook(srv, {"session_id": s, "hook_event_name": "SessionStart", "source": "resume"})
    assert session_of(srv, s)["status"] == "running"


def test_stop_and_start_do_not_start_implicitly(srv):
    """A Stop of a session never seen records its session_stop (stored,
    broadcast) and creates no session; an explicit SessionStart of a running
    session is recorded once."""
    s = sid()
    hook(srv, stop(s))
    assert types(srv, s) == ["session_stop"]
    assert session_of(srv, s) is None
    hook(srv, {"session_id": s, "hook_event_name": "SessionStart"})
    hook(srv, {"session_id": s, "hook_event_name": "SessionStart"})
    assert types(srv, s) == ["session_stop", "session_start", "session_start"]


# ---- §5 the Stop transcript message -------------------------------------------------

def test_transcript_string_content(srv):
    text = "Done: \"quoted\", \\ and\nnewline \u00e9 \U0001F600"
    path = transcript(srv, "p1/t.jsonl", [{"type": "user", "message": {"role": "user",
                                                                       "content": "hi"}},
                                          assistant(text)])
    s, evs = stop_message(srv, path)
    assert [e["event_type"] for e in evs] == ["session_stop", "message"]
    m = evs[1]
    assert m["role"] == "assistant"
    assert m["content"] == [{"type": "text", "text": text}]
    assert m["timestamp"] == evs[0]["timestamp"]


def test_transcript_array_content(srv):
    content = [{"type": "text", "text": "a"},
               {"type": "tool_use", "id": "toolu_1", "name": "Bash",
                "input": {"command": "ls", "deep": {"x": [1, 2, {"y": None}]}}}]
    path = transcript(srv, "p1/arr.jsonl", [assistant(content)])
    with Watch(srv, "") as w:
        s = sid()
        w.session = s
        hook(srv, stop(s, transcript_path=path))
        st, m = w.take(2)
    assert m == data("message", s, st["timestamp"], role="assistant", content=content)
    assert events(srv, s)[1]["content"] == content


def test_transcript_array_keeps_object_items(srv):
    content = ["loose text", {"type": "text", "text": "kept"}, 3, None,
               {"type": "text", "text": "also"}, [1]]
    path = transcript(srv, "p1/mixed.jsonl", [assistant(content)])
    s, evs = stop_message(srv, path)
    assert evs[1]["content"] == [{"type": "text", "text": "kept"},
                                 {"type": "text", "text": "also"}]


@pytest.mark.parametrize("entry", [
    {"message": {"role": "assistant", "content": ""}},
    {"message": {"role": "assistant", "content": []}},
    {"message": {"role": "assistant", "content": ["only", "strings"]}},
    {"message": {"role": "assistant"}},
    {"message": {"role": "assistant", "content": {"type": "text"}}},
    {"message": {"role": "assistant", "content": 5}},
    {"message": {"role": "", "content": "x"}},
    {"message": {"role": 1, "content": "x"}},
    {"message": {"content": "x"}},
    {"message": "assistant said x"},
    {"type": "summary", "summary": "no message"},
    ["message"],
], ids=["empty-string", "empty-list", "no-objects", "no-content", "object", "number",
        "empty-role", "role-number", "no-role", "message-string", "no-message", "array"])
def test_transcript_without_a_message(srv, entry):
    path = transcript(srv, f"p2/{uuid.uuid4().hex}.jsonl", [assistant("earlier"), entry])
    s, evs = stop_message(srv, path)
    assert [e["event_type"] for e in evs] == ["session_stop"]


def test_transcript_last_line_rule(srv):
    """As readlines()[-1] and tail -n 1: the final newline ends the last
    line; without it the last line is what follows the last newline; a file
    ending in an empty line has nothing to record."""
    a = json.dumps(assistant("first")).encode()
    b = json.dumps(assistant("second")).encode()
    cases = [(a + b"\n" + b + b"\n", "second"),
             (a + b"\n" + b, "second"),
             (b, "second"),
             (b + b"\r\n", "second"),
             (a + b"\n" + b + b"\n\n", None),
             (a + b"\n\n", None),
             (b"", None),
             (b"\n", None)]
    for body, want in cases:
        path = transcript(srv, f"p3/{uuid.uuid4().hex}.jsonl", None, raw=body)
        s, evs = stop_message(srv, path)
        got = [e["content"][0]["text"] for e in evs if e["event_type"] == "message"]
        assert got == ([want] if want else []), body


@pytest.mark.parametrize("raw", [b"not json\n", b'{"message": {"role": "assistant", '
                                                b'"content": "cut\n',
                                 b'{"message": {"role": "assistant", "content": "x"}} extra\n',
                                 b"\xff\xfe\n"],
                         ids=["text", "cut", "extra", "not-utf8"])
def test_transcript_not_json(srv, raw):
    path = transcript(srv, f"p4/{uuid.uuid4().hex}.jsonl", None,
                      raw=json.dumps(assistant("before")).encode() + b"\n" + raw)
    s, evs = stop_message(srv, path)
    assert [e["event_type"] for e in evs] == ["session_stop"]


def test_transcript_outside_dirs(srv):
    path = transcript(srv, "t.jsonl", [assistant("secret")], where=srv.outside)
    s, evs = stop_message(srv, path)
    assert [e["event_type"] for e in evs] == ["session_stop"]
    # the directory itself, and a sibling whose name starts like it
    sib = srv.tdir + "-evil"
    path2 = transcript(srv, "t.jsonl", [assistant("secret")], where=sib)
    s, evs = stop_message(srv, path2)
    assert [e["event_type"] for e in evs] == ["session_stop"]
    s, evs = stop_message(srv, srv.tdir)
    assert [e["event_type"] for e in evs] == ["session_stop"]


def test_transcript_symlinks(srv):
    """A link inside the directory to a file outside is refused; a link
    that stays inside is followed; a link to a directory outside too."""
    out = transcript(srv, "escape.jsonl", [assistant("secret")], where=srv.outside)
    link = os.path.join(srv.tdir, "p5", "escape.jsonl")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(out, link)
    s, evs = stop_message(srv, link)
    assert [e["event_type"] for e in evs] == ["session_stop"]

    dlink = os.path.join(srv.tdir, "p5", "outdir")
    os.symlink(srv.outside, dlink)
    s, evs = stop_message(srv, os.path.join(dlink, "escape.jsonl"))
    assert [e["event_type"] for e in evs] == ["session_stop"]

    inside = transcript(srv, "p5/real.jsonl", [assistant("fine")])
    ilink = os.path.join(srv.tdir, "p5", "alias.jsonl")
    os.symlink(os.path.relpath(inside, os.path.dirname(ilink)), ilink)
    s, evs = stop_message(srv, ilink)
    assert [e["event_type"] for e in evs] == ["session_stop", "message"]
    assert evs[1]["content"] == [{"type": "text", "text": "fine"}]


def test_transcript_dotdot(srv):
    transcript(srv, "t2.jsonl", [assistant("secret")], where=srv.outside)
    rel = os.path.relpath(srv.outside, srv.tdir)
    s, evs = stop_message(srv, os.path.join(srv.tdir, rel, "t2.jsonl"))
    assert [e["event_type"] for e in evs] == ["session_stop"]
    # `..` that stays inside is fine
    transcript(srv, "p6/ok.jsonl", [assistant("ok")])
    s, evs = stop_message(srv, os.path.join(srv.tdir, "p6", "..", "p6", ".", "ok.jsonl"))
    assert [e["event_type"] for e in evs] == ["session_stop", "message"]


@pytest.mark.parametrize("value", ["relative/t.jsonl", "", 42, None, {"p": 1},
                                   "/no/such/dir/t.jsonl"],
                         ids=["relative", "empty", "number", "null", "object", "missing-dir"])
def test_transcript_path_unusable(srv, value):
    s, evs = stop_message(srv, value)
    assert [e["event_type"] for e in evs] == ["session_stop"]


def test_transcript_missing_file(srv):
    s, evs = stop_message(srv, os.path.join(srv.tdir, "p7", "gone.jsonl"))
    assert [e["event_type"] for e in evs] == ["session_stop"]


def test_transcript_not_regular(srv):
    """A FIFO (nobody writes it: opening it must not block roost) and a
    directory are skipped."""
    fifo = os.path.join(srv.tdir, "p8", "fifo.jsonl")
    os.makedirs(os.path.dirname(fifo), exist_ok=True)
    os.mkfifo(fifo)
    s, evs = stop_message(srv, fifo)
    assert [e["event_type"] for e in evs] == ["session_stop"]
    d = os.path.join(srv.tdir, "p8", "dir.jsonl")
    os.makedirs(d)
    s, evs = stop_message(srv, d)
    assert [e["event_type"] for e in evs] == ["session_stop"]
    assert srv.request(OBS, "GET", "/health").status == 200


def test_transcript_unreadable(srv):
    if os.geteuid() == 0:
        # root reads any file: the same check with a file that vanished
        # between the Stop hooks instead
        path = transcript(srv, "p9/vanish.jsonl", [assistant("x")])
        os.unlink(path)
    else:
        path = transcript(srv, "p9/locked.jsonl", [assistant("x")])
        os.chmod(path, 0)
    s, evs = stop_message(srv, path)
    assert [e["event_type"] for e in evs] == ["session_stop"]


@pytest.mark.needs_limit(CFG_RENDER_BYTES=BIG_LINE_SCRATCH)
def test_transcript_long_line_read(srv):
    """A last line of nearly 1 MiB (a large tool result beside a short
    message) is read whole, behind a longer earlier line."""
    line = json.dumps({"toolUseResult": "r" * (MIB - 200),
                       "message": {"role": "assistant", "content": "short"}}).encode()
    assert MIB - 200 < len(line) <= MIB
    raw = json.dumps(assistant("x" * (2 * MIB))).encode() + b"\n" + line + b"\n"
    path = transcript(srv, "p10/big.jsonl", None, raw=raw)
    s, evs = stop_message(srv, path)
    assert [e["event_type"] for e in evs] == ["session_stop", "message"]
    assert evs[1]["content"] == [{"type": "text", "text": "short"}]


def test_transcript_line_over_1mib(srv):
    """A last line longer than 1 MiB is skipped (only the final 1 MiB is
    read)."""
    line = {"toolUseResult": "r" * (MIB + 100),
            "message": {"role": "assistant", "content": "short"}}
    raw = json.dumps(assistant("earlier")).encode() + b"\n" + json.dumps(line).encode() + b"\n"
    path = transcript(srv, "p10/huge.jsonl", None, raw=raw)
    s, evs = stop_message(srv, path)
    assert [e["event_type"] for e in evs] == ["session_stop"]


@pytest.mark.needs_limit(CFG_RENDER_BYTES=BIG_LINE_SCRATCH)
def test_transcript_large_content(srv):
    """A message of about 300 KiB: built as [{"type":"text",...}] and still
    recorded and broadcast."""
    text = "t" * (300 * 1024)
    path = transcript(srv, "p10/largemsg.jsonl", [assistant(text)])
    with Watch(srv, "") as w:
        s = sid()
        w.session = s
        hook(srv, stop(s, transcript_path=path))
        st, m = w.take(2)
    assert m["content"] == [{"type": "text", "text": text}]
    assert events(srv, s)[1]["content"] == [{"type": "text", "text": text}]


# ---- §6 pid -------------------------------------------------------------------------------

def test_pid_copied_into_every_event(srv):
    s = sid()
    path = transcript(srv, "p11/t.jsonl", [assistant("bye")])
    hook(srv, pre(s, pid=4242))
    hook(srv, stop(s, pid=4243, transcript_path=path))
    hook(srv, prompt(s, pid=2147483647))
    evs = events(srv, s)
    assert [(e["event_type"], e["pid"]) for e in evs] == [
        ("session_start", 4242), ("pre_tool", 4242), ("session_stop", 4243),
        ("message", 4243), ("session_start", 2147483647), ("message", 2147483647)]


@pytest.mark.parametrize("pid", [0, -1, 2147483648, 1.5, "77", True, None])
def test_pid_not_usable_is_null(srv, pid):
    s = sid()
    hook(srv, pre(s, pid=pid))
    assert [e["pid"] for e in events(srv, s)] == [None, None]


# ---- §7 duplicates, panes, bodies -----------------------------------------------------

def test_duplicates_ignored_for_both(srv):
    s = sid()
    body = pre(s, tool_use_id="toolu_dup", paneId="%3")
    with Watch(srv, s) as w:
        hook(srv, body)
        hook(srv, body)                       # a retried POST
        hook(srv, dict(body, hook_event_name="PostToolUse"))   # another type: kept
        got = w.take(3)
        w.quiet()
    assert [d["event_type"] for d in got] == ["session_start", "pre_tool", "post_tool"]
    assert types(srv, s) == ["session_start", "pre_tool", "post_tool"]
    # without a tool_use_id nothing is a duplicate
    hook(srv, prompt(s, "same"))
    hook(srv, prompt(s, "same"))
    assert types(srv, s)[-2:] == ["message", "message"]


@pytest.mark.parametrize("pane", [{}, {"paneId": "%999999"}, {"tmuxTarget": "nosuch:9.9"},
                                  {"paneId": None}], ids=["none", "unknown", "target", "null"])
def test_hook_without_a_pane_is_recorded(srv, pane):
    s = sid()
    hook(srv, pre(s, **pane))
    assert types(srv, s) == ["session_start", "pre_tool"]


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"42", b"null", b"not json", b"",
                                  b'{"session_id": "x"', b'{"a":1} {"b":2}'],
                         ids=["array", "string", "number", "null", "text", "empty", "cut",
                              "two"])
def test_not_an_object_recorded_nowhere(srv, body):
    marker = sid()
    before = srv.request(OBS, "GET", "/sessions").json()["sessions"]
    with Watch(srv, marker) as w:
        r = srv.request("rpg", "POST", "/event", body=body,
                        headers={"Content-Type": "application/json"})
        assert_error_shape("rpg", r, 400, code="INVALID_JSON")
        hook(srv, pre(marker))
        while True:   # the first event broadcast after the bad body is the marker's
            j = w.ws.recv_json()
            if j.get("type") == "event":
                break
    assert j["data"]["session_id"] == marker and j["data"]["event_type"] == "session_start", j
    after = srv.request(OBS, "GET", "/sessions").json()["sessions"]
    assert [x for x in after if x["session_id"] != marker] == before


# ---- POST /events' validation, applied to the hooks' events ------------------------------

@pytest.mark.parametrize("kw", [
    {"session_id": ""},
    {"session_id": "s" * 257},
    {"session_id": 12},
    {"tool_name": "t" * 257},
    {"tool_name": 5},
    {"tool_input": "ls"},
    {"tool_input": [1]},
], ids=["sid-empty", "sid-long", "sid-number", "tool-long", "tool-number",
        "input-string", "input-array"])
def test_invalid_fields_not_recorded(srv, kw):
    """What POST /events would refuse is not recorded (no implicit start
    either), logged and counted; rpg's answer does not change."""
    s = kw["session_id"] if isinstance(kw.get("session_id"), str) else sid()
    body = pre(s)
    body.update(kw)
    warned = srv.stderr().count("hook: pre_tool event of session")
    hook(srv, body)
    if s:
        assert events(srv, s) == []
        assert session_of(srv, s) is None
    roostlib.wait_for(lambda: srv.stderr().count("hook: pre_tool event of session") > warned,
                      IO_TIMEOUT, what="the warning")
    assert "not recorded" in srv.stderr().splitlines()[-1]


def test_invalid_error_not_recorded(srv):
    s = sid()
    hook(srv, {"session_id": s, "hook_event_name": "PostToolUse", "error": {"code": 1}})
    assert events(srv, s) == []
    hook(srv, {"session_id": s, "hook_event_name": "PostToolUse", "error": None})
    assert types(srv, s) == ["session_start", "post_tool"]


def test_limits_at_the_edge_recorded(srv):
    s = "\u00e9" * 256          # 256 characters, 512 bytes
    hook(srv, pre(s, tool_name="\U0001F600" * 256))
    evs = events(srv, s)
    assert [e["event_type"] for e in evs] == ["session_start", "pre_tool"]
    assert evs[1]["tool_name"] == "\U0001F600" * 256
    assert session_of(srv, s)["session_name"] == s


def test_hooks_and_post_events_mix(srv):
    """Hook events and POST /events of the same session interleave in the
    order they were posted (each hook's events are committed before rpg
    answers)."""
    s = sid()
    ts = "2020-01-01T00:00:00.000000+00:00"
    post = {"event_type": "pre_tool", "session_id": s, "session_name": s, "timestamp": ts,
            "tool_name": "Own"}
    r = srv.request(OBS, "POST", "/events", body=json.dumps(post).encode(),
                    headers={"Content-Type": "application/json"})
    assert r.status == 200, r
    hook(srv, pre(s))
    # the POSTed event created no session: the hook starts it implicitly
    assert types(srv, s) == ["pre_tool", "session_start", "pre_tool"]


# ---- observability.transcript_dirs -------------------------------------------------------

def test_transcript_dirs_list(fresh, tmp_path):
    """A list of two directories, one through a symlinked path; `~` with
    HOME; a file in neither is refused."""
    a = tmp_path / "a"
    b = tmp_path / "b"
    home = tmp_path / "home"
    for d in (a, b, home / "t"):
        d.mkdir(parents=True)
    blink = tmp_path / "blink"
    os.symlink(b, blink)
    s = fresh(args=[f"--observability.transcript_dirs={a}, {blink} ,~/t"],
              env={"HOME": str(home)})
    line = (json.dumps(assistant("ok")) + "\n").encode()
    for where, ok in ((a, True), (b, True), (home / "t", True), (tmp_path, False),
                      (home, False)):
        p = where / "x.jsonl"
        p.write_bytes(line)
        session = sid()
        hook(s, stop(session, transcript_path=str(p)))
        assert types(s, session) == (["session_stop", "message"] if ok else ["session_stop"]), \
            where
    # a directory made after the start counts (each is resolved at use)
    c = tmp_path / "late"
    s.stop()
    s2 = fresh(args=[f"--observability.transcript_dirs={c}"])
    c.mkdir()
    (c / "x.jsonl").write_bytes(line)
    session = sid()
    hook(s2, stop(session, transcript_path=str(c / "x.jsonl")))
    assert types(s2, session) == ["session_stop", "message"]


def test_transcript_dirs_home_unset(roostd, tmp_path):
    """Without HOME a `~` entry is left out (and said so at start)."""
    s = roostlib.Server(tmp_path / "srv")
    s.env.pop("HOME", None)
    s.start()
    try:
        assert "HOME is not set" in s.stderr()
        session = sid()
        hook(s, stop(session, transcript_path="/tmp/x.jsonl"))
        assert types(s, session) == ["session_stop"]
    finally:
        s.stop()
