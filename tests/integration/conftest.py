"""Fixtures for the integration tests (see roostlib.py for the helpers)."""

import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import roostlib  # noqa: E402

roostlib.raise_nofile()


# ---- profiles: what the binary under test has built in ---------------------
#
# A test needs the families it talks to (and "llm" for the outbound stack).
# It says so with a module-level NEEDS = {...}, a @pytest.mark.needs(...)
# marker, or a parameter fam=<family>. Under a profile without them
# (make PROFILE=small builds neither fleet nor rpg nor the LLM stack) the
# test is deselected, never skipped, and the run ends with the list of what
# was deselected and why. A test that needs a compile-time limit of at
# least some size (a ring larger than a policy's default cap) says so with
# @pytest.mark.needs_limit(CFG_...=N) and is deselected and listed the same
# way. Nothing else is deselected.

def pytest_configure(config):
    config.addinivalue_line("markers", "needs(*parts): families (or 'llm') the test needs "
                            "built into roostd; deselected under a profile without them")
    config.addinivalue_line("markers", "needs_limit(**minimums): compile-time limits "
                            "(roostd --limits) the test needs at least, e.g. "
                            "CFG_BUS_BYTES=1048577; deselected under a smaller profile")


def _needs(item):
    needs = set(getattr(item.module, "NEEDS", ()))
    for mark in item.iter_markers("needs"):
        needs.update(mark.args)
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("fam") in roostlib.FAMILIES:
        needs.add(callspec.params["fam"])
    return needs


def _limits_missing(item):
    lim = roostlib.limits()
    return sorted(f"{k} >= {v}" for mark in item.iter_markers("needs_limit")
                  for k, v in mark.kwargs.items() if lim[k] < v)


_DESELECTED = {}

# ---- the lwIP port (make check-lwip): what it cannot pass, and why ---------
#
# Under tests/port/lwip_ns.sh (ROOST_LWIP_TAPS set) these are deselected and
# listed with their reason like the profile's; every other test runs
# against lwIP's address over a TAP device.
_LWIP_CLI = ("`roostd hook` runs instead of the server and starts no lwIP stack: "
             "the port's TCP client answers unsupported")
_LWIP_BUFFERS = ("a slow /ws reader: Linux's socket buffers (hundreds of KiB) absorb "
                 "what lwIP's 2.9 KiB send buffer and the 5.8 KiB window do not, so "
                 "roost's ring overflows and the reader is closed 1013 sooner")
_LWIP_OWN_STACK = ("each roostd has a TAP link and a TCP/IP stack of its own: another "
                   "process's port is not taken in it")
LWIP_DESELECT = {
    "test_hooks_install.py::test_hook_posts_the_body_with_the_script_fields": _LWIP_CLI,
    "test_hooks_install.py::test_hook_bodies_of_other_shapes": _LWIP_CLI,
    "test_hooks_install.py::test_hook_when_roost_is_down": _LWIP_CLI,
    "test_hooks_install.py::test_hook_when_roost_never_answers": _LWIP_CLI,
    "test_startup.py::test_port_in_use_fails_clearly": _LWIP_OWN_STACK,
    "test_check_config.py::test_never_binds_nor_makes_the_data_dir": _LWIP_OWN_STACK,
    "test_startup.py::test_host_flag_binds_that_address":
        "a board has one address: every listener binds it, whatever F.host says",
    "test_startup.py::test_ipv6_loopback_host": "lwIP is built without IPv6",
    "test_startup.py::test_no_arguments_defaults":
        "the lwIP port needs --lwip.tap to serve",
    "test_limits.py::test_full_pool_of_idle_connections_is_reclaimed":
        "58 connections at once: lwIP has 16 TCP blocks (a SYN that finds none "
        "is dropped and the client retries after seconds)",
    "test_obs_ws.py::test_many_events_to_slow_reader": _LWIP_BUFFERS,
    "test_ws_backpressure.py::test_overtaken_client_closed_1013": _LWIP_BUFFERS,
    "test_no_heap.py::test_no_heap_after_first_poll": _LWIP_BUFFERS + " (its /ws part; "
        "tests/port/test_lwip.py runs the rest of its workload through lwIP)",
}


def _lwip_reason(item):
    if not roostlib.LWIP_TAPS:
        return None
    base = item.nodeid.split("/")[-1]
    return LWIP_DESELECT.get(base) or LWIP_DESELECT.get(base.split("[")[0])


