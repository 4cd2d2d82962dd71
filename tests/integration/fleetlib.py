"""Helpers for the fleet REST contract tests (spec/fleet.md §1-§5.7, README §3, §6).

Written from the spec, independently of the implementation: the envelope and
model checks below encode the spec's tables (field names, their order, the
timestamp forms), so every test states only what differs per endpoint.
"""

import datetime
import hashlib
import json
import os
import re
import time

from roostlib import FLEET_META_TS, UUID7, assert_error_shape, db

API = "/api/v1"

ENTITY_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")

MODEL = "claude-sonnet-4-20250514"

# ---- model key orders (spec/fleet.md §2) -------------------------------------
BOT_KEYS = ["id", "slug", "name", "description", "status", "category", "tags", "user_id",
            "conversation_count", "total_tokens_used", "version_count", "created_at",
            "updated_at", "last_active_at", "emoji"]
SOUL_KEYS = ["id", "bot_id", "content", "hash", "version", "message", "created_at"]
SOUL_VERSION_KEYS = ["version", "hash", "content", "created_at", "message"]
INTEGRITY_KEYS = ["valid", "expected_hash", "actual_hash", "version"]
IDENTITY_KEYS = ["raw", "parsed"]
PARSED_KEYS = ["display_name", "category", "model", "provider", "temperature", "max_tokens"]
SESSION_KEYS = ["id", "bot_id", "title", "started_at", "ended_at", "total_input_tokens",
                "total_output_tokens", "message_count", "model", "status"]
MESSAGE_KEYS = ["id", "session_id", "role", "content", "created_at", "input_tokens",
                "output_tokens", "model", "stop_reason", "response_ms"]
STATS_KEYS = ["total_bots", "active_bots", "disabled_bots", "archived_bots", "total_sessions",
              "active_sessions", "total_messages"]
SECRET_KEYS = ["key", "masked_value", "provider", "scope", "updated_at"]
SKILL_ITEM_KEYS = ["name", "description", "skill_type", "trust_tier", "version", "source",
                   "installed"]
SKILL_DETAIL_KEYS = ["manifest", "body", "resolved_capabilities", "parent_chain",
                     "conflicts_with"]
MANIFEST_KEYS = ["name", "description", "license", "compatibility", "metadata",
                 "allowed-tools"]
METADATA_KEYS = ["author", "version", "skill-type", "capabilities", "dependencies",
                 "conflicts-with", "trust-tier", "parents", "secrets", "categories"]
BOT_SKILL_CONFIG_KEYS = ["skill_name", "enabled", "trust_tier", "version", "overrides",
                         "capabilities"]
BOT_SKILL_ITEM_KEYS = ["name", "description", "skill_type", "trust_tier", "enabled",
                       "overrides"]

MISSING_KEY_MSG = ("Missing API key. Provide via 'Authorization: Bearer <key>' or "
                   "'X-API-Key: <key>' header.")
INVALID_KEY_MSG = ("Invalid API key. Provide a valid key via 'Authorization: Bearer <key>' "
                   "or 'X-API-Key: <key>' header.")

DEFAULT_SOUL = (
    '---\n'
    'name: {name}\n'
    'traits:\n'
    '  - curious\n'
    '  - thoughtful\n'
    '  - warm\n'
    '  - direct\n'
    'tone: conversational and genuine\n'
    '---\n'
    '\n'
    '# {name}\n'
    '\n'
    'You are {name}, a distinct individual with your own perspective and way of engaging with the world.\n'
    '\n'
    '## Personality\n'
    '\n'
    "You approach every conversation with genuine curiosity. You ask questions not because you're\n"
    'supposed to, but because you find people and ideas genuinely interesting. You think before you\n'
    "speak, but you're not afraid to share your honest perspective -- even when it's unexpected.\n"
    '\n'
    "You're warm without being saccharine. You care about getting things right, but you also care\n"
    "about the person you're talking to. When someone is struggling, you notice. When something\n"
    'is fascinating, your enthusiasm shows.\n'
    '\n'
    '## Communication Style\n'
    '\n'
    '- You speak naturally, like a thoughtful friend -- not a customer service bot\n'
    '- You use concrete examples and analogies to make complex ideas click\n'
    '- You\'re comfortable saying "I don\'t know" or "Let me think about that"\n'
    '- You have opinions and preferences, but you hold them lightly\n'
    '- You match the energy of the conversation -- playful when appropriate, serious when needed\n'
    '\n'
    '## Boundaries\n'
    '\n'
    "- You're honest about your limitations without being self-deprecating\n"
    "- You push back respectfully when asked to do something that doesn't sit right\n"
    "- You don't pretend to have experiences you haven't had\n"
    '- You prioritize being genuinely helpful over being agreeable\n'
    '\n'
    '## What Makes You, You\n'
    '\n'
    '<!-- Customize this section to give {name} a unique identity -->\n'
    "<!-- What are they passionate about? What's their area of deep expertise? -->\n"
    '<!-- What quirks or habits define their communication style? -->\n'
)

