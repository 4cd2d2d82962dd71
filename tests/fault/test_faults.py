"""The fault suite: every fixed allocator and every OS operation of port/ made
to fail at its Nth call, under a mixed workload, against the debug build
(build/debug/roostd, `make debug`: CFG_FAULT, `--diag.faults=true`, /_fault).

As SQLite tests itself, a loop arms one fault, runs the workload, disarms and
checks; then the next N, until two runs at the same N no longer reach the
Nth call (the fault did not fire; the workload alternates its soul size).
`make fault-short` walks a short schedule of N (1 to 24, then 34, 55, 89,
...) for every fault; `make fault-long` walks every N and then the "every
call from N on" variants, round after round, for FAULT_SECONDS.

The workload of one run (one roostd for the whole suite, the fake LLM
provider of tests/integration/fakellm.py answering every call):

  1. fleet: create a bot, write its soul, update it, list the bots
  2. fleet: one chat turn with the bot (SSE), the fake provider answering
  3. observability: a /ws subscriber, then POST /events; the event must
     reach the subscriber
  4. fleet: delete a bot created by an earlier run

What each fault must produce (and nothing else: no crash, no hang, no 4xx
for a valid request, no malformed response):

  pool conns        the connection is refused with 503 + Retry-After (the
                    family's error shape), or a WebSocket upgrade is refused
                    with 503; later requests work.
  pool body_slots   503 in the family's shape for a body larger than rx
                    (every other run's soul is).
  heap chat         chat: 503 before the stream, or the stream's documented
                    `error` event then `done`; other requests unaffected.
  heap out          (curl + c-ares) the chat's LLM call fails: `error`
                    event then `done` (after the fallback chain).
  sqlite            fleet: 500/503 in the fleet envelope; observability:
                    5xx {"detail": ...}, or, when the commit of the
                    turn's batch fails, the connection closed unanswered
                    (no 2xx for an event not committed); chat: 503, or
                    `error` + `done`;
                    the database stays intact (PRAGMA integrity_check ok)
                    and nothing acknowledged before is lost.
  timer             chat: the stream ends with `error` + `done` (no first
                    agent, or the LLM call not started); nothing else uses
                    timers in this workload.
  slot stream       the /ws upgrade is answered 101 then closed 1013 (an
                    SSE stream would get 503); the event is still stored.
  slot chat         chat: 503 in the fleet envelope.
  slot agent        chat: the stream's `error` (no agent slot) + `done`.
  os accept EMFILE  the connection waits in the kernel's backlog and is
                    accepted on a later turn; or 503.
  os recv ECONNRESET / send EAGAIN, short writes / EINTR
                    that connection closes (the client sees a reset or an
                    incomplete response), or the call is retried; the
                    process and every other connection carry on.
  os write/fsync/rename ENOSPC, EIO; open EACCES
                    the write is answered 5xx in the family's shape and the
                    previous content stays (soul files, documents); an
                    observability event whose batch cannot be committed
                    gets no answer (its connection closes).
  os clock_mono +60000
                    deadlines fire early (408, 1001/1006 closes); nothing
                    else.

After every run, with the fault disarmed:

  - the process is alive;
  - every response of the run was a success or one of the errors above;
  - pool counts (connections, buffers, body slots), timers, stream
    subscribers, chat requests and agents, LLM slots and the chat heap's
    bytes in use are back to their baseline;
  - every acknowledged write is there (bots, souls, deleted bots gone,
    observability events broadcast and stored);
  - `PRAGMA integrity_check` on the database is `ok` (on a copy of the
    database and its WAL: roostd keeps the file locked while it runs).

OS faults go through port_fault_arm (port/port.h). While the port has no
operations table, /_fault answers 501 and those tests fail with a message
saying so: they are not skipped.
"""

import http.client
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import fakellm                     # noqa: E402
import roostlib                    # noqa: E402
from fakellm import FakeLLM        # noqa: E402
from roostlib import assert_error_shape, wait_for   # noqa: E402
from test_chat import SSE          # noqa: E402
from wslib import OP_CLOSE, WS, UpgradeRefused   # noqa: E402

LONG = os.environ.get("FAULT_LONG") == "1"
VERBOSE = os.environ.get("FAULT_VERBOSE") == "1"
FAULT_SECONDS = float(os.environ.get("FAULT_SECONDS", "600"))
SHORT_SCHEDULE = tuple(range(1, 25)) + (34, 55, 89, 144, 233, 377, 610, 987)
MAX_N = 100000
API = "/api/v1"

