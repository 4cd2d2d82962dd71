"""documents: uploads and downloads (spec/documents.md §3.2, §3.6), written
from the spec, against the real roostd over loopback.

Uploads: every part order, filename*, the content type from the part or
the extension, tags and metadata rules and errors, Content-Length and
chunked bodies split into two writes at every byte of a small body, a slow
upload that keeps progressing, the size limits (413 from Content-Length
before the body, 413 while streaming, both closing the connection), the
503 of a full upload-slot pool before the body is read, nothing left on
disk after any failure. Downloads: the bytes, Content-Type with charset for
text, Content-Disposition both ways, the strong ETag from the SHA-256,
If-None-Match 304, single ranges 206, unsatisfiable 416, several ranges
ignored, If-Range, HEAD, a missing file 404. kill -9 in the middle of
uploads, then a restart: no row without its file, no file without its row,
no temporary file.
"""

import hashlib
import json
import os
import re
import socket
import time

import pytest

import roostlib
from roostlib import HOST
from doclib import (FAM, chunked, files_on_disk, form, mp_headers, part, raw_request,
                    upload, upload_body)
from roostlib import SLOW

DOC_ID = re.compile(r"^doc_[0-9a-f]{24}$")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
MAX = 256 * 1024           # documents.max_upload_bytes for this module


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = roostlib.Server(tmp_path_factory.mktemp("docs-files"),
                        args=[f"--documents.max_upload_bytes={MAX}"])
    s.start()
    yield s
    s.stop()


def get(srv, path, headers=None, method="GET"):
    return srv.request(FAM, method, path, headers=headers)


def doc_files(srv):
    return [n for n in files_on_disk(srv) if DOC_ID.match(n)]


def temp_files(srv):
    return [n for n in files_on_disk(srv) if n.startswith(".upload-")]


# ---- uploads ------------------------------------------------------------------------

def test_upload_as_curl_sends_it(srv):
    content = b"# Design notes\nv2\n"
    d = upload(srv, content, "design-notes.md", tags="design, v2", ctype="text/markdown",
               metadata={"description": "Architecture notes for v2"})
    assert DOC_ID.match(d["id"])
    assert d["filename"] == "design-notes.md"
    assert d["content_type"] == "text/markdown"
    assert d["size_bytes"] == len(content)
    assert d["tags"] == ["design", "v2"]
    assert d["metadata"] == {"description": "Architecture notes for v2"}
    assert TIME.match(d["created_at"]) and d["created_at"] == d["updated_at"]
    assert d["url"] == f"http://localhost:{srv.ports[FAM]}/documents/{d['id']}"
    assert list(d) == ["id", "filename", "content_type", "size_bytes", "created_at",
                       "updated_at", "tags", "metadata", "url"]
    path = os.path.join(srv.data_dir, "documents", d["id"])
    with open(path, "rb") as f:
        assert f.read() == content
    m = get(srv, f"/documents/{d['id']}/metadata").json()
    assert m == d


def test_parts_in_any_order_preamble_epilogue_and_others_discarded(srv):
    body = form([part("metadata", '{"a":"b"}'), part("junk", "x" * 5000),
                 part("tags", " b ,a,,b, c"),
                 part("file", b"data", filename="x.txt"),
                 part("file", b"second file ignored", filename="y.txt")],
                preamble=b"this is a preamble\r\n", epilogue=b"\r\nepilogue")
    r = srv.request(FAM, "POST", "/documents", headers=mp_headers(), body=body)
    assert r.status == 201, r
    d = r.json()
    assert d["filename"] == "x.txt" and d["size_bytes"] == 4
    assert d["tags"] == ["b", "a", "c"]          # trimmed, empty dropped, first kept
    assert d["metadata"] == {"a": "b"}
    assert d["content_type"] == "text/plain"     # from the extension


@pytest.mark.parametrize("name,ctype", [
    ("a.MD", "text/markdown"), ("a.markdown", "text/markdown"), ("a.yml", "text/yaml"),
    ("a.jsonl", "application/jsonl"), ("a.Json", "application/json"),
    ("a.conf", "text/plain"), ("a.svg", "image/svg+xml"), ("a.tar", "application/x-tar"),
    ("a.py", "text/x-python"), ("a.sh", "application/x-sh"), ("a.tar.gz", "application/gzip"),
    ("noext", "application/octet-stream"), ("a.exe", "application/octet-stream")])
def test_content_type_from_extension(srv, name, ctype):
    assert upload(srv, b"x", name)["content_type"] == ctype


