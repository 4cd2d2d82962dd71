"""Documents REST contract, everything but the bytes (spec/documents.md §1,
§2.1, §3.3-§3.5, §3.7, §3.8): GET /documents (filters, paging, its 422s),
GET /documents/tags, GET /documents/{id}/metadata, PATCH and DELETE
/documents/{id}, the ids in paths, and lists of any length. Written from
the spec; every document is made by a real multipart upload (doclib)."""

import json
import os
import re
import urllib.parse

import pytest

import doclib
import roostlib
from roostlib import assert_error_shape

FAM = "documents"
DOC_KEYS = ["id", "filename", "content_type", "size_bytes", "created_at", "updated_at", "tags",
            "metadata", "url"]
DOC_ID = re.compile(r"^doc_[0-9a-f]{24}$")
NAIVE_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")

NEEDS = {"documents"}

NOT_FOUND = {"detail": "Document not found"}
TAG_RULE = "tags must match ^[a-z0-9][a-z0-9-]*$"
BAD_IDS = ["doc_123", "doc_" + "0" * 23, "doc_" + "0" * 25, "doc_" + "A" * 24,
           "DOC_" + "0" * 24, "doc_" + "g" * 24, "tags2", "..%2F..%2Fetc%2Fpasswd",
           "%2e%2e", "doc_000000000000000000000000%2F..", "doc_%2e%2e%2f%2e%2e%2f0000000000000000",
           "doc_0000000000000000000000%20%20", "doc_%C3%A9" + "0" * 22]
# (A path whose %-escapes are malformed or decode to NUL is refused by the
# HTTP layer before any route runs: 400, README §6.1; not an id question.)


# ---- helpers ----------------------------------------------------------------------

def doc_url(server, doc_id):
    """The url of a DocumentResponse with the default documents.public_url."""
    return f"http://localhost:{server.ports[FAM]}/documents/{doc_id}"


def add_documents(server, docs):
    """Upload docs (doc() dicts) in list order; their ids. Tags go as the
    comma-separated part (none: no part), metadata as JSON text."""
    ids = []
    for d in docs:
        meta = json.dumps(d["metadata"], ensure_ascii=False)
        got = doclib.upload(server, d["data"], d["filename"],
                            tags=",".join(d["tags"]) if d["tags"] else None,
                            metadata=meta, ctype=d["content_type"])
        ids.append(got["id"])
    return ids


def call(server, method, path, body=None, raw=None, headers=None):
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    return server.request(FAM, method, path, body=data, headers=headers)


def ok_json(resp, status=200):
    assert resp.status == status, resp
    assert resp.header("Content-Type") == "application/json", resp
    return resp.json()


def check_doc(server, d):
    """d is a DocumentResponse (§2.1): its keys in order, their types."""
    assert list(d.keys()) == DOC_KEYS, d
    assert DOC_ID.match(d["id"]), d
    assert isinstance(d["filename"], str) and isinstance(d["content_type"], str)
    assert isinstance(d["size_bytes"], int) and not isinstance(d["size_bytes"], bool)
    assert NAIVE_TS.match(d["created_at"]) and NAIVE_TS.match(d["updated_at"]), d
    assert isinstance(d["tags"], list) and all(isinstance(t, str) for t in d["tags"]), d
    assert len(set(d["tags"])) == len(d["tags"]), d
    assert isinstance(d["metadata"], dict), d
    assert all(isinstance(v, str) for v in d["metadata"].values()), d
    assert d["url"] == doc_url(server, d["id"]), d
    return d


def listing(server, query=""):
    r = call(server, "GET", "/documents" + query)
    got = ok_json(r)
    assert isinstance(got, list), got
    for d in got:
        check_doc(server, d)
    return got


def ids_of(docs):
    return [d["id"] for d in docs]


def meta(server, doc_id):
    return check_doc(server, ok_json(call(server, "GET", f"/documents/{doc_id}/metadata")))


def tag_counts(server):
    j = ok_json(call(server, "GET", "/documents/tags"))
    assert list(j.keys()) == ["tags"], j
    for t in j["tags"]:
        assert list(t.keys()) == ["name", "count"], t
    return j["tags"]


