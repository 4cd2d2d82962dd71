"""fleet's chat stream, POST /api/v1/bots/{id}/chat/stream (spec/fleet.md §6-§8),
against the fake LLM provider (fakellm.py) over HTTP and TLS.

Covers the §6 check table in its order, plain turns on both wire formats,
the response headers and the strict SSE framing, what is sent to the
provider (model, settings, the §7.3 system prompt, history, keys), sessions
and persistence (§7.7), provider selection and failover (§7.2, with the
decision that a provider name not configured selects by kind), client
disconnects and the keep-alive comment. Sub-agents, budgets and
cancellation are in test_chat_agents.py, which reuses the helpers here.

Every SSE body is parsed strictly: each event is exactly
``event: <name>\\n`` + ``data: <one-line JSON object>\\n`` + ``\\n``; the
only other thing allowed between events is the comment ``:\\n\\n``; nothing
follows ``done``.
"""

import json
import re
import socket
import time
import uuid

import pytest

import fakellm
import roostlib
from fakellm import FakeLLM
from fleetlib import (API, INVALID_KEY_MSG, MISSING_KEY_MSG, MODEL, Fleet, assert_uuid7,
                      check_message, check_session, parse_entity_ts, parse_json, seed_session,
                      ts_at, uuid7)
from roostlib import IO_TIMEOUT, SLOW, Raw, assert_error_shape, readable, wait_for
from wslib import OP_TEXT, QUIET, WS, SmallRaw

# What this file needs built into roostd (conftest.py deselects it, and
# lists it, for a profile without them).
NEEDS = {"fleet", "llm"}

FAM = "fleet"
TIMEOUT_MS = int(3000 * SLOW)          # provider connect + first byte
STREAM_TIMEOUT = 10.0 * SLOW           # a whole chat stream

AGENT_EVENTS = ("agent_spawned", "agent_text_delta", "agent_completed", "agent_failed",
                "agent_cancelled", "budget_update", "budget_warning", "budget_exhausted",
                "depth_limit", "cycle_detected")
# SSE name -> bus `type` where they differ (§8)
BUS_TYPE = {"depth_limit": "depth_limit_reached"}

INSTRUCTIONS = (
    "<instructions>\n"
    "You are {name}. Always stay in character as defined in your soul.\n"
    "Express your personality strongly in every response.\n"
    "Reference past conversations naturally without saying \"I remember\".\n"
    "When uncertain, acknowledge it honestly.\n"
    "</instructions>")

AGENT_CAPABILITIES = (
    "<agent_capabilities>\n"
    "You can decompose complex tasks by spawning sub-agents. To do this, include a spawn "
    "block in your response:\n"
    "\n"
    "For parallel execution (tasks run simultaneously):\n"
    "<spawn_agents mode=\"parallel\">\n"
    "  <agent task=\"Description of sub-task 1\" />\n"
    "  <agent task=\"Description of sub-task 2\" />\n"
    "</spawn_agents>\n"
    "\n"
    "For sequential execution (each task sees the previous result):\n"
    "<spawn_agents mode=\"sequential\">\n"
    "  <agent task=\"First step description\" />\n"
    "  <agent task=\"Second step description\" />\n"
    "</spawn_agents>\n"
    "\n"
    "Guidelines:\n"
    "- Only spawn sub-agents when the task genuinely benefits from decomposition\n"
    "- Each task description should be specific and self-contained\n"
    "- Sub-agents inherit your personality and respond in character\n"
    "- You may include text before the spawn block to explain your approach\n"
    "- After sub-agents complete, you will receive their results and should synthesize a "
    "cohesive response\n"
    "- Sub-agents can spawn their own sub-agents up to 3 levels deep\n"
    "</agent_capabilities>")

SUB_AGENT_INSTRUCTIONS = (
    "<sub_agent_instructions>\n"
    "You are executing a focused sub-task. Respond with your result directly. Be thorough "
    "but stay focused on the task.\n"
    "</sub_agent_instructions>")

SYNTHESIS_TAIL = ("Based on these sub-agent results, synthesize a cohesive response that "
                  "integrates all findings. Address any gaps from failed sub-agents.")


# ---------------------------------------------------------------------------
# The SSE client
# ---------------------------------------------------------------------------

