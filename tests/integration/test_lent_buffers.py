"""Lent buffers (issue 10): a connection holds rx/tx memory only while it has
bytes to move, so idle keep-alive connections cost little, and slow readers
of big responses cannot starve everyone else.

test_idle_keepalive_connections_cost_little_memory
    Holds N idle keep-alive connections to the fleet port, each after one
    answered GET /health, and bounds roostd's VmRSS growth. N is 1,500, or
    the connection pool's size when the pool is smaller (the slot count of
    the `conns` line of `roostd --budget`): a pool that small would close
    idle connections to make room. The bound is min(1.5 MiB, 512 KiB +
    1 KiB per held connection): 1.5 MiB for 1,500 or for any N >= 1,024
    (the issue's number), and 1 KiB a connection plus a fixed 512 KiB below
    that. Under ASan (ROOST_SANITIZED=1) the bound is 4 times larger (shadow
    memory). None of the held connections may have been closed by the server
    when VmRSS is read, and a fresh client's GET /health is then answered 200.

test_slow_readers_do_not_starve_others
    64 clients with SO_RCVBUF 4096 request a soul-versions list of more than
    3 MiB and read it at 1 KiB/s or slower for 10 s, while this thread keeps
    asking for GET /health, GET /api/v1/bots/{slug} and GET /api/v1/bots:
    every one of those must be answered 200 (no 503). Then the slow readers
    read as fast as they can: each must get a complete 200 response whose
    JSON `data` is the whole version list (the final read gives up only when
    no byte has come for 10 s). No time is asserted (latency is
    bench/slow_readers.py's business).
"""

import hashlib
import json
import re
import selectors
import socket
import threading
import time
from collections import Counter

from fleetlib import API, Fleet, sha256
from roostlib import (IO_TIMEOUT, SANITIZED, SLOW, Raw, get_req, raise_nofile, request,
                      run_roostd, wait_for)
from roostlib import HOST

NEEDS = {"fleet"}

IDLE_TARGET = 1500
IDLE_BOUND_KIB = 1536                   # the 1.5 MiB for 1,500 connections

READERS = 64
READ_RATE = 1024                        # bytes/s per slow reader, at most
READER_RCVBUF = 4096
SLOW_SECONDS = 10.0
VERSIONS_MIN_BYTES = 3 * 1024 * 1024    # the soul/versions answer must be larger
VERSION_BYTES = 96 * 1024               # content of each soul version grown
MAX_PUTS = 80


# ---- helpers (bench/slow_readers.py uses them too) -----------------------------------

def pool_size():
    """Connection slots of the binary under test, from `roostd --budget`."""
    rc, out, err = run_roostd(["--budget"])
    assert rc == 0, f"roostd --budget exited {rc}: {err}"
    m = re.search(r"^conns\s+(\d+)\s+x", out, re.M)
    assert m, f"no `conns` line in roostd --budget:\n{out}"
    return int(m.group(1))


def server_closed(sock):
    """True if the server closed this idle connection (non-blocking recv
    gives b'' or a reset); False while it is open with nothing to read."""
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)


