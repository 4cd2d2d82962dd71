"""make install / make uninstall (tools/install.sh, README "Installing as a
service"): the files it lays out under DESTDIR, the systemd unit passing
`systemd-analyze verify`, MemoryMax = `roostd --budget`'s total + headroom,
the sample config passing the unit's own ExecStartPre check, an existing
config never overwritten, uninstall removing exactly what install put.

systemd-analyze runs here without systemd as PID 1 (a container): verify
needs no running manager, only
  --man=no          the unit's Documentation= man pages are not looked up
  --generators=false  no generators run (they need a real /run and /proc/1)
  --root=DIR        the unit's ExecStart= paths (/usr/bin/roostd) are
                    checked inside DIR, i.e. the staged install; DIR also
                    needs the system's units (sysinit.target, ...) and
                    /bin/kill (ExecReload=), copied in from this machine.
A missing systemd-analyze fails the test (tools/deps.sh installs systemd).
"""

import os
import re
import shutil
import stat
import subprocess

import pytest

from roostlib import REPO, roostd_path, run_roostd

UNIT = "usr/lib/systemd/system/roostd.service"
CONF = "etc/roost/roost.conf"
BIN = "usr/bin/roostd"
MIB = 1048576


def make(target, dest, **extra):
    args = ["make", "-s", "-C", REPO, target, f"DESTDIR={dest}", "PREFIX=/usr",
            f"INSTALL_BIN={roostd_path()}"] + [f"{k}={v}" for k, v in extra.items()]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def files(root):
    out = set()
    for d, _, fs in os.walk(root):
        for f in fs:
            out.add(os.path.relpath(os.path.join(d, f), root))
    return out


def unit_keys(path):
    keys = {}
    for line in open(path).read().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            keys.setdefault(k, []).append(v)
    return keys


def verify(dest, unit_rel=UNIT):
    """systemd-analyze verify on the staged unit; its rc and all it said."""
    exe = shutil.which("systemd-analyze")
    assert exe, "systemd-analyze is missing: tools/deps.sh installs the systemd package"
    root = str(dest) + "-verify"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(dest, root, symlinks=True)
    os.makedirs(os.path.join(root, "usr/lib/systemd"), exist_ok=True)
    sysunits = os.path.join(root, "usr/lib/systemd/system")
    for f in os.listdir("/usr/lib/systemd/system"):
        src = os.path.join("/usr/lib/systemd/system", f)
        if not os.path.exists(os.path.join(sysunits, f)):
            if os.path.islink(src):
                os.symlink(os.readlink(src), os.path.join(sysunits, f))
            elif os.path.isdir(src):
                shutil.copytree(src, os.path.join(sysunits, f), symlinks=True)
            else:
                shutil.copy2(src, sysunits)
    os.makedirs(os.path.join(root, "usr/bin"), exist_ok=True)
    shutil.copy2(os.path.realpath("/bin/kill"), os.path.join(root, "usr/bin/kill"))
    if not os.path.lexists(os.path.join(root, "bin")):
        os.symlink("usr/bin", os.path.join(root, "bin"))
    p = subprocess.run([exe, "--man=no", "--generators=false", "verify", f"--root={root}",
                        "/" + unit_rel], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, SYSTEMD_LOG_LEVEL="notice"))
    return p.returncode, (p.stdout + p.stderr).strip()


def budget_total():
    rc, out, _ = run_roostd(["--budget", "--config", "/dev/null"])
    assert rc == 0
    m = re.search(r"^total\s+(\d+) B", out, re.M)
    assert m, out
    return int(m.group(1))


def test_install_layout_verify_and_uninstall(tmp_path):
    dest = tmp_path / "dest"
    make("install", dest)
    assert files(dest) == {BIN, UNIT, CONF}
    assert open(dest / BIN, "rb").read() == open(roostd_path(), "rb").read()
    assert stat.S_IMODE(os.stat(dest / BIN).st_mode) == 0o755
    assert stat.S_IMODE(os.stat(dest / UNIT).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(dest / CONF).st_mode) == 0o644
    assert open(dest / CONF).read() == open(os.path.join(REPO, "etc/roost/roost.conf")).read()

    rc, said = verify(dest)
    assert rc == 0 and said == "", said

    keys = unit_keys(dest / UNIT)
    want = {
        "DynamicUser": "yes", "StateDirectory": "roost", "ProtectSystem": "strict",
        "ProtectHome": "yes", "PrivateTmp": "yes", "NoNewPrivileges": "yes",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6", "CapabilityBoundingSet": "",
        "SystemCallArchitectures": "native", "Restart": "on-failure",
        "ExecReload": "/bin/kill -HUP $MAINPID",
        "ExecStartPre": "/usr/bin/roostd --config-default /etc/roost/roost.conf --check-config",
        "ExecStart": "/usr/bin/roostd --config-default /etc/roost/roost.conf",
    }
    for k, v in want.items():
        assert keys.get(k) == [v], (k, keys.get(k))
    assert re.fullmatch(r"\d+s", keys["TimeoutStopSec"][0])
    assert "User" not in keys
    assert not re.search(r"@[A-Z_]+@", open(dest / UNIT).read())

    # MemoryMax: the static plan of this very binary plus the 32 MiB default.
    total = budget_total()
    assert keys["MemoryMax"] == [f"{(total + 32 * MIB + MIB - 1) // MIB}M"]

    # The unit's ExecStartPre on the installed config (as staged) passes.
    rc, out, err = run_roostd(["--config-default", str(dest / CONF), "--check-config"])
    assert rc == 0, out + err
    assert f"data_dir = /var/lib/roost  ({dest / CONF}:" in out

    # A second install keeps an edited config.
    (dest / CONF).write_text("log_level = debug\n")
    out = make("install", dest)
    assert "exists: kept" in out
    assert (dest / CONF).read_text() == "log_level = debug\n"

    make("uninstall", dest)
    assert files(dest) == {CONF}
    assert (dest / CONF).read_text() == "log_level = debug\n"


def test_verify_can_fail(tmp_path):
    """The control: a misspelt directive is reported, so an empty report on
    the real unit means something."""
    dest = tmp_path / "dest"
    make("install", dest)
    text = open(dest / UNIT).read().replace("ProtectSystem=strict", "ProtectSytem=strict")
    (dest / UNIT).write_text(text)
    rc, said = verify(dest)
    assert "Unknown key" in said and "ProtectSytem" in said, said


@pytest.mark.parametrize("headroom", [0, 100])
def test_memory_max_follows_the_headroom(tmp_path, headroom):
    dest = tmp_path / "dest"
    make("install", dest, MEMORY_HEADROOM_MIB=headroom)
    total = budget_total()
    assert unit_keys(dest / UNIT)["MemoryMax"] == [f"{(total + headroom * MIB + MIB - 1) // MIB}M"]


def test_service_user_variant(tmp_path):
    """SERVICE_USER: the rpg family on that user's own tmux server: User=
    instead of DynamicUser, the home read-only, /tmp (the tmux socket)
    shared and writable. The unit verifies too."""
    dest = tmp_path / "dest"
    make("install", dest, SERVICE_USER="alice")
    keys = unit_keys(dest / UNIT)
    assert keys["User"] == ["alice"]
    assert "DynamicUser" not in keys
    assert keys["ProtectHome"] == ["read-only"] and keys["PrivateTmp"] == ["no"]
    assert keys["ReadWritePaths"] == ["/tmp"]
    rc, said = verify(dest)
    assert rc == 0 and said == "", said
