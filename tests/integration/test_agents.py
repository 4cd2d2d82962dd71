"""agents contract (spec/agents.md): every endpoint and every error row, over
upstream's on-disk layout (§2), written from the spec: the files roost writes
are compared byte for byte with what upstream's Python writes
(json.dump(obj, f, indent=2) and "\\n"), blueprints edited on disk are seen at
once, the list is sorted by code point, invalid directories are skipped, and
DELETE is refused while observability runs a session of the agent
(Decision 8)."""

import datetime
import json
import os
import re
import shutil
import time
import uuid

import pytest

import roostlib
from roostlib import assert_error_shape, limits

FAM = "agents"
NEEDS = {"agents"}
AGENT_KEYS = ["name", "description", "system_prompt", "mcp_servers", "skills", "status",
              "created_at", "modified_at"]
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$")
PATTERN_MSG = ("Agent name must start with letter/number and contain only alphanumeric "
               "characters, hyphens, and underscores")


def file_max():
    """What roost reads back of one JSON file (agents_int.h: a quarter of the
    render scratch)."""
    return limits()["CFG_RENDER_BYTES"] // 4


def body_max():
    """The largest JSON body this build takes (its body slot)."""
    return min(limits()["CFG_BODY_SLOT_BYTES"], 1048576)


# ---- the server, its agents directory ------------------------------------------------

@pytest.fixture(scope="module")
def agents_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("agents-home") / "agents")


@pytest.fixture(scope="module")
def srv(roostd, tmp_path_factory, agents_dir):
    s = roostlib.Server(tmp_path_factory.mktemp("agents-srv"),
                        args=[f"--agents.dir={agents_dir}"])
    s.start()
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def _srv_alive(request):
    yield
    if "srv" in request.fixturenames:
        s = request.getfixturevalue("srv")
        if not s.alive():
            pytest.fail(f"roostd died during this test\n{s.logs()}")


def call(s, method, path, body=None, raw=None, headers=None):
    data = raw if raw is not None else (
        None if body is None else json.dumps(body, ensure_ascii=False).encode())
    return s.request(FAM, method, path, body=data, headers=headers)


def ok_json(r, status=200):
    assert r.status == status, r
    assert r.header("Content-Type") == "application/json", r
    return r.json()


