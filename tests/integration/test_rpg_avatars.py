"""GET /api/avatars/{seed} (spec rpg.md §4.9, as the issue changed it):
avatars generated from the seed (never fetched), cached on disk in
<data_dir>/rpg/avatars, served with a strong ETag; files placed there are
served as they are (src/fam/rpg/avatar.c says what each case answers).

The roostd here has only the rpg family and a tmux server that is never
started (rpglib.Tmux: its own TMUX_TMPDIR), so its poller finds nothing and
nothing but avatars is exercised.
"""

import hashlib
import os
import re
import shutil
import uuid
import xml.etree.ElementTree as ET

import pytest

import roostlib
from rpglib import Tmux, call, fail, rpg_server

NEEDS = {"rpg"}
SVG_NS = "{http://www.w3.org/2000/svg}"
CACHE_CONTROL = "public, max-age=31536000, immutable"
STRONG_ETAG = re.compile(r'^"[0-9a-f]{32}"$')

# The bytes of two seeds' avatars, pinned: the same seed gives the same
# bytes on every build and platform (integer arithmetic only). A change to
# the drawing changes these on purpose (and every avatar not yet cached).
GOLDEN = {
    "313751552": "703fdfcb92c22564f5db25927a6842e162f3482f81e0d6ca5aaf7ed6e4a3328c",
    "Ada_Lovelace-1815": "a798e91ac298ab2e15178ce1ee001a9c820ec410a1d1e126010ab025d00889d3",
}


def file_cap():
    """CFG_RPG_AVATAR_FILE_BYTES from config.h."""
    with open(os.path.join(roostlib.REPO, "config.h")) as f:
        m = re.search(r"^#define CFG_RPG_AVATAR_FILE_BYTES (\d+)u\b", f.read(), re.M)
    assert m, "CFG_RPG_AVATAR_FILE_BYTES not in config.h"
    return int(m.group(1))


def persona_seed(session_id):
    """§4.9: abs of the 32-bit signed hash h = (h << 5) - h + c over the
    UTF-16 code units of the session id."""
    h = 0
    units = session_id.encode("utf-16-le")
    for i in range(0, len(units), 2):
        c = units[i] | (units[i + 1] << 8)
        h = ((h << 5) - h + c) & 0xFFFFFFFF
    if h >= 0x80000000:
        h -= 0x100000000
    return abs(h)


def avatars_dir(srv):
    return os.path.join(srv.data_dir, "rpg", "avatars")


def get(srv, seed, headers=None, method="GET"):
    return call(srv, method, f"/api/avatars/{seed}", headers=headers)


def etag_of(body):
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def check_svg(r, body=None):
    """A 200 avatar: its headers, a strong ETag of its bytes, an SVG root
    with xmlns and viewBox; returns the body."""
    assert r.status == 200, r
    assert r.header("Content-Type") == "image/svg+xml", r
    assert r.header("Cache-Control") == CACHE_CONTROL, r
    assert r.header("X-Content-Type-Options") == "nosniff", r
    tag = r.header("ETag")
    assert tag is not None and STRONG_ETAG.match(tag), f"not a strong ETag: {r!r}"
    b = r.body if body is None else body
    assert tag == etag_of(b), f"ETag {tag} is not the hash of the body: {r!r}"
    return b


def parse_svg(body):
    root = ET.fromstring(body)
    assert root.tag == SVG_NS + "svg", root.tag
    assert root.get("viewBox") == "0 0 100 100", root.attrib
    return root


@pytest.fixture(scope="module")
def idle():
    t = Tmux()          # its own TMUX_TMPDIR, no server started
    yield t
    t.cleanup()


@pytest.fixture(scope="module")
def srv(roostd, idle, tmp_path_factory):
    s = rpg_server(tmp_path_factory.mktemp("avatars"), idle)
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def _still_running(request):
    yield
    if "srv" in request.fixturenames:
        s = request.getfixturevalue("srv")
        if not s.alive():
            pytest.fail(f"roostd died (exit {s.proc.returncode}) during this test\n{s.logs()}")


# ---- seeds ----------------------------------------------------------------------------

