"""fleet chat sub-agents, token budget and cancellation (spec/fleet.md §7.4-§7.6,
§8, §9), against the fake LLM provider.

Each test drives one chat request whose root reply contains a
``<spawn_agents>`` block and checks three views of it: the SSE stream
(strict framing and the §8 order, via test_chat.SSE), the same bus objects
on /ws/events, and what the fake provider was asked (children's system
prompts with ``<task>``, the sequential context message, the synthesis
request with ``<sub_agent_results>``).
"""

import time

import pytest

import fakellm
import roostlib
from fakellm import FakeLLM
from fleetlib import Fleet, assert_uuid7, uuid7
from roostlib import IO_TIMEOUT, SLOW, wait_for
from test_chat import (AGENT_CAPABILITIES, BUS_TYPE, STREAM_TIMEOUT,
                       SUB_AGENT_INSTRUCTIONS, SYNTHESIS_TAIL, Bus, chat,
                       check_order, check_sse_headers, identity_md, make_bot, messages,
                       provider_args, session_data, wait_messages)
from wslib import QUIET

# What this file needs built into roostd (conftest.py deselects it, and
# lists it, for a profile without them).
NEEDS = {"fleet", "llm"}

SOUL = "---\nname: Conductor\n---\n\n# Conductor\n\nYou orchestrate.\n"
IDENT = identity_md("Conductor", model="claude-orch", provider="anth", temperature=0.2,
                    max_tokens=900)
BEFORE = "I'll split this up."          # fakellm.spawn's default text before the block

SPAWNED_KEYS = ["type", "agent_id", "parent_id", "task_description", "depth", "index", "total",
                "task"]
COMPLETED_KEYS = ["type", "agent_id", "result_summary", "tokens_used", "duration_ms"]
FAILED_KEYS = ["type", "agent_id", "error", "will_retry"]
CANCELLED_KEYS = ["type", "agent_id", "reason"]
BUDGET_UPDATE_KEYS = ["type", "request_id", "tokens_used", "budget_total", "percentage"]
BUDGET_WARNING_KEYS = ["type", "request_id", "tokens_used", "budget_total"]
BUDGET_EXHAUSTED_KEYS = ["type", "request_id", "tokens_used", "budget_total",
                         "completed_agents", "incomplete_agents"]

BUS_TYPES = ("agent_spawned", "agent_text_delta", "agent_completed", "agent_failed",
             "agent_cancelled", "budget_update", "budget_warning", "budget_exhausted",
             "depth_limit_reached", "cycle_detected", "synthesis_started")


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fake_srv():
    f = FakeLLM().start()
    yield f
    f.stop()


def agent_args(fake, *extra):
    return (["--llm.providers=anth"]
            + provider_args("anth", "anthropic", fake.base_url, "anth-default")
            + list(extra))


@pytest.fixture(scope="module")
def agent_server(roostd, tmp_path_factory, fake_srv):
    srv = roostlib.Server(tmp_path_factory.mktemp("agents"), args=agent_args(fake_srv))
    srv.start()
    yield srv
    srv.stop()


BUDGET = 10000


