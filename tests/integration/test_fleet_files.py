"""Fleet IDENTITY.md and USER.md (spec/fleet.md §2.3, §3, §5.3): the frontmatter parser,
defaults, missing files, writes that replace the file, limits."""

import json
import os
import shutil

import pytest

from fleetlib import (API, IDENTITY_KEYS, MODEL, PARSED_KEYS, Fleet, assert_keys,
                      default_identity, default_user)

# What this file needs built into roostd (conftest.py deselects it, and
# lists it, for a profile without them).
NEEDS = {"fleet"}


@pytest.fixture(scope="module")
def fleet(server):
    return Fleet(server)


@pytest.fixture(scope="module")
def bot(fleet):
    return fleet.create_bot("Luna")


def links(bot, what):
    return {"self": f"{API}/bots/{bot['id']}/{what}", "bot": f"{API}/bots/{bot['id']}"}


def check_identity(d):
    assert_keys(d, IDENTITY_KEYS, "Identity")
    if d["parsed"] is not None:
        p = d["parsed"]
        assert_keys(p, PARSED_KEYS, "Identity.parsed")
        assert isinstance(p["temperature"], (int, float)) and \
            not isinstance(p["temperature"], bool), p
        assert isinstance(p["max_tokens"], int) and not isinstance(p["max_tokens"], bool), p
    return d


def get_identity(fleet, bot, ident=None):
    return check_identity(fleet.ok("GET", f"bots/{ident or bot['slug']}/identity",
                                   links=links(bot, "identity")))


def put_identity(fleet, bot, content):
    d = check_identity(fleet.ok("PUT", f"bots/{bot['slug']}/identity", {"content": content},
                                links=links(bot, "identity")))
    assert d["raw"] == content
    assert fleet.read_bot_file(bot["slug"], "IDENTITY.md") == content
    assert get_identity(fleet, bot) == d
    return d


def parsed(name, category="assistant", model=MODEL, provider="anthropic", temperature=0.7,
           max_tokens=4096):
    return {"display_name": name, "category": category, "model": model, "provider": provider,
            "temperature": temperature, "max_tokens": max_tokens}


def test_default_identity(fleet, bot):
    d = get_identity(fleet, bot)
    assert d["raw"] == default_identity("Luna")
    assert d["parsed"] == parsed("Luna")
    assert get_identity(fleet, bot, bot["id"]) == d


def test_spec_example(fleet, bot):
    raw = ("---\ndisplay_name: Luna\ncategory: assistant\nmodel: claude-sonnet-4-20250514\n"
           "provider: anthropic\ntemperature: 0.7\nmax_tokens: 4096\n---\n\n"
           "# Luna - Identity Configuration\n")
    assert put_identity(fleet, bot, raw) == {"raw": raw, "parsed": parsed("Luna")}


IDENTITY_CASES = [
    # (content, expected parsed)
    ("# No frontmatter\ndisplay_name: X\n", None),
    ("", None),
    ("---\ndisplay_name: Open\nmodel: m\n", None),                        # no closing
    ("---\ncategory: creative\nmodel: m\n---\nbody\n", None),             # no display_name
    ("---\ndisplay_name: Only\n---\n", parsed("Only")),
    ("  \n\t\n---\ndisplay_name: Indented\n---\n", parsed("Indented")),  # leading whitespace
    ("x\n---\ndisplay_name: Late\n---\n", None),                          # must start with ---
    ("---\ndisplay_name: Full\ncategory: research\nmodel: gpt-4o\nprovider: openai\n"
     "temperature: 1.25\nmax_tokens: 8192\n---\n",
     parsed("Full", "research", "gpt-4o", "openai", 1.25, 8192)),
    ("---\ndisplay_name: Hot\ntemperature: hot\nmax_tokens: lots\n---\n", parsed("Hot")),
    ("---\ndisplay_name: Frac\nmax_tokens: 12.5\ntemperature: 0.25\n---\n",
     parsed("Frac", temperature=0.25)),
    ("---\ndisplay_name: Zero\ntemperature: 0\nmax_tokens: 1\n---\n",
     parsed("Zero", temperature=0, max_tokens=1)),
    ("---\n   display_name:    Spaced Out   \n  model:  m-1  \n---\n",
     parsed("Spaced Out", model="m-1")),
    ('---\ndisplay_name: "Quoted"\ncategory: \'odd\'\n---\n',              # no quote processing
     parsed('"Quoted"', category="'odd'")),
    ("---\ndisplay_name: Ünïcode ✨\nfoo: bar\n# comment\n---\n", parsed("Ünïcode ✨")),
    ("---\ndisplay_name: Early\n----extra\nmodel: later\n---\n", parsed("Early")),
    ("---\ndisplay_name: Body\n---\nmodel: in-body\ntemperature: 2\n", parsed("Body")),
    ("---\r\ndisplay_name: CRLF\r\n---\r\n", parsed("CRLF")),
]


@pytest.mark.parametrize("content,want", IDENTITY_CASES,
                         ids=[f"case{i}" for i in range(len(IDENTITY_CASES))])
def test_identity_parser(fleet, bot, content, want):
    d = put_identity(fleet, bot, content)
    assert d["parsed"] == want, f"{content!r}: {d['parsed']}"


def test_identity_missing_file(fleet):
    b = fleet.create_bot("No Identity")
    os.remove(os.path.join(fleet.bot_dir(b["slug"]), "IDENTITY.md"))
    assert get_identity(fleet, b) == {"raw": "", "parsed": None}


