"""Fleet souls (spec/fleet.md §2.2, §3, §5.2): current soul, new versions with their
SHA-256, version list and lookup, rollback as a new version, integrity check against
SOUL.md on disk."""

import os
import shutil

import pytest

from fleetlib import (API, INTEGRITY_KEYS, SOUL_VERSION_KEYS, Fleet, assert_keys, bot_links,
                      check_soul, db, default_soul, parse_entity_ts, sha256, soul_links)

# What this file needs built into roostd (conftest.py deselects it, and
# lists it, for a profile without them).
NEEDS = {"fleet"}

LUNA = "---\nname: Luna\n---\n# Luna\n"
LUNA_HASH = "1e860a0aa581067586ca07b5f58b215cbbff20a831d0d89fa1a4d9855234fcd2"


@pytest.fixture(scope="module")
def fleet(server):
    return Fleet(server)


def links(bot_id, *names, self_path=None):
    return soul_links(bot_id, self_path, *names)


def put_soul(fleet, bot, content, message=None, **extra):
    body = {"content": content, "message": message}
    body.update(extra)
    s = fleet.ok("PUT", f"bots/{bot['slug']}/soul", body,
                 links=links(bot["id"], "self", "versions", "bot"))
    return check_soul(s, bot["id"])


def get_soul(fleet, bot):
    s = fleet.ok("GET", f"bots/{bot['slug']}/soul",
                 links=links(bot["id"], "self", "versions", "verify", "bot"))
    return check_soul(s, bot["id"])


def versions(fleet, bot, ident=None):
    v = fleet.ok("GET", f"bots/{ident or bot['slug']}/soul/versions",
                 links={"self": f"{API}/bots/{bot['id']}/soul/versions",
                        "bot": f"{API}/bots/{bot['id']}"})
    assert isinstance(v, list)
    for item in v:
        assert_keys(item, SOUL_VERSION_KEYS, "SoulVersion")
        assert item["hash"] == sha256(item["content"])
        parse_entity_ts(item["created_at"])
    return v


def verify(fleet, bot):
    r = fleet.ok("GET", f"bots/{bot['slug']}/soul/verify",
                 links=links(bot["id"], "soul", "bot"))
    assert_keys(r, INTEGRITY_KEYS, "SoulIntegrityResult")
    return r


def test_spec_example_put(fleet):
    assert sha256(LUNA) == LUNA_HASH
    bot = fleet.create_bot("Luna Soul")
    v1 = get_soul(fleet, bot)
    assert v1["version"] == 1 and v1["content"] == default_soul("Luna Soul")
    s = put_soul(fleet, bot, LUNA, "Shorter soul")
    assert (s["content"], s["hash"], s["version"], s["message"]) == \
        (LUNA, LUNA_HASH, 2, "Shorter soul")
    assert s["id"] != v1["id"]
    with open(os.path.join(fleet.bot_dir(bot["slug"]), "SOUL.md"), "rb") as f:
        assert f.read() == LUNA.encode()
    assert get_soul(fleet, bot) == s
    b = fleet.ok("GET", f"bots/{bot['id']}", links=bot_links(bot["id"], "self", "soul",
                                                             "secrets"))
    assert b["version_count"] == 2
    assert parse_entity_ts(b["updated_at"]) > parse_entity_ts(bot["updated_at"])
    v = verify(fleet, bot)
    assert v == {"valid": True, "expected_hash": LUNA_HASH, "actual_hash": LUNA_HASH,
                 "version": 2}


