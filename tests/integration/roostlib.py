"""Helpers for the integration tests: run the real roostd, talk HTTP to it.

Everything here uses the Python standard library only. The binary under test
is $ROOSTD (default: build/roostd); ROOST_SANITIZED=1 means it is the
ASan+UBSan build, so every timeout is stretched.
"""

import contextlib
import datetime
import email.utils
import http.client
import json
import os
import re
import resource
import select
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FAMILIES = ("fleet", "rpg", "observability", "documents", "agents")
DEFAULT_PORTS = {"fleet": 3000, "rpg": 4011, "observability": 8765,
                 "documents": 8766, "agents": 8767}
FASTAPI = ("observability", "documents", "agents")

SANITIZED = os.environ.get("ROOST_SANITIZED") == "1"
# The address the clients talk to: 127.0.0.1, or where a port that is not
# the host's stack answers (make check-lwip: lwIP's address on a TAP device
# in a network namespace), with the flags that build needs to start
# (ROOST_ROOSTD_ARGS, added to every roostd started by Server).
HOST = os.environ.get("ROOST_HOST", "127.0.0.1")
ROOSTD_ARGS = tuple(os.environ.get("ROOST_ROOSTD_ARGS", "").split())
# The lwIP port (tests/port/lwip_ns.sh): ROOST_LWIP_TAPS TAP devices
# roost0.., one per roostd running at once, each its own link to HOST; the
# namespace routes a server's ports to its device (ip rule ... dport P).
LWIP_TAPS = int(os.environ.get("ROOST_LWIP_TAPS", "0"))
_LWIP_SERVERS = []
SLOW = 4.0 if SANITIZED else 1.0          # timeout multiplier
READY_TIMEOUT = 10.0 * SLOW
IO_TIMEOUT = 5.0 * SLOW
STOP_TIMEOUT = 10.0 * SLOW

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                   "runtime error:")

# Variables that would change roostd's configuration behind a test's back:
# every ROOST_* key (the Makefile itself sets ROOST_SANITIZED / ROOST_SHIM) and
# the upstream aliases of spec README §2.2.
UPSTREAM_ENV = ("BOTERNITY_WEB_DIR", "PORT", "POLL_INTERVAL", "WS_HEARTBEAT_INTERVAL",
                "WS_BACKPRESSURE_HIGH", "WS_BACKPRESSURE_LOW", "EVENTS_RETENTION_DAYS",
                "TERMINAL_CAPTURE_LINES", "CORS_ORIGINS", "DOCUMENT_SERVER_HOST",
                "DOCUMENT_SERVER_PORT", "DOCUMENT_SERVER_PUBLIC_URL", "AGENT_MANAGER_HOST",
                "AGENT_MANAGER_PORT", "AGENT_ORCHESTRATOR_AGENTS_DIR",
                "AGENT_ORCHESTRATOR_PROJECT_DIR", "ROOST_CONFIG", "LD_PRELOAD")


def raise_nofile():
    """Allow this process (and roostd, which inherits it) many descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    want = min(want, 65536)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def roostd_path():
    path = os.environ.get("ROOSTD") or os.path.join(REPO, "build", "roostd")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise RuntimeError(f"roostd binary not found at {path} (set ROOSTD or run make)")
    return path


_LIMITS = None


def limits():
    """The binary's compile-time limits, read once from `roostd --limits`:
    KEY=VALUE lines (profile, llm, families, CFG_* values). Integers are
    ints; families is a tuple of the families built in."""
    global _LIMITS
    if _LIMITS is None:
        out = subprocess.run([roostd_path(), "--limits"], capture_output=True, text=True,
                             env=clean_env(), timeout=10.0 * SLOW, check=True).stdout
        lim = {}
        for line in out.splitlines():
            key, _, val = line.partition("=")
            lim[key] = int(val) if val.isdigit() else val
        lim["families"] = tuple(f for f in str(lim.get("families", "")).split(",") if f)
        lim["llm"] = bool(lim.get("llm"))
        _LIMITS = lim
    return _LIMITS


def built(fam):
    """Whether family fam ("fleet", ...) or "llm" is built into the binary."""
    lim = limits()
    return lim["llm"] if fam == "llm" else fam in lim["families"]


def built_families():
    return tuple(f for f in FAMILIES if built(f))


def family_or_other(fam):
    """fam when it is built, else the first family that is: for chassis
    tests that need some listener, not that family's API."""
    return fam if built(fam) else built_families()[0]


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ROOST_") and k not in UPSTREAM_ENV}
    if extra:
        env.update(extra)
    return env