def counts_agree(server):
    """GET /documents/tags says what the documents themselves carry."""
    seen = {}
    off = 0
    while True:
        page = listing(server, q(limit=1000, offset=off))
        for d in page:
            for t in d["tags"]:
                seen[t] = seen.get(t, 0) + 1
        if len(page) < 1000:
            break
        off += 1000
    want = sorted(({"name": k, "count": v} for k, v in seen.items()),
                  key=lambda e: (-e["count"], e["name"].encode()))
    assert tag_counts(server) == want


def detail_422(resp):
    j = assert_error_shape(FAM, resp, 422)
    assert isinstance(j["detail"], list), j
    return j["detail"]


def detail_400(resp):
    j = assert_error_shape(FAM, resp, 400)
    assert isinstance(j["detail"], str), j
    return j["detail"]


def doc(filename="a.txt", tags=(), metadata=None, data=b"hello", content_type="text/plain"):
    return {"filename": filename, "data": data, "content_type": content_type,
            "tags": list(tags), "metadata": metadata if metadata is not None else {}}


def q(**params):
    return "?" + urllib.parse.urlencode(params)


# ---- the list (§3.3) --------------------------------------------------------------

def test_empty_store(fresh):
    srv = fresh()
    r = call(srv, "GET", "/documents")
    assert ok_json(r) == []
    assert ok_json(call(srv, "GET", "/documents/tags")) == {"tags": []}


@pytest.fixture(scope="module")
def corpus(roostd, tmp_path_factory):
    """A server of its own holding the documents of the filter tests, made
    once (upload order as listed) and only read: (server, id by filename,
    the specs)."""
    srv = roostlib.Server(tmp_path_factory.mktemp("corpus")).start()
    specs = [
        doc("design-notes.md", ["design", "v2"], {"description": "Architecture notes"},
            b"# Design\n", "text/markdown"),
        doc("Meeting-NOTES.txt", ["meeting", "design"]),
        doc("100%_done.txt", ["status"]),
        doc("100xxdone.txt", ["status", "v2"]),
        doc("report.pdf", ["design", "v2", "review"], {"author": "ann", "description": "Q3"},
            b"%PDF-1.4", "application/pdf"),
        doc("image.png", [], {}, b"\x89PNG", "image/png"),
        doc("unicode-\u00e9t\u00e9.md", ["v2", "\u00e9t\u00e9"]),
    ]
    ids = add_documents(srv, specs)
    yield srv, dict(zip([s["filename"] for s in specs], ids)), specs
    srv.stop()


def names(server, query):
    return [d["filename"] for d in listing(server, query)]


def test_list_is_upload_order_with_document_responses(corpus):
    server, by_name, specs = corpus
    got = [d for d in listing(server) if d["id"] in by_name.values()]
    assert [d["filename"] for d in got] == [s["filename"] for s in specs]
    first = got[0]
    assert first["id"] == by_name["design-notes.md"]
    assert first["content_type"] == "text/markdown"
    assert first["size_bytes"] == len(b"# Design\n")
    assert first["tags"] == ["design", "v2"]
    assert first["metadata"] == {"description": "Architecture notes"}
    assert first["created_at"] == first["updated_at"]
    assert got[4]["metadata"] == {"author": "ann", "description": "Q3"}
    assert got[5]["tags"] == [] and got[5]["metadata"] == {}
    created = [d["created_at"] for d in got]
    assert created == sorted(created)


def test_filename_substring_ascii_case_insensitive(corpus):
    server, by_name, specs = corpus
    assert names(server, q(filename="NOTES")) == ["design-notes.md", "Meeting-NOTES.txt"]
    assert names(server, q(filename="notes.MD")) == ["design-notes.md"]
    assert names(server, q(filename=".txt")) == ["Meeting-NOTES.txt", "100%_done.txt",
                                                  "100xxdone.txt"]
    assert names(server, q(filename="nothing-like-it")) == []
    # only ASCII letters fold: an accented letter matches itself only
    assert names(server, q(filename="\u00c9T\u00c9")) == []
    assert names(server, q(filename="\u00e9T\u00e9")) == ["unicode-\u00e9t\u00e9.md"]
    assert names(server, q(filename="\u00e9t\u00e9")) == ["unicode-\u00e9t\u00e9.md"]


