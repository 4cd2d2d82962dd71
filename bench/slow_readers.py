#!/usr/bin/env python3
"""bench/slow_readers.py - slow readers of a big answer against everyone else.

Usage: bench/slow_readers.py [path/to/roostd] [--readers 64] [--rate 1024]
                             [--duration 20] [--baseline 3] [--mib 3]

Starts roostd with its default profile (all five families, no LLM
providers) on free ports of 127.0.0.1 with a throw-away data dir, creates a
bot through the fleet API (key from <data>/api_key) and grows its soul
versions (PUT /api/v1/bots/{slug}/soul, 96 KiB of distinct content each)
until GET /api/v1/bots/{slug}/soul/versions answers more than --mib MiB.

1. baseline: for --baseline s, with nothing else going on, one client process
   loops over GET /health, GET /api/v1/bots/{slug} and GET /api/v1/bots (one
   keep-alive connection per endpoint), recording status codes and latencies;
2. slow readers: a second process opens --readers connections with SO_RCVBUF
   4096 (set before connect), sends GET .../soul/versions on each and reads
   each at --rate bytes/s or slower;
3. after 1 s, the client process loops again for --duration s;
4. then the readers read as fast as they can (at most --drain s), and each
   answer is checked: status, complete body, valid JSON holding every version.

Readers and clients are separate processes (the GIL would otherwise
serialise them). Prints the clients' non-200 answers (503s) and p50/p99 of
their 200s per endpoint and together, the readers' outcomes, and VmRSS fresh,
after the setup, at its peak during the run and at the end.

Measures, does not pass or fail (bench/README.md). Clients, readers and
roostd share the machine: compare numbers only between runs on the same host.
"""

import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import roostlib  # noqa: E402
from benchlib import pct  # noqa: E402
from test_lent_buffers import (Incoming, drain, grow_versions, recv_into,  # noqa: E402
                               slow_reader_socket)

API = "/api/v1"


def ms(x):
    return f"{x * 1000:.2f} ms" if x == x else "-"


def clients_process(conn, port, endpoints, seconds):
    """Loop over endpoints for `seconds` on one keep-alive connection each;
    send back {path: (Counter of statuses, [latency of each 200])}."""
    conns = {p: http.client.HTTPConnection("127.0.0.1", port, timeout=10) for p, _ in endpoints}
    res = {p: (Counter(), []) for p, _ in endpoints}
    end = time.monotonic() + seconds
    try:
        for _ in range(10_000_000):
            if time.monotonic() >= end:
                break
            for p, h in endpoints:
                c = conns[p]
                t0 = time.perf_counter()
                try:
                    c.request("GET", p, headers=h)
                    r = c.getresponse()
                    r.read()
                    st = r.status
                except (OSError, http.client.HTTPException) as e:
                    st = type(e).__name__
                    c.close()
                dt = time.perf_counter() - t0
                res[p][0][st] += 1
                if st == 200:
                    res[p][1].append(dt)
    finally:
        for c in conns.values():
            c.close()
    conn.send(res)
    conn.close()


def readers_process(conn, port, path, key, n, rate, rcvbuf, max_seconds, drain_s, versions):
    """n slow readers: paced until told (or max_seconds), then drained and
    checked. Sends ("started", connect errors), then the results."""
    socks, resps, errors = [], [], 0
    try:
        for _ in range(n):
            try:
                socks.append(slow_reader_socket(port, path, key, rcvbuf))
                resps.append(Incoming())
            except OSError:
                errors += 1
        conn.send(("started", errors))
        tick = 0.1
        per = max(1, int(rate * tick))
        live = set(range(len(socks)))
        t_start = time.monotonic()
        end = t_start + max_seconds
        while time.monotonic() < end and not conn.poll(tick):
            for i in list(live):
                if not recv_into(socks[i], resps[i], per) or resps[i].done:
                    live.discard(i)
        slow_s = time.monotonic() - t_start
        slow_bytes = [r.received for r in resps]
        t = time.monotonic()
        drain(socks, resps, drain_s, quiet=10.0)
        drain_s_used = time.monotonic() - t
    finally:
        for s in socks:
            s.close()
    outcome, statuses = Counter(), Counter(r.status for r in resps)
    for r in resps:
        if r.error or not r.done:
            outcome[f"incomplete ({r.error or 'no more bytes came'})"] += 1
        elif r.status != 200:
            outcome[f"answered {r.status}"] += 1
        else:
            try:
                got = json.loads(bytes(r.body))["data"]
                ok = len(got) == versions and [v["version"] for v in got] == \
                    list(range(1, versions + 1))
            except (ValueError, KeyError, TypeError):
                ok = False
            outcome["complete, valid JSON" if ok else "200 but wrong body"] += 1
    conn.send({"outcome": outcome, "statuses": statuses, "slow_s": slow_s,
               "slow_bytes": slow_bytes, "drain_s": drain_s_used, "errors": errors})
    conn.close()


def run_clients(port, endpoints, seconds, srv=None):
    """The client process for `seconds`; samples VmRSS meanwhile (if srv)."""
    parent, child = mp.Pipe()
    p = mp.Process(target=clients_process, args=(child, port, endpoints, seconds))
    p.start()
    peak = 0
    deadline = time.monotonic() + seconds + 60
    while time.monotonic() < deadline and not parent.poll(0.5):
        if srv is not None and srv.alive():
            peak = max(peak, srv.rss_kib())
    if not parent.poll(0):
        p.terminate()
        p.join(5)
        sys.exit("slow_readers: the client process did not finish")
    res = parent.recv()
    p.join(10)
    return res, peak


