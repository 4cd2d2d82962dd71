"""What the fault suites share: a debug roostd with the /_fault channel
(test_faults.py says how faults are armed) and calls to arm and disarm."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import roostlib                                   # noqa: E402
from test_faults import debug_roostd              # noqa: E402


class Ctl:
    def __init__(self, workdir, args=()):
        self.srv = roostlib.Server(workdir, args=["--diag.faults=true", *args],
                                   binary=debug_roostd())
        self.srv.start()

    def fault(self, method, body=None):
        data = None if body is None else json.dumps(body).encode()
        h = {"Content-Type": "application/json"} if data is not None else {}
        r = self.srv.request("documents", method, "/_fault", headers=h, body=data)
        assert r.status == 200, r
        return r

    def arm(self, kind, op, nth, after=False, err=""):
        self.fault("POST", {"kind": kind, "op": op, "nth": nth, "after": after, "err": err})

    def disarm(self):
        j = self.fault("DELETE").json()
        return j["alloc_fired"] + j["os_fired"]

    def post(self, body):
        """A hook event to observability, acknowledged."""
        r = self.srv.request("observability", "POST", "/events",
                             body=json.dumps(body).encode(),
                             headers={"Content-Type": "application/json"})
        assert r.status == 200 and r.json() == {"ok": True}, r
