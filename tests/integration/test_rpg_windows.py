"""The rpg family's tmux endpoints against a real tmux server (spec rpg.md
§1 conventions, §2.1 tmux state, §3.1-§3.2 polling and classification,
§4.1 health, §4.3 windows, §4.4 panes; README §3 auth).

A private tmux server per module (rpglib.Tmux: the fake claude first on its
PATH) and a roostd with only the rpg family watching it every 50 ms. Every
action is checked on the tmux side with tmux's own commands (list-panes,
capture-pane), and on roostd's side through GET /api/windows. Waits are
for conditions, bounded only so that a broken server fails.

The child-process cases use a `tmux` wrapper first on roostd's PATH
(data/tmux_wrapper) that fails, hangs or floods the tmux commands its
control file names: an action whose command fails or hangs answers its
*_FAILED error (the hanging or flooding child killed and reaped), a poll
that hangs keeps the last state, and a full child pool answers 503.
"""

import datetime
import os
import threading
import time

import pytest

import roostlib
import rpglib
import wslib
from roostlib import IO_TIMEOUT, SLOW, RPG_TS, wait_for
from rpglib import (ACTION_TIMEOUT, CAPTURE_TIMEOUT, Client, Tmux, TmuxWrapper, call, enc,
                    fail, find_pane, find_window, get_state, ok, rpg_server, session_of,
                    wait_claude, wait_gone, wait_pane, wait_state)

NEEDS = {"rpg"}


# The module's tmux server and roostd, each test's windows cleaned after it (rpglib).
tmux, rpg = rpglib.tmux, rpglib.rpg
_clean_tmux, _rpg_still_running = rpglib.clean_tmux, rpglib.rpg_still_running


def mkdirs(tmux, rel):
    path = os.path.realpath(os.path.join(tmux.root, rel))
    os.makedirs(path, exist_ok=True)
    return path


def wait_window(srv, wid, pred=lambda w: True, what=None):
    _, w = wait_state(srv, lambda s: (lambda w: w if w is not None and pred(w) else None)(
        find_window(s, wid)), what or f"window {wid} in GET /api/windows")
    return w


# ---- §4.1 health, §1.2 envelope and status codes -----------------------------------

def test_health(rpg):
    r = call(rpg, "GET", "/health")
    assert r.status == 200, r
    assert r.header("Content-Type") == "application/json", r
    j = r.json()
    assert set(j) == {"success", "data", "ok"}, j
    assert j["success"] is True and j["ok"] is True, j
    assert set(j["data"]) == {"status", "timestamp"} and j["data"]["status"] == "healthy", j
    ts = j["data"]["timestamp"]
    assert RPG_TS.match(ts), ts
    when = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    assert abs((when - roostlib.now_utc()).total_seconds()) < 5 + 10 * SLOW, ts


@pytest.mark.parametrize("method,path", [
    ("GET", "/api/nope"),
    ("POST", "/api/nope"),
    ("DELETE", "/api/windows"),
    ("PUT", "/api/windows/create"),
    ("GET", "/api/windows/create"),
    ("POST", "/api/windows"),
    ("GET", "/api/panes/x/prompt"),
    ("PATCH", "/event"),
    ("GET", "/event"),
])
def test_unmatched_route_is_404_with_its_message(rpg, method, path):
    r = call(rpg, method, path)
    fail(r, 404, "NOT_FOUND", f"Route not found: {method} {path}")


def test_spa_of_web_dir(roostd, tmux, tmp_path):
    """rpg.web_dir (README §6.5, as fleet's): files, index.html for a path
    that names nothing, and the API never shadowed by it."""
    web = tmp_path / "web"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html><title>rpg</title>")
    (web / "assets" / "app.js").write_text("console.log('rpg')")
    srv = rpg_server(tmp_path / "srv", tmux, args=[f"--rpg.web_dir={web}"])
    try:
        r = call(srv, "GET", "/")
        assert r.status == 200 and b"<title>rpg</title>" in r.body, r
        r = call(srv, "GET", "/assets/app.js")
        assert r.status == 200 and r.body == b"console.log('rpg')", r
        assert "javascript" in (r.header("Content-Type") or ""), r.headers
        r = call(srv, "GET", "/quests/some-id")
        assert r.status == 200 and b"<title>rpg</title>" in r.body, r
        fail(call(srv, "GET", "/api/nope"), 404, "NOT_FOUND", "Route not found: GET /api/nope")
        ok(call(srv, "GET", "/api/windows"))
    finally:
        srv.stop()


def test_path_outside_the_api_without_web_dir_is_404(rpg):
    r = call(rpg, "GET", "/no/such/page")
    fail(r, 404, "NOT_FOUND")


@pytest.mark.parametrize("body", [b"not json", b"[]", b"42", b'"text"', b"null", b"{"])
def test_body_not_a_json_object_is_invalid_json(rpg, tmux, body):
    wid, _ = tmux.new_shell_window(name="badjson")
    wait_window(rpg, wid)
    for path in ("/api/windows/create", f"/api/windows/{enc(wid)}/rename"):
        r = call(rpg, "POST", path, body)
        fail(r, 400, "INVALID_JSON", "Invalid JSON body")
    assert tmux.window(wid)["name"] == "badjson"


def test_empty_body_where_required_is_invalid_json(rpg, tmux):
    wid, pid = tmux.new_shell_window(name="emptybody")
    wait_pane(rpg, pid)
    fail(call(rpg, "POST", f"/api/windows/{enc(wid)}/rename", b""), 400, "INVALID_JSON")
    fail(call(rpg, "POST", f"/api/panes/{enc(pid)}/prompt", b""), 400, "INVALID_JSON")
    fail(call(rpg, "POST", f"/api/panes/{enc(pid)}/signal", b""), 400, "INVALID_JSON")


