"""CORS per family (spec README §5, Decision 4)."""

import pytest

from roostlib import FASTAPI, assert_error_shape

LISTED = "http://localhost:5173"
LISTED2 = "http://localhost:3000"
UNLISTED = "http://evil.example"
FASTAPI_METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
RPG_METHODS = "GET, POST, PATCH, DELETE, OPTIONS"
RPG_HEADERS = "Content-Type, Authorization, X-API-Key"


def preflight(server, fam, path="/health", origin=LISTED, method="POST", req_headers=None):
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if req_headers is not None:
        h["Access-Control-Request-Headers"] = req_headers
    return server.request(fam, "OPTIONS", path, headers=h)


def vary_has_origin(r):
    return any("origin" in [p.strip().lower() for p in v.split(",")]
               for v in r.header_all("Vary"))


# ---- fleet: any origin by default; preflight 200 echoing method/headers -----------

@pytest.mark.needs("fleet")
@pytest.mark.parametrize("path", ["/health", "/api/v1/bots", "/api/nope"])
def test_fleet_preflight(server, path):
    r = preflight(server, "fleet", path, origin=UNLISTED, method="PUT",
                  req_headers="content-type,x-api-key")
    assert r.status == 200, r
    assert r.body == b"", r
    assert r.header("Access-Control-Allow-Origin") == "*", r
    assert r.header("Access-Control-Allow-Methods") == "PUT", r
    assert r.header("Access-Control-Allow-Headers") == "content-type,x-api-key", r


@pytest.mark.needs("fleet")
def test_fleet_preflight_without_requested_headers(server):
    r = preflight(server, "fleet", "/api/v1/bots", method="DELETE")
    assert r.status == 200, r
    assert r.header("Access-Control-Allow-Methods") == "DELETE", r
    assert r.header("Access-Control-Allow-Headers") == "*", r


@pytest.mark.needs("fleet")
def test_fleet_simple_response(server):
    r = server.request("fleet", "GET", "/health", headers={"Origin": UNLISTED})
    assert r.status == 200
    assert r.header("Access-Control-Allow-Origin") == "*", r


@pytest.mark.needs("fleet")
def test_fleet_error_response_carries_cors(server):
    r = server.request("fleet", "GET", "/api/nope", headers=server.key_headers({"Origin": UNLISTED}))
    assert_error_shape("fleet", r, 404)
    assert r.header("Access-Control-Allow-Origin") == "*", r


@pytest.mark.needs("fleet")
def test_fleet_401_carries_cors(server):
    r = server.request("fleet", "GET", "/api/v1/bots", headers={"Origin": UNLISTED})
    assert_error_shape("fleet", r, 401)
    assert r.header("Access-Control-Allow-Origin") == "*", r


# ---- rpg: echo the Origin, fixed method/header lists, preflight 204 ---------------

def check_rpg_headers(r, origin):
    assert r.header("Access-Control-Allow-Origin") == origin, r
    assert r.header("Access-Control-Allow-Methods") == RPG_METHODS, r
    assert r.header("Access-Control-Allow-Headers") == RPG_HEADERS, r


@pytest.mark.needs("rpg")
@pytest.mark.parametrize("path", ["/health", "/api/quests", "/event", "/api/nope"])
def test_rpg_preflight(server, path):
    r = preflight(server, "rpg", path, origin=UNLISTED, method="PATCH",
                  req_headers="Content-Type")
    assert r.status == 204, r
    assert r.body == b""
    check_rpg_headers(r, UNLISTED)
    assert r.header("Access-Control-Max-Age") == "86400", r


@pytest.mark.needs("rpg")
def test_rpg_simple_with_and_without_origin(server):
    r = server.request("rpg", "GET", "/health", headers={"Origin": UNLISTED})
    assert r.status == 200
    check_rpg_headers(r, UNLISTED)
    r = server.request("rpg", "GET", "/health")
    assert r.status == 200
    check_rpg_headers(r, "*")


@pytest.mark.needs("rpg")
def test_rpg_error_response_carries_cors(server):
    r = server.request("rpg", "GET", "/api/nope", headers={"Origin": LISTED})
    assert_error_shape("rpg", r, 404)
    check_rpg_headers(r, LISTED)


# ---- observability, documents, agents: Starlette CORSMiddleware -------------------

@pytest.mark.parametrize("fam", FASTAPI)
@pytest.mark.parametrize("origin", [LISTED, LISTED2])
def test_fastapi_preflight_allowed(server, fam, origin):
    r = preflight(server, fam, "/health", origin=origin, method="PATCH",
                  req_headers="content-type, x-custom")
    assert r.status == 200, r
    assert r.body == b"OK", r
    assert (r.header("Content-Type") or "").startswith("text/plain"), r
    assert r.header("Access-Control-Allow-Origin") == origin, r
    assert r.header("Access-Control-Allow-Methods") == FASTAPI_METHODS, r
    assert r.header("Access-Control-Allow-Headers") == "content-type, x-custom", r
    assert r.header("Access-Control-Max-Age") == "600", r
    cred = r.header("Access-Control-Allow-Credentials")
    if fam == "agents":
        assert cred == "true", r
    else:
        assert cred is None, r


