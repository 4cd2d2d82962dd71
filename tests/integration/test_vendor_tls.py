"""The vendored HTTPS stack (libcurl + c-ares + mbedtls, vendor/) against the
fake provider over TLS, through tests/tools/llm_fetch.c.

- a streamed reply arrives over TLS 1.2 with an ECDHE suite, the test CA
  parsed once at init and handed to each connection by
  CURLOPT_SSL_CTX_FUNCTION;
- without the CA, verification fails (CURLE_PEER_FAILED_VERIFICATION);
- CURLOPT_CAINFO_BLOB, for comparison, parses the bundle again for every
  connection;
- after out_mem_init (the tool's poll(NULL, 0, 0)) nothing touches the C
  heap: the LD_PRELOAD malloc shim counts zero allocations and frees;
- the process never has more than one thread.
"""

import os
import subprocess
import time

import pytest

import fakellm
from roostlib import SANITIZED, IO_TIMEOUT, REPO

# What this file needs built into roostd (conftest.py deselects it, and
# lists it, for a profile without them).
NEEDS = {"llm"}

DEBIAN_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
ANTHROPIC = ["-H", "anthropic-version: 2023-06-01", "-H", "x-api-key: test-key"]


@pytest.fixture(scope="module")
def llm_fetch():
    """The tool built by the Makefile ($ROOST_LLM_FETCH, else build/tools/)."""
    path = os.environ.get("ROOST_LLM_FETCH") or os.path.join(REPO, "build", "tools", "llm_fetch")
    if not os.path.isfile(path):
        pytest.fail(f"{path} missing: `make build/tools/llm_fetch` (make integration builds it)")
    return path


@pytest.fixture
def fake():
    f = fakellm.FakeLLM(tls=True).start()
    yield f
    f.stop()


def run(tool, args, env=None, timeout=60):
    p = subprocess.run([tool] + args, capture_output=True, timeout=timeout,
                       env=dict(os.environ, **(env or {})))
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def calls(err):
    """The per-call lines of the tool's stderr as dicts."""
    out = []
    for line in err.splitlines():
        if line.startswith("llm_fetch: call="):
            out.append(dict(kv.split("=", 1) for kv in line[len("llm_fetch: "):].split()
                            if "=" in kv))
    return out


def tls_allocs(err):
    """tls.allocs after each call."""
    return [int(line.rsplit("tls.allocs=", 1)[1]) for line in err.splitlines()
            if line.startswith("llm_fetch: after call=")]


def test_streamed_reply_over_tls12(llm_fetch, fake):
    fake.script(fakellm.text("Hel", "lo", " over TLS"))
    rc, out, err = run(llm_fetch, ["--ca", fake.ca_file] + ANTHROPIC + [fake.base_url + "/v1/messages"])
    assert rc == 0, err
    c = calls(err)
    assert len(c) == 1 and c[0]["http"] == "200" and c[0]["curl"] == "0", err
    assert c[0]["tls"] == "TLSv1.2", err
    assert c[0]["suite"].startswith("TLS-ECDHE-"), err
    assert "event: message_start" in out and "event: message_stop" in out, out
    text = "".join(line for line in out.splitlines() if '"text_delta"' in line)
    for piece in ("Hel", "lo", " over TLS"):
        assert piece in text, out
    req = fake.wait_requests(1)[0]
    assert req.kind == "anthropic" and req.stream and req.status == 200
    assert not fake.tls_errors, fake.tls_errors


def test_verification_fails_without_the_ca(llm_fetch, fake):
    fake.script(fakellm.text("never"))
    rc, out, err = run(llm_fetch, ANTHROPIC + [fake.base_url + "/v1/messages"])
    assert rc == 2, err
    c = calls(err)
    assert c and c[0]["curl"] == "60", err     # CURLE_PEER_FAILED_VERIFICATION
    assert "never" not in out
    assert not fake.requests, "a request was sent over an unverified connection"