class SSE:
    """One POST .../chat/stream on a raw socket.

    After the head: ``status``, ``headers`` (list of pairs). A non-200 is
    read whole into ``resp`` (a roostlib.Resp). A 200 is read event by
    event through ``next()``; ``events`` lists (name, data) as received,
    ``comments`` counts ``:\\n\\n`` comments, ``trace`` lists both in order.
    """

    def __init__(self, srv, ident, body, key=True, headers=None, timeout=STREAM_TIMEOUT,
                 rcvbuf=None):
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body, ensure_ascii=False)
        if isinstance(body, str):
            body = body.encode("utf-8")
        h = {"Host": "127.0.0.1", "Content-Type": "application/json",
             "Content-Length": str(len(body))}
        if key is True:
            h["X-API-Key"] = srv.api_key()
        elif isinstance(key, str):
            h["X-API-Key"] = key
        h.update(headers or {})
        head = f"POST {API}/bots/{ident}/chat/stream HTTP/1.1\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
        self.timeout = timeout
        self.raw = (Raw(srv.ports[FAM], timeout=timeout) if rcvbuf is None
                    else SmallRaw(srv.ports[FAM], rcvbuf, timeout=timeout))
        self.raw.send(head.encode("latin-1") + body)
        self.events = []
        self.comments = 0
        self.trace = []
        self.sse = b""            # decoded body bytes not yet parsed
        self.ended = False        # the body ended (EOF or last chunk)
        self.chunked = False
        self.chunk_left = 0
        self.resp = None
        self._read_head()

    # -- head -------------------------------------------------------------------
    def _read_head(self):
        r = self.raw
        r._need(lambda: b"\r\n\r\n" in r.buf, "the response head", self.timeout)
        raw_head = r.buf.split(b"\r\n\r\n", 1)[0]
        lines = raw_head.decode("latin-1").split("\r\n")
        m = re.match(r"^HTTP/1\.[01] (\d{3})", lines[0])
        assert m, f"bad status line {lines[0]!r}"
        self.status = int(m.group(1))
        self.headers = []
        for ln in lines[1:]:
            k, v = ln.split(":", 1)
            self.headers.append((k, v.strip()))
        if self.status != 200:
            self.resp = r.read_response()
            self.raw.close()
            return
        r.buf = r.buf.split(b"\r\n\r\n", 1)[1]
        te = self.header("Transfer-Encoding")
        if te is not None:
            assert te.lower() == "chunked", f"Transfer-Encoding {te!r}"
            self.chunked = True
        assert self.header("Content-Length") is None, \
            f"an SSE stream with a Content-Length: {self.headers}"

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    # -- body -------------------------------------------------------------------
    def _fill(self, timeout):
        """Read more of the socket into raw.buf; False at EOF; raises
        socket.timeout."""
        if self.raw.eof:
            return False
        return self.raw._fill(timeout)

    def _decode(self):
        """Move whole decoded body bytes from raw.buf to self.sse."""
        r = self.raw
        if not self.chunked:
            self.sse += r.buf
            r.buf = b""
            return
        while True:
            if self.ended:
                assert r.buf == b"", f"bytes after the last chunk: {r.buf[:200]!r}"
                return
            if self.chunk_left > 0:
                take = r.buf[:self.chunk_left]
                self.sse += take
                r.buf = r.buf[len(take):]
                self.chunk_left -= len(take)
                if self.chunk_left > 0:
                    return
                self.chunk_left = -2          # expect CRLF
            if self.chunk_left == -2:
                if len(r.buf) < 2:
                    return
                assert r.buf[:2] == b"\r\n", f"chunk not followed by CRLF: {r.buf[:40]!r}"
                r.buf = r.buf[2:]
                self.chunk_left = 0
            if b"\r\n" not in r.buf:
                return
            line, rest = r.buf.split(b"\r\n", 1)
            size = int(line.split(b";")[0], 16)
            if size == 0:
                if not rest.startswith(b"\r\n"):
                    if b"\r\n\r\n" not in rest:
                        return
                    rest = rest.split(b"\r\n\r\n", 1)[1]
                else:
                    rest = rest[2:]
                r.buf = rest
                self.ended = True
                continue
            r.buf = rest
            self.chunk_left = size

    def _parse_one(self):
        """One event or comment off self.sse: ('comment', None) or
        (name, data); None when more bytes are needed."""
        s = self.sse
        if not s:
            return None
        if s[:1] == b":":
            if len(s) < 3:
                assert b":\n\n".startswith(s), f"bad comment {s[:80]!r}"
                return None
            assert s[:3] == b":\n\n", f"a comment other than ':\\n\\n': {s[:80]!r}"
            self.sse = s[3:]
            return ("comment", None)
        if len(s) < 7:
            assert b"event: ".startswith(s), f"not an SSE event: {s[:80]!r}"
            return None
        assert s.startswith(b"event: "), f"not an SSE event: {s[:200]!r}"
        nl = s.find(b"\n")
        if nl < 0:
            return None
        name = s[7:nl].decode("utf-8")
        assert re.match(r"^[a-z_]+$", name), f"event name {name!r}"
        rest = s[nl + 1:]
        if len(rest) < 6:
            assert b"data: ".startswith(rest), f"event {name} not followed by data: {s[:200]!r}"
            return None
        assert rest.startswith(b"data: "), f"event {name} not followed by data: {s[:200]!r}"
        nl2 = rest.find(b"\n")
        if nl2 < 0 or len(rest) < nl2 + 2:
            return None
        assert rest[nl2 + 1:nl2 + 2] == b"\n", \
            f"event {name}: data line not followed by a blank line: {rest[:nl2 + 40]!r}"
        payload = rest[6:nl2]
        assert b"\r" not in payload, f"CR in data of {name}: {payload[:200]!r}"
        try:
            data = parse_json(payload)
        except ValueError as e:
            raise AssertionError(f"data of {name} is not one-line JSON ({e}): {payload[:300]!r}")
        assert isinstance(data, dict), f"data of {name} is not an object: {data!r}"
        self.sse = rest[nl2 + 2:]
        return (name, data)

    def next(self, timeout=None, comments=False):
        """The next event (name, data); with comments=True a comment is
        returned as ('comment', None). None when the body ended cleanly
        (nothing partial left)."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while True:
            self._decode()            # bytes already read (with the head, or earlier)
            item = self._parse_one()
            if item is not None:
                self.trace.append(item[0])
                if item[0] == "comment":
                    self.comments += 1
                    if comments:
                        return item
                    continue
                self.events.append(item)
                return item
            if self.ended or self.raw.eof:
                assert self.sse == b"", f"the stream ended inside an event: {self.sse[:200]!r}"
                assert self.ended or not self.chunked, \
                    f"EOF before the last chunk (events so far {self.names()})"
                self.ended = True
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no SSE event within the timeout; so far "
                                     f"{[n for n, _ in self.events]}")
            try:
                got = self._fill(left)
            except socket.timeout:
                continue
            if not got:
                self.raw.eof = True
            self._decode()

    def until(self, name, timeout=None):
        """Read events until one named `name`; returns its data."""
        while True:
            ev = self.next(timeout)
            assert ev is not None, f"stream ended before {name}: {self.names()}"
            if ev[0] == name:
                return ev[1]

    def finish(self, timeout=None):
        """Read to the end: after `done` the body must end (EOF, or the last
        chunk then EOF or nothing more); returns all events."""
        while not self.events or self.events[-1][0] != "done":
            ev = self.next(timeout)
            assert ev is not None, f"stream ended without done: {self.names()}"
        ev = self.next(timeout)
        assert ev is None, f"event after done: {ev}"
        self.close()
        return self.events

    def names(self):
        return [n for n, _ in self.events]

    def of(self, name):
        return [d for n, d in self.events if n == name]

    def text(self):
        """Concatenated text_delta texts (all of them, in order)."""
        return "".join(d["text"] for d in self.of("text_delta"))

    def session_id(self):
        assert self.events and self.events[0][0] == "session", self.names()
        return self.events[0][1]["session_id"]

    def close(self):
        self.raw.close()


def check_order(names):
    """The §8 grammar of one stream."""
    i = 0
    n = len(names)

    def at(k):
        return names[k] if k < n else None

    assert at(0) == "session", f"first event is not session: {names}"
    i = 1
    while at(i) == "text_delta":
        i += 1
    if at(i) == "usage":
        i += 1
    while at(i) in AGENT_EVENTS:
        i += 1
    if at(i) == "synthesis_started":
        i += 1
        k = 0
        while at(i) == "text_delta":
            i += 1
            k += 1
        if at(i) != "error":      # a failed synthesis call: synthesis_started ... error
            assert k >= 1, f"synthesis_started without text_delta: {names}"
            assert at(i) == "usage", f"synthesis text not followed by usage: {names}"
            i += 1
    if at(i) == "error":
        i += 1
    assert at(i) == "done" and i == n - 1, f"event order breaks §8 at #{i} ({at(i)}): {names}"


def check_sse_headers(s):
    assert s.status == 200, f"status {s.status}: {s.resp!r}"
    ct = s.header("Content-Type")
    assert ct is not None and ct.split(";")[0].strip() == "text/event-stream", s.headers
    assert s.header("Cache-Control") == "no-cache", s.headers
    assert s.header("X-Accel-Buffering") == "no", s.headers


def check_plain(s, text=None, usage=None):
    """A finished plain turn: session, text_delta+, usage?, done."""
    names = s.names()
    check_order(names)
    assert not any(n in AGENT_EVENTS or n in ("synthesis_started", "error") for n in names), \
        s.events
    sid = s.session_id()
    assert_uuid7(sid)
    assert list(s.events[0][1]) == ["session_id"], s.events[0]
    for n, d in s.events:
        if n == "text_delta":
            assert list(d) == ["text"] and isinstance(d["text"], str), d
        if n == "done":
            assert d == {}, d
    if text is not None:
        assert s.text() == text, f"streamed {s.text()!r}, expected {text!r}"
    if usage is not None:
        assert s.of("usage") == [usage], s.of("usage")
    return sid


# ---------------------------------------------------------------------------
# The /ws/events client
# ---------------------------------------------------------------------------

class Bus:
    """A /ws/events client that keeps every bus event it read."""

    def __init__(self, srv):
        self.ws = WS(srv.ports[FAM], path="/ws/events", read_init=False)
        self.got = []
        self.taken = set()        # indexes in got already returned by wait()

    def close(self):
        self.ws.close()

    def send(self, obj):
        self.ws.send_text(json.dumps(obj))

    def _read(self, timeout):
        """Read one message if one arrives within timeout; False if none."""
        if not self.ws.raw.buf and not readable(self.ws.sock, max(0.0, timeout)):
            return False
        m = self.ws.recv_message(timeout=max(0.05, timeout))
        assert m.opcode == OP_TEXT, f"unexpected message on /ws/events: {m!r}"
        self.got.append(parse_json(m.payload))
        return True

    def wait(self, pred, timeout=STREAM_TIMEOUT, what="a bus event"):
        """The oldest event matching pred that no earlier wait() returned
        (reading more from the socket as needed)."""
        if isinstance(pred, str):
            typ = pred
            pred = lambda e: e.get("type") == typ  # noqa: E731
            what = typ
        deadline = time.monotonic() + timeout
        i = 0
        while True:
            while i < len(self.got):
                if i not in self.taken and pred(self.got[i]):
                    self.taken.add(i)
                    return self.got[i]
                i += 1
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {what} on /ws/events; got {self.got}")
            self._read(min(left, 0.2))

    def drain(self, wait=QUIET):
        """Everything that arrives within `wait` of quiet."""
        while self._read(wait):
            pass
        return self.got

    def of(self, typ):
        return [e for e in self.got if e.get("type") == typ]


# ---------------------------------------------------------------------------
# fleet helpers
# ---------------------------------------------------------------------------

def identity_md(name="Tester", model="claude-test", provider="anthropic", temperature=0.5,
                max_tokens=1000, extra=""):
    return (f"---\ndisplay_name: {name}\ncategory: assistant\nmodel: {model}\n"
            f"provider: {provider}\ntemperature: {temperature}\nmax_tokens: {max_tokens}\n"
            f"{extra}---\n\n# {name} - Identity Configuration\n")


def make_bot(fleet, name="Chat Bot", identity=None, soul=None, user=None):
    bot = fleet.create_bot(name)
    if identity is not None:
        fleet.ok("PUT", f"bots/{bot['id']}/identity", {"content": identity},
                 links={"self": f"{API}/bots/{bot['id']}/identity",
                        "bot": f"{API}/bots/{bot['id']}"})
    if soul is not None:
        r = fleet.call("PUT", f"bots/{bot['id']}/soul", {"content": soul, "message": None})
        assert r.status == 200, r
    if user is not None:
        r = fleet.call("PUT", f"bots/{bot['id']}/user", {"content": user})
        assert r.status == 200, r
    return bot


def bot_data(fleet, bot_id):
    r = fleet.call("GET", f"bots/{bot_id}")
    assert r.status == 200, r
    return parse_json(r.body)["data"]


def session_data(fleet, sid):
    r = fleet.call("GET", f"sessions/{sid}")
    assert r.status == 200, r
    return check_session(parse_json(r.body)["data"])


def messages(fleet, sid):
    r = fleet.call("GET", f"sessions/{sid}/messages")
    assert r.status == 200, r
    data = parse_json(r.body)["data"]
    for m in data:
        check_message(m)
    return data


def wait_messages(fleet, sid, n):
    """The session's messages once there are n (persistence may trail done)."""
    return wait_for(lambda: (lambda m: m if len(m) >= n else None)(messages(fleet, sid)),
                    IO_TIMEOUT, 0.05, f"{n} persisted messages in session {sid}")