def test_put_by_uuid_multibyte_and_empty(fleet):
    bot = fleet.create_bot("Hashy")
    text = "Zoë ✨ 🤖\n"
    s = fleet.ok("PUT", f"bots/{bot['id']}/soul", {"content": text},
                 links=links(bot["id"], "self", "versions", "bot"))
    check_soul(s, bot["id"])
    assert s["hash"] == sha256(text.encode("utf-8")) and s["message"] is None
    assert s["version"] == 2
    s = put_soul(fleet, bot, "")
    assert s["content"] == "" and s["version"] == 3
    assert s["hash"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert fleet.read_bot_file(bot["slug"], "SOUL.md") == ""
    assert verify(fleet, bot)["valid"] is True


def test_content_limit_in_bytes(fleet):
    bot = fleet.create_bot("Big Soul")
    s = put_soul(fleet, bot, "a" * 262144)
    assert len(s["content"]) == 262144 and s["version"] == 2
    s = put_soul(fleet, bot, "é" * 131072)                         # 262144 bytes
    assert s["content"] == "é" * 131072 and s["version"] == 3
    fleet.bad_value("PUT", f"bots/{bot['slug']}/soul", {"content": "a" * 262145}, "content")
    fleet.bad_value("PUT", f"bots/{bot['slug']}/soul", {"content": "é" * 131072 + "a"},
                    "content")
    assert [v["version"] for v in versions(fleet, bot)] == [1, 2, 3]
    assert fleet.read_bot_file(bot["slug"], "SOUL.md") == "é" * 131072


def test_message_limit_in_characters(fleet):
    bot = fleet.create_bot("Messenger")
    s = put_soul(fleet, bot, "x", "ü" * 500)
    assert s["message"] == "ü" * 500
    fleet.bad_value("PUT", f"bots/{bot['slug']}/soul", {"content": "x", "message": "ü" * 501},
                    "message")


@pytest.mark.parametrize("body,field", [
    ({}, "content"),
    ({"content": None}, "content"),
    ({"content": 5}, "content"),
    ({"content": ["a"]}, "content"),
    ({"content": "x", "message": 7}, "message"),
    ({"content": "x", "message": {"a": 1}}, "message"),
])
def test_put_validation(fleet, body, field):
    bot = fleet.create_bot("Invalid Soul")
    fleet.bad_value("PUT", f"bots/{bot['slug']}/soul", body, field)
    assert len(versions(fleet, bot)) == 1


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'"x"'])
def test_put_bad_json(fleet, body):
    bot = fleet.create_bot("Bad Json Soul")
    fleet.bad_json("PUT", f"bots/{bot['slug']}/soul", body)


def test_versions_and_single_version(fleet):
    bot = fleet.create_bot("Versioned")
    put_soul(fleet, bot, "two", "second")
    put_soul(fleet, bot, "three")
    v = versions(fleet, bot)
    assert [x["version"] for x in v] == [1, 2, 3]
    assert [x["content"] for x in v] == [default_soul("Versioned"), "two", "three"]
    assert [x["message"] for x in v] == [None, "second", None]
    assert versions(fleet, bot, bot["id"]) == v
    times = [parse_entity_ts(x["created_at"]) for x in v]
    assert times == sorted(times)
    for x in v:
        n = x["version"]
        one = fleet.ok("GET", f"bots/{bot['slug']}/soul/versions/{n}",
                       links=links(bot["id"], "self", "versions", "bot",
                                   self_path=f"{API}/bots/{bot['id']}/soul/versions/{n}"))
        check_soul(one, bot["id"])
        assert (one["version"], one["content"], one["hash"], one["message"],
                one["created_at"]) == (n, x["content"], x["hash"], x["message"],
                                       x["created_at"])


@pytest.mark.parametrize("ver", ["0", "-1", "abc", "1.5", "2x", "%20"])
def test_version_not_a_positive_integer(fleet, ver):
    bot = fleet.create_bot("Bad Version")
    fleet.fail("GET", f"bots/{bot['slug']}/soul/versions/{ver}", None, 400,
               "VALIDATION_ERROR", "Invalid version")


def test_version_not_found(fleet):
    bot = fleet.create_bot("Few Versions")
    for n in (2, 99, 4294967297):
        fleet.fail("GET", f"bots/{bot['slug']}/soul/versions/{n}", None, 404,
                   "SOUL_NOT_FOUND", "Soul not found")


def test_rollback(fleet):
    bot = fleet.create_bot("Roller")
    v1 = get_soul(fleet, bot)
    put_soul(fleet, bot, "second soul", "v2")
    r = fleet.ok("POST", f"bots/{bot['slug']}/soul/rollback", {"version": 1},
                 links=links(bot["id"], "self", "versions", "bot"))
    check_soul(r, bot["id"])
    assert (r["version"], r["content"], r["hash"], r["message"]) == \
        (3, v1["content"], v1["hash"], "Rollback to version 1")
    assert r["id"] not in (v1["id"],)
    assert fleet.read_bot_file(bot["slug"], "SOUL.md") == v1["content"]
    assert get_soul(fleet, bot) == r
    v = versions(fleet, bot)
    assert [(x["version"], x["content"]) for x in v] == \
        [(1, v1["content"]), (2, "second soul"), (3, v1["content"])]
    r2 = fleet.ok("POST", f"bots/{bot['id']}/soul/rollback", {"version": 2},
                  links=links(bot["id"], "self", "versions", "bot"))
    assert (r2["version"], r2["content"], r2["message"]) == (4, "second soul",
                                                             "Rollback to version 2")
    assert verify(fleet, bot) == {"valid": True, "expected_hash": sha256("second soul"),
                                  "actual_hash": sha256("second soul"), "version": 4}
    b = fleet.ok("GET", f"bots/{bot['id']}", links=bot_links(bot["id"], "self", "soul",
                                                             "secrets"))
    assert b["version_count"] == 4


