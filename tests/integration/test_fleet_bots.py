"""Fleet bots (spec/fleet.md §2.1, §3, §5.1; §1.2-§1.5): create with slugs and limits,
list with filters/sort/order/limit/offset, get by slug or UUID, update, delete, clone."""

import os
import shutil

import pytest

from fleetlib import (API, Fleet, bot_links, check_bot, db, db_count, default_identity,
                      default_soul, default_user, parse_entity_ts, seed_session, sha256,
                      write_skill, parse_json)
from roostlib import Server, assert_error_shape, limits

# What this file needs built into roostd (conftest.py deselects it, and
# lists it, for a profile without them).
NEEDS = {"fleet"}


@pytest.fixture(scope="module")
def fleet(server):
    return Fleet(server)


# ---- create ------------------------------------------------------------------------

def test_create_example(fleet):
    """The §5.1 example request and its response shape."""
    r = fleet.call("POST", "bots", {"name": "Research Assistant", "category": "research",
                                    "tags": ["papers"]})
    assert r.status == 200, r
    b = r.json()["data"]
    data = fleet.check_ok(r, 200, bot_links(b["id"], "self", "soul"))
    check_bot(data)
    assert data["slug"] == "research-assistant"
    assert data["name"] == "Research Assistant"
    assert data["description"] == "A bot named Research Assistant"
    assert data["status"] == "active"
    assert data["category"] == "research"
    assert data["tags"] == ["papers"]
    assert data["user_id"] is None
    assert (data["conversation_count"], data["total_tokens_used"], data["version_count"]) == \
        (0, 0, 1)
    assert data["last_active_at"] is None
    assert data["created_at"] == data["updated_at"]


def test_create_defaults_and_files(fleet):
    b = fleet.create_bot("Luna")
    assert b["category"] == "assistant"
    assert b["tags"] == []
    assert b["description"] == "A bot named Luna"
    d = fleet.bot_dir(b["slug"])
    assert sorted(f for f in os.listdir(d) if not f.startswith(".")) == \
        ["IDENTITY.md", "SOUL.md", "USER.md"], os.listdir(d)
    assert fleet.read_bot_file(b["slug"], "SOUL.md") == default_soul("Luna")
    assert fleet.read_bot_file(b["slug"], "IDENTITY.md") == default_identity("Luna")
    assert fleet.read_bot_file(b["slug"], "USER.md") == default_user("Luna")
    soul = fleet.ok("GET", f"bots/{b['slug']}/soul",
                    links={"self": f"{API}/bots/{b['id']}/soul",
                           "versions": f"{API}/bots/{b['id']}/soul/versions",
                           "verify": f"{API}/bots/{b['id']}/soul/verify",
                           "bot": f"{API}/bots/{b['id']}"})
    assert soul["version"] == 1 and soul["message"] is None
    assert soul["content"] == default_soul("Luna")
    assert soul["hash"] == sha256(default_soul("Luna"))


def test_create_identity_uses_category(fleet):
    b = fleet.create_bot("Muse", category="creative")
    assert fleet.read_bot_file(b["slug"], "IDENTITY.md") == default_identity("Muse", "creative")


def test_create_name_trimmed(fleet):
    b = fleet.create_bot("  \t Trimmed Name \n ")
    assert b["name"] == "Trimmed Name"
    assert b["slug"] == "trimmed-name"
    assert b["description"] == "A bot named Trimmed Name"


@pytest.mark.parametrize("name,slug", [
    ("  Héllo  Wörld!! ", "h-llo-w-rld"),
    ("R2-D2 Unit", "r2-d2-unit"),
    ("--Dash__Dash--", "dash-dash"),
    ("UPPER lower 123", "upper-lower-123"),
    ("a" * 70, "a" * 64),
    ("b" * 63 + " c", "b" * 63),               # truncated to 64, trailing '-' removed again
    ("x" * 63 + "éz", "x" * 63),               # "xx…x-" after truncation
])
def test_slug_rules(fleet, name, slug):
    b = fleet.create_bot(name)
    assert b["slug"] == slug, b
    assert b["name"] == name.strip()


def test_slug_all_non_ascii_is_bot(fleet):
    """§5.1: a name with only non-ASCII characters is valid; its slug is empty -> `bot`."""
    first = fleet.create_bot("日本語")
    assert first["slug"] == "bot"
    second = fleet.create_bot("Ελληνικά")
    assert second["slug"] == "bot-2"
    assert os.path.isdir(fleet.bot_dir("bot")) and os.path.isdir(fleet.bot_dir("bot-2"))


@pytest.mark.parametrize("name", ["!!!", "  ---  ", "@#$%^&*()", "   "])
def test_name_without_letter_or_digit_is_400(fleet, name):
    """§5.1: name 'must contain an ASCII letter/digit or a non-ASCII character'."""
    fleet.bad_value("POST", "bots", {"name": name}, "name")


