"""POST /events of one loop turn share one transaction (store.h, the turn's
batch; fam/obs/events.c): events posted at once from many connections are
all stored and broadcast to /ws once each, each connection's in the order
it sent them and all in the order they were committed; a bad event in the
middle of a burst fails alone with its own answer; and a 200 is only ever
sent for an event that is committed: after kill -9 in the middle of a
burst, every acknowledged event is there.

A commit that fails (an injected write fault, debug build) is in
tests/fault/test_obs_batch.py.
"""

import json
import socket
import threading
import uuid

import roostlib
from roostlib import HOST
from obslib import (FAM, burst, event, parse_responses, post_bytes, stored_tags,
                    ws_events_until)
from roostlib import Server
from wslib import WS


def fan_out():
    """Connections for a burst: what the pool has, less the subscriber and
    one spare (8 in the small profile), at most 40."""
    return max(2, min(40, roostlib.limits()["CFG_MAX_CONNS"] - 2))


def subscribe(srv):
    return WS(srv.ports[FAM])     # its init read


def post(srv, body):
    r = srv.request(FAM, "POST", "/events", body=json.dumps(body).encode(),
                    headers={"Content-Type": "application/json"})
    assert r.status == 200 and r.json() == {"ok": True}, r


def ok(answer):
    return answer is not None and answer[0] == 200 and answer[1] == b'{"ok":true}'


def test_burst_from_many_connections(server):
    session = str(uuid.uuid4())
    conns, per = fan_out(), 4
    with subscribe(server) as ws:
        reqs = [[event(session, c * per + i) for i in range(per)] for c in range(conns)]
        answers = burst(server.ports[FAM], reqs)
        assert all(ok(a) for conn in answers for a in conn), answers
        total = conns * per
        marker = total
        post(server, event(session, marker))
        seen = ws_events_until(ws, session, marker)
    # every event once
    assert sorted(seen) == list(range(total + 1)), seen
    # each connection's in the order it sent them (pipelined)
    pos = {n: i for i, n in enumerate(seen)}
    for c in range(conns):
        order = [pos[c * per + i] for i in range(per)]
        assert order == sorted(order), (c, order)
    # and all in the order they were committed (stored ids)
    assert stored_tags(server, session) == seen


def test_bad_event_in_a_burst_fails_alone(server):
    session = str(uuid.uuid4())
    conns = fan_out()
    reqs = [[event(session, c * 3 + i) for i in range(3)] for c in range(conns)]
    mid = conns // 2
    bad_missing = dict(reqs[mid][1])
    del bad_missing["session_name"]                   # 422, field required
    reqs[mid][1] = bad_missing
    reqs[mid - 1][0] = b'{"event_type": "pre_tool", "session_id": '   # malformed JSON
    with subscribe(server) as ws:
        answers = burst(server.ports[FAM], reqs)
        marker = conns * 3
        post(server, event(session, marker))
        seen = ws_events_until(ws, session, marker)
    bad = {mid * 3 + 1, (mid - 1) * 3}
    for c, conn in enumerate(answers):
        for i, a in enumerate(conn):
            n = c * 3 + i
            if n in bad:
                assert a is not None and a[0] == 422, (n, a)
            else:
                assert ok(a), (n, a)
    good = sorted(set(range(conns * 3 + 1)) - bad)
    assert sorted(seen) == good, seen
    assert sorted(stored_tags(server, session)) == good


def test_acknowledged_events_survive_kill9(tmp_path):
    """kill -9 while many connections post: every event answered 200 is in
    the database after a restart (acknowledged => committed); events that
    were not answered may or may not be there."""
    srv = Server(tmp_path).start()
    session = str(uuid.uuid4())
    conns = fan_out()
    acked = [[] for _ in range(conns)]
    enough = threading.Event()
    lock = threading.Lock()
    count = [0]

    def poster(c):
        try:
            s = socket.create_connection((HOST, srv.ports[FAM]), timeout=5.0)
        except OSError:
            return
        buf = bytearray()
        try:
            for i in range(100000):
                n = c * 100000 + i
                s.sendall(post_bytes(event(session, n)))
                got = []
                while not got:
                    chunk = s.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                    got, used = parse_responses(buf)
                    del buf[:used]
                assert got[0][0] == 200, got
                acked[c].append(n)
                with lock:
                    count[0] += 1
                    if count[0] >= 40 * conns:
                        enough.set()
        except OSError:
            return
        finally:
            s.close()

    threads = [threading.Thread(target=poster, args=(c,), daemon=True) for c in range(conns)]
    for t in threads:
        t.start()
    assert enough.wait(60.0), "posters did not get going"
    srv.kill9()
    for t in threads:
        t.join(10.0)
    srv.start()
    try:
        stored = stored_tags(srv, session)
        assert len(stored) == len(set(stored)), "an event stored twice"
        missing = {n for a in acked for n in a} - set(stored)
        assert not missing, f"{len(missing)} acknowledged event(s) lost: {sorted(missing)[:10]}"
    finally:
        srv.stop()