def test_rollback_errors(fleet):
    bot = fleet.create_bot("Roll Errors")
    path = f"bots/{bot['slug']}/soul/rollback"
    fleet.fail("POST", path, {"version": 7}, 404, "SOUL_NOT_FOUND", "Soul not found")
    for body in ({"version": 0}, {"version": -3}, {}, {"version": None}):
        fleet.bad_value("POST", path, body, "version")
    for body in ({"version": "1"}, {"version": 1.5}, {"version": True}, {"version": [1]}):
        fleet.bad_field("POST", path, body, "version")
    fleet.bad_json("POST", path, b"{")
    fleet.bad_json("POST", path, b"")
    fleet.fail("POST", "bots/no-such-bot/soul/rollback", {"version": 1}, 404, "BOT_NOT_FOUND",
               "Bot not found")
    assert len(versions(fleet, bot)) == 1


def test_verify_detects_hand_edit_and_missing_file(fleet):
    bot = fleet.create_bot("Verifier")
    h1 = sha256(default_soul("Verifier"))
    assert verify(fleet, bot) == {"valid": True, "expected_hash": h1, "actual_hash": h1,
                                  "version": 1}
    edited = default_soul("Verifier") + "\nedited by hand ✍\n"
    fleet.write_bot_file(bot["slug"], "SOUL.md", edited)
    assert verify(fleet, bot) == {"valid": False, "expected_hash": h1,
                                  "actual_hash": sha256(edited), "version": 1}
    # GET /soul still answers the stored version, not the file
    assert get_soul(fleet, bot)["content"] == default_soul("Verifier")
    os.remove(os.path.join(fleet.bot_dir(bot["slug"]), "SOUL.md"))
    assert verify(fleet, bot) == {"valid": False, "expected_hash": h1, "actual_hash": "",
                                  "version": 1}
    s = put_soul(fleet, bot, "restored")
    assert verify(fleet, bot) == {"valid": True, "expected_hash": s["hash"],
                                  "actual_hash": s["hash"], "version": 2}


def test_bot_without_versions(fleet, server):
    bot = fleet.create_bot("Soulless")
    with db(server) as con:
        con.execute("DELETE FROM soul_versions WHERE bot_id=?", (bot["id"],))
        con.execute("UPDATE bots SET version_count=0 WHERE id=?", (bot["id"],))
    fleet.fail("GET", f"bots/{bot['slug']}/soul", None, 404, "SOUL_NOT_FOUND", "Soul not found")
    assert versions(fleet, bot) == []
    fleet.fail("GET", f"bots/{bot['slug']}/soul/versions/1", None, 404, "SOUL_NOT_FOUND",
               "Soul not found")
    fleet.fail("GET", f"bots/{bot['slug']}/soul/verify", None, 404, "SOUL_NOT_FOUND",
               "Soul not found")
    fleet.fail("POST", f"bots/{bot['slug']}/soul/rollback", {"version": 1}, 404,
               "SOUL_NOT_FOUND", "Soul not found")
    s = put_soul(fleet, bot, "first again")
    assert s["version"] == 1


@pytest.mark.parametrize("method,suffix,body", [
    ("GET", "soul", None),
    ("PUT", "soul", {"content": "x"}),
    ("GET", "soul/versions", None),
    ("GET", "soul/versions/1", None),
    ("POST", "soul/rollback", {"version": 1}),
    ("GET", "soul/verify", None),
])
def test_unknown_bot(fleet, method, suffix, body):
    for ident in ("no-such-bot", "0194f3a2-7c1e-7b3a-9d2f-3c4b5a697881"):
        fleet.fail(method, f"bots/{ident}/{suffix}", body, 404, "BOT_NOT_FOUND",
                   "Bot not found")