def uname(prefix="a"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create(s, name, **fields):
    body = {"name": name, "description": fields.pop("description", f"about {name}")}
    body.update(fields)
    j = ok_json(call(s, "POST", "/agents", body), 201)
    assert list(j.keys()) == AGENT_KEYS, j
    return j


def get(s, name):
    return call(s, "GET", f"/agents/{name}")


def listing(s):
    j = ok_json(call(s, "GET", "/agents"))
    assert isinstance(j, list)
    for a in j:
        assert list(a.keys()) == AGENT_KEYS, a
    return j


def detail(r, status):
    return assert_error_shape(FAM, r, status)["detail"]


def upstream_json(obj):
    """The bytes upstream's storage writes: json.dump(obj, f, indent=2), "\\n"."""
    return (json.dumps(obj, indent=2) + "\n").encode()


def local_iso(ns):
    """A file time as the spec wants it: naive local time, to the microsecond,
    fraction left out when zero (Python's datetime.fromtimestamp().isoformat())."""
    us = (ns + 500) // 1000
    return datetime.datetime.fromtimestamp(us // 1000000).replace(
        microsecond=us % 1000000).isoformat()


def path_of(agents_dir, name, *rest):
    return os.path.join(agents_dir, name, *rest)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---- health, empty --------------------------------------------------------------------

def test_health(srv):
    r = call(srv, "GET", "/health")
    assert ok_json(r) == {"status": "healthy"}
    assert r.body == b'{"status":"healthy"}'


def test_no_agents_directory_is_an_empty_list(fresh, tmp_path):
    s = fresh(args=[f"--agents.dir={tmp_path / 'nowhere' / 'agents'}"])
    r = call(s, "GET", "/agents")
    assert ok_json(r) == [] and r.body == b"[]"
    assert call(s, "HEAD", "/agents").status == 200
    assert detail(get(s, "nobody"), 404) == "Agent not found: nobody"


def test_default_directory_is_under_the_project_dir(fresh, tmp_path):
    proj = tmp_path / "proj"
    s = fresh(args=[f"--agents.project_dir={proj}"])
    create(s, "in-project")
    assert os.path.isfile(proj / ".agent-orchestrator" / "agents" / "in-project" / "agent.json")


# ---- POST /agents -----------------------------------------------------------------------

def test_create_with_every_field(srv, agents_dir):
    name = uname("web-researcher")
    prompt = "You are a meticulous web researcher.\r\nCite every source. \u00e9\u2028\t\"q\"\n"
    servers = {"playwright": {"command": "npx", "args": ["@playwright/mcp@latest"]},
               "github": {"command": "gh-mcp", "args": [], "env": {"TOKEN": "x\u00fcy", "E": ""}},
               "nulled": {"command": "c", "args": ["a", "b"], "env": None}}
    before = time.time()
    j = create(srv, name, description="Researches topics on the web \u2014 and writes a report",
               system_prompt=prompt, mcp_servers=servers, skills=["pdf", "w\u00e9b"])
    st = os.stat(path_of(agents_dir, name, "agent.json"))
    assert j == {
        "name": name,
        "description": "Researches topics on the web \u2014 and writes a report",
        "system_prompt": prompt,
        "mcp_servers": {
            "playwright": {"command": "npx", "args": ["@playwright/mcp@latest"], "env": None},
            "github": {"command": "gh-mcp", "args": [], "env": {"TOKEN": "x\u00fcy", "E": ""}},
            "nulled": {"command": "c", "args": ["a", "b"], "env": None}},
        "skills": ["pdf", "w\u00e9b"],
        "status": "active",
        "created_at": j["created_at"],
        "modified_at": local_iso(st.st_mtime_ns)}
    assert ISO.match(j["created_at"]) and ISO.match(j["modified_at"]), j
    created = datetime.datetime.fromisoformat(j["created_at"]).timestamp()
    assert before - 5 <= created <= time.time() + 5
    assert j["created_at"] <= j["modified_at"] or created <= st.st_mtime + 1e-6
    # the files, byte for byte as upstream writes them (ensure_ascii, indent 2)
    d = path_of(agents_dir, name)
    assert sorted(os.listdir(d)) == ["agent.json", "agent.mcp.json", "agent.system-prompt.md"]
    assert read(os.path.join(d, "agent.json")) == upstream_json(
        {"name": name, "description": "Researches topics on the web \u2014 and writes a report",
         "skills": ["pdf", "w\u00e9b"]})
    assert read(os.path.join(d, "agent.mcp.json")) == upstream_json({"mcpServers": {
        "playwright": {"command": "npx", "args": ["@playwright/mcp@latest"]},
        "github": {"command": "gh-mcp", "args": [], "env": {"TOKEN": "x\u00fcy", "E": ""}},
        "nulled": {"command": "c", "args": ["a", "b"]}}})
    assert read(os.path.join(d, "agent.system-prompt.md")) == prompt.encode()
    assert oct(os.stat(os.path.join(d, "agent.json")).st_mode & 0o777) == "0o644"
    assert oct(os.stat(d).st_mode & 0o777) == "0o755"
    # GET answers the same Agent
    assert ok_json(get(srv, name)) == j


def test_create_spec_example(srv, agents_dir):
    name = uname("web-researcher")
    body = {"name": name, "description": "Researches topics on the web and writes a short report",
            "system_prompt": "You are a meticulous web researcher. Cite every source.",
            "mcp_servers": {"playwright": {"command": "npx", "args": ["@playwright/mcp@latest"]}},
            "skills": ["pdf"]}
    r = call(srv, "POST", "/agents", body)
    j = ok_json(r, 201)
    assert j["mcp_servers"] == {"playwright": {"command": "npx",
                                               "args": ["@playwright/mcp@latest"], "env": None}}
    assert read(path_of(agents_dir, name, "agent.json")) == (
        b'{\n  "name": "' + name.encode() + b'",\n  "description": "Researches topics on the '
        b'web and writes a short report",\n  "skills": [\n    "pdf"\n  ]\n}\n')


def test_create_minimal_writes_only_agent_json(srv, agents_dir):
    name = uname("min")
    j = create(srv, name, description="d", system_prompt="", mcp_servers={}, skills=[])
    assert j["system_prompt"] is None and j["mcp_servers"] is None and j["skills"] is None
    assert j["status"] == "active"
    assert os.listdir(path_of(agents_dir, name)) == ["agent.json"]
    assert read(path_of(agents_dir, name, "agent.json")) == upstream_json(
        {"name": name, "description": "d"})
    name2 = uname("nulls")
    j = create(srv, name2, system_prompt=None, mcp_servers=None, skills=None, unknown=[1])
    assert os.listdir(path_of(agents_dir, name2)) == ["agent.json"]


def test_create_conflict(srv, agents_dir):
    name = uname("dup")
    create(srv, name)
    r = call(srv, "POST", "/agents", {"name": name, "description": "again"})
    assert detail(r, 409) == f"Agent already exists: {name}"
    # any entry of that name, even one that is no agent
    write(os.path.join(agents_dir, name + "-file"), b"x")
    r = call(srv, "POST", "/agents", {"name": name + "-file", "description": "d"})
    assert detail(r, 409) == f"Agent already exists: {name}-file"
    os.makedirs(os.path.join(agents_dir, name + "-empty"))
    r = call(srv, "POST", "/agents", {"name": name + "-empty", "description": "d"})
    assert detail(r, 409) == f"Agent already exists: {name}-empty"


def test_create_422_json_invalid(srv):
    r = call(srv, "POST", "/agents", raw=b'{"name": "x", ')
    e = detail(r, 422)
    assert len(e) == 1 and e[0]["type"] == "json_invalid", e
    assert e[0]["loc"][0] == "body" and isinstance(e[0]["loc"][1], int)
    assert e[0]["msg"] == "JSON decode error" and e[0]["input"] == {}
    assert isinstance(e[0]["ctx"]["error"], str)


def test_create_422_missing(srv):
    r = call(srv, "POST", "/agents", raw=b'{"name":"x"}')
    assert r.body == (b'{"detail":[{"type":"missing","loc":["body","description"],'
                      b'"msg":"Field required","input":{"name":"x"}}]}')
    assert detail(call(srv, "POST", "/agents", {}), 422) == [
        {"type": "missing", "loc": ["body", "name"], "msg": "Field required", "input": {}},
        {"type": "missing", "loc": ["body", "description"], "msg": "Field required",
         "input": {}}]
    assert detail(call(srv, "POST", "/agents", raw=b""), 422) == [
        {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]
    assert detail(call(srv, "POST", "/agents", raw=b"[1]"), 422) == [
        {"type": "model_attributes_type", "loc": ["body"],
         "msg": "Input should be a valid dictionary or object to extract fields from",
         "input": [1]}]


def test_create_422_types_in_model_order(srv):
    body = {"skills": "pdf", "mcp_servers": [1], "system_prompt": 5, "description": None,
            "name": 7}
    assert detail(call(srv, "POST", "/agents", body), 422) == [
        {"type": "string_type", "loc": ["body", "name"],
         "msg": "Input should be a valid string", "input": 7},
        {"type": "string_type", "loc": ["body", "description"],
         "msg": "Input should be a valid string", "input": None},
        {"type": "string_type", "loc": ["body", "system_prompt"],
         "msg": "Input should be a valid string", "input": 5},
        {"type": "dict_type", "loc": ["body", "mcp_servers"],
         "msg": "Input should be a valid dictionary", "input": [1]},
        {"type": "list_type", "loc": ["body", "skills"],
         "msg": "Input should be a valid list", "input": "pdf"}]
    assert detail(call(srv, "POST", "/agents", {"name": "x", "description": "d",
                                                  "skills": ["a", 1, None]}), 422) == [
        {"type": "string_type", "loc": ["body", "skills", 1],
         "msg": "Input should be a valid string", "input": 1},
        {"type": "string_type", "loc": ["body", "skills", 2],
         "msg": "Input should be a valid string", "input": None}]


def test_create_422_mcp_servers_shape(srv):
    servers = {"github": {"command": "gh"},
               "bad": 5,
               "t": {"command": 1, "args": "x", "env": []},
               "u": {"args": ["ok", 2], "env": {"K": 3, "L": "v"}},
               "\u00e9\"": {"command": "c", "args": []}}
    e = detail(call(srv, "POST", "/agents", {"name": "x", "description": "d",
                                            "mcp_servers": servers}), 422)
    assert e == [
        {"type": "missing", "loc": ["body", "mcp_servers", "github", "args"],
         "msg": "Field required", "input": {"command": "gh"}},
        {"type": "model_type", "loc": ["body", "mcp_servers", "bad"],
         "msg": "Input should be a valid dictionary or instance of MCPServerConfig",
         "input": 5, "ctx": {"class_name": "MCPServerConfig"}},
        {"type": "string_type", "loc": ["body", "mcp_servers", "t", "command"],
         "msg": "Input should be a valid string", "input": 1},
        {"type": "list_type", "loc": ["body", "mcp_servers", "t", "args"],
         "msg": "Input should be a valid list", "input": "x"},
        {"type": "dict_type", "loc": ["body", "mcp_servers", "t", "env"],
         "msg": "Input should be a valid dictionary", "input": []},
        {"type": "missing", "loc": ["body", "mcp_servers", "u", "command"],
         "msg": "Field required", "input": {"args": ["ok", 2], "env": {"K": 3, "L": "v"}}},
        {"type": "string_type", "loc": ["body", "mcp_servers", "u", "args", 1],
         "msg": "Input should be a valid string", "input": 2},
        {"type": "string_type", "loc": ["body", "mcp_servers", "u", "env", "K"],
         "msg": "Input should be a valid string", "input": 3}]


@pytest.mark.parametrize("name,msg", [
    ("", "Agent name is required"),
    ("a" * 61, "Agent name must be 60 characters or less"),
    ("\u00e9" * 61, "Agent name must be 60 characters or less"),
    ("-lead", PATTERN_MSG), ("_lead", PATTERN_MSG), ("a b", PATTERN_MSG), ("a.b", PATTERN_MSG),
    ("..", PATTERN_MSG), ("a/b", PATTERN_MSG), ("\u00e9t\u00e9", PATTERN_MSG),
    ("ab\n", PATTERN_MSG), ("a\u0000", PATTERN_MSG),
])
def test_create_400_name(srv, agents_dir, name, msg):
    before = sorted(os.listdir(agents_dir)) if os.path.isdir(agents_dir) else []
    r = call(srv, "POST", "/agents", {"name": name, "description": ""})
    assert detail(r, 400) == msg     # before the description's own check
    assert (sorted(os.listdir(agents_dir)) if os.path.isdir(agents_dir) else []) == before


def test_create_400_name_limits_accepted(srv):
    for name in ("a" * 60, "0", "Z_-9", "a--__b"):
        create(srv, name)
    assert ok_json(get(srv, "a" * 60))["name"] == "a" * 60


@pytest.mark.parametrize("field,value,msg", [
    ("description", "", "Agent description is required"),
    ("description", "x" * 2001, "Agent description must be 2000 characters or less"),
    pytest.param("system_prompt", "p" * 262145, "System prompt must be 262144 bytes or less",
                 marks=pytest.mark.needs_limit(CFG_BODY_SLOT_BYTES=262145 + 1024)),
    ("mcp_servers", {f"s{i}": {"command": "c", "args": []} for i in range(65)},
     "At most 64 MCP servers are allowed"),
    ("mcp_servers", {"": {"command": "c", "args": []}},
     "MCP server names must be 1-128 characters"),
    ("mcp_servers", {"k" * 129: {"command": "c", "args": []}},
     "MCP server names must be 1-128 characters"),
    ("skills", [f"s{i}" for i in range(101)], "At most 100 skills are allowed"),
    ("skills", ["ok", ""], "Skill names must be 1-128 characters"),
    ("skills", ["s" * 129], "Skill names must be 1-128 characters"),
])
def test_create_400_limits(srv, agents_dir, field, value, msg):
    name = uname("lim")
    r = call(srv, "POST", "/agents", {"name": name, "description": "d", field: value})
    assert detail(r, 400) == msg
    assert not os.path.exists(path_of(agents_dir, name))


def test_create_limits_at_the_edge(srv, agents_dir):
    name = uname("edge")
    skills = ["\U0001F600" * 128] + [f"s{i}" for i in range(99)]
    desc = "\u00e9" * 2000
    if len(upstream_json({"name": name, "description": desc, "skills": skills})) > file_max():
        desc = "d" * 2000       # a small build reads back smaller files (\u00e9 is 6 bytes)
    j = create(srv, name, description=desc,
               mcp_servers={"k" * 128: {"command": "c", "args": []}}, skills=skills)
    assert j["description"] == desc
    assert j["skills"][0] == "\U0001F600" * 128 and len(j["skills"]) == 100
    assert read(path_of(agents_dir, name, "agent.json")) == upstream_json(
        {"name": name, "description": desc, "skills": j["skills"]})


def test_create_400_order(srv, agents_dir):
    name = uname("order")
    create(srv, name)
    # 422 before 400, the name before the description, 400 before 409
    r = call(srv, "POST", "/agents", {"name": "", "description": 5})
    assert detail(r, 422)[0]["type"] == "string_type"
    assert detail(call(srv, "POST", "/agents", {"name": "", "description": ""}), 400) == \
        "Agent name is required"
    assert detail(call(srv, "POST", "/agents", {"name": name, "description": ""}), 400) == \
        "Agent description is required"
    assert detail(call(srv, "POST", "/agents", {"name": name, "description": "d",
                                                 "skills": [""]}), 400) == \
        "Skill names must be 1-128 characters"
    assert detail(call(srv, "POST", "/agents", {"name": name, "description": "d"}), 409) == \
        f"Agent already exists: {name}"


def test_create_file_too_large_to_read_back(srv, agents_dir):
    # a body within this build's body slot that makes an agent.mcp.json
    # larger than a quarter of the render scratch
    arg = "a" * 1000
    n = file_max() // 1000 + 10
    body = {"name": uname("huge"), "description": "d",
            "mcp_servers": {"s": {"command": "c", "args": [arg] * n}}}
    assert len(json.dumps(body)) < body_max() - 1024
    r = call(srv, "POST", "/agents", body)
    assert r.status == 400, r
    assert "agent.mcp.json" in detail(r, 400)
    assert not os.path.exists(path_of(agents_dir, body["name"]))


def test_big_422_is_answered_whole(srv):
    # a 422 echoes the whole body: larger than tx, written in windows
    pad = "\u00e9x" * (min(300000, body_max() // 3) // 3)
    body = {"name": "x", "pad": pad}
    e = detail(call(srv, "POST", "/agents", body), 422)
    assert e == [{"type": "missing", "loc": ["body", "description"], "msg": "Field required",
                  "input": body}]


# ---- GET /agents/{name}, 404s ----------------------------------------------------------

@pytest.mark.parametrize("path,shown", [
    ("/agents/..", ".."), ("/agents/.", "."), ("/agents/%2E%2E", ".."),
    ("/agents/a%2Fb", "a/b"), ("/agents/..%2F..%2Fetc", "../../etc"),
    ("/agents/%2Fetc", "/etc"), ("/agents/-x", "-x"), ("/agents/.hidden", ".hidden"),
    ("/agents/" + "a" * 61, "a" * 61), ("/agents/a%20b", "a b"), ("/agents/missing-one", "missing-one"),
])
def test_404_for_bad_and_missing_names(srv, agents_dir, path, shown):
    write(os.path.join(os.path.dirname(agents_dir), "etc", "agent.json"),
          json.dumps({"name": "etc", "description": "outside"}))
    for method, body in (("GET", None), ("PATCH", {"description": "x"}), ("DELETE", None)):
        r = call(srv, method, path, body)
        assert detail(r, 404) == f"Agent not found: {shown}", (method, r)
    r = call(srv, "PATCH", path + "/status", {"status": "inactive"})
    assert detail(r, 404) == f"Agent not found: {shown}"
    assert os.path.exists(os.path.join(os.path.dirname(agents_dir), "etc", "agent.json"))


def test_get_head_and_unknown_routes(srv):
    name = uname("head")
    create(srv, name)
    r = call(srv, "HEAD", f"/agents/{name}")
    assert r.status == 200 and r.body == b""
    assert detail(call(srv, "GET", "/agents/x/y/z"), 404) == "Not Found"
    r = call(srv, "PUT", f"/agents/{name}", {"description": "x"})
    assert detail(r, 405) == "Method Not Allowed"
    assert r.header("Allow") is not None


# ---- PATCH /agents/{name} ------------------------------------------------------------------

def test_patch_each_field_and_unknown_files_kept(srv, agents_dir):
    name = uname("patch")
    create(srv, name, description="first", system_prompt="P1",
           mcp_servers={"a": {"command": "c", "args": ["1"]}}, skills=["s1"])
    d = path_of(agents_dir, name)
    write(os.path.join(d, "README.md"), b"# keep me\n")
    write(os.path.join(d, "notes", "n.txt"), b"nested")
    write(os.path.join(d, ".hidden"), b"h")

    def files():
        return sorted(os.listdir(d))

    # description
    j = ok_json(call(srv, "PATCH", f"/agents/{name}", {"description": "second \u00e9"}))
    assert j["description"] == "second \u00e9" and j["system_prompt"] == "P1"
    assert read(os.path.join(d, "agent.json")) == upstream_json(
        {"name": name, "description": "second \u00e9", "skills": ["s1"]})
    # skills: set, then [] removes the key
    j = ok_json(call(srv, "PATCH", f"/agents/{name}", {"skills": ["x", "y"]}))
    assert j["skills"] == ["x", "y"]
    j = ok_json(call(srv, "PATCH", f"/agents/{name}", {"skills": []}))
    assert j["skills"] is None
    assert read(os.path.join(d, "agent.json")) == upstream_json(
        {"name": name, "description": "second \u00e9"})
    # system_prompt: set, then "" deletes the file
    j = ok_json(call(srv, "PATCH", f"/agents/{name}", {"system_prompt": "P2\n"}))
    assert j["system_prompt"] == "P2\n"
    assert read(os.path.join(d, "agent.system-prompt.md")) == b"P2\n"
    j = ok_json(call(srv, "PATCH", f"/agents/{name}", {"system_prompt": ""}))
    assert j["system_prompt"] is None
    assert "agent.system-prompt.md" not in files()
    # mcp_servers: replaced, then {} deletes the file
    j = ok_json(call(srv, "PATCH", f"/agents/{name}",
                     {"mcp_servers": {"b": {"command": "d", "args": [], "env": {"K": "V"}}}}))
    assert j["mcp_servers"] == {"b": {"command": "d", "args": [], "env": {"K": "V"}}}
    assert read(os.path.join(d, "agent.mcp.json")) == upstream_json(
        {"mcpServers": {"b": {"command": "d", "args": [], "env": {"K": "V"}}}})
    j = ok_json(call(srv, "PATCH", f"/agents/{name}", {"mcp_servers": {}}))
    assert j["mcp_servers"] is None
    assert "agent.mcp.json" not in files()
    # absent and null fields are unchanged; a name is ignored
    j2 = ok_json(call(srv, "PATCH", f"/agents/{name}",
                      {"name": "other", "description": None, "skills": None,
                       "system_prompt": None, "mcp_servers": None}))
    assert j2["name"] == name and j2["description"] == "second \u00e9"
    assert not os.path.exists(path_of(agents_dir, "other"))
    # the files roost does not know are all still there
    assert files() == [".hidden", "README.md", "agent.json", "notes"]
    assert read(os.path.join(d, "README.md")) == b"# keep me\n"
    assert read(os.path.join(d, "notes", "n.txt")) == b"nested"
    assert ok_json(get(srv, name)) == j2


def test_patch_rewrites_agent_json_every_time(srv, agents_dir):
    name = uname("touch")
    create(srv, name)
    p = path_of(agents_dir, name, "agent.json")
    os.utime(p, ns=(1764149400_000000000, 1764149400_000000000))
    j = ok_json(get(srv, name))
    assert j["modified_at"] == local_iso(1764149400_000000000)
    assert "." not in j["modified_at"]          # fraction left out when zero
    j = ok_json(call(srv, "PATCH", f"/agents/{name}", {}))
    assert j["modified_at"] == local_iso(os.stat(p).st_mtime_ns)
    assert j["modified_at"] != local_iso(1764149400_000000000)


def test_patch_errors(srv, agents_dir):
    name = uname("perr")
    create(srv, name)
    assert detail(call(srv, "PATCH", "/agents/nobody-here", {"description": "x"}), 404) == \
        "Agent not found: nobody-here"
    # 422 before 404 (FastAPI validates the body first)
    e = detail(call(srv, "PATCH", "/agents/nobody-here", {"description": 5}), 422)
    assert e == [{"type": "string_type", "loc": ["body", "description"],
                  "msg": "Input should be a valid string", "input": 5}]
    assert detail(call(srv, "PATCH", f"/agents/{name}", raw=b"{nope"), 422)[0]["type"] == \
        "json_invalid"
    e = detail(call(srv, "PATCH", f"/agents/{name}",
                    {"mcp_servers": {"g": {"command": "c"}}, "skills": [1]}), 422)
    assert [x["loc"] for x in e] == [["body", "mcp_servers", "g", "args"],
                                      ["body", "skills", 0]]
    assert detail(call(srv, "PATCH", f"/agents/{name}", {"description": ""}), 400) == \
        "Agent description is required"
    assert detail(call(srv, "PATCH", f"/agents/{name}", {"skills": ["a"] * 101}), 400) == \
        "At most 100 skills are allowed"
    assert ok_json(get(srv, name))["description"] == f"about {name}"


# ---- PATCH /agents/{name}/status -------------------------------------------------------------

def test_status(srv, agents_dir):
    name = uname("status")
    create(srv, name)
    d = path_of(agents_dir, name)
    aj = os.path.join(d, "agent.json")
    before = os.stat(aj).st_mtime_ns
    body = read(aj)
    j = ok_json(call(srv, "PATCH", f"/agents/{name}/status", {"status": "inactive"}))
    assert j["status"] == "inactive"
    assert os.path.isfile(os.path.join(d, ".disabled"))
    assert read(os.path.join(d, ".disabled")) == b""
    j = ok_json(call(srv, "PATCH", f"/agents/{name}/status", {"status": "inactive"}))
    assert j["status"] == "inactive"
    assert ok_json(get(srv, name))["status"] == "inactive"
    assert [a["status"] for a in listing(srv) if a["name"] == name] == ["inactive"]
    j = ok_json(call(srv, "PATCH", f"/agents/{name}/status", {"status": "active"}))
    assert j["status"] == "active" and not os.path.exists(os.path.join(d, ".disabled"))
    j = ok_json(call(srv, "PATCH", f"/agents/{name}/status", {"status": "active"}))
    assert j["status"] == "active"
    assert os.stat(aj).st_mtime_ns == before and read(aj) == body   # agent.json untouched
    # a .disabled made by hand counts too
    write(os.path.join(d, ".disabled"), b"by hand")
    assert ok_json(get(srv, name))["status"] == "inactive"


def test_status_errors(srv):
    name = uname("stat-err")
    create(srv, name)
    r = call(srv, "PATCH", f"/agents/{name}/status", raw=b'{"status":"paused"}')
    assert r.body == (b'{"detail":[{"type":"literal_error","loc":["body","status"],'
                      b'"msg":"Input should be \'active\' or \'inactive\'","input":"paused",'
                      b'"ctx":{"expected":"\'active\' or \'inactive\'"}}]}')
    assert r.status == 422
    assert detail(call(srv, "PATCH", f"/agents/{name}/status", {"status": 1}), 422)[0]["input"] == 1
    assert detail(call(srv, "PATCH", f"/agents/{name}/status", {}), 422) == [
        {"type": "missing", "loc": ["body", "status"], "msg": "Field required", "input": {}}]
    assert detail(call(srv, "PATCH", "/agents/nobody-s/status", {"status": "paused"}), 422)
    assert detail(call(srv, "PATCH", "/agents/nobody-s/status", {"status": "active"}), 404) == \
        "Agent not found: nobody-s"
    big = "p" * min(200000, body_max() // 2)
    e = detail(call(srv, "PATCH", f"/agents/{name}/status", {"status": big}), 422)
    assert e[0]["input"] == big


# ---- DELETE /agents/{name} -------------------------------------------------------------------

def test_delete(srv, agents_dir):
    name = uname("del")
    create(srv, name, system_prompt="p", skills=["s"])
    write(path_of(agents_dir, name, "README.md"), b"unknown")
    write(path_of(agents_dir, name, "deep", "er", "f"), b"x")
    r = call(srv, "DELETE", f"/agents/{name}")
    assert r.status == 204 and r.body == b""
    assert r.header("Content-Type") is None
    assert not os.path.exists(path_of(agents_dir, name))
    assert detail(call(srv, "DELETE", f"/agents/{name}"), 404) == f"Agent not found: {name}"
    assert detail(get(srv, name), 404) == f"Agent not found: {name}"


# ---- what is on disk, read every time --------------------------------------------------------

def test_agents_written_by_upstream_are_read(srv, agents_dir):
    name = uname("upstream")
    d = path_of(agents_dir, name)
    write(os.path.join(d, "agent.json"), upstream_json(
        {"name": "whatever-inside", "description": "Made by the CLI \u00e9", "skills": [],
         "extra": {"kept": True}}))
    write(os.path.join(d, "agent.mcp.json"), upstream_json(
        {"mcpServers": {"x": {"command": "c", "args": ["a"], "env": {"A": "b"}, "type": "stdio"}},
         "other": 1}))
    write(os.path.join(d, "agent.system-prompt.md"), b"")
    j = ok_json(get(srv, name))
    assert j["name"] == name                      # the directory's name
    assert j["description"] == "Made by the CLI \u00e9"
    assert j["skills"] == []
    assert j["system_prompt"] == ""
    assert j["mcp_servers"] == {"x": {"command": "c", "args": ["a"], "env": {"A": "b"}}}
    write(os.path.join(d, "agent.mcp.json"), b'{"mcpServers": {}}')
    assert ok_json(get(srv, name))["mcp_servers"] is None
    write(os.path.join(d, "agent.mcp.json"), b'{}')
    assert ok_json(get(srv, name))["mcp_servers"] is None


def test_edit_on_disk_is_seen_at_once(srv, agents_dir):
    name = uname("edit")
    create(srv, name, description="before")
    d = path_of(agents_dir, name)
    assert ok_json(get(srv, name))["description"] == "before"
    write(os.path.join(d, "agent.json"),
          json.dumps({"name": name, "description": "after", "skills": ["new"]}))
    j = ok_json(get(srv, name))
    assert j["description"] == "after" and j["skills"] == ["new"]
    assert [a["description"] for a in listing(srv) if a["name"] == name] == ["after"]
    write(os.path.join(d, "agent.system-prompt.md"), b"ok \xff end \x01")
    assert ok_json(get(srv, name))["system_prompt"] == "ok \ufffd end \x01"
    os.remove(os.path.join(d, "agent.system-prompt.md"))
    assert ok_json(get(srv, name))["system_prompt"] is None
    write(os.path.join(d, "agent.json"), b"{broken")
    assert detail(get(srv, name), 404) == f"Agent not found: {name}"
    assert name not in [a["name"] for a in listing(srv)]
    write(os.path.join(d, "agent.json"), json.dumps({"name": name, "description": "back"}))
    assert ok_json(get(srv, name))["description"] == "back"


INVALID = {
    "no-json": {},
    "json-not-json": {"agent.json": b"{nope"},
    "json-list": {"agent.json": b"[]"},
    "no-name": {"agent.json": b'{"description": "d"}'},
    "empty-name": {"agent.json": b'{"name": "", "description": "d"}'},
    "no-desc": {"agent.json": b'{"name": "n"}'},
    "empty-desc": {"agent.json": b'{"name": "n", "description": ""}'},
    "desc-number": {"agent.json": b'{"name": "n", "description": 5}'},
    "skills-str": {"agent.json": b'{"name": "n", "description": "d", "skills": "s"}'},
    "skills-num": {"agent.json": b'{"name": "n", "description": "d", "skills": [1]}'},
    "mcp-broken": {"agent.mcp.json": b"{"},
    "mcp-list": {"agent.mcp.json": b'{"mcpServers": []}'},
    "mcp-no-args": {"agent.mcp.json": b'{"mcpServers": {"s": {"command": "c"}}}'},
    "mcp-bad-env": {"agent.mcp.json":
                    b'{"mcpServers": {"s": {"command": "c", "args": [], "env": {"a": 1}}}}'},
    "prompt-dir": {"agent.system-prompt.md/x": b""},
}


def test_invalid_directories_skipped_and_logged_once(srv, agents_dir):
    tag = uuid.uuid4().hex[:6]
    good = f"good-{tag}"
    create(srv, good)
    names = []
    for key, files in INVALID.items():
        name = f"bad-{tag}-{key}"
        names.append(name)
        os.makedirs(path_of(agents_dir, name))
        if "agent.json" not in files:
            files = dict(files)
            if key != "no-json":
                files["agent.json"] = b'{"name": "n", "description": "d"}'
        for rel, data in files.items():
            write(path_of(agents_dir, name, rel), data)
    # not agents either: a plain file, a name outside the rule
    write(os.path.join(agents_dir, f"file-{tag}"), b"{}")
    write(path_of(agents_dir, f"bad name {tag}", "agent.json"),
          json.dumps({"name": "x", "description": "d"}))
    for _ in range(3):
        got = [a["name"] for a in listing(srv)]
        assert good in got
        assert not [n for n in got if tag in n and n != good], got
    for name in names:
        assert detail(get(srv, name), 404) == f"Agent not found: {name}"
        assert detail(call(srv, "DELETE", f"/agents/{name}"), 404)
        assert os.path.isdir(path_of(agents_dir, name))
    err = srv.stderr()
    for name in names:
        assert err.count(f"directory {name} is not a valid agent") == 1, (name, err[-3000:])
    # fixed, it is listed again
    fixed = names[0]
    write(path_of(agents_dir, fixed, "agent.json"), b'{"name": "n", "description": "d"}')
    assert fixed in [a["name"] for a in listing(srv)]


def test_list_sorted_by_code_point(fresh, tmp_path):
    d = tmp_path / "sorted"
    s = fresh(args=[f"--agents.dir={d}"])
    names = ["b", "B", "a_1", "a-1", "A", "0x", "Z_", "a", "a1", "_x"[1:], "aa", "a-", "a_",
             "9", "zz", "Zz", "m" * 60]
    for n in names:
        create(s, n)
    got = [a["name"] for a in listing(s)]
    assert got == sorted(set(names)), got


def test_long_list_in_parts(fresh, tmp_path):
    # more agents than one listing's batch and more bytes than tx: the list
    # goes out in many parts, an agent cut in windows where a part ends
    d = tmp_path / "many"
    s = fresh(args=[f"--agents.dir={d}"])
    count = 45
    desc = "x\u00e9\"\\" * 300
    want = []
    for i in range(count):
        name = f"agent-{(i * 7919) % 1000:04d}"
        want.append(name)
        create(s, name, description=desc, skills=[f"skill-{k}" for k in range(20)],
               system_prompt="prompt " * (i * 10), mcp_servers={"m": {"command": "c",
                                                                     "args": ["a"] * 10}})
    got = listing(s)
    assert [a["name"] for a in got] == sorted(want)
    for a in got:
        assert a["description"] == desc and len(a["skills"]) == 20
        i = want.index(a["name"])
        assert (a["system_prompt"] or "") == "prompt " * (i * 10)
    # the same through a client that reads slowly, on one connection
    with s.raw(FAM) as c:
        c.send(b"GET /agents HTTP/1.1\r\nHost: x\r\n\r\n" * 2)
        for _ in range(2):
            r = c.read_response(timeout=30)
            assert r.status == 200 and [a["name"] for a in json.loads(r.body)] == sorted(want)


def test_large_agent_and_prompt_round_trip(srv, agents_dir):
    name = uname("large")
    fm = file_max()
    # skills as large as one file allows (escaped \\uXXXX in the file, raw
    # UTF-8 in the answer: larger than tx)
    per = 128
    while per > 1 and len(upstream_json({"name": name, "description": "d" * 2000,
                                         "skills": ["\u00e9" * per] * 100})) > fm * 0.9:
        per -= 1
    skills = [("\u00e9" * (per - 1)) + str(i % 10) for i in range(100)]
    n = min(200000, body_max() // 3)
    unit = "line \u00e9 \u2028 \U0001F600 \"q\" \\ \x01\r\n"
    prompt = (unit * (n // len(unit.encode()) + 1))[: n // 2]
    j = create(srv, name, description="d" * 2000, skills=skills, system_prompt=prompt)
    assert j["skills"] == skills and j["system_prompt"] == prompt
    assert read(path_of(agents_dir, name, "agent.system-prompt.md")) == prompt.encode()
    assert ok_json(get(srv, name)) == j
    assert [a for a in listing(srv) if a["name"] == name] == [j]


# ---- Decision 8: a running observability session blocks DELETE --------------------------------

def obs(s, method, path, body):
    r = s.request("observability", method, path, body=json.dumps(body).encode())
    assert r.status == 200, r
    return r.json()


@pytest.mark.needs("observability")
def test_delete_refused_while_a_session_runs(srv, agents_dir):
    name = uname("busy")
    other = uname("idle")
    create(srv, name)
    create(srv, other)
    sid = str(uuid.uuid4())
    ts = "2025-11-25T10:00:00.000001+00:00"
    obs(srv, "POST", "/events", {"event_type": "session_start", "session_id": sid,
                                 "session_name": "work", "timestamp": ts})
    # running, but not yet this agent's
    r = call(srv, "DELETE", f"/agents/{other}")
    assert r.status == 204
    obs(srv, "PATCH", f"/sessions/{sid}/metadata", {"agent_name": name})
    r = call(srv, "DELETE", f"/agents/{name}")
    assert detail(r, 409) == f"Agent has running sessions: {name}"
    assert os.path.isfile(path_of(agents_dir, name, "agent.json"))
    assert ok_json(get(srv, name))["name"] == name
    # stopped by its hook: finished, no longer running
    obs(srv, "POST", "/events", {"event_type": "session_stop", "session_id": sid,
                                 "session_name": "work", "timestamp": ts})
    r = call(srv, "DELETE", f"/agents/{name}")
    assert r.status == 204, r
    assert not os.path.exists(path_of(agents_dir, name))


@pytest.mark.needs("observability")
def test_delete_refused_until_stopped(srv, agents_dir):
    name = uname("stopme")
    create(srv, name)
    sid = str(uuid.uuid4())
    obs(srv, "POST", "/events", {"event_type": "session_start", "session_id": sid,
                                 "session_name": "w", "timestamp": "2025-11-25T10:00:00Z"})
    obs(srv, "PATCH", f"/sessions/{sid}/metadata", {"agent_name": name})
    assert call(srv, "DELETE", f"/agents/{name}").status == 409
    obs(srv, "POST", f"/sessions/{sid}/stop", {})
    assert call(srv, "DELETE", f"/agents/{name}").status == 204


# ---- CORS with credentials, auth ------------------------------------------------------------

def test_cors_credentials_on_answers_and_errors(srv):
    name = uname("cors")
    create(srv, name)
    h = {"Origin": "http://localhost:5173"}
    for r in (call(srv, "GET", f"/agents/{name}", headers=h),
              call(srv, "GET", "/agents/nobody-c", headers=h),
              call(srv, "POST", "/agents", {"name": "x"}, headers=h)):
        assert r.header("Access-Control-Allow-Origin") == "http://localhost:5173", r
        assert r.header("Access-Control-Allow-Credentials") == "true", r
    r = srv.request(FAM, "OPTIONS", "/agents", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "DELETE",
        "Access-Control-Request-Headers": "content-type"})
    assert r.status == 200 and r.header("Access-Control-Allow-Credentials") == "true"


def test_auth_key_required_when_asked(fresh, tmp_path):
    s = fresh(args=[f"--agents.dir={tmp_path / 'a'}", "--agents.auth=key"])
    r = call(s, "GET", "/agents")
    assert detail(r, 401) == "Not authenticated"
    assert r.header("WWW-Authenticate") == "Bearer"
    assert call(s, "GET", "/health").status == 200
    assert call(s, "GET", "/agents", headers={"X-API-Key": s.api_key()}).status == 200


def test_agents_dir_too_long_stops_the_start(fresh, tmp_path):
    # longer than a path under it leaves room for, within a config value
    n = 220 if limits()["profile"] == "small" else 480
    s = fresh(start=False, args=["--agents.dir=/" + "d" * n])
    rc, out, err = roostlib.run_roostd(s.argv()[1:], cwd=s.workdir)
    assert rc != 0 and "agents.dir" in (out + err), (rc, out, err)
