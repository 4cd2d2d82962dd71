"""Fleet REST authentication and routing (spec/fleet.md §1.1-§1.3, README §3, §6.1-§6.2):
every /api/v1 route needs the key, checked before parameters and bodies; the key is
generated once, stored hashed, printed once, written 0600; unknown routes and methods."""

import os
import re
import stat

import pytest

from fleetlib import API, INVALID_KEY_MSG, MISSING_KEY_MSG, Fleet, uuid7
from roostlib import Raw, assert_error_shape, get_req

# What this file needs built into roostd (conftest.py deselects it, and
# lists it, for a profile without them).
NEEDS = {"fleet"}

# Every §5.1-§5.7 route, with path parameters and bodies that would be rejected
# (bad UUID, bad version, bad key, invalid JSON) if they were looked at before the key.
ROUTES = [
    ("POST", "/bots", b"{not json"),
    ("GET", "/bots?limit=abc&status=nope", None),
    ("GET", "/bots/no-such-bot", None),
    ("PUT", "/bots/no-such-bot", b"[1,"),
    ("DELETE", "/bots/no-such-bot", None),
    ("POST", "/bots/no-such-bot/clone", None),
    ("GET", "/bots/no-such-bot/soul", None),
    ("PUT", "/bots/no-such-bot/soul", b"{"),
    ("GET", "/bots/no-such-bot/soul/versions", None),
    ("GET", "/bots/no-such-bot/soul/versions/abc", None),
    ("POST", "/bots/no-such-bot/soul/rollback", b"nope"),
    ("GET", "/bots/no-such-bot/soul/verify", None),
    ("GET", "/bots/no-such-bot/identity", None),
    ("PUT", "/bots/no-such-bot/identity", b"{"),
    ("GET", "/bots/no-such-bot/user", None),
    ("PUT", "/bots/no-such-bot/user", b"{"),
    ("GET", "/bots/no-such-bot/sessions?limit=-5", None),
    ("GET", "/sessions/not-a-uuid", None),
    ("GET", "/sessions/not-a-uuid/messages", None),
    ("DELETE", "/sessions/not-a-uuid", None),
    ("POST", "/sessions/not-a-uuid/clear", None),
    ("GET", "/stats", None),
    ("GET", "/skills", None),
    ("GET", "/skills/no-such-skill", None),
    ("GET", "/bots/no-such-bot/skills", None),
    ("POST", "/bots/no-such-bot/skills", b"{"),
    ("PATCH", "/bots/no-such-bot/skills/x", b"{"),
    ("DELETE", "/bots/no-such-bot/skills/x", None),
    ("GET", "/secrets", None),
    ("PUT", "/secrets/bad%20key", b"{"),
    ("DELETE", "/secrets/bad%20key", None),
    # unknown route and wrong method under /api/v1: the key still comes first
    ("GET", "/nope", None),
    ("PATCH", "/bots", None),
]
IDS = [f"{m} {p}" for m, p, _ in ROUTES]


@pytest.fixture(scope="module")
def fleet(server):
    return Fleet(server)


@pytest.mark.parametrize("method,path,body", ROUTES, ids=IDS)
def test_missing_key_is_401_before_anything_else(fleet, method, path, body):
    fleet.fail(method, API + path, body, 401, "UNAUTHORIZED", MISSING_KEY_MSG, key=False)


@pytest.mark.parametrize("method,path,body", ROUTES, ids=IDS)
def test_wrong_key_is_401_invalid(fleet, method, path, body):
    fleet.fail(method, API + path, body, 401, "UNAUTHORIZED", INVALID_KEY_MSG,
               key="roost_" + "0" * 64)


@pytest.mark.parametrize("bad", ["", "roost_", "x", "Bearer", "roost_" + "g" * 64])
def test_malformed_keys_are_invalid(fleet, bad):
    if bad == "":
        # an empty header value is no key at all or an invalid one: both 401
        r = fleet.call("GET", "stats", key=False, headers={"X-API-Key": ""})
        assert_error_shape("fleet", r, 401, code="UNAUTHORIZED")
        return
    fleet.fail("GET", "stats", None, 401, "UNAUTHORIZED", INVALID_KEY_MSG, key=bad)


def test_key_with_a_suffix_or_prefix_is_invalid(fleet):
    fleet.fail("GET", "stats", None, 401, "UNAUTHORIZED", INVALID_KEY_MSG, key=fleet.key + "0")
    fleet.fail("GET", "stats", None, 401, "UNAUTHORIZED", INVALID_KEY_MSG, key=fleet.key[:-1])
    fleet.fail("GET", "stats", None, 401, "UNAUTHORIZED", INVALID_KEY_MSG,
               key=fleet.key.upper().replace("ROOST_", "roost_"))


def test_x_api_key_header(fleet):
    fleet.ok("GET", "stats")


def test_bearer_header(fleet):
    fleet.ok("GET", "stats", headers={"Authorization": f"Bearer {fleet.key}"})
    r = fleet.call("GET", "stats", key=False, headers={"Authorization": f"Bearer {fleet.key}"})
    fleet.check_ok(r)


