"""The skip policy of conftest.py: a skip whose reason is not on SKIP_ALLOWED
fails the run; an allowed one does not. Runs pytest on throw-away test files
with this directory's conftest.py loaded as a plugin."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run_pytest(tmp_path, body):
    (tmp_path / "test_probe.py").write_text(body)
    env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "conftest", "--rootdir", str(tmp_path), str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


def test_an_unlisted_skip_fails_the_run(tmp_path):
    r = run_pytest(tmp_path, "import pytest\n\n"
                             "def test_a():\n    pytest.skip('some tool is missing')\n\n"
                             "def test_b():\n    pass\n")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "not on the allow-list" in r.stdout and "some tool is missing" in r.stdout


def test_an_allowed_skip_passes(tmp_path):
    r = run_pytest(tmp_path, "import pytest\n\n"
                             "def test_a():\n    pytest.skip('ASan replaces malloc; the shim "
                             "measures the plain build')\n\n"
                             "def test_b():\n    pass\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed, 1 skipped" in r.stdout
