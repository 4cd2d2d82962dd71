"""A raw RFC 6455 client for the integration tests and the benches.

Standard library only. The one place that:
  - builds client frames (build_frame: masked or not, any opcode, RSV bits,
    FIN, and any length encoding, including non-minimal ones);
  - parses server frames out of a byte buffer (parse_frame, parse_frames:
    pure, incremental: what is not a whole frame yet is left over), checks
    what every server frame must satisfy (check_server_frame: never masked,
    RSV 0, known opcode, control frames short and final, minimal length)
    and joins fragments into messages (Assembler);
  - opens a WebSocket: WS goes through roostlib.Raw so refused upgrades are
    parsed like any other HTTP response; open_socket gives a plain socket
    (optionally with a small receive buffer and MSS) for clients that read
    on their own terms, such as a reader thread or a bench process.
"""

import base64
import hashlib
import json
import os
import socket
import struct
import time

from roostlib import IO_TIMEOUT, SLOW, Raw, Server, readable
from roostlib import HOST

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA
CONTROL = (OP_CLOSE, OP_PING, OP_PONG)

# How long a test waits to be sure that nothing arrives.
QUIET = 0.3 * SLOW


def new_key():
    return base64.b64encode(os.urandom(16)).decode("ascii")


def accept_for(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode("latin-1")).digest()).decode()


def upgrade_request(path="/ws", key=None, version="13", host="127.0.0.1", headers=None,
                    method="GET", http_version="HTTP/1.1", upgrade="websocket",
                    connection="Upgrade"):
    """Bytes of an upgrade request. Any of key, version, upgrade, connection
    may be None to leave that header out; headers adds (name, value) pairs
    (a dict or a list) after the standard ones."""
    lines = [f"{method} {path} {http_version}", f"Host: {host}"]
    if upgrade is not None:
        lines.append(f"Upgrade: {upgrade}")
    if connection is not None:
        lines.append(f"Connection: {connection}")
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    if version is not None:
        lines.append(f"Sec-WebSocket-Version: {version}")
    extra = headers.items() if isinstance(headers, dict) else (headers or [])
    for k, v in extra:
        lines.append(f"{k}: {v}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def mask_bytes(payload, key):
    return bytes(b ^ key[i & 3] for i, b in enumerate(payload))


def build_frame(opcode, payload=b"", fin=True, rsv=0, mask=True, mask_key=None,
                length=None, length_bytes=None):
    """One client frame.

    rsv: the three RSV bits as a number 0..7 (4 = RSV1, 2 = RSV2, 1 = RSV3).
    length: the announced payload length (default: len(payload)); the payload
    actually sent is `payload` whatever is announced.
    length_bytes: 0 (7-bit), 2 (16-bit) or 8 (64-bit) extended length; the
    default is the minimal encoding.
    """
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    n = len(payload) if length is None else length
    if length_bytes is None:
        length_bytes = 0 if n < 126 else (2 if n < 65536 else 8)
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    mbit = 0x80 if mask else 0
    if length_bytes == 0:
        assert n < 126
        head = bytes([b0, mbit | n])
    elif length_bytes == 2:
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if mask:
        key = mask_key if mask_key is not None else os.urandom(4)
        head += key
        payload = mask_bytes(payload, key)
    return head + payload


def close_payload(code, reason=b""):
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    return struct.pack(">H", code) + reason


class Frame:
    def __init__(self, fin, rsv, opcode, masked, payload, length_bytes=0):
        self.fin = fin
        self.rsv = rsv
        self.opcode = opcode
        self.masked = masked
        self.payload = payload
        self.length_bytes = length_bytes    # extended length as sent: 0, 2 or 8 bytes

    @property
    def close_code(self):
        assert self.opcode == OP_CLOSE
        if len(self.payload) < 2:
            return None
        return struct.unpack(">H", self.payload[:2])[0]

    @property
    def close_reason(self):
        assert self.opcode == OP_CLOSE
        return self.payload[2:].decode("utf-8")

    def __repr__(self):
        p = self.payload if len(self.payload) <= 80 else self.payload[:80] + b"..."
        return f"<Frame op={self.opcode:#x} fin={int(self.fin)} rsv={self.rsv} len={len(self.payload)} {p!r}>"


class Message:
    def __init__(self, opcode, payload, frames):
        self.opcode = opcode
        self.payload = payload
        self.frames = frames       # number of data frames it came in

    def text(self):
        assert self.opcode == OP_TEXT, f"expected a text message, got opcode {self.opcode:#x}"
        return self.payload.decode("utf-8")   # strict: server text must be UTF-8

    def json(self):
        return json.loads(self.text())

    def __repr__(self):
        p = self.payload if len(self.payload) <= 200 else self.payload[:200] + b"..."
        return f"<Message op={self.opcode:#x} frames={self.frames} {p!r}>"


def parse_frame(buf, pos=0):
    """The server frame starting at buf[pos] (bytes, bytearray or
    memoryview): (Frame, offset just past it), or (None, pos) while buf does
    not hold all of it yet. Pure: checks nothing (see check_server_frame); a
    masked payload is unmasked."""
    n_all = len(buf)
    if n_all - pos < 2:
        return None, pos
    b0, b1 = buf[pos], buf[pos + 1]
    n = b1 & 0x7F
    length_bytes = 0 if n < 126 else (2 if n == 126 else 8)
    masked = bool(b1 & 0x80)
    hl = 2 + length_bytes + (4 if masked else 0)
    if n_all - pos < hl:
        return None, pos
    if length_bytes == 2:
        n = struct.unpack_from(">H", buf, pos + 2)[0]
    elif length_bytes == 8:
        n = struct.unpack_from(">Q", buf, pos + 2)[0]
    end = pos + hl + n
    if n_all < end:
        return None, pos
    payload = bytes(buf[pos + hl:end])
    if masked:
        payload = mask_bytes(payload, bytes(buf[pos + hl - 4:pos + hl]))
    return Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, masked, payload, length_bytes), end


