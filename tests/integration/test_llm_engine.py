"""roost's outbound LLM engine (src/out/llm) against the fake provider.

tests/tools/llm_call runs one call (or several) through the engine inside
roost's own poll loop and prints every text delta and the end of the call;
these tests check what a chat request will build on: streamed text in
order, usage and stop reason, and each way a call can end (HTTP errors,
drops, provider error events, timeouts, refused connections, failed
certificate checks), plus cancel, pause/resume and slot reuse, over HTTP and
TLS, with no C-library allocation after init. Whole (non-streaming) calls,
as the builder makes them, end the same ways with the same details; their
reply is one JSON body, held whole up to CFG_LLM_SSE_BYTES.
"""

import json
import os
import re
import socket
import subprocess

import pytest

import fakellm
from roostlib import IO_TIMEOUT, REPO, SANITIZED, SLOW

# What this file needs built into roostd (conftest.py deselects it, and
# lists it, for a profile without them).
NEEDS = {"llm"}

BODY = json.dumps({"model": "claude-test", "max_tokens": 100,
                   "messages": [{"role": "user", "content": "hi"}], "stream": True})
OPENAI_BODY = json.dumps({"model": "gpt-test", "max_tokens": 100, "stream": True,
                          "messages": [{"role": "user", "content": "hi"}],
                          "stream_options": {"include_usage": True}})


@pytest.fixture(scope="module")
def llm_call():
    path = os.environ.get("ROOST_LLM_CALL") or os.path.join(REPO, "build", "tools", "llm_call")
    assert os.access(path, os.X_OK), f"{path} missing: make {path}"
    return path


@pytest.fixture(params=[False, True], ids=["http", "https"])
def fake(request):
    f = fakellm.FakeLLM(tls=request.param).start()
    yield f
    f.stop()


@pytest.fixture
def plain():
    f = fakellm.FakeLLM().start()
    yield f
    f.stop()


def run(tool, fake, args=(), body=BODY, path="/v1/messages", url=None, env=None, timeout=None):
    ca = ["--ca", fake.ca_file] if getattr(fake, "ca_file", None) else []
    argv = [tool] + ca + list(args) + [url or (fake.base_url + path), body]
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run(argv, capture_output=True, text=True, env=e,
                       timeout=timeout or 30 * SLOW)
    texts = [json.loads(line[5:]) for line in r.stdout.splitlines() if line.startswith("text ")]
    ends = [line for line in r.stdout.splitlines() if line.startswith("end ")]
    return r, texts, [parse_end(x) for x in ends]


def parse_end(line):
    head, _, detail = line.partition(" detail=")
    fields = dict(kv.split("=", 1) for kv in head.split()[1:] if "=" in kv)
    # status_str text has spaces: st= runs up to " http="
    fields["st"] = line[len("end st="):line.index(" http=")]
    fields["detail"] = detail
    return fields


def test_anthropic_stream_split_anywhere(llm_call, fake):
    fake.script(fakellm.text("Hel", "lo ", "wörld", "!", input_tokens=812, output_tokens=11,
                             chunking="split", split_size=5))
    r, texts, ends = run(llm_call, fake)
    assert r.returncode == 0, r.stderr
    assert "".join(texts) == "Hello wörld!"
    assert len(ends) == 1
    e = ends[0]
    assert (e["st"], e["http"], e["got_text"], e["in"], e["out"], e["stop"]) == \
        ("ok", "200", "1", "812", "11", "end_turn"), e
    req = fake.requests[0]
    assert req.headers["anthropic-version"] == "2023-06-01"
    assert req.json == json.loads(BODY)


