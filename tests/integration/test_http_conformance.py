"""HTTP conformance findings of an outside run (issue 11 §5) and the diagnostics
echo endpoints (diag.echo, http/diag.h).

- Host (RFC 9112 §3.2): an invalid value, none in HTTP/1.1, or two are 400.
- Transfer-Encoding (RFC 9112 §6.3): chunked not the final coding, or a second
  field after chunked, is 400 and closes; a coding before a final chunked is 501.
- HTTP/1.2 is served as HTTP/1.1 (RFC 9110 §2.5); HTTP/2.0 stays 505.
- The body timeout is a stall timeout: a body that keeps coming, slower than
  the timeout in total, is answered; a body that stops gets 408.
- diag.echo: POST /_echo echoes the body (Content-Length or chunked) and its
  Content-Type; GET /_echo is a WebSocket echo; refused unless every listener
  is on loopback; off by default.
"""

import os
import socket
import time

import pytest

import roostlib
from roostlib import SLOW, Raw, assert_error_shape, family_or_other, get_req, readable
from wslib import OP_BINARY, OP_CLOSE, OP_CONT, OP_TEXT, WS, build_frame

FAM = family_or_other("fleet")
STYLES = tuple(f for f in ("fleet", "rpg", "documents") if f in roostlib.built_families())
LIM = roostlib.limits()

# The stall timeout the slow-body tests run with, and the pause between the
# bytes of an honest slow body: shorter than the timeout, and enough of them
# that the body takes longer than the timeout in total.
BODY_TIMEOUT_MS = int(2500 * SLOW)
SLOW_PAUSE = 1.5 * SLOW
SLOW_BYTES = 5


def expect_status_and_close(srv, fam, payload, status):
    with srv.raw(fam) as c:
        c.send(payload)
        r = c.read_response()
        assert_error_shape(fam, r, status)
        assert (r.header("Connection") or "").lower() == "close", r
        assert c.closed_by_peer(5 * SLOW), f"connection left open after {status}"
    ok = srv.request(fam, "GET", "/health")
    assert ok.status == 200, ok
    return r


@pytest.fixture(scope="module")
def echo(tmp_path_factory):
    """A roostd with diag.echo on and a short body stall timeout."""
    srv = roostlib.Server(tmp_path_factory.mktemp("echo"),
                          args=["--diag.echo=true", f"--http.body_timeout_ms={BODY_TIMEOUT_MS}"])
    srv.start()
    yield srv
    srv.stop()


# ---- Host -------------------------------------------------------------------------

BAD_HOSTS = {
    "space": "a b",
    "slash": "a/b",
    "empty": "",
    "userinfo": "u@h",
    "bad_port": "h:8x",
    "open_bracket": "[::1",
    "bad_pct": "h%zz",
}


@pytest.mark.parametrize("fam", STYLES)
@pytest.mark.parametrize("case", sorted(BAD_HOSTS))
def test_invalid_host_is_400(server, fam, case):
    payload = f"GET /health HTTP/1.1\r\nHost: {BAD_HOSTS[case]}\r\n\r\n".encode()
    expect_status_and_close(server, fam, payload, 400)


@pytest.mark.parametrize("payload", [
    b"GET /health HTTP/1.1\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
    b"GET /health HTTP/1.0\r\nHost: a b\r\n\r\n",
    b"GET http://a:x/health HTTP/1.1\r\nHost: a\r\n\r\n",
], ids=["missing_in_1.1", "two_same", "invalid_in_1.0", "bad_absolute_authority"])
def test_host_rules_are_400(server, payload):
    expect_status_and_close(server, FAM, payload, 400)


@pytest.mark.parametrize("host", ["x", "example.com:8080", "127.0.0.1:1", "[::1]:80", "h%41"])
def test_valid_host_is_served(server, host):
    with server.raw(FAM) as c:
        r = c.exchange(get_req("/health", host=host))
        assert r.status == 200, r


# ---- Transfer-Encoding ------------------------------------------------------------

TE_CASES = {
    "chunked_then_identity": (["chunked, identity"], 400),
    "second_field_after_chunked": (["chunked", "identity"], 400),
    "chunked_twice": (["chunked", "chunked"], 400),
    "gzip_then_chunked": (["gzip, chunked"], 501),
}


@pytest.mark.parametrize("fam", STYLES)
@pytest.mark.parametrize("case", sorted(TE_CASES))
def test_transfer_encoding(server, fam, case):
    fields, status = TE_CASES[case]
    head = "".join(f"Transfer-Encoding: {v}\r\n" for v in fields)
    payload = f"POST /health HTTP/1.1\r\nHost: x\r\n{head}\r\n0\r\n\r\n".encode()
    r = expect_status_and_close(server, fam, payload, status)
    assert r.status == status, r