def parse_frames(buf):
    """Every whole server frame at the start of buf, and the bytes after the
    last of them (the start of a frame still on its way): (list of Frame,
    bytes). Pure: feed the rest plus what arrives next to the next call."""
    frames, pos = [], 0
    with memoryview(buf) as mv:
        while True:
            f, pos = parse_frame(mv, pos)
            if f is None:
                break
            frames.append(f)
        rest = bytes(mv[pos:])
    return frames, rest


def check_server_frame(f):
    """What every server frame must be (RFC 6455 §5.1, §5.2, §5.5)."""
    n = len(f.payload)
    if f.length_bytes == 2:
        assert n >= 126, f"server used a non-minimal 16-bit length {n}"
    elif f.length_bytes == 8:
        assert 65536 <= n < (1 << 63), f"server used a bad 64-bit length {n}"
    assert not f.masked, f"server frame is masked: {f!r}"
    assert f.rsv == 0, f"server frame has RSV bits: {f!r}"
    assert f.opcode in (OP_CONT, OP_TEXT, OP_BINARY) + CONTROL, f"server opcode: {f!r}"
    if f.opcode in CONTROL:
        assert f.fin and len(f.payload) <= 125, f"bad server control frame {f!r}"


class Assembler:
    """Joins a server's data frames into messages, checking the
    fragmentation rules (RFC 6455 §5.4). add() takes the frames in order;
    pings and pongs are skipped (answering pings is the caller's business)."""

    def __init__(self):
        self.op = None          # opcode of the message in parts, None between messages
        self.parts = []

    def add(self, f):
        """A Message when f completes one, else None. A close frame comes
        back as a Message with opcode OP_CLOSE, frames 1 and .frame set."""
        if f.opcode in (OP_PING, OP_PONG):
            return None
        if f.opcode == OP_CLOSE:
            assert self.op is None, f"server close frame inside a fragmented message: {f!r}"
            m = Message(OP_CLOSE, f.payload, 1)
            m.frame = f
            return m
        if self.op is None:
            assert f.opcode in (OP_TEXT, OP_BINARY), \
                f"server continuation frame with no message started: {f!r}"
            self.op = f.opcode
        else:
            assert f.opcode == OP_CONT, \
                f"server started a new message inside a fragmented one: {f!r}"
        self.parts.append(f.payload)
        if not f.fin:
            return None
        m = Message(self.op, b"".join(self.parts), len(self.parts))
        self.op, self.parts = None, []
        return m


def messages_of(frames):
    """The whole messages (close frames included) among frames, in order."""
    asm = Assembler()
    return [m for m in map(asm.add, frames) if m is not None]