def free_ports(n):
    """n distinct ports that were free a moment ago (bind to 0, then release)."""
    socks, ports = [], []
    try:
        while len(ports) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            p = s.getsockname()[1]
            if p not in DEFAULT_PORTS.values():
                ports.append(p)
    finally:
        for s in socks:
            s.close()
    return ports


def read_shim_report(path):
    """The summary of tests/shim/countmalloc.so's report file: allocs and
    frees after the first poll(), allocs before it, whether it armed, and
    the whole text (with the backtraces of any allocation after poll())."""
    with open(path) as f:
        text = f.read()
    m = re.search(r"allocs_after_poll=(\d+) frees_after_poll=(\d+) "
                  r"allocs_before_poll=(\d+) frees_before_poll=(\d+) armed=(\d)", text)
    assert m, f"no summary line in the shim report (did the process exit normally?):\n{text}"
    return {"allocs": int(m.group(1)), "frees": int(m.group(2)),
            "before": int(m.group(3)), "armed": m.group(5) == "1", "text": text}


def readable(sock, timeout=0.0):
    """True if sock has data or EOF pending (poll(2): no FD_SETSIZE limit)."""
    p = select.poll()
    p.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(p.poll(int(timeout * 1000)))


def wait_for(pred, timeout, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(interval)


def port_accepts(port, host=HOST):
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------------------
# The server process
# ---------------------------------------------------------------------------

class Server:
    """One roostd process with its own ports, data dir and log files.

    stdout and stderr go to files (never pipes: a chatty server must not block
    on a full pipe while a test is busy elsewhere).
    """

    def __init__(self, workdir, args=(), env=None, ports=None, data_dir=None,
                 port_flags=True, preload=None, binary=None):
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.binary = binary or roostd_path()
        # Only the families built into the binary: a port flag of another
        # one is refused ("family fleet is not built in this profile").
        fams = built_families()
        self.ports = dict(ports) if ports else dict(zip(fams, free_ports(len(fams))))
        self.data_dir = data_dir or os.path.join(self.workdir, "roost-data")
        self.extra_args = list(args)
        self.port_flags = port_flags
        self.env = clean_env(env)
        if preload:
            self.env["LD_PRELOAD"] = preload
        self.proc = None
        self.runs = 0

    def argv(self):
        argv = [self.binary]
        if self.port_flags:
            argv.append(f"--data_dir={self.data_dir}")
            for fam, port in self.ports.items():
                argv.append(f"--{fam}.port={port}")
        if LWIP_TAPS:
            argv.append(f"--lwip.tap=roost{self.lwip_tap()}")
        return argv + list(ROOSTD_ARGS) + self.extra_args

    def lwip_tap(self):
        """The TAP device no other running roostd holds (lwIP port), with
        this server's ports routed to it."""
        busy = {s.tap for s in _LWIP_SERVERS if s is not self and s.alive()}
        k = getattr(self, "tap", None)
        if k is None or k in busy:
            k = min(set(range(LWIP_TAPS)) - busy)
            ports = self.ports.values() if self.port_flags else DEFAULT_PORTS.values()
            for p in ports:
                while subprocess.run(["ip", "rule", "del", "ipproto", "tcp", "dport", str(p)],
                                     capture_output=True).returncode == 0:
                    pass
                subprocess.run(["ip", "rule", "add", "ipproto", "tcp", "dport", str(p),
                                "table", str(100 + k)], check=True)
            self.tap = k
        if self not in _LWIP_SERVERS:
            _LWIP_SERVERS.append(self)
        return k

    def start(self, wait=True):
        self.runs += 1
        self.out_path = os.path.join(self.workdir, f"stdout.{self.runs}.txt")
        self.err_path = os.path.join(self.workdir, f"stderr.{self.runs}.txt")
        out = open(self.out_path, "wb")
        err = open(self.err_path, "wb")
        try:
            self.proc = subprocess.Popen(self.argv(), cwd=self.workdir, env=self.env,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         preexec_fn=lambda: os.umask(0o022))
        finally:
            out.close()
            err.close()
        if wait:
            self.wait_ready()
        return self

    @property
    def pid(self):
        return self.proc.pid

    def stdout(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def logs(self):
        return f"--- stdout:\n{self.stdout()[-4000:]}\n--- stderr:\n{self.stderr()[-4000:]}"

    def wait_ready(self, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            if "ready" in self.stdout():
                return
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError(f"roostd exited with {rc} before 'ready'\n{self.logs()}")
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"roostd not ready after {timeout:.0f}s\n{self.logs()}")
            time.sleep(0.01)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT, expect_rc=0):
        """Signal, wait, and check the exit code and the sanitizer output."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.record_high_waters()
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"roostd did not exit within {timeout:.0f}s of "
                                     f"{signal.Signals(sig).name}\n{self.logs()}")
        rc = self.proc.returncode
        self.check_sanitizers()
        if expect_rc is not None:
            assert rc == expect_rc, f"roostd exit code {rc}, expected {expect_rc}\n{self.logs()}"
        return rc

    def record_high_waters(self):
        """With $ROOST_HW_LOG set, append this server's /metrics high-water
        marks to that file (how the profiles' sizes were measured)."""
        log = os.environ.get("ROOST_HW_LOG")
        if not log or "fleet" not in self.ports:
            return
        try:
            r = request(self.ports["fleet"], "GET", "/metrics", timeout=2.0)
        except OSError:
            return
        if r.status != 200:
            return
        keep = [ln for ln in r.body.decode("utf-8", "replace").splitlines()
                if not ln.startswith("#") and ("high" in ln or "exhausted" in ln
                                               or "failures" in ln)]
        with open(log, "a") as f:
            f.write(f"== {os.environ.get('PYTEST_CURRENT_TEST', '?')}\n")
            f.write("\n".join(keep) + "\n")

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def check_sanitizers(self):
        err = self.stderr()
        for mark in SANITIZER_MARKS:
            assert mark not in err, f"sanitizer report in roostd stderr:\n{err[-8000:]}"

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def threads(self):
        return len(os.listdir(f"/proc/{self.pid}/task"))

    def api_key(self):
        """The fleet API key roostd wrote on its first start (README §3)."""
        with open(os.path.join(self.data_dir, "api_key")) as f:
            return f.read().strip()

    def key_headers(self, headers=None):
        h = dict(headers or {})
        h["X-API-Key"] = self.api_key()
        return h

    # -- clients --------------------------------------------------------------
    def request(self, fam, method, path, headers=None, body=None, timeout=IO_TIMEOUT):
        return request(self.ports[fam], method, path, headers=headers, body=body,
                       timeout=timeout)

    def raw(self, fam, timeout=IO_TIMEOUT):
        return Raw(self.ports[fam], timeout=timeout)


def run_roostd(args, cwd=None, env=None, timeout=10.0 * SLOW):
    """Run roostd to completion (for --help, --version, --budget, bad flags)."""
    cwd = cwd or tempfile.mkdtemp(prefix="roost-run-")
    p = subprocess.run([roostd_path()] + list(args), cwd=cwd, env=clean_env(env),
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    for mark in SANITIZER_MARKS:
        assert mark not in err, f"sanitizer report:\n{err}"
    return p.returncode, out, err


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

class Resp:
    def __init__(self, status, reason, headers, body, version="HTTP/1.1"):
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value), names as sent
        self.body = body
        self.version = version

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        hs = "".join(f"\n  {k}: {v}" for k, v in self.headers)
        return f"<{self.version} {self.status} {self.reason}{hs}\n  body={self.body[:600]!r}>"


IMF_FIXDATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|"
                         r"Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$")


def check_common(resp, head=False):
    """What every response must carry (RFC 9110/9112 and the issue)."""
    if 100 <= resp.status < 200:
        return
    date = resp.header("Date")
    assert date is not None, f"no Date header: {resp!r}"
    assert IMF_FIXDATE.match(date), f"Date not IMF-fixdate: {date!r}"
    when = email.utils.parsedate_to_datetime(date).timestamp()
    assert abs(when - time.time()) < 5 + 10 * SLOW, f"Date far from now: {date!r}"
    te = resp.header("Transfer-Encoding")
    cl = resp.header_all("Content-Length")
    if resp.status in (204, 304):
        assert not cl or cl == ["0"], f"Content-Length on {resp.status}: {resp!r}"
    elif te is None:
        assert len(cl) == 1, f"expected exactly one Content-Length: {resp!r}"
        if not head:
            assert int(cl[0]) == len(resp.body), f"Content-Length mismatch: {resp!r}"


def request(port, method, path, headers=None, body=None, timeout=IO_TIMEOUT,
            host=HOST):
    """One request on a fresh connection through http.client."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        resp = Resp(r.status, r.reason, r.getheaders(), data,
                    "HTTP/1.1" if r.version == 11 else "HTTP/1.0")
    finally:
        conn.close()
    check_common(resp, head=(method == "HEAD"))
    return resp


class Raw:
    """A raw TCP client: send exact bytes, parse responses by hand."""

    def __init__(self, port, timeout=IO_TIMEOUT, host=HOST):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = b""
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def _fill(self, timeout=None):
        self.sock.settimeout(timeout if timeout is not None else self.timeout)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _need(self, pred, what, timeout=None):
        while not pred():
            try:
                more = not self.eof and self._fill(timeout)
            except socket.timeout:
                raise AssertionError(f"no answer within {timeout or self.timeout:.1f}s "
                                     f"while waiting for {what}; have {self.buf[:300]!r}")
            if not more:
                raise AssertionError(f"connection closed while waiting for {what}; "
                                     f"have {self.buf[:300]!r}")

    def read_response(self, head=False, timeout=None):
        """Parse one response (status line, headers, body per RFC 9112 §6.3)."""
        self._need(lambda: b"\r\n\r\n" in self.buf, "a response head", timeout)
        raw_head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = raw_head.decode("latin-1").split("\r\n")
        m = re.match(r"^(HTTP/1\.[01]) (\d{3}) ?(.*)$", lines[0])
        assert m, f"bad status line {lines[0]!r}"
        headers = []
        for ln in lines[1:]:
            assert ":" in ln and not ln[:1].isspace(), f"bad response header line {ln!r}"
            k, v = ln.split(":", 1)
            headers.append((k, v.strip()))
        resp = Resp(int(m.group(2)), m.group(3), headers, b"", m.group(1))
        st = resp.status
        if head or 100 <= st < 200 or st in (204, 304):
            check_common(resp, head=head)
            return resp
        te = resp.header("Transfer-Encoding")
        if te is not None:
            assert te.lower() == "chunked", f"unexpected Transfer-Encoding {te!r}"
            body = b""
            while True:
                self._need(lambda: b"\r\n" in self.buf, "a chunk size", timeout)
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    self._need(lambda: b"\r\n\r\n" in b"\r\n" + self.buf, "trailers", timeout)
                    _, self.buf = (b"\r\n" + self.buf).split(b"\r\n\r\n", 1)
                    break
                self._need(lambda: len(self.buf) >= size + 2, "chunk data", timeout)
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
            resp.body = body
        elif resp.header("Content-Length") is not None:
            n = int(resp.header("Content-Length"))
            self._need(lambda: len(self.buf) >= n, f"{n} body bytes", timeout)
            resp.body, self.buf = self.buf[:n], self.buf[n:]
        else:
            while self._fill(timeout):
                pass
            resp.body, self.buf = self.buf, b""
        check_common(resp)
        return resp

    def closed_by_peer(self, timeout=None):
        """True if the server closes the connection (EOF/RST) within timeout
        and sends nothing more first."""
        if self.eof:
            return not self.buf
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while time.monotonic() < deadline:
            try:
                got = self._fill(max(0.01, deadline - time.monotonic()))
            except socket.timeout:
                return False
            if not got:
                return not self.buf
        return False

    def exchange(self, data, head=False):
        self.send(data)
        return self.read_response(head=head)


def get_req(path="/health", host="x", extra="", method="GET", version="HTTP/1.1"):
    return f"{method} {path} {version}\r\nHost: {host}\r\n{extra}\r\n".encode("latin-1")


# ---------------------------------------------------------------------------
# Family shapes (spec README §1, §6.2; fleet.md §1.2; rpg.md §1.1)
# ---------------------------------------------------------------------------

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
FLEET_META_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
RPG_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def assert_error_shape(fam, resp, status, code=None, message=None, detail=None):
    """resp is an error `status` in fam's own shape; optionally pin the code
    (fleet/rpg), the message (fleet/rpg) or the detail (FastAPI families)."""
    assert resp.status == status, f"{fam}: expected {status}, got {resp!r}"
    ctype = resp.header("Content-Type")
    assert ctype == "application/json", f"{fam}: error Content-Type {ctype!r}: {resp!r}"
    try:
        j = resp.json()
    except ValueError:
        raise AssertionError(f"{fam}: error body is not JSON: {resp!r}")
    if fam == "fleet":
        assert isinstance(j, dict) and j.get("data", 0) is None, f"fleet envelope: {j}"
        meta = j.get("meta")
        assert isinstance(meta, dict), f"fleet envelope without meta: {j}"
        assert UUID7.match(str(meta.get("request_id"))), f"fleet meta.request_id: {meta}"
        assert FLEET_META_TS.match(str(meta.get("timestamp"))), f"fleet meta.timestamp: {meta}"
        assert isinstance(meta.get("response_time_ms"), int), f"fleet meta: {meta}"
        errs = j.get("errors")
        assert isinstance(errs, list) and len(errs) >= 1, f"fleet errors: {j}"
        assert isinstance(errs[0].get("code"), str) and isinstance(errs[0].get("message"), str)
        if code is not None:
            assert errs[0]["code"] == code, f"fleet code {errs[0]['code']!r} != {code!r}"
        if message is not None:
            assert errs[0]["message"] == message, f"fleet message {errs[0]['message']!r}"
    elif fam == "rpg":
        assert j.get("success") is False and j.get("ok") is False, f"rpg envelope: {j}"
        err = j.get("error")
        assert isinstance(err, dict), f"rpg error: {j}"
        assert isinstance(err.get("code"), str) and isinstance(err.get("message"), str), j
        assert j.get("message") == err["message"], f"rpg top-level message: {j}"
        if code is not None:
            assert err["code"] == code, f"rpg code {err['code']!r} != {code!r}"
        if message is not None:
            assert err["message"] == message, f"rpg message {err['message']!r} != {message!r}"
    else:
        assert isinstance(j, dict) and "detail" in j, f"{fam}: FastAPI error: {j}"
        if detail is not None:
            assert j["detail"] == detail, f"{fam}: detail {j['detail']!r} != {detail!r}"
    return j


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


@contextlib.contextmanager
def db(server):
    """roost.db, opened by the test. roostd keeps the file locked while it
    runs (store.h: locking_mode=EXCLUSIVE, no other process may read or
    write it), so a running server is stopped for the access (SIGTERM: the
    WAL is checkpointed, the lock released) and started again after it, on
    the same ports and data directory."""
    running = server.alive()
    if running:
        server.stop()
    con = sqlite3.connect(os.path.join(server.data_dir, "roost.db"), timeout=10.0)
    try:
        with con:
            yield con
    finally:
        con.close()
        if running:
            server.start()