def test_uniquify_and_slug_conflict(fleet):
    """`<slug>-2` … `<slug>-100`, then 409 SLUG_CONFLICT; clone hits the same rule."""
    slugs = [fleet.create_bot("Dup (Clone)")["slug"] for _ in range(100)]
    assert slugs == ["dup-clone"] + [f"dup-clone-{i}" for i in range(2, 101)]
    fleet.fail("POST", "bots", {"name": "Dup (Clone)"}, 409, "SLUG_CONFLICT",
               "Slug 'dup-clone' already exists")
    fleet.fail("POST", "bots", {"name": "dup clone"}, 409, "SLUG_CONFLICT",
               "Slug 'dup-clone' already exists")
    src = fleet.create_bot("Dup")
    assert src["slug"] == "dup"
    fleet.fail("POST", f"bots/{src['slug']}/clone", None, 409, "SLUG_CONFLICT",
               "Slug 'dup-clone' already exists")
    # nothing half-created
    assert not os.path.exists(fleet.bot_dir("dup-clone-101"))
    listed = fleet.ok("GET", "bots", links={"self": f"{API}/bots"})
    assert sum(1 for b in listed if b["slug"].startswith("dup-clone")) == 100


def test_slug_reused_after_delete(fleet):
    a = fleet.create_bot("Phoenix")
    assert a["slug"] == "phoenix"
    fleet.ok("DELETE", f"bots/{a['id']}")
    b = fleet.create_bot("Phoenix")
    assert b["slug"] == "phoenix" and b["id"] != a["id"]


def test_duplicate_names_allowed(fleet):
    a = fleet.create_bot("Twin")
    b = fleet.create_bot("Twin")
    assert (a["name"], b["name"]) == ("Twin", "Twin")
    assert (a["slug"], b["slug"]) == ("twin", "twin-2")


def test_name_limit_in_characters(fleet):
    for name in ("é" * 100, "🤖" * 100, "n" * 100):
        b = fleet.create_bot(name)
        assert b["name"] == name
    for name in ("é" * 101, "🤖" * 101, "n" * 101):
        fleet.bad_value("POST", "bots", {"name": name}, "name")


def test_escaped_unicode_in_request(fleet):
    r = fleet.call("POST", "bots", {"name": "Ünï 🤖", "tags": ["ta€"]}, ascii_only=True)
    assert r.status == 200, r
    b = fleet.check_ok(r, 200, bot_links(r.json()["data"]["id"], "self", "soul"))
    assert b["name"] == "Ünï 🤖" and b["tags"] == ["ta€"]
    assert b["slug"] == "n"


@pytest.mark.parametrize("body,field", [
    ({}, "name"),
    ({"name": None}, "name"),
    ({"name": ""}, "name"),
    ({"name": 5}, "name"),
    ({"name": ["x"]}, "name"),
    ({"name": "ok", "description": 5}, "description"),
    ({"name": "ok", "description": "d" * 1001}, "description"),
    ({"name": "ok", "description": "é" * 1001}, "description"),
    ({"name": "ok", "category": "cooking"}, "category"),
    ({"name": "ok", "category": 1}, "category"),
    ({"name": "ok", "tags": "a,b"}, "tags"),
    ({"name": "ok", "tags": [1]}, "tags"),
    ({"name": "ok", "tags": [""]}, "tags"),
    ({"name": "ok", "tags": ["t"] * 21}, "tags"),
    ({"name": "ok", "tags": ["t" * 51]}, "tags"),
    ({"name": "ok", "tags": ["ü" * 51]}, "tags"),
    ({"name": "ok", "emoji": 5}, "emoji"),
    ({"name": "ok", "emoji": ["🤖"]}, "emoji"),
    ({"name": "ok", "emoji": "x" * 33}, "emoji"),
    ({"name": "ok", "emoji": "🤖" * 8 + "x"}, "emoji"),
    ({"name": "ok", "emoji": "é" * 17}, "emoji"),
    ({"name": "ok", "emoji": "a\u0000"}, "emoji"),
])
def test_create_validation(fleet, body, field):
    fleet.bad_value("POST", "bots", body, field)


def test_create_limits_ok(fleet):
    b = fleet.create_bot("Limits", description="é" * 1000, tags=["ü" * 50] + [f"t{i}" for i in
                                                                                range(19)])
    assert b["description"] == "é" * 1000
    assert len(b["tags"]) == 20 and b["tags"][0] == "ü" * 50
    b = fleet.create_bot("Empty Desc", description="", tags=None, category=None)
    assert b["description"] == "" and b["tags"] == [] and b["category"] == "assistant"
    b = fleet.create_bot("Null Desc", description=None, unknown_field={"x": 1})
    assert b["description"] == "A bot named Null Desc"


EMOJI_TOO_LONG = "Invalid field 'emoji': must be at most 32 bytes of UTF-8"


