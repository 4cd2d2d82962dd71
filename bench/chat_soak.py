#!/usr/bin/env python3
"""bench/chat_soak.py - many rounds of 200 concurrent fleet chat streams.

The long version of tests/integration/test_chat_soak.py. Starts the fake LLM
provider (tests/integration/fakellm.py) in a child process and roostd with
only the fleet family, one Anthropic provider pointing at the fake, on free
ports with a throw-away data dir; creates one bot; then runs --rounds rounds.
A round opens --streams ``POST /api/v1/bots/{id}/chat/stream`` as fast as
one thread can connect (one connection each) and reads them all on one
selector until every stream has ended. The fake answers every call with
--pieces text deltas, --delay seconds apart, so the streams of a round
overlap.

Per round it prints: streams that were complete and well-formed (session,
the scripted text, usage, done), VmRSS once the round is over, the chat
heap's and the curl heap's high water, the most chats at once, and the
client's p50 / p99 time to first token (connect to the first text_delta)
and total stream time (connect to the end of the body). --shim runs roostd
under the malloc shim (tests/shim/countmalloc.c) and prints its verdict at
the end.

Measures, does not pass or fail (bench/README.md): the exit status is 0
unless roostd cannot be started or dies. The client, the fake and roostd
share the machine: the timings are the whole machine's.
"""

import argparse
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import roostlib  # noqa: E402
from benchlib import pct  # noqa: E402
from fleetlib import Fleet  # noqa: E402
from test_chat_soak import (STREAMS, metrics, read_shim_report, round_errors,  # noqa: E402
                            rss_kib, run_round, wait_idle)


def fake_process(conn, pieces, delay):
    """The fake provider, in its own process (its threads would otherwise
    share the client's GIL): sends its base_url, serves until told to stop."""
    import fakellm
    fake = fakellm.FakeLLM().start()
    fake.script(fakellm.text(pieces, delay=delay, input_tokens=20, output_tokens=len(pieces)),
                times=None)
    conn.send(fake.base_url)
    conn.recv()
    errors = len(fake.errors) + len(fake.unmatched)
    fake.stop()
    conn.send(errors)


