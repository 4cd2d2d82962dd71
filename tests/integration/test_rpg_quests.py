"""Quests and their phases (spec rpg.md §2.6 the client format, §4.7 the
routes, §7 the state machines, §8.1 quest XP, §9.1 quests_init, §9.2
quest_update, §10 quest:status_changed).

The quest table tests walk all 6x6 (quest) and 7x7 (phase) from/to pairs:
each case makes a quest of its own, drives it (or its phase) to `from` by
legal steps and asks for `to`. A quest's stored status is not in the client
format (planned and active are both shown `active`, failed as `archived`),
so a case reads it back through the one answer that names it: the
UPDATE_FAILED message of a transition that is illegal from there.

The module's roostd keeps every quest the tests make; the list tests use a
roostd of their own. Project-linked behaviour needs a project, which roostd
creates when a Claude pane's cwd lies in a git working tree: those tests
make a git repository and run the fake claude there.
"""

import json
import os
import subprocess
import time
import uuid

import pytest

import rpglib
from roostlib import wait_for
from rpglib import (CAPTURE_TIMEOUT, UUID4, Client, call, fail, ok, rpg_server)

NEEDS = {"rpg"}

# The module's tmux server and roostd, each test's windows cleaned after it (rpglib).
tmux, rpg = rpglib.tmux, rpglib.rpg
_clean_tmux, _rpg_still_running = rpglib.clean_tmux, rpglib.rpg_still_running

QUEST_STATUSES = ["planned", "active", "paused", "completed", "failed", "archived"]
PHASE_STATUSES = ["pending", "planned", "executing", "retrying", "completed", "failed",
                  "skipped"]

# §7.1 and §7.2, in the spec's order (the UPDATE_FAILED message lists them so).
QUEST_NEXT = {
    "planned": ["active", "archived"],
    "active": ["paused", "completed", "failed"],
    "paused": ["active", "archived"],
    "completed": ["archived"],
    "failed": ["archived", "active"],
    "archived": [],
}
PHASE_NEXT = {
    "pending": ["planned", "skipped"],
    "planned": ["executing", "skipped"],
    "executing": ["completed", "failed", "retrying"],
    "retrying": ["executing", "failed", "skipped"],
    "completed": [],
    "failed": ["retrying", "skipped"],
    "skipped": [],
}
# How a test reaches each status by legal steps from a new quest / phase.
QUEST_PATH = {
    "planned": [], "active": ["active"], "paused": ["active", "paused"],
    "completed": ["active", "completed"], "failed": ["active", "failed"],
    "archived": ["archived"],
}
PHASE_PATH = {
    "pending": [], "planned": ["planned"], "executing": ["planned", "executing"],
    "retrying": ["planned", "executing", "retrying"],
    "completed": ["planned", "executing", "completed"],
    "failed": ["planned", "executing", "failed"], "skipped": ["skipped"],
}
CLIENT_STATUS = {"planned": "active", "active": "active", "paused": "paused",
                 "completed": "completed", "failed": "archived", "archived": "archived"}
QUEST_XP = {"created": 5, "phase_planned": 10, "phase_completed": 25, "completed": 100}
MAX_RETRIES = 3
RETRY_LIMIT_MSG = "Retry limit reached: the phase was retried 3 times (maxRetries 3)"
QUEST_STATUS_MSG = ("status must be one of: planned, active, paused, completed, failed, "
                    "archived")
PHASE_STATUS_MSG = ("status must be one of: pending, planned, executing, retrying, completed, "
                    "failed, skipped")

QUEST_KEYS = {"id", "name", "description", "repos", "phases", "status", "createdAt"}
QUEST_OPTIONAL = {"completedAt", "xpEarned"}
PHASE_KEYS = {"id", "name", "order", "status", "retryCount", "maxRetries"}
PHASE_OPTIONAL = {"startedAt", "completedAt"}


def now_ms():
    return int(time.time() * 1000)


