#!/usr/bin/env python3
"""bench/rpg_ws.py - the rpg /ws fan-out with many clients and one that
never reads: every reading client must get every `windows` change in
order, the stuck one is paused then closed (spec rpg.md §9.4), and
roostd's memory stays flat; this roostd and an older one side by side.

Usage: bench/rpg_ws.py [path/to/roostd] [--before path/to/old/roostd]
                       [--clients 100] [--stream-panes 8] [--stream-ms 100]
                       [--width 90] [--changes 20] [--gap 0.5]
                       [--seconds 30] [--max-buffer 1048576] [--rounds 1]

For each server in turn, --rounds times (rounds interleaved): a private
tmux server (tests/integration/rpglib.py) with --stream-panes fake claudes
(tests/integration/data/fake_claude), four tiled to a window, each printing
a --width line every --stream-ms ms, and roostd with only the rpg family
(rpg.ws_max_buffer_bytes = --max-buffer, so that the stuck client reaches
it within the run; every other setting its default). Then --clients /ws
clients connect: all but one are read by a separate process (one thread,
epoll, server pings answered); the last one clamps its receive window
(SO_RCVBUF 4 KiB, MSS 536) and never reads. While the panes stream, the
bench makes --changes changes to the windows, one at a time --gap s apart
(odd: POST /api/windows/create of a window `chg-<k>`; even: rename it to
`chg-<k>`), and waits for every reading client to receive a `windows`
message showing it; the run lasts at least --seconds. roostd's VmRSS is
sampled every 0.5 s.

Per run it prints: whether every reading client saw every change, in
order (the changes visible in its successive `windows` messages never go
back and none is missing), and how many got exactly the same sequence of
`windows` messages as the first; the delay from a change's request to its
`windows` message, p50 and p99 over all clients and changes; what the
stuck client finally reads (its `windows` messages: paused clients drop
them; its close frame: 1013 "backpressure" once its queue passes
--max-buffer); VmRSS first, max, last. Then the medians and the ratios.
Measures, does not pass or fail (bench/README.md).
"""

import argparse
import hashlib
import json
import multiprocessing
import os
import selectors
import shutil
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import pct  # noqa: E402
from rpgbench import claude_grid, rss_kib, start_server, wait_panes  # noqa: E402
import roostlib  # noqa: E402
import rpglib  # noqa: E402
import wslib  # noqa: E402

BASE_WINDOWS = 4


def marker(payload):
    """The last change (k of `chg-<k>`) a windows payload shows."""
    best = 0
    for w in payload:
        name = w.get("windowName", "")
        if name.startswith("chg-") and name[4:].isdigit():
            best = max(best, int(name[4:]))
    return best


def digest(payload):
    return hashlib.sha1(json.dumps(rpglib.strip_content(payload), sort_keys=True)
                        .encode()).hexdigest()


class Sub:
    def __init__(self, sock, first):
        self.sock = sock
        self.first = first        # bytes that came with the 101
        self.rest = b""
        self.asm = wslib.Assembler()
        self.windows = []         # (arrival wall time, marker, digest)
        self.touts = 0
        self.bytes = 0
        self.close = None
        self.eof = False


def readers_proc(conn, port, n):
    """The reading clients, in a process of their own."""
    roostlib.raise_nofile()
    subs = []
    for _ in range(n):
        s, first = wslib.open_socket(port)
        s.setblocking(False)
        subs.append(Sub(s, first))
    sel = selectors.DefaultSelector()
    for i, sb in enumerate(subs):
        sel.register(sb.sock, selectors.EVENT_READ, i)
    conn.send(("ready", n))
    waiting = None              # (k, change wall time)

    def feed(sb, data):
        sb.bytes += len(data)
        frames, sb.rest = wslib.parse_frames(sb.rest + data)
        now = time.time()
        for f in frames:
            if f.opcode == wslib.OP_PING:
                try:
                    sb.sock.send(wslib.build_frame(wslib.OP_PONG, f.payload))
                except OSError:
                    pass
                continue
            m = sb.asm.add(f)
            if m is None:
                continue
            if m.opcode == wslib.OP_CLOSE:
                sb.close = (m.frame.close_code, m.frame.close_reason
                            if m.frame.close_code is not None else "")
                continue
            head = m.payload[:40]
            if b'"terminal_output"' in head:
                sb.touts += 1
            elif b'"windows"' in head:
                j = json.loads(m.payload)
                if j.get("type") == "windows":
                    sb.windows.append((now, marker(j["payload"]), digest(j["payload"])))

    # the on-connect messages already received
    for sb in subs:
        feed(sb, sb.first)
    while True:
        for key, _ in sel.select(0.05):
            sb = subs[key.data]
            try:
                d = sb.sock.recv(1 << 20)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                d = b""
            if not d:
                sb.eof = True
                sel.unregister(sb.sock)
                continue
            feed(sb, d)
        if conn.poll():
            cmd = conn.recv()
            if cmd[0] == "wait":
                waiting = (cmd[1], cmd[2], time.monotonic() + cmd[3])
            elif cmd[0] == "stop":
                conn.send(("summary", [(sb.windows, sb.touts, sb.bytes, sb.close, sb.eof)
                                       for sb in subs]))
                for sb in subs:
                    sb.sock.close()
                return
        if waiting is not None:
            k, t_change, deadline = waiting
            seen = []
            for sb in subs:
                arr = next((t for t, mk, _ in sb.windows if mk >= k), None)
                if arr is None:
                    break
                seen.append(arr - t_change)
            if len(seen) == len(subs):
                conn.send(("seen", k, seen))
                waiting = None
            elif time.monotonic() > deadline:
                conn.send(("timeout", k, len(seen)))
                waiting = None