@pytest.mark.parametrize("seed", ["a.b", "a%20b", "%C3%A9t%C3%A9", "x" * 65, "a%2Fb",
                                  "%2E%2E", "a+b", "a~b", "a%2F..%2F..%2Fapi_key"])
def test_a_bad_seed_is_the_404_envelope(srv, seed):
    fail(get(srv, seed), 404, "NOT_FOUND")
    for name in os.listdir(avatars_dir(srv)):
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}\.svg", name), name


def test_an_empty_seed_is_the_404_envelope(srv):
    fail(get(srv, ""), 404, "NOT_FOUND")


def test_the_longest_and_shortest_seeds(srv):
    for seed in ("x" * 64, "Z", "-", "_", "0"):
        b = check_svg(get(srv, seed))
        parse_svg(b)
        assert os.path.isfile(os.path.join(avatars_dir(srv), seed + ".svg"))


def test_a_seed_is_percent_decoded_once(srv):
    a = check_svg(get(srv, "Abc"))
    assert check_svg(get(srv, "%41bc")) == a


# ---- generated ------------------------------------------------------------------------

def test_generated_avatar_is_cached_and_stable(srv):
    seed = "313751552"          # the persona of spec §3's example
    r1 = get(srv, seed)
    b1 = check_svg(r1)
    root = parse_svg(b1)
    assert len(b1) < 4096, len(b1)
    assert len(list(root)) >= 5, "an avatar draws more than a placeholder"
    path = os.path.join(avatars_dir(srv), seed + ".svg")
    with open(path, "rb") as f:
        assert f.read() == b1, "the cached file is not what was served"
    r2 = get(srv, seed)
    assert check_svg(r2) == b1 and r2.header("ETag") == r1.header("ETag")
    assert not [n for n in os.listdir(avatars_dir(srv)) if ".tmp" in n], "a temp file left"


def test_golden_bytes(srv):
    for seed, want in GOLDEN.items():
        b = check_svg(get(srv, seed))
        assert hashlib.sha256(b).hexdigest() == want, (seed, b.decode())


def test_different_seeds_give_different_avatars(srv):
    seeds = [f"seed{i}" for i in range(40)] + [str(persona_seed(str(uuid.UUID(int=i))))
                                               for i in range(20)]
    bodies = {}
    for s in seeds:
        b = check_svg(get(srv, s))
        parse_svg(b)
        assert len(b) < 4096, (s, len(b))
        bodies[s] = b
    assert len(set(bodies.values())) == len(seeds), "two seeds drew the same avatar"


def test_a_persona_avatar_url_works(srv):
    sid = "5f1e6a3c-9a77-4b2e-8f9d-1c2b3a4d5e6f"
    seed = persona_seed(sid)
    parse_svg(check_svg(get(srv, str(seed))))
    # abs(-2147483648) is 2147483648 (§4.9): still a seed like any other
    parse_svg(check_svg(get(srv, "2147483648")))


def test_if_none_match_is_304(srv):
    seed = "conditional"
    r = get(srv, seed)
    b = check_svg(r)
    tag = r.header("ETag")
    for inm in (tag, "W/" + tag, f'"nope", {tag}', "*"):
        r304 = get(srv, seed, headers={"If-None-Match": inm})
        assert r304.status == 304, (inm, r304)
        assert r304.body == b"", r304
        assert r304.header("ETag") == tag and r304.header("Cache-Control") == CACHE_CONTROL
    other = get(srv, seed, headers={"If-None-Match": '"0123456789abcdef0123456789abcdef"'})
    assert check_svg(other) == b


def test_head(srv):
    seed = "heading"
    r = get(srv, seed, method="HEAD")       # the first request generates it
    assert r.status == 200 and r.body == b"", r
    with open(os.path.join(avatars_dir(srv), seed + ".svg"), "rb") as f:
        b = f.read()
    assert int(r.header("Content-Length")) == len(b)
    check_svg(r, body=b)
    g = get(srv, seed)                      # then from the file
    assert check_svg(g) == b
    h = get(srv, seed, method="HEAD")
    assert h.body == b"" and h.header("ETag") == g.header("ETag")
    assert int(h.header("Content-Length")) == len(b)
    assert get(srv, seed, method="HEAD",
               headers={"If-None-Match": g.header("ETag")}).status == 304