def pytest_collection_modifyitems(config, items):
    keep, drop = [], []
    try:
        lim = roostlib.limits()
    except (RuntimeError, OSError, subprocess.SubprocessError):
        return      # no binary: the roostd fixture fails each test with the reason
    for item in items:
        missing = sorted(n for n in _needs(item) if not roostlib.built(n))
        missing += _limits_missing(item)
        lwip = _lwip_reason(item)
        if lwip:
            missing.append(f"not the lwIP port: {lwip}")
        if missing:
            drop.append(item)
            key = (item.module.__name__, ", ".join(missing))
            _DESELECTED[key] = _DESELECTED.get(key, 0) + 1
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    config._roost_profile = lim.get("profile")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _UNALLOWED_SKIPS:
        tr = terminalreporter
        tr.write_line("FAILED: skipped tests not on the allow-list (conftest.py "
                      "SKIP_ALLOWED); install what they need or fix them:", red=True)
        for nodeid, reason in _UNALLOWED_SKIPS:
            tr.write_line(f"  {nodeid}: {reason}", red=True)
    if _DESELECTED:
        tr = terminalreporter
        tr.write_line("deselected: not built, or a limit too small, in profile "
                      f"{getattr(config, '_roost_profile', '?')}:")
        for (mod, missing), n in sorted(_DESELECTED.items()):
            tr.write_line(f"  {mod}: {n} test(s) need {missing}")


# ---- skips: only the written-down ones -----------------------------------
#
# A test that did not run must not pass unnoticed. A skip is allowed only
# when its reason starts with one of these (each with why it is fine); any
# other skip fails the run, listed at the end.
SKIP_ALLOWED = {
    "ASan replaces malloc; the shim measures the plain build":
        "the malloc-counting LD_PRELOAD shim cannot see allocations under ASan, "
        "which interposes malloc itself; the plain run (make integration) runs them",
}

_UNALLOWED_SKIPS = []


def _skip_reason(report):
    lr = report.longrepr
    if isinstance(lr, tuple) and len(lr) == 3:
        return str(lr[2]).removeprefix("Skipped: ")
    return str(lr)


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = _skip_reason(report)
        if not any(reason.startswith(ok) for ok in SKIP_ALLOWED):
            _UNALLOWED_SKIPS.append((report.nodeid, reason))


def pytest_sessionfinish(session, exitstatus):
    if _UNALLOWED_SKIPS and session.exitstatus == 0:
        session.exitstatus = 1


@pytest.fixture(scope="session")
def shim(tmp_path_factory):
    """The malloc-counting LD_PRELOAD shim (tests/shim/countmalloc.c): the one
    the Makefile built ($ROOST_SHIM), else built here."""
    path = os.environ.get("ROOST_SHIM")
    if path and os.path.isfile(path):
        return path
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.fail("no C compiler to build the shim")
    out = str(tmp_path_factory.mktemp("shim") / "countmalloc.so")
    subprocess.run([cc, "-O2", "-g", "-fPIC", "-shared", "-o", out,
                    os.path.join(roostlib.REPO, "tests", "shim", "countmalloc.c"), "-ldl"], check=True)
    return out


@pytest.fixture(scope="session")
def roostd():
    """Path of the binary under test; a missing binary is a failure, not a skip."""
    try:
        return roostlib.roostd_path()
    except RuntimeError as e:
        pytest.fail(str(e))


def _start(tmp_path_factory, name, **kw):
    srv = roostlib.Server(tmp_path_factory.mktemp(name), **kw)
    srv.start()
    return srv


@pytest.fixture(scope="module")
def server(roostd, tmp_path_factory):
    """A roostd shared by the tests of one module: all five families on free
    ports, data in a fresh directory, stopped with SIGTERM (exit 0 and no
    sanitizer report required) when the module is done."""
    srv = _start(tmp_path_factory, "srv")
    yield srv
    srv.stop()


@pytest.fixture
def fresh(roostd, tmp_path):
    """Factory for servers owned by one test; each is stopped (and checked) at
    the end unless the test already stopped it."""
    made = []

    def make(start=True, **kw):
        srv = roostlib.Server(tmp_path / f"s{len(made)}", **kw)
        made.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    for srv in made:
        if srv.alive():
            srv.stop()


@pytest.fixture(autouse=True)
def _server_still_running(request):
    """After each test that used the shared server: it must still be running
    (a crash is reported on the test that caused it, with the logs)."""
    yield
    if "server" in request.fixturenames:
        srv = request.getfixturevalue("server")
        if not srv.alive():
            pytest.fail(f"roostd died (exit {srv.proc.returncode}) during this test\n"
                        f"{srv.logs()}")
