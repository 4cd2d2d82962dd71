"""Helpers for the rpg family's live half (spec rpg.md §1-§6, §9, §10): a
private tmux server with a stand-in Claude Code on its PATH, a roostd
watching it, the rpg envelope, /ws clients. Used by test_rpg_*.py and by
bench/rpg_*.py.

The tmux server. tmux puts its socket in $TMUX_TMPDIR/tmux-<uid>/default,
so a test that gives its own tmux commands and roostd the same private
TMUX_TMPDIR (and no TMUX) has a server of its own: Tmux.start() starts it
(`new-session -d -s main -x 200 -y 50`), Tmux.cleanup() kills it
(`kill-server`). The server is started with a PATH whose first entry is
the test bin dir holding data/fake_claude as `claude`, and a config file
that makes every pane a plain `bash --noprofile --norc` (a login shell
would read /etc/profile, which resets PATH and loses the fake). The
directory is short and under /tmp: a unix socket path has ~100 bytes.

roostd runs `tmux` from its own PATH with its own environment
(rpg_server): TMUX_TMPDIR set, TMUX unset, the test bin dir on PATH too
(tmux gives a pane that an unattached client creates that client's PATH,
so `claude` typed by new-claude must be found there). With a TmuxWrapper, PATH starts
with a directory whose `tmux` (data/tmux_wrapper) hangs, floods or fails
the tmux commands its control file names, and execs the real tmux for the
others; it logs every call with its pid.

tmux missing is a failure, not a skip (tools/deps.sh installs it).
"""

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse

import pytest

import roostlib
from roostlib import IO_TIMEOUT, SLOW, RPG_TS, Server, assert_error_shape, wait_for
import wslib
from wslib import OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, Assembler, build_frame

FAM = "rpg"
HERE = os.path.dirname(os.path.abspath(__file__))
FAKE_CLAUDE = os.path.join(HERE, "data", "fake_claude")
TMUX_WRAPPER = os.path.join(HERE, "data", "tmux_wrapper")

# The tests' poll interval (rpg.poll_interval_ms, >= 10): short, so a tmux
# change reaches roostd's state quickly. The terminal capture cadence is
# not configurable (§3.3: 250 ms while the content changes, up to 5000 ms
# after 5 unchanged captures), so a wait for a capture allows 5 s and then
# some.
POLL_MS = 50
STATE_TIMEOUT = 5.0 * SLOW           # a tmux change reaching GET /api/windows
CAPTURE_TIMEOUT = 12.0 * SLOW        # a pane's output reaching roostd (<= 5 s cadence)
CHILD_DEADLINE_S = 5.0               # CFG_CHILD_DEADLINE_MS (config.h)
ACTION_TIMEOUT = (CHILD_DEADLINE_S + 10.0) * SLOW   # an action whose child hangs

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

_REAL_TMUX = None


def real_tmux():
    """The tmux binary on the test runner's PATH; missing is a failure."""
    global _REAL_TMUX
    if _REAL_TMUX is None:
        path = shutil.which("tmux")
        if path is None:
            raise AssertionError("tmux is not installed (the rpg family needs it; "
                                 "tools/deps.sh installs it)")
        _REAL_TMUX = os.path.realpath(path)
    return _REAL_TMUX


def child_limit(name, default):
    """A CFG_CHILD_* limit from `roostd --limits`, else config.h's default."""
    v = roostlib.limits().get(name)
    if isinstance(v, int):
        return v
    with open(os.path.join(roostlib.REPO, "config.h")) as f:
        m = re.search(r"^#define %s \(?(\d+)" % name, f.read(), re.M)
    return int(m.group(1)) if m else default


def base_env():
    """The environment of the test's tmux commands: roostlib's clean one,
    without TMUX (a runner inside tmux must not reach its own server)."""
    env = roostlib.clean_env()
    for k in ("TMUX", "TMUX_PANE", "TMUX_TMPDIR"):
        env.pop(k, None)
    return env


TMUX_CONF = """\
set -g default-shell /bin/bash
set -g default-command "exec /bin/bash --noprofile --norc"
set -g default-size 200x50
set -g history-limit 5000
set -g remain-on-exit off
set -g automatic-rename off
"""


