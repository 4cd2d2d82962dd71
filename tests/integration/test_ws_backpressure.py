"""Backpressure of observability /ws under a flood of POST /events
(spec/observability.md §6, src/http/stream.h "Queue and backpressure").

The policy under test: every event is put on the ring once; each /ws client
copies it into its connection's tx buffer as room allows. A client's queue
is tx pending + ring bytes from its next event to the newest; when an event
would leave more than observability.ws_max_buffer_bytes queued, the client
gets a close frame 1013 "backpressure" and the log line
"observability /ws #<id>: <n> bytes queued, over <cap>: closed 1013". A
client the ring overtakes (cap above what the ring holds) is closed with 1013
too ("fell behind the event ring by <n> event(s): closed 1013").

What a stuck client sees when it finally reads (stream.c): the close frame
goes into the control reserve of tx right behind the events already there,
the connection is marked close-after-flush with a send deadline of
CFG_SEND_TIMEOUT_MS (30 s). When the client reads before that deadline, tx
drains, the server half-closes and lingers: the client reads the events it
was given (an in-order prefix), then the close frame, then EOF. Only a
client that lets nothing drain for 30 s is cut without the close frame (the
close frame dies with tx). The tests here read their stuck clients within a
few seconds, so they assert the first outcome exactly. (In practice the
kernel keeps taking a few bytes from a client that reads nothing, so even
an unread close frame usually leaves tx within seconds; the 30 s cut is not
reproducible from a test and is not tested here.)

Stuck clients clamp their MSS (TCP_MAXSEG) and their SO_RCVBUF before
connecting: on loopback the MSS is ~64 KiB and the server's send buffer
autotunes to ~2 MB for a peer that never reads, which would hide the server's
own queue behind the kernel's. With a 536-byte MSS and a 4 KiB receive
buffer the kernel holds much less, but still grows with the sender's pace:
a few tens of KiB for a flood, about 100 KiB on Linux 6.18 for 1 KiB events
written one at a time. The rest waits in the ring. The tests never count on
the kernel's share: they publish far more than it (limit) or until the
server logs the close.

Everything runs on real sockets against the real binary. Nothing asserts a
duration: waits are bounded (IO_TIMEOUT, scaled for sanitizer builds) only
so a broken server fails instead of hanging.
"""

import http.client
import json
import os
import re
import socket
import struct
import threading
import time

import pytest

from roostlib import IO_TIMEOUT, REPO, SANITIZED, wait_for
from roostlib import HOST
from wslib import (OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, Assembler, build_frame,
                   check_server_frame, open_socket, parse_frames)

# 50,000 events per flood on a plain build; sanitizer builds are slower, so
# they flood less instead of taking minutes. ROOST_BP_EVENTS overrides both.
FLOOD = int(os.environ.get("ROOST_BP_EVENTS") or (10_000 if SANITIZED else 50_000))


def config_h(name):
    """A default from config.h (the build under test uses the defaults)."""
    with open(os.path.join(REPO, "config.h")) as f:
        m = re.search(r"^#define %s (\d+)" % name, f.read(), re.M)
    assert m, f"{name} not in config.h"
    return int(m.group(1))


CFG_BUF_BYTES = config_h("CFG_BUF_BYTES")      # 17408: one lent rx or tx buffer
PAGE = os.sysconf("SC_PAGE_SIZE")

WARMUP_MAX = 4                  # warm-up floods at most (see the RSS test)
DEFAULT_CAP = 1048576           # observability.ws_max_buffer_bytes default
STUCK_MSS = 536
STUCK_RCVBUF = 4096

BACKPRESSURE_RE = re.compile(
    r"observability /ws #(\d+): (\d+) bytes queued, over (\d+): closed 1013")
LAGGED_RE = re.compile(
    r"observability /ws #(\d+): fell behind the event ring by (\d+) event\(s\): closed 1013")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def event_body(i, tag="bp"):
    """One POST /events body (~230 bytes) whose tool_input carries counter i."""
    return json.dumps({
        "event_type": "pre_tool", "session_id": f"{tag}-session", "session_name": tag,
        "timestamp": "2025-11-25T10:11:10.000000+00:00", "tool_name": "Read",
        "tool_input": {"n": i, "pad": "x" * 120},
    }, separators=(",", ":")).encode()