def test_emoji_create_get_list(fleet):
    """§2.1, §5.1: emoji, <= 32 bytes of UTF-8, default null, after last_active_at."""
    plain = fleet.create_bot("No Emoji")
    assert plain["emoji"] is None and list(plain)[-2:] == ["last_active_at", "emoji"]
    b = fleet.create_bot("Robot Face", emoji="🤖")
    assert b["emoji"] == "🤖"
    links = bot_links(b["id"], "self", "soul", "secrets")
    assert fleet.ok("GET", f"bots/{b['slug']}", links=links) == b
    assert fleet.ok("GET", f"bots/{b['id']}", links=links) == b
    listed = {x["id"]: x for x in fleet.ok("GET", "bots", links={"self": f"{API}/bots"})}
    assert listed[b["id"]] == b and listed[plain["id"]]["emoji"] is None
    assert fleet.create_bot("Null Emoji", emoji=None)["emoji"] is None
    assert fleet.create_bot("Empty Emoji", emoji="")["emoji"] is None
    # multi-byte: a ZWJ family (25 bytes), a flag, a symbol with a variation selector
    for e in ("👨‍👩‍👧‍👦", "🇫🇷", "✔️", "★", "🤖" * 8, "x" * 32):
        assert len(e.encode()) <= 32
        assert fleet.create_bot("Multi", emoji=e)["emoji"] == e
    # sent as \u escapes (a surrogate pair)
    r = fleet.call("POST", "bots", {"name": "Escaped Emoji", "emoji": "🦊"}, ascii_only=True)
    assert r.status == 200 and r.json()["data"]["emoji"] == "🦊", r


def test_emoji_over_32_bytes_is_400(fleet):
    before = len(fleet.ok("GET", "bots", links={"self": f"{API}/bots"}))
    for e in ("x" * 33, "🤖" * 8 + "x", "é" * 17, "👨‍👩‍👧‍👦" + "🤖" * 2):
        assert len(e.encode()) > 32
        fleet.fail("POST", "bots", {"name": "Too Much", "emoji": e}, 400, "VALIDATION_ERROR",
                   EMOJI_TOO_LONG)
    fleet.fail("POST", "bots", {"name": "Wrong Type", "emoji": 7}, 400, "VALIDATION_ERROR",
               "Invalid field 'emoji': expected a string")
    assert len(fleet.ok("GET", "bots", links={"self": f"{API}/bots"})) == before
    assert not os.path.exists(fleet.bot_dir("too-much"))


def test_emoji_update(fleet):
    """PUT: null/absent leave it; "" clears it to null (decision); 33 bytes is 400."""
    b = fleet.create_bot("Moody")
    links = bot_links(b["id"], "self")
    u = fleet.ok("PUT", f"bots/{b['slug']}", {"emoji": "🌧️"}, links=links)
    assert u["emoji"] == "🌧️" and u["name"] == "Moody"
    u = fleet.ok("PUT", f"bots/{b['slug']}", {"name": "Still Moody"}, links=links)
    assert (u["name"], u["emoji"]) == ("Still Moody", "🌧️")
    u = fleet.ok("PUT", f"bots/{b['slug']}", {"emoji": None}, links=links)
    assert u["emoji"] == "🌧️"
    fleet.fail("PUT", f"bots/{b['slug']}", {"emoji": "🌧️" * 5}, 400, "VALIDATION_ERROR",
               EMOJI_TOO_LONG)
    u = fleet.ok("PUT", f"bots/{b['id']}", {"emoji": "☀"}, links=links)
    assert u["emoji"] == "☀"
    got = fleet.ok("GET", f"bots/{b['id']}", links=bot_links(b["id"], "self", "soul", "secrets"))
    assert got == u
    u = fleet.ok("PUT", f"bots/{b['id']}", {"emoji": ""}, links=links)
    assert u["emoji"] is None
    assert fleet.ok("GET", f"bots/{b['id']}",
                    links=bot_links(b["id"], "self", "soul", "secrets"))["emoji"] is None


def test_emoji_kept_by_clone(fleet):
    src = fleet.create_bot("Fox", emoji="🦊")
    r = fleet.call("POST", f"bots/{src['id']}/clone")
    assert r.status == 200, r
    c = fleet.check_ok(r, 200, bot_links(r.json()["data"]["id"], "self"))
    check_bot(c)
    assert c["emoji"] == "🦊" and c["id"] != src["id"]
    plain = fleet.create_bot("Plain Fox")
    r = fleet.call("POST", f"bots/{plain['id']}/clone")
    assert r.status == 200 and r.json()["data"]["emoji"] is None, r


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'"name"', b"null", b"42",
                                  b'{"name": "x",}', b"\xff\xfe"])
def test_create_invalid_json(fleet, body):
    fleet.bad_json("POST", "bots", body)


def test_failed_create_leaves_nothing(fleet):
    before = fleet.ok("GET", "bots", links={"self": f"{API}/bots"})
    fleet.bad_value("POST", "bots", {"name": "Ghost", "tags": ["t"] * 21}, "tags")
    after = fleet.ok("GET", "bots", links={"self": f"{API}/bots"})
    assert len(after) == len(before)
    assert not os.path.exists(fleet.bot_dir("ghost"))


# ---- get -----------------------------------------------------------------------------

def test_get_by_slug_and_uuid(fleet):
    b = fleet.create_bot("Getter")
    links = bot_links(b["id"], "self", "soul", "secrets")
    by_slug = fleet.ok("GET", f"bots/{b['slug']}", links=links)
    by_id = fleet.ok("GET", f"bots/{b['id']}", links=links)
    assert by_slug == b and by_id == b
    assert list(by_slug) == list(b)


