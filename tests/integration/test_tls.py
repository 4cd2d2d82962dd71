"""TLS on the listeners (README "TLS", DESIGN.md "TLS"): <family>.tls_cert
and .tls_key make a listener speak HTTPS and WSS only, through mbedtls'
TLS 1.2 server on the fixed TLS heap.

Certificates are made here with the openssl command (tlslib.Pki). curl
(--cacert) and Python's ssl are the clients; python websockets speaks WSS.
"""

import asyncio
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest

from roostlib import (IO_TIMEOUT, SLOW, Server, built_families, get_req, limits,
                      run_roostd, wait_for)
import tlslib
from tlslib import https, metrics, tls_args

NEEDS = ("llm",)    # mbedtls is built with the LLM stack (the small profile has no TLS)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = tlslib.Pki(tmp_path_factory.mktemp("pki"))
    p.cert, p.key = p.server("good")
    return p


@pytest.fixture(scope="module")
def tls_server(pki, tmp_path_factory):
    """Every built family on TLS."""
    srv = Server(tmp_path_factory.mktemp("tls"), args=tls_args(pki.cert, pki.key))
    srv.start()
    yield srv
    srv.stop()


def curl(pki, url, *extra):
    exe = shutil.which("curl")
    assert exe, "curl is needed (tools/deps.sh installs it)"
    return subprocess.run([exe, "-sS", "--max-time", str(IO_TIMEOUT), "--cacert", pki.ca_file,
                           *extra, url], capture_output=True, timeout=IO_TIMEOUT * 2)


def test_curl_https_every_family(pki, tls_server):
    for fam in built_families():
        p = curl(pki, f"https://127.0.0.1:{tls_server.ports[fam]}/health")
        assert p.returncode == 0, (fam, p.stderr)
        assert b'"status"' in p.stdout, (fam, p.stdout)
        # the same name as a host name (the certificate has both)
        p = curl(pki, f"https://localhost:{tls_server.ports[fam]}/health", "-o", "/dev/null",
                 "-w", "%{http_code} %{ssl_verify_result}")
        assert p.stdout == b"200 0", (fam, p.stdout, p.stderr)
    assert "(TLS)" in tls_server.stderr()


@pytest.mark.needs("fleet")
def test_fleet_api_with_key_over_https(pki, tls_server):
    key = tls_server.api_key()
    port = tls_server.ports["fleet"]
    p = curl(pki, f"https://127.0.0.1:{port}/api/v1/bots", "-H", f"X-API-Key: {key}",
             "-o", "/dev/null", "-w", "%{http_code}")
    assert p.stdout == b"200", p
    # several requests on one kept-alive connection (curl reuses it)
    p = curl(pki, f"https://127.0.0.1:{port}/health", "-H", f"X-API-Key: {key}",
             "-o", "/dev/null", "-o", "/dev/null", "-w", "%{num_connects} ",
             f"https://127.0.0.1:{port}/api/v1/bots")
    assert p.returncode == 0 and p.stdout.split() == [b"1", b"0"], p
    m = metrics(pki.context(), port)
    assert m["roost_tls_handshakes_total"] >= 3
    assert m["roost_tls_sessions_max"] == limits()["CFG_TLS_SESSIONS"]


def test_large_response_and_body_over_tls(pki, tls_server):
    """Bodies larger than a record (4 KiB out, 16 KiB in) both ways."""
    fam = built_families()[0]
    port = tls_server.ports[fam]
    import http.client
    c = http.client.HTTPSConnection("127.0.0.1", port, context=pki.context(), timeout=IO_TIMEOUT)
    for _ in range(20):
        c.request("GET", "/health")
        r = c.getresponse()
        assert r.status == 200 and b"status" in r.read()
    # a big head (many headers) arrives in more than one record
    c.request("GET", "/health", headers={f"X-Pad-{i}": "p" * 200 for i in range(30)})
    r = c.getresponse()
    r.read()
    assert r.status in (200, 431), r.status
    c.close()


@pytest.mark.needs("observability")
def test_wss_observability(pki, tls_server):
    websockets = pytest.importorskip("websockets")
    port = tls_server.ports["observability"]

    async def run():
        async with websockets.connect(f"wss://127.0.0.1:{port}/ws", ssl=pki.context(),
                                      max_size=None, open_timeout=IO_TIMEOUT) as w:
            first = await asyncio.wait_for(w.recv(), IO_TIMEOUT)
            pong = await w.ping()
            await asyncio.wait_for(pong, IO_TIMEOUT)
            await w.close()
            return first, w.close_code
    first, code = asyncio.run(run())
    assert '"init"' in first
    assert code == 1000


def test_plain_http_to_tls_listener_fails_cleanly(pki, tls_server):
    fam = built_families()[0]
    port = tls_server.ports[fam]
    before = metrics(pki.context(), tls_server.ports[fam]) if fam == "fleet" else None
    s = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
    s.sendall(get_req("/health"))
    got = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
    except ConnectionResetError:
        pass
    s.close()
    assert b"HTTP/1.1" not in got, got      # no plain answer: a TLS alert at most
    p = curl(pki, f"http://127.0.0.1:{port}/health")
    assert p.returncode != 0
    # the listener still serves TLS
    assert https(pki.context(), port, "GET", "/health")[0] == 200
    if before is not None:
        after = metrics(pki.context(), port)
        assert after["roost_tls_handshake_failures_total"] > \
            before["roost_tls_handshake_failures_total"]