def test_filename_percent_and_underscore_are_literal(corpus):
    server, by_name, specs = corpus
    assert names(server, q(filename="%_")) == ["100%_done.txt"]
    assert names(server, q(filename="100%")) == ["100%_done.txt"]
    assert names(server, q(filename="_")) == ["100%_done.txt"]
    assert names(server, q(filename="0_d")) == []


def test_filename_empty_filters_nothing(corpus):
    server, by_name, specs = corpus
    assert ids_of(listing(server, "?filename=")) == ids_of(listing(server))


def test_query_plus_is_a_space(corpus):
    server, by_name, specs = corpus
    assert names(server, "?filename=Meeting-NOTES.txt+") == []
    assert names(server, "?filename=%2B") == []
    assert names(server, "?tags=+design+,+v2") == names(server, q(tags="design,v2"))


def test_tags_all_of(corpus):
    server, by_name, specs = corpus
    assert names(server, q(tags="design")) == ["design-notes.md", "Meeting-NOTES.txt",
                                                "report.pdf"]
    assert names(server, q(tags="design,v2")) == ["design-notes.md", "report.pdf"]
    assert names(server, q(tags="v2,design")) == ["design-notes.md", "report.pdf"]
    assert names(server, q(tags="design,v2,review")) == ["report.pdf"]
    assert names(server, q(tags="status")) == ["100%_done.txt", "100xxdone.txt"]
    assert names(server, q(tags="design,status")) == []
    assert names(server, q(tags="design,no-such-tag")) == []
    assert names(server, q(tags="no-such-tag")) == []


def test_tags_items_trimmed_empty_dropped_duplicates_harmless(corpus):
    server, by_name, specs = corpus
    want = ["design-notes.md", "report.pdf"]
    assert names(server, q(tags=" design , ,v2 ,")) == want
    assert names(server, q(tags="design,design,v2,v2")) == want
    assert names(server, q(tags="\u00e9t\u00e9")) == ["unicode-\u00e9t\u00e9.md"]
    # no item left: no tag filter
    assert ids_of(listing(server, q(tags=" , ,"))) == ids_of(listing(server))
    assert ids_of(listing(server, q(tags=""))) == ids_of(listing(server))


def test_tags_are_exact_and_case_sensitive(corpus):
    server, by_name, specs = corpus
    assert names(server, q(tags="Design")) == []
    assert names(server, q(tags="desig")) == []


def test_filters_combined(corpus):
    server, by_name, specs = corpus
    assert names(server, q(tags="design", filename="notes")) == ["design-notes.md",
                                                                 "Meeting-NOTES.txt"]
    assert names(server, q(tags="design,v2", filename="NOTES")) == ["design-notes.md"]
    assert names(server, q(tags="v2", filename=".pdf")) == ["report.pdf"]
    assert names(server, q(tags="status", filename="xx", limit=1)) == ["100xxdone.txt"]
    assert names(server, q(tags="design", filename="notes", offset=1)) == ["Meeting-NOTES.txt"]


def test_limit_and_offset(corpus):
    server, by_name, specs = corpus
    everything = ids_of(listing(server, q(limit=1000)))
    assert len(everything) >= 7
    assert ids_of(listing(server, q(limit=2))) == everything[:2]
    assert ids_of(listing(server, q(limit=2, offset=1))) == everything[1:3]
    assert ids_of(listing(server, q(offset=len(everything)))) == []
    assert ids_of(listing(server, q(offset=10 ** 18))) == []
    assert ids_of(listing(server, q(offset=9223372036854775807))) == []
    assert listing(server, q(limit=0)) == []
    assert names(server, q(tags="v2", offset=1, limit=2)) == ["100xxdone.txt", "report.pdf"]
    # after the filter: offset and limit count matching documents only
    assert names(server, q(tags="v2", offset=3)) == ["unicode-\u00e9t\u00e9.md"]


def test_limit_default_is_100(server):
    have = len(listing(server, q(limit=1000)))
    if have < 101:
        add_documents(server, [doc(f"filler-{i}.txt") for i in range(101 - have)])
    assert len(listing(server)) == 100
    assert len(listing(server, q(limit=101))) == 101


