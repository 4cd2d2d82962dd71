#!/usr/bin/env python3
"""bench/rpg_hooks.py - Claude Code hooks into the rpg family at 1,000 a
second: every hook's XP, persona, companion stats and observability events
landed, p99 latency, roostd's CPU, and whether the /ws clients received
every high-priority message; beside it, optionally, a build without
observability (rpg alone), an older build, or builds with other sizes.

Usage: bench/rpg_hooks.py [path/to/roostd] [--before path/to/old/roostd]
                          [--sessions 8] [--conns 8] [--rate 1000]
                          [--seconds 15] [--closed-seconds 10]
                          [--rpg-clients 4] [--obs-clients 2]
                          [--rpg-alone PATH] [--also NAME=PATH ...]
                          [--rounds 1] [--pin] [--syscalls S]

Setup of a run: --sessions git repositories (`git init`, an origin on
github.com) under a temporary directory, each with a window of a private
tmux server (tests/integration/rpglib.py) whose pane runs the fake claude
(tests/integration/data/fake_claude) in that repository; roostd with the
rpg and observability families (hooks.md Decision 9; only the listeners of
the other three are off), observability.transcript_dirs pointing at a directory with
one transcript per session (a Stop reads its last line and records the
assistant message, hooks.md §5). The bench waits until GET /api/projects
lists every repository (projects are made from the pane's cwd through
git) and GET /api/windows every Claude pane, then connects --rpg-clients
clients to rpg's /ws and --obs-clients to observability's /ws (all read by
one separate process: epoll, server pings answered).

Each session (one per pane) posts the hooks of a turn of Claude Code, 16
of them, again and again: UserPromptSubmit; PreToolUse/PostToolUse of
Read x3 (a 1.5 KB file in tool_response), Edit x2, Bash `npm test`
(failing, tool_response.is_error, one turn in 7) and Bash `git add -A &&
git commit -m ...` (one turn in 3; `git status --short` otherwise); Stop.
Bodies are what the rpg hook script sends (hooks.md §3: paneId,
tmuxTarget, hookType, timestamp besides Claude Code's fields), 0.5-2 KB.

Phases, each on --conns keep-alive connections (session s on connection
s mod conns, so a session's hooks stay in order), driven by one process
(epoll, requests built ahead of their send time):
  1. warm-up: one turn per session, one hook at a time (personas, the
     observability sessions, the statements' first use);
  2. paced: --rate hooks/s in all for --seconds, open loop: hook i is due
     at t0 + i/rate and is written then, whether or not the answers before
     it have arrived (pipelined behind them on its connection); latency is
     from the due time to the end of the answer, so a stall is paid by
     every hook that was due during it (no coordinated omission). Also
     given: latency from the actual write, and how late the client wrote
     (Python's epoll waits whole milliseconds, so writes are 0-1 ms late);
  3. closed loop: for --closed-seconds each connection sends its next hook
     when the last one is answered: the maximum rate;
  4. each session finishes its turn (down to its Stop, so every pane ends
     idle).

Checked after a quiet second, against what was sent (spec rpg.md §8.1,
§8.3, §8.7; hooks.md §4):
  - every answer 200 {"received":true};
  - XP: each persona's totalXp and level, each project's totalXp, and the
    /api/xp/summary of each persona and project (tool_use and git totals
    and counts) equal the XP computed from the hooks sent;
  - companion stats (the `companions` a new /ws client gets on connect):
    toolsUsed Read/Edit/Bash, promptsReceived, sessionsCompleted,
    git.commits, commands.testsRun;
  - "every high-priority message" (rpg.md §9.2: pane_update, pane_removed,
    terminal_output): no rpg client was closed, every rpg client received
    the same sequence of high-priority messages (byte for byte, from the
    warm-up on), and each pane's last pane_update shows the status
    GET /api/windows shows (idle: every session ended with a Stop).
    pane_update is coalesced to one per 50 ms per pane by design (§6.1),
    so there are fewer of them than status changes; low-priority `event`
    messages may be dropped for a paused client (§9.4) and are only
    counted;
  - observability: every obs client received exactly the events the
    hooks map to (implicit session_start, message, pre_tool, post_tool,
    session_stop, the transcript's message), the same bytes, none closed.

With --syscalls S, S more seconds of the closed loop run under `strace -c`
attached to roostd (its own thread; the tmux and git children are not
followed): roostd's system calls per hook. --also NAME=PATH adds another
binary (e.g. a build with other CFG_ sizes), --before PATH an older one,
both run like this one. --rpg-alone PATH adds a build without the
observability family (`observability.enabled=false` only closes its
listener, spec README §2.1: the family still records every hook), run without
the obs clients and checks. Rounds interleave the binaries.

Per run it prints the paced phase's achieved rate, latency p50/p99/max
(from the due time and from the write), roostd's CPU (utime + stime from
/proc) as a share of a core and per hook, the closed loop's hooks/s and
latency, the checks and VmRSS; then the medians per variant and the
ratios. The clients share the machine with roostd: compare the binaries of
one run. --pin puts roostd on CPU 0 and every client on CPU 1. Measures,
does not pass or fail (bench/README.md).
"""

import argparse
import collections
import hashlib
import json
import multiprocessing
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import pct  # noqa: E402
from rpgbench import CLK_TCK, cpu_s, rss_kib  # noqa: E402
import roostlib  # noqa: E402
import rpglib  # noqa: E402
import wslib  # noqa: E402

