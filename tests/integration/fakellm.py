"""A fake LLM provider for the integration tests (spec/fleet.md §7.8).

roost talks to LLM providers over HTTP/HTTPS; the machine running the tests has
none, so this module serves the two provider wire protocols from a thread of
the test process:

- Anthropic Messages: ``POST /v1/messages`` (``FakeLLM.base_url``)
- OpenAI chat completions: ``POST /v1/chat/completions``
  (``FakeLLM.openai_base_url``, which ends in ``/v1``)

Both on one port. Responses use the real formats byte for byte where it matters
to a client: HTTP/1.1, ``Transfer-Encoding: chunked`` streams of SSE events,
the providers' JSON error bodies. test_fakellm.py checks all of it with a
plain client, independently of roost.

A test scripts what the next call(s) should do::

    fake = FakeLLM().start()
    fake.script(fakellm.text("Hello", " world", input_tokens=12, output_tokens=3))
    fake.script(fakellm.http_error(529), model="claude-x")          # by model
    fake.script(fakellm.text("sub result"), task="History of QC")   # sub-agent call
    fake.script(fakellm.stall(["a", "b", "c"], after=1))
    ...
    fake.wait_requests(3)
    assert fake.requests[0].system.startswith("<soul>")
    fake.stop()

Rules are tried in the order they were added; the first whose predicate
matches the request and that has uses left answers it. A request no rule
matches gets ``fake.default`` (a Reply) or, when that is None, HTTP 500 with
a provider error body naming the problem, and is listed in ``fake.unmatched``.

Everything here uses the Python standard library and the ``openssl`` command
(for ``tls=True``: a throwaway CA made once per test process).
"""

import atexit
import http.server
import json
import math
import os
import random
import select
import shutil
import socket
import socketserver
import ssl
import struct
import sys
import subprocess
import tempfile
import threading
import time
import traceback
import uuid

try:
    from roostlib import IO_TIMEOUT
except ImportError:  # pragma: no cover - used outside the test tree
    IO_TIMEOUT = 5.0

ANTHROPIC_PATH = "/v1/messages"
OPENAI_PATH = "/v1/chat/completions"
ANTHROPIC_VERSION = "2023-06-01"

# TLS 1.2 suites an mbedTLS 2.28 client offers by default, plus ChaCha; TLS 1.3
# keeps OpenSSL's own suites.
TLS12_CIPHERS = ":".join([
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
])

ANTHROPIC_ERRORS = {
    400: ("invalid_request_error", "Invalid request"),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the "
                              "specified resource."),
    404: ("not_found_error", "Not found"),
    405: ("invalid_request_error", "Method not allowed"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute "
                              "rate limit"),
    500: ("api_error", "Internal server error"),
    503: ("api_error", "Service unavailable"),
    529: ("overloaded_error", "Overloaded"),
}
OPENAI_ERRORS = {
    400: ("invalid_request_error", None, "Invalid request"),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", None, "Forbidden"),
    404: ("invalid_request_error", "unknown_url", "Unknown request URL"),
    405: ("invalid_request_error", None, "Method not allowed"),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests"),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The engine is currently overloaded, please try again "
                                "later"),
    529: ("server_error", None, "Overloaded"),
}
REASONS = {529: "Overloaded"}
FINISH_REASONS = {"end_turn": "stop", "max_tokens": "length", "stop_sequence": "stop",
                  "tool_use": "tool_calls"}


# ---------------------------------------------------------------------------
# Replies: what the fake does with one call
# ---------------------------------------------------------------------------

class Reply:
    """One scripted call. The wire format (Anthropic or OpenAI) follows the
    endpoint that was called; ``stream: false`` (or no ``stream``) in the
    request gets one JSON body with the pieces joined.

    pieces        text deltas, in order (str each; may be empty list)
    delay         seconds between two pieces
    headers_delay seconds before the status line (slow first byte)
    first_delay   seconds after the stream preamble, before the first piece
    stall_after   after this many pieces: send nothing more until
                  ``release()`` / ``stop()`` (then continue normally)
    drop_after    after this many pieces: close the connection (no terminator);
                  drop_reset=True closes with RST; drop_partial=True first sends
                  half of the next event
    error_after   after this many pieces: a provider error event
                  (error_type/error_message), then the end of the body
    input_tokens, output_tokens, cache_creation_input_tokens,
    cache_read_input_tokens
                  usage numbers (defaults: request body bytes / 4, and
                  ceil(bytes / 4) summed over the pieces; cache fields only
                  when given)
    stop_reason   Anthropic stop reason; finish_reason (OpenAI) derives from
                  it unless given
    model         model name in the reply (default: the request's)
    ping_every    an Anthropic ``ping`` after every n pieces (one ping after
                  content_block_start is always sent, as the real API does)
    chunking      "event" (one HTTP chunk per SSE event), "coalesce" (all
                  events between two pauses in one chunk) or "split"
                  (coalesced, then cut at random offsets into chunks of
                  1..split_size bytes); None = the server's setting
    seed          seed of the "split" offsets (default: the request index)
    status        != 200: an HTTP error reply with the provider's JSON error
                  body (error_type/error_message override its fields,
                  error_body replaces it); retry_after adds Retry-After
    whole_body    a non-streaming 200 reply: this body instead of the one
                  built from the pieces (a dict or list is sent as JSON, a
                  str or bytes as it is: a malformed reply, an error object
                  with status 200); drops and stalls cut it as they cut the
                  built one
    extra_headers dict of additional response headers
    """

    FIELDS = dict(pieces=(), delay=0.0, headers_delay=0.0, first_delay=0.0,
                  stall_after=None, drop_after=None, drop_reset=False, drop_partial=False,
                  error_after=None, error_type=None, error_message=None, error_body=None,
                  input_tokens=None, output_tokens=None, cache_creation_input_tokens=None,
                  cache_read_input_tokens=None, stop_reason="end_turn", finish_reason=None,
                  model=None, ping_every=None, chunking=None, split_size=None, seed=None,
                  status=200, retry_after=None, extra_headers=None, whole_body=None)

    def __init__(self, **kw):
        for k in kw:
            if k not in self.FIELDS:
                raise TypeError(f"Reply: unknown option {k!r}")
        for k, v in self.FIELDS.items():
            setattr(self, k, kw.get(k, v))
        self.pieces = list(self.pieces)
        for p in self.pieces:
            if not isinstance(p, str):
                raise TypeError("Reply pieces must be str")
        if self.chunking not in (None, "event", "coalesce", "split"):
            raise ValueError(f"chunking {self.chunking!r}")

    @property
    def text(self):
        return "".join(self.pieces)

    def __repr__(self):
        if self.status != 200:
            return f"<Reply HTTP {self.status}>"
        return f"<Reply {self.text[:40]!r}>"


