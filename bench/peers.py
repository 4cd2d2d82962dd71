#!/usr/bin/env python3
"""bench/peers.py - roostd beside the servers a user would pick instead, in one run.

Usage: bench/peers.py [path/to/roostd] [--before OLD] [--reps 3] [--seconds 5]
                      [--no-nginx] [--no-callgrind] [--no-fanout] [--no-bots]
                      [--requests 2000] [--fanout-events 3000] [--profile]
(bench/peers.sh is the entry point: it builds what is missing first.)

Servers: this roostd, the --before build if given, nginx from Debian
(nginx-light, one worker, `return 200` on /health) and the ceiling:
bench/ceiling.c, a raw poll() responder that does no parsing. Each server
is pinned to CPU 0 and every client to CPU 1 (taskset); reps are
interleaved (server A, B, C, then again) and the median of --reps is
printed. On a shared 2-core host the absolute numbers move from run to
run: the ratios within one run are what count.

Measures (one row each in the closing table, with the target of issue 12):
- CPU us per request: GET /health (roostd: the fleet listener), wrk -t1
  -c50 keep-alive for --seconds; the server's own user+system time
  (/proc/PID/stat) over the requests wrk counted.
- syscalls per request: the same load for 2 s with `strace -c -f -p PID`
  attached (counts only; strace slows the server, the count holds).
- instructions per request: each server under `valgrind --tool=callgrind`
  (nginx with master_process off), --requests keep-alive GET /health over
  10 connections (one request in flight on each) after 200 untimed ones;
  the counters are zeroed (callgrind_control -z) after the warm-up and
  dumped after the last answer, so startup and shutdown are left out. Ir
  of user space (roostd, libc, ld.so; not the kernel) over the requests.
- pipelined x16 requests/s: wrk -t1 -c50 sending 16 requests per write.
- WebSocket fan-out deliveries/s: bench/fanout.c (built into build/bench/
  fanout) opens 100 subscribers on the observability family's /ws and
  publishes with POST /events on one keep-alive connection; an event is in
  flight from its POST until every subscriber has it, and the publisher
  keeps 16 in flight (and, as a second row, 1: one event crosses the
  fan-out alone). Every subscriber must get every event once and in order,
  and every POST a 200, or the run fails. deliveries/s = events x 100 /
  seconds; also the server's CPU us per delivery and the client's CPU
  share (it must stay well below 1: the client is not the bottleneck).
  The publisher: POST /events is the cheapest way in from outside. The
  fleet bus (/ws/events) is fed only by the agent engine (an LLM call per
  event, a fake provider in the loop) and /_echo (diag.echo) answers only
  its own sender, so it has no fan-out at all. One POST /events (JSON
  validation, one sqlite transaction in WAL, one ring publish) costs
  about a tenth of what delivering its event to 100 subscribers costs
  (measured: ~65 us alone against ~580 us with the 100), so the fan-out
  is the bottleneck, not the publisher.
- GET /api/v1/bots with 20 bots: fleet listener with --fleet.auth=key,
  20 bots created through POST /api/v1/bots, then wrk -t1 -c50 with
  X-API-Key on /api/v1/bots and on /health in the same process: CPU us per
  request of each and their ratio.
- observability POST /events events/s with 100 /ws subscribers: the hook
  for bench/obs_events.py (written elsewhere). When that file exists it is
  run as `bench/obs_events.py ROOSTD [--before OLD] --subs 100 --peers-json`
  and its last line of output must be a JSON object
  {"roostd": events_per_s, "before": events_per_s}; otherwise, or when it
  fails, the row says n/a.

--profile adds, after the table: roostd's top functions by self Ir (read
from callgrind's dump, what callgrind_annotate would list) per GET /health
and, from a fan-out run under callgrind (100 subscribers, 16 in flight),
per delivery; and the system calls of a fan-out run per delivery and per
event (strace -c), so the table can be read with where the time goes.

Measures, does not pass or fail (bench/README.md): a fan-out run that lost
or reordered an event stops the bench with its error, though. Needs wrk,
strace, valgrind, taskset (tools/deps.sh installs them) and, for the peer,
nginx.
"""