@pytest.mark.parametrize("ident", ["no-such-bot", "0194f3a2-7c1e-7b3a-9d2f-3c4b5a697881",
                                   "Not_A_Slug", "%20", "x" * 200])
def test_get_unknown(fleet, ident):
    fleet.fail("GET", f"bots/{ident}", None, 404, "BOT_NOT_FOUND", "Bot not found")


def test_slug_resolved_before_uuid(fleet):
    """§1.4: {id} is resolved first as a slug. A bot whose slug is another bot's UUID
    text wins over that bot."""
    a = fleet.create_bot("Plain A")
    b = fleet.create_bot(a["id"])
    assert b["slug"] == a["id"]
    got = fleet.ok("GET", f"bots/{a['id']}", links=bot_links(b["id"], "self", "soul", "secrets"))
    assert got["id"] == b["id"]
    fleet.ok("GET", f"bots/{b['id']}", links=bot_links(b["id"], "self", "soul", "secrets"))


# ---- update --------------------------------------------------------------------------

def test_update_fields(fleet):
    b = fleet.create_bot("Editable", description="old", tags=["a"], category="utility")
    soul_before = fleet.read_bot_file(b["slug"], "SOUL.md")
    u = fleet.ok("PUT", f"bots/{b['slug']}", {"name": "  Renamed Bot  "},
                 links=bot_links(b["id"], "self"))
    check_bot(u)
    assert u["name"] == "Renamed Bot"
    assert u["slug"] == b["slug"] == "editable"
    assert (u["description"], u["tags"], u["category"], u["status"]) == \
        ("old", ["a"], "utility", "active")
    assert u["created_at"] == b["created_at"] and u["id"] == b["id"]
    assert parse_entity_ts(u["updated_at"]) > parse_entity_ts(b["updated_at"])
    assert os.path.isdir(fleet.bot_dir("editable"))
    assert not os.path.exists(fleet.bot_dir("renamed-bot"))
    assert fleet.read_bot_file("editable", "SOUL.md") == soul_before
    fleet.fail("GET", "bots/renamed-bot", None, 404, "BOT_NOT_FOUND", "Bot not found")

    u2 = fleet.ok("PUT", f"bots/{b['id']}", {"description": "new", "status": "disabled",
                                             "category": "research", "tags": ["x", "y"]},
                  links=bot_links(b["id"], "self"))
    assert (u2["name"], u2["description"], u2["status"], u2["category"], u2["tags"]) == \
        ("Renamed Bot", "new", "disabled", "research", ["x", "y"])
    assert parse_entity_ts(u2["updated_at"]) > parse_entity_ts(u["updated_at"])

    u3 = fleet.ok("PUT", f"bots/{b['slug']}", {"name": None, "description": None,
                                               "status": None, "category": None,
                                               "tags": None},
                  links=bot_links(b["id"], "self"))
    for k in ("name", "description", "status", "category", "tags", "slug"):
        assert u3[k] == u2[k], k
    u4 = fleet.ok("PUT", f"bots/{b['slug']}", {"tags": [], "status": "archived"},
                  links=bot_links(b["id"], "self"))
    assert u4["tags"] == [] and u4["status"] == "archived"
    assert fleet.ok("GET", f"bots/{b['slug']}",
                    links=bot_links(b["id"], "self", "soul", "secrets")) == u4


@pytest.mark.parametrize("body,field", [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "é" * 101}, "name"),
    ({"name": 3}, "name"),
    ({"description": "d" * 1001}, "description"),
    ({"status": "paused"}, "status"),
    ({"status": True}, "status"),
    ({"category": "cooking"}, "category"),
    ({"tags": ["t"] * 21}, "tags"),
    ({"tags": ["t" * 51]}, "tags"),
    ({"tags": "x"}, "tags"),
    ({"emoji": 1}, "emoji"),
    ({"emoji": "🤖" * 9}, "emoji"),
    ({"name": "Changed", "emoji": "x" * 33}, "emoji"),
])
def test_update_validation_changes_nothing(fleet, body, field):
    b = fleet.create_bot("Stable")
    fleet.bad_value("PUT", f"bots/{b['id']}", body, field)
    got = fleet.ok("GET", f"bots/{b['id']}", links=bot_links(b["id"], "self", "soul", "secrets"))
    assert got == b


def test_update_bad_json_and_unknown(fleet):
    b = fleet.create_bot("Json Victim")
    fleet.bad_json("PUT", f"bots/{b['slug']}", b"{nope")
    fleet.bad_json("PUT", f"bots/{b['slug']}", b"[]")
    fleet.fail("PUT", "bots/no-such-bot", {"name": "x"}, 404, "BOT_NOT_FOUND", "Bot not found")


def test_update_name_limit_ok(fleet):
    b = fleet.create_bot("Short")
    u = fleet.ok("PUT", f"bots/{b['slug']}", {"name": "ö" * 100, "description": "ö" * 1000},
                 links=bot_links(b["id"], "self"))
    assert u["name"] == "ö" * 100 and u["description"] == "ö" * 1000 and u["slug"] == "short"


# ---- delete --------------------------------------------------------------------------

