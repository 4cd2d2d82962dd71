"""RFC 6455 conformance of roostd's WebSocket endpoints, run against the
observability listener's /ws over raw sockets (wslib.py): the opening
handshake and its refusals, client frame validation (mask, RSV, opcodes,
control frames, fragmentation, length encoding, UTF-8 (failing at the bad byte,
before its frame is complete), size limit, which is each endpoint's own), close
handling, ping/pong, heartbeat, shutdown and the subscriber slot limit.

The observability /ws ignores client text and binary messages, so a
connection that survives a frame answers a ping afterwards; a frame that
breaks the protocol gets a close frame with the RFC's code, then EOF.
"""

import json
import os
import signal
import time

import pytest

import roostlib
from roostlib import IO_TIMEOUT, SLOW, assert_error_shape, wait_for
from wslib import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, WS,
                   accept_for, build_frame, close_payload, expect_heartbeat_close,
                   heartbeat_server, new_key, upgrade, upgrade_request)

FAM = "observability"
MAX_MESSAGE = roostlib.limits()["CFG_WS_MAX_MESSAGE"]


def port(srv):
    return srv.ports[FAM]


def ws(srv, **kw):
    return WS(port(srv), **kw)


def refused(srv, request):
    """Send an upgrade request that must not upgrade; returns the response."""
    c, r = upgrade(port(srv), request)
    c.close()
    assert r.status != 101, f"upgraded although it should not: {r!r}"
    return r


def still_serves(srv):
    r = srv.request(FAM, "GET", "/health")
    assert r.status == 200, r


# ---- opening handshake ------------------------------------------------------------

def test_handshake_rfc_sample_key(server):
    """RFC 6455 §1.3's sample key gives its sample accept value."""
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    assert accept_for(key) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    with ws(server, key=key) as c:
        assert c.resp.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        c.alive()


def test_handshake_random_keys(server):
    for _ in range(5):
        with ws(server) as c:           # WS checks 101, Upgrade, Connection, Accept
            assert c.init["type"] == "init"


def test_handshake_header_values_case_and_token_lists(server):
    """Header names and the Upgrade/Connection tokens are case-insensitive;
    Connection is a token list (Firefox sends `keep-alive, Upgrade`)."""
    key = new_key()
    req = (f"GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: WebSocket\r\n"
           f"connection: keep-alive, UPGRADE\r\nsec-websocket-key: {key}\r\n"
           f"sec-websocket-version: 13\r\n\r\n").encode()
    with WS(port(server), key=key, request=req) as c:
        c.alive()


def test_handshake_query_string_is_same_path(server):
    with ws(server, path="/ws?x=1") as c:
        c.alive()


def test_first_message_is_init_unmasked_text(server):
    with ws(server, read_init=False) as c:
        f = c.recv_frame()
        assert f.opcode == OP_TEXT and not f.masked, f
        body = f.payload
        while not f.fin:
            f = c.recv_frame()
            assert f.opcode == OP_CONT, f
            body += f.payload
        j = json.loads(body.decode("utf-8"))
        assert j["type"] == "init" and isinstance(j["sessions"], list), j


def test_frames_sent_with_the_upgrade_request_are_kept(server):
    """Frame bytes in the same write as the upgrade request are decoded once
    the connection is a WebSocket (nothing lost in the handoff)."""
    key = new_key()
    req = upgrade_request("/ws", key=key) + build_frame(OP_TEXT, b"early") + \
        build_frame(OP_PING, b"early-ping")
    with WS(port(server), key=key, request=req) as c:
        c.expect_pong(b"early-ping")
        c.alive()


def test_upgrade_after_keep_alive_request(server):
    """An upgrade on a connection that already served a request."""
    raw = roostlib.Raw(port(server))
    try:
        r = raw.exchange(roostlib.get_req("/health"))
        assert r.status == 200, r
        key = new_key()
        raw.send(upgrade_request("/ws", key=key))
        r = raw.read_response()
        assert r.status == 101, r
        assert r.header("Sec-WebSocket-Accept") == accept_for(key), r
        c = WS.__new__(WS)
        c.raw, c.resp, c.key, c.timeout, c.send_failed = raw, r, key, IO_TIMEOUT, False
        assert c.recv_json()["type"] == "init"
        c.alive()
    finally:
        raw.close()