def check_quest(q):
    """A Quest exactly as §2.6 sends it."""
    assert QUEST_KEYS <= set(q) <= QUEST_KEYS | QUEST_OPTIONAL, sorted(q)
    assert UUID4.match(q["id"]), q["id"]
    assert isinstance(q["name"], str) and isinstance(q["description"], str)
    assert isinstance(q["repos"], list) and len(q["repos"]) == 1
    assert q["status"] in ("active", "paused", "completed", "archived"), q["status"]
    assert isinstance(q["createdAt"], int)
    if "xpEarned" in q:
        assert isinstance(q["xpEarned"], int) and q["xpEarned"] != 0, q
    if "completedAt" in q:
        assert isinstance(q["completedAt"], int)
    for i, p in enumerate(q["phases"]):
        assert PHASE_KEYS <= set(p) <= PHASE_KEYS | PHASE_OPTIONAL, sorted(p)
        assert UUID4.match(p["id"]), p
        assert p["order"] == i + 1, p
        assert p["status"] in PHASE_STATUSES, p
        assert p["maxRetries"] == MAX_RETRIES, p
        assert isinstance(p["retryCount"], int), p
        for k in PHASE_OPTIONAL:
            if k in p:
                assert isinstance(p[k], int), p
    return q


def create(srv, **body):
    return check_quest(ok(call(srv, "POST", "/api/quests", body))["quest"])


def get(srv, qid):
    return check_quest(ok(call(srv, "GET", f"/api/quests/{qid}"))["quest"])


def listed(srv):
    data = ok(call(srv, "GET", "/api/quests"))
    assert isinstance(data, list), data
    return [check_quest(q) for q in data]


def set_quest(srv, qid, status):
    return check_quest(ok(call(srv, "PATCH", f"/api/quests/{qid}", {"status": status}))["quest"])


def set_phase(srv, qid, pid, status):
    r = call(srv, "PATCH", f"/api/quests/{qid}/phases/{pid}", {"status": status})
    return check_quest(ok(r)["quest"])


def transition_msg(what, frm, to, nxt):
    return f"Invalid {what} transition: {frm} -> {to}. Valid: {', '.join(nxt)}"


def stored_status(srv, qid):
    """The quest's stored status, read from the UPDATE_FAILED message of a
    transition that is illegal from there: `planned` is illegal from every
    status but planned itself (a no-op there), `paused` from planned."""
    prefix = "Invalid quest transition: "
    for probe in ("planned", "paused"):
        r = call(srv, "PATCH", f"/api/quests/{qid}", {"status": probe})
        if r.status == 200 and probe == "planned":
            continue                    # planned -> planned: the no-op
        msg = fail(r, 400, "UPDATE_FAILED")["error"]["message"]
        assert msg.startswith(prefix), msg
        return msg[len(prefix):].split(" -> ")[0]
    raise AssertionError("unreachable")


def quest_at(srv, status, phases=()):
    q = create(srv, title=f"to {status}", phases=[{"name": n} for n in phases])
    for s in QUEST_PATH[status]:
        q = set_quest(srv, q["id"], s)
    return q


@pytest.fixture
def fresh(roostd, tmux, tmp_path):
    """A roostd of the test's own (an empty quest list)."""
    srv = rpg_server(tmp_path / "own", tmux)
    yield srv
    srv.stop()


# ---- POST /api/quests (§4.7) -------------------------------------------------------

def test_create_in_the_client_format(rpg):
    t0 = now_ms()
    q = create(rpg, title="  Ship v2 API \n", description="Replace the v1 server",
               phases=[{"name": "Plan"}, {"name": "Build", "extra": 1}, {"name": " spaced "}])
    t1 = now_ms()
    assert q["name"] == "Ship v2 API"                  # trimmed
    assert q["description"] == "Replace the v1 server"
    assert q["repos"] == ["unknown"]                   # no project
    assert q["status"] == "active"                     # planned is shown active
    assert t0 - 1 <= q["createdAt"] <= t1 + 1
    assert "completedAt" not in q and "xpEarned" not in q
    assert [p["name"] for p in q["phases"]] == ["Plan", "Build", " spaced "]
    for i, p in enumerate(q["phases"]):
        assert p == {"id": p["id"], "name": p["name"], "order": i + 1, "status": "pending",
                     "retryCount": 0, "maxRetries": 3}, p
    ids = [q["id"]] + [p["id"] for p in q["phases"]]
    assert len(set(ids)) == len(ids)
    assert get(rpg, q["id"]) == q
    assert stored_status(rpg, q["id"]) == "planned"


@pytest.mark.parametrize("extra", [{}, {"description": None}, {"phases": None},
                                   {"phases": []}, {"projectId": None}])
def test_create_optional_fields(rpg, extra):
    q = create(rpg, title="minimal", **extra)
    assert q["description"] == "" and q["phases"] == [] and q["repos"] == ["unknown"]


