#!/usr/bin/env python3
"""bench/ws_flood.py - the measuring half of bench/ws_flood.sh.

Against a running roostd (observability listener on --port, process --pid):
  1. a /health prober process measures idle GET /health latency (1 s);
  2. a warm-up flood of --events with no subscriber touches the ring, the
     sqlite heap and the render scratch (--warmup 0 skips it);
  3. a reader process opens --subs normal /ws subscribers and one stuck one
     (MSS 536, SO_RCVBUF 4096, never read until the end);
  4. this process publishes --events POST /events, pipelined --depth deep on
     one keep-alive connection (one connection keeps the publish order),
     while the prober measures GET /health latency again;
  5. the readers keep reading until every subscriber has been quiet for a
     second, then check each subscriber got every event once and in order,
     and read the stuck subscriber to its end.
The prober sends one request, waits for the answer, pauses 1 ms, and so on:
a probe, not a load of its own.
Prints one line per measurement. Standard library only (the WebSocket
client is tests/integration/wslib.py); three processes so the client side's
GIL does not serialise publisher, readers and prober.
"""

import argparse
import json
import multiprocessing as mp
import os
import re
import selectors
import socket
import struct
import sys
import time

# The WebSocket client (handshake, frame parsing) is the integration tests'.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from wslib import OP_CLOSE, messages_of, open_socket, parse_frames  # noqa: E402

QUIET_S = 1.0


