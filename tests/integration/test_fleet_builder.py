"""fleet's builder ("Forge"): the REST endpoints under /api/v1/builder
(spec/fleet.md §5.8), the LLM contract of turns and skill generation (§2.9,
§10.1-§10.3, README Decision 11) and the WebSocket /ws/builder/{session_id}
(§10.4), against the fake LLM provider (fakellm.py).

Every builder LLM call is non-streaming ("stream": false in the request; the
fake answers with one JSON body). A turn is scripted as
``fakellm.text(json.dumps(turn))``; the helpers ``ask``, ``preview``,
``ready`` and ``clarify`` build turns in the §2.9 member order, which is the
order roost sends them in, so a turn comes back equal, key order included.

Decisions of this implementation where the spec is silent, tested as stated:

- A second turn request for a session while one of its turns runs: REST 503
  SERVICE_UNAVAILABLE, Retry-After: 1, "A builder turn is already running for
  session <sid>"; WebSocket error "Builder error: a turn is already running
  for this session". The provider gets one call.
- Builder turns at once are limited by CFG_BUILDER_TURNS slots (16 in the
  default profile); beyond: REST 503 SERVICE_UNAVAILABLE with Retry-After: 1,
  WebSocket error "Builder error: no builder slot free, try again".
- "Selected option {i}: {label}" uses the OptionIndex as sent (0-based) and
  that option's label in the last ask_question turn; an index out of range is
  400 VALIDATION_ERROR.
- Closing the WebSocket mid-turn: the turn completes and is saved; a new
  connection's "resume" re-sends the draft's saved last turn without a new
  LLM call.
- Drafts survive kill -9 and restart.

Readings of the spec (and of src/fam/fleet/bturn.h, the contract of the
builder's texts) where it is not explicit:

- Every {sid} route answers a non-UUID id with 400 VALIDATION_ERROR "Invalid
  session_id format" (the message the spec gives for answer).
- A failed turn (the LLM failed, or its reply did not parse twice) leaves the
  draft as it was: the client may send the same answer again.
- Back drops one phase's recorded answers; the test answers once in each of
  two phases so that either phase's count gives the same question_count.
- mode is case-sensitive ("Skill" means bot); FreeText is 1-4000 characters;
  a wasm skill reply without source_code is invalid (retried); config errors
  name the field as 'config.<path>'.

Not tested here: the 30 s {"type":"pong"} heartbeat period (covered
elsewhere), resume of a draft without a saved turn (no draft reachable from
outside has none), SLUG_CONFLICT on assemble (100 taken slugs).
"""

import json
import os
import re
import time
import uuid

import pytest

import fakellm
import roostlib
from fakellm import FakeLLM
from fleetlib import (API, BOT_SKILL_CONFIG_KEYS, BOT_SKILL_ITEM_KEYS, MANIFEST_KEYS,
                      MISSING_KEY_MSG, Fleet, assert_keys, assert_recent, assert_uuid7,
                      default_identity, parse_json, parse_offset_ts, write_skill)
from roostlib import SLOW, Raw, assert_error_shape, wait_for
from test_chat import Bus, check_plain, identity_md, make_bot, provider_args, run_turn
from wslib import OP_TEXT, WS, UpgradeRefused, build_frame, new_key, upgrade, upgrade_request

# What this file needs built into roostd (conftest.py deselects it, and
# lists it, for a profile without them).
NEEDS = {"fleet", "llm"}

FAM = "fleet"
B = f"{API}/builder"
TURN_TIMEOUT = 10.0 * SLOW              # one builder request, LLM call included
# Builder turns at once (config.h CFG_BUILDER_TURNS; 16 in the default profile).
SLOTS = roostlib.limits().get("CFG_BUILDER_TURNS", 16)

PHASES = ("basics", "personality", "model", "skills", "review")
LABELS = {"basics": "Setting up basics...", "personality": "Defining personality...",
          "model": "Choosing model...", "skills": "Selecting skills...",
          "review": "Final review..."}
RESPOND = "Respond with exactly one JSON object matching this schema and nothing else:"
RETRY_RE = re.compile(r"^Your previous reply was not valid BuilderTurn JSON \((.+)\)\. "
                      r"Reply again with only the JSON object\.$", re.S)
BACK_MSG = "The user went back. Ask the appropriate question for this phase again."
CANNOT_BACK = "Builder state: cannot go back from the first phase"
RUNNING_WS = "Builder error: a turn is already running for this session"
NO_SLOT_WS = "Builder error: no builder slot free, try again"

DESC = "A bot that tracks ML papers"
START_KEYS = ["session_id", "mode", "turn"]
ANSWER_KEYS = ["turn", "state_summary"]
SUMMARY_KEYS = ["phase", "question_count"]
SESSION_KEYS = ["session_id", "phase", "initial_description", "question_count"]
DRAFT_KEYS = ["session_id", "initial_description", "phase", "updated_at"]
ASSEMBLE_KEYS = ["bot_id", "bot_slug", "bot_name", "soul_path", "identity_path", "user_path",
                 "skills_attached"]
WS_ASSEMBLED_KEYS = ["bot_id", "bot_slug", "bot_name", "skills_attached"]
SKILL_KEYS = ["name", "description", "skill_md_content", "has_source_code",
              "suggested_capabilities"]
WS_SKILL_KEYS = ["name", "description", "has_source_code", "suggested_capabilities"]

BAD_SIDS = ["not-a-uuid", "0194f3d0-aaaa-7bbb-8ccc-ddddddddddd",
            "0194f3d0-aaaa-7bbb-8ccc-dddddddddddz", "0194f3d0aaaa7bbb8cccdddddddddddd0",
            "0194f3d0-aaaa-7bbb-8ccc-dddddddddddd-0"]


# ---------------------------------------------------------------------------
# Turns (§2.9), in the member order roost sends
# ---------------------------------------------------------------------------

OPTIONS = [
    {"id": "1", "label": "Paper Scout", "description": "Short and memorable"},
    {"id": "2", "label": "Lit Review Pal", "description": "Says what it does"},
    {"id": "other", "label": "Other", "description": "Type your own name"},
]


def ask(question="What should your research bot be called?", phase="basics", options=None,
        allow_free_text=True, phase_label=None):
    return {"action": "ask_question", "phase": phase, "question": question,
            "options": OPTIONS if options is None else options,
            "allow_free_text": allow_free_text,
            "phase_label": LABELS[phase] if phase_label is None else phase_label}


def preview(phase="review", name="Paper Scout", skills=("arxiv-search",)):
    return {"action": "show_preview", "phase": phase,
            "preview": {"name": name, "description": "Finds and summarises new ML papers",
                        "personality_summary": "Precise and curious", "model": "claude-x",
                        "skills": list(skills), "phase": phase}}


def ready(config):
    return {"action": "ready_to_assemble", "config": config}


def clarify(message="Do you want it to post summaries daily?"):
    return {"action": "clarify", "message": message}


def reply(turn, **opts):
    return fakellm.text(json.dumps(turn), **opts)


def stalled(turn):
    """A reply held after half its body until released (fakellm.stall)."""
    return fakellm.stall([json.dumps(turn)], after=0)


def ordered(x):
    """x with every object as a list of pairs: equal only with the same key order."""
    if isinstance(x, dict):
        return [(k, ordered(v)) for k, v in x.items()]
    if isinstance(x, list):
        return [ordered(v) for v in x]
    return x


def same(got, want, what="turn"):
    assert got == want, f"{what}:\n got  {got}\n want {want}"
    assert ordered(got) == ordered(want), f"{what}: key order differs:\n got  {got}\n want {want}"