def test_body_over_the_json_limit_is_413(rpg, tmux):
    _, pid = tmux.new_shell_window()
    wait_pane(rpg, pid)
    big = b'{"prompt":"' + b"a" * (1048576 + 16) + b'"}'
    r = call(rpg, "POST", f"/api/panes/{enc(pid)}/prompt", big, timeout=IO_TIMEOUT * 2)
    fail(r, 413, "PAYLOAD_TOO_LARGE")


def test_routes_without_a_body_ignore_one(rpg, tmux):
    wid, _ = tmux.new_shell_window()
    wait_window(rpg, wid)
    d = ok(call(rpg, "POST", f"/api/windows/{enc(wid)}/new-pane", b"not json at all"))
    assert d["paneId"].startswith("%"), d


# ---- §4.3 windows ------------------------------------------------------------------

def test_create_without_names_goes_to_main(rpg, tmux):
    for body in ({}, {"sessionName": None, "windowName": None}):
        d = ok(call(rpg, "POST", "/api/windows/create", body))
        assert set(d) == {"windowId"}, d
        wid = d["windowId"]
        assert wid.startswith("@") and wid[1:].isdigit(), d
        w = tmux.window(wid)
        assert w is not None and w["session"] == "main", (wid, tmux.windows())
        got = wait_window(rpg, wid)
        assert got["sessionName"] == "main" and got["windowIndex"] == w["index"], got


def test_create_named_window_in_another_session(rpg, tmux):
    tmux.new_session("work")
    d = ok(call(rpg, "POST", "/api/windows/create", {"sessionName": "work", "windowName": "api"}))
    w = tmux.window(d["windowId"])
    assert w == {"id": d["windowId"], "session": "work", "index": w["index"], "name": "api"}, w
    got = wait_window(rpg, d["windowId"])
    assert got["windowName"] == "api" and got["sessionName"] == "work", got


def test_create_in_unknown_session_is_404(rpg, tmux):
    before = len(tmux.windows())
    r = call(rpg, "POST", "/api/windows/create", {"sessionName": "no-such-session"})
    fail(r, 404, "NOT_FOUND", "tmux session not found: no-such-session")
    assert len(tmux.windows()) == before


@pytest.mark.parametrize("body", [{"sessionName": 5}, {"windowName": ["x"]},
                                  {"sessionName": {"a": 1}}, {"windowName": True}])
def test_create_with_wrong_types_is_validation_error(rpg, tmux, body):
    before = len(tmux.windows())
    fail(call(rpg, "POST", "/api/windows/create", body), 400, "VALIDATION_ERROR")
    assert len(tmux.windows()) == before


@pytest.mark.parametrize("name", ["r", "renamed window", "n" * 200, "\u00e9" * 200,
                                  "semi;colon `x` 'q' \"d\" %1"])
def test_rename(rpg, tmux, name):
    wid, _ = tmux.new_shell_window(name="before")
    wait_window(rpg, wid)
    d = ok(call(rpg, "POST", f"/api/windows/{enc(wid)}/rename", {"windowName": name}))
    assert d == {"success": True}, d
    assert tmux.window(wid)["name"] == name
    wait_window(rpg, wid, lambda w: w["windowName"] == name, f"window {wid} renamed")


@pytest.mark.parametrize("body", [{}, {"windowName": ""}, {"windowName": "n" * 201},
                                  {"windowName": None}, {"windowName": 7},
                                  {"windowName": ["a"]}, {"name": "x"}])
def test_rename_validation(rpg, tmux, body):
    wid, _ = tmux.new_shell_window(name="keep")
    wait_window(rpg, wid)
    fail(call(rpg, "POST", f"/api/windows/{enc(wid)}/rename", body), 400, "VALIDATION_ERROR")
    assert tmux.window(wid)["name"] == "keep"


def test_close_window(rpg, tmux):
    wid, pid = tmux.new_shell_window()
    wait_window(rpg, wid)
    d = ok(call(rpg, "POST", f"/api/windows/{enc(wid)}/close"))
    assert d == {"success": True}, d
    assert tmux.window(wid) is None
    wait_gone(rpg, pane_id=pid, window_id=wid)


def test_window_id_unencoded_at_sign_works_too(rpg, tmux):
    """`@` needs no encoding in a path: decoded once, `@7` stays `@7`."""
    wid, _ = tmux.new_shell_window()
    wait_window(rpg, wid)
    ok(call(rpg, "POST", f"/api/windows/{wid}/rename", {"windowName": "plain-at"}))
    assert tmux.window(wid)["name"] == "plain-at"


def test_new_pane(rpg, tmux):
    wid, first = tmux.new_shell_window()
    wait_window(rpg, wid)
    d = ok(call(rpg, "POST", f"/api/windows/{enc(wid)}/new-pane"))
    assert set(d) == {"paneId"}, d
    pid = d["paneId"]
    assert pid.startswith("%") and pid[1:].isdigit(), d
    p = tmux.pane(pid)
    assert p is not None and p["window"] == wid, (pid, tmux.panes())
    w = wait_window(rpg, wid, lambda w: {x["id"] for x in w["panes"]} == {first, pid},
                    f"window {wid} with panes {first} and {pid}")
    tm = {x["id"]: x["index"] for x in tmux.panes()}
    assert [x["id"] for x in w["panes"]] == sorted([first, pid], key=tm.get), w
    assert [x["index"] for x in w["panes"]] == [0, 1], w
    tmux.wait_shell(pid)
    wait_pane(rpg, pid, lambda p: p["process"]["type"] == "shell", f"{pid} as a shell pane")