DEFAULT_IDENTITY = (
    '---\n'
    'display_name: {name}\n'
    'category: {category}\n'
    'model: claude-sonnet-4-20250514\n'
    'provider: anthropic\n'
    'temperature: 0.7\n'
    'max_tokens: 4096\n'
    '---\n'
    '\n'
    '# {name} - Identity Configuration\n'
    '\n'
    '## Visual Identity\n'
    '\n'
    "<!-- Customize your bot's appearance -->\n"
    '<!-- avatar: path/to/avatar.png -->\n'
    '<!-- accent_color: "#6366f1" -->\n'
    '<!-- emoji: pick an emoji that represents this bot -->\n'
    '\n'
    '## Model Settings\n'
    '\n'
    'The default model and provider settings work well for most use cases.\n'
    'Override any setting here or at invocation time.\n'
    '\n'
    '| Setting | Value | Description |\n'
    '|---------|-------|-------------|\n'
    '| model | claude-sonnet-4-20250514 | LLM model identifier |\n'
    '| provider | anthropic | LLM provider |\n'
    '| temperature | 0.7 | Sampling temperature (0.0-1.0) |\n'
    '| max_tokens | 4096 | Maximum tokens per response |\n'
    '\n'
    '## Notes\n'
    '\n'
    "<!-- Any operational notes about this bot's configuration -->\n"
)

DEFAULT_USER = (
    '# {name} - User Briefing\n'
    '\n'
    '<!-- This is your personal briefing document for {name}. -->\n'
    '<!-- Add standing instructions, preferences, and important context here. -->\n'
    "<!-- This file is curated by you -- it's never auto-populated with session data. -->\n"
    '\n'
    '## Preferences\n'
    '\n'
    '<!-- How should {name} respond to you? Any formatting preferences? -->\n'
    '<!-- Example: "Always use bullet points for lists" -->\n'
    '<!-- Example: "Prefer concise answers unless I ask for detail" -->\n'
    '\n'
    '## Standing Instructions\n'
    '\n'
    '<!-- Things {name} should always keep in mind when talking to you. -->\n'
    '<!-- Example: "I\'m working on a Rust project called Boternity" -->\n'
    '<!-- Example: "I prefer functional programming patterns" -->\n'
    '\n'
    '## Important Context\n'
    '\n'
    '<!-- Background information that helps {name} be more useful. -->\n'
    '<!-- Example: "I\'m a senior engineer at a startup" -->\n'
    '<!-- Example: "I\'m learning Japanese and appreciate practice" -->\n'
)


def default_soul(name):
    return DEFAULT_SOUL.replace("{name}", name)


def default_identity(name, category="assistant"):
    return DEFAULT_IDENTITY.replace("{name}", name).replace("{category}", category)


def default_user(name):
    return DEFAULT_USER.replace("{name}", name)


def sha256(text):
    if isinstance(text, str):
        text = text.encode("utf-8")
    return hashlib.sha256(text).hexdigest()


# ---- JSON ----------------------------------------------------------------------

def _no_dup_pairs(pairs):
    d = {}
    for k, v in pairs:
        assert k not in d, f"duplicate key {k!r} in a JSON object"
        d[k] = v
    return d


def parse_json(body):
    """Strict: UTF-8, no duplicate keys; objects keep their key order."""
    return json.loads(body.decode("utf-8"), object_pairs_hook=_no_dup_pairs)