TURN_HOOKS = 16
# (kind, tool, which) of the 16 hooks of a turn
TURN = ([("prompt", None, 0)]
        + [(k, "Read", i) for i in range(3) for k in ("pre", "post")]
        + [(k, "Edit", i) for i in range(2) for k in ("pre", "post")]
        + [(k, "Bash", "test") for k in ("pre", "post")]
        + [(k, "Bash", "git") for k in ("pre", "post")]
        + [("stop", None, 0)])
assert len(TURN) == TURN_HOOKS

XP = {"Read": 1, "Edit": 3, "Bash": 2}
XP_COMMIT = 15
HIGH = ("pane_update", "pane_removed", "terminal_output")
MSG_TYPE = re.compile(rb'"type"\s*:\s*"([a-z_:]+)"')
FILE_TEXT = ("import { parse } from './parse.js';\n\n" +
             "".join(f"export function step{i}(state, input) {{\n  const next = parse(input, "
                     f"state.options);\n  return {{ ...state, value{i}: next }};\n}}\n\n"
                     for i in range(12)))[:1500]


def commits_in(turn):
    return turn % 3 == 2


def test_fails(turn):
    return turn % 7 == 3


# ---------------------------------------------------------------------------
# the hooks of a session
# ---------------------------------------------------------------------------