def post_request(i, tag="bp"):
    b = event_body(i, tag)
    return (b"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(b), b))


class Sub:
    """A /ws client on a raw socket. Frames are parsed incrementally
    (wslib.parse_frames) into whole messages (wslib.Assembler: fragmented
    ones joined, the init snapshot may come in parts); server pings are
    answered when the client reads. A reader thread (start()) reads
    everything, optionally slowly; a stuck client never calls start() and is
    read once at the end with read_to_eof()."""

    def __init__(self, port, rcvbuf=None, mss=None, chunk=1 << 20, delay=0.0):
        self.chunk = chunk
        self.delay = delay
        self.sock, first = open_socket(port, rcvbuf=rcvbuf, mss=mss)
        self.rest = b""             # the start of a frame still on its way
        self.asm = Assembler()
        self.messages = []          # (opcode, payload) of whole messages, close included
        self.events = 0             # text messages after the first (init)
        self.bytes_in = len(first)
        self.eof = False
        self.error = None
        self.lock = threading.Lock()
        self.thread = None
        self.stopping = False
        self._parse(first, reply=False)

    # -- frames ---------------------------------------------------------------
    def _parse(self, data, reply=True):
        frames, self.rest = parse_frames(self.rest + data)
        for f in frames:
            check_server_frame(f)
            if f.opcode == OP_PING and reply and not self.stopping:
                self.sock.sendall(build_frame(OP_PONG, f.payload))
            m = self.asm.add(f)
            if m is None:
                continue
            self.messages.append((m.opcode, m.payload))
            if m.opcode == OP_TEXT and len(self.messages) > 1:
                self.events += 1

    def tail(self):
        """Bytes received after the last whole frame."""
        return self.rest

    def _feed(self, data):
        with self.lock:
            self.bytes_in += len(data)
            self._parse(data)

    # -- reading --------------------------------------------------------------
    def _run(self):
        try:
            while not self.stopping:
                try:
                    d = self.sock.recv(self.chunk)
                except socket.timeout:
                    continue
                if not d:
                    self.eof = True
                    return
                self._feed(d)
                if self.delay:
                    time.sleep(self.delay)
        except (OSError, AssertionError) as e:
            if not self.stopping:
                self.error = e

    def start(self):
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def wait_events(self, n, what="events"):
        wait_for(lambda: self.events >= n or self.eof or self.error, 4 * IO_TIMEOUT,
                 what=f"{n} {what} (have {self.events})")
        assert self.error is None, f"reader failed: {self.error!r}"
        assert self.events >= n, (f"connection ended after {self.events} of {n} events; "
                                  f"last messages {self.messages[-2:]!r}")

    def read_to_eof(self):
        """Read everything until the server ends the connection (a stuck
        client's last act). A reset instead of EOF is reported as such."""
        self.sock.settimeout(IO_TIMEOUT)
        while True:
            try:
                d = self.sock.recv(1 << 16)
            except ConnectionResetError:
                raise AssertionError(f"connection reset after {self.bytes_in} bytes "
                                     f"({self.events} events) instead of a close and EOF")
            except socket.timeout:
                raise AssertionError(f"no EOF within {IO_TIMEOUT:.0f}s after "
                                     f"{self.bytes_in} bytes ({self.events} events)")
            if not d:
                self.eof = True
                return
            self._feed(d)

    def close(self):
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if self.thread is not None:
            self.thread.join(IO_TIMEOUT)
        self.sock.close()

    # -- checking -------------------------------------------------------------
    def counters(self):
        """tool_input.n of every event message, in arrival order; the first
        message must be init, every later text message an event."""
        msgs = [m for m in self.messages if m[0] != OP_CLOSE]
        assert msgs, "no init message"
        first = json.loads(msgs[0][1])
        assert first.get("type") == "init", f"first message is not init: {msgs[0]!r}"
        out = []
        for op, payload in msgs[1:]:
            assert op == OP_TEXT, f"non-text message {op}"
            j = json.loads(payload)
            assert j.get("type") == "event", f"not an event: {payload[:200]!r}"
            out.append(j["data"]["tool_input"]["n"])
        return out

    def close_frames(self):
        return [p for op, p in self.messages if op == OP_CLOSE]


def assert_in_order(got, start, count, who):
    """got is exactly start..start+count-1: every event once, in publish order."""
    want = list(range(start, start + count))
    if got == want:
        return
    dups = len(got) - len(set(got))
    missing = sorted(set(want) - set(got))
    first_bad = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), None)
    raise AssertionError(f"{who}: {len(got)} events, expected {count} from {start}; "
                         f"{dups} duplicate(s), {len(missing)} missing (first "
                         f"{missing[:5]}), first out-of-place index {first_bad}")


