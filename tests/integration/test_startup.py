"""The command line, configuration precedence, listeners, data dir and signals
(issue #2 §7, spec README §1-§2)."""

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import textwrap

import pytest

import roostlib
from roostlib import HOST
from roostlib import (DEFAULT_PORTS, FAMILIES, READY_TIMEOUT, SLOW, built, built_families,
                      family_or_other, free_ports, port_accepts, run_roostd)

# The families of the binary under test (all five, or small's three), and
# the one the precedence tests bind: fleet where it is built.
BUILT = built_families()
F = family_or_other("fleet")
ENV_F = F.upper()

FLAGS = ["--data_dir", "--config", "--budget", "--limits", "--help", "--version"] + \
    [f"--{f}.{k}" for f in BUILT for k in ("port", "host", "enabled")]


def test_help_lists_every_flag_and_port():
    rc, out, err = run_roostd(["--help"])
    assert rc == 0, (out, err)
    text = out
    missing = [f for f in FLAGS if f not in text]
    assert not missing, f"--help does not mention {missing}:\n{text}"
    for fam in BUILT:
        port = DEFAULT_PORTS[fam]
        assert str(port) in text, f"--help does not show {fam}'s default port {port}"
    assert "roost-data" in text, "--help does not show the default data dir"


def test_version():
    rc, out, err = run_roostd(["--version"])
    assert rc == 0, (out, err)
    assert re.search(r"\b\d+\.\d+\.\d+\b", out), out
    assert len(out.strip().splitlines()) == 1, f"--version prints one line: {out!r}"


def test_budget_prints_pools_and_total(tmp_path):
    rc, out, err = run_roostd(["--budget"], cwd=str(tmp_path))
    assert rc == 0, (out, err)
    lines = [ln for ln in out.splitlines() if re.search(r"\d", ln)]
    assert len(lines) >= 4, f"--budget should print one line per pool:\n{out}"
    total = [ln for ln in lines if "total" in ln.lower()]
    assert total, f"--budget prints no total line:\n{out}"
    low = out.lower()
    for word in ("conn", "sqlite"):
        assert word in low, f"--budget does not mention a {word} pool:\n{out}"
    # --budget only prints: it does not listen or create the data dir.
    assert not os.path.exists(tmp_path / "roost-data"), "--budget created the data dir"


@pytest.mark.parametrize("args,name", [
    (["--no_such_flag=1"], "no_such_flag"),
    (["--fleet.nope=1"], "fleet.nope"),
    (["--bogus"], "bogus"),
])
def test_unknown_flag_exits_2(args, name):
    rc, out, err = run_roostd(args)
    assert rc == 2, (rc, out, err)
    assert name in err, f"message does not name {name!r}: {err!r}"


@pytest.mark.parametrize("arg", ["--fleet.port=notanumber", "--fleet.port=70000",
                                 "--rpg.enabled=maybe"])
def test_bad_value_is_a_startup_error(arg, tmp_path):
    rc, out, err = run_roostd([arg, f"--data_dir={tmp_path}/d"], cwd=str(tmp_path))
    assert rc != 0, (rc, out, err)
    key = arg[2:].split("=")[0]
    assert key in err, f"message does not name {key!r}: {err!r}"
    assert "ready" not in out


def test_unknown_key_in_config_file_exits_2(tmp_path):
    conf = tmp_path / "roost.conf"
    conf.write_text(f"# comment\n\n{F}.port = 3100\nnot_a_key = 1\n")
    rc, out, err = run_roostd([f"--config={conf}"], cwd=str(tmp_path))
    assert rc == 2, (rc, out, err)
    assert "not_a_key" in err, err


