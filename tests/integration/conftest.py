"""Fixtures for the integration tests (see roostlib.py for the helpers)."""

import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import roostlib  # noqa: E402

roostlib.raise_nofile()


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
