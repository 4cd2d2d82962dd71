"""Streaks (rpg.md §8.8), the XP timeline (§4.8) and health decay (§8.4)
as the wall clock moves, against the debug build (build/debug/roostd,
`make debug`): the clock is moved through the port's fault table,
POST /_fault {"kind":"os","op":"clock_wall","nth":1,"after":false,
"err":"+86400000"}.

How the clock fault works (port/linux/os.c): from the nth clock_wall read
after arming, the wall clock reads `err` ms later, and the jump stays
after disarming. With "after": true every later read would add the jump
again (the clock would run away a day per read), so each shift arms nth=1
once and disarms; one arming moves at most a day (±86400000), so two days
are two armings. DELETE /_fault answers how often it fired: exactly once.

The issue overrides the spec: streaks and the timeline count LOCAL dates
(the server's zone). roostd runs with a POSIX TZ of a fixed offset chosen
from the time the test runs, so that local dates are not UTC dates (and,
for the midnight test, so that the local midnight and the UTC midnight
fall on different sides of a shift). The tests compute the expected local
date from that offset; they never assert durations.

HTTP responses carry a Date a day or more off once the clock moved, so the
shared Date check of roostlib (within seconds of the test's clock) is
relaxed to "present and well formed" here.
"""

import datetime
import os
import sys
import warnings

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import roostlib                                   # noqa: E402
import rpglib                                     # noqa: E402
from test_faults import debug_roostd              # noqa: E402

with warnings.catch_warnings():
    # its @pytest.mark.needs is registered by tests/integration/conftest.py
    warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
    from test_rpg_game import (Claude, claude_pane, companion_of, game_server,  # noqa: E402
                               git_repo, persona_of, repo_pane, settle, summary,
                               timeline, tuid, wait_companion, wait_persona, wait_xp)
from rpglib import post_event                     # noqa: E402

DAY_MS = 86400000

tmux = rpglib.tmux
_clean_tmux = rpglib.clean_tmux

_strict_check_common = roostlib.check_common


@pytest.fixture(autouse=True)
def lenient_date(monkeypatch):
    def check(resp, head=False):
        date = resp.header("Date")
        if resp.status >= 200:
            assert date is not None and roostlib.IMF_FIXDATE.match(date), resp
    monkeypatch.setattr(roostlib, "check_common", check)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def posix_tz(hours_east):
    """A fixed-offset zone: POSIX offsets count west, so +14 is RST-14."""
    return f"RST{-hours_east}"


def server(tmp_path, tmux, hours_east):
    return game_server(tmp_path / "srv", tmux, obs=False, binary=debug_roostd(),
                       args=["--diag.faults=true"], env={"TZ": posix_tz(hours_east)})


def fault(srv, method, body=None):
    r = rpglib.call(srv, method, "/_fault", body)
    assert r.status == 200, r
    return r.json()


def shift(srv, ms):
    """Move roostd's wall clock ms later (at most a day): armed once, fired
    exactly once, disarmed (the jump stays)."""
    assert 0 < ms <= DAY_MS
    fault(srv, "POST", {"kind": "os", "op": "clock_wall", "nth": 1, "after": False,
                        "err": f"+{ms}"})
    j = fault(srv, "DELETE")
    assert j["os_fired"] == 1, j


def shift_days(srv, days):
    for _ in range(days):
        shift(srv, DAY_MS)


class Clock:
    """What the server's clock reads (the test's clock + the shifts) and its
    local and UTC dates."""

    def __init__(self, hours_east):
        self.east = datetime.timedelta(hours=hours_east)
        self.moved = datetime.timedelta(0)

    def now(self):
        return utcnow() + self.moved

    def local(self, days=0):
        return (self.now() + self.east + datetime.timedelta(days=days)).date().isoformat()

    def utc(self):
        return self.now().date().isoformat()


def streak(srv, project_id):
    return companion_of(srv, project_id)["streak"]


def wait_streak(srv, project_id, current, longest):
    return settle(lambda: streak(srv, project_id),
                  lambda s: (s["current"], s["longest"]) == (current, longest),
                  f"streak current {current} longest {longest}")