def assert_nothing_persisted(fleet, sid):
    time.sleep(QUIET)      # give a wrong write the chance to land
    assert messages(fleet, sid) == [], "messages persisted after a failed turn"
    s = session_data(fleet, sid)
    assert (s["message_count"], s["total_input_tokens"], s["total_output_tokens"]) == \
        (0, 0, 0), s


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def provider_args(name, kind, base_url, default_model, key_secret=None, timeout_ms=TIMEOUT_MS):
    a = [f"--llm.provider.{name}.kind={kind}", f"--llm.provider.{name}.base_url={base_url}",
         f"--llm.provider.{name}.default_model={default_model}",
         f"--llm.provider.{name}.timeout_ms={timeout_ms}"]
    if key_secret:
        a.append(f"--llm.provider.{name}.api_key_secret={key_secret}")
    return a


def chat(srv, ident, message="Hello there", session_id=None, **kw):
    body = {"message": message}
    if session_id is not None:
        body["session_id"] = session_id
    return SSE(srv, ident, body, **kw)


def run_turn(srv, ident, message="Hello there", session_id=None):
    s = chat(srv, ident, message, session_id)
    check_sse_headers(s)
    s.finish()
    check_order(s.names())
    return s


# ---------------------------------------------------------------------------
# Fixtures: one roostd with five providers on two fakes
# ---------------------------------------------------------------------------
#
#   anth    anthropic          plain fake   default_model anth-default  key: secret CHAT_ANTH_KEY
#   oai     openai-compatible  plain fake   default_model oai-default   key: CHAT_OAI_KEY (env)
#   dead    anthropic          closed port  default_model dead-default
#   sec     anthropic          TLS fake     default_model sec-default
#   secoai  openai-compatible  TLS fake     default_model secoai-default
#   llm.fallback_chain = anth,oai,dead ; llm.history_max_messages = 4

OAI_ENV_KEY = "sk-env-oai-1234"


@pytest.fixture(scope="module")
def fakes():
    plain = FakeLLM().start()
    tls = FakeLLM(tls=True).start()
    yield plain, tls
    plain.stop()
    tls.stop()


@pytest.fixture(scope="module")
def chat_server(roostd, tmp_path_factory, fakes):
    plain, tls = fakes
    args = ["--llm.providers=anth,oai,dead,sec,secoai", "--llm.fallback_chain=anth,oai,dead",
            "--llm.history_max_messages=4", f"--llm.ca_file={tls.ca_file}"]
    args += provider_args("anth", "anthropic", plain.base_url, "anth-default", "CHAT_ANTH_KEY")
    args += provider_args("oai", "openai-compatible", plain.openai_base_url, "oai-default",
                          "CHAT_OAI_KEY")
    args += provider_args("dead", "anthropic", f"http://127.0.0.1:{closed_port()}",
                          "dead-default")
    args += provider_args("sec", "anthropic", tls.base_url, "sec-default")
    args += provider_args("secoai", "openai-compatible", tls.openai_base_url, "secoai-default")
    srv = roostlib.Server(tmp_path_factory.mktemp("chat"), args=args,
                          env={"CHAT_OAI_KEY": OAI_ENV_KEY})
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def fake(fakes, chat_server):
    """The plain fake, reset for this test; checked afterwards."""
    plain, tls = fakes
    for f in (plain, tls):
        f.release()
        f.reset()
        f.api_key = None
        f.reject_stream_options = False
        f.default = None
    yield plain
    plain.release()
    tls.release()
    assert not plain.errors and not tls.errors, plain.errors + tls.errors
    assert chat_server.alive(), f"roostd died\n{chat_server.logs()}"


@pytest.fixture
def tls_fake(fakes, fake):
    return fakes[1]


@pytest.fixture
def fleet(chat_server):
    return Fleet(chat_server)


@pytest.fixture
def bus(chat_server):
    b = Bus(chat_server)
    yield b
    b.close()


# ---------------------------------------------------------------------------
# §6 check table, in order
# ---------------------------------------------------------------------------

def expect_fail(srv, ident, body, status, code, message=None, key=True):
    s = SSE(srv, ident, body, key=key)
    assert s.status == status, f"expected {status} {code}, got {s.status}: {s.resp!r}"
    j = assert_error_shape("fleet", s.resp, status, code=code, message=message)
    assert set(j) == {"data", "meta", "errors"}, j
    return j["errors"][0]


def test_401_without_key_comes_first(chat_server, fake, fleet):
    bot = make_bot(fleet)
    expect_fail(chat_server, bot["id"], {"message": "hi"}, 401, "UNAUTHORIZED",
                MISSING_KEY_MSG, key=False)
    expect_fail(chat_server, bot["id"], {"message": "hi"}, 401, "UNAUTHORIZED",
                INVALID_KEY_MSG, key="not-the-key")
    # authentication is checked before the body and the bot
    expect_fail(chat_server, "no-such-bot", b"{not json", 401, "UNAUTHORIZED", key=False)
    # Authorization: Bearer works like X-API-Key
    fake.script(fakellm.text("ok"))
    s = SSE(chat_server, bot["id"], {"message": "hi"}, key=False,
            headers={"Authorization": f"Bearer {chat_server.api_key()}"})
    check_sse_headers(s)
    s.finish()
    assert fake.requests and len(fake.requests) == 1


@pytest.mark.parametrize("body,what", [
    (b"{not json", "bad JSON"),
    (b"", "empty body"),
    (b"[]", "not an object"),
    ({}, "missing message"),
    ({"message": None}, "null message"),
    ({"message": ""}, "empty message"),
    ({"message": 42}, "message not a string"),
    ({"message": ["hi"]}, "message an array"),
    ({"message": "x" * 100001}, "100001 characters"),
    ({"message": "\u00e9" * 100001}, "100001 two-byte characters"),
    ({"message": "hi", "session_id": 123}, "session_id a number"),
    ({"message": "hi", "session_id": {"id": "x"}}, "session_id an object"),
    ({"message": "hi", "session_id": True}, "session_id a bool"),
])
def test_400_body(chat_server, fake, fleet, body, what):
    bot = make_bot(fleet)
    before = bot_data(fleet, bot["id"])["conversation_count"]
    e = expect_fail(chat_server, bot["id"], body, 400, "VALIDATION_ERROR")
    if isinstance(body, dict) and "message" in body and body["message"] is not None \
            and not isinstance(body["message"], str):
        assert e["message"].startswith("Invalid field 'message': "), e
    if isinstance(body, dict) and "session_id" in body:
        assert "session_id" in e["message"], e
    assert fake.requests == [], f"{what}: a provider call was made"
    assert bot_data(fleet, bot["id"])["conversation_count"] == before, \
        f"{what}: a session was created"