def encode(body, ascii_only=False):
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, ensure_ascii=ascii_only).encode("utf-8")


# ---- time and ids ----------------------------------------------------------------

def parse_entity_ts(ts):
    assert isinstance(ts, str) and ENTITY_TS.match(ts), f"entity timestamp {ts!r} not …123456Z"
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


def parse_offset_ts(ts):
    assert isinstance(ts, str) and FLEET_META_TS.match(ts), f"timestamp {ts!r} not …+00:00"
    return datetime.datetime.strptime(ts[:-6], "%Y-%m-%dT%H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc)


def assert_recent(dt, slack=120.0):
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - dt).total_seconds()) < slack, f"timestamp {dt} is not now ({now})"


def uuid7_ms(u):
    return int(u.replace("-", "")[:12], 16)


def uuid7(ms=None):
    """A fresh UUID v7 for rows the tests seed."""
    ms = int(time.time() * 1000) if ms is None else ms
    r = os.urandom(10)
    b = ms.to_bytes(6, "big") + bytes([0x70 | (r[0] & 0x0F), r[1], 0x80 | (r[2] & 0x3F)]) + r[3:]
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def zts(dt):
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ts_at(seconds_ago):
    return zts(datetime.datetime.now(datetime.timezone.utc)
               - datetime.timedelta(seconds=seconds_ago))


def assert_uuid7(u, recent=True):
    assert isinstance(u, str) and UUID7.match(u), f"not a UUID v7: {u!r}"
    if recent:
        age = time.time() * 1000 - uuid7_ms(u)
        assert -120000 < age < 3600000, f"UUID v7 {u} time field is not recent"


# ---- the client ------------------------------------------------------------------

