#!/usr/bin/env python3
"""bench/docs_list.py - GET /documents over 10,000 documents: latency of the
filtered list and roostd's resident memory before and after.

Usage: bench/docs_list.py [path/to/roostd] [--docs 10000] [--requests 2000]
                          [--seed 1]

Starts roostd (a fresh data directory), stops it and SEEDS --docs documents
straight into roost.db and <data_dir>/documents/ (tests/integration/
docseed.py: rows, tags, tag counts and files, as the server lays them out;
10,000 uploads would measure the uploads), starts it again and then, over
one keep-alive connection, asks each query --requests times after 50
warm-up requests, timing each request from its first byte sent to its
last byte read (Python's http.client: its own cost is in the numbers).

The tags follow a Zipf distribution (s = 1.1) over 200 names, 1-6 per
document (mostly 2-3): "a" is the most common (on about 50 % of the
documents), "b" the second (28 %; both on 14 %), "rare" the 150th (0.2 %);
filenames and descriptions vary in length. The measured query is the one of the brief,
GET /documents?tags=a,b (the first 100 of the documents carrying both, as
the spec's default limit), beside a few neighbours for scale.

VmRSS is read from /proc/<pid>/status after the restart (idle) and after
the last request (VmHWM: the peak). roostd's memory is static by design
(no heap after init), so what grows is the pages it touches. Measures, does
not pass or fail (bench/README.md).
"""

import argparse
import http.client
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import roostlib  # noqa: E402
from benchlib import pct  # noqa: E402
from docseed import FAM, seed_rows  # noqa: E402

QUERIES = [
    ("tags=a,b", "/documents?tags=a,b"),
    ("no filter", "/documents"),
    ("tags=a", "/documents?tags=a"),
    ("tags=a,rare", "/documents?tags=a,rare"),
    ("tags=a,b offset 900", "/documents?tags=a,b&offset=900"),
    ("filename=report", "/documents?filename=report"),
    ("tags=a,b limit 1000", "/documents?tags=a,b&limit=1000"),
    ("GET /documents/tags", "/documents/tags"),
]
EXT = [".md", ".txt", ".pdf", ".json", ".py", ".png", ".yaml", ".csv"]
WORDS = ["report", "design", "notes", "meeting", "plan", "budget", "draft", "review",
         "summary", "spec", "roadmap", "invoice", "diagram", "log", "readme"]


def vocabulary():
    names = ["a", "b"] + [f"tag-{i:03d}" for i in range(2, 200)]
    names[149] = "rare"
    weights = [1.0 / (r ** 1.1) for r in range(1, 201)]
    return names, weights


def documents(n, rng):
    names, weights = vocabulary()
    for i in range(n):
        k = rng.choices([1, 2, 3, 4, 5, 6], weights=[10, 30, 30, 15, 10, 5])[0]
        tags = []
        while len(tags) < k:
            t = rng.choices(names, weights=weights)[0]
            if t not in tags:
                tags.append(t)
        name = "-".join(rng.sample(WORDS, rng.randint(1, 3))) + f"-{i}" + rng.choice(EXT)
        desc = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 30)))
        meta = {"description": desc}
        if rng.random() < 0.3:
            meta["author"] = rng.choice(["ann", "bob", "cyd"])
        yield {"filename": name, "data": os.urandom(rng.randint(16, 256)),
               "content_type": "text/plain", "tags": tags, "metadata": meta}


def rss(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(line.split()[1])
    return out


def timed(conn, path):
    t0 = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    dt = time.perf_counter() - t0
    if r.status != 200:
        raise RuntimeError(f"{path}: {r.status} {body[:200]!r}")
    return dt, len(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("roostd", nargs="?", default=None)
    ap.add_argument("--docs", type=int, default=10000)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.roostd:
        os.environ["ROOSTD"] = os.path.abspath(args.roostd)
    roostlib.raise_nofile()
    work = tempfile.mkdtemp(prefix="roost-docs-bench-")
    srv = roostlib.Server(work)
    try:
        srv.start()
        srv.stop()
        t0 = time.monotonic()
        con = sqlite3.connect(os.path.join(srv.data_dir, "roost.db"))
        with con:
            seed_rows(con, srv.data_dir, documents(args.docs, random.Random(args.seed)))
        both = con.execute("SELECT count(*) FROM doc_tags x JOIN doc_tags y ON x.doc = y.doc"
                           " WHERE x.tag = 'a' AND y.tag = 'b'").fetchone()[0]
        counts = dict(con.execute("SELECT tag, n FROM doc_tag_counts WHERE tag IN"
                                  " ('a', 'b', 'rare')").fetchall())
        con.close()
        seeded = time.monotonic() - t0
        srv.start()
        before = rss(srv.pid)
        conn = http.client.HTTPConnection("127.0.0.1", srv.ports[FAM], timeout=30)
        print(f"roostd {srv.binary}")
        print(f"{args.docs} documents seeded in {seeded:.1f} s: a on {counts.get('a')}, "
              f"b on {counts.get('b')}, both on {both}, rare on {counts.get('rare')}")
        print(f"VmRSS idle after start: {before['VmRSS']} KiB")
        print(f"{'query':24} {'bytes':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for label, path in QUERIES:
            for _ in range(50):
                timed(conn, path)
            times = []
            size = 0
            for _ in range(args.requests):
                dt, size = timed(conn, path)
                times.append(dt * 1000.0)
            print(f"{label:24} {size:8d} {pct(times, 50):8.2f} {pct(times, 99):8.2f} "
                  f"{max(times):8.2f}")
        conn.close()
        after = rss(srv.pid)
        print(f"VmRSS after: {after['VmRSS']} KiB (peak VmHWM {after['VmHWM']} KiB)")
        srv.stop()
    finally:
        if srv.alive():
            srv.kill9()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