class Tmux:
    """A private tmux server with the fake claude on its PATH."""

    def __init__(self, prefix="rpg-"):
        self.root = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
        self.tmpdir = os.path.join(self.root, "t")
        os.mkdir(self.tmpdir, 0o700)
        self.bin = os.path.join(self.root, "bin")
        os.mkdir(self.bin)
        self.claude = os.path.join(self.bin, "claude")
        shutil.copyfile(FAKE_CLAUDE, self.claude)
        os.chmod(self.claude, 0o755)
        self.conf = os.path.join(self.root, "tmux.conf")
        with open(self.conf, "w") as f:
            f.write(TMUX_CONF)
        self.tmux = real_tmux()
        env = base_env()
        env["TMUX_TMPDIR"] = self.tmpdir
        env["LANG"] = "C.UTF-8"
        env["LC_ALL"] = "C.UTF-8"
        env["SHELL"] = "/bin/bash"
        env["PATH"] = self.bin + os.pathsep + env.get("PATH", "/usr/bin:/bin")
        self.env = env
        self.started = False

    # -- server ---------------------------------------------------------------
    def start(self, session="main"):
        self.run("-f", self.conf, "new-session", "-d", "-s", session, "-x", "200", "-y", "50")
        self.started = True
        return self

    def kill(self):
        subprocess.run([self.tmux, "kill-server"], env=self.env, capture_output=True,
                       timeout=10 * SLOW)
        self.started = False

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def run(self, *args, check=True):
        p = subprocess.run([self.tmux, "-u"] + list(args), env=self.env, capture_output=True,
                           text=True, timeout=10 * SLOW)
        if check and p.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        return p.stdout

    # -- windows and panes ----------------------------------------------------
    def new_window(self, cmd=None, name=None, cwd=None, session="main"):
        """A new window (not selected): (window id, pane id). cmd: argv of
        the pane's process (default: the shell)."""
        args = ["new-window", "-d", "-P", "-F", "#{window_id} #{pane_id}", "-t", f"{session}:"]
        if name is not None:
            args += ["-n", name]
        if cwd is not None:
            args += ["-c", cwd]
        if cmd:
            args += ["--"] + list(cmd)
        wid, pid = self.run(*args).split()
        return wid, pid

    def new_session(self, name, cwd=None):
        args = ["new-session", "-d", "-s", name, "-x", "200", "-y", "50", "-P", "-F",
                "#{window_id} #{pane_id}"]
        if cwd is not None:
            args += ["-c", cwd]
        wid, pid = self.run(*args).split()
        return wid, pid

    def new_shell_window(self, **kw):
        wid, pid = self.new_window(None, **kw)
        self.wait_shell(pid)
        return wid, pid

    def new_claude_window(self, args=(), **kw):
        """A window whose pane runs the fake claude directly (its root
        process is `claude`); returns once its prompt is on screen."""
        wid, pid = self.new_window([self.claude] + list(args), **kw)
        self.wait_text(pid, "Welcome to Claude Code")
        return wid, pid

    def split(self, target, cmd=None):
        args = ["split-window", "-d", "-P", "-F", "#{pane_id}", "-t", target]
        if cmd:
            args += ["--"] + list(cmd)
        return self.run(*args).strip()

    def kill_window(self, wid):
        self.run("kill-window", "-t", wid)

    def kill_pane(self, pid):
        self.run("kill-pane", "-t", pid)

    PANE_FMT = ("#{pane_id}\t#{window_id}\t#{session_name}\t#{window_index}\t#{pane_index}\t"
                "#{pane_active}\t#{pane_width}\t#{pane_height}\t#{pane_pid}\t"
                "#{pane_current_command}\t#{pane_dead}\t#{window_name}")

    def panes(self):
        out = self.run("list-panes", "-a", "-F", self.PANE_FMT, check=False)
        res = []
        for line in out.splitlines():
            f = line.split("\t")
            if len(f) < 12:
                continue
            res.append({"id": f[0], "window": f[1], "session": f[2], "windowIndex": int(f[3]),
                        "index": int(f[4]), "active": f[5] == "1", "width": int(f[6]),
                        "height": int(f[7]), "pid": int(f[8]), "command": f[9],
                        "dead": f[10] == "1", "windowName": f[11]})
        return res

    def pane(self, pid):
        for p in self.panes():
            if p["id"] == pid:
                return p
        return None

    def windows(self):
        out = self.run("list-windows", "-a", "-F",
                       "#{window_id}\t#{session_name}\t#{window_index}\t#{window_name}",
                       check=False)
        res = []
        for line in out.splitlines():
            f = line.split("\t")
            res.append({"id": f[0], "session": f[1], "index": int(f[2]), "name": f[3]})
        return res

    def window(self, wid):
        for w in self.windows():
            if w["id"] == wid:
                return w
        return None

    def capture(self, pid, lines=300):
        return self.run("capture-pane", "-p", "-J", "-t", pid, "-S", f"-{lines}")

    def send_keys(self, pid, *keys):
        self.run("send-keys", "-t", pid, *keys)

    def send_text(self, pid, text):
        """Literal text (no key-name lookup), no Enter."""
        self.run("send-keys", "-t", pid, "-l", text)

    def type_line(self, pid, text):
        self.send_text(pid, text)
        self.send_keys(pid, "Enter")

    def wait_text(self, pid, text, timeout=10.0 * SLOW, count=1):
        """Until the pane shows text (at least count times); the capture."""
        last = [""]

        def seen():
            last[0] = self.capture(pid)
            return last[0].count(text) >= count

        try:
            wait_for(seen, timeout, interval=0.05, what=f"{text!r} in pane {pid}")
        except AssertionError as e:
            raise AssertionError(f"{e}; the pane shows:\n{last[0][-2000:]}") from None
        return last[0]

    def wait_command(self, pid, name, timeout=10.0 * SLOW):
        """Until tmux's pane_current_command of the pane is name."""
        wait_for(lambda: (self.pane(pid) or {}).get("command") == name, timeout,
                 interval=0.05, what=f"pane {pid} running {name} "
                 f"(now {(self.pane(pid) or {}).get('command')!r})")

    def wait_shell(self, pid, timeout=10.0 * SLOW):
        """Until the pane's bash shows its first prompt."""
        wait_for(lambda: self.capture(pid).strip() != "", timeout, interval=0.05,
                 what=f"a prompt in pane {pid}")

    def snapshot(self):
        """The sessions and windows there are now (for restore)."""
        out = self.run("list-windows", "-a", "-F", "#{session_name}\t#{window_id}", check=False)
        pairs = [line.split("\t") for line in out.splitlines() if "\t" in line]
        return {s for s, _ in pairs}, {w for _, w in pairs}

    def restore(self, snap):
        """Kill the sessions and windows made since snap: roostd keeps a
        bounded number of windows and Claude panes (CFG_RPG_WINDOWS,
        CFG_RPG_CLAUDE), so every test leaves the server as it found it."""
        sessions, windows = snap
        now_s, now_w = self.snapshot()
        for s in now_s - sessions:
            self.run("kill-session", "-t", s, check=False)
        for w in now_w - windows:
            self.run("kill-window", "-t", w, check=False)

    def pane_children(self, pid):
        """Pids of the direct children of the pane's root process."""
        root = self.pane(pid)["pid"]
        try:
            with open(f"/proc/{root}/task/{root}/children") as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            return []