def test_new_claude_runs_claude_in_the_new_pane(rpg, tmux):
    wid, first = tmux.new_shell_window()
    wait_window(rpg, wid)
    d = ok(call(rpg, "POST", f"/api/windows/{enc(wid)}/new-claude"))
    assert set(d) == {"paneId"}, d
    pid = d["paneId"]
    p = tmux.pane(pid)
    assert p is not None and p["window"] == wid, (pid, tmux.panes())
    tmux.wait_text(pid, "Welcome to Claude Code")
    # The pane is a shell whose child is the fake claude (§3.2).
    kids = tmux.pane_children(pid)
    assert any(open(f"/proc/{k}/comm").read().strip() == "claude" for k in kids), kids
    pane = wait_claude(rpg, pid)
    assert session_of(pane)["id"] == f"pane-{pid}", session_of(pane)
    first_pane = find_pane(get_state(rpg), first)
    assert first_pane["process"]["type"] == "shell" and "claudeSession" not in \
        first_pane["process"], first_pane


@pytest.mark.parametrize("action,body", [("rename", {"windowName": "x"}), ("close", None),
                                         ("new-pane", None), ("new-claude", None)])
@pytest.mark.parametrize("wid", ["@999999", "@", "nosuch", "%0", "999"])
def test_unknown_window_is_404(rpg, tmux, action, body, wid):
    before = (len(tmux.windows()), len(tmux.panes()))
    r = call(rpg, "POST", f"/api/windows/{enc(wid)}/{action}", body)
    fail(r, 404, "NOT_FOUND", "Window not found")
    assert (len(tmux.windows()), len(tmux.panes())) == before


# ---- §4.4 panes --------------------------------------------------------------------

def shell_pane(rpg, tmux, **kw):
    wid, pid = tmux.new_shell_window(**kw)
    wait_pane(rpg, pid)
    return wid, pid


def output_lines(tmux, pid, text):
    """How many lines of the pane are exactly text (command output, not
    the command line that produced it)."""
    return sum(1 for ln in tmux.capture(pid).splitlines() if ln.strip() == text)


def wait_output(tmux, pid, text, count=1):
    wait_for(lambda: output_lines(tmux, pid, text) >= count, 10 * SLOW, interval=0.05,
             what=f"{count} line(s) {text!r} in {pid}: {tmux.capture(pid)[-800:]!r}")


def prompt(rpg, pid, body):
    return call(rpg, "POST", f"/api/panes/{enc(pid)}/prompt", body)


def test_prompt_without_submit_then_with(rpg, tmux):
    _, pid = shell_pane(rpg, tmux)
    d = ok(prompt(rpg, pid, {"prompt": "echo AB", "submit": False}))
    assert d == {"sent": True}, d
    tmux.wait_text(pid, "echo AB")
    # No Enter was sent: what is typed next lands on the same command line.
    tmux.send_text(pid, "CD")
    tmux.send_keys(pid, "Enter")
    wait_output(tmux, pid, "ABCD")
    assert output_lines(tmux, pid, "AB") == 0
    # submit defaults to true: the text runs.
    ok(prompt(rpg, pid, {"prompt": "echo rpg$((40+2))"}))
    wait_output(tmux, pid, "rpg42")
    ok(prompt(rpg, pid, {"prompt": "echo nul$((5+5))", "submit": None,
                         "isPermissionResponse": "whatever"}))
    wait_output(tmux, pid, "nul10")


def test_prompt_empty_with_submit_sends_just_enter(rpg, tmux):
    _, pid = shell_pane(rpg, tmux)
    tmux.send_text(pid, "echo EMPTY$((1+1))")
    tmux.wait_text(pid, "echo EMPTY$((1+1))")
    assert output_lines(tmux, pid, "EMPTY2") == 0
    ok(prompt(rpg, pid, {"prompt": "", "submit": True}))
    wait_output(tmux, pid, "EMPTY2")


def test_prompt_empty_without_submit_sends_nothing(rpg, tmux):
    _, pid = shell_pane(rpg, tmux)
    tmux.send_text(pid, "echo NOTHING$((2+2))")
    tmux.wait_text(pid, "echo NOTHING$((2+2))")
    ok(prompt(rpg, pid, {"prompt": "", "submit": False}))
    tmux.send_text(pid, "5")
    tmux.send_keys(pid, "Enter")
    wait_output(tmux, pid, "NOTHING45")


def test_prompt_key_names_are_keys(rpg, tmux):
    """`Up` is tmux's key name: it recalls the shell's last command."""
    _, pid = shell_pane(rpg, tmux)
    ok(prompt(rpg, pid, {"prompt": "echo KEY$((3+4))"}))
    wait_output(tmux, pid, "KEY7")
    ok(prompt(rpg, pid, {"prompt": "Up", "submit": True}))
    wait_output(tmux, pid, "KEY7", count=2)


def test_prompt_text_arrives_in_a_claude_pane(rpg, tmux):
    _, pid = tmux.new_claude_window()
    wait_claude(rpg, pid)
    ok(prompt(rpg, pid, {"prompt": "refactor the parser"}))
    tmux.wait_text(pid, "You said: refactor the parser")


@pytest.mark.parametrize("body", [{}, {"prompt": None}, {"prompt": 5}, {"prompt": ["a"]},
                                  {"prompt": "x" * 100001}, {"prompt": "x", "submit": "yes"},
                                  {"prompt": "x", "submit": 1}, {"text": "x"}])
def test_prompt_validation(rpg, tmux, body):
    _, pid = shell_pane(rpg, tmux)
    fail(prompt(rpg, pid, body), 400, "VALIDATION_ERROR")