def test_body_checked_before_bot(chat_server, fake):
    # a request that is both unknown-bot and bad-body gets the body's 400
    expect_fail(chat_server, "no-such-bot", b"{oops", 400, "VALIDATION_ERROR")
    expect_fail(chat_server, "no-such-bot", {"message": ""}, 400, "VALIDATION_ERROR")
    expect_fail(chat_server, str(uuid.uuid4()), {}, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("chars", ["x", "\u00e9", "\U0001F600"], ids=["ascii", "2byte", "4byte"])
def test_message_of_100000_characters_accepted(chat_server, fake, fleet, chars):
    bot = make_bot(fleet)
    fake.script(fakellm.text("long read", input_tokens=10, output_tokens=2))
    msg = chars * 100000
    s = chat(chat_server, bot["id"], msg)
    check_sse_headers(s)
    s.finish()
    check_plain(s, "long read")
    assert fake.requests[0].last_user == msg


@pytest.mark.parametrize("by", ["uuid", "slug", "garbage"])
def test_unknown_bot(chat_server, fake, by):
    ident = {"uuid": uuid7(), "slug": "no-such-bot-here", "garbage": "NOT%20a%20bot"}[by]
    expect_fail(chat_server, ident, {"message": "hi"}, 404, "BOT_NOT_FOUND", "Bot not found")
    # unknown bot outranks a bad or foreign session
    expect_fail(chat_server, ident, {"message": "hi", "session_id": "nope"}, 404,
                "BOT_NOT_FOUND", "Bot not found")
    expect_fail(chat_server, ident, {"message": "hi", "session_id": uuid7()}, 404,
                "BOT_NOT_FOUND", "Bot not found")
    assert fake.requests == []


def test_bot_by_slug_chats(chat_server, fake, fleet):
    bot = make_bot(fleet, "Slug Chatter")
    fake.script(fakellm.text("by slug"))
    s = run_turn(chat_server, bot["slug"])
    check_plain(s, "by slug")


@pytest.mark.parametrize("status", ["disabled", "archived"])
def test_inactive_bot_cannot_chat(chat_server, fake, fleet, status):
    bot = make_bot(fleet, f"Sleepy {status}")
    r = fleet.call("PUT", f"bots/{bot['id']}", {"status": status})
    assert r.status == 200, r
    msg = f"Bot 'Sleepy {status}' is {status} and cannot chat"
    for ident in (bot["id"], bot["slug"]):
        expect_fail(chat_server, ident, {"message": "hi"}, 400, "VALIDATION_ERROR", msg)
    # the bot's status is checked before the session id
    expect_fail(chat_server, bot["id"], {"message": "hi", "session_id": "not-a-uuid"}, 400,
                "VALIDATION_ERROR", msg)
    expect_fail(chat_server, bot["id"], {"message": "hi", "session_id": uuid7()}, 400,
                "VALIDATION_ERROR", msg)
    assert fake.requests == []
    assert bot_data(fleet, bot["id"])["conversation_count"] == 0


@pytest.mark.parametrize("sid", ["not-a-uuid", "", "0194f3bf-0000-7000-8000-00000000000",
                                 "0194f3bf00007000800000000000000001x"])
def test_invalid_session_id(chat_server, fake, fleet, sid):
    bot = make_bot(fleet)
    expect_fail(chat_server, bot["id"], {"message": "hi", "session_id": sid}, 400,
                "VALIDATION_ERROR", "Invalid session_id format")
    assert fake.requests == []


def test_null_session_id_means_new(chat_server, fake, fleet):
    bot = make_bot(fleet)
    fake.script(fakellm.text("fresh"))
    s = SSE(chat_server, bot["id"], {"message": "hi", "session_id": None})
    check_sse_headers(s)
    s.finish()
    check_plain(s, "fresh")
    assert bot_data(fleet, bot["id"])["conversation_count"] == 1


def test_session_unknown_or_of_another_bot(chat_server, fake, fleet):
    a = make_bot(fleet, "Owner")
    b = make_bot(fleet, "Intruder")
    sid, _ = seed_session(chat_server, a["id"])
    expect_fail(chat_server, b["id"], {"message": "hi", "session_id": sid}, 404,
                "SESSION_NOT_FOUND", "Session not found")
    expect_fail(chat_server, b["id"], {"message": "hi", "session_id": uuid7()}, 404,
                "SESSION_NOT_FOUND", "Session not found")
    assert fake.requests == []
    assert session_data(fleet, sid)["message_count"] == 0
    assert bot_data(fleet, b["id"])["conversation_count"] == 0


def test_no_provider_configured(fresh):
    srv = fresh()
    fl = Fleet(srv)
    bot = fl.create_bot("Lonely")
    expect_fail(srv, bot["id"], {"message": "hi"}, 500, "INTERNAL_ERROR",
                "No LLM provider configured")
    # the session check comes before the provider check
    expect_fail(srv, bot["id"], {"message": "hi", "session_id": uuid7()}, 404,
                "SESSION_NOT_FOUND", "Session not found")
    expect_fail(srv, bot["id"], {"message": "hi", "session_id": "bad"}, 400,
                "VALIDATION_ERROR", "Invalid session_id format")
    assert bot_data(fl, bot["id"])["conversation_count"] == 0
    assert fl.call("GET", f"bots/{bot['id']}/sessions").json()["data"] == []


def test_no_usable_provider(fresh, fake):
    """The identity's provider is neither a configured name nor a configured
    kind, and llm.fallback_chain is empty: no candidate, so the JSON 500
    before any stream (and no session made); naming the provider works."""
    srv = fresh(args=["--llm.providers=local", "--llm.fallback_chain="] +
                provider_args("local", "openai-compatible", fake.openai_base_url, "local-m"))
    fl = Fleet(srv)
    bot = fl.create_bot("Picky")                 # identity default: provider anthropic
    expect_fail(srv, bot["id"], {"message": "hi"}, 500, "INTERNAL_ERROR",
                "No usable LLM provider: the bot's provider is not configured and "
                "llm.fallback_chain is empty")
    assert fl.call("GET", f"bots/{bot['id']}/sessions").json()["data"] == []
    fl.ok("PUT", f"bots/{bot['id']}/identity",
          {"content": identity_md("Picky", provider="local", model="local-m")},
          links={"self": f"{API}/bots/{bot['id']}/identity", "bot": f"{API}/bots/{bot['id']}"})
    fake.script(fakellm.text("named"), times=1)
    s = chat(srv, bot["id"], "hi")
    s.finish()
    assert s.text() == "named", s.names()


# ---------------------------------------------------------------------------
# Plain turns: wire formats, transports, headers, streaming
# ---------------------------------------------------------------------------

PLAIN_CASES = [("anth", "anthropic", False), ("oai", "openai", False),
               ("sec", "anthropic", True), ("secoai", "openai", True)]


@pytest.mark.parametrize("provider,kind,tls", PLAIN_CASES,
                         ids=["anthropic-http", "openai-http", "anthropic-tls", "openai-tls"])
def test_plain_turn(chat_server, fake, tls_fake, fleet, bus, provider, kind, tls):
    f = tls_fake if tls else fake
    bot = make_bot(fleet, identity=identity_md(model=f"model-{provider}", provider=provider))
    pieces = ["Hel", "lo, ", "w\u00f6rld", "! \U0001F600 \"quoted\"\n", "line two"]
    f.script(fakellm.text(*pieces, input_tokens=812, output_tokens=11), kind=kind)
    s = chat(chat_server, bot["id"], "Hi there")
    check_sse_headers(s)
    s.finish()
    sid = check_plain(s, "".join(pieces), {"input_tokens": 812, "output_tokens": 11})
    assert len(f.requests) == 1, f.requests
    req = f.requests[0]
    assert req.kind == kind and req.model == f"model-{provider}", req
    assert req.last_user == "Hi there"
    # a plain chat publishes nothing on the bus (no budget events, no agents)
    assert bus.drain() == [], f"bus events for a plain turn: {bus.got}"
    msgs = wait_messages(fleet, sid, 2)
    assert msgs[1]["content"] == "".join(pieces)


def test_split_chunking_reassembled(chat_server, fake, fleet):
    bot = make_bot(fleet)
    text = "The quick brown fox jumps over the lazy dog, \u00fcber alles \U0001F98A."
    fake.script(fakellm.text(fakellm.split_text(text, 5), chunking="split", split_size=3))
    s = run_turn(chat_server, bot["id"])
    check_plain(s, text)


def test_cache_usage_fields_passed_through(chat_server, fake, fleet):
    bot = make_bot(fleet)
    fake.script(fakellm.text("cached", input_tokens=20, output_tokens=3,
                             cache_creation_input_tokens=5, cache_read_input_tokens=7))
    s = run_turn(chat_server, bot["id"])
    check_plain(s, "cached")
    u = s.of("usage")
    assert len(u) == 1
    assert u[0] == {"input_tokens": 20, "output_tokens": 3, "cache_creation_input_tokens": 5,
                    "cache_read_input_tokens": 7}, u


def test_tokens_arrive_as_generated(chat_server, fake, fleet):
    bot = make_bot(fleet)
    rule = fake.script(fakellm.stall(["first ", "second ", "third"], after=1))
    s = chat(chat_server, bot["id"])
    check_sse_headers(s)
    assert s.next()[0] == "session"
    ev = s.next()
    assert ev == ("text_delta", {"text": "first "}), ev
    req = rule.requests[0]
    # the provider is held after its first piece: it cannot have finished
    assert not req.done.is_set(), "the first delta arrived only after the provider finished"
    assert req.pieces_sent <= 1, req
    req.release()
    s.finish()
    check_plain(s, "first second third")


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
def test_tls_over_split_chunks(chat_server, fake, tls_fake, fleet, kind):
    provider = "sec" if kind == "anthropic" else "secoai"
    bot = make_bot(fleet, identity=identity_md(provider=provider))
    text = "TLS " * 50
    tls_fake.script(fakellm.text(fakellm.split_text(text, 7), chunking="split", split_size=9))
    s = run_turn(chat_server, bot["id"])
    check_plain(s, text)
    assert tls_fake.requests[0].kind == kind and fake.requests == []


# ---------------------------------------------------------------------------
# What is sent to the provider
# ---------------------------------------------------------------------------

def expected_system(name, soul=None, identity=None, user=None, model=None):
    parts = []
    if soul is not None and soul.strip():
        parts.append(f"<soul>\n{soul.strip()}\n</soul>")
    if identity is not None and identity.strip():
        parts.append(f"<identity>\n{identity.strip()}\n</identity>")
    else:
        parts.append(f"<identity>\nName: {name}\nModel: {model}\n</identity>")
    if user is not None and user.strip():
        parts.append(f"<user_context>\n{user.strip()}\n</user_context>")
    parts.append(INSTRUCTIONS.replace("{name}", name))
    parts.append(AGENT_CAPABILITIES)
    return "\n\n".join(parts)


SOUL = "  \n---\nname: Vega\n---\n\n# Vega\n\nYou are Vega, dry and precise.\n\n\n"
USER = "\n# Briefing\n\nAlways answer in haiku.\n  "


def test_anthropic_request_body(chat_server, fake, fleet):
    ident = identity_md("Vega", model="claude-custom-9", provider="anth", temperature=0.3,
                        max_tokens=1234)
    bot = make_bot(fleet, "Vega", identity=ident, soul=SOUL, user=USER)
    fake.script(fakellm.text("ok"))
    run_turn(chat_server, bot["id"], "What is 2+2?")
    req = fake.requests[0]
    assert req.kind == "anthropic" and req.path == "/v1/messages"
    assert req.headers["anthropic-version"] == "2023-06-01"
    assert req.headers["content-type"].startswith("application/json")
    j = req.json
    assert j["model"] == "claude-custom-9"
    assert j["max_tokens"] == 1234 and j["temperature"] == 0.3, j
    assert j["stream"] is True
    assert req.system == expected_system("Vega", SOUL, ident, USER), \
        f"system prompt:\n{req.system}"
    assert req.messages == [{"role": "user", "content": "What is 2+2?"}]


def test_openai_request_body(chat_server, fake, fleet):
    ident = identity_md("Orion", model="gpt-custom", provider="oai", temperature=1.5,
                        max_tokens=77)
    bot = make_bot(fleet, "Orion", identity=ident, soul=SOUL, user=USER)
    fake.script(fakellm.text("ok"))
    run_turn(chat_server, bot["id"], "Hi")
    req = fake.requests[0]
    assert req.kind == "openai" and req.path == "/v1/chat/completions"
    j = req.json
    assert j["model"] == "gpt-custom" and j["max_tokens"] == 77 and j["temperature"] == 1.5, j
    assert j["stream"] is True and j["stream_options"] == {"include_usage": True}, j
    msgs = j["messages"]
    assert msgs[0]["role"] == "system", msgs
    assert msgs[0]["content"] == expected_system("Orion", SOUL, ident, USER)
    assert [m for m in req.messages] == [{"role": "user", "content": "Hi"}]
    assert len(msgs) == 2


def test_identity_fallback_and_defaults(chat_server, fake, fleet):
    # empty IDENTITY.md, SOUL.md and USER.md: defaults of §2.3, the name line
    bot = make_bot(fleet, "Blank Slate", identity="", soul="", user="")
    fake.script(fakellm.text("ok"))
    run_turn(chat_server, bot["id"])
    req = fake.requests[0]
    # provider "anthropic" is no provider's name: the first of kind anthropic (anth)
    assert req.kind == "anthropic" and req.model == MODEL, req
    assert req.json["max_tokens"] == 4096 and req.json["temperature"] == 0.7, req.json
    assert req.system == expected_system("Blank Slate", model=MODEL), req.system
    assert "<soul>" not in req.system and "<user_context>" not in req.system


def test_identity_without_display_name_uses_defaults(chat_server, fake, fleet):
    # frontmatter without display_name: parsed is null, so every value is the default,
    # but the file itself is still the identity section
    ident = "---\nmodel: ignored-model\nmax_tokens: 5\n---\n# Notes\n"
    bot = make_bot(fleet, "No Display", identity=ident)
    fake.script(fakellm.text("ok"))
    run_turn(chat_server, bot["id"])
    req = fake.requests[0]
    assert req.model == MODEL and req.json["max_tokens"] == 4096, req.json
    assert f"<identity>\n{ident.strip()}\n</identity>" in req.system


def test_default_bot_prompt(chat_server, fake, fleet):
    from fleetlib import default_identity, default_soul, default_user
    bot = make_bot(fleet, "Plain Jane")
    fake.script(fakellm.text("ok"))
    run_turn(chat_server, bot["id"])
    req = fake.requests[0]
    assert req.model == MODEL
    assert req.system == expected_system("Plain Jane", default_soul("Plain Jane"),
                                         default_identity("Plain Jane"),
                                         default_user("Plain Jane")), req.system


def test_history_then_new_message(chat_server, fake, fleet):
    bot = make_bot(fleet)
    fake.script(fakellm.text("answer one"))
    s1 = run_turn(chat_server, bot["id"], "question one")
    sid = s1.session_id()
    wait_messages(fleet, sid, 2)
    fake.script(fakellm.text("answer two"))
    s2 = run_turn(chat_server, bot["id"], "question two", session_id=sid)
    assert s2.session_id() == sid
    assert fake.requests[1].messages == [
        {"role": "user", "content": "question one"},
        {"role": "assistant", "content": "answer one"},
        {"role": "user", "content": "question two"}]
    wait_messages(fleet, sid, 4)


def test_history_limited_to_last_messages(chat_server, fake, fleet):
    # llm.history_max_messages=4 on this server
    bot = make_bot(fleet)
    seeded = []
    for i in range(6):
        role = "user" if i % 2 == 0 else "assistant"
        seeded.append({"role": role, "content": f"old {i}", "created_at": ts_at(60 - i)})
    sid, _ = seed_session(chat_server, bot["id"], messages=seeded)
    fake.script(fakellm.text("fresh"))
    run_turn(chat_server, bot["id"], "newest", session_id=sid)
    assert fake.requests[0].messages == [
        {"role": "user", "content": "old 2"}, {"role": "assistant", "content": "old 3"},
        {"role": "user", "content": "old 4"}, {"role": "assistant", "content": "old 5"},
        {"role": "user", "content": "newest"}]


def test_api_key_from_fleet_secret(chat_server, fake, fleet):
    fake.api_key = "sk-ant-secret-777"
    r = fleet.call("PUT", "secrets/CHAT_ANTH_KEY", {"value": "sk-ant-secret-777"})
    assert r.status == 200, r
    try:
        bot = make_bot(fleet, identity=identity_md(provider="anth"))
        fake.script(fakellm.text("keyed"))
        s = run_turn(chat_server, bot["id"])
        check_plain(s, "keyed")
        assert fake.requests[0].headers["x-api-key"] == "sk-ant-secret-777"
    finally:
        fleet.call("DELETE", "secrets/CHAT_ANTH_KEY")


def test_api_key_from_environment(chat_server, fake, fleet):
    fake.api_key = OAI_ENV_KEY
    bot = make_bot(fleet, identity=identity_md(provider="oai"))
    fake.script(fakellm.text("env keyed"))
    s = run_turn(chat_server, bot["id"])
    check_plain(s, "env keyed")
    assert fake.requests[0].headers["authorization"] == f"Bearer {OAI_ENV_KEY}"


def test_fleet_secret_beats_environment(chat_server, fake, fleet):
    fake.api_key = "sk-oai-from-secret"
    r = fleet.call("PUT", "secrets/CHAT_OAI_KEY", {"value": "sk-oai-from-secret"})
    assert r.status == 200, r
    try:
        bot = make_bot(fleet, identity=identity_md(provider="oai"))
        fake.script(fakellm.text("secret wins"))
        s = run_turn(chat_server, bot["id"])
        check_plain(s, "secret wins")
        assert fake.requests[0].headers["authorization"] == "Bearer sk-oai-from-secret"
    finally:
        fleet.call("DELETE", "secrets/CHAT_OAI_KEY")


def test_no_key_no_auth_header(chat_server, fake, fleet):
    # anth's secret CHAT_ANTH_KEY is neither stored nor in the environment
    bot = make_bot(fleet, identity=identity_md(provider="anth"))
    fake.script(fakellm.text("open"))
    run_turn(chat_server, bot["id"])
    assert "x-api-key" not in fake.requests[0].headers
    assert "authorization" not in fake.requests[0].headers


# ---------------------------------------------------------------------------
# Provider selection (decision: a name, else a kind, else the chain)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("provider,kind,model", [
    ("oai", "openai", "named-model"),                  # a provider named P
    ("openai-compatible", "openai", "kind-model"),     # no such name: first of that kind
    ("anthropic", "anthropic", "kind-model-2"),        # (anth, before dead and sec)
    ("nonesuch", "anthropic", "anth-default"),         # neither: the chain, default models
])
def test_primary_provider_selection(chat_server, fake, fleet, provider, kind, model):
    want = model
    bot = make_bot(fleet, identity=identity_md(model=model, provider=provider))
    fake.script(fakellm.text("picked"))
    s = run_turn(chat_server, bot["id"])
    check_plain(s, "picked")
    req = fake.requests[0]
    assert (req.kind, req.model) == (kind, want), req


