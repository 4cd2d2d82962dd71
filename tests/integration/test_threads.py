"""Exactly one thread, always (DESIGN.md hard property 2): /proc/<pid>/task is
sampled while clients hammer every listener."""

import threading
import time

import pytest

import rpglib
from roostlib import Raw, built_families, get_req, limits


def sample_threads(srv, threads, stop, seconds=3.0):
    """Start the client threads, read roostd's thread count every 5 ms for
    `seconds`, then stop and join them: the counts seen."""
    for t in threads:
        t.start()
    samples = []
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            samples.append(srv.threads())
            time.sleep(0.005)
    finally:
        stop.set()
        for t in threads:
            t.join()
    return samples


def test_single_thread_under_load(server):
    assert server.threads() == 1, "more than one thread right after start"
    stop = threading.Event()
    # Ten clients, fewer where the pool is small (8 connections in the small
    # profile): each malformed request leaves a closing connection lingering
    # in the pool, and a full pool reclaims idle keep-alive connections.
    served = [0] * min(10, max(1, limits()["CFG_MAX_CONNS"] // 4))
    errors = []

    def client(k):
        fam = built_families()[k % len(built_families())]
        try:
            while not stop.is_set():
                with Raw(server.ports[fam]) as c:
                    for _ in range(50):
                        r = c.exchange(get_req("/health"))
                        assert r.status == 200, r
                        served[k] += 1
                # a malformed request and a 404 now and then
                with Raw(server.ports[fam]) as c:
                    c.exchange(b"\x01bad\r\n\r\n")
                with Raw(server.ports[fam]) as c:
                    c.exchange(get_req("/nope"))
        except Exception as e:      # reported below
            errors.append(e)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(len(served))]
    samples = sample_threads(server, threads, stop)
    assert not errors, errors
    assert sum(served) >= 1000, f"too little load to mean anything: {sum(served)} requests"
    assert len(samples) >= 100, len(samples)
    assert set(samples) == {1}, f"thread counts seen under load: {sorted(set(samples))}"


@pytest.mark.needs("rpg")
def test_single_thread_with_tmux_children(tmp_path):
    """The rpg family runs tmux as child processes from the loop: still one
    thread while it polls a streaming Claude pane, captures it, and answers
    actions (each a child) from several clients at once."""
    tmux = rpglib.Tmux().start()
    srv = None
    try:
        _, pane = tmux.new_claude_window(args=["--stream", "30"])
        srv = rpglib.rpg_server(tmp_path / "srv", tmux)
        rpglib.wait_claude(srv, pane)
        stop = threading.Event()
        errors = []

        def client():
            try:
                while not stop.is_set():
                    r = rpglib.call(srv, "POST", "/api/panes/" + rpglib.enc(pane) + "/refresh")
                    assert r.status in (200, 503), r
                    r = rpglib.call(srv, "GET", "/api/windows")
                    assert r.status == 200, r
            except Exception as e:      # reported below
                errors.append(e)

        samples = sample_threads(srv, [threading.Thread(target=client) for _ in range(4)], stop)
        assert not errors, errors
        assert len(samples) >= 100, len(samples)
        assert set(samples) == {1}, f"thread counts seen: {sorted(set(samples))}"
    finally:
        if srv is not None:
            srv.stop()
        tmux.kill()
        tmux.cleanup()


@pytest.mark.needs("llm")
def test_single_thread_with_tls_listeners(tmp_path):
    """TLS on every listener (handshakes stepped by the loop, mbedtls on the
    same thread): one thread while clients handshake, keep connections
    alive, and send plain HTTP to a TLS port."""
    import http.client
    import tlslib
    from roostlib import IO_TIMEOUT, Server
    pki = tlslib.Pki(tmp_path / "pki")
    cert, key = pki.server("srv")
    srv = Server(tmp_path / "srv", args=tlslib.tls_args(cert, key))
    srv.start()
    try:
        ctx = pki.context()
        stop = threading.Event()
        served = [0] * 4
        errors = []

        def client(k):
            fam = built_families()[k % len(built_families())]
            port = srv.ports[fam]
            try:
                while not stop.is_set():
                    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx,
                                                    timeout=IO_TIMEOUT)
                    for _ in range(10):
                        c.request("GET", "/health")
                        r = c.getresponse()
                        r.read()
                        assert r.status == 200, r.status
                        served[k] += 1
                    c.close()
                    with Raw(port) as raw:      # plain HTTP to a TLS port
                        raw.send(get_req("/health"))
                        raw.closed_by_peer()
            except Exception as e:      # reported below
                errors.append(e)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(len(served))]
        samples = sample_threads(srv, threads, stop)
        assert not errors, errors
        assert sum(served) >= 200, f"too little load to mean anything: {sum(served)} requests"
        assert set(samples) == {1}, f"thread counts seen under load: {sorted(set(samples))}"
    finally:
        srv.stop()