@pytest.mark.parametrize("query,entry", [
    ("limit=1001", {"type": "less_than_equal", "loc": ["query", "limit"],
                    "msg": "Input should be less than or equal to 1000", "input": "1001",
                    "ctx": {"le": 1000}}),
    ("limit=-1", {"type": "greater_than_equal", "loc": ["query", "limit"],
                  "msg": "Input should be greater than or equal to 0", "input": "-1",
                  "ctx": {"ge": 0}}),
    ("limit=ten", {"type": "int_parsing", "loc": ["query", "limit"],
                   "msg": "Input should be a valid integer, unable to parse string as an integer",
                   "input": "ten"}),
    ("limit=1.5", {"type": "int_parsing", "loc": ["query", "limit"],
                   "msg": "Input should be a valid integer, unable to parse string as an integer",
                   "input": "1.5"}),
    ("limit=", {"type": "int_parsing", "loc": ["query", "limit"],
                "msg": "Input should be a valid integer, unable to parse string as an integer",
                "input": ""}),
    ("offset=-1", {"type": "greater_than_equal", "loc": ["query", "offset"],
                   "msg": "Input should be greater than or equal to 0", "input": "-1",
                   "ctx": {"ge": 0}}),
    ("offset=x", {"type": "int_parsing", "loc": ["query", "offset"],
                  "msg": "Input should be a valid integer, unable to parse string as an integer",
                  "input": "x"}),
])
def test_list_query_422(server, query, entry):
    assert detail_422(call(server, "GET", "/documents?" + query)) == [entry]


def test_list_query_422_both_in_order(server):
    got = detail_422(call(server, "GET", "/documents?offset=-5&limit=5000&tags=a"))
    assert [(e["type"], e["loc"]) for e in got] == [
        ("less_than_equal", ["query", "limit"]), ("greater_than_equal", ["query", "offset"])]


def test_limit_bounds_accepted(server):
    assert isinstance(listing(server, q(limit=1000)), list)
    assert listing(server, q(limit=0, offset=0)) == []


# ---- lists of any length ------------------------------------------------------------

def test_long_list_streamed_whole(fresh):
    """A list far larger than a connection's buffer arrives whole and in
    order, with and without a tag filter, and its pages agree with it."""
    srv = fresh()
    pad = "m" * 400          # (the small profile takes metadata up to 512 bytes)
    specs = [doc(f"bulk-{i:04d}.txt", ["bulk"] + (["odd"] if i % 2 else []),
                 {"description": f"{i}", "pad": pad}) for i in range(600)]
    ids = add_documents(srv, specs)
    got = listing(srv, q(limit=1000))
    assert ids_of(got) == ids
    assert [d["metadata"]["description"] for d in got] == [str(i) for i in range(600)]
    assert ids_of(listing(srv, q(tags="odd,bulk", limit=1000))) == ids[1::2]
    assert ids_of(listing(srv, q(tags="bulk,odd", offset=100, limit=50))) == ids[1::2][100:150]
    assert ids_of(listing(srv, q(filename="BULK-05", limit=1000))) == ids[500:600]
    pages = []
    for off in range(0, 600, 70):
        pages += ids_of(listing(srv, q(limit=70, offset=off)))
    assert pages == ids


@pytest.mark.needs_limit(CFG_RENDER_BYTES=80 * 1024)
def test_large_rows_in_a_list(fresh):
    """Rows larger than a connection's buffer (metadata of 60 KiB) still
    arrive whole in a list."""
    srv = fresh()
    big = {"description": "d" * 60000, "k": "\u00e9" * 1000}
    ids = add_documents(srv, [doc("big-1.md", ["big"], big), doc("small.md", ["big"]),
                               doc("big-2.md", ["big"], big)])
    got = listing(srv, q(tags="big"))
    assert ids_of(got) == ids
    assert got[0]["metadata"] == big and got[2]["metadata"] == big
    assert meta(srv, ids[0])["metadata"] == big