def uname(prefix):
    """A name no other test uses: prefix plus a short random suffix."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def slug_of(name):
    s = re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", name.lower())).strip("-")
    return s[:64].rstrip("-") or "bot"


def config(name=None, **kw):
    """A BuilderConfig (§2.9), small enough for one WebSocket message."""
    c = {"name": uname("Paper Scout") if name is None else name,
         "description": "Finds and summarises new ML papers",
         "category": "research", "tags": ["papers", "ml"],
         "personality": {"tone": "precise", "traits": ["curious", "concise"],
                         "purpose": "Track new ML papers and explain them.",
                         "boundaries": None},
         "model_config": {"model": "claude-scout-1", "temperature": 0.4, "max_tokens": 4096},
         "skills": []}
    c.update(kw)
    return c


# ---------------------------------------------------------------------------
# Fixtures: one roostd, two providers on one fake
# ---------------------------------------------------------------------------
#
#   anth  anthropic          default_model anth-default
#   oai   openai-compatible  default_model oai-default
#   llm.fallback_chain = anth,oai: the builder uses anth / anth-default

def builder_args(fake, *extra):
    return (["--llm.providers=anth,oai", "--llm.fallback_chain=anth,oai"]
            + provider_args("anth", "anthropic", fake.base_url, "anth-default")
            + provider_args("oai", "openai-compatible", fake.openai_base_url, "oai-default")
            + list(extra))


@pytest.fixture(scope="module")
def fake_srv():
    f = FakeLLM().start()
    yield f
    f.stop()


@pytest.fixture(scope="module")
def bserver(roostd, tmp_path_factory, fake_srv):
    srv = roostlib.Server(tmp_path_factory.mktemp("builder"), args=builder_args(fake_srv))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def fake(fake_srv, bserver):
    """The fake, reset for this test; checked afterwards."""
    fake_srv.release()
    fake_srv.reset()
    fake_srv.default = None
    yield fake_srv
    fake_srv.release()
    assert not fake_srv.errors, fake_srv.errors
    assert bserver.alive(), f"roostd died\n{bserver.logs()}"


@pytest.fixture
def fl(bserver):
    return Fleet(bserver)


# ---------------------------------------------------------------------------
# REST helpers
# ---------------------------------------------------------------------------

def spath(sid, tail=""):
    return f"builder/sessions/{sid}{tail}"


def links(sid, *names):
    base = f"{B}/sessions/{sid}"
    table = {"self": base, "answer": f"{base}/answer"}
    return {n: table[n] for n in names}


ABSENT = object()


def start(fl, description=DESC, mode=ABSENT, want_mode="bot"):
    """POST /builder/sessions; checks the envelope, links and shape; returns data."""
    body = {"description": description}
    if mode is not ABSENT:
        body["mode"] = mode
    r = fl.call("POST", "builder/sessions", body)
    assert r.status == 200, f"start: {r!r}"
    sid = parse_json(r.body)["data"]["session_id"]
    d = fl.check_ok(r, 200, links(sid, "self", "answer"))
    assert_keys(d, START_KEYS, "start data")
    assert_uuid7(sid)
    assert d["mode"] == want_mode, d
    return d


def answer(fl, sid, ans):
    d = fl.ok("POST", spath(sid, "/answer"), {"answer": ans})
    assert_keys(d, ANSWER_KEYS, "answer data")
    assert_keys(d["state_summary"], SUMMARY_KEYS, "state_summary")
    return d


def draft(fl, sid):
    d = fl.ok("GET", spath(sid), links=links(sid, "self"))
    assert_keys(d, SESSION_KEYS, "builder session")
    assert d["session_id"] == sid and d["phase"] in PHASES, d
    return d


def no_draft(fl, sid, method="GET", tail="", body=None):
    return fl.fail(method, spath(sid, tail), body, 404, "DRAFT_NOT_FOUND",
                   f"No draft found for session {sid}")


def drafts(fl):
    d = fl.ok("GET", "builder/drafts", links={"self": f"{B}/drafts"})
    assert isinstance(d, list), d
    for item in d:
        assert_keys(item, DRAFT_KEYS, "DraftSummary")
        assert_recent(parse_offset_ts(item["updated_at"]), slack=3600)
    return d


def bots(fl):
    return fl.ok("GET", "bots", links={"self": f"{API}/bots"})


def send_raw(srv, method, path, body):
    """A request sent on its own connection, its response left to read
    (Raw.read_response) once the test has done what it does meanwhile."""
    data = json.dumps(body).encode()
    c = Raw(srv.ports[FAM], timeout=TURN_TIMEOUT)
    c.send(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {srv.api_key()}\r\n"
           f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
           .encode("latin-1") + data)
    return c


def busy(r, message=None):
    """A 503 SERVICE_UNAVAILABLE envelope with Retry-After: 1."""
    j = assert_error_shape("fleet", r, 503, code="SERVICE_UNAVAILABLE", message=message)
    assert r.header("Retry-After") == "1", r
    return j["errors"][0]


# ---------------------------------------------------------------------------
# What the provider was asked
# ---------------------------------------------------------------------------

def builder_call(req, kind="anthropic", model="anth-default", max_tokens=2048,
                 temperature=0.7):
    """One non-streaming builder call with the §10.1 (or §10.3) settings."""
    assert req.kind == kind and req.model == model, req
    j = req.json
    assert j.get("stream") is False, f"builder call not marked stream: false: {j}"
    assert j["max_tokens"] == max_tokens and j["temperature"] == temperature, \
        {k: j.get(k) for k in ("max_tokens", "temperature")}
    if kind == "openai":
        assert "stream_options" not in j, j
        # §10.1: JSON mode where the provider has it
        assert j.get("response_format") == {"type": "json_object"}, j
    else:
        assert "response_format" not in j, j
    return req


def prompt_sections(system):
    """The §10.1 system prompt as [(tag, inner text)], checking that the
    sections are all of it, joined by one blank line."""
    rest = system.rstrip()
    out = []
    while rest:
        m = re.match(r"<([a-z_]+)>", rest)
        assert m, f"system prompt: no section starts at {rest[:80]!r}\n{system}"
        tag = m.group(1)
        end = rest.find(f"</{tag}>")
        assert end > 0, f"system prompt: <{tag}> not closed\n{system}"
        out.append((tag, rest[len(m.group(0)):end]))
        rest = rest[end + len(tag) + 3:]
        if rest:
            assert rest.startswith("\n\n") and not rest.startswith("\n\n\n"), \
                f"sections not joined by one blank line after </{tag}>: {rest[:40]!r}"
            rest = rest[2:]
    return out


def check_prompt(system, mode, with_config=False):
    """The section list and builder_instructions of a turn's system prompt
    (§10.1); returns {tag: inner}."""
    secs = prompt_sections(system)
    tags = [t for t, _ in secs]
    want = ["forge_identity", "builder_instructions", "accumulated_context"]
    if with_config:
        want.append("current_config")
    assert tags == want, f"sections {tags} != {want}\n{system}"
    s = dict(secs)
    assert s["forge_identity"].strip(), "empty <forge_identity>"
    instr = s["builder_instructions"]
    assert mode in instr, f"mode {mode!r} not in the instructions:\n{instr}"
    for label in LABELS.values():
        assert label in instr, f"phase label {label!r} not in the instructions"
    assert "Other" in instr, "the 'Other' option rule is missing"
    check_schema(instr)
    return s


def all_objects_closed(node, path="$"):
    """Every object schema in node has additionalProperties: false."""
    if isinstance(node, list):
        for i, v in enumerate(node):
            all_objects_closed(v, f"{path}[{i}]")
        return
    if not isinstance(node, dict):
        return
    t = node.get("type")
    if t == "object" or (isinstance(t, list) and "object" in t) or "properties" in node:
        assert node.get("additionalProperties") is False, \
            f"schema object at {path} without additionalProperties: false: {node}"
    for k, v in node.items():
        if k in ("properties", "$defs", "definitions", "patternProperties") and \
                isinstance(v, dict):
            for name, sub in v.items():
                all_objects_closed(sub, f"{path}.{k}.{name}")
        elif k in ("enum", "const", "required", "examples", "default", "description",
                   "title"):
            continue
        else:
            all_objects_closed(v, f"{path}.{k}")


def check_schema(instr):
    i = instr.find(RESPOND)
    assert i >= 0, f"{RESPOND!r} not in the instructions:\n{instr}"
    j = instr.find("{", i)
    assert j > 0, "no JSON schema after the reply rule"
    schema, _ = json.JSONDecoder().raw_decode(instr[j:])
    text = json.dumps(schema)
    for word in ("ask_question", "show_preview", "ready_to_assemble", "clarify") + PHASES:
        assert f'"{word}"' in text, f"{word!r} not in the BuilderTurn schema: {text[:2000]}"
    all_objects_closed(schema)
    return schema


def context_of(req):
    return dict(prompt_sections(req.system))["accumulated_context"]


# ---------------------------------------------------------------------------
# The WebSocket client
# ---------------------------------------------------------------------------

class BWS:
    """A /ws/builder/{sid} client. Messages are JSON objects with a type;
    an unsolicited {"type":"pong"} (the 30 s heartbeat) is skipped."""

    def __init__(self, srv, sid, headers=None):
        self.sid = sid
        self.ws = WS(srv.ports[FAM], path=f"/ws/builder/{sid}", headers=headers,
                     read_init=False, timeout=TURN_TIMEOUT)

    def close(self):
        self.ws.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, obj):
        self.ws.send_text(obj if isinstance(obj, (str, bytes)) else json.dumps(obj))

    def recv(self, pong=False, timeout=None):
        while True:
            m = self.ws.recv_message(timeout)
            assert m.opcode == OP_TEXT, f"expected a text message, got {m!r}"
            j = parse_json(m.payload)
            assert isinstance(j, dict) and isinstance(j.get("type"), str), j
            if j == {"type": "pong"} and not pong:
                continue
            return j

    def ping(self):
        self.send({"type": "ping"})
        j = self.recv(pong=True)
        assert j == {"type": "pong"}, f"expected the pong reply, got {j}"

    def turn(self):
        j = self.recv()
        assert j.get("type") == "turn", f"expected a turn, got {j}"
        assert_keys(j, ["type", "turn"], "turn message")
        return j["turn"]

    def error(self, message=None, prefix=None):
        j = self.recv()
        assert j.get("type") == "error", f"expected an error, got {j}"
        assert_keys(j, ["type", "message"], "error message")
        msg = j["message"]
        if message is not None:
            assert msg == message, f"error {msg!r} != {message!r}"
        if prefix is not None:
            assert msg.startswith(prefix) and len(msg) > len(prefix), \
                f"error {msg!r} is not {prefix!r} + a reason"
        return msg

    def result(self, typ, keys):
        j = self.recv()
        assert j.get("type") == typ, f"expected {typ}, got {j}"
        assert_keys(j, ["type", "result"], typ)
        assert_keys(j["result"], keys, f"{typ} result")
        return j["result"]


# ---------------------------------------------------------------------------
# Skills (§10.3)
# ---------------------------------------------------------------------------

def skill_md(name, description, skill_type="prompt", caps=("http_get",), metadata=True):
    meta = ""
    if metadata:
        meta = ("metadata:\n  version: \"0.1.0\"\n"
                + (f"  skill-type: {skill_type}\n" if skill_type else "")
                + f"  capabilities: [{', '.join(caps)}]\n  author: builder\n"
                "  categories: [search]\n")
    return (f"---\nname: {name}\ndescription: {description}\n{meta}---\n\n# {name}\n\n"
            f"{description}\n\n## Usage\n\nAsk for recent papers on a topic.\n")


def skill_reply(md, caps=(("http_get", "Calls the arXiv API"),), source=None):
    return fakellm.text(json.dumps({
        "skill_md": md,
        "capabilities": [{"capability": c, "reason": r} for c, r in caps],
        "source_code": source}))


RUST = ("use boternity_skill::execute;\n\n"
        "pub fn execute(input: &str) -> String {\n    format!(\"searched {input}\")\n}\n")


def frontmatter(md):
    assert md.startswith("---\n"), md[:80]
    end = md.find("\n---", 4)
    assert end > 0, md[:200]
    return md[4:end + 1]


def skill_dir(srv, name):
    return os.path.join(srv.data_dir, "skills", name)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def create_skill(fl, sid, req):
    name = req["name"]
    d = fl.ok("POST", spath(sid, "/create-skill"), {"skill_request": req},
              links={"skill": f"{API}/skills/{name}"})
    assert_keys(d, ["result"], "create-skill data")
    assert_keys(d["result"], SKILL_KEYS, "create-skill result")
    return d["result"]


# ===========================================================================
# Authentication and routing
# ===========================================================================

SOME_SID = "0194f3d0-aaaa-7bbb-8ccc-dddddddddddd"
ENDPOINTS = [
    ("start", "POST", "builder/sessions", {"description": DESC}),
    ("answer", "POST", spath(SOME_SID, "/answer"), {"answer": "Back"}),
    ("assemble", "POST", spath(SOME_SID, "/assemble"), {"config": {}}),
    ("create-skill", "POST", spath(SOME_SID, "/create-skill"), {"skill_request": {}}),
    ("get", "GET", spath(SOME_SID), None),
    ("delete", "DELETE", spath(SOME_SID), None),
    ("reconfigure", "POST", spath(SOME_SID, "/reconfigure"), {"bot_slug": "x"}),
    ("drafts", "GET", "builder/drafts", None),
]


@pytest.mark.parametrize("method,path,body", [e[1:] for e in ENDPOINTS],
                         ids=[e[0] for e in ENDPOINTS])
def test_key_required_first(bserver, fake, fl, method, path, body):
    """§1.1: every builder route needs the key, checked before anything else
    (here: a bad session id in the path and a bad body)."""
    fl.fail(method, path, body, 401, "UNAUTHORIZED", MISSING_KEY_MSG, key=False)
    fl.fail(method, path.replace("/sessions/", "/sessions/x"), b"{nope", 401, "UNAUTHORIZED",
            MISSING_KEY_MSG, key=False)
    assert fake.requests == []


def test_wrong_method_and_unknown_route(bserver, fake, fl):
    sid = str(uuid.uuid4())
    fl.fail("GET", "builder/sessions", None, 405, "METHOD_NOT_ALLOWED")
    fl.fail("PUT", spath(sid), {"x": 1}, 405, "METHOD_NOT_ALLOWED")
    fl.fail("GET", spath(sid, "/answer"), None, 405, "METHOD_NOT_ALLOWED")
    fl.fail("POST", "builder/drafts", {}, 405, "METHOD_NOT_ALLOWED")
    fl.fail("POST", spath(sid, "/nope"), {}, 404, "NOT_FOUND")
    assert fake.requests == []


@pytest.mark.parametrize("sid", BAD_SIDS)
def test_invalid_session_id(bserver, fake, fl, sid):
    """Every {sid} route: 400 before anything happens (no call, no bot, no skill)."""
    before = len(bots(fl))
    cases = [
        ("POST", "/answer", {"answer": {"FreeText": "hello"}}),
        ("POST", "/assemble", {"config": config()}),
        ("POST", "/create-skill", {"skill_request": {"name": uname("never-made"),
                                                     "description": "x"}}),
        ("GET", "", None),
        ("DELETE", "", None),
        ("POST", "/reconfigure", {"bot_slug": "anything"}),
    ]
    for method, tail, body in cases:
        fl.fail(method, spath(sid, tail), body, 400, "VALIDATION_ERROR",
                "Invalid session_id format")
    assert fake.requests == []
    assert len(bots(fl)) == before


# ===========================================================================
# POST /builder/sessions
# ===========================================================================

def test_start_bot(bserver, fake, fl):
    turn = ask()
    fake.script(reply(turn))
    d = start(fl, DESC)
    same(d["turn"], turn)
    sid = d["session_id"]
    reqs = fake.requests
    assert len(reqs) == 1
    req = builder_call(reqs[0])
    assert req.messages == [{"role": "user", "content": DESC}], req.messages
    s = check_prompt(req.system, "new bot creation")
    assert DESC in s["accumulated_context"]
    assert LABELS["basics"] in s["accumulated_context"]
    # the draft: phase basics, no answers yet
    assert draft(fl, sid) == {"session_id": sid, "phase": "basics",
                              "initial_description": DESC, "question_count": 0}
    assert sid in [x["session_id"] for x in drafts(fl)]


@pytest.mark.parametrize("mode,want", [(ABSENT, "bot"), (None, "bot"), ("bot", "bot"),
                                       ("skill", "skill"), ("Skill", "bot"),
                                       ("wizard", "bot")],
                         ids=["absent", "null", "bot", "skill", "Skill", "wizard"])
def test_start_mode(bserver, fake, fl, mode, want):
    fake.script(reply(ask("What should the skill be called?")))
    start(fl, "Something that searches arXiv", mode=mode, want_mode=want)
    s = check_prompt(fake.requests[0].system,
                     "new skill creation" if want == "skill" else "new bot creation")
    assert "Something that searches arXiv" in s["accumulated_context"]


def test_start_description_limits(bserver, fake, fl):
    for body in ({"description": ""}, {}, {"description": None},
                 {"description": "x" * 4001}, {"description": "\u00e9" * 4001}):
        e = fl.fail("POST", "builder/sessions", body, 400, "VALIDATION_ERROR")
        assert "description" in e["message"], (repr(body)[:40], e)
    fl.bad_field("POST", "builder/sessions", {"description": 42}, "description")
    fl.bad_field("POST", "builder/sessions", {"description": ["a"]}, "description")
    fl.bad_field("POST", "builder/sessions", {"description": DESC, "mode": 42}, "mode")
    for raw in (b"", b"{oops", b"[]"):
        fl.bad_json("POST", "builder/sessions", raw)
    assert fake.requests == []
    # 4000 characters (two bytes each) are accepted and sent as they are
    fake.script(reply(ask()))
    text = "\u00e9" * 4000
    start(fl, text)
    assert fake.requests[0].last_user == text


def test_turn_forms_accepted(bserver, fake, fl):
    """§10.1 parsing: fences, text around the object, braces in strings,
    missing optional members, unknown members dropped."""
    full = ask("Name it {like this}?")
    fenced = "```json\n" + json.dumps(full, indent=2) + "\n```"
    fake.script(fakellm.text(fenced))
    same(start(fl)["turn"], full)

    fake.script(fakellm.text("```\n" + json.dumps(clarify("plain fence")) + "\n```\n"))
    same(start(fl)["turn"], clarify("plain fence"))

    fake.script(fakellm.text("  Sure! Here is my turn:\n" + json.dumps(clarify("}{")) +
                             "\nHope that helps {really}."))
    same(start(fl)["turn"], clarify("}{"))

    # options[].description and phase_label missing -> null; extra members dropped
    sparse = {"action": "ask_question", "phase": "basics", "question": "Tone?",
              "options": [{"id": "a", "label": "Warm"},
                          {"id": "b", "label": "Dry", "description": None, "emoji": "x"}],
              "allow_free_text": False, "confidence": 0.9}
    want = {"action": "ask_question", "phase": "basics", "question": "Tone?",
            "options": [{"id": "a", "label": "Warm", "description": None},
                        {"id": "b", "label": "Dry", "description": None}],
            "allow_free_text": False, "phase_label": None}
    fake.script(fakellm.text(json.dumps(sparse)))
    same(start(fl)["turn"], want)

    # members in another order come back in the §2.9 order
    shuffled = dict(reversed(list(ask("Shuffled?").items())))
    fake.script(fakellm.text(json.dumps(shuffled)))
    same(start(fl)["turn"], ask("Shuffled?"))

    # every action
    for turn in (preview("basics"), ready(config(name="Ready Scout")), clarify()):
        fake.script(reply(turn))
        same(start(fl)["turn"], turn)
    assert len(fake.requests) == 8, fake.requests


INVALID_REPLIES = [
    ("no JSON", "I think your bot should be called Paper Scout."),
    ("unknown action", json.dumps({"action": "dance", "message": "hi"})),
    ("missing question", json.dumps({k: v for k, v in ask().items() if k != "question"})),
    ("bad phase", json.dumps(dict(ask(), phase="launch"))),
    ("options not a list", json.dumps(dict(ask(), options="1, 2"))),
    ("option without label", json.dumps(dict(ask(), options=[{"id": "1"}]))),
    ("allow_free_text a string", json.dumps(dict(ask(), allow_free_text="yes"))),
    ("clarify without message", json.dumps({"action": "clarify"})),
    ("preview skills not strings", json.dumps(
        {"action": "show_preview", "phase": "review",
         "preview": dict(preview()["preview"], skills=[1, 2])})),
    ("truncated", json.dumps(clarify())[:-2]),
    ("ready with an invalid config", json.dumps(ready(config(name="")))),
]


@pytest.mark.parametrize("bad", [b for _, b in INVALID_REPLIES],
                         ids=[w for w, _ in INVALID_REPLIES])
def test_invalid_reply_retried_once(bserver, fake, fl, bad):
    good = ask("Second try?")
    fake.script(fakellm.text(bad))
    fake.script(reply(good))
    d = start(fl, "retry me")
    same(d["turn"], good)
    reqs = fake.requests
    assert len(reqs) == 2, reqs
    builder_call(reqs[1])
    assert reqs[1].system == reqs[0].system
    msgs = reqs[1].messages
    assert [m["role"] for m in msgs] == ["user", "assistant", "user"], msgs
    assert msgs[0]["content"] == "retry me"
    assert msgs[1]["content"] == bad, "the invalid reply is not sent back as it was"
    m = RETRY_RE.match(msgs[2]["content"])
    assert m, f"retry message {msgs[2]['content']!r}"
    assert "\n" not in m.group(1)
    assert draft(fl, d["session_id"])["question_count"] == 0


def test_two_invalid_replies_are_500(bserver, fake, fl):
    bad = json.dumps({"action": "dance"})
    fake.script(fakellm.text(bad), times=2)
    e = fl.fail("POST", "builder/sessions", {"description": "never parses"}, 500,
                "INTERNAL_ERROR", prefix="Builder parse error: ")
    reqs = fake.requests
    assert len(reqs) == 2, reqs
    reason = RETRY_RE.match(reqs[1].messages[2]["content"]).group(1)
    # the same invalid reply twice: the same reason in the retry and the error
    assert e["message"] == f"Builder parse error: {reason}", (e, reason)
    fake.assert_all_used()


def test_two_invalid_replies_leave_the_draft(bserver, fake, fl):
    fake.script(reply(ask()))
    sid = start(fl)["session_id"]
    before = draft(fl, sid)
    fake.script(fakellm.text("not json at all"), times=2)
    fl.fail("POST", spath(sid, "/answer"), {"answer": {"OptionIndex": 0}}, 500,
            "INTERNAL_ERROR", prefix="Builder parse error: ")
    assert len(fake.requests) == 3
    assert draft(fl, sid) == before
    # and the draft goes on: the same answer again
    fake.script(reply(ask("Tone?", phase="personality")))
    d = answer(fl, sid, {"OptionIndex": 0})
    assert d["state_summary"] == {"phase": "personality", "question_count": 1}


def test_provider_error_is_500(bserver, fake, fl):
    """A 400 from the provider does not fail over (§7.2): 500, one call."""
    fake.script(fakellm.http_error(400, "bad request"), kind="anthropic")
    fl.fail("POST", "builder/sessions", {"description": "provider says no"}, 500,
            "INTERNAL_ERROR")
    assert len(fake.requests) == 1


def test_all_providers_failed_is_500(bserver, fake, fl):
    fake.script(fakellm.http_error(500), kind="anthropic")
    fake.script(fakellm.http_error(503), kind="openai")
    fl.fail("POST", "builder/sessions", {"description": "nobody answers"}, 500,
            "INTERNAL_ERROR")
    assert [r.kind for r in fake.requests] == ["anthropic", "openai"]


def test_failover_during_a_turn(bserver, fake, fl):
    """§7.2 for a non-streaming call: anth 529, then oai with its default
    model; provider_failover on /ws/events."""
    bus = Bus(bserver)
    try:
        fake.script(fakellm.http_error(529), kind="anthropic")
        turn = ask("Failed over?")
        fake.script(reply(turn), kind="openai")
        same(start(fl, "fail over please")["turn"], turn)
        reqs = fake.requests
        assert len(reqs) == 2, reqs
        builder_call(reqs[0])
        builder_call(reqs[1], kind="openai", model="oai-default")
        assert reqs[1].messages == [{"role": "user", "content": "fail over please"}]
        assert reqs[1].system == reqs[0].system
        ev = bus.wait("provider_failover")
        assert ev == {"type": "provider_failover", "from_provider": "anth",
                      "to_provider": "oai", "reason": "HTTP 529"}, ev
        assert list(ev) == ["type", "from_provider", "to_provider", "reason"]
    finally:
        bus.close()


def test_builder_provider_and_model(fresh, fake):
    srv = fresh(args=builder_args(fake, "--llm.builder_provider=oai",
                                  "--llm.builder_model=oai-builder"))
    f = Fleet(srv)
    turn = ask()
    fake.script(reply(turn), kind="openai")
    same(start(f)["turn"], turn)
    builder_call(fake.requests[0], kind="openai", model="oai-builder")
    assert fake.requests[0].messages == [{"role": "user", "content": DESC}]
    srv.stop()


def test_json_mode_refused_is_asked_again_without(fresh):
    """An OpenAI-compatible server that does not know response_format answers
    400: the same provider is asked once more without it (no failover, no
    provider_failover), and the turn goes on."""
    strict = FakeLLM(reject_response_format=True).start()
    try:
        srv = fresh(args=["--llm.providers=oai", "--llm.fallback_chain=oai"]
                    + provider_args("oai", "openai-compatible", strict.openai_base_url,
                                    "oai-default"))
        turn = ask()
        strict.script(reply(turn))
        same(start(Fleet(srv))["turn"], turn)
        reqs = strict.requests
        assert len(reqs) == 2, reqs
        assert reqs[0].json.get("response_format") == {"type": "json_object"}
        assert "response_format" not in reqs[1].json
        assert reqs[1].json["messages"] == reqs[0].json["messages"]
        srv.stop()
    finally:
        strict.stop()


def test_builder_provider_alone(fresh, fake):
    """builder_provider without builder_model: that provider's default_model."""
    srv = fresh(args=builder_args(fake, "--llm.builder_provider=oai"))
    fake.script(reply(ask()), kind="openai")
    start(Fleet(srv))
    builder_call(fake.requests[0], kind="openai", model="oai-default")
    srv.stop()


