"""The rpg family's game half, contract tests written from the spec (rpg.md
§2.3-§2.5, §2.7, §3.4, §4.5, §4.6, §4.8, §5, §8.1-§8.8; hooks.md §2-§3,
§7): personas, projects and their companions, the XP ledger, and what
hooks do to them. Quests and avatars are tested elsewhere.

Where the issue overrides the spec: streaks and the XP timeline count local
dates (the server runs with TZ=UTC here, so they are the spec's UTC dates;
tests/fault/test_rpg_streaks.py moves the clock and the zone); a hook
delivered twice is counted once, across a restart too
(test_rpg_crash.py).

Everything runs against real panes of a private tmux server running the
stand-in Claude (rpglib): a Claude pane of the module in a directory that
is not a git working tree, and per test panes whose cwd is inside a `git
init` repository in tmp_path (a project, §2.4). Hooks are the bodies Claude
Code and the rpg hook script send (hooks.md §2-§3). State is read through
GET /api/personas, /api/projects, /api/xp/* and the `companions` message a
fresh /ws client gets on connect (§9.1); reads wait for the expected value
with a deadline (a project is made by a git child process, so it appears a
moment after its pane), and a thing that must not happen (a second award)
is checked by a later hook whose effect arrives while the total stays
exactly what the contract says.

The replay of a recorded session (data/rpg_session.jsonl) closes the
module: persona, companion, XP summary and the observability events it
produces, all computed by hand from §8.1, §8.4, §8.7 and hooks.md §4.
"""

import datetime
import json
import os
import re
import subprocess
import time
import uuid

import pytest

import roostlib
import rpglib
from roostlib import SLOW, wait_for
from rpglib import (UUID4, Client, call, fail, find_pane, get_state, ok, post_event,
                    session_of, wait_claude)

NEEDS = {"rpg"}
HERE = os.path.dirname(os.path.abspath(__file__))
SESSION_FILE = os.path.join(HERE, "data", "rpg_session.jsonl")

SETTLE = 5.0 * SLOW              # a hook's effect reaching the API
PROJECT_TIMEOUT = 10.0 * SLOW    # a Claude pane's git project appearing (a child process)

# The module's tmux server (rpglib), each test's windows cleaned after it.
tmux = rpglib.tmux
_clean_tmux, _rpg_still_running = rpglib.clean_tmux, rpglib.rpg_still_running


# ---------------------------------------------------------------------------
# the server, panes, repositories
# ---------------------------------------------------------------------------

def game_server(workdir, tmux, home=None, env=None, args=(), binary=None, obs=True,
                start=True):
    """An rpg roostd watching tmux (rpglib.rpg_server) with TZ=UTC, HOME
    when given, and observability on a port of its own when obs and built
    (hooks.md Decision 9)."""
    e = {"TZ": "UTC"}
    if home is not None:
        e["HOME"] = str(home)
    if env:
        e.update(env)
    srv = rpglib.rpg_server(workdir, tmux, args=args, env=e, start=False)
    if obs and roostlib.built("observability"):
        srv.extra_args = [a for a in srv.extra_args if not a.startswith("--observability.")]
        srv.ports["observability"] = roostlib.free_ports(1)[0]
    if binary is not None:
        srv.binary = binary
    if start:
        srv.start()
    return srv


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """HOME of the module's roostd: the transcripts of the replay live in
    its ~/.claude/projects (observability's default transcript_dirs)."""
    h = tmp_path_factory.mktemp("home")
    (h / ".claude" / "projects").mkdir(parents=True)
    return h


@pytest.fixture(scope="module")
def rpg(roostd, tmux, tmp_path_factory, home):
    srv = game_server(tmp_path_factory.mktemp("game"), tmux, home=home)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def pane(rpg, tmux, tmp_path_factory):
    """The module's Claude pane, in a directory outside any git tree."""
    d = tmp_path_factory.mktemp("plain")
    _, p = tmux.new_claude_window(cwd=str(d))
    wait_claude(rpg, p)
    return p


def git(*args):
    subprocess.run(["git"] + list(args), check=True, capture_output=True,
                   env=dict(roostlib.clean_env(), GIT_CONFIG_NOSYSTEM="1"), timeout=30)


def git_repo(path, remote=None):
    """`git init` at path (made), origin set when given; the real path."""
    os.makedirs(path, exist_ok=True)
    git("init", "-q", str(path))
    if remote is not None:
        git("-C", str(path), "remote", "add", "origin", remote)
    return os.path.realpath(str(path))


def claude_pane(rpg, tmux, cwd=None):
    """A fresh window running the stand-in Claude, known to roostd as a
    Claude pane; its pane id."""
    _, p = tmux.new_claude_window(cwd=None if cwd is None else str(cwd))
    wait_claude(rpg, p)
    return p


def repo_pane(rpg, tmux, root, sub=None):
    """A Claude pane whose cwd is root (or root/sub) and the project of
    root once roostd made it (§2.4, §3.4)."""
    cwd = root if sub is None else os.path.join(root, sub)
    os.makedirs(cwd, exist_ok=True)
    p = claude_pane(rpg, tmux, cwd)
    return p, wait_project(rpg, root)


# ---------------------------------------------------------------------------
# hooks as Claude Code and the rpg hook script send them (hooks.md §2-§3)
# ---------------------------------------------------------------------------

def sid():
    return str(uuid.uuid4())


def tuid():
    return "toolu_01" + uuid.uuid4().hex[:22]


class Claude:
    """One Claude Code session posting hooks for a pane (paneId; None: a
    hook without a pane)."""

    def __init__(self, srv, pane=None, session=None, cwd="/home/dev/proj", target=None):
        self.srv = srv
        self.pane = pane
        self.target = target
        self.session = session or sid()
        self.cwd = cwd

    def body(self, event, **kw):
        b = {"session_id": self.session,
             "transcript_path": f"/nonexistent/.claude/projects/-proj/{self.session}.jsonl",
             "cwd": self.cwd, "permission_mode": "default", "hook_event_name": event}
        b.update(kw)
        b["hookType"] = event
        b["timestamp"] = rpglib.now_ms()
        if self.pane is not None:
            b["paneId"] = self.pane
        if self.target is not None:
            b["tmuxTarget"] = self.target
        return b

    def send(self, event, **kw):
        b = self.body(event, **kw)
        post_event(self.srv, b)
        return b

    def prompt(self, text="Make the change"):
        return self.send("UserPromptSubmit", prompt=text)

    def stop(self):
        return self.send("Stop", stop_hook_active=False)

    def notify(self, message="Claude needs your permission to use Bash"):
        return self.send("Notification", message=message)

    def pre(self, tool, tool_input=None, tool_use_id=None):
        return self.send("PreToolUse", tool_name=tool, tool_input=tool_input or
                         default_input(tool), tool_use_id=tool_use_id or tuid())

    def post(self, tool, tool_input=None, ok=True, tool_use_id=None, response=None, **kw):
        """A PostToolUse; ok False: a failed tool (tool_response.is_error,
        §5 step 4)."""
        tin = tool_input or default_input(tool)
        if response is None:
            if tool == "Bash":
                response = {"stdout": "done\n" if ok else "", "stderr": "" if ok else
                            "command exited with code 1", "interrupted": False,
                            "isImage": False}
            else:
                response = {"filePath": tin.get("file_path", "/x")} if ok else {}
            if not ok:
                response["is_error"] = True
        return self.send("PostToolUse", tool_name=tool, tool_input=tin, tool_response=response,
                         tool_use_id=tool_use_id or tuid(), **kw)

    def tool(self, tool, tool_input=None, ok=True):
        t = tuid()
        self.pre(tool, tool_input, t)
        return self.post(tool, tool_input, ok, t)

    def bash(self, command, ok=True):
        return self.post("Bash", {"command": command, "description": "run it"}, ok)

    def edit(self, path="/home/dev/proj/src/app.js", ok=True, tool="Edit"):
        return self.post(tool, {"file_path": path, "old_string": "a", "new_string": "b"}, ok)

    def write(self, path="/home/dev/proj/src/new.js", ok=True):
        return self.post("Write", {"file_path": path, "content": "x"}, ok)