@pytest.mark.needs_limit(CFG_HTTP_MAX_TARGET_BYTES=4096)
def test_long_filters(fresh):
    """Filters far longer than usual (many long tags, a long filename)
    give the same answers as short ones."""
    srv = fresh()
    long_tags = [f"tag-{i:02d}-" + "x" * 40 for i in range(40)]
    long_name = "n" * 240 + ".txt"    # (uploads take filenames up to 255 bytes)
    ids = add_documents(srv, [doc(long_name, long_tags), doc("other.txt", long_tags[:39]),
                               doc(long_name.upper(), long_tags[1:])])
    assert ids_of(listing(srv, q(tags=",".join(long_tags)))) == [ids[0]]
    assert ids_of(listing(srv, q(tags=",".join(long_tags[1:39])))) == ids
    assert ids_of(listing(srv, q(filename=long_name))) == [ids[0], ids[2]]
    assert ids_of(listing(srv, q(filename=long_name, tags=",".join(reversed(long_tags[1:]))))) \
        == [ids[0], ids[2]]
    assert ids_of(listing(srv, q(filename=long_name, tags=long_tags[0]))) == [ids[0]]
    assert listing(srv, q(tags=",".join(long_tags + ["absent"]))) == []


# ---- GET /documents/tags (§3.4) ------------------------------------------------------

def test_tag_counts_sorted_count_desc_then_name_bytewise(fresh):
    srv = fresh()
    add_documents(srv, [doc("1", ["ai", "review", "config", "B", "a"]),
                         doc("2", ["ai", "review", "Z"]),
                         doc("3", ["ai", "b"]),
                         doc("4", ["ai", "review", "zz", "\u00e9"]),
                         doc("5", [])])
    assert tag_counts(srv) == [
        {"name": "ai", "count": 4}, {"name": "review", "count": 3},
        {"name": "B", "count": 1}, {"name": "Z", "count": 1}, {"name": "a", "count": 1},
        {"name": "b", "count": 1}, {"name": "config", "count": 1}, {"name": "zz", "count": 1},
        {"name": "\u00e9", "count": 1}]


@pytest.mark.needs_limit(CFG_DOCS_TAGS_BYTES=6 * 1024)
def test_tag_counts_many_tags_streamed(fresh):
    """1,500 distinct tags: an answer of many parts, in order."""
    srv = fresh()
    tags = [f"t{i:04d}-" + "y" * 30 for i in range(1500)]
    common = tags[::20]
    add_documents(srv, [doc(f"part-{k}", tags[k * 150:(k + 1) * 150]) for k in range(10)] +
                  [doc("common-1", common), doc("common-2", common)])
    got = tag_counts(srv)
    assert got == ([{"name": t, "count": 3} for t in common] +
                   [{"name": t, "count": 1} for t in tags if t not in common])


def test_tags_route_comes_before_the_id_route(server):
    r = call(server, "GET", "/documents/tags")
    assert r.status == 200 and "tags" in r.json()
    for method in ("PATCH", "DELETE"):
        r = call(server, method, "/documents/tags", body={})
        assert assert_error_shape(FAM, r, 404) == NOT_FOUND


# ---- GET /documents/{id}/metadata (§3.5) -------------------------------------------

def test_metadata_of_a_document(corpus):
    server, by_name, specs = corpus
    d = meta(server, by_name["report.pdf"])
    assert d["filename"] == "report.pdf" and d["content_type"] == "application/pdf"
    assert d["size_bytes"] == len(b"%PDF-1.4")
    assert d["tags"] == ["design", "v2", "review"]
    assert d["metadata"] == {"author": "ann", "description": "Q3"}
    assert [x for x in listing(server) if x["id"] == d["id"]] == [d]


def test_metadata_unknown_document_404(server):
    r = call(server, "GET", "/documents/doc_0123456789abcdef01234567/metadata")
    assert assert_error_shape(FAM, r, 404) == NOT_FOUND


@pytest.mark.parametrize("bad", BAD_IDS)
def test_malformed_ids_404(server, bad):
    for method, path in (("GET", f"/documents/{bad}/metadata"),
                         ("PATCH", f"/documents/{bad}"), ("DELETE", f"/documents/{bad}")):
        r = call(server, method, path, body={"tags": []} if method == "PATCH" else None)
        assert assert_error_shape(FAM, r, 404) == NOT_FOUND, (method, path, r)