def _pieces(args):
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return list(args[0])
    return list(args)


def text(*pieces, **opts):
    """A normal streamed reply: text("Hel", "lo") or text(["Hel", "lo"])."""
    return Reply(pieces=_pieces(pieces), **opts)


def stall(pieces, after, **opts):
    """Send ``after`` pieces, then nothing until release()/stop()."""
    return Reply(pieces=list(pieces), stall_after=after, **opts)


def drop(pieces, after, **opts):
    """Send ``after`` pieces, then close the connection without a terminator."""
    return Reply(pieces=list(pieces), drop_after=after, **opts)


def stream_error(pieces=(), after=None, error_type=None, message=None, **opts):
    """A provider error event in the stream after ``after`` pieces (default:
    all of them). Anthropic: ``event: error`` (default type overloaded_error,
    message "Overloaded"); OpenAI: a ``data: {"error": ...}`` line (default
    type server_error), then the end of the body without ``[DONE]``."""
    pieces = list(pieces)
    return Reply(pieces=pieces, error_after=len(pieces) if after is None else after,
                 error_type=error_type, error_message=message, **opts)


def http_error(status, message=None, error_type=None, retry_after=None, **opts):
    """An HTTP error status with the provider's JSON error body."""
    if status == 200:
        raise ValueError("http_error needs an error status")
    return Reply(status=status, error_message=message, error_type=error_type,
                 retry_after=retry_after, **opts)