def default_input(tool):
    if tool == "Bash":
        return {"command": "ls -la", "description": "List files"}
    if tool in ("Grep", "Glob"):
        return {"pattern": "TODO"}
    if tool == "Task":
        return {"description": "Look around", "prompt": "Survey the code",
                "subagent_type": "general-purpose"}
    if tool in ("WebFetch", "WebSearch"):
        return {"url": "https://example.com", "prompt": "read", "query": "q"}
    return {"file_path": "/home/dev/proj/src/app.js"}


# ---------------------------------------------------------------------------
# §8.1-§8.3 by hand
# ---------------------------------------------------------------------------

TOOL_XP = {"Read": 1, "Edit": 3, "Write": 5, "Bash": 2, "Task": 5, "Grep": 1, "Glob": 1,
           "WebFetch": 2, "WebSearch": 2}          # any other tool: 2


def threshold(level):
    return 50 * level * (level - 1)


def level_of(total):
    lv = 1
    while total >= threshold(lv + 1):
        lv += 1
    return lv


def tier_of(level):
    return ("novice" if level <= 4 else "apprentice" if level <= 9 else
            "journeyman" if level <= 14 else "expert" if level <= 19 else "master")


# A successful Bash that matches every git operation of §8.1 once:
# tool:Bash 2 + branch 5 + commit 15 + push 10 + rebase 10 + merge 10 +
# pr_created 20 + pr_merged 50.
MEGA = ("git checkout -b feat && git commit -am wip && git push -u origin feat && "
        "git rebase main && git merge main && gh pr create --fill && gh pr merge --squash")
MEGA_XP = 122


def add_xp(cl, amount):
    """Post successful tool uses worth exactly amount XP (§8.1)."""
    while amount > 0:
        if amount >= MEGA_XP:
            cl.bash(MEGA)
            amount -= MEGA_XP
        elif amount >= 52:
            cl.bash("gh pr merge 7 --squash")          # pr_merged 50 + Bash 2
            amount -= 52
        elif amount >= 5:
            cl.write()
            amount -= 5
        elif amount >= 3:
            cl.edit()
            amount -= 3
        elif amount >= 2:
            cl.bash("ls")
            amount -= 2
        else:
            cl.post("Read")
            amount -= 1


# ---------------------------------------------------------------------------
# reading the state
# ---------------------------------------------------------------------------

PERSONA_KEYS = {"id", "sessionId", "name", "avatarUrl", "status", "totalXp", "level", "tier",
                "badges", "health", "createdAt", "lastSeenAt"}
PROJECT_KEYS = {"id", "path", "name", "githubUrl", "projectClass", "totalXp", "level",
                "createdAt", "lastActivityAt"}
COMPANION_KEYS = {"id", "name", "repo", "level", "experience", "totalExperience", "stats",
                  "streak", "achievements", "createdAt", "lastActivity"}
NAME = re.compile(r"^[A-Z][A-Za-z'\-]* [A-Z][A-Za-z'\-]*( \d+)?$")


def personas(srv):
    d = ok(call(srv, "GET", "/api/personas"))
    assert set(d) == {"personas"} and isinstance(d["personas"], list), d
    return d["personas"]


def persona_of(srv, session):
    found = [p for p in personas(srv) if p["sessionId"] == session]
    assert len(found) <= 1, f"two personas for session {session}: {found}"
    return found[0] if found else None


def projects(srv):
    d = ok(call(srv, "GET", "/api/projects"))
    assert set(d) == {"projects"} and isinstance(d["projects"], list), d
    return d["projects"]


def project_at(srv, path):
    found = [p for p in projects(srv) if p["path"] == path]
    assert len(found) <= 1, f"two projects for {path}: {found}"
    return found[0] if found else None


def companions(srv):
    """The `companions` payload a fresh /ws client gets on connect (§9.1)."""
    with Client(srv) as c:
        m = c.connect[2]
    assert set(m) == {"type", "payload"} and isinstance(m["payload"], list), m
    return m["payload"]


def companion_of(srv, project_id):
    found = [c for c in companions(srv) if c["id"] == project_id]
    assert len(found) == 1, f"companion {project_id}: {found}"
    return found[0]


def settle(get, pred, what, timeout=SETTLE):
    """Until pred(get()); the value. The last value is in the failure."""
    last = [None]

    def check():
        last[0] = get()
        return pred(last[0])

    try:
        wait_for(check, timeout, interval=0.02, what=what)
    except AssertionError as e:
        raise AssertionError(f"{e}; last value: {json.dumps(last[0], indent=1)[:3000]}") \
            from None
    return last[0]


def wait_persona(srv, session, pred=lambda p: True, what=None, timeout=SETTLE):
    return settle(lambda: persona_of(srv, session), lambda p: p is not None and pred(p),
                  what or f"the persona of {session}", timeout)


def wait_xp(srv, session, total, timeout=SETTLE):
    """Until the persona of session has exactly total XP; the persona."""
    return wait_persona(srv, session, lambda p: p["totalXp"] == total,
                        f"persona {session} at {total} XP", timeout)


def wait_project(srv, path, pred=lambda p: True, what=None, timeout=PROJECT_TIMEOUT):
    return settle(lambda: project_at(srv, path), lambda p: p is not None and pred(p),
                  what or f"the project of {path}", timeout)


def wait_companion(srv, project_id, pred, what, timeout=SETTLE):
    return settle(lambda: companion_of(srv, project_id), pred, what, timeout)


def xp_get(srv, what, **q):
    query = "&".join(f"{k}={v}" for k, v in q.items())
    return call(srv, "GET", f"/api/xp/{what}" + (f"?{query}" if query else ""))


def summary(srv, id_, type_=None):
    q = {"id": id_} if type_ is None else {"type": type_, "id": id_}
    d = ok(xp_get(srv, "summary", **q))
    assert set(d) == {"summary"}, d
    for e in d["summary"]:
        assert set(e) == {"category", "total", "count"}, e
        assert e["category"] in ("tool_use", "git", "quest", "achievement", "bonus", "other")
    return d["summary"]


def timeline(srv, id_, type_=None, days=None):
    q = {} if type_ is None else {"type": type_}
    q["id"] = id_
    if days is not None:
        q["days"] = days
    d = ok(xp_get(srv, "timeline", **q))
    assert set(d) == {"timeline"}, d
    for e in d["timeline"]:
        assert set(e) == {"date", "xp"} and isinstance(e["xp"], int), e
    return d["timeline"]


def today():
    """The server's local date (TZ=UTC)."""
    return datetime.datetime.now(datetime.timezone.utc).date()


def on_today(fn):
    """fn() and the dates around it (a midnight in between is allowed)."""
    d0 = today()
    v = fn()
    return v, {d0.isoformat(), today().isoformat()}


def check_persona(p):
    assert set(p) == PERSONA_KEYS, sorted(p)
    assert UUID4.match(p["id"]), p
    assert isinstance(p["sessionId"], str) and p["sessionId"], p
    assert isinstance(p["name"], str) and NAME.match(p["name"]), p
    assert p["avatarUrl"] == rpglib.avatar_url(p["sessionId"]), p
    assert p["status"] in ("active", "idle", "offline"), p
    assert isinstance(p["totalXp"], int) and p["totalXp"] >= 0, p
    assert p["level"] == level_of(p["totalXp"]), p
    assert p["tier"] == tier_of(p["level"]), p
    assert isinstance(p["badges"], list) and all(isinstance(b, str) for b in p["badges"]), p
    h = p["health"]
    assert set(h) == {"energy", "morale", "lastUpdated"}, h
    assert 0 <= h["energy"] <= 100 and 0 <= h["morale"] <= 100, h
    rpglib.check_ts(h["lastUpdated"], "health.lastUpdated")
    rpglib.check_ts(p["createdAt"], "createdAt")
    rpglib.check_ts(p["lastSeenAt"], "lastSeenAt")
    return p