def test_openai_stream_with_usage(llm_call, fake):
    fake.script(fakellm.text("a", "b", "c", input_tokens=5, output_tokens=3))
    r, texts, ends = run(llm_call, fake, ["--kind", "openai", "--key", "sk-test"],
                         body=OPENAI_BODY, url=fake.openai_base_url + "/chat/completions")
    assert r.returncode == 0, r.stderr
    assert texts == ["a", "b", "c"]
    e = ends[0]
    assert (e["st"], e["in"], e["out"], e["stop"]) == ("ok", "5", "3", "stop"), e
    assert fake.requests[0].headers["authorization"] == "Bearer sk-test"


@pytest.mark.parametrize("status", [429, 500, 529, 400, 401])
def test_http_errors_carry_status_and_message(llm_call, plain, status):
    plain.script(fakellm.http_error(status, message=f"nope {status}"))
    r, texts, ends = run(llm_call, plain)
    e = ends[0]
    assert texts == []
    assert (e["st"], e["http"], e["got_text"]) == \
        ("peer answered an HTTP error", str(status), "0"), e
    assert e["detail"] == f"HTTP {status}: nope {status}", e


def test_drop_mid_stream_after_text(llm_call, fake):
    fake.script(fakellm.drop(["one ", "two ", "three"], after=2))
    r, texts, ends = run(llm_call, fake)
    e = ends[0]
    assert texts == ["one ", "two "]
    assert (e["st"], e["got_text"]) == ("i/o error", "1"), e
    assert e["detail"].startswith("stream error: "), e


def test_provider_error_event(llm_call, plain):
    plain.script(fakellm.stream_error(["x"], after=1, error_type="overloaded_error",
                                      message="Overloaded"))
    r, texts, ends = run(llm_call, plain)
    e = ends[0]
    assert texts == ["x"]
    assert (e["st"], e["got_text"]) == ("i/o error", "1"), e
    assert "overloaded_error" in e["detail"] and "Overloaded" in e["detail"], e


def test_error_event_before_any_text(llm_call, plain):
    plain.script(fakellm.stream_error(error_type="api_error", message="boom"))
    r, texts, ends = run(llm_call, plain)
    e = ends[0]
    assert (e["st"], e["got_text"]) == ("i/o error", "0"), e
    assert "boom" in e["detail"], e


def test_connection_refused(llm_call, plain):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                                   # nothing listens there now
    r, texts, ends = run(llm_call, plain, url=f"http://127.0.0.1:{port}/v1/messages")
    e = ends[0]
    assert (e["st"], e["http"], e["got_text"]) == ("i/o error", "0", "0"), e
    assert e["detail"].startswith("connect error: "), e


def test_no_first_byte_in_time(llm_call, plain):
    plain.script(fakellm.text("late", headers_delay=5.0 * SLOW))
    r, texts, ends = run(llm_call, plain, ["--timeout-ms", str(int(400 * SLOW))])
    e = ends[0]
    assert texts == []
    assert (e["st"], e["got_text"]) == ("timed out", "0"), e
    assert e["detail"].startswith("connect error: "), e


def test_silence_mid_stream_times_out(llm_call, plain):
    plain.script(fakellm.stall(["a", "b", "c"], after=1))
    r, texts, ends = run(llm_call, plain, ["--idle-ms", "1000"])
    plain.release()
    e = ends[0]
    assert texts == ["a"]
    assert (e["st"], e["got_text"]) == ("timed out", "1"), e


def test_certificate_not_trusted(llm_call, tmp_path):
    f = fakellm.FakeLLM(tls=True).start()
    try:
        f.script(fakellm.text("secret"))
        other = "/etc/ssl/certs/ca-certificates.crt"
        if not os.path.isfile(other):
            pytest.skip(f"{other} missing (Debian package ca-certificates)")
        argv = [llm_call, "--ca", other, f.base_url + "/v1/messages", BODY]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30 * SLOW)
        e = parse_end([x for x in r.stdout.splitlines() if x.startswith("end ")][0])
        assert (e["st"], e["http"], e["got_text"]) == ("i/o error", "0", "0"), e
        assert "secret" not in r.stdout
        assert f.requests == [], "a request went out over an unverified connection"
    finally:
        f.stop()


