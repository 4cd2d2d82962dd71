"""Fleet SPA static files (spec README §6.5, fleet.md §4): fleet.web_dir served for
GET/HEAD with MIME types, ETag/If-None-Match, index.html for "/" and as the SPA
fallback; API prefixes never shadowed; traversal, encoded traversal and symlinks out
of the directory refused; bodies streamed through tx (RSS does not grow by the file
size, a client leaving mid-file releases its stream, CFG_FILE_STREAMS bounds them)."""

import hashlib
import os
import re
import socket
import time

import pytest

from roostlib import REPO, SLOW, Raw, Server, assert_error_shape, get_req, wait_for

# What this file needs built into roostd (conftest.py deselects it, and
# lists it, for a profile without them).
NEEDS = {"fleet"}

BIG = 5 * 1024 * 1024
INDEX = b"<!doctype html><html><head><title>boternity</title></head><body>spa</body></html>\n"
APP_JS = b"console.log('app');\n"
DOCS_INDEX = b"<!doctype html><p>docs</p>\n"
SECRET = b"top secret outside the web dir\n"

MIME = {
    "index.html": "text/html",
    "assets/app.js": "text/javascript",
    "assets/mod.mjs": "text/javascript",
    "assets/style.css": "text/css",
    "assets/data.json": "application/json",
    "assets/icon.svg": "image/svg+xml",
    "assets/logo.png": "image/png",
    "assets/photo.jpg": "image/jpeg",
    "assets/photo.jpeg": "image/jpeg",
    "assets/anim.gif": "image/gif",
    "assets/pic.webp": "image/webp",
    "favicon.ico": "image/x-icon",
    "assets/font.woff": "font/woff",
    "assets/font.woff2": "font/woff2",
    "assets/font.ttf": "font/ttf",
    "robots.txt": "text/plain",
    "assets/app.js.map": "application/json",
    "assets/prog.wasm": "application/wasm",
    "site.webmanifest": "application/manifest+json",
    "assets/blob.xyz": "application/octet-stream",
    "assets/noext": "application/octet-stream",
    "assets/UPPER.JS": "text/javascript",
}


def cfg_default(name):
    """A CFG_* default from config.h (the build under test uses the defaults)."""
    with open(os.path.join(REPO, "config.h")) as f:
        m = re.search(rf"#define {name} (\d+)", f.read())
    assert m, f"{name} not in config.h"
    return int(m.group(1))


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def make_site(root):
    """A web dir with every case, plus files and directories outside it."""
    root = str(root)
    web = os.path.join(root, "web")
    outside = os.path.join(root, "outside")
    write(os.path.join(outside, "secret.txt"), SECRET)
    write(os.path.join(web, "index.html"), INDEX)
    write(os.path.join(web, "assets", "app.js"), APP_JS)
    for rel in MIME:
        if not os.path.exists(os.path.join(web, rel)):
            write(os.path.join(web, rel), f"content of {rel}\n".encode())
    write(os.path.join(web, "docs", "index.html"), DOCS_INDEX)
    os.makedirs(os.path.join(web, "emptydir"))
    big = os.urandom(BIG)
    write(os.path.join(web, "big.bin"), big)
    write(os.path.join(web, "shrink.bin"), big)
    os.symlink(os.path.join(outside, "secret.txt"), os.path.join(web, "link_abs.txt"))
    os.symlink("../outside/secret.txt", os.path.join(web, "link_rel.txt"))
    os.symlink(outside, os.path.join(web, "link_dir"))
    os.symlink("assets/app.js", os.path.join(web, "link_in.js"))
    os.symlink("/proc/self/root/etc/passwd", os.path.join(web, "link_proc"))
    os.mkfifo(os.path.join(web, "fifo"))
    return web, hashlib.sha256(big).hexdigest()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return make_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def spa(roostd, site, tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("spa"), args=[f"--fleet.web_dir={site[0]}"])
    srv.start()
    yield srv
    srv.stop()


def get(srv, path, method="GET", extra=""):
    with Raw(srv.ports["fleet"]) as c:
        return c.exchange(get_req(path, method=method, extra=extra), head=(method == "HEAD"))


def is_index(r):
    return (r.status == 200 and r.body == INDEX
            and r.header("Content-Type").startswith("text/html"))


