"""kill -9 under load, then a restart on the same data dir and ports comes
back ready (store integrity checks join when the families write data)."""

import threading
import time

from roostlib import Raw, built_families, get_req, port_accepts, wait_for


def load(server, stop, counts):
    fam_i = 0
    while not stop.is_set():
        fam = built_families()[fam_i % len(built_families())]
        fam_i += 1
        try:
            with Raw(server.ports[fam], timeout=2) as c:
                for _ in range(20):
                    c.exchange(get_req("/health"))
                    counts[0] += 1
        except (OSError, AssertionError):
            pass            # the server vanishing mid-request is the point


def test_kill9_under_load_then_restart(fresh):
    srv = fresh()
    for attempt in range(3):
        stop = threading.Event()
        counts = [0]
        threads = [threading.Thread(target=load, args=(srv, stop, counts)) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: counts[0] >= 200, 10, what="load to build up")
            srv.kill9()
        finally:
            stop.set()
            for t in threads:
                t.join()
        for fam in built_families():
            assert not port_accepts(srv.ports[fam]), "a listener survived kill -9"
        srv.start()                         # same ports, same data dir; waits for ready
        for fam in built_families():
            r = srv.request(fam, "GET", "/health")
            assert r.status == 200, (attempt, fam, r)
    srv.stop()
