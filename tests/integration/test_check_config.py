"""roostd --check-config: the configuration read exactly as a start reads it
(defaults, the config file, upstream environment names, ROOST_* variables,
flags), every key printed with its effective value and its source, exit 0;
an error exits 2 with the very message a start gives. It never binds a
port and never creates the data directory."""

import os
import re
import socket

import pytest

from roostlib import Server, built, family_or_other, free_ports, run_roostd

LINE = re.compile(r"^(\S+) = ?(.*)  \((.*)\)$")


def check(args=(), env=None, conf=None, tmp_path=None):
    """Run --check-config in tmp_path (conf, when given, is ./roost.conf
    there); its rc, {key: (value, source)}, stdout, stderr."""
    cwd = str(tmp_path)
    if conf is not None:
        (tmp_path / "roost.conf").write_text(conf)
    rc, out, err = run_roostd(["--check-config"] + list(args), cwd=cwd, env=env)
    keys = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            keys[m.group(1)] = (m.group(2), m.group(3))
    return rc, keys, out, err


FAM = family_or_other("documents")


def needs(fam):
    return pytest.mark.needs(fam)


# (id, config file, env, flags, key, value, source); "{file}" is the file's path.
ROWS = [
    ("default", None, {}, [], "max_json_body_bytes", "1048576", "default"),
    ("default-level", None, {}, [], "log_level", "info", "default"),
    ("file", "# c\n\nlog_level = debug\n", {}, [], "log_level", "debug", "roost.conf:3"),
    ("file-explicit", None, {}, ["--config", "{dir}/other.conf"], "max_hook_body_bytes",
     "4096", "{dir}/other.conf:1"),
    ("roost_config-env", None, {"ROOST_CONFIG": "{dir}/other.conf"}, [],
     "max_hook_body_bytes", "4096", "{dir}/other.conf:1"),
    ("config-default", None, {}, ["--config-default", "{dir}/other.conf"],
     "max_hook_body_bytes", "4096", "{dir}/other.conf:1"),
    ("config-default-missing", None, {}, ["--config-default", "{dir}/absent.conf"],
     "max_hook_body_bytes", "8388608", "default"),
    ("env", "log_level = debug\n", {"ROOST_LOG_LEVEL": "warn"}, [], "log_level", "warn",
     "env ROOST_LOG_LEVEL"),
    ("flag-eq", None, {"ROOST_LOG_LEVEL": "warn"}, ["--log_level=error"], "log_level",
     "error", "flag --log_level"),
    ("flag-space", None, {}, ["--http.body_timeout_ms", "1500"], "http.body_timeout_ms",
     "1500", "flag --http.body_timeout_ms"),
    ("file-family", f"{FAM}.port = 4321\n", {}, [], f"{FAM}.port", "4321", "roost.conf:1"),
    pytest.param("upstream-port", None, {"PORT": "4555"}, [], "rpg.port", "4555", "env PORT",
                 marks=needs("rpg")),
    pytest.param("upstream-below-roost", None,
                 {"PORT": "4555", "ROOST_RPG_PORT": "4556"}, [], "rpg.port", "4556",
                 "env ROOST_RPG_PORT", marks=needs("rpg")),
    pytest.param("upstream-docs", "documents.port = 1\n", {"DOCUMENT_SERVER_PORT": "4557"}, [],
                 "documents.port", "4557", "env DOCUMENT_SERVER_PORT", marks=needs("documents")),
    pytest.param("derived", None, {}, ["--documents.port=4558"], "documents.public_url",
                 "http://localhost:4558", "derived", marks=needs("documents")),
    pytest.param("provider-env", None,
                 {"ROOST_LLM_PROVIDERS": "ol", "ROOST_LLM_PROVIDER_OL_KIND": "openai-compatible",
                  "ROOST_LLM_PROVIDER_OL_DEFAULT_MODEL": "m"},
                 ["--llm.provider.ol.base_url=http://127.0.0.1:9/v1"],
                 "llm.provider.ol.kind", "openai-compatible", "env ROOST_LLM_PROVIDER_OL_KIND",
                 marks=needs("llm")),
    pytest.param("provider-flag", None,
                 {"ROOST_LLM_PROVIDERS": "ol", "ROOST_LLM_PROVIDER_OL_KIND": "openai-compatible",
                  "ROOST_LLM_PROVIDER_OL_DEFAULT_MODEL": "m"},
                 ["--llm.provider.ol.base_url=http://127.0.0.1:9/v1/"],
                 "llm.provider.ol.base_url", "http://127.0.0.1:9/v1",
                 "flag --llm.provider.ol.base_url", marks=needs("llm")),
]


