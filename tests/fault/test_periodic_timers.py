"""Periodic timers under a timer fault.

A periodic timer re-arms itself from its own callback with timer_again, in
the slot it still holds, so it never asks the pool again (core/timer.h).
Here every timer_start is refused (a timer fault armed "nth=1 and after")
while the builder WebSocket heartbeat beats every 100 ms and the tmux poll
ticks every 50 ms: the pongs keep coming, and once the fault is disarmed
the pool holds exactly the timers it held before (the poll's tick is one
of them). Before timer_again, the first beat under the fault was the last,
and the rpg event log's daily prune, which fires a minute after start,
was lost the same way (found by fault-long: roost_timers_used 2 -> 1)."""

import time
import uuid

import pytest

from faultlib import Ctl             # first: it puts tests/integration on the path
import roostlib                     # noqa: E402
from wslib import OP_TEXT, WS          # noqa: E402


def timers_used(srv):
    r = srv.request("fleet", "GET", "/metrics", headers={"X-API-Key": srv.api_key()})
    assert r.status == 200, r
    for line in r.body.decode().splitlines():
        if line.startswith("roost_timers_used "):
            return float(line.split()[1])
    raise AssertionError("no roost_timers_used in /metrics")


def pongs(ws, seconds):
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            m = ws.recv_message(max(0.05, end - time.monotonic()))
        except AssertionError as e:          # wslib: nothing within the time
            if "no answer within" not in str(e):
                raise
            break
        assert m.opcode == OP_TEXT, m
        assert m.payload == b'{"type":"pong"}', m.payload
        n += 1
    return n


@pytest.fixture
def ctl(tmp_path):
    c = Ctl(tmp_path, args=["--fleet.ws_heartbeat_ms=100", "--rpg.poll_interval_ms=50"])
    yield c
    c.srv.stop()


def test_periodic_timers_keep_running_while_every_timer_start_is_refused(ctl):
    srv = ctl.srv
    ws = WS(srv.ports["fleet"], path=f"/ws/builder/{uuid.uuid4()}", read_init=False,
            timeout=5)
    try:
        assert pongs(ws, 0.35) >= 1, "no heartbeat before the fault"
        roostlib.wait_for(lambda: timers_used(srv) == timers_used(srv), 2.0,
                          what="a steady timer count")
        base = timers_used(srv)
        assert base >= 2, f"the heartbeat and the tmux poll each hold a timer: {base}"
        ctl.arm("timer", "", 1, after=True)
        try:
            got = pongs(ws, 1.0)
        finally:
            fired = ctl.disarm()
        assert fired >= 1, "nothing asked for a timer while the fault was armed"
        # 10 beats are due in that second; a heartbeat that lost its timer
        # sends none after the first
        assert got >= 4, f"{got} pongs in 1 s at a 100 ms heartbeat under the fault"
        roostlib.wait_for(lambda: timers_used(srv) == base, 2.0,
                          what=f"roost_timers_used back to {base}")
        assert pongs(ws, 0.35) >= 1
    finally:
        ws.close()
