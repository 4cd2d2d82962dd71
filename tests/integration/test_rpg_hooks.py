"""POST /event and the pane status it drives (spec rpg.md §4.2, §5, §6, §3.4
linking, §9.2 pane_update and event messages, §10 bus events; hooks.md §2-§3
field names).

Every test works on Claude panes of its own: windows of a private tmux
server running the fake claude (rpglib), whose quiet screen (banner and
`> ` prompts) does not override the status that hooks set. The status is
observed twice: in GET /api/windows (process.claudeSession) and in the
`pane_update` messages of a /ws client. Something that must NOT happen (a
duplicate, an ignored type) is checked by order: a later hook's effect
arrives and the ignored one's never came before it.
"""

import re
import uuid

import pytest

import rpglib
import roostlib
from roostlib import RPG_TS
from rpglib import (CAPTURE_TIMEOUT, Client, call, enc, fail, find_pane,
                    get_state, ok, post_event, session_of, wait_claude, wait_pane,
                    wait_status)

NEEDS = {"rpg"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# The module's tmux server and roostd, each test's windows cleaned after it (rpglib).
tmux, rpg = rpglib.tmux, rpglib.rpg
_clean_tmux, _rpg_still_running = rpglib.clean_tmux, rpglib.rpg_still_running


@pytest.fixture
def ws(rpg):
    c = Client(rpg)
    yield c
    c.close()


def sid():
    return str(uuid.uuid4())


def tuid():
    return "toolu_" + uuid.uuid4().hex[:20]


def claude_pane(rpg, tmux, **kw):
    """A fresh window running the fake claude, known to roostd as an idle
    Claude pane; its pane id."""
    _, pid = tmux.new_claude_window(**kw)
    wait_claude(rpg, pid, lambda cs: cs["status"] == "idle")
    return pid


def hook(kind, pane=None, session=None, field="hook_event_name", **kw):
    """A hook body as Claude Code and the rpg hook script send it."""
    b = {field: kind, "session_id": session or SESSION, "cwd": "/tmp",
         "transcript_path": "/nonexistent/transcript.jsonl", "permission_mode": "default"}
    if pane is not None:
        b["paneId"] = pane
    b.update(kw)
    return b


SESSION = sid()


def pre(pane, tool="Read", session=None, tool_use_id=None, **kw):
    return hook("PreToolUse", pane, session, tool_name=tool,
                tool_input=kw.pop("tool_input", {"file_path": "/tmp/x"}),
                tool_use_id=tool_use_id or tuid(), **kw)


def post(pane, tool="Read", session=None, tool_use_id=None, **kw):
    return hook("PostToolUse", pane, session, tool_name=tool,
                tool_input=kw.pop("tool_input", {"file_path": "/tmp/x"}),
                tool_use_id=tool_use_id or tuid(), **kw)


def status_of(rpg, pane):
    return session_of(find_pane(get_state(rpg), pane))["status"]


def wait_update(ws, pane, status, what=None):
    """The pane_update of pane with this status (§6.1, §9.2)."""
    m = ws.wait_type("pane_update", lambda m: m.get("paneId") == pane
                     and (m.get("session") or {}).get("status") == status,
                     what or f"pane_update {pane} -> {status}")
    check_pane_update(m, pane)
    return m


def drive(rpg, ws, pane, body, status):
    """Post a hook and wait until the pane's status is `status`, both in the
    pane_update messages and in GET /api/windows; the pane_update."""
    post_event(rpg, body)
    m = wait_update(ws, pane, status)
    cs = wait_status(rpg, pane, status)
    return m, cs


def marker(rpg, ws, pane):
    """A notification hook; returns once its event message arrived (every
    hook posted before it has been processed and broadcast)."""
    tag = "marker-" + uuid.uuid4().hex[:8]
    post_event(rpg, hook("Notification", pane, message=tag))
    n0 = len(ws.log)
    ws.wait_type("event", lambda m: m["payload"].get("eventType") == "hook:notification"
                 and m["payload"].get("paneId") == pane, "the marker notification event")
    return ws.log[n0:]


SESSION_KEYS = {"id", "paneId", "personaId", "projectId", "status", "statusSource",
                "statusChangedAt", "lastActivityAt"}
SESSION_OPTIONAL = {"lastHookUpdateAt", "terminalConfidence", "lastError", "activeSubagents"}


def check_pane_update(m, pane):
    assert set(m) == {"type", "paneId", "session", "payload"}, m.keys()
    s = m["session"]
    assert SESSION_KEYS <= set(s) <= SESSION_KEYS | SESSION_OPTIONAL, s.keys()
    assert s["paneId"] == pane and isinstance(s["id"], str) and s["id"], s
    assert s["status"] in ("idle", "typing", "working", "waiting", "error"), s
    assert s["statusSource"] in ("hook", "terminal", "reconciler"), s
    rpglib.check_ts(s["statusChangedAt"], "statusChangedAt")
    rpglib.check_ts(s["lastActivityAt"], "lastActivityAt")
    assert s["personaId"] is None or isinstance(s["personaId"], str), s
    assert s["projectId"] is None or isinstance(s["projectId"], str), s
    if "lastHookUpdateAt" in s:
        assert isinstance(s["lastHookUpdateAt"], int), s
    if "terminalConfidence" in s:
        assert 0 <= s["terminalConfidence"] <= 1, s
    p = m["payload"]
    assert p["id"] == pane and "terminalContent" not in p, p.keys()
    assert p["process"]["type"] == "claude", p
    assert p["process"]["claudeSession"]["status"] == s["status"], (p["process"], s)


# ---- §4.2 the response ---------------------------------------------------------------

@pytest.mark.parametrize("body", [
    {},
    {"hook_event_name": "PreToolUse"},
    {"hook_event_name": "SessionStart", "session_id": "x", "source": "startup"},
    {"hook_event_name": "Stop", "paneId": "%999999"},
    {"hookType": "Notification", "tmuxTarget": "nosuch:9.9", "message": "m"},
    {"hook_event_name": "PostToolUse", "session_id": "s", "tool_name": "Bash",
     "tool_response": "plain text", "tool_use_id": "t"},
    {"hook_event_name": "whatever", "extra": {"nested": [1, 2, {"a": None}]}},
])
def test_event_answers_received(rpg, body):
    post_event(rpg, body)


@pytest.mark.parametrize("body", [b"[]", b"[{}]", b"42", b'"Stop"', b"null", b"true",
                                  b"not json", b"{", b""])
def test_event_not_a_json_object_is_invalid_json(rpg, body):
    fail(call(rpg, "POST", "/event", body), 400, "INVALID_JSON")


def test_event_without_a_resolvable_pane_changes_no_pane(rpg, tmux, ws):
    pane = claude_pane(rpg, tmux)
    for body in (pre(None), pre("%999999"), hook("PreToolUse", None, tmuxTarget="nosuch:9.9"),
                 hook("PreToolUse", None, tmux_target="main:99999.0")):
        post_event(rpg, body)
    marker(rpg, ws, pane)
    assert status_of(rpg, pane) == "idle"
    assert not [m for m in ws.log if m["type"] == "pane_update" and m["paneId"] == pane]


# ---- §5 step 1: the type -------------------------------------------------------------

@pytest.mark.parametrize("field", ["hook_event_name", "hookType", "hook_type", "event_type",
                                   "eventType"])
def test_type_field_aliases(rpg, tmux, ws, field):
    pane = claude_pane(rpg, tmux)
    drive(rpg, ws, pane, hook("PreToolUse", pane, field=field, tool_name="Read",
                              tool_use_id=tuid()), "working")
    drive(rpg, ws, pane, hook("Stop", pane, field=field), "idle")


@pytest.mark.parametrize("value,status,norm", [
    ("PreToolUse", "working", "pre_tool_use"),
    ("pre_tool_use", "working", "pre_tool_use"),
    ("PRE_TOOL_USE", "working", "pre_tool_use"),
    ("preToolUse", "working", "pre_tool_use"),
    ("UserPromptSubmit", "typing", "user_prompt_submit"),
    ("user_prompt", "typing", "user_prompt"),
    ("UserPrompt", "typing", "user_prompt"),
])
def test_type_normalisation(rpg, tmux, ws, value, status, norm):
    pane = claude_pane(rpg, tmux)
    n0 = len(ws.log)
    drive(rpg, ws, pane, hook(value, pane, tool_name="Read", tool_use_id=tuid(),
                              prompt="hello"), status)
    marker(rpg, ws, pane)
    ev = [m["payload"] for m in ws.log[n0:] if m["type"] == "event"
          and m["payload"].get("paneId") == pane
          and m["payload"]["eventType"].startswith("hook:")]
    want = "hook:pre_tool_use" if status == "working" else "hook:user_prompt"
    assert [e["eventType"] for e in ev] == [want, "hook:notification"], ev
    if norm in ("pre_tool_use", "user_prompt_submit"):
        assert ev[0]["type"] == norm, ev


def test_first_non_empty_type_field_wins(rpg, tmux, ws):
    pane = claude_pane(rpg, tmux)
    drive(rpg, ws, pane, {"hook_event_name": "", "hookType": "PreToolUse",
                          "hook_type": "Stop", "paneId": pane, "session_id": SESSION,
                          "tool_name": "Read", "tool_use_id": tuid()}, "working")
    drive(rpg, ws, pane, {"hook_event_name": "Stop", "hookType": "UserPromptSubmit",
                          "paneId": pane, "session_id": SESSION}, "idle")


def test_unknown_types_are_ignored(rpg, tmux, ws):
    pane = claude_pane(rpg, tmux)
    n0 = len(ws.log)
    for kind in ("SessionStart", "SubagentStop", "PreCompact", "SessionEnd", "bogus"):
        post_event(rpg, hook(kind, pane))
    post_event(rpg, {"paneId": pane, "session_id": SESSION})     # no type: unknown
    marker(rpg, ws, pane)
    events = [m["payload"] for m in ws.log[n0:] if m["type"] == "event"
              and m["payload"].get("paneId") == pane]
    assert [e["eventType"] for e in events] == ["hook:notification"], events
    assert not [m for m in ws.log[n0:] if m["type"] == "pane_update" and m["paneId"] == pane]
    assert status_of(rpg, pane) == "idle"


# ---- §5 step 2: the pane ---------------------------------------------------------------

def target_of(tmux, pane):
    p = tmux.pane(pane)
    return f"{p['session']}:{p['windowIndex']}.{p['index']}"


@pytest.mark.parametrize("how", ["paneId", "pane_id", "tmuxTarget", "tmux_target"])
def test_pane_by_id_or_target(rpg, tmux, ws, how):
    pane = claude_pane(rpg, tmux)
    ref = pane if how in ("paneId", "pane_id") else target_of(tmux, pane)
    body = hook("PreToolUse", None, tool_name="Read", tool_use_id=tuid(), **{how: ref})
    drive(rpg, ws, pane, body, "working")


def test_pane_id_wins_over_target(rpg, tmux, ws):
    a = claude_pane(rpg, tmux)
    b = claude_pane(rpg, tmux)
    body = hook("PreToolUse", a, tool_name="Read", tool_use_id=tuid(),
                tmuxTarget=target_of(tmux, b))
    drive(rpg, ws, a, body, "working")
    assert status_of(rpg, b) == "idle"


def test_target_of_a_second_pane_in_a_window(rpg, tmux, ws):
    wid, first = tmux.new_claude_window()
    second = tmux.split(wid, [tmux.claude])
    tmux.wait_text(second, "Welcome to Claude Code")
    wait_claude(rpg, second, lambda cs: cs["status"] == "idle")
    wait_claude(rpg, first, lambda cs: cs["status"] == "idle")
    t = target_of(tmux, second)
    assert t.endswith(".1"), t
    drive(rpg, ws, second, hook("UserPromptSubmit", None, prompt="p", tmuxTarget=t), "typing")
    assert status_of(rpg, first) == "idle"


# ---- §5 step 3: duplicates ---------------------------------------------------------------

def hook_events(msgs, pane):
    return [m["payload"]["eventType"] for m in msgs if m["type"] == "event"
            and m["payload"].get("paneId") == pane
            and m["payload"]["eventType"].startswith("hook:")]


def test_duplicate_tool_use_id_is_ignored(rpg, tmux, ws):
    pane = claude_pane(rpg, tmux)
    s, t = sid(), tuid()
    drive(rpg, ws, pane, pre(pane, session=s, tool_use_id=t), "working")
    drive(rpg, ws, pane, hook("Stop", pane, s), "idle")
    n0 = len(ws.log)
    post_event(rpg, pre(pane, session=s, tool_use_id=t))     # the same again
    alias = pre(pane, session=s, tool_use_id=t)
    alias["toolUseId"] = alias.pop("tool_use_id")               # the alias, same id
    post_event(rpg, alias)
    marker(rpg, ws, pane)
    assert hook_events(ws.log[n0:], pane) == ["hook:notification"], ws.log[n0:]
    assert status_of(rpg, pane) == "idle"
    # The key is <type>:<session>:<tool_use_id>: another session or another
    # type with the same tool_use_id is processed.
    drive(rpg, ws, pane, pre(pane, session=sid(), tool_use_id=t), "working")
    marker(rpg, ws, pane)               # its event message is in (it follows the pane_update)
    n1 = len(ws.log)
    post_event(rpg, post(pane, session=s, tool_use_id=t))
    marker(rpg, ws, pane)
    assert hook_events(ws.log[n1:], pane) == ["hook:post_tool_use", "hook:notification"]


def test_no_dedup_without_a_tool_use_id(rpg, tmux, ws):
    pane = claude_pane(rpg, tmux)
    s = sid()
    n0 = len(ws.log)
    for _ in range(2):
        post_event(rpg, hook("UserPromptSubmit", pane, s, prompt="same prompt"))
        post_event(rpg, hook("PreToolUse", pane, s, tool_name="Read"))
    marker(rpg, ws, pane)
    assert hook_events(ws.log[n0:], pane) == ["hook:user_prompt", "hook:pre_tool_use",
                                              "hook:user_prompt", "hook:pre_tool_use",
                                              "hook:notification"], ws.log[n0:]


# ---- §5, §6: status from hooks ----------------------------------------------------------

def test_status_transitions_from_hooks(rpg, tmux, ws):
    pane = claude_pane(rpg, tmux)
    s = sid()
    m, cs = drive(rpg, ws, pane, pre(pane, "Bash", s, tool_input={"command": "ls"}), "working")
    assert m["session"]["statusSource"] == "hook" and "lastError" not in cs
    # working -> typing is outside the table, and still applied (§6.1).
    drive(rpg, ws, pane, hook("UserPromptSubmit", pane, s, prompt="next"), "typing")
    t = tuid()
    drive(rpg, ws, pane, pre(pane, "Bash", s, t, tool_input={"command": "ls"}), "working")
    m, cs = drive(rpg, ws, pane, post(pane, "Bash", s, t, tool_input={"command": "ls"},
                                      success=False, output="boom: it broke"), "error")
    le = m["session"]["lastError"]
    assert le["tool"] == "Bash" and le["message"] == "boom: it broke", le
    assert le["errorClass"] == "transient" and isinstance(le["timestamp"], int), le
    assert cs["lastError"]["tool"] == "Bash" and cs["lastError"]["message"] == "boom: it broke"
    assert isinstance(cs["lastError"]["timestamp"], int), cs
    m, cs = drive(rpg, ws, pane, hook("Stop", pane, s), "idle")
    assert "lastError" not in m["session"] and "lastError" not in cs, (m["session"], cs)
    # A successful post_tool_use leaves the status as it is.
    drive(rpg, ws, pane, pre(pane, "Read", s), "working")
    post_event(rpg, post(pane, "Read", s, success=True, error="ignored: success is a bool"))
    marker(rpg, ws, pane)
    assert status_of(rpg, pane) == "working"


def test_hooks_set_last_hook_update_at(rpg, tmux, ws):
    """§6.2: each hook sets lastHookUpdateAt (ms), seen in the pane
    session of the pane_update the hook causes."""
    pane = claude_pane(rpg, tmux)
    t0 = rpglib.now_ms()
    m, _ = drive(rpg, ws, pane, pre(pane), "working")
    at = m["session"].get("lastHookUpdateAt")
    assert isinstance(at, int) and t0 - 2000 <= at <= rpglib.now_ms() + 2000, m["session"]
    m, _ = drive(rpg, ws, pane, hook("Stop", pane), "idle")
    assert isinstance(m["session"].get("lastHookUpdateAt"), int), m["session"]
    assert m["session"]["lastHookUpdateAt"] >= at, m["session"]


@pytest.mark.parametrize("tool,fields,message,cls", [
    ("Read", {"success": False, "output": "Rate limit exceeded"}, "Rate limit exceeded",
     "actionable"),
    ("Bash", {"error": "failed", "output": "npm test: exit code 1"}, "npm test: exit code 1",
     "expected"),
    ("WebFetch", {"tool_response": {"is_error": True, "error": "socket hang up"}},
     "socket hang up", "transient"),
    ("Bash", {"tool_response": {"stdout": "partial", "stderr": "Access denied for user",
                                "is_error": True}},
     "partial\nAccess denied for user", "actionable"),
    ("Bash", {"success": False, "tool_response": "eslint found 3 problems"},
     "eslint found 3 problems", "expected"),
    ("Edit", {"success": False, "output": "git conflict in file"}, "git conflict in file",
     "transient"),
])
def test_tool_failure_error_and_its_class(rpg, tmux, ws, tool, fields, message, cls):
    pane = claude_pane(rpg, tmux)
    m, cs = drive(rpg, ws, pane, post(pane, tool, tool_input={"command": "x"}, **fields),
                  "error")
    le = m["session"]["lastError"]
    assert (le["tool"], le["message"], le["errorClass"]) == (tool, message, cls), le
    assert cs["lastError"]["message"] == message, cs


@pytest.mark.parametrize("fields", [
    {"error": ""},
    {"tool_response": {"is_error": False, "stdout": "fine"}},
    {"success": True, "error": "not a failure: success is a boolean"},
    {"tool_response": "Error: but as plain output"},
])
def test_tool_success_derivation(rpg, tmux, ws, fields):
    pane = claude_pane(rpg, tmux)
    drive(rpg, ws, pane, pre(pane, "Bash"), "working")
    post_event(rpg, post(pane, "Bash", tool_input={"command": "true"}, **fields))
    marker(rpg, ws, pane)
    cs = session_of(find_pane(get_state(rpg), pane))
    assert cs["status"] == "working" and "lastError" not in cs, cs


def test_prompt_and_pre_tool_clear_the_error(rpg, tmux, ws):
    pane = claude_pane(rpg, tmux)
    drive(rpg, ws, pane, post(pane, success=False, output="x failed"), "error")
    m, cs = drive(rpg, ws, pane, pre(pane), "working")
    assert "lastError" not in m["session"] and "lastError" not in cs
    drive(rpg, ws, pane, post(pane, success=False, output="y failed"), "error")
    m, cs = drive(rpg, ws, pane, hook("UserPromptSubmit", pane, prompt="retry"), "typing")
    assert "lastError" not in m["session"] and "lastError" not in cs


# ---- §6.2-§6.4: status from the terminal, dismiss -------------------------------------

def test_permission_prompt_is_waiting_and_dismiss_makes_it_idle(rpg, tmux, ws):
    pane = claude_pane(rpg, tmux)
    tmux.type_line(pane, "/allow")
    tmux.wait_text(pane, "Allow Bash command (Bash)")
    m = wait_update(ws, pane, "waiting")
    assert m["session"]["statusSource"] == "terminal", m["session"]
    assert wait_status(rpg, pane, "waiting")
    d = ok(call(rpg, "POST", f"/api/panes/{enc(pane)}/dismiss"))
    assert d == {"dismissed": True}, d
    m = wait_update(ws, pane, "idle")
    assert m["session"]["statusSource"] == "hook", m["session"]
    assert status_of(rpg, pane) == "idle"


def test_permission_prompt_while_working_is_waiting(rpg, tmux, ws):
    pane = claude_pane(rpg, tmux)
    drive(rpg, ws, pane, pre(pane, "Bash"), "working")
    tmux.type_line(pane, "/allow")
    m = wait_update(ws, pane, "waiting")
    assert m["session"]["statusSource"] == "terminal", m["session"]
    wait_status(rpg, pane, "waiting")


def test_error_line_is_error(rpg, tmux, ws):
    pane = claude_pane(rpg, tmux)
    tmux.type_line(pane, "/error")
    tmux.wait_text(pane, "Error: Command failed")
    m = wait_update(ws, pane, "error")
    assert m["session"]["statusSource"] == "terminal", m["session"]
    wait_status(rpg, pane, "error")


def test_claude_started_with_a_permission_prompt_is_waiting(rpg, tmux, ws):
    _, pane = tmux.new_claude_window(args=["--allow"])
    wait_status(rpg, pane, "waiting")


# ---- §3.4 linking --------------------------------------------------------------------

def test_linking_placeholder_then_hook_session(rpg, tmux, ws):
    pane = claude_pane(rpg, tmux)
    cs = session_of(find_pane(get_state(rpg), pane))
    assert cs["id"] == f"pane-{pane}", cs
    s1 = sid()
    m, cs = drive(rpg, ws, pane, hook("UserPromptSubmit", pane, s1, prompt="hi"), "typing")
    assert cs["id"] == s1, cs
    assert UUID.match(m["session"]["id"]), m["session"]
    s2 = sid()
    m, cs = drive(rpg, ws, pane, hook("Stop", pane, s2), "idle")
    assert cs["id"] == s2, cs
    m, cs = drive(rpg, ws, pane, pre(pane, session=s1), "working")
    assert cs["id"] == s1, cs


def test_pane_first_seen_links_the_persona_of_its_last_hook(rpg, tmux, ws):
    _, pane = tmux.new_shell_window()
    wait_pane(rpg, pane, lambda p: p["process"]["type"] == "shell")
    s = sid()
    post_event(rpg, hook("UserPromptSubmit", pane, s, prompt="before claude"))
    post_event(rpg, pre(pane, session=s))
    tmux.type_line(pane, "claude")
    tmux.wait_text(pane, "Welcome to Claude Code")
    p = wait_claude(rpg, pane)
    cs = session_of(p)
    assert cs["id"] == s, cs


def test_linked_session_avatar(rpg, tmux, ws):
    """After a hook the pane shows the hook's session: its id, and the
    avatar of that session id (§4.9). (Persona names, §8.6, and personaId
    come with the personas, the family's part 2.)"""
    pane = claude_pane(rpg, tmux)
    s = sid()
    _, cs = drive(rpg, ws, pane, hook("UserPromptSubmit", pane, s, prompt="hi"), "typing")
    assert cs["id"] == s, cs
    assert cs.get("avatarSvg") == rpglib.avatar_url(s), cs


# ---- §5: sub-agents --------------------------------------------------------------------

def test_task_sub_agents(rpg, tmux, ws):
    pane = claude_pane(rpg, tmux)
    t1 = tuid()
    before = rpglib.now_ms()
    m, _ = drive(rpg, ws, pane, pre(pane, "Task", tool_use_id=t1,
                                    tool_input={"description": "Explore the repo",
                                                "prompt": "look around"}), "working")
    subs = m["session"].get("activeSubagents")
    assert isinstance(subs, list) and len(subs) == 1, m["session"]
    assert subs[0]["id"] == t1 and subs[0]["description"] == "Explore the repo", subs
    assert isinstance(subs[0]["startedAt"], int) and subs[0]["startedAt"] >= before - 2000
    # post_tool_use of that Task removes it (seen on the next status change).
    post_event(rpg, post(pane, "Task", tool_use_id=t1, tool_input={"description": "x"},
                         tool_response="done"))
    m, _ = drive(rpg, ws, pane, hook("UserPromptSubmit", pane, prompt="more"), "typing")
    assert not m["session"].get("activeSubagents"), m["session"]
    # A prompt keeps a running sub-agent; stop clears them all.
    t2, t3 = tuid(), tuid()
    drive(rpg, ws, pane, pre(pane, "Task", tool_use_id=t2, tool_input={"description": "A"}),
          "working")
    post_event(rpg, pre(pane, "Task", tool_use_id=t3, tool_input={"description": "B"}))
    m, _ = drive(rpg, ws, pane, hook("UserPromptSubmit", pane, prompt="p"), "typing")
    ids = sorted(x["id"] for x in m["session"].get("activeSubagents") or [])
    assert ids == sorted([t2, t3]), m["session"]
    m, _ = drive(rpg, ws, pane, hook("Stop", pane), "idle")
    assert not m["session"].get("activeSubagents"), m["session"]


# ---- §9.2, §10: bus events on /ws ---------------------------------------------------------

def check_event(m):
    assert set(m) == {"type", "payload"} and m["type"] == "event", m
    p = m["payload"]
    assert {"eventType", "timestamp", "type"} <= set(p) <= {"eventType", "paneId",
                                                            "timestamp", "type"}, p
    assert RPG_TS.match(p["timestamp"]), p
    return p


def test_hook_bus_events(rpg, tmux, ws):
    pane = claude_pane(rpg, tmux)
    s = sid()
    t = tuid()
    n0 = len(ws.log)
    for body in (hook("UserPromptSubmit", pane, s, prompt="go"), pre(pane, "Bash", s, t),
                 post(pane, "Bash", s, t, tool_response={"stdout": "ok", "stderr": ""}),
                 hook("Stop", pane, s)):
        post_event(rpg, body)
    marker(rpg, ws, pane)
    evs = [check_event(m) for m in ws.log[n0:] if m["type"] == "event"]
    hooks = [(e["eventType"], e["type"]) for e in evs if e["eventType"].startswith("hook:")]
    assert hooks == [("hook:user_prompt", "user_prompt_submit"),
                     ("hook:pre_tool_use", "pre_tool_use"),
                     ("hook:post_tool_use", "post_tool_use"),
                     ("hook:stop", "stop"),
                     ("hook:notification", "notification")], hooks
    assert all(e.get("paneId") == pane for e in evs if e["eventType"].startswith("hook:"))
    changes = [e for e in evs if e["eventType"] == "session:status_changed"]
    assert all("paneId" in e for e in changes), changes
    assert [e for e in changes if e["paneId"] == pane], evs
    for e in evs:
        if not e["eventType"].startswith("hook:"):
            assert e["type"] == e["eventType"], e


def test_status_change_publishes_session_status_changed(rpg, tmux, ws):
    pane = claude_pane(rpg, tmux)
    post_event(rpg, pre(pane))
    m = ws.wait_type("event", lambda m: m["payload"]["eventType"] == "session:status_changed"
                     and m["payload"].get("paneId") == pane, "session:status_changed")
    check_event(m)
    wait_update(ws, pane, "working")


def test_two_clients_see_the_same_updates(rpg, tmux, ws):
    pane = claude_pane(rpg, tmux)
    with Client(rpg) as other:
        drive(rpg, ws, pane, pre(pane), "working")
        wait_update(other, pane, "working")
        drive(rpg, ws, pane, hook("Stop", pane), "idle")
        wait_update(other, pane, "idle")


def test_event_effects_survive_a_capture(rpg, tmux, ws):
    """A hook status holds while the pane's quiet output changes (§6.4: a
    low-confidence detection keeps the hook status)."""
    pane = claude_pane(rpg, tmux)
    drive(rpg, ws, pane, pre(pane), "working")
    tmux.type_line(pane, "/say plain words here")
    ws.wait_type("terminal_output", lambda m: m["payload"]["paneId"] == pane
                 and "plain words here" in m["payload"]["content"], "the new output",
                 timeout=CAPTURE_TIMEOUT)
    marker(rpg, ws, pane)
    assert status_of(rpg, pane) == "working"


# ---- hooks.md §6, observability.md §5: stop reaches the linked pane's Claude --------

@pytest.mark.needs("observability")
def test_observability_stop_signals_the_linked_panes_claude(roostd, tmux, tmp_path):
    """A hook names a session and its pane (hooks.md §6): observability's
    stop of that session finds the pane's Claude process through rpg
    (observability.md §5 step 2; the hook carried no pid) and interrupts it
    with SIGINT, which the stand-in prints."""
    _, pane = tmux.new_claude_window()
    tmux.wait_text(pane, "Welcome to Claude Code")
    srv = rpglib.rpg_server(tmp_path / "srv", tmux, start=False)
    srv.extra_args = [a for a in srv.extra_args if not a.startswith("--observability.")]
    srv.ports["observability"] = roostlib.free_ports(1)[0]
    srv.start()
    try:
        wait_claude(srv, pane)
        s = sid()
        post_event(srv, hook("UserPromptSubmit", pane, s, prompt="work on it"))
        r = srv.request("observability", "GET", "/sessions")
        assert any(x["session_id"] == s and x["status"] == "running"
                   for x in r.json()["sessions"]), r
        r = srv.request("observability", "POST", f"/sessions/{s}/stop")
        assert r.status == 200 and r.json()["message"] == "Session stopped successfully", r
        tmux.wait_text(pane, "Interrupted")
    finally:
        srv.stop()
