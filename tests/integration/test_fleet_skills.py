"""Fleet skills (spec/fleet.md §2.8, §5.6): the SKILL.md subset parser, listing and
detail with parent chains and resolved capabilities, per-bot attach/patch/detach."""

import os
import shutil

import pytest

from fleetlib import (API, BOT_SKILL_CONFIG_KEYS, BOT_SKILL_ITEM_KEYS, MANIFEST_KEYS,
                      METADATA_KEYS, SKILL_DETAIL_KEYS, SKILL_ITEM_KEYS, Fleet, assert_keys,
                      db_count, write_skill)

# What this file needs built into roostd (conftest.py deselects it, and
# lists it, for a profile without them).
NEEDS = {"fleet"}

WEB_SEARCH = """---
name: web-search
description: Search the web and summarise results
metadata:
  author: builder
  version: "0.1.0"
  skill-type: prompt
  capabilities: [http_get]
  trust-tier: local
  categories:
    - search
---
# Web search

Search, then summarise.
"""

WEB_SEARCH_MANIFEST = {
    "name": "web-search",
    "description": "Search the web and summarise results",
    "license": None,
    "compatibility": None,
    "metadata": {
        "author": "builder", "version": "0.1.0", "skill-type": "prompt",
        "capabilities": ["http_get"], "dependencies": None, "conflicts-with": None,
        "trust-tier": "local", "parents": None, "secrets": None, "categories": ["search"],
    },
    "allowed-tools": None,
}

FULL = """---
name: full-skill
description: 'Every field: quoted'
license: "MIT"
compatibility: '>=0.1.0'
allowed-tools: web_search
metadata:
  author: "Ada L."
  version: '1.2.3'
  skill-type: tool
  capabilities:
    - read_file
    - "write_file"
    - exec_command
  dependencies: [url-parser, 'json-kit']
  conflicts-with:
    - web-search
  trust-tier: verified
  secrets: ["SEARCH_API_KEY"]
  categories: []
---

Body line.
"""

SKILLS = {
    "web-search": WEB_SEARCH,
    "full-skill": FULL,
    "minimal": "---\nname: minimal\ndescription: Just the two\n---\nSay hi.\n",
    # parents chain: BFS, each once, missing skipped, cycles cut
    "s-root": """---
name: s-root
description: root of a chain
metadata:
  capabilities: [get_secret, http_get]
  parents: [s-left, s-ghost, s-right]
  conflicts-with: [web-search, other-thing]
---
root
""",
    "s-left": """---
name: s-left
description: left
metadata:
  capabilities:
    - read_file
  parents:
    - s-deep
---
""",
    "s-right": """---
name: s-right
description: right
metadata:
  skill-type: tool
  capabilities: [exec_command]
  parents: [s-deep2]
---
""",
    "s-deep": """---
name: s-deep
description: deep, points back at s-left
metadata:
  capabilities: [recall_memory]
  parents: [s-left, s-root]
---
""",
    "s-deep2": """---
name: s-deep2
description: deep2
metadata:
  capabilities: [http_get]
---
""",
    "odd-enums": """---
name: odd-enums
description: unknown enum values become null
metadata:
  skill-type: wasm-thing
  trust-tier: bogus
  capabilities: [http_get, teleport]
---
""",
    # skipped: unparseable or missing name/description
    "no-frontmatter": "# just markdown\nname: no-frontmatter\n",
    "no-closing": "---\nname: no-closing\ndescription: never closed\n",
    "no-description": "---\nname: no-description\n---\nbody\n",
    "no-name": "---\ndescription: nameless\n---\nbody\n",
}

VALID = sorted(["web-search", "full-skill", "minimal", "s-root", "s-left", "s-right", "s-deep",
                "s-deep2", "odd-enums"])
INVALID = ["no-frontmatter", "no-closing", "no-description", "no-name"]


@pytest.fixture(scope="module")
def fleet(server):
    for name, text in SKILLS.items():
        write_skill(server.data_dir, name, text)
    os.makedirs(os.path.join(server.data_dir, "skills", "empty-dir"), exist_ok=True)
    return Fleet(server)


def skill_list(fleet):
    data = fleet.ok("GET", "skills", links={"self": f"{API}/skills"})
    for item in data:
        assert_keys(item, SKILL_ITEM_KEYS, "SkillListItem")
    return data