def test_delete_removes_everything(fleet, server):
    b = fleet.create_bot("Doomed Bot")
    bid = b["id"]
    fleet.ok("PUT", f"bots/{bid}/soul", {"content": "v2", "message": None},
             links={"self": f"{API}/bots/{bid}/soul",
                    "versions": f"{API}/bots/{bid}/soul/versions",
                    "bot": f"{API}/bots/{bid}"})
    sid, mids = seed_session(server, bid, messages=[{"role": "user", "content": "hi"}])
    write_skill(server.data_dir, "doom-skill", "---\nname: doom-skill\ndescription: d\n---\nb\n")
    fleet.ok("POST", f"bots/{bid}/skills", {"skill_name": "doom-skill"}, status=201)
    assert db_count(server, "SELECT COUNT(*) FROM bot_skills WHERE bot_id=?", (bid,)) == 1

    d = fleet.ok("DELETE", f"bots/{b['slug']}")
    assert list(d.items()) == [("deleted", True), ("slug", "doomed-bot")]
    assert not os.path.exists(fleet.bot_dir("doomed-bot"))
    fleet.fail("GET", f"bots/{bid}", None, 404, "BOT_NOT_FOUND", "Bot not found")
    fleet.fail("GET", "bots/doomed-bot", None, 404, "BOT_NOT_FOUND", "Bot not found")
    fleet.fail("GET", f"sessions/{sid}", None, 404, "SESSION_NOT_FOUND", "Session not found")
    for table, col, val in (("bots", "id", bid), ("soul_versions", "bot_id", bid),
                            ("chat_sessions", "bot_id", bid), ("chat_messages", "session_id",
                                                                sid),
                            ("bot_skills", "bot_id", bid)):
        assert db_count(server, f"SELECT COUNT(*) FROM {table} WHERE {col}=?", (val,)) == 0, \
            table
    fleet.fail("DELETE", f"bots/{bid}", None, 404, "BOT_NOT_FOUND", "Bot not found")
    fleet.fail("DELETE", "bots/doomed-bot", None, 404, "BOT_NOT_FOUND", "Bot not found")


def test_delete_by_uuid_with_missing_directory(fleet):
    b = fleet.create_bot("Dirless")
    shutil.rmtree(fleet.bot_dir(b["slug"]))
    d = fleet.ok("DELETE", f"bots/{b['id']}")
    assert d == {"deleted": True, "slug": "dirless"}
    fleet.fail("GET", f"bots/{b['id']}", None, 404, "BOT_NOT_FOUND", "Bot not found")


# ---- clone ---------------------------------------------------------------------------

def test_clone(fleet, server):
    src = fleet.create_bot("Origin", description="the original", category="research",
                           tags=["p", "q"])
    sid = src["id"]
    content = "---\nname: Origin\n---\n# Origin v2 ✨\n"
    fleet.ok("PUT", f"bots/{sid}/soul", {"content": content, "message": "v2"},
             links={"self": f"{API}/bots/{sid}/soul",
                    "versions": f"{API}/bots/{sid}/soul/versions",
                    "bot": f"{API}/bots/{sid}"})
    fleet.ok("PUT", f"bots/{sid}", {"status": "disabled"}, links=bot_links(sid, "self"))
    fleet.ok("PUT", f"bots/{sid}/user", {"content": "custom user"},
             links={"self": f"{API}/bots/{sid}/user", "bot": f"{API}/bots/{sid}"})
    seed_session(server, sid, messages=[{"role": "user", "content": "x"}])
    write_skill(server.data_dir, "clone-skill", "---\nname: clone-skill\ndescription: c\n---\n")
    fleet.ok("POST", f"bots/{sid}/skills", {"skill_name": "clone-skill"}, status=201)

    r = fleet.call("POST", f"bots/{src['slug']}/clone")
    assert r.status == 200, r
    c = fleet.check_ok(r, 200, bot_links(r.json()["data"]["id"], "self"))
    check_bot(c)
    assert c["id"] != sid
    assert c["name"] == "Origin (Clone)" and c["slug"] == "origin-clone"
    assert (c["description"], c["category"], c["tags"]) == ("the original", "research",
                                                            ["p", "q"])
    assert c["status"] == "active"
    assert (c["version_count"], c["conversation_count"], c["total_tokens_used"]) == (1, 0, 0)
    soul = fleet.ok("GET", f"bots/{c['id']}/soul",
                    links={"self": f"{API}/bots/{c['id']}/soul",
                           "versions": f"{API}/bots/{c['id']}/soul/versions",
                           "verify": f"{API}/bots/{c['id']}/soul/verify",
                           "bot": f"{API}/bots/{c['id']}"})
    assert (soul["version"], soul["content"], soul["message"]) == (1, content, None)
    assert soul["bot_id"] == c["id"]
    assert fleet.read_bot_file("origin-clone", "SOUL.md") == content
    assert fleet.read_bot_file("origin-clone", "IDENTITY.md") == \
        default_identity("Origin (Clone)", "research")
    assert fleet.read_bot_file("origin-clone", "USER.md") == default_user("Origin (Clone)")
    assert fleet.ok("GET", f"bots/{c['id']}/sessions",
                    links={"self": f"{API}/bots/{c['id']}/sessions"}) == []
    assert fleet.ok("GET", "bots/origin-clone/skills",
                    links={"self": f"{API}/bots/origin-clone/skills"}) == []
    # the source is untouched
    s2 = fleet.ok("GET", f"bots/{sid}", links=bot_links(sid, "self", "soul", "secrets"))
    assert s2["version_count"] == 2 and s2["status"] == "disabled"
    # a second clone uniquifies
    r2 = fleet.call("POST", f"bots/{sid}/clone")
    assert r2.status == 200, r2
    assert r2.json()["data"]["slug"] == "origin-clone-2"