def test_no_provider_configured(fresh, fake):
    srv = fresh()
    f = Fleet(srv)
    f.fail("POST", "builder/sessions", {"description": DESC}, 500, "INTERNAL_ERROR")
    sid = str(uuid.uuid4())
    with BWS(srv, sid) as w:
        w.send({"type": "start_bot", "description": DESC})
        w.error(prefix="Builder error: ")
        w.ping()
    no_draft(f, sid)
    # assemble needs no LLM: IDENTITY.md names provider "anthropic" (§5.8 step 3)
    c = config()
    res = f.ok("POST", spath(str(uuid.uuid4()), "/assemble"), {"config": c},
               links={"bot": f"{API}/bots/{slug_of(c['name'])}"})["result"]
    ident = f.ok("GET", f"bots/{res['bot_id']}/identity",
                 links={"self": f"{API}/bots/{res['bot_id']}/identity",
                        "bot": f"{API}/bots/{res['bot_id']}"})
    assert ident["parsed"]["provider"] == "anthropic", ident
    assert fake.requests == []
    srv.stop()


# ===========================================================================
# POST /builder/sessions/{sid}/answer
# ===========================================================================

def test_answer_forms_and_messages(bserver, fake, fl):
    """Each BuilderAnswer form becomes the §10.1 user message; phases move
    with ask_question/show_preview turns, not with clarify/ready."""
    fake.script(reply(ask()))
    sid = start(fl)["session_id"]
    steps = [
        ({"OptionIndex": 1}, "Selected option 1: Lit Review Pal",
         ask("Which tone?", phase="personality",
             options=[{"id": "a", "label": "Warm", "description": None},
                      {"id": "b", "label": "Dry", "description": "Deadpan"}]),
         "personality", 1),
        ({"OptionIndex": 0}, "Selected option 0: Warm", clarify("Warm like a librarian?"),
         "personality", 2),
        ({"FreeText": "Yes, a friendly librarian \u2014 with \"quotes\"\nand lines"},
         "Yes, a friendly librarian \u2014 with \"quotes\"\nand lines",
         preview("model"), "model", 3),
        ({"Confirm": False}, "No, I'd like to make changes.",
         ask("Which model?", phase="model"), "model", 4),
        ({"OptionIndex": 2}, "Selected option 2: Other",
         ask("Anything else for review?", phase="review"), "review", 5),
        ({"Confirm": True}, "Yes, confirmed.", ready(config(name="Confirmed Scout")),
         "review", 6),
    ]
    for i, (ans, msg, turn, phase, count) in enumerate(steps):
        fake.script(reply(turn))
        d = answer(fl, sid, ans)
        same(d["turn"], turn, f"step {i}")
        assert d["state_summary"] == {"phase": phase, "question_count": count}, (i, d)
        req = fake.requests[-1]
        builder_call(req)
        assert req.messages == [{"role": "user", "content": msg}], (i, req.messages)
        s = check_prompt(req.system, "new bot creation",
                         with_config="<current_config>" in req.system)
        assert DESC in s["accumulated_context"], i
    assert len(fake.requests) == 1 + len(steps)
    assert draft(fl, sid) == {"session_id": sid, "phase": "review", "initial_description": DESC,
                              "question_count": 6}