class TmuxWrapper:
    """The `tmux` roostd finds first on its PATH (data/tmux_wrapper)."""

    def __init__(self, root):
        self.dir = os.path.join(root, "wbin")
        os.makedirs(self.dir, exist_ok=True)
        path = os.path.join(self.dir, "tmux")
        shutil.copyfile(TMUX_WRAPPER, path)
        os.chmod(path, 0o755)
        self.ctl = os.path.join(root, "wrapper.ctl")
        self.log = os.path.join(root, "wrapper.log")
        open(self.log, "w").close()

    def env(self):
        return {"RPG_TMUX_CTL": self.ctl, "RPG_TMUX_LOG": self.log,
                "RPG_REAL_TMUX": real_tmux()}

    def set(self, *rules):
        """rules: (mode, tmux command) pairs; none: every command passes."""
        tmp = self.ctl + ".tmp"
        with open(tmp, "w") as f:
            for mode, cmd in rules:
                f.write(f"{mode} {cmd}\n")
        os.replace(tmp, self.ctl)

    def clear(self):
        self.set()

    def entries(self):
        """(mode, command, pid) of every call so far, in order."""
        with open(self.log) as f:
            out = []
            for line in f:
                parts = line.split()
                if len(parts) == 3:
                    out.append((parts[0], parts[1], int(parts[2])))
            return out

    def calls(self, mode=None, cmd=None):
        """Entries of this mode whose chain of tmux commands has cmd."""
        return [e for e in self.entries()
                if (mode is None or e[0] == mode) and (cmd is None or cmd in e[1].split("+"))]