def test_plain_get_ws_is_400(server):
    r = server.request(FAM, "GET", "/ws")
    assert_error_shape(FAM, r, 400)
    still_serves(server)


BAD_UPGRADES = {
    "no_key": dict(key=None),
    "key_not_base64": dict(key="not base64 at all!!!!!=="),
    "key_15_bytes": dict(key="AAAAAAAAAAAAAAAAAAAA"),          # base64 of 15 bytes
    "key_17_bytes": dict(key="AAAAAAAAAAAAAAAAAAAAAAA="),      # base64 of 17 bytes
    "key_empty": dict(key=""),
    "no_upgrade_header": dict(upgrade=None),
    "upgrade_not_websocket": dict(upgrade="h2c"),
    "no_connection_upgrade": dict(connection="keep-alive"),
    "http_1_0": dict(http_version="HTTP/1.0"),
}


@pytest.mark.parametrize("case", sorted(BAD_UPGRADES))
def test_invalid_upgrade_is_400(server, case):
    kw = dict(key=new_key())
    kw.update(BAD_UPGRADES[case])
    r = refused(server, upgrade_request("/ws", **kw))
    assert_error_shape(FAM, r, 400)
    assert r.header("Sec-WebSocket-Accept") is None, r
    still_serves(server)


def test_post_upgrade_is_refused(server):
    """Not GET: refused without upgrading. /ws is a known path, so the
    router's 405 (spec §1, with Allow) is as good as the handshake's 400."""
    r = refused(server, upgrade_request("/ws", key=new_key(), method="POST",
                                        headers=[("Content-Length", "0")]))
    if r.status == 405:
        assert_error_shape(FAM, r, 405, detail="Method Not Allowed")
        assert "GET" in (r.header("Allow") or ""), r
    else:
        assert_error_shape(FAM, r, 400)
    assert r.header("Sec-WebSocket-Accept") is None, r
    still_serves(server)


def test_repeated_key_is_400(server):
    r = refused(server, upgrade_request("/ws", key=new_key(),
                                        headers=[("Sec-WebSocket-Key", new_key())]))
    assert_error_shape(FAM, r, 400)


@pytest.mark.parametrize("version", [None, "8", "12", "14", "13, 8", ""])
def test_bad_version_is_426(server, version):
    r = refused(server, upgrade_request("/ws", key=new_key(), version=version))
    assert_error_shape(FAM, r, 426)
    assert r.header("Sec-WebSocket-Version") == "13", r
    still_serves(server)


def test_unlisted_origin_is_403(server):
    for origin in ("http://evil.example", "null", "http://localhost:5174"):
        r = refused(server, upgrade_request("/ws", key=new_key(),
                                            headers={"Origin": origin}))
        assert_error_shape(FAM, r, 403)


@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://localhost:3000"])
def test_listed_origin_is_accepted(server, origin):
    with ws(server, headers={"Origin": origin}) as c:
        c.alive()


def test_configured_origins_replace_defaults(fresh):
    srv = fresh(args=["--observability.cors_origins=http://a.example"])
    with ws(srv, headers={"Origin": "http://a.example"}) as c:
        c.alive()
    r = refused(srv, upgrade_request("/ws", key=new_key(),
                                     headers={"Origin": "http://localhost:5173"}))
    assert_error_shape(FAM, r, 403)


def test_star_origins_accept_any(fresh):
    srv = fresh(args=["--observability.cors_origins=*"])
    with ws(srv, headers={"Origin": "http://anything.example"}) as c:
        c.alive()


# ---- client frames that are fine ---------------------------------------------------

@pytest.mark.parametrize("n", [0, 1, 125])
def test_ping_gets_pong_with_same_payload(server, n):
    payload = os.urandom(n)
    with ws(server) as c:
        c.send_frame(OP_PING, payload)
        c.expect_pong(payload)
        c.alive()


