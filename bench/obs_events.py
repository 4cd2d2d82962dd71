#!/usr/bin/env python3
"""bench/obs_events.py - observability POST /events per second with /ws
subscribers, for this roostd and an older one side by side in one run.

Usage: bench/obs_events.py [path/to/roostd] [--before path/to/old/roostd]
                           [--subs 100] [--conns 128] [--seconds 5] [--rounds 3]
                           [--pin] [--peers-json]

For each server in turn (this one, then --before), --rounds times: start it
(a fresh data directory; observability, and fleet for /metrics), open --subs
/ws subscribers (bench/ws_sink.c, one C process, built into build/bench/),
run wrk for --seconds with --conns
keep-alive connections, each posting one small event after the other (every
event numbered), then check:

  - wrk saw only 2xx answers and no socket errors;
  - every subscriber received every stored event, once, in the order GET
    /events lists them (the commit order), and none was closed: subscriber
    0's messages are parsed; every other one must have received exactly
    the same bytes (length and hash of its whole stream);

and stop it. One line per run: events/s (wrk's Requests/sec: answered 2xx
per second), roostd's own CPU time (user + system, /proc) per stored event
over the wrk run, events stored, sqlite commits where the server counts
them (roost_sqlite_batches_total, not in builds before the turn's batch),
then per server the medians, and the ratios of the medians. On a shared or
small host the client side can be what limits events/s (roostd below a
whole core); CPU per event is then the steadier comparison.

wrk (one thread) and ws_sink share the machine with roostd (--pin puts
roostd on CPU 0 and them on CPU 1): compare numbers only between servers
measured in the same run, rounds interleaved. Needs wrk and cc. Measures,
does not pass or fail (bench/README.md).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import roostlib  # noqa: E402
from benchlib import pct  # noqa: E402

REPO = os.path.join(HERE, "..")
# --pin: roostd on CPU 0, wrk and the subscribers on CPU 1 (taskset), so the
# client side does not take the server's core. Off by default: on a host
# shared with other work, a pinned roostd cannot move off a busy CPU.
PIN = False
CLIENT_CPU = []

SESSION = "bench-obs"
WRK_LUA = """
local n = 0
local head = {["Content-Type"] = "application/json"}
request = function()
  n = n + 1
  return wrk.format("POST", "/events", head, string.format(
    '{"event_type":"pre_tool","session_id":"%s","session_name":"bench",' ..
    '"timestamp":"2025-11-25T10:11:10.000000+00:00","tool_name":"Read",' ..
    '"tool_input":{"n":%%d}}', n))
end
""" % SESSION
DRAIN_S = 30.0


# ---- the subscribers: bench/ws_sink.c ------------------------------------------------

def sink_binary():
    """bench/ws_sink.c, built into build/bench/ws_sink when missing or older."""
    binary = os.path.join(REPO, "build", "bench", "ws_sink")
    src = os.path.join(HERE, "ws_sink.c")
    if not os.path.exists(binary) or os.path.getmtime(binary) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(binary), exist_ok=True)
        subprocess.run(["cc", "-O2", "-o", binary, src], check=True)
    return binary


class Sink:
    """ws_sink with its subscribers open (on CPU 1 when pinning)."""

    def __init__(self, port, nsubs, work):
        self.tags_path = os.path.join(work, "tags.txt")
        self.proc = subprocess.Popen(CLIENT_CPU + [sink_binary(), str(port), str(nsubs),
                                                   self.tags_path],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"ws_sink: {line!r}")

    def finish(self, expect):
        """(per subscriber (bytes, hash, closed)), subscriber 0's event numbers)."""
        out, _ = self.proc.communicate(f"{expect}\n", timeout=DRAIN_S + 30)
        subs = [tuple(line.split()) for line in out.splitlines() if line.strip()]
        with open(self.tags_path) as f:
            tags = [int(x) for x in f.read().split()]
        return subs, tags

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ---- one run ------------------------------------------------------------------------

def stored_tags(srv):
    tags = []
    while True:
        r = srv.request("observability", "GET",
                        f"/events/{urllib.parse.quote(SESSION)}?limit=1000&offset={len(tags)}",
                        timeout=30)
        if r.status == 404:
            return tags
        assert r.status == 200, r
        evs = r.json()["events"]
        tags.extend(e["tool_input"]["n"] for e in evs)
        if len(evs) < 1000:
            return tags


def commits(srv):
    r = srv.request("fleet", "GET", "/metrics")
    for line in r.body.decode().splitlines():
        if line.startswith("roost_sqlite_batches_total "):
            return int(float(line.split()[1]))
    return None


def wrk(port, conns, seconds, lua):
    p = subprocess.run(CLIENT_CPU + ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "10s",
                        "-s", lua, f"http://127.0.0.1:{port}/"],
                       capture_output=True, text=True, timeout=seconds + 60)
    text = p.stdout + p.stderr
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errs = re.search(r"Socket errors: (.*)", text)
    if rate is None:
        raise RuntimeError(f"wrk: no Requests/sec in:\n{text}")
    return float(rate.group(1)), (int(bad.group(1)) if bad else 0), \
        (errs.group(1) if errs else None), text