def pid_gone(pid):
    """The process no longer exists. A zombie still exists: whoever
    started it (roostd) must reap it."""
    return pid_state(pid) is None


def pid_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


# ---------------------------------------------------------------------------
# roostd
# ---------------------------------------------------------------------------

def rpg_server(workdir, tmux, args=(), wrapper=None, poll_ms=POLL_MS, env=None, start=True):
    """A roostd with only the rpg family, watching tmux's server: its
    TMUX_TMPDIR, no TMUX, PATH with the wrapper's dir first when given."""
    others = [f"--{f}.enabled=false" for f in roostlib.built_families() if f != FAM]
    argv = others + ([f"--rpg.poll_interval_ms={poll_ms}"] if poll_ms else []) + list(args)
    extra = {"TMUX_TMPDIR": tmux.tmpdir}
    # tmux gives a pane made by a client outside tmux (roostd's split-window
    # for new-claude) that client's PATH: the fake claude must be on it.
    path = tmux.bin + os.pathsep + base_env().get("PATH", "/usr/bin:/bin")
    if wrapper is not None:
        extra.update(wrapper.env())
        path = wrapper.dir + os.pathsep + path
    extra["PATH"] = path
    if env:
        extra.update(env)
    srv = Server(workdir, args=argv, env=extra)
    for k in ("TMUX", "TMUX_PANE"):
        srv.env.pop(k, None)
    srv.ports = {FAM: srv.ports[FAM]}
    if start:
        srv.start()
    return srv


# ---------------------------------------------------------------------------
# HTTP: the envelope (§1.1), status codes (§1.2), ids in paths (§1.4)
# ---------------------------------------------------------------------------

def enc(tmux_id):
    """A tmux id as a path parameter: percent-encoded once, so `%3` is
    `%253` and `@7` is `%407` (§1.4)."""
    return urllib.parse.quote(tmux_id, safe="")


def call(srv, method, path, body=None, headers=None, timeout=IO_TIMEOUT):
    """One request; body: a dict/list (sent as JSON), bytes or str (as is)."""
    h = dict(headers or {})
    data = body
    if body is not None and not isinstance(body, (bytes, str)):
        data = json.dumps(body).encode("utf-8")
    if data is not None:
        h.setdefault("Content-Type", "application/json")
    return srv.request(FAM, method, path, headers=h, body=data, timeout=timeout)


def ok(resp):
    """A success envelope: 200, JSON, success and ok true; returns data."""
    assert resp.status == 200, f"expected 200: {resp!r}"
    assert resp.header("Content-Type") == "application/json", resp
    j = resp.json()
    assert j.get("success") is True and j.get("ok") is True, f"rpg envelope: {j}"
    assert "data" in j, f"no data: {j}"
    assert "error" not in j and "message" not in j, f"error fields on a success: {j}"
    return j["data"]


def fail(resp, status, code, message=None):
    """A failure envelope (§1.1, §1.2) with this status and code."""
    return assert_error_shape(FAM, resp, status, code=code, message=message)