def test_several_frames_in_one_write(server):
    """Frames coalesced in one TCP segment are all decoded. Pings answered
    before the next one was seen may be folded into one pong for the most
    recent ping (RFC 6455 §5.5.3), so the pongs are an in-order subsequence
    of the pings that ends with the last one."""
    with ws(server) as c:
        tags = [bytes([0x41 + i]) * 4 for i in range(5)]
        c.send(build_frame(OP_TEXT, b"t") + build_frame(OP_BINARY, b"b") +
               b"".join(build_frame(OP_PING, t) for t in tags))
        seen = []
        while not seen or seen[-1] != tags[-1]:
            f = c.next_frame()
            assert f.opcode == OP_PONG, f"expected a pong, got {f!r}"
            assert f.payload in tags, f"pong payload {f.payload!r} is no ping's"
            seen.append(f.payload)
        idx = [tags.index(t) for t in seen]
        assert idx == sorted(set(idx)), f"pongs out of order or repeated: {seen}"
        c.expect_quiet()
        c.alive()


def test_frame_split_byte_by_byte(server):
    """Headers and payloads that arrive in pieces are reassembled."""
    with ws(server) as c:
        data = build_frame(OP_TEXT, b"x" * 300) + build_frame(OP_PING, b"split")
        for i in range(len(data)):
            if i < 20 or i >= len(data) - 20:
                c.send(data[i:i + 1])
                time.sleep(0.002)
            elif i == 20:
                c.send(data[20:len(data) - 20])
        c.expect_pong(b"split")