def test_clone_name_truncated_to_100_chars(fleet):
    name = "é" * 90 + "abcde"                      # 95 characters
    src = fleet.create_bot(name)
    r = fleet.call("POST", f"bots/{src['id']}/clone")
    assert r.status == 200, r
    c = fleet.check_ok(r, 200, bot_links(r.json()["data"]["id"], "self"))
    assert c["name"] == (name + " (Clone)")[:100] == name + " (Clo"
    r = fleet.call("POST", f"bots/{c['id']}/clone")
    assert r.status == 200, r
    assert r.json()["data"]["name"] == c["name"]


def test_clone_unknown(fleet):
    fleet.fail("POST", "bots/no-such-bot/clone", None, 404, "BOT_NOT_FOUND", "Bot not found")


# ---- list ----------------------------------------------------------------------------

LIST_BOTS = [
    # name, category, status, conversation_count, total_tokens_used, last_active_at
    ("Delta", "research", "active", 10, 5, "2026-01-01T00:00:03.000000Z"),
    ("Alpha", "assistant", "disabled", 9, 500, "2026-01-01T00:00:01.000000Z"),
    ("Charlie", "research", "archived", 100, 40, "2026-01-01T00:00:02.000000Z"),
    ("Bravo", "utility", "active", 9, 7, "2026-01-01T00:00:05.000000Z"),
    ("Echo", "creative", "active", 2, 7, "2026-01-01T00:00:04.000000Z"),
    ("Foxtrot", "research", "disabled", 0, 0, "2026-01-01T00:00:04.000000Z"),
]


@pytest.fixture(scope="module")
def lister(roostd, tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("fleet-list"),
                 args=["--rpg.enabled=false", "--observability.enabled=false",
                       "--documents.enabled=false", "--agents.enabled=false"])
    srv.start()
    fl = Fleet(srv)
    bots = []
    for name, cat, status, conv, tok, last in LIST_BOTS:
        b = fl.create_bot(name, category=cat)
        if status != "active":
            fl.ok("PUT", f"bots/{b['id']}", {"status": status}, links=bot_links(b["id"], "self"))
        with db(srv) as con:
            con.execute("UPDATE bots SET conversation_count=?, total_tokens_used=?,"
                        " last_active_at=? WHERE id=?", (conv, tok, last, b["id"]))
        bots.append(b)
    yield fl
    srv.stop()


def _list(fl, query=""):
    data = fl.ok("GET", f"bots{query}", links={"self": f"{API}/bots"})
    assert isinstance(data, list)
    for b in data:
        check_bot(b)
    return data


def _names(bots):
    return [b["name"] for b in bots]


def test_list_default_created_at_desc(lister):
    data = _list(lister)
    assert _names(data) == [n[0] for n in reversed(LIST_BOTS)]
    assert data[0]["conversation_count"] == 0 and data[-1]["conversation_count"] == 10
    assert _list(lister, "?fields=name,slug") == data


def _expect(bots, key, asc):
    """The spec's order: by `key` (asc or desc), ties by id ascending."""
    rows = sorted(bots, key=lambda b: b["id"])
    rows.sort(key=lambda b: b[key], reverse=not asc)     # stable: ties keep id asc
    return _names(rows)


@pytest.mark.parametrize("key", ["name", "slug", "status", "category", "created_at",
                                 "updated_at", "last_active_at", "conversation_count",
                                 "total_tokens_used"])
@pytest.mark.parametrize("order", ["asc", "desc", "ASC?", ""])
def test_list_sort(lister, key, order):
    every = _list(lister)
    q = f"?sort={key}" + (f"&order={order}" if order else "")
    got = _names(_list(lister, q))
    assert got == _expect(every, key, order == "asc"), f"{q}: {got}"


def test_list_unknown_sort_means_created_at(lister):
    every = _list(lister)
    assert _names(_list(lister, "?sort=bogus&order=asc")) == _expect(every, "created_at", True)
    assert _names(_list(lister, "?sort=NAME")) == _expect(every, "created_at", False)


def test_list_numeric_sort_is_numeric(lister):
    ids = {b["name"]: b["id"] for b in _list(lister)}
    nines = sorted(["Alpha", "Bravo"], key=lambda n: ids[n])          # tie: id ascending
    got = _names(_list(lister, "?sort=conversation_count&order=asc"))
    assert got == ["Foxtrot", "Echo"] + nines + ["Delta", "Charlie"]
    got = _names(_list(lister, "?sort=total_tokens_used&order=desc"))
    sevens = sorted(["Bravo", "Echo"], key=lambda n: ids[n])
    assert got == ["Alpha", "Charlie"] + sevens + ["Delta", "Foxtrot"]


