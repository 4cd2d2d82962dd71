#!/usr/bin/env python3
"""bench/idle_conns.py - what idle keep-alive connections cost roostd.

Usage: bench/idle_conns.py [path/to/roostd] [--conns 1500] [--requests 2000]
                           [--no-cap]

Starts roostd with its default profile (all five families, no LLM providers)
on free ports of 127.0.0.1 with a throw-away data dir, and raises this
process's RLIMIT_NOFILE (roostd inherits it) so thousands of sockets work.
Then:

1. reads VmRSS of the fresh process (`VmRSS idle`: default profile, no
   providers, nothing served yet);
2. times one client's GET /health, --requests times (after 200 unmeasured
   ones) on one fresh keep-alive connection, with no other connection open;
3. reads VmRSS (`before`), opens --conns keep-alive connections to the fleet
   port, sends one GET /health on each and reads its answer, and leaves them
   idle; reads VmRSS again (`after`);
4. times GET /health again the same way on a fresh connection while they are
   held, and counts how many of them the server still keeps open (a
   non-blocking recv returning b'' means the server closed it).

roostd's connection pool (the slot count of the `conns` line of
`roostd --budget`) bounds what can be held: past it, roostd closes idle
keep-alive connections to make room. So by default at most pool - 1 are
opened (one slot stays free for the timing client); --no-cap opens all of
--conns anyway and the survivors are counted.

Measures, does not pass or fail (bench/README.md). The client shares the
machine with roostd: compare numbers only between runs on the same host.
"""

import argparse
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import roostlib  # noqa: E402
from benchlib import pct  # noqa: E402

REQ = b"GET /health HTTP/1.1\r\nHost: bench\r\n\r\n"
WARMUP = 200


def status_kib(pid, keys):
    """Fields of /proc/<pid>/status in KiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in keys:
                out[k] = int(v.split()[0])
    return out


def us(x):
    return f"{x * 1e6:.0f} us" if x == x else "-"


def pool_size(binary):
    """Connection slots from `roostd --budget` (the `conns` line)."""
    out = subprocess.run([binary, "--budget"], capture_output=True, text=True,
                         timeout=10, env=roostlib.clean_env()).stdout
    m = re.search(r"^conns\s+(\d+)\s+x", out, re.M)
    if not m:
        sys.exit(f"idle_conns: no `conns` line in {binary} --budget:\n{out}")
    return int(m.group(1))


def read_response(sock, buf):
    """One response off a keep-alive socket: (status, leftover bytes)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response head")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    status = int(head[9:12])
    m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
    if not m:
        raise ConnectionError(f"no Content-Length in {head[:200]!r}")
    n = int(m.group(1))
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in a response body")
        rest += chunk
    return status, rest[n:]