def skill(fleet, name):
    d = fleet.ok("GET", f"skills/{name}", links={"self": f"{API}/skills/{name}"})
    assert_keys(d, SKILL_DETAIL_KEYS, "SkillDetail")
    assert_keys(d["manifest"], MANIFEST_KEYS, "SkillManifest")
    if d["manifest"]["metadata"] is not None:
        assert_keys(d["manifest"]["metadata"], METADATA_KEYS, "SkillManifest.metadata")
    return d


def test_list(fleet):
    data = skill_list(fleet)
    assert [s["name"] for s in data] == VALID
    by = {s["name"]: s for s in data}
    assert by["web-search"] == {"name": "web-search",
                                "description": "Search the web and summarise results",
                                "skill_type": "prompt", "trust_tier": "local",
                                "version": "0.1.0", "source": {"type": "local"},
                                "installed": True}
    assert by["full-skill"]["skill_type"] == "tool"
    assert by["full-skill"]["trust_tier"] == "verified"
    assert by["full-skill"]["version"] == "1.2.3"
    assert by["full-skill"]["description"] == "Every field: quoted"
    assert (by["minimal"]["skill_type"], by["minimal"]["trust_tier"],
            by["minimal"]["version"]) == (None, None, None)
    assert (by["odd-enums"]["skill_type"], by["odd-enums"]["trust_tier"]) == (None, None)


def test_detail_spec_example(fleet):
    d = skill(fleet, "web-search")
    assert d["manifest"] == WEB_SEARCH_MANIFEST
    assert d["body"].strip("\n") == "# Web search\n\nSearch, then summarise."
    assert "---" not in d["body"] and "description:" not in d["body"]
    assert d["resolved_capabilities"] == ["HttpGet"]
    assert d["parent_chain"] == []
    assert d["conflicts_with"] == []


def test_detail_quoted_scalars_and_lists(fleet):
    d = skill(fleet, "full-skill")
    assert d["manifest"] == {
        "name": "full-skill", "description": "Every field: quoted", "license": "MIT",
        "compatibility": ">=0.1.0",
        "metadata": {"author": "Ada L.", "version": "1.2.3", "skill-type": "tool",
                     "capabilities": ["read_file", "write_file", "exec_command"],
                     "dependencies": ["url-parser", "json-kit"],
                     "conflicts-with": ["web-search"], "trust-tier": "verified",
                     "parents": None, "secrets": ["SEARCH_API_KEY"], "categories": []},
        "allowed-tools": "web_search",
    }
    assert d["body"].strip("\n") == "Body line."
    assert d["resolved_capabilities"] == ["ReadFile", "WriteFile", "ExecCommand"]
    assert d["conflicts_with"] == ["web-search"]


def test_detail_minimal(fleet):
    d = skill(fleet, "minimal")
    assert d["manifest"] == {"name": "minimal", "description": "Just the two", "license": None,
                             "compatibility": None, "metadata": None, "allowed-tools": None}
    assert d["body"].strip("\n") == "Say hi."
    assert (d["resolved_capabilities"], d["parent_chain"], d["conflicts_with"]) == ([], [], [])


def test_parent_chain_bfs_with_cycle(fleet):
    d = skill(fleet, "s-root")
    assert d["parent_chain"] == ["s-left", "s-right", "s-deep", "s-deep2"]
    assert d["resolved_capabilities"] == ["ReadFile", "HttpGet", "ExecCommand", "RecallMemory",
                                          "GetSecret"]
    assert d["conflicts_with"] == ["web-search", "other-thing"]
    assert d["manifest"]["metadata"]["parents"] == ["s-left", "s-ghost", "s-right"]
    # a chain that comes back to the skill itself does not list the skill
    d = skill(fleet, "s-left")
    assert d["parent_chain"] == ["s-deep", "s-root", "s-right", "s-deep2"]
    assert d["resolved_capabilities"] == ["ReadFile", "HttpGet", "ExecCommand", "RecallMemory",
                                          "GetSecret"]
    assert d["conflicts_with"] == []


def test_unknown_enums_are_null(fleet):
    d = skill(fleet, "odd-enums")
    meta = d["manifest"]["metadata"]
    assert (meta["skill-type"], meta["trust-tier"], meta["capabilities"]) == (None, None, None)
    assert d["resolved_capabilities"] == []


@pytest.mark.parametrize("name", INVALID + ["empty-dir", "no-such-skill", "Bad_Name"])
def test_invalid_or_unknown_skill_is_404(fleet, name):
    fleet.fail("GET", f"skills/{name}", None, 404, "SKILL_NOT_FOUND")


