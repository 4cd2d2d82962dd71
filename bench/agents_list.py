#!/usr/bin/env python3
"""bench/agents_list.py - GET /agents over many blueprints, and what it costs
in memory.

Usage: bench/agents_list.py [path/to/roostd] [--agents 1000] [--rounds 5]
                            [--desc-bytes 200] [--prompt-bytes 0]

Writes --agents blueprints into a fresh agents directory the way upstream's
tools lay them out (agent.json, with a system prompt of --prompt-bytes when
not 0), in random order, starts roostd on it (the agents family only), then
times GET /agents --rounds times on one keep-alive connection and checks
each answer: every agent, sorted by name, its description as written. It
prints the time of each round, the median, the answer's size, and roostd's
VmRSS (from /proc/<pid>/status) before the first request and after the
last: the list is produced in fixed memory (spec: agents.md §4.2; the
family's out.c), so VmRSS does not grow with the number of agents.

Measures, does not pass or fail (bench/README.md).
"""

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import roostlib  # noqa: E402


def vmrss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def make_agents(root, n, desc_bytes, prompt_bytes):
    names = [f"agent-{i:05d}" for i in range(n)]
    random.shuffle(names)
    for name in names:
        d = os.path.join(root, name)
        os.makedirs(d)
        desc = (f"{name} " * (desc_bytes // 12 + 1))[:desc_bytes]
        with open(os.path.join(d, "agent.json"), "w") as f:
            json.dump({"name": name, "description": desc, "skills": ["pdf"]}, f, indent=2)
            f.write("\n")
        if prompt_bytes:
            with open(os.path.join(d, "agent.system-prompt.md"), "w") as f:
                f.write(("p" * prompt_bytes))
    return sorted(names)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("roostd", nargs="?", default=os.path.join(HERE, "..", "build", "roostd"))
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--desc-bytes", type=int, default=200)
    ap.add_argument("--prompt-bytes", type=int, default=0)
    a = ap.parse_args()
    os.environ["ROOSTD"] = os.path.abspath(a.roostd)
    work = tempfile.mkdtemp(prefix="roost-agents-bench-")
    try:
        agents_dir = os.path.join(work, "agents")
        names = make_agents(agents_dir, a.agents, a.desc_bytes, a.prompt_bytes)
        off = [f"--{f}.enabled=false" for f in roostlib.built_families() if f != "agents"]
        srv = roostlib.Server(os.path.join(work, "srv"), ports={"agents": roostlib.free_ports(1)[0]},
                              args=[f"--agents.dir={agents_dir}"] + off)
        srv.start()
        try:
            before = vmrss_kib(srv.pid)
            conn = http.client.HTTPConnection("127.0.0.1", srv.ports["agents"], timeout=120)
            times = []
            size = 0
            for _ in range(a.rounds):
                t0 = time.perf_counter()
                conn.request("GET", "/agents")
                r = conn.getresponse()
                body = r.read()
                times.append(time.perf_counter() - t0)
                assert r.status == 200, r.status
                got = json.loads(body)
                assert [x["name"] for x in got] == names, "not every agent, or not in order"
                size = len(body)
            after = vmrss_kib(srv.pid)
            conn.close()
        finally:
            srv.stop()
        print(f"agents {a.agents}  answer {size} bytes  rounds "
              + " ".join(f"{t * 1000:.1f}ms" for t in times)
              + f"  median {statistics.median(times) * 1000:.1f} ms")
        print(f"roostd VmRSS: {before} KiB before, {after} KiB after")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