def event_request(i):
    body = json.dumps({
        "event_type": "pre_tool", "session_id": "bench-session", "session_name": "bench",
        "timestamp": "2025-11-25T10:11:10.000000+00:00", "tool_name": "Read",
        "tool_input": {"n": i, "pad": "x" * 120},
    }, separators=(",", ":")).encode()
    return (b"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


def ws_open(port, rcvbuf=None, mss=None):
    """An upgraded /ws socket and the bytes that came after the 101 head."""
    s, rest = open_socket(port, rcvbuf=rcvbuf, mss=mss, timeout=10)
    return s, bytearray(rest)


def parse_messages(buf):
    """Whole messages of a server byte stream (fragments joined, pings and
    pongs left out, close frames included), and the bytes after the last
    whole frame."""
    frames, rest = parse_frames(buf)
    return messages_of(frames), rest


def counters_of(msgs):
    """tool_input.n of the event messages after init, and the close frame."""
    ns, close = [], None
    for m in msgs[1:]:
        if m.opcode == OP_CLOSE:
            close = m.payload
            continue
        ns.append(json.loads(m.payload)["data"]["tool_input"]["n"])
    return ns, close


def read_response(sock, buf, what):
    """One HTTP response off sock (buf: what was read before): (status
    200?, the bytes after the response)."""
    while True:
        h = buf.find(b"\r\n\r\n")
        if h >= 0:
            m = re.search(rb"\r\ncontent-length: *(\d+)", buf[:h], re.I)
            e = h + 4 + int(m.group(1))
            if len(buf) >= e:
                return buf.startswith(b"HTTP/1.1 200 "), buf[e:]
        d = sock.recv(1 << 16)
        if not d:
            raise SystemExit(f"ws_flood: {what} connection closed")
        buf += d


def percentile(sorted_xs, q):
    if not sorted_xs:
        return float("nan")
    k = min(len(sorted_xs) - 1, max(0, int(round(q * (len(sorted_xs) - 1)))))
    return sorted_xs[k]


# ---- processes -------------------------------------------------------------

def prober(port, pipe):
    """GET /health on one keep-alive connection in a closed loop; answers
    each ("run", seconds or None) with latencies: None runs until "stop"."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    req = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    buf = b""
    while True:
        cmd = pipe.recv()
        if cmd[0] == "exit":
            return
        lat, bad = [], 0
        end = None if cmd[1] is None else time.monotonic() + cmd[1]
        while True:
            if end is not None and time.monotonic() >= end:
                break
            if end is None and pipe.poll():
                pipe.recv()
                break
            t = time.perf_counter_ns()
            s.sendall(req)
            ok, buf = read_response(s, buf, "/health")
            bad += not ok
            lat.append((time.perf_counter_ns() - t) / 1000.0)
            time.sleep(0.001)
        pipe.send((lat, bad))


def readers(port, nsubs, pipe):
    subs = [ws_open(port) for _ in range(nsubs)]
    stuck, stuck_buf = ws_open(port, rcvbuf=4096, mss=536)
    pipe.send("ready")
    sel = selectors.DefaultSelector()
    bufs = [b for _, b in subs]
    last = [0.0] * nsubs
    eof = [False] * nsubs
    for i, (s, _) in enumerate(subs):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
    published = False
    while True:
        for key, _ in sel.select(timeout=0.1):
            i = key.data
            try:
                d = key.fileobj.recv(1 << 20)
            except BlockingIOError:
                continue
            if not d:
                eof[i] = True
                sel.unregister(key.fileobj)
                continue
            bufs[i] += d
            last[i] = time.monotonic()
        if not published and pipe.poll():
            pipe.recv()
            published = True
        if published and time.monotonic() - max(last) >= QUIET_S:
            break
    results = []
    for i in range(nsubs):
        msgs, tail = parse_messages(bufs[i])
        ns, close = counters_of(msgs)
        results.append({"events": len(ns), "in_order": ns == list(range(len(ns))),
                        "unique": len(set(ns)), "close": close, "eof": eof[i],
                        "last": last[i], "bytes": len(bufs[i]),
                        "msg_bytes": (len(msgs[-1].payload) if len(msgs) > 1 else 0)})
        subs[i][0].close()
    # the stuck subscriber, read only now
    stuck.settimeout(10)
    got_eof, reset = False, False
    while True:
        try:
            d = stuck.recv(1 << 16)
        except ConnectionResetError:
            reset = True
            break
        except socket.timeout:
            break
        if not d:
            got_eof = True
            break
        stuck_buf += d
    msgs, tail = parse_messages(stuck_buf)
    ns, close = counters_of(msgs)
    stuck_res = {"events": len(ns), "in_order": ns == list(range(len(ns))), "close": close,
                 "eof": got_eof, "reset": reset, "tail": len(tail), "bytes": len(stuck_buf)}
    stuck.close()
    pipe.send((results, stuck_res))


# ---- main ------------------------------------------------------------------

def publish(pub, first, count, depth):
    """POST events first..first+count-1, depth per write; non-200 answers."""
    rb, not_ok = b"", 0
    for i in range(first, first + count, depth):
        k = min(depth, first + count - i)
        pub.sendall(b"".join(event_request(j) for j in range(i, i + k)))
        for _ in range(k):
            ok, rb = read_response(pub, rb, "publisher")
            not_ok += not ok
    return not_ok


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def fmt_us(us):
    return f"{us / 1000.0:.2f} ms" if us >= 1000 else f"{us:.0f} us"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--events", type=int, default=50000)
    ap.add_argument("--subs", type=int, default=10)
    ap.add_argument("--depth", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=1)
    a = ap.parse_args()
    ctx = mp.get_context("fork")

    pr_parent, pr_child = ctx.Pipe()
    prob = ctx.Process(target=prober, args=(a.port, pr_child), daemon=True)
    prob.start()
    pr_parent.send(("run", 1.0))
    idle_lat, idle_bad = pr_parent.recv()
    idle_lat.sort()

    pub = socket.create_connection(("127.0.0.1", a.port))
    pub.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rss_fresh = rss_kib(a.pid)
    if a.warmup:
        publish(pub, 0, a.events, a.depth)
    rss_warm = rss_kib(a.pid)

    rd_parent, rd_child = ctx.Pipe()
    rd = ctx.Process(target=readers, args=(a.port, a.subs, rd_child), daemon=True)
    rd.start()
    if rd_parent.recv() != "ready":
        raise SystemExit("ws_flood: readers failed")
    rss_before = rss_kib(a.pid)

    pr_parent.send(("run", None))
    t0 = time.monotonic()
    not_ok = publish(pub, 0, a.events, a.depth)
    t1 = time.monotonic()
    pr_parent.send(("stop",))
    flood_lat, flood_bad = pr_parent.recv()
    flood_lat.sort()
    rd_parent.send("published")
    results, stuck = rd_parent.recv()
    rss_after = rss_kib(a.pid)
    pr_parent.send(("exit",))
    pub.close()
    rd.join(5)
    prob.join(5)

    n = a.events
    pub_s = t1 - t0
    print(f"publish       {n} events in {pub_s:.2f} s: {n / pub_s:,.0f} events/s "
          f"(POST /events pipelined {a.depth} deep on 1 connection; non-200: {not_ok})")
    complete = [r for r in results if r["events"] == n and r["in_order"] and r["close"] is None]
    last = max(r["last"] for r in results)
    msg_bytes = max(r["msg_bytes"] for r in results)
    print(f"delivery      {len(complete)}/{len(results)} subscribers complete "
          f"({n} events each, {msg_bytes}-byte messages); last byte {last - t0:.2f} s after "
          f"the first POST: {n * len(results) / (last - t0):,.0f} messages/s delivered")
    for k, r in enumerate(results):
        if r not in complete:
            print(f"  subscriber {k}: {r['events']} events, in order {r['in_order']}, "
                  f"unique {r['unique']}, close {r['close']!r}, eof {r['eof']}")
    code = (struct.unpack(">H", stuck["close"][:2])[0]
            if stuck["close"] and len(stuck["close"]) >= 2 else None)
    reason = stuck["close"][2:].decode("utf-8", "replace") if stuck["close"] else ""
    end = "EOF" if stuck["eof"] else ("reset" if stuck["reset"] else "still open")
    print(f"stuck client  {stuck['events']} events ({stuck['bytes']} bytes, in order "
          f"{stuck['in_order']}), then close {code} \"{reason}\", {end}")
    print(f"GET /health   idle: {len(idle_lat)} requests, p50 {fmt_us(percentile(idle_lat, .5))}"
          f" p99 {fmt_us(percentile(idle_lat, .99))}")
    print(f"GET /health   during the flood: {len(flood_lat)} requests, "
          f"p50 {fmt_us(percentile(flood_lat, .5))} p99 {fmt_us(percentile(flood_lat, .99))} "
          f"max {fmt_us(flood_lat[-1] if flood_lat else float('nan'))}; "
          f"non-200: {idle_bad + flood_bad}")
    print(f"roostd VmRSS: {rss_fresh} KiB fresh, {rss_warm} KiB after the warm-up flood, "
          f"{rss_before} KiB with the subscribers attached, {rss_after} KiB after the flood")


if __name__ == "__main__":
    main()