def test_create_at_the_limits(rpg):
    """200-character title and phase names, 5000-character description, 50
    phases: characters, not bytes (non-ASCII and escaped ones count 1)."""
    title = "é" * 199 + "😀"
    desc = ("\u2028\x01\"\\ü" * 1000)[:5000]
    phases = [{"name": ("\x02" + "名" * 199) if i % 2 else "ä" * 200} for i in range(50)]
    q = create(rpg, title="   " + title + "\t", description=desc, phases=phases)
    assert q["name"] == title and q["description"] == desc
    assert [p["name"] for p in q["phases"]] == [p["name"] for p in phases]
    assert len(json.dumps(q)) > 64 * 1024      # several times a tx buffer
    assert get(rpg, q["id"]) == q
    assert [x for x in listed(rpg) if x["id"] == q["id"]] == [q]


VALIDATION = [
    ({}, "title is required"),
    ({"title": None}, "title is required"),
    ({"title": 5}, "title must be a string"),
    ({"title": ["x"]}, "title must be a string"),
    ({"title": ""}, "title must be 1-200 characters"),
    ({"title": " \t\n "}, "title must be 1-200 characters"),
    ({"title": "x" * 201}, "title must be 1-200 characters"),
    ({"title": "é" * 201}, "title must be 1-200 characters"),
    ({"title": "t", "description": 5}, "description must be a string or null"),
    ({"title": "t", "description": {}}, "description must be a string or null"),
    ({"title": "t", "description": "x" * 5001}, "description must be at most 5000 characters"),
    ({"title": "t", "projectId": 5}, "projectId must be a string or null"),
    ({"title": "t", "projectId": {"id": "x"}}, "projectId must be a string or null"),
    ({"title": "t", "phases": {}}, "phases must be an array or null"),
    ({"title": "t", "phases": "Plan"}, "phases must be an array or null"),
    ({"title": "t", "phases": [{"name": "p"}] * 51}, "phases must have at most 50 items"),
    ({"title": "t", "phases": ["Plan"]}, "each phase must be an object with a name"),
    ({"title": "t", "phases": [{"name": "a"}, None]}, "each phase must be an object with a name"),
    ({"title": "t", "phases": [{}]}, "each phase name must be a string of 1-200 characters"),
    ({"title": "t", "phases": [{"name": None}]},
     "each phase name must be a string of 1-200 characters"),
    ({"title": "t", "phases": [{"name": 5}]},
     "each phase name must be a string of 1-200 characters"),
    ({"title": "t", "phases": [{"name": ""}]},
     "each phase name must be a string of 1-200 characters"),
    ({"title": "t", "phases": [{"name": "x" * 201}]},
     "each phase name must be a string of 1-200 characters"),
]


@pytest.mark.parametrize("body,message", VALIDATION, ids=[m for _, m in VALIDATION])
def test_create_validation_errors(rpg, body, message):
    before = len(listed(rpg))
    fail(call(rpg, "POST", "/api/quests", body), 400, "VALIDATION_ERROR", message)
    assert len(listed(rpg)) == before


@pytest.mark.parametrize("body", [b"", b"[]", b"5", b"null", b'"title"', b"{", b"{}x",
                                  b'{"title": "t",}'])
def test_create_body_not_an_object(rpg, body):
    fail(call(rpg, "POST", "/api/quests", body), 400, "INVALID_JSON", "Invalid JSON body")


@pytest.mark.parametrize("project", ["3f0c2a8e-5b1d-4c7e-9a2f-6d8b1e4c7a90", "", "not-a-project"])
def test_create_with_an_unknown_project_is_404(rpg, project):
    before = len(listed(rpg))
    fail(call(rpg, "POST", "/api/quests", {"title": "t", "projectId": project}), 404,
         "NOT_FOUND", "Project not found")
    assert len(listed(rpg)) == before


def test_validation_comes_before_the_project_lookup(rpg):
    fail(call(rpg, "POST", "/api/quests", {"title": "", "projectId": str(uuid.uuid4())}), 400,
         "VALIDATION_ERROR", "title must be 1-200 characters")


# ---- GET /api/quests, GET /api/quests/{id} ------------------------------------------