def start_fails(tmp_path, args):
    fam = built_families()[0]
    return run_roostd([f"--data_dir={tmp_path}/d", f"--{fam}.port=0"] + list(args),
                      cwd=str(tmp_path))


def test_bad_certificate_files_stop_the_start(pki, tmp_path):
    fam = built_families()[0]
    other_cert, other_key = pki.server("other")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n"
                       "-----END CERTIFICATE-----\n")
    cases = [
        ([f"--{fam}.tls_cert={pki.cert}", f"--{fam}.tls_key={other_key}"], "does not match"),
        ([f"--{fam}.tls_cert={tmp_path}/missing.pem", f"--{fam}.tls_key={pki.key}"],
         "missing.pem"),
        ([f"--{fam}.tls_cert={garbage}", f"--{fam}.tls_key={pki.key}"], "not a certificate"),
        ([f"--{fam}.tls_cert={pki.cert}", f"--{fam}.tls_key={garbage}"], "not a private key"),
    ]
    for args, why in cases:
        rc, _, err = start_fails(tmp_path, args)
        assert rc == 2, (args, rc, err)
        assert why in err and f"{fam}.tls_" in err, (why, err)


def test_expired_certificate_starts_with_a_warning(pki, tmp_path):
    cert, key = pki.server("expired", expired=True)
    fam = built_families()[0]
    srv = Server(tmp_path / "srv", args=tls_args(cert, key, [fam]))
    srv.start()
    try:
        err = srv.stderr()
        assert "expired on 20" in err and "clients will refuse it" in err, err
        p = curl(pki, f"https://127.0.0.1:{srv.ports[fam]}/health")
        assert p.returncode == 60, p          # curl: peer certificate cannot be authenticated
        assert b"expired" in p.stderr, p.stderr
    finally:
        srv.stop()


def test_plain_listener_beyond_loopback_warns(tmp_path):
    fam = built_families()[0]
    srv = Server(tmp_path / "srv", args=[f"--{fam}.host=0.0.0.0"])
    srv.start()
    try:
        assert f"{fam} listens on 0.0.0.0 without TLS" in srv.stderr(), srv.stderr()
    finally:
        srv.stop()


@pytest.mark.needs("fleet")
def test_stalled_handshake_is_closed_and_counted(pki, tmp_path):
    """Half a ClientHello, then nothing: closed at tls.handshake_timeout_ms."""
    srv = Server(tmp_path / "srv", args=tls_args(pki.cert, pki.key, ["fleet"]) +
                 ["--tls.handshake_timeout_ms=300"])
    srv.start()
    try:
        s = tlslib.stalled_handshake(srv.ports["fleet"])
        assert tlslib.closed_by_peer(s, 10.0 * SLOW), "a stalled handshake stayed open"
        s.close()
        m = metrics(pki.context(), srv.ports["fleet"])
        assert m["roost_tls_handshake_timeouts_total"] >= 1
        assert m["roost_tls_handshakes_in_progress"] == 0
    finally:
        srv.stop()


@pytest.mark.needs("fleet")
def test_handshake_slots_exhausted(pki, tmp_path):
    """More stalled handshakes than CFG_TLS_HANDSHAKES: the next connection is
    closed at once and counted; once they are gone a client is served."""
    tls_fam = next((f for f in built_families() if f != "fleet"), None)
    if tls_fam is None:
        pytest.fail("needs a second family for a plain /metrics listener")
    slots = limits()["CFG_TLS_HANDSHAKES"]
    srv = Server(tmp_path / "srv", args=tls_args(pki.cert, pki.key, [tls_fam]))
    srv.start()
    stalled = []
    try:
        port = srv.ports[tls_fam]
        for _ in range(slots):
            stalled.append(tlslib.stalled_handshake(port))
        wait_for(lambda: metrics(None, srv.ports["fleet"])["roost_tls_handshakes_in_progress"]
                 == slots, IO_TIMEOUT, what="every handshake slot taken")
        s = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
        assert tlslib.closed_by_peer(s, IO_TIMEOUT), "a connection beyond the slots stayed open"
        s.close()
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            https(pki.context(), port, "GET", "/health")
        m = metrics(None, srv.ports["fleet"])
        assert m["roost_tls_refused_handshakes_total"] >= 2
        assert srv.stderr().count("too many TLS handshakes in progress") == 1, srv.stderr()
        for s in stalled:
            s.close()
        stalled = []
        wait_for(lambda: metrics(None, srv.ports["fleet"])["roost_tls_handshakes_in_progress"]
                 == 0, IO_TIMEOUT, what="the stalled handshakes gone")
        assert https(pki.context(), port, "GET", "/health")[0] == 200
    finally:
        for s in stalled:
            s.close()
        srv.stop()