@pytest.fixture(scope="module")
def budget_server(roostd, tmp_path_factory, fake_srv):
    srv = roostlib.Server(tmp_path_factory.mktemp("budget"), args=agent_args(
        fake_srv, f"--llm.request_budget_tokens={BUDGET}",
        f"--llm.budget_pause_timeout_ms={int(8000 * SLOW)}"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def fake(fake_srv):
    fake_srv.release()
    fake_srv.reset()
    fake_srv.default = None
    yield fake_srv
    fake_srv.release()
    assert not fake_srv.errors, fake_srv.errors


@pytest.fixture
def fleet(agent_server):
    return Fleet(agent_server)


@pytest.fixture
def bus(agent_server):
    b = Bus(agent_server)
    yield b
    b.close()


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def sub_system(task, soul=SOUL, ident=IDENT, capabilities=True):
    parts = [f"<soul>\n{soul.strip()}\n</soul>", f"<identity>\n{ident.strip()}\n</identity>",
             f"<task>\n{task}\n</task>", SUB_AGENT_INSTRUCTIONS]
    if capabilities:
        parts.append(AGENT_CAPABILITIES)
    return "\n\n".join(parts)


def results_block(items):
    """items: (task, status, content) in index order."""
    lines = ["<sub_agent_results>"]
    for task, status, content in items:
        lines.append(f'  <result task="{fakellm.xml_attr(task)}" status="{status}">')
        lines.append(f"    {content}")
        lines.append("  </result>")
    lines.append("</sub_agent_results>")
    return "\n".join(lines) + "\n\n" + SYNTHESIS_TAIL


def root_text(s):
    """Text of the root response: the text_deltas before the first usage
    (or before the first agent event)."""
    out = []
    for n, d in s.events[1:]:
        if n != "text_delta":
            break
        out.append(d["text"])
    return "".join(out)


def synthesis_text(s):
    names = s.names()
    assert "synthesis_started" in names, names
    i = names.index("synthesis_started")
    return "".join(d["text"] for n, d in s.events[i + 1:] if n == "text_delta")


def sse_bus_objects(s):
    """The SSE agent/budget/synthesis events as the bus objects they carry
    (alias fields checked and removed)."""
    out = []
    for n, d in s.events:
        if n in ("session", "text_delta", "usage", "error", "done"):
            continue
        d = dict(d)
        assert d.get("type") == BUS_TYPE.get(n, n), f"SSE {n} carries type {d.get('type')!r}"
        if n == "agent_spawned":
            assert list(d) == SPAWNED_KEYS, d
            assert d.pop("task") == d["task_description"], d
        elif n == "cycle_detected":
            assert d.pop("description") == d["cycle_description"], d
        out.append(d)
    return out


def bus_events(s, bus):
    """The request's events on /ws/events (bus events of other requests, e.g.
    left over by an earlier test, are told apart by their agent and request
    ids)."""
    want = sse_bus_objects(s)
    ids = {d[k] for d in want for k in ("agent_id", "request_id") if d.get(k)}
    bus.drain()
    return [e for e in bus.got if e.get("type") in BUS_TYPES
            and (e.get("agent_id") in ids or e.get("request_id") in ids)]


def check_bus_matches(s, bus):
    """The request's events on /ws/events are the SSE ones, in the same order,
    but for §8's one exception: an agent spawned by the bot's own turn (depth
    1) has parent_id null on the stream and the root's id on the bus. Returns
    the root's id (None when the turn spawned no agent)."""
    want = sse_bus_objects(s)
    got = bus_events(s, bus)
    spawned = [d for d in want if d["type"] == "agent_spawned"]
    for d in spawned:
        assert (d["parent_id"] is None) == (d["depth"] == 1), d
    roots = {e["parent_id"] for e in got if e["type"] == "agent_spawned" and e["depth"] == 1}
    assert len(roots) <= 1, roots
    root_id = roots.pop() if roots else None
    if root_id is not None:
        assert_uuid7(root_id)
        assert root_id not in {d["agent_id"] for d in spawned}, root_id
    want = [dict(d, parent_id=root_id) if d["type"] == "agent_spawned" and d["depth"] == 1
            else d for d in want]
    assert got == want, f"/ws/events:\n{got}\nSSE (depth 1's parent_id set to the root's):\n{want}"
    return root_id


def by_task(s):
    """agent_spawned data by task."""
    return {d["task_description"]: d for d in s.of("agent_spawned")}


def deltas_of(s, agent_id):
    return "".join(d["text"] for d in s.of("agent_text_delta") if d["agent_id"] == agent_id)


def one(items, what="item"):
    assert len(items) == 1, f"expected one {what}, got {items}"
    return items[0]


def finish(s):
    check_sse_headers(s)
    s.finish(STREAM_TIMEOUT)
    check_order(s.names())
    assert "error" not in s.names(), s.events
    return s


def check_budget_updates(s, request_id, total=None):
    for d in s.of("budget_update"):
        assert list(d) == BUDGET_UPDATE_KEYS, d
        assert d["request_id"] == request_id, d
        if total is not None:
            assert d["budget_total"] == total, d
        assert isinstance(d["percentage"], float) or isinstance(d["percentage"], int), d
        assert abs(d["percentage"] - d["tokens_used"] / d["budget_total"] * 100) < 1e-6, d


# ---------------------------------------------------------------------------
# Parallel and sequential spawning
# ---------------------------------------------------------------------------

def test_parallel_spawn(agent_server, fake, fleet, bus):
    bot = make_bot(fleet, "Conductor", identity=IDENT, soul=SOUL, user="")
    root = fake.script(fakellm.spawn(["Alpha task", "Beta task"], input_tokens=50,
                                     output_tokens=20), sub_agent=False, synthesis=False)
    ra = fake.script(fakellm.stall(["alpha ", "result"], after=0, input_tokens=10,
                                   output_tokens=5), task="Alpha task")
    rb = fake.script(fakellm.text("beta ", "result", input_tokens=10, output_tokens=5),
                     task="Beta task")
    syn = fake.script(fakellm.text("Final ", "answer", input_tokens=30, output_tokens=7),
                      synthesis=True, sub_agent=False)
    s = chat(agent_server, bot["id"], "Research X")
    # parallel: Beta runs to its end while Alpha has not answered yet
    wait_for(lambda: rb.requests and rb.requests[0].done.is_set(), STREAM_TIMEOUT,
             what="Beta's call to finish while Alpha stalls")
    assert ra.requests and not ra.requests[0].done.is_set()
    ra.requests[0].release()
    finish(s)
    names = s.names()
    spawn_text = root.reply.text
    assert root_text(s) == spawn_text
    usage = s.of("usage")
    assert usage[0] == {"input_tokens": 50, "output_tokens": 20}, usage
    assert usage[-1] == {"input_tokens": 100, "output_tokens": 37}, usage
    assert len(usage) == 2, usage
    # the children
    sp = by_task(s)
    assert set(sp) == {"Alpha task", "Beta task"}, sp
    a, b = sp["Alpha task"], sp["Beta task"]
    # §8: on the stream the root's children have no parent
    for d, idx in ((a, 0), (b, 1)):
        assert (d["depth"], d["index"], d["total"], d["parent_id"]) == (1, idx, 2, None), d
        assert_uuid7(d["agent_id"])
    assert a["agent_id"] != b["agent_id"]
    assert deltas_of(s, a["agent_id"]) == "alpha result"
    assert deltas_of(s, b["agent_id"]) == "beta result"
    done = {d["agent_id"]: d for d in s.of("agent_completed")}
    assert set(done) == {a["agent_id"], b["agent_id"]}, done
    for d, summary in ((done[a["agent_id"]], "alpha result"), (done[b["agent_id"]],
                                                                "beta result")):
        assert list(d) == COMPLETED_KEYS, d
        assert d["result_summary"] == summary and d["tokens_used"] == 15, d
        assert isinstance(d["duration_ms"], int) and d["duration_ms"] >= 0, d
    # each agent's deltas come after its spawn and before its completion
    for aid in (a["agent_id"], b["agent_id"]):
        idx = [i for i, (n, d) in enumerate(s.events) if d.get("agent_id") == aid]
        kinds = [s.events[i][0] for i in idx]
        assert kinds[0] == "agent_spawned" and kinds[-1] == "agent_completed", kinds
    st = one(s.of("synthesis_started"), "synthesis_started")
    assert list(st) == ["type", "request_id"] and st["type"] == "synthesis_started", st
    assert_uuid7(st["request_id"])
    assert synthesis_text(s) == "Final answer"
    check_budget_updates(s, st["request_id"], 500000)
    assert names.count("budget_exhausted") == 0 and names.count("budget_warning") == 0
    # what the provider was asked
    for r, task in ((ra, "Alpha task"), (rb, "Beta task")):
        req = r.requests[0]
        assert req.system == sub_system(task), f"sub-agent system prompt:\n{req.system}"
        assert req.messages == [{"role": "user", "content": task}], req.messages
        assert req.model == "claude-orch" and req.json["max_tokens"] == 900, req.json
        assert "<instructions>" not in req.system and "<user_context>" not in req.system
    sreq = syn.requests[0]
    assert sreq.task is None
    assert sreq.system == root.requests[0].system
    assert sreq.messages == [
        {"role": "user", "content": "Research X"},
        {"role": "assistant", "content": spawn_text},
        {"role": "user", "content": results_block([("Alpha task", "completed", "alpha result"),
                                                    ("Beta task", "completed",
                                                     "beta result")])}], sreq.messages
    # the same objects on /ws/events, where the children's parent is the root
    root_id = check_bus_matches(s, bus)
    assert root_id not in (a["agent_id"], b["agent_id"], st["request_id"])
    # persisted: the synthesis is the final text, tokens of all five calls
    sid = s.session_id()
    msgs = wait_messages(fleet, sid, 2)
    a_msg = msgs[1]
    assert (a_msg["content"], a_msg["input_tokens"], a_msg["output_tokens"], a_msg["model"],
            a_msg["stop_reason"]) == ("Final answer", 100, 37, "claude-orch", "end_turn"), a_msg
    sess = session_data(fleet, sid)
    assert (sess["total_input_tokens"], sess["total_output_tokens"]) == (100, 37), sess


def test_sequential_spawn(agent_server, fake, fleet, bus):
    bot = make_bot(fleet, "Conductor", identity=IDENT, soul=SOUL)
    fake.script(fakellm.spawn(["Step one", "Step two"], mode="sequential"),
                sub_agent=False, synthesis=False)
    r1 = fake.script(fakellm.text("one ", "result"), task="Step one")
    r2 = fake.script(fakellm.text("two result"), task="Step two")
    syn = fake.script(fakellm.text("Joined"), synthesis=True, sub_agent=False)
    s = finish(chat(agent_server, bot["id"], "Do it in order"))
    sp = s.of("agent_spawned")
    assert [(d["task_description"], d["index"], d["total"]) for d in sp] == \
        [("Step one", 0, 2), ("Step two", 1, 2)], sp
    # the second child starts after the first completed
    names_ids = [(n, d.get("agent_id")) for n, d in s.events]
    assert names_ids.index(("agent_completed", sp[0]["agent_id"])) < \
        names_ids.index(("agent_spawned", sp[1]["agent_id"])), names_ids
    assert r1.requests[0].messages == [{"role": "user", "content": "Step one"}]
    assert r2.requests[0].messages == [
        {"role": "user", "content": "Previous sub-agent result for context:\none result"},
        {"role": "user", "content": "Step two"}], r2.requests[0].messages
    assert r1.requests[0].done.is_set() and r2.requests[0].time >= r1.requests[0].time
    assert synthesis_text(s) == "Joined"
    assert syn.requests[0].messages[-1]["content"] == results_block(
        [("Step one", "completed", "one result"), ("Step two", "completed", "two result")])
    check_bus_matches(s, bus)


def test_task_entities_decoded_and_reescaped(agent_server, fake, fleet):
    bot = make_bot(fleet, "Conductor", identity=IDENT, soul=SOUL)
    task = 'Compare "A" & <B> it\'s'
    fake.script(fakellm.spawn([task]), sub_agent=False, synthesis=False)
    rc = fake.script(fakellm.text("compared"), sub_agent=True)
    syn = fake.script(fakellm.text("ok"), synthesis=True, sub_agent=False)
    s = finish(chat(agent_server, bot["id"]))
    assert one(s.of("agent_spawned"))["task_description"] == task
    assert rc.requests[0].task == task
    assert rc.requests[0].messages == [{"role": "user", "content": task}]
    last = syn.requests[0].messages[-1]["content"]
    assert '<result task="Compare &quot;A&quot; &amp; &lt;B&gt; it' in last, last


def test_no_spawn_without_tasks(agent_server, fake, fleet, bus):
    # a block with empty tasks only is no spawn: a plain turn
    bot = make_bot(fleet, "Conductor", identity=IDENT)
    text = 'Nothing to do\n<spawn_agents mode="parallel">\n  <agent task="" />\n</spawn_agents>'
    fake.script(fakellm.text(text))
    s = finish(chat(agent_server, bot["id"]))
    assert set(s.names()) == {"session", "text_delta", "usage", "done"}, s.names()
    assert s.text() == text
    assert len(fake.requests) == 1
    msgs = wait_messages(fleet, s.session_id(), 2)
    assert msgs[1]["content"] == text


# ---------------------------------------------------------------------------
# Failures and retries
# ---------------------------------------------------------------------------

def test_child_failure_is_retried_once(agent_server, fake, fleet, bus):
    bot = make_bot(fleet, "Conductor", identity=IDENT)
    fake.script(fakellm.spawn(["Flaky", "Steady"]), sub_agent=False, synthesis=False)
    rf1 = fake.script(fakellm.http_error(400, message="bad child"), task="Flaky")
    rf2 = fake.script(fakellm.text("flaky ok"), task="Flaky")
    fake.script(fakellm.text("steady ok"), task="Steady")
    syn = fake.script(fakellm.text("All good"), synthesis=True, sub_agent=False)
    s = finish(chat(agent_server, bot["id"]))
    sp = by_task(s)
    assert len(s.of("agent_spawned")) == 2, "a retry must not spawn a new agent"
    fid = sp["Flaky"]["agent_id"]
    failed = s.of("agent_failed")
    assert failed == [{"type": "agent_failed", "agent_id": fid, "error": "HTTP 400: bad child",
                       "will_retry": True}], failed
    assert list(failed[0]) == FAILED_KEYS
    assert len(rf1.requests) == 1 and len(rf2.requests) == 1
    assert rf2.requests[0].messages == [{"role": "user", "content": "Flaky"}]
    comp = {d["agent_id"]: d for d in s.of("agent_completed")}
    assert comp[fid]["result_summary"] == "flaky ok"
    assert deltas_of(s, fid) == "flaky ok"
    assert syn.requests[0].messages[-1]["content"] == results_block(
        [("Flaky", "completed", "flaky ok"), ("Steady", "completed", "steady ok")])
    assert synthesis_text(s) == "All good"
    check_bus_matches(s, bus)


def test_child_failing_twice_is_failed(agent_server, fake, fleet, bus):
    bot = make_bot(fleet, "Conductor", identity=IDENT)
    fake.script(fakellm.spawn(["Doomed", "Steady"]), sub_agent=False, synthesis=False)
    rd = fake.script(fakellm.http_error(400, message="bad child"), task="Doomed", times=2)
    fake.script(fakellm.text("steady ok"), task="Steady")
    syn = fake.script(fakellm.text("Partial picture"), synthesis=True, sub_agent=False)
    s = finish(chat(agent_server, bot["id"]))
    did = by_task(s)["Doomed"]["agent_id"]
    assert [(d["agent_id"], d["error"], d["will_retry"]) for d in s.of("agent_failed")] == \
        [(did, "HTTP 400: bad child", True), (did, "HTTP 400: bad child", False)]
    assert len(rd.requests) == 2
    assert did not in [d["agent_id"] for d in s.of("agent_completed")]
    assert syn.requests[0].messages[-1]["content"] == results_block(
        [("Doomed", "failed", "Error: HTTP 400: bad child"), ("Steady", "completed",
                                                              "steady ok")])
    assert synthesis_text(s) == "Partial picture"
    check_bus_matches(s, bus)
    msgs = wait_messages(fleet, s.session_id(), 2)
    assert msgs[1]["content"] == "Partial picture"


def test_child_empty_reply_is_no_output(agent_server, fake, fleet):
    bot = make_bot(fleet, "Conductor", identity=IDENT)
    fake.script(fakellm.spawn(["Silent"]), sub_agent=False, synthesis=False)
    fake.script(fakellm.text(), task="Silent")
    syn = fake.script(fakellm.text("Nothing came back"), synthesis=True, sub_agent=False)
    finish(chat(agent_server, bot["id"]))
    last = syn.requests[0].messages[-1]["content"]
    assert '<result task="Silent" status="completed">\n    (no output)\n  </result>' in last, last


def test_root_synthesis_failure_is_an_error(agent_server, fake, fleet):
    bot = make_bot(fleet, "Conductor", identity=IDENT)
    fake.script(fakellm.spawn(["Fine"]), sub_agent=False, synthesis=False)
    fake.script(fakellm.text("fine"), task="Fine")
    fake.script(fakellm.http_error(400, message="no synthesis"), synthesis=True,
                sub_agent=False)
    s = chat(agent_server, bot["id"])
    check_sse_headers(s)
    s.finish()
    check_order(s.names())
    err = one(s.of("error"), "error")
    assert err["message"].startswith("HTTP 400"), err
    time.sleep(QUIET)
    assert messages(fleet, s.session_id()) == []


# ---------------------------------------------------------------------------
# Nesting, depth limit, cycles
# ---------------------------------------------------------------------------

def test_nested_sub_agents(agent_server, fake, fleet, bus):
    bot = make_bot(fleet, "Conductor", identity=IDENT, soul=SOUL)
    fake.script(fakellm.spawn(["Outer"]), sub_agent=False, synthesis=False)
    ro = fake.script(fakellm.spawn(["Inner"], before="Going deeper.\n"), task="Outer",
                     synthesis=False)
    ri = fake.script(fakellm.text("inner result"), task="Inner")
    ros = fake.script(fakellm.text("outer ", "synthesized"), task="Outer", synthesis=True)
    syn = fake.script(fakellm.text("root final"), synthesis=True, sub_agent=False)
    s = finish(chat(agent_server, bot["id"]))
    sp = by_task(s)
    outer, inner = sp["Outer"], sp["Inner"]
    assert (outer["depth"], inner["depth"]) == (1, 2)
    assert outer["parent_id"] is None                   # §8: the root's child, on SSE
    assert inner["parent_id"] == outer["agent_id"]
    assert (inner["index"], inner["total"]) == (0, 1)
    assert ro.requests[0].system == sub_system("Outer")
    assert ri.requests[0].system == sub_system("Inner")         # depth 2 < 3
    assert ros.requests[0].messages == [
        {"role": "user", "content": "Outer"},
        {"role": "assistant", "content": ro.reply.text},
        {"role": "user", "content": results_block([("Inner", "completed", "inner result")])}]
    # the sub-agent's synthesis streams as its own agent_text_delta; only the
    # root announces synthesis_started
    assert deltas_of(s, outer["agent_id"]) == ro.reply.text + "outer synthesized"
    assert len(s.of("synthesis_started")) == 1
    comp = {d["agent_id"]: d for d in s.of("agent_completed")}
    assert comp[outer["agent_id"]]["result_summary"] == "outer synthesized"
    assert syn.requests[0].messages[-1]["content"] == results_block(
        [("Outer", "completed", "outer synthesized")])
    assert synthesis_text(s) == "root final"
    check_bus_matches(s, bus)


def test_sse_parent_id_null_at_depth_one(agent_server, fake, fleet, bus):
    """§8 Compatibility: on the chat stream, an agent spawned by the bot's own
    turn carries parent_id null; the same event on /ws/events carries the
    root's id. A deeper agent carries its parent's id on both."""
    bot = make_bot(fleet, "Conductor", identity=IDENT, soul=SOUL)
    fake.script(fakellm.spawn(["Lead", "Solo"]), sub_agent=False, synthesis=False)
    fake.script(fakellm.spawn(["Helper"], before="Delegating.\n"), task="Lead",
                synthesis=False)
    fake.script(fakellm.text("helped"), task="Helper")
    fake.script(fakellm.text("led"), task="Lead", synthesis=True)
    fake.script(fakellm.text("solo"), task="Solo")
    fake.script(fakellm.text("all done"), synthesis=True, sub_agent=False)
    s = finish(chat(agent_server, bot["id"]))
    raw = {d["task_description"]: d for n, d in s.events if n == "agent_spawned"}
    lead, solo, helper = raw["Lead"], raw["Solo"], raw["Helper"]
    for d in (lead, solo):
        assert d["depth"] == 1 and d["parent_id"] is None, d
        assert list(d) == SPAWNED_KEYS, d           # the member keeps its place
    assert helper["depth"] == 2 and helper["parent_id"] == lead["agent_id"], helper
    bus_spawned = {e["task_description"]: e for e in bus_events(s, bus)
                   if e["type"] == "agent_spawned"}
    root_id = bus_spawned["Lead"]["parent_id"]
    assert_uuid7(root_id)
    assert root_id not in (lead["agent_id"], solo["agent_id"], helper["agent_id"])
    assert bus_spawned["Solo"]["parent_id"] == root_id
    assert bus_spawned["Helper"]["parent_id"] == lead["agent_id"]
    # otherwise the same object: the bus has no alias, the SSE copy its null
    for task, d in raw.items():
        e = dict(bus_spawned[task])
        assert list(e) == SPAWNED_KEYS[:-1], e
        want = dict(d)
        assert want.pop("task") == task
        want["parent_id"] = e["parent_id"] if d["depth"] == 1 else d["parent_id"]
        assert e == want, (e, d)
    # only agent_spawned carries parent_id: the other events of these agents
    # are the same objects on both
    assert check_bus_matches(s, bus) == root_id
    for n, d in s.events:
        if n in ("agent_text_delta", "agent_completed") and d["agent_id"] == lead["agent_id"]:
            assert "parent_id" not in d, d


def test_depth_limit(fresh, fake):
    srv = fresh(args=agent_args(fake, "--llm.max_depth=1"))
    fl = Fleet(srv)
    b = Bus(srv)
    try:
        bot = make_bot(fl, "Conductor", identity=IDENT, soul=SOUL)
        fake.script(fakellm.spawn(["Deep task"]), sub_agent=False, synthesis=False)
        rc = fake.script(fakellm.spawn(["Too deep"], before="Let me delegate.\n"),
                         task="Deep task")
        syn = fake.script(fakellm.text("shallow answer"), synthesis=True, sub_agent=False)
        s = finish(chat(srv, bot["id"]))
        child = one(s.of("agent_spawned"))
        dl = one(s.of("depth_limit"), "depth_limit")
        assert dl == {"type": "depth_limit_reached", "agent_id": child["agent_id"],
                      "attempted_depth": 2, "max_depth": 1}, dl
        # depth 1 is not below max_depth 1: no capabilities section
        assert rc.requests[0].system == sub_system("Deep task", capabilities=False)
        assert all(r.task != "Too deep" for r in fake.requests)
        comp = one(s.of("agent_completed"))
        assert comp["agent_id"] == child["agent_id"]
        last = syn.requests[0].messages[-1]["content"]
        assert '<result task="Deep task" status="completed">' in last, last
        assert rc.reply.text.split("\n")[0] in last and "Too deep" in last, last
        assert synthesis_text(s) == "shallow answer"
        check_bus_matches(s, b)
    finally:
        b.close()


def test_depth_limit_at_root(fresh, fake):
    srv = fresh(args=agent_args(fake, "--llm.max_depth=0"))
    fl = Fleet(srv)
    b = Bus(srv)
    try:
        bot = make_bot(fl, "Conductor", identity=IDENT)
        root = fake.script(fakellm.spawn(["Never"]), sub_agent=False, synthesis=False)
        s = finish(chat(srv, bot["id"]))
        root_id_events = s.of("depth_limit")
        dl = one(root_id_events, "depth_limit")
        assert (dl["type"], dl["attempted_depth"], dl["max_depth"]) == \
            ("depth_limit_reached", 1, 0), dl
        assert_uuid7(dl["agent_id"])
        assert "agent_spawned" not in s.names() and "synthesis_started" not in s.names()
        assert len(fake.requests) == 1
        msgs = wait_messages(fl, s.session_id(), 2)
        assert msgs[1]["content"] == root.reply.text
        check_bus_matches(s, b)
    finally:
        b.close()


def test_cycle_detected(agent_server, fake, fleet, bus):
    bot = make_bot(fleet, "Conductor", identity=IDENT)
    fake.script(fakellm.spawn(["Loop", "loop", "LOOP ", "Loop", "Other"]),
                sub_agent=False, synthesis=False)
    rl = fake.script(fakellm.text("looped"), when=lambda r: r.task is not None
                     and r.task.strip().lower() == "loop", times=None)
    ro = fake.script(fakellm.text("other"), task="Other")
    fake.script(fakellm.text("done looping"), synthesis=True, sub_agent=False)
    s = finish(chat(agent_server, bot["id"]))
    sp = s.of("agent_spawned")
    assert len(rl.requests) == 3 and len(ro.requests) == 1, fake.requests
    assert len(sp) == 4, sp
    assert all(d["parent_id"] is None for d in sp), sp
    root_id = check_bus_matches(s, bus)         # the children's parent on the bus
    cd = one(s.of("cycle_detected"), "cycle_detected")
    assert cd == {"type": "cycle_detected", "agent_id": root_id,
                  "cycle_description": "Task 'loop' has been attempted 4 times (threshold: 3)",
                  "description": "Task 'loop' has been attempted 4 times (threshold: 3)"}, cd
    assert synthesis_text(s) == "done looping"
    check_bus_matches(s, bus)


# ---------------------------------------------------------------------------
# Cancellation (§7.6, decision 2)
# ---------------------------------------------------------------------------

def test_cancel_agent_from_ws(agent_server, fake, fleet, bus):
    bot = make_bot(fleet, "Conductor", identity=IDENT)
    fake.script(fakellm.spawn(["Quick", "Slow"]), sub_agent=False, synthesis=False)
    fake.script(fakellm.text("quick done"), task="Quick")
    rs = fake.script(fakellm.stall(["slow partial ", "never"], after=1), task="Slow")
    syn = fake.script(fakellm.text("Synth without slow"), synthesis=True, sub_agent=False)
    s = chat(agent_server, bot["id"])
    check_sse_headers(s)
    spawned = bus.wait(lambda e: e.get("type") == "agent_spawned"
                       and e.get("task_description") == "Slow", what="Slow spawned")
    slow_id = spawned["agent_id"]
    bus.wait(lambda e: e.get("type") == "agent_text_delta" and e["agent_id"] == slow_id,
             what="Slow's first delta")
    # unknown ids and the root's are ignored
    bus.send({"type": "cancel_agent", "agent_id": uuid7()})
    bus.send({"type": "cancel_agent", "agent_id": spawned["parent_id"]})
    bus.send({"type": "cancel_agent", "agent_id": slow_id})
    ev = bus.wait("agent_cancelled")
    assert ev == {"type": "agent_cancelled", "agent_id": slow_id,
                  "reason": "Cancelled by user"}, ev
    assert list(ev) == CANCELLED_KEYS
    rs.requests[0].wait_closed()
    finish(s)
    assert len(rs.requests) == 1, "a cancelled agent must not be retried"
    last = syn.requests[0].messages[-1]["content"]
    assert '<result task="Slow" status="cancelled">' in last, last
    assert '<result task="Quick" status="completed">\n    quick done\n  </result>' in last, last
    assert synthesis_text(s) == "Synth without slow"
    assert [d["agent_id"] for d in s.of("agent_cancelled")] == [slow_id]
    assert slow_id not in [d["agent_id"] for d in s.of("agent_completed")]
    assert slow_id not in [d["agent_id"] for d in s.of("agent_failed")]
    check_bus_matches(s, bus)


def test_cancel_agent_cancels_descendants(agent_server, fake, fleet, bus):
    bot = make_bot(fleet, "Conductor", identity=IDENT)
    fake.script(fakellm.spawn(["Parent task"]), sub_agent=False, synthesis=False)
    fake.script(fakellm.spawn(["Child task"]), task="Parent task", synthesis=False)
    rc = fake.script(fakellm.stall(["child partial ", "more"], after=1), task="Child task")
    syn = fake.script(fakellm.text("after cancel"), synthesis=True, sub_agent=False)
    s = chat(agent_server, bot["id"])
    check_sse_headers(s)
    parent = bus.wait(lambda e: e.get("type") == "agent_spawned"
                      and e.get("task_description") == "Parent task", what="parent spawned")
    child = bus.wait(lambda e: e.get("type") == "agent_spawned"
                     and e.get("task_description") == "Child task", what="child spawned")
    bus.wait(lambda e: e.get("type") == "agent_text_delta" and e["agent_id"] == child["agent_id"],
             what="child delta")
    bus.send({"type": "cancel_agent", "agent_id": parent["agent_id"]})
    rc.requests[0].wait_closed()
    finish(s)
    cancelled = {d["agent_id"]: d["reason"] for d in s.of("agent_cancelled")}
    assert cancelled == {parent["agent_id"]: "Cancelled by user",
                         child["agent_id"]: "Cancelled by user"}, cancelled
    last = syn.requests[0].messages[-1]["content"]
    assert '<result task="Parent task" status="cancelled">' in last, last
    check_bus_matches(s, bus)


def test_client_disconnect_cancels_sub_agents(agent_server, fake, fleet, bus):
    bot = make_bot(fleet, "Conductor", identity=IDENT)
    root = fake.script(fakellm.spawn(["Left A", "Left B"]), sub_agent=False, synthesis=False)
    ra = fake.script(fakellm.stall(["a partial ", "more"], after=1), task="Left A")
    rb = fake.script(fakellm.stall(["nothing yet"], after=0), task="Left B")
    s = chat(agent_server, bot["id"], "walk away")
    check_sse_headers(s)
    sid = s.next()[1]["session_id"]
    a = bus.wait(lambda e: e.get("type") == "agent_spawned"
                 and e.get("task_description") == "Left A", what="A spawned")
    b = bus.wait(lambda e: e.get("type") == "agent_spawned"
                 and e.get("task_description") == "Left B", what="B spawned")
    bus.wait(lambda e: e.get("type") == "agent_text_delta" and e["agent_id"] == a["agent_id"],
             what="A's delta")
    wait_for(lambda: rb.requests, IO_TIMEOUT, what="B's call")
    s.close()
    ra.requests[0].wait_closed()
    rb.requests[0].wait_closed()
    for agent in (a, b):
        ev = bus.wait(lambda e, aid=agent["agent_id"]: e.get("type") == "agent_cancelled"
                      and e["agent_id"] == aid, what="agent_cancelled")
        assert ev == {"type": "agent_cancelled", "agent_id": agent["agent_id"],
                      "reason": "Client disconnected"}, ev
    # decision 2: the root had produced text, so the turn is saved as far as it got
    msgs = wait_messages(fleet, sid, 2)
    assert [(m["role"], m["content"]) for m in msgs] == \
        [("user", "walk away"), ("assistant", root.reply.text)], msgs
    assert msgs[1]["stop_reason"] == "client_disconnected", msgs[1]
    assert not any(r.task is None and "<sub_agent_results>" in r.last_user
                   for r in fake.requests), "a synthesis call after the client left"


# ---------------------------------------------------------------------------
# Budget (§7.5) on a server with llm.request_budget_tokens=10000
# ---------------------------------------------------------------------------

def budget_turn(srv, fake, fl, alpha_out):
    """Root spawns Alpha and Beta. Beta streams one piece and stalls; Alpha
    answers only once Beta is streaming, reporting 500 + alpha_out tokens."""
    bot = make_bot(fl, "Conductor", identity=IDENT)
    root = fake.script(fakellm.spawn(["Alpha", "Beta"], input_tokens=100, output_tokens=100),
                       sub_agent=False, synthesis=False)
    ra = fake.script(fakellm.stall(["alpha result"], after=0, input_tokens=500,
                                   output_tokens=alpha_out), task="Alpha")
    rb = fake.script(fakellm.stall(["beta part ", "beta rest"], after=1, input_tokens=10,
                                   output_tokens=10), task="Beta")
    s = chat(srv, bot["id"], "big job")
    check_sse_headers(s)
    wait_for(lambda: rb.requests and rb.requests[0].pieces_sent >= 1 and ra.requests,
             STREAM_TIMEOUT, what="Beta streaming and Alpha asked")
    ra.requests[0].release()
    return s, root, ra, rb


@pytest.fixture
def bfleet(budget_server):
    return Fleet(budget_server)


@pytest.fixture
def bbus(budget_server):
    b = Bus(budget_server)
    yield b
    b.close()


def exhausted(bus, s):
    ex = bus.wait("budget_exhausted")
    assert list(ex) == BUDGET_EXHAUSTED_KEYS, ex
    assert ex["budget_total"] == BUDGET and ex["tokens_used"] >= BUDGET, ex
    return ex


def local_assembly(*children):
    return BEFORE + "".join(f"\n\n### {t}\n\n{r}" for t, r in children)


def test_budget_warning_below_the_limit(budget_server, fake, bfleet, bbus):
    s, root, ra, rb = budget_turn(budget_server, fake, bfleet, 7500)   # ~8200 of 10000
    wait_for(lambda: ra.requests[0].done.is_set(), STREAM_TIMEOUT, what="Alpha done")
    warn = bbus.wait("budget_warning")
    fake.script(fakellm.text("synth", input_tokens=10, output_tokens=10), synthesis=True,
                sub_agent=False)
    rb.requests[0].release()
    finish(s)
    assert list(warn) == BUDGET_WARNING_KEYS, warn
    assert warn["budget_total"] == BUDGET and 8000 <= warn["tokens_used"] < BUDGET, warn
    w = one(s.of("budget_warning"), "budget_warning")
    assert w == warn
    assert "budget_exhausted" not in s.names()
    st = one(s.of("synthesis_started"))
    assert warn["request_id"] == st["request_id"]
    assert s.of("budget_update"), "no budget_update after sub-agents ran"
    check_budget_updates(s, st["request_id"], BUDGET)
    assert synthesis_text(s) == "synth"


def test_budget_exhausted_then_stop(budget_server, fake, bfleet, bbus):
    s, root, ra, rb = budget_turn(budget_server, fake, bfleet, 9500)   # > 10000
    ex = exhausted(bbus, s)
    alpha = bbus.wait(lambda e: e.get("type") == "agent_spawned"
                      and e["task_description"] == "Alpha", what="Alpha spawned")
    beta = bbus.wait(lambda e: e.get("type") == "agent_spawned"
                     and e["task_description"] == "Beta", what="Beta spawned")
    # paused: no new LLM call is started
    n = len(fake.requests)
    time.sleep(QUIET)
    assert len(fake.requests) == n == 3, fake.requests
    bbus.send({"type": "budget_stop", "request_id": ex["request_id"]})
    ev = bbus.wait(lambda e: e.get("type") == "agent_cancelled")
    assert ev == {"type": "agent_cancelled", "agent_id": beta["agent_id"],
                  "reason": "Budget exhausted"}, ev
    rb.requests[0].wait_closed()
    finish(s)
    names = s.names()
    i = names.index("synthesis_started")
    assert names[i:] == ["synthesis_started", "text_delta", "usage", "done"], names
    want = local_assembly(("Alpha", "alpha result"))
    assert s.events[i + 1][1] == {"text": want}, s.events[i + 1]
    assert one(s.of("budget_exhausted")) == ex
    assert len(fake.requests) == 3, "a synthesis call after budget_stop"
    msgs = wait_messages(bfleet, s.session_id(), 2)
    assert msgs[1]["content"] == want
    check_bus_matches(s, bbus)
    # Alpha's call had ended (its charge crossed the budget): it is complete,
    # and its result is in the local assembly above
    assert ex["completed_agents"] == [alpha["agent_id"]], ex
    assert ex["incomplete_agents"] == [beta["agent_id"]], ex


def test_budget_exhausted_then_continue(budget_server, fake, bfleet, bbus):
    s, root, ra, rb = budget_turn(budget_server, fake, bfleet, 9500)
    ex = exhausted(bbus, s)
    syn = fake.script(fakellm.text("resumed synthesis", input_tokens=10, output_tokens=10),
                      synthesis=True, sub_agent=False)
    beta = bbus.wait(lambda e: e.get("type") == "agent_spawned"
                     and e["task_description"] == "Beta", what="Beta spawned")
    # paused: Beta's provider sends the rest of its reply, roost does not read it
    rb.requests[0].release()
    wait_for(lambda: rb.requests[0].pieces_sent == 2, IO_TIMEOUT, what="Beta's rest sent")
    time.sleep(QUIET)
    bbus.drain()
    read = [e for e in bbus.got if e.get("type") == "agent_text_delta"
            and e["agent_id"] == beta["agent_id"] and e["text"] == "beta rest"]
    assert read == [], "a sub-agent stream was read while the request was paused"
    bbus.send({"type": "budget_continue", "request_id": ex["request_id"]})
    finish(s)
    assert "agent_cancelled" not in s.names(), s.names()
    beta = by_task(s)["Beta"]
    assert deltas_of(s, beta["agent_id"]) == "beta part beta rest"
    assert beta["agent_id"] in [d["agent_id"] for d in s.of("agent_completed")]
    names = s.names()
    after = [d for n, d in s.events[names.index("budget_exhausted"):] if n == "budget_update"]
    assert after and after[-1]["budget_total"] == 2 * BUDGET, after
    assert synthesis_text(s) == "resumed synthesis"
    assert len(syn.requests) == 1
    assert syn.requests[0].messages[-1]["content"] == results_block(
        [("Alpha", "completed", "alpha result"), ("Beta", "completed", "beta part beta rest")])
    check_bus_matches(s, bbus)


def test_budget_pause_timeout_stops(fresh, fake):
    srv = fresh(args=agent_args(fake, f"--llm.request_budget_tokens={BUDGET}",
                                "--llm.budget_pause_timeout_ms=300"))
    fl = Fleet(srv)
    b = Bus(srv)
    try:
        s, root, ra, rb = budget_turn(srv, fake, fl, 9500)
        finish(s)
        beta = by_task(s)["Beta"]
        assert [(d["agent_id"], d["reason"]) for d in s.of("agent_cancelled")] == \
            [(beta["agent_id"], "Budget exhausted")], s.of("agent_cancelled")
        names = s.names()
        i = names.index("synthesis_started")
        assert names[i:] == ["synthesis_started", "text_delta", "usage", "done"], names
        assert s.events[i + 1][1] == {"text": local_assembly(("Alpha", "alpha result"))}
        rb.requests[0].wait_closed()
        assert len(fake.requests) == 3
        check_bus_matches(s, b)
    finally:
        b.close()


def test_budget_commands_for_other_requests_ignored(budget_server, fake, bfleet, bbus):
    # budget_* naming a request that is not paused does nothing
    bot = make_bot(bfleet, "Plain")
    fake.script(fakellm.stall(["x", "y"], after=1))
    s = chat(budget_server, bot["id"])
    check_sse_headers(s)
    s.next()
    s.next()
    rid = "0194f3e1-0000-7000-8000-000000000000"
    bbus.send({"type": "budget_stop", "request_id": rid})
    bbus.send({"type": "budget_continue", "request_id": rid})
    fake.release()
    finish(s)
    assert s.text() == "xy"


def test_plain_chat_over_budget_is_not_enforced(budget_server, fake, bfleet, bbus):
    # accounting starts with the root call, events and enforcement only with
    # the first spawn: a plain turn far over the budget is a normal turn
    bot = make_bot(bfleet, "Plain")
    fake.script(fakellm.text("big ", "answer", input_tokens=40000, output_tokens=30000))
    s = finish(chat(budget_server, bot["id"]))
    assert s.names()[0] == "session" and s.names()[-2:] == ["usage", "done"], s.names()
    assert not any(n.startswith("budget") for n in s.names()), s.names()
    assert s.of("usage") == [{"input_tokens": 40000, "output_tokens": 30000}]
    bbus.drain()
    assert not [e for e in bbus.got if e.get("type", "").startswith("budget")], bbus.got
    msgs = wait_messages(bfleet, s.session_id(), 2)
    assert msgs[1]["content"] == "big answer"


def test_agent_events_only_on_their_own_stream(agent_server, fake, fleet, bus):
    # Clarification (§7.4): upstream forwarded every bus event to every chat
    # stream; roost sends a request's events on that request's stream only
    quiet_bot = make_bot(fleet, "Bystander")
    busy_bot = make_bot(fleet, "Conductor", identity=IDENT)
    rq = fake.script(fakellm.stall(["waiting ", "patiently"], after=1),
                     user_contains="bystander")
    fake.script(fakellm.spawn(["Side job"]), sub_agent=False, synthesis=False,
                user_contains="orchestrate")
    fake.script(fakellm.text("side result"), task="Side job")
    fake.script(fakellm.text("orchestrated"), synthesis=True, sub_agent=False)
    b = chat(agent_server, quiet_bot["id"], "bystander")
    check_sse_headers(b)
    assert b.next()[0] == "session"
    assert b.next() == ("text_delta", {"text": "waiting "})
    a = finish(chat(agent_server, busy_bot["id"], "orchestrate"))
    assert synthesis_text(a) == "orchestrated"
    rq.requests[0].release()
    b.finish()
    check_order(b.names())
    assert set(b.names()) == {"session", "text_delta", "usage", "done"}, b.names()
    assert b.text() == "waiting patiently"
    check_bus_matches(a, bus)