def test_streak_across_local_days(tmux, tmp_path):
    h = utcnow().hour
    east = 14 if h >= 11 else -12      # local date != UTC date, local midnight >= 1 h away
    clock = Clock(east)
    srv = server(tmp_path, tmux, east)
    try:
        root = git_repo(tmp_path / "acme" / "streaky")
        p, proj = repo_pane(srv, tmux, root)
        cl = Claude(srv, p, cwd=root)
        d0 = clock.local()
        assert d0 != clock.utc(), "the zone chosen does not separate local and UTC dates"

        cl.edit()
        s = wait_streak(srv, proj["id"], 1, 1)
        assert s["lastActiveDate"] == d0, (s, d0, clock.utc())
        tl = timeline(srv, proj["id"], "project", 1)
        assert tl == [{"date": clock.local(-1), "xp": 0}, {"date": d0, "xp": 3}], tl

        # the same day: a tool use and a stop leave it as it is
        cl.edit()
        cl.stop()
        c = wait_companion(srv, proj["id"], lambda c: c["stats"]["sessionsCompleted"] == 1,
                           "the stop counted")
        assert c["streak"] == {"current": 1, "longest": 1, "lastActiveDate": d0}, c["streak"]

        shift_days(srv, 1)
        clock.moved += datetime.timedelta(days=1)
        cl.edit()
        s = wait_streak(srv, proj["id"], 2, 2)
        assert s["lastActiveDate"] == clock.local() and clock.local(-1) == d0, (s, d0)

        shift_days(srv, 2)                 # a day without activity in between
        clock.moved += datetime.timedelta(days=2)
        cl.edit()
        s = wait_streak(srv, proj["id"], 1, 2)
        assert s["lastActiveDate"] == clock.local(), s

        cl.edit()
        cl.stop()
        c = wait_companion(srv, proj["id"], lambda c: c["stats"]["sessionsCompleted"] == 2,
                           "the second stop counted")
        assert c["streak"] == {"current": 1, "longest": 2,
                               "lastActiveDate": clock.local()}, c["streak"]

        shift_days(srv, 1)                 # a stop alone keeps the streak going
        clock.moved += datetime.timedelta(days=1)
        cl.stop()
        s = wait_streak(srv, proj["id"], 2, 2)
        assert s["lastActiveDate"] == clock.local(), s

        # the timeline by local date: d0 6, d0+1 3, d0+2 0, d0+3 6, d0+4 (today) 0
        want = [{"date": clock.local(-k), "xp": xp}
                for k, xp in ((5, 0), (4, 6), (3, 3), (2, 0), (1, 6), (0, 0))]
        assert want[1]["date"] == d0
        assert timeline(srv, proj["id"], "project", 5) == want
        per = persona_of(srv, cl.session)
        assert timeline(srv, per["id"], "persona", 5) == want
        assert srv.alive(), srv.logs()
    finally:
        if srv.alive():
            srv.stop()


def test_streak_follows_the_local_midnight_not_the_utc_one(tmux, tmp_path):
    """A shift of a few hours that crosses the local midnight and not the UTC
    one (streak + 1), or the UTC one and not the local one (unchanged),
    whichever the time of day allows."""
    now = utcnow()
    h = now.hour
    if h <= 20:
        east = 23 - h if 23 - h <= 14 else 23 - h - 24     # local time 23:xx
        hours, want, local_days = 2, 2, 1                   # local date + 1, UTC date same
    else:
        east = 12 - h                                       # local time 12:xx
        hours, want, local_days = 25 - h, 1, 0              # UTC date + 1, local date same
    clock = Clock(east)
    srv = server(tmp_path, tmux, east)
    try:
        root = git_repo(tmp_path / "acme" / "midnight")
        p, proj = repo_pane(srv, tmux, root)
        cl = Claude(srv, p, cwd=root)
        cl.edit()
        s = wait_streak(srv, proj["id"], 1, 1)
        d0, u0 = clock.local(), clock.utc()
        assert s["lastActiveDate"] == d0, (s, d0)
        shift(srv, hours * 3600000)
        clock.moved += datetime.timedelta(hours=hours)
        # what the shift crossed, as the test's clock sees it
        assert (clock.local() != d0, clock.utc() != u0) == \
            ((True, False) if local_days else (False, True)), (d0, u0, clock.local())
        cl.edit()
        s = wait_companion(srv, proj["id"], lambda c: c["stats"]["toolsUsed"].get("Edit") == 2,
                           "the second edit counted")["streak"]
        assert s["lastActiveDate"] == clock.local(), (s, d0, u0)
        assert (s["current"], s["longest"]) == (want, want), (s, east, hours)
        tl = timeline(srv, proj["id"], "project", 1)
        if local_days:
            assert tl == [{"date": d0, "xp": 3}, {"date": clock.local(), "xp": 3}], tl
        else:
            assert tl == [{"date": clock.local(-1), "xp": 0}, {"date": d0, "xp": 6}], tl
    finally:
        if srv.alive():
            srv.stop()