def read_stuck(sock, first):
    """Everything the stuck client was sent, read at last (first: what
    came with the 101): (windows messages, terminal_output messages, close
    frame or None)."""
    sock.settimeout(3.0)
    rest = b""
    pending = first
    asm = wslib.Assembler()
    wins = touts = 0
    close = None
    while True:
        if pending:
            d, pending = pending, b""
        else:
            try:
                d = sock.recv(1 << 20)
            except socket.timeout:
                break
            except OSError:
                break
        if not d:
            break
        frames, rest = wslib.parse_frames(rest + d)
        try:
            for f in frames:
                wslib.check_server_frame(f)
                m = asm.add(f)
                if m is None:
                    continue
                if m.opcode == wslib.OP_CLOSE:
                    close = (m.frame.close_code, m.frame.close_reason)
                elif b'"windows"' in m.payload[:40]:
                    wins += 1
                elif b'"terminal_output"' in m.payload[:40]:
                    touts += 1
        except (AssertionError, UnicodeDecodeError) as e:
            return wins, touts, f"BROKEN STREAM after {wins + touts} messages: {str(e)[:120]}"
        if close is not None:
            break
    return wins, touts, close


def change(srv, k, wids):
    if k % 2 == 1:
        r = srv.request("rpg", "POST", "/api/windows/create",
                        headers={"Content-Type": "application/json"},
                        body=json.dumps({"windowName": f"chg-{k}"}))
        if r.status == 200:
            wids[k] = r.json()["data"]["windowId"]
    else:
        wid = wids.get(k - 1)
        r = srv.request("rpg", "POST", f"/api/windows/{rpglib.enc(wid or '@0')}/rename",
                        headers={"Content-Type": "application/json"},
                        body=json.dumps({"windowName": f"chg-{k}"}))
    return r.status