def assert_stuck_prefix(stuck, start, limit):
    """Read stuck to its end: an in-order prefix (1 to limit - 1 events) of
    the events from start, then the close 1013 and EOF. Returns the events'
    counters."""
    stuck.read_to_eof()
    got = stuck.counters()
    assert 0 < len(got) < limit, f"stuck client got {len(got)} events (of {limit})"
    assert_in_order(got, start, len(got), "stuck client")
    assert_backpressure_close(stuck, "stuck client")
    return got


def assert_backpressure_close(sub, who):
    """The last thing sub got: a close frame 1013 "backpressure", then EOF,
    nothing after it."""
    closes = sub.close_frames()
    assert len(closes) == 1, f"{who}: expected one close frame, got {closes!r}"
    assert sub.messages[-1][0] == OP_CLOSE, f"{who}: messages after the close frame"
    payload = closes[0]
    assert len(payload) >= 2, f"{who}: close frame without a code: {payload!r}"
    code = struct.unpack(">H", payload[:2])[0]
    assert code == 1013, f"{who}: close code {code}, expected 1013 ({payload!r})"
    assert payload[2:] == b"backpressure", f"{who}: close reason {payload[2:]!r}"
    assert sub.eof, f"{who}: no EOF after the close frame"
    assert sub.tail() == b"", f"{who}: bytes after the close frame: {sub.tail()[:100]!r}"