def xml_attr(s):
    return (s.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def spawn_block(tasks, mode="parallel"):
    """The text of a ``<spawn_agents>`` block as a model writes it (§7.3)."""
    lines = [f'<spawn_agents mode="{mode}">']
    lines += [f'  <agent task="{xml_attr(t)}" />' for t in tasks]
    lines.append("</spawn_agents>")
    return "\n".join(lines)


def split_text(s, size):
    """s cut into pieces of ``size`` characters."""
    return [s[i:i + size] for i in range(0, len(s), size)] or [""]


def spawn(tasks, mode="parallel", before="I'll split this up.\n", after="",
          piece_chars=12, **opts):
    """A streamed reply whose text is ``before`` + a spawn block + ``after``,
    cut into pieces of ``piece_chars`` characters (so the block straddles
    several deltas, as it does with a real model)."""
    return Reply(pieces=split_text(before + spawn_block(tasks, mode) + after, piece_chars),
                 **opts)


# ---------------------------------------------------------------------------
# Requests as received
# ---------------------------------------------------------------------------

def _content_text(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


class Request:
    """One request the fake received (also the ones it rejected).

    index, method, path, kind ("anthropic" | "openai" | None), headers
    (case-insensitive), body (bytes), json (parsed body or None), time
    (time.monotonic() when the body was read), wall_time (time.time()),
    rule (the Rule that answered, or None), reply, status (sent), outcome
    ("complete", "error", "stalled", "dropped", "client_closed", "stopped",
    "rejected"), input_tokens / output_tokens (usage reported),
    pieces_sent, client_closed (threading.Event: the client closed the
    connection while the fake was still answering), done (threading.Event).
    """

    def __init__(self, index, method, path, headers, body):
        self.index = index
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.time = time.monotonic()
        self.wall_time = time.time()
        self.kind = {ANTHROPIC_PATH: "anthropic", OPENAI_PATH: "openai"}.get(path)
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            self.json = None
        self.rule = None
        self.reply = None
        self.status = None
        self.outcome = None
        self.input_tokens = None
        self.output_tokens = None
        self.pieces_sent = 0
        self.client_closed = threading.Event()
        self.done = threading.Event()
        self.release_event = threading.Event()

    def _get(self, key, default=None):
        return self.json.get(key, default) if isinstance(self.json, dict) else default

    @property
    def model(self):
        return self._get("model")

    @property
    def stream(self):
        return self._get("stream") is True

    @property
    def system(self):
        """The system prompt: Anthropic ``system`` (string or text blocks),
        or the OpenAI ``system`` messages joined."""
        if self.kind == "anthropic":
            return _content_text(self._get("system", ""))
        msgs = self._get("messages") or []
        return "\n".join(_content_text(m.get("content")) for m in msgs
                         if isinstance(m, dict) and m.get("role") == "system")

    @property
    def messages(self):
        """The non-system messages as [{"role", "content" (str)}]."""
        msgs = self._get("messages") or []
        return [{"role": m.get("role"), "content": _content_text(m.get("content"))}
                for m in msgs if isinstance(m, dict) and m.get("role") != "system"]

    @property
    def last_user(self):
        users = [m["content"] for m in self.messages if m["role"] == "user"]
        return users[-1] if users else ""

    @property
    def task(self):
        """The sub-agent task (§7.3 ``<task>`` section) or None."""
        s = self.system
        a = s.find("<task>\n")
        b = s.find("\n</task>", a + 7) if a >= 0 else -1
        return s[a + 7:b] if b >= 0 else None

    def wait_done(self, timeout=IO_TIMEOUT):
        assert self.done.wait(timeout), f"request #{self.index} not finished"
        return self

    def wait_closed(self, timeout=IO_TIMEOUT):
        """Wait until the client closed this call's connection."""
        assert self.client_closed.wait(timeout), \
            f"client did not close request #{self.index} within {timeout:.1f}s"
        return self

    def release(self):
        self.release_event.set()

    def __repr__(self):
        return (f"<Request #{self.index} {self.method} {self.path} model={self.model!r} "
                f"status={self.status} outcome={self.outcome}>")


class Rule:
    """A scripted reply plus when it applies. ``remaining`` is None for
    unlimited uses; ``requests`` lists the requests it answered."""

    def __init__(self, reply, pred, times, desc):
        self.reply = reply
        self.pred = pred
        self.remaining = times
        self.desc = desc
        self.requests = []

    @property
    def used(self):
        return len(self.requests)

    def __repr__(self):
        return f"<Rule {self.desc} {self.reply!r} used={self.used} left={self.remaining}>"


def _matcher(when, match):
    """Build one predicate from ``when`` and the keyword shorthands."""
    preds, desc = [], []
    if when is not None:
        preds.append(when)
        desc.append("when=<fn>")
    for k, v in match.items():
        if k == "kind":
            preds.append(lambda r, v=v: r.kind == v)
        elif k == "model":
            preds.append(lambda r, v=v: r.model == v)
        elif k == "system_contains":
            preds.append(lambda r, v=v: v in r.system)
        elif k == "user_contains":
            preds.append(lambda r, v=v: v in r.last_user)
        elif k == "task":
            preds.append(lambda r, v=v: r.task == v)
        elif k == "sub_agent":
            preds.append(lambda r, v=v: (r.task is not None) == bool(v))
        elif k == "synthesis":
            preds.append(lambda r, v=v: ("<sub_agent_results>" in r.last_user) == bool(v))
        elif k == "stream":
            preds.append(lambda r, v=v: r.stream == bool(v))
        else:
            raise TypeError(f"script: unknown match keyword {k!r}")
        desc.append(f"{k}={v!r}")
    return (lambda r: all(p(r) for p in preds)), (" ".join(desc) or "any")


# ---------------------------------------------------------------------------
# TLS material
# ---------------------------------------------------------------------------

_CA_LOCK = threading.Lock()
_CA = {}


def _openssl(*args, cwd):
    exe = shutil.which("openssl")
    if exe is None:
        raise RuntimeError("the openssl command is needed for FakeLLM(tls=True) "
                           "(Debian package: openssl)")
    p = subprocess.run([exe] + list(args), cwd=cwd, capture_output=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n"
                           f"{p.stderr.decode(errors='replace')}")


def make_pki():
    """A throwaway CA and two server certificates it signed (ECDSA P-256 and
    RSA 2048), each for 127.0.0.1 and localhost; made once per process in a
    temporary directory removed at exit. Returns a dict of PEM paths:
    ca_file, ca_key, ec_cert, ec_key, rsa_cert, rsa_key, dir."""
    with _CA_LOCK:
        if _CA:
            return dict(_CA)
        d = tempfile.mkdtemp(prefix="fakellm-pki-")
        atexit.register(shutil.rmtree, d, True)
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", "ca.key", cwd=d)
        _openssl("req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "7",
                 "-subj", "/O=roost tests/CN=roost test CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 "-out", "ca.pem", cwd=d)
        # DNS:127.0.0.1 besides IP:127.0.0.1: mbedTLS 2.x matches the host name
        # only against dNSName entries.
        san = "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:127.0.0.1"
        for kind, genargs, usage in (
                ("ec", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                 "digitalSignature"),
                ("rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                 "digitalSignature,keyEncipherment")):
            with open(os.path.join(d, f"{kind}.ext"), "w") as f:
                f.write(f"{san}\nbasicConstraints=critical,CA:FALSE\n"
                        f"keyUsage=critical,{usage}\nextendedKeyUsage=serverAuth\n")
            _openssl("genpkey", *genargs, "-out", f"{kind}.key", cwd=d)
            _openssl("req", "-new", "-key", f"{kind}.key", "-subj",
                     "/O=roost tests/CN=127.0.0.1", "-out", f"{kind}.csr", cwd=d)
            _openssl("x509", "-req", "-in", f"{kind}.csr", "-CA", "ca.pem", "-CAkey",
                     "ca.key", "-set_serial", "0x" + os.urandom(8).hex(), "-days", "7",
                     "-sha256", "-extfile", f"{kind}.ext", "-out", f"{kind}.pem", cwd=d)
        _CA.update(dir=d, ca_file=os.path.join(d, "ca.pem"),
                   ca_key=os.path.join(d, "ca.key"),
                   ec_cert=os.path.join(d, "ec.pem"), ec_key=os.path.join(d, "ec.key"),
                   rsa_cert=os.path.join(d, "rsa.pem"), rsa_key=os.path.join(d, "rsa.key"))
        return dict(_CA)


def server_tls_context():
    """TLS 1.2 and 1.3; ECDHE-ECDSA / ECDHE-RSA AES-GCM (and ChaCha) suites
    for 1.2; both an ECDSA and an RSA certificate loaded."""
    pki = make_pki()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.load_cert_chain(pki["rsa_cert"], pki["rsa_key"])
    ctx.load_cert_chain(pki["ec_cert"], pki["ec_key"])
    return ctx


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------

class _ClientGone(Exception):
    pass


class _Stopped(Exception):
    pass


class _Dropped(Exception):
    pass


class _Out:
    """Writes one response: head, then the body as HTTP chunks."""

    def __init__(self, conn, req, reply, fake):
        self.conn = conn
        self.req = req
        self.reply = reply
        self.fake = fake
        self.mode = reply.chunking or fake.chunking
        self.split_size = max(1, reply.split_size or fake.split_size)
        self.rng = random.Random(req.index if reply.seed is None else reply.seed)
        self.buf = bytearray()

    def raw(self, data):
        try:
            self.conn.wfile.write(data)
        except (OSError, ValueError) as e:
            raise _ClientGone() from e

    def head(self, status, headers):
        self.req.status = status
        reason = REASONS.get(status) or http.HTTPStatus(status).phrase
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [f"{k}: {v}" for k, v in headers]
        lines += [f"{k}: {v}" for k, v in (self.reply.extra_headers or {}).items()]
        self.raw(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def _chunk(self, data):
        self.raw(b"%x\r\n" % len(data) + data + b"\r\n")

    def add(self, data):
        self.buf += data
        if self.mode == "event":
            self.flush()

    def flush(self):
        if not self.buf:
            return
        data, self.buf = bytes(self.buf), bytearray()
        if self.mode == "split":
            i = 0
            while i < len(data):
                n = self.rng.randint(1, self.split_size)
                self._chunk(data[i:i + n])
                i += n
        else:
            self._chunk(data)

    def end(self):
        self.flush()
        self.raw(b"0\r\n\r\n")

    def pause(self, seconds):
        self.flush()
        self.conn.wait(seconds)

    def stall(self):
        self.flush()
        self.req.outcome = "stalled"
        self.conn.wait(None, self.req.release_event)
        self.req.outcome = None

    def drop(self, partial=b""):
        self.flush()
        if partial and self.reply.drop_partial:
            self._chunk(partial[:max(1, len(partial) // 2)])
        raise _Dropped()


def _sse(event, data):
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if event is None:
        return f"data: {body}\n\n".encode("utf-8")
    return f"event: {event}\ndata: {body}\n\n".encode("utf-8")


PING = b'event: ping\ndata: {"type": "ping"}\n\n'


class _Conn(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakellm"
    sys_version = ""

    def setup(self):
        fake = self.server.fake
        sock = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if fake.tls:
            sock.settimeout(IO_TIMEOUT)
            try:
                sock = fake.ssl_ctx.wrap_socket(sock, server_side=True)
            except (OSError, ValueError) as e:
                fake._note_tls_error(e)
                sock.close()
                raise
            sock.settimeout(None)
            self.request = sock
        self.connection = sock
        fake._conn_opened(sock)
        super().setup()

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.fake._conn_closed(self.connection)

    def log_message(self, fmt, *args):
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, ssl.SSLError, _ClientGone, OSError):
            self.close_connection = True

    def _dispatch(self):
        self.server.fake._handle(self)

    do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = _dispatch

    # -- helpers used by FakeLLM ----------------------------------------------
    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise _ClientGone()
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(n)
                self.rfile.readline(8)
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n else b""
        if len(data) != n:
            raise _ClientGone()
        return data

    def peer_closed(self):
        """True if the client closed (EOF or error) - data it sent is kept."""
        sock = self.connection
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return False
        try:
            p = select.poll()
            p.register(sock.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
            if not p.poll(0):
                return False
            return self.rfile.peek(1) == b""
        except (OSError, ValueError):
            return True

    def wait(self, seconds, release=None):
        """Sleep ``seconds`` (None: forever) unless the fake stops, ``release``
        is set, or the client goes away."""
        fake = self.server.fake
        deadline = None if seconds is None else time.monotonic() + seconds
        while True:
            if fake._stopping.is_set():
                raise _Stopped()
            if release is not None and release.is_set():
                return
            left = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if left <= 0:
                return
            if self.peer_closed():
                raise _ClientGone()
            try:
                p = select.poll()
                p.register(self.connection.fileno(), select.POLLIN | select.POLLHUP)
                p.poll(int(left * 1000) + 1)
            except (OSError, ValueError):
                raise _ClientGone()


class _HTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # listen() backlog. socketserver's default of 5 drops the SYNs of a burst
    # of connections (a few hundred concurrent chats open their provider
    # calls in one go) and the client only retries after 1 s, 3 s, ...
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        pass


class FakeLLM:
    """An Anthropic + OpenAI-compatible provider on 127.0.0.1 (see module doc).

    FakeLLM(tls=False, api_key=None, *, chunking="event", split_size=64,
            reject_stream_options=False, reject_response_format=False, default=None,
            host="127.0.0.1")

    api_key      when set, Anthropic calls need ``x-api-key: <key>`` and
                 OpenAI calls ``Authorization: Bearer <key>`` (else 401)
    chunking     default chunking of streamed bodies (see Reply)
    reject_stream_options
                 OpenAI requests carrying ``stream_options`` get HTTP 400
                 (as some compatible servers do) without consuming a rule
    reject_response_format
                 the same for ``response_format`` (servers without a JSON mode)
    default      Reply for requests no rule matches (None: HTTP 500)

    Attributes besides the constructor's: port, base_url, openai_base_url,
    ca_file (tls only), requests, unmatched (requests no rule answered),
    tls_errors (failed handshakes), errors (tracebacks of bugs in the fake;
    assert_all_used() checks that there are none).
    """

    def __init__(self, tls=False, api_key=None, *, chunking="event", split_size=64,
                 reject_stream_options=False, reject_response_format=False, default=None,
                 host="127.0.0.1"):
        if chunking not in ("event", "coalesce", "split"):
            raise ValueError(f"chunking {chunking!r}")
        self.tls = bool(tls)
        self.api_key = api_key
        self.chunking = chunking
        self.split_size = split_size
        self.reject_stream_options = reject_stream_options
        self.reject_response_format = reject_response_format
        self.default = default
        self.host = host
        self.ssl_ctx = server_tls_context() if self.tls else None
        self.ca_file = make_pki()["ca_file"] if self.tls else None
        self.tls_errors = []
        self.errors = []
        self.unmatched = []
        self._requests = []
        self._rules = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._conns = set()
        self._stopping = threading.Event()
        self._srv = None
        self._thread = None
        self.port = None

    # -- lifecycle --------------------------------------------------------------
    def start(self):
        assert self._srv is None, "already started"
        self._stopping.clear()
        self._srv = _HTTPServer((self.host, 0), _Conn)
        self._srv.fake = self
        self.port = self._srv.server_address[1]
        self._thread = threading.Thread(target=self._srv.serve_forever,
                                        kwargs={"poll_interval": 0.01},
                                        name=f"fakellm:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop serving: stalled and delayed replies end, every connection is
        closed, the port is released."""
        if self._srv is None:
            return
        self._stopping.set()
        self._srv.shutdown()
        self._srv.server_close()
        with self._lock:
            conns = list(self._conns)
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            with self._lock:
                if not self._conns:
                    break
            time.sleep(0.01)
        self._thread.join(2.0)
        self._srv = None

    def __enter__(self):
        return self.start() if self._srv is None else self

    def __exit__(self, *exc):
        self.stop()

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    @property
    def base_url(self):
        """Anthropic ``base_url`` (the fake serves ``POST /v1/messages``)."""
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self):
        """OpenAI-compatible ``base_url`` (``POST {this}/chat/completions``)."""
        return self.base_url + "/v1"

    def provider_args(self, name, kind="anthropic", default_model=None, api_key_secret=None):
        """roostd flags for one provider pointing at this fake (spec README
        §2.1); ``llm.providers`` itself is the caller's to set."""
        url = self.base_url if kind == "anthropic" else self.openai_base_url
        args = [f"--llm.provider.{name}.kind={kind}", f"--llm.provider.{name}.base_url={url}"]
        if default_model:
            args.append(f"--llm.provider.{name}.default_model={default_model}")
        if api_key_secret:
            args.append(f"--llm.provider.{name}.api_key_secret={api_key_secret}")
        return args

    # -- scripting --------------------------------------------------------------
    def script(self, *replies, when=None, times=1, **match):
        """Queue replies. Each reply becomes one Rule answering ``times``
        matching calls (None: any number). ``when`` is a predicate on a
        Request; keyword shorthands (all must hold): kind="anthropic"|"openai",
        model=, system_contains=, user_contains= (last user message), task=
        (exact sub-agent task), sub_agent=bool, synthesis=bool, stream=bool.
        Returns the Rule (a list of Rules when several replies are given)."""
        pred, desc = _matcher(when, match)
        rules = []
        for r in replies:
            if not isinstance(r, Reply):
                raise TypeError(f"script: {r!r} is not a Reply")
            rules.append(Rule(r, pred, times, desc))
        with self._lock:
            self._rules.extend(rules)
        return rules[0] if len(rules) == 1 else rules

    def pending(self):
        """Rules that still expect calls (unlimited rules are not counted)."""
        with self._lock:
            return [r for r in self._rules if r.remaining]

    def assert_all_used(self):
        left = self.pending()
        assert not left, f"scripted replies never requested: {left}"
        assert not self.unmatched, f"requests no rule matched: {self.unmatched}"
        assert not self.errors, "fakellm internal errors:\n" + "\n".join(self.errors)

    def reset(self):
        with self._lock:
            self._rules.clear()
            self._requests.clear()
            self.unmatched.clear()
            self.errors.clear()

    def release(self):
        """Let every stalled reply continue."""
        with self._lock:
            for r in self._requests:
                r.release_event.set()

    @property
    def requests(self):
        with self._lock:
            return list(self._requests)

    def wait_requests(self, n, timeout=IO_TIMEOUT):
        """Wait until at least n requests arrived; returns them all."""
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self._requests) >= n, timeout)
            got = list(self._requests)
        assert ok, f"fake LLM got {len(got)} requests, expected {n}: {got}"
        return got

    # -- internals --------------------------------------------------------------
    def _note_tls_error(self, e):
        with self._lock:
            self.tls_errors.append(e)

    def _conn_opened(self, sock):
        with self._lock:
            self._conns.add(sock)

    def _conn_closed(self, sock):
        with self._cond:
            self._conns.discard(sock)
            self._cond.notify_all()

    def _pick(self, req):
        with self._lock:
            for rule in self._rules:
                if rule.remaining is not None and rule.remaining <= 0:
                    continue
                try:
                    ok = rule.pred(req)
                except Exception:  # a predicate that trips on odd input: no match
                    ok = False
                if ok:
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    rule.requests.append(req)
                    return rule
            return None

    def _handle(self, conn):
        try:
            body = conn.read_body()
        except (ValueError, OSError):
            conn.close_connection = True
            return
        with self._cond:
            req = Request(len(self._requests), conn.command, conn.path.split("?")[0],
                          conn.headers, body)
            self._requests.append(req)
            self._cond.notify_all()
        reply = None
        try:
            bad = self._validate(req)
            if bad is not None:
                reply = http_error(bad[0], bad[1])
                req.outcome = "rejected"
            else:
                req.rule = self._pick(req)
                if req.rule is not None:
                    reply = req.rule.reply
                elif self.default is not None:
                    reply = self.default
                else:
                    with self._lock:
                        self.unmatched.append(req)
                    reply = http_error(500, f"fakellm: no scripted reply for request "
                                            f"#{req.index} (model {req.model!r})")
                    req.outcome = "rejected"
            req.reply = reply
            self._serve(conn, req, reply)
            if req.outcome is None:
                req.outcome = "complete" if req.status == 200 else "error"
        except _ClientGone:
            req.outcome = "client_closed"
            req.client_closed.set()
            conn.close_connection = True
        except _Stopped:
            req.outcome = "stopped"
            conn.close_connection = True
        except _Dropped:
            req.outcome = "dropped"
            conn.close_connection = True
            if reply is not None and reply.drop_reset:
                try:
                    conn.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    conn.connection.close()
                except OSError:
                    pass
        except Exception:  # a bug in the fake: keep it visible
            req.outcome = "internal_error"
            conn.close_connection = True
            with self._lock:
                self.errors.append(traceback.format_exc())
            sys.stderr.write(f"fakellm: internal error on {req!r}\n{self.errors[-1]}")
        finally:
            req.done.set()

    def _validate(self, req):
        """(status, message) for a request the real API would refuse, else
        None (the error type follows the status, as in the real APIs)."""
        if req.kind is None:
            return (404, f"Not found: {req.method} {req.path}")
        if req.method != "POST":
            return (405, f"Method {req.method} not allowed")
        h = req.headers
        if req.kind == "anthropic":
            key = h.get("x-api-key")
            if self.api_key is not None:
                if key is None:
                    return (401, "x-api-key header is required")
                if key != self.api_key:
                    return (401, "invalid x-api-key")
            if h.get("anthropic-version") is None:
                return (400, "anthropic-version: header is required")
            if not (h.get("content-type") or "").lower().startswith("application/json"):
                return (400, "content-type must be application/json")
        else:
            auth = h.get("authorization")
            if self.api_key is not None:
                if auth is None:
                    return (401, "You didn't provide an API key. You need to provide your "
                                 "API key in an Authorization header using Bearer auth "
                                 "(i.e. Authorization: Bearer YOUR_KEY).")
                if auth != f"Bearer {self.api_key}":
                    return (401, "Incorrect API key provided.")
        j = req.json
        if not isinstance(j, dict):
            return (400, "The request body is not valid JSON.")
        for field in ("model", "messages") + (("max_tokens",) if req.kind == "anthropic"
                                             else ()):
            if field not in j:
                return (400, f"{field}: Field required")
        if not isinstance(j["model"], str) or not j["model"]:
            return (400, "model: Input should be a valid string")
        msgs = j["messages"]
        if not isinstance(msgs, list) or not msgs:
            return (400, "messages: at least one message is required")
        roles = ("user", "assistant") if req.kind == "anthropic" else (
            "system", "user", "assistant", "tool", "developer")
        for i, m in enumerate(msgs):
            if not isinstance(m, dict) or m.get("role") not in roles:
                role = m.get("role") if isinstance(m, dict) else None
                return (400, f"messages.{i}.role: Unexpected role {role!r}")
            if not isinstance(m.get("content"), (str, list)):
                return (400, f"messages.{i}.content: Field required")
        if "max_tokens" in j and (not isinstance(j["max_tokens"], int)
                                  or isinstance(j["max_tokens"], bool)
                                  or j["max_tokens"] < 1):
            return (400, "max_tokens: Input should be a positive integer")
        if "stream" in j and not isinstance(j["stream"], bool):
            return (400, "stream: Input should be a valid boolean")
        t = j.get("temperature")
        if t is not None:
            hi = 1.0 if req.kind == "anthropic" else 2.0
            if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t <= hi:
                return (400, f"temperature: Input should be between 0 and {hi:g}")
        if req.kind == "anthropic" and "system" in j \
                and not isinstance(j["system"], (str, list)):
            return (400, "system: Input should be a valid string")
        if req.kind == "openai" and "response_format" in j and self.reject_response_format:
            return (400, "Unrecognized request argument supplied: response_format")
        if req.kind == "openai" and "stream_options" in j:
            if self.reject_stream_options:
                return (400, "Unrecognized request argument supplied: stream_options")
            if j.get("stream") is not True:
                return (400, "The 'stream_options' parameter is only allowed when "
                             "'stream' is set to true")
        return None

    # -- answering --------------------------------------------------------------
    def _serve(self, conn, req, reply):
        out = _Out(conn, req, reply, self)
        if reply.headers_delay:
            conn.wait(reply.headers_delay)
        if reply.status != 200:
            return self._serve_error(conn, out, req, reply)
        req.input_tokens = (reply.input_tokens if reply.input_tokens is not None
                            else max(1, len(req.body) // 4))
        req.output_tokens = (reply.output_tokens if reply.output_tokens is not None
                             else max(1, sum(math.ceil(len(p.encode()) / 4)
                                             for p in reply.pieces)))
        if not req.stream:
            return self._serve_json(conn, out, req, reply)
        if conn.headers.get("Connection", "").lower() == "close":
            conn.close_connection = True
        if req.kind == "anthropic":
            self._stream_anthropic(out, req, reply)
        else:
            self._stream_openai(out, req, reply)

    def _common_headers(self, req):
        rid = "req_" + uuid.uuid4().hex[:24]
        if req.kind == "anthropic":
            return [("request-id", rid), ("anthropic-organization-id", "fakellm")]
        return [("x-request-id", rid), ("openai-processing-ms", "1")]

    def _error_body(self, req, reply):
        status = reply.status
        if reply.error_body is not None:
            return reply.error_body
        if req.kind == "openai":
            etype, code, msg = OPENAI_ERRORS.get(
                status, ("server_error" if status >= 500 else "invalid_request_error",
                         None, http.HTTPStatus(status).phrase if status in
                         http.HTTPStatus._value2member_map_ else "Error"))
            return {"error": {"message": reply.error_message or msg,
                              "type": reply.error_type or etype, "param": None,
                              "code": code}}
        etype, msg = ANTHROPIC_ERRORS.get(
            status, ("api_error" if status >= 500 else "invalid_request_error", "Error"))
        return {"type": "error", "error": {"type": reply.error_type or etype,
                                           "message": reply.error_message or msg}}

    def _serve_error(self, conn, out, req, reply):
        body = json.dumps(self._error_body(req, reply), separators=(",", ":")).encode()
        headers = [("Content-Type", "application/json"),
                   ("Content-Length", str(len(body)))] + self._common_headers(req)
        if reply.retry_after is not None:
            headers.append(("Retry-After", str(reply.retry_after)))
        if reply.status in (429, 529) or reply.status >= 500:
            headers.append(("x-should-retry", "true"))
        out.head(reply.status, headers)
        out.raw(body)

    def _serve_json(self, conn, out, req, reply):
        model = reply.model or req.model
        if req.kind == "anthropic":
            usage = {"input_tokens": req.input_tokens, "output_tokens": req.output_tokens}
            self._cache_usage(usage, reply)
            # no text: an empty content array, as the API answers then
            doc = {"id": "msg_" + uuid.uuid4().hex[:24], "type": "message",
                   "role": "assistant", "model": model,
                   "content": [{"type": "text", "text": reply.text}] if reply.text else [],
                   "stop_reason": reply.stop_reason, "stop_sequence": None,
                   "usage": usage}
        else:
            doc = {"id": "chatcmpl-" + uuid.uuid4().hex[:24], "object": "chat.completion",
                   "created": int(time.time()), "model": model,
                   "choices": [{"index": 0,
                                "message": {"role": "assistant", "content": reply.text,
                                            "refusal": None, "annotations": []},
                                "logprobs": None,
                                "finish_reason": self._finish(reply)}],
                   "usage": {"prompt_tokens": req.input_tokens,
                             "completion_tokens": req.output_tokens,
                             "total_tokens": req.input_tokens + req.output_tokens},
                   "system_fingerprint": "fp_fakellm"}
        if reply.whole_body is None:
            body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
        elif isinstance(reply.whole_body, (bytes, bytearray)):
            body = bytes(reply.whole_body)
        elif isinstance(reply.whole_body, str):
            body = reply.whole_body.encode("utf-8")
        else:
            body = json.dumps(reply.whole_body, ensure_ascii=False).encode("utf-8")
        out.head(200, [("Content-Type", "application/json"),
                       ("Content-Length", str(len(body)))] + self._common_headers(req))
        cut = reply.drop_after if reply.drop_after is not None else reply.stall_after
        if cut is not None:
            out.raw(body[:len(body) // 2])
            if reply.drop_after is not None:
                raise _Dropped()
            out.stall()
            out.raw(body[len(body) // 2:])
            return
        if reply.first_delay:
            conn.wait(reply.first_delay)
        out.raw(body)
        req.pieces_sent = len(reply.pieces)

    @staticmethod
    def _cache_usage(usage, reply):
        if reply.cache_creation_input_tokens is not None:
            usage["cache_creation_input_tokens"] = reply.cache_creation_input_tokens
        if reply.cache_read_input_tokens is not None:
            usage["cache_read_input_tokens"] = reply.cache_read_input_tokens

    @staticmethod
    def _finish(reply):
        return reply.finish_reason or FINISH_REASONS.get(reply.stop_reason, "stop")

    def _stream_head(self, out, req):
        out.head(200, [("Content-Type", "text/event-stream; charset=utf-8"),
                       ("Cache-Control", "no-cache"),
                       ("Transfer-Encoding", "chunked")] + self._common_headers(req))

    def _run_pieces(self, out, req, reply, delta, error_event, next_event=None):
        """Send the pieces with their delays, stalls, drops and errors.
        Returns False when an error event ended the stream."""
        n = len(reply.pieces)
        if reply.first_delay:
            out.pause(reply.first_delay)
        for i in range(n + 1):
            if reply.stall_after == i:
                out.stall()
            if reply.drop_after == i:
                out.drop(delta(reply.pieces[i]) if i < n else next_event or b"")
            if reply.error_after == i:
                out.add(error_event)
                out.end()
                return False
            if i == n:
                break
            if i > 0 and reply.delay:
                out.pause(reply.delay)
            out.add(delta(reply.pieces[i]))
            req.pieces_sent = i + 1
            if reply.ping_every and (i + 1) % reply.ping_every == 0 and req.kind == "anthropic":
                out.add(PING)
        return True

    def _stream_anthropic(self, out, req, reply):
        model = reply.model or req.model
        usage = {"input_tokens": req.input_tokens, "output_tokens": 1}
        self._cache_usage(usage, reply)
        self._stream_head(out, req)
        out.add(_sse("message_start", {"type": "message_start", "message": {
            "id": "msg_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant",
            "model": model, "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": usage}}))
        out.add(_sse("content_block_start", {"type": "content_block_start", "index": 0,
                                             "content_block": {"type": "text", "text": ""}}))
        out.add(PING)

        def delta(piece):
            return _sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                "delta": {"type": "text_delta",
                                                          "text": piece}})
        err = _sse("error", {"type": "error", "error": {
            "type": reply.error_type or "overloaded_error",
            "message": reply.error_message or "Overloaded"}})
        stop = _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        if not self._run_pieces(out, req, reply, delta, err, stop):
            return
        out.add(stop)
        out.add(_sse("message_delta", {"type": "message_delta",
                                       "delta": {"stop_reason": reply.stop_reason,
                                                 "stop_sequence": None},
                                       "usage": {"output_tokens": req.output_tokens}}))
        out.add(_sse("message_stop", {"type": "message_stop"}))
        out.end()

    def _stream_openai(self, out, req, reply):
        model = reply.model or req.model
        opts = req.json.get("stream_options")
        with_usage = isinstance(opts, dict) and opts.get("include_usage") is True
        cid = "chatcmpl-" + uuid.uuid4().hex[:24]
        created = int(time.time())

        def chunk(delta, finish=None, choices=True, usage=None):
            doc = {"id": cid, "object": "chat.completion.chunk", "created": created,
                   "model": model, "system_fingerprint": "fp_fakellm",
                   "choices": ([{"index": 0, "delta": delta, "logprobs": None,
                                 "finish_reason": finish}] if choices else [])}
            if with_usage:
                doc["usage"] = usage
            return _sse(None, doc)

        self._stream_head(out, req)
        out.add(chunk({"role": "assistant", "content": ""}))
        err = _sse(None, {"error": {"message": reply.error_message or "Overloaded",
                                    "type": reply.error_type or "server_error",
                                    "param": None, "code": None}})
        fin = chunk({}, self._finish(reply))
        if not self._run_pieces(out, req, reply, lambda p: chunk({"content": p}), err, fin):
            return
        out.add(fin)
        if with_usage:
            out.add(chunk(None, choices=False, usage={
                "prompt_tokens": req.input_tokens, "completion_tokens": req.output_tokens,
                "total_tokens": req.input_tokens + req.output_tokens}))
        out.add(b"data: [DONE]\n\n")
        out.end()
