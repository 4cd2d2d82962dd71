"""Helpers for the documents tests (spec/documents.md) and bench/docs_list.py.

Documents are made two ways:

- upload(): POST /documents with a multipart/form-data body built by hand
  (spec §3.2), the way a client makes them;
- seed_documents(): SEEDING, not the API. Rows are written straight into
  the real roost.db with Python's sqlite3 module and the bytes into
  <data_dir>/documents/<id>, as the server itself lays them out (schema
  step 4, src/fam/docs/desc.c). roostd holds roost.db locked while it runs
  (store.h), so the server is stopped for the write and started again after
  it, on the same ports and data directory (as fleetlib.db() does). For
  what the API cannot make quickly (10,000 documents for the bench) or
  could not make at all before uploads existed.

add_documents() uploads when the server takes uploads and seeds otherwise,
so a test written against it needs no change either way. Standard library
only.
"""

import contextlib
import hashlib
import json
import os
import re
import secrets
import sqlite3
import uuid

FAM = "documents"

DOC_KEYS = ["id", "filename", "content_type", "size_bytes", "created_at", "updated_at", "tags",
            "metadata", "url"]
DOC_ID = re.compile(r"^doc_[0-9a-f]{24}$")
NAIVE_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


def new_id():
    return "doc_" + secrets.token_hex(12)


def doc_url(server, doc_id):
    """The url of a DocumentResponse with the default documents.public_url."""
    return f"http://localhost:{server.ports[FAM]}/documents/{doc_id}"


# ---- seeding (not the API) ---------------------------------------------------------

@contextlib.contextmanager
def db(server):
    """roost.db, opened by the test while roostd is stopped (it keeps the file
    locked while it runs); roostd is started again after, if it ran."""
    running = server.alive()
    if running:
        server.stop()
    con = sqlite3.connect(os.path.join(server.data_dir, "roost.db"), timeout=10.0)
    try:
        with con:
            yield con
    finally:
        con.close()
        if running:
            server.start()


def seed_rows(con, data_dir, docs, stamp="2025-11-25T10:11:12"):
    """Write docs (dicts: filename, data (bytes), content_type, tags (distinct),
    metadata, optional id, created_at, updated_at) through an open
    connection: one documents row, its doc_tags rows, the counts of its
    tags (doc_tag_counts) and its file each, in list order (the upload
    order). Returns the ids."""
    ddir = os.path.join(data_dir, "documents")
    os.makedirs(ddir, exist_ok=True)
    ids = []
    base = con.execute("SELECT coalesce(max(seq), 0) FROM documents").fetchone()[0]
    for i, d in enumerate(docs):
        doc_id = d.get("id") or new_id()
        data = d.get("data", b"")
        tags = list(d.get("tags", []))
        ts = d.get("created_at") or f"{stamp}.{(base + i + 1) % 1000000:06d}"
        cur = con.execute(
            "INSERT INTO documents(id, filename, content_type, size_bytes, sha256, created_at,"
            " updated_at, tags_json, metadata_json) VALUES (?,?,?,?,?,?,?,?,?)",
            (doc_id, d.get("filename", "unknown"), d.get("content_type", "text/plain"),
             len(data), hashlib.sha256(data).hexdigest(), ts, d.get("updated_at") or ts,
             json.dumps(tags, separators=(",", ":"), ensure_ascii=False),
             json.dumps(d.get("metadata", {}), separators=(",", ":"), ensure_ascii=False)))
        seq = cur.lastrowid
        con.executemany("INSERT INTO doc_tags(tag, doc, pos) VALUES (?,?,?)",
                        [(t, seq, p) for p, t in enumerate(tags)])
        con.executemany("INSERT INTO doc_tag_counts(tag, n) VALUES (?, 1)"
                        " ON CONFLICT(tag) DO UPDATE SET n = n + 1", [(t,) for t in tags])
        with open(os.path.join(ddir, doc_id), "wb") as f:
            f.write(data)
        ids.append(doc_id)
    return ids


def seed_documents(server, docs):
    """SEEDING: docs written into roost.db and <data_dir>/documents with roostd
    stopped meanwhile (see the top of this file). Returns their ids."""
    with db(server) as con:
        return seed_rows(con, server.data_dir, docs)


# ---- the API -------------------------------------------------------------------------

def multipart(fields, boundary=None):
    """(content type, body) of multipart/form-data. fields: (name, value) or
    (name, value, filename, content_type); values str or bytes."""
    boundary = boundary or ("roost" + uuid.uuid4().hex)
    out = []
    for f in fields:
        name, value = f[0], f[1]
        value = value.encode("utf-8") if isinstance(value, str) else value
        disp = f'Content-Disposition: form-data; name="{name}"'
        head = []
        if len(f) > 2 and f[2] is not None:
            disp += f'; filename="{f[2]}"'
        head.append(disp)
        if len(f) > 3 and f[3] is not None:
            head.append(f"Content-Type: {f[3]}")
        out.append(b"--" + boundary.encode() + b"\r\n" + "\r\n".join(head).encode("utf-8")
                   + b"\r\n\r\n" + value + b"\r\n")
    out.append(b"--" + boundary.encode() + b"--\r\n")
    return f"multipart/form-data; boundary={boundary}", b"".join(out)


def upload(server, filename, data, tags=None, metadata=None, content_type=None):
    """POST /documents; the response."""
    fields = [("file", data, filename, content_type)]
    if tags is not None:
        fields.append(("tags", ",".join(tags)))
    if metadata is not None:
        fields.append(("metadata", json.dumps(metadata)))
    ctype, body = multipart(fields)
    return server.request(FAM, "POST", "/documents", body=body,
                          headers={"Content-Type": ctype})


def uploads_work(server):
    """Whether the server takes uploads (POST /documents is no longer the
    placeholder's 501). Asked once per server."""
    known = getattr(server, "_docs_uploads", None)
    if known is None:
        ctype, body = multipart([("other", "x")])
        r = server.request(FAM, "POST", "/documents", body=body,
                           headers={"Content-Type": ctype})
        known = r.status != 501
        server._docs_uploads = known
    return known


def add_documents(server, docs):
    """Make docs (as seed_rows takes them, without id or timestamps) in list
    order: uploaded when the server takes uploads, else seeded. Returns the
    ids."""
    if not uploads_work(server):
        return seed_documents(server, docs)
    ids = []
    for d in docs:
        r = upload(server, d.get("filename", "unknown"), d.get("data", b""),
                   tags=d.get("tags") or None, metadata=d.get("metadata"),
                   content_type=d.get("content_type", "text/plain"))
        assert r.status == 201, r
        ids.append(json.loads(r.body)["id"])
    return ids