def peer_cert(ctx, port):
    with socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return s.getpeercert(binary_form=True)


def der(path):
    with open(path, "rb") as f:
        return ssl.PEM_cert_to_DER_cert(f.read().decode())


@pytest.mark.needs("fleet")
def test_reload_under_load(pki, tmp_path):
    """SIGHUP while clients run: no request fails; new connections get the
    new certificate, a connection opened before keeps working; a reload of
    bad files keeps the current certificate."""
    import http.client
    live_cert = tmp_path / "live.pem"
    live_key = tmp_path / "live.key"
    shutil.copy(pki.cert, live_cert)
    shutil.copy(pki.key, live_key)
    srv = Server(tmp_path / "srv", args=tls_args(str(live_cert), str(live_key), ["fleet"]))
    srv.start()
    port = srv.ports["fleet"]
    ctx = pki.context()
    stop = threading.Event()
    errors = []
    done = [0, 0]

    def keepalive():
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=IO_TIMEOUT)
        try:
            while not stop.is_set():
                c.request("GET", "/health")
                r = c.getresponse()
                r.read()
                assert r.status == 200, r.status
                done[0] += 1
        except Exception as e:       # reported below
            errors.append(("keepalive", e))
        finally:
            c.close()

    def fresh_conns():
        try:
            while not stop.is_set():
                assert https(ctx, port, "GET", "/health")[0] == 200
                done[1] += 1
        except Exception as e:       # reported below
            errors.append(("new", e))

    old = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=IO_TIMEOUT)
    try:
        old.request("GET", "/health")
        old.getresponse().read()
        assert old.sock.getpeercert(binary_form=True) == der(pki.cert)
        threads = [threading.Thread(target=keepalive), threading.Thread(target=fresh_conns)]
        for t in threads:
            t.start()
        wait_for(lambda: done[0] > 20 and done[1] > 5, IO_TIMEOUT * 2, what="load")
        new_cert, new_key = pki.server("renewed")
        for src, dst in ((new_cert, live_cert), (new_key, live_key)):
            shutil.copy(src, str(dst) + ".tmp")
            os.replace(str(dst) + ".tmp", dst)
        os.kill(srv.pid, signal.SIGHUP)
        wait_for(lambda: "certificate reloaded" in srv.stderr(), IO_TIMEOUT, what="reload")
        n0, n1 = done
        wait_for(lambda: done[0] > n0 + 20 and done[1] > n1 + 5, IO_TIMEOUT * 2,
                 what="load after the reload")
        assert peer_cert(ctx, port) == der(new_cert)
        # bad files: the reload fails, the renewed certificate stays
        with open(live_key, "w") as f:
            f.write("garbage\n")
        os.kill(srv.pid, signal.SIGHUP)
        wait_for(lambda: "the certificate loaded before stays" in srv.stderr(), IO_TIMEOUT,
                 what="failed reload logged")
        n0, n1 = done
        wait_for(lambda: done[0] > n0 + 20 and done[1] > n1 + 5, IO_TIMEOUT * 2,
                 what="load after the failed reload")
        assert peer_cert(ctx, port) == der(new_cert)
        stop.set()
        for t in threads:
            t.join()
        assert not errors, errors
        # the connection opened before the reloads still works, on the old certificate
        old.request("GET", "/health")
        assert old.getresponse().status == 200
        assert old.sock.getpeercert(binary_form=True) == der(pki.cert)
        m = metrics(ctx, port)
        assert m["roost_tls_reloads_total"] == 1
        assert m["roost_tls_reload_failures_total"] == 1
    finally:
        stop.set()
        old.close()
        srv.stop()


@pytest.mark.needs("documents")
def test_document_upload_and_slow_download_over_tls(pki, tls_server):
    """A streamed multipart upload (many 16 KiB records in) and a download
    larger than the socket buffers read slowly: the file goes through tx
    (no sendfile under TLS) and writes meet WANT_WRITE."""
    import doclib
    content = bytes((i * 7) % 251 for i in range(3 * 1024 * 1024))
    port = tls_server.ports["documents"]
    ctx = pki.context()
    status, body = https(ctx, port, "POST", "/documents", headers=doclib.mp_headers(),
                         body=doclib.upload_body(content, "big.bin", ctype="text/plain"))
    assert status == 201, (status, body[:300])
    import json
    doc_id = json.loads(body)["id"]
    # a small receive buffer, read slowly: the server's socket fills and
    # mbedtls_ssl_write answers WANT_WRITE mid-record
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    raw.settimeout(IO_TIMEOUT)
    raw.connect(("127.0.0.1", port))
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    s.sendall(f"GET /documents/{doc_id} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    got = b""
    while b"\r\n\r\n" not in got:
        got += s.recv(4096)
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    n = 0
    while len(body) < len(content):
        part = s.recv(8192)
        assert part, f"closed after {len(body)} of {len(content)} bytes"
        body += part
        n += 1
        if n % 64 == 0:
            time.sleep(0.01)
    s.close()
    assert body == content