def check_project(p):
    assert set(p) == PROJECT_KEYS, sorted(p)
    assert UUID4.match(p["id"]), p
    assert p["name"] == os.path.basename(p["path"]), p
    assert p["githubUrl"] is None or re.match(r"^https://github\.com/[^/]+/[^/]+$",
                                              p["githubUrl"]), p
    assert p["projectClass"] == "unknown", p
    assert isinstance(p["totalXp"], int) and p["level"] == level_of(p["totalXp"]), p
    rpglib.check_ts(p["createdAt"], "createdAt")
    rpglib.check_ts(p["lastActivityAt"], "lastActivityAt")
    return p


def iso_ms(ts):
    """ms of an ISO 8601 UTC timestamp with milliseconds (§2)."""
    t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000 + 0.5)


def stats(**over):
    """CompanionStats (§2.5): every key, zeros, then over ("git__commits": 2)."""
    s = {"toolsUsed": {}, "promptsReceived": 0, "sessionsCompleted": 0,
         "git": {"commits": 0, "pushes": 0, "prsCreated": 0, "prsMerged": 0},
         "commands": {"testsRun": 0, "buildsRun": 0, "deploysRun": 0, "lintsRun": 0},
         "blockchain": {"clarinetChecks": 0, "clarinetTests": 0, "testnetDeploys": 0,
                        "mainnetDeploys": 0},
         "quests": {"created": 0, "phasesCompleted": 0, "questsCompleted": 0,
                    "totalRetries": 0}}
    for k, v in over.items():
        if "__" in k:
            a, b = k.split("__")
            s[a][b] = v
        else:
            s[k] = v
    return s


def check_companion(c, project):
    """A companion against its project (§2.5)."""
    assert set(c) == COMPANION_KEYS, sorted(c)
    assert c["id"] == project["id"] and c["name"] == project["name"], (c, project)
    repo = c["repo"]
    assert repo["path"] == project["path"] and repo["name"] == project["name"], repo
    if project["githubUrl"] is None:
        assert set(repo) == {"path", "name"}, repo
    else:
        org, name = project["githubUrl"].rsplit("/", 2)[-2:]
        assert repo == {"path": project["path"], "name": project["name"], "org": org,
                        "remote": f"git@github.com:{org}/{name}.git"}, repo
    assert c["totalExperience"] == project["totalXp"], (c, project)
    assert c["level"] == project["level"] == level_of(project["totalXp"]), (c, project)
    assert c["experience"] == project["totalXp"] - threshold(project["level"]), c
    assert c["achievements"] == [], c
    assert isinstance(c["createdAt"], int) and isinstance(c["lastActivity"], int), c
    assert c["createdAt"] == iso_ms(project["createdAt"]), (c, project)
    assert c["lastActivity"] == iso_ms(project["lastActivityAt"]), (c, project)
    assert set(c["stats"]) == set(stats()), c["stats"]
    for k, v in stats().items():
        if isinstance(v, dict) and k != "toolsUsed":
            assert set(c["stats"][k]) == set(v), (k, c["stats"][k])
    st = c["streak"]
    assert set(st) == {"current", "longest", "lastActiveDate"}, st
    assert re.match(r"^\d{4}-\d\d-\d\d$", st["lastActiveDate"]), st
    assert st["longest"] >= st["current"] >= 0, st
    return c


def marker_hook(srv, pane):
    """A Read (1 XP) of a session of its own, through pane; returns once
    counted: every hook posted before it has been processed."""
    cl = Claude(srv, pane)
    cl.post("Read")
    wait_xp(srv, cl.session, 1)


# ---------------------------------------------------------------------------
# §4.5 personas
# ---------------------------------------------------------------------------

def test_persona_get_list_and_shape(rpg, pane):
    cl = Claude(rpg, pane)
    cl.tool("Edit")
    p = check_persona(wait_xp(rpg, cl.session, 3))
    assert p["sessionId"] == cl.session and p["level"] == 1 and p["tier"] == "novice", p
    assert p["badges"] == [] and p["health"]["energy"] == 100, p
    assert p["health"]["morale"] == 100, p     # +5 on 100: clamped (§8.4)
    d = ok(call(rpg, "GET", f"/api/personas/{p['id']}"))
    assert set(d) == {"persona"}, d
    assert check_persona(d["persona"]) == p
    for p2 in personas(rpg):
        check_persona(p2)


@pytest.mark.parametrize("pid", ["00000000-0000-4000-8000-000000000000", "nope",
                                 "pane-%253"])
def test_persona_unknown_is_404(rpg, pid):
    fail(call(rpg, "GET", f"/api/personas/{pid}"), 404, "NOT_FOUND", "Persona not found")


def test_personas_ordered_by_last_seen_desc(rpg, pane):
    cls = [Claude(rpg, pane) for _ in range(3)]
    for cl in cls:
        cl.pre("Read")
        wait_persona(rpg, cl.session)
        time.sleep(0.005)     # a distinct lastSeenAt (ms) for each
    mine = lambda: [p["sessionId"] for p in personas(rpg)   # noqa: E731
                    if p["sessionId"] in {c.session for c in cls}]
    assert mine() == [cls[2].session, cls[1].session, cls[0].session]
    cls[0].stop()
    settle(mine, lambda v: v == [cls[0].session, cls[2].session, cls[1].session],
           "the persona seen last first")
    seen = [p["lastSeenAt"] for p in personas(rpg)]
    assert seen == sorted(seen, reverse=True), seen


def test_persona_names_are_first_last_and_unique(rpg, pane):
    cls = [Claude(rpg, pane) for _ in range(12)]
    # h("..Aa") == h("..BB") (31*'A'+'a' == 31*'B'+'B'): the same hash picks
    # the same name, so the second of these must get another one (§8.6).
    a = Claude(rpg, pane, session="c0ffee00-collide-Aa")
    b = Claude(rpg, pane, session="c0ffee00-collide-BB")
    assert rpglib.js_hash(a.session) == rpglib.js_hash(b.session)
    for cl in cls + [a, b]:
        cl.pre("Read")
    names = {}
    for cl in cls + [a, b]:
        p = wait_persona(rpg, cl.session)
        assert NAME.match(p["name"]), p
        names[cl.session] = p["name"]
    assert names[a.session] != names[b.session], names
    everyone = [p["name"] for p in personas(rpg)]
    assert len(everyone) == len(set(everyone)), sorted(everyone)
    # a persona keeps its name
    a.stop()
    assert persona_of(rpg, a.session)["name"] == names[a.session]


# ---------------------------------------------------------------------------
# §3.4 linking, §2.3 status
# ---------------------------------------------------------------------------

def claude_session(rpg, p):
    return session_of(find_pane(get_state(rpg), p))


def test_placeholder_persona_and_relink(rpg, tmux):
    p = claude_pane(rpg, tmux)
    ph = wait_persona(rpg, f"pane-{p}", what=f"the placeholder persona pane-{p}")
    check_persona(ph)
    assert ph["totalXp"] == 0 and ph["status"] == "idle", ph
    cs = claude_session(rpg, p)
    assert cs["id"] == f"pane-{p}" and cs["name"] == ph["name"], (cs, ph)
    assert summary(rpg, ph["id"]) == []
    cl = Claude(rpg, p)
    cl.prompt("hello")
    per = wait_persona(rpg, cl.session, lambda x: x["status"] == "active",
                       "the hook's persona active (its pane is typing)")
    cs = settle(lambda: claude_session(rpg, p), lambda c: c["id"] == cl.session,
                "the pane relinked to the hook's persona")
    assert cs["name"] == per["name"] and cs["avatarSvg"] == per["avatarUrl"], (cs, per)
    assert cs["tier"] == per["tier"] and cs["badges"] == per["badges"], (cs, per)
    settle(lambda: persona_of(rpg, f"pane-{p}")["status"], lambda s: s == "offline",
           "the placeholder offline once no pane links it")
    cl.stop()
    wait_persona(rpg, cl.session, lambda x: x["status"] == "idle", "persona idle after stop")
    tmux.kill_pane(p)
    wait_persona(rpg, cl.session, lambda x: x["status"] == "offline",
                 "persona offline once its pane is gone", timeout=rpglib.STATE_TIMEOUT)