def test_accumulated_context_keeps_last_five_pairs(bserver, fake, fl):
    fake.script(reply(ask("Question marker-q01?")))
    sid = start(fl)["session_id"]
    for i in range(1, 8):
        fake.script(reply(ask(f"Question marker-q{i + 1:02d}?")))
        answer(fl, sid, {"FreeText": f"Answer marker-a{i:02d}"})
    ctx = context_of(fake.requests[-1])         # the call for the 7th answer
    assert LABELS["basics"] in ctx
    for i in (3, 4, 5, 6):
        assert f"marker-q{i:02d}" in ctx and f"marker-a{i:02d}" in ctx, (i, ctx)
    for i in (1,):
        assert f"marker-q{i:02d}" not in ctx and f"marker-a{i:02d}" not in ctx, (i, ctx)
    assert fake.requests[-1].last_user == "Answer marker-a07"


def test_back(bserver, fake, fl):
    fake.script(reply(ask()))
    sid = start(fl)["session_id"]
    # nothing to go back to: 400, no call
    fl.fail("POST", spath(sid, "/answer"), {"answer": "Back"}, 400, "VALIDATION_ERROR",
            CANNOT_BACK)
    assert len(fake.requests) == 1
    fake.script(reply(ask("Which tone?", phase="personality")))
    answer(fl, sid, {"OptionIndex": 0})
    fake.script(reply(ask("Formal or casual?", phase="personality")))
    d = answer(fl, sid, {"FreeText": "Warm"})
    assert d["state_summary"] == {"phase": "personality", "question_count": 2}
    # back to basics: one answer of the two dropped (whichever phase's it is)
    again = ask("What should it be called, again?")
    fake.script(reply(again))
    d = answer(fl, sid, "Back")
    same(d["turn"], again)
    assert d["state_summary"] == {"phase": "basics", "question_count": 1}, d
    req = fake.requests[-1]
    assert req.messages == [{"role": "user", "content": BACK_MSG}], req.messages
    assert LABELS["basics"] in context_of(req)
    assert draft(fl, sid)["phase"] == "basics"
    fl.fail("POST", spath(sid, "/answer"), {"answer": "Back"}, 400, "VALIDATION_ERROR",
            CANNOT_BACK)
    assert len(fake.requests) == 4


MALFORMED = [
    {"answer": {"OptionIndex": -1}},
    {"answer": {"OptionIndex": 1.5}},
    {"answer": {"OptionIndex": "1"}},
    {"answer": {"OptionIndex": True}},
    {"answer": {"OptionIndex": None}},
    {"answer": {"FreeText": ""}},
    {"answer": {"FreeText": 7}},
    {"answer": {"FreeText": "x" * 4001}},
    {"answer": {"Confirm": "yes"}},
    {"answer": {"Confirm": 1}},
    {"answer": "back"},
    {"answer": "BACK"},
    {"answer": "Forward"},
    {"answer": ""},
    {"answer": {}},
    {"answer": {"Back": True}},
    {"answer": {"Other": "x"}},
    {"answer": {"OptionIndex": 0, "FreeText": "both"}},
    {"answer": ["Back"]},
    {"answer": None},
    {"answer": 0},
    {},
    {"reply": {"OptionIndex": 0}},
    b"",
    b"{not json",
    b"[]",
]


def test_malformed_answers(bserver, fake, fl):
    fake.script(reply(ask()))
    sid = start(fl)["session_id"]
    before = draft(fl, sid)
    for body in MALFORMED + [{"answer": {"OptionIndex": 3}}, {"answer": {"OptionIndex": 99}}]:
        r = fl.call("POST", spath(sid, "/answer"), body)
        assert r.status == 400, f"{str(body)[:80]}: {r!r}"
        assert_error_shape("fleet", r, 400, code="VALIDATION_ERROR")
    assert len(fake.requests) == 1, "a malformed answer reached the provider"
    assert draft(fl, sid) == before
    # the longest FreeText is accepted as it is
    fake.script(reply(clarify()))
    text = "\U0001F600" * 4000
    answer(fl, sid, {"FreeText": text})
    assert fake.requests[-1].last_user == text


def test_answer_unknown_draft(bserver, fake, fl):
    sid = str(uuid.uuid4())
    no_draft(fl, sid, "POST", "/answer", {"answer": {"FreeText": "hi"}})
    no_draft(fl, sid, "POST", "/answer", {"answer": "Back"})
    assert fake.requests == []


def test_second_turn_while_one_runs(bserver, fake, fl):
    fake.script(reply(ask()))
    sid = start(fl)["session_id"]
    slow = ask("Slow question?", phase="personality")
    fake.script(stalled(slow))
    c = send_raw(bserver, "POST", f"{B}/sessions/{sid}/answer", {"answer": {"FreeText": "one"}})
    try:
        req = fake.wait_requests(2)[1]
        msg = f"A builder turn is already running for session {sid}"
        busy(fl.call("POST", spath(sid, "/answer"), {"answer": {"FreeText": "two"}}), msg)
        busy(fl.call("POST", spath(sid, "/answer"), {"answer": {"Confirm": True}}), msg)
        with BWS(bserver, sid) as w:
            w.send({"type": "answer", "answer": {"FreeText": "three"}})
            w.error(RUNNING_WS)
            w.ping()
        # the draft is still readable meanwhile
        assert fl.call("GET", spath(sid)).status == 200
        assert len(fake.requests) == 2, fake.requests
    finally:
        fake.release()
    r = c.read_response()
    c.close()
    d = fl.check_ok(r, 200)
    same(d["turn"], slow)
    assert d["state_summary"] == {"phase": "personality", "question_count": 1}
    assert req.last_user == "one"
    assert len(fake.requests) == 2
    # free again
    fake.script(reply(clarify()))
    assert answer(fl, sid, {"FreeText": "four"})["state_summary"]["question_count"] == 2


def test_builder_slots_exhausted(bserver, fake, fl):
    fake.script(reply(ask()))
    sid0 = start(fl, "made before the rush")["session_id"]
    turn = ask("Held?")
    fake.script(stalled(turn), times=SLOTS)
    conns = [send_raw(bserver, "POST", f"{B}/sessions", {"description": f"slot {i}"})
             for i in range(SLOTS)]
    try:
        fake.wait_requests(1 + SLOTS, timeout=TURN_TIMEOUT)
        busy(fl.call("POST", "builder/sessions", {"description": "one too many"}))
        busy(fl.call("POST", spath(sid0, "/answer"), {"answer": {"FreeText": "too many"}}))
        with BWS(bserver, str(uuid.uuid4())) as w:
            w.send({"type": "start_bot", "description": "one too many"})
            w.error(NO_SLOT_WS)
            w.ping()
        assert len(fake.requests) == 1 + SLOTS
        assert draft(fl, sid0)["question_count"] == 0
    finally:
        fake.release()
    for c in conns:
        r = c.read_response()
        c.close()
        assert r.status == 200, r
        d = parse_json(r.body)["data"]
        fl.check_ok(r, 200, links(d["session_id"], "self", "answer"))
        same(d["turn"], turn)
    # every slot is free again
    fake.script(reply(clarify()))
    answer(fl, sid0, {"FreeText": "now"})


# ===========================================================================
# GET / DELETE /builder/sessions/{sid}, GET /builder/drafts
# ===========================================================================

def test_get_and_delete(bserver, fake, fl):
    fake.script(reply(ask()))
    sid = start(fl, "To be deleted")["session_id"]
    assert draft(fl, sid) == {"session_id": sid, "phase": "basics",
                              "initial_description": "To be deleted", "question_count": 0}
    d = fl.ok("DELETE", spath(sid))
    assert list(d.items()) == [("deleted", True), ("session_id", sid)], d
    no_draft(fl, sid)
    no_draft(fl, sid, "DELETE")
    no_draft(fl, sid, "POST", "/answer", {"answer": {"FreeText": "late"}})
    assert sid not in [x["session_id"] for x in drafts(fl)]
    unknown = str(uuid.uuid4())
    no_draft(fl, unknown)
    no_draft(fl, unknown, "DELETE")
    assert len(fake.requests) == 1