@pytest.mark.parametrize("fam", FASTAPI)
def test_fastapi_preflight_on_unknown_path(server, fam):
    """Preflight is answered before routing."""
    r = preflight(server, fam, "/no/such/route", origin=LISTED, method="DELETE")
    assert r.status == 200, r
    assert r.header("Access-Control-Allow-Origin") == LISTED, r


@pytest.mark.parametrize("fam", FASTAPI)
def test_fastapi_preflight_disallowed(server, fam):
    r = preflight(server, fam, "/health", origin=UNLISTED, method="GET")
    assert r.status == 400, r
    assert r.body == b"Disallowed CORS origin", r
    assert (r.header("Content-Type") or "").startswith("text/plain"), r
    assert r.header("Access-Control-Allow-Origin") is None, r


@pytest.mark.parametrize("fam", FASTAPI)
def test_fastapi_simple_allowed(server, fam):
    r = server.request(fam, "GET", "/health", headers={"Origin": LISTED})
    assert r.status == 200
    assert r.header("Access-Control-Allow-Origin") == LISTED, r
    assert vary_has_origin(r), r
    cred = r.header("Access-Control-Allow-Credentials")
    assert cred == ("true" if fam == "agents" else None), r


@pytest.mark.parametrize("fam", FASTAPI)
def test_fastapi_simple_unlisted_is_processed_without_cors(server, fam):
    r = server.request(fam, "GET", "/health", headers={"Origin": UNLISTED})
    assert r.status == 200, r
    for h in ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"):
        assert r.header(h) is None, r


@pytest.mark.parametrize("fam", FASTAPI)
def test_fastapi_error_response_carries_cors(server, fam):
    r = server.request(fam, "GET", "/nope", headers={"Origin": LISTED2})
    assert_error_shape(fam, r, 404, detail="Not Found")
    assert r.header("Access-Control-Allow-Origin") == LISTED2, r


@pytest.mark.parametrize("fam", FASTAPI)
def test_fastapi_options_without_request_method_is_not_preflight(server, fam):
    """OPTIONS without Access-Control-Request-Method is an ordinary request:
    /health has no OPTIONS route, so 405 with Allow."""
    r = server.request(fam, "OPTIONS", "/health", headers={"Origin": LISTED})
    assert_error_shape(fam, r, 405, detail="Method Not Allowed")
    assert r.header("Allow") is not None, r


# ---- configured lists ---------------------------------------------------------------

@pytest.fixture(scope="module")
def configured(roostd, tmp_path_factory):
    import roostlib
    args = {
        "fleet": "--fleet.cors_origins=http://a.example,http://b.example",
        "rpg": "--rpg.cors_origins=http://a.example",
        "observability": "--observability.cors_origins=*",
        "documents": "--documents.cors_origins=http://a.example",
    }
    srv = roostlib.Server(tmp_path_factory.mktemp("cors"),
                          args=[a for fam, a in args.items() if roostlib.built(fam)])
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.needs("fleet")
def test_fleet_listed_origin(configured):
    r = configured.request("fleet", "GET", "/health", headers={"Origin": "http://b.example"})
    assert r.header("Access-Control-Allow-Origin") == "http://b.example", r
    assert vary_has_origin(r), r


@pytest.mark.needs("fleet")
def test_fleet_unlisted_origin(configured):
    r = configured.request("fleet", "GET", "/health", headers={"Origin": UNLISTED})
    assert r.status == 200
    assert r.header("Access-Control-Allow-Origin") is None, r
    p = preflight(configured, "fleet", "/api/v1/bots", origin=UNLISTED)
    assert p.header("Access-Control-Allow-Origin") is None, p


@pytest.mark.needs("rpg")
def test_rpg_unlisted_preflight_gets_204_without_origin(configured):
    r = preflight(configured, "rpg", "/api/quests", origin=UNLISTED)
    assert r.status == 204, r
    assert r.header("Access-Control-Allow-Origin") is None, r
    ok = preflight(configured, "rpg", "/api/quests", origin="http://a.example")
    assert ok.status == 204 and ok.header("Access-Control-Allow-Origin") == "http://a.example"


def test_fastapi_star_allows_any_origin(configured):
    r = configured.request("observability", "GET", "/health", headers={"Origin": UNLISTED})
    assert r.header("Access-Control-Allow-Origin") == UNLISTED, r
    p = preflight(configured, "observability", "/health", origin=UNLISTED)
    assert p.status == 200, p


def test_fastapi_configured_list_replaces_defaults(configured):
    r = preflight(configured, "documents", "/health", origin=LISTED)
    assert r.status == 400, r
    r = preflight(configured, "documents", "/health", origin="http://a.example")
    assert r.status == 200 and r.header("Access-Control-Allow-Origin") == "http://a.example", r