def test_pane_seen_after_a_hook_links_that_persona_not_a_placeholder(rpg, tmux):
    _, p = tmux.new_shell_window()
    rpglib.wait_pane(rpg, p, lambda x: x["process"]["type"] == "shell")
    cl = Claude(rpg, p)
    cl.tool("Edit")
    per = wait_xp(rpg, cl.session, 3)      # a shell pane: persona and XP all the same (§5)
    tmux.type_line(p, "claude")
    tmux.wait_text(p, "Welcome to Claude Code")
    cs = session_of(wait_claude(rpg, p))
    assert cs["id"] == cl.session and cs["name"] == per["name"], (cs, per)
    assert persona_of(rpg, f"pane-{p}") is None


# ---------------------------------------------------------------------------
# §8.1 XP values, §8.2 tiers, §8.3 levels
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("tool,xp", list(TOOL_XP.items()) + [
    ("MultiEdit", 2), ("NotebookEdit", 2), ("TodoWrite", 2), ("mcp__github__create_issue", 2)])
def test_tool_xp(rpg, pane, tool, xp):
    cl = Claude(rpg, pane)
    cl.tool(tool)
    wait_xp(rpg, cl.session, xp)
    cl.pre(tool)                            # a pre_tool_use alone gives nothing
    cl.post(tool, ok=False)                 # a failed tool use counts too
    p = wait_xp(rpg, cl.session, 2 * xp)
    assert summary(rpg, p["id"]) == [{"category": "tool_use", "total": 2 * xp, "count": 2}]


@pytest.mark.parametrize("command,success,git_xp,ops", [
    ("git commit -m x && git push", True, 15 + 10, 2),
    ("git commit -m x && git push", False, 0, 0),
    ("git checkout -b feature/login", True, 5, 1),
    ("git switch -c feature/login", True, 5, 1),
    ("git merge origin/main", True, 10, 1),
    ("git rebase -i main", True, 10, 1),
    ("gh pr create --title x --body y", True, 20, 1),
    ("gh pr merge 12 --squash", True, 50, 1),
    ("git status && git log --oneline -5", True, 0, 0),
    (MEGA, True, MEGA_XP - 2, 7),
])
def test_bash_git_xp(rpg, pane, command, success, git_xp, ops):
    cl = Claude(rpg, pane)
    cl.bash(command, ok=success)
    p = wait_xp(rpg, cl.session, 2 + git_xp)
    want = [{"category": "tool_use", "total": 2, "count": 1}]
    if ops:
        want = [{"category": "git", "total": git_xp, "count": ops}] + want
    assert summary(rpg, p["id"]) == want


def test_levels_and_tiers(rpg, tmux, tmp_path):
    """§8.3 at each boundary, §8.2 tiers: persona and project (one curve),
    and the companion's experience into the level (§2.5)."""
    root = git_repo(tmp_path / "lv")
    p, proj = repo_pane(rpg, tmux, root)
    cl = Claude(rpg, p, cwd=root)
    total = 0
    for below, lv in [(99, 1), (299, 2), (599, 3), (999, 4), (4499, 9), (10499, 14),
                      (18999, 19)]:
        for amount, want in ((below - total, lv), (1, lv + 1)):
            add_xp(cl, amount)
            total += amount
            per = wait_xp(rpg, cl.session, total)
            assert (per["level"], per["tier"]) == (want, tier_of(want)), (total, per)
        pj = wait_project(rpg, root, lambda x: x["totalXp"] == total)
        assert pj["level"] == lv + 1, pj
        c = check_companion(companion_of(rpg, proj["id"]), check_project(pj))
        assert c["experience"] == 0, c          # exactly on the threshold
    assert (per["level"], per["tier"]) == (20, "master"), per


def test_xp_summary_order_total_then_category(rpg, pane):
    cl = Claude(rpg, pane)
    cl.bash("git checkout -b x")            # tool_use 2, git 5
    cl.edit()                               # tool_use 5 (count 2) = git 5: git first
    p = wait_xp(rpg, cl.session, 10)
    assert summary(rpg, p["id"]) == [{"category": "git", "total": 5, "count": 1},
                                      {"category": "tool_use", "total": 5, "count": 2}]
    cl.post("Read")                          # tool_use 6 > git 5
    p = wait_xp(rpg, cl.session, 11)
    assert summary(rpg, p["id"], "persona") == [
        {"category": "tool_use", "total": 6, "count": 3},
        {"category": "git", "total": 5, "count": 1}]


# ---------------------------------------------------------------------------
# §4.8 parameters and errors
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("what", ["summary", "timeline"])
def test_xp_missing_id(rpg, what):
    for q in ("", "?type=persona", "?type=project", "?days=3"):
        fail(call(rpg, "GET", f"/api/xp/{what}{q}"), 400, "MISSING_PARAM",
             "Missing id parameter")


@pytest.mark.parametrize("what", ["summary", "timeline"])
@pytest.mark.parametrize("type_", ["bogus", "projects", "quest"])
def test_xp_bad_type(rpg, pane, what, type_):
    cl = Claude(rpg, pane)
    cl.pre("Read")
    p = wait_persona(rpg, cl.session)
    fail(xp_get(rpg, what, type=type_, id=p["id"]), 400, "INVALID_PARAM")


@pytest.mark.parametrize("days", ["0", "366", "x", "-1", "1.5", "1e2"])
def test_xp_timeline_bad_days(rpg, pane, days):
    cl = Claude(rpg, pane)
    cl.pre("Read")
    p = wait_persona(rpg, cl.session)
    fail(xp_get(rpg, "timeline", id=p["id"], days=days), 400, "INVALID_PARAM")


@pytest.mark.parametrize("what", ["summary", "timeline"])
def test_xp_unknown_entity_is_404(rpg, tmux, tmp_path, what):
    nobody = "00000000-0000-4000-8000-000000000000"
    fail(xp_get(rpg, what, id=nobody), 404, "NOT_FOUND", "Persona not found")
    fail(xp_get(rpg, what, type="persona", id=nobody), 404, "NOT_FOUND", "Persona not found")
    fail(xp_get(rpg, what, type="project", id=nobody), 404, "NOT_FOUND", "Project not found")
    root = git_repo(tmp_path / "x404")
    p, proj = repo_pane(rpg, tmux, root)
    cl = Claude(rpg, p, cwd=root)
    cl.pre("Read")
    per = wait_persona(rpg, cl.session)
    # the id of the other kind is not found either
    fail(xp_get(rpg, what, type="project", id=per["id"]), 404, "NOT_FOUND",
         "Project not found")
    fail(xp_get(rpg, what, type="persona", id=proj["id"]), 404, "NOT_FOUND",
         "Persona not found")


def check_timeline(tl, days, dates, today_xp):
    """days + 1 consecutive dates ascending, ending today, zeros but today."""
    assert len(tl) == days + 1, (days, len(tl))
    got = [datetime.date.fromisoformat(e["date"]) for e in tl]
    assert got == [got[0] + datetime.timedelta(days=i) for i in range(days + 1)], got
    assert tl[-1]["date"] in dates, (tl[-1], dates)
    assert tl[-1]["xp"] == today_xp, tl[-1]
    assert all(e["xp"] == 0 for e in tl[:-1]), [e for e in tl if e["xp"]]