def test_list_ties_broken_by_id_ascending(lister):
    ids = {b["name"]: b["id"] for b in _list(lister)}
    for order in ("asc", "desc"):
        got = _list(lister, f"?sort=category&order={order}")
        research = [b["id"] for b in got if b["category"] == "research"]
        assert research == sorted(research) == sorted(ids[n] for n in
                                                      ("Delta", "Charlie", "Foxtrot"))


@pytest.mark.parametrize("q,names", [
    ("?status=active", {"Delta", "Bravo", "Echo"}),
    ("?status=DISABLED", {"Alpha", "Foxtrot"}),
    ("?status=Archived", {"Charlie"}),
    ("?category=research", {"Delta", "Charlie", "Foxtrot"}),
    ("?category=Creative", {"Echo"}),
    ("?status=active&category=research", {"Delta"}),
    ("?status=archived&category=utility", set()),
])
def test_list_filters(lister, q, names):
    assert set(_names(_list(lister, q))) == names


@pytest.mark.parametrize("q", ["?status=paused", "?status=", "?category=cooking",
                               "?limit=abc", "?limit=0", "?limit=1001", "?limit=-1",
                               "?limit=1.5", "?offset=-1", "?offset=x"])
def test_list_bad_query(lister, q):
    lister.fail("GET", f"bots{q}", None, 400, "VALIDATION_ERROR")


def test_list_limit_offset(lister):
    full = _names(_list(lister, "?sort=name&order=asc"))
    assert _names(_list(lister, "?sort=name&order=asc&limit=2")) == full[:2]
    assert _names(_list(lister, "?sort=name&order=asc&limit=2&offset=2")) == full[2:4]
    assert _names(_list(lister, "?sort=name&order=asc&offset=4")) == full[4:]
    assert _names(_list(lister, "?sort=name&order=asc&offset=6")) == []
    assert _names(_list(lister, "?sort=name&order=asc&offset=600&limit=1000")) == []
    assert _names(_list(lister, "?sort=name&order=asc&limit=1000")) == full
    assert _names(_list(lister, "?limit=1")) == ["Foxtrot"]
    assert _names(_list(lister, "?status=active&sort=name&order=asc&limit=2&offset=1")) == \
        ["Delta", "Echo"]


def test_list_empty(fresh):
    srv = fresh(args=["--rpg.enabled=false", "--observability.enabled=false",
                      "--documents.enabled=false", "--agents.enabled=false"])
    fl = Fleet(srv)
    assert fl.ok("GET", "bots", links={"self": f"{API}/bots"}) == []


# ---- request and response encoding (README §6.1) ---------------------------------------

def test_json_escapes_round_trip(fleet):
    name = 'Quote "Me" \\ Now\tтаб ✨'
    desc = "line1\nline2\r\n\"q\" \\ / \b\f \u0001\u001f 🤖 \u2028"
    tags = ["a\"b", "c\\d", "é\u0007"]
    for ascii_only in (False, True):
        r = fleet.call("POST", "bots", {"name": name, "description": desc, "tags": tags},
                       ascii_only=ascii_only)
        assert r.status == 200, r
        b = fleet.check_ok(r, 200, bot_links(r.json()["data"]["id"], "self", "soul"))
        assert (b["name"], b["description"], b["tags"]) == (name, desc, tags)
        assert b["slug"].startswith("quote-me-now")
        got = fleet.ok("GET", f"bots/{b['id']}", links=bot_links(b["id"], "self", "soul",
                                                                 "secrets"))
        assert got == b


def test_content_type_is_not_checked_and_chunked_bodies_work(fleet, server):
    r = fleet.call("POST", "bots", b'{"name":"Plain Text"}',
                   headers={"Content-Type": "text/plain"})
    assert r.status == 200 and r.json()["data"]["slug"] == "plain-text", r
    from roostlib import Raw
    body = b'{"name":"Chunky", "tags":["c"]}'
    with Raw(server.ports["fleet"]) as c:
        c.send(f"POST {API}/bots HTTP/1.1\r\nHost: x\r\nX-API-Key: {fleet.key}\r\n"
               "Transfer-Encoding: chunked\r\n\r\n")
        c.send(b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, body[:10], len(body) - 10,
                                                        body[10:]))
        r = c.read_response()
    b = fleet.check_ok(r, 200, bot_links(r.json()["data"]["id"], "self", "soul"))
    assert (b["name"], b["tags"], b["slug"]) == ("Chunky", ["c"], "chunky")


def test_bodies_ignored_where_none_is_taken(fleet, server):
    src = fleet.create_bot("Bodyless")
    r = fleet.call("POST", f"bots/{src['slug']}/clone", b"{definitely not json")
    assert r.status == 200, r
    fleet.check_ok(r, 200, bot_links(r.json()["data"]["id"], "self"))
    r = fleet.call("GET", f"bots/{src['slug']}", b"[[[")
    fleet.check_ok(r, 200, bot_links(src["id"], "self", "soul", "secrets"))
    sid, _ = seed_session(server, src["id"])
    r = fleet.call("POST", f"sessions/{sid}/clear", b"}{")
    fleet.check_ok(r, 200)
    r = fleet.call("DELETE", f"bots/{src['slug']}", b"nope")
    fleet.check_ok(r, 200)