# ---- per-bot skills ----------------------------------------------------------------------

def config(**kw):
    c = {"skill_name": None, "enabled": True, "trust_tier": None, "version": None,
         "overrides": {}, "capabilities": None}
    c.update(kw)
    return c


def attach(fleet, bot, body, ident=None):
    d = fleet.ok("POST", f"bots/{ident or bot['slug']}/skills", body, status=201)
    assert_keys(d, BOT_SKILL_CONFIG_KEYS, "BotSkillConfig")
    return d


def bot_skills(fleet, ident):
    d = fleet.ok("GET", f"bots/{ident}/skills", links={"self": f"{API}/bots/{ident}/skills"})
    for item in d:
        assert_keys(item, BOT_SKILL_ITEM_KEYS, "BotSkillItem")
    return d


def test_attach_patch_detach(fleet):
    bot = fleet.create_bot("Skilled")
    assert bot_skills(fleet, bot["slug"]) == []
    # the §5.6 example
    assert attach(fleet, bot, {"skill_name": "web-search"}) == config(skill_name="web-search")
    c = attach(fleet, bot, {"skill_name": "full-skill", "capabilities": ["read_file", "http_get"],
                            "overrides": {"k": "v", "ü": "✨"}}, ident=bot["id"])
    assert c == config(skill_name="full-skill", capabilities=["read_file", "http_get"],
                       overrides={"k": "v", "ü": "✨"})
    attach(fleet, bot, {"skill_name": "minimal", "capabilities": None, "overrides": None})
    items = bot_skills(fleet, bot["slug"])
    assert items == [
        {"name": "full-skill", "description": "Every field: quoted", "skill_type": "tool",
         "trust_tier": None, "enabled": True, "overrides": {"k": "v", "ü": "✨"}},
        {"name": "minimal", "description": "Just the two", "skill_type": None,
         "trust_tier": None, "enabled": True, "overrides": {}},
        {"name": "web-search", "description": "Search the web and summarise results",
         "skill_type": "prompt", "trust_tier": None, "enabled": True, "overrides": {}},
    ]
    assert bot_skills(fleet, bot["id"]) == items        # links use the id as given

    p = fleet.ok("PATCH", f"bots/{bot['slug']}/skills/full-skill", {"enabled": False})
    assert_keys(p, BOT_SKILL_CONFIG_KEYS, "BotSkillConfig")
    assert p == config(skill_name="full-skill", enabled=False,
                       capabilities=["read_file", "http_get"], overrides={"k": "v", "ü": "✨"})
    p = fleet.ok("PATCH", f"bots/{bot['id']}/skills/full-skill", {"overrides": {"n": "1"}})
    assert p == config(skill_name="full-skill", enabled=False,
                       capabilities=["read_file", "http_get"], overrides={"n": "1"})
    p = fleet.ok("PATCH", f"bots/{bot['slug']}/skills/full-skill",
                 {"enabled": None, "overrides": None})
    assert p["enabled"] is False and p["overrides"] == {"n": "1"}
    p = fleet.ok("PATCH", f"bots/{bot['slug']}/skills/full-skill", {"enabled": True,
                                                                     "overrides": {}})
    assert p["enabled"] is True and p["overrides"] == {}
    fleet.ok("PATCH", f"bots/{bot['slug']}/skills/minimal", {"enabled": False})
    assert [(i["name"], i["enabled"]) for i in bot_skills(fleet, bot["slug"])] == \
        [("full-skill", True), ("minimal", False), ("web-search", True)]

    # attaching an attached skill replaces its configuration
    assert attach(fleet, bot, {"skill_name": "minimal"}) == config(skill_name="minimal")

    d = fleet.ok("DELETE", f"bots/{bot['slug']}/skills/web-search")
    assert list(d.items()) == [("detached", True), ("skill_name", "web-search")]
    assert [i["name"] for i in bot_skills(fleet, bot["slug"])] == ["full-skill", "minimal"]
    msg = "Skill 'web-search' is not attached to this bot"
    fleet.fail("DELETE", f"bots/{bot['slug']}/skills/web-search", None, 404, "SKILL_NOT_FOUND",
               msg)
    fleet.fail("PATCH", f"bots/{bot['slug']}/skills/web-search", {"enabled": True}, 404,
               "SKILL_NOT_FOUND", msg)


