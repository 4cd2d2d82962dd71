#!/usr/bin/env python3
"""bench/rpg_xp.py - GET /api/xp/timeline and /api/xp/summary over an XP
ledger of 1,000,000 rows beside one of 10,000: latency, roostd's memory,
and the answers checked against GROUP BY queries over the ledger (spec
rpg.md §4.8); the same GROUP BY queries timed on the file beside them (what
the running sums save).

Usage: bench/rpg_xp.py [path/to/roostd] [--rows 10000,1000000] [--personas 50]
                       [--projects 10] [--days 400] [--requests 200]
                       [--seed 1]

For each ledger size of --rows, in a fresh data directory: roostd runs
with only the rpg family, TZ=UTC (the timeline counts local
dates: UTC keeps the bench's own date arithmetic simple) and a private,
empty TMUX_TMPDIR (no tmux server: an empty state). It starts once to
create its database (<data_dir>/roost.db, tests/integration/roostlib.py's
layout) and stops (the store holds an exclusive lock while it runs). The
bench then writes straight into the file with Python's sqlite3, in one
transaction:

  - --personas personas and --projects projects (rpg_personas,
    rpg_projects), their total_xp and level from the rows below;
  - that many ledger rows (rpg_xp) in time order over the last --days days:
    event types tool:Read 40 %, tool:Edit 20 %, tool:Bash 20 %, tool:Write
    5 %, tool:Grep 5 %, git:commit 4 %, git:push 2 %, quest:created 1 %,
    quest:phase_completed 2 %, bench:other 1 %, each with its spec value
    (§8.1), tool rows with their metadata; persona and project drawn from
    Zipf(1) weights, so the first persona has about 22 % of the rows and
    the first project about 34 %; quest rows have no persona (§8.1);
  - their running sums, as an award keeps them (src/fam/rpg/xp.c):
    rpg_xp_days (kind 0 persona / 1 project, entity, day = days since the
    epoch, xp) and rpg_xp_cats (kind, entity, category, total, n).

Then it restarts roostd, reads VmRSS, and over one keep-alive connection
(Python's http.client; each request timed from its first byte sent to
the last byte of the answer, the client's own cost included) asks, after
20 untimed requests each, --requests times: the timeline for days=30 and
days=365 and the summary, for the first persona and for the first
project. It prints VmRSS (and VmHWM) before and after, then a table of
p50, p99 and max per query and ledger size. Every answer is compared with the ledger: the summary with
SELECT category, sum(xp), count(*) ... GROUP BY category, the timeline with
SELECT day, sum(xp) ... GROUP BY day (zeros for days without rows), both
run by Python's sqlite3 on the file before roostd restarts. After roostd
stops, those GROUP BY queries are timed on the file (best of 3: a scan of
the ledger, which has no index by persona or project), for comparison.
Measures, does not pass or fail (bench/README.md).
"""

import argparse
import http.client
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from benchlib import pct  # noqa: E402
import roostlib  # noqa: E402

DAY_MS = 86400000
MIX = [("tool:Read", 1, 40), ("tool:Edit", 3, 20), ("tool:Bash", 2, 20), ("tool:Write", 5, 5),
       ("tool:Grep", 1, 5), ("git:commit", 15, 4), ("git:push", 10, 2),
       ("quest:created", 5, 1), ("quest:phase_completed", 25, 2), ("bench:other", 1, 1)]


def category(event_type):
    for prefix, cat in (("tool:", "tool_use"), ("git:", "git"), ("quest:", "quest"),
                        ("achievement:", "achievement"), ("bonus:", "bonus")):
        if event_type.startswith(prefix):
            return cat
    return "other"


def level_of(xp):
    lv = 1
    while xp >= 50 * (lv + 1) * lv:
        lv += 1
    return lv