def soul_content(i, size=VERSION_BYTES):
    """size bytes of distinct, deterministic text for soul version i."""
    hexed = hashlib.shake_256(f"soul version {i}".encode()).hexdigest(size // 2)
    lines = [hexed[k:k + 63] for k in range(0, len(hexed), 63)]
    return (f"# Big soul, version {i}\n\n" + "\n".join(lines))[:size]


def grow_versions(port, key, slug, min_bytes=VERSIONS_MIN_BYTES, size=VERSION_BYTES,
                  max_puts=MAX_PUTS, timeout=IO_TIMEOUT):
    """PUT new soul versions of `size` bytes until GET .../soul/versions is
    larger than min_bytes. Returns that answer's body (bytes)."""
    hdr = {"X-API-Key": key, "Content-Type": "application/json"}
    path = f"{API}/bots/{slug}/soul"
    written = 0
    for i in range(1, max_puts + 1):
        body = json.dumps({"content": soul_content(i, size), "message": f"grow {i}"})
        r = request(port, "PUT", path, headers=hdr, body=body.encode(), timeout=timeout)
        assert r.status == 200, f"PUT soul version {i}: {r!r}"
        written += size
        if written >= min_bytes:
            r = request(port, "GET", f"{path}/versions", headers={"X-API-Key": key},
                        timeout=timeout * 4)
            assert r.status == 200, f"GET soul/versions: {r!r}"
            if len(r.body) > min_bytes:
                return r.body
    raise AssertionError(f"soul/versions still not over {min_bytes} bytes after {max_puts} PUTs")


def slow_reader_socket(port, path, key, rcvbuf=READER_RCVBUF, timeout=IO_TIMEOUT):
    """A connected, non-blocking socket with a small receive buffer (set
    before connect, so the window is small from the handshake on) that has
    sent GET path."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect((HOST, port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: roost\r\nX-API-Key: {key}\r\n\r\n".encode())
    s.setblocking(False)
    return s


class Incoming:
    """Incremental parser of one HTTP/1.1 response (Content-Length, chunked,
    or until EOF): feed() bytes as they come, eof() at the end."""

    def __init__(self):
        self.buf = bytearray()
        self.state = "head"
        self.status = None
        self.headers = {}
        self.body = bytearray()
        self.left = 0
        self.done = False
        self.error = None
        self.received = 0

    def feed(self, data):
        self.received += len(data)
        self.buf += data
        try:
            self._advance()
        except ValueError as e:
            self.error = f"malformed response: {e}"
            self.state = "bad"

    def eof(self):
        if self.state == "eof":
            self.done = True
        elif not self.done and self.error is None:
            self.error = f"connection closed in state {self.state}"

    def _take(self, n):
        k = min(n, len(self.buf))
        self.body += self.buf[:k]
        del self.buf[:k]
        return k

    def _advance(self):
        while not self.done and self.state != "bad":
            if self.state == "head":
                i = self.buf.find(b"\r\n\r\n")
                if i < 0:
                    return
                lines = bytes(self.buf[:i]).decode("latin-1").split("\r\n")
                del self.buf[:i + 4]
                m = re.match(r"^HTTP/1\.[01] (\d{3})", lines[0])
                if not m:
                    raise ValueError(f"status line {lines[0]!r}")
                self.status = int(m.group(1))
                for ln in lines[1:]:
                    k, _, v = ln.partition(":")
                    self.headers[k.strip().lower()] = v.strip()
                if self.headers.get("transfer-encoding", "").lower() == "chunked":
                    self.state = "size"
                elif "content-length" in self.headers:
                    self.left = int(self.headers["content-length"])
                    self.state = "fixed"
                else:
                    self.state = "eof"
            elif self.state == "fixed":
                self.left -= self._take(self.left)
                if self.left:
                    return
                self.done = True
            elif self.state == "eof":
                self._take(len(self.buf))
                return
            elif self.state == "size":
                i = self.buf.find(b"\r\n")
                if i < 0:
                    return
                size = int(bytes(self.buf[:i]).split(b";")[0], 16)
                del self.buf[:i + 2]
                self.left, self.state = size, ("data" if size else "trailer")
            elif self.state == "data":
                self.left -= self._take(self.left)
                if self.left:
                    return
                self.state = "crlf"
            elif self.state == "crlf":
                if len(self.buf) < 2:
                    return
                if self.buf[:2] != b"\r\n":
                    raise ValueError(f"no CRLF after chunk data: {bytes(self.buf[:20])!r}")
                del self.buf[:2]
                self.state = "size"
            elif self.state == "trailer":
                if self.buf[:2] == b"\r\n":
                    del self.buf[:2]
                    self.done = True
                    return
                i = self.buf.find(b"\r\n\r\n")
                if i < 0:
                    return
                del self.buf[:i + 4]
                self.done = True


def recv_into(sock, resp, n):
    """One non-blocking recv of up to n bytes into resp. Returns False once
    the connection is finished (EOF or reset)."""
    try:
        data = sock.recv(n)
    except (BlockingIOError, InterruptedError):
        return True
    except OSError:
        data = b""
    if not data:
        resp.eof()
        return False
    resp.feed(data)
    return True


def pace(socks, resps, rate, stop, tick=0.1):
    """Read each socket at `rate` bytes/s or slower until `stop` is set."""
    per = max(1, int(rate * tick))
    live = set(range(len(socks)))
    while live and not stop.wait(tick):
        for i in list(live):
            if not recv_into(socks[i], resps[i], per) or resps[i].done:
                live.discard(i)


def drain(socks, resps, timeout, quiet):
    """Read every unfinished response as fast as possible, all at once,
    until each is done or closed; give up when no byte has come for `quiet`
    seconds (the server is stuck) or after `timeout` in all."""
    sel = selectors.DefaultSelector()
    for s, r in zip(socks, resps):
        if not r.done and r.error is None:
            sel.register(s, selectors.EVENT_READ, r)
    deadline = time.monotonic() + timeout
    try:
        while sel.get_map():
            now = time.monotonic()
            if now >= deadline:
                break
            ready = sel.select(timeout=min(quiet, deadline - now))
            if not ready:
                break
            for key, _ in ready:
                r = key.data
                if not recv_into(key.fileobj, r, 1 << 18) or r.done or r.error:
                    sel.unregister(key.fileobj)
    finally:
        sel.close()


# ---- tests -------------------------------------------------------------------------

def test_idle_keepalive_connections_cost_little_memory(fresh):
    pool = pool_size()
    n = min(IDLE_TARGET, pool)
    bound = min(IDLE_BOUND_KIB, 512 + n) * (4 if SANITIZED else 1)
    nofile = raise_nofile()
    assert nofile >= n + 200, f"RLIMIT_NOFILE {nofile} too low for {n} connections"
    srv = fresh()
    # Warm-up: the accept, request and answer paths' pages become resident
    # before the first reading; then their slots are given back.
    warm = [Raw(srv.ports["fleet"]) for _ in range(16)]
    for c in warm:
        assert c.exchange(get_req("/health")).status == 200
    for c in warm:
        c.close()
    wait_for(lambda: srv.request("fleet", "GET", "/health").status == 200, 5 * SLOW)
    time.sleep(0.2)

    rss0 = srv.rss_kib()
    held = []
    try:
        for i in range(n):
            c = Raw(srv.ports["fleet"], timeout=10 * SLOW)
            held.append(c)
            r = c.exchange(get_req("/health"))
            assert r.status == 200, (i, r)
        time.sleep(0.2)
        rss1 = srv.rss_kib()
        closed = sum(1 for c in held if server_closed(c.sock))
        assert closed == 0, (f"the server closed {closed} of the {n} idle connections it "
                             f"should hold (pool {pool})")
        r = srv.request("fleet", "GET", "/health")
        assert r.status == 200, f"fresh client with {n} idle connections held: {r!r}"
    finally:
        for c in held:
            c.close()
    grow = rss1 - rss0
    print(f"pool {pool}; {n} idle: VmRSS {rss0} -> {rss1} KiB, {grow} KiB "
          f"({grow / n:.2f} KiB each); bound {bound} KiB")
    assert grow <= bound, (f"VmRSS grew {grow} KiB ({rss0} -> {rss1}) for {n} idle keep-alive "
                           f"connections, {grow / n:.2f} KiB each; bound {bound} KiB")


def test_slow_readers_do_not_starve_others(fresh):
    raise_nofile()
    srv = fresh()
    fleet = Fleet(srv)
    port, key = srv.ports["fleet"], srv.api_key()
    bot = fleet.create_bot("Slow Reader Target")
    slug = bot["slug"]
    body = grow_versions(port, key, slug)
    want = json.loads(body)["data"]
    assert len(want) >= 2 and [v["version"] for v in want] == list(range(1, len(want) + 1))
    assert all(v["hash"] == sha256(v["content"]) for v in want)

    path = f"{API}/bots/{slug}/soul/versions"
    socks, resps = [], []
    others = [("/health", {}), (f"{API}/bots/{slug}", {"X-API-Key": key}),
              (f"{API}/bots", {"X-API-Key": key})]
    answers = {p: Counter() for p, _ in others}
    stop = threading.Event()
    pacer = None
    try:
        for _ in range(READERS):
            socks.append(slow_reader_socket(port, path, key))
            resps.append(Incoming())
        pacer = threading.Thread(target=pace, args=(socks, resps, READ_RATE, stop), daemon=True)
        pacer.start()
        time.sleep(1.0)                     # let every reader's answer start and stall
        end = time.monotonic() + SLOW_SECONDS
        for _ in range(100_000):
            if time.monotonic() >= end:
                break
            for p, h in others:
                try:
                    st = request(port, "GET", p, headers=h).status
                except OSError as e:
                    st = f"{type(e).__name__}"
                answers[p][st] += 1
        stop.set()
        pacer.join(10)
        assert not pacer.is_alive(), "slow-reader thread did not stop"
        slow_bytes = [r.received for r in resps]
        drain(socks, resps, 45 * SLOW, quiet=10 * SLOW)
    finally:
        stop.set()
        for s in socks:
            s.close()

    outcome = Counter()
    for r in resps:
        if r.error or not r.done:
            outcome[f"incomplete (status {r.status}, {r.error or 'no more bytes came'})"] += 1
        elif r.status != 200:
            outcome[f"status {r.status}"] += 1
        else:
            try:
                got = json.loads(bytes(r.body))["data"]
            except ValueError as e:
                outcome[f"body not JSON ({e})"] += 1
                continue
            if got == want:
                outcome["complete"] += 1
            else:
                outcome[f"wrong list ({len(got)} versions, want {len(want)})"] += 1
    refused = {p: {st: k for st, k in c.items() if st != 200} for p, c in answers.items()}
    refused = {p: c for p, c in refused.items() if c}
    total = sum(sum(c.values()) for c in answers.values())
    print(f"versions list {len(body)} bytes, {len(want)} versions; slow phase read "
          f"{min(slow_bytes)}..{max(slow_bytes)} bytes per reader; others {dict(answers)}; "
          f"readers {dict(outcome)}")
    assert total >= len(others), "no request of the other clients was made"
    assert not refused and outcome["complete"] == READERS, (
        f"with {READERS} slow readers of a {len(body)}-byte list: other clients' non-200 "
        f"answers {refused or 'none'} (of {total}); slow readers {dict(outcome)}")