def test_attached_skill_removed_from_library(fleet, server):
    write_skill(server.data_dir, "fleeting", "---\nname: fleeting\ndescription: here\n"
                "metadata:\n  skill-type: tool\n---\n")
    bot = fleet.create_bot("Forgetful")
    attach(fleet, bot, {"skill_name": "fleeting", "overrides": {"a": "b"}})
    shutil.rmtree(os.path.join(server.data_dir, "skills", "fleeting"))
    assert bot_skills(fleet, bot["slug"]) == [
        {"name": "fleeting", "description": "", "skill_type": None, "trust_tier": None,
         "enabled": True, "overrides": {"a": "b"}}]
    d = fleet.ok("DELETE", f"bots/{bot['slug']}/skills/fleeting")
    assert d == {"detached": True, "skill_name": "fleeting"}


def test_attach_errors(fleet):
    bot = fleet.create_bot("Skill Errors")
    path = f"bots/{bot['slug']}/skills"
    fleet.fail("POST", path, {"skill_name": "nope"}, 404, "SKILL_NOT_FOUND",
               "Skill 'nope' not found in global store")
    fleet.fail("POST", path, {"skill_name": "no-description"}, 404, "SKILL_NOT_FOUND",
               "Skill 'no-description' not found in global store")
    # the bot is resolved before the skill
    fleet.fail("POST", "bots/no-such-bot/skills", {"skill_name": "nope"}, 404, "BOT_NOT_FOUND",
               "Bot not found")
    fleet.fail("POST", "bots/no-such-bot/skills", {"skill_name": "web-search"}, 404,
               "BOT_NOT_FOUND", "Bot not found")
    fleet.bad_value("POST", path, {"skill_name": "web-search", "capabilities": ["teleport"]},
                    "capabilities")
    fleet.bad_value("POST", path, {"skill_name": "web-search", "capabilities": ["HttpGet"]},
                    "capabilities")
    fleet.bad_field("POST", path, {"skill_name": "web-search", "capabilities": "http_get"},
                    "capabilities")
    fleet.bad_value("POST", path, {"skill_name": "web-search", "overrides": {"a": 1}},
                    "overrides")
    fleet.bad_field("POST", path, {"skill_name": "web-search", "overrides": ["a"]}, "overrides")
    fleet.bad_value("POST", path, {}, "skill_name")
    fleet.bad_field("POST", path, {"skill_name": 5}, "skill_name")
    for raw in (b"", b"{", b"[]"):
        fleet.bad_json("POST", path, raw)
    assert bot_skills(fleet, bot["slug"]) == []


def test_patch_detach_errors(fleet):
    bot = fleet.create_bot("Patch Errors")
    attach(fleet, bot, {"skill_name": "minimal"})
    path = f"bots/{bot['slug']}/skills/minimal"
    fleet.bad_field("PATCH", path, {"enabled": "yes"}, "enabled")
    fleet.bad_value("PATCH", path, {"overrides": {"a": 2}}, "overrides")
    fleet.bad_json("PATCH", path, b"{")
    fleet.fail("PATCH", "bots/no-such-bot/skills/minimal", {"enabled": True}, 404,
               "BOT_NOT_FOUND", "Bot not found")
    fleet.fail("DELETE", "bots/no-such-bot/skills/minimal", None, 404, "BOT_NOT_FOUND",
               "Bot not found")
    fleet.fail("PATCH", f"bots/{bot['slug']}/skills/web-search", {"enabled": True}, 404,
               "SKILL_NOT_FOUND", "Skill 'web-search' is not attached to this bot")
    fleet.fail("DELETE", f"bots/{bot['slug']}/skills/nope", None, 404, "SKILL_NOT_FOUND",
               "Skill 'nope' is not attached to this bot")
    assert bot_skills(fleet, bot["slug"])[0]["enabled"] is True


def test_bot_skills_unknown_bot(fleet):
    fleet.fail("GET", "bots/no-such-bot/skills", None, 404, "BOT_NOT_FOUND", "Bot not found")


def test_attachments_deleted_with_bot(fleet, server):
    bot = fleet.create_bot("Short Lived")
    attach(fleet, bot, {"skill_name": "minimal"})
    assert db_count(server, "SELECT COUNT(*) FROM bot_skills WHERE bot_id=?", (bot["id"],)) == 1
    fleet.ok("DELETE", f"bots/{bot['slug']}")
    assert db_count(server, "SELECT COUNT(*) FROM bot_skills WHERE bot_id=?", (bot["id"],)) == 0
    again = fleet.create_bot("Short Lived")
    assert bot_skills(fleet, again["slug"]) == []
