#!/usr/bin/env python3
"""bench/rpg_poll.py - what watching tmux costs roostd: its CPU while it
polls 20 windows x 4 panes with 8 fake Claude Codes printing, and how long
a line printed in a pane takes to reach a /ws client; this roostd and an
older one side by side.

Usage: bench/rpg_poll.py [path/to/roostd] [--before path/to/old/roostd]
                         [--windows 20] [--panes 4] [--claude 8]
                         [--stream-ms 100] [--width 80] [--seconds 30]
                         [--rounds 1] [--poll-ms N]

For each server in turn, --rounds times (rounds interleaved): a private
tmux server (tests/integration/rpglib.py) with --windows windows of
--panes tiled panes each; the first pane of --claude of them runs the fake
claude (tests/integration/data/fake_claude) printing a line
`tick <n> <epoch ms>` every --stream-ms ms, the others are idle shells.
roostd starts with only the rpg family, at its default poll interval
(rpg.poll_interval_ms 250) unless --poll-ms; once GET /api/windows lists
every pane and every Claude pane was captured, one /ws client connects
and the measurement runs for --seconds:

  - CPU: roostd's user + system time (/proc/<pid>/stat) over the run as a
    percentage of one core (target: < 3 % at the default interval);
  - latency: for each tick line, the time from its printing (the epoch ms
    in the line) to the arrival of the first `terminal_output` holding it
    at the /ws client, p50 and p99 over every line of every Claude pane
    (target: p99 < 300 ms; the capture cadence of a changing pane is
    250 ms, spec rpg.md §3.3);
  - terminal_output and windows messages per second, roostd's VmRSS.

Then per server the medians, and the ratios this/before. The fake
claudes, tmux and the client share the machine with roostd: compare
numbers measured in the same run. Measures, does not pass or fail
(bench/README.md).
"""

import argparse
import os
import re
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import pct  # noqa: E402
from rpgbench import cpu_s, layout, rss_kib, start_server, wait_panes  # noqa: E402
import roostlib  # noqa: E402
import rpglib  # noqa: E402

TICK = re.compile(r"tick (\d+) (\d+) ")


def latencies(reader, panes, offset, start_ms, end_ms):
    """Per tick line printed between start_ms and end_ms (epoch ms): ms
    from its printing to the first terminal_output holding it."""
    seen = {p: 0 for p in panes}
    out = []
    with reader.lock:
        msgs = list(reader.messages)
    for typ, j, _, mono in msgs:
        if typ != "terminal_output":
            continue
        pane = j["payload"]["paneId"]
        if pane not in seen:
            continue
        arrived = (mono + offset) * 1000.0
        top = seen[pane]
        for m in TICK.finditer(j["payload"]["content"]):
            n, printed = int(m.group(1)), int(m.group(2))
            if n > seen[pane]:
                top = max(top, n)
                if start_ms <= printed <= end_ms:
                    out.append(arrived - printed)
        seen[pane] = top
    return out


