"""The fake LLM provider speaks the real wire formats (spec/fleet.md §7.8).

Checked with a plain socket client written here (its own HTTP/1.1 chunked
decoder and SSE parser), so a mistake in fakellm.py cannot hide behind the
code that roost's tests use it with. No roostd is involved.
"""

import json
import re
import select
import socket
import ssl
import subprocess
import time

import pytest

import fakellm
from fakellm import FakeLLM
from roostlib import IO_TIMEOUT, SLOW

KEY = "sk-test-123"
MSGS = [{"role": "user", "content": "hi"}]


# ---------------------------------------------------------------------------
# An independent client
# ---------------------------------------------------------------------------

class Resp:
    def __init__(self):
        self.status = None
        self.headers = {}
        self.chunks = []          # HTTP chunk payloads as received
        self.chunk_times = []     # time.monotonic() of each
        self.terminated = False   # saw the zero-length last chunk
        self.eof = False          # connection closed before the end
        self.body = b""
        self.t_head = None

    def text(self):
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body)


class Reader:
    """Buffered reads from a socket, without the file-object timeout traps."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self):
        d = self.sock.recv(65536)
        self.buf += d
        return bool(d)

    def readline(self):
        while b"\n" not in self.buf:
            if not self._fill():
                break
        i = self.buf.find(b"\n") + 1 or len(self.buf)
        out = bytes(self.buf[:i])
        del self.buf[:i]
        return out

    def read(self, n):
        while len(self.buf) < n and self._fill():
            pass
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def quiet_for(self, seconds):
        """True if nothing (no byte, no EOF) arrives for ``seconds``."""
        if self.buf or (isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()):
            return False
        return not select.select([self.sock], [], [], seconds)[0]


class Client:
    """One HTTP/1.1 connection to the fake (TLS when ``ctx`` is given)."""

    def __init__(self, fake, ctx=None, host="127.0.0.1"):
        raw = socket.create_connection(("127.0.0.1", fake.port), timeout=IO_TIMEOUT)
        self.sock = ctx.wrap_socket(raw, server_hostname=host) if ctx else raw
        self.f = Reader(self.sock)
        self.fake = fake

    def close(self):
        self.sock.close()

    def send(self, path, body, headers, chunked_body=False):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if chunked_body:
            lines.append("Transfer-Encoding: chunked")
            half = len(data) // 2
            payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p)
                               for p in (data[:half], data[half:]) if p) + b"0\r\n\r\n"
        else:
            lines.append(f"Content-Length: {len(data)}")
            payload = data
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        self.t_sent = time.monotonic()

    def read_head(self, r):
        line = self.f.readline()
        assert line.startswith(b"HTTP/1.1 "), f"bad status line {line!r}"
        r.t_head = time.monotonic()
        r.status = int(line.split()[1])
        while True:
            h = self.f.readline()
            assert h.endswith(b"\r\n"), f"header line not CRLF-terminated: {h!r}"
            if h == b"\r\n":
                break
            k, _, v = h.decode("latin-1").partition(":")
            assert k.lower() not in r.headers, f"duplicate header {k}"
            r.headers[k.lower()] = v.strip()
        return r

    def read_chunk(self, r):
        """One chunk into r; False at the end (last chunk or EOF)."""
        line = self.f.readline()
        if not line:
            r.eof = True
            return False
        assert line.endswith(b"\r\n") and re.fullmatch(rb"[0-9a-f]+\r\n", line), \
            f"bad chunk-size line {line!r}"
        n = int(line, 16)
        if n == 0:
            assert self.f.readline() == b"\r\n", "no CRLF after the last chunk"
            r.terminated = True
            return False
        data = self.f.read(n)
        if len(data) < n:
            r.eof = True
            r.chunks.append(data)
            return False
        assert self.f.read(2) == b"\r\n", "chunk data not followed by CRLF"
        r.chunks.append(data)
        r.chunk_times.append(time.monotonic())
        return True

    def read_response(self, r=None):
        r = r or self.read_head(Resp())
        if r.headers.get("transfer-encoding") == "chunked":
            assert "content-length" not in r.headers
            while self.read_chunk(r):
                pass
            r.body = b"".join(r.chunks)
        else:
            n = int(r.headers["content-length"])
            r.body = self.f.read(n)
            r.eof = len(r.body) < n
        return r

    def quiet_for(self, seconds):
        return self.f.quiet_for(seconds)


def headers_for(fake, kind, key=KEY, extra=None):
    h = {"Content-Type": "application/json"}
    if kind == "anthropic":
        h["anthropic-version"] = "2023-06-01"
        if key:
            h["x-api-key"] = key
    elif key:
        h["Authorization"] = f"Bearer {key}"
    h.update(extra or {})
    return h


def path_for(kind):
    return "/v1/messages" if kind == "anthropic" else "/v1/chat/completions"


def body_for(kind, stream=True, usage=True, **kw):
    b = {"model": kw.pop("model", "test-model"), "max_tokens": 64, "messages": MSGS}
    if stream is not None:
        b["stream"] = stream
    if kind == "openai" and stream and usage:
        b["stream_options"] = {"include_usage": True}
    b.update(kw)
    return b


def call(fake, kind="anthropic", body=None, headers=None, ctx=None, host="127.0.0.1",
         **kw):
    c = Client(fake, ctx, host)
    try:
        c.send(path_for(kind), body if body is not None else body_for(kind, **kw),
               headers if headers is not None else headers_for(fake, kind))
        return c.read_response()
    finally:
        c.close()


def parse_sse(body):
    """[(event or None, data str)] from a complete SSE body; strict about the
    framing the providers use: 'event: ' / 'data: ' lines, blank-line end."""
    text = body.decode("utf-8")
    assert text.endswith("\n\n") or text == "", f"SSE body not blank-line terminated: " \
                                                f"{text[-40:]!r}"
    out = []
    for block in text.split("\n\n")[:-1]:
        ev, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                assert ev is None
                ev = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
            else:
                raise AssertionError(f"unexpected SSE line {line!r}")
        assert len(data) == 1, f"event without exactly one data line: {block!r}"
        out.append((ev, data[0]))
    return out


def sse_incremental(chunks):
    """The same events, parsed by feeding the raw chunks one at a time to a
    byte-level line splitter (as a streaming client must)."""
    buf, out, ev = b"", [], None
    for c in chunks:
        buf += c
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            s = line.decode("utf-8")
            if s.startswith("event: "):
                ev = s[7:]
            elif s.startswith("data: "):
                out.append((ev, s[6:]))
                ev = None
    return out


def anthropic_events(r):
    evs = parse_sse(r.body)
    for name, data in evs:
        d = json.loads(data)
        assert d["type"] == name, f"event {name} carries type {d['type']}"
    return [(n, json.loads(d)) for n, d in evs]


def openai_chunks(r):
    evs = parse_sse(r.body)
    assert all(n is None for n, _ in evs), "OpenAI streams have no event: lines"
    return [d for _, d in evs]


@pytest.fixture
def fake():
    f = FakeLLM(api_key=KEY).start()
    yield f
    f.stop()
    assert not f.errors, f.errors


@pytest.fixture
def tls_fake():
    f = FakeLLM(tls=True, api_key=KEY).start()
    yield f
    f.stop()
    assert not f.errors, f.errors


def client_ctx(ca_file, tls12=False, ciphers=None):
    ctx = ssl.create_default_context(cafile=ca_file)
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


# ---------------------------------------------------------------------------
# Anthropic stream
# ---------------------------------------------------------------------------

def check_anthropic_stream(r, pieces, in_tok, out_tok, stop="end_turn"):
    assert r.status == 200
    assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert r.headers["transfer-encoding"] == "chunked"
    assert r.terminated and not r.eof
    evs = anthropic_events(r)
    names = [n for n, _ in evs]
    assert names == (["message_start", "content_block_start", "ping"]
                     + ["content_block_delta"] * len(pieces)
                     + ["content_block_stop", "message_delta", "message_stop"]), names
    msg = evs[0][1]["message"]
    assert msg["role"] == "assistant" and msg["content"] == [] and msg["id"].startswith("msg_")
    assert msg["usage"]["input_tokens"] == in_tok
    deltas = [d["delta"] for n, d in evs if n == "content_block_delta"]
    assert all(d["type"] == "text_delta" for d in deltas)
    assert [d["text"] for d in deltas] == pieces
    md = evs[-2][1]
    assert md["delta"]["stop_reason"] == stop
    assert md["usage"]["output_tokens"] == out_tok
    return evs


def test_anthropic_stream_format(fake):
    pieces = ["Hel", "lo, ", "wörld ✓"]
    rule = fake.script(fakellm.text(pieces, input_tokens=812, output_tokens=11))
    r = call(fake, system="<soul>\nS\n</soul>", temperature=0.7)
    evs = check_anthropic_stream(r, pieces, 812, 11)
    # one HTTP chunk per event, each exactly one complete event
    assert len(r.chunks) == len(evs)
    assert all(c.endswith(b"\n\n") and c.count(b"\n\n") == 1 for c in r.chunks)
    assert r.chunks[2] == b'event: ping\ndata: {"type": "ping"}\n\n'
    assert "request-id" in r.headers
    # the request as recorded
    (req,) = fake.requests
    assert req.kind == "anthropic" and req.path == "/v1/messages" and req.method == "POST"
    assert req.headers["X-Api-Key"] == KEY and req.headers["anthropic-version"] == "2023-06-01"
    assert req.json["messages"] == MSGS and req.stream and req.model == "test-model"
    assert req.system == "<soul>\nS\n</soul>" and req.last_user == "hi"
    assert abs(req.time - time.monotonic()) < 5 and req.wall_time > 1.6e9
    req.wait_done()
    assert req.outcome == "complete" and req.status == 200 and req.pieces_sent == 3
    assert rule.used == 1 and rule.requests == [req]
    assert (req.input_tokens, req.output_tokens) == (812, 11)


def test_anthropic_default_usage_pings_and_cache(fake):
    pieces = ["abcde", "fgh", "i", "jklmnopq"]    # ceil(n/4): 2+1+1+2
    fake.script(fakellm.text(pieces, ping_every=2, cache_creation_input_tokens=5,
                             cache_read_input_tokens=7, stop_reason="max_tokens",
                             model="claude-x"))
    body = body_for("anthropic")
    r = call(fake, body=body)
    nbody = len(json.dumps(body).encode())
    evs = anthropic_events(r)
    names = [n for n, _ in evs]
    assert names[3:10] == ["content_block_delta", "content_block_delta", "ping",
                           "content_block_delta", "content_block_delta", "ping",
                           "content_block_stop"]
    usage = evs[0][1]["message"]["usage"]
    assert usage == {"input_tokens": nbody // 4, "output_tokens": 1,
                     "cache_creation_input_tokens": 5, "cache_read_input_tokens": 7}
    assert evs[0][1]["message"]["model"] == "claude-x"
    assert evs[-2][1]["usage"]["output_tokens"] == 6
    assert evs[-2][1]["delta"]["stop_reason"] == "max_tokens"


# ---------------------------------------------------------------------------
# OpenAI stream
# ---------------------------------------------------------------------------

def test_openai_stream_with_usage(fake):
    fake.script(fakellm.text(["Hi", " there"], input_tokens=9, output_tokens=12))
    r = call(fake, "openai")
    assert r.status == 200 and r.terminated
    assert r.headers["content-type"].startswith("text/event-stream")
    data = openai_chunks(r)
    assert data[-1] == "[DONE]"
    docs = [json.loads(d) for d in data[:-1]]
    assert all(d["object"] == "chat.completion.chunk" for d in docs)
    assert len({d["id"] for d in docs}) == 1
    assert docs[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [d["choices"][0]["delta"]["content"] for d in docs[1:3]] == ["Hi", " there"]
    assert all(d["choices"][0]["finish_reason"] is None for d in docs[:3])
    assert docs[3]["choices"][0]["finish_reason"] == "stop"
    assert docs[3]["choices"][0]["delta"] == {}
    assert all(d["usage"] is None for d in docs[:4])
    assert docs[4]["choices"] == []
    assert docs[4]["usage"] == {"prompt_tokens": 9, "completion_tokens": 12,
                                "total_tokens": 21}
    assert len(docs) == 5
    req = fake.requests[0]
    assert req.kind == "openai" and req.headers["authorization"] == f"Bearer {KEY}"


def test_openai_stream_without_usage(fake):
    fake.script(fakellm.text(["x"], stop_reason="max_tokens"))
    r = call(fake, "openai", usage=False)
    data = openai_chunks(r)
    assert data[-1] == "[DONE]"
    docs = [json.loads(d) for d in data[:-1]]
    assert len(docs) == 3
    assert all("usage" not in d for d in docs)
    assert docs[-1]["choices"][0]["finish_reason"] == "length"


def test_openai_system_prompt_from_messages(fake):
    fake.script(fakellm.text("ok"), system_contains="<task>\nT1\n</task>", sub_agent=True)
    msgs = [{"role": "system", "content": "<soul>x</soul>\n\n<task>\nT1\n</task>"},
            {"role": "user", "content": "T1"}]
    r = call(fake, "openai", messages=msgs)
    assert r.status == 200
    req = fake.requests[0]
    assert req.task == "T1" and req.messages == [{"role": "user", "content": "T1"}]


def test_openai_rejects_stream_options_when_told(fake):
    fake.reject_stream_options = True
    rule = fake.script(fakellm.text("after retry"))
    r = call(fake, "openai")
    assert r.status == 400
    err = r.json()["error"]
    assert "stream_options" in err["message"] and err["type"] == "invalid_request_error"
    assert rule.used == 0
    r = call(fake, "openai", usage=False)
    assert r.status == 200
    assert json.loads(openai_chunks(r)[1])["choices"][0]["delta"]["content"] == "after retry"
    assert rule.used == 1 and len(fake.requests) == 2
    assert "stream_options" in fake.requests[0].json
    assert "stream_options" not in fake.requests[1].json


# ---------------------------------------------------------------------------
# Chunking on the wire
# ---------------------------------------------------------------------------

PIECES = ["Grüße ", "aus ", "Köln — ", "日本語" * 12, " 🙂 ok"]


def test_chunking_coalesce(fake):
    fake.script(fakellm.text(PIECES, chunking="coalesce", input_tokens=3, output_tokens=4))
    r = call(fake)
    check_anthropic_stream(r, PIECES, 3, 4)
    assert len(r.chunks) == 1                      # no pause: the whole stream at once
    fake.script(fakellm.text(["a", "b", "c"], delay=0.05, chunking="coalesce"))
    r = call(fake)
    # preamble + "a" | "b" | "c" + tail: one chunk per burst between pauses
    assert len(r.chunks) == 3
    assert r.chunks[0].count(b"\n\n") == 4 and r.chunks[1].count(b"\n\n") == 1
    assert r.chunks[2].endswith(b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")


@pytest.mark.parametrize("size", [1, 7, 64])
def test_chunking_split(fake, size):
    fake.script(fakellm.text(PIECES, input_tokens=3, output_tokens=4, chunking="event"))
    whole = call(fake)
    fake.script(fakellm.text(PIECES, input_tokens=3, output_tokens=4, chunking="split",
                             split_size=size, seed=42))
    r = call(fake)
    check_anthropic_stream(r, PIECES, 3, 4)
    assert max(len(c) for c in r.chunks) <= size
    assert len(r.chunks) > len(whole.chunks)
    # chunk boundaries fall inside events, and (size > 1) a chunk holds the end
    # of one event and the start of the next
    assert any(not c.endswith(b"\n\n") for c in r.chunks)
    if size > 2:
        assert any(b"\n\n" in c[:-2] for c in r.chunks)
    # some boundary splits a multi-byte UTF-8 character
    assert any(_splits_utf8(c) for c in r.chunks[:-1])
    # an incremental parser fed chunk by chunk sees the same events
    same_id = whole.body.replace(_msg_id(whole), _msg_id(r))
    assert sse_incremental(r.chunks) == parse_sse(same_id)
    assert sse_incremental(whole.chunks) == parse_sse(whole.body)
    assert r.body == same_id
    # with a different seed the cut points differ
    fake.script(fakellm.text(PIECES, input_tokens=3, output_tokens=4, chunking="split",
                             split_size=size, seed=7))
    r2 = call(fake)
    if size > 1:
        assert [len(c) for c in r2.chunks] != [len(c) for c in r.chunks]
    assert r2.body == r.body.replace(_msg_id(r), _msg_id(r2))


def _msg_id(r):
    return re.search(rb'"id":"(msg_[0-9a-f]+)"', r.body).group(1)


def _splits_utf8(chunk):
    try:
        chunk.decode("utf-8")
        return False
    except UnicodeDecodeError:
        return True


def test_server_wide_split_chunking():
    f = FakeLLM(chunking="split", split_size=3).start()
    try:
        f.script(fakellm.text(["abc"]))
        r = call(f, key=None)
        assert max(len(c) for c in r.chunks) <= 3 and len(r.chunks) > 50
        assert [n for n, _ in anthropic_events(r)][3] == "content_block_delta"
    finally:
        f.stop()


# ---------------------------------------------------------------------------
# Timing: delays, slow first byte, stalls, drops
# ---------------------------------------------------------------------------

def test_delay_between_pieces(fake):
    d = 0.15
    fake.script(fakellm.text(["a", "b", "c"], delay=d))
    r = call(fake)
    evs = anthropic_events(r)
    idx = [i for i, (n, _) in enumerate(evs) if n == "content_block_delta"]
    t = [r.chunk_times[i] for i in idx]
    assert t[1] - t[0] >= d * 0.9 and t[2] - t[1] >= d * 0.9
    assert r.chunk_times[idx[0]] - r.chunk_times[0] < d * 0.9   # no delay before the first


def test_headers_delay_and_first_delay(fake):
    fake.script(fakellm.text(["x"], headers_delay=0.3))
    c = Client(fake)
    c.send("/v1/messages", body_for("anthropic"), headers_for(fake, "anthropic"))
    r = c.read_head(Resp())
    assert r.t_head - c.t_sent >= 0.28
    c.read_response(r)
    c.close()
    assert r.terminated

    fake.script(fakellm.text(["x"], first_delay=0.4))
    c = Client(fake)
    c.send("/v1/messages", body_for("anthropic"), headers_for(fake, "anthropic"))
    r = c.read_head(Resp())
    assert r.t_head - c.t_sent < 0.3
    c.read_response(r)
    c.close()
    names = [n for n, _ in anthropic_events(r)]
    i = names.index("content_block_delta")
    assert r.chunk_times[i] - r.chunk_times[i - 1] >= 0.38


def read_events_until(c, r, n_deltas, marker=b"content_block_delta"):
    while b"".join(r.chunks).count(b"event: " + marker) < n_deltas:
        assert c.read_chunk(r), "stream ended early"


def test_stall_then_release(fake):
    fake.script(fakellm.stall(["a", "b", "c"], after=1))
    c = Client(fake)
    c.send("/v1/messages", body_for("anthropic"), headers_for(fake, "anthropic"))
    r = c.read_head(Resp())
    read_events_until(c, r, 1)
    assert c.quiet_for(0.3)
    (req,) = fake.requests
    assert req.outcome == "stalled" and req.pieces_sent == 1 and not req.done.is_set()
    fake.release()
    c.read_response(r)
    c.close()
    check_anthropic_stream(r, ["a", "b", "c"], r_in(r), 3)
    req.wait_done()
    assert req.outcome == "complete"


def r_in(r):
    return anthropic_events(r)[0][1]["message"]["usage"]["input_tokens"]


def test_stall_openai_before_first_piece(fake):
    fake.script(fakellm.stall(["a"], after=0))
    c = Client(fake)
    c.send("/v1/chat/completions", body_for("openai"), headers_for(fake, "openai"))
    r = c.read_head(Resp())
    assert c.read_chunk(r)                         # the role chunk
    assert b'"role":"assistant"' in r.chunks[0]
    assert c.quiet_for(0.2)
    fake.requests[0].release()
    c.read_response(r)
    c.close()
    assert openai_chunks(r)[-1] == "[DONE]"


def test_stall_client_close_is_seen(fake):
    fake.script(fakellm.stall(["a", "b"], after=1))
    c = Client(fake)
    c.send("/v1/messages", body_for("anthropic"), headers_for(fake, "anthropic"))
    r = c.read_head(Resp())
    read_events_until(c, r, 1)
    (req,) = fake.requests
    assert not req.client_closed.is_set()
    t0 = time.monotonic()
    c.close()
    req.wait_closed(IO_TIMEOUT)
    assert time.monotonic() - t0 < 1.0 * SLOW
    req.wait_done()
    assert req.outcome == "client_closed"


def test_client_close_during_delay_is_seen(fake):
    fake.script(fakellm.text(["a", "b"], delay=30))
    c = Client(fake)
    c.send("/v1/messages", body_for("anthropic"), headers_for(fake, "anthropic"))
    r = c.read_head(Resp())
    read_events_until(c, r, 1)
    c.close()
    req = fake.requests[0].wait_closed()
    assert req.wait_done().outcome == "client_closed"


def test_stall_until_stop(fake):
    fake.script(fakellm.stall(["a", "b"], after=1))
    c = Client(fake)
    c.send("/v1/messages", body_for("anthropic"), headers_for(fake, "anthropic"))
    r = c.read_head(Resp())
    read_events_until(c, r, 1)
    t0 = time.monotonic()
    fake.stop()
    assert time.monotonic() - t0 < 2.0
    c.read_response(r)
    c.close()
    assert r.eof and not r.terminated
    assert fake.requests[0].outcome == "stopped"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", fake.port), timeout=1).close()


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
def test_drop_mid_stream(fake, kind):
    fake.script(fakellm.drop(["a", "b", "c", "d"], after=2))
    c = Client(fake)
    c.send(path_for(kind), body_for(kind), headers_for(fake, kind))
    r = c.read_response()
    c.close()
    assert r.status == 200 and r.eof and not r.terminated
    text = r.body.decode()
    assert text.endswith("\n\n")
    if kind == "anthropic":
        assert text.count("event: content_block_delta") == 2 and "message_stop" not in text
    else:
        assert text.count('"content":"') == 3 and "[DONE]" not in text   # role + 2
    req = fake.requests[0].wait_done()
    assert req.outcome == "dropped" and req.pieces_sent == 2
    # the server is still fine
    fake.script(fakellm.text("ok"))
    assert call(fake).status == 200


def test_drop_partial_event(fake):
    fake.script(fakellm.drop(["a", "b"], after=1, drop_partial=True))
    c = Client(fake)
    c.send("/v1/messages", body_for("anthropic"), headers_for(fake, "anthropic"))
    r = c.read_response()
    c.close()
    assert r.eof and not r.terminated
    assert not r.body.endswith(b"\n\n")
    assert r.body.count(b"event: content_block_delta") == 2     # one whole, one cut
    assert r.body.count(b'"text":"a"') == 1 and b'"text":"b"' not in r.body


def test_drop_with_reset(fake):
    fake.script(fakellm.drop(["a", "b"], after=1, drop_reset=True))
    c = Client(fake)
    c.send("/v1/messages", body_for("anthropic"), headers_for(fake, "anthropic"))
    r = Resp()
    with pytest.raises(ConnectionResetError):
        c.read_head(r)
        while c.read_chunk(r):
            pass
        c.sock.recv(1)          # nothing more: a reset, not an orderly EOF
    c.close()
    assert not r.terminated
    assert fake.requests[0].wait_done().outcome == "dropped"


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("status,etype", [(400, "invalid_request_error"),
                                          (401, "authentication_error"),
                                          (429, "rate_limit_error"),
                                          (500, "api_error"),
                                          (529, "overloaded_error")])
def test_anthropic_http_errors(fake, status, etype):
    fake.script(fakellm.http_error(status, retry_after=3 if status == 429 else None))
    r = call(fake)
    assert r.status == status
    assert r.headers["content-type"] == "application/json"
    assert int(r.headers["content-length"]) == len(r.body)
    doc = r.json()
    assert doc["type"] == "error" and doc["error"]["type"] == etype
    assert isinstance(doc["error"]["message"], str) and doc["error"]["message"]
    assert ("retry-after" in r.headers) == (status == 429)
    assert fake.requests[0].wait_done().outcome == "error"


def test_529_status_line(fake):
    fake.script(fakellm.http_error(529, "Overloaded!"))
    c = Client(fake)
    c.send("/v1/messages", body_for("anthropic"), headers_for(fake, "anthropic"))
    line = c.f.readline()
    c.close()
    assert line == b"HTTP/1.1 529 Overloaded\r\n"


@pytest.mark.parametrize("status,etype,code", [(400, "invalid_request_error", None),
                                               (401, "invalid_request_error",
                                                "invalid_api_key"),
                                               (429, "requests", "rate_limit_exceeded"),
                                               (500, "server_error", None),
                                               (503, "server_error", None)])
def test_openai_http_errors(fake, status, etype, code):
    fake.script(fakellm.http_error(status, "custom message"))
    r = call(fake, "openai")
    assert r.status == status
    assert r.json() == {"error": {"message": "custom message", "type": etype,
                                  "param": None, "code": code}}


def test_error_reply_keeps_connection(fake):
    fake.script(fakellm.http_error(500), fakellm.text("second"))
    c = Client(fake)
    c.send("/v1/messages", body_for("anthropic"), headers_for(fake, "anthropic"))
    assert c.read_response().status == 500
    c.send("/v1/messages", body_for("anthropic"), headers_for(fake, "anthropic"))
    r = c.read_response()
    c.close()
    assert r.status == 200 and b'"text":"second"' in r.body


def test_anthropic_error_event_mid_stream(fake):
    fake.script(fakellm.stream_error(["partial"], after=1, error_type="overloaded_error",
                                     message="Overloaded"))
    r = call(fake)
    assert r.status == 200 and r.terminated
    evs = anthropic_events(r)
    assert [n for n, _ in evs] == ["message_start", "content_block_start", "ping",
                                   "content_block_delta", "error"]
    assert evs[-1][1] == {"type": "error", "error": {"type": "overloaded_error",
                                                     "message": "Overloaded"}}
    assert fake.requests[0].wait_done().outcome == "complete"


def test_anthropic_error_event_before_first_piece(fake):
    fake.script(fakellm.stream_error(["never"], after=0, error_type="api_error",
                                     message="boom"))
    evs = anthropic_events(call(fake))
    assert [n for n, _ in evs][-1] == "error" and "content_block_delta" not in \
        [n for n, _ in evs]
    assert evs[-1][1]["error"]["message"] == "boom"


def test_openai_error_mid_stream(fake):
    fake.script(fakellm.stream_error(["a"], message="upstream died",
                                     error_type="server_error"))
    r = call(fake, "openai")
    assert r.terminated
    data = openai_chunks(r)
    assert "[DONE]" not in data
    assert json.loads(data[-1]) == {"error": {"message": "upstream died",
                                              "type": "server_error", "param": None,
                                              "code": None}}
    assert json.loads(data[1])["choices"][0]["delta"]["content"] == "a"
    fake.script(fakellm.stream_error([]))
    err = json.loads(openai_chunks(call(fake, "openai"))[-1])["error"]
    assert err["type"] == "server_error" and err["message"]
    fake.script(fakellm.stream_error([]))
    assert anthropic_events(call(fake))[-1][1]["error"]["type"] == "overloaded_error"


# ---------------------------------------------------------------------------
# Spawn blocks, non-streaming replies
# ---------------------------------------------------------------------------

SPAWN_RE = re.compile(r'<spawn_agents mode="(parallel|sequential)">(.*?)</spawn_agents>',
                      re.S)


@pytest.mark.parametrize("mode", ["parallel", "sequential"])
def test_spawn_reply(fake, mode):
    tasks = ["History of QC", 'Top "QC" companies & <labs>']
    fake.script(fakellm.spawn(tasks, mode=mode, before="Plan:\n", after="\nDone."))
    r = call(fake)
    evs = anthropic_events(r)
    deltas = [d["delta"]["text"] for n, d in evs if n == "content_block_delta"]
    assert len(deltas) > 5
    assert not any("<spawn_agents" in d for d in deltas)    # the tag straddles deltas
    text = "".join(deltas)
    assert text.startswith("Plan:\n<spawn_agents") and text.endswith("</spawn_agents>\nDone.")
    m = SPAWN_RE.search(text)
    assert m and m.group(1) == mode
    got = re.findall(r'<agent task="([^"]*)" />', m.group(2))
    assert got == ["History of QC", "Top &quot;QC&quot; companies &amp; &lt;labs&gt;"]


def test_spawn_block_text_matches_spec_example():
    assert ("I'll split this up.\n" + fakellm.spawn_block(["History of QC",
                                                            "Top QC companies"])) == (
        "I'll split this up.\n<spawn_agents mode=\"parallel\">\n  <agent task=\"History of "
        "QC\" />\n  <agent task=\"Top QC companies\" />\n</spawn_agents>")


@pytest.mark.parametrize("stream", [False, None])
def test_anthropic_non_streaming(fake, stream):
    fake.script(fakellm.text(["{\"a\":", " 1}"], input_tokens=20, output_tokens=5))
    r = call(fake, stream=stream)
    assert r.status == 200 and "transfer-encoding" not in r.headers
    assert r.headers["content-type"] == "application/json"
    doc = r.json()
    assert doc["type"] == "message" and doc["role"] == "assistant"
    assert doc["content"] == [{"type": "text", "text": "{\"a\": 1}"}]
    assert doc["stop_reason"] == "end_turn" and doc["model"] == "test-model"
    assert doc["usage"] == {"input_tokens": 20, "output_tokens": 5}


def test_openai_non_streaming(fake):
    fake.script(fakellm.text("whole", input_tokens=2, output_tokens=1))
    r = call(fake, "openai", stream=False)
    doc = r.json()
    assert doc["object"] == "chat.completion"
    assert doc["choices"][0]["message"] == {"role": "assistant", "content": "whole",
                                            "refusal": None, "annotations": []}
    assert doc["choices"][0]["finish_reason"] == "stop"
    assert doc["usage"] == {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}


def test_anthropic_non_streaming_without_text(fake):
    fake.script(fakellm.text())
    doc = call(fake, stream=False).json()
    assert doc["content"] == [] and doc["stop_reason"] == "end_turn"


@pytest.mark.parametrize("body,raw", [
    ({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
     b'{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}'),
    ("not json {", b"not json {"),
    (b"\xff", b"\xff"),
])
def test_non_streaming_body_replaced(fake, body, raw):
    fake.script(fakellm.text("unused", whole_body=body))
    r = call(fake, stream=False)
    assert r.status == 200 and r.body == raw
    assert int(r.headers["content-length"]) == len(raw)


def test_non_streaming_drop(fake):
    fake.script(fakellm.drop(["x" * 200], after=0))
    r = call(fake, stream=False)
    assert r.status == 200 and r.eof
    assert 0 < len(r.body) < int(r.headers["content-length"])


# ---------------------------------------------------------------------------
# Request validation
# ---------------------------------------------------------------------------

def _without(d, k):
    d = dict(d)
    d.pop(k)
    return d


ANTHROPIC_BAD = [
    ("no key", dict(key=None), None, 401, "authentication_error"),
    ("wrong key", dict(key="nope"), None, 401, "authentication_error"),
    ("no version", dict(drop="anthropic-version"), None, 400, "invalid_request_error"),
    ("bad json", {}, b"{nope", 400, "invalid_request_error"),
    ("no max_tokens", {}, "max_tokens", 400, "invalid_request_error"),
    ("no model", {}, "model", 400, "invalid_request_error"),
    ("no messages", {}, "messages", 400, "invalid_request_error"),
    ("system role", {}, {"messages": [{"role": "system", "content": "s"}] + MSGS}, 400,
     "invalid_request_error"),
    ("temperature", {}, {"temperature": 1.5}, 400, "invalid_request_error"),
    ("stream type", {}, {"stream": "yes"}, 400, "invalid_request_error"),
]


@pytest.mark.parametrize("name,hopt,bopt,status,etype", ANTHROPIC_BAD,
                         ids=[c[0] for c in ANTHROPIC_BAD])
def test_anthropic_validation(fake, name, hopt, bopt, status, etype):
    rule = fake.script(fakellm.text("valid"))
    h = headers_for(fake, "anthropic", key=hopt.get("key", KEY))
    if "drop" in hopt:
        del h[hopt["drop"]]
    body = body_for("anthropic")
    if isinstance(bopt, str):
        body = _without(body, bopt)
    elif isinstance(bopt, dict):
        body.update(bopt)
    elif isinstance(bopt, bytes):
        body = bopt
    r = call(fake, body=body, headers=h)
    assert r.status == status, r.body
    assert r.json()["error"]["type"] == etype
    assert rule.used == 0 and fake.requests[0].outcome == "rejected"
    assert call(fake).status == 200 and rule.used == 1


def test_openai_validation(fake):
    rule = fake.script(fakellm.text("valid"))
    r = call(fake, "openai", headers=headers_for(fake, "openai", key=None))
    assert r.status == 401 and r.json()["error"]["code"] == "invalid_api_key"
    r = call(fake, "openai", headers=headers_for(fake, "openai", key="bad"))
    assert r.status == 401
    r = call(fake, "openai", body=_without(body_for("openai"), "model"))
    assert r.status == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = call(fake, "openai", body=dict(body_for("openai", stream=False),
                                       stream_options={"include_usage": True}))
    assert r.status == 400 and "stream_options" in r.json()["error"]["message"]
    assert rule.used == 0
    assert call(fake, "openai").status == 200 and rule.used == 1


def test_no_key_configured_accepts_no_auth():
    f = FakeLLM().start()
    try:
        f.script(fakellm.text("a"), times=None)
        assert call(f, headers=headers_for(f, "anthropic", key=None)).status == 200
        assert call(f, "openai", headers=headers_for(f, "openai", key=None)).status == 200
        assert "authorization" not in f.requests[1].headers
    finally:
        f.stop()


def test_unknown_path_and_method(fake):
    r = call(fake, "anthropic", headers=headers_for(fake, "anthropic"))  # consumes nothing
    assert r.status == 500                                             # unscripted
    c = Client(fake)
    c.sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
    r = c.read_response()
    assert r.status == 404 and r.json()["type"] == "error"
    c.sock.sendall(b"GET /v1/messages HTTP/1.1\r\nHost: x\r\n\r\n")
    r = c.read_response()
    c.close()
    assert r.status == 405


# ---------------------------------------------------------------------------
# Scripting
# ---------------------------------------------------------------------------

def sub_body(task, model="m1"):
    system = (f"<identity>\nName: B\n</identity>\n\n<task>\n{task}\n</task>\n\n"
              "<sub_agent_instructions>\nx\n</sub_agent_instructions>")
    return body_for("anthropic", model=model, system=system,
                    messages=[{"role": "user", "content": task}])


def first_text(r):
    return "".join(d["delta"]["text"] for n, d in anthropic_events(r)
                   if n == "content_block_delta")


def test_rules_by_predicate_and_order(fake):
    fake.script(fakellm.text("root"), sub_agent=False, synthesis=False)
    fake.script(fakellm.text("A done"), task="task A")
    fake.script(fakellm.text("B done"), task="task B")
    fake.script(fakellm.text("synth"), synthesis=True)
    fake.script(fakellm.text("big model"), model="big", times=None)
    assert first_text(call(fake, body=sub_body("task B"))) == "B done"
    assert first_text(call(fake, body=sub_body("task A"))) == "A done"
    assert first_text(call(fake)) == "root"
    synth = body_for("anthropic", messages=[
        {"role": "user", "content": "q"}, {"role": "assistant", "content": "plan"},
        {"role": "user", "content": "<sub_agent_results>\n</sub_agent_results>\n\nBased"}])
    assert first_text(call(fake, body=synth)) == "synth"
    for _ in range(3):
        assert first_text(call(fake, model="big", system="<task>\nzz\n</task>")) \
            == "big model"
    assert len(fake.pending()) == 0
    fake.assert_all_used()
    # used up: the next root call is unmatched
    r = call(fake)
    assert r.status == 500 and "no scripted reply" in r.json()["error"]["message"]
    assert fake.unmatched == [fake.requests[-1]]
    with pytest.raises(AssertionError):
        fake.assert_all_used()


def test_rules_in_order_and_times(fake):
    rules = fake.script(fakellm.text("1"), fakellm.text("2"), kind="anthropic")
    fake.script(fakellm.text("x"), times=2, when=lambda r: r.json.get("temperature") == 0.5)
    assert isinstance(rules, list) and len(rules) == 2
    assert first_text(call(fake, temperature=0.5)) == "1"     # earlier rule wins
    assert first_text(call(fake)) == "2"
    assert first_text(call(fake, temperature=0.5)) == "x"
    assert [r.desc for r in fake.pending()] == ["when=<fn>"]
    assert first_text(call(fake, temperature=0.5)) == "x"
    assert fake.pending() == []
    with pytest.raises(TypeError):
        fake.script(fakellm.text("y"), colour="red")


def test_default_reply_and_reset():
    f = FakeLLM(default=fakellm.text("fallback")).start()
    try:
        assert first_text(call(f, key=None)) == "fallback"
        assert f.unmatched == []
        f.script(fakellm.text("s"))
        f.reset()
        assert f.requests == [] and f.pending() == []
        assert first_text(call(f, key=None)) == "fallback"
    finally:
        f.stop()


def test_wait_requests(fake):
    fake.script(fakellm.text("x"))
    with pytest.raises(AssertionError):
        fake.wait_requests(1, timeout=0.05)
    call(fake)
    assert len(fake.wait_requests(1)) == 1


def test_keep_alive_and_chunked_request_with_expect(fake):
    fake.script(fakellm.text("one"), fakellm.text("two"))
    c = Client(fake)
    c.send("/v1/messages", body_for("anthropic"),
           headers_for(fake, "anthropic", extra={"Expect": "100-continue"}),
           chunked_body=True)
    assert c.f.readline() == b"HTTP/1.1 100 Continue\r\n"
    assert c.f.readline() == b"\r\n"
    r1 = c.read_response()
    c.send("/v1/messages", body_for("anthropic"), headers_for(fake, "anthropic"))
    r2 = c.read_response()
    c.close()
    assert first_text(r1) == "one" and first_text(r2) == "two"
    assert fake.requests[0].json == body_for("anthropic")


def test_provider_args(fake):
    assert fake.provider_args("ollama", "openai-compatible", "llama3") == [
        "--llm.provider.ollama.kind=openai-compatible",
        f"--llm.provider.ollama.base_url=http://127.0.0.1:{fake.port}/v1",
        "--llm.provider.ollama.default_model=llama3"]
    assert fake.base_url == f"http://127.0.0.1:{fake.port}"
    assert fake.openai_base_url == fake.base_url + "/v1"
    assert fake.ca_file is None


# ---------------------------------------------------------------------------
# TLS
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_tls_stream(tls_fake, host):
    assert tls_fake.base_url == f"https://127.0.0.1:{tls_fake.port}"
    tls_fake.script(fakellm.text(PIECES, input_tokens=1, output_tokens=2, chunking="split",
                                 split_size=5))
    r = call(tls_fake, ctx=client_ctx(tls_fake.ca_file), host=host)
    check_anthropic_stream(r, PIECES, 1, 2)
    assert max(len(c) for c in r.chunks) <= 5


@pytest.mark.parametrize("cipher", ["ECDHE-ECDSA-AES128-GCM-SHA256",
                                    "ECDHE-ECDSA-AES256-GCM-SHA384",
                                    "ECDHE-RSA-AES128-GCM-SHA256",
                                    "ECDHE-RSA-AES256-GCM-SHA384"])
def test_tls12_suites(tls_fake, cipher):
    raw = socket.create_connection(("127.0.0.1", tls_fake.port), timeout=IO_TIMEOUT)
    s = client_ctx(tls_fake.ca_file, tls12=True, ciphers=cipher).wrap_socket(
        raw, server_hostname="127.0.0.1")
    try:
        name, version, _ = s.cipher()
        assert (name, version) == (cipher, "TLSv1.2")
        assert s.version() == "TLSv1.2"
        key = "EC" if "ECDSA" in cipher else "RSA"
        der = s.getpeercert(binary_form=True)
        assert der
        assert s.getpeercert()["subject"] == ((("organizationName", "roost tests"),),
                                              (("commonName", "127.0.0.1"),))
        p = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-text"],
                           input=der, capture_output=True, check=True)
        assert (b"id-ecPublicKey" if key == "EC" else b"rsaEncryption") in p.stdout
    finally:
        s.close()


def test_tls_certificate_contents(tls_fake):
    pki = fakellm.make_pki()
    assert pki["ca_file"] == tls_fake.ca_file
    for cert in ("ec_cert", "rsa_cert"):
        info = ssl._ssl._test_decode_cert(pki[cert])
        sans = set(info["subjectAltName"])
        assert {("IP Address", "127.0.0.1"), ("DNS", "localhost"),
                ("DNS", "127.0.0.1")} <= sans
        assert dict(x[0] for x in info["issuer"])["commonName"] == "roost test CA"
    p = subprocess.run(["openssl", "x509", "-in", pki["ca_file"], "-noout", "-text"],
                       capture_output=True, check=True, text=True)
    assert "CA:TRUE" in p.stdout and "Certificate Sign" in p.stdout
    p = subprocess.run(["openssl", "verify", "-CAfile", pki["ca_file"], pki["ec_cert"],
                        pki["rsa_cert"]], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_tls_needs_the_ca(tls_fake):
    ctx = ssl.create_default_context()            # system trust store only
    raw = socket.create_connection(("127.0.0.1", tls_fake.port), timeout=IO_TIMEOUT)
    with pytest.raises(ssl.SSLCertVerificationError):
        ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    raw.close()
    # a wrong host name fails too, even with the CA
    raw = socket.create_connection(("127.0.0.1", tls_fake.port), timeout=IO_TIMEOUT)
    with pytest.raises(ssl.SSLCertVerificationError):
        client_ctx(tls_fake.ca_file).wrap_socket(raw, server_hostname="example.com")
    raw.close()
    # the server survives failed handshakes
    tls_fake.script(fakellm.text("ok"))
    assert call(tls_fake, ctx=client_ctx(tls_fake.ca_file)).status == 200
    assert len(tls_fake.requests) == 1


def test_tls_refuses_old_protocols(tls_fake):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(tls_fake.ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("AES128-SHA256:AES128-GCM-SHA256")    # no ECDHE: must be refused
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    raw = socket.create_connection(("127.0.0.1", tls_fake.port), timeout=IO_TIMEOUT)
    with pytest.raises(ssl.SSLError):
        ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    raw.close()


def test_tls_stall_and_client_close(tls_fake):
    tls_fake.script(fakellm.stall(["a", "b"], after=1))
    c = Client(tls_fake, client_ctx(tls_fake.ca_file))
    c.send("/v1/messages", body_for("anthropic"), headers_for(tls_fake, "anthropic"))
    r = c.read_head(Resp())
    read_events_until(c, r, 1)
    c.close()
    assert tls_fake.requests[0].wait_closed().wait_done().outcome == "client_closed"
