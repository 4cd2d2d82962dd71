"""Every static is in the plan: for each profile built, the total that
`roostd --budget` prints is the binary's .data + .bss (size(1)) within 2 %,
and a profile links only what it builds.

The binary under test ($ROOSTD) is checked unless it is a sanitizer build
(ASan pads every global with a redzone, so its .bss is not the plan); so is
every other profile's binary found under build/ (build/roostd,
build/server/roostd, build/small/roostd): `make check-plan` builds all three
first.
"""

import os
import re
import shutil
import subprocess

import pytest

from roostlib import REPO, SANITIZED, clean_env, limits, roostd_path

TOLERANCE = 0.02
PROFILES = {"default": "build/roostd", "server": "build/server/roostd",
            "small": "build/small/roostd"}
PLAN_BUDGET = {"default": 19 * 1024 * 1024, "small": 512 * 1024}


def binaries():
    found = set() if SANITIZED else {os.path.realpath(roostd_path())}
    for rel in PROFILES.values():
        path = os.path.join(REPO, rel)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            found.add(os.path.realpath(path))
    return sorted(found)


def run(binary, flag):
    return subprocess.run([binary, flag], capture_output=True, text=True, env=clean_env(),
                          timeout=30, check=True).stdout


def data_bss(binary):
    out = subprocess.run(["size", binary], capture_output=True, text=True, check=True).stdout
    fields = out.splitlines()[1].split()
    return int(fields[1]) + int(fields[2])


def plan_total(budget_text):
    m = re.search(r"^total\s+(\d+) B", budget_text, re.M)
    assert m, budget_text
    return int(m.group(1))


def lim_of(binary):
    out = run(binary, "--limits")
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


@pytest.fixture(scope="module", autouse=True)
def need_size():
    if shutil.which("size") is None or shutil.which("nm") is None:
        pytest.fail("size/nm (binutils) not installed")


@pytest.mark.parametrize("binary", binaries())
def test_plan_is_the_binary(binary):
    budget = run(binary, "--budget")
    lim = lim_of(binary)
    first = budget.splitlines()[0]
    assert f"profile {lim['profile']}" in first, first
    plan = plan_total(budget)
    actual = data_bss(binary)
    diff = abs(plan - actual) / actual
    assert diff <= TOLERANCE, (
        f"{binary} ({lim['profile']}): plan {plan} B, .data + .bss {actual} B "
        f"({diff:.1%} apart): a static is missing from pools.def or a line is stale\n{budget}")


@pytest.mark.parametrize("binary", binaries())
def test_plan_within_the_profile_target(binary):
    lim = lim_of(binary)
    target = PLAN_BUDGET.get(lim["profile"])
    plan = plan_total(run(binary, "--budget"))
    assert plan <= int(lim["CFG_RAM_BUDGET_BYTES"])
    if lim["profile"] == "small":
        syms = subprocess.run(["nm", binary], capture_output=True, text=True, check=True).stdout
        if " T lwip_init" in syms:
            # the lwIP port carries its TCP/IP stack: profiles/small.h gives
            # it 80 KiB more (lwIP's heap, pools and interface, port/lwip/plan.h)
            target += 80 * 1024
        assert plan <= target, f"small plan {plan} B above {target} B"


@pytest.mark.parametrize("binary", binaries())
def test_only_what_the_profile_builds_is_linked(binary):
    lim = lim_of(binary)
    syms = subprocess.run(["nm", binary], capture_output=True, text=True, check=True).stdout
    names = {line.split()[-1] for line in syms.splitlines() if line.strip()}
    fams = set(lim["families"].split(","))

    def has(prefix):
        return any(n.startswith(prefix) for n in names)

    llm = lim["llm"] == "1"
    for prefix in ("curl_", "ares_", "mbedtls_ssl_", "llm_"):
        assert has(prefix) == llm, f"{binary}: {prefix}* linked={has(prefix)}, llm={llm}"
    assert has("fleet_") == ("fleet" in fams)
    assert has("rpg_") == ("rpg" in fams)
    assert has("obs_") == ("observability" in fams)


def test_limits_of_the_binary_under_test():
    lim = limits()
    assert lim["profile"] in PROFILES
    assert lim["CFG_MAX_CONNS"] > 0 and lim["families"]
