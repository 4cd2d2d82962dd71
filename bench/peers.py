#!/usr/bin/env python3
"""bench/peers.py - roostd beside the servers a user would pick instead, in one run.

Usage: bench/peers.py [path/to/roostd] [--before OLD] [--reps 3] [--seconds 5]
                      [--no-nginx]

Servers: this roostd (fleet listener, GET /health), the --before build if
given, nginx from Debian (nginx-light, one worker, `return 200` on /health)
and the ceiling: bench/ceiling.c, a raw poll() responder that does no parsing
(built into build/bench/ceiling). Each server is pinned to CPU 0 and wrk to
CPU 1 (taskset); reps are interleaved (server A, B, C, then again) and the
median of --reps is printed, with each server's ratio to the ceiling.

Per server and rep:
- CPU us per request: wrk -t1 -c50 keep-alive for --seconds; the server's own
  user+system time (/proc/PID/stat) over the requests wrk counted;
- syscalls per request: the same load for 2 s with `strace -c -f -p PID`
  attached (counts only; strace slows the server, the ratio is what holds);
- pipelined x16 requests/s: wrk -t1 -c50 sending 16 requests per write.

Measures, does not pass or fail (bench/README.md). Needs wrk, strace,
taskset (tools/deps.sh installs them) and, for the peer, nginx.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

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


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])     # utime + stime


def wrk(port, seconds, conns=50, script=None):
    cmd = ["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}", f"-d{seconds}s"]
    if script:
        cmd += ["-s", script]
    cmd.append(f"http://127.0.0.1:{port}/health")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    m = re.search(r"(\d+) requests in", out)
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return int(m.group(1)) if m else 0, int(errs.group(1)) if errs else 0


def pin(pid):
    subprocess.run(["taskset", "-a", "-p", "-c", "0", str(pid)], capture_output=True)


class Proc:
    def __init__(self, name, port, proc, work):
        self.name, self.port, self.proc, self.work = name, port, proc, work
        self.pid = proc.pid
        pin(self.pid)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.work, ignore_errors=True)


def wait_ready(port):
    import socket
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")


def start_roostd(binary):
    work = tempfile.mkdtemp(prefix="roost-peers-")
    port = roostlib.free_ports(1)[0]
    args = [binary, f"--data_dir={work}/data", f"--fleet.port={port}"]
    args += [f"--{f}.enabled=false" for f in ("rpg", "observability", "documents", "agents")]
    p = subprocess.Popen(args, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port)
    return Proc("roostd", port, p, work)


def start_nginx():
    work = tempfile.mkdtemp(prefix="roost-peers-")
    port = roostlib.free_ports(1)[0]
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(work=work, port=port, conns=4096, nofile=8192))
    p = subprocess.Popen([shutil.which("nginx"), "-c", conf, "-p", work],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port)
    # the worker does the work: pin the whole group (master and worker)
    time.sleep(0.2)
    kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout
    proc = Proc("nginx", port, p, work)
    worker = int(kids.split()[0]) if kids.split() else p.pid
    pin(worker)
    proc.pid = worker
    return proc


def start_ceiling():
    binary = os.path.join(REPO, "build", "bench", "ceiling")
    os.makedirs(os.path.dirname(binary), exist_ok=True)
    src = os.path.join(HERE, "ceiling.c")
    if not os.path.exists(binary) or os.path.getmtime(binary) < os.path.getmtime(src):
        subprocess.run(["cc", "-O2", "-o", binary, src], check=True)
    work = tempfile.mkdtemp(prefix="roost-peers-")
    port = roostlib.free_ports(1)[0]
    p = subprocess.Popen([binary, str(port)], stdout=subprocess.DEVNULL)
    wait_ready(port)
    return Proc("ceiling", port, p, work)


def syscalls(proc, seconds):
    st = subprocess.Popen(["strace", "-c", "-f", "-p", str(proc.pid)],
                          stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    reqs, _ = wrk(proc.port, seconds)
    st.send_signal(2)
    err = st.communicate(timeout=30)[1]
    calls = 0
    for line in err.splitlines():
        f = line.split()
        if f and f[-1] == "total" and len(f) >= 5:
            calls = int(f[3])      # % time, seconds, usecs/call, calls, [errors,] total
    return calls / reqs if reqs else float("nan")


def measure(proc, seconds, lua):
    t0 = cpu_ticks(proc.pid)
    reqs, bad = wrk(proc.port, seconds)
    t1 = cpu_ticks(proc.pid)
    cpu_us = (t1 - t0) * 1e6 / CLK_TCK / reqs if reqs else float("nan")
    sc = syscalls(proc, 2)
    preqs, pbad = wrk(proc.port, seconds, script=lua)
    return {"cpu_us": cpu_us, "rps": reqs / seconds, "sys": sc,
            "pipe_rps": preqs / seconds, "errors": bad + pbad}


def med(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("roostd", nargs="?", default=os.path.join(REPO, "build", "roostd"))
    ap.add_argument("--before")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--no-nginx", action="store_true")
    a = ap.parse_args()
    for tool in ("wrk", "strace", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"peers: {tool} is not installed (tools/deps.sh)")
    roostlib.raise_nofile()
    makers = [("roostd", lambda: start_roostd(os.path.abspath(a.roostd)))]
    if a.before:
        makers.append(("before", lambda: start_roostd(os.path.abspath(a.before))))
    if not a.no_nginx and shutil.which("nginx"):
        makers.append(("nginx", start_nginx))
    makers.append(("ceiling", start_ceiling))
    lua = os.path.join(tempfile.mkdtemp(prefix="roost-peers-"), "pipeline.lua")
    with open(lua, "w") as f:
        f.write(PIPE_LUA)
    res = {name: [] for name, _ in makers}
    for rep in range(a.reps):
        for name, make in makers:
            proc = make()
            try:
                r = measure(proc, a.seconds, lua)
            finally:
                proc.stop()
            res[name].append(r)
            print(f"rep {rep + 1} {name:8} cpu {r['cpu_us']:.1f} us/req, {r['rps']:.0f} req/s c50, "
                  f"{r['sys']:.2f} syscalls/req, pipelined x16 {r['pipe_rps']:.0f} req/s, "
                  f"errors {r['errors']}", flush=True)
    ceil = {k: med([r[k] for r in res["ceiling"]]) for k in ("cpu_us", "sys", "pipe_rps")}
    print(f"\nmedians of {a.reps} | cpu us/req (x ceiling) | syscalls/req | pipelined x16 req/s (x ceiling)")
    for name, rs in res.items():
        cpu = med([r["cpu_us"] for r in rs])
        sc = med([r["sys"] for r in rs])
        pr = med([r["pipe_rps"] for r in rs])
        print(f"{name:8} | {cpu:.1f} ({cpu / ceil['cpu_us']:.2f}x) | {sc:.2f} | "
              f"{pr:.0f} ({pr / ceil['pipe_rps']:.2f}x)")


if __name__ == "__main__":
    main()