def test_xp_timeline_days(rpg, tmux, tmp_path):
    root = git_repo(tmp_path / "tl")
    p, proj = repo_pane(rpg, tmux, root)
    cl = Claude(rpg, p, cwd=root)
    cl.write()
    cl.bash("git commit -m tl")
    per = wait_xp(rpg, cl.session, 5 + 2 + 15)
    for days in (None, 1, 7, 365):
        n = 30 if days is None else days
        tl, dates = on_today(lambda: timeline(rpg, per["id"], None, days))
        check_timeline(tl, n, dates, 22)
        tl, dates = on_today(lambda: timeline(rpg, proj["id"], "project", days))
        check_timeline(tl, n, dates, 22)
    tl, dates = on_today(lambda: timeline(rpg, per["id"], "persona", 2))
    check_timeline(tl, 2, dates, 22)
    assert summary(rpg, proj["id"], "project") == [
        {"category": "git", "total": 15, "count": 1},
        {"category": "tool_use", "total": 7, "count": 2}]


# ---------------------------------------------------------------------------
# §8.4 health, §8.5 badges
# ---------------------------------------------------------------------------

def test_health_energy_and_morale(rpg, pane):
    cl = Claude(rpg, pane)
    cl.prompt("start")                      # energy +10 on 100: stays 100
    p = wait_persona(rpg, cl.session)
    assert (p["health"]["energy"], p["health"]["morale"]) == (100, 100), p

    def health(xp):
        h = wait_xp(rpg, cl.session, xp)["health"]
        rpglib.check_ts(h["lastUpdated"])
        return h["energy"], h["morale"]

    for _ in range(3):
        cl.post("Read", ok=False)           # morale -10 each
    assert health(3) == (100, 70)
    cl.bash("npm test")                     # +5, +15 for a test run
    assert health(5) == (100, 90)
    cl.post("Read")                         # +5
    assert health(6) == (100, 95)
    cl.bash("git commit -m wip")            # +5 +20: clamped to 100
    assert health(6 + 17) == (100, 100)
    for _ in range(11):
        cl.post("Grep", ok=False)           # -110: clamped to 0
    assert health(23 + 11) == (100, 0)
    cl.edit()                               # +5
    assert health(37) == (100, 5)
    cl.prompt("more")
    assert health(37) == (100, 5)
    cs = claude_session(rpg, pane)
    per = persona_of(rpg, cl.session)
    assert cs["id"] == cl.session and cs["health"] == per["health"], (cs, per)


def badges(rpg, session):
    return set(persona_of(rpg, session)["badges"])


def test_badges(rpg, pane):
    """§8.5: counters of successful tool uses; each badge at its threshold."""
    cl = Claude(rpg, pane)
    for i in range(89):
        cl.edit(f"/home/dev/proj/src/f{i}.js")
    for i in range(10):
        cl.edit(f"/home/dev/proj/src/m{i}.js", tool="MultiEdit")
    cl.edit(ok=False)                       # a failed edit is not counted
    cl.edit("/home/dev/proj/contracts/a.clar", ok=False)
    xp = 89 * 3 + 10 * 2 + 2 * 3
    wait_xp(rpg, cl.session, xp)
    assert badges(rpg, cl.session) == set()           # 99 files edited
    cl.edit()
    xp += 3
    wait_xp(rpg, cl.session, xp)
    assert badges(rpg, cl.session) == {"code_architect"}

    for i in range(9):
        cl.write(f"/home/dev/proj/contracts/c{i}.clar")
    xp += 9 * 5
    wait_xp(rpg, cl.session, xp)
    assert badges(rpg, cl.session) == {"code_architect"}   # 9 .clar files
    cl.write("/home/dev/proj/contracts/c9.clar")
    xp += 5
    wait_xp(rpg, cl.session, xp)
    assert badges(rpg, cl.session) == {"code_architect", "clarity_coder"}
    for i in range(39):
        cl.write(f"/home/dev/proj/src/w{i}.ts")
    xp += 39 * 5
    wait_xp(rpg, cl.session, xp)
    assert "wordsmith" not in badges(rpg, cl.session)     # 49 files written
    cl.write("/home/dev/proj/src/w39.ts")
    xp += 5
    wait_xp(rpg, cl.session, xp)
    assert badges(rpg, cl.session) == {"code_architect", "clarity_coder", "wordsmith"}

    for i in range(49):
        cl.bash(f"npm test && git commit -am 'step {i}'")    # a test run and a commit
    cl.bash("npm test && git commit -am nope", ok=False)
    xp += 49 * 17 + 2
    wait_xp(rpg, cl.session, xp)
    assert not badges(rpg, cl.session) & {"test_champion", "git_master", "shell_sage"}
    cl.bash("npx vitest run && git commit -am last")
    xp += 17
    wait_xp(rpg, cl.session, xp)
    assert badges(rpg, cl.session) >= {"test_champion", "git_master"}
    assert "shell_sage" not in badges(rpg, cl.session)    # 50 bash commands
    for i in range(49):
        cl.bash(f"ls -la src/{i}")
    xp += 49 * 2
    wait_xp(rpg, cl.session, xp)
    assert "shell_sage" not in badges(rpg, cl.session)    # 99
    cl.bash("pwd")
    xp += 2
    wait_xp(rpg, cl.session, xp)
    assert badges(rpg, cl.session) == {"code_architect", "clarity_coder", "wordsmith",
                                       "test_champion", "git_master", "shell_sage"}
    cs = claude_session(rpg, pane)
    assert cs["id"] == cl.session and set(cs["badges"]) == badges(rpg, cl.session), cs


# ---------------------------------------------------------------------------
# §2.4, §4.6 projects from git
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("remote,url", [
    ("git@github.com:acme/widget.git", "https://github.com/acme/widget"),
    ("https://github.com/acme/widget.git", "https://github.com/acme/widget"),
    ("https://github.com/acme/widget", "https://github.com/acme/widget"),
    ("git@gitlab.com:acme/widget.git", None),
    ("https://example.org/git/acme/widget.git", None),
    (None, None),
])
def test_project_from_git(rpg, tmux, tmp_path, remote, url):
    root = git_repo(tmp_path / "acme" / "widget", remote)
    _, proj = repo_pane(rpg, tmux, root)
    check_project(proj)
    assert (proj["path"], proj["name"], proj["githubUrl"]) == (root, "widget", url), proj
    assert proj["totalXp"] == 0 and proj["level"] == 1, proj
    d = ok(call(rpg, "GET", f"/api/projects/{proj['id']}"))
    assert set(d) == {"project"} and d["project"] == proj, d
    c, dates = on_today(lambda: companion_of(rpg, proj["id"]))
    check_companion(c, proj)
    # never active: zeros, lastActiveDate today (§8.8)
    assert c["stats"] == stats(), c["stats"]
    assert (c["streak"]["current"], c["streak"]["longest"]) == (0, 0), c["streak"]
    assert c["streak"]["lastActiveDate"] in dates, c["streak"]
    assert (c["level"], c["experience"], c["totalExperience"]) == (1, 0, 0), c


def test_project_subdirectory_maps_to_root(rpg, tmux, tmp_path):
    root = git_repo(tmp_path / "mono", "git@github.com:acme/mono.git")
    _, proj = repo_pane(rpg, tmux, root, sub=os.path.join("packages", "api", "src"))
    assert (proj["path"], proj["name"]) == (root, "mono"), proj
    p2, again = repo_pane(rpg, tmux, root)
    assert again["id"] == proj["id"]
    p3, _ = repo_pane(rpg, tmux, root, sub="docs")
    assert [x["id"] for x in projects(rpg) if x["path"].startswith(root)] == [proj["id"]]
    cl = Claude(rpg, p3, cwd=os.path.join(root, "docs"))
    cl.edit()
    wait_project(rpg, root, lambda x: x["totalXp"] == 3, "the subdirectory pane's XP")