def get_state(srv):
    try:
        return ok(call(srv, "GET", "/api/windows"))
    except http.client.IncompleteRead as e:
        raise AssertionError(f"GET /api/windows: the answer was cut ({e!r}); roostd's log: "
                             f"{srv.stderr()[-600:]}") from None


def find_pane(state, pane_id):
    for p in state["panes"]:
        if p["id"] == pane_id:
            return p
    return None


def find_window(state, window_id):
    for w in state["windows"]:
        if w["id"] == window_id:
            return w
    return None


def wait_state(srv, pred, what, timeout=STATE_TIMEOUT):
    """Poll GET /api/windows until pred(state) is truthy; (state, value)."""
    last = [None]

    def check():
        last[0] = get_state(srv)
        return pred(last[0])

    try:
        v = wait_for(check, timeout, interval=0.03, what=what)
    except AssertionError as e:
        raise AssertionError(f"{e}; last state: {brief_state(last[0])}") from None
    return last[0], v


def brief_state(state):
    """A state in a few lines: window id, name, its panes' ids and types."""
    if not state:
        return repr(state)
    return "; ".join(f"{w['id']} {w['sessionName']}:{w['windowIndex']} {w['windowName']!r} "
                     + ",".join(f"{p['id']}={p['process']['type']}"
                                + (f"/{p['process']['claudeSession'].get('status')}"
                                   if "claudeSession" in p["process"] else "")
                                for p in w["panes"]) for w in state.get("windows", []))


def wait_pane(srv, pane_id, pred=lambda p: True, what=None, timeout=STATE_TIMEOUT):
    """Until the pane is in the state and pred(pane); the pane."""
    _, p = wait_state(srv, lambda s: (lambda p: p if p is not None and pred(p) else None)(
        find_pane(s, pane_id)), what or f"pane {pane_id} in GET /api/windows", timeout)
    return p


def wait_gone(srv, pane_id=None, window_id=None, timeout=STATE_TIMEOUT):
    wait_state(srv, lambda s: (pane_id is None or find_pane(s, pane_id) is None)
               and (window_id is None or find_window(s, window_id) is None),
               f"{pane_id or window_id} gone from GET /api/windows", timeout)


def session_of(pane):
    """process.claudeSession of a pane from the state (or None)."""
    return (pane or {}).get("process", {}).get("claudeSession")


def wait_claude(srv, pane_id, pred=lambda cs: True, what=None, timeout=CAPTURE_TIMEOUT):
    """Until the pane is a Claude pane whose claudeSession satisfies pred."""
    p = wait_pane(srv, pane_id, lambda p: p["process"]["type"] == "claude"
                  and session_of(p) is not None and pred(session_of(p)),
                  what or f"pane {pane_id} as a Claude pane", timeout)
    return p


def wait_status(srv, pane_id, status, timeout=CAPTURE_TIMEOUT):
    return session_of(wait_claude(srv, pane_id, lambda cs: cs.get("status") == status,
                                  f"pane {pane_id} status {status}", timeout))


def post_event(srv, body, headers=None):
    """POST /event; the answer must be 200 {"received": true} (§4.2)."""
    r = call(srv, "POST", "/event", body, headers=headers)
    assert r.status == 200, f"POST /event answered {r!r}"
    j = r.json()
    assert j == {"success": True, "data": {"received": True}, "ok": True}, j
    return j


def strip_content(x):
    """A copy of a state/windows payload without terminalContent (what
    `windows` change detection compares, §9.2)."""
    if isinstance(x, dict):
        return {k: strip_content(v) for k, v in x.items() if k != "terminalContent"}
    if isinstance(x, list):
        return [strip_content(v) for v in x]
    return x


def js_hash(s):
    """The §4.9 hash: h = (h << 5) - h + c over UTF-16 code units, 32-bit
    signed, wrapping."""
    data = s.encode("utf-16-le")
    h = 0
    for i in range(0, len(data), 2):
        c = data[i] | (data[i + 1] << 8)
        h = ((h << 5) - h + c) & 0xFFFFFFFF
    return h - (1 << 32) if h >= (1 << 31) else h


def avatar_url(session_id):
    return f"/api/avatars/{abs(js_hash(session_id))}"