def test_list_order_and_filter(fresh):
    assert listed(fresh) == []
    made = {}
    # created in this order; a later quest sorts first within its group
    for name, status in [("p1", "planned"), ("a1", "active"), ("paused", "paused"),
                         ("done", "completed"), ("failed", "failed"), ("gone", "archived"),
                         ("p2", "planned"), ("retried", "failed"), ("a2", "active"),
                         ("resumed", "paused"), ("p3", "planned")]:
        made[name] = quest_at(fresh, status)
    made["retried"] = set_quest(fresh, made["retried"]["id"], "active")     # failed -> active
    made["resumed"] = set_quest(fresh, made["resumed"]["id"], "active")     # paused -> active
    got = listed(fresh)
    # stored active first (resumed, a2, retried, a1: createdAt desc), then planned
    order = [next(n for n, q in made.items() if q["id"] == x["id"]) for x in got]
    assert order == ["resumed", "a2", "retried", "a1", "p3", "p2", "p1"], order
    for name, x in zip(order, got):
        assert x == made[name] == get(fresh, x["id"]) and x["status"] == "active"


def test_list_of_many_large_quests(fresh):
    """A list far larger than a tx buffer, produced quest by quest."""
    desc = "d\x01" * 2500
    phases = [{"name": "n" * 200} for _ in range(50)]
    ids = [create(fresh, title=f"big {i}", description=desc, phases=phases)["id"]
           for i in range(12)]
    ids += [create(fresh, title=f"small {i}")["id"] for i in range(40)]
    got = listed(fresh)
    assert [q["id"] for q in got] == list(reversed(ids))
    assert all(q["description"] == desc for q in got[40:])


@pytest.mark.parametrize("qid", ["7b9e4d21-0c3a-4f5e-8d6b-2a1c9e7f3b54", "nope", "x" * 100])
def test_unknown_quest_is_404(rpg, qid):
    path = "/api/quests/" + qid
    fail(call(rpg, "GET", path), 404, "NOT_FOUND", "Quest not found")
    fail(call(rpg, "PATCH", path, {"status": "active"}), 404, "NOT_FOUND", "Quest not found")
    fail(call(rpg, "PATCH", path + "/phases/" + str(uuid.uuid4()), {"status": "planned"}), 404,
         "NOT_FOUND", "Quest not found")


def test_unknown_phase_is_404(rpg):
    q = create(rpg, title="one phase", phases=[{"name": "A"}])
    other = create(rpg, title="another", phases=[{"name": "B"}])
    for pid in [str(uuid.uuid4()), other["phases"][0]["id"], "x"]:
        fail(call(rpg, "PATCH", f"/api/quests/{q['id']}/phases/{pid}", {"status": "planned"}),
             404, "NOT_FOUND", "Phase not found")
    assert get(rpg, q["id"]) == q and get(rpg, other["id"]) == other


# ---- PATCH /api/quests/{id} (§7.1) ---------------------------------------------------

@pytest.mark.parametrize("frm", QUEST_STATUSES)
@pytest.mark.parametrize("to", QUEST_STATUSES)
def test_quest_transition(rpg, frm, to):
    q = quest_at(rpg, frm, phases=["A"])
    assert stored_status(rpg, q["id"]) == frm
    before = get(rpg, q["id"])
    t0 = now_ms()
    r = call(rpg, "PATCH", f"/api/quests/{q['id']}", {"status": to})
    t1 = now_ms()
    if to == frm:
        assert check_quest(ok(r)["quest"]) == before         # a no-op success
        assert get(rpg, q["id"]) == before
        return
    if to not in QUEST_NEXT[frm]:
        fail(r, 400, "UPDATE_FAILED", transition_msg("quest", frm, to, QUEST_NEXT[frm]))
        assert get(rpg, q["id"]) == before
        assert stored_status(rpg, q["id"]) == frm
        return
    after = check_quest(ok(r)["quest"])
    assert after == get(rpg, q["id"])
    assert stored_status(rpg, q["id"]) == to
    assert after["status"] == CLIENT_STATUS[to]
    assert after["phases"] == before["phases"]        # a quest's change leaves its phases
    if to == "completed":
        assert t0 - 1 <= after["completedAt"] <= t1 + 1
        assert after["xpEarned"] == before.get("xpEarned", 0) + QUEST_XP["completed"]
    else:
        assert after.get("completedAt") == before.get("completedAt")
        assert after.get("xpEarned") == before.get("xpEarned")
    assert {k: v for k, v in after.items() if k not in ("status", "completedAt", "xpEarned")} \
        == {k: v for k, v in before.items() if k not in ("status", "completedAt", "xpEarned")}