def one_run(binary, args):
    tmux = rpglib.Tmux(prefix="rpgw-").start()
    srv = work = proc = stuck = None
    rss = []
    stop_rss = threading.Event()
    try:
        for i in range(BASE_WINDOWS):
            tmux.new_window(None, name=f"base-{i}")
        stream_panes = claude_grid(tmux, args.stream_panes, 4, args.stream_ms, args.width)
        srv, work = start_server(binary, tmux, [f"--rpg.ws_max_buffer_bytes={args.max_buffer}"])
        n_panes = 1 + BASE_WINDOWS + args.stream_panes
        if not wait_panes(srv, n_panes, args.stream_panes):
            return None, "GET /api/windows never listed every pane (no rpg in this build?)"

        def sample():
            while not stop_rss.is_set():
                try:
                    rss.append(rss_kib(srv.pid))
                except OSError:
                    return
                stop_rss.wait(0.5)

        threading.Thread(target=sample, daemon=True).start()
        parent, child = multiprocessing.Pipe()
        proc = multiprocessing.Process(target=readers_proc,
                                       args=(child, srv.ports["rpg"], args.clients - 1))
        proc.start()
        if not parent.poll(60):
            return None, "the reading clients did not connect"
        parent.recv()
        stuck, stuck_first = wslib.open_socket(srv.ports["rpg"], rcvbuf=4096, mss=536)
        t_start = time.monotonic()
        lat = []
        problems = []
        wids = {}
        for k in range(1, args.changes + 1):
            t = time.time()
            st = change(srv, k, wids)
            if st != 200:
                problems.append(f"change {k} answered {st}")
                break
            parent.send(("wait", k, t, 30.0))
            reply = parent.recv()
            if reply[0] != "seen":
                problems.append(f"change {k}: only {reply[2]} of {args.clients - 1} clients "
                                f"got it within 30 s")
                break
            lat.extend(x * 1000.0 for x in reply[2])
            time.sleep(args.gap)
        while time.monotonic() - t_start < args.seconds:
            time.sleep(0.2)
        parent.send(("stop",))
        summary = parent.recv()[1]
        proc.join(10)
        stop_rss.set()
        # What the stuck client holds is what roostd queued for it during
        # the run: stop the output first, then read it.
        for p in stream_panes:
            tmux.type_line(p, "/stream 0")
        wins, touts, close = read_stuck(stuck, stuck_first)
        # every reading client: every change, in order
        in_order = same = 0
        first = [d for _, _, d in summary[0][0]]
        for windows, _, _, cl, eof in summary:
            marks = [mk for _, mk, _ in windows]
            if (marks == sorted(marks) and set(range(1, args.changes + 1)) <= set(marks)
                    and cl is None and not eof):
                in_order += 1
            if [d for _, _, d in windows] == first:
                same += 1
        res = {"p50": pct(lat, 50), "p99": pct(lat, 99), "in_order": in_order, "same": same,
               "readers": len(summary), "stuck_windows": wins, "stuck_touts": touts,
               "stuck_close": close, "rss_first": rss[0] if rss else -1,
               "rss_max": max(rss) if rss else -1, "rss_last": rss[-1] if rss else -1,
               "touts": sum(s[1] for s in summary) / max(1, len(summary)),
               "mb_per_client": sum(s[2] for s in summary) / max(1, len(summary)) / 1e6}
        return res, "; ".join(problems)
    finally:
        stop_rss.set()
        if proc is not None and proc.is_alive():
            proc.terminate()
            proc.join(5)
        if stuck is not None:
            stuck.close()
        if srv is not None:
            srv.stop()
        tmux.cleanup()
        if work:
            shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("roostd", nargs="?", default=os.path.join(HERE, "..", "build", "roostd"))
    ap.add_argument("--before", help="an older roostd to measure beside it")
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--stream-panes", type=int, default=8)
    ap.add_argument("--stream-ms", type=int, default=100)
    ap.add_argument("--width", type=int, default=90)
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument("--gap", type=float, default=0.5)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--max-buffer", type=int, default=1048576)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    roostlib.raise_nofile()
    rpglib.real_tmux()
    servers = [("this", os.path.abspath(args.roostd))]
    if args.before:
        servers.append(("before", os.path.abspath(args.before)))
    print(f"rpg /ws: {args.clients} clients (one never reads), {args.stream_panes} fake "
          f"claudes printing every {args.stream_ms} ms, {args.changes} windows changes, "
          f">= {args.seconds:.0f} s per run, rpg.ws_max_buffer_bytes {args.max_buffer}")
    got = {name: [] for name, _ in servers}
    for rnd in range(args.rounds):
        for name, binary in servers:
            res, problems = one_run(binary, args)
            if res is None:
                print(f"round {rnd + 1} {name:6} n/a: {problems}", flush=True)
                continue
            verdict = "ok" if not problems else "INVALID: " + problems
            print(f"round {rnd + 1} {name:6} every change in order: {res['in_order']}/"
                  f"{res['readers']} clients, same windows sequence: {res['same']}/"
                  f"{res['readers']}; change -> windows p50 {res['p50']:6.1f} ms p99 "
                  f"{res['p99']:6.1f} ms; per client {res['touts']:.0f} terminal_output, "
                  f"{res['mb_per_client']:.1f} MB; stuck client: {res['stuck_windows']} windows, "
                  f"{res['stuck_touts']} terminal_output, close {res['stuck_close']}; "
                  f"VmRSS {res['rss_first']} / max {res['rss_max']} / last {res['rss_last']} KiB"
                  f"  {verdict}", flush=True)
            if not problems:
                got[name].append(res)
    med = {}
    for name, _ in servers:
        if got[name]:
            med[name] = {k: pct([r[k] for r in got[name]], 50)
                         for k in ("p50", "p99", "rss_max")}
            m = med[name]
            print(f"{name:6} median change -> windows p50 {m['p50']:6.1f} ms p99 "
                  f"{m['p99']:6.1f} ms, VmRSS max {m['rss_max']} KiB")
    if "this" in med and "before" in med:
        a, b = med["this"], med["before"]
        print(f"ratio before/this: p50 {b['p50'] / a['p50']:.2f}x, p99 {b['p99'] / a['p99']:.2f}x,"
              f" VmRSS max {b['rss_max'] / a['rss_max']:.2f}x (> 1: this is better)")


if __name__ == "__main__":
    main()