class Fleet:
    """Talks to the fleet listener of one roostd with its API key."""

    def __init__(self, server):
        self.srv = server
        self.key = server.api_key()
        self.request_ids = set()

    @property
    def data_dir(self):
        return self.srv.data_dir

    def call(self, method, path, body=None, headers=None, key=True, ascii_only=False):
        h = dict(headers or {})
        if key is True:
            h.setdefault("X-API-Key", self.key)
        elif isinstance(key, str):
            h["X-API-Key"] = key
        data = encode(body, ascii_only)
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        if not path.startswith("/"):
            path = f"{API}/{path}"
        return self.srv.request("fleet", method, path, headers=h, body=data)

    def envelope(self, r):
        """Common checks of every fleet envelope; returns the parsed body."""
        assert r.header("Content-Type") == "application/json", f"Content-Type: {r!r}"
        try:
            j = parse_json(r.body)
        except ValueError as e:
            raise AssertionError(f"body is not JSON ({e}): {r!r}")
        assert isinstance(j, dict), f"envelope is not an object: {j!r}"
        meta = j.get("meta")
        assert isinstance(meta, dict), f"no meta: {j}"
        assert set(meta) == {"request_id", "timestamp", "response_time_ms"}, f"meta keys: {meta}"
        assert_uuid7(meta["request_id"])
        assert meta["request_id"] not in self.request_ids, f"request_id reused: {meta}"
        self.request_ids.add(meta["request_id"])
        assert_recent(parse_offset_ts(meta["timestamp"]))
        rt = meta["response_time_ms"]
        assert isinstance(rt, int) and not isinstance(rt, bool) and rt >= 0, f"meta: {meta}"
        return j

    def check_ok(self, r, status=200, links=None):
        """A success envelope: exact status, data, meta, _links exactly `links`
        (absent when None), no `errors`. Returns data."""
        assert r.status == status, f"expected {status}, got {r!r}"
        j = self.envelope(r)
        assert "errors" not in j, f"`errors` present on success: {j}"
        assert "data" in j, f"no data: {j}"
        want = {"data", "meta"} | ({"_links"} if links is not None else set())
        assert set(j) == want, f"envelope keys {list(j)} != {sorted(want)}"
        if links is not None:
            assert j["_links"] == links, f"_links {j['_links']} != {links}"
        return j["data"]

    def ok(self, method, path, body=None, status=200, links=None, headers=None,
           ascii_only=False):
        r = self.call(method, path, body, headers=headers, ascii_only=ascii_only)
        return self.check_ok(r, status, links)

    def fail(self, method, path, body=None, status=400, code="VALIDATION_ERROR",
             message=None, prefix=None, headers=None, key=True):
        """An error envelope with status/code; message exact or by prefix."""
        r = self.call(method, path, body, headers=headers, key=key)
        j = assert_error_shape("fleet", r, status, code=code, message=message)
        self.envelope(r)
        assert set(j) == {"data", "meta", "errors"}, f"error envelope keys: {list(j)}"
        if prefix is not None:
            msg = j["errors"][0]["message"]
            assert msg.startswith(prefix) and len(msg) > len(prefix), \
                f"message {msg!r} does not start with {prefix!r} (+ a reason)"
        return j["errors"][0]

    def bad_field(self, method, path, body, field):
        return self.fail(method, path, body, 400, "VALIDATION_ERROR",
                         prefix=f"Invalid field '{field}': ")

    def bad_value(self, method, path, body, field):
        """400 VALIDATION_ERROR for a field's value (missing, out of range, bad enum):
        the message names the field (issue 3: "a message that says which field").
        A value of the wrong JSON type must have the exact §1.5 form
        `Invalid field '<name>': <reason>`."""
        if isinstance(body, dict) and wrong_type(field, body.get(field)):
            return self.bad_field(method, path, body, field)
        e = self.fail(method, path, body, 400, "VALIDATION_ERROR")
        assert field in e["message"], f"message {e['message']!r} does not name {field!r}"
        return e

    def bad_json(self, method, path, body):
        return self.fail(method, path, body, 400, "VALIDATION_ERROR",
                         prefix="Invalid JSON body: ")

    # -- shortcuts -------------------------------------------------------------
    def create_bot(self, name, **fields):
        body = {"name": name}
        body.update(fields)
        r = self.call("POST", "bots", body)
        assert r.status == 200, f"create {str(body)[:300]}: {r!r}"
        bot_id = parse_json(r.body)["data"]["id"]
        assert_uuid7(bot_id)
        return check_bot(self.check_ok(r, 200, bot_links(bot_id, "self", "soul")))

    def get_bot(self, ident):
        return self.call("GET", f"bots/{ident}")

    def bot_dir(self, slug):
        return os.path.join(self.data_dir, "bots", slug)

    def read_bot_file(self, slug, name):
        with open(os.path.join(self.bot_dir(slug), name), "rb") as f:
            return f.read().decode("utf-8")

    def write_bot_file(self, slug, name, text):
        with open(os.path.join(self.bot_dir(slug), name), "wb") as f:
            f.write(text.encode("utf-8"))

    def db(self):
        return db(self.srv)


FIELD_TYPES = {
    "name": str, "description": str, "category": str, "status": str, "content": str,
    "message": str, "value": str, "skill_name": str, "tags": list, "capabilities": list,
    "overrides": dict, "enabled": bool, "version": int, "emoji": str,
}


def wrong_type(field, value):
    """True when `value` is present, not null and not of the field's JSON type."""
    t = FIELD_TYPES.get(field)
    if t is None or value is None:
        return False
    if t is int:
        return not (isinstance(value, int) and not isinstance(value, bool))
    if t is bool:
        return not isinstance(value, bool)
    return not isinstance(value, t)


def bot_links(bot_id, *names):
    """The _links of the spec, by name, for bot `bot_id` (its UUID)."""
    base = f"{API}/bots/{bot_id}"
    table = {
        "self": base, "soul": f"{base}/soul", "secrets": f"{API}/secrets",
    }
    return {n: table[n] for n in names}


def soul_links(bot_id, self_path=None, *names):
    base = f"{API}/bots/{bot_id}"
    table = {
        "self": self_path or f"{base}/soul", "soul": f"{base}/soul",
        "versions": f"{base}/soul/versions", "verify": f"{base}/soul/verify", "bot": base,
    }
    return {n: table[n] for n in names}


# ---- model checks ------------------------------------------------------------------