def test_put_recreates_directory(fleet):
    b = fleet.create_bot("Homeless")
    shutil.rmtree(fleet.bot_dir(b["slug"]))
    d = put_identity(fleet, b, "---\ndisplay_name: Back\n---\n")
    assert d["parsed"] == parsed("Back")
    shutil.rmtree(fleet.bot_dir(b["slug"]))
    u = fleet.ok("PUT", f"bots/{b['slug']}/user", {"content": "hello"}, links=links(b, "user"))
    assert u == {"content": "hello"}
    assert fleet.read_bot_file(b["slug"], "USER.md") == "hello"


def test_identity_limits(fleet, bot):
    path = f"bots/{bot['slug']}/identity"
    put_identity(fleet, bot, "i" * 262144)
    put_identity(fleet, bot, "é" * 131072)
    fleet.bad_value("PUT", path, {"content": "i" * 262145}, "content")
    fleet.bad_value("PUT", path, {"content": "é" * 131072 + "!"}, "content")
    assert fleet.read_bot_file(bot["slug"], "IDENTITY.md") == "é" * 131072


@pytest.mark.parametrize("what", ["identity", "user"])
def test_put_validation(fleet, bot, what):
    path = f"bots/{bot['slug']}/{what}"
    before = fleet.read_bot_file(bot["slug"], what.upper() + ".md")
    for body in ({}, {"content": None}, {"content": 1}, {"content": ["x"]}, {"content": True}):
        fleet.bad_value("PUT", path, body, "content")
    for raw in (b"", b"{", b"[]", b"3"):
        fleet.bad_json("PUT", path, raw)
    assert fleet.read_bot_file(bot["slug"], what.upper() + ".md") == before


# ---- USER.md ------------------------------------------------------------------------

def test_user_default_put_get(fleet):
    b = fleet.create_bot("Briefed")
    u = fleet.ok("GET", f"bots/{b['slug']}/user", links=links(b, "user"))
    assert list(u.items()) == [("content", default_user("Briefed"))]
    text = "# Briefing ✨\n\nBe concise.\n"
    w = fleet.ok("PUT", f"bots/{b['id']}/user", {"content": text}, links=links(b, "user"))
    assert w == {"content": text}
    assert fleet.read_bot_file(b["slug"], "USER.md") == text
    assert fleet.ok("GET", f"bots/{b['id']}/user", links=links(b, "user")) == {"content": text}
    w = fleet.ok("PUT", f"bots/{b['slug']}/user", {"content": ""}, links=links(b, "user"))
    assert w == {"content": ""}
    assert fleet.read_bot_file(b["slug"], "USER.md") == ""


def test_user_missing_file(fleet):
    b = fleet.create_bot("No User File")
    os.remove(os.path.join(fleet.bot_dir(b["slug"]), "USER.md"))
    assert fleet.ok("GET", f"bots/{b['slug']}/user", links=links(b, "user")) == {"content": ""}


def test_user_limits(fleet):
    b = fleet.create_bot("Big User")
    path = f"bots/{b['slug']}/user"
    assert fleet.ok("PUT", path, {"content": "u" * 262144},
                    links=links(b, "user")) == {"content": "u" * 262144}
    fleet.bad_value("PUT", path, {"content": "u" * 262145}, "content")
    fleet.bad_value("PUT", path, {"content": "€" * 87382}, "content")   # 262146 bytes
    assert fleet.read_bot_file(b["slug"], "USER.md") == "u" * 262144


def test_files_do_not_touch_soul(fleet):
    b = fleet.create_bot("Separate")
    soul = fleet.read_bot_file(b["slug"], "SOUL.md")
    put_identity(fleet, b, "---\ndisplay_name: Other\n---\n")
    fleet.ok("PUT", f"bots/{b['slug']}/user", {"content": "u"}, links=links(b, "user"))
    assert fleet.read_bot_file(b["slug"], "SOUL.md") == soul
    v = fleet.ok("GET", f"bots/{b['slug']}/soul/verify",
                 links={"soul": f"{API}/bots/{b['id']}/soul", "bot": f"{API}/bots/{b['id']}"})
    assert v["valid"] is True and v["version"] == 1


@pytest.mark.parametrize("method,what,body", [
    ("GET", "identity", None), ("PUT", "identity", {"content": "x"}),
    ("GET", "user", None), ("PUT", "user", {"content": "x"}),
])
def test_unknown_bot(fleet, method, what, body):
    for ident in ("no-such-bot", "0194f3a2-7c1e-7b3a-9d2f-3c4b5a697881"):
        fleet.fail(method, f"bots/{ident}/{what}", body, 404, "BOT_NOT_FOUND", "Bot not found")
    assert not os.path.exists(fleet.bot_dir("no-such-bot"))


def test_escape_heavy_identity(fleet):
    """262144 bytes, mostly control characters (6 bytes each once JSON-escaped), in a
    request body that stays under max_json_body_bytes (1048576)."""
    b = fleet.create_bot("Escape Heavy")
    text = "\u0001" * 150000 + "a" * (262144 - 150000)
    assert len(json.dumps({"content": text})) < 1048576
    d = put_identity(fleet, b, text)
    assert d["parsed"] is None
    u = fleet.ok("PUT", f"bots/{b['slug']}/user", {"content": text}, links=links(b, "user"))
    assert u == {"content": text}
    assert fleet.ok("GET", f"bots/{b['slug']}/user", links=links(b, "user")) == u
