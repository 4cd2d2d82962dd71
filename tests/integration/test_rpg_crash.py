"""kill -9 in the middle of a burst of hooks, a restart on the same data
dir, and every hook of the burst posted again (a client retrying what it
may not have got an answer for): each hook is counted exactly once
(hooks.md §7; the issue: duplicate keys live in sqlite, and a hook's rpg
effects are one transaction, so none is half applied).

Four threads post PreToolUse/PostToolUse pairs with tool_use_ids for four
sessions through two Claude panes of one git project; roostd is killed
once a third of the burst was answered. After the restart and the replay
of the whole burst:
  - each persona's totalXp is the §8.1 XP of its distinct PostToolUse
    hooks, and its XP summary adds up to it;
  - the project's totalXp is the sum over the sessions, its summary too;
  - the companion's toolsUsed, git.commits and commands.testsRun count the
    distinct successful tool uses.
A hook half applied (its XP and not its stats, or its ledger row and not
the totals) or applied twice breaks one of these.

And the plain case: one answered hook, a restart (SIGTERM, or kill -9 right
after the answer), the same hook again: still a duplicate.
"""

import http.client
import json
import threading
import time

import pytest

import roostlib
import rpglib
from rpglib import Client, post_event, wait_claude
from test_rpg_game import (PROJECT_TIMEOUT, Claude, claude_pane, companion_of, game_server,
                           git_repo, persona_of, project_at, repo_pane, settle, summary,
                           timeline, tuid)

NEEDS = {"rpg"}

tmux = rpglib.tmux
_clean_tmux = rpglib.clean_tmux

THREADS = 4
USES = 40                 # tool uses per thread: 2 hooks each

# (tool, tool_input, XP of its PostToolUse, companion counters it adds)
KINDS = [
    ("Edit", {"file_path": "/w/src/a.js", "old_string": "a", "new_string": "b"}, 3, {}),
    ("Read", {"file_path": "/w/src/a.js"}, 1, {}),
    ("Bash", {"command": "git commit -am step", "description": "commit"}, 2 + 15,
     {"commits": 1}),
    ("Bash", {"command": "npm test", "description": "test"}, 2, {"testsRun": 1}),
    ("Write", {"file_path": "/w/src/b.js", "content": "x"}, 5, {}),
]


def plan_for(cl):
    """The burst of one thread: (body, xp of it, tool, counters) in order."""
    out = []
    for i in range(USES):
        tool, tin, xp, counters = KINDS[i % len(KINDS)]
        t = tuid()
        out.append((cl.body("PreToolUse", tool_name=tool, tool_input=tin, tool_use_id=t),
                    0, None, {}))
        resp = ({"stdout": "ok\n", "stderr": "", "interrupted": False, "isImage": False}
                if tool == "Bash" else {"filePath": tin["file_path"]})
        out.append((cl.body("PostToolUse", tool_name=tool, tool_input=tin,
                            tool_response=resp, tool_use_id=t), xp, tool, counters))
    return out