import argparse
import json
import os
import re
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.join(HERE, "..")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import roostlib  # noqa: E402
from idle_latency import NGINX_CONF  # noqa: E402

PIPE_LUA = """
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format(nil, "/health") end
  req = table.concat(r)
end
request = function() return req end
"""
CLK_TCK = os.sysconf("SC_CLK_TCK")
FAMILIES = ("fleet", "rpg", "observability", "documents", "agents")
BOTS = 20
FANOUT_SUBS = 100
CG_CONNS = 10
CG_WARMUP = 200


def fail(msg):
    sys.exit(f"peers: {msg}")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])     # utime + stime


def wrk(port, seconds, conns=50, script=None, path="/health", headers=()):
    cmd = ["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}", f"-d{seconds}s"]
    if script:
        cmd += ["-s", script]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    m = re.search(r"(\d+) requests in", out)
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return int(m.group(1)) if m else 0, int(errs.group(1)) if errs else 0


def pin(pid):
    subprocess.run(["taskset", "-a", "-p", "-c", "0", str(pid)], capture_output=True)


def build_tool(name):
    """build/bench/NAME from bench/NAME.c (again when the source is newer)."""
    binary = os.path.join(REPO, "build", "bench", name)
    src = os.path.join(HERE, name + ".c")
    os.makedirs(os.path.dirname(binary), exist_ok=True)
    if not os.path.exists(binary) or os.path.getmtime(binary) < os.path.getmtime(src):
        subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-o", binary, src], check=True)
    return binary


class Proc:
    def __init__(self, name, port, proc, work, pinned=True):
        self.name, self.port, self.proc, self.work = name, port, proc, work
        self.pid = proc.pid
        if pinned:
            pin(self.pid)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self.work, ignore_errors=True)


def wait_ready(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}) before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")


def valgrind_cmd(work):
    return ["valgrind", "--tool=callgrind", f"--callgrind-out-file={work}/callgrind.out.%p"]


def start_roostd(binary, family="fleet", extra=(), callgrind=False):
    work = tempfile.mkdtemp(prefix="roost-peers-")
    port = roostlib.free_ports(1)[0]
    args = [binary, f"--data_dir={work}/data", f"--{family}.port={port}"]
    args += [f"--{f}.enabled=false" for f in FAMILIES if f != family]
    args += list(extra)
    if callgrind:
        args = valgrind_cmd(work) + args
    p = subprocess.Popen(args, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=roostlib.clean_env())
    wait_ready(port, p, 120.0 if callgrind else 10.0)
    return Proc("roostd", port, p, work, pinned=not callgrind)


def start_nginx(callgrind=False):
    work = tempfile.mkdtemp(prefix="roost-peers-")
    port = roostlib.free_ports(1)[0]
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        if callgrind:
            f.write("master_process off;\n")   # one process: the one valgrind runs
        f.write(NGINX_CONF.format(work=work, port=port, conns=4096, nofile=8192))
    args = [shutil.which("nginx"), "-c", conf, "-p", work]
    if callgrind:
        args = valgrind_cmd(work) + args
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port, p, 120.0 if callgrind else 10.0)
    proc = Proc("nginx", port, p, work, pinned=not callgrind)
    if not callgrind:
        # the worker does the work: pin the whole group (master and worker)
        time.sleep(0.2)
        kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True,
                              text=True).stdout
        worker = int(kids.split()[0]) if kids.split() else p.pid
        pin(worker)
        proc.pid = worker
    return proc


def start_ceiling(callgrind=False):
    binary = build_tool("ceiling")
    work = tempfile.mkdtemp(prefix="roost-peers-")
    port = roostlib.free_ports(1)[0]
    args = [binary, str(port)]
    if callgrind:
        args = valgrind_cmd(work) + args
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port, p, 120.0 if callgrind else 10.0)
    return Proc("ceiling", port, p, work, pinned=not callgrind)


# ---- GET /health: CPU, syscalls, pipelined ---------------------------------------

