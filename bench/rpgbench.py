"""What bench/rpg_poll.py and bench/rpg_ws.py share: a private tmux server
laid out with windows, panes and streaming fake claudes
(tests/integration/rpglib.py, data/fake_claude), a roostd with only the rpg
family watching it, and roostd's CPU time and VmRSS from /proc."""

import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import roostlib  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    """User + system CPU seconds of process pid so far (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def layout(tmux, windows, panes_per_window, claude, stream_ms, width):
    """windows x panes_per_window panes (tiled); the first pane of the first
    `claude` windows runs the fake claude printing a `tick` line every
    stream_ms ms (0: quiet), the others are shells. Returns the pane ids
    of the claude panes."""
    claude_panes = []
    for i in range(windows):
        if i < claude:
            cmd = [tmux.claude, "--stream", str(stream_ms), "--width", str(width)]
            wid, first = tmux.new_window(cmd, name=f"bench-{i}")
            claude_panes.append(first)
        else:
            wid, first = tmux.new_window(None, name=f"bench-{i}")
        for _ in range(panes_per_window - 1):
            tmux.split(wid)
            tmux.run("select-layout", "-t", wid, "tiled")
    return claude_panes


def claude_grid(tmux, count, per_window, stream_ms, width):
    """count fake claude panes streaming, per_window of them tiled in each
    window; their pane ids."""
    panes = []
    w = 0
    while len(panes) < count:
        cmd = [tmux.claude, "--stream", str(stream_ms), "--width", str(width)]
        wid, first = tmux.new_window(cmd, name=f"stream-{w}")
        panes.append(first)
        for _ in range(min(per_window, count - len(panes) + 1) - 1):
            panes.append(tmux.split(wid, cmd))
            tmux.run("select-layout", "-t", wid, "tiled")
        w += 1
    return panes


def start_server(binary, tmux, args=()):
    """roostd with only rpg, its defaults unless args say otherwise; the
    heartbeat is left at its default (30 s)."""
    work = tempfile.mkdtemp(prefix="roost-rpgbench-")
    others = [f"--{f}.enabled=false" for f in ("fleet", "observability", "documents", "agents")]
    srv = roostlib.Server(work, binary=binary, args=others + ["--log_level=warn"] + list(args),
                          env={"TMUX_TMPDIR": tmux.tmpdir})
    for k in ("TMUX", "TMUX_PANE"):
        srv.env.pop(k, None)
    srv.ports = {"rpg": srv.ports["rpg"]}
    srv.start()
    return srv, work


def wait_panes(srv, n_panes, n_claude, timeout=30.0):
    """Until GET /api/windows lists n_panes panes, n_claude of them Claude
    panes with content; False if it never does (a build without rpg)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            r = srv.request("rpg", "GET", "/api/windows")
        except OSError:
            r = None
        if r is not None and r.status == 200:
            s = r.json()["data"]
            cl = [p for p in s["panes"] if p["process"]["type"] == "claude"
                  and "terminalContent" in p]
            if len(s["panes"]) >= n_panes and len(cl) >= n_claude:
                return True
        time.sleep(0.2)
    return False
