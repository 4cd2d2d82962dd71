"""A soak of 200 concurrent chat streams (spec/fleet.md §6-§8): no RSS growth
and no heap allocation after init.

roostd runs under the malloc shim (as in test_no_heap.py) with one Anthropic
provider, the fake (fakellm.py), which streams every reply slowly: PIECES
text deltas, PIECE_DELAY seconds apart, so every stream stays open for about
PIECES * PIECE_DELAY seconds, far longer than it takes to open the other 199.
One round is STREAMS concurrent ``POST .../chat/stream``, one connection
each, driven by one selector loop (``run_round``). Every stream must be a
complete, well-formed §8 stream: ``session`` first, the text deltas
concatenating to the scripted reply, ``usage``, ``done`` last, nothing
after it, the body ended. /metrics must show that the streams really
overlapped (``roost_chat_active_high_water``), that none was refused or
failed, and that the chat heap is empty again afterwards.

Two identical rounds; VmRSS after the second may exceed VmRSS after the
first only by RSS_SLACK_KIB (see there); if it does, the message says which
of roostd's static regions the new resident pages belong to. At exit the
shim must report no allocation and no free after the first poll().

bench/chat_soak.py reuses ``run_round`` and the helpers below for the long
version (many rounds, with client-side timings).
"""

import array
import bisect
import json
import os
import re
import selectors
import socket
import subprocess
import time

import pytest

import fakellm
from fakellm import FakeLLM
from fleetlib import API, Fleet
from roostlib import (IO_TIMEOUT, SANITIZED, SLOW, Server, limits, raise_nofile, read_shim_report,
                      wait_for)

# What this file needs built into roostd (conftest.py deselects it, and
# lists it, for a profile without them).
NEEDS = {"fleet", "llm"}

STREAMS = 200
PIECES = 20
PIECE_DELAY = 0.1                  # seconds between two deltas: ~2 s per stream
INPUT_TOKENS = 20
OUTPUT_TOKENS = PIECES
ROUND_TIMEOUT = 30.0 * SLOW        # a whole round; a stalled stream fails it

# VmRSS after round 2 minus VmRSS after round 1, at most. Every pool, slot
# and heap (chat, curl, mbedtls, sqlite and its page cache) is static
# storage sized at init, and round 1 has already run the same 200 streams
# through all of it. Round 2 can add only resident pages that round 1
# happened not to touch: sqlite's page cache taking the pages that round 1's
# 200 sessions and 400 messages added to the database (24 KiB measured), a
# connection slot in a different order (12 KiB measured), a heap block placed
# a page further along. 64 pages (256 KiB) is several times that, and below
# what one round adds if anything is kept per stream (2 KiB each: 400 KiB).
RSS_SLACK_KIB = 256


def reply_pieces():
    """The scripted reply: PIECES pieces, ASCII and multi-byte UTF-8."""
    return [f"piece {k:02d} of the soak reply \u00e9\u20ac\U0001F98A; "
            for k in range(PIECES)]


def provider_args(fake):
    return ["--llm.providers=anthropic",
            f"--llm.provider.anthropic.kind=anthropic",
            f"--llm.provider.anthropic.base_url={fake.base_url}",
            "--llm.provider.anthropic.default_model=soak-model",
            f"--llm.provider.anthropic.timeout_ms={int(10000 * SLOW)}"]


def script_fake(fake, pieces=None, delay=PIECE_DELAY):
    """Every call answers the same slow stream (times=None: any number)."""
    fake.script(fakellm.text(pieces or reply_pieces(), delay=delay,
                             input_tokens=INPUT_TOKENS, output_tokens=OUTPUT_TOKENS),
                times=None)


# ---------------------------------------------------------------------------
# /metrics and /proc
# ---------------------------------------------------------------------------

METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def metrics(srv):
    """The fleet /metrics page as {name: value} (labelled series keep their
    labels in the name)."""
    r = srv.request("fleet", "GET", "/metrics", headers={"X-API-Key": srv.api_key()})
    assert r.status == 200, r
    out = {}
    for line in r.body.decode("utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        m = METRIC_LINE.match(line)
        assert m, f"bad /metrics line {line!r}"
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def resident_pages(pid):
    """{page address: mapping} of every resident page of the process
    (/proc/<pid>/pagemap bit 63), for telling where RSS grew."""
    pages = {}
    with open(f"/proc/{pid}/maps") as f:
        maps = [ln.split() for ln in f]
    with open(f"/proc/{pid}/pagemap", "rb") as pm:
        for m in maps:
            name = m[5] if len(m) > 5 else "[anon]"
            if name == "[vsyscall]":
                continue
            lo, hi = (int(x, 16) for x in m[0].split("-"))
            pm.seek(lo // 4096 * 8)
            entries = array.array("Q")
            entries.frombytes(pm.read((hi - lo) // 4096 * 8))
            for i, e in enumerate(entries):
                if e >> 63:
                    pages[lo + i * 4096] = name
    return pages


def where(pages, pid, binary):
    """KiB of `pages` per roostd static object (nm -S) or mapping, largest
    first."""
    base = None
    with open(f"/proc/{pid}/maps") as f:
        for ln in f:
            if ln.rstrip().endswith(os.path.realpath(binary)):
                base = int(ln.split("-")[0], 16)
                break
    syms = []
    nm = subprocess.run(["nm", "-S", "--defined-only", binary], capture_output=True)
    for ln in nm.stdout.decode("latin-1").splitlines():
        f = ln.split()
        if len(f) == 4 and f[2] in "bBdD":
            syms.append((int(f[0], 16), int(f[1], 16), f[3]))
    syms.sort()
    starts = [x[0] for x in syms]
    out = {}
    for addr, name in pages.items():
        label = name
        if base is not None:
            i = bisect.bisect_right(starts, addr - base + 4095) - 1
            if i >= 0 and syms[i][0] + syms[i][1] > addr - base:
                label = syms[i][2]
        out[label] = out.get(label, 0) + 4
    return sorted(out.items(), key=lambda kv: -kv[1])


# ---------------------------------------------------------------------------
# The client: many chat streams on one selector loop
# ---------------------------------------------------------------------------

class ChatStream:
    """One POST .../chat/stream on a non-blocking socket, parsed strictly as
    it arrives (the framing of test_chat.py: ``event: <name>\\n`` +
    ``data: <one-line JSON object>\\n`` + ``\\n``, or the comment
    ``:\\n\\n``; nothing after ``done``; the body ended: the last chunk of
    a chunked body, else EOF after ``Connection: close``).

    ``error`` is None while everything is well-formed, else what went
    wrong. ``t_start`` / ``t_first`` / ``t_end`` are time.monotonic() at the
    connect, at the first text_delta and at the end of the body."""

    def __init__(self, port, request, index):
        self.index = index
        self.events = []
        self.error = None
        self.closed = False
        self.status = None
        self.t_first = None
        self.t_end = None
        self._buf = b""           # raw bytes not yet decoded
        self._sse = b""           # decoded body bytes not yet parsed
        self._chunk_left = 0      # bytes of the current chunk; -2: its CRLF next
        self._chunked = False     # Transfer-Encoding: chunked (else ends at EOF)
        self._ended = False       # the body ended (EOF, or the last chunk)
        self.t_start = time.monotonic()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(request)
        self.sock.setblocking(False)

    def fail(self, why):
        if self.error is None:
            self.error = f"stream #{self.index}: {why} (events {self.names()})"

    def names(self):
        return [n for n, _ in self.events]

    def text(self):
        return "".join(d.get("text", "") for n, d in self.events if n == "text_delta")

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass

    # -- reading ----------------------------------------------------------------
    def on_readable(self):
        """Read what is there; True when the stream is over (the body ended,
        or an error)."""
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as e:
            self.fail(f"recv: {e}")
            return True
        try:
            if data:
                self._buf += data
                self._decode()
            else:
                self._eof()
        except (AssertionError, ValueError) as e:
            self.fail(str(e))
            return True
        return self._ended or self.error is not None or not data

    def _end(self):
        self._ended = True
        self.t_end = time.monotonic()
        assert self._sse == b"", f"the body ended inside an event: {self._sse[:200]!r}"
        assert self.names()[-1:] == ["done"], "the body ended without done"

    def _eof(self):
        assert self.status is not None, f"EOF before the response head: {self._buf[:200]!r}"
        assert not self._chunked, "EOF before the last chunk"
        self._end()

    def _head(self):
        head, self._buf = self._buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"^HTTP/1\.1 (\d{3}) ", lines[0])
        assert m, f"bad status line {lines[0]!r}"
        self.status = int(m.group(1))
        assert self.status == 200, f"status {self.status}: {head[:400]!r} {self._buf[:400]!r}"
        hs = {}
        for ln in lines[1:]:
            k, v = ln.split(":", 1)
            hs[k.strip().lower()] = v.strip()
        assert hs.get("content-type", "").split(";")[0] == "text/event-stream", hs
        assert "content-length" not in hs, f"an SSE stream with a Content-Length: {hs}"
        te = hs.get("transfer-encoding")
        # The body is chunked, or (what roostd sends) delimited by the close.
        assert te is None or te.lower() == "chunked", hs
        self._chunked = te is not None
        if not self._chunked:
            assert hs.get("connection", "").lower() == "close", hs

    def _decode(self):
        if self.status is None:
            if b"\r\n\r\n" not in self._buf:
                assert len(self._buf) < 16384, "response head too long"
                return
            self._head()
        if not self._chunked:
            assert not self._ended or not self._buf, f"bytes after the body: {self._buf[:80]!r}"
            self._sse += self._buf
            self._buf = b""
            self._parse()
            return
        while not self._ended:
            if self._chunk_left > 0:
                take = self._buf[:self._chunk_left]
                self._buf = self._buf[len(take):]
                self._chunk_left -= len(take)
                self._sse += take
                self._parse()
                if self._chunk_left > 0:
                    return
                self._chunk_left = -2
            if self._chunk_left == -2:
                if len(self._buf) < 2:
                    return
                assert self._buf[:2] == b"\r\n", f"chunk not followed by CRLF: {self._buf[:40]!r}"
                self._buf = self._buf[2:]
                self._chunk_left = 0
            if b"\r\n" not in self._buf:
                assert len(self._buf) < 64, f"bad chunk size line {self._buf[:64]!r}"
                return
            line, rest = self._buf.split(b"\r\n", 1)
            size = int(line.split(b";")[0], 16)
            if size == 0:
                if len(rest) < 2:
                    return
                assert rest == b"\r\n", f"trailers or bytes after the last chunk: {rest[:80]!r}"
                self._buf = b""
                self._end()
                return
            self._buf = rest
            self._chunk_left = size

    def _parse(self):
        while self._sse:
            s = self._sse
            if s[:1] == b":":
                if len(s) < 3:
                    return
                assert s[:3] == b":\n\n", f"a comment other than ':\\n\\n': {s[:80]!r}"
                self._sse = s[3:]
                continue
            nl = s.find(b"\n")
            if nl < 0:
                return
            assert s.startswith(b"event: "), f"not an SSE event: {s[:200]!r}"
            name = s[7:nl].decode("utf-8")
            assert re.match(r"^[a-z_]+$", name), f"event name {name!r}"
            rest = s[nl + 1:]
            nl2 = rest.find(b"\n")
            if nl2 < 0 or len(rest) < nl2 + 2:
                return
            assert rest.startswith(b"data: "), f"event {name} without data: {s[:200]!r}"
            assert rest[nl2 + 1:nl2 + 2] == b"\n", f"event {name}: no blank line after data"
            payload = rest[6:nl2]
            data = json.loads(payload.decode("utf-8"))
            assert isinstance(data, dict), f"data of {name} is not an object: {data!r}"
            assert not (self.events and self.events[-1][0] == "done"), \
                f"event {name} after done"
            self.events.append((name, data))
            if name == "text_delta" and self.t_first is None:
                self.t_first = time.monotonic()
            self._sse = rest[nl2 + 2:]

    # -- the verdict --------------------------------------------------------------
    def check(self, text):
        """Sets ``error`` unless this is session, text_delta+ (joined: text),
        usage, done."""
        if self.error is not None:
            return
        names = self.names()
        if not self._ended:
            self.fail("not finished")
            return
        n = len(names)
        if n < 4 or names[0] != "session" or names[-2:] != ["usage", "done"] \
                or any(x != "text_delta" for x in names[1:-2]):
            self.fail("not session, text_delta..., usage, done")
            return
        sid = self.events[0][1].get("session_id")
        if not (isinstance(sid, str) and len(sid) == 36):
            self.fail(f"session data {self.events[0][1]!r}")
        elif self.text() != text:
            self.fail(f"text {self.text()[:120]!r}... is not the scripted reply")
        elif self.events[-2][1] != {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS}:
            self.fail(f"usage {self.events[-2][1]!r}")
        elif self.events[-1][1] != {}:
            self.fail(f"done data {self.events[-1][1]!r}")


def chat_request(key, bot, message):
    body = json.dumps({"message": message}).encode("utf-8")
    return (f"POST {API}/bots/{bot}/chat/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"X-API-Key: {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1") + body


def run_round(port, key, bot, text, n=STREAMS, tag="round", timeout=ROUND_TIMEOUT,
              threads=None):
    """Open n chat streams as fast as one thread can connect, then read them
    all on one selector until every one is over (or the timeout). Returns
    the ChatStreams, each checked against ``text`` (``error`` None: good).
    threads: a list to which the server's thread count is appended on every
    turn of the selector loop (a callable giving it is passed as threads[0])."""
    sel = selectors.DefaultSelector()
    streams = []
    try:
        for i in range(n):
            s = ChatStream(port, chat_request(key, bot, f"{tag} stream {i}"), i)
            streams.append(s)
            sel.register(s.sock, selectors.EVENT_READ, s)
        open_ = n
        deadline = time.monotonic() + timeout
        while open_ > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if threads is not None:
                threads.append(threads[0]())
            for k, _ in sel.select(min(left, 1.0)):
                s = k.data
                if s.on_readable():
                    sel.unregister(s.sock)
                    s.close()
                    open_ -= 1
    finally:
        for s in streams:
            s.close()
        sel.close()
    for s in streams:
        s.check(text)
    return streams


def round_errors(streams):
    return [s.error for s in streams if s.error is not None]


# ---------------------------------------------------------------------------
# The test
# ---------------------------------------------------------------------------

def wait_idle(srv):
    """/metrics once the last stream's request is released (its turn is
    persisted after done, so it may trail the client by a moment)."""
    return wait_for(lambda: (lambda m: m if m["roost_chat_active"] == 0
                             and m["roost_chat_heap_used_bytes"] == 0 else None)(metrics(srv)),
                    IO_TIMEOUT, 0.05, "roost_chat_active and roost_chat_heap_used_bytes at 0")


@pytest.mark.skipif(SANITIZED, reason="ASan replaces malloc; the shim measures the plain build")
def test_200_concurrent_chat_streams(roostd, shim, tmp_path):
    """STREAMS (200) chats at once, or as many as the binary holds at once
    (CFG_CHAT_REQS: 64 in the default profile, over 32 LLM slots: the calls
    beyond the slots wait their turn, and every stream completes)."""
    lim = limits()
    n_streams = min(STREAMS, lim["CFG_CHAT_REQS"])
    raise_nofile()
    report = tmp_path / "shim-report.txt"
    fake = FakeLLM().start()
    srv = Server(tmp_path / "srv", preload=shim, args=provider_args(fake))
    srv.env["ROOST_SHIM_REPORT"] = str(report)    # clean_env drops ROOST_*; put it back
    problems = []
    try:
        script_fake(fake)
        text = "".join(reply_pieces())
        srv.start()
        key = srv.api_key()
        bot = Fleet(srv).create_bot("Soak Bot")["id"]
        rss, pages, heaps = [], [], []
        counts = [srv.threads]
        for rnd in (1, 2):
            streams = run_round(srv.ports["fleet"], key, bot, text, n=n_streams,
                                tag=f"round {rnd}", threads=counts)
            errors = round_errors(streams)
            assert not errors, (f"round {rnd}: {len(errors)} of {n_streams} streams bad:\n"
                                + "\n".join(errors[:10]) + f"\n{srv.logs()}")
            m = wait_idle(srv)
            rss.append(rss_kib(srv.pid))
            pages.append(resident_pages(srv.pid))
            heaps.append({k: int(v) for k, v in m.items() if re.match(
                r"^roost_(chat|out|tls|sqlite)_heap_(used|high_water)_bytes$", k)})
            assert m["roost_chat_active_high_water"] >= n_streams, \
                f"the streams did not overlap: high water {m['roost_chat_active_high_water']}"
            assert m["roost_chat_refused_total"] == 0, m
            assert m["roost_chat_requests_total"] == n_streams * rnd, m
            assert m["roost_chat_completed_total"] == n_streams * rnd, m
            assert m["roost_chat_failed_total"] == 0, m
            assert m["roost_chat_heap_failures_total"] == 0, m
            assert m["roost_out_heap_failures_total"] == 0, m
            assert m["roost_tls_heap_failures_total"] == 0, m
        # one thread, with 200 provider calls (DNS, connects, TLS-less http)
        # in flight: curl and c-ares start none
        assert len(counts) > 10 and set(counts[1:]) == {1}, sorted(set(counts[1:]))
        assert len(fake.requests) == 2 * n_streams, len(fake.requests)
        assert not fake.errors and not fake.unmatched, fake.errors + fake.unmatched
        if rss[1] - rss[0] > RSS_SLACK_KIB:
            grown = {a: n for a, n in pages[1].items() if a not in pages[0]}
            problems.append(
                f"VmRSS grew from {rss[0]} KiB after round 1 to {rss[1]} KiB after round 2 "
                f"(slack {RSS_SLACK_KIB} KiB); pages resident now and not after round 1, "
                f"KiB by region: {where(grown, srv.pid, roostd)[:8]}; heaps after round 1 "
                f"{heaps[0]}, after round 2 {heaps[1]}")
    finally:
        try:
            srv.stop()
        finally:
            fake.stop()
    r = read_shim_report(report)
    assert r["armed"], f"the shim never saw poll()\n{r['text']}"
    if r["allocs"] != 0 or r["frees"] != 0:
        problems.append(f"heap used after the first poll(): {r['allocs']} allocation(s), "
                        f"{r['frees']} free(s)\n{r['text'][:12000]}")
    assert not problems, "\n".join(problems)