def test_drafts_list_order(bserver, fake, fl):
    fake.script(reply(ask()), times=2)
    a = start(fl, "Draft A")["session_id"]
    b = start(fl, "Draft B")["session_id"]
    fake.script(reply(ask("Tone?", phase="personality")))
    answer(fl, a, {"FreeText": "go on"})
    items = drafts(fl)
    times = [parse_offset_ts(x["updated_at"]) for x in items]
    assert times == sorted(times, reverse=True), "drafts not by updated_at desc"
    ids = [x["session_id"] for x in items]
    assert ids.index(a) < ids.index(b), "the draft answered last is not listed first"
    ia = items[ids.index(a)]
    assert ia == {"session_id": a, "initial_description": "Draft A", "phase": "personality",
                  "updated_at": ia["updated_at"]}, ia
    ib = items[ids.index(b)]
    assert (ib["initial_description"], ib["phase"]) == ("Draft B", "basics"), ib
    assert parse_offset_ts(ia["updated_at"]) > parse_offset_ts(ib["updated_at"])
    assert_recent(parse_offset_ts(ia["updated_at"]))


# ===========================================================================
# POST /builder/sessions/{sid}/assemble
# ===========================================================================

SOUL_TEMPLATE = """---
name: {name}
traits:
{trait_lines}
tone: {tone}
---

# Personality

You embody a {tone} personality with these core traits: {traits}.

You bring these qualities into every interaction, adapting your approach to match
the needs of the conversation while staying true to your core character.

# Purpose

{purpose}

# Boundaries

{boundaries}"""

DEFAULT_BOUNDARIES = ("Be helpful within your defined purpose. Decline requests outside your "
                      "expertise area.")

USER_TEMPLATE = """# User Context for {name}

This bot was created with the following purpose: {description}

## Preferences
(Add your preferences here to help {name} serve you better)

## Important Context
(Share relevant background information)"""

STUB_TEMPLATE = """---
name: {name}
description: {description}
metadata:
  version: "0.1.0"
  skill-type: {skill_type}
  author: builder
---

# {name}

{description}"""


def expected_soul(c):
    p = c["personality"]
    return SOUL_TEMPLATE.format(
        name=c["name"], trait_lines="\n".join(f"  - {t}" for t in p["traits"]),
        tone=p["tone"], traits=", ".join(p["traits"]), purpose=p["purpose"],
        boundaries=p["boundaries"] if p.get("boundaries") is not None else DEFAULT_BOUNDARIES)


def same_text(got, want, what):
    """File text equal to the spec's, up to the final newline(s)."""
    assert got.rstrip("\n") == want, f"{what}:\n--- got\n{got}\n--- want\n{want}"


def assemble(fl, sid, c):
    d = fl.ok("POST", spath(sid, "/assemble"), {"config": c},
              links={"bot": f"{API}/bots/{slug_of(c['name'])}"})
    assert_keys(d, ["result"], "assemble data")
    assert_keys(d["result"], ASSEMBLE_KEYS, "assemble result")
    return d["result"]


def test_assemble(bserver, fake, fl):
    lib = uname("lib-skill")
    lib_md = (f"---\nname: {lib}\ndescription: Already in the library\nmetadata:\n"
              f"  version: \"2.5.0\"\n  skill-type: prompt\n  capabilities: [http_get, read_file]\n"
              f"---\n\n# {lib}\n")
    write_skill(bserver.data_dir, lib, lib_md)
    new_local, new_wasm = uname("arxiv-search"), uname("pdf-reader")
    c = config(skills=[
        {"name": new_local, "description": "Search arXiv", "skill_type": "local"},
        {"name": lib, "description": "ignored: the library has it", "skill_type": "wasm"},
        {"name": new_wasm, "description": "Reads PDFs", "skill_type": "wasm"},
    ])
    # a draft for this session: deleted by the assemble
    fake.script(reply(ask()))
    sid = start(fl, "assemble me")["session_id"]
    res = assemble(fl, sid, c)
    slug = slug_of(c["name"])
    assert_uuid7(res["bot_id"])
    assert (res["bot_slug"], res["bot_name"]) == (slug, c["name"]), res
    assert res["skills_attached"] == [new_local, lib, new_wasm], res
    bdir = os.path.join(bserver.data_dir, "bots", slug)
    for key, fname in (("soul_path", "SOUL.md"), ("identity_path", "IDENTITY.md"),
                       ("user_path", "USER.md")):
        assert os.path.isabs(res[key]), res
        assert os.path.realpath(res[key]) == os.path.realpath(os.path.join(bdir, fname)), res
    no_draft(fl, sid)
    assert len(fake.requests) == 1, "assemble called the provider"

    # the bot, as POST /bots makes it
    bot = fl.ok("GET", f"bots/{slug}", links={"self": f"{API}/bots/{res['bot_id']}",
                                              "soul": f"{API}/bots/{res['bot_id']}/soul",
                                              "secrets": f"{API}/secrets"})
    assert (bot["id"], bot["name"], bot["description"], bot["category"], bot["tags"],
            bot["status"], bot["version_count"]) == \
        (res["bot_id"], c["name"], c["description"], "research", ["papers", "ml"], "active", 1)
    # SOUL.md: the template, soul version 1 with message null
    soul = read(res["soul_path"])
    same_text(soul, expected_soul(c), "SOUL.md")
    sv = fl.ok("GET", f"bots/{slug}/soul",
               links={"self": f"{API}/bots/{bot['id']}/soul",
                      "versions": f"{API}/bots/{bot['id']}/soul/versions",
                      "verify": f"{API}/bots/{bot['id']}/soul/verify",
                      "bot": f"{API}/bots/{bot['id']}"})
    assert (sv["version"], sv["message"], sv["content"]) == (1, None, soul), sv
    # IDENTITY.md: the full frontmatter, then the default body
    ident = fl.ok("GET", f"bots/{slug}/identity",
                  links={"self": f"{API}/bots/{bot['id']}/identity",
                         "bot": f"{API}/bots/{bot['id']}"})
    assert ident["parsed"] == {"display_name": c["name"], "category": "research",
                               "model": "claude-scout-1", "provider": "anth",
                               "temperature": 0.4, "max_tokens": 4096}, ident["parsed"]
    raw = read(res["identity_path"])
    assert ident["raw"] == raw
    assert raw.startswith("---\n") and raw.split("---\n", 2)[2] == \
        default_identity(c["name"], "research").split("---\n", 2)[2], raw
    assert [ln.split(":")[0] for ln in frontmatter(raw).splitlines()] == \
        ["display_name", "category", "model", "provider", "temperature", "max_tokens"], raw
    # USER.md
    same_text(read(res["user_path"]),
              USER_TEMPLATE.format(name=c["name"], description=c["description"]), "USER.md")

    # skills: stubs made in the library, the library's own left alone
    for name, desc, st in ((new_local, "Search arXiv", "prompt"),
                           (new_wasm, "Reads PDFs", "tool")):
        same_text(read(os.path.join(skill_dir(bserver, name), "SKILL.md")),
                  STUB_TEMPLATE.format(name=name, description=desc, skill_type=st),
                  f"stub {name}")
        m = fl.ok("GET", f"skills/{name}", links={"self": f"{API}/skills/{name}"})["manifest"]
        assert_keys(m, MANIFEST_KEYS, "manifest")
        assert (m["name"], m["description"], m["metadata"]["skill-type"],
                m["metadata"]["version"], m["metadata"]["author"]) == \
            (name, desc, st, "0.1.0", "builder"), m
        assert not os.path.exists(os.path.join(skill_dir(bserver, name), "src"))
    assert read(os.path.join(skill_dir(bserver, lib), "SKILL.md")) == lib_md
    items = fl.ok("GET", f"bots/{slug}/skills", links={"self": f"{API}/bots/{slug}/skills"})
    for item in items:
        assert_keys(item, BOT_SKILL_ITEM_KEYS, "BotSkillItem")
    assert items == sorted([
        {"name": new_local, "description": "Search arXiv", "skill_type": "prompt",
         "trust_tier": "local", "enabled": True, "overrides": {"origin": "builder-created"}},
        {"name": lib, "description": "Already in the library", "skill_type": "prompt",
         "trust_tier": "local", "enabled": True, "overrides": {"origin": "builder-created"}},
        {"name": new_wasm, "description": "Reads PDFs", "skill_type": "tool",
         "trust_tier": "local", "enabled": True, "overrides": {"origin": "builder-created"}},
    ], key=lambda x: x["name"]), items
    for name, version, caps in ((new_local, "0.1.0", None), (lib, "2.5.0",
                                                             ["http_get", "read_file"]),
                                (new_wasm, "0.1.0", None)):
        cfg = fl.ok("PATCH", f"bots/{slug}/skills/{name}", {})
        assert_keys(cfg, BOT_SKILL_CONFIG_KEYS, "BotSkillConfig")
        assert (cfg["enabled"], cfg["trust_tier"], cfg["version"], cfg["overrides"]) == \
            (True, "local", version, {"origin": "builder-created"}), cfg
        if caps is None:
            assert cfg["capabilities"] in (None, []), cfg
        else:
            assert cfg["capabilities"] == caps, cfg

    # the bot chats through the fake provider with the assembled identity
    fake.script(fakellm.text("Scouting ", "papers."))
    s = run_turn(bserver, slug, "Any new papers?")
    check_plain(s, "Scouting papers.")
    req = fake.requests[-1]
    assert req.stream and req.kind == "anthropic" and req.model == "claude-scout-1", req
    assert req.json["temperature"] == 0.4 and req.json["max_tokens"] == 4096, req.json
    assert req.system.startswith(f"<soul>\n{soul.strip()}\n</soul>\n\n<identity>\n"), \
        req.system[:400]


def test_assemble_defaults_and_category(bserver, fake, fl):
    """Optional parts missing, an unknown category, boundaries given, no
    draft for the session id, a name whose slug is taken."""
    name = uname("Odd Wizard")
    c = {"name": name,
         "category": "wizardry",
         "personality": {"tone": "mysterious", "traits": ["arcane"],
                         "purpose": "Answer in riddles.", "boundaries": "No spoilers."},
         "model_config": {"model": "claude-wiz", "temperature": 0, "max_tokens": 1}}
    res = assemble(fl, str(uuid.uuid4()), c)
    assert res["skills_attached"] == []
    bot = fl.ok("GET", f"bots/{res['bot_id']}", links={
        "self": f"{API}/bots/{res['bot_id']}", "soul": f"{API}/bots/{res['bot_id']}/soul",
        "secrets": f"{API}/secrets"})
    assert (bot["category"], bot["tags"]) == ("assistant", []), bot
    same_text(read(res["soul_path"]), expected_soul(c), "SOUL.md")
    # the same name again: the next slug, like POST /bots
    c2 = dict(c)
    r = fl.call("POST", spath(str(uuid.uuid4()), "/assemble"), {"config": c2})
    d = fl.check_ok(r, 200, links={"bot": f"{API}/bots/{slug_of(name)}-2"})
    assert d["result"]["bot_slug"] == f"{slug_of(name)}-2", d
    assert fake.requests == []