def one_run(binary, args):
    tmux = rpglib.Tmux(prefix="rpgb-").start()
    srv = reader = work = None
    try:
        panes = layout(tmux, args.windows, args.panes, args.claude, args.stream_ms, args.width)
        flags = [f"--rpg.poll_interval_ms={args.poll_ms}"] if args.poll_ms else []
        srv, work = start_server(binary, tmux, flags)
        n_panes = args.windows * args.panes + 1          # and the session's first window
        if not wait_panes(srv, n_panes, args.claude):
            return None, "GET /api/windows never listed every pane (no rpg in this build?)"
        reader = rpglib.Reader(srv.ports["rpg"], skip_parse=())
        reader.wait(lambda r: len(r.messages) >= 4, "the on-connect messages")
        offset = time.time() - time.monotonic()
        n0 = len(reader.messages)
        t0 = time.monotonic()
        c0 = cpu_s(srv.pid)
        rss0 = rss_kib(srv.pid)
        time.sleep(args.seconds)
        cpu = cpu_s(srv.pid) - c0
        took = time.monotonic() - t0
        rss1 = rss_kib(srv.pid)
        with reader.lock:
            window = reader.messages[n0:]
        touts = sum(1 for m in window if m[0] == "terminal_output")
        wins = sum(1 for m in window if m[0] == "windows")
        time.sleep(1.0)         # the lines printed last are on their way
        lat = latencies(reader, panes, offset, (t0 + offset) * 1000.0,
                        (t0 + took + offset) * 1000.0)
        res = {"cpu_pct": 100.0 * cpu / took, "p50": pct(lat, 50), "p99": pct(lat, 99),
               "lines": len(lat), "touts_s": touts / took, "windows_s": wins / took,
               "rss0": rss0, "rss1": rss1,
               "warnings": sorted({ln.split(" warn ", 1)[1].strip()
                                   for ln in srv.stderr().splitlines() if " warn " in ln
                                   and "max_hook_body_bytes" not in ln})}
        problems = []
        if reader.close_frame or reader.eof or reader.error:
            problems.append(f"/ws client ended: {reader.close_frame} {reader.error!r}")
        if not lat:
            problems.append("no tick line reached the /ws client")
        return res, "; ".join(problems)
    finally:
        if reader is not None:
            reader.close()
        if srv is not None:
            srv.stop()
        tmux.cleanup()
        if work:
            shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("roostd", nargs="?", default=os.path.join(HERE, "..", "build", "roostd"))
    ap.add_argument("--before", help="an older roostd to measure beside it")
    ap.add_argument("--windows", type=int, default=20)
    ap.add_argument("--panes", type=int, default=4)
    ap.add_argument("--claude", type=int, default=8)
    ap.add_argument("--stream-ms", type=int, default=100)
    ap.add_argument("--width", type=int, default=80)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--poll-ms", type=int, default=0,
                    help="rpg.poll_interval_ms (default: roostd's own, 250)")
    args = ap.parse_args()
    roostlib.raise_nofile()
    rpglib.real_tmux()
    servers = [("this", os.path.abspath(args.roostd))]
    if args.before:
        servers.append(("before", os.path.abspath(args.before)))
    print(f"rpg poll: {args.windows} windows x {args.panes} panes, {args.claude} fake claudes "
          f"printing every {args.stream_ms} ms, {args.seconds:.0f} s per run, poll interval "
          f"{args.poll_ms or 'default'}")
    got = {name: [] for name, _ in servers}
    for rnd in range(args.rounds):
        for name, binary in servers:
            res, problems = one_run(binary, args)
            if res is None:
                print(f"round {rnd + 1} {name:6} n/a: {problems}", flush=True)
                continue
            verdict = "ok" if not problems else "INVALID: " + problems
            print(f"round {rnd + 1} {name:6} CPU {res['cpu_pct']:5.2f} % of a core  "
                  f"latency p50 {res['p50']:6.1f} ms p99 {res['p99']:6.1f} ms "
                  f"({res['lines']} lines)  terminal_output {res['touts_s']:5.1f}/s  "
                  f"windows {res['windows_s']:4.2f}/s  VmRSS {res['rss0']} -> {res['rss1']} KiB"
                  f"  {verdict}", flush=True)
            for w in res["warnings"]:
                print(f"    roostd warned: {w}")
            if not problems:
                got[name].append(res)
    med = {}
    for name, _ in servers:
        if got[name]:
            med[name] = {k: pct([r[k] for r in got[name]], 50)
                         for k in ("cpu_pct", "p50", "p99", "rss1")}
            m = med[name]
            print(f"{name:6} median CPU {m['cpu_pct']:5.2f} %  p50 {m['p50']:6.1f} ms  "
                  f"p99 {m['p99']:6.1f} ms  VmRSS {m['rss1']} KiB "
                  f"(targets: CPU < 3 %, p99 < 300 ms)")
    if "this" in med and "before" in med:
        a, b = med["this"], med["before"]
        print(f"ratio before/this: CPU {b['cpu_pct'] / a['cpu_pct']:.2f}x, "
              f"p50 {b['p50'] / a['p50']:.2f}x, p99 {b['p99'] / a['p99']:.2f}x "
              f"(> 1: this is better)")


if __name__ == "__main__":
    main()