def connect(port, rcvbuf=None, mss=None, timeout=IO_TIMEOUT, host=HOST, nodelay=False):
    """A TCP connection. rcvbuf (SO_RCVBUF) and mss (TCP_MAXSEG) are set
    before connecting, so the window and segments the server sees are small:
    a client that reads slowly."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if mss is not None:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
    s.settimeout(timeout)
    s.connect((host, port))
    if nodelay:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def handshake(sock, path="/ws", host="127.0.0.1"):
    """The opening handshake on a connected socket: an upgrade request with
    a fresh key, then a 101 with the matching Sec-WebSocket-Accept. Returns
    the bytes that came after the response head (the first server frames)."""
    key = new_key()
    sock.sendall(upgrade_request(path, key, host=host))
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(4096)
        assert d, f"connection closed during the upgrade: {buf!r}"
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 101 "), f"upgrade refused: {head!r}"
    assert f"Sec-WebSocket-Accept: {accept_for(key)}" in lines, f"bad 101: {head!r}"
    return rest


def open_socket(port, path="/ws", rcvbuf=None, mss=None, timeout=IO_TIMEOUT,
                host=HOST):
    """A WebSocket on a plain socket: (socket, bytes received after the 101
    head). The caller reads, parses (parse_frames) and closes."""
    s = connect(port, rcvbuf, mss, timeout, host)
    try:
        return s, handshake(s, path, host)
    except BaseException:
        s.close()
        raise


class UpgradeRefused(AssertionError):
    pass


class SmallRaw(Raw):
    """A Raw whose socket has a small receive buffer and small segments, set
    before connecting: a client that reads slowly. Without the MSS clamp the
    server's kernel grows its send buffer on loopback until it holds
    megabytes for a peer that reads nothing, and roost's own queue never
    fills. Even clamped it keeps some (about 100 KiB on Linux 6.18 for
    paced 1 KiB writes): a test publishes until the server reports the
    close, not a count that assumes the kernel's share."""

    def __init__(self, port, rcvbuf, timeout=IO_TIMEOUT, host=HOST):
        self.sock = connect(port, rcvbuf=rcvbuf, mss=536, timeout=timeout, host=host,
                            nodelay=True)
        self.timeout = timeout
        self.buf = b""
        self.eof = False


def upgrade(port, request, timeout=IO_TIMEOUT, rcvbuf=None):
    """Send an upgrade request on a fresh connection; returns (Raw, Resp).
    The caller closes the Raw."""
    c = Raw(port, timeout=timeout) if rcvbuf is None else SmallRaw(port, rcvbuf, timeout)
    c.send(request)
    return c, c.read_response()


