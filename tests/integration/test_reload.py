"""SIGHUP reloads the configuration (README "Reloading"): the config file,
the start's flags and environment are read again; a changed live key
(log_level, the body limits, http.body_timeout_ms, the llm budgets) applies
at once, any other changed key is logged "<key> changed: needs a restart"
and keeps its running value, a file that does not load changes nothing and
the log says why (the message --check-config gives). Connections stay open
and no request is lost while reloads happen under load."""

import os
import signal
import threading

import pytest

from roostlib import (SLOW, Raw, Server, family_or_other, get_req, request,
                      run_roostd, wait_for)

FAM = family_or_other("documents")


def conf_text(**keys):
    # /_echo (diag.echo, loopback listeners only) is the POST every profile has.
    base = {"diag.echo": "true"}
    base.update(keys)
    return "".join(f"{k} = {v}\n" for k, v in base.items())


@pytest.fixture
def srv(tmp_path):
    conf = tmp_path / "roost.conf"
    conf.write_text(conf_text(log_level="info", max_json_body_bytes="1000"))
    s = Server(tmp_path / "w", args=[f"--config={conf}"]).start()
    s.conf = conf
    yield s
    if s.alive():
        s.stop()


def hup(s):
    os.kill(s.pid, signal.SIGHUP)


def wait_log(s, text, n=1):
    wait_for(lambda: s.stderr().count(text) >= n, 10 * SLOW, what=repr(text))


def echo(s, size):
    return request(s.ports[FAM], "POST", "/_echo", {"Content-Type": "text/plain"},
                   b"x" * size)


def test_body_limit_and_log_level_change_live(srv):
    assert echo(srv, 2000).status == 413
    assert echo(srv, 500).status == 200
    srv.conf.write_text(conf_text(log_level="info", max_json_body_bytes="100000"))
    hup(srv)
    wait_log(srv, "max_json_body_bytes changed: applied")
    assert echo(srv, 2000).status == 200
    # Down again, on a connection that was open across the reload.
    with Raw(srv.ports[FAM]) as c:
        c.send(get_req("/health"))
        assert c.read_response().status == 200
        srv.conf.write_text(conf_text(log_level="info", max_json_body_bytes="700"))
        hup(srv)
        wait_log(srv, "max_json_body_bytes changed: applied", 2)
        c.send("POST /_echo HTTP/1.1\r\nHost: x\r\nContent-Length: 800\r\n\r\n" + "y" * 800)
        assert c.read_response().status == 413
    # log_level: at error, a reload's own info line is no longer written.
    srv.conf.write_text(conf_text(log_level="error", max_json_body_bytes="700"))
    hup(srv)
    wait_log(srv, "log_level changed: applied")
    before = srv.stderr().count("SIGHUP: reloading")
    srv.conf.write_text(conf_text(log_level="error", max_json_body_bytes="701"))
    hup(srv)
    # The change itself is logged at info too, so nothing shows; the body
    # limit proves the reload ran.
    wait_for(lambda: echo(srv, 701).status == 200, 10 * SLOW, what="701 accepted")
    assert srv.stderr().count("SIGHUP: reloading") == before
    assert srv.alive()


def test_restart_only_keys_are_logged_and_kept(srv, tmp_path):
    other = tmp_path / "elsewhere"
    text = conf_text(log_level="info", max_json_body_bytes="1000", data_dir=str(other),
                     **{f"{FAM}.cors_origins": "http://a.example", f"{FAM}.auth": "key"})
    srv.conf.write_text(text.replace("diag.echo = true", "diag.echo = false"))
    hup(srv)
    wait_log(srv, "diag.echo changed: needs a restart")
    wait_log(srv, f"{FAM}.cors_origins changed: needs a restart")
    wait_log(srv, f"{FAM}.auth changed: needs a restart")
    # Flags outrank the file: data_dir and the ports, given as flags, did not
    # change, and nothing was made at the file's data_dir.
    assert "data_dir changed" not in srv.stderr()
    assert f"{FAM}.port changed" not in srv.stderr()
    assert not other.exists()
    # The running values stay: /_echo still answers, without a key.
    r = echo(srv, 10)
    assert r.status == 200 and r.body == b"x" * 10
    assert echo(srv, 2000).status == 413      # and the live keys kept theirs


def test_a_bad_file_changes_nothing(srv, tmp_path):
    srv.conf.write_text(conf_text(log_level="info", max_json_body_bytes="100000") +
                        "max_hook_body_bytes = many\n")
    hup(srv)
    wait_log(srv, "reload: ")
    rc, out, err = run_roostd(["--check-config", f"--config={srv.conf}"])
    assert rc == 2
    msg = err.splitlines()[0].removeprefix("roostd: ")
    assert f"reload: {msg}; the running configuration is kept" in srv.stderr()
    assert "changed: applied" not in srv.stderr()
    assert echo(srv, 2000).status == 413      # still the start's 1000
    # A missing file named by --config likewise.
    srv.conf.unlink()
    hup(srv)
    wait_log(srv, "reload: ", 2)
    assert "not found; the running configuration is kept" in srv.stderr()
    assert echo(srv, 2000).status == 413
    assert srv.alive()


def test_hup_under_load_loses_no_request(srv):
    """Clients on keep-alive connections send requests back to back, for as
    long as the server reloads again and again: every request sent gets its
    own answer, on the connection it was sent on."""
    N_CLIENTS, N_HUP = 4, 10
    counts = [0] * N_CLIENTS
    errors = []
    stop = threading.Event()

    def client(i):
        try:
            with Raw(srv.ports[FAM]) as c:
                k = 0
                while not stop.is_set() or k < 5:
                    body = f"{i}-{k}"
                    c.send(f"POST /_echo HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}"
                           f"\r\n\r\n{body}")
                    r = c.read_response()
                    assert r.status == 200 and r.body == body.encode(), r
                    counts[i] += 1
                    k += 1
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    ts = [threading.Thread(target=client, args=(i,)) for i in range(N_CLIENTS)]
    for t in ts:
        t.start()
    try:
        limit = 1000
        for sent in range(1, N_HUP + 1):
            limit += 1
            srv.conf.write_text(conf_text(log_level="info", max_json_body_bytes=str(limit)))
            os.kill(srv.pid, signal.SIGHUP)
            wait_for(lambda: srv.stderr().count("max_json_body_bytes changed: applied") >= sent,
                     10 * SLOW, what=f"reload {sent}")
            assert not errors, errors
    finally:
        stop.set()
        for t in ts:
            t.join(timeout=60 * SLOW)
    assert not errors, errors
    assert all(n >= 5 for n in counts), counts
    assert srv.alive()