def test_config_precedence_file_env_flag(fresh, tmp_path):
    """defaults < config file < ROOST_* environment < flag, observed through the
    port the fleet listener (or, without fleet, another) actually binds."""
    p_file, p_env, p_flag, *others = free_ports(7)
    base = dict(zip([f for f in BUILT if f != F], others))
    conf = tmp_path / "alt.conf"
    conf.write_text(textwrap.dedent(f"""\
        # {F} port from the file
        {F}.port = {p_file}
        """))

    def run(env, flag):
        args = [f"--config={conf}"] + ([f"--{F}.port={p_flag}"] if flag else [])
        srv = fresh(start=False, ports=base, args=args, env=env)
        srv.start()
        try:
            got = [p for p in (p_file, p_env, p_flag) if port_accepts(p)]
        finally:
            srv.stop()
        return got

    assert run({}, False) == [p_file]
    assert run({f"ROOST_{ENV_F}_PORT": str(p_env)}, False) == [p_env]
    assert run({f"ROOST_{ENV_F}_PORT": str(p_env)}, True) == [p_flag]


def test_roost_conf_in_cwd_and_roost_config_env(fresh, tmp_path):
    p_cwd, p_envfile, *others = free_ports(6)
    base = dict(zip([f for f in BUILT if f != F], others))
    srv = fresh(start=False, ports=base)
    with open(os.path.join(srv.workdir, "roost.conf"), "w") as f:
        f.write(f"{F}.port={p_cwd}\n")
    srv.start()
    assert port_accepts(p_cwd), "roost.conf in the working directory was not read"
    srv.stop()

    other = tmp_path / "elsewhere.conf"
    other.write_text(f"# spaces around key and value are trimmed\n  {F}.port   =   {p_envfile}  \n")
    srv2 = fresh(start=False, ports=base, env={"ROOST_CONFIG": str(other)})
    srv2.start()
    assert port_accepts(p_envfile), "ROOST_CONFIG was not honoured"
    srv2.stop()


@pytest.mark.needs("fleet", "rpg")
def test_upstream_env_alias_below_roost_env(fresh):
    """PORT (rpg.port alias) is honoured, and ROOST_RPG_PORT beats it."""
    p_alias, p_roost, *others = free_ports(6)
    ports = {f: p for f, p in zip(("fleet", "observability", "documents", "agents"), others)}
    srv = fresh(start=False, ports=ports, env={"PORT": str(p_alias)})
    srv.start()
    assert port_accepts(p_alias)
    srv.stop()
    srv = fresh(start=False, ports=ports,
                env={"PORT": str(p_alias), "ROOST_RPG_PORT": str(p_roost)})
    srv.start()
    assert port_accepts(p_roost) and not port_accepts(p_alias)
    srv.stop()


def start_fails(srv, why):
    """Start srv, which must exit non-zero before it is ready; its stderr."""
    srv.start(wait=False)
    try:
        rc = srv.proc.wait(timeout=READY_TIMEOUT)
    except subprocess.TimeoutExpired:
        srv.kill9()
        pytest.fail(f"roostd kept running {why}\n{srv.logs()}")
    assert rc != 0, srv.logs()
    assert "ready" not in srv.stdout(), srv.logs()
    err = srv.stderr()
    srv.check_sanitizers()
    srv.proc = None
    return err


def test_port_in_use_fails_clearly(fresh):
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    busy = blocker.getsockname()[1]
    try:
        ports = dict(zip(BUILT, free_ports(len(BUILT))))
        ports["documents"] = busy
        err = start_fails(fresh(start=False, ports=ports), f"with port {busy} taken")
        assert str(busy) in err, f"message does not name the port {busy}: {err!r}"
        assert re.search(r"in use|already|EADDRINUSE", err, re.I), err
    finally:
        blocker.close()


def test_second_roostd_on_the_same_data_dir_fails_clearly(fresh):
    """A second roostd on a data directory in use (other ports) exits at
    start, names the directory and says another process holds it; the
    first keeps serving."""
    first = fresh()
    err = start_fails(fresh(start=False, data_dir=first.data_dir),
                      f"on {first.data_dir}, in use")
    assert "locked by another process" in err and "another roostd" in err, err
    assert first.data_dir in err, f"message does not name the data directory: {err!r}"
    fam = BUILT[0]
    assert first.request(fam, "GET", "/health").status == 200