def test_prompt_of_100000_chars_is_not_a_validation_error(rpg, tmux):
    _, pid = tmux.new_window(["sleep", "3600"])
    wait_pane(rpg, pid)
    try:
        r = prompt(rpg, pid, {"prompt": "y" * 100000, "submit": False})
        if r.status != 200:
            fail(r, 400, "SEND_FAILED")   # tmux may refuse a command that long
    finally:
        tmux.kill_pane(pid)


def signal(rpg, pid, sig):
    return call(rpg, "POST", f"/api/panes/{enc(pid)}/signal", {"signal": sig})


def running(rpg, tmux, pid, line, command):
    tmux.type_line(pid, line)
    tmux.wait_command(pid, command)


def test_signal_sigint_interrupts(rpg, tmux):
    _, pid = shell_pane(rpg, tmux)
    running(rpg, tmux, pid, "sleep 3600", "sleep")
    d = ok(signal(rpg, pid, "SIGINT"))
    assert d == {"sent": True}, d
    tmux.wait_command(pid, "bash")


def test_signal_sigtstp_suspends(rpg, tmux):
    _, pid = shell_pane(rpg, tmux)
    running(rpg, tmux, pid, "sleep 3600", "sleep")
    ok(signal(rpg, pid, "SIGTSTP"))
    tmux.wait_text(pid, "Stopped")
    tmux.wait_command(pid, "bash")
    tmux.type_line(pid, "kill -9 %1")


def test_signal_sigquit_quits(rpg, tmux):
    _, pid = shell_pane(rpg, tmux)
    running(rpg, tmux, pid, "sleep 3600", "sleep")
    ok(signal(rpg, pid, "SIGQUIT"))
    tmux.wait_text(pid, "Quit")
    tmux.wait_command(pid, "bash")


def test_signal_other_string_is_a_key_name(rpg, tmux):
    _, pid = shell_pane(rpg, tmux)
    running(rpg, tmux, pid, "cat", "cat")
    ok(signal(rpg, pid, "C-d"))          # end of input: cat exits
    tmux.wait_command(pid, "bash")


def test_signal_is_never_followed_by_enter(rpg, tmux):
    _, pid = shell_pane(rpg, tmux)
    tmux.send_text(pid, "echo SIG")
    tmux.wait_text(pid, "echo SIG")
    ok(signal(rpg, pid, "q"))
    tmux.send_text(pid, "Z")
    tmux.send_keys(pid, "Enter")
    wait_output(tmux, pid, "SIGqZ")


@pytest.mark.parametrize("body", [{}, {"signal": None}, {"signal": 2}, {"signal": ["SIGINT"]},
                                  {"sig": "SIGINT"}])
def test_signal_validation(rpg, tmux, body):
    _, pid = shell_pane(rpg, tmux)
    r = call(rpg, "POST", f"/api/panes/{enc(pid)}/signal", body)
    fail(r, 400, "VALIDATION_ERROR")


def test_dismiss_of_a_pane_that_is_not_waiting(rpg, tmux):
    _, pid = shell_pane(rpg, tmux)
    d = ok(call(rpg, "POST", f"/api/panes/{enc(pid)}/dismiss"))
    assert d == {"dismissed": True}, d
    _, cpid = tmux.new_claude_window()
    wait_claude(rpg, cpid)
    ok(call(rpg, "POST", f"/api/panes/{enc(cpid)}/dismiss"))
    cs = session_of(find_pane(get_state(rpg), cpid))
    assert cs["status"] == "idle", cs


def test_refresh_returns_the_content_and_broadcasts_it(rpg, tmux):
    _, pid = tmux.new_claude_window()
    wait_claude(rpg, pid)
    tmux.type_line(pid, "/say refresh-marker-7781")
    tmux.wait_text(pid, "refresh-marker-7781")
    with Client(rpg) as c:
        t0 = rpglib.now_ms()
        d = ok(call(rpg, "POST", f"/api/panes/{enc(pid)}/refresh"))
        t1 = rpglib.now_ms()
        assert set(d) == {"refreshed", "content"} and d["refreshed"] is True, d
        assert "refresh-marker-7781" in d["content"], d["content"][-1000:]
        assert "Welcome to Claude Code" in d["content"], d["content"][-2000:]
        m = c.wait_type("terminal_output", lambda m: m["payload"].get("paneId") == pid
                        and "timestamp" in m["payload"], "terminal_output with a timestamp")
        p = m["payload"]
        assert set(p) == {"paneId", "target", "content", "timestamp"}, p
        assert p["target"] == pid and p["content"] == d["content"], p
        assert isinstance(p["timestamp"], int) and t0 - 2000 <= p["timestamp"] <= t1 + 2000, p


def test_refresh_of_a_shell_pane(rpg, tmux):
    _, pid = shell_pane(rpg, tmux)
    tmux.type_line(pid, "echo SHELL$((9*9))")
    wait_output(tmux, pid, "SHELL81")
    d = ok(call(rpg, "POST", f"/api/panes/{enc(pid)}/refresh"))
    assert d["refreshed"] is True and isinstance(d["content"], str), d


def test_close_pane(rpg, tmux):
    wid, first = tmux.new_shell_window()
    second = tmux.split(wid)
    wait_pane(rpg, second)
    d = ok(call(rpg, "POST", f"/api/panes/{enc(second)}/close"))
    assert d == {"closed": True}, d
    assert tmux.pane(second) is None and tmux.pane(first) is not None
    wait_gone(rpg, pane_id=second)
    w = find_window(get_state(rpg), wid)
    assert [p["id"] for p in w["panes"]] == [first], w


@pytest.mark.parametrize("action,body", [("prompt", {"prompt": "x"}),
                                         ("signal", {"signal": "SIGINT"}),
                                         ("dismiss", None), ("refresh", None), ("close", None)])