def ms(x):
    return f"{x * 1000:7.0f}" if x == x else "      -"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("roostd", nargs="?", default=os.path.join(HERE, "..", "build", "roostd"))
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", 10)))
    ap.add_argument("--streams", type=int, default=int(os.environ.get("STREAMS", STREAMS)))
    ap.add_argument("--pieces", type=int, default=20, help="text deltas per reply")
    ap.add_argument("--delay", type=float, default=0.1, help="seconds between two deltas")
    ap.add_argument("--shim", default=None, help="run roostd under this malloc shim")
    a = ap.parse_args()

    roostd = os.path.abspath(a.roostd)
    if not os.access(roostd, os.X_OK):
        sys.exit(f"bench: {roostd} is not an executable")
    roostlib.raise_nofile()
    pieces = [f"piece {k:02d} of the soak reply \u00e9\u20ac\U0001F98A; " for k in range(a.pieces)]
    text = "".join(pieces)

    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    fake = ctx.Process(target=fake_process, args=(child, pieces, a.delay), daemon=True)
    fake.start()
    base_url = parent.recv()

    work = tempfile.mkdtemp(prefix="roost-chat-soak-")
    args = ["--llm.providers=anthropic", "--llm.provider.anthropic.kind=anthropic",
            f"--llm.provider.anthropic.base_url={base_url}",
            "--llm.provider.anthropic.default_model=soak-model",
            "--llm.provider.anthropic.timeout_ms=30000"]
    args += [f"--{f}.enabled=false" for f in roostlib.FAMILIES if f != "fleet"]
    report = os.path.join(work, "shim-report.txt")
    srv = roostlib.Server(work, args=args, binary=roostd, ports={"fleet": roostlib.free_ports(1)[0]},
                          preload=os.path.abspath(a.shim) if a.shim else None)
    if a.shim:
        srv.env["ROOST_SHIM_REPORT"] = report
    rc = 0
    try:
        srv.start()
        print(f"roostd: {roostd}" + (f" (under {a.shim})" if a.shim else ""))
        print(f"host:   {os.uname().sysname} {os.uname().release} {os.uname().machine}, "
              f"{os.cpu_count()} CPU(s)")
        print(f"target: fleet 127.0.0.1:{srv.ports['fleet']}, {a.rounds} rounds of {a.streams} "
              f"concurrent chat streams, {a.pieces} deltas {a.delay:g} s apart per reply")
        key = srv.api_key()
        bot = Fleet(srv).create_bot("Soak Bot")["id"]
        m = metrics(srv)
        print(f"fresh:  VmRSS {rss_kib(srv.pid)} KiB; chat heap {m['roost_chat_heap_bytes'] / 1024:.0f}"
              f" KiB, curl heap {m['roost_out_heap_bytes'] / 1024:.0f} KiB, "
              f"curl heap in use {m['roost_out_heap_used_bytes'] / 1024:.0f} KiB")
        print("round  ok/streams  VmRSS KiB  chat heap hw KiB  curl heap hw KiB  "
              "most at once  ttft p50 p99 ms  total p50 p99 ms")
        first_rss = None
        for rnd in range(1, a.rounds + 1):
            streams = run_round(srv.ports["fleet"], key, bot, text, n=a.streams,
                                tag=f"round {rnd}", timeout=60.0 + a.pieces * a.delay * 4)
            bad = round_errors(streams)
            if not srv.alive():
                print(f"roostd died (exit {srv.proc.returncode}) in round {rnd}\n{srv.logs()}")
                rc = 1
                break
            try:
                m = wait_idle(srv)
            except AssertionError as e:
                print(f"       {e}")
                m = metrics(srv)
            rss = rss_kib(srv.pid)
            first_rss = rss if first_rss is None else first_rss
            good = [s for s in streams if s.error is None]
            ttft = [s.t_first - s.t_start for s in good]
            total = [s.t_end - s.t_start for s in good]
            print(f"{rnd:5d}  {len(good):5d}/{len(streams):<5d} {rss:10d}  "
                  f"{m['roost_chat_heap_high_water_bytes'] / 1024:16.0f}  "
                  f"{m['roost_out_heap_high_water_bytes'] / 1024:16.0f}  "
                  f"{m['roost_chat_active_high_water']:12.0f}  "
                  f"{ms(pct(ttft, 50))} {ms(pct(ttft, 99))}  {ms(pct(total, 50))} {ms(pct(total, 99))}",
                  flush=True)
            if bad:
                print(f"       {len(bad)} bad, e.g. {bad[0][:200]!r}")
        m = metrics(srv)
        print(f"after:  VmRSS {rss_kib(srv.pid)} KiB ({rss_kib(srv.pid) - (first_rss or 0):+d} "
              f"since round 1); chat heap in use {m['roost_chat_heap_used_bytes']:.0f} B, "
              f"curl heap in use {m['roost_out_heap_used_bytes'] / 1024:.0f} KiB, tls heap hw "
              f"{m['roost_tls_heap_high_water_bytes'] / 1024:.0f} KiB; refused "
              f"{m['roost_chat_refused_total']:.0f}, failed {m['roost_chat_failed_total']:.0f}, "
              f"heap failures chat {m['roost_chat_heap_failures_total']:.0f} curl "
              f"{m['roost_out_heap_failures_total']:.0f}")
    finally:
        if srv.alive():
            srv.stop(expect_rc=None)
        parent.send("stop")
        fake_errors = parent.recv() if parent.poll(10) else "?"
        fake.join(5)
        if fake_errors:
            print(f"fake provider: {fake_errors} internal error(s) or unmatched request(s)")
    if a.shim and os.path.exists(report):
        try:
            r = read_shim_report(report)
            print(f"shim:   allocs_after_poll={r['allocs']} frees_after_poll={r['frees']}")
        except AssertionError as e:
            print(f"shim:   {str(e).splitlines()[0]}")
    shutil.rmtree(work, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
