"""roostd hooks install / uninstall and roostd hook (spec hooks.md §1-§3,
README "Claude Code hooks"; src/app/hooks_cli.h).

install/uninstall: what lands in Claude Code's settings.json, that the
user's own settings and hooks are kept exactly, the backup, idempotence,
refusals (not JSON, not an object, a key needed and none there) and the
key file. hook: the body a small HTTP server receives (the script's four
fields added, the rest unchanged, X-API-Key), and that it never holds
Claude Code up: nothing on stdout, exit 0, when roost is down or silent.
"""

import http.server
import json
import os
import shlex
import socket
import stat
import subprocess
import threading
import time

import pytest

import roostlib
from roostlib import SLOW, clean_env, free_ports, limits, roostd_path

EVENTS = ("PreToolUse", "PostToolUse", "Stop", "UserPromptSubmit", "Notification",
          "SessionStart")
TOOL_EVENTS = ("PreToolUse", "PostToolUse")

# What a user might have before installing: other settings (unicode, escapes,
# numbers in several spellings, nesting) and hooks of the same events.
USER_SETTINGS = {
    "$schema": "https://json.schemastore.org/claude-code-settings.json",
    "model": "claude-sonnet-4-20250514",
    "env": {"BASH_DEFAULT_TIMEOUT_MS": "300000", "GREETING": "h\u00e9llo \u2603 \"q\" \\ /"},
    "permissions": {"allow": ["Bash(git:*)", "Read(**)"], "deny": [], "extra": {}},
    "cleanupPeriodDays": 30,
    "ratio": 1.5e3,
    "neg": -0.25,
    "flags": [True, False, None, [], {}, [[1, 2], {"a": [3]}]],
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [
            {"type": "command", "command": "echo pre >> /tmp/log"}]}],
        "Stop": [{"hooks": [{"type": "command", "command": "notify-send done",
                             "timeout": 5}]}],
        "SubagentStop": [{"hooks": [{"type": "command", "command": "true"}]}],
    },
}