class Session:
    """Session s of pane `pane` in repository `cwd`: the hook at position
    p of its stream is a function of p alone (turn p // 16, hook p % 16)."""

    def __init__(self, idx, sid, pane, target, cwd, transcript, tag):
        self.idx, self.sid, self.pane, self.target, self.cwd = idx, sid, pane, target, cwd
        self.transcript = transcript
        self.tag = tag

    def body(self, pos):
        turn, j = divmod(pos, TURN_HOOKS)
        kind, tool, which = TURN[j]
        b = {"session_id": self.sid, "transcript_path": self.transcript, "cwd": self.cwd,
             "permission_mode": "default"}
        name = {"prompt": "UserPromptSubmit", "pre": "PreToolUse", "post": "PostToolUse",
                "stop": "Stop"}[kind]
        b["hook_event_name"] = name
        if kind == "prompt":
            b["prompt"] = (f"Turn {turn}: refactor the parser so that step functions share "
                           f"one options object, then run the suite and commit if green.")
        elif kind == "stop":
            b["stop_hook_active"] = False
        else:
            b["tool_name"] = tool
            b["tool_use_id"] = f"toolu_{self.tag}{self.idx:02d}{turn:06d}{j:02d}"
            path = os.path.join(self.cwd, "src", f"step{(turn + j) % 9}.js")
            if tool == "Read":
                b["tool_input"] = {"file_path": path}
                if kind == "post":
                    b["tool_response"] = {"type": "text", "file": {
                        "filePath": path, "content": FILE_TEXT, "numLines": 60,
                        "startLine": 1, "totalLines": 60}}
            elif tool == "Edit":
                old = f"  return {{ ...state, value{which}: next }};"
                new = f"  return {{ ...state, value{which}: next, turn: {turn} }};"
                b["tool_input"] = {"file_path": path, "old_string": old, "new_string": new,
                                   "replace_all": False}
                if kind == "post":
                    b["tool_response"] = {"filePath": path, "oldString": old,
                                          "newString": new, "originalFile": FILE_TEXT[:400],
                                          "structuredPatch": [{"oldStart": 4, "oldLines": 1,
                                                               "newStart": 4, "newLines": 1,
                                                               "lines": ["-" + old, "+" + new]}],
                                          "userModified": False, "replaceAll": False}
            elif which == "test":
                b["tool_input"] = {"command": "npm test", "description": "Run the test suite"}
                if kind == "post":
                    if test_fails(turn):
                        b["tool_response"] = {"stdout": "  41 passing\n  1 failing\n",
                                              "stderr": "AssertionError: expected 3 to equal 4",
                                              "interrupted": False, "isImage": False,
                                              "is_error": True}
                    else:
                        b["tool_response"] = {"stdout": "  42 passing (1s)\n", "stderr": "",
                                              "interrupted": False, "isImage": False}
            else:
                cmd = (f'git add -A && git commit -m "Share the options object (turn {turn})"'
                       if commits_in(turn) else "git status --short")
                b["tool_input"] = {"command": cmd, "description": "Commit the change"
                                   if commits_in(turn) else "Show the working tree status"}
                if kind == "post":
                    b["tool_response"] = {"stdout": "[main 1a2b3c4] Share the options object\n"
                                          " 3 files changed, 9 insertions(+), 9 deletions(-)\n"
                                          if commits_in(turn) else " M src/step1.js\n",
                                          "stderr": "", "interrupted": False,
                                          "isImage": False}
        # the rpg hook script's additions (hooks.md §3)
        b["hookType"] = name
        b["timestamp"] = int(time.time() * 1000)
        b["tmuxTarget"] = self.target
        b["paneId"] = self.pane
        return json.dumps(b, separators=(",", ":")).encode()

    def request(self, pos):
        body = self.body(pos)
        return (b"POST /event HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


class Tally:
    """What the hooks at positions [0, n) of a session add up to."""

    def __init__(self, n):
        self.xp = 0
        self.tool_xp = self.tool_n = self.git_xp = self.git_n = 0
        self.used = collections.Counter()       # successful post_tool_use per tool
        self.prompts = self.stops = self.tests = self.commits = 0
        self.obs = 0                            # observability events
        self.bodies = 0
        finished = True
        for pos in range(n):
            turn, j = divmod(pos, TURN_HOOKS)
            kind, tool, which = TURN[j]
            if kind in ("prompt", "pre", "post") and finished:
                self.obs += 1                   # implicit session_start (hooks.md §4.3)
                finished = False
            if kind == "prompt":
                self.prompts += 1
                self.obs += 1
            elif kind == "pre":
                self.obs += 1
            elif kind == "stop":
                self.stops += 1
                self.obs += 2                   # session_stop, the transcript's message
                finished = True
            else:
                self.obs += 1
                xp = XP[tool]
                self.tool_xp += xp
                self.tool_n += 1
                ok = not (which == "test" and test_fails(turn))
                if ok:
                    self.used[tool] += 1
                if which == "test" and ok:
                    self.tests += 1
                if which == "git" and commits_in(turn):
                    self.commits += 1
                    self.git_xp += XP_COMMIT
                    self.git_n += 1
        self.xp = self.tool_xp + self.git_xp


def level_of(xp):
    lv = 1
    while xp >= 50 * (lv + 1) * lv:
        lv += 1
    return lv


# ---------------------------------------------------------------------------
# the driver: a process of its own
# ---------------------------------------------------------------------------

def parse_answers(buf):
    """Whole answers at the start of buf: ([(status, body)], bytes used)."""
    out = []
    pos = 0
    while True:
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0:
            break
        status = int(buf[pos + 9:pos + 12])
        i = buf.find(b"Content-Length:", pos, end)
        if i < 0:
            i = buf.find(b"content-length:", pos, end)
        length = 0
        if i >= 0:
            j = buf.find(b"\r\n", i, end + 2)
            length = int(buf[i + 15:j])
        if len(buf) < end + 4 + length:
            break
        out.append((status, bytes(buf[end + 4:end + 4 + length])))
        pos = end + 4 + length
    return out, pos


OK_BODY = b'"received":true'


class Driver:
    def __init__(self, port, sessions, nconns):
        self.sessions = sessions
        self.pos = [0] * len(sessions)
        self.socks = []
        for _ in range(nconns):
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(False)
            self.socks.append(s)
        self.ep = select.epoll()
        self.fd = {s.fileno(): c for c, s in enumerate(self.socks)}
        for s in self.socks:
            self.ep.register(s.fileno(), select.EPOLLIN)
        self.rbuf = [bytearray() for _ in self.socks]
        self.wbuf = [bytearray() for _ in self.socks]
        self.wwatch = [False] * len(self.socks)
        self.bad = collections.Counter()        # non-200 answers and broken connections

    def conn_of(self, s):
        return s % len(self.socks)

    def next_request(self, s):
        req = self.sessions[s].request(self.pos[s])
        self.pos[s] += 1
        return req

    def flush(self, c):
        wb = self.wbuf[c]
        if wb:
            try:
                n = self.socks[c].send(wb)
                del wb[:n]
            except BlockingIOError:
                pass
        want = bool(wb)
        if want != self.wwatch[c]:
            self.ep.modify(self.socks[c].fileno(),
                           select.EPOLLIN | (select.EPOLLOUT if want else 0))
            self.wwatch[c] = want

    def read(self, c):
        """The answers that arrived on connection c: [(status, ok)]."""
        try:
            d = self.socks[c].recv(1 << 18)
        except BlockingIOError:
            return []
        if not d:
            raise ConnectionError(f"connection {c} closed by roostd")
        rb = self.rbuf[c]
        rb += d
        got, used = parse_answers(rb)
        del rb[:used]
        out = []
        for st, body in got:
            ok = st == 200 and OK_BODY in body
            if not ok:
                self.bad[f"{st} {body[:80]!r}"] += 1
            out.append(ok)
        return out

    def one_by_one(self, per_session):
        """per_session[s] hooks of session s, one at a time per connection,
        sessions of a connection in turn (warm-up, finish)."""
        left = list(per_session)
        todo = [[s for s in range(len(self.sessions)) if self.conn_of(s) == c]
                for c in range(len(self.socks))]
        busy = [None] * len(self.socks)

        def kick(c):
            for _ in range(len(todo[c])):
                s = todo[c].pop(0)
                todo[c].append(s)
                if left[s] > 0:
                    left[s] -= 1
                    self.wbuf[c] += self.next_request(s)
                    self.flush(c)
                    busy[c] = s
                    return
            busy[c] = None

        for c in range(len(self.socks)):
            kick(c)
        deadline = time.monotonic() + 120
        while any(b is not None for b in busy):
            if time.monotonic() > deadline:
                raise AssertionError("one-by-one phase stalled")
            for fd, ev in self.ep.poll(1.0):
                c = self.fd[fd]
                if ev & select.EPOLLOUT:
                    self.flush(c)
                if ev & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                    for _ in self.read(c):
                        kick(c)

    def paced(self, rate, seconds):
        n_total = int(rate * seconds)
        ns = len(self.sessions)
        due = [collections.deque() for _ in self.socks]     # (due, written) per answer
        lat, lat_w, late = [], [], []
        period = 1.0 / rate
        t0 = time.monotonic() + 0.05
        i = done = 0
        deadline = t0 + seconds + 60.0
        while done < n_total:
            now = time.monotonic()
            while i < n_total and t0 + i * period <= now:
                s = i % ns
                c = self.conn_of(s)
                d = t0 + i * period
                self.wbuf[c] += self.next_request(s)
                w = time.monotonic()
                self.flush(c)
                due[c].append((d, w))
                late.append(w - d)
                i += 1
                now = time.monotonic()
            if i < n_total:
                timeout = max(0.0, t0 + i * period - time.monotonic())
            else:
                timeout = 1.0
            if now > deadline:
                raise AssertionError(f"paced phase: {n_total - done} answers missing after "
                                     f"{seconds + 60:.0f} s")
            for fd, ev in self.ep.poll(timeout):
                c = self.fd[fd]
                if ev & select.EPOLLOUT:
                    self.flush(c)
                if ev & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                    got = self.read(c)
                    t = time.monotonic()
                    for _ in got:
                        d, w = due[c].popleft()
                        lat.append(t - d)
                        lat_w.append(t - w)
                        done += 1
        took = time.monotonic() - t0
        return {"n": n_total, "took": took, "lat": lat, "lat_w": lat_w, "late": late}

    def closed(self, seconds):
        ns = len(self.sessions)
        todo = [[s for s in range(ns) if self.conn_of(s) == c] for c in range(len(self.socks))]
        sent_at = [0.0] * len(self.socks)
        lat = []

        def send(c):
            s = todo[c].pop(0)
            todo[c].append(s)
            self.wbuf[c] += self.next_request(s)
            sent_at[c] = time.monotonic()
            self.flush(c)

        t0 = time.monotonic()
        stop_at = t0 + seconds
        active = len(self.socks)
        for c in range(len(self.socks)):
            send(c)
        running = [True] * len(self.socks)
        n = 0
        while active > 0:
            if time.monotonic() > stop_at + 60:
                raise AssertionError("closed loop: answers missing")
            for fd, ev in self.ep.poll(1.0):
                c = self.fd[fd]
                if ev & select.EPOLLOUT:
                    self.flush(c)
                if ev & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                    for _ in self.read(c):
                        t = time.monotonic()
                        lat.append(t - sent_at[c])
                        n += 1
                        if t < stop_at:
                            send(c)
                        elif running[c]:
                            running[c] = False
                            active -= 1
        took = time.monotonic() - t0
        return {"n": n, "took": took, "lat": lat}


def driver_proc(conn, port, sessions, nconns, cpu):
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    try:
        d = Driver(port, sessions, nconns)
        conn.send(("ready",))
        while True:
            cmd = conn.recv()
            if cmd[0] == "stop":
                break
            if cmd[0] == "warmup":
                d.one_by_one([TURN_HOOKS] * len(sessions))
                res = {}
            elif cmd[0] == "paced":
                res = d.paced(cmd[1], cmd[2])
            elif cmd[0] == "closed":
                res = d.closed(cmd[1])
            elif cmd[0] == "finish":
                d.one_by_one([(-p) % TURN_HOOKS for p in d.pos])
                res = {}
            res["pos"] = list(d.pos)
            res["bad"] = dict(d.bad)
            conn.send(("done", res))
    except Exception as e:     # reported to the parent
        conn.send(("error", f"{type(e).__name__}: {e}"))


# ---------------------------------------------------------------------------
# the /ws clients: a process of their own
# ---------------------------------------------------------------------------

class WsClient:
    def __init__(self, port, fam):
        self.fam = fam
        self.sock, first = wslib.open_socket(port)
        self.sock.setblocking(False)
        self.pending = first
        self.rest = b""
        self.asm = wslib.Assembler()
        self.counts = collections.Counter()
        self.high = []               # sha1 of each high-priority message, in order
        self.last_pane = {}          # paneId -> status of its last pane_update
        self.obs_digest = hashlib.sha1()
        self.close = None
        self.eof = False
        self.recording = False
        self.bytes = 0

    def feed(self, data):
        self.bytes += len(data)
        frames, self.rest = wslib.parse_frames(self.rest + data)
        for f in frames:
            if f.opcode == wslib.OP_PING:
                try:
                    self.sock.send(wslib.build_frame(wslib.OP_PONG, f.payload))
                except OSError:
                    pass
                continue
            m = self.asm.add(f)
            if m is None:
                continue
            if m.opcode == wslib.OP_CLOSE:
                self.close = (m.frame.close_code, m.frame.close_reason
                              if m.frame.close_code is not None else "")
                continue
            mt = MSG_TYPE.search(m.payload[:64])
            typ = mt.group(1).decode() if mt else "?"
            if not self.recording:
                self.counts["before:" + typ] += 1
                continue
            self.counts[typ] += 1
            if self.fam == "rpg":
                if typ in HIGH:
                    self.high.append(hashlib.sha1(m.payload).digest())
                    if typ == "pane_update":
                        j = json.loads(m.payload)
                        self.last_pane[j["paneId"]] = j["session"]["status"]
            elif typ == "event":
                self.obs_digest.update(hashlib.sha1(m.payload).digest())

    def summary(self):
        return {"fam": self.fam, "counts": dict(self.counts),
                "high": hashlib.sha1(b"".join(self.high)).hexdigest(), "n_high": len(self.high),
                "last_pane": self.last_pane, "obs": self.obs_digest.hexdigest(),
                "close": self.close, "eof": self.eof, "bytes": self.bytes}


def readers_proc(conn, rpg_port, obs_port, n_rpg, n_obs, cpu):
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    roostlib.raise_nofile()
    clients = ([WsClient(rpg_port, "rpg") for _ in range(n_rpg)]
               + [WsClient(obs_port, "obs") for _ in range(n_obs)])
    ep = select.epoll()
    for i, c in enumerate(clients):
        ep.register(c.sock.fileno(), select.EPOLLIN)
    by_fd = {c.sock.fileno(): c for c in clients}
    for c in clients:
        c.feed(c.pending)
    conn.send(("ready",))
    while True:
        for fd, _ in ep.poll(0.05):
            c = by_fd[fd]
            try:
                d = c.sock.recv(1 << 20)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            if not d:
                c.eof = True
                ep.unregister(fd)
                continue
            c.feed(d)
        if conn.poll():
            cmd = conn.recv()
            if cmd[0] == "record":
                for c in clients:
                    c.recording = True
                conn.send(("recording",))
            elif cmd[0] == "stop":
                conn.send(("summary", [c.summary() for c in clients]))
                for c in clients:
                    c.sock.close()
                return


def companions_now(port):
    """The `companions` payload a client gets on connect."""
    sock, first = wslib.open_socket(port)
    sock.settimeout(10)
    buf = first
    asm = wslib.Assembler()
    try:
        while True:
            frames, buf = wslib.parse_frames(buf)
            for f in frames:
                m = asm.add(f)
                if m is not None and m.opcode == wslib.OP_TEXT:
                    j = json.loads(m.payload)
                    if j.get("type") == "companions":
                        return j["payload"]
            d = sock.recv(1 << 20)
            if not d:
                return None
            buf += d
    finally:
        sock.close()


# ---------------------------------------------------------------------------
# a run
# ---------------------------------------------------------------------------

def git(*args):
    subprocess.run(["git"] + list(args), check=True, capture_output=True)


def setup_repos(root, n):
    repos = []
    for i in range(n):
        path = os.path.join(root, "bench-org", f"app-{i}")
        os.makedirs(os.path.join(path, "src"))
        git("init", "-q", path)
        git("-C", path, "remote", "add", "origin", f"git@github.com:bench-org/app-{i}.git")
        repos.append(path)
    return repos


def write_transcript(path, sid):
    with open(path, "w") as f:
        for k in range(20):
            role = "user" if k % 2 == 0 else "assistant"
            text = ("Run the suite and commit." if role == "user" else
                    "The suite passes (42 tests). I committed the change as 1a2b3c4: step "
                    "functions now share one options object, and parse() reads it once.")
            f.write(json.dumps({"type": role, "sessionId": sid, "message": {
                "role": role, "content": [{"type": "text", "text": text}]}}) + "\n")


def wait_setup(srv, repos, timeout=60.0):
    """Until every repository is a project and every Claude pane is listed:
    {repo: (pane id, tmux target)}."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            projs = srv.request("rpg", "GET", "/api/projects").json()["data"]["projects"]
            st = srv.request("rpg", "GET", "/api/windows").json()["data"]
        except (OSError, ValueError, KeyError):
            time.sleep(0.3)
            continue
        have = {p["path"] for p in projs}
        panes = {}
        for w in st["windows"]:
            for p in w["panes"]:
                if p["process"]["type"] == "claude" and p["cwd"] in repos:
                    panes[p["cwd"]] = (p["id"], f"{w['sessionName']}:{w['windowIndex']}."
                                                f"{p['index']}")
        if set(repos) <= have and len(panes) == len(repos):
            return panes
        time.sleep(0.3)
    return None


def start_roostd(binary, tmux, work, obs, transcripts):
    fams = ["fleet", "documents", "agents"] + ([] if obs else ["observability"])
    args = [f"--{f}.enabled=false" for f in fams] + ["--log_level=warn"]
    if obs:
        args.append(f"--observability.transcript_dirs={transcripts}")
    srv = roostlib.Server(work, binary=binary, args=args, env={"TMUX_TMPDIR": tmux.tmpdir})
    for k in ("TMUX", "TMUX_PANE"):
        srv.env.pop(k, None)
    srv.ports = {k: v for k, v in srv.ports.items()
                 if k == "rpg" or (obs and k == "observability")}
    srv.start()
    return srv


def check_store(srv, sessions, pos):
    """XP, levels, summaries and companion stats against the hooks sent."""
    problems = []
    personas = srv.request("rpg", "GET", "/api/personas").json()["data"]["personas"]
    projects = srv.request("rpg", "GET", "/api/projects").json()["data"]["projects"]
    by_sid = {p["sessionId"]: p for p in personas}
    by_path = {p["path"]: p for p in projects}
    comps = {c["repo"]["path"]: c for c in (companions_now(srv.ports["rpg"]) or [])}
    xp_total = 0
    for s, n in zip(sessions, pos):
        t = Tally(n)
        xp_total += t.xp
        per = by_sid.get(s.sid)
        if per is None:
            problems.append(f"no persona for session {s.idx}")
            continue
        if per["totalXp"] != t.xp or per["level"] != level_of(t.xp):
            problems.append(f"persona {s.idx}: totalXp {per['totalXp']} level {per['level']}, "
                            f"expected {t.xp} / {level_of(t.xp)}")
        pj = by_path.get(s.cwd)
        if pj is None or pj["totalXp"] != t.xp:
            problems.append(f"project {s.idx}: totalXp {pj and pj['totalXp']}, expected {t.xp}")
        want = sorted([{"category": "tool_use", "total": t.tool_xp, "count": t.tool_n}]
                      + ([{"category": "git", "total": t.git_xp, "count": t.git_n}]
                         if t.git_n else []), key=lambda e: (-e["total"], e["category"]))
        for kind, ident in (("persona", per["id"]), ("project", pj and pj["id"])):
            got = srv.request("rpg", "GET", f"/api/xp/summary?type={kind}&id={ident}").json()
            if got.get("data", {}).get("summary") != want:
                problems.append(f"{kind} {s.idx} summary {got.get('data')} != {want}")
        c = comps.get(s.cwd)
        if c is None:
            problems.append(f"no companion for {s.cwd}")
            continue
        st = c["stats"]
        got = (st["toolsUsed"].get("Read", 0), st["toolsUsed"].get("Edit", 0),
               st["toolsUsed"].get("Bash", 0), st["promptsReceived"], st["sessionsCompleted"],
               st["git"]["commits"], st["commands"]["testsRun"], c["totalExperience"])
        exp = (t.used["Read"], t.used["Edit"], t.used["Bash"], t.prompts, t.stops, t.commits,
               t.tests, t.xp)
        if got != exp:
            problems.append(f"companion {s.idx}: (Read, Edit, Bash, prompts, sessions, commits, "
                            f"tests, xp) {got} != {exp}")
    return problems, xp_total


def check_ws(summary, sessions, pos, final_status):
    """The /ws clients against each other and against what was sent."""
    problems = []
    rpgc = [c for c in summary if c["fam"] == "rpg"]
    obsc = [c for c in summary if c["fam"] == "obs"]
    for k, c in enumerate(summary):
        if c["close"] is not None or c["eof"]:
            problems.append(f"{c['fam']} client {k} closed: {c['close']} eof {c['eof']}")
    if rpgc:
        same = sum(1 for c in rpgc if c["high"] == rpgc[0]["high"])
        if same != len(rpgc):
            problems.append(f"rpg clients: only {same}/{len(rpgc)} got the first one's "
                            f"high-priority sequence ({[c['n_high'] for c in rpgc]})")
        for c in rpgc:
            for pane, status in final_status.items():
                if c["last_pane"].get(pane) != status:
                    problems.append(f"rpg client: last pane_update of {pane} "
                                    f"{c['last_pane'].get(pane)}, GET /api/windows {status}")
                    break
    want = sum(Tally(n).obs for n in pos)
    for c in obsc:
        got = c["counts"].get("event", 0)
        if got != want:
            problems.append(f"obs client: {got} events, expected {want}")
    if obsc and any(c["obs"] != obsc[0]["obs"] for c in obsc):
        problems.append("obs clients received different events")
    return problems, want


SYSCALL_NAMES = {0: "read", 1: "write", 7: "poll", 17: "pread64", 18: "pwrite64",
                 44: "sendto", 45: "recvfrom", 61: "wait4", 74: "fsync", 75: "fdatasync",
                 232: "epoll_wait", 281: "epoll_pwait", 56: "clone", 58: "vfork", 59: "execve"}


def user_sys_s(pid):
    """(user, system) CPU seconds of pid (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def run_delay_s(pid):
    """Seconds pid has spent runnable but waiting for a CPU (schedstat)."""
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[1]) / 1e9


class StateSampler(threading.Thread):
    """roostd's scheduler state and current system call every 2 ms
    (/proc/<pid>/stat, /proc/<pid>/syscall): where its wall time goes."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.counts = collections.Counter()
        self.stop_ev = threading.Event()

    def run(self):
        while not self.stop_ev.is_set():
            try:
                with open(f"/proc/{self.pid}/stat") as f:
                    st = f.read().rsplit(")", 1)[1].split()[0]
                with open(f"/proc/{self.pid}/syscall") as f:
                    sc = f.read().split()[0]
            except (OSError, IndexError):
                return
            if st == "R" or sc == "running":
                key = "R"
            else:
                try:
                    key = st + " " + SYSCALL_NAMES.get(int(sc), sc)
                except ValueError:
                    key = st + " " + sc
            self.counts[key] += 1
            time.sleep(0.002)

    def finish(self):
        self.stop_ev.set()
        self.join(2)
        n = max(1, sum(self.counts.values()))
        return {k: v / n for k, v in self.counts.items()}


def syscalls_during(pid, run):
    """roostd's system calls per hook while run() drives a closed loop
    (strace -c on roostd's one thread, not its children; strace slows it
    down, the counts hold): (hooks, [(calls per hook, name)])."""
    out = tempfile.mktemp(prefix="rpgh-strace-")
    st = subprocess.Popen(["strace", "-c", "-o", out, "-p", str(pid)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        res = run()
    finally:
        st.send_signal(2)
        st.wait(10)
    rows = []
    with open(out) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                calls = int(parts[3])
                rows.append((calls / max(1, res["n"]), parts[-1]))
    os.unlink(out)
    return res["n"], sorted(rows, reverse=True)


def one_run(binary, obs, args):
    tmux = rpglib.Tmux(prefix="rpgh-").start()
    root = tempfile.mkdtemp(prefix="rpgh-repos-")
    work = tempfile.mkdtemp(prefix="roost-rpghooks-")
    srv = drv = rdr = None
    pd = pr = None
    try:
        repos = setup_repos(root, args.sessions)
        transcripts = os.path.join(root, "transcripts")
        os.mkdir(transcripts)
        for r in repos:
            tmux.new_window([tmux.claude], name=os.path.basename(r), cwd=r)
        srv = start_roostd(binary, tmux, work, obs, transcripts)
        cli_cpu = None
        if args.pin:
            os.sched_setaffinity(srv.pid, {0})
            cli_cpu = 1
        panes = wait_setup(srv, repos)
        if panes is None:
            return None, "projects or Claude panes never all listed"
        tag = os.urandom(3).hex()
        sessions = []
        for i, r in enumerate(repos):
            sid = f"{tag}{i:02d}00-9a77-4b2e-8f9d-1c2b3a4d5e6f"
            tp = os.path.join(transcripts, f"{sid}.jsonl")
            write_transcript(tp, sid)
            pane, target = panes[r]
            sessions.append(Session(i, sid, pane, target, r, tp, tag))
        rdr, child = multiprocessing.Pipe()
        pr = multiprocessing.Process(target=readers_proc, args=(
            child, srv.ports["rpg"], srv.ports.get("observability"), args.rpg_clients,
            args.obs_clients if obs else 0, cli_cpu))
        pr.start()
        if not rdr.poll(30):
            return None, "the /ws clients did not connect"
        rdr.recv()
        time.sleep(0.5)
        rdr.send(("record",))
        rdr.recv()
        drv, child = multiprocessing.Pipe()
        pd = multiprocessing.Process(target=driver_proc, args=(
            child, srv.ports["rpg"], sessions, args.conns, cli_cpu))
        pd.start()
        drv.recv()

        def phase(*cmd):
            drv.send(cmd)
            r = drv.recv()
            if r[0] != "done":
                raise AssertionError(f"driver: {r[1]}")
            return r[1]

        phase("warmup")
        rss0 = rss_kib(srv.pid)
        c0 = cpu_s(srv.pid)
        u0 = user_sys_s(srv.pid)
        q0 = run_delay_s(srv.pid)
        sampler = StateSampler(srv.pid)
        sampler.start()
        paced = phase("paced", args.rate, args.seconds)
        states = sampler.finish()
        cpu = cpu_s(srv.pid) - c0
        sys_share = (user_sys_s(srv.pid)[1] - u0[1]) / max(cpu, 1e-9)
        queued = run_delay_s(srv.pid) - q0
        rss1 = rss_kib(srv.pid)
        closed = {"n": 0, "took": 1.0, "lat": [0.0]}
        if args.closed_seconds > 0:
            c1 = cpu_s(srv.pid)
            closed = phase("closed", args.closed_seconds)
            closed["cpu"] = cpu_s(srv.pid) - c1
        sysc = None
        if args.syscalls > 0:
            sysc = syscalls_during(srv.pid, lambda: phase("closed", args.syscalls))
        fin = phase("finish")
        drv.send(("stop",))
        pos, bad = fin["pos"], fin["bad"]
        time.sleep(args.quiet)
        rss2 = rss_kib(srv.pid)
        st = srv.request("rpg", "GET", "/api/windows").json()["data"]
        final = {p["id"]: p["process"]["claudeSession"]["status"]
                 for p in st["panes"] if p["process"]["type"] == "claude"
                 and p["id"] in {s.pane for s in sessions}}
        rdr.send(("stop",))
        summary = rdr.recv()[1]
        pr.join(10)
        problems = [f"{n} answers {k}" for k, n in bad.items()]
        p2, xp_total = check_store(srv, sessions, pos)
        p3, obs_events = check_ws(summary, sessions, pos, final)
        problems += p2 + p3
        if any(v != "idle" for v in final.values()):
            problems.append(f"panes not idle at the end: {final}")
        ms = [x * 1000.0 for x in paced["lat"]]
        res = {
            "rate": paced["n"] / paced["took"], "n": paced["n"],
            "p50": pct(ms, 50), "p99": pct(ms, 99), "max": max(ms),
            "w50": pct([x * 1000.0 for x in paced["lat_w"]], 50),
            "w99": pct([x * 1000.0 for x in paced["lat_w"]], 99),
            "late99": pct([x * 1000.0 for x in paced["late"]], 99),
            "cpu_pct": 100.0 * cpu / paced["took"], "us_hook": 1e6 * cpu / paced["n"],
            "queued_pct": 100.0 * queued / paced["took"], "states": states,
            "sys_share": sys_share,
            "p999": pct(ms, 99.9), "over10": sum(1 for x in ms if x > 10.0) / len(ms),
            "closed_rate": closed["n"] / closed["took"],
            "closed_p50": pct([x * 1000.0 for x in closed["lat"]], 50),
            "closed_p99": pct([x * 1000.0 for x in closed["lat"]], 99),
            "closed_us_hook": 1e6 * closed.get("cpu", 0.0) / max(1, closed["n"]),
            "hooks": sum(pos), "xp": xp_total, "obs_events": obs_events,
            "rpg_clients": [c for c in summary if c["fam"] == "rpg"],
            "obs_clients": [c for c in summary if c["fam"] == "obs"],
            "rss0": rss0, "rss1": rss1, "rss2": rss2, "syscalls": sysc,
        }
        return res, "; ".join(problems[:8]) + (f" (+{len(problems) - 8} more)"
                                                if len(problems) > 8 else "")
    finally:
        for p in (pd, pr):
            if p is not None and p.is_alive():
                p.terminate()
                p.join(5)
        if srv is not None:
            srv.stop()
        tmux.cleanup()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("roostd", nargs="?", default=os.path.join(HERE, "..", "build", "roostd"))
    ap.add_argument("--before", help="an older roostd to measure beside it (rpg+obs)")
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--closed-seconds", type=float, default=10.0)
    ap.add_argument("--rpg-clients", type=int, default=4)
    ap.add_argument("--obs-clients", type=int, default=2)
    ap.add_argument("--rpg-alone", metavar="PATH",
                    help="a roostd built without observability (make BUILD=build/noobs "
                         "FAMILIES=\"fleet rpg docs agents\") to measure beside it")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--quiet", type=float, default=1.5, help="s of quiet before the checks")
    ap.add_argument("--pin", action="store_true")
    ap.add_argument("--also", action="append", default=[], metavar="NAME=PATH",
                    help="another roostd to measure beside it (rpg+obs), e.g. a build "
                         "with other CFG_ values")
    ap.add_argument("--syscalls", type=float, default=0.0, metavar="S",
                    help="after the closed loop, S more seconds of it under strace -c: "
                         "roostd's system calls per hook")
    args = ap.parse_args()
    roostlib.raise_nofile()
    rpglib.real_tmux()
    runs = [("rpg+obs", os.path.abspath(args.roostd), True)]
    if args.rpg_alone:
        runs.append(("rpg", os.path.abspath(args.rpg_alone), False))
    if args.before:
        runs.append(("before", os.path.abspath(args.before), True))
    for a in args.also:
        name, _, path = a.partition("=")
        runs.append((name, os.path.abspath(path), True))
    print(f"rpg hooks: {args.sessions} sessions (fake claude panes in git repos) on "
          f"{args.conns} keep-alive connections; paced {args.rate:.0f} hooks/s for "
          f"{args.seconds:.0f} s, closed loop {args.closed_seconds:.0f} s; "
          f"{args.rpg_clients} rpg /ws clients, {args.obs_clients} obs /ws clients", flush=True)
    got = {name: [] for name, _, _ in runs}
    for rnd in range(args.rounds):
        for name, binary, obs in runs:
            try:
                res, problems = one_run(binary, obs, args)
            except AssertionError as e:
                res, problems = None, str(e)
            if res is None:
                print(f"round {rnd + 1} {name:8} n/a: {problems}", flush=True)
                continue
            rc = res["rpg_clients"]
            oc = res["obs_clients"]
            print(f"round {rnd + 1} {name:8} paced {res['n']} hooks at {res['rate']:.0f}/s: "
                  f"latency from due p50 {res['p50']:.2f} ms p99 {res['p99']:.2f} ms max "
                  f"{res['max']:.1f} ms (from write p50 {res['w50']:.2f} p99 {res['w99']:.2f}; "
                  f"client wrote late by p99 {res['late99']:.2f} ms); roostd CPU "
                  f"{res['cpu_pct']:.0f} % of a core, {res['us_hook']:.0f} us/hook "
                  f"({100 * res['sys_share']:.0f} % of it in the kernel)", flush=True)
            blocked = sorted(((v, k) for k, v in res["states"].items()
                              if k.startswith("D")), reverse=True)
            idle = sum(v for k, v in res["states"].items() if k.startswith("S"))
            print(f"         {'':8} {100 * res['over10']:.1f} % of hooks over 10 ms, p99.9 "
                  f"{res['p999']:.1f} ms; roostd's wall time: on a CPU {res['cpu_pct']:.0f} %, "
                  f"runnable waiting for a CPU {res['queued_pct']:.0f} % (schedstat), blocked "
                  f"{100 * sum(v for v, _ in blocked):.0f} % ("
                  + ", ".join(f"{k[2:]} {100 * v:.1f} %" for v, k in blocked[:3])
                  + f"), idle {100 * idle:.0f} % (sampled every 2 ms)", flush=True)
            print(f"         {'':8} closed loop {res['closed_rate']:.0f} hooks/s, p50 "
                  f"{res['closed_p50']:.2f} ms p99 {res['closed_p99']:.2f} ms, "
                  f"{res['closed_us_hook']:.0f} us CPU/hook", flush=True)
            if rc:
                c = rc[0]["counts"]
                print(f"         {'':8} rpg /ws x{len(rc)}: {rc[0]['n_high']} high-priority "
                      f"(pane_update {c.get('pane_update', 0)}, terminal_output "
                      f"{c.get('terminal_output', 0)}), same sequence "
                      f"{sum(1 for x in rc if x['high'] == rc[0]['high'])}/{len(rc)}; "
                      f"event {min(x['counts'].get('event', 0) for x in rc)}-"
                      f"{max(x['counts'].get('event', 0) for x in rc)}, companions "
                      f"{c.get('companions', 0)}, windows {c.get('windows', 0)}", flush=True)
            if oc:
                print(f"         {'':8} obs /ws x{len(oc)}: "
                      f"{[x['counts'].get('event', 0) for x in oc]} events of "
                      f"{res['obs_events']} expected", flush=True)
            verdict = "all checks ok" if not problems else "CHECKS FAILED: " + problems
            print(f"         {'':8} {res['hooks']} hooks in all, {res['xp']} XP; VmRSS "
                  f"{res['rss0']} / {res['rss1']} / {res['rss2']} KiB; {verdict}", flush=True)
            if res["syscalls"]:
                n, rows = res["syscalls"]
                shown = rows[:8] + [r for r in rows[8:] if r[1] in ("fsync", "fdatasync")]
                print(f"         {'':8} syscalls per hook ({n} hooks under strace -c): "
                      + ", ".join(f"{name} {v:.3g}" for v, name in shown), flush=True)
            got[name].append(res)
    med = {}
    for name, _, _ in runs:
        if got[name]:
            med[name] = {k: pct([r[k] for r in got[name]], 50)
                         for k in ("rate", "p50", "p99", "max", "cpu_pct", "us_hook",
                                   "closed_rate", "closed_us_hook")}
            m = med[name]
            print(f"{name:8} median: paced {m['rate']:.0f}/s p50 {m['p50']:.2f} ms p99 "
                  f"{m['p99']:.2f} ms max {m['max']:.1f} ms, {m['us_hook']:.0f} us CPU/hook; "
                  f"closed loop {m['closed_rate']:.0f} hooks/s, {m['closed_us_hook']:.0f} us "
                  f"CPU/hook")
    base = "rpg+obs"
    for other in [n for n, _, _ in runs if n != base]:
        if base in med and other in med:
            a, b = med[base], med[other]
            print(f"{other}/{base}: CPU per hook {b['us_hook'] / a['us_hook']:.2f}x, closed-loop "
                  f"rate {b['closed_rate'] / a['closed_rate']:.2f}x, paced p99 "
                  f"{b['p99'] / a['p99']:.2f}x")


if __name__ == "__main__":
    main()