def test_archive_action(rpg):
    q = create(rpg, title="to archive")
    r = call(rpg, "PATCH", f"/api/quests/{q['id']}", {"action": "archive"})
    assert check_quest(ok(r)["quest"])["status"] == "archived"
    assert stored_status(rpg, q["id"]) == "archived"
    # archived again: the same status, a no-op
    assert ok(call(rpg, "PATCH", f"/api/quests/{q['id']}", {"action": "archive"}))["quest"] \
        == get(rpg, q["id"])
    a = quest_at(rpg, "active")
    fail(call(rpg, "PATCH", f"/api/quests/{a['id']}", {"action": "archive"}), 400,
         "UPDATE_FAILED", transition_msg("quest", "active", "archived", QUEST_NEXT["active"]))
    assert stored_status(rpg, a["id"]) == "active"


@pytest.mark.parametrize("body,message", [
    ({"action": "delete"}, "action must be archive"),
    ({"action": 1}, "action must be archive"),
    ({"action": "Archive"}, "action must be archive"),
    ({}, "status is required"),
    ({"status": None}, "status is required"),
    ({"status": "done"}, QUEST_STATUS_MSG),
    ({"status": "Active"}, QUEST_STATUS_MSG),
    ({"status": 1}, QUEST_STATUS_MSG),
    ({"status": "pending"}, QUEST_STATUS_MSG),
])
def test_quest_patch_validation(rpg, body, message):
    q = create(rpg, title="validated")
    fail(call(rpg, "PATCH", f"/api/quests/{q['id']}", body), 400, "VALIDATION_ERROR", message)
    assert get(rpg, q["id"]) == q


@pytest.mark.parametrize("body", [b"", b"[]", b'"active"', b"{"])
def test_quest_patch_body_not_an_object(rpg, body):
    q = create(rpg, title="bodies")
    fail(call(rpg, "PATCH", f"/api/quests/{q['id']}", body), 400, "INVALID_JSON",
         "Invalid JSON body")
    fail(call(rpg, "PATCH", f"/api/quests/{q['id']}/phases/x", body), 400, "INVALID_JSON",
         "Invalid JSON body")


def test_completing_twice_awards_once(rpg):
    """failed -> active -> completed after a first failure: 100 XP once;
    completed -> archived keeps completedAt and xpEarned."""
    q = quest_at(rpg, "failed")
    q = set_quest(rpg, q["id"], "active")
    q = set_quest(rpg, q["id"], "completed")
    assert q["xpEarned"] == 100
    a = set_quest(rpg, q["id"], "archived")
    assert a["status"] == "archived" and a["xpEarned"] == 100
    assert a["completedAt"] == q["completedAt"]


# ---- PATCH /api/quests/{id}/phases/{phaseId} (§7.2) -------------------------------------

def phase_at(srv, status, quest_status="planned"):
    q = quest_at(srv, quest_status, phases=["first", "second"])
    pid = q["phases"][0]["id"]
    for s in PHASE_PATH[status]:
        q = set_phase(srv, q["id"], pid, s)
    return q, pid


@pytest.mark.parametrize("frm", PHASE_STATUSES)
@pytest.mark.parametrize("to", PHASE_STATUSES)
def test_phase_transition(rpg, frm, to):
    q, pid = phase_at(rpg, frm)
    before = get(rpg, q["id"])
    b = before["phases"][0]
    assert b["status"] == frm
    t0 = now_ms()
    r = call(rpg, "PATCH", f"/api/quests/{q['id']}/phases/{pid}", {"status": to})
    t1 = now_ms()
    if to == frm:
        assert check_quest(ok(r)["quest"]) == before
        assert get(rpg, q["id"]) == before
        return
    if to not in PHASE_NEXT[frm]:
        fail(r, 400, "UPDATE_FAILED", transition_msg("phase", frm, to, PHASE_NEXT[frm]))
        assert get(rpg, q["id"]) == before
        return
    after = check_quest(ok(r)["quest"])
    assert after == get(rpg, q["id"])
    a = after["phases"][0]
    assert a["status"] == to and a["id"] == pid and a["name"] == "first"
    assert a["retryCount"] == b["retryCount"] + (1 if to == "retrying" else 0)
    if to == "executing" and "startedAt" not in b:
        assert t0 - 1 <= a["startedAt"] <= t1 + 1
    else:
        assert a.get("startedAt") == b.get("startedAt")      # set once, kept
    if to == "completed":
        assert t0 - 1 <= a["completedAt"] <= t1 + 1
    else:
        assert a.get("completedAt") == b.get("completedAt")
    xp = {"planned": QUEST_XP["phase_planned"], "completed": QUEST_XP["phase_completed"]}
    assert after.get("xpEarned", 0) == before.get("xpEarned", 0) + xp.get(to, 0)
    # the rest of the quest does not move: phases do not change the quest's status
    assert after["phases"][1] == before["phases"][1]
    assert {k: v for k, v in after.items() if k not in ("phases", "xpEarned")} \
        == {k: v for k, v in before.items() if k not in ("phases", "xpEarned")}
    assert stored_status(rpg, q["id"]) == "planned"