@pytest.mark.parametrize("pid", ["%999999", "%", "nosuch", "@0", "3"])
def test_unknown_pane_is_404(rpg, tmux, action, body, pid):
    before = len(tmux.panes())
    r = call(rpg, "POST", f"/api/panes/{enc(pid)}/{action}", body)
    fail(r, 404, "NOT_FOUND", "Pane not found")
    assert len(tmux.panes()) == before


# ---- §2.1 GET /api/windows ---------------------------------------------------------

WINDOW_KEYS = {"id", "sessionName", "windowIndex", "windowName", "panes"}
PANE_KEYS = {"id", "index", "active", "width", "height", "process", "cwd"}
PANE_OPTIONAL = {"repo", "terminalContent"}
PROCESS_KEYS = {"type", "command", "pid"}
CS_KEYS = {"id", "name", "status", "tier", "badges", "health", "createdAt", "lastActivity"}
CS_OPTIONAL = {"avatarSvg", "lastError"}


def check_pane_shape(p, tp):
    """p: a TmuxPane from roostd; tp: the same pane from tmux."""
    assert PANE_KEYS <= set(p) <= PANE_KEYS | PANE_OPTIONAL, p.keys()
    assert p["index"] == tp["index"] and p["active"] is tp["active"], (p, tp)
    assert p["width"] == tp["width"] and p["height"] == tp["height"], (p, tp)
    proc = p["process"]
    assert PROCESS_KEYS <= set(proc) <= PROCESS_KEYS | {"claudeSession"}, proc
    assert proc["type"] in ("claude", "shell", "process", "idle"), proc
    assert proc["pid"] == tp["pid"], (proc, tp)
    assert isinstance(proc["command"], str), proc
    assert isinstance(p["cwd"], str) and p["cwd"].startswith("/"), p
    if proc["type"] == "claude":
        assert "claudeSession" in proc, p
    else:
        assert "claudeSession" not in proc and "terminalContent" not in p, p


def check_claude_session(cs, pane_id):
    assert CS_KEYS <= set(cs) <= CS_KEYS | CS_OPTIONAL, cs.keys()
    assert cs["id"] == f"pane-{pane_id}", cs
    assert isinstance(cs["name"], str) and cs["name"].strip(), cs
    assert cs["status"] == "idle" and cs["tier"] == "novice" and cs["badges"] == [], cs
    h = cs["health"]
    assert set(h) == {"energy", "morale", "lastUpdated"}, h
    assert 0 <= h["energy"] <= 100 and 0 <= h["morale"] <= 100, h
    rpglib.check_ts(h["lastUpdated"])
    now = rpglib.now_ms()
    for k in ("createdAt", "lastActivity"):
        assert isinstance(cs[k], int) and now - 600_000 < cs[k] <= now + 5000, cs


def test_state_shapes_types_order_cwd_and_repo(rpg, tmux):
    repo = mkdirs(tmux, "org1/repo1")
    tmux.new_session("shapes", cwd="/")
    w_claude, p_claude = tmux.new_claude_window(session="shapes", cwd=repo, name="c")
    w_shell, p_shell0 = tmux.new_shell_window(session="shapes", cwd=repo, name="s")
    p_shell1 = tmux.split(w_shell)
    p_shell2 = tmux.split(w_shell)
    w_proc, p_proc = tmux.new_window(["sleep", "3600"], session="shapes", name="p")
    # A pane whose process has exited (remain-on-exit keeps it): its pid is
    # gone, so it is idle.
    w_dead, p_dead = tmux.new_window(["cat"], session="shapes", name="d")
    tmux.run("set-option", "-w", "-t", w_dead, "remain-on-exit", "on")
    tmux.wait_command(p_dead, "cat")
    tmux.send_keys(p_dead, "C-d")
    wait_for(lambda: (tmux.pane(p_dead) or {}).get("dead"), 10 * SLOW, what="dead pane")
    # A shell pane that starts the fake claude as its child.
    w_sc, p_sc = tmux.new_shell_window(session="shapes", cwd="/tmp", name="sc")
    tmux.type_line(p_sc, "claude")
    tmux.wait_text(p_sc, "Welcome to Claude Code")

    want_types = {p_claude: "claude", p_shell0: "shell", p_shell1: "shell",
                  p_shell2: "shell", p_proc: "process", p_dead: "idle", p_sc: "claude"}

    def settled(s):
        for pid, typ in want_types.items():
            p = find_pane(s, pid)
            if p is None or p["process"]["type"] != typ:
                return False
        return all("Welcome to Claude Code" in find_pane(s, pid).get("terminalContent", "")
                   for pid in (p_claude, p_sc))

    state, _ = wait_state(rpg, settled, "every pane of session shapes with its type and the "
                          "Claude panes captured", timeout=CAPTURE_TIMEOUT)
    assert set(state) == {"sessions", "windows", "panes"}, state.keys()

    # sessions: each with its windows, in index order, the same objects as
    # the top-level windows.
    names = [s["name"] for s in state["sessions"]]
    assert sorted(names) == sorted({w["session"] for w in tmux.windows()}), names
    for s in state["sessions"]:
        assert set(s) == {"name", "attached", "windows"} and s["attached"] is True, s
        mine = [w for w in state["windows"] if w["sessionName"] == s["name"]]
        assert [w["id"] for w in s["windows"]] == [w["id"] for w in mine], s["name"]
        assert rpglib.strip_content(s["windows"]) == rpglib.strip_content(mine), s["name"]
        idx = [w["windowIndex"] for w in mine]
        assert idx == sorted(idx), (s["name"], idx)
    # the windows of a session are together in the top-level list
    order = [w["sessionName"] for w in state["windows"]]
    runs = [n for i, n in enumerate(order) if i == 0 or order[i - 1] != n]
    assert len(runs) == len(set(runs)), order

    tm_windows = {w["id"]: w for w in tmux.windows()}
    assert {w["id"] for w in state["windows"]} == set(tm_windows)
    tm_panes = {p["id"]: p for p in tmux.panes()}
    assert sorted(p["id"] for p in state["panes"]) == sorted(tm_panes), state["panes"]
    for w in state["windows"]:
        assert set(w) == WINDOW_KEYS, w.keys()
        tw = tm_windows[w["id"]]
        assert (w["sessionName"], w["windowIndex"], w["windowName"]) == \
            (tw["session"], tw["index"], tw["name"]), (w, tw)
        assert [p["index"] for p in w["panes"]] == sorted(p["index"] for p in w["panes"]), w
        assert sorted(p["id"] for p in w["panes"]) == sorted(
            pid for pid, tp in tm_panes.items() if tp["window"] == w["id"]), w
        for p in w["panes"]:
            check_pane_shape(p, tm_panes[p["id"]])
            top = find_pane(state, p["id"])
            assert rpglib.strip_content(top) == rpglib.strip_content(p), p["id"]

    sw = find_window(state, w_shell)
    assert [p["id"] for p in sw["panes"]] == sorted(
        [p_shell0, p_shell1, p_shell2], key=lambda i: tm_panes[i]["index"]), sw
    assert [p["index"] for p in sw["panes"]] == [0, 1, 2], sw

    for pid in (p_claude, p_sc):
        p = find_pane(state, pid)
        check_claude_session(p["process"]["claudeSession"], pid)
        assert isinstance(p["terminalContent"], str), p
        assert "Welcome to Claude Code" in p["terminalContent"], p["terminalContent"][-500:]
    for pid in (p_shell0, p_proc, p_dead):
        assert "terminalContent" not in find_pane(state, pid)
    assert find_pane(state, p_proc)["process"]["command"] == "sleep"

    # cwd and repo
    pc = find_pane(state, p_claude)
    assert pc["cwd"] == repo, pc
    assert pc["repo"] == {"path": repo, "name": "repo1", "org": "org1"}, pc
    ps = find_pane(state, p_shell0)
    assert ps["cwd"] == repo and ps["repo"] == {"path": repo, "name": "repo1", "org": "org1"}
    first = [w for w in state["windows"] if w["sessionName"] == "shapes"][0]
    p_root = first["panes"][0]
    assert p_root["cwd"] == "/" and "repo" not in p_root, p_root
    psc = find_pane(state, p_sc)
    assert psc["cwd"] == "/tmp" and "repo" not in psc, psc