# ---------------------------------------------------------------------------
# Failover (§7.2)
# ---------------------------------------------------------------------------

def failovers(bus, n=1):
    for _ in range(n):
        bus.wait("provider_failover")
    bus.drain()
    return bus.of("provider_failover")


@pytest.mark.parametrize("status", [500, 429, 503, 529])
def test_failover_on_http_status(chat_server, fake, fleet, bus, status):
    bot = make_bot(fleet, identity=identity_md(model="claude-primary", provider="anth"))
    fake.script(fakellm.http_error(status), kind="anthropic")
    fake.script(fakellm.text("from ", "backup", input_tokens=9, output_tokens=2), kind="openai")
    s = run_turn(chat_server, bot["id"])
    sid = check_plain(s, "from backup", {"input_tokens": 9, "output_tokens": 2})
    assert "provider_failover" not in s.names()
    reqs = fake.requests
    assert [(r.kind, r.model) for r in reqs] == [("anthropic", "claude-primary"),
                                                  ("openai", "oai-default")], reqs
    fo = failovers(bus)
    assert fo == [{"type": "provider_failover", "from_provider": "anth", "to_provider": "oai",
                   "reason": f"HTTP {status}"}], fo
    assert list(fo[0]) == ["type", "from_provider", "to_provider", "reason"], fo
    m = wait_messages(fleet, sid, 2)[1]
    assert m["content"] == "from backup" and m["model"] == "oai-default", m