@pytest.mark.parametrize("quest_status", QUEST_STATUSES)
def test_phase_changes_only_while_the_quest_is_planned_or_active(rpg, quest_status):
    q = quest_at(rpg, quest_status, phases=["A"])
    pid = q["phases"][0]["id"]
    path = f"/api/quests/{q['id']}/phases/{pid}"
    if quest_status in ("planned", "active"):
        assert ok(call(rpg, "PATCH", path, {"status": "planned"}))["quest"]["phases"][0][
            "status"] == "planned"
        return
    for to in ("planned", "pending", "bogus-never-read"):
        r = call(rpg, "PATCH", path, {"status": to})
        if to == "bogus-never-read":
            fail(r, 400, "VALIDATION_ERROR", PHASE_STATUS_MSG)
        else:
            fail(r, 400, "UPDATE_FAILED", "Quest is not active")
    assert get(rpg, q["id"]) == q


def test_phases_of_an_active_quest(rpg):
    q, pid = phase_at(rpg, "completed", quest_status="active")
    assert q["phases"][0]["status"] == "completed" and q["xpEarned"] == 35
    assert stored_status(rpg, q["id"]) == "active"


def test_retry_limit(rpg):
    """A phase goes to retrying at most maxRetries (3) times, from executing
    or from failed; the 4th is refused and the phase keeps its status."""
    q, pid = phase_at(rpg, "executing")
    steps = ["retrying", "executing", "retrying", "failed", "retrying", "executing"]
    for s in steps:
        q = set_phase(rpg, q["id"], pid, s)
    p = q["phases"][0]
    assert p["status"] == "executing" and p["retryCount"] == 3
    path = f"/api/quests/{q['id']}/phases/{pid}"
    fail(call(rpg, "PATCH", path, {"status": "retrying"}), 400, "UPDATE_FAILED", RETRY_LIMIT_MSG)
    assert get(rpg, q["id"]) == q
    q = set_phase(rpg, q["id"], pid, "failed")
    fail(call(rpg, "PATCH", path, {"status": "retrying"}), 400, "UPDATE_FAILED", RETRY_LIMIT_MSG)
    assert get(rpg, q["id"]) == q
    q = set_phase(rpg, q["id"], pid, "skipped")
    assert q["phases"][0]["status"] == "skipped" and q["phases"][0]["retryCount"] == 3
    # an illegal transition is reported as such, not as the limit
    fail(call(rpg, "PATCH", path, {"status": "retrying"}), 400, "UPDATE_FAILED",
         transition_msg("phase", "skipped", "retrying", []))


@pytest.mark.parametrize("body,message", [
    ({}, "status is required"),
    ({"status": None}, "status is required"),
    ({"status": "done"}, PHASE_STATUS_MSG),
    ({"status": "active"}, PHASE_STATUS_MSG),
    ({"status": ["planned"]}, PHASE_STATUS_MSG),
    ({"action": "archive"}, "status is required"),
])
def test_phase_patch_validation(rpg, body, message):
    q = create(rpg, title="phase validation", phases=[{"name": "A"}])
    fail(call(rpg, "PATCH", f"/api/quests/{q['id']}/phases/{q['phases'][0]['id']}", body), 400,
         "VALIDATION_ERROR", message)
    assert get(rpg, q["id"]) == q


def test_quest_xp_in_xp_earned(rpg):
    """Every award of a quest without a project adds to its xpEarned:
    phase_planned 10, phase_completed 25, completed 100 (not created)."""
    q = create(rpg, title="xp", phases=[{"name": "A"}, {"name": "B"}])
    qid, (a, b) = q["id"], [p["id"] for p in q["phases"]]
    assert "xpEarned" not in q
    assert set_phase(rpg, qid, a, "planned")["xpEarned"] == 10
    assert set_phase(rpg, qid, b, "planned")["xpEarned"] == 20
    set_phase(rpg, qid, a, "executing")
    assert set_phase(rpg, qid, a, "completed")["xpEarned"] == 45
    set_phase(rpg, qid, b, "skipped")
    set_quest(rpg, qid, "active")
    assert set_quest(rpg, qid, "completed")["xpEarned"] == 145


