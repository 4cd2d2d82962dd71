"""GET /health, HEAD /health, unknown routes and wrong methods, per family
(spec README §1, §6.2; fleet.md §1.2-1.3, §4; rpg.md §1, §4.1; observability.md §1,
§3.1; documents.md §3.1; agents.md §4.1)."""

import datetime
import re

import pytest

from roostlib import (FAMILIES, FASTAPI, RPG_TS, Raw, assert_error_shape, built_families, get_req,
                      run_roostd)

FIXED_HEALTH = {
    "observability": b'{"status":"healthy","service":"observability"}',
    "documents": b'{"status":"healthy","service":"document-sync-server"}',
    "agents": b'{"status":"healthy"}',
}


@pytest.fixture(scope="module")
def version():
    rc, out, _ = run_roostd(["--version"])
    assert rc == 0
    m = re.search(r"\b(\d+\.\d+\.\d+)\b", out)
    assert m, f"--version printed no version: {out!r}"
    return m.group(1)


def expected_health(fam, version):
    if fam == "fleet":
        return b'{"status":"ok","version":"' + version.encode() + b'"}'
    return FIXED_HEALTH.get(fam)


def check_rpg_health(body):
    m = re.match(rb'^\{"success":true,"data":\{"status":"healthy","timestamp":"([^"]+)"\},'
                 rb'"ok":true\}$', body)
    assert m, f"rpg health body {body!r}"
    ts = m.group(1).decode()
    assert RPG_TS.match(ts), f"rpg timestamp not ISO-8601 UTC with ms: {ts}"
    when = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - when).total_seconds()) < 30, f"rpg timestamp {ts} is not now ({now})"


@pytest.mark.parametrize("fam", FAMILIES)
def test_health_body_and_type(server, fam, version):
    r = server.request(fam, "GET", "/health")
    assert r.status == 200, r
    assert r.header("Content-Type") == "application/json", r
    if fam == "rpg":
        check_rpg_health(r.body)
    else:
        assert r.body == expected_health(fam, version), r


@pytest.mark.parametrize("fam", FAMILIES)
def test_health_with_query_string(server, fam):
    r = server.request(fam, "GET", "/health?probe=1&x=%20")
    assert r.status == 200, r


@pytest.mark.parametrize("fam", FAMILIES)
def test_head_health(server, fam):
    """HEAD: same head as GET, Content-Length of the GET body, no body bytes.
    The follow-up GET on the same connection proves no body was sent."""
    with server.raw(fam) as c:
        g = c.exchange(get_req("/health"))
        h = c.exchange(get_req("/health", method="HEAD"), head=True)
        assert h.status == 200, h
        assert h.header("Content-Type") == "application/json", h
        assert h.header("Content-Length") == str(len(g.body)), (g, h)
        again = c.exchange(get_req("/health"))
        assert again.status == 200 and again.body[:1] == b"{", again
        assert c.buf == b"", f"stray bytes after responses: {c.buf!r}"


# ---- unknown routes -----------------------------------------------------------

@pytest.mark.needs("fleet")
@pytest.mark.parametrize("path", ["/api/nope", "/api/", "/nope", "/health/x", "/healthz"])
def test_fleet_unknown_route(server, path):
    r = server.request("fleet", "GET", path, headers=server.key_headers())
    assert_error_shape("fleet", r, 404, code="NOT_FOUND")


@pytest.mark.needs("fleet")
@pytest.mark.parametrize("path", ["/api/nope", "/api/", "/api/v1/bots"])
def test_fleet_api_needs_the_key_before_routing(server, path):
    """Under /api/ the key is checked first: unknown routes are 401 too."""
    r = server.request("fleet", "GET", path)
    assert_error_shape("fleet", r, 401, code="UNAUTHORIZED")
    assert r.json()["errors"][0]["message"].startswith("Missing API key."), r
    r = server.request("fleet", "GET", path, headers={"X-API-Key": "roost_" + "0" * 64})
    assert_error_shape("fleet", r, 401, code="UNAUTHORIZED")
    assert r.json()["errors"][0]["message"].startswith("Invalid API key."), r


@pytest.mark.parametrize("method,path", [("GET", "/api/nope"), ("POST", "/api/nope"),
                                         ("DELETE", "/api/x/y"), ("GET", "/healthz")])
@pytest.mark.needs("rpg")
def test_rpg_unknown_route(server, method, path):
    r = server.request("rpg", method, path,
                       body=b"{}" if method == "POST" else None)
    assert_error_shape("rpg", r, 404, code="NOT_FOUND",
                       message=f"Route not found: {method} {path}")


@pytest.mark.needs("rpg")
def test_rpg_non_api_path_without_web_dir(server):
    r = server.request("rpg", "GET", "/some/page")
    assert_error_shape("rpg", r, 404, code="NOT_FOUND")


@pytest.mark.parametrize("fam", FASTAPI)
@pytest.mark.parametrize("path", ["/nope", "/", "/health/x", "/api/v1/bots"])
def test_fastapi_unknown_route(server, fam, path):
    r = server.request(fam, "GET", path)
    assert_error_shape(fam, r, 404, detail="Not Found")
    assert r.body == b'{"detail":"Not Found"}', r


# ---- wrong method on a known path ----------------------------------------------

def allow_methods(resp):
    allow = resp.header("Allow")
    assert allow is not None, f"405 without Allow: {resp!r}"
    return {m.strip() for m in allow.split(",")}


@pytest.mark.needs("fleet")
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_fleet_wrong_method(server, method):
    r = server.request("fleet", method, "/health", body=b"")
    assert_error_shape("fleet", r, 405, code="METHOD_NOT_ALLOWED")
    assert "GET" in allow_methods(r), r
    assert method not in allow_methods(r), r


@pytest.mark.parametrize("fam", FASTAPI)
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_fastapi_wrong_method(server, fam, method):
    r = server.request(fam, method, "/health", body=b"")
    assert_error_shape(fam, r, 405, detail="Method Not Allowed")
    assert r.body == b'{"detail":"Method Not Allowed"}', r
    assert "GET" in allow_methods(r), r
    assert method not in allow_methods(r), r


@pytest.mark.needs("rpg")
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_rpg_wrong_method_is_unknown_route(server, method):
    r = server.request("rpg", method, "/health", body=b"")
    assert_error_shape("rpg", r, 404, code="NOT_FOUND",
                       message=f"Route not found: {method} /health")


@pytest.mark.parametrize("fam", FAMILIES)
def test_error_then_success_on_same_connection(server, fam):
    """A 404/405 keeps a keep-alive connection usable."""
    with server.raw(fam) as c:
        r1 = c.exchange(get_req("/definitely-not-here"))
        assert r1.status == 404, r1
        r2 = c.exchange(get_req("/health", method="DELETE"))
        assert r2.status in (404, 405), r2
        r3 = c.exchange(get_req("/health"))
        assert r3.status == 200, r3


def test_health_on_fresh_connections_many_times(server):
    """Every request on its own connection: no slot leaks across 300 connects."""
    for i in range(60):
        for fam in built_families():
            with Raw(server.ports[fam]) as c:
                r = c.exchange(get_req("/health", extra="Connection: close\r\n"))
                assert r.status == 200, (i, fam, r)