def vm(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def fill(db_path, nrows, args):
    """The personas, projects, ledger and running sums; returns
    (persona ids, project ids, seconds)."""
    rnd = random.Random(args.seed)
    now_ms = int(time.time() * 1000)
    t0 = time.monotonic()
    personas = [str(uuid.UUID(int=rnd.getrandbits(128), version=4))
                for _ in range(args.personas)]
    projects = [str(uuid.UUID(int=rnd.getrandbits(128), version=4))
                for _ in range(args.projects)]
    pw = [1.0 / (i + 1) for i in range(args.personas)]
    jw = [1.0 / (i + 1) for i in range(args.projects)]
    types = [m[0] for m in MIX]
    tw = [m[2] for m in MIX]
    xp_of = {m[0]: m[1] for m in MIX}
    span = args.days * DAY_MS
    stamps = sorted(now_ms - rnd.randrange(span) for _ in range(nrows))
    ev = rnd.choices(types, tw, k=nrows)
    per = rnd.choices(personas, pw, k=nrows)
    prj = rnd.choices(projects, jw, k=nrows)
    days = {}
    cats = {}
    totals = {}
    rows = []
    for i in range(nrows):
        et = ev[i]
        xp = xp_of[et]
        p = None if et.startswith("quest:") else per[i]
        j = prj[i]
        meta = None
        if et.startswith("tool:"):
            meta = json.dumps({"toolName": et[5:], "success": True,
                               "paneId": "%" + str(i % 17)}, separators=(",", ":"))
        rows.append((p, j, et, xp, meta, stamps[i]))
        d = stamps[i] // DAY_MS
        c = category(et)
        for kind, ent in ((0, p), (1, j)):
            if ent is None:
                continue
            k = (kind, ent, d)
            days[k] = days.get(k, 0) + xp
            k = (kind, ent, c)
            t = cats.get(k)
            cats[k] = (xp, 1) if t is None else (t[0] + xp, t[1] + 1)
            totals[(kind, ent)] = totals.get((kind, ent), 0) + xp
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    first_ms = stamps[0] if stamps else now_ms
    for i, pid in enumerate(personas):
        xp = totals.get((0, pid), 0)
        db.execute("INSERT INTO rpg_personas(id, session_id, name, total_xp, level, health_at, "
                   "created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (pid, f"bench-session-{i:03d}", f"Bench Persona {i:03d}", xp, level_of(xp),
                    now_ms, first_ms, now_ms - i * 1000))
    for i, jid in enumerate(projects):
        xp = totals.get((1, jid), 0)
        db.execute("INSERT INTO rpg_projects(id, path, name, github_url, total_xp, level, "
                   "created_at, last_activity_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (jid, f"/home/bench/dev/bench-org/app-{i}", f"app-{i}",
                    f"https://github.com/bench-org/app-{i}", xp, level_of(xp), first_ms,
                    now_ms - i * 1000))
    db.executemany("INSERT INTO rpg_xp(persona_id, project_id, event_type, xp, metadata, "
                   "created_at) VALUES (?, ?, ?, ?, ?, ?)", rows)
    db.executemany("INSERT INTO rpg_xp_days(kind, entity, day, xp) VALUES (?, ?, ?, ?)",
                   [(k[0], k[1], k[2], v) for k, v in days.items()])
    db.executemany("INSERT INTO rpg_xp_cats(kind, entity, category, total, n) "
                   "VALUES (?, ?, ?, ?, ?)",
                   [(k[0], k[1], k[2], v[0], v[1]) for k, v in cats.items()])
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return personas, projects, time.monotonic() - t0


SUMMARY_SQL = ("SELECT CASE WHEN event_type LIKE 'tool:%' THEN 'tool_use' "
               "WHEN event_type LIKE 'git:%' THEN 'git' WHEN event_type LIKE 'quest:%' "
               "THEN 'quest' WHEN event_type LIKE 'achievement:%' THEN 'achievement' "
               "WHEN event_type LIKE 'bonus:%' THEN 'bonus' ELSE 'other' END AS c, "
               "sum(xp), count(*) FROM rpg_xp WHERE {col} = ? GROUP BY c")
TIMELINE_SQL = ("SELECT created_at / 86400000 AS d, sum(xp) FROM rpg_xp WHERE {col} = ? "
                "AND created_at >= ? GROUP BY d")


def ledger_truth(db_path, col, ident, today):
    """The summary and the per-day sums of the last 366 days, from the
    ledger itself; with the seconds each query took."""
    db = sqlite3.connect(db_path)
    t0 = time.perf_counter()
    rows = db.execute(SUMMARY_SQL.format(col=col), (ident,)).fetchall()
    t1 = time.perf_counter()
    per_day = dict(db.execute(TIMELINE_SQL.format(col=col),
                              (ident, (today - 365) * DAY_MS)).fetchall())
    t2 = time.perf_counter()
    db.close()
    summary = sorted(({"category": c, "total": t, "count": n} for c, t, n in rows),
                     key=lambda e: (-e["total"], e["category"]))
    return summary, per_day, t1 - t0, t2 - t1


def timeline_from(per_day, today, days):
    out = []
    for d in range(today - days, today + 1):
        out.append({"date": time.strftime("%Y-%m-%d", time.gmtime(d * 86400)),
                    "xp": per_day.get(d, 0)})
    return out


def timed(conn, path, n, warm=20):
    """n timed GETs of path (after warm untimed ones): (ms list, last body)."""
    ms = []
    body = None
    for i in range(warm + n):
        t0 = time.perf_counter()
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        t1 = time.perf_counter()
        if r.status != 200:
            raise AssertionError(f"GET {path}: {r.status} {body[:200]!r}")
        if i >= warm:
            ms.append((t1 - t0) * 1000.0)
    return ms, json.loads(body)