# (kind, op): the allocation faults. tls is left out: the fake provider is
# plain HTTP, so the TLS heap is not used after init.
ALLOC_FAULTS = [("pool", "conns"), ("pool", "body_slots"), ("heap", "chat"),
                ("heap", "out"), ("sqlite", ""), ("timer", ""), ("slot", "stream"),
                ("slot", "chat"), ("slot", "agent")]
# pool bufs and the LLM slots are not armed: their "full" answer is a wait
# for a buffer or a slot another user gives back (DESIGN.md, Memory; a chat
# agent waits for an LLM slot), which a fault on an idle server never gets.
AFTER_OK = {("heap", "chat"), ("heap", "out"), ("sqlite", ""), ("timer", ""),
            ("slot", "stream"), ("slot", "chat"), ("slot", "agent")}

OS_FAULTS = [("accept", "EMFILE"), ("recv", "ECONNRESET"), ("recv", "EINTR"),
             ("send", "EAGAIN"), ("send_short", ""), ("send", "EINTR"),
             ("open", "EACCES"), ("write", "ENOSPC"), ("write", "EIO"),
             ("fsync", "EIO"), ("rename", "ENOSPC"), ("clock_mono", "+60000")]

# What a client sees when its connection is refused or reset, or when a
# response is cut: a response rendered in windows whose later pass fails
# (or changes) is cut (DESIGN.md, Memory), so a write answered that way may
# or may not be stored.
CUT = (ConnectionError, http.client.HTTPException)

BASELINE_GAUGES = ("roost_pool_used", "roost_timers_used", "roost_stream_subscribers",
                   "roost_chat_active", "roost_chat_agents", "roost_llm_slots_used",
                   "roost_chat_heap_used_bytes")


def debug_roostd():
    path = os.environ.get("ROOSTD_DEBUG") or os.path.join(roostlib.REPO, "build", "debug",
                                                          "roostd")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"no debug roostd at {path} (make debug)")
    return path