def test_bearer_takes_precedence_over_x_api_key(fleet):
    """README §3: 'In order of precedence: Authorization: Bearer <key>, then X-API-Key'."""
    r = fleet.call("GET", "stats", key=False,
                   headers={"Authorization": f"Bearer {fleet.key}", "X-API-Key": "roost_bad"})
    fleet.check_ok(r)
    fleet.fail("GET", "stats", None, 401, "UNAUTHORIZED", INVALID_KEY_MSG, key=False,
               headers={"Authorization": "Bearer roost_bad", "X-API-Key": fleet.key})


def test_key_whitespace_is_trimmed(server, fleet):
    with Raw(server.ports["fleet"]) as c:
        r = c.exchange(get_req(f"{API}/stats", extra=f"X-API-Key:   {fleet.key}  \r\n"))
        fleet.check_ok(r)
        r = c.exchange(get_req(f"{API}/stats",
                               extra=f"Authorization: Bearer   {fleet.key} \r\n"))
        fleet.check_ok(r)


def test_query_key_ignored_on_plain_requests(fleet):
    fleet.fail("GET", f"{API}/stats?api_key={fleet.key}", None, 401, "UNAUTHORIZED",
               MISSING_KEY_MSG, key=False)


def test_query_key_accepted_for_event_stream_get(fleet):
    """README §3: '?api_key=' is accepted for GET requests whose Accept includes
    text/event-stream (EventSource)."""
    r = fleet.call("GET", f"{API}/stats?api_key={fleet.key}", key=False,
                   headers={"Accept": "text/event-stream"})
    fleet.check_ok(r)


def test_health_needs_no_key(server):
    r = server.request("fleet", "GET", "/health")
    assert r.status == 200, r


def test_unknown_api_route_is_404_not_found(fleet):
    for path in (f"{API}/nope", f"{API}/bots/x/nope", "/api/v2/bots", f"{API}/workflows"):
        fleet.fail("GET", path, None, 404, "NOT_FOUND")


def test_wrong_method_is_405(fleet):
    fleet.fail("PATCH", "bots", None, 405, "METHOD_NOT_ALLOWED")
    fleet.fail("POST", "stats", None, 405, "METHOD_NOT_ALLOWED")
    fleet.fail("DELETE", "secrets", None, 405, "METHOD_NOT_ALLOWED")
    fleet.fail("GET", f"sessions/{uuid7()}/clear", None, 405, "METHOD_NOT_ALLOWED")


# ---- key generation (README §3) ----------------------------------------------------

KEY_RE = re.compile(r"^roost_[0-9a-f]{64}$")


def _all_files(root):
    for d, _, files in os.walk(root):
        for f in files:
            yield os.path.join(d, f)


def test_key_generated_once_printed_once_stored_hashed(fresh):
    srv = fresh(args=["--rpg.enabled=false", "--observability.enabled=false",
                      "--documents.enabled=false", "--agents.enabled=false"])
    path = os.path.join(srv.data_dir, "api_key")
    with open(path, "rb") as f:
        raw = f.read().decode()
    assert raw.endswith("\n") and raw.count("\n") == 1, repr(raw)
    key = raw[:-1]
    assert KEY_RE.match(key), repr(key)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, oct(os.stat(path).st_mode)
    out1 = srv.stdout()
    assert f"API key (shown once): {key}" in out1, out1
    assert out1.count(key) == 1, out1
    assert key not in srv.stderr()
    before = os.stat(path)
    fl = Fleet(srv)
    fl.ok("GET", "stats")
    # only the hash is stored: the key itself is in no other file of the data dir
    for p in _all_files(srv.data_dir):
        if p != path:
            with open(p, "rb") as f:
                assert key.encode() not in f.read(), f"the key in clear in {p}"
    srv.stop()
    srv.start()
    assert key not in srv.stdout(), "the key was printed again on the second start"
    assert "API key (shown once)" not in srv.stdout()
    after = os.stat(path)
    with open(path, "rb") as f:
        assert f.read().decode() == raw, "api_key rewritten on the second start"
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)
    Fleet(srv).ok("GET", "stats")
    assert key not in srv.stderr()


def test_existing_api_key_file_is_replaced_on_first_start(fresh, tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    (data / "api_key").write_text("stale\n")
    srv = fresh(data_dir=str(data), args=["--rpg.enabled=false",
                                          "--observability.enabled=false",
                                          "--documents.enabled=false",
                                          "--agents.enabled=false"])
    key = srv.api_key()
    assert KEY_RE.match(key), key
    assert stat.S_IMODE(os.stat(data / "api_key").st_mode) == 0o600
    Fleet(srv).ok("GET", "stats")
    Fleet(srv).fail("GET", "stats", None, 401, "UNAUTHORIZED", INVALID_KEY_MSG, key="stale")


def test_payload_too_large(server, fleet):
    """README §6.1: a body over max_json_body_bytes (1048576) is 413 PAYLOAD_TOO_LARGE."""
    body = b'{"name":"' + b"a" * (1048576 + 10) + b'"}'
    with Raw(server.ports["fleet"], timeout=10) as c:
        c.send(f"POST {API}/bots HTTP/1.1\r\nHost: x\r\nX-API-Key: {fleet.key}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        try:
            c.send(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = c.read_response()
    j = assert_error_shape("fleet", r, 413, code="PAYLOAD_TOO_LARGE")
    assert j["data"] is None