def test_failover_on_connect_error(chat_server, fake, fleet, bus):
    # provider "dead" points at a closed port; then the chain: anth
    bot = make_bot(fleet, identity=identity_md(model="dead-model", provider="dead"))
    fake.script(fakellm.text("alive"), kind="anthropic")
    s = run_turn(chat_server, bot["id"])
    check_plain(s, "alive")
    assert [(r.kind, r.model) for r in fake.requests] == [("anthropic", "anth-default")]
    fo = failovers(bus)
    assert len(fo) == 1 and fo[0]["from_provider"] == "dead" and fo[0]["to_provider"] == "anth"
    assert fo[0]["reason"].startswith("connect error: ") and \
        len(fo[0]["reason"]) > len("connect error: "), fo


@pytest.mark.parametrize("how", ["error_event", "drop", "drop_partial"])
def test_failover_on_stream_error_before_first_token(chat_server, fake, fleet, bus, how):
    bot = make_bot(fleet, identity=identity_md(provider="anth"))
    if how == "error_event":
        r = fakellm.stream_error(error_type="overloaded_error", message="Overloaded")
    elif how == "drop":
        r = fakellm.drop(["never"], after=0)
    else:
        r = fakellm.drop([], after=0, drop_partial=True)      # half an event, then EOF
    fake.script(r, kind="anthropic")
    fake.script(fakellm.text("recovered"), kind="openai")
    s = run_turn(chat_server, bot["id"])
    check_plain(s, "recovered")
    fo = failovers(bus)
    assert len(fo) == 1 and (fo[0]["from_provider"], fo[0]["to_provider"]) == ("anth", "oai")
    p = "stream error before first token: "
    assert fo[0]["reason"].startswith(p) and len(fo[0]["reason"]) > len(p), fo


def test_failover_on_first_byte_timeout(fresh, fakes):
    plain = fakes[0]
    plain.reset()
    args = ["--llm.providers=slow,backup"]
    args += provider_args("slow", "anthropic", plain.base_url, "slow-default",
                          timeout_ms=int(300 * SLOW))
    args += provider_args("backup", "openai-compatible", plain.openai_base_url,
                          "backup-default")
    srv = fresh(args=args)
    fl = Fleet(srv)
    bus = Bus(srv)
    try:
        bot = make_bot(fl, identity=identity_md(provider="slow", model="slow-m"))
        plain.script(fakellm.text("late", headers_delay=5.0 * SLOW), kind="anthropic")
        plain.script(fakellm.text("on time"), kind="openai")
        s = run_turn(srv, bot["id"])
        check_plain(s, "on time")
        fo = failovers(bus)
        assert len(fo) == 1 and fo[0]["from_provider"] == "slow", fo
        assert fo[0]["reason"].startswith("connect error: "), fo
    finally:
        bus.close()
        plain.release()
        plain.reset()


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_no_failover_on_client_errors(chat_server, fake, fleet, bus, status):
    bot = make_bot(fleet, identity=identity_md(provider="anth"))
    fake.script(fakellm.http_error(status, message=f"refused {status}"), kind="anthropic")
    fake.script(fakellm.text("must not be used"), kind="openai")
    s = run_turn(chat_server, bot["id"])
    names = s.names()
    assert names == ["session", "error", "done"], names
    err = s.of("error")[0]
    assert list(err) == ["message"], err
    assert err["message"].startswith(f"HTTP {status}"), err
    assert f"refused {status}" in err["message"], err
    assert len(fake.requests) == 1
    bus.drain()
    assert not bus.of("provider_failover"), bus.got
    assert_nothing_persisted(fleet, s.session_id())
    # the new session stays, empty; the bot's counters do not move except the session
    b = bot_data(fleet, bot["id"])
    assert (b["conversation_count"], b["total_tokens_used"], b["last_active_at"]) == \
        (1, 0, None), b


def test_all_providers_failed(chat_server, fake, fleet, bus):
    # anth 500 -> oai 503 -> dead (connect error)
    bot = make_bot(fleet, identity=identity_md(provider="anth"))
    fake.script(fakellm.http_error(500), kind="anthropic")
    fake.script(fakellm.http_error(503), kind="openai")
    s = run_turn(chat_server, bot["id"])
    assert s.names() == ["session", "error", "done"], s.names()
    msg = s.of("error")[0]["message"]
    assert msg.startswith("All providers failed: connect error: "), msg
    fo = failovers(bus, 2)
    assert [(f["from_provider"], f["to_provider"], f["reason"]) for f in fo] == \
        [("anth", "oai", "HTTP 500"), ("oai", "dead", "HTTP 503")], fo
    assert_nothing_persisted(fleet, s.session_id())