def test_disabled_family_does_not_listen(fresh):
    srv = fresh(args=["--agents.enabled=false"])
    assert not port_accepts(srv.ports["agents"]), "disabled agents listener accepts"
    for fam in BUILT[:-1]:
        assert srv.request(fam, "GET", "/health").status == 200


def test_all_disabled_but_one(fresh):
    one = family_or_other("rpg")
    args = [f"--{f}.enabled=false" for f in BUILT if f != one]
    srv = fresh(args=args)
    assert srv.request(one, "GET", "/health").status == 200
    for fam in BUILT:
        if fam != one:
            assert not port_accepts(srv.ports[fam]), fam


def test_host_flag_binds_that_address(fresh):
    """--fleet.host=127.0.0.2 binds there and not on 127.0.0.1."""
    srv = fresh(args=[f"--{F}.host=127.0.0.2"])
    p = srv.ports[F]
    assert port_accepts(p, host="127.0.0.2")
    assert not port_accepts(p, host="127.0.0.1")
    r = roostlib.request(p, "GET", "/health", host="127.0.0.2")
    assert r.status == 200


def test_ipv6_loopback_host(fresh):
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    srv = fresh(args=["--agents.host=::1"])
    with socket.create_connection(("::1", srv.ports["agents"]), timeout=2) as c:
        c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            b = c.recv(4096)
            if not b:
                break
            data += b
    assert data.startswith(b"HTTP/1.1 200"), data