def test_assemble_limits_accepted(bserver, fake, fl):
    c = config(name=uname("L") + "x" * 90,
               description="d" * 1000,
               tags=[f"t{i:02d}" + "g" * 47 for i in range(20)],
               personality={"tone": "t" * 200, "traits": [f"{i:02d}" + "r" * 48
                                                          for i in range(20)],
                            "purpose": "p" * 2000, "boundaries": "b" * 2000},
               model_config={"model": "m", "temperature": 2, "max_tokens": 200000},
               skills=[{"name": uname("lim") + "-" + "s" * 51, "description": "e" * 1000,
                        "skill_type": "anything"}])
    assert len(c["name"]) == 100 and len(c["skills"][0]["name"]) == 64
    res = assemble(fl, str(uuid.uuid4()), c)
    assert res["bot_name"] == c["name"]
    same_text(read(res["soul_path"]), expected_soul(c), "SOUL.md")


def bad_configs():
    base = config(name="Never Made Bot")
    long_skill = "s" * 65

    def with_(path, value):
        c = json.loads(json.dumps(base))
        node = c
        for k in path[:-1]:
            node = node[k]
        if value is ABSENT:
            del node[path[-1]]
        else:
            node[path[-1]] = value
        return c
    return [
        ("name", with_(["name"], "")),
        ("name", with_(["name"], "   ")),
        ("name", with_(["name"], "n" * 101)),
        ("name", with_(["name"], ABSENT)),
        ("name", with_(["name"], 5)),
        ("description", with_(["description"], "d" * 1001)),
        ("tags", with_(["tags"], [f"t{i}" for i in range(21)])),
        ("tags", with_(["tags"], ["t" * 51])),
        ("personality", with_(["personality"], ABSENT)),
        ("personality.tone", with_(["personality", "tone"], "t" * 201)),
        ("personality.traits", with_(["personality", "traits"], [f"x{i}" for i in range(21)])),
        ("personality.traits", with_(["personality", "traits"], ["x" * 51])),
        ("personality.purpose", with_(["personality", "purpose"], "p" * 2001)),
        ("personality.purpose", with_(["personality", "purpose"], ABSENT)),
        ("personality.boundaries", with_(["personality", "boundaries"], "b" * 2001)),
        ("model_config", with_(["model_config"], ABSENT)),
        ("model_config.temperature", with_(["model_config", "temperature"], -0.1)),
        ("model_config.temperature", with_(["model_config", "temperature"], 2.01)),
        ("model_config.temperature", with_(["model_config", "temperature"], "0.5")),
        ("model_config.max_tokens", with_(["model_config", "max_tokens"], 0)),
        ("model_config.max_tokens", with_(["model_config", "max_tokens"], 200001)),
        ("model_config.max_tokens", with_(["model_config", "max_tokens"], 1.5)),
        ("skills", with_(["skills"], [{"name": f"sk-{i}", "description": "d",
                                       "skill_type": "local"} for i in range(21)])),
        ("skills", with_(["skills"], [{"name": "Bad Name", "description": "d",
                                       "skill_type": "local"}])),
        ("skills", with_(["skills"], [{"name": long_skill, "description": "d",
                                       "skill_type": "local"}])),
        ("skills", with_(["skills"], [{"name": "ok-name", "description": "d" * 1001,
                                       "skill_type": "local"}])),
    ]


BAD_CONFIGS = bad_configs()


@pytest.mark.parametrize("field,c", BAD_CONFIGS,
                         ids=[f"{i}-{f}" for i, (f, _) in enumerate(BAD_CONFIGS)])
def test_assemble_invalid_config(bserver, fake, fl, field, c):
    before = len(bots(fl))
    e = fl.fail("POST", spath(str(uuid.uuid4()), "/assemble"), {"config": c}, 400,
                "VALIDATION_ERROR")
    assert f"config.{field}" in e["message"], f"message {e['message']!r} does not name " \
        f"config.{field}"
    assert len(bots(fl)) == before
    assert not os.path.exists(os.path.join(bserver.data_dir, "bots", "never-made-bot"))
    for s in c.get("skills") or []:
        if isinstance(s, dict) and isinstance(s.get("name"), str) and s["name"].startswith("sk-"):
            assert not os.path.exists(skill_dir(bserver, s["name"])), "stub left behind"
    assert fake.requests == []


def test_assemble_bad_bodies(bserver, fake, fl):
    path = spath(str(uuid.uuid4()), "/assemble")
    for body in ({}, {"config": None}, {"config": "x"}, {"config": []}):
        e = fl.fail("POST", path, body, 400, "VALIDATION_ERROR")
        assert "config" in e["message"], e
    for raw in (b"", b"{", b"[]"):
        fl.bad_json("POST", path, raw)
    assert fake.requests == []


# ===========================================================================
# POST /builder/sessions/{sid}/create-skill
# ===========================================================================

def check_skill_listed(fl, name, skill_type, description):
    items = fl.ok("GET", "skills", links={"self": f"{API}/skills"})
    mine = [i for i in items if i["name"] == name]
    assert len(mine) == 1, [i["name"] for i in items]
    assert (mine[0]["skill_type"], mine[0]["description"]) == (skill_type, description), mine
    m = fl.ok("GET", f"skills/{name}", links={"self": f"{API}/skills/{name}"})["manifest"]
    assert m["name"] == name and m["metadata"]["skill-type"] == skill_type, m
    # attachable
    bot = fl.create_bot(uname("Skill Holder"))
    cfg = fl.ok("POST", f"bots/{bot['slug']}/skills", {"skill_name": name}, status=201)
    assert cfg["skill_name"] == name, cfg
    return m


def test_create_skill_wasm(bserver, fake, fl):
    name = uname("arxiv-search")
    desc = "Search arXiv for recent papers"
    fake.script(reply(ask("Name the skill?")))
    sid = start(fl, "a skill", mode="skill", want_mode="skill")["session_id"]
    # the model names the skill wrongly and calls it a prompt skill: rewritten
    fake.script(skill_reply(skill_md("something-else", desc, "prompt"), source=RUST))
    res = create_skill(fl, sid, {"name": name, "description": desc, "skill_type": "wasm",
                                 "capabilities": ["http_get"]})
    assert (res["name"], res["description"], res["has_source_code"],
            res["suggested_capabilities"]) == (name, desc, True, ["http_get"]), res
    md = read(os.path.join(skill_dir(bserver, name), "SKILL.md"))
    assert res["skill_md_content"] == md
    fm = frontmatter(md)
    assert re.search(rf"^name: {re.escape(name)}$", fm, re.M), fm
    assert "something-else" not in fm and "skill-type: prompt" not in fm, fm
    assert re.search(r"^\s+skill-type: tool$", fm, re.M), fm
    assert read(os.path.join(skill_dir(bserver, name), "src", "lib.rs")) == RUST
    assert len(fake.requests) == 2
    req = fake.requests[1]
    builder_call(req, max_tokens=4096, temperature=0.4)
    assert name in req.last_user and desc in req.last_user, req.last_user
    assert "SKILL.md" in req.system and "boternity:skill/execute" in req.system, req.system
    no_draft(fl, sid)
    m = check_skill_listed(fl, name, "tool", desc)
    assert m["metadata"]["capabilities"] == ["http_get"], m


def test_create_skill_local(bserver, fake, fl):
    name = uname("greeter")
    desc = "Greets people warmly"
    # no metadata at all in the generated file: skill-type is added
    fake.script(skill_reply(skill_md(name, desc, metadata=False), caps=(), source="ignored"))
    res = create_skill(fl, str(uuid.uuid4()), {"name": name, "description": desc,
                                               "skill_type": "local"})
    assert (res["has_source_code"], res["suggested_capabilities"]) == (False, []), res
    md = read(os.path.join(skill_dir(bserver, name), "SKILL.md"))
    assert res["skill_md_content"] == md
    assert re.search(r"^\s+skill-type: prompt$", frontmatter(md), re.M), md
    assert not os.path.exists(os.path.join(skill_dir(bserver, name), "src"))
    req = fake.requests[0]
    builder_call(req, max_tokens=4096, temperature=0.4)
    assert "boternity:skill/execute" not in req.system
    check_skill_listed(fl, name, "prompt", desc)


@pytest.mark.parametrize("skill_type", [ABSENT, None, "wasm", "WASM", "python"],
                         ids=["absent", "null", "wasm", "WASM", "python"])
def test_create_skill_default_is_wasm(bserver, fake, fl, skill_type):
    name = uname("typed")
    fake.script(skill_reply(skill_md(name, "Typed skill", "tool"), source=RUST))
    req = {"name": name, "description": "Typed skill"}
    if skill_type is not ABSENT:
        req["skill_type"] = skill_type
    res = create_skill(fl, str(uuid.uuid4()), req)
    assert res["has_source_code"] is True, res
    assert os.path.exists(os.path.join(skill_dir(bserver, name), "src", "lib.rs"))
    assert "boternity:skill/execute" in fake.requests[0].system


def test_create_skill_replaces_existing(bserver, fake, fl):
    name = uname("replaced")
    fake.script(skill_reply(skill_md(name, "First version", "prompt"), caps=()))
    create_skill(fl, str(uuid.uuid4()), {"name": name, "description": "First version",
                                         "skill_type": "local"})
    fake.script(skill_reply(skill_md(name, "Second version", "prompt"),
                            caps=(("read_file", "reads"),)))
    res = create_skill(fl, str(uuid.uuid4()), {"name": name, "description": "Second version",
                                               "skill_type": "local"})
    assert res["description"] == "Second version"
    assert read(os.path.join(skill_dir(bserver, name), "SKILL.md")) == res["skill_md_content"]
    assert "Second version" in res["skill_md_content"]
    assert "First version" not in res["skill_md_content"]


def test_create_skill_retry_and_failure(bserver, fake, fl):
    name = uname("retried")
    # wasm without source code is invalid: retried once
    fake.script(skill_reply(skill_md(name, "Needs code", "tool"), source=None))
    fake.script(skill_reply(skill_md(name, "Needs code", "tool"), source=RUST))
    res = create_skill(fl, str(uuid.uuid4()), {"name": name, "description": "Needs code"})
    assert res["has_source_code"] is True
    reqs = fake.requests
    assert len(reqs) == 2
    msgs = reqs[1].messages
    assert [m["role"] for m in msgs] == ["user", "assistant", "user"], msgs
    assert msgs[1]["content"] == reqs[0].reply.text
    # two invalid replies: 500, nothing written
    fake.reset()
    bad = uname("never-written")
    fake.script(fakellm.text("Here is your skill: it searches."), times=2)
    fl.fail("POST", spath(str(uuid.uuid4()), "/create-skill"),
            {"skill_request": {"name": bad, "description": "x", "skill_type": "local"}},
            500, "INTERNAL_ERROR")
    assert len(fake.requests) == 2
    assert not os.path.exists(skill_dir(bserver, bad))
    fake.reset()
    fake.script(skill_reply("no frontmatter here", caps=()), times=2)
    fl.fail("POST", spath(str(uuid.uuid4()), "/create-skill"),
            {"skill_request": {"name": bad, "description": "x", "skill_type": "local"}},
            500, "INTERNAL_ERROR")
    assert not os.path.exists(skill_dir(bserver, bad))