def test_nested_repository_is_its_own_project(rpg, tmux, tmp_path):
    """§2.4: a project's path is the git working-tree root of the pane's cwd;
    a repository inside another one (a vendored checkout) has its own root,
    even when the outer one is already a project."""
    outer = git_repo(tmp_path / "outer", "git@github.com:acme/outer.git")
    _, po = repo_pane(rpg, tmux, outer)
    inner = git_repo(tmp_path / "outer" / "vendor" / "lib", "git@github.com:acme/lib.git")
    p, pi = repo_pane(rpg, tmux, inner)
    assert (pi["path"], pi["name"], pi["githubUrl"]) == (
        inner, "lib", "https://github.com/acme/lib"), pi
    cl = Claude(rpg, p, cwd=inner)
    cl.edit()
    wait_project(rpg, inner, lambda x: x["totalXp"] == 3, "the inner project's XP")
    assert project_at(rpg, outer)["totalXp"] == 0


def test_no_project_outside_a_git_tree(rpg, tmux, tmp_path):
    plain = tmp_path / "plain" / "dir"
    plain.mkdir(parents=True)
    p = claude_pane(rpg, tmux, plain)
    root = git_repo(tmp_path / "after")
    repo_pane(rpg, tmux, root)
    cl = Claude(rpg, p, cwd=str(plain))
    cl.edit()
    wait_xp(rpg, cl.session, 3)
    base = os.path.realpath(str(tmp_path))
    assert [x["path"] for x in projects(rpg) if x["path"].startswith(base)] == [root]


@pytest.mark.parametrize("pid", ["00000000-0000-4000-8000-000000000000", "nope"])
def test_project_unknown_is_404(rpg, pid):
    fail(call(rpg, "GET", f"/api/projects/{pid}"), 404, "NOT_FOUND", "Project not found")


def test_projects_and_companions_ordered_by_last_activity(rpg, tmux, tmp_path):
    ra = git_repo(tmp_path / "a")
    rb = git_repo(tmp_path / "b")
    pa, ja = repo_pane(rpg, tmux, ra)
    pb, jb = repo_pane(rpg, tmux, rb)
    a, b = Claude(rpg, pa, cwd=ra), Claude(rpg, pb, cwd=rb)
    ids = {ja["id"], jb["id"]}

    def order(items):
        return [x["id"] for x in items if x["id"] in ids]

    a.edit()
    wait_project(rpg, ra, lambda x: x["totalXp"] == 3)
    time.sleep(0.005)     # a distinct lastActivityAt (ms)
    b.edit()
    wait_project(rpg, rb, lambda x: x["totalXp"] == 3)
    assert order(projects(rpg)) == [jb["id"], ja["id"]]
    settle(lambda: order(companions(rpg)), lambda v: v == [jb["id"], ja["id"]],
           "companions, the last active first")
    time.sleep(0.005)
    a.edit()
    wait_project(rpg, ra, lambda x: x["totalXp"] == 6)
    assert order(projects(rpg)) == [ja["id"], jb["id"]]
    assert order(companions(rpg)) == [ja["id"], jb["id"]]
    acts = [x["lastActivityAt"] for x in projects(rpg)]
    assert acts == sorted(acts, reverse=True), acts
    acts = [x["lastActivity"] for x in companions(rpg)]
    assert acts == sorted(acts, reverse=True), acts


# ---------------------------------------------------------------------------
# §2.5, §8.7, §8.8 companions
# ---------------------------------------------------------------------------

def test_companion_stats(rpg, tmux, tmp_path):
    root = git_repo(tmp_path / "acme" / "shop", "git@github.com:acme/shop.git")
    p, proj = repo_pane(rpg, tmux, root)
    cl = Claude(rpg, p, cwd=root)
    cl.prompt("one")
    cl.prompt("two")
    cl.tool("Read")
    cl.edit()
    cl.edit(ok=False)                        # failures change no stat
    cl.write()
    cl.tool("Task")
    for cmd in ("npm test", "npx jest --ci", "pytest -q", "npx vitest run"):
        cl.bash(cmd)                         # testsRun
    for cmd in ("npm run build", "bun run build", "cargo build --release", "make -j2"):
        cl.bash(cmd)                         # buildsRun
    for cmd in ("npm run lint", "npx eslint src"):
        cl.bash(cmd)                         # lintsRun
    cl.bash("clarinet check")                # clarinetChecks
    cl.bash("clarinet test")                 # clarinetTests, and `test`: testsRun
    for cmd in ("git commit -m a", "git push", "gh pr create --fill", "gh pr merge 3"):
        cl.bash(cmd)
    cl.bash("git push --force", ok=False)
    cl.bash("npm test", ok=False)
    cl.stop()
    want = stats(toolsUsed={"Read": 1, "Edit": 1, "Write": 1, "Task": 1, "Bash": 16},
                 promptsReceived=2, sessionsCompleted=1, git__commits=1, git__pushes=1,
                 git__prsCreated=1, git__prsMerged=1, commands__testsRun=5,
                 commands__buildsRun=4, commands__lintsRun=2,
                 blockchain__clarinetChecks=1, blockchain__clarinetTests=1)
    c, dates = on_today(lambda: wait_companion(rpg, proj["id"], lambda c: c["stats"] == want,
                                               "the companion's stats"))
    xp = 1 + 3 + 3 + 5 + 5 + 16 * 2 + 15 + 10 + 20 + 50 + 2 * 2
    per = wait_xp(rpg, cl.session, xp)
    pj = check_project(wait_project(rpg, root, lambda x: x["totalXp"] == xp))
    check_companion(c, pj)
    assert c["streak"]["current"] == 1 and c["streak"]["longest"] == 1, c["streak"]
    assert c["streak"]["lastActiveDate"] in dates, c["streak"]
    assert per["totalXp"] == pj["totalXp"]


@pytest.mark.parametrize("fields,success", [
    ({"success": False}, False),
    ({"error": "Exit code 1"}, False),
    ({"tool_response": {"stdout": "", "stderr": "boom", "is_error": True}}, False),
    ({"success": True, "error": "ignored: success is a boolean"}, True),
    ({"error": ""}, True),
    ({"tool_response": "plain text output"}, True),
    ({"tool_response": {"stdout": "fine", "is_error": False}}, True),
])
def test_success_derivation_drives_stats_and_morale(rpg, tmux, tmp_path, fields, success):
    """§5 step 4 decides what §8.4, §8.5 and §8.7 see: a failure still earns
    its XP, and only a success counts in the stats and lifts morale."""
    root = git_repo(tmp_path / "sd")
    p, proj = repo_pane(rpg, tmux, root)
    cl = Claude(rpg, p, cwd=root)
    b = cl.body("PostToolUse", tool_name="Bash",
                tool_input={"command": "npm test && git commit -m x", "description": "t"},
                tool_use_id=tuid())
    b.update(fields)
    post_event(rpg, b)
    per = wait_xp(rpg, cl.session, 2 + (15 if success else 0))
    assert per["health"]["morale"] == (100 if success else 90), per
    want = (stats(toolsUsed={"Bash": 1}, commands__testsRun=1, git__commits=1)
            if success else stats())
    c = wait_companion(rpg, proj["id"], lambda c: c["totalExperience"] == per["totalXp"],
                       "the project's XP")
    assert c["stats"] == want, c["stats"]
    assert c["streak"]["current"] == 1, c["streak"]      # every post_tool_use (§8.8)


def test_user_prompt_alias_counts_as_a_prompt(rpg, tmux, tmp_path):
    root = git_repo(tmp_path / "up")
    p, proj = repo_pane(rpg, tmux, root)
    cl = Claude(rpg, p, cwd=root)
    cl.send("user_prompt", prompt="hi")
    cl.send("UserPromptSubmit", prompt="hi again")
    wait_companion(rpg, proj["id"], lambda c: c["stats"]["promptsReceived"] == 2,
                   "two prompts counted")