def test_filename_star_and_unknown(srv):
    body = form([part("file", b"z", filename="fallback.txt",
                      filename_star="UTF-8''r%C3%A9sum%C3%A9.txt")])
    r = srv.request(FAM, "POST", "/documents", headers=mp_headers(), body=body)
    assert r.status == 201 and r.json()["filename"] == "résumé.txt", r
    body = form([part("file", b"z")])
    r = srv.request(FAM, "POST", "/documents", headers=mp_headers(), body=body)
    assert r.status == 201 and r.json()["filename"] == "unknown", r


def test_long_filenames(srv):
    """A 255-byte name (the most Linux keeps) and a 340-byte UTF-8 one are
    kept whole; one of 600 bytes is a form field too large."""
    for name in ("n" * 251 + ".txt", "\u00e9" * 170):
        d = upload(srv, b"x", name)
        assert d["filename"] == name
    r = srv.request(FAM, "POST", "/documents", headers=mp_headers(),
                    body=upload_body(b"x", "n" * 600))
    assert r.status == 413 and r.json() == {"detail": "Form field too large"}, r


def test_empty_file_and_binary_bytes(srv):
    assert upload(srv, b"", "empty.bin")["size_bytes"] == 0
    blob = bytes(range(256)) * 40 + b"\r\n--" + b"----roostBoundary" + b"\r\n"
    d = upload(srv, blob, "blob.bin")
    assert d["size_bytes"] == len(blob)
    assert get(srv, f"/documents/{d['id']}").body == blob


@pytest.mark.parametrize("body,status,detail", [
    (None, 422, None),
    ("metadata-bad-json", 400, "Invalid JSON in metadata parameter"),
    ("metadata-not-strings", 400, "metadata must be a JSON object with string values"),
    ("metadata-array", 400, "metadata must be a JSON object with string values"),
    ("truncated", 400, "Malformed multipart body"),
    ("no-delimiter", 400, "Malformed multipart body"),
])
def test_upload_errors(srv, body, status, detail):
    before = files_on_disk(srv)
    if body is None:
        data = form([part("tags", "a")])
    elif body == "metadata-bad-json":
        data = upload_body(metadata="{nope")
    elif body == "metadata-not-strings":
        data = upload_body(metadata={"a": 1})
    elif body == "metadata-array":
        data = upload_body(metadata=["a"])
    elif body == "truncated":
        data = upload_body(b"x" * 3000)[:-40]
    else:
        data = b"just some bytes, no boundary at all\r\n"
    r = srv.request(FAM, "POST", "/documents", headers=mp_headers(), body=data)
    assert r.status == status, r
    if detail is None:
        assert r.json() == {"detail": [{"type": "missing", "loc": ["body", "file"],
                                        "msg": "Field required", "input": None}]}
    else:
        assert r.json() == {"detail": detail}
    assert files_on_disk(srv) == before


def test_not_multipart_is_missing_file(srv):
    for ctype in ("application/json", "multipart/form-data", "text/plain; boundary=x"):
        r = srv.request(FAM, "POST", "/documents", headers={"Content-Type": ctype},
                        body=b"{}")
        assert r.status == 422, r
        assert r.json()["detail"][0]["loc"] == ["body", "file"]


def test_form_fields_too_large(srv):
    r = srv.request(FAM, "POST", "/documents", headers=mp_headers(),
                    body=upload_body(tags="a," * 5000))
    assert r.status == 413 and r.json() == {"detail": "Form field too large"}, r
    meta = {"description": "x" * (70 * 1024)}
    r = srv.request(FAM, "POST", "/documents", headers=mp_headers(),
                    body=upload_body(metadata=meta))
    assert r.status == 413 and r.json() == {"detail": "Form field too large"}, r
    assert temp_files(srv) == []