def test_claude_session_placeholder_and_avatar(rpg, tmux):
    """A pane seen before any hook (§3.4) shows the placeholder session
    pane-<paneId> and the avatar of that id (§4.9). (Its persona's "First
    Last" name, §8.6, comes with the personas, the family's part 2.)"""
    _, pid = tmux.new_claude_window()
    cs = session_of(wait_claude(rpg, pid))
    assert cs["id"] == f"pane-{pid}", cs
    assert cs.get("avatarSvg") == rpglib.avatar_url(f"pane-{pid}"), cs


class SlowRaw(wslib.SmallRaw):
    """A client that reads slowly: a small receive window and small
    segments (wslib.SmallRaw), and a pause before each read."""

    def _fill(self, timeout=None):
        time.sleep(0.002)               # pacing the reader, not measuring
        return super()._fill(timeout)


def slow_get(port, path):
    """GET on a connection whose client reads slowly; the parsed response
    (Content-Length or chunked, checked by roostlib)."""
    c = SlowRaw(port, 4096, timeout=IO_TIMEOUT * 2)
    try:
        c.send(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")
        return c.read_response()
    finally:
        c.close()


def test_get_windows_is_whole_while_panes_stream(rpg, tmux):
    """GET /api/windows answers the whole state even while Claude panes'
    content changes under it and the client reads slowly (§4.3): every
    answer complete, valid JSON."""
    panes = []
    for _ in range(4):
        _, p = tmux.new_claude_window(args=["--stream", "20", "--width", "180"])
        panes.append(p)
    for p in panes:
        wait_claude(rpg, p)
    wait_pane(rpg, panes[-1], lambda p: p.get("terminalContent", "").count("tick ") >= 150,
              "150 streamed lines captured", timeout=CAPTURE_TIMEOUT)
    for _ in range(5):
        try:
            r = slow_get(rpg.ports["rpg"], "/api/windows")
        except AssertionError as e:
            raise AssertionError(f"GET /api/windows cut: {e}\n{rpg.stderr()[-1000:]}") from None
        state = ok(r)
        assert len([p for p in state["panes"] if p["id"] in panes]) == 4


def test_no_tmux_server_is_an_empty_state(roostd, tmp_path):
    idle = Tmux()            # its TMUX_TMPDIR, no server started
    srv = rpg_server(tmp_path / "s", idle)
    try:
        for _ in range(3):
            assert get_state(srv) == {"sessions": [], "windows": [], "panes": []}
        with Client(srv) as c:
            assert c.connect[1]["payload"] == [], c.connect[1]
        # A server appearing later is picked up by the poll.
        idle.start()
        state, _ = wait_state(srv, lambda s: len(s["windows"]) == 1, "the new server's window")
        assert [s["name"] for s in state["sessions"]] == ["main"], state
    finally:
        srv.stop()
        idle.cleanup()


# ---- README §3: rpg.auth ------------------------------------------------------------

def test_auth_key(roostd, tmux, tmp_path):
    srv = rpg_server(tmp_path / "s", tmux, args=["--rpg.auth=key"])
    try:
        want = {"success": False, "error": {"code": "UNAUTHORIZED",
                                            "message": "Missing or invalid API key"},
                "ok": False, "message": "Missing or invalid API key"}
        for method, path, body in (("GET", "/api/windows", None),
                                   ("POST", "/api/windows/create", {}),
                                   ("POST", "/event", {"hook_event_name": "Stop"})):
            r = call(srv, method, path, body)
            assert r.status == 401 and r.json() == want, r
            r = call(srv, method, path, body, headers={"X-API-Key": "roost_" + "0" * 64})
            assert r.status == 401 and r.json() == want, r
        key = srv.api_key()
        ok(call(srv, "GET", "/api/windows", headers={"X-API-Key": key}))
        ok(call(srv, "GET", "/api/windows", headers={"Authorization": f"Bearer {key}"}))
        ok(call(srv, "GET", "/health"))
        r = call(srv, "GET", f"/api/windows?api_key={key}")
        assert r.status == 401, r
    finally:
        srv.stop()


# ---- child processes: failing, hanging and flooding tmux commands -------------------

@pytest.fixture(scope="module")
def wrapper(tmux):
    w = TmuxWrapper(tmux.root)
    yield w
    w.clear()


@pytest.fixture(scope="module")
def wrapped(roostd, tmux, wrapper, tmp_path_factory):
    """roostd whose `tmux` is the wrapper; polls every 50 ms."""
    srv = rpg_server(tmp_path_factory.mktemp("wrapped"), tmux, wrapper=wrapper)
    yield srv
    wrapper.clear()
    srv.stop()


@pytest.fixture
def rules(wrapper):
    yield wrapper
    wrapper.clear()


def wait_reaped(pids):
    for pid in pids:
        wait_for(lambda: rpglib.pid_gone(pid), IO_TIMEOUT, what=f"child {pid} killed and "
                 f"reaped (state {rpglib.pid_state(pid)!r})")


FAILURES = [
    ("new-window", "POST", "/api/windows/create", {}, "CREATE_FAILED"),
    ("rename-window", "POST", "/api/windows/{w}/rename", {"windowName": "no"}, "RENAME_FAILED"),
    ("kill-window", "POST", "/api/windows/{w}/close", None, "CLOSE_FAILED"),
    ("split-window", "POST", "/api/windows/{w}/new-pane", None, "SPLIT_FAILED"),
    ("split-window", "POST", "/api/windows/{w}/new-claude", None, "CLAUDE_FAILED"),
    ("send-keys", "POST", "/api/windows/{w}/new-claude", None, "CLAUDE_FAILED"),
    ("send-keys", "POST", "/api/panes/{p}/prompt", {"prompt": "echo x"}, "SEND_FAILED"),
    ("send-keys", "POST", "/api/panes/{p}/signal", {"signal": "SIGINT"}, "SIGNAL_FAILED"),
    ("capture-pane", "POST", "/api/panes/{p}/refresh", None, "REFRESH_FAILED"),
    ("kill-pane", "POST", "/api/panes/{p}/close", None, "CLOSE_FAILED"),
]


@pytest.mark.parametrize("cmd,method,path,body,code", FAILURES,
                         ids=[f"{f[0]}-{f[4]}" for f in FAILURES])
def test_failing_tmux_command_answers_its_failed_code(wrapped, tmux, rules, cmd, method, path,
                                                      body, code):
    wid, pid = tmux.new_shell_window(name="victim")
    wait_pane(wrapped, pid)
    before = sorted(p["id"] for p in tmux.panes() if p["window"] == wid)
    rules.set(("fail", cmd))
    r = call(wrapped, method, path.format(w=enc(wid), p=enc(pid)), body)
    fail(r, 400, code)
    assert rules.calls("fail", cmd), f"roostd never ran tmux {cmd}: {rules.entries()[-10:]}"
    rules.clear()
    w = tmux.window(wid)
    assert w is not None and w["name"] == "victim", w
    if code not in ("CLAUDE_FAILED",):
        assert sorted(p["id"] for p in tmux.panes() if p["window"] == wid) == before
    ok(call(wrapped, "GET", "/health"))


def test_hanging_action_answers_failed_after_the_deadline(wrapped, tmux, rules):
    wid, pid = tmux.new_shell_window(name="hang-victim")
    wait_pane(wrapped, pid)
    rules.set(("hang", "rename-window"))
    res = {}

    def rename():
        res["r"] = call(wrapped, "POST", f"/api/windows/{enc(wid)}/rename",
                        {"windowName": "never"}, timeout=ACTION_TIMEOUT)

    t = threading.Thread(target=rename)
    t.start()
    try:
        hung = wait_for(lambda: rules.calls("hang", "rename-window"), IO_TIMEOUT,
                        what="the hanging rename-window child")
        # While it hangs, roostd serves others (its loop does not wait).
        ok(call(wrapped, "GET", "/health"))
        assert find_window(get_state(wrapped), wid) is not None
        assert t.is_alive(), f"rename answered while its child still ran: {res}"
    finally:
        t.join(ACTION_TIMEOUT)
    assert not t.is_alive(), "rename never answered"
    fail(res["r"], 400, "RENAME_FAILED")
    wait_reaped([e[2] for e in hung])
    assert tmux.window(wid)["name"] == "hang-victim"
    rules.clear()
    ok(call(wrapped, "POST", f"/api/windows/{enc(wid)}/rename", {"windowName": "after"}))
    assert tmux.window(wid)["name"] == "after"


def test_flooding_action_is_killed_at_its_buffer(wrapped, tmux, rules):
    before = len(tmux.windows())
    rules.set(("flood", "new-window"))
    r = call(wrapped, "POST", "/api/windows/create", {"windowName": "flood"},
             timeout=ACTION_TIMEOUT)
    fail(r, 400, "CREATE_FAILED")
    floods = rules.calls("flood", "new-window")
    assert floods, rules.entries()[-10:]
    wait_reaped([e[2] for e in floods])
    assert len(tmux.windows()) == before
    rules.clear()
    d = ok(call(wrapped, "POST", "/api/windows/create", {"windowName": "after-flood"}))
    assert tmux.window(d["windowId"])["name"] == "after-flood"


POLL_CMDS = ("list-windows", "list-panes", "list-sessions", "display-message")


def test_hanging_poll_keeps_the_last_state(wrapped, tmux, rules):
    wid, pid = tmux.new_shell_window(name="kept")
    wait_pane(wrapped, pid)
    n0 = len(rules.calls("hang"))
    rules.set(*[("hang", c) for c in POLL_CMDS])
    first = wait_for(lambda: rules.calls("hang")[n0:], IO_TIMEOUT,
                     what="a poll child hanging")[0]
    tmux.kill_window(wid)       # roostd cannot see this while its poll hangs
    s = get_state(wrapped)
    assert find_pane(s, pid) is not None, "the state changed while the poll hung"
    # The first hanging child is killed at the deadline, a later poll hangs
    # again: the state is still the last one seen.
    wait_for(lambda: rpglib.pid_gone(first[2]), ACTION_TIMEOUT,
             what="the hanging poll child killed at its deadline")
    k = len(rules.calls("hang"))
    wait_for(lambda: len(rules.calls("hang")) > k, ACTION_TIMEOUT,
             what="a poll after the killed one")
    s = get_state(wrapped)
    assert find_pane(s, pid) is not None and s["panes"], s
    ok(call(wrapped, "GET", "/health"))
    rules.clear()
    # The poll hanging now ends at its deadline; the next one sees tmux.
    wait_gone(wrapped, pane_id=pid, window_id=wid, timeout=ACTION_TIMEOUT)


@pytest.fixture
def slow_wrapper(tmux, tmp_path):
    return TmuxWrapper(str(tmp_path))


@pytest.fixture
def slow_poll(roostd, tmux, slow_wrapper, tmp_path):
    """roostd whose `tmux` is a wrapper of its own and whose own poll does
    not run during the test (an hour between polls): only the actions (and
    the polls right after them) take child slots."""
    srv = rpg_server(tmp_path / "slow", tmux, wrapper=slow_wrapper, poll_ms=3600000)
    yield srv
    slow_wrapper.clear()
    srv.stop()


def test_unknown_id_is_looked_up_by_an_immediate_poll(slow_poll, tmux):
    wid, pid = tmux.new_shell_window(name="fresh-one")
    # roostd last polled before this window existed.
    d = ok(call(slow_poll, "POST", f"/api/windows/{enc(wid)}/rename", {"windowName": "seen"}))
    assert d == {"success": True} and tmux.window(wid)["name"] == "seen"
    tmux.wait_shell(pid)
    ok(prompt(slow_poll, pid, {"prompt": "echo IMM$((2*3))"}))
    wait_output(tmux, pid, "IMM6")


def test_full_child_pool_answers_503(slow_poll, tmux, slow_wrapper):
    wrapper = slow_wrapper
    slots = rpglib.child_limit("CFG_CHILD_SLOTS", 8)
    wid, _ = tmux.new_shell_window(name="pool")
    ok(call(slow_poll, "POST", f"/api/windows/{enc(wid)}/rename", {"windowName": "pool0"}))
    # The poll after that action (§4.3) is over: no child of roostd runs.
    def settled():
        e = wrapper.entries()
        cmds = [x[1] for x in e]
        after = cmds[len(cmds) - 1 - cmds[::-1].index("rename-window") + 1:]
        return after and all(rpglib.pid_gone(x[2]) for x in e)

    wait_for(settled, IO_TIMEOUT, what="the poll after the rename, and every tmux child done")
    wrapper.set(("hang", "rename-window"))
    results = {}
    threads = []

    def rename(i):
        results[i] = call(slow_poll, "POST", f"/api/windows/{enc(wid)}/rename",
                          {"windowName": f"pool{i}"}, timeout=ACTION_TIMEOUT)

    try:
        for i in range(1, slots + 1):
            t = threading.Thread(target=rename, args=(i,))
            t.start()
            threads.append(t)
            wait_for(lambda: len(wrapper.calls("hang", "rename-window")) >= i or i in results,
                     IO_TIMEOUT, what=f"rename {i} running its child")
            assert i not in results, (f"rename {i} of {slots} answered before the pool was "
                                      f"full: {results[i]!r}")
        # Every slot holds a hanging child: one more action is refused now.
        r = call(slow_poll, "POST", f"/api/windows/{enc(wid)}/rename", {"windowName": "extra"})
        fail(r, 503, "SERVICE_UNAVAILABLE")
        assert r.header("Retry-After") == "1", r
        assert all(t.is_alive() for t in threads), "a hanging rename answered early"
        assert len(wrapper.calls("hang", "rename-window")) == slots
        ok(call(slow_poll, "GET", "/health"))
    finally:
        for t in threads:
            t.join(ACTION_TIMEOUT)
    for i in range(1, slots + 1):
        fail(results[i], 400, "RENAME_FAILED")
    wait_reaped([e[2] for e in wrapper.calls("hang", "rename-window")])
    wrapper.clear()
    ok(call(slow_poll, "POST", f"/api/windows/{enc(wid)}/rename", {"windowName": "free"}))
    assert tmux.window(wid)["name"] == "free"