class WS:
    """An open WebSocket on a raw socket (after a checked 101)."""

    def __init__(self, port, path="/ws", headers=None, timeout=IO_TIMEOUT, key=None,
                 read_init=True, request=None, rcvbuf=None):
        self.key = key or new_key()
        self.timeout = timeout
        req = request if request is not None else upgrade_request(path, self.key, headers=headers)
        self.raw, self.resp = upgrade(port, req, timeout, rcvbuf)
        r = self.resp
        if r.status != 101:
            self.raw.close()
            raise UpgradeRefused(f"upgrade refused: {r!r}")
        self.check_101()
        self.send_failed = False
        self.init = None
        if read_init:
            m = self.recv_message()
            self.init = m.json()
            assert self.init.get("type") == "init", f"first message is not init: {m!r}"
            self.init_frames = m.frames

    def check_101(self):
        r = self.resp
        assert r.status == 101, r
        up = r.header("Upgrade")
        assert up is not None and up.lower() == "websocket", f"101 without Upgrade: {r!r}"
        conn = r.header("Connection")
        assert conn is not None and "upgrade" in [t.strip().lower() for t in conn.split(",")], \
            f"101 without Connection: Upgrade: {r!r}"
        assert r.header("Sec-WebSocket-Accept") == accept_for(self.key), \
            f"Sec-WebSocket-Accept wrong for key {self.key!r}: {r!r}"

    # -- plumbing -------------------------------------------------------------
    def close(self):
        self.raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    @property
    def sock(self):
        return self.raw.sock

    def send(self, data):
        """Send bytes; a peer that already closed is not an error here (the
        test then looks for the close frame the server sent first)."""
        try:
            self.raw.sock.settimeout(self.timeout)
            self.raw.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            self.send_failed = True

    def send_frame(self, opcode, payload=b"", **kw):
        self.send(build_frame(opcode, payload, **kw))

    def send_text(self, text, **kw):
        self.send_frame(OP_TEXT, text.encode("utf-8") if isinstance(text, str) else text, **kw)

    def send_close(self, code=1000, reason=b""):
        self.send_frame(OP_CLOSE, close_payload(code, reason))

    # -- reading --------------------------------------------------------------
    def recv_frame(self, timeout=None):
        """The next server frame; checks what every server frame must be."""
        t = timeout if timeout is not None else self.timeout
        self.raw._need(lambda: parse_frame(self.raw.buf)[0] is not None, "a whole frame", t)
        f, end = parse_frame(self.raw.buf)
        self.raw.buf = self.raw.buf[end:]
        check_server_frame(f)
        return f

    def next_frame(self, timeout=None, pong=True):
        """recv_frame, answering (and skipping) server heartbeat pings when pong."""
        while True:
            f = self.recv_frame(timeout)
            if f.opcode == OP_PING and pong:
                self.send_frame(OP_PONG, f.payload)
                continue
            return f

    def skip_pings(self, timeout=None):
        """The next frame that is not a ping, leaving server pings
        unanswered: (that frame, the number of pings before it)."""
        pings = 0
        while True:
            f = self.recv_frame(timeout)
            if f.opcode != OP_PING:
                return f, pings
            pings += 1

    def answer_pings(self, seconds):
        """For `seconds`, answer every server heartbeat ping; any other
        frame fails. Returns the number of pings answered."""
        pings = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not self.raw.buf and not readable(self.sock, max(0.01, end - time.monotonic())):
                continue
            f = self.recv_frame()
            assert f.opcode == OP_PING, f"unexpected frame while idle: {f!r}"
            self.send_frame(OP_PONG, f.payload)
            pings += 1
        return pings

    def recv_message(self, timeout=None, pong=True):
        """The next whole data message (fragments joined) or a close frame
        (returned as a Message with opcode OP_CLOSE and frames 1). Server
        pings are answered when pong; pongs are skipped."""
        t = timeout if timeout is not None else self.timeout
        asm = Assembler()
        deadline = time.monotonic() + t
        while True:
            f = self.recv_frame(max(0.05, deadline - time.monotonic()))
            if f.opcode == OP_PING and pong:
                self.send_frame(OP_PONG, f.payload)
            m = asm.add(f)
            if m is not None:
                return m

    def recv_json(self, timeout=None):
        m = self.recv_message(timeout)
        assert m.opcode == OP_TEXT, f"expected a text message, got {m!r}"
        return m.json()

    def expect_pong(self, payload, timeout=None):
        f = self.next_frame(timeout)
        assert f.opcode == OP_PONG, f"expected a pong, got {f!r}"
        assert f.payload == payload, f"pong payload {f.payload!r} != {payload!r}"

    def alive(self):
        """The connection still works: a ping with a fresh payload is answered."""
        tag = os.urandom(8)
        self.send_frame(OP_PING, tag)
        self.expect_pong(tag)

    def expect_eof(self, timeout=None):
        """The server ends the TCP connection and sends nothing more."""
        t = timeout if timeout is not None else self.timeout
        deadline = time.monotonic() + t
        while not self.raw.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"connection still open {t:.1f}s after the close frame")
            try:
                self.raw._fill(left)
            except socket.timeout:
                raise AssertionError(f"connection still open {t:.1f}s after the close frame")
        assert self.raw.buf == b"", f"bytes after the close frame: {self.raw.buf[:200]!r}"

    def expect_close(self, code, timeout=None, skip_data=False, eof=True):
        """The next frame (server pings aside; data messages too when
        skip_data) is a close with this code (None: an empty payload, or a
        set/tuple of accepted codes), then the TCP connection ends."""
        while True:
            f = self.next_frame(timeout)
            if skip_data and f.opcode in (OP_TEXT, OP_BINARY, OP_CONT):
                continue
            break
        assert f.opcode == OP_CLOSE, f"expected a close frame with {code}, got {f!r}"
        got = f.close_code
        if isinstance(code, (set, tuple, list)):
            assert got in code, f"close code {got} not in {code}: {f!r}"
        else:
            assert got == code, f"close code {got}, expected {code}: {f!r}"
        if got is not None:
            f.close_reason      # the reason must be UTF-8
        if eof:
            self.expect_eof(timeout)
        return f

    def expect_quiet(self, wait=None):
        """Nothing arrives for a while (server pings excepted)."""
        wait = QUIET if wait is None else wait
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if not self.raw.buf:
                try:
                    if not self.raw._fill(left):
                        raise AssertionError("connection closed while it should stay open")
                except socket.timeout:
                    return
            f = self.recv_frame()
            if f.opcode == OP_PING:
                self.send_frame(OP_PONG, f.payload)
                continue
            raise AssertionError(f"unexpected frame {f!r}")


def expect_heartbeat_close(c, hb_ms, t0, timeout):
    """c never answers a ping: the server's heartbeat pings it, then closes
    it 1001 no sooner than 0.8 heartbeat after t0 (when c connected), then
    ends the connection. timeout: for each frame."""
    f, pings = c.skip_pings(timeout)
    took = time.monotonic() - t0
    assert f.opcode == OP_CLOSE, f"expected close 1001, got {f!r}"
    assert f.close_code == 1001, f
    assert pings >= 1, "closed for silence without a ping first"
    assert took >= 0.8 * hb_ms / 1000, f"closed after only {took:.3f}s"
    c.expect_eof()


def heartbeat_server(tmp_path_factory, family, hb_ms):
    """For a module fixture (`yield from`): a roostd whose `family` sends
    its WebSocket heartbeat every hb_ms, stopped when the module is done."""
    srv = Server(tmp_path_factory.mktemp(f"hb-{family}"),
                 args=[f"--{family}.ws_heartbeat_ms={hb_ms}"])
    srv.start()
    yield srv
    srv.stop()
