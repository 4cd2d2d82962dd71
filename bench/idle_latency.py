#!/usr/bin/env python3
"""bench/idle_latency.py - one client's GET /health latency with N idle
keep-alive connections held, against none held, for several servers in one run.

Usage: bench/idle_latency.py [path/to/roostd] [--before path/to/old/roostd]
                             [--conns 1000] [--requests 2000] [--rounds 3]
                             [--no-nginx]

For each server (this roostd; the --before build if given; nginx from Debian,
one worker, `return 200` on /health, unless --no-nginx or it is not
installed), in turn and --rounds times: start it, time --requests GET /health
on a fresh keep-alive connection (after 200 untimed) with nothing else open,
open --conns keep-alive connections (each answers one GET /health, then stays
idle), time again, stop it. Prints per server and round p50/p99 both ways and
the p50 ratio (held / none), then the median ratio per server. The ratio is
what to compare: it is measured by the same client on the same host within
seconds, so the machine's noise mostly cancels (issue 11's target for roostd:
p50 within 1.3x with 1,000 held).

Measures, does not pass or fail (bench/README.md).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import roostlib  # noqa: E402
from benchlib import pct  # noqa: E402
from idle_conns import health_latencies, open_idle, still_open, us  # noqa: E402

NGINX_CONF = """worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log;
events {{ worker_connections {conns}; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = /health {{
            default_type application/json;
            return 200 '{{"status":"ok"}}';
        }}
    }}
}}
"""


class Nginx:
    def __init__(self, work, conns):
        self.work = work
        self.port = roostlib.free_ports(1)[0]
        conf = os.path.join(work, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(work=work, port=self.port, conns=conns + 64,
                                     nofile=2 * conns + 128))
        self.proc = subprocess.Popen([shutil.which("nginx"), "-c", conf, "-p", work],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                lat, _ = health_latencies(self.port, 1)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not answer")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class Roost:
    def __init__(self, work, binary):
        self.srv = roostlib.Server(work, binary=binary)
        self.srv.start()
        self.port = self.srv.ports["fleet"]

    def stop(self):
        self.srv.stop()


def one_round(make, conns, requests):
    work = tempfile.mkdtemp(prefix="roost-idlelat-")
    server = make(work)
    socks = []
    try:
        time.sleep(0.3)
        lat0, bad0 = health_latencies(server.port, requests)
        socks, failed = open_idle(server.port, conns)
        time.sleep(0.3)
        latn, badn = health_latencies(server.port, requests)
        held = still_open(socks)
        return pct(lat0, 50), pct(lat0, 99), pct(latn, 50), pct(latn, 99), held, \
            failed + bad0 + badn
    finally:
        for s in socks:
            s.close()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("roostd", nargs="?", default=os.path.join(HERE, "..", "build", "roostd"))
    ap.add_argument("--before", help="an older roostd to measure beside it")
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-nginx", action="store_true")
    a = ap.parse_args()
    roostlib.raise_nofile()
    servers = [("roostd", lambda w: Roost(w, os.path.abspath(a.roostd)))]
    if a.before:
        servers.append(("before", lambda w: Roost(w, os.path.abspath(a.before))))
    if not a.no_nginx and shutil.which("nginx"):
        servers.append(("nginx", lambda w: Nginx(w, a.conns)))
    elif not a.no_nginx:
        print("nginx: not installed (tools/deps.sh installs nginx-light); skipped")
    ratios = {name: [] for name, _ in servers}
    for r in range(a.rounds):
        for name, make in servers:
            p50_0, p99_0, p50_n, p99_n, held, errors = one_round(make, a.conns, a.requests)
            ratios[name].append(p50_n / p50_0)
            print(f"round {r + 1} {name:7} 0 idle: p50 {us(p50_0)} p99 {us(p99_0)} | "
                  f"{held} idle: p50 {us(p50_n)} p99 {us(p99_n)} | p50 ratio "
                  f"{p50_n / p50_0:.2f}x | errors {errors}", flush=True)
    for name, rs in ratios.items():
        rs = sorted(rs)
        print(f"{name:7} p50 ratio ({a.conns} idle held / none), median of {len(rs)}: "
              f"{rs[len(rs) // 2]:.2f}x (all: {', '.join(f'{x:.2f}' for x in rs)})")


if __name__ == "__main__":
    main()
