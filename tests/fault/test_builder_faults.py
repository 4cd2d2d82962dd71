"""The builder's assemble (fleet.md §5.8) under injected faults (debug build,
/_fault; test_faults.py says how faults are armed): the bot, its three files,
soul version 1, its skill rows and the stub skills it writes into the library
are made in one consistent step, so an assemble that fails anywhere leaves
nothing of itself behind.

For each fault (an OS operation failing with an errno, an allocation of the
sqlite heap or the chat heap failing) the test arms it at the 1st, 2nd, 3rd,
... call from the assemble on, until an assemble no longer reaches the Nth
call. Every assemble that the fault reached must be answered 5xx in the
fleet envelope, and afterwards:

  - no bot of that name is listed, and the slug's directory is absent;
  - none of the stub skills it would have written is in the library, and
    the library skill it attaches is untouched;
  - the database passes PRAGMA integrity_check.

The assemble that no fault reached must create everything (checked the
same way, in reverse). Only the assemble runs while a fault is armed.
"""

import json
import os
import shutil
import sqlite3
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from faultlib import Ctl                          # noqa: E402

API = "/api/v1"
LIB_SKILL = "lib-search"
LIB_MD = ("---\nname: lib-search\ndescription: Search things\nmetadata:\n"
          "  version: \"2.0.0\"\n  skill-type: prompt\n  capabilities: [http_get]\n---\n\n"
          "# lib-search\n")
MAX_N = 200

FAULTS = [
    ("os", "write", "EIO"),
    ("os", "fsync", "EIO"),
    ("os", "rename", "ENOSPC"),
    ("os", "mkdir", "EACCES"),
    ("os", "open", "EACCES"),
    ("alloc", "sqlite", ""),
    ("alloc", "heap:chat", ""),
]


@pytest.fixture(scope="module")
def ctl(tmp_path_factory):
    c = Ctl(tmp_path_factory.mktemp("builder-faults"))
    lib = os.path.join(c.srv.data_dir, "skills", LIB_SKILL)
    os.makedirs(lib)
    with open(os.path.join(lib, "SKILL.md"), "w") as f:
        f.write(LIB_MD)
    yield c
    c.srv.stop()


def call(ctl, method, path, body=None):
    h = {"X-API-Key": ctl.srv.api_key()}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    return ctl.srv.request("fleet", method, API + path, headers=h, body=data)


def config(tag):
    return {
        "name": f"Fault Bot {tag}",
        "description": "Made while things fail",
        "category": "research",
        "tags": ["faults"],
        "personality": {"tone": "calm", "traits": ["steady"], "purpose": "Survive faults.",
                        "boundaries": None},
        "model_config": {"model": "claude-x", "temperature": 0.5, "max_tokens": 1000},
        "skills": [
            {"name": LIB_SKILL, "description": "ignored", "skill_type": "local"},
            {"name": f"stub-a-{tag}", "description": "A new stub", "skill_type": "local"},
            {"name": f"stub-b-{tag}", "description": "A wasm stub", "skill_type": "wasm"},
        ],
    }


def slug_of(tag):
    return f"fault-bot-{tag}"


def bots(ctl):
    r = call(ctl, "GET", "/bots")
    assert r.status == 200, r
    return {b["slug"] for b in r.json()["data"]}


def skills_dir(ctl):
    return os.path.join(ctl.srv.data_dir, "skills")


def integrity(ctl):
    d = tempfile.mkdtemp()
    try:
        for suffix in ("", "-wal"):
            src = os.path.join(ctl.srv.data_dir, "roost.db" + suffix)
            if os.path.exists(src):
                shutil.copy(src, os.path.join(d, "roost.db" + suffix))
        db = sqlite3.connect(os.path.join(d, "roost.db"))
        try:
            return db.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            db.close()
    finally:
        shutil.rmtree(d)


def assert_nothing(ctl, tag, before_bots):
    slug = slug_of(tag)
    assert bots(ctl) == before_bots
    assert not os.path.exists(os.path.join(ctl.srv.data_dir, "bots", slug)), slug
    for stub in (f"stub-a-{tag}", f"stub-b-{tag}"):
        assert not os.path.exists(os.path.join(skills_dir(ctl), stub)), stub
    with open(os.path.join(skills_dir(ctl), LIB_SKILL, "SKILL.md")) as f:
        assert f.read() == LIB_MD
    assert integrity(ctl) == "ok"


def assert_everything(ctl, tag, d):
    slug = slug_of(tag)
    assert d["bot_slug"] == slug, d
    assert slug in bots(ctl)
    for f in ("SOUL.md", "IDENTITY.md", "USER.md"):
        assert os.path.isfile(os.path.join(ctl.srv.data_dir, "bots", slug, f)), f
    for stub in (f"stub-a-{tag}", f"stub-b-{tag}"):
        assert os.path.isfile(os.path.join(skills_dir(ctl), stub, "SKILL.md")), stub
    r = call(ctl, "GET", f"/bots/{slug}/skills")
    assert r.status == 200, r
    assert sorted(s["name"] for s in r.json()["data"]) == \
        sorted([LIB_SKILL, f"stub-a-{tag}", f"stub-b-{tag}"])
    r = call(ctl, "GET", f"/bots/{slug}/soul/versions")
    assert r.status == 200 and [v["version"] for v in r.json()["data"]] == [1], r
    assert integrity(ctl) == "ok"


def arm(ctl, kind, op, nth, err):
    if kind == "alloc":
        k, _, name = op.partition(":")
        ctl.arm(k, name, nth, after=False, err="")
    else:
        ctl.arm(kind, op, nth, after=False, err=err)


@pytest.mark.parametrize("kind,op,err", FAULTS, ids=[f"{k}-{o}-{e}" for k, o, e in FAULTS])
def test_assemble_is_all_or_nothing(ctl, kind, op, err):
    sid = "0194f3d0-aaaa-7bbb-8ccc-dddddddddddd"
    failed = 0
    for nth in range(1, MAX_N):
        tag = f"{op.replace(':', '-')}-{nth}".lower()
        before = bots(ctl)
        arm(ctl, kind, op, nth, err)
        try:
            r = call(ctl, "POST", f"/builder/sessions/{sid}/assemble", {"config": config(tag)})
        finally:
            fired = ctl.disarm()
        if fired == 0:
            assert r.status == 200, r
            assert_everything(ctl, tag, r.json()["data"]["result"])
            break
        if r.status == 200:
            # the fault hit something the assemble could do without (a log
            # line, a cache): it must then be whole
            assert_everything(ctl, tag, r.json()["data"]["result"])
            continue
        failed += 1
        assert r.status in (500, 503), (nth, r)
        j = r.json()
        assert j["data"] is None and j["errors"][0]["code"] in ("INTERNAL_ERROR",
                                                                 "SERVICE_UNAVAILABLE"), j
        assert_nothing(ctl, tag, before)
    else:
        pytest.fail(f"{kind} {op}: the assemble still reached call {MAX_N}")
    assert failed > 0, f"{kind} {op}: no assemble failed: the fault never reached it"