# ---- /ws: quest_update (§9.2), quests_init (§9.1), quest:status_changed (§10) -----------

def quest_updates(c, qid):
    return [m["payload"] for m in c.log if m.get("type") == "quest_update"
            and m["payload"]["id"] == qid]


def status_events(c):
    return [m for m in c.log if m.get("type") == "event"
            and m["payload"]["eventType"] == "quest:status_changed"]


def test_quest_update_on_every_change(rpg):
    with Client(rpg) as c:
        q = create(rpg, title="watched", phases=[{"name": "A"}])
        m = c.wait_type("quest_update", lambda m: m["payload"]["id"] == q["id"])
        assert check_quest(m["payload"]) == q
        pid = q["phases"][0]["id"]
        q2 = set_phase(rpg, q["id"], pid, "planned")
        c.wait_type("quest_update", lambda m: m["payload"] == q2, "quest_update of the phase")
        # a create and a phase change publish no quest:status_changed
        assert status_events(c) == []
        # a change's bus events go out after its commit, before its quest_update
        mark = len(c.log)
        q3 = set_quest(rpg, q["id"], "active")
        c.wait_type("quest_update", lambda m: m["payload"] == q3, "quest_update of the quest")
        ev = status_events(c)
        assert len(ev) == 1 and ev[0] in c.since(mark), ev
        assert ev[0]["payload"]["type"] == "quest:status_changed"
        assert "paneId" not in ev[0]["payload"]
        mark = len(c.log)
        q4 = set_quest(rpg, q["id"], "completed")
        c.wait_type("quest_update", lambda m: m["payload"] == q4, "quest_update of completed")
        assert [m["payload"]["eventType"] for m in c.since(mark) if m["type"] == "event"] == \
            ["quest:status_changed", "xp:awarded"]
        seen = len(status_events(c))
        mark = len(c.log)
        # no-ops, refusals and validation errors change nothing and announce nothing
        set_quest(rpg, q["id"], "completed")
        fail(call(rpg, "PATCH", f"/api/quests/{q['id']}", {"status": "paused"}), 400,
             "UPDATE_FAILED")
        fail(call(rpg, "PATCH", f"/api/quests/{q['id']}/phases/{pid}", {"status": "executing"}),
             400, "UPDATE_FAILED", "Quest is not active")
        fail(call(rpg, "POST", "/api/quests", {"title": ""}), 400, "VALIDATION_ERROR")
        marker = create(rpg, title="marker")
        c.wait_type("quest_update", lambda m: m["payload"]["id"] == marker["id"])
        assert [m for m in c.since(mark) if m.get("type") == "quest_update"] == \
            [{"type": "quest_update", "payload": marker}]
        # a phase change and a create publish no quest:status_changed
        assert len(status_events(c)) == seen


def test_quest_update_larger_than_tx(rpg):
    desc = "\u2028ü\x01" * 1666                         # 23 KB escaped
    phases = [{"name": "n" * 200} for _ in range(50)]
    with Client(rpg) as c:
        q = create(rpg, title="large", description=desc, phases=phases)
        m = c.wait_type("quest_update", lambda m: m["payload"]["id"] == q["id"])
        assert m["payload"] == q and 40 * 1024 < len(json.dumps(m)) < 60 * 1024


def test_quest_update_of_the_largest_quest(rpg):
    """The largest quest the limits allow (5000 escaped characters, 50
    phases of 200) is a quest_update of about 90 KB."""
    desc = "\x01" * 5000
    phases = [{"name": "\x1f" * 200} for _ in range(50)]
    with Client(rpg) as c:
        q = create(rpg, title="\x1f" * 200, description=desc, phases=phases)
        m = c.wait_type("quest_update", lambda m: m["payload"]["id"] == q["id"], timeout=3)
        assert m["payload"] == q and len(json.dumps(m)) > 64 * 1024


def test_quests_init_is_the_list(fresh):
    big = {"description": "\x01" * 5000, "phases": [{"name": "p" * 200}] * 50}
    made = [create(fresh, title=f"q{i}", **(big if i % 5 == 0 else {})) for i in range(25)]
    set_quest(fresh, made[3]["id"], "active")
    set_quest(fresh, made[4]["id"], "archived")
    with Client(fresh) as c:
        payload = c.connect[3]["payload"]
    assert payload == listed(fresh)
    assert len(payload) == 24 and payload[0]["id"] == made[3]["id"]
    with Client(fresh) as c:
        assert c.connect[3]["payload"] == payload