def one_ledger(binary, rows, args):
    """Fill a fresh data dir with a ledger of `rows` rows and time the
    queries: {(kind, what): ms list}, problems, and what to print."""
    work = tempfile.mkdtemp(prefix="roost-rpgxp-")
    tmuxdir = os.path.join(work, "tmux")
    os.mkdir(tmuxdir, 0o700)
    others = [f"--{f}.enabled=false" for f in ("fleet", "observability", "documents", "agents")]
    srv = roostlib.Server(work, binary=binary, args=others + ["--log_level=warn"],
                          env={"TZ": "UTC", "TMUX_TMPDIR": tmuxdir})
    for k in ("TMUX", "TMUX_PANE"):
        srv.env.pop(k, None)
    srv.ports = {"rpg": srv.ports["rpg"]}
    db_path = os.path.join(srv.data_dir, "roost.db")
    out = {"rows": rows, "times": {}, "problems": [], "scan": {}}
    try:
        srv.start()
        srv.stop()
        personas, projects, out["fill_s"] = fill(db_path, rows, args)
        out["size"] = os.path.getsize(db_path)
        today = int(time.time()) // 86400
        targets = [("persona", "persona_id", personas[0]), ("project", "project_id", projects[0])]
        truth = {}
        db = sqlite3.connect(db_path)
        out["share"] = {kind: db.execute(f"SELECT count(*) FROM rpg_xp WHERE {col} = ?",
                                         (ident,)).fetchone()[0] for kind, col, ident in targets}
        db.close()
        for kind, col, ident in targets:
            truth[kind] = ledger_truth(db_path, col, ident, today)
        srv.start()
        out["rss0"] = vm(srv.pid, "VmRSS")
        conn = http.client.HTTPConnection("127.0.0.1", srv.ports["rpg"], timeout=30)
        n = 0
        for kind, col, ident in targets:
            summary, per_day, _, _ = truth[kind]
            for what, path, want in (
                    ("timeline days=30", f"/api/xp/timeline?type={kind}&id={ident}&days=30",
                     {"timeline": timeline_from(per_day, today, 30)}),
                    ("timeline days=365", f"/api/xp/timeline?type={kind}&id={ident}&days=365",
                     {"timeline": timeline_from(per_day, today, 365)}),
                    ("summary", f"/api/xp/summary?type={kind}&id={ident}",
                     {"summary": summary})):
                ms, got = timed(conn, path, args.requests)
                n += args.requests + 20
                if got.get("data") != want:
                    out["problems"].append(f"{rows} rows, {kind} {what}: answer differs from the "
                                           f"ledger: {json.dumps(got.get('data'))[:300]} vs "
                                           f"{json.dumps(want)[:300]}")
                out["times"][(kind, what)] = ms
        conn.close()
        out["requests"] = n
        out["rss1"] = vm(srv.pid, "VmRSS")
        out["hwm"] = vm(srv.pid, "VmHWM")
        srv.stop()
        # the same questions asked of the ledger itself (no index by entity)
        for kind, col, ident in targets:
            best_s = best_t = 1e9
            for _ in range(3):
                _, _, s, t = ledger_truth(db_path, col, ident, today)
                best_s, best_t = min(best_s, s), min(best_t, t)
            out["scan"][kind] = (best_s * 1000.0, best_t * 1000.0)
        return out
    finally:
        if srv.alive():
            srv.stop()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("roostd", nargs="?", default=os.path.join(HERE, "..", "build", "roostd"))
    ap.add_argument("--rows", default="10000,1000000",
                    help="comma list of ledger sizes, measured side by side")
    ap.add_argument("--personas", type=int, default=50)
    ap.add_argument("--projects", type=int, default=10)
    ap.add_argument("--days", type=int, default=400)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    binary = os.path.abspath(args.roostd)
    runs = []
    for rows in [int(x) for x in args.rows.split(",")]:
        r = one_ledger(binary, rows, args)
        runs.append(r)
        print(f"ledger {rows:>9,} rows over {args.days} days, {args.personas} personas, "
              f"{args.projects} projects: written in {r['fill_s']:.1f} s, roost.db "
              f"{r['size'] / 1e6:.1f} MB; first persona {r['share']['persona']:,} rows, first "
              f"project {r['share']['project']:,} rows; VmRSS {r['rss0']} KiB after the "
              f"restart, {r['rss1']} KiB after {r['requests']} requests (VmHWM {r['hwm']} KiB)",
              flush=True)
    head = "".join(f" | {r['rows']:>9,} rows p50 / p99 / max ms" for r in runs)
    print(f"{'query':28}{head}")
    for key in runs[0]["times"]:
        cells = "".join(f" | {pct(r['times'][key], 50):7.2f} {pct(r['times'][key], 99):7.2f} "
                        f"{max(r['times'][key]):7.2f}      " for r in runs)
        print(f"{key[0] + ' ' + key[1]:28}{cells}")
    for kind in ("persona", "project"):
        cells = "".join(f" | summary {r['scan'][kind][0]:6.0f}, days {r['scan'][kind][1]:6.0f}   "
                        for r in runs)
        print(f"{kind + ' GROUP BY on the file':28}{cells}")
    problems = [p for r in runs for p in r["problems"]]
    print("checks: " + ("every answer equals the ledger's GROUP BY" if not problems
                        else "FAILED: " + "; ".join(problems)))


if __name__ == "__main__":
    main()