def post_raw(port, body):
    """POST /event; the status, or None when the connection failed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=roostlib.IO_TIMEOUT)
    try:
        conn.request("POST", "/event", body=json.dumps(body).encode(),
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        return r.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def run_burst(port, plans, acked, statuses, stop_on_failure=True):
    def worker(k):
        for body, _, _, _ in plans[k]:
            st = post_raw(port, body)
            with lock:
                statuses.append(st)
                if st == 200:
                    acked[0] += 1
            if st is None and stop_on_failure:
                return              # the server is gone: the client retries later

    lock = threading.Lock()
    threads = [threading.Thread(target=worker, args=(k,), daemon=True)
               for k in range(len(plans))]
    for t in threads:
        t.start()
    return threads


def wait_linked(srv, pane, project_id):
    """Until the pane's session is linked to the project (its pane_update
    says so, §2.2 projectId): a probe session flips the pane between typing
    and working (a prompt and a pre_tool_use: no XP, no tool stats)."""
    probe = Claude(srv, pane)
    deadline = time.monotonic() + PROJECT_TIMEOUT
    with Client(srv) as ws:
        flip = 0
        while True:
            n0 = len(ws.log)
            if flip % 2 == 0:
                probe.prompt("probe")
            else:
                probe.pre("Read")
            flip += 1
            try:
                ws.wait(lambda m: m.get("type") == "pane_update" and m.get("paneId") == pane,
                        "a pane_update", timeout=2.0 * roostlib.SLOW)
            except AssertionError:
                pass
            ups = [m for m in ws.log[n0:] if m.get("type") == "pane_update"
                   and m.get("paneId") == pane]
            if any(m["session"].get("projectId") == project_id for m in ups):
                return
            assert time.monotonic() < deadline, \
                f"pane {pane} never linked to project {project_id}: {ups[-3:]}"


def test_kill9_mid_burst_then_retry_counts_each_hook_once(roostd, tmux, tmp_path):
    srv = game_server(tmp_path / "srv", tmux, obs=False)
    try:
        root = git_repo(tmp_path / "acme" / "crash")
        (pa, proj), (pb, _) = repo_pane(srv, tmux, root), repo_pane(srv, tmux, root)
        for p in (pa, pb):
            wait_linked(srv, p, proj["id"])
        cls = [Claude(srv, (pa, pb)[k % 2], cwd=root) for k in range(THREADS)]
        plans = [plan_for(cl) for cl in cls]
        total_posts = sum(len(p) for p in plans)

        acked, statuses = [0], []
        threads = run_burst(srv.ports["rpg"], plans, acked, statuses)
        roostlib.wait_for(lambda: acked[0] >= total_posts // 3, 30 * roostlib.SLOW,
                          interval=0.001, what="a third of the burst answered")
        srv.kill9()
        for t in threads:
            t.join(30)
        before = acked[0]
        assert 0 < before < total_posts, (before, total_posts)
        assert set(statuses) <= {200, None}, sorted(set(map(str, statuses)))

        srv.start()                       # same ports, same data dir
        for p in (pa, pb):
            wait_claude(srv, p)
            wait_linked(srv, p, proj["id"])
        acked2, statuses2 = [0], []
        for t in run_burst(srv.ports["rpg"], plans, acked2, statuses2, stop_on_failure=False):
            t.join(60)
        assert statuses2 == [200] * total_posts, sorted(set(map(str, statuses2)))

        project_xp = 0
        tools, commits, tests = {}, 0, 0
        for cl, plan in zip(cls, plans):
            want = sum(xp for _, xp, _, _ in plan)
            project_xp += want
            per = settle(lambda: persona_of(srv, cl.session),
                         lambda p: p is not None and p["totalXp"] == want,
                         f"persona {cl.session} at {want} XP")
            s = summary(srv, per["id"])
            assert sum(e["total"] for e in s) == want, s
            awards = sum((1 if xp else 0) + c.get("commits", 0) for _, xp, _, c in plan)
            assert sum(e["count"] for e in s) == awards, s
            for _, _, tool, c in plan:
                if tool:
                    tools[tool] = tools.get(tool, 0) + 1
                commits += c.get("commits", 0)
                tests += c.get("testsRun", 0)
        pj = project_at(srv, root)
        assert pj["totalXp"] == project_xp, pj
        s = summary(srv, pj["id"], "project")
        assert sum(e["total"] for e in s) == project_xp, s
        tl = timeline(srv, pj["id"], "project", 1)
        assert sum(e["xp"] for e in tl) == project_xp, tl
        c = companion_of(srv, proj["id"])
        assert c["stats"]["toolsUsed"] == tools, c["stats"]
        assert c["stats"]["git"]["commits"] == commits, c["stats"]
        assert c["stats"]["commands"]["testsRun"] == tests, c["stats"]
        assert c["totalExperience"] == project_xp, c
        assert srv.alive(), f"roostd died\n{srv.logs()}"
    finally:
        if srv.alive():
            srv.stop()


@pytest.mark.parametrize("how", ["sigterm", "kill9"])
def test_duplicate_after_a_restart_is_ignored(roostd, tmux, tmp_path, how):
    """An answered hook was committed with its duplicate key: the same hook
    after a restart (SIGTERM, or kill -9 right after the answer) is a
    duplicate still (hooks.md §7, within 5 minutes)."""
    srv = game_server(tmp_path / "srv", tmux, obs=False)
    try:
        d = tmp_path / "plain"
        d.mkdir()
        p = claude_pane(srv, tmux, d)
        cl = Claude(srv, p)
        t = tuid()
        cl.pre("Edit", tool_use_id=t)
        body = cl.post("Edit", tool_use_id=t)
        if how == "kill9":
            srv.kill9()
        else:
            srv.stop()
        srv.start()
        wait_claude(srv, p)
        post_event(srv, body)                       # the client's retry
        cl.post("Read")                             # a new hook after it
        per = settle(lambda: persona_of(srv, cl.session),
                     lambda x: x is not None and x["totalXp"] >= 4, "the Read counted")
        assert per["totalXp"] == 3 + 1, per
        assert summary(srv, per["id"]) == [{"category": "tool_use", "total": 4, "count": 2}]
        assert srv.alive(), srv.logs()
    finally:
        if srv.alive():
            srv.stop()