def test_content_escapes_round_trip(fleet):
    bot = fleet.create_bot("Escapes")
    text = "\"q\" \\ / \b\f\n\r\t \u0001\u001f\u007f é ✨ 🤖 \u2028\u2029 </script>"
    for ascii_only in (False, True):
        r = fleet.call("PUT", f"bots/{bot['slug']}/soul", {"content": text},
                       ascii_only=ascii_only)
        s = check_soul(fleet.check_ok(r, 200, links(bot["id"], "self", "versions", "bot")),
                       bot["id"])
        assert s["content"] == text and s["hash"] == sha256(text)
        with open(os.path.join(fleet.bot_dir(bot["slug"]), "SOUL.md"), "rb") as f:
            assert f.read() == text.encode("utf-8")
        assert verify(fleet, bot)["valid"] is True


def test_content_with_nul_is_kept_or_refused_never_cut(fleet):
    """JSON allows \\u0000 in a string; a C server must not silently cut the text there:
    either the whole content is stored (content, hash and file agree) or it is a 400."""
    bot = fleet.create_bot("Nul Soul")
    text = "before\u0000after"
    r = fleet.call("PUT", f"bots/{bot['slug']}/soul", {"content": text})
    if r.status == 200:
        s = check_soul(fleet.check_ok(r, 200, links(bot["id"], "self", "versions", "bot")))
        assert s["content"] == text and s["hash"] == sha256(text)
        with open(os.path.join(fleet.bot_dir(bot["slug"]), "SOUL.md"), "rb") as f:
            assert f.read() == text.encode()
    else:
        fleet.bad_value("PUT", f"bots/{bot['slug']}/soul", {"content": text}, "content")
        assert len(versions(fleet, bot)) == 1


def test_versions_list_larger_than_two_mib(fleet):
    """§5.2: GET /soul/versions lists every version with its content; nothing in the
    spec bounds the number of versions, so a long history of large souls is listed."""
    bot = fleet.create_bot("Heavy History")
    for i in range(9):
        put_soul(fleet, bot, chr(ord("a") + i) * 262144)
    v = versions(fleet, bot)
    assert [x["version"] for x in v] == list(range(1, 11))
    assert v[-1]["content"] == "i" * 262144


def _block_dir(fleet, slug):
    """Replace bots/<slug>/ by a plain file: every write under it fails (even as root)."""
    d = fleet.bot_dir(slug)
    saved = {n: fleet.read_bot_file(slug, n) for n in os.listdir(d)}
    shutil.rmtree(d)
    with open(d, "w") as f:
        f.write("in the way\n")
    return saved


def _unblock_dir(fleet, slug, saved):
    os.remove(fleet.bot_dir(slug))
    os.makedirs(fleet.bot_dir(slug))
    for n, text in saved.items():
        fleet.write_bot_file(slug, n, text)


def test_failed_soul_write_is_500_and_changes_nothing(fleet):
    """Issue 3: 'A failing disk write leaves the old file and row intact and answers
    500 INTERNAL_ERROR.'"""
    bot = fleet.create_bot("Disk Trouble")
    before = versions(fleet, bot)
    saved = _block_dir(fleet, bot["slug"])
    try:
        fleet.fail("PUT", f"bots/{bot['slug']}/soul", {"content": "never stored"}, 500,
                   "INTERNAL_ERROR")
        fleet.fail("POST", f"bots/{bot['slug']}/soul/rollback", {"version": 1}, 500,
                   "INTERNAL_ERROR")
        assert versions(fleet, bot) == before
        for what in ("identity", "user"):
            fleet.fail("PUT", f"bots/{bot['slug']}/{what}", {"content": "x"}, 500,
                       "INTERNAL_ERROR")
    finally:
        _unblock_dir(fleet, bot["slug"], saved)
    assert get_soul(fleet, bot)["version"] == 1
    b = fleet.ok("GET", f"bots/{bot['id']}", links=bot_links(bot["id"], "self", "soul",
                                                             "secrets"))
    assert b["version_count"] == 1
    assert verify(fleet, bot)["valid"] is True
    assert fleet.read_bot_file(bot["slug"], "SOUL.md") == before[0]["content"]