# ---- versions ---------------------------------------------------------------------

@pytest.mark.parametrize("version", ["HTTP/1.2", "HTTP/1.9"])
def test_higher_minor_is_served_as_1_1(server, version):
    with server.raw(FAM) as c:
        r = c.exchange(get_req("/health", version=version))
        assert r.status == 200, r
        assert r.version == "HTTP/1.1", r
        # keep-alive as 1.1: the same connection answers again
        r2 = c.exchange(get_req("/health", version=version))
        assert r2.status == 200 and r2.version == "HTTP/1.1", r2


def test_http_2_0_is_still_505(server):
    expect_status_and_close(server, FAM, get_req("/health", version="HTTP/2.0"), 505)


# ---- body stall timeout -----------------------------------------------------------

def send_slowly(c, head, body, pause):
    """Send head then body one byte at a time, pause seconds apart; stops
    (returns False) if the server answers early."""
    c.send(head)
    for i in range(len(body)):
        time.sleep(pause)
        if readable(c.sock):
            return False
        c.send(body[i:i + 1])
    return True


def test_slow_body_that_keeps_coming_is_not_cut(echo):
    """Bytes SLOW_PAUSE apart (each gap shorter than the stall timeout), the
    whole body taking longer than the timeout: answered 200 with the body."""
    body = b"slow!"[:SLOW_BYTES]
    assert SLOW_PAUSE * 1000 < BODY_TIMEOUT_MS < SLOW_PAUSE * 1000 * len(body)
    head = (f"POST /_echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with Raw(echo.ports[FAM]) as c:
        assert send_slowly(c, head, body, SLOW_PAUSE), "answered before the body was complete"
        r = c.read_response()
        assert r.status == 200, r
        assert r.body == body, r


def test_slow_chunked_body_that_keeps_coming_is_not_cut(echo):
    chunks = [b"3\r\nabc\r\n", b"2\r\nde\r\n", b"1\r\nf\r\n", b"0\r\n\r\n"]
    assert SLOW_PAUSE * 1000 * len(chunks) > BODY_TIMEOUT_MS
    head = b"POST /_echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    with Raw(echo.ports[FAM]) as c:
        c.send(head)
        for ch in chunks:
            time.sleep(SLOW_PAUSE)
            assert not readable(c.sock), "answered before the body was complete"
            c.send(ch)
        r = c.read_response()
        assert r.status == 200, r
        assert r.body == b"abcdef", r


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_stalled_body_gets_408(echo, framing):
    """A body that stops arriving is answered 408 and the connection closes."""
    if framing == "chunked":
        head = b"POST /_echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"
    else:
        head = b"POST /_echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab"
    with Raw(echo.ports[FAM], timeout=BODY_TIMEOUT_MS / 1000 * 4 + 5) as c:
        c.send(head)
        r = c.read_response(timeout=BODY_TIMEOUT_MS / 1000 * 4 + 5)
        assert_error_shape(FAM, r, 408)
        assert c.closed_by_peer(5 * SLOW)


def test_body_timeout_key_is_validated(tmp_path):
    rc, _, err = roostlib.run_roostd(["--http.body_timeout_ms=abc", "--budget"], cwd=str(tmp_path))
    assert rc != 0
    assert "http.body_timeout_ms" in err, err


# ---- diag.echo: HTTP ------------------------------------------------------------

@pytest.mark.parametrize("fam", roostlib.built_families())
def test_echo_content_length(echo, fam):
    body = os.urandom(3000)
    r = echo.request(fam, "POST", "/_echo", headers={"Content-Type": "application/x-test"},
                     body=body)
    assert r.status == 200, r
    assert r.header("Content-Type") == "application/x-test", r
    assert r.body == body


def test_echo_chunked_and_larger_than_tx(echo):
    """A chunked body larger than a tx buffer comes back whole."""
    body = os.urandom(min(3 * LIM["CFG_BUF_BYTES"], LIM["CFG_BODY_SLOT_BYTES"] - 1024))
    pieces = [body[i:i + 7000] for i in range(0, len(body), 7000)]
    wire = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces) + b"0\r\n\r\n"
    with Raw(echo.ports[FAM]) as c:
        r = c.exchange(b"POST /_echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                       b"Content-Type: application/octet-stream\r\n\r\n" + wire)
        assert r.status == 200, r
        assert r.header("Content-Type") == "application/octet-stream"
        assert r.body == body
        # keep-alive: the connection serves the next request
        r2 = c.exchange(b"POST /_echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
        assert r2.status == 200 and r2.body == b"ok", r2
        assert r2.header("Content-Type") is None, r2


def test_echo_keeps_the_listeners_body_limit(tmp_path):
    srv = roostlib.Server(tmp_path, args=["--diag.echo=true", "--max_json_body_bytes=100"])
    srv.start()
    try:
        r = srv.request(FAM, "POST", "/_echo", body=b"x" * 101)
        assert r.status == 413, r
        r = srv.request(FAM, "POST", "/_echo", body=b"x" * 100)
        assert r.status == 200 and r.body == b"x" * 100, r
    finally:
        srv.stop()


def test_echo_other_method_is_405(echo):
    r = echo.request(FAM, "PUT", "/_echo", body=b"x")
    assert r.status == 405, r


def test_echo_is_off_by_default(server):
    r = server.request(FAM, "POST", "/_echo", body=b"x")
    assert r.status in (401, 404, 405), r


# ---- diag.echo: WebSocket --------------------------------------------------------

def echo_ws(srv):
    return WS(srv.ports[FAM], path="/_echo", read_init=False)


def test_ws_echo_text_and_binary(echo):
    with echo_ws(echo) as c:
        c.send_text("héllo wörld")
        m = c.recv_message()
        assert m.opcode == OP_TEXT and m.payload == "héllo wörld".encode(), m
        blob = os.urandom(min(5000, LIM["CFG_WS_MAX_MESSAGE"]))
        c.send_frame(OP_BINARY, blob)
        m = c.recv_message()
        assert m.opcode == OP_BINARY and m.payload == blob, m


def test_ws_echo_fragments_come_back_as_sent(echo):
    with echo_ws(echo) as c:
        c.send_frame(OP_TEXT, b"one ", fin=False)
        c.send_frame(OP_CONT, b"\xe2\x82", fin=False)     # a sequence split across frames
        c.send_frame(OP_CONT, b"\xac two")
        frames = [c.next_frame() for _ in range(3)]
        assert [(f.opcode, f.fin) for f in frames] == [(OP_TEXT, False), (OP_CONT, False),
                                                       (OP_CONT, True)], frames
        assert b"".join(f.payload for f in frames) == "one € two".encode()


def test_ws_echo_many_messages_in_one_write(echo):
    """Frames sent back to back are echoed in order, none dropped."""
    with echo_ws(echo) as c:
        msgs = [os.urandom(2000) for _ in range(20)]
        c.send(b"".join(build_frame(OP_BINARY, m) for m in msgs))
        for m in msgs:
            got = c.recv_message()
            assert got.opcode == OP_BINARY and got.payload == m


def test_ws_echo_limit_and_close(echo):
    with echo_ws(echo) as c:
        c.send(build_frame(OP_BINARY, b"", length=LIM["CFG_WS_MAX_MESSAGE"] + 1))
        c.expect_close(1009)
    with echo_ws(echo) as c:
        c.send_close(1000)
        f = c.next_frame()
        assert f.opcode == OP_CLOSE and f.close_code == 1000, f


# ---- diag.echo: refused off loopback -------------------------------------------

def test_echo_refused_on_non_loopback_bind(tmp_path):
    fam = roostlib.built_families()[-1]
    rc, out, err = roostlib.run_roostd(["--diag.echo=true", f"--{fam}.host=0.0.0.0",
                                        f"--data_dir={tmp_path}/d"] +
                                       [f"--{f}.port=0" for f in roostlib.built_families()],
                                       cwd=str(tmp_path))
    assert rc == 2, (rc, out, err)             # a configuration error
    assert "diag.echo" in err and "loopback" in err and f"{fam}.host" in err, err
    assert "ready" not in out
    assert not os.path.exists(f"{tmp_path}/d"), "refused only after touching the data dir"


@pytest.mark.parametrize("host", ["127.0.0.2", "::1", "localhost"])
def test_echo_accepted_on_any_loopback_bind(tmp_path, host):
    fam = roostlib.built_families()[-1]
    rc, out, err = roostlib.run_roostd(["--diag.echo=true", f"--{fam}.host={host}", "--budget"],
                                       cwd=str(tmp_path))
    assert rc == 0, (rc, out, err)


def test_help_describes_diag_echo(tmp_path):
    rc, out, _ = roostlib.run_roostd(["--help"], cwd=str(tmp_path))
    assert rc == 0
    line = next((ln for ln in out.splitlines() if "--diag.echo" in ln), None)
    assert line is not None and "/_echo" in line and "loopback" in line, out
