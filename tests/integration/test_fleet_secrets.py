"""Fleet secrets (spec/fleet.md §2.7, §5.7): masked listing sorted by key, put creates
or replaces, delete, key and value rules; a value never appears in clear in a response
or in roostd's output."""

import pytest

from fleetlib import (API, SECRET_KEYS, Fleet, assert_keys, assert_recent, parse_offset_ts,
                      server_output)

# What this file needs built into roostd (conftest.py deselects it, and
# lists it, for a profile without them).
NEEDS = {"fleet"}


@pytest.fixture(scope="module")
def fleet(server):
    return Fleet(server)


SEEN_VALUES = []


def put(fleet, key, value, path_key=None):
    SEEN_VALUES.append(value)
    pk = path_key or key
    r = fleet.call("PUT", f"secrets/{pk}", {"value": value})
    if len(value) > 4:
        assert value.encode("utf-8") not in r.body, f"value in clear in {r!r}"
    d = fleet.check_ok(r, 200, {"self": f"{API}/secrets/{key}"})
    assert list(d) == ["key", "masked_value", "set"], d
    assert d["key"] == key and d["set"] is True
    assert d["masked_value"] == mask(value)
    return d


def mask(value):
    return "****" if len(value) <= 4 else "****" + value[-4:]


def secret_list(fleet):
    r = fleet.call("GET", "secrets")
    for v in SEEN_VALUES:
        if len(v) > 4:
            assert v.encode("utf-8") not in r.body, f"a value in clear in {r!r}"
    data = fleet.check_ok(r, 200, {"self": f"{API}/secrets"})
    for item in data:
        assert_keys(item, SECRET_KEYS, "Secret entry")
        assert (item["provider"], item["scope"]) == ("vault", "global"), item
        assert_recent(parse_offset_ts(item["updated_at"]))
    return data


def by_key(fleet):
    return {s["key"]: s for s in secret_list(fleet)}


@pytest.mark.parametrize("value,masked", [
    ("a", "****"),
    ("abcd", "****"),
    ("abcde", "****bcde"),
    ("sk-ant-api03-SECRETVALUE-wxyz", "****wxyz"),
    ("€€€€", "****"),                       # 4 characters, 12 bytes
    ("€€€€x", "****€€€x"),
    ("pässwörd€ü", "****rd€ü"),
    ("🔑🔑🔑🔑🔑", "****🔑🔑🔑🔑"),
])
def test_masking(fleet, value, masked):
    assert mask(value) == masked
    key = f"MASK_{len(SEEN_VALUES)}"
    put(fleet, key, value)
    assert by_key(fleet)[key]["masked_value"] == masked


def test_list_sorted_by_key_and_replace(fresh):
    srv = fresh(args=["--rpg.enabled=false", "--observability.enabled=false",
                      "--documents.enabled=false", "--agents.enabled=false"])
    fl = Fleet(srv)
    assert secret_list(fl) == []
    keys = ["zeta", "alpha", "mid_1", "mid-1", "mid.1", "mid1", "MID", "9lives"]
    for i, k in enumerate(keys):
        put(fl, k, f"value-number-{i}")
    got = secret_list(fl)
    assert [s["key"] for s in got] == sorted(keys)
    first = {s["key"]: s for s in got}
    put(fl, "alpha", "replaced-value-9999")
    again = {s["key"]: s for s in secret_list(fl)}
    assert len(again) == len(keys)
    assert again["alpha"]["masked_value"] == "****9999"
    assert parse_offset_ts(again["alpha"]["updated_at"]) > \
        parse_offset_ts(first["alpha"]["updated_at"])
    assert again["zeta"] == first["zeta"]
    d = fl.ok("DELETE", "secrets/mid.1")
    assert list(d.items()) == [("deleted", True), ("key", "mid.1")]
    assert [s["key"] for s in secret_list(fl)] == sorted(set(keys) - {"mid.1"})
    fl.fail("DELETE", "secrets/mid.1", None, 404, "SECRET_NOT_FOUND", "Secret not found")
    assert "replaced-value-9999" not in server_output(srv)


BAD_KEYS = ["K" * 129, "bad%20key", "bad%21", "caf%C3%A9", "a%2Cb", "%22q%22"]


def test_key_rule(fleet):
    put(fleet, "K" * 128, "long-key-value")
    put(fleet, "a", "one-char-key")
    put(fleet, "A.b-C_9", "mixed-key-value")
    put(fleet, "MY.KEY", "percent-decoded-key", path_key="MY%2EKEY")   # README §6.1
    assert "MY.KEY" in by_key(fleet)
    for bad in BAD_KEYS:
        fleet.fail("PUT", f"secrets/{bad}", {"value": "whatever-value"}, 400,
                   "VALIDATION_ERROR")
    assert "K" * 129 not in by_key(fleet)


@pytest.mark.parametrize("bad", BAD_KEYS, ids=["129-chars"] + BAD_KEYS[1:])
def test_key_rule_on_delete(fleet, bad):
    """§5.7: '`{key}`: `^[A-Za-z0-9_.-]{1,128}$`, else 400' (for every {key} route)."""
    fleet.fail("DELETE", f"secrets/{bad}", None, 400, "VALIDATION_ERROR")


def test_value_rule(fleet):
    put(fleet, "LIMIT_OK", "v" * 16384)
    put(fleet, "LIMIT_OK_MB", "é" * 16384)                      # characters, not bytes
    path = "secrets/LIMIT_BAD"
    fleet.bad_value("PUT", path, {"value": "v" * 16385}, "value")
    fleet.bad_value("PUT", path, {"value": "é" * 16385}, "value")
    fleet.bad_value("PUT", path, {"value": ""}, "value")
    fleet.bad_value("PUT", path, {}, "value")
    fleet.bad_value("PUT", path, {"value": None}, "value")
    fleet.bad_field("PUT", path, {"value": 12345}, "value")
    fleet.bad_field("PUT", path, {"value": ["x"]}, "value")
    for raw in (b"", b"{", b"[]", b'"value"'):
        fleet.bad_json("PUT", path, raw)
    assert "LIMIT_BAD" not in by_key(fleet)
    assert by_key(fleet)["LIMIT_OK_MB"]["masked_value"] == "****éééé"


def test_delete_unknown(fleet):
    fleet.fail("DELETE", "secrets/NEVER_SET", None, 404, "SECRET_NOT_FOUND", "Secret not found")


def test_values_never_in_clear(fleet, server):
    secret = "sk-live-Zq8vX2pL0mN4rT6yU1wE3"
    put(fleet, "ANTHROPIC_API_KEY", secret)
    put(fleet, "ANTHROPIC_API_KEY", secret)                     # replace with the same
    r = fleet.call("GET", "secrets")
    assert secret.encode() not in r.body and secret[:-4].encode() not in r.body
    d = fleet.ok("DELETE", "secrets/ANTHROPIC_API_KEY")
    assert d == {"deleted": True, "key": "ANTHROPIC_API_KEY"}
    out = server_output(server)
    for v in SEEN_VALUES:
        if len(v) >= 8:
            assert v not in out, f"secret value {v[:6]}… in roostd's output"