def test_cancel_closes_the_provider_connection(llm_call, plain):
    plain.script(fakellm.stall(["a", "b"], after=1))
    r, texts, ends = run(llm_call, plain, ["--cancel-after", "1"])
    assert texts == ["a"] and ends == [] and "cancelled" in r.stdout, r.stdout
    req = plain.wait_requests(1)[0]
    assert req.wait_closed(IO_TIMEOUT), "the provider connection stayed open after cancel"
    plain.release()


def test_pause_and_resume_keep_every_delta(llm_call, plain):
    pieces = [f"p{i} " for i in range(8)]
    plain.script(fakellm.text(*pieces, chunking="coalesce"))
    r, texts, ends = run(llm_call, plain, ["--pause-ms", "30"])
    assert texts == pieces
    assert ends[0]["st"] == "ok", ends


def test_slot_and_connection_reused(llm_call, fake):
    fake.script(fakellm.text("x"), times=3)
    r, texts, ends = run(llm_call, fake, ["--calls", "3"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert texts == ["x", "x", "x"] and [e["st"] for e in ends] == ["ok"] * 3
    assert "slots_high=1 used=0" in r.stdout


@pytest.mark.skipif(SANITIZED, reason="ASan replaces malloc; the shim measures the plain build")
def test_no_libc_heap_after_init(llm_call, shim, tmp_path):
    f = fakellm.FakeLLM(tls=True).start()
    try:
        f.script(fakellm.text("no ", "malloc"), times=2)
        report = tmp_path / "shim.txt"
        r, texts, ends = run(llm_call, f, ["--calls", "2"],
                             env={"LD_PRELOAD": shim, "ROOST_SHIM_REPORT": str(report)})
        assert [e["st"] for e in ends] == ["ok", "ok"], r.stdout + r.stderr
        text = report.read_text()
        summary = [x for x in text.splitlines() if x.startswith("allocs_after_poll=")]
        assert summary, text
        fields = dict(kv.split("=") for kv in summary[-1].split())
        assert fields["allocs_after_poll"] == "0" and fields["frees_after_poll"] == "0", text[:8000]
    finally:
        f.stop()


# ---------------------------------------------------------------------------
# Whole (non-streaming) calls: llm_call --whole (fleet.md §10.1's builder turns)
# ---------------------------------------------------------------------------

WHOLE_BODY = json.dumps({"model": "claude-test", "max_tokens": 100, "stream": False,
                         "messages": [{"role": "user", "content": "hi"}]})
OPENAI_WHOLE_BODY = json.dumps({"model": "gpt-test", "max_tokens": 100, "stream": False,
                                "messages": [{"role": "user", "content": "hi"}]})
KINDS = ["anthropic", "openai"]


def run_whole(tool, fake, args=(), kind="anthropic", **kw):
    if kind == "openai":
        return run(tool, fake, ["--whole", "--kind", "openai"] + list(args),
                   body=OPENAI_WHOLE_BODY, url=fake.openai_base_url + "/chat/completions", **kw)
    return run(tool, fake, ["--whole"] + list(args), body=WHOLE_BODY, **kw)


def exact_reply(n):
    """A Messages reply of exactly n bytes (its text padded) and its text."""
    doc = {"content": [{"type": "text", "text": ""}], "stop_reason": "end_turn"}
    text = "z" * (n - len(json.dumps(doc, separators=(",", ":"))))
    doc["content"][0]["text"] = text
    body = json.dumps(doc, separators=(",", ":")).encode()
    assert len(body) == n
    return body, text


@pytest.mark.parametrize("kind", KINDS)
def test_whole_call_text_and_usage(llm_call, fake, kind):
    fake.script(fakellm.text("Hel", "lo ", "wörld", "!\n\"q\"", input_tokens=812,
                             output_tokens=11))
    r, texts, ends = run_whole(llm_call, fake, kind=kind)
    assert r.returncode == 0, r.stderr
    assert texts == ["Hello wörld!\n\"q\""]          # one piece, once the reply is whole
    assert len(ends) == 1
    e = ends[0]
    stop = "end_turn" if kind == "anthropic" else "stop"
    assert (e["st"], e["http"], e["got_text"], e["in"], e["out"], e["stop"], e["detail"]) == \
        ("ok", "200", "1", "812", "11", stop, ""), e
    req = fake.requests[0]
    assert req.json["stream"] is False and "stream_options" not in req.json
    assert req.wait_done().outcome == "complete"


@pytest.mark.parametrize("kind", KINDS)
def test_whole_call_without_text(llm_call, plain, kind):
    plain.script(fakellm.text(input_tokens=3, output_tokens=2, stop_reason="max_tokens"))
    r, texts, ends = run_whole(llm_call, plain, kind=kind)
    e = ends[0]
    assert texts == []
    stop = "max_tokens" if kind == "anthropic" else "length"
    assert (e["st"], e["got_text"], e["in"], e["out"], e["stop"]) == ("ok", "0", "3", "2", stop), e


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [529, 400])
def test_whole_http_errors(llm_call, plain, kind, status):
    plain.script(fakellm.http_error(status, message=f"nope {status}"))
    r, texts, ends = run_whole(llm_call, plain, kind=kind)
    e = ends[0]
    assert texts == []
    assert (e["st"], e["http"], e["got_text"]) == \
        ("peer answered an HTTP error", str(status), "0"), e
    assert e["detail"] == f"HTTP {status}: nope {status}", e


def test_whole_drop_mid_body(llm_call, fake):
    fake.script(fakellm.drop(["x" * 2000], after=0))   # half the body, then close
    r, texts, ends = run_whole(llm_call, fake)
    e = ends[0]
    assert texts == []
    assert (e["st"], e["http"], e["got_text"]) == ("i/o error", "200", "0"), e
    assert e["detail"].startswith("stream error: "), e


def test_whole_silence_mid_body_times_out(llm_call, plain):
    plain.script(fakellm.stall(["x" * 2000], after=0))  # half the body, then nothing
    r, texts, ends = run_whole(llm_call, plain, ["--idle-ms", "1000"])
    plain.release()
    e = ends[0]
    assert texts == []
    assert (e["st"], e["got_text"]) == ("timed out", "0"), e
    assert e["detail"].startswith("stream error: "), e


@pytest.mark.parametrize("kind,body,st,detail", [
    ("anthropic", "not json {", "malformed input",
     "message: malformed JSON: Expecting value at byte 0"),
    ("anthropic", {"type": "message", "content": "Hello"}, "malformed input",
     "message: content is not an array"),
    ("anthropic", {"type": "message", "content": [{"type": "text", "text": 5}]},
     "malformed input", "message: a text block's text is not a string"),
    ("openai", {"object": "chat.completion", "choices": []}, "malformed input",
     "completion: choices is empty"),
    # a server that streams although asked not to
    ("openai", 'data: {"choices":[{"delta":{"content":"x"}}]}\n\ndata: [DONE]\n\n',
     "malformed input", "completion: malformed JSON: Expecting value at byte 0"),
    # the provider's error object with status 200
    ("anthropic", {"type": "error", "error": {"type": "overloaded_error",
                                              "message": "Overloaded"}},
     "i/o error", "overloaded_error: Overloaded"),
    ("openai", {"error": {"message": "The server had an error", "type": "server_error",
                          "param": None, "code": None}},
     "i/o error", "server_error: The server had an error"),
], ids=["not-json", "content-string", "text-number", "no-choices", "sse", "a-error",
        "o-error"])
def test_whole_malformed_or_error_reply(llm_call, plain, kind, body, st, detail):
    plain.script(fakellm.text("unused", whole_body=body))
    r, texts, ends = run_whole(llm_call, plain, kind=kind)
    e = ends[0]
    assert texts == []
    assert (e["st"], e["http"], e["got_text"], e["detail"]) == (st, "200", "0", detail), e


def test_whole_reply_larger_than_its_buffer(llm_call, plain):
    plain.script(fakellm.text("y" * 200_000))
    r, texts, ends = run_whole(llm_call, plain)
    e = ends[0]
    assert texts == []
    assert (e["st"], e["http"], e["got_text"]) == ("too large", "200", "0"), e
    m = re.fullmatch(r"stream error: a reply larger than its (\d+)-byte buffer "
                     r"\(CFG_LLM_SSE_BYTES\)", e["detail"])
    assert m, e
    limit = int(m.group(1))
    # exactly the buffer fits; one byte more does not
    body, text = exact_reply(limit)
    plain.script(fakellm.text("unused", whole_body=body))
    r, texts, ends = run_whole(llm_call, plain)
    assert [x["st"] for x in ends] == ["ok"] and texts == [text], r.stdout[-300:]
    plain.script(fakellm.text("unused", whole_body=exact_reply(limit + 1)[0]))
    r, texts, ends = run_whole(llm_call, plain)
    assert texts == [] and ends[0]["st"] == "too large", ends


def test_whole_headers_late(llm_call, plain):
    plain.script(fakellm.text("late", headers_delay=5.0 * SLOW))
    r, texts, ends = run_whole(llm_call, plain, ["--timeout-ms", str(int(400 * SLOW))])
    e = ends[0]
    assert texts == []
    assert (e["st"], e["got_text"]) == ("timed out", "0"), e
    assert e["detail"].startswith("connect error: "), e


def test_whole_connection_refused(llm_call, plain):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r, texts, ends = run(llm_call, plain, ["--whole"], body=WHOLE_BODY,
                         url=f"http://127.0.0.1:{port}/v1/messages")
    e = ends[0]
    assert (e["st"], e["http"], e["got_text"]) == ("i/o error", "0", "0"), e
    assert e["detail"].startswith("connect error: "), e


def test_whole_cancel_from_its_text(llm_call, plain):
    plain.script(fakellm.text("all ", "of it"))
    r, texts, ends = run_whole(llm_call, plain, ["--cancel-after", "1"])
    assert texts == ["all of it"] and ends == [] and "cancelled" in r.stdout, r.stdout
    assert "slots_high=1 used=0" in r.stdout


def test_whole_text_refused_by_the_sink_still_ends(llm_call, plain):
    # on_text returning false does not apply to a whole call: the end follows
    plain.script(fakellm.text("all ", "of it"))
    r, texts, ends = run_whole(llm_call, plain, ["--pause-ms", "30"])
    assert texts == ["all of it"] and [e["st"] for e in ends] == ["ok"], r.stdout


@pytest.mark.skipif(SANITIZED, reason="ASan replaces malloc; the shim measures the plain build")
def test_whole_slot_reused_no_libc_heap_after_init(llm_call, shim, tmp_path):
    f = fakellm.FakeLLM(tls=True).start()
    try:
        f.script(fakellm.text("no ", "malloc"), times=2)
        report = tmp_path / "shim.txt"
        r, texts, ends = run_whole(llm_call, f, ["--calls", "2"],
                                   env={"LD_PRELOAD": shim, "ROOST_SHIM_REPORT": str(report)})
        assert texts == ["no malloc"] * 2, r.stdout + r.stderr
        assert [e["st"] for e in ends] == ["ok", "ok"], r.stdout + r.stderr
        assert "slots_high=1 used=0" in r.stdout
        text = report.read_text()
        summary = [x for x in text.splitlines() if x.startswith("allocs_after_poll=")]
        assert summary, text
        fields = dict(kv.split("=") for kv in summary[-1].split())
        assert fields["allocs_after_poll"] == "0" and fields["frees_after_poll"] == "0", text[:8000]
    finally:
        f.stop()