def test_longest_tool_name(rpg, tmux, tmp_path):
    """An MCP tool's name, mcp__<server>__<tool>, is as long as the API
    allows a tool name (64 characters): counted under its full name (§8.7)
    and worth 2 XP (§8.1, any other tool)."""
    name = "mcp__atlassian_jira__get_issue_transitions_for_project_workflows"
    assert len(name) == 64
    root = git_repo(tmp_path / "mcp")
    p, proj = repo_pane(rpg, tmux, root)
    cl = Claude(rpg, p, cwd=root)
    cl.tool(name, {"query": "roadmap"})
    per = wait_xp(rpg, cl.session, 2)
    c = wait_companion(rpg, proj["id"], lambda c: c["totalExperience"] == 2, "the project's XP")
    assert c["stats"]["toolsUsed"] == {name: 1}, c["stats"]["toolsUsed"]
    assert summary(rpg, per["id"]) == [{"category": "tool_use", "total": 2, "count": 1}]


def test_long_bash_command(rpg, tmux, tmp_path):
    """A Bash command that writes a file through a heredoc and commits it is
    long (8 KiB here; a hook body may be up to max_hook_body_bytes): its git
    commit still counts (§8.1, §8.4, §8.7)."""
    notes = "\n".join(f"- item {i}: " + "lorem ipsum dolor sit amet " * 3 for i in range(100))
    cmd = f"cat > NOTES.md <<'EOF'\n{notes}\nEOF\ngit add NOTES.md && git commit -m 'Add notes'"
    assert len(cmd) > 8192
    root = git_repo(tmp_path / "long")
    p, proj = repo_pane(rpg, tmux, root)
    cl = Claude(rpg, p, cwd=root)
    cl.post("Read", ok=False)                # morale 90, so the commit's +25 shows
    cl.bash(cmd)
    per = wait_xp(rpg, cl.session, 1 + 2 + 15)
    assert per["health"]["morale"] == 100, per
    c = wait_companion(rpg, proj["id"], lambda c: c["totalExperience"] == 18, "the project's XP")
    assert c["stats"]["git"]["commits"] == 1, c["stats"]


def test_companions_broadcast_on_change(rpg, tmux, tmp_path):
    """§9.2: `companions` is sent when the list differs from the last one
    sent: a new project, then each change of its stats."""
    root = git_repo(tmp_path / "bc")
    with Client(rpg) as ws:
        p, proj = repo_pane(rpg, tmux, root)
        m = ws.wait_type("companions", lambda m: any(c["id"] == proj["id"]
                                                     for c in m["payload"]),
                         "companions with the new project", timeout=SETTLE)
        check_companion([c for c in m["payload"] if c["id"] == proj["id"]][0], proj)
        cl = Claude(rpg, p, cwd=root)
        cl.edit()
        m = ws.wait_type("companions", lambda m: any(
            c["id"] == proj["id"] and c["stats"]["toolsUsed"].get("Edit") == 1
            for c in m["payload"]), "companions with the Edit counted",
            timeout=SETTLE)
        c = [c for c in m["payload"] if c["id"] == proj["id"]][0]
        assert c["totalExperience"] == 3 and c["experience"] == 3, c
        cl.prompt("again")
        ws.wait_type("companions", lambda m: any(
            c["id"] == proj["id"] and c["stats"]["promptsReceived"] == 1
            for c in m["payload"]), "companions with the prompt counted", timeout=SETTLE)


def test_streak_same_day(rpg, tmux, tmp_path):
    root = git_repo(tmp_path / "st")
    p, proj = repo_pane(rpg, tmux, root)
    cl = Claude(rpg, p, cwd=root)
    cl.prompt("a prompt does not touch the streak")
    c = companion_of(rpg, proj["id"])
    assert (c["streak"]["current"], c["streak"]["longest"]) == (0, 0), c["streak"]
    cl.stop()                                # a stop does
    c, dates = on_today(lambda: wait_companion(
        rpg, proj["id"], lambda c: c["streak"]["current"] == 1, "streak 1 after a stop"))
    assert c["streak"]["longest"] == 1 and c["streak"]["lastActiveDate"] in dates, c
    for _ in range(3):
        cl.edit()
        cl.stop()
    c = wait_companion(rpg, proj["id"], lambda c: c["stats"]["sessionsCompleted"] == 4,
                       "four stops")
    assert (c["streak"]["current"], c["streak"]["longest"]) == (1, 1), c["streak"]


# ---------------------------------------------------------------------------
# §5 steps 2-3, hooks.md §7: panes, duplicates, order
# ---------------------------------------------------------------------------

def obs_events(srv, session):
    r = srv.request("observability", "GET", f"/events/{session}?limit=1000")
    if r.status == 404:
        return []
    assert r.status == 200, r
    return r.json()["events"]


@pytest.mark.needs("observability")
def test_duplicate_hook_counted_once(rpg, pane):
    cl = Claude(rpg, pane)
    t = tuid()
    cl.pre("Edit", tool_use_id=t)
    body = cl.post("Edit", tool_use_id=t)
    post_event(rpg, body)                                   # delivered twice
    alias = dict(body)
    alias["toolUseId"] = alias.pop("tool_use_id")           # the alias, same id
    post_event(rpg, alias)
    cl.pre("Edit", tool_use_id=t)                           # the pre again
    cl.post("Read")                                         # a later, new hook
    p = wait_xp(rpg, cl.session, 3 + 1)
    assert summary(rpg, p["id"]) == [{"category": "tool_use", "total": 4, "count": 2}]
    evs = [(e["event_type"], e["tool_name"]) for e in obs_events(rpg, cl.session)]
    assert evs == [("session_start", None), ("pre_tool", "Edit"), ("post_tool", "Edit"),
                   ("post_tool", "Read")], evs
    # the key is type + session + tool_use_id: another session is counted
    other = Claude(rpg, pane)
    other.post("Edit", tool_use_id=t)
    wait_xp(rpg, other.session, 3)


@pytest.mark.needs("observability")
def test_hooks_without_tool_use_id_are_not_deduplicated(rpg, tmux, tmp_path):
    root = git_repo(tmp_path / "nd")
    p, proj = repo_pane(rpg, tmux, root)
    cl = Claude(rpg, p, cwd=root)
    body = cl.prompt("the same prompt")
    post_event(rpg, body)
    cl.stop()
    cl.stop()
    wait_companion(rpg, proj["id"], lambda c: c["stats"]["promptsReceived"] == 2
                   and c["stats"]["sessionsCompleted"] == 2, "two prompts and two stops")
    evs = [e["event_type"] for e in obs_events(rpg, cl.session)]
    assert evs.count("message") == 2 and evs.count("session_stop") == 2, evs


def test_post_before_pre(rpg, pane):
    cl = Claude(rpg, pane)
    t = tuid()
    cl.post("Write", tool_use_id=t)
    cl.pre("Write", tool_use_id=t)
    cl.post("Write", tool_use_id=t)                         # a duplicate of the first
    cl.post("Read")
    wait_xp(rpg, cl.session, 5 + 1)
    cs = settle(lambda: claude_session(rpg, pane), lambda c: c["id"] == cl.session,
                "the pane on the session")
    assert cs["status"] == "working", cs                   # the late pre's status


def test_hook_without_a_pane_has_no_rpg_effect(rpg, pane, tmux):
    lone = Claude(rpg, None)
    lone.prompt("no pane")
    lone.tool("Edit")
    lone.stop()
    bad = Claude(rpg, None, target="nosuchsession:99.9")
    bad.tool("Write")
    marker_hook(rpg, pane)
    assert persona_of(rpg, lone.session) is None
    assert persona_of(rpg, bad.session) is None


