"""documents uploads under injected disk faults (debug build, /_fault; see
test_faults.py):

  - the disk fills up (every write fails with ENOSPC from the first write
    of the upload on): the upload is answered 507 in the family's shape,
    nothing of it is left in the documents directory and no row is added;
    once space returns the next upload works;
  - EIO on every write, fsyncs that fail, renames that fail (ENOSPC):
    5xx, nothing left, nothing stored (each fault lasts until disarmed, as
    a failing disk does: the first call of an operation after arming may
    be another module's, a log line or the database);
  - the store's insert fails after the rename (every write of the
    database fails): 5xx and the renamed file is removed again.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import roostlib                                    # noqa: E402
from doclib import FAM, files_on_disk, mp_headers, upload, upload_body   # noqa: E402
from faultlib import Ctl                            # noqa: E402


@pytest.fixture(scope="module")
def ctl(tmp_path_factory):
    c = Ctl(tmp_path_factory.mktemp("docs-faults"))
    yield c
    c.srv.stop()


def count(ctl):
    r = ctl.srv.request(FAM, "GET", "/documents?limit=1000")
    assert r.status == 200, r
    return len(r.json())


def post(ctl, size):
    body = upload_body(b"q" * size, "f.bin", tags="t")
    return ctl.srv.request(FAM, "POST", "/documents", headers=mp_headers(), body=body)


@pytest.mark.parametrize("op,err,after,status", [
    ("write", "ENOSPC", True, 507),
    ("write", "EIO", True, 500),
    ("fsync", "EIO", True, 500),
    ("rename", "ENOSPC", True, 507),
])
def test_disk_faults_leave_nothing(ctl, op, err, after, status):
    upload(ctl.srv, b"before", "before.txt")
    files = files_on_disk(ctl.srv)
    n = count(ctl)
    ctl.arm("os", op, 1, after=after, err=err)
    r = post(ctl, 200000)
    fired = ctl.disarm()
    assert fired >= 1
    assert r.status == status, r
    assert isinstance(r.json()["detail"], str)
    assert files_on_disk(ctl.srv) == files
    assert count(ctl) == n
    d = upload(ctl.srv, b"after " * 1000, "after.txt")
    assert ctl.srv.request(FAM, "GET", f"/documents/{d['id']}").body == b"after " * 1000


def test_store_failure_after_rename_removes_the_file(ctl):
    files = files_on_disk(ctl.srv)
    n = count(ctl)
    # the upload's own writes (temporary file) pass; the database's fail
    small = upload_body(b"w", "w.bin")
    ctl.arm("os", "write", 2, after=True, err="EIO")
    r = ctl.srv.request(FAM, "POST", "/documents", headers=mp_headers(), body=small)
    ctl.disarm()
    assert r.status >= 500, r
    assert files_on_disk(ctl.srv) == files
    assert count(ctl) == n
    upload(ctl.srv, b"fine", "fine.txt")