def report(label, res):
    allok, bad = [], Counter()
    print(label)
    for path, (sts, lat) in res.items():
        nb = {k: v for k, v in sts.items() if k != 200}
        bad.update(nb)
        allok += lat
        print(f"  GET {path:<44} {sum(sts.values()):>7} requests, non-200 "
              f"{sum(nb.values()):>6} {dict(nb) if nb else ''}; 200s p50 {ms(pct(lat, 50))} "
              f"p99 {ms(pct(lat, 99))}")
    total = sum(sum(sts.values()) for sts, _ in res.values())
    print(f"  all: {total} requests, non-200 {sum(bad.values())} "
          f"({100.0 * sum(bad.values()) / max(1, total):.1f} %; 503: {bad.get(503, 0)}); "
          f"200s p50 {ms(pct(allok, 50))} p99 {ms(pct(allok, 99))}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("roostd", nargs="?", default=os.path.join(HERE, "..", "build", "roostd"))
    ap.add_argument("--readers", type=int, default=int(os.environ.get("READERS", 64)))
    ap.add_argument("--rate", type=int, default=int(os.environ.get("RATE", 1024)),
                    help="bytes/s each slow reader reads, at most (default 1024)")
    ap.add_argument("--rcvbuf", type=int, default=4096, help="readers' SO_RCVBUF")
    ap.add_argument("--duration", type=float, default=float(os.environ.get("DURATION", 20)),
                    help="seconds the clients run with the readers attached (default 20)")
    ap.add_argument("--baseline", type=float, default=3.0,
                    help="seconds of the clients alone first (default 3; 0: none)")
    ap.add_argument("--mib", type=float, default=3.0,
                    help="soul/versions answer larger than this many MiB (default 3)")
    ap.add_argument("--drain", type=float, default=60.0,
                    help="at most this many seconds for the readers' final fast read")
    a = ap.parse_args()
    binary = os.path.abspath(a.roostd)
    if not os.access(binary, os.X_OK):
        sys.exit(f"slow_readers: {binary} is not an executable")
    roostlib.raise_nofile()

    work = tempfile.mkdtemp(prefix="roost-slow-")
    srv = roostlib.Server(work, binary=binary)
    srv.start()
    try:
        ver = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
        print(f"roostd: {binary} ({ver.strip()})")
        print(f"host:   {platform.system()} {platform.release()} {platform.machine()}, "
              f"{os.cpu_count()} CPU(s)")
        time.sleep(0.5)
        rss_fresh = srv.rss_kib()
        port, key = srv.ports["fleet"], srv.api_key()
        hk = {"X-API-Key": key, "Content-Type": "application/json"}
        r = roostlib.request(port, "POST", f"{API}/bots", headers=hk,
                             body=json.dumps({"name": "Slow Reader Target"}).encode())
        if r.status != 200:
            sys.exit(f"slow_readers: create bot: {r!r}")
        slug = r.json()["data"]["slug"]
        t = time.monotonic()
        body = grow_versions(port, key, slug, min_bytes=int(a.mib * 1024 * 1024),
                             max_puts=int(a.mib * 1024 / 96) + 40, timeout=30)
        versions = len(json.loads(body)["data"])
        rss_setup = srv.rss_kib()
        print(f"setup:  bot {slug}: soul/versions {len(body)} bytes, {versions} versions "
              f"({time.monotonic() - t:.1f} s)")

        endpoints = [("/health", {}), (f"{API}/bots/{slug}", {"X-API-Key": key}),
                     (f"{API}/bots", {"X-API-Key": key})]
        if a.baseline > 0:
            res0, _ = run_clients(port, endpoints, a.baseline)
            report(f"clients alone, {a.baseline:g} s:", res0)

        path = f"{API}/bots/{slug}/soul/versions"
        parent, child = mp.Pipe()
        rp = mp.Process(target=readers_process,
                        args=(child, port, path, key, a.readers, a.rate, a.rcvbuf,
                              a.duration + 30, a.drain, versions))
        rp.start()
        try:
            if not parent.poll(30):
                sys.exit("slow_readers: the readers did not start")
            _, conn_errors = parent.recv()
            time.sleep(1.0)
            res1, peak = run_clients(port, endpoints, a.duration, srv)
            report(f"clients with {a.readers} slow readers (SO_RCVBUF {a.rcvbuf}, "
                   f"{a.rate} B/s), {a.duration:g} s:", res1)
            parent.send("drain")
            if not parent.poll(a.drain + 30):
                sys.exit("slow_readers: the readers did not finish")
            rr = parent.recv()
        finally:
            rp.join(10)
            if rp.is_alive():
                rp.terminate()
                rp.join(5)
        sb = rr["slow_bytes"]
        print(f"slow readers: {a.readers} ({conn_errors} failed to connect); answers "
              f"{dict(rr['statuses'])}; read {min(sb)}..{max(sb)} bytes each in the "
              f"{rr['slow_s']:.1f} s slow phase")
        print(f"  final fast read ({rr['drain_s']:.1f} s): {dict(rr['outcome'])}")
        rss_after = srv.rss_kib()
        print(f"VmRSS:  {rss_fresh} KiB fresh, {rss_setup} after the setup, peak {peak} "
              f"with the readers, {rss_after} after")
    finally:
        try:
            srv.stop()
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