def test_path_traversal_never_leaves_the_store(server, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    rel = os.path.relpath(str(victim), os.path.join(server.data_dir, "documents"))
    enc = urllib.parse.quote(rel, safe="")
    for method in ("DELETE", "PATCH", "GET"):
        path = f"/documents/{enc}" + ("/metadata" if method == "GET" else "")
        r = call(server, method, path, body={} if method == "PATCH" else None)
        assert assert_error_shape(FAM, r, 404) == NOT_FOUND
    assert victim.read_text() == "keep me"


# ---- PATCH /documents/{id} (§3.7) ---------------------------------------------------

@pytest.fixture
def one(server):
    """A document of its own for each test that changes it."""
    [doc_id] = add_documents(server, [doc("patch-me.md", ["old", "keep"],
                                          {"description": "before", "author": "ann"})])
    return doc_id


def patch(server, doc_id, body=None, raw=None):
    return call(server, "PATCH", f"/documents/{doc_id}", body=body, raw=raw)


def test_patch_spec_example(server, one):
    before = meta(server, one)
    r = patch(server, one, {"tags": ["Design", "AI", "design"],
                            "description": "Architecture notes for v2 (reviewed)"})
    d = check_doc(server, ok_json(r))
    assert d["tags"] == ["design", "ai"]
    assert d["metadata"] == {"description": "Architecture notes for v2 (reviewed)",
                             "author": "ann"}
    assert d["updated_at"] != before["updated_at"]
    assert d["created_at"] == before["created_at"]
    assert {k: d[k] for k in ("id", "filename", "content_type", "size_bytes", "url")} == \
        {k: before[k] for k in ("id", "filename", "content_type", "size_bytes", "url")}
    assert meta(server, one) == d


def test_patch_tags_trimmed_lowercased_deduplicated(server, one):
    d = ok_json(patch(server, one, {"tags": ["  Foo-1 ", "\tBAR\n", "foo-1", "0a", "z-", "bar"]}))
    assert d["tags"] == ["foo-1", "bar", "0a", "z-"]
    # Python's str.strip() whitespace, beyond ASCII
    d = ok_json(patch(server, one, {"tags": ["\u00a0nbsp\u3000", "\u2003em\u2029"]}))
    assert d["tags"] == ["nbsp", "em"]


def test_patch_tags_replace_and_feed_filters_and_counts(server, one):
    before = {t["name"]: t["count"] for t in tag_counts(server)}
    ok_json(patch(server, one, {"tags": ["patched-x", "patched-y"]}))
    after = {t["name"]: t["count"] for t in tag_counts(server)}
    assert after.get("keep", 0) == before["keep"] - 1
    assert after.get("old", 0) == before["old"] - 1
    counts_agree(server)
    assert ids_of(listing(server, q(tags="patched-x,patched-y"))) == [one]
    assert ids_of(listing(server, q(tags="old"))).count(one) == 0
    counts = {t["name"]: t["count"] for t in tag_counts(server)}
    assert counts.get("patched-x") == 1 and counts.get("patched-y") == 1


def test_patch_empty_list_clears_tags(server, one):
    d = ok_json(patch(server, one, {"tags": []}))
    assert d["tags"] == []
    counts_agree(server)
    assert one not in ids_of(listing(server, q(tags="keep", limit=1000)))
    assert meta(server, one)["metadata"] == {"description": "before", "author": "ann"}


def test_patch_absent_or_null_fields_unchanged(server, one):
    before = meta(server, one)
    for body in ({}, {"tags": None}, {"description": None}, {"tags": None, "description": None},
                 {"unknown": [1, 2]}):
        d = ok_json(patch(server, one, body))
        assert d["tags"] == before["tags"] and d["metadata"] == before["metadata"], body
        assert d["updated_at"] >= before["updated_at"]


def test_patch_updates_updated_at_every_time(server, one):
    first = ok_json(patch(server, one, {}))["updated_at"]
    second = ok_json(patch(server, one, {}))["updated_at"]
    assert NAIVE_TS.match(first) and NAIVE_TS.match(second)
    assert second != first


def test_patch_description_set_remove_keep_others(server, one):
    d = ok_json(patch(server, one, {"description": "caf\u00e9 \"quoted\" \\ \n\u2028 \U0001F600"}))
    assert d["metadata"] == {"description": "caf\u00e9 \"quoted\" \\ \n\u2028 \U0001F600",
                             "author": "ann"}
    d = ok_json(patch(server, one, {"description": ""}))
    assert d["metadata"] == {"author": "ann"}
    d = ok_json(patch(server, one, {"description": ""}))
    assert d["metadata"] == {"author": "ann"}
    d = ok_json(patch(server, one, {"description": "back"}))
    assert d["metadata"] == {"author": "ann", "description": "back"}
    assert meta(server, one)["metadata"] == {"author": "ann", "description": "back"}


@pytest.mark.needs_limit(CFG_BODY_SLOT_BYTES=64 * 1024, CFG_RENDER_BYTES=64 * 1024)
def test_patch_description_limit_in_characters(server, one):
    d = ok_json(patch(server, one, {"description": "\u00e9" * 10000}))
    assert d["metadata"]["description"] == "\u00e9" * 10000
    d = ok_json(patch(server, one, {"description": "\U0001F600" * 10000}))
    assert d["metadata"]["description"] == "\U0001F600" * 10000
    raw = ('{"description":"' + "\\u00e9" * 9999 + '\\ud83d\\ude00"}').encode()
    assert ok_json(patch(server, one, raw=raw))["metadata"]["description"] == \
        "\u00e9" * 9999 + "\U0001F600"
    detail_400(patch(server, one, {"description": "x" * 10001}))
    detail_400(patch(server, one, {"description": "\u00e9" * 10001}))
    assert meta(server, one)["metadata"]["description"] == "\u00e9" * 9999 + "\U0001F600"


@pytest.mark.parametrize("tag,shown", [
    ("foo bar", "foo bar"), ("Foo Bar", "foo bar"), ("-lead", "-lead"), ("", ""),
    ("   ", ""), ("a_b", "a_b"), ("a.b", "a.b"), ("caf\u00e9", "caf\u00e9"), ("a,b", "a,b"),
    ("x'y", "x'y"),
])
def test_patch_invalid_tag_400(server, one, tag, shown):
    r = patch(server, one, {"tags": ["good", tag]})
    assert detail_400(r) == f"Invalid tag '{shown}': {TAG_RULE}"
    assert meta(server, one)["tags"] == ["old", "keep"]


def test_patch_tag_length(server, one):
    ok = "a" * 64
    assert ok_json(patch(server, one, {"tags": [ok, "  " + "B" * 64 + "  "]}))["tags"] == \
        [ok, "b" * 64]
    detail_400(patch(server, one, {"tags": ["a" * 65]}))
    detail_400(patch(server, one, {"tags": ["x", "a" * 5000]}))
    assert meta(server, one)["tags"] == [ok, "b" * 64]


def test_patch_tag_count(server, one):
    fifty = [f"t{i}" for i in range(50)]
    assert ok_json(patch(server, one, {"tags": fifty}))["tags"] == fifty
    detail_400(patch(server, one, {"tags": fifty + ["t50"]}))
    assert meta(server, one)["tags"] == fifty
    # duplicates are removed before counting
    assert ok_json(patch(server, one, {"tags": fifty + ["T0", "t1 "]}))["tags"] == fifty
    counts_agree(server)


def test_patch_first_invalid_tag_is_reported(server, one):
    r = patch(server, one, {"tags": ["ok", "Bad Tag", "worse tag"]})
    assert detail_400(r) == f"Invalid tag 'bad tag': {TAG_RULE}"


def test_patch_unknown_document_404(server):
    r = patch(server, "doc_0123456789abcdef01234567", {"tags": ["x"]})
    assert assert_error_shape(FAM, r, 404) == NOT_FOUND


def test_patch_invalid_json_422(server, one):
    r = patch(server, one, raw=b'{"tags": [}')
    assert detail_422(r) == [{"type": "json_invalid", "loc": ["body", 10],
                              "msg": "JSON decode error", "input": {},
                              "ctx": {"error": "Expecting value"}}]
    r = patch(server, one, raw=b'{"tags": ["a"]} x')
    assert detail_422(r)[0]["type"] == "json_invalid"


def test_patch_wrong_types_422(server, one):
    r = patch(server, one, {"tags": "design"})
    assert detail_422(r) == [{"type": "list_type", "loc": ["body", "tags"],
                              "msg": "Input should be a valid list", "input": "design"}]
    r = patch(server, one, {"tags": ["a", 1, None, "b", {"x": 1}]})
    assert detail_422(r) == [
        {"type": "string_type", "loc": ["body", "tags", 1],
         "msg": "Input should be a valid string", "input": 1},
        {"type": "string_type", "loc": ["body", "tags", 2],
         "msg": "Input should be a valid string", "input": None},
        {"type": "string_type", "loc": ["body", "tags", 4],
         "msg": "Input should be a valid string", "input": {"x": 1}}]
    r = patch(server, one, {"description": 5})
    assert detail_422(r) == [{"type": "string_type", "loc": ["body", "description"],
                              "msg": "Input should be a valid string", "input": 5}]
    r = patch(server, one, {"tags": {"a": 1}, "description": ["x"]})
    assert [(e["type"], e["loc"]) for e in detail_422(r)] == [
        ("list_type", ["body", "tags"]), ("string_type", ["body", "description"])]
    assert meta(server, one)["tags"] == ["old", "keep"]


def test_patch_422_comes_before_404(server):
    r = patch(server, "doc_0123456789abcdef01234567", {"tags": "x"})
    assert detail_422(r)[0]["type"] == "list_type"


@pytest.mark.needs_limit(CFG_RENDER_BYTES=80 * 1024)
def test_patch_large_document_answer(server):
    """The answer of a PATCH larger than a connection's buffer arrives whole."""
    big = {"notes": "n" * 50000}
    [doc_id] = add_documents(server, [doc("big.md", ["x"], big)])
    d = ok_json(patch(server, doc_id, {"description": "y" * 9000, "tags": ["a", "b"]}))
    assert d["metadata"] == {"notes": "n" * 50000, "description": "y" * 9000}
    assert d["tags"] == ["a", "b"]
    assert meta(server, doc_id) == d


# ---- DELETE /documents/{id} (§3.8) --------------------------------------------------

def test_delete_removes_row_tags_and_file(server):
    [doc_id, other] = add_documents(server, [doc("gone.txt", ["only-here", "shared-del"]),
                                             doc("stays.txt", ["shared-del"])])
    path = os.path.join(server.data_dir, "documents", doc_id)
    assert os.path.isfile(path)
    r = call(server, "DELETE", f"/documents/{doc_id}")
    assert r.status == 200 and r.header("Content-Type") == "application/json"
    assert r.body == (b'{"success":true,"message":"Document ' + doc_id.encode() +
                      b' deleted successfully","document_id":"' + doc_id.encode() + b'"}')
    assert not os.path.exists(path)
    assert os.path.isfile(os.path.join(server.data_dir, "documents", other))
    assert assert_error_shape(FAM, call(server, "GET", f"/documents/{doc_id}/metadata"),
                              404) == NOT_FOUND
    assert doc_id not in ids_of(listing(server, q(limit=1000)))
    counts = {t["name"]: t["count"] for t in tag_counts(server)}
    assert "only-here" not in counts and counts["shared-del"] == 1
    assert ids_of(listing(server, q(tags="shared-del"))) == [other]
    counts_agree(server)
    r = call(server, "DELETE", f"/documents/{doc_id}")
    assert assert_error_shape(FAM, r, 404) == NOT_FOUND
    assert assert_error_shape(FAM, call(server, "PATCH", f"/documents/{doc_id}", body={}),
                              404) == NOT_FOUND


def test_delete_with_file_already_gone(server):
    [doc_id] = add_documents(server, [doc("lost.txt", ["lost"])])
    os.remove(os.path.join(server.data_dir, "documents", doc_id))
    r = call(server, "DELETE", f"/documents/{doc_id}")
    assert ok_json(r)["document_id"] == doc_id
    assert assert_error_shape(FAM, call(server, "GET", f"/documents/{doc_id}/metadata"),
                              404) == NOT_FOUND


def test_delete_unknown_404(server):
    r = call(server, "DELETE", "/documents/doc_0123456789abcdef01234567")
    assert assert_error_shape(FAM, r, 404) == NOT_FOUND


# ---- methods -------------------------------------------------------------------------

def test_wrong_methods_405(server):
    r = call(server, "PUT", "/documents/doc_0123456789abcdef01234567", body={})
    j = assert_error_shape(FAM, r, 405)
    assert j == {"detail": "Method Not Allowed"}
    assert set(x.strip() for x in r.header("Allow").split(",")) == \
        {"GET", "HEAD", "PATCH", "DELETE"}
    r = call(server, "DELETE", "/documents")
    assert assert_error_shape(FAM, r, 405) == {"detail": "Method Not Allowed"}
    r = call(server, "POST", "/documents/tags")
    assert r.status == 405, r