def connect_small(port, rcvbuf=4096):
    """A socket whose tiny receive window keeps a big download stalled."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10 * SLOW)
    s.connect(("127.0.0.1", port))
    return s


def read_head(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        assert chunk, f"closed before a response head: {buf!r}"
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    return status, head.decode("latin-1"), rest


def reset_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()


def full_download_ok(srv, sha):
    r = get(srv, "/big.bin")
    return r.status == 200 and hashlib.sha256(r.body).hexdigest() == sha


# ---- what is served -------------------------------------------------------------

@pytest.mark.parametrize("rel", sorted(MIME))
def test_mime_types(spa, site, rel):
    r = get(spa, "/" + rel)
    assert r.status == 200, r
    with open(os.path.join(site[0], rel), "rb") as f:
        assert r.body == f.read()
    ctype = r.header("Content-Type")
    assert ctype.split(";")[0].strip() == MIME[rel], r
    if MIME[rel].startswith("text/"):
        assert "charset=utf-8" in ctype, r
    assert r.header("X-Content-Type-Options") == "nosniff", r


def test_root_is_index(spa):
    r = get(spa, "/")
    assert is_index(r), r
    assert r.header("Cache-Control") == "no-cache", r
    assert r.header("Access-Control-Allow-Origin") == "*", r      # CORS as for the API


@pytest.mark.parametrize("path", ["/bots/123", "/bots/0194f3a2-7c1e-7b3a-9d2f-3c4b5a697881/chat",
                                  "/settings?tab=keys", "/assets/missing.js", "/healthz",
                                  "/apix", "/wsx", "/index.html/x", "/assets/app.js/",
                                  "/%E2%9C%93", "/a%20b"])
def test_spa_fallback_is_index(spa, path):
    assert is_index(get(spa, path)), path


def test_directory_with_index(spa):
    for path in ("/docs", "/docs/", "/docs/index.html"):
        r = get(spa, path)
        assert r.status == 200 and r.body == DOCS_INDEX, (path, r)


def test_symlink_inside_is_followed(spa):
    r = get(spa, "/link_in.js")
    assert r.status == 200 and r.body == APP_JS, r
    assert r.header("Content-Type").startswith("text/javascript")


def test_head(spa):
    with Raw(spa.ports["fleet"]) as c:
        r = c.exchange(get_req("/big.bin", method="HEAD"), head=True)
        assert r.status == 200, r
        assert r.header("Content-Length") == str(BIG), r
        assert r.header("ETag"), r
        # no body bytes followed: the next response on the connection parses
        r = c.exchange(get_req("/assets/app.js"))
        assert r.status == 200 and r.body == APP_JS, r
        r = c.exchange(get_req("/bots/1", method="HEAD"), head=True)
        assert r.status == 200 and r.header("Content-Length") == str(len(INDEX)), r
        r = c.exchange(get_req("/health"))
        assert r.status == 200, r


def test_etag_and_if_none_match(spa, site):
    r = get(spa, "/assets/app.js")
    etag = r.header("ETag")
    assert etag and re.match(r'^(W/)?"[0-9a-f]+-[0-9a-f]+"$', etag), r
    assert etag.strip('W/"').split("-")[0] == format(len(APP_JS), "x"), etag
    for inm in (etag, "W/" + etag, f'"nope", {etag}', "*"):
        r = get(spa, "/assets/app.js", extra=f"If-None-Match: {inm}\r\n")
        assert r.status == 304, (inm, r)
        assert r.body == b"" and r.header("ETag") == etag, r
    r = get(spa, "/assets/app.js", extra='If-None-Match: "0-0"\r\n')
    assert r.status == 200 and r.body == APP_JS, r
    r = get(spa, "/assets/app.js", method="HEAD", extra=f"If-None-Match: {etag}\r\n")
    assert r.status == 304, r
    # another file, or the same one changed, has another validator
    assert get(spa, "/assets/style.css").header("ETag") != etag
    path = os.path.join(site[0], "assets", "data.json")
    before = get(spa, "/assets/data.json").header("ETag")
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    after = get(spa, "/assets/data.json")
    assert after.status == 200 and after.header("ETag") != before, after
    r = get(spa, "/assets/data.json", extra=f"If-None-Match: {before}\r\n")
    assert r.status == 200, r


def test_keep_alive_and_pipelining_around_a_file(spa, site):
    with Raw(spa.ports["fleet"], timeout=20 * SLOW) as c:
        c.send(get_req("/assets/app.js") + get_req("/big.bin") + get_req("/health")
               + get_req("/nope/route"))
        assert c.read_response().body == APP_JS
        big = c.read_response()
        assert big.status == 200 and hashlib.sha256(big.body).hexdigest() == site[1]
        assert c.read_response().status == 200
        assert is_index(c.read_response())


def test_connection_close_after_a_file(spa, site):
    with Raw(spa.ports["fleet"], timeout=20 * SLOW) as c:
        r = c.exchange(get_req("/big.bin", extra="Connection: close\r\n"))
        assert r.status == 200 and hashlib.sha256(r.body).hexdigest() == site[1]
        assert c.closed_by_peer(5 * SLOW)


# ---- what is never served ---------------------------------------------------------

def test_api_prefixes_not_shadowed(spa):
    key = f"X-API-Key: {spa.api_key()}\r\n"
    for path in ("/api/nope", "/api", "/api/v1/nope", "/ws/x", "/ws", "/ws/events/x",
                 "/health/x", "/metrics/x", "/%61pi/v1/bots", "/%77s/x"):
        r = get(spa, path, extra=key)
        assert_error_shape("fleet", r, 404, code="NOT_FOUND")
    assert_error_shape("fleet", get(spa, "/api/nope"), 401, code="UNAUTHORIZED")
    r = get(spa, "/health")
    assert r.status == 200 and r.json()["status"] == "ok", r
    r = get(spa, "/metrics")
    assert r.status == 200 and r.header("Content-Type").startswith("text/plain"), r
    # only GET/HEAD reach the SPA
    r = get(spa, "/bots/1", method="POST", extra="Content-Length: 0\r\n")
    assert r.status in (404, 405) and r.header("Content-Type") == "application/json", r


TRAVERSAL = [
    "/../etc/passwd",
    "/assets/../../etc/passwd",
    "/assets/../index.html",
    "/./index.html",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E/%2E%2E/etc/passwd",
    "/assets/%2e%2e/%2e%2e/outside/secret.txt",
    "/assets/..%2f..%2f",
    "/assets/..%2f..%2foutside%2fsecret.txt",
    "/assets%2fapp.js",
    "/assets%2Fapp.js",
    "/%2fetc/passwd",
    "/%00",
    "/index.html%00",
    "/index.html%00.js",
    "/assets\\app.js",
    "/..\\..\\etc\\passwd",
    "/%5c..%5c..%5cetc%5cpasswd",
    "/%01",
    "/%zz",
    "/%",
    "//etc/passwd",
    "//",
    "/assets//app.js",
    "/link_abs.txt",
    "/link_rel.txt",
    "/link_dir/secret.txt",
    "/link_dir/",
    "/link_proc",
    "/fifo",
    "/emptydir",
    "/emptydir/",
]


@pytest.mark.parametrize("path", TRAVERSAL)
def test_refused_paths(spa, path):
    r = get(spa, path)
    assert_error_shape("fleet", r, 404, code="NOT_FOUND")
    assert SECRET not in r.body and b"root:" not in r.body and INDEX not in r.body


def test_refused_head(spa):
    r = get(spa, "/link_abs.txt", method="HEAD")
    assert r.status == 404 and r.body == b"", r


# ---- streaming ------------------------------------------------------------------------

def test_big_file_streams_without_growing_rss(roostd, site, tmp_path):
    srv = Server(tmp_path / "rss", args=[f"--fleet.web_dir={site[0]}"])
    srv.start()
    try:
        assert get(srv, "/assets/app.js").status == 200        # warm up one connection
        base = srv.rss_kib()
        peak = base
        s = connect_small(srv.ports["fleet"], rcvbuf=65536)
        try:
            s.sendall(get_req("/big.bin"))
            status, head, body = read_head(s)
            assert status == 200 and f"Content-Length: {BIG}" in head, head
            h = hashlib.sha256(body)
            got = len(body)
            while got < BIG:
                time.sleep(0.003)                              # a slow reader
                chunk = s.recv(32768)
                assert chunk, f"closed after {got} bytes"
                h.update(chunk)
                got += len(chunk)
                peak = max(peak, srv.rss_kib())
            assert got == BIG and h.hexdigest() == site[1]
        finally:
            s.close()
        grew = peak - base
        assert grew < 2048, f"RSS grew {grew} KiB while serving a {BIG // 1024} KiB file"
    finally:
        srv.stop()


def test_disconnect_mid_file_releases_the_stream(spa, site):
    n = cfg_default("CFG_FILE_STREAMS") + 3
    for i in range(n):
        s = connect_small(spa.ports["fleet"])
        s.sendall(get_req("/big.bin"))
        status, _, _ = read_head(s)
        assert status == 200
        s.recv(4096)
        if i % 2:
            reset_close(s)          # RST
        else:
            s.close()               # FIN with unread data (the kernel answers RST)
    wait_for(lambda: full_download_ok(spa, site[1]), 10 * SLOW,
             what="a full download after many aborted ones")
    assert spa.alive()


def test_file_streams_are_bounded_then_released(spa, site):
    cap = cfg_default("CFG_FILE_STREAMS")
    held = []
    try:
        def stall_all():
            while len(held) < cap + 50:
                s = connect_small(spa.ports["fleet"])
                s.sendall(get_req("/big.bin"))
                status, head, _ = read_head(s)
                if status != 200:
                    return status, head, s
                held.append(s)
            return None, None, None

        # Streams released by earlier tests may take a moment to be reaped.
        wait_for(lambda: full_download_ok(spa, site[1]), 10 * SLOW, what="a free stream")
        status, head, extra = stall_all()
        assert status == 503, f"no 503 after {len(held)} stalled downloads"
        extra.close()
        assert "Retry-After: 1" in head and "application/json" in head, head
        assert len(held) == cap, f"503 after {len(held)} streams, CFG_FILE_STREAMS={cap}"
        # small files and the API still work while the streams are busy (HEAD needs
        # no stream either)
        assert get(spa, "/health").status == 200
        r = get(spa, "/big.bin", method="HEAD")
        assert r.status == 200, r
    finally:
        for s in held:
            reset_close(s)
    wait_for(lambda: full_download_ok(spa, site[1]), 10 * SLOW,
             what="a full download after the stalled ones left")


def test_file_shorter_than_announced_is_cut(spa, site):
    path = os.path.join(site[0], "shrink.bin")
    s = connect_small(spa.ports["fleet"])
    try:
        s.sendall(get_req("/shrink.bin"))
        status, head, body = read_head(s)
        assert status == 200 and f"Content-Length: {BIG}" in head
        os.truncate(path, 1024 * 1024)
        got = len(body)
        s.settimeout(10 * SLOW)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += len(chunk)
        assert 0 < got < BIG, f"got {got} bytes of a file cut to 1 MiB"
    except ConnectionResetError:
        pass
    finally:
        s.close()
    assert get(spa, "/health").status == 200
    r = get(spa, "/shrink.bin")
    assert r.status == 200 and len(r.body) == 1024 * 1024, r


# ---- configuration ------------------------------------------------------------------------

def test_boternity_web_dir_env(fresh, site):
    srv = fresh(env={"BOTERNITY_WEB_DIR": site[0]})
    assert is_index(get(srv, "/bots/1"))
    assert get(srv, "/assets/app.js").body == APP_JS


def test_default_web_dir_relative_to_cwd(fresh, tmp_path):
    srv = fresh(start=False)
    write(os.path.join(srv.workdir, "apps", "web", "dist", "index.html"), INDEX)
    srv.start()
    assert is_index(get(srv, "/"))
    assert is_index(get(srv, "/bots/7"))


def test_missing_web_dir_is_404(fresh, tmp_path):
    srv = fresh(args=[f"--fleet.web_dir={tmp_path / 'nope'}"])
    for path in ("/", "/bots/1", "/index.html"):
        assert_error_shape("fleet", get(srv, path), 404, code="NOT_FOUND")
    r = get(srv, "/health")
    assert r.status == 200, r


def test_web_dir_that_is_a_file_is_404(fresh, site):
    srv = fresh(args=[f"--fleet.web_dir={os.path.join(site[0], 'index.html')}"])
    assert_error_shape("fleet", get(srv, "/"), 404, code="NOT_FOUND")