def test_create_skill_invalid_requests(bserver, fake, fl):
    path = spath(str(uuid.uuid4()), "/create-skill")
    for req in ({"name": "Bad Name", "description": "x"},
                {"name": "-leading", "description": "x"},
                {"name": "a" * 65, "description": "x"},
                {"name": "", "description": "x"},
                {"name": "under_score", "description": "x"},
                {"description": "x"},
                {"name": "fine-name", "description": ""},
                {"name": "fine-name", "description": "d" * 2001},
                {"name": "fine-name"}):
        fl.fail("POST", path, {"skill_request": req}, 400, "VALIDATION_ERROR")
    # a field of the wrong type (§1.5), however the nested field is named
    e = fl.fail("POST", path, {"skill_request": {"name": 5, "description": "x"}}, 400,
                "VALIDATION_ERROR", prefix="Invalid field '")
    assert "name" in e["message"], e
    for body in ({}, {"skill_request": None}, {"skill_request": "x"}):
        fl.fail("POST", path, body, 400, "VALIDATION_ERROR")
    fl.bad_json("POST", path, b"{")
    assert fake.requests == []
    assert not os.path.exists(skill_dir(bserver, "fine-name"))
    # the limits themselves are accepted
    name = "a" + uuid.uuid4().hex[:8] + "-" * 1 + "b" * 54
    assert len(name) == 64
    fake.script(skill_reply(skill_md(name, "d" * 2000, "prompt"), caps=()))
    create_skill(fl, str(uuid.uuid4()), {"name": name, "description": "d" * 2000,
                                         "skill_type": "local"})


# ===========================================================================
# POST /builder/sessions/{sid}/reconfigure
# ===========================================================================

def test_reconfigure(bserver, fake, fl):
    name = uname("Weather Watcher")
    bot = make_bot(fl, name, identity=identity_md(name, model="claude-reconf-7", provider="anth",
                                                  temperature=0.3, max_tokens=1500))
    fl.ok("PUT", f"bots/{bot['id']}", {"description": "Watches the weather closely",
                                        "category": "utility", "tags": ["wx"]},
          links={"self": f"{API}/bots/{bot['id']}"})
    sk = uname("forecast")
    write_skill(bserver.data_dir, sk, f"---\nname: {sk}\ndescription: Forecasts\n---\n")
    fl.ok("POST", f"bots/{bot['slug']}/skills", {"skill_name": sk}, status=201)
    sid = str(uuid.uuid4())           # a session id the client chose
    turn = preview("review", name=name, skills=[sk])
    fake.script(reply(turn))
    d = fl.ok("POST", spath(sid, "/reconfigure"), {"bot_slug": bot["slug"]},
              links=links(sid, "self"))
    assert_keys(d, START_KEYS, "reconfigure data")
    assert (d["session_id"], d["mode"]) == (sid, "bot"), d
    same(d["turn"], turn)
    req = builder_call(fake.requests[0])
    s = check_prompt(req.system, "bot reconfiguration", with_config=True)
    cc = s["current_config"]
    for want in (name, "Watches the weather closely", "utility", "wx", "adaptive",
                 "claude-reconf-7", "0.3", "1500", sk):
        assert want in cc, f"{want!r} not in <current_config>:\n{cc}"
    assert req.messages and req.messages[-1]["role"] == "user" and req.last_user.strip()
    g = draft(fl, sid)
    assert g["question_count"] == 0, g
    assert sid in [x["session_id"] for x in drafts(fl)]
    # by UUID, and the next answer goes on from that draft
    sid2 = str(uuid.uuid4())
    fake.script(reply(ask("What should change?", phase="review")))
    fl.ok("POST", spath(sid2, "/reconfigure"), {"bot_slug": bot["id"]}, links=links(sid2, "self"))
    fake.script(reply(clarify("Only the tone?")))
    a = answer(fl, sid2, {"FreeText": "Make it cheerful"})
    assert a["state_summary"]["question_count"] == 1
    s = check_prompt(fake.requests[-1].system, "bot reconfiguration", with_config=True)
    assert name in s["current_config"]


def test_reconfigure_replaces_a_draft(bserver, fake, fl):
    bot = fl.create_bot(uname("Replaceable"))
    fake.script(reply(ask()))
    sid = start(fl, "first draft")["session_id"]
    fake.script(reply(ask("Tone?", phase="personality")))
    answer(fl, sid, {"FreeText": "x"})
    fake.script(reply(preview()))
    fl.ok("POST", spath(sid, "/reconfigure"), {"bot_slug": bot["slug"]}, links=links(sid, "self"))
    assert draft(fl, sid)["question_count"] == 0
    assert [x["session_id"] for x in drafts(fl)].count(sid) == 1


def test_reconfigure_errors(bserver, fake, fl):
    sid = str(uuid.uuid4())
    for ident in ("no-such-bot", str(uuid.uuid4()), "NOT a slug"):
        fl.fail("POST", spath(sid, "/reconfigure"), {"bot_slug": ident}, 404, "BOT_NOT_FOUND",
                "Bot not found")
    fl.fail("POST", spath(sid, "/reconfigure"), {}, 400, "VALIDATION_ERROR")
    fl.bad_field("POST", spath(sid, "/reconfigure"), {"bot_slug": 42}, "bot_slug")
    fl.bad_json("POST", spath(sid, "/reconfigure"), b"{")
    assert fake.requests == []
    no_draft(fl, sid)


# ===========================================================================
# WebSocket /ws/builder/{session_id}
# ===========================================================================

@pytest.mark.parametrize("sid", BAD_SIDS[:3] + ["%20"])
def test_ws_upgrade_refused_for_non_uuid(bserver, fake, sid):
    c, r = upgrade(bserver.ports[FAM], upgrade_request(f"/ws/builder/{sid}", new_key()))
    c.close()
    j = assert_error_shape("fleet", r, 400, code="VALIDATION_ERROR")
    assert set(j) == {"data", "meta", "errors"}, j
    assert r.header("Upgrade") is None, r


def test_ws_auth_follows_fleet_auth(fresh, fake):
    srv = fresh(args=["--fleet.auth=key"])
    sid = str(uuid.uuid4())
    c, r = upgrade(srv.ports[FAM], upgrade_request(f"/ws/builder/{sid}", new_key()))
    c.close()
    assert_error_shape("fleet", r, 401, code="UNAUTHORIZED", message=MISSING_KEY_MSG)
    with pytest.raises(UpgradeRefused):
        BWS(srv, sid, headers={"X-API-Key": "roost_" + "0" * 64})
    with BWS(srv, sid, headers={"X-API-Key": srv.api_key()}) as w:
        w.ping()
    srv.stop()


def test_ws_ping_and_nothing_on_connect(bserver, fake):
    with BWS(bserver, str(uuid.uuid4())) as w:
        w.ws.expect_quiet()
        for _ in range(3):
            w.ping()
        w.send('  {"type" : "ping", "extra": [1, {"a": null}]}  ')
        assert w.recv(pong=True) == {"type": "pong"}


INVALID_WS = [b"not json", b"{", b"[]", b'"ping"', b"null", b"{}", b'{"type":null}',
              b'{"type":42}', b'{"type":"PING"}', b'{"type":"nope"}', b'{"type":"startBot"}',
              b'{"type":"ping"} trailing']


def test_ws_invalid_messages(bserver, fake):
    with BWS(bserver, str(uuid.uuid4())) as w:
        for text in INVALID_WS:
            w.send(text)
            w.error(prefix="Invalid message: ")
        w.ping()
        w.ws.alive()
    assert fake.requests == []


def test_ws_errors_without_a_draft(bserver, fake, fl):
    sid = str(uuid.uuid4())
    with BWS(bserver, sid) as w:
        w.send({"type": "answer", "answer": {"FreeText": "hi"}})
        w.error("No active session. Send StartBot or StartSkill first.")
        w.send({"type": "answer", "answer": "Back"})
        w.error("No active session. Send StartBot or StartSkill first.")
        w.send({"type": "resume"})
        w.error("No draft found to resume.")
        # no draft: bot mode
        w.send({"type": "create_skill",
                "skill_request": {"name": uname("nope"), "description": "x"}})
        w.error("CreateSkill is only valid in skill creation mode.")
        w.ping()
    assert fake.requests == []
    no_draft(fl, sid)


def test_ws_start_bot_and_answers(bserver, fake, fl):
    sid = str(uuid.uuid4())
    with BWS(bserver, sid) as w:
        first = ask()
        fake.script(reply(first))
        w.send({"type": "start_bot", "description": "A bot over the socket"})
        same(w.turn(), first)
        req = builder_call(fake.requests[0])
        assert req.messages == [{"role": "user", "content": "A bot over the socket"}]
        check_prompt(req.system, "new bot creation")
        assert draft(fl, sid) == {"session_id": sid, "phase": "basics",
                                  "initial_description": "A bot over the socket",
                                  "question_count": 0}
        second = ask("Which tone?", phase="personality")
        fake.script(reply(second))
        w.send({"type": "answer", "answer": {"OptionIndex": 1}})
        same(w.turn(), second)
        assert fake.requests[-1].last_user == "Selected option 1: Lit Review Pal"
        fake.script(reply(clarify()))
        w.send({"type": "answer", "answer": {"FreeText": "cheerful"}})
        same(w.turn(), clarify())
        assert draft(fl, sid)["question_count"] == 2
        fake.script(reply(ask()))
        w.send({"type": "answer", "answer": "Back"})
        same(w.turn(), ask())
        assert fake.requests[-1].last_user == BACK_MSG
        w.send({"type": "answer", "answer": "Back"})
        assert "cannot go back from the first phase" in w.error()
        # a malformed answer
        w.send({"type": "answer", "answer": {"OptionIndex": -1}})
        w.error()
        w.send({"type": "answer", "answer": {"OptionIndex": 7}})
        w.error()
        w.ping()
        # resume: the saved last turn again, no LLM call
        n = len(fake.requests)
        w.send({"type": "resume"})
        same(w.turn(), ask())
        assert len(fake.requests) == n
        # start_bot replaces the draft
        fake.script(reply(ask("Fresh start?")))
        w.send({"type": "start_bot", "description": "Second thoughts"})
        same(w.turn(), ask("Fresh start?"))
    assert draft(fl, sid) == {"session_id": sid, "phase": "basics",
                              "initial_description": "Second thoughts", "question_count": 0}


def test_ws_answer_on_a_rest_draft(bserver, fake, fl):
    """A draft made over REST is loaded on connect; REST sees the socket's turns."""
    fake.script(reply(ask()))
    sid = start(fl)["session_id"]
    with BWS(bserver, sid) as w:
        n = len(fake.requests)
        w.send({"type": "resume"})
        same(w.turn(), ask())
        assert len(fake.requests) == n
        fake.script(reply(preview("model")))
        w.send({"type": "answer", "answer": {"OptionIndex": 0}})
        same(w.turn(), preview("model"))
    assert draft(fl, sid)["phase"] == "model"
    assert draft(fl, sid)["question_count"] == 1