def syscalls(proc, seconds):
    st = subprocess.Popen(["strace", "-c", "-f", "-p", str(proc.pid)],
                          stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    reqs, _ = wrk(proc.port, seconds)
    st.send_signal(2)
    err = st.communicate(timeout=30)[1]
    return strace_total(err) / reqs if reqs else float("nan")


def strace_total(err):
    for line in err.splitlines():
        f = line.split()
        if f and f[-1] == "total" and len(f) >= 5:
            return int(f[3])      # % time, seconds, usecs/call, calls, [errors,] total
    return 0


def measure(proc, seconds, lua):
    t0 = cpu_ticks(proc.pid)
    reqs, bad = wrk(proc.port, seconds)
    t1 = cpu_ticks(proc.pid)
    cpu_us = (t1 - t0) * 1e6 / CLK_TCK / reqs if reqs else float("nan")
    sc = syscalls(proc, 2)
    preqs, pbad = wrk(proc.port, seconds, script=lua)
    return {"cpu_us": cpu_us, "rps": reqs / seconds, "sys": sc,
            "pipe_rps": preqs / seconds, "errors": bad + pbad}


# ---- GET /api/v1/bots with 20 bots ---------------------------------------------

def api(port, method, path, key, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"X-API-Key": key, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read()


def measure_bots(binary, seconds):
    proc = start_roostd(binary, extra=["--fleet.auth=key"])
    try:
        with open(os.path.join(proc.work, "data", "api_key")) as f:
            key = f.read().strip()
        for i in range(BOTS):
            st, _ = api(proc.port, "POST", "/api/v1/bots", key, {"name": f"Peers Bot {i + 1}"})
            if st not in (200, 201):
                fail(f"POST /api/v1/bots answered {st}")
        st, body = api(proc.port, "GET", "/api/v1/bots", key)
        n = len(json.loads(body)["data"]) if st == 200 else -1
        if n != BOTS:
            fail(f"GET /api/v1/bots: {st}, {n} bots, not {BOTS}")
        res = {"bots_bytes": len(body)}
        for name, path in (("bots", "/api/v1/bots"), ("health", "/health")):
            t0 = cpu_ticks(proc.pid)
            reqs, bad = wrk(proc.port, seconds, path=path, headers=[f"X-API-Key: {key}"])
            t1 = cpu_ticks(proc.pid)
            if bad or not reqs:
                fail(f"GET {path}: {bad} non-2xx answers of {reqs}")
            res[name] = (t1 - t0) * 1e6 / CLK_TCK / reqs
        res["ratio"] = res["bots"] / res["health"]
        return res
    finally:
        proc.stop()


# ---- WebSocket fan-out ------------------------------------------------------------

def fanout_run(port, events, window, pinned=True, timeout=10, warmup=200):
    cmd = [build_tool("fanout"), "-p", str(port), "-s", str(FANOUT_SUBS), "-e", str(events),
           "-w", str(window), "-W", str(warmup), "-t", str(timeout)]
    if pinned:
        cmd = ["taskset", "-c", "1"] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=events * 2 + 600)
    if r.returncode != 0:
        fail(f"fan-out ({FANOUT_SUBS} subscribers, {window} in flight) failed:\n{r.stderr.strip()}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def measure_fanout(binary, events, window):
    proc = start_roostd(binary, family="observability")
    try:
        t0 = cpu_ticks(proc.pid)
        r = fanout_run(proc.port, events, window)
        t1 = cpu_ticks(proc.pid)
        # server CPU over the whole client run (warm-up, connects and init included)
        r["us_per_delivery"] = (t1 - t0) * 1e6 / CLK_TCK / ((events + 200) * FANOUT_SUBS)
        return r
    finally:
        proc.stop()


# ---- callgrind: instructions per request ------------------------------------------

class Driver:
    """conns keep-alive connections, one GET in flight on each, every answer
    checked (200 with a Content-Length body)."""

    def __init__(self, port, conns, path="/health"):
        self.req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        self.socks = [socket.create_connection(("127.0.0.1", port), timeout=60)
                      for _ in range(conns)]

    def run(self, n):
        sel = selectors.DefaultSelector()
        sent = done = 0
        bufs = {}
        for s in self.socks:
            if sent < n:
                s.sendall(self.req)
                sent += 1
                bufs[s] = b""
                sel.register(s, selectors.EVENT_READ)
        while done < n:
            ready = sel.select(60)
            if not ready:
                fail(f"callgrind client: no answer in 60 s ({done} of {n})")
            for key, _ in ready:
                s = key.fileobj
                d = s.recv(65536)
                if not d:
                    fail("callgrind client: the server closed a connection")
                buf = bufs[s] + d
                while b"\r\n\r\n" in buf:
                    head, rest = buf.split(b"\r\n\r\n", 1)
                    m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
                    clen = int(m.group(1)) if m else 0
                    if len(rest) < clen:
                        break
                    if not head.startswith(b"HTTP/1.1 200 "):
                        fail(f"callgrind client: {head[:100]!r}")
                    buf = rest[clen:]
                    done += 1
                    if sent < n:
                        s.sendall(self.req)
                        sent += 1
                bufs[s] = buf
        sel.close()

    def close(self):
        for s in self.socks:
            s.close()


def callgrind_ctl(pid, what):
    r = subprocess.run(["callgrind_control", what, str(pid)], capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0 or "OK" not in r.stdout:
        fail(f"callgrind_control {what} {pid}: {r.stdout.strip()} {r.stderr.strip()}")


def callgrind_dump(proc):
    """Dump the counters since the last zeroing; the new part file's path."""
    before = set(os.listdir(proc.work))
    callgrind_ctl(proc.pid, "-d")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        new = [f for f in set(os.listdir(proc.work)) - before
               if re.match(r"callgrind\.out\.\d+\.\d+$", f)]
        if new:
            path = os.path.join(proc.work, new[0])
            time.sleep(0.2)        # let the file be written out
            return path
        time.sleep(0.05)
    fail("callgrind wrote no dump")


def callgrind_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    fail(f"{path}: no totals")


def self_costs(path):
    """Self Ir per function of a callgrind dump: {"name [object]": Ir}.

    Read from the file (callgrind_annotate 3.19 shows the costs of a dump
    taken mid-run as inclusive ones): a cost line belongs to the current fn=
    unless it follows a calls= line (then it is the cost of that call).
    fn/cfn and ob/cob share their compressed-name tables."""
    fns, obs = {}, {}
    costs = {}
    cur, ob, after_calls = "?", "?", False

    def name(table, text):
        m = re.match(r"\((\d+)\)\s*(.*)$", text)
        if not m:
            return text
        if m.group(2):
            table[m.group(1)] = m.group(2)
        return table.get(m.group(1), "?")

    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            if line.startswith("fn="):
                cur = f"{name(fns, line[3:])} [{os.path.basename(ob)}]"
            elif line.startswith("cfn="):
                name(fns, line[4:])
            elif line.startswith("ob="):
                ob = name(obs, line[3:])
            elif line.startswith("cob="):
                name(obs, line[4:])
            elif line.startswith("calls="):
                after_calls = True
            elif line[0] in "0123456789+-*":
                if after_calls:
                    after_calls = False
                    continue
                parts = line.split()
                if len(parts) >= 2:
                    costs[cur] = costs.get(cur, 0) + int(parts[1])
    return costs


def top_functions(path, per, top=25):
    """Lines: Ir per unit (per request, per delivery), share, function."""
    costs = self_costs(path)
    total = sum(costs.values()) or 1
    out = []
    for fn, ir in sorted(costs.items(), key=lambda kv: -kv[1])[:top]:
        out.append(f"{ir / per:10,.1f} {100.0 * ir / total:5.1f}%  {fn}")
    return out


def measure_ir(start, requests, keep_for_profile=False):
    proc = start(callgrind=True)
    try:
        d = Driver(proc.port, CG_CONNS)
        d.run(CG_WARMUP)
        callgrind_ctl(proc.pid, "-z")
        d.run(requests)
        path = callgrind_dump(proc)
        d.close()
        ir = callgrind_total(path) / requests
        top = top_functions(path, requests) if keep_for_profile else []
        return ir, top
    finally:
        proc.stop()


def profile_fanout(binary, events):
    """roostd's fan-out under callgrind (top functions, Ir per delivery) and
    under strace -c (system calls per delivery)."""
    out = {}
    proc = start_roostd(binary, family="observability", callgrind=True)
    try:
        callgrind_ctl(proc.pid, "-z")
        fanout_run(proc.port, events, 16, pinned=False, timeout=120, warmup=0)
        path = callgrind_dump(proc)
        out["ir_per_delivery"] = callgrind_total(path) / (events * FANOUT_SUBS)
        out["top"] = top_functions(path, events * FANOUT_SUBS)
    finally:
        proc.stop()
    proc = start_roostd(binary, family="observability")
    try:
        st = subprocess.Popen(["strace", "-c", "-f", "-p", str(proc.pid)],
                              stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)
        fanout_run(proc.port, events, 16, timeout=60, warmup=0)
        st.send_signal(2)
        err = st.communicate(timeout=30)[1]
        deliveries = events * FANOUT_SUBS
        out["sys_per_delivery"] = strace_total(err) / deliveries
        rows = []
        for line in err.splitlines():
            f = line.split()
            if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
                rows.append((int(f[3]), f[-1]))
        out["syscalls"] = [(name, calls / deliveries, calls / events)
                           for calls, name in sorted(rows, reverse=True)[:8]]
    finally:
        proc.stop()
    return out


# ---- observability POST /events (bench/obs_events.py's row) ------------------------

def obs_events(roostd, before):
    script = os.path.join(HERE, "obs_events.py")
    if not os.path.exists(script):
        return None, "bench/obs_events.py not there"
    cmd = [sys.executable, script, roostd]
    if before:
        cmd += ["--before", before]
    cmd += ["--subs", str(FANOUT_SUBS), "--peers-json"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
        res = json.loads(last)
        if r.returncode != 0 or not isinstance(res, dict):
            raise ValueError(f"exit {r.returncode}")
        return res, None
    except (ValueError, IndexError, subprocess.TimeoutExpired, OSError) as e:
        return None, f"obs_events.py: {e}"


# ---- the table --------------------------------------------------------------------

def med(xs):
    xs = sorted(x for x in xs if x == x)
    return xs[len(xs) // 2] if xs else float("nan")


def fmt(v, nd=1):
    if v is None or v != v:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{nd}f}"


def ratio(a, b):
    if a is None or b is None or a != a or b != b or b == 0:
        return None
    return a / b


def met(value, op, target):
    if value is None or value != value:
        return "n/a"
    return "yes" if (value <= target if op == "<=" else value >= target) else "no"


def print_table(rows):
    head = ["measure", "roostd", "before", "nginx", "ceiling", "roostd/ceiling",
            "roostd/nginx", "roostd/before", "target", "met"]
    cells = []
    for r in rows:
        v = r["v"]
        nd = r.get("nd", 1)
        rc = ratio(v.get("roostd"), v.get("ceiling"))
        rn = ratio(v.get("roostd"), v.get("nginx"))
        rb = ratio(v.get("roostd"), v.get("before"))
        ratios = {"ceiling": rc, "nginx": rn, "before": rb}
        checked = r.get("check")
        verdict = ""
        if checked:
            which, op, target = checked
            got = v.get("roostd") if which == "value" else ratios[which]
            verdict = met(got, op, target)
        cells.append([r["name"]] + [fmt(v.get(k), nd) for k in ("roostd", "before", "nginx",
                                                                 "ceiling")]
                     + [f"{x:.2f}x" if x is not None else "-" for x in (rc, rn, rb)]
                     + [r.get("target", ""), verdict])
    widths = [max(len(str(c[i])) for c in cells + [head]) for i in range(len(head))]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |"
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for c in cells:
        print("| " + " | ".join(str(x).ljust(w) if i in (0, 8, 9) else str(x).rjust(w)
                                for i, (x, w) in enumerate(zip(c, widths))) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("roostd", nargs="?", default=os.path.join(REPO, "build", "roostd"))
    ap.add_argument("--before")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--no-nginx", action="store_true")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--no-fanout", action="store_true")
    ap.add_argument("--no-bots", action="store_true")
    ap.add_argument("--requests", type=int, default=2000,
                    help="requests counted under callgrind (default 2000)")
    ap.add_argument("--fanout-events", type=int, default=3000,
                    help="events of the 16-in-flight fan-out run (one at a time: a third)")
    ap.add_argument("--profile", action="store_true",
                    help="print where roostd's time goes (callgrind, strace) after the table")
    a = ap.parse_args()
    tools = ["wrk", "strace", "taskset"]
    if not a.no_callgrind or a.profile:
        tools += ["valgrind", "callgrind_control"]
    for tool in tools:
        if not shutil.which(tool):
            fail(f"{tool} is not installed (tools/deps.sh)")
    roostlib.raise_nofile()
    roostd = os.path.abspath(a.roostd)
    before = os.path.abspath(a.before) if a.before else None
    builds = [("roostd", roostd)] + ([("before", before)] if before else [])
    starters = [("roostd", lambda callgrind=False: start_roostd(roostd, callgrind=callgrind))]
    if before:
        starters.append(("before",
                         lambda callgrind=False: start_roostd(before, callgrind=callgrind)))
    if not a.no_nginx and shutil.which("nginx"):
        starters.append(("nginx", start_nginx))
    starters.append(("ceiling", start_ceiling))
    if not a.no_fanout:
        build_tool("fanout")
    print(f"host: {os.uname().sysname} {os.uname().release}, {os.cpu_count()} CPU(s); "
          f"servers on CPU 0, clients on CPU 1; {a.reps} reps, {a.seconds} s per wrk run",
          flush=True)
    for name, path in builds:
        ver = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
        print(f"{name}: {path} ({ver.strip().splitlines()[0] if ver.strip() else '?'})")
    luadir = tempfile.mkdtemp(prefix="roost-peers-")
    try:
        run(a, roostd, before, builds, starters, os.path.join(luadir, "pipeline.lua"))
    finally:
        shutil.rmtree(luadir, ignore_errors=True)


def run(a, roostd, before, builds, starters, lua):
    with open(lua, "w") as f:
        f.write(PIPE_LUA)

    res = {name: [] for name, _ in starters}
    bots = {name: [] for name, _ in builds}
    fan16 = {name: [] for name, _ in builds}
    fan1 = {name: [] for name, _ in builds}
    for rep in range(a.reps):
        for name, start in starters:
            proc = start()
            try:
                r = measure(proc, a.seconds, lua)
            finally:
                proc.stop()
            res[name].append(r)
            print(f"rep {rep + 1} {name:8} /health cpu {r['cpu_us']:.1f} us/req, "
                  f"{r['rps']:.0f} req/s c50, {r['sys']:.2f} syscalls/req, "
                  f"pipelined x16 {r['pipe_rps']:.0f} req/s, errors {r['errors']}", flush=True)
        for name, path in builds:
            if not a.no_bots:
                b = measure_bots(path, a.seconds)
                bots[name].append(b)
                print(f"rep {rep + 1} {name:8} GET /api/v1/bots ({BOTS} bots, {b['bots_bytes']} B) "
                      f"{b['bots']:.1f} us/req, /health {b['health']:.1f} us/req: "
                      f"{b['ratio']:.2f}x", flush=True)
            if not a.no_fanout:
                for window, store, events in ((16, fan16, a.fanout_events),
                                              (1, fan1, max(a.fanout_events // 3, 100))):
                    f = measure_fanout(path, events, window)
                    store[name].append(f)
                    print(f"rep {rep + 1} {name:8} fan-out {FANOUT_SUBS} subs, {window:2} in "
                          f"flight: {f['deliveries_per_s']:.0f} deliveries/s "
                          f"({f['events_per_s']:.0f} events/s, {f['msg_bytes']} B messages), "
                          f"server {f['us_per_delivery']:.2f} us/delivery, "
                          f"client CPU {f['cpu_frac']:.2f}", flush=True)

    ir = {}
    top_health = []
    if not a.no_callgrind:
        for name, start in starters:
            ir[name], top = measure_ir(start, a.requests, keep_for_profile=(name == "roostd"
                                                                             and a.profile))
            if top:
                top_health = top
            print(f"callgrind {name:8} {ir[name]:,.0f} Ir per GET /health "
                  f"({a.requests} requests, {CG_CONNS} connections)", flush=True)
    obs, obs_why = obs_events(roostd, before)

    def medof(store, key):
        return {n: med([r[key] for r in rs]) for n, rs in store.items() if rs}

    rows = [
        {"name": "CPU us per request (GET /health, c50)", "v": medof(res, "cpu_us"), "nd": 2,
         "target": "roostd/ceiling <= 1.0", "check": ("ceiling", "<=", 1.0)},
        {"name": "syscalls per request at c50", "v": medof(res, "sys"), "nd": 2,
         "target": "<= 2.3", "check": ("value", "<=", 2.3)},
        {"name": "instructions per request (callgrind Ir)", "v": ir, "nd": 0,
         "target": "<= nginx's", "check": ("nginx", "<=", 1.0)},
        {"name": "pipelined x16 requests/s", "v": medof(res, "pipe_rps"),
         "target": "roostd/ceiling >= 0.8", "check": ("ceiling", ">=", 0.8)},
    ]
    if not a.no_fanout:
        rows += [
            {"name": f"fan-out deliveries/s, 16 in flight, {FANOUT_SUBS} subs",
             "v": medof(fan16, "deliveries_per_s"),
             "target": ">= 10x before", "check": ("before", ">=", 10.0)},
            {"name": f"fan-out deliveries/s, 1 in flight, {FANOUT_SUBS} subs",
             "v": medof(fan1, "deliveries_per_s")},
            {"name": "fan-out server CPU us per delivery (16)", "v": medof(fan16, "us_per_delivery"),
             "nd": 2},
            {"name": "fan-out client CPU share (16; must be < 1)", "v": medof(fan16, "cpu_frac"),
             "nd": 2},
        ]
    if not a.no_bots:
        rows += [
            {"name": f"GET /api/v1/bots ({BOTS} bots) CPU us/req", "v": medof(bots, "bots"),
             "nd": 2},
            {"name": "GET /health CPU us/req (same process)", "v": medof(bots, "health"),
             "nd": 2},
            {"name": "GET /api/v1/bots / GET /health CPU", "v": medof(bots, "ratio"), "nd": 2,
             "target": "<= 2", "check": ("value", "<=", 2.0)},
        ]
    rows.append({"name": f"obs POST /events events/s, {FANOUT_SUBS} /ws subs",
                 "v": {k: obs.get(k) for k in ("roostd", "before")} if obs else {},
                 "target": ">= 2x before" if obs else "n/a (" + obs_why + ")",
                 "check": ("before", ">=", 2.0) if obs else None})
    print(f"\nmedians of {a.reps} reps" + ("" if a.no_callgrind else " (callgrind: one run each)"))
    print_table(rows)

    if a.profile:
        print("\n--profile: roostd, GET /health under callgrind: self Ir per request by "
              f"function ({a.requests} requests):")
        for line in top_health:
            print("  " + line)
        if not a.no_fanout:
            ev = max(a.fanout_events // 6, 100)
            p = profile_fanout(roostd, ev)
            print(f"\n--profile: roostd, fan-out ({FANOUT_SUBS} subs, 16 in flight, {ev} events) "
                  f"under callgrind: {p['ir_per_delivery']:,.0f} Ir per delivery; self Ir per "
                  "delivery by function:")
            for line in p["top"]:
                print("  " + line)
            print(f"\n--profile: roostd, fan-out under strace -c: "
                  f"{p['sys_per_delivery']:.3f} system calls per delivery; the most called:")
            for name, per_d, per_e in p["syscalls"]:
                print(f"  {name:16} {per_d:8.3f} per delivery  {per_e:8.2f} per event")


if __name__ == "__main__":
    main()