def health_latencies(port, count):
    """count timed GET /health on one fresh keep-alive connection (after
    WARMUP untimed ones): (latencies in s, non-200 count)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    lat, bad, buf = [], 0, b""
    try:
        for i in range(WARMUP + count):
            t0 = time.perf_counter()
            s.sendall(REQ)
            status, buf = read_response(s, buf)
            t1 = time.perf_counter()
            if status != 200:
                bad += 1
            if i >= WARMUP:
                lat.append(t1 - t0)
    finally:
        s.close()
    return lat, bad


def open_idle(port, n):
    """n keep-alive connections, each after one answered GET /health.
    Returns (sockets, failures)."""
    socks, failed = [], 0
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(REQ)
            status, rest = read_response(s, b"")
            if status != 200 or rest:
                failed += 1
        except OSError:
            failed += 1
            continue
        socks.append(s)
    return socks, failed


def still_open(socks):
    """How many the server has not closed (non-blocking recv: b'' or a
    reset means closed; nothing to read means open)."""
    n = 0
    for s in socks:
        s.setblocking(False)
        try:
            data = s.recv(1)
        except BlockingIOError:
            n += 1
            continue
        except OSError:
            continue
        finally:
            s.setblocking(True)
        if data:
            n += 1                  # unexpected bytes, but the connection is open
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("roostd", nargs="?", default=os.path.join(HERE, "..", "build", "roostd"))
    ap.add_argument("--conns", type=int, default=int(os.environ.get("CONNS", 1500)),
                    help="idle keep-alive connections to hold (default 1500)")
    ap.add_argument("--requests", type=int, default=int(os.environ.get("REQUESTS", 2000)),
                    help="timed GET /health per latency run (default 2000)")
    ap.add_argument("--no-cap", action="store_true",
                    help="open all --conns even past the connection pool")
    a = ap.parse_args()
    binary = os.path.abspath(a.roostd)
    if not os.access(binary, os.X_OK):
        sys.exit(f"idle_conns: {binary} is not an executable")

    nofile = roostlib.raise_nofile()
    pool = pool_size(binary)
    n = a.conns if a.no_cap else min(a.conns, pool - 1)
    if nofile < n + 100:
        sys.exit(f"idle_conns: RLIMIT_NOFILE is {nofile}, need {n + 100} (raise the hard limit)")

    work = tempfile.mkdtemp(prefix="roost-idle-")
    srv = roostlib.Server(work, binary=binary)
    srv.start()
    socks = []
    try:
        ver = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
        print(f"roostd: {binary} ({ver.strip()})")
        cpu = ""
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        print(f"host:   {platform.system()} {platform.release()} {platform.machine()}, "
              f"{os.cpu_count()} CPU(s), {cpu}")
        print(f"pool:   {pool} connection slots (roostd --budget); holding {n} of "
              f"{a.conns} requested{'' if a.no_cap or n == a.conns else ' (capped at pool - 1)'}"
              f"; RLIMIT_NOFILE {nofile}")
        port = srv.ports["fleet"]

        time.sleep(0.5)
        rss_idle = srv.rss_kib()
        parts = status_kib(srv.pid, ("RssAnon", "RssFile", "RssShmem"))
        print(f"VmRSS idle (fresh, no providers): {rss_idle} KiB = RssAnon {parts['RssAnon']} "
              f"(roost's own memory) + RssFile {parts['RssFile']} (code of roostd, libc and "
              f"ld.so, shared with the page cache) + RssShmem {parts['RssShmem']} (sqlite's "
              f"WAL index)")

        lat0, bad0 = health_latencies(port, a.requests)

        rss0 = srv.rss_kib()
        t = time.monotonic()
        socks, failed = open_idle(port, n)
        t_open = time.monotonic() - t
        time.sleep(0.5)
        rss1 = srv.rss_kib()
        open1 = still_open(socks)

        latn, badn = health_latencies(port, a.requests)
        open2 = still_open(socks)

        grow = rss1 - rss0
        per = grow / open1 if open1 else float("nan")
        print(f"idle:   opened {len(socks)} in {t_open:.1f} s ({failed} failed); still open "
              f"{open1} after the RSS read, {open2} after the second timing run")
        print(f"VmRSS:  {rss0} KiB before, {rss1} KiB with {open1} idle: growth {grow} KiB, "
              f"{per:.2f} KiB per connection")
        p50_0, p99_0 = pct(lat0, 50), pct(lat0, 99)
        p50_n, p99_n = pct(latn, 50), pct(latn, 99)
        print(f"GET /health {a.requests} requests, 1 client:   0 idle: p50 {us(p50_0)} "
              f"p99 {us(p99_0)}; non-200 {bad0}")
        print(f"GET /health {a.requests} requests, 1 client: {open1:>3} idle: p50 {us(p50_n)} "
              f"p99 {us(p99_n)}; non-200 {badn}")
        print(f"ratio (with {open1} idle / with none): p50 {p50_n / p50_0:.2f}x, "
              f"p99 {p99_n / p99_0:.2f}x")
    finally:
        for s in socks:
            s.close()
        try:
            srv.stop()
        finally:
            import shutil
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