@pytest.mark.parametrize("name,conf,env,flags,key,value,source", ROWS,
                         ids=[r.values[0] if hasattr(r, "marks") else r[0] for r in ROWS])
def test_value_and_source(tmp_path, name, conf, env, flags, key, value, source):
    d = str(tmp_path)
    (tmp_path / "other.conf").write_text("max_hook_body_bytes = 4096\n")
    env = {k: v.replace("{dir}", d) for k, v in env.items()}
    flags = [f.replace("{dir}", d) for f in flags]
    rc, keys, out, err = check(flags, env, conf, tmp_path)
    assert rc == 0, out + err
    assert keys[key] == (value, source.replace("{dir}", d)), out
    assert out.rstrip().splitlines()[-1].startswith("roostd: configuration ok ("), out
    assert err == ""


def test_every_key_has_a_line(tmp_path):
    """The listing is the key table: every key --help lists is there once."""
    rc, keys, out, _ = check(tmp_path=tmp_path)
    assert rc == 0
    lines = [l for l in out.splitlines() if LINE.match(l)]
    assert len(lines) == len(keys) > 20
    rc, help_out, _ = run_roostd(["--help"])
    for k in keys:
        if not k.startswith(tuple(f + "." for f in ("fleet", "rpg", "observability",
                                                    "documents", "agents"))) or \
                k.split(".", 1)[1] not in ("enabled", "host", "port", "auth", "cors_origins",
                                           "tls_cert", "tls_key"):
            assert f"--{k}=" in help_out, k
    for _, (_, src) in keys.items():
        assert src in ("default", "derived"), out


# Errors: the same message as a start, exit 2 for both.
BAD = [
    ("unknown-key", "log_levle = debug\n", {}, [], "roost.conf:1: unknown key 'log_levle'"),
    ("bad-value", "\nmax_json_body_bytes = lots\n", {}, [], "roost.conf:2: max_json_body_bytes"),
    ("bad-env", None, {"ROOST_LOG_LEVEL": "loud"}, [], "environment variable ROOST_LOG_LEVEL"),
    ("bad-flag", None, {}, ["--http.body_timeout_ms=-1"], "flag --http.body_timeout_ms"),
    ("missing-file", None, {}, ["--config", "nowhere.conf"], "config file nowhere.conf not found"),
    ("unknown-env", None, {"ROOST_NO_SUCH_KEY": "1"}, [], "ROOST_NO_SUCH_KEY"),
]


@pytest.mark.parametrize("name,conf,env,flags,msg", BAD, ids=[b[0] for b in BAD])
def test_error_is_a_starts_error(tmp_path, name, conf, env, flags, msg):
    rc, keys, out, err = check(flags, env, conf, tmp_path)
    assert rc == 2, out + err
    assert msg in err and out == "", err
    assert not keys
    # A start with the same configuration says exactly the same.
    rc2, out2, err2 = run_roostd(flags, cwd=str(tmp_path), env=env)
    assert rc2 == 2
    assert err2 == err
    assert not os.path.exists(tmp_path / "roost-data")


def test_never_binds_nor_makes_the_data_dir(tmp_path):
    """With a configured port held by another socket a start fails (exit 1,
    address in use) and --check-config still passes; neither the data
    directory nor anything else appears in the working directory."""
    port = free_ports(1)[0]
    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    held.bind(("127.0.0.1", port))
    held.listen(1)
    try:
        data = tmp_path / "data"
        flags = [f"--{FAM}.port={port}", f"--data_dir={data}"]
        work = tmp_path / "work"
        work.mkdir()
        rc, keys, out, err = check(flags, None, None, work)
        assert rc == 0, out + err
        assert keys["data_dir"] == (str(data), "flag --data_dir")
        assert not data.exists()
        assert sorted(os.listdir(work)) == []
        # The control: a start on the same config does bind, and fails.
        srv = Server(tmp_path / "srv", args=flags, port_flags=False)
        srv.start(wait=False)
        try:
            assert srv.proc.wait(timeout=20) == 1
        finally:
            if srv.proc.poll() is None:     # it bound after all: never leave it running
                srv.proc.kill()
                srv.proc.wait()
        assert "address already in use" in srv.stderr()
    finally:
        held.close()