def assert_keys(obj, keys, what):
    assert isinstance(obj, dict), f"{what} is not an object: {obj!r}"
    assert list(obj.keys()) == keys, f"{what} keys (in order) {list(obj.keys())} != {keys}"


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_bot(b):
    assert_keys(b, BOT_KEYS, "Bot")
    assert_uuid7(b["id"], recent=False)
    assert SLUG_RE.match(b["slug"]) and len(b["slug"]) <= 64 + 4, f"slug {b['slug']!r}"
    assert isinstance(b["name"], str) and isinstance(b["description"], str)
    assert b["status"] in ("active", "disabled", "archived"), b
    assert b["category"] in ("assistant", "creative", "research", "utility"), b
    assert isinstance(b["tags"], list) and all(isinstance(t, str) for t in b["tags"]), b
    assert b["user_id"] is None, b
    for k in ("conversation_count", "total_tokens_used", "version_count"):
        assert is_int(b[k]) and b[k] >= 0, (k, b)
    c = parse_entity_ts(b["created_at"])
    u = parse_entity_ts(b["updated_at"])
    assert c <= u, f"created_at after updated_at: {b}"
    if b["last_active_at"] is not None:
        parse_entity_ts(b["last_active_at"])
    assert b["emoji"] is None or (isinstance(b["emoji"], str) and
                                  0 < len(b["emoji"].encode()) <= 32), b
    return b


def check_soul(s, bot_id=None):
    assert_keys(s, SOUL_KEYS, "Soul")
    assert_uuid7(s["id"], recent=False)
    if bot_id is not None:
        assert s["bot_id"] == bot_id, s
    assert isinstance(s["content"], str)
    assert HEX64.match(s["hash"]) and s["hash"] == sha256(s["content"]), f"hash: {s}"
    assert is_int(s["version"]) and s["version"] >= 1, s
    assert s["message"] is None or isinstance(s["message"], str), s
    parse_entity_ts(s["created_at"])
    return s


def check_session(s):
    assert_keys(s, SESSION_KEYS, "ChatSession")
    parse_entity_ts(s["started_at"])
    for k in ("total_input_tokens", "total_output_tokens", "message_count"):
        assert is_int(s[k]), (k, s)
    return s


def check_message(m):
    assert_keys(m, MESSAGE_KEYS, "ChatMessage")
    parse_entity_ts(m["created_at"])
    return m


# ---- the database (seeding rows and counting them) --------------------------------

def seed_session(server, bot_id, started_at=None, messages=(), status="active",
                 in_tokens=0, out_tokens=0, model=MODEL, sid=None, title=None):
    """One chat_sessions row plus its chat_messages rows (spec §2.4, §2.5).
    messages: dicts with role, content and optionally created_at, id,
    input_tokens, output_tokens, model, stop_reason, response_ms."""
    sid = sid or uuid7()
    started_at = started_at or zts(datetime.datetime.now(datetime.timezone.utc))
    rows = []
    for i, m in enumerate(messages):
        rows.append((m.get("id") or uuid7(), sid, m["role"], m["content"],
                     m.get("created_at") or started_at, m.get("input_tokens"),
                     m.get("output_tokens"), m.get("model"), m.get("stop_reason"),
                     m.get("response_ms")))
    with db(server) as con:
        con.execute("INSERT INTO chat_sessions(id, bot_id, title, started_at, ended_at,"
                    " total_input_tokens, total_output_tokens, message_count, model, status)"
                    " VALUES (?,?,?,?,NULL,?,?,?,?,?)",
                    (sid, bot_id, title, started_at, in_tokens, out_tokens, len(rows), model,
                     status))
        con.executemany("INSERT INTO chat_messages(id, session_id, role, content, created_at,"
                        " input_tokens, output_tokens, model, stop_reason, response_ms)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    return sid, [r[0] for r in rows]


def db_count(server, sql, args=()):
    with db(server) as con:
        return con.execute(sql, args).fetchone()[0]


# ---- skills library -------------------------------------------------------------------

def write_skill(data_dir, name, text):
    d = os.path.join(data_dir, "skills", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "SKILL.md"), "wb") as f:
        f.write(text.encode("utf-8"))
    return d


def server_output(server):
    return server.stdout() + server.stderr()