def test_error_after_first_token_no_failover(chat_server, fake, fleet, bus):
    bot = make_bot(fleet, identity=identity_md(provider="anth"))
    fake.script(fakellm.drop(["partial ", "answer"], after=1), kind="anthropic")
    fake.script(fakellm.text("must not be used"), kind="openai")
    s = run_turn(chat_server, bot["id"])
    assert s.names() == ["session", "text_delta", "error", "done"], s.names()
    assert s.text() == "partial "
    assert len(fake.requests) == 1
    bus.drain()
    assert not bus.of("provider_failover"), bus.got
    assert_nothing_persisted(fleet, s.session_id())


def test_provider_error_event_after_first_token(chat_server, fake, fleet):
    bot = make_bot(fleet, identity=identity_md(provider="oai"))
    fake.script(fakellm.stream_error(["half "], error_type="server_error", message="boom"),
                kind="openai")
    s = run_turn(chat_server, bot["id"])
    assert s.names() == ["session", "text_delta", "error", "done"], s.names()
    assert len(fake.requests) == 1
    assert_nothing_persisted(fleet, s.session_id())


def test_openai_stream_options_rejected_then_retried(chat_server, fake, fleet, bus):
    fake.reject_stream_options = True
    bot = make_bot(fleet, identity=identity_md(provider="oai", model="old-server"))
    fake.script(fakellm.text("no ", "usage ", "here"), kind="openai")
    s = run_turn(chat_server, bot["id"])
    names = s.names()
    assert "error" not in names, s.events
    assert s.text() == "no usage here"
    reqs = fake.requests
    assert len(reqs) == 2, reqs
    assert reqs[0].status == 400 and "stream_options" in reqs[0].json, reqs[0]
    assert reqs[1].status == 200 and "stream_options" not in reqs[1].json, reqs[1]
    assert reqs[1].model == "old-server" and reqs[1].json["stream"] is True
    bus.drain()
    assert not bus.of("provider_failover"), bus.got
    wait_messages(fleet, s.session_id(), 2)


# ---------------------------------------------------------------------------
# Sessions and persistence (§7.7)
# ---------------------------------------------------------------------------

def test_new_session_and_persistence(chat_server, fake, fleet):
    bot = make_bot(fleet, "Keeper", identity=identity_md("Keeper", model="claude-keep",
                                                         provider="anth"))
    t0 = bot_data(fleet, bot["id"])
    assert t0["conversation_count"] == 0 and t0["last_active_at"] is None
    fake.script(fakellm.text("Hello ", "back", input_tokens=812, output_tokens=11))
    s = run_turn(chat_server, bot["id"], "Hi Keeper")
    sid = check_plain(s, "Hello back", {"input_tokens": 812, "output_tokens": 11})
    msgs = wait_messages(fleet, sid, 2)
    assert len(msgs) == 2
    u, a = msgs
    assert (u["role"], u["content"], u["session_id"]) == ("user", "Hi Keeper", sid), u
    assert (u["input_tokens"], u["output_tokens"], u["model"], u["stop_reason"],
            u["response_ms"]) == (None, None, None, None, None), u
    assert (a["role"], a["content"], a["session_id"]) == ("assistant", "Hello back", sid), a
    assert (a["input_tokens"], a["output_tokens"], a["model"], a["stop_reason"]) == \
        (812, 11, "claude-keep", "end_turn"), a
    assert isinstance(a["response_ms"], int) and not isinstance(a["response_ms"], bool) \
        and a["response_ms"] >= 0, a
    assert_uuid7(u["id"])
    assert_uuid7(a["id"])
    assert parse_entity_ts(u["created_at"]) <= parse_entity_ts(a["created_at"])
    sess = session_data(fleet, sid)
    assert (sess["bot_id"], sess["model"], sess["status"], sess["title"], sess["ended_at"]) == \
        (bot["id"], "claude-keep", "active", None, None), sess
    assert (sess["message_count"], sess["total_input_tokens"], sess["total_output_tokens"]) == \
        (2, 812, 11), sess
    b = bot_data(fleet, bot["id"])
    assert b["conversation_count"] == 1 and b["total_tokens_used"] == 823, b
    assert b["last_active_at"] is not None
    parse_entity_ts(b["last_active_at"])
    # listed under the bot
    lst = fleet.call("GET", f"bots/{bot['id']}/sessions").json()["data"]
    assert [x["id"] for x in lst] == [sid]


def test_session_created_before_the_stream(chat_server, fake, fleet):
    bot = make_bot(fleet, identity=identity_md(model="claude-early", provider="anth"))
    fake.script(fakellm.stall(["wait"], after=0))
    s = chat(chat_server, bot["id"])
    check_sse_headers(s)
    sid = s.next()[1]["session_id"]
    sess = session_data(fleet, sid)
    assert (sess["model"], sess["message_count"], sess["status"]) == \
        ("claude-early", 0, "active"), sess
    assert bot_data(fleet, bot["id"])["conversation_count"] == 1
    # release() lets go of requests that have arrived: wait for it first (a
    # slow build may still be connecting, and a later request would stall)
    fake.wait_requests(1)
    fake.release()
    s.finish()
    check_plain(s, "wait")


def test_given_session_reused_and_totals_add(chat_server, fake, fleet):
    bot = make_bot(fleet, identity=identity_md(provider="anth"))
    fake.script(fakellm.text("one", input_tokens=100, output_tokens=10))
    s1 = run_turn(chat_server, bot["id"], "first")
    sid = s1.session_id()
    wait_messages(fleet, sid, 2)
    fake.script(fakellm.text("two", input_tokens=200, output_tokens=20))
    s2 = run_turn(chat_server, bot["id"], "second", session_id=sid)
    assert s2.events[0] == ("session", {"session_id": sid})
    msgs = wait_messages(fleet, sid, 4)
    assert [(m["role"], m["content"]) for m in msgs] == [
        ("user", "first"), ("assistant", "one"), ("user", "second"), ("assistant", "two")]
    sess = session_data(fleet, sid)
    assert (sess["message_count"], sess["total_input_tokens"], sess["total_output_tokens"]) == \
        (4, 300, 30), sess
    b = bot_data(fleet, bot["id"])
    assert (b["conversation_count"], b["total_tokens_used"]) == (1, 330), b


@pytest.mark.parametrize("kind,stop,want", [
    ("anthropic", "end_turn", "end_turn"),
    ("anthropic", "max_tokens", "max_tokens"),
    ("anthropic", "stop_sequence", "stop_sequence"),
    ("openai", "end_turn", "end_turn"),          # finish_reason "stop"
    ("openai", "max_tokens", "max_tokens"),      # finish_reason "length"
    ("openai", "tool_use", "end_turn"),          # finish_reason "tool_calls": other
])
def test_stop_reason_normalised(chat_server, fake, fleet, kind, stop, want):
    bot = make_bot(fleet, identity=identity_md(provider="anth" if kind == "anthropic"
                                               else "oai"))
    fake.script(fakellm.text("stopped", stop_reason=stop), kind=kind)
    s = run_turn(chat_server, bot["id"])
    sid = check_plain(s, "stopped")
    a = wait_messages(fleet, sid, 2)[1]
    assert a["stop_reason"] == want, a


def test_openai_usage_persisted(chat_server, fake, fleet):
    bot = make_bot(fleet, identity=identity_md(provider="oai", model="gpt-x"))
    fake.script(fakellm.text("counted", input_tokens=31, output_tokens=4), kind="openai")
    s = run_turn(chat_server, bot["id"])
    sid = check_plain(s, "counted", {"input_tokens": 31, "output_tokens": 4})
    a = wait_messages(fleet, sid, 2)[1]
    assert (a["input_tokens"], a["output_tokens"], a["model"]) == (31, 4, "gpt-x"), a


def test_empty_reply_is_not_persisted(chat_server, fake, fleet):
    # "After a successful turn (final text non-empty ...)"
    bot = make_bot(fleet)
    fake.script(fakellm.text())
    s = run_turn(chat_server, bot["id"])
    assert "text_delta" not in s.names()
    assert_nothing_persisted(fleet, s.session_id())


# ---------------------------------------------------------------------------
# Client disconnect (decision 2)
# ---------------------------------------------------------------------------