def cpu_s(pid):
    """User + system CPU seconds of process pid so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(binary, args, lua):
    work = tempfile.mkdtemp(prefix="roost-obsev-")
    srv = roostlib.Server(work, binary=binary,
                          args=["--rpg.enabled=false", "--documents.enabled=false",
                                "--agents.enabled=false",
                                "--observability.ws_heartbeat_ms=3600000",
                                "--log_level=warn"])
    srv.start()
    if PIN:
        subprocess.run(["taskset", "-a", "-p", "-c", "0", str(srv.pid)], capture_output=True)
    sink = None
    try:
        sink = Sink(srv.ports["observability"], args.subs, work)
        cpu0 = cpu_s(srv.pid)
        rate, bad, errs, text = wrk(srv.ports["observability"], args.conns, args.seconds, lua)
        cpu = cpu_s(srv.pid) - cpu0
        stored = stored_tags(srv)
        subs, tags = sink.finish(len(stored))
        problems = []
        if bad:
            problems.append(f"{bad} non-2xx")
        if errs:
            problems.append(f"socket errors: {errs}")
        if len(set(stored)) != len(stored):
            problems.append("an event stored twice")
        if tags != stored:
            problems.append(f"subscriber 0 got {len(tags)} events, {len(stored)} stored"
                            + ("" if len(tags) != len(stored) else ", in another order"))
        if len(subs) != args.subs:
            problems.append(f"ws_sink reported {len(subs)} subscribers")
        differ = sum(1 for sb in subs if sb[:2] != subs[0][:2])
        if differ:
            problems.append(f"{differ} subscriber(s) did not get what subscriber 0 got")
        closed = sum(1 for sb in subs if sb[2] != "0")
        if closed:
            problems.append(f"{closed} subscriber(s) closed")
        n_commits = commits(srv)
        if problems:
            text += "\n" + srv.logs()
        us_per_event = cpu * 1e6 / len(stored) if stored else float("nan")
        return rate, us_per_event, len(stored), n_commits, problems, text
    finally:
        if sink is not None:
            sink.kill()
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("roostd", nargs="?", default=os.path.join(HERE, "..", "build", "roostd"))
    ap.add_argument("--before", help="an older roostd to measure beside it")
    ap.add_argument("--subs", type=int, default=100)
    ap.add_argument("--conns", type=int, default=128)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--peers-json", action="store_true",
                    help="end with one JSON line {\"roostd\": events/s, \"before\": events/s} "
                         "(the medians; bench/peers.py reads it)")
    ap.add_argument("--pin", action="store_true",
                    help="roostd on CPU 0, wrk and the subscribers on CPU 1 (taskset)")
    args = ap.parse_args()
    global PIN, CLIENT_CPU
    if args.pin:
        if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
            sys.exit("obs_events: --pin needs taskset and two CPUs")
        PIN = True
        CLIENT_CPU = ["taskset", "-c", "1"]
    if shutil.which("wrk") is None:
        sys.exit("obs_events: wrk is not installed (make deps)")
    roostlib.raise_nofile()
    servers = [("this", os.path.abspath(args.roostd))]
    if args.before:
        servers.append(("before", os.path.abspath(args.before)))
    lua_dir = tempfile.mkdtemp(prefix="roost-obsev-lua-")
    lua = os.path.join(lua_dir, "post.lua")
    with open(lua, "w") as f:
        f.write(WRK_LUA)
    print(f"POST /events: wrk -t1 -c{args.conns} for {args.seconds}s, "
          f"{args.subs} /ws subscribers")
    rates = {name: [] for name, _ in servers}
    costs = {name: [] for name, _ in servers}
    try:
        for rnd in range(args.rounds):
            for name, binary in servers:
                rate, us, stored, n_commits, problems, text = one_run(binary, args, lua)
                per = (f"{stored / n_commits:6.1f} events/commit" if n_commits
                       else "  (commits not counted)")
                verdict = "ok" if not problems else "INVALID: " + "; ".join(problems)
                print(f"round {rnd + 1} {name:6} {rate:10.1f} events/s  {us:6.1f} us CPU/event  "
                      f"{stored:7d} stored  {per}  {verdict}", flush=True)
                if args.verbose or problems:
                    print(text)
                if not problems:
                    rates[name].append(rate)
                    costs[name].append(us)
    finally:
        shutil.rmtree(lua_dir, ignore_errors=True)
    for name, _ in servers:
        if rates[name]:
            print(f"{name:6} median {pct(rates[name], 50):10.1f} events/s  "
                  f"{pct(costs[name], 50):6.1f} us CPU/event")
    if args.before and rates["this"] and rates["before"]:
        print(f"ratio this/before: {pct(rates['this'], 50) / pct(rates['before'], 50):.2f}x "
              f"events/s, {pct(costs['before'], 50) / pct(costs['this'], 50):.2f}x less "
              f"server CPU per event")
    if args.peers_json:
        out = {"roostd": round(pct(rates["this"], 50), 1) if rates["this"] else None}
        if args.before:
            out["before"] = round(pct(rates["before"], 50), 1) if rates["before"] else None
        print(json.dumps(out))


if __name__ == "__main__":
    main()