# ---- placed files -----------------------------------------------------------------------

def test_a_placed_file_is_served_as_it_is(srv):
    mine = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
            b'<rect width="10" height="10" fill="#123456"/></svg>')
    path = os.path.join(avatars_dir(srv), "placed.svg")
    with open(path, "wb") as f:
        f.write(mine)
    r = get(srv, "placed")
    assert check_svg(r) == mine
    assert get(srv, "placed", headers={"If-None-Match": r.header("ETag")}).status == 304
    # replaced (as a user would): the new bytes, a new tag
    with open(path + ".new", "wb") as f:
        f.write(mine.replace(b"#123456", b"#654321"))
    os.replace(path + ".new", path)
    r2 = get(srv, "placed")
    assert check_svg(r2) != mine and r2.header("ETag") != r.header("ETag")


def test_a_placed_file_replaces_the_generated_one(srv):
    seed = "override"
    gen = check_svg(get(srv, seed))
    path = os.path.join(avatars_dir(srv), seed + ".svg")
    mine = gen.replace(b"</svg>", b"<!-- mine --></svg>")
    with open(path, "wb") as f:
        f.write(mine)
    assert check_svg(get(srv, seed)) == mine


def test_a_large_placed_file_up_to_the_cap(srv):
    cap = file_cap()
    head = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><!--'
    tail = b"--></svg>"
    at_cap = head + b"x" * (cap - len(head) - len(tail)) + tail
    with open(os.path.join(avatars_dir(srv), "big.svg"), "wb") as f:
        f.write(at_cap)
    assert check_svg(get(srv, "big")) == at_cap
    with open(os.path.join(avatars_dir(srv), "toobig.svg"), "wb") as f:
        f.write(at_cap + b"\n")
    for _ in range(3):
        fail(get(srv, "toobig"), 500, "INTERNAL_ERROR")
    assert srv.stderr().count("toobig.svg is larger than") == 1, srv.stderr()[-2000:]


def test_a_directory_in_the_way_gets_the_generated_avatar(srv):
    seed = "dirseed"
    os.mkdir(os.path.join(avatars_dir(srv), seed + ".svg"))
    b = check_svg(get(srv, seed))
    parse_svg(b)
    assert check_svg(get(srv, seed)) == b
    assert os.path.isdir(os.path.join(avatars_dir(srv), seed + ".svg"))


# ---- restarts and an unwritable cache ------------------------------------------------------

def test_same_bytes_after_a_restart(roostd, idle, tmp_path):
    seeds = ["restart-a", "restart_b", "42"]
    s = rpg_server(tmp_path / "s", idle)
    try:
        first = {seed: check_svg(get(s, seed)) for seed in seeds}
        tags = {seed: etag_of(b) for seed, b in first.items()}
        s.stop()
        s.start()           # served from the cache
        for seed in seeds:
            r = get(s, seed)
            assert check_svg(r) == first[seed] and r.header("ETag") == tags[seed]
            assert get(s, seed, headers={"If-None-Match": tags[seed]}).status == 304
        s.stop()
        shutil.rmtree(avatars_dir(s))
        s.start()           # generated again: the same bytes
        assert os.path.isdir(avatars_dir(s)), "the directory is made at start"
        for seed in seeds:
            assert check_svg(get(s, seed)) == first[seed]
    finally:
        s.stop()


def test_an_unwritable_cache_still_serves(roostd, idle, tmp_path, srv):
    s = rpg_server(tmp_path / "s", idle, start=False)
    os.makedirs(os.path.join(s.data_dir, "rpg"))
    with open(avatars_dir(s), "w") as f:       # a file where the directory should be
        f.write("not a directory\n")
    s.start()
    try:
        assert "cannot make" in s.stderr(), s.stderr()[-2000:]
        for seed in ("nocache1", "nocache2", "nocache1"):
            b = check_svg(get(s, seed))
            parse_svg(b)
            assert b == check_svg(get(srv, seed)), "not the same avatar as a cached one"
        assert s.stderr().count("cannot cache avatar") == 1, s.stderr()[-2000:]
        with open(avatars_dir(s)) as f:
            assert f.read() == "not a directory\n"
    finally:
        s.stop()