def test_data_dir_created_0700(fresh, tmp_path):
    d = tmp_path / "deep" / "er" / "data"
    srv = fresh(data_dir=str(d))
    st = os.stat(d)
    assert stat.S_ISDIR(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o700, oct(stat.S_IMODE(st.st_mode))
    srv.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_exits_zero_with_open_connections(fresh, sig):
    srv = fresh()
    idle = [srv.raw(f) for f in BUILT]
    for c in idle:
        assert c.exchange(roostlib.get_req("/health")).status == 200
    partial = srv.raw(F)
    partial.send(b"GET /health HTTP/1.1\r\nHo")
    try:
        srv.stop(sig=sig, timeout=8 * SLOW)      # exit 0, no sanitizer report
    finally:
        for c in idle + [partial]:
            c.close()
    for fam in BUILT:
        assert not port_accepts(srv.ports[fam])


def test_sighup_reloads_and_keeps_serving(fresh):
    """SIGHUP is a reload, never a stop: the process logs it once per burst,
    keeps its open connections and goes on answering."""
    srv = fresh()
    conns = [srv.raw(f) for f in BUILT]
    for c in conns:
        assert c.exchange(roostlib.get_req("/health")).status == 200
    try:
        os.kill(srv.pid, signal.SIGHUP)
        roostlib.wait_for(lambda: "SIGHUP: reloading" in srv.stdout() + srv.stderr(), 5 * SLOW,
                          what="the reload log line")
        os.kill(srv.pid, signal.SIGHUP)
        roostlib.wait_for(lambda: (srv.stdout() + srv.stderr()).count("SIGHUP: reloading") == 2, 5 * SLOW,
                          what="the second reload")
        assert srv.alive()
        for c in conns:       # the same keep-alive connections still answer
            assert c.exchange(roostlib.get_req("/health")).status == 200
    finally:
        for c in conns:
            c.close()
    srv.stop()


def test_restart_same_ports_immediately(fresh):
    """SO_REUSEADDR: a restart right after a stop with TIME_WAIT sockets binds."""
    srv = fresh()
    for fam in BUILT:
        srv.request(fam, "GET", "/health")
    srv.stop()
    srv.start()
    assert srv.request(F, "GET", "/health").status == 200


# ---- no arguments at all: the real thing, in a private network namespace ----------

NETNS_SCRIPT = r"""
import json, os, signal, socket, subprocess, sys, time
binary, cwd = sys.argv[1], sys.argv[2]
out = open(os.path.join(cwd, "out.txt"), "wb")
err = open(os.path.join(cwd, "err.txt"), "wb")
p = subprocess.Popen([binary], cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
res = {"ready": False, "health": {}, "rc": None}
deadline = time.monotonic() + float(sys.argv[3])
while time.monotonic() < deadline and p.poll() is None:
    if b"ready" in open(os.path.join(cwd, "out.txt"), "rb").read():
        res["ready"] = True
        break
    time.sleep(0.02)
if res["ready"]:
    for port in json.loads(sys.argv[4]):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                data += b
            s.close()
            res["health"][str(port)] = data.split(b"\r\n", 1)[0].decode("latin-1")
        except OSError as e:
            res["health"][str(port)] = "error: %s" % e
if p.poll() is None:
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=float(sys.argv[3]))
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
res["rc"] = p.returncode
print(json.dumps(res))
"""


def test_no_arguments_defaults(roostd, tmp_path):
    """`roostd` with no arguments, from an empty directory: five listeners on
    the upstream ports of 127.0.0.1, data in ./roost-data. Run inside a fresh
    network namespace so the default ports are free whatever this machine runs."""
    unshare = shutil.which("unshare")
    ip = shutil.which("ip") or "/usr/sbin/ip"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    script = tmp_path / "inns.py"
    script.write_text(NETNS_SCRIPT)
    cmd = None
    if unshare and os.path.exists(ip):
        probe = subprocess.run([unshare, "-n", ip, "link", "set", "lo", "up"],
                               capture_output=True)
        if probe.returncode == 0:
            cmd = [unshare, "-n", "sh", "-c", f'"{ip}" link set lo up && exec "$@"', "sh"]
    if cmd is None:
        busy = [DEFAULT_PORTS[f] for f in BUILT if port_accepts(DEFAULT_PORTS[f])]
        if busy:
            pytest.skip(f"no network namespace (unshare -n failed) and default ports "
                        f"{busy} are in use on this machine")
        cmd = []
        print("running on the host network: unshare -n is not available")
    ports = [DEFAULT_PORTS[f] for f in BUILT]
    p = subprocess.run(cmd + [sys.executable, str(script), roostd, str(cwd),
                              str(READY_TIMEOUT), json.dumps(ports)],
                       capture_output=True, timeout=60 * SLOW, env=roostlib.clean_env())
    assert p.returncode == 0, p.stderr.decode()
    res = json.loads(p.stdout.decode().strip().splitlines()[-1])
    logs = (cwd / "out.txt").read_text(errors="replace") + (cwd / "err.txt").read_text(
        errors="replace")
    assert res["ready"], f"not ready with no arguments:\n{logs}"
    for port in map(str, ports):
        assert res["health"].get(port, "").startswith("HTTP/1.1 200"), (port, res, logs)
    assert res["rc"] == 0, (res, logs)
    d = cwd / "roost-data"
    assert d.is_dir(), "./roost-data was not created"
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    for mark in roostlib.SANITIZER_MARKS:
        assert mark not in logs, logs


# ---- what the profile does not build -----------------------------------------------

@pytest.mark.parametrize("part", FAMILIES + ("llm",))
def test_keys_of_what_is_not_built_are_refused(part, tmp_path):
    """A key of a family (or of llm.*) this profile does not build is an error
    that says so; `<family>.enabled = false` is accepted. Where it is built,
    the same keys are ordinary."""
    key = "llm.max_depth=2" if part == "llm" else f"{part}.port=3999"
    rc, out, err = run_roostd([f"--{key}", "--budget"], cwd=str(tmp_path))
    if built(part):
        assert rc == 0, (rc, out, err)
    else:
        assert rc == 2, (rc, out, err)
        what = "the LLM stack" if part == "llm" else f"family {part}"
        assert f"{what} is not built in this profile" in err, err
    if part != "llm":
        rc, out, err = run_roostd([f"--{part}.enabled=false", "--budget"], cwd=str(tmp_path))
        assert rc == 0, (rc, out, err)


def test_upstream_alias_of_a_family_not_built_is_ignored(tmp_path):
    """PORT (rpg.port's upstream name) may be set for another program: where
    rpg is not built it changes nothing and is no error."""
    rc, out, err = run_roostd(["--budget"], cwd=str(tmp_path), env={"PORT": "4999"})
    assert rc == 0, (rc, out, err)