def test_shell_pane_in_a_project_credits_it(rpg, tmux, tmp_path):
    """§5: a pane that is not a Claude pane has no pane session, and its
    hooks still give persona, XP and stats; J is the project of the pane's
    cwd."""
    root = git_repo(tmp_path / "sh")
    _, proj = repo_pane(rpg, tmux, root)
    sub = os.path.join(root, "src")
    os.makedirs(sub)
    _, sp = tmux.new_shell_window(cwd=sub)
    rpglib.wait_pane(rpg, sp, lambda x: x["process"]["type"] == "shell")
    cl = Claude(rpg, sp, cwd=sub)
    cl.tool("Edit")
    cl.bash("git commit -m from-a-shell-pane")
    wait_xp(rpg, cl.session, 3 + 2 + 15)
    pj = wait_project(rpg, root, lambda x: x["totalXp"] == 20, "the shell pane's XP")
    c = check_companion(companion_of(rpg, proj["id"]), check_project(pj))
    assert c["stats"]["toolsUsed"] == {"Edit": 1, "Bash": 1}, c["stats"]
    assert c["stats"]["git"]["commits"] == 1 and c["streak"]["current"] == 1, c


def test_hook_by_tmux_target_counts(rpg, pane, tmux):
    t = tmux.pane(pane)
    cl = Claude(rpg, None, target=f"{t['session']}:{t['windowIndex']}.{t['index']}")
    cl.tool("Edit")
    wait_xp(rpg, cl.session, 3)


# ---------------------------------------------------------------------------
# the replay of a recorded session
# ---------------------------------------------------------------------------

def load_session():
    with open(SESSION_FILE) as f:
        return [json.loads(line) for line in f if line.strip()]


def replay(srv, tmux, pane, session, cwd, transcript):
    """Post every recorded hook as the rpg hook script would from pane:
    paneId, tmuxTarget, session_id, cwd and transcript_path filled in,
    timestamp now (hooks.md §3)."""
    t = tmux.pane(pane)
    target = f"{t['session']}:{t['windowIndex']}.{t['index']}"
    bodies = []
    for b in load_session():
        b = json.loads(json.dumps(b).replace("{{CWD}}", cwd))
        b["session_id"] = session
        b["transcript_path"] = transcript
        b["paneId"] = pane
        b["tmuxTarget"] = target
        b["timestamp"] = rpglib.now_ms()
        post_event(srv, b)
        bodies.append(b)
    return bodies


def test_replay_a_recorded_session(rpg, tmux, tmp_path, home, pane):
    root = git_repo(tmp_path / "acme" / "signup", "git@github.com:acme/signup.git")
    p, proj = repo_pane(rpg, tmux, root)
    session = sid()
    tdir = home / ".claude" / "projects" / ("-" + root.strip("/").replace("/", "-"))
    tdir.mkdir(parents=True, exist_ok=True)
    transcript = str(tdir / f"{session}.jsonl")
    last = {"type": "assistant", "message": {"role": "assistant", "content": [
        {"type": "text", "text": "Email validation is in, tests pass, PR opened."}]}}
    with open(transcript, "w") as f:
        f.write(json.dumps({"type": "user", "message": {"role": "user",
                                                        "content": "Add email validation"}})
                + "\n" + json.dumps(last) + "\n")
    with Client(rpg) as ws:
        bodies = replay(rpg, tmux, p, session, root, transcript)
        # a notification from another pane: the bus is in order, so once its
        # event is here every event of the replay is too
        Claude(rpg, pane).notify("replay marker")
        ws.wait_type("event", lambda m: m["payload"]["eventType"] == "hook:notification"
                     and m["payload"].get("paneId") == pane, "the marker's event",
                     timeout=SETTLE)
        xp_events = [m for m in ws.log if m["type"] == "event"
                     and m["payload"]["eventType"] == "xp:awarded"]
        hook_events = [m["payload"]["eventType"] for m in ws.log if m["type"] == "event"
                       and m["payload"]["eventType"].startswith("hook:")
                       and m["payload"].get("paneId") == p]
    assert [b["hook_event_name"] for b in bodies][:2] == ["SessionStart", "UserPromptSubmit"]

    # §8.1 by hand, in the order of the recording (a failed Bash still earns
    # tool:Bash; git extras only for a successful Bash):
    tool_use = [1,        # Read src/signup.js
                1,        # Grep validateEmail
                3,        # Edit src/signup.js
                3,        # Edit tests/signup.test.js
                2,        # Bash npm test
                1,        # (sub-agent) Read src/signup.js
                5,        # Task
                2,        # Bash npx eslint src
                2,        # Bash git add && git commit
                2,        # Bash git push
                2,        # Bash gh pr create
                2,        # Bash npm run build (failed)
                3]        # Edit src/signup.js (the fix)
    git_xp = [15,         # git:commit
              10,         # git:push
              20]         # git:pr_created
    total = sum(tool_use) + sum(git_xp)
    assert total == 74
    per = check_persona(wait_xp(rpg, session, total))
    assert (per["level"], per["tier"], per["badges"]) == (1, "novice", []), per
    assert per["status"] == "idle", per                      # its pane is idle after Stop
    # §8.4: energy never below 100 here (+2/+10 capped, no time passes);
    # morale 100 until the failed build (-10), then the Edit (+5).
    assert (per["health"]["energy"], per["health"]["morale"]) == (100, 95), per
    assert summary(rpg, per["id"]) == [
        {"category": "git", "total": sum(git_xp), "count": len(git_xp)},
        {"category": "tool_use", "total": sum(tool_use), "count": len(tool_use)}]
    assert summary(rpg, proj["id"], "project") == summary(rpg, per["id"])
    assert len(xp_events) == len(tool_use) + len(git_xp), xp_events

    pj = check_project(wait_project(rpg, root, lambda x: x["totalXp"] == total))
    assert pj["githubUrl"] == "https://github.com/acme/signup", pj
    want = stats(toolsUsed={"Read": 2, "Grep": 1, "Edit": 3, "Task": 1, "Bash": 5},
                 promptsReceived=1, sessionsCompleted=1, git__commits=1, git__pushes=1,
                 git__prsCreated=1, commands__testsRun=1, commands__lintsRun=1)
    c, dates = on_today(lambda: companion_of(rpg, proj["id"]))
    check_companion(c, pj)
    assert c["stats"] == want, c["stats"]
    assert c["streak"]["current"] == 1 and c["streak"]["longest"] == 1, c["streak"]
    assert c["streak"]["lastActiveDate"] in dates, c["streak"]
    assert (c["level"], c["experience"], c["totalExperience"]) == (1, total, total), c

    cs = claude_session(rpg, p)
    assert cs["id"] == session and cs["status"] == "idle" and cs["name"] == per["name"], cs

    # §10: the bus events of the hooks, in order (SessionStart and
    # SubagentStop are ignored by rpg)
    want_hooks = []
    for b in bodies:
        want_hooks += {"UserPromptSubmit": ["hook:user_prompt"],
                       "PreToolUse": ["hook:pre_tool_use"],
                       "PostToolUse": ["hook:post_tool_use"], "Stop": ["hook:stop"],
                       "Notification": ["hook:notification"]}.get(b["hook_event_name"], [])
    assert hook_events == want_hooks, hook_events

    if not roostlib.built("observability"):
        return
    # hooks.md §4: what observability recorded from the same hooks
    want_obs = []
    for b in bodies:
        kind = b["hook_event_name"]
        if kind == "SessionStart":
            want_obs.append(("session_start", None))
        elif kind == "UserPromptSubmit":
            want_obs.append(("message", None))
        elif kind == "PreToolUse":
            want_obs.append(("pre_tool", b["tool_name"]))
        elif kind == "PostToolUse":
            want_obs.append(("post_tool", b["tool_name"]))
        elif kind == "Stop":
            want_obs += [("session_stop", None), ("message", None)]
    evs = obs_events(rpg, session)
    assert [(e["event_type"], e["tool_name"]) for e in evs] == want_obs, evs
    assert evs[1]["role"] == "user" and evs[1]["content"] == [
        {"type": "text", "text": bodies[1]["prompt"]}], evs[1]
    failed = [e for e in evs if e["event_type"] == "post_tool"
              and (e["tool_input"] or {}).get("command") == "npm run build"]
    assert len(failed) == 1 and failed[0]["tool_output"]["is_error"] is True, failed
    assert evs[-1]["role"] == "assistant" and evs[-1]["content"] == \
        last["message"]["content"], evs[-1]