def run(args, cwd, env=None, stdin=None, timeout=10.0 * SLOW):
    t0 = time.monotonic()
    p = subprocess.run([roostd_path()] + list(args), cwd=str(cwd), env=clean_env(env),
                       input=stdin if stdin is not None else b"", capture_output=True,
                       timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode(), time.monotonic() - t0


def install(tmp, *extra, settings=None, env=None):
    settings = settings or os.path.join(str(tmp), "claude", "settings.json")
    return run(["hooks", "install", "--settings", settings] + list(extra), tmp,
               env=dict({"HOME": str(tmp)}, **(env or {})))


def uninstall(tmp, settings, env=None):
    return run(["hooks", "uninstall", "--settings", settings], tmp,
               env=dict({"HOME": str(tmp)}, **(env or {})))


def read_json(path):
    with open(path, "rb") as f:
        return json.loads(f.read())


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def is_ours(handler):
    words = shlex.split(handler.get("command", ""))
    return len(words) > 1 and os.path.basename(words[0]) == "roostd" and words[1] == "hook"


def ours(settings, event):
    return [h for g in settings["hooks"].get(event, []) for h in g.get("hooks", [])
            if is_ours(h)]


def without_ours(settings):
    """settings with every roost handler removed, and what that left empty."""
    s = json.loads(json.dumps(settings))
    hooks = s.get("hooks", {})
    for ev in list(hooks):
        groups = []
        for g in hooks[ev]:
            hs = g.get("hooks", [])
            kept = [h for h in hs if not is_ours(h)]
            if len(kept) == len(hs) or kept:
                g["hooks"] = kept
                groups.append(g)
        if groups or not hooks[ev]:
            hooks[ev] = groups
        else:
            del hooks[ev]
    return s


def check_installed(settings, port, key_file=None):
    """One roost handler per event, as install writes it."""
    for ev in EVENTS:
        mine = ours(settings, ev)
        assert len(mine) == 1, (ev, settings["hooks"].get(ev))
        h = mine[0]
        assert h["type"] == "command" and h["timeout"] == 10 and len(h) == 3
        words = shlex.split(h["command"])
        assert words[0] == os.path.realpath(roostd_path())
        assert words[1:5] == ["hook", ev, "--url", f"http://127.0.0.1:{port}/event"]
        if key_file is None:
            assert len(words) == 5, words
        else:
            assert words[5:] == ["--key-file", key_file], words
        group = [g for g in settings["hooks"][ev] if h in g.get("hooks", [])][0]
        if ev in TOOL_EVENTS:
            assert group.get("matcher") is not None
        else:
            assert "matcher" not in group


# ---- install / uninstall ----------------------------------------------------

@pytest.mark.needs("rpg")
def test_install_into_missing_file_and_uninstall(tmp_path):
    port = free_ports(1)[0]
    # the default path: $HOME/.claude/settings.json, directories made
    rc, out, err, _ = run(["hooks", "install", f"--rpg.port={port}"], tmp_path,
                          env={"HOME": str(tmp_path)})
    path = os.path.join(str(tmp_path), ".claude", "settings.json")
    assert rc == 0, err
    assert path in out
    s = read_json(path)
    assert list(s) == ["hooks"] and list(s["hooks"]) == list(EVENTS)
    check_installed(s, port)
    for ev in EVENTS:
        assert len(s["hooks"][ev]) == 1
        if ev in TOOL_EVENTS:
            assert s["hooks"][ev][0]["matcher"] == "*"
    assert not os.path.exists(path + ".bak")     # nothing was there to keep
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = read_bytes(path).decode()
    assert text.endswith("}\n") and text.startswith('{\n  "hooks": {\n    "PreToolUse": [')
    rc, out, err, _ = uninstall(tmp_path, path)
    assert rc == 0, err
    assert read_json(path) == {}
    # nothing of roost's left: a second uninstall writes nothing
    before = read_bytes(path)
    bak = read_bytes(path + ".bak")
    rc, out, err, _ = uninstall(tmp_path, path)
    assert rc == 0 and "nothing written" in out
    assert read_bytes(path) == before and read_bytes(path + ".bak") == bak


@pytest.mark.needs("rpg")
def test_install_keeps_everything_else_and_is_idempotent(tmp_path):
    port = free_ports(1)[0]
    path = os.path.join(str(tmp_path), "claude", "settings.json")
    original = json.dumps(USER_SETTINGS, indent=4, ensure_ascii=True).encode()
    write(path, original)
    rc, out, err, _ = install(tmp_path, f"--rpg.port={port}", settings=path)
    assert rc == 0, err
    s = read_json(path)
    check_installed(s, port)
    # every other setting exactly, in its order
    assert list(s) == list(USER_SETTINGS)
    for k in USER_SETTINGS:
        if k != "hooks":
            assert s[k] == USER_SETTINGS[k], k
    # the user's hooks of the same events stay first, as they were
    assert s["hooks"]["PreToolUse"][0] == USER_SETTINGS["hooks"]["PreToolUse"][0]
    assert s["hooks"]["Stop"][0] == USER_SETTINGS["hooks"]["Stop"][0]
    assert s["hooks"]["SubagentStop"] == USER_SETTINGS["hooks"]["SubagentStop"]
    assert len(s["hooks"]["PreToolUse"]) == 2 and len(s["hooks"]["Stop"]) == 2
    assert without_ours(s) == USER_SETTINGS
    # the previous content, byte for byte
    assert read_bytes(path + ".bak") == original

    # twice: nothing written, no new backup
    first = read_bytes(path)
    mtime = os.stat(path).st_mtime_ns
    rc, out, err, _ = install(tmp_path, f"--rpg.port={port}", settings=path)
    assert rc == 0, err
    assert "nothing written" in out
    assert read_bytes(path) == first and os.stat(path).st_mtime_ns == mtime
    assert read_bytes(path + ".bak") == original

    # uninstall: exactly the user's settings again
    rc, out, err, _ = uninstall(tmp_path, path)
    assert rc == 0, err
    assert read_json(path) == USER_SETTINGS
    assert read_bytes(path + ".bak") == first


@pytest.mark.needs("rpg")
def test_install_after_upgrade_replaces_old_handlers(tmp_path):
    port = free_ports(1)[0]
    path = os.path.join(str(tmp_path), "settings.json")
    old = {
        "hooks": {
            # an old roost handler sharing a group with the user's
            "PreToolUse": [
                {"matcher": "*", "hooks": [
                    {"type": "command", "command": "echo mine"},
                    {"type": "command",
                     "command": "'/opt/old roost/bin/roostd' hook PreToolUse --url "
                                "http://127.0.0.1:1/event", "timeout": 5},
                    {"type": "command", "command": "echo mine too"}]},
                # a second, stale one alone in its group
                {"hooks": [{"type": "command",
                            "command": "/usr/local/bin/roostd hook PreToolUse"}]}],
            # an event roost no longer uses
            "SubagentStop": [{"hooks": [{"type": "command",
                                         "command": "roostd hook SubagentStop"}]}],
            # someone else's program with a similar name is not roost's
            "Stop": [{"hooks": [{"type": "command", "command": "/bin/roostd-extra hook Stop"},
                                {"type": "command", "command": "echo roostd hook Stop"}]}],
        }
    }
    write(path, json.dumps(old))
    rc, out, err, _ = install(tmp_path, f"--rpg.port={port}", settings=path)
    assert rc == 0, err
    s = read_json(path)
    check_installed(s, port)
    pre = s["hooks"]["PreToolUse"]
    assert len(pre) == 1
    cmds = [h["command"] for h in pre[0]["hooks"]]
    assert cmds[0] == "echo mine" and cmds[2] == "echo mine too" and is_ours(pre[0]["hooks"][1])
    assert "SubagentStop" not in s["hooks"]
    assert s["hooks"]["Stop"][0] == old["hooks"]["Stop"][0]
    rc, out, err, _ = uninstall(tmp_path, path)
    assert rc == 0, err
    s = read_json(path)
    assert s["hooks"]["PreToolUse"] == [{"matcher": "*", "hooks": [
        {"type": "command", "command": "echo mine"},
        {"type": "command", "command": "echo mine too"}]}]
    assert s["hooks"]["Stop"] == old["hooks"]["Stop"]
    assert set(s["hooks"]) == {"PreToolUse", "Stop"}


@pytest.mark.needs("rpg")
@pytest.mark.parametrize("content, what", [
    (b"{\"model\": \"x\",", "not valid JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b"\"text\"", "not a JSON object"),
    (b"{\"hooks\": []}", "\"hooks\" is not an object"),
    (b"{\"hooks\": {\"Stop\": {}}}", "is not an array"),
])
def test_install_refuses_what_is_not_settings(tmp_path, content, what):
    path = os.path.join(str(tmp_path), "settings.json")
    write(path, content)
    rc, out, err, _ = install(tmp_path, settings=path)
    assert rc == 2, (out, err)
    assert what in err and path in err
    assert out == ""
    assert read_bytes(path) == content
    assert not os.path.exists(path + ".bak")
    assert sorted(os.listdir(str(tmp_path))) == ["settings.json"]


@pytest.mark.needs("rpg")
def test_uninstall_refuses_what_is_not_json(tmp_path):
    path = os.path.join(str(tmp_path), "settings.json")
    write(path, b"not json")
    rc, out, err, _ = uninstall(tmp_path, path)
    assert rc == 2 and "not valid JSON" in err
    assert read_bytes(path) == b"not json"


@pytest.mark.needs("rpg")
def test_install_refuses_a_file_too_large(tmp_path):
    cap = limits()["CFG_HOOKS_SETTINGS_BYTES"]
    path = os.path.join(str(tmp_path), "settings.json")
    content = json.dumps({"pad": "x" * cap}).encode()
    write(path, content)
    rc, out, err, _ = install(tmp_path, settings=path)
    assert rc == 2 and "CFG_HOOKS_SETTINGS_BYTES" in err
    assert read_bytes(path) == content


@pytest.mark.needs("rpg")
def test_install_reads_the_config_as_roostd_does(tmp_path):
    port, port2 = free_ports(2)
    path = os.path.join(str(tmp_path), "settings.json")
    write(os.path.join(str(tmp_path), "roost.conf"), f"rpg.port = {port}\n")
    rc, out, err, _ = install(tmp_path, settings=path)
    assert rc == 0, err
    check_installed(read_json(path), port)
    # the environment over the file, a flag over both
    rc, out, err, _ = install(tmp_path, settings=path, env={"PORT": str(port2)})
    assert rc == 0, err
    check_installed(read_json(path), port2)
    # a bad key is the same error roostd gives
    rc, out, err, _ = install(tmp_path, "--rpg.prot=1", settings=path)
    assert rc == 2 and "rpg.prot" in err
    rc, out, err, _ = install(tmp_path, "--rpg.enabled=false", settings=path)
    assert rc == 2 and "rpg.enabled" in err
    check_installed(read_json(path), port2)


@pytest.mark.needs("rpg")
def test_install_with_a_key_required(tmp_path):
    port = free_ports(1)[0]
    data = os.path.join(str(tmp_path), "data")
    path = os.path.join(str(tmp_path), "claude", "settings.json")
    # auth=key and no key anywhere: refused, nothing written
    rc, out, err, _ = install(tmp_path, f"--rpg.port={port}", "--rpg.auth=key",
                              f"--data_dir={data}", settings=path)
    assert rc == 2 and "--api-key" in err
    assert not os.path.exists(path)
    # the key roostd wrote on its first start
    write(os.path.join(data, "api_key"), "roost_" + "ab" * 32 + "\n")
    rc, out, err, _ = install(tmp_path, f"--rpg.port={port}", "--rpg.auth=key",
                              f"--data_dir={data}", settings=path)
    assert rc == 0, err
    check_installed(read_json(path), port, key_file=os.path.join(data, "api_key"))
    # a relative data_dir is made absolute (the hook runs in Claude's cwd)
    rc, out, err, _ = install(tmp_path, f"--rpg.port={port}", "--rpg.auth=key",
                              "--data_dir=./data", settings=path)
    assert rc == 0, err
    check_installed(read_json(path), port, key_file=os.path.join(data, "api_key"))
    # a wildcard bind with auth=auto needs the key and is reached on loopback
    rc, out, err, _ = install(tmp_path, f"--rpg.port={port}", "--rpg.host=0.0.0.0",
                              f"--data_dir={data}", settings=path)
    assert rc == 0, err
    check_installed(read_json(path), port, key_file=os.path.join(data, "api_key"))
    # --api-key: written beside the settings, 0600, never on the command line
    key = "roost_" + "cd" * 32
    rc, out, err, _ = install(tmp_path, f"--rpg.port={port}", "--rpg.auth=key",
                              f"--data_dir={data}", "--api-key", key, settings=path)
    assert rc == 0, err
    kf = os.path.join(str(tmp_path), "claude", "roost-hook.key")
    assert read_bytes(kf) == (key + "\n").encode()
    assert stat.S_IMODE(os.stat(kf).st_mode) == 0o600
    s = read_json(path)
    check_installed(s, port, key_file=kf)
    assert key not in json.dumps(s)
    # an --api-key-file that holds no key is refused
    write(os.path.join(str(tmp_path), "empty.key"), "\n")
    rc, out, err, _ = install(tmp_path, f"--rpg.port={port}",
                              "--api-key-file", os.path.join(str(tmp_path), "empty.key"),
                              settings=path)
    assert rc == 2 and "--api-key-file" in err
    check_installed(read_json(path), port, key_file=kf)
    # uninstall takes the key file too
    rc, out, err, _ = uninstall(tmp_path, path)
    assert rc == 0, err
    assert read_json(path) == {} and not os.path.exists(kf)


@pytest.mark.needs("rpg")
def test_install_without_a_key_on_loopback(tmp_path):
    port = free_ports(1)[0]
    data = os.path.join(str(tmp_path), "data")
    write(os.path.join(data, "api_key"), "roost_" + "ab" * 32 + "\n")
    path = os.path.join(str(tmp_path), "settings.json")
    rc, out, err, _ = install(tmp_path, f"--rpg.port={port}", f"--data_dir={data}",
                              settings=path)
    assert rc == 0, err
    check_installed(read_json(path), port)          # auto on loopback: open, no key


def test_hooks_usage(tmp_path):
    rc, out, err, _ = run(["hooks"], tmp_path)
    assert rc == 2 and "install or uninstall" in err
    rc, out, err, _ = run(["hooks", "--help"], tmp_path)
    assert rc == 0 and "hooks install" in out and "roostd hook <HookType>" in out
    rc, out, err, _ = run(["hooks", "uninstall", "--rpg.port=1"], tmp_path)
    assert rc == 2
    rc, out, err, _ = run(["--help"], tmp_path)
    assert rc == 0 and "roostd hooks install|uninstall" in out and "roostd hook <HookType>" in out


# ---- roostd hook --------------------------------------------------------------

class Capture:
    """A one-thread HTTP server that records every request and answers 200."""

    def __init__(self):
        self.requests = []
        cap = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                cap.requests.append((self.path, dict(self.headers), body))
                out = b'{"success":true,"data":{"received":true},"ok":true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/event"):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def capture():
    c = Capture()
    yield c
    c.close()


BODY = {
    "session_id": "5f1e6a3c-9a77-4b2e-8f9d-1c2b3a4d5e6f",
    "transcript_path": "/home/me/.claude/projects/p/5f1e.jsonl",
    "cwd": "/home/me/proj",
    "permission_mode": "default",
    "hook_event_name": "PreToolUse",
    "tool_name": "Bash",
    "tool_input": {"command": "npm test", "description": "Run the suite \u00e9\u2603"},
    "tool_use_id": "toolu_01AbCdEfGh",
}


def hook(args, tmp, stdin, env=None):
    return run(["hook"] + list(args), tmp, env=env, stdin=stdin)


def test_hook_posts_the_body_with_the_script_fields(tmp_path, capture):
    raw = json.dumps(BODY, indent=2, ensure_ascii=False).encode() + b"\n"
    kf = os.path.join(str(tmp_path), "key")
    write(kf, "  roost_secret \n")
    before = int(time.time() * 1000)
    rc, out, err, _ = hook(["PreToolUse", "--url", capture.url(), "--key-file", kf], tmp_path,
                           raw, env={"TMUX_PANE": "%3"})
    after = int(time.time() * 1000)
    assert (rc, out, err) == (0, "", "")
    assert len(capture.requests) == 1
    path, headers, body = capture.requests[0]
    assert path == "/event"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-API-Key"] == "roost_secret"
    # the body as sent up to its closing brace, then the four fields
    assert body.startswith(raw.rstrip()[:-1].rstrip())
    got = json.loads(body)
    sent = dict(got)
    for k in ("hookType", "timestamp", "tmuxTarget", "paneId"):
        del sent[k]
    assert sent == BODY
    assert got["hookType"] == "PreToolUse"
    assert before <= got["timestamp"] <= after
    assert got["tmuxTarget"] is None and got["paneId"] == "%3"


def test_hook_bodies_of_other_shapes(tmp_path, capture):
    # an empty object takes the fields alone; no pane: null; --key
    rc, out, err, _ = hook(["Stop", "--url", capture.url("/x"), "--key=k1"], tmp_path, b" {} ")
    assert (rc, out) == (0, "")
    path, headers, body = capture.requests[-1]
    got = json.loads(body)
    assert path == "/x" and headers["X-API-Key"] == "k1"
    assert set(got) == {"hookType", "timestamp", "tmuxTarget", "paneId"}
    assert got["hookType"] == "Stop" and got["paneId"] is None
    # not an object: sent as it is, no key header
    for raw in (b"[1, 2]", b"not json", b""):
        rc, out, err, _ = hook(["Stop", "--url", capture.url()], tmp_path, raw)
        assert (rc, out) == (0, "")
        path, headers, body = capture.requests[-1]
        assert body == raw and "X-API-Key" not in headers
    # a field the body has already: the script's value comes last (and wins)
    rc, out, err, _ = hook(["Notification", "--url", capture.url()], tmp_path,
                           b'{"hookType":"x","message":"hi"}')
    assert json.loads(capture.requests[-1][2])["hookType"] == "Notification"


def test_hook_skips_a_body_too_large(tmp_path, capture):
    cap = limits()["CFG_HOOK_BODY_BYTES"]
    raw = json.dumps({"pad": "x" * cap}).encode()
    rc, out, err, _ = hook(["PostToolUse", "--url", capture.url()], tmp_path, raw,
                           env={"ROOST_HOOK_DEBUG": "1"})
    assert (rc, out) == (0, "")
    assert "CFG_HOOK_BODY_BYTES" in err
    assert capture.requests == []


def test_hook_when_roost_is_down(tmp_path):
    port = free_ports(1)[0]
    url = f"http://127.0.0.1:{port}/event"
    rc, out, err, took = hook(["Stop", "--url", url], tmp_path, b"{}")
    assert (rc, out, err) == (0, "", "")
    rc, out, err, took = hook(["Stop", "--url", url], tmp_path, b"{}",
                              env={"ROOST_HOOK_DEBUG": "1"})
    assert (rc, out) == (0, "") and "not there" in err
    # usage mistakes never fail the hook either
    for args in ([], ["Stop", "--url"], ["Stop", "--url", "https://x/event"], ["Stop", "--bad"]):
        rc, out, err, took = hook(args, tmp_path, b"{}")
        assert (rc, out, err) == (0, "", ""), args


def test_hook_when_roost_never_answers(tmp_path):
    """A listener that accepts (the backlog does) and never answers: the
    hook gives up (its CFG_HOOK_TIMEOUT_MS) and exits 0: it says it gave up
    for lack of an answer in time, not for another reason. (run's subprocess
    timeout only guards against a hook that hangs; no time is asserted.)"""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    try:
        url = f"http://127.0.0.1:{s.getsockname()[1]}/event"
        rc, out, err, took = hook(["Stop", "--url", url], tmp_path, b'{"a":1}',
                                  env={"ROOST_HOOK_DEBUG": "1"})
        assert (rc, out) == (0, "")
        assert "in time" in err
    finally:
        s.close()


@pytest.mark.needs("rpg")
def test_installed_command_posts_where_install_said(tmp_path, capture):
    """The command install writes, run as Claude Code runs it (sh -c), with
    the key file install chose."""
    path = os.path.join(str(tmp_path), "settings.json")
    rc, out, err, _ = install(tmp_path, f"--rpg.port={capture.port}", "--rpg.auth=key",
                              "--api-key", "roost_k", settings=path)
    assert rc == 0, err
    cmd = ours(read_json(path), "UserPromptSubmit")[0]["command"]
    p = subprocess.run(["sh", "-c", cmd], input=b'{"prompt":"hi"}', capture_output=True,
                       env=clean_env({"TMUX_PANE": "%7"}), timeout=10.0 * SLOW)
    assert (p.returncode, p.stdout, p.stderr) == (0, b"", b"")
    path_, headers, body = capture.requests[-1]
    got = json.loads(body)
    assert path_ == "/event" and headers["X-API-Key"] == "roost_k"
    assert got["prompt"] == "hi" and got["hookType"] == "UserPromptSubmit"
    assert got["paneId"] == "%7"


@pytest.mark.needs("rpg")
@pytest.mark.parametrize("auth", ["auto", "key"])
def test_installed_hooks_reach_the_real_listener(tmp_path, auth):
    """install against a running roostd (its own config flags), then the
    handler's command as Claude Code runs it: rpg's POST /event takes it, with
    the key from roostd's own api_key file when the listener wants one."""
    srv = roostlib.Server(tmp_path / "srv", args=[f"--rpg.auth={auth}"]).start()
    try:
        port = srv.ports["rpg"]
        path = os.path.join(str(tmp_path), "settings.json")
        rc, out, err, _ = install(tmp_path, f"--rpg.port={port}", f"--rpg.auth={auth}",
                                  f"--data_dir={srv.data_dir}", settings=path)
        assert rc == 0, err
        kf = os.path.join(srv.data_dir, "api_key") if auth == "key" else None
        check_installed(read_json(path), port, key_file=kf)
        body = json.dumps(dict(BODY, hook_event_name="SessionStart", source="startup"))
        for ev in ("SessionStart", "PreToolUse"):
            cmd = ours(read_json(path), ev)[0]["command"]
            p = subprocess.run(["sh", "-c", cmd], input=body.encode(), capture_output=True,
                               env=clean_env({"ROOST_HOOK_DEBUG": "1", "TMUX_PANE": "%999"}),
                               timeout=10.0 * SLOW)
            assert (p.returncode, p.stdout) == (0, b"")
            assert b" 200 " in p.stderr, p.stderr
        if auth == "key":
            # the same hook without the key: refused by roost, still exit 0
            url = f"http://127.0.0.1:{port}/event"
            rc, out, err, _ = hook(["Stop", "--url", url], tmp_path, b"{}",
                                   env={"ROOST_HOOK_DEBUG": "1"})
            assert (rc, out) == (0, "") and " 401 " in err
        assert srv.alive()
    finally:
        srv.stop()