class Publisher:
    """POST /events pipelined on one keep-alive connection: one connection
    keeps the publish order (requests on a connection are handled in
    order), `depth` requests per write keep Python out of the way."""

    def __init__(self, port, tag="bp"):
        self.sock = socket.create_connection((HOST, port), timeout=IO_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.tag = tag
        self.rb = b""
        self.published = 0

    def _read_responses(self, k):
        got = 0
        while got < k:
            h = self.rb.find(b"\r\n\r\n")
            if h >= 0:
                head = self.rb[:h]
                m = re.search(rb"\r\ncontent-length: *(\d+)", head, re.I)
                assert m, f"response without Content-Length: {head!r}"
                end = h + 4 + int(m.group(1))
                if len(self.rb) >= end:
                    assert head.startswith(b"HTTP/1.1 200 "), \
                        f"POST /events answered {self.rb[:end][:400]!r}"
                    self.rb = self.rb[end:]
                    got += 1
                    continue
            d = self.sock.recv(1 << 16)
            assert d, f"publisher connection closed after {self.published} events"
            self.rb += d

    def publish(self, start, count, depth=64, before_batch=None):
        i, end = start, start + count
        while i < end:
            k = min(depth, end - i)
            if before_batch is not None:
                before_batch(i, k)
            self.sock.sendall(b"".join(post_request(j, self.tag) for j in range(i, i + k)))
            self._read_responses(k)
            i += k
            self.published += k

    def close(self):
        self.sock.close()


class HealthProbe:
    """GET /health in a loop on one keep-alive connection (its connection
    slot is taken once, so it does not count in the RSS comparison). Counts
    the requests that were sent and answered 200 while `during` was set."""

    def __init__(self, port):
        self.port = port
        self.during = threading.Event()
        self.stop_ev = threading.Event()
        self.ok_during = 0
        self.ok = 0
        self.errors = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        conn = http.client.HTTPConnection(HOST, self.port, timeout=4 * IO_TIMEOUT)
        try:
            while not self.stop_ev.is_set():
                started = self.during.is_set()
                conn.request("GET", "/health")
                r = conn.getresponse()
                body = r.read()
                if r.status != 200 or "status" not in json.loads(body):
                    self.errors.append((r.status, body[:200]))
                    return
                self.ok += 1
                if started and self.during.is_set():
                    self.ok_during += 1
                self.stop_ev.wait(0.01)
        except Exception as e:      # noqa: BLE001 - reported by the test
            self.errors.append(repr(e))
        finally:
            conn.close()

    def start(self):
        self.thread.start()
        wait_for(lambda: self.ok > 0 or self.errors, IO_TIMEOUT, what="a first /health")
        return self

    def stop(self):
        self.stop_ev.set()
        self.thread.join(4 * IO_TIMEOUT)
        assert not self.errors, f"/health failed: {self.errors}"


def flood(pub, probe, start, count, depth=64):
    """Publish count events while probe runs; the last batch waits until a
    few /health requests were answered during the flood, so the check does
    not depend on how fast either side is."""
    probe.during.set()

    def gate(i, k):
        if i + k >= start + count:
            wait_for(lambda: probe.ok_during >= 3 or probe.errors, 4 * IO_TIMEOUT,
                     what="/health answers during the flood")

    try:
        pub.publish(start, count, depth=depth, before_batch=gate)
    finally:
        probe.during.clear()
    assert not probe.errors, f"/health failed during the flood: {probe.errors}"
    assert probe.ok_during >= 3, f"only {probe.ok_during} /health answers during the flood"


def obs_server(fresh, *args):
    """A roostd with only the observability family (fewer listeners, less to
    start); args are extra flags."""
    srv = fresh(start=False, args=["--fleet.enabled=false", "--rpg.enabled=false",
                                   "--documents.enabled=false", "--agents.enabled=false",
                                   *args])
    srv.ports = {"observability": srv.ports["observability"]}
    srv.start()
    return srv


def log_matches(srv, rx):
    return [m for m in (rx.search(line) for line in srv.stderr().splitlines()) if m]


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------

# The policy under test closes a client at the default cap (1 MiB): the
# ring must hold more than that, or the ring overtakes the client first.
@pytest.mark.needs_limit(CFG_BUS_BYTES=DEFAULT_CAP + 1)
def test_stuck_client_closed_1013_normal_client_complete_rss_flat(fresh):
    """FLOOD events with a normal subscriber (warm-up, repeated until RSS is
    steady), then FLOOD more with a stuck one added: the normal subscriber
    gets every event once, in order; the stuck one gets an in-order prefix,
    the close 1013 and EOF; the log says why; /health answers throughout;
    RSS grows by no more than one connection slot."""
    srv = obs_server(fresh)
    port = srv.ports["observability"]
    probe = HealthProbe(port).start()
    normal = Sub(port).start()
    pub = Publisher(port)
    stuck = None
    try:
        # warm-up: touches the ring (a flood wraps it many times), the
        # sqlite heap and page cache, the render scratch, the publisher's, the
        # probe's and the normal client's connection slots. Repeated until a
        # flood leaves RSS where it was: sqlite's heap settles only after
        # its first WAL checkpoints (one flood of 50,000 events is enough on
        # a plain build; 10,000 on a sanitizer build is not).
        sent = 0
        rss_before = srv.rss_kib()
        for _ in range(WARMUP_MAX):
            flood(pub, probe, sent, FLOOD)
            sent += FLOOD
            normal.wait_events(sent)
            rss_prev, rss_before = rss_before, srv.rss_kib()
            if rss_before == rss_prev:
                break

        stuck = Sub(port, rcvbuf=STUCK_RCVBUF, mss=STUCK_MSS)     # never read until the end
        flood(pub, probe, sent, FLOOD)
        normal.wait_events(sent + FLOOD)
        rss_after = srv.rss_kib()
        assert srv.alive()

        # The stuck client holds one connection slot from the fixed pool
        # and one subscriber slot, and a tx buffer lent from the buffer
        # pool (it fills), plus an rx buffer while its upgrade request was
        # read (given back, but touched). All static storage that costs RSS
        # only once touched. Bound: two buffers + 2 pages (the subscriber
        # slot and page rounding). Everything else (ring, events, sqlite)
        # must not grow at all.
        bound_kib = (2 * CFG_BUF_BYTES + 2 * PAGE) // 1024
        if SANITIZED:
            bound_kib += bound_kib // 8 + 2 * PAGE // 1024     # ASan shadow of it
            # and ASan's runtime state first touched by the paths only the
            # stuck client runs (its 1013 close): +60..72 KiB measured on
            # 2026-12-06 with this build and the one before the builder
            # alike, against +24 KiB for the plain build, whose bound is
            # unchanged
            bound_kib += 48
        grew = rss_after - rss_before
        print(f"RSS {rss_before} -> {rss_after} KiB (+{grew}, bound {bound_kib})")
        assert grew <= bound_kib, (f"roostd RSS grew {grew} KiB ({rss_before} -> "
                                   f"{rss_after}) with a stuck client; bound {bound_kib} KiB")

        # the normal client: everything, once, in order, still open
        assert normal.error is None and not normal.eof
        assert normal.close_frames() == [], f"normal client closed: {normal.close_frames()}"
        assert_in_order(normal.counters(), 0, sent + FLOOD, "normal client")

        # the stuck client: an in-order prefix of the second flood, then the
        # close frame, then EOF (read long before the 30 s send deadline)
        got = assert_stuck_prefix(stuck, sent, FLOOD)
        print(f"stuck client: {len(got)} events, {stuck.bytes_in} bytes, then 1013")

        lines = log_matches(srv, BACKPRESSURE_RE)
        assert len(lines) == 1, f"expected one backpressure close in the log:\n{srv.logs()}"
        queued, cap = int(lines[0].group(2)), int(lines[0].group(3))
        print(lines[0].group(0))
        assert cap == DEFAULT_CAP and queued > cap, lines[0].group(0)
        assert log_matches(srv, LAGGED_RE) == [], srv.logs()
    finally:
        probe.stop()
        pub.close()
        normal.close()
        if stuck is not None:
            stuck.sock.close()


# The policy under test closes a client at the default cap (1 MiB): the
# ring must hold more than that, or the ring overtakes the client first.
@pytest.mark.needs_limit(CFG_BUS_BYTES=DEFAULT_CAP + 1)
def test_slow_reader_under_cap_not_closed(fresh):
    """A client that reads 4 KiB at a time with a pause after each read, and
    whose small socket buffers leave the backlog on the server, is never
    closed while its queue stays under the cap: the publisher lets it fall
    at most 3/4 of the cap behind (the server's queue is at most the bytes
    the client has not received, plus one ring wrap gap)."""
    srv = obs_server(fresh)
    port = srv.ports["observability"]
    total = 3000 if SANITIZED else 6000
    slow = Sub(port, rcvbuf=STUCK_RCVBUF, mss=STUCK_MSS, chunk=4096, delay=0.004).start()
    pub = Publisher(port, tag="slow")
    max_lag = [0]
    try:
        pub.publish(0, 1, depth=1)
        slow.wait_events(1)
        msg_len = len(slow.messages[-1][1])
        lag_cap = (DEFAULT_CAP * 3 // 4) // msg_len     # events allowed in flight
        depth = 32

        def pace(i, k):
            wait_for(lambda: i + k - slow.events <= lag_cap or slow.eof or slow.error,
                     4 * IO_TIMEOUT, what="the slow reader to catch up")
            assert not slow.eof and slow.error is None, \
                f"slow reader closed after {slow.events} events: {slow.messages[-1:]!r}"
            max_lag[0] = max(max_lag[0], i - slow.events)

        pub.publish(1, total - 1, depth=depth, before_batch=pace)
        slow.wait_events(total)
        print(f"slow reader: max lag {max_lag[0]} events x {msg_len} bytes")
        # it really was slow: the backlog went far beyond what its socket
        # buffers hold (a few tens of KiB with the clamped MSS)
        assert max_lag[0] * msg_len > 256 * 1024, \
            f"the reader never fell behind (max lag {max_lag[0]} events of {msg_len} bytes)"
        assert slow.close_frames() == [] and not slow.eof and slow.error is None
        assert_in_order(slow.counters(), 0, total, "slow client")
        assert log_matches(srv, BACKPRESSURE_RE) == [], srv.logs()
        assert log_matches(srv, LAGGED_RE) == [], srv.logs()
    finally:
        pub.close()
        slow.close()


def test_small_cap_closes_stuck_client_quickly(fresh):
    """observability.ws_max_buffer_bytes=4096 (the minimum): a stuck client is
    closed 1013 after a few events while another client goes on. Events are
    published one at a time, so the reading client's queue never holds
    more than one or two events (~450 bytes each)."""
    cap = 4096
    srv = obs_server(fresh, f"--observability.ws_max_buffer_bytes={cap}")
    port = srv.ports["observability"]
    stuck = Sub(port, rcvbuf=STUCK_RCVBUF, mss=STUCK_MSS)
    normal = Sub(port).start()
    conn = http.client.HTTPConnection(HOST, port, timeout=IO_TIMEOUT)
    limit = 1000       # ~450 KB: far more than the stuck socket's buffers hold
    try:
        def post(i):
            conn.request("POST", "/events", body=event_body(i, "small"),
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            body = r.read()
            assert r.status == 200, (r.status, body)

        i = 0
        while not log_matches(srv, BACKPRESSURE_RE):
            assert i < limit, f"stuck client not closed after {i} events:\n{srv.logs()}"
            for _ in range(10):
                post(i)
                i += 1
        closed_at = i
        print(f"small cap: stuck client closed within {closed_at} events")
        # the other client goes on
        for _ in range(200):
            post(i)
            i += 1
        normal.wait_events(i)
        assert normal.close_frames() == [] and not normal.eof and normal.error is None
        assert_in_order(normal.counters(), 0, i, "normal client")

        assert_stuck_prefix(stuck, 0, closed_at)

        lines = log_matches(srv, BACKPRESSURE_RE)
        assert len(lines) == 1, srv.logs()
        assert int(lines[0].group(3)) == cap and int(lines[0].group(2)) > cap, lines[0].group(0)
    finally:
        conn.close()
        normal.close()
        stuck.sock.close()


def test_overtaken_client_closed_1013(fresh):
    """With the cap above what the ring holds, a stuck client is not closed
    for its queue but when the ring overwrites its next event: 1013 too,
    with the "fell behind the event ring" log line; the reading client
    gets everything."""
    srv = obs_server(fresh, "--observability.ws_max_buffer_bytes=67108864")
    port = srv.ports["observability"]
    stuck = Sub(port, rcvbuf=STUCK_RCVBUF, mss=STUCK_MSS)
    normal = Sub(port).start()
    pub = Publisher(port, tag="lag")
    total = 4096 + 2000        # CFG_BUS_SLOTS events plus plenty
    try:
        pub.publish(0, total)
        normal.wait_events(total)
        wait_for(lambda: log_matches(srv, LAGGED_RE), 4 * IO_TIMEOUT,
                 what="the overtaken client's log line")
        assert normal.close_frames() == [] and not normal.eof and normal.error is None
        assert_in_order(normal.counters(), 0, total, "normal client")

        got = assert_stuck_prefix(stuck, 0, total)
        lagged = log_matches(srv, LAGGED_RE)
        print(f"overtaken: stuck client got {len(got)} events; {lagged[0].group(0)}")
        assert len(lagged) == 1 and int(lagged[0].group(2)) > 0, srv.logs()
        assert log_matches(srv, BACKPRESSURE_RE) == [], srv.logs()
    finally:
        pub.close()
        normal.close()
        stuck.sock.close()