class Faulty:
    """One debug roostd with the fault channel open and a fake provider."""

    def __init__(self, workdir):
        self.fake = FakeLLM(default=fakellm.text("Hello", " from", " the fake")).start()
        args = ["--diag.faults=true", "--llm.providers=anth",
                "--llm.provider.anth.kind=anthropic",
                f"--llm.provider.anth.base_url={self.fake.base_url}",
                "--llm.provider.anth.default_model=fault-model",
                "--llm.provider.anth.timeout_ms=3000"]
        self.srv = roostlib.Server(workdir, args=args, binary=debug_roostd())
        self.srv.start()
        self.key = self.srv.api_key()
        self.bots = {}          # id -> {"slug", "soul"}: acknowledged, not deleted
        self.deleted = set()    # ids whose delete was acknowledged
        self.timeouts_ok = False  # a clock fault: 408 and a cut stream are documented too
        self.obs_events = []    # (session_id, content) acknowledged
        self.run = 0

    def stop(self):
        if self.srv.alive():
            self.srv.stop()
        self.fake.stop()

    # -- plumbing -----------------------------------------------------------
    def call(self, fam, method, path, body=None):
        h = {"X-API-Key": self.key} if fam == "fleet" else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        return self.srv.request(fam, method, path, headers=h, body=data)

    def ctl(self, method, body=None, tries=50):
        """/_fault on the documents listener, retried while the armed fault
        refuses the control request's own connection."""
        last = None
        for _ in range(tries):
            try:
                r = self.call("documents", method, "/_fault", body)
            except (OSError, AssertionError) as e:
                last = e
                time.sleep(0.02)
                continue
            if r.status == 503:
                last = r
                time.sleep(0.02)
                continue
            return r
        raise AssertionError(f"/_fault {method} kept failing: {last!r}\n{self.logs()}")

    def arm(self, kind, op, nth, after=False, err=""):
        r = self.ctl("POST", {"kind": kind, "op": op, "nth": nth, "after": after, "err": err})
        if r.status == 501:
            pytest.fail(f"OS fault {op} {err}: this build's port has no operations table "
                        f"(port_fault_arm answered ST_UNSUPPORTED): needs port/'s OS "
                        f"operations table with fault arming", pytrace=False)
        assert r.status == 200, f"arming {kind} {op} {nth}: {r!r}"

    def disarm(self):
        r = self.ctl("DELETE")
        assert r.status == 200, r
        j = r.json()
        return j["alloc_fired"] + j["os_fired"]

    def metrics(self):
        r = self.call("fleet", "GET", "/metrics")
        assert r.status == 200, r
        vals = {}
        for line in r.body.decode().splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name, _, v = line.rpartition(" ")
            vals[name] = float(v)
        return vals

    def gauges(self):
        m = self.metrics()
        return {k: v for k, v in m.items() if k.split("{")[0] in BASELINE_GAUGES}

    def logs(self):
        return self.srv.logs()[-4000:]

    # -- the workload -------------------------------------------------------
    def documented(self, status):
        """A documented error for the armed fault: a 5xx, or a 408 while the
        clock jumps (a request's deadline passes at once)."""
        return status >= 500 or (self.timeouts_ok and status == 408)

    def fleet_ok_or_5xx(self, r, what):
        if 200 <= r.status < 300:
            return True
        assert self.documented(r.status), f"{what}: {r!r}"
        assert_error_shape("fleet", r, r.status)
        return False

    def workload(self):
        self.run += 1
        tag = f"{self.run}-{uuid.uuid4().hex[:6]}"
        out = []
        # 1. fleet CRUD and a soul write
        bot = None
        try:
            r = self.call("fleet", "POST", f"{API}/bots", {"name": f"Fault Bot {tag}"})
            if self.fleet_ok_or_5xx(r, "create bot"):
                d = r.json()["data"]
                bot = {"id": d["id"], "slug": d["slug"], "soul": None}
                self.bots[d["id"]] = bot
            out.append(("create", r.status))
        except CUT as e:
            out.append(("create", repr(e)))
        if bot is not None:
            soul = f"# Soul {tag}\n\nWrites under faults.\n"
            if self.run % 2 == 0:
                # larger than an rx buffer: the body takes a body slot
                soul += "Long soul. " * (roostlib.limits()["CFG_BUF_BYTES"] // 10)
            try:
                r = self.call("fleet", "PUT", f"{API}/bots/{bot['slug']}/soul",
                              {"content": soul})
                if self.fleet_ok_or_5xx(r, "put soul"):
                    bot["soul"] = soul
                    bot["soul_maybe"] = None
                out.append(("soul", r.status))
            except CUT as e:
                bot["soul_maybe"] = soul      # stored or not: either is right
                out.append(("soul", repr(e)))
        if bot is not None:
            desc = f"updated {tag}"
            try:
                r = self.call("fleet", "PUT", f"{API}/bots/{bot['id']}", {"description": desc})
                if self.fleet_ok_or_5xx(r, "update bot"):
                    bot["description"] = desc
                    bot["description_maybe"] = None
                out.append(("update", r.status))
            except CUT as e:
                bot["description_maybe"] = desc
                out.append(("update", repr(e)))
        try:
            r = self.call("fleet", "GET", f"{API}/bots")
            self.fleet_ok_or_5xx(r, "list bots")
        except CUT as e:
            out.append(("list", repr(e)))
        # 2. a chat turn
        target = bot or next(iter(self.bots.values()), None)
        if target is not None:
            out.append(("chat", self.chat(target)))
        # 3. observability: a subscriber and an event
        out.append(("obs", self.obs_event(tag)))
        # 4. delete a bot of an earlier run
        old = [b for i, b in self.bots.items() if b is not bot]
        if len(old) > 3:
            victim = old[0]
            try:
                r = self.call("fleet", "DELETE", f"{API}/bots/{victim['id']}")
                if r.status == 404:
                    assert victim.get("maybe_deleted"), f"delete bot: {r!r}"
                    del self.bots[victim["id"]]
                elif self.fleet_ok_or_5xx(r, "delete bot"):
                    self.deleted.add(victim["id"])
                    del self.bots[victim["id"]]
            except CUT as e:
                out.append(("delete", repr(e)))
        return out

    def chat(self, bot):
        try:
            s = SSE(self.srv, bot["id"], {"message": "Hello under faults"}, key=self.key)
        except (ConnectionError, AssertionError) as e:
            return repr(e)
        if s.status != 200:
            assert self.documented(s.status), f"chat: {s.resp!r}"
            assert_error_shape("fleet", s.resp, s.status)
            return s.status
        while s.next() is not None:
            pass
        names = s.names()
        if names and names[-1] == "done":
            return "error" if "error" in names else "ok"
        # Only a clock fault may cut a stream: the monotonic clock jumped past
        # the connection's send deadline (CFG_SEND_TIMEOUT_MS), which closes
        # it, as a client that stopped reading would be
        assert self.timeouts_ok, f"chat did not end with done: {names}"
        return "cut"

    def obs_event(self, tag):
        sid = f"fault-{tag}"
        ws = None
        try:
            ws = WS(self.srv.ports["observability"])
        except UpgradeRefused as e:
            assert "503" in str(e), e
        except (ConnectionError, AssertionError, OSError):
            ws = None        # a reset or a close during the upgrade (OS faults)
        body = {"event_type": "message", "session_id": sid, "session_name": sid,
                "timestamp": "2025-11-25T10:00:00.000001+00:00", "reason": tag}
        acked = False
        try:
            r = self.call("observability", "POST", "/events", body)
            if r.status == 200:
                assert r.json() == {"ok": True}, r
                acked = True
                self.obs_events.append((sid, tag))
            else:
                assert self.documented(r.status), f"POST /events: {r!r}"
                assert_error_shape("observability", r, r.status)
        except CUT:
            pass
        result = "acked" if acked else "failed"
        if ws is not None:
            try:
                if acked:
                    while True:
                        m = ws.recv_message(timeout=3.0)
                        if m.opcode == OP_CLOSE:
                            # a documented close (1011, 1013): the event is
                            # stored, checked after the run
                            result += " ws close"
                            break
                        j = m.json()
                        if j.get("type") == "event" and j["data"]["session_id"] == sid:
                            break
            except (ConnectionError, OSError) as e:
                result += f" ws closed: {e!r}"
            finally:
                ws.close()
        return result

    # -- the checks after a run ---------------------------------------------
    def check_after(self, baseline, label):
        assert self.srv.alive(), f"{label}: roostd died\n{self.logs()}"
        # back to baseline (connections close asynchronously: wait a little)
        got = {}

        def settled():
            got.clear()
            got.update(self.gauges())
            return all(got.get(k) == v for k, v in baseline.items())
        try:
            wait_for(settled, 5.0, what="gauges back to baseline")
        except AssertionError:
            diff = {k: (v, got.get(k)) for k, v in baseline.items() if got.get(k) != v}
            raise AssertionError(f"{label}: not back to baseline (baseline, now): {diff}\n"
                                 f"{self.logs()}")
        # nothing acknowledged is missing
        for bid, b in self.bots.items():
            r = self.call("fleet", "GET", f"{API}/bots/{bid}")
            assert r.status == 200 or (b.get("maybe_deleted") and r.status == 404), \
                f"{label}: acknowledged bot {bid} is gone: {r!r}"
            if b.get("maybe_deleted") and r.status == 404:
                continue
            if b.get("description") is not None:
                assert r.json()["data"]["description"] in (b["description"],
                                                           b.get("description_maybe")), \
                    f"{label}: acknowledged update of {bid} lost"
            if b["soul"] is not None:
                r = self.call("fleet", "GET", f"{API}/bots/{bid}/soul")
                assert r.status == 200, f"{label}: soul of {bid}: {r!r}"
                assert r.json()["data"]["content"] in (b["soul"], b.get("soul_maybe")), \
                    f"{label}: acknowledged soul of {bid} lost"
        for bid in self.deleted:
            r = self.call("fleet", "GET", f"{API}/bots/{bid}")
            assert r.status == 404, f"{label}: deleted bot {bid} is back: {r!r}"
        for sid, tag in self.obs_events:
            r = self.call("observability", "GET", f"/events/{sid}")
            assert r.status == 200, f"{label}: events of {sid}: {r!r}"
            evs = r.json()
            evs = evs.get("events", evs) if isinstance(evs, dict) else evs
            assert any(e.get("reason") == tag for e in evs), \
                f"{label}: acknowledged event {sid} lost: {evs}"
        # the database is intact, as a process that opened it now would find
        # it: roostd keeps the file locked while it runs (store.h), so the
        # check runs on a copy of the database and its WAL, taken while
        # roostd is idle (every answer of the run is in)
        res = integrity_of_copy(self.srv.data_dir)
        assert res == [("ok",)], f"{label}: integrity_check: {res}"


def integrity_of_copy(data_dir):
    """PRAGMA integrity_check of a copy of roost.db and its WAL (the WAL index
    is rebuilt from the WAL when the copy opens)."""
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("roost.db", "roost.db-wal"):
            src = os.path.join(data_dir, name)
            if os.path.exists(src):
                shutil.copyfile(src, os.path.join(tmp, name))
        con = sqlite3.connect(os.path.join(tmp, "roost.db"), timeout=10.0)
        try:
            return con.execute("PRAGMA integrity_check").fetchall()
        finally:
            con.close()


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    roostlib.raise_nofile()
    f = Faulty(tmp_path_factory.mktemp("faults"))
    # warm up (caches, the provider's connection), then the baseline
    for _ in range(3):
        f.workload()
    f.baseline = f.gauges()
    yield f
    f.stop()


def one(faulty, kind, op, nth, after=False, err=""):
    faulty.arm(kind, op, nth, after, err)
    out = None
    try:
        out = faulty.workload()
    finally:
        fired = faulty.disarm()
    label = f"{kind} {op or '*'} {err} nth={nth}{' and after' if after else ''}: {out}"
    faulty.check_after(faulty.baseline, label)
    if VERBOSE:
        print(f"{label} fired={fired}")
    return fired


def schedule():
    return range(1, MAX_N) if LONG else SHORT_SCHEDULE


def walk(faulty, kind, op, err="", after_ok=False, deadline=None):
    """Arm at every N of the schedule until a run no longer fires."""
    fired_any = False
    for nth in schedule():
        if deadline is not None and time.monotonic() > deadline:
            break
        # a miss is tried once more at the same N: the workload alternates
        # its soul size, so consecutive runs make different calls
        if (one(faulty, kind, op, nth, err=err) == 0 and
                one(faulty, kind, op, nth, err=err) == 0):
            break
        fired_any = True
    if after_ok:
        one(faulty, kind, op, 1, after=True, err=err)
        one(faulty, kind, op, 3, after=True, err=err)
    return fired_any


@pytest.mark.parametrize("kind,op", ALLOC_FAULTS, ids=[f"{k}-{o or 'all'}" for k, o in ALLOC_FAULTS])
def test_alloc_fault(faulty, kind, op):
    faulty.timeouts_ok = False
    deadline = time.monotonic() + FAULT_SECONDS / (len(ALLOC_FAULTS) + len(OS_FAULTS)) \
        if LONG else None
    fired = walk(faulty, kind, op, after_ok=(kind, op) in AFTER_OK, deadline=deadline)
    while LONG and time.monotonic() < deadline:      # round after round
        fired = walk(faulty, kind, op, after_ok=(kind, op) in AFTER_OK,
                     deadline=deadline) or fired
    assert fired, f"{kind} {op}: the workload never reached this allocator"


@pytest.mark.parametrize("op,err", OS_FAULTS, ids=[f"{o}-{e or 'short'}" for o, e in OS_FAULTS])
def test_os_fault(faulty, op, err):
    deadline = time.monotonic() + FAULT_SECONDS / (len(ALLOC_FAULTS) + len(OS_FAULTS)) \
        if LONG else None
    faulty.timeouts_ok = op.startswith("clock")
    fired = walk(faulty, "os", op, err=err, after_ok=False, deadline=deadline)
    while LONG and time.monotonic() < deadline:
        fired = walk(faulty, "os", op, err=err, after_ok=False, deadline=deadline) or fired
    assert fired, f"os {op}: the workload never reached this operation"


def test_release_build_has_no_fault_channel(tmp_path):
    """The release binary knows neither the key nor the path."""
    rel = os.path.join(roostlib.REPO, "build", "roostd")
    if not os.access(rel, os.X_OK):
        pytest.fail(f"no release roostd at {rel} (make)")
    p = subprocess.run([rel, "--diag.faults=true", f"--data_dir={tmp_path}/d"],
                       capture_output=True, text=True, timeout=10, env=roostlib.clean_env())
    assert p.returncode != 0 and "diag.faults" in p.stderr, (p.returncode, p.stderr)


def test_fault_channel_refused_off_loopback(tmp_path):
    p = subprocess.run([debug_roostd(), "--diag.faults=true", "--agents.host=0.0.0.0",
                        f"--data_dir={tmp_path}/d", "--fleet.port=0", "--rpg.port=0",
                        "--observability.port=0", "--documents.port=0", "--agents.port=0"],
                       capture_output=True, text=True, timeout=10,
                       env=roostlib.clean_env())
    assert p.returncode != 0 and "diag.faults needs every listener on loopback" in p.stderr, \
        (p.returncode, p.stderr[-2000:])