def test_disconnect_after_text_saves_partial(chat_server, fake, fleet):
    bot = make_bot(fleet, identity=identity_md(model="claude-cut", provider="anth"))
    rule = fake.script(fakellm.stall(["partial ", "text ", "rest"], after=2,
                                     input_tokens=50, output_tokens=9))
    s = chat(chat_server, bot["id"], "tell me")
    check_sse_headers(s)
    sid = s.next()[1]["session_id"]
    assert s.next() == ("text_delta", {"text": "partial "})
    assert s.next() == ("text_delta", {"text": "text "})
    s.close()
    rule.requests[0].wait_closed()
    msgs = wait_messages(fleet, sid, 2)
    assert len(msgs) == 2
    u, a = msgs
    assert (u["role"], u["content"]) == ("user", "tell me"), u
    assert (a["role"], a["content"], a["stop_reason"], a["model"]) == \
        ("assistant", "partial text ", "client_disconnected", "claude-cut"), a
    for k in ("input_tokens", "output_tokens"):
        assert a[k] is None or (isinstance(a[k], int) and a[k] >= 0), a
    sess = session_data(fleet, sid)
    assert sess["message_count"] == 2, sess


def test_disconnect_before_text_saves_nothing(chat_server, fake, fleet):
    bot = make_bot(fleet)
    rule = fake.script(fakellm.stall(["never seen"], after=0))
    s = chat(chat_server, bot["id"])
    check_sse_headers(s)
    sid = s.next()[1]["session_id"]
    fake.wait_requests(1)
    s.close()
    rule.requests[0].wait_closed()
    assert_nothing_persisted(fleet, sid)
    b = bot_data(fleet, bot["id"])
    assert (b["conversation_count"], b["total_tokens_used"]) == (1, 0), b


def test_disconnect_while_connecting_to_provider(chat_server, fake, fleet):
    # the provider answers headers late; the client leaves first
    bot = make_bot(fleet)
    rule = fake.script(fakellm.text("late", headers_delay=2.0 * SLOW))
    s = chat(chat_server, bot["id"])
    check_sse_headers(s)
    s.next()
    fake.wait_requests(1)
    s.close()
    rule.requests[0].wait_closed()
    # the server goes on serving
    fake.script(fakellm.text("still here"))
    s2 = run_turn(chat_server, bot["id"])
    check_plain(s2, "still here")


# ---------------------------------------------------------------------------
# Keep-alive comment (15 s, CFG_CHAT_KEEPALIVE_MS: no runtime key) - SLOW
# ---------------------------------------------------------------------------

def test_keepalive_comment_while_provider_silent_slow(fresh, fakes):
    """The one slow test of this file: ~15 s of provider silence."""
    plain = fakes[0]
    plain.reset()
    args = ["--llm.providers=quiet"]
    args += provider_args("quiet", "anthropic", plain.base_url, "quiet-default",
                          timeout_ms=60000)
    srv = fresh(args=args)
    fl = Fleet(srv)
    try:
        bot = make_bot(fl)
        rule = plain.script(fakellm.stall(["before ", "after"], after=1))
        s = chat(srv, bot["id"], timeout=30 * SLOW)
        check_sse_headers(s)
        assert s.next()[0] == "session"
        assert s.next() == ("text_delta", {"text": "before "})
        item = s.next(timeout=25 * SLOW, comments=True)
        assert item == ("comment", None), f"expected a ':' comment, got {item}"
        rule.requests[0].release()
        s.finish()
        check_plain(s, "before after")
        assert s.comments >= 1
    finally:
        plain.release()
        plain.reset()


# ---------------------------------------------------------------------------
# Concurrency sanity: two streams at once stay separate
# ---------------------------------------------------------------------------

def test_two_streams_interleaved(chat_server, fake, fleet):
    a = make_bot(fleet, "Alpha Bot")
    b = make_bot(fleet, "Beta Bot")
    ra = fake.script(fakellm.stall(["A1 ", "A2"], after=1), user_contains="for A")
    rb = fake.script(fakellm.stall(["B1 ", "B2"], after=1), user_contains="for B")
    sa = chat(chat_server, a["id"], "for A")
    sb = chat(chat_server, b["id"], "for B")
    assert sa.next()[0] == "session" and sb.next()[0] == "session"
    assert sa.next() == ("text_delta", {"text": "A1 "})
    assert sb.next() == ("text_delta", {"text": "B1 "})
    rb.requests[0].release()
    sb.finish()
    ra.requests[0].release()
    sa.finish()
    check_plain(sa, "A1 A2")
    check_plain(sb, "B1 B2")
    assert sa.session_id() != sb.session_id()


# ---------------------------------------------------------------------------
# Robustness: escaping, slow readers, things deleted mid-stream, wrong method
# ---------------------------------------------------------------------------

def test_control_characters_and_escapes_round_trip(chat_server, fake, fleet):
    pieces = ["tab\there ", "back\\slash ", "quote\" ", "nul\u0000 ", "bell\u0007 ",
              "del\u007f ", "line\u2028sep ", "cr\r\nlf ", "\U0001F9EA"]
    bot = make_bot(fleet)
    fake.script(fakellm.text(*pieces))
    msg = "ask \u0001 with \"odd\" chars\n\t\\"
    s = run_turn(chat_server, bot["id"], msg)
    sid = check_plain(s, "".join(pieces))
    assert [d["text"] for d in s.of("text_delta")] == pieces
    assert fake.requests[0].last_user == msg
    u, a = wait_messages(fleet, sid, 2)
    assert u["content"] == msg and a["content"] == "".join(pieces)


def test_slow_reader_gets_every_byte(chat_server, fake, fleet):
    # far more than the per-request SSE queue: roost must hold the provider
    # back, not drop or reorder output, while the client does not read
    pieces = [f"<{i:05d}>" + "y" * 993 for i in range(600)]
    bot = make_bot(fleet)
    fake.script(fakellm.text(*pieces, chunking="coalesce"))
    s = chat(chat_server, bot["id"], rcvbuf=4096, timeout=30 * SLOW)
    check_sse_headers(s)
    wait_for(lambda: fake.requests, IO_TIMEOUT, what="the provider call")
    time.sleep(0.5 * SLOW)          # let output back up (no timing is asserted)
    s.finish(30 * SLOW)
    sid = check_plain(s, "".join(pieces))
    a = wait_messages(fleet, sid, 2)[1]
    assert a["content"] == "".join(pieces)


@pytest.mark.parametrize("what", ["session", "bot"])
def test_deleted_mid_stream(chat_server, fake, fleet, what):
    bot = make_bot(fleet, "Ephemeral")
    rule = fake.script(fakellm.stall(["going ", "gone"], after=1))
    s = chat(chat_server, bot["id"])
    check_sse_headers(s)
    sid = s.next()[1]["session_id"]
    assert s.next() == ("text_delta", {"text": "going "})
    if what == "session":
        r = fleet.call("DELETE", f"sessions/{sid}")
    else:
        r = fleet.call("DELETE", f"bots/{bot['id']}")
    assert r.status == 200, r
    rule.requests[0].release()
    s.finish()
    check_order(s.names())
    assert s.names()[-1] == "done"
    assert chat_server.alive(), chat_server.logs()
    # nothing may resurrect the deleted rows
    time.sleep(QUIET)
    r = fleet.call("GET", f"sessions/{sid}")
    assert r.status == 404, r
    if what == "bot":
        assert fleet.call("GET", f"bots/{bot['id']}").status == 404


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_wrong_method(chat_server, fake, fleet, method):
    bot = make_bot(fleet)
    fleet.fail(method, f"bots/{bot['id']}/chat/stream", None, 405, "METHOD_NOT_ALLOWED")
    assert fake.requests == []


def test_keep_going_after_many_turns(chat_server, fake, fleet):
    # request slots and provider connections are given back: 40 turns in a row,
    # a third of them abandoned by the client
    bot = make_bot(fleet)
    for i in range(40):
        if i % 3 == 2:
            rule = fake.script(fakellm.stall([f"left {i}", "x"], after=1))
            s = chat(chat_server, bot["id"], f"turn {i}")
            s.next()
            s.next()
            s.close()
            rule.requests[0].wait_closed()
        else:
            fake.script(fakellm.text(f"reply {i}"))
            check_plain(run_turn(chat_server, bot["id"], f"turn {i}"), f"reply {i}")