def test_energy_decays_with_the_wall_clock(tmux, tmp_path):
    """§8.4: before each update energy loses floor(minutes since lastUpdated
    x 0.5), then the update's deltas apply, clamped to 0-100; reads do not
    decay."""
    clock = Clock(0)
    srv = server(tmp_path, tmux, 0)
    try:
        p = claude_pane(srv, tmux, tmp_path)
        cl = Claude(srv, p)
        cl.prompt("start")
        cl.edit()
        per = wait_persona(srv, cl.session, lambda x: x["totalXp"] == 3)
        assert (per["health"]["energy"], per["health"]["morale"]) == (100, 100), per

        shift(srv, 30 * 60000)              # 30 minutes: -15
        clock.moved += datetime.timedelta(minutes=30)
        assert persona_of(srv, cl.session)["health"] == per["health"]   # no decay on read
        cl.edit()                           # +2
        per = wait_persona(srv, cl.session, lambda x: x["totalXp"] == 6)
        assert (per["health"]["energy"], per["health"]["morale"]) == (87, 100), per

        shift(srv, 61 * 60000)              # 61 minutes: floor(30.5) = 30
        clock.moved += datetime.timedelta(minutes=61)
        cl.prompt("again")                  # +10
        per = wait_persona(srv, cl.session, lambda x: x["health"]["energy"] != 87)
        assert per["health"]["energy"] == 67, per

        shift_days(srv, 1)                  # 1440 minutes: -720
        clock.moved += datetime.timedelta(days=1)
        cl.edit()                           # +2
        per = wait_persona(srv, cl.session, lambda x: x["totalXp"] == 9)
        # 67 - 720 + 2, clamped: 0; or the decay stops at 0 and the +2 adds: 2
        # (§8.4 is read both ways)
        assert per["health"]["energy"] in (0, 2) and per["health"]["morale"] == 100, per
        assert per["health"]["lastUpdated"][:10] == clock.utc(), per
    finally:
        if srv.alive():
            srv.stop()


def test_duplicate_window_is_five_minutes(tmux, tmp_path):
    """§5 step 3: a hook is a duplicate when the same type, session and
    tool_use_id was seen in the last 5 minutes; seen longer ago it counts
    again."""
    srv = server(tmp_path, tmux, 0)
    try:
        p = claude_pane(srv, tmux, tmp_path)
        cl = Claude(srv, p)
        t1, t2 = tuid(), tuid()
        a = cl.post("Edit", tool_use_id=t1)
        b = cl.post("Write", tool_use_id=t2)
        wait_xp(srv, cl.session, 3 + 5)
        shift(srv, 4 * 60000)
        post_event(srv, a)                  # 4 minutes later: a duplicate
        cl.post("Read")
        wait_xp(srv, cl.session, 3 + 5 + 1)
        shift(srv, 2 * 60000)
        post_event(srv, b)                  # 6 minutes after it was seen: counted
        per = wait_xp(srv, cl.session, 3 + 5 + 1 + 5)
        assert summary(srv, per["id"]) == [{"category": "tool_use", "total": 14, "count": 4}]
    finally:
        if srv.alive():
            srv.stop()