def split_upload(srv, framing, content):
    """The same small upload split into two writes at every byte."""
    body = upload_body(content, "split.txt", tags="s")
    raw = chunked(body, 17) if framing == "chunked" else body
    head = (f"POST /documents HTTP/1.1\r\nHost: x\r\nContent-Type: "
            f"{mp_headers()['Content-Type']}\r\n").encode()
    head += (b"Transfer-Encoding: chunked\r\n\r\n" if framing == "chunked"
             else b"Content-Length: %d\r\n\r\n" % len(raw))
    ids = []
    for i in range(0, len(raw) + 1):
        status, _, b = raw_request(srv.ports[FAM], head, [raw[:i], raw[i:]], pause=0.002)
        assert status == 201, (i, b)
        d = json.loads(b)
        assert d["size_bytes"] == len(content) and d["tags"] == ["s"], (i, d)
        ids.append(d["id"])
    for i in ids[:: max(1, len(ids) // 7)]:
        assert get(srv, f"/documents/{i}").body == content
    for i in ids:
        assert srv.request(FAM, "DELETE", f"/documents/{i}").status == 200


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_split_at_every_byte(srv, framing):
    split_upload(srv, framing, b"line one\r\n--not a boundary\r\nline three")


def test_slow_upload_that_progresses_is_not_cut(tmp_path):
    """The body timeout is a stall timeout: a piece every 300 ms for longer
    than http.body_timeout_ms (1 s here) keeps the upload alive; silence
    longer than it is 408."""
    s = roostlib.Server(tmp_path / "slow", args=["--http.body_timeout_ms=1000"])
    s.start()
    body = upload_body(b"y" * 100, "slow.txt")
    head = (f"POST /documents HTTP/1.1\r\nHost: x\r\nContent-Type: "
            f"{mp_headers()['Content-Type']}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    pieces = [body[i:i + 40] for i in range(0, len(body), 40)]
    t0 = time.monotonic()
    status, _, b = raw_request(s.ports[FAM], head, pieces, pause=0.3)
    assert status == 201, b
    assert time.monotonic() - t0 > 1.0
    status, _, b = raw_request(s.ports[FAM], head, [body[:50]])
    assert status == 408, b
    assert temp_files(s) == []
    s.stop()


def test_too_large_from_content_length_before_the_body(srv):
    big = MAX + 1024 * 1024 + 1
    head = (f"POST /documents HTTP/1.1\r\nHost: x\r\nContent-Type: "
            f"{mp_headers()['Content-Type']}\r\nExpect: 100-continue\r\n"
            f"Content-Length: {big}\r\n\r\n").encode()
    sock = socket.create_connection((HOST, srv.ports[FAM]), timeout=5)
    sock.sendall(head)
    data = b""
    while True:
        c = sock.recv(65536)
        if not c:
            break
        data += c
    sock.close()
    assert b"100 Continue" not in data
    assert data.startswith(b"HTTP/1.1 413"), data
    assert b"Connection: close" in data
    assert data.endswith(
        b'{"detail":"File too large. Maximum size is %d bytes"}' % MAX), data


def test_too_large_while_streaming(srv):
    before = files_on_disk(srv)
    body = upload_body(b"z" * (MAX + 1), "big.bin")
    r = srv.request(FAM, "POST", "/documents", headers=mp_headers(), body=body)
    assert r.status == 413, r
    assert r.json() == {"detail": f"File too large. Maximum size is {MAX} bytes"}
    assert files_on_disk(srv) == before
    # exactly the limit is fine
    d = upload(srv, b"z" * MAX, "limit.bin")
    assert d["size_bytes"] == MAX
    assert srv.request(FAM, "DELETE", f"/documents/{d['id']}").status == 200


def test_full_upload_pool_is_503_before_the_body(srv):
    slots = roostlib.limits()["CFG_DOCS_UPLOAD_SLOTS"]
    head = (f"POST /documents HTTP/1.1\r\nHost: x\r\nContent-Type: "
            f"{mp_headers()['Content-Type']}\r\nContent-Length: 100000\r\n\r\n").encode()
    held = []
    for _ in range(slots):
        s = socket.create_connection((HOST, srv.ports[FAM]), timeout=5)
        s.sendall(head + b"--" + b"x")
        held.append(s)
    time.sleep(0.2 * SLOW)
    status, headers, b = raw_request(srv.ports[FAM], head, [])
    assert status == 503, b
    assert headers.get("retry-after") == "1"
    assert "detail" in json.loads(b)
    for s in held:
        s.close()
    time.sleep(0.2 * SLOW)
    assert temp_files(srv) == []
    upload(srv, b"after", "after.txt")


# ---- downloads ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def doc(srv):
    content = bytes((i * 7) % 251 for i in range(100000))
    d = upload(srv, content, "data.txt", ctype="text/plain")
    return d, content


def test_download_whole(srv, doc):
    d, content = doc
    r = get(srv, f"/documents/{d['id']}")
    assert r.status == 200 and r.body == content
    assert r.header("Content-Type") == "text/plain; charset=utf-8"
    assert r.header("Content-Length") == str(len(content))
    assert r.header("Content-Disposition") == 'attachment; filename="data.txt"'
    assert r.header("ETag") == '"%s"' % hashlib.sha256(content).hexdigest()
    assert r.header("Accept-Ranges") == "bytes"
    h = get(srv, f"/documents/{d['id']}", method="HEAD")
    assert h.status == 200 and h.body == b"" and h.header("Content-Length") == str(len(content))


def test_download_conditional_and_ranges(srv, doc):
    d, content = doc
    path = f"/documents/{d['id']}"
    etag = get(srv, path, method="HEAD").header("ETag")
    for inm in (etag, "W/" + etag, '"other", ' + etag, "*"):
        r = get(srv, path, headers={"If-None-Match": inm})
        assert r.status == 304 and r.body == b"" and r.header("ETag") == etag, inm
    assert get(srv, path, headers={"If-None-Match": '"other"'}).status == 200
    cases = [("bytes=0-99", 0, 99), ("bytes=99990-", 99990, 99999),
             ("bytes=-10", 99990, 99999), ("bytes=500-10000000", 500, 99999),
             ("bytes=-200000", 0, 99999), ("bytes=7-7", 7, 7)]
    for rng, a, b in cases:
        r = get(srv, path, headers={"Range": rng})
        assert r.status == 206, rng
        assert r.body == content[a:b + 1], rng
        assert r.header("Content-Range") == f"bytes {a}-{b}/{len(content)}", rng
        assert r.header("Content-Length") == str(b - a + 1)
    for rng in ("bytes=100000-", "bytes=200000-300000", "bytes=-0"):
        r = get(srv, path, headers={"Range": rng})
        assert r.status == 416, rng
        assert r.header("Content-Range") == f"bytes */{len(content)}"
        assert "detail" in r.json()
    for rng in ("bytes=0-1,5-6", "items=0-5", "bytes=5-1", "bytes=x-"):
        r = get(srv, path, headers={"Range": rng})
        assert r.status == 200 and r.body == content, rng
    r = get(srv, path, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert r.status == 206 and r.body == content[:10]
    r = get(srv, path, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert r.status == 200 and r.body == content


def test_download_disposition_non_ascii_and_unknown(srv):
    d = upload(srv, b"x", 'na"me é.md')
    r = get(srv, f"/documents/{d['id']}")
    assert r.header("Content-Disposition") == \
        "attachment; filename*=utf-8''na%22me%20%C3%A9.md"
    assert r.header("Content-Type") == "text/markdown; charset=utf-8"
    for bad in ("doc_123", "doc_" + "g" * 24, "DOC_" + "a" * 24, "..%2f..%2fetc%2fpasswd",
                "doc_" + "0" * 24):
        r = get(srv, f"/documents/{bad}")
        assert r.status == 404 and r.json() == {"detail": "Document not found"}, bad


def test_missing_file_is_404(srv):
    d = upload(srv, b"gone soon", "gone.txt")
    os.unlink(os.path.join(srv.data_dir, "documents", d["id"]))
    r = get(srv, f"/documents/{d['id']}")
    assert r.status == 404 and r.json() == {"detail": "Document not found"}
    assert get(srv, f"/documents/{d['id']}/metadata").status == 200


# ---- crash safety ---------------------------------------------------------------------

def test_kill9_mid_uploads_then_restart(tmp_path):
    s = roostlib.Server(tmp_path / "crash")
    s.start()
    ok = [upload(s, b"kept %d" % i, f"k{i}.txt")["id"] for i in range(3)]
    head = (f"POST /documents HTTP/1.1\r\nHost: x\r\nContent-Type: "
            f"{mp_headers()['Content-Type']}\r\nContent-Length: 10000000\r\n\r\n").encode()
    socks = []
    for i in range(3):
        c = socket.create_connection((HOST, s.ports[FAM]), timeout=5)
        c.sendall(head + form([part("file", b"p" * 300000, filename=f"p{i}.bin")])[:200000])
        socks.append(c)
    time.sleep(0.3 * SLOW)
    assert temp_files(s), "uploads in flight have temporary files"
    s.kill9()
    for c in socks:
        c.close()
    # a file renamed but never stored, as a crash between rename and commit leaves it
    with open(os.path.join(s.data_dir, "documents", "doc_" + "ab" * 12), "wb") as f:
        f.write(b"orphan")
    s.start()
    assert "removed" in s.stderr() + s.stdout()
    assert temp_files(s) == []
    assert sorted(doc_files(s)) == sorted(ok)
    for i in ok:
        assert get(s, f"/documents/{i}").status == 200
    upload(s, b"works again", "again.txt")
    s.stop()


def test_timestamps_are_naive_local_time(tmp_path):
    """created_at is the server's local time, naive: with TZ five and a half
    hours east of UTC (a POSIX zone, no tzdata needed), so is the document's,
    and an agent's created_at and modified_at too."""
    import datetime
    s = roostlib.Server(tmp_path / "tz", env={"TZ": "XYZ-5:30"},
                        args=[f"--agents.dir={tmp_path / 'agents'}"])
    s.start()
    want = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + \
        datetime.timedelta(hours=5, minutes=30)
    d = upload(s, b"tz", "tz.txt")
    got = datetime.datetime.fromisoformat(d["created_at"])
    assert abs((got - want).total_seconds()) < 60, (d["created_at"], want)
    r = s.request("agents", "POST", "/agents", headers={"Content-Type": "application/json"},
                  body=b'{"name":"tz","description":"d"}')
    assert r.status == 201, r
    for key in ("created_at", "modified_at"):
        got = datetime.datetime.fromisoformat(r.json()[key])
        assert abs((got - want).total_seconds()) < 60, (key, r.json()[key], want)
    s.stop()