def test_ws_skill_mode(bserver, fake, fl):
    sid = str(uuid.uuid4())
    name = uname("ws-skill")
    with BWS(bserver, sid) as w:
        fake.script(reply(ask("What should the skill be called?")))
        w.send({"type": "start_skill", "description": "A skill that searches arXiv"})
        w.turn()
        check_prompt(fake.requests[0].system, "new skill creation")
        w.send({"type": "assemble_bot", "config": config()})
        w.error("AssembleBot is only valid in bot creation mode.")
        fake.script(skill_reply(skill_md(name, "Searches arXiv", "prompt"), source=RUST))
        w.send({"type": "create_skill",
                "skill_request": {"name": name, "description": "Searches arXiv"}})
        res = w.result("skill_created", WS_SKILL_KEYS)
        assert (res["name"], res["description"], res["has_source_code"],
                res["suggested_capabilities"]) == (name, "Searches arXiv", True, ["http_get"])
        builder_call(fake.requests[-1], max_tokens=4096, temperature=0.4)
        w.ping()
    assert os.path.exists(os.path.join(skill_dir(bserver, name), "src", "lib.rs"))
    no_draft(fl, sid)


def test_ws_loads_draft_mode_on_connect(bserver, fake, fl):
    before = len(bots(fl))
    fake.script(reply(ask("Skill name?")))
    skill_sid = start(fl, "a skill", mode="skill", want_mode="skill")["session_id"]
    fake.script(reply(ask()))
    bot_sid = start(fl, "a bot")["session_id"]
    with BWS(bserver, skill_sid) as w:
        w.send({"type": "assemble_bot", "config": config()})
        w.error("AssembleBot is only valid in bot creation mode.")
        name = uname("local-one")
        fake.script(skill_reply(skill_md(name, "Local one"), caps=()))
        w.send({"type": "create_skill", "skill_request": {"name": name,
                                                          "description": "Local one",
                                                          "skill_type": "local"}})
        res = w.result("skill_created", WS_SKILL_KEYS)
        assert res["has_source_code"] is False and res["suggested_capabilities"] == [], res
    no_draft(fl, skill_sid)
    with BWS(bserver, bot_sid) as w:
        w.send({"type": "create_skill", "skill_request": {"name": uname("x"),
                                                          "description": "x"}})
        w.error("CreateSkill is only valid in skill creation mode.")
        c = config()
        w.send({"type": "assemble_bot", "config": c})
        res = w.result("bot_assembled", WS_ASSEMBLED_KEYS)
        assert (res["bot_slug"], res["bot_name"], res["skills_attached"]) == \
            (slug_of(c["name"]), c["name"], []), res
        assert_uuid7(res["bot_id"])
    no_draft(fl, bot_sid)
    assert len(bots(fl)) == before + 1
    assert len(fake.requests) == 3


def test_ws_assemble_without_draft_and_failures(bserver, fake, fl):
    before = len(bots(fl))
    with BWS(bserver, str(uuid.uuid4())) as w:
        w.send({"type": "assemble_bot", "config": config(name="")})
        w.error(prefix="Assembly failed: ")
        w.send({"type": "assemble_bot", "config": config(model_config={
            "model": "m", "temperature": 9, "max_tokens": 10})})
        w.error(prefix="Assembly failed: ")
        w.ping()
        assert len(bots(fl)) == before
        sk = uname("ws-stub")
        c = config(skills=[{"name": sk, "description": "A stub", "skill_type": "wasm"}])
        w.send({"type": "assemble_bot", "config": c})
        res = w.result("bot_assembled", WS_ASSEMBLED_KEYS)
        assert res["skills_attached"] == [sk], res
        same_text(read(os.path.join(skill_dir(bserver, sk), "SKILL.md")),
                  STUB_TEMPLATE.format(name=sk, description="A stub", skill_type="tool"), sk)
    assert len(bots(fl)) == before + 1
    assert fake.requests == []


def test_ws_llm_failures(bserver, fake, fl):
    with BWS(bserver, str(uuid.uuid4())) as w:
        fake.script(fakellm.text("no json here"), times=2)
        w.send({"type": "start_bot", "description": "never parses"})
        w.error(prefix="Builder error: ")
        assert len(fake.requests) == 2
        fake.script(fakellm.http_error(401, "invalid x-api-key"), kind="anthropic")
        w.send({"type": "start_skill", "description": "provider refuses"})
        w.error(prefix="Builder error: ")
        assert len(fake.requests) == 3
        w.ping()
    with BWS(bserver, str(uuid.uuid4())) as w:
        fake.script(reply(ask("Skill?")))
        w.send({"type": "start_skill", "description": "a skill"})
        w.turn()
        fake.script(fakellm.text("not a skill"), times=2)
        w.send({"type": "create_skill", "skill_request": {"name": uname("fails"),
                                                          "description": "x",
                                                          "skill_type": "local"}})
        w.error(prefix="Skill generation failed: ")
        assert len(fake.requests) == 6
        w.ping()


def test_ws_two_messages_at_once(bserver, fake, fl):
    """Three messages in one write: the first starts a turn, the second is
    refused while it runs, the ping is answered meanwhile."""
    fake.script(reply(ask()))
    sid = start(fl)["session_id"]
    slow = ask("Slow?", phase="personality")
    fake.script(stalled(slow))
    with BWS(bserver, sid) as w:
        msgs = [{"type": "answer", "answer": {"FreeText": "first"}},
                {"type": "answer", "answer": {"FreeText": "second"}},
                {"type": "ping"}]
        w.ws.send(b"".join(build_frame(OP_TEXT, json.dumps(m).encode()) for m in msgs))
        req = fake.wait_requests(2)[1]
        w.error(RUNNING_WS)
        assert w.recv(pong=True) == {"type": "pong"}
        # REST sees the socket's turn running too
        busy(fl.call("POST", spath(sid, "/answer"), {"answer": {"FreeText": "rest"}}),
             f"A builder turn is already running for session {sid}")
        assert len(fake.requests) == 2
        req.release()
        same(w.turn(), slow)
        assert req.last_user == "first"
    assert draft(fl, sid)["question_count"] == 1


def test_ws_close_mid_turn_then_resume(bserver, fake, fl):
    fake.script(reply(ask()))
    sid = start(fl)["session_id"]
    slow = ask("Still there?", phase="personality")
    fake.script(stalled(slow))
    w = BWS(bserver, sid)
    w.send({"type": "answer", "answer": {"FreeText": "leaving"}})
    req = fake.wait_requests(2)[1]
    w.close()
    # Let roostd see the socket go before the reply arrives (ordering, not a
    # measurement: the assertions below hold either way).
    time.sleep(0.1 * SLOW)
    req.release()
    req.wait_done(TURN_TIMEOUT)
    assert req.outcome == "complete", f"the turn was abandoned with its client: {req!r}"
    wait_for(lambda: draft(fl, sid)["phase"] == "personality", TURN_TIMEOUT,
             interval=0.05, what="the turn saved after its client left")
    assert draft(fl, sid)["question_count"] == 1
    with BWS(bserver, sid) as w2:
        w2.send({"type": "resume"})
        same(w2.turn(), slow)
    assert len(fake.requests) == 2, "resume called the provider for a saved turn"


def builder_sockets_open(fl):
    """roost_stream_open{endpoint="fleet /ws/builder"} from /metrics."""
    r = fl.srv.request(FAM, "GET", "/metrics", headers={"X-API-Key": fl.key})
    assert r.status == 200, r
    for line in r.body.decode().splitlines():
        if line.startswith("roost_stream_open{") and "fleet /ws/builder" in line:
            return int(float(line.rsplit(" ", 1)[1]))
    return 0


def test_ws_resume_while_the_turn_still_runs(bserver, fake, fl):
    """A new socket's resume, sent while the turn its old socket started is
    still running, gets that turn when it ends (not the question before it),
    from the one provider call."""
    fake.script(reply(ask()))
    sid = start(fl)["session_id"]
    slow = ask("Still there?", phase="personality")
    fake.script(stalled(slow))
    base = builder_sockets_open(fl)
    w = BWS(bserver, sid)
    wait_for(lambda: builder_sockets_open(fl) == base + 1, TURN_TIMEOUT, interval=0.02,
             what="the first socket counted")
    w.send({"type": "answer", "answer": {"FreeText": "leaving"}})
    req = fake.wait_requests(2)[1]
    w.close()
    wait_for(lambda: builder_sockets_open(fl) == base, TURN_TIMEOUT, interval=0.02,
             what="roostd saw the first socket close")
    with BWS(bserver, sid) as w2:
        w2.send({"type": "resume"})
        w2.ping()                      # answered at once: resume sent nothing yet
        req.release()
        same(w2.turn(), slow)
    assert req.outcome == "complete"
    assert draft(fl, sid)["question_count"] == 1
    assert len(fake.requests) == 2


# ===========================================================================
# Drafts survive kill -9
# ===========================================================================

def test_drafts_survive_kill9(fresh, fake):
    srv = fresh(args=builder_args(fake))
    f = Fleet(srv)
    fake.script(reply(ask()))
    sid = start(f, "Crash-proof draft")["session_id"]
    second = ask("Which tone?", phase="personality",
                 options=[{"id": "a", "label": "Warm", "description": None},
                          {"id": "b", "label": "Dry", "description": None}])
    fake.script(reply(second))
    answer(f, sid, {"FreeText": "Call it Phoenix"})
    ws_sid = str(uuid.uuid4())
    with BWS(srv, ws_sid) as w:
        fake.script(reply(ask("Skill name?")))
        w.send({"type": "start_skill", "description": "A crash-proof skill"})
        w.turn()
    srv.kill9()
    srv.start()
    f = Fleet(srv)
    assert draft(f, sid) == {"session_id": sid, "phase": "personality",
                             "initial_description": "Crash-proof draft", "question_count": 1}
    listed = {x["session_id"]: x for x in drafts(f)}
    assert listed[sid]["phase"] == "personality" and ws_sid in listed, listed
    n = len(fake.requests)
    # via WebSocket: the saved turn, and the mode survived
    with BWS(srv, sid) as w:
        w.send({"type": "resume"})
        same(w.turn(), second)
    with BWS(srv, ws_sid) as w:
        w.send({"type": "assemble_bot", "config": config()})
        w.error("AssembleBot is only valid in bot creation mode.")
        w.send({"type": "resume"})
        same(w.turn(), ask("Skill name?"))
    assert len(fake.requests) == n
    # via REST: the draft goes on where it was
    fake.script(reply(clarify()))
    d = answer(f, sid, {"OptionIndex": 1})
    assert d["state_summary"] == {"phase": "personality", "question_count": 2}
    req = fake.requests[-1]
    assert req.last_user == "Selected option 1: Dry"
    ctx = context_of(req)
    assert "Call it Phoenix" in ctx and "Crash-proof draft" in ctx, ctx
    srv.stop()


# ===========================================================================
# the heartbeat: {"type":"pong"} every fleet.ws_heartbeat_ms (30 s by default)
# ===========================================================================

def test_ws_heartbeat_pong(roostd, tmp_path, fake_srv):
    """The unsolicited text pong comes again and again while the socket is
    open, with no client message in between (the period is shortened
    through fleet.ws_heartbeat_ms, the key that sets it; the test counts
    pongs, it does not time them)."""
    srv = roostlib.Server(tmp_path, args=builder_args(fake_srv, "--fleet.ws_heartbeat_ms=200"))
    srv.start()
    try:
        with BWS(srv, str(uuid.uuid4())) as w:
            for _ in range(3):
                assert w.recv(pong=True) == {"type": "pong"}
            # still a working socket: a message is answered between beats
            w.send({"type": "resume"})
            w.error("No draft found to resume.")
    finally:
        srv.stop()