def test_mask_key_zero_and_varied(server):
    with ws(server) as c:
        for key in (b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x01\x02\x03\x04"):
            c.send_frame(OP_TEXT, "hello ✓", mask_key=key)
            c.send_frame(OP_PING, b"k" + key, mask_key=key)
            c.expect_pong(b"k" + key)


def test_text_and_binary_messages_are_ignored(server):
    with ws(server) as c:
        c.send_text('{"type":"ping"}')
        c.send_text("")
        c.send_frame(OP_BINARY, os.urandom(1000))
        c.send_frame(OP_BINARY, b"\xff\xfe")           # binary need not be UTF-8
        c.expect_quiet()
        c.alive()


def test_unsolicited_pong_is_ignored(server):
    with ws(server) as c:
        c.send_frame(OP_PONG, b"unasked")
        c.expect_quiet()
        c.alive()


def test_16bit_and_64bit_minimal_lengths_accepted(server):
    with ws(server) as c:
        c.send_frame(OP_TEXT, b"a" * 126)                 # 16-bit, minimal
        c.send_frame(OP_BINARY, b"b" * 4000)              # 16-bit
        c.alive()


def test_message_of_exactly_max_size_accepted(server):
    with ws(server) as c:
        c.send_frame(OP_TEXT, b"a" * MAX_MESSAGE)
        c.alive()
        c.send_frame(OP_TEXT, b"a" * (MAX_MESSAGE // 2), fin=False)
        c.send_frame(OP_CONT, b"b" * (MAX_MESSAGE - MAX_MESSAGE // 2))
        c.alive()


def test_fragmented_text_with_ping_between_fragments(server):
    with ws(server) as c:
        c.send_frame(OP_TEXT, "part one ", fin=False)
        c.send_frame(OP_PING, b"between")
        c.expect_pong(b"between")
        c.send_frame(OP_CONT, "part two ", fin=False)
        c.send_frame(OP_PING, b"again")
        c.expect_pong(b"again")
        c.send_frame(OP_CONT, "end")
        c.alive()


def test_text_in_many_tiny_fragments(server):
    """A 4-byte character per 4 one-byte fragments, 300 times over, with a
    ping every so often: 1200 fragments, one message."""
    with ws(server) as c:
        data = "😀".encode() * 300
        frames = []
        for i in range(len(data)):
            op = OP_TEXT if i == 0 else OP_CONT
            frames.append(build_frame(op, data[i:i + 1], fin=(i == len(data) - 1)))
            if i % 97 == 0:
                frames.append(build_frame(OP_PING, b"%d" % i))
        c.send(b"".join(frames))
        last = b"%d" % ((len(data) - 1) // 97 * 97)
        while True:                  # pongs may be folded (RFC 6455 §5.5.3)
            f = c.next_frame()
            assert f.opcode == OP_PONG, f
            if f.payload == last:
                break
        c.alive()


def test_fragmented_binary_with_empty_fragments(server):
    with ws(server) as c:
        c.send_frame(OP_BINARY, b"", fin=False)
        c.send_frame(OP_CONT, b"\x00\x01", fin=False)
        c.send_frame(OP_CONT, b"")
        c.alive()


@pytest.mark.parametrize("pieces", [
    [b"\xe2", b"\x82\xac"],                           # EURO SIGN split 1|2
    [b"a\xe2\x82", b"\xac b"],                       # split 2|1
    [b"\xf0", b"\x9f", b"\x98", b"\x80"],             # 4-byte emoji, one byte per fragment
    [b"\xf0\x9f\x98\x80", b"", b"\xc3\xa9"],          # empty fragment in between
])
def test_valid_utf8_split_across_fragments(server, pieces):
    with ws(server) as c:
        for i, p in enumerate(pieces):
            c.send_frame(OP_TEXT if i == 0 else OP_CONT, p, fin=(i == len(pieces) - 1))
        c.alive()


# ---- client frames that break the protocol: 1002 -----------------------------------

def expect_protocol_close(srv, frames, code=1002):
    with ws(srv) as c:
        c.send(b"".join(frames))
        c.expect_close(code)
    still_serves(srv)


@pytest.mark.parametrize("op", [OP_TEXT, OP_BINARY, OP_PING, OP_CLOSE])
def test_unmasked_frame_is_1002(server, op):
    payload = close_payload(1000) if op == OP_CLOSE else b"hello"
    expect_protocol_close(server, [build_frame(op, payload, mask=False)])


@pytest.mark.parametrize("rsv", [4, 2, 1, 7])
def test_rsv_bits_are_1002(server, rsv):
    expect_protocol_close(server, [build_frame(OP_TEXT, b"hello", rsv=rsv)])


def test_rsv_on_control_frame_is_1002(server):
    expect_protocol_close(server, [build_frame(OP_PING, b"x", rsv=4)])


@pytest.mark.parametrize("op", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
def test_reserved_opcode_is_1002(server, op):
    expect_protocol_close(server, [build_frame(op, b"abc")])


@pytest.mark.parametrize("op", [OP_PING, OP_PONG, OP_CLOSE])
def test_control_frame_not_final_is_1002(server, op):
    payload = close_payload(1000) if op == OP_CLOSE else b"x"
    expect_protocol_close(server, [build_frame(op, payload, fin=False)])


@pytest.mark.parametrize("op", [OP_PING, OP_PONG, OP_CLOSE])
def test_control_frame_over_125_is_1002(server, op):
    payload = close_payload(1000, b"r" * 124) if op == OP_CLOSE else b"p" * 126
    assert len(payload) == 126
    expect_protocol_close(server, [build_frame(op, payload)])


def test_control_frame_over_125_header_only_is_1002(server):
    """Refused from the header: the payload is never sent."""
    with ws(server) as c:
        c.send(build_frame(OP_PING, b"", length=200)[:8])
        c.expect_close(1002)


def test_continuation_without_message_is_1002(server):
    expect_protocol_close(server, [build_frame(OP_CONT, b"orphan")])


def test_continuation_after_finished_message_is_1002(server):
    expect_protocol_close(server, [build_frame(OP_TEXT, b"done"),
                                   build_frame(OP_CONT, b"late")])


@pytest.mark.parametrize("second", [OP_TEXT, OP_BINARY])
def test_new_message_inside_fragmented_one_is_1002(server, second):
    expect_protocol_close(server, [build_frame(OP_TEXT, b"first", fin=False),
                                   build_frame(second, b"second")])


def test_new_message_inside_fragmented_binary_is_1002(server):
    expect_protocol_close(server, [build_frame(OP_BINARY, b"first", fin=False),
                                   build_frame(OP_TEXT, b"second")])


NON_MINIMAL = {
    "16bit_len_5": dict(payload=b"hello", length_bytes=2),
    "16bit_len_125": dict(payload=b"h" * 125, length_bytes=2),
    "16bit_len_0": dict(payload=b"", length_bytes=2),
    "64bit_len_5": dict(payload=b"hello", length_bytes=8),
    "64bit_len_200": dict(payload=b"h" * 200, length_bytes=8),
    "64bit_len_65535": dict(payload=b"", length=65535, length_bytes=8),
}


@pytest.mark.parametrize("case", sorted(NON_MINIMAL))
def test_non_minimal_length_is_1002(server, case):
    expect_protocol_close(server, [build_frame(OP_TEXT, **NON_MINIMAL[case])])


def test_non_minimal_length_on_ping_is_1002(server):
    expect_protocol_close(server, [build_frame(OP_PING, b"x", length_bytes=2)])


def test_64bit_length_top_bit_set_is_1002(server):
    with ws(server) as c:
        c.send(build_frame(OP_TEXT, b"", length=(1 << 63) + 5, length_bytes=8))
        c.expect_close(1002)


# ---- 1009: message too big ---------------------------------------------------------

def test_single_frame_over_limit_is_1009(server):
    with ws(server) as c:
        c.send(build_frame(OP_TEXT, b"a" * (MAX_MESSAGE + 1)))
        c.expect_close(1009)
    still_serves(server)


def test_frame_over_limit_refused_from_header(server):
    """The header announces too much; no payload is sent at all."""
    with ws(server) as c:
        c.send(build_frame(OP_BINARY, b"", length=MAX_MESSAGE + 1))
        c.expect_close(1009)


def test_64bit_length_over_limit_is_1009(server):
    with ws(server) as c:
        c.send(build_frame(OP_TEXT, b"", length=65536, length_bytes=8))
        c.expect_close(1009)


def test_fragments_summing_over_limit_are_1009(server):
    with ws(server) as c:
        c.send_frame(OP_TEXT, b"a" * 8192, fin=False)
        c.send_frame(OP_CONT, b"b" * 8192, fin=False)
        c.send_frame(OP_CONT, b"c")
        c.expect_close(1009)


def test_binary_fragments_over_limit_are_1009(server):
    with ws(server) as c:
        for _ in range(4):
            c.send_frame(OP_BINARY if _ == 0 else OP_CONT, b"z" * 4096, fin=False)
        c.send_frame(OP_CONT, b"z")
        c.expect_close(1009)


# ---- 1007: invalid UTF-8 -----------------------------------------------------------

INVALID_TEXT = {
    "ff": b"\xff",
    "lone_continuation": b"abc\x80",
    "overlong_slash": b"\xc0\xaf",
    "overlong_3byte": b"\xe0\x80\xaf",
    "surrogate": b"\xed\xa0\x80",
    "above_10ffff": b"\xf4\x90\x80\x80",
    "truncated_at_end": b"abc\xe2\x82",
    "bad_second_byte": b"\xce\x41",
}


@pytest.mark.parametrize("case", sorted(INVALID_TEXT))
def test_invalid_utf8_text_is_1007(server, case):
    expect_protocol_close(server, [build_frame(OP_TEXT, INVALID_TEXT[case])], code=1007)


def test_utf8_split_then_invalid_continuation_is_1007(server):
    """\\xce starts a 2-byte sequence; the next fragment's 'A' breaks it."""
    expect_protocol_close(server, [build_frame(OP_TEXT, b"ok \xce", fin=False),
                                   build_frame(OP_CONT, b"A")], code=1007)


def test_utf8_invalid_in_non_final_fragment_fails_fast(server):
    """The fragment holding the bad byte fails at once; no final fragment is
    ever sent."""
    with ws(server) as c:
        c.send_frame(OP_TEXT, b"ok \xce", fin=False)
        c.send_frame(OP_CONT, b"A more", fin=False)
        c.expect_close(1007)


def test_utf8_final_fragment_ends_mid_sequence_is_1007(server):
    expect_protocol_close(server, [build_frame(OP_TEXT, b"abc", fin=False),
                                   build_frame(OP_CONT, b"\xf0\x9f\x98")], code=1007)


def test_utf8_split_surrogate_across_fragments_is_1007(server):
    expect_protocol_close(server, [build_frame(OP_TEXT, b"\xed", fin=False),
                                   build_frame(OP_CONT, b"\xa0\x80")], code=1007)


def test_utf8_valid_fragment_ok_until_final_is_open(server):
    """An open sequence at the end of a non-final fragment is not an error
    by itself: the connection answers a ping in between."""
    with ws(server) as c:
        c.send_frame(OP_TEXT, b"abc\xe2", fin=False)
        c.alive()
        c.send_frame(OP_CONT, b"\x82", fin=False)
        c.alive()
        c.send_frame(OP_CONT, b"\xac")          # completes U+20AC
        c.alive()


def test_utf8_invalid_byte_fails_before_the_frame_is_complete(server):
    """Fail fast inside a frame: the header announces 1000 bytes, only the
    first ones are sent, and one of them is invalid. The close comes without
    the rest of the frame ever being sent."""
    with ws(server) as c:
        c.send(build_frame(OP_TEXT, b"fine \xff", length=1000))
        c.expect_close(1007)


def test_utf8_invalid_byte_fails_in_a_later_read(server):
    """The bad byte arrives in a second write of a frame whose first part
    was valid: closed at once, the frame still incomplete."""
    with ws(server) as c:
        frame = build_frame(OP_TEXT, b"a" * 300 + b"\xc0\xaf", length=2000)
        c.send(frame[:200])
        time.sleep(0.2)
        c.send(frame[200:])
        c.expect_close(1007)


def test_utf8_invalid_byte_in_incomplete_continuation_fails_fast(server):
    """Across a fragment boundary: fragment 1 ends inside a sequence, the
    first byte of an incomplete fragment 2 breaks it."""
    with ws(server) as c:
        c.send_frame(OP_TEXT, b"ok \xe2\x82", fin=False)
        c.alive()
        c.send(build_frame(OP_CONT, b"A", length=500))
        c.expect_close(1007)


def test_utf8_valid_text_in_an_incomplete_frame_waits(server):
    """The same partial frame without the bad byte is not an error: the
    connection waits for the rest, then takes it."""
    with ws(server) as c:
        frame = build_frame(OP_TEXT, "€ ok ".encode() * 100)
        c.send(frame[:150])
        c.expect_quiet(0.3)
        c.send(frame[150:])
        c.alive()


# ---- per-endpoint message limit -------------------------------------------------------

@pytest.mark.needs("fleet")
def test_message_limit_is_per_endpoint(server):
    """Each WebSocket endpoint has its own message limit: fleet /ws/events
    takes commands up to CFG_STREAM_MSG_BYTES, observability /ws up to
    CFG_WS_MAX_MESSAGE. A message between the two is 1009 on the first and
    taken by the second."""
    small = roostlib.limits()["CFG_STREAM_MSG_BYTES"]
    assert small < MAX_MESSAGE
    msg = b"x" * (small + 1)
    with WS(server.ports["fleet"], path="/ws/events", read_init=False) as c:
        c.send_frame(OP_TEXT, msg)
        c.expect_close(1009, skip_data=True)
    with ws(server) as c:
        c.send_frame(OP_TEXT, msg)
        c.alive()


# ---- close handshake ---------------------------------------------------------------

@pytest.mark.parametrize("code", [1000, 1001, 1003, 1011, 3000, 4000, 4999])
def test_valid_close_code_is_echoed(server, code):
    with ws(server) as c:
        c.send_close(code)
        c.expect_close(code)


def test_close_with_reason_is_echoed(server):
    with ws(server) as c:
        c.send_close(1000, "bye ✓")
        c.expect_close(1000)


def test_close_with_longest_reason_is_echoed(server):
    with ws(server) as c:
        c.send_close(4001, "é" * 61 + "x")            # 2 + 123 = 125 bytes
        c.expect_close(4001)


def test_close_without_payload_is_answered(server):
    """An empty close: the answer is an empty close or 1000 (RFC 6455 §5.5.1)."""
    with ws(server) as c:
        c.send_frame(OP_CLOSE, b"")
        c.expect_close((None, 1000))


def test_close_during_fragmented_message_is_echoed(server):
    with ws(server) as c:
        c.send_frame(OP_TEXT, b"unfinished", fin=False)
        c.send_close(1000)
        c.expect_close(1000)


def test_frames_after_close_are_not_answered(server):
    with ws(server) as c:
        c.send(build_frame(OP_CLOSE, close_payload(1000)) + build_frame(OP_PING, b"late"))
        c.expect_close(1000)         # next frame is the close, then EOF (no pong)


def test_close_one_byte_payload_is_1002(server):
    expect_protocol_close(server, [build_frame(OP_CLOSE, b"\x03")])


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535])
def test_invalid_close_code_is_1002(server, code):
    expect_protocol_close(server, [build_frame(OP_CLOSE, close_payload(code))])


def test_close_reason_not_utf8_is_1007(server):
    expect_protocol_close(server, [build_frame(OP_CLOSE, close_payload(1000, b"bad \xff"))],
                          code=1007)


def test_close_reason_truncated_utf8_is_1007(server):
    expect_protocol_close(server, [build_frame(OP_CLOSE, close_payload(1000, b"x\xe2\x82"))],
                          code=1007)


def test_server_survives_many_broken_clients(server):
    """Abrupt client disconnects (no close frame) at every stage."""
    for cut in (0, 1, 3, 7):
        c = ws(server)
        c.send(build_frame(OP_TEXT, b"abcdefgh")[:cut])
        c.close()
    half = roostlib.Raw(port(server))
    half.send(upgrade_request("/ws", key=new_key())[:30])
    half.close()
    still_serves(server)
    with ws(server) as c2:
        c2.alive()


# ---- heartbeat ---------------------------------------------------------------------

HB_MS = 300


@pytest.fixture(scope="module")
def hb_server(roostd, tmp_path_factory):
    yield from heartbeat_server(tmp_path_factory, FAM, HB_MS)


def test_heartbeat_silent_client_closed_1001(hb_server):
    t0 = time.monotonic()
    with ws(hb_server, timeout=IO_TIMEOUT) as c:
        expect_heartbeat_close(c, HB_MS, t0, (4 * HB_MS / 1000 + 2) * SLOW)
    still_serves(hb_server)


def test_heartbeat_answering_client_stays_open(hb_server):
    with ws(hb_server) as c:
        pings = c.answer_pings(7 * HB_MS / 1000)
        assert pings >= 3, f"only {pings} pings in {7 * HB_MS} ms"
        c.alive()
        c.send_close(1000)
        c.expect_close(1000)


def test_heartbeat_default_sends_no_early_ping(server):
    """With the default (20 s) nothing arrives on an idle connection soon."""
    with ws(server) as c:
        assert not roostlib.readable(c.sock, 1.0), "frame on an idle connection"


# ---- shutdown ----------------------------------------------------------------------

def test_sigterm_closes_every_client_1001(fresh):
    srv = fresh()
    clients = [ws(srv) for _ in range(3)]
    clients[1].send_frame(OP_TEXT, b"half", fin=False)     # mid-message
    clients[2].send_frame(OP_PING, b"p")
    clients[2].expect_pong(b"p")
    srv.proc.send_signal(signal.SIGTERM)
    for c in clients:
        c.expect_close(1001)
        c.close()
    srv.proc.wait(timeout=roostlib.STOP_TIMEOUT)
    assert srv.stop() == 0


# ---- subscriber slots --------------------------------------------------------------

SUBS = roostlib.limits()["CFG_STREAM_SUBS"]


def test_subscriber_slots_exhausted_gives_1013(fresh):
    roostlib.raise_nofile()
    srv = fresh()
    clients = []
    try:
        for _ in range(SUBS):
            clients.append(ws(srv))
        with ws(srv, read_init=False) as extra:
            extra.expect_close(1013)
        still_serves(srv)
        # A freed slot can be used again.
        gone = clients.pop()
        gone.send_close(1000)
        gone.expect_close(1000)
        gone.close()

        def try_open():
            c = ws(srv, read_init=False)
            f = c.next_frame()
            if f.opcode == OP_CLOSE:
                assert f.close_code == 1013, f
                c.close()
                return None
            assert f.opcode == OP_TEXT, f
            return c
        c = wait_for(try_open, 5 * SLOW, interval=0.05, what="a freed subscriber slot")
        clients.append(c)
        with ws(srv, read_init=False) as extra:
            extra.expect_close(1013)
    finally:
        for c in clients:
            c.close()