def test_path_parameter_percent_decoded(fleet):
    b = fleet.create_bot("Decode Me")
    got = fleet.ok("GET", "bots/decode%2Dme", links=bot_links(b["id"], "self", "soul",
                                                              "secrets"))
    assert got["id"] == b["id"]


def test_deeply_nested_or_huge_bodies(fleet):
    deep = b'{"name":"Deep","tags":' + b"[" * 200 + b"]" * 200 + b"}"
    fleet.fail("POST", "bots", deep, 400, "VALIDATION_ERROR")
    fleet.fail("POST", "bots", b'{"name":"Deep","x":' + b"[" * 5000 + b"]" * 5000 + b"}",
               400, "VALIDATION_ERROR")


def test_many_ignored_unknown_fields(fleet):
    """README §6.1: unknown fields are ignored; a valid body under max_json_body_bytes
    (and under the build's CFG_JSON_MAX_TOKENS values) is processed whatever it holds."""
    n = min(5000, limits()["CFG_JSON_MAX_TOKENS"] - 1100)      # 500 pairs + the rest
    b = fleet.create_bot("Many Tokens", extra=[0] * n, more={f"k{i}": i for i in range(500)})
    assert b["slug"] == "many-tokens"


def test_empty_update_changes_nothing_but_updated_at(fleet):
    b = fleet.create_bot("Untouched")
    u = fleet.ok("PUT", f"bots/{b['slug']}", {}, links=bot_links(b["id"], "self"))
    for k in b:
        if k != "updated_at":
            assert u[k] == b[k], k


def test_create_with_directory_in_the_way(fleet):
    """A plain file where bots/<slug>/ would go: the create either fails as a whole
    (500 INTERNAL_ERROR, no bot left behind) or picks another slug; never half a bot."""
    os.makedirs(os.path.join(fleet.data_dir, "bots"), exist_ok=True)
    with open(fleet.bot_dir("blocked-name"), "w") as f:
        f.write("in the way\n")
    r = fleet.call("POST", "bots", {"name": "Blocked Name"})
    if r.status == 200:
        b = fleet.check_ok(r, 200, bot_links(r.json()["data"]["id"], "self", "soul"))
        assert b["slug"] != "blocked-name"
        assert fleet.read_bot_file(b["slug"], "SOUL.md") == default_soul("Blocked Name")
    else:
        assert_error_shape("fleet", r, 500, code="INTERNAL_ERROR")
        every = fleet.ok("GET", "bots", links={"self": f"{API}/bots"})
        assert "Blocked Name" not in [b["name"] for b in every]
        fleet.fail("GET", "bots/blocked-name", None, 404, "BOT_NOT_FOUND", "Bot not found")
    if os.path.isfile(fleet.bot_dir("blocked-name")):
        os.remove(fleet.bot_dir("blocked-name"))


def test_failed_create_leaves_what_was_there(fleet):
    """Issue 3: 'A failing disk write leaves the old file and row intact'. A create that
    fails because a plain file sits where bots/<slug>/ goes must not delete that file,
    which roostd did not create."""
    os.makedirs(os.path.join(fleet.data_dir, "bots"), exist_ok=True)
    path = fleet.bot_dir("someone-elses")
    with open(path, "w") as f:
        f.write("not roostd's\n")
    r = fleet.call("POST", "bots", {"name": "Someone Elses"})
    try:
        if r.status != 200:
            assert_error_shape("fleet", r, 500, code="INTERNAL_ERROR")
            assert os.path.isfile(path), "the failed create removed a file it did not create"
            with open(path) as f:
                assert f.read() == "not roostd's\n"
    finally:
        if os.path.isfile(path):
            os.remove(path)


# ---- a list asked again (fam/shared/list.h: rows kept while the database is unchanged) --

def test_list_asked_again_follows_every_change(fleet):
    """The same list asked twice is the same; after each kind of write
    (create, update, delete, a filter that differs) it is what the database
    holds, never the rows kept from before."""
    def names(query=""):
        r = fleet.call("GET", "bots" + query)
        assert r.status == 200, r
        return [b["name"] for b in parse_json(r.body)["data"]]

    a = fleet.create_bot("Cache Alpha")
    first = names()
    assert names() == first
    assert "Cache Alpha" in first
    r = fleet.call("PUT", f"bots/{a['id']}", {"name": "Cache Beta"})
    assert r.status == 200, r
    after = names()
    assert "Cache Beta" in after and "Cache Alpha" not in after, after
    r = fleet.call("PUT", f"bots/{a['id']}", {"status": "disabled"})
    assert r.status == 200, r
    assert "Cache Beta" not in names("?status=active")
    assert "Cache Beta" in names("?status=disabled")
    assert names("?status=active") != names()
    b = fleet.create_bot("Cache Gamma")
    assert "Cache Gamma" in names()
    assert fleet.call("DELETE", f"bots/{b['id']}").status in (200, 204)
    assert "Cache Gamma" not in names()
    assert names() == names()