def test_quests_init_when_empty(fresh):
    with Client(fresh) as c:
        assert c.connect[3] == {"type": "quests_init", "payload": []}


def test_quests_survive_a_restart(roostd, tmux, tmp_path):
    srv = rpg_server(tmp_path / "r", tmux)
    try:
        q = create(srv, title="kept", phases=[{"name": "A"}])
        q = set_phase(srv, q["id"], q["phases"][0]["id"], "planned")
        q = set_quest(srv, q["id"], "active")
        srv.stop()
        srv.start()
        assert get(srv, q["id"]) == q and listed(srv) == [q]
    finally:
        srv.stop()


# ---- with a project (needs projects: a Claude pane in a git working tree) ---------------

def make_project(srv, tmux, tmp_path, name):
    repo = tmp_path / name
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=30)
    tmux.new_claude_window(cwd=str(repo))
    root = os.path.realpath(str(repo))

    def find():
        for p in ok(call(srv, "GET", "/api/projects"))["projects"]:
            if p["path"] == root:
                return p
        return None
    return wait_for(find, CAPTURE_TIMEOUT, what=f"the project of {root} in GET /api/projects")


def project_xp(srv, pid):
    return ok(call(srv, "GET", f"/api/projects/{pid}"))["project"]["totalXp"]


def quest_summary(srv, pid):
    s = ok(call(srv, "GET", f"/api/xp/summary?type=project&id={pid}"))["summary"]
    return next(({"total": x["total"], "count": x["count"]} for x in s
                 if x["category"] == "quest"), {"total": 0, "count": 0})


def companion_quests(m, pid):
    for c in m["payload"]:
        if c["id"] == pid:
            return c["stats"]["quests"]
    return None


def test_quest_of_a_project(rpg, tmux, tmp_path):
    proj = make_project(rpg, tmux, tmp_path, "quest-repo")
    assert proj["name"] == "quest-repo"
    xp0 = project_xp(rpg, proj["id"])
    with Client(rpg) as c:
        q = create(rpg, title="linked", projectId=proj["id"],
                   phases=[{"name": "A"}, {"name": "B"}])
        assert q["repos"] == ["quest-repo"]
        assert "xpEarned" not in q                   # quest:created goes to the project
        assert project_xp(rpg, proj["id"]) == xp0 + 5
        assert quest_summary(rpg, proj["id"]) == {"total": 5, "count": 1}
        c.wait_type("companions", lambda m: companion_quests(m, proj["id"]) == {
            "created": 1, "phasesCompleted": 0, "questsCompleted": 0, "totalRetries": 0},
            "companion quests.created 1")
        qid, a = q["id"], q["phases"][0]["id"]
        for s in ["planned", "executing", "retrying", "executing", "completed"]:
            q = set_phase(rpg, qid, a, s)
        set_quest(rpg, qid, "active")
        q = set_quest(rpg, qid, "completed")
        assert q["xpEarned"] == 10 + 25 + 100 and q["repos"] == ["quest-repo"]
        assert project_xp(rpg, proj["id"]) == xp0 + 5 + 135
        assert quest_summary(rpg, proj["id"]) == {"total": 140, "count": 4}
        c.wait_type("companions", lambda m: companion_quests(m, proj["id"]) == {
            "created": 1, "phasesCompleted": 1, "questsCompleted": 1, "totalRetries": 1},
            "companion quest counters")
    assert [x for x in listed(rpg) if x["id"] == qid] == []      # completed: not listed
    assert get(rpg, qid) == q


def test_retries_count_for_the_companion(rpg, tmux, tmp_path):
    proj = make_project(rpg, tmux, tmp_path, "retry-repo")
    q = create(rpg, title="retried", projectId=proj["id"], phases=[{"name": "A"}])
    qid, a = q["id"], q["phases"][0]["id"]
    with Client(rpg) as c:
        for s in ["planned", "executing", "retrying", "failed", "retrying", "executing",
                  "retrying", "executing"]:
            set_phase(rpg, qid, a, s)
        fail(call(rpg, "PATCH", f"/api/quests/{qid}/phases/{a}", {"status": "retrying"}), 400,
             "UPDATE_FAILED", RETRY_LIMIT_MSG)
        c.wait_type("companions", lambda m: (companion_quests(m, proj["id"]) or {}).get(
            "totalRetries") == 3, "companion totalRetries 3")
