"""The turn's batch of observability events under injected faults (debug
build, /_fault; see test_faults.py): no event is acknowledged unless it is
committed, and none is broadcast unless it is committed.

  - every write of the database fails (os write EIO, every call) while a
    burst is posted: no commit succeeds, so no event of the burst gets an
    answer (their connections close: a client retries), none is stored,
    none reaches the /ws subscriber; once the disk works again roost
    records and broadcasts as before.
  - one sqlite allocation fails (the Nth, for a range of N) during a
    burst: wherever it lands (an event's own statements: that event alone
    is answered 5xx; the commit, or a failure that makes sqlite end the
    transaction: the batch's events get no answer), an event answered 200
    is stored and broadcast exactly once, any other is neither.
"""

import json
import os
import sys
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import roostlib                                   # noqa: E402
from obslib import FAM, burst, event, stored_tags, ws_events_until   # noqa: E402
from faultlib import Ctl                            # noqa: E402
from wslib import WS                               # noqa: E402


@pytest.fixture(scope="module")
def ctl(tmp_path_factory):
    c = Ctl(tmp_path_factory.mktemp("obs-batch-faults"))
    yield c
    c.srv.stop()


def fan_out():
    return max(2, min(20, roostlib.limits()["CFG_MAX_CONNS"] - 4))


def classify(answers, per):
    acked, refused, unanswered = set(), set(), set()
    for c, conn in enumerate(answers):
        for i, a in enumerate(conn):
            n = c * per + i
            if a is None:
                unanswered.add(n)
            elif a[0] == 200:
                assert a[1] == b'{"ok":true}', a
                acked.add(n)
            else:
                assert a[0] >= 500, (n, a)
                assert "detail" in json.loads(a[1]), a
                refused.add(n)
    return acked, refused, unanswered


def test_commit_fails_no_event_is_acknowledged(ctl):
    srv = ctl.srv
    session = str(uuid.uuid4())
    conns, per = fan_out(), 2
    with WS(srv.ports[FAM]) as ws:
        ctl.arm("os", "write", 1, after=True, err="EIO")
        try:
            answers = burst(srv.ports[FAM], [[event(session, c * per + i) for i in range(per)]
                                             for c in range(conns)])
        finally:
            fired = ctl.disarm()
        assert fired > 0
        acked, refused, unanswered = classify(answers, per)
        assert not acked and not refused, (acked, refused)
        assert len(unanswered) == conns * per
        # the disk works again: recorded and broadcast as before, and the
        # subscriber's next event is this one (nothing of the burst came)
        marker = conns * per
        ctl.post(event(session, marker))
        assert ws_events_until(ws, session, marker) == [marker]
    assert stored_tags(srv, session) == [marker]
    again = burst(srv.ports[FAM], [[event(session, marker + 1 + c)] for c in range(conns)])
    assert all(a is not None and a[0] == 200 for conn in again for a in conn), again


# Every 7th allocation of the first 400: a burst of 20 events makes about
# that many, so the fault lands in every part of a batch (an event's
# statements, the savepoints, the commit) across the runs.
@pytest.mark.parametrize("nth", list(range(1, 400, 7)))
def test_sqlite_allocation_fails_in_a_burst(ctl, nth):
    srv = ctl.srv
    session = str(uuid.uuid4())
    conns, per = fan_out(), 1
    with WS(srv.ports[FAM]) as ws:
        ctl.arm("sqlite", "", nth)
        try:
            answers = burst(srv.ports[FAM], [[event(session, c)] for c in range(conns)])
        finally:
            ctl.disarm()
        acked, refused, unanswered = classify(answers, per)
        marker = conns
        ctl.post(event(session, marker))
        seen = ws_events_until(ws, session, marker)
    assert len(seen) == len(set(seen)), seen
    assert set(seen) == acked | {marker}, (sorted(seen), sorted(acked), sorted(refused),
                                           sorted(unanswered))
    assert sorted(stored_tags(srv, session)) == sorted(acked | {marker})
