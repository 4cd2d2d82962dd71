"""SEEDING documents, not the API: for bench/docs_list.py (10,000 documents,
which uploads would take long to make and would measure instead of the
list). The tests make their documents with real uploads (doclib.py).

Rows are written straight into the real roost.db with Python's sqlite3
module and the bytes into <data_dir>/documents/<id>, as the server itself
lays them out (schema step 4, src/fam/docs/desc.c): the documents
row, its doc_tags rows, the counts of its tags (doc_tag_counts) and its
file. roostd holds roost.db locked while it runs (store.h), so the server
is stopped for the write and started again after it, on the same ports and
data directory (roostlib.db()). Standard library only.
"""

import hashlib
import json
import os
import secrets

from roostlib import db

FAM = "documents"


def new_id():
    return "doc_" + secrets.token_hex(12)

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