def test_verification_fails_with_another_ca(llm_fetch, fake, tmp_path):
    if not os.path.isfile(DEBIAN_BUNDLE):
        pytest.skip(f"{DEBIAN_BUNDLE} missing (Debian package ca-certificates)")
    rc, _, err = run(llm_fetch, ["--ca", DEBIAN_BUNDLE] + ANTHROPIC +
                     [fake.base_url + "/v1/messages"])
    assert rc == 2 and calls(err)[0]["curl"] == "60", err
    assert "CA bundle parsed once" in err, err


def test_bundle_parsed_once_not_per_connection(llm_fetch, fake, tmp_path):
    """Debian's bundle plus the test CA: with CURLOPT_SSL_CTX_FUNCTION the
    TLS heap does the same work for every connection (the handshake only);
    with CURLOPT_CAINFO_BLOB every connection parses ~150 certificates again."""
    if not os.path.isfile(DEBIAN_BUNDLE):
        pytest.skip(f"{DEBIAN_BUNDLE} missing (Debian package ca-certificates)")
    bundle = tmp_path / "bundle.pem"
    with open(DEBIAN_BUNDLE, "rb") as a, open(fake.ca_file, "rb") as b:
        bundle.write_bytes(a.read() + b"\n" + b.read())
    fake.script(fakellm.text("x"), times=6)
    url = fake.base_url + "/v1/messages"
    per_call = {}
    for mode in ("--ca", "--ca-blob"):
        rc, _, err = run(llm_fetch, [mode, str(bundle), "--requests", "3"] + ANTHROPIC + [url])
        assert rc == 0, err
        assert [c["tls"] for c in calls(err)] == ["TLSv1.2"] * 3, err
        a = tls_allocs(err)
        per_call[mode] = [a[1] - a[0], a[2] - a[1]]
    ctx, blob = per_call["--ca"], per_call["--ca-blob"]
    # A handshake costs the same whatever the bundle; the blob adds the parse.
    assert min(blob) - max(ctx) > 1000, per_call


@pytest.mark.skipif(SANITIZED, reason="ASan replaces malloc; the shim measures the plain build")
def test_no_libc_heap_after_init(llm_fetch, fake, shim, tmp_path):
    fake.script(fakellm.text("no", " malloc"), times=2)
    report = tmp_path / "shim.txt"
    rc, out, err = run(llm_fetch, ["--ca", fake.ca_file, "--requests", "2"] + ANTHROPIC +
                       [fake.base_url + "/v1/messages"],
                       env={"LD_PRELOAD": shim, "ROOST_SHIM_REPORT": str(report)})
    assert rc == 0, err
    assert [c["http"] for c in calls(err)] == ["200", "200"], err
    text = report.read_text()
    assert "armed pid=" in text, f"the shim never armed:\n{text}"
    summary = [line for line in text.splitlines() if line.startswith("allocs_after_poll=")]
    assert summary, f"no summary in the shim report:\n{text}"
    fields = dict(kv.split("=") for kv in summary[-1].split())
    assert fields["allocs_after_poll"] == "0" and fields["frees_after_poll"] == "0", (
        f"C heap used after out_mem_init:\n{text[:12000]}")
    assert int(fields["allocs_before_poll"]) > 0, "the shim saw nothing at all"


def test_one_thread_while_streaming(llm_fetch, fake):
    fake.script(fakellm.stall(["a", "b", "c"], after=1))
    p = subprocess.Popen([llm_fetch, "--ca", fake.ca_file] + ANTHROPIC +
                         [fake.base_url + "/v1/messages"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        fake.wait_requests(1)
        deadline = time.monotonic() + IO_TIMEOUT
        while fake.requests[0].pieces_sent < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        samples = []
        for _ in range(20):
            samples.append(len(os.listdir(f"/proc/{p.pid}/task")))
            time.sleep(0.01)
        assert set(samples) == {1}, samples
        fake.release()
        out, err = p.communicate(timeout=IO_TIMEOUT * 4)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err.decode(errors="replace")
    assert b'"text":"c"' in out.replace(b" ", b""), out