def now_ms():
    return int(time.time() * 1000)


# ---------------------------------------------------------------------------
# /ws (§9)
# ---------------------------------------------------------------------------

CONNECT_TYPES = ["connected", "windows", "companions", "quests_init"]


class Closed(AssertionError):
    def __init__(self, code, reason):
        super().__init__(f"connection closed by the server: {code} {reason!r}")
        self.code = code
        self.reason = reason


class Client:
    """A /ws client on wslib.WS (server pings answered while reading).
    connect: read and check the four on-connect messages (§9.1), kept in
    .connect. Every message read is appended to .log."""

    def __init__(self, srv, path="/ws", connect=True, timeout=IO_TIMEOUT, **kw):
        self.ws = wslib.WS(srv.ports[FAM], path=path, read_init=False, timeout=timeout, **kw)
        self.log = []
        self.connect = None
        if connect:
            self.connect = [self.recv() for _ in CONNECT_TYPES]
            got = [m.get("type") for m in self.connect]
            assert got == CONNECT_TYPES, f"on-connect messages {got}, expected {CONNECT_TYPES}"

    def close(self):
        self.ws.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def recv(self, timeout=None):
        """The next data message as JSON; a close frame raises Closed."""
        m = self.ws.recv_message(timeout=timeout)
        if m.opcode == OP_CLOSE:
            code = m.frame.close_code
            raise Closed(code, m.frame.close_reason if code is not None else "")
        j = m.json()
        self.log.append(j)
        return j

    def wait(self, pred, what, timeout=CAPTURE_TIMEOUT):
        """Read until a message satisfies pred; returns it."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"/ws: no {what} within {timeout:.1f}s; got "
                                     f"{[summary(m) for m in seen][-20:]}")
            try:
                m = self.recv(timeout=left)
            except AssertionError as e:
                if isinstance(e, Closed):
                    raise
                raise AssertionError(f"/ws: no {what} within {timeout:.1f}s ({e}); got "
                                     f"{[summary(m) for m in seen][-20:]}") from None
            seen.append(m)
            if pred(m):
                return m

    def wait_type(self, typ, pred=lambda m: True, what=None, timeout=CAPTURE_TIMEOUT):
        return self.wait(lambda m: m.get("type") == typ and pred(m), what or typ, timeout)

    def drain(self, seconds):
        """Everything that arrives within seconds."""
        out = []
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            if not self.ws.raw.buf and not roostlib.readable(self.ws.sock, left):
                return out
            out.append(self.recv(timeout=max(left, 0.05) + IO_TIMEOUT))

    def since(self, index):
        return self.log[index:]


def summary(m):
    """A short description of a message for failure reports."""
    t = m.get("type")
    if t == "windows":
        return ("windows", [(w.get("id"), w.get("windowName")) for w in m.get("payload", [])])
    if t in ("pane_update",):
        return (t, m.get("paneId"), (m.get("session") or {}).get("status"))
    if t in ("terminal_output",):
        return (t, (m.get("payload") or {}).get("paneId"))
    if t == "event":
        p = m.get("payload") or {}
        return (t, p.get("eventType"), p.get("paneId"))
    return (t,)


MSG_TYPE = re.compile(rb'"type"\s*:\s*"([a-z_]+)"')


class Reader:
    """A /ws client on a plain socket read by a thread, for many clients
    and slow ones (the bench and the backpressure tests). Messages are
    kept as (type, parsed JSON or None, payload length, arrival time);
    types in `skip_parse` are not parsed (the type is read from the
    payload's first "type" key). Server pings are answered while reading.
    A client made with start=False reads nothing until start()."""

    def __init__(self, port, rcvbuf=None, mss=None, start=True, skip_parse=(), path="/ws"):
        self.sock, first = wslib.open_socket(port, path=path, rcvbuf=rcvbuf, mss=mss)
        if mss is not None:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.skip_parse = set(skip_parse)
        self.rest = b""
        self.asm = Assembler()
        self.messages = []
        self.close_frame = None       # (code, reason)
        self.bytes_in = 0
        self.eof = False
        self.error = None
        self.stopping = False
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.thread = None
        self.pending_first = first
        if start:
            self.start()

    def _parse(self, data):
        frames, self.rest = wslib.parse_frames(self.rest + data)
        now = time.monotonic()
        for f in frames:
            wslib.check_server_frame(f)
            if f.opcode == OP_PING and not self.stopping:
                try:
                    self.sock.sendall(build_frame(OP_PONG, f.payload))
                except OSError:
                    pass
            m = self.asm.add(f)
            if m is None:
                continue
            if m.opcode == OP_CLOSE:
                code = m.frame.close_code
                self.close_frame = (code, m.frame.close_reason if code is not None else "")
                self.messages.append(("__close__", None, len(m.payload), now))
                continue
            assert m.opcode == OP_TEXT, f"non-text message {m!r}"
            mt = MSG_TYPE.search(m.payload[:200])
            typ = mt.group(1).decode() if mt else None
            if typ in self.skip_parse:
                self.messages.append((typ, None, len(m.payload), now))
            else:
                j = json.loads(m.payload)
                self.messages.append((j.get("type"), j, len(m.payload), now))

    def _feed(self, data):
        with self.cond:
            self.bytes_in += len(data)
            self._parse(data)
            self.cond.notify_all()

    def _run(self):
        try:
            if self.pending_first:
                self._feed(self.pending_first)
                self.pending_first = b""
            while not self.stopping:
                try:
                    d = self.sock.recv(1 << 20)
                except socket.timeout:
                    continue
                except ConnectionResetError:
                    d = b""
                if not d:
                    with self.cond:
                        self.eof = True
                        self.cond.notify_all()
                    return
                self._feed(d)
        except (OSError, AssertionError, ValueError) as e:
            if not self.stopping:
                self.error = e
                with self.cond:
                    self.cond.notify_all()

    def start(self):
        if self.thread is None:
            self.sock.settimeout(0.2)
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
        return self

    def wait(self, pred, what, timeout=CAPTURE_TIMEOUT):
        """Until pred(self) holds (under the lock); fails on error/EOF first."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                v = pred(self)
                if v:
                    return v
                if self.error is not None:
                    raise AssertionError(f"reader failed while waiting for {what}: "
                                         f"{self.error!r}")
                if self.eof:
                    raise AssertionError(f"connection ended while waiting for {what} "
                                         f"(close {self.close_frame})")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {what} within {timeout:.1f}s "
                                         f"({len(self.messages)} messages)")
                self.cond.wait(min(left, 0.2))

    def of_type(self, typ):
        with self.lock:
            return [j for t, j, _, _ in self.messages if t == typ]

    def count(self, typ):
        with self.lock:
            return sum(1 for t, _, _, _ in self.messages if t == typ)

    def types(self):
        with self.lock:
            return [t for t, _, _, _ in self.messages]

    def close(self):
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if self.thread is not None:
            self.thread.join(IO_TIMEOUT)
        self.sock.close()


def check_ts(s, what="timestamp"):
    assert isinstance(s, str) and RPG_TS.match(s), f"{what} not ISO 8601 ms UTC: {s!r}"


# ---------------------------------------------------------------------------
# fixtures the rpg test modules share (each binds them to its own names)
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tmux():
    t = Tmux().start()
    yield t
    t.cleanup()


@pytest.fixture(scope="module")
def rpg(roostd, tmux, tmp_path_factory):
    srv = rpg_server(tmp_path_factory.mktemp("rpg"), tmux)
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def clean_tmux(tmux):
    """Each test's windows and sessions go when it ends (roostd keeps a
    bounded number of windows and Claude panes)."""
    snap = tmux.snapshot()
    yield
    tmux.restore(snap)


@pytest.fixture(autouse=True)
def rpg_still_running(request):
    yield
    for name in ("rpg", "wrapped"):
        if name in request.fixturenames:
            srv = request.getfixturevalue(name)
            if not srv.alive():
                pytest.fail(f"roostd died (exit {srv.proc.returncode}) during this test\n"
                            f"{srv.logs()}")
