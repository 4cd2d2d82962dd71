"""Observability events in bursts: many connections, each with its requests
pipelined, sent at once; the answers read back per connection. For the
turn's batch (test_obs_batch.py, tests/fault/test_obs_batch.py) and
bench/obs_events.py. Standard library only.

A burst answer per request is (status, body bytes), or None when the
connection closed before that answer (no answer at all: the batch that
held it was not committed, or the server died).
"""

import json
import selectors
import socket
import time
import urllib.parse

from roostlib import IO_TIMEOUT, SLOW
from roostlib import HOST

FAM = "observability"
TS = "2025-11-25T10:00:00.000001+00:00"


def event(session, n, event_type="pre_tool", **kw):
    """A valid event whose tool_input carries its tag n."""
    body = {"event_type": event_type, "session_id": session, "session_name": session,
            "timestamp": TS, "tool_name": "Read", "tool_input": {"n": n}}
    body.update(kw)
    return body


def post_bytes(body):
    """The bytes of POST /events; body is a dict (sent as JSON) or bytes."""
    data = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    return (b"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(data), data))


def parse_responses(buf):
    """Whole responses at the start of buf: ([(status, body)], bytes used)."""
    out = []
    pos = 0
    while True:
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0:
            break
        head = bytes(buf[pos:end]).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if len(buf) < end + 4 + length:
            break
        out.append((status, bytes(buf[end + 4:end + 4 + length])))
        pos = end + 4 + length
    return out, pos


class Burst:
    """Connections opened first, then every request of every connection
    sent at once, then the answers read until each connection has all of
    its answers or was closed."""

    def __init__(self, port, per_conn, timeout=IO_TIMEOUT * SLOW):
        self.port = port
        self.per_conn = per_conn
        self.timeout = timeout
        self.socks = []

    def run(self):
        for _ in self.per_conn:
            s = socket.create_connection((HOST, self.port), timeout=self.timeout)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.socks.append(s)
        for s, reqs in zip(self.socks, self.per_conn):
            s.sendall(b"".join(post_bytes(r) for r in reqs))
        return self.collect()

    def collect(self):
        answers = [[] for _ in self.per_conn]
        bufs = [bytearray() for _ in self.per_conn]
        sel = selectors.DefaultSelector()
        for i, s in enumerate(self.socks):
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, i)
        open_ = len(self.socks)
        deadline = time.monotonic() + self.timeout
        while open_ > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"burst: {open_} connection(s) still waiting for answers")
            for key, _ in sel.select(left):
                i = key.data
                try:
                    chunk = self.socks[i].recv(65536)
                except (ConnectionResetError, BrokenPipeError):
                    chunk = b""
                if chunk:
                    bufs[i] += chunk
                    got, used = parse_responses(bufs[i])
                    del bufs[i][:used]
                    answers[i].extend(got)
                if not chunk or len(answers[i]) == len(self.per_conn[i]):
                    sel.unregister(self.socks[i])
                    open_ -= 1
        sel.close()
        for s in self.socks:
            s.close()
        return [a + [None] * (len(reqs) - len(a)) for a, reqs in zip(answers, self.per_conn)]


def burst(port, per_conn, timeout=IO_TIMEOUT * SLOW):
    return Burst(port, per_conn, timeout).run()


def stored_tags(srv, session):
    """The tags (tool_input n) of the session's stored events, in the order
    GET /events lists them (timestamp, then id: all share one timestamp
    here, so the order they were committed in)."""
    tags = []
    while True:
        r = srv.request(FAM, "GET", f"/events/{urllib.parse.quote(session, safe='')}"
                        f"?limit=1000&offset={len(tags)}")
        if r.status == 404:
            return tags
        assert r.status == 200, r
        evs = r.json()["events"]
        tags.extend((e.get("tool_input") or {}).get("n") for e in evs)
        if len(evs) < 1000:
            return tags


def ws_events_until(ws, session, marker, timeout=IO_TIMEOUT * SLOW):
    """Tags of the `event` messages of session a /ws client receives, in
    order, up to and including the one tagged marker."""
    tags = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"/ws: no event {marker} after {tags[-5:]}"
        m = ws.recv_json(timeout=left)
        if m.get("type") != "event" or m["data"]["session_id"] != session:
            continue
        n = (m["data"].get("tool_input") or {}).get("n")
        tags.append(n)
        if n == marker:
            return tags
