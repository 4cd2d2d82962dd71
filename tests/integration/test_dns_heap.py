"""Host names through the hosts file, with no C-library allocation after init.

c-ares looks a name up in the hosts file before DNS (its default lookup
order "fb") on every lookup. Upstream 1.18.1 reads that file with fopen(),
whose FILE comes from the C library's heap, outside the allocator roost gives
c-ares (ares_library_init_mem): one malloc and one free per lookup of any
real host name. vendor/c-ares-hosts.patch reads the file with open()/read()
instead. IP literals and "localhost" never reach the hosts file (curl answers
"localhost" itself), so these tests use names of their own.

roost cannot edit /etc/hosts for a test, so tests/tools/llm_call runs in a
private mount namespace (unshare) where a hosts file of the test's own is
bind-mounted over /etc/hosts; c-ares still opens the path it always opens.
Where no mount namespace can be made, the tests are skipped with the reason.
"""

import json
import os
import re
import shutil
import subprocess

import pytest

import fakellm
from roostlib import REPO, SANITIZED, SLOW

# What this file needs built into roostd (conftest.py deselects it, and
# lists it, for a profile without them).
NEEDS = {"llm"}

BODY = json.dumps({"model": "claude-test", "max_tokens": 100,
                   "messages": [{"role": "user", "content": "hi"}], "stream": True})

# sh -c script run inside the namespace: $1 is our hosts file, the rest is
# the command. LD_PRELOAD is set by `env` right before the tool, so the shim
# measures llm_call only (not unshare, sh or mount).
INNER = 'mount --bind "$1" /etc/hosts && shift && exec env "$@"'


@pytest.fixture(scope="module")
def llm_call():
    path = os.environ.get("ROOST_LLM_CALL") or os.path.join(REPO, "build", "tools", "llm_call")
    assert os.access(path, os.X_OK), f"{path} missing: make {path}"
    return path


@pytest.fixture(scope="module")
def unshare(tmp_path_factory):
    """argv prefix that runs a command in a private mount namespace (as root a
    plain one, else one inside a user namespace); skip when neither works."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("unshare/mount not installed (util-linux, mount)")
    probe = tmp_path_factory.mktemp("probe") / "hosts"
    probe.write_text("127.0.0.1 probe.roost.test\n")
    cands = [["unshare", "--mount"]] if os.geteuid() == 0 else []
    cands.append(["unshare", "--user", "--map-root-user", "--mount"])
    tried = []
    for c in cands:
        r = subprocess.run(c + ["sh", "-c", INNER, "sh", str(probe), "cat", "/etc/hosts"],
                           capture_output=True, text=True, timeout=10)
        if r.returncode == 0 and "probe.roost.test" in r.stdout:
            return c
        tried.append(f"{' '.join(c)}: rc={r.returncode} {r.stderr.strip()}")
    pytest.skip("cannot bind-mount a hosts file in a mount namespace: " + "; ".join(tried))


@pytest.fixture
def plain():
    f = fakellm.FakeLLM().start()
    yield f
    f.stop()


def run_with_hosts(unshare, tool, hosts_text, url, tmp_path, args=(), env=None):
    """llm_call URL BODY in a namespace whose /etc/hosts is hosts_text."""
    hosts = tmp_path / "hosts"
    hosts.write_text(hosts_text)
    extra = [f"{k}={v}" for k, v in (env or {}).items()]
    argv = unshare + ["sh", "-c", INNER, "sh", str(hosts)] + extra + [tool] + list(args) + [url, BODY]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30 * SLOW)
    ends = [line for line in r.stdout.splitlines() if line.startswith("end ")]
    sts = [line[len("end st="):line.index(" http=")] for line in ends]
    return r, sts


def shim_summary(report):
    text = report.read_text()
    m = re.search(r"allocs_after_poll=(\d+) frees_after_poll=(\d+)", text)
    assert m, f"no summary line in the shim report (did llm_call exit normally?):\n{text}"
    if len(text) > 8000:                        # the first traces and the summary
        text = text[:7000] + "\n...\n" + text[-600:]
    return int(m.group(1)), int(m.group(2)), text


HOSTS = """# roost test hosts file
127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback

10.255.0.1 elsewhere.roost.test
127.0.0.1 provider.roost.test provider   # the fake provider
"""


@pytest.mark.skipif(SANITIZED, reason="ASan replaces malloc; the shim measures the plain build")
@pytest.mark.parametrize("name,aliases", [
    ("provider.roost.test", None),
    # HOSTALIASES (a name without a dot): c-ares reads that file per lookup too
    ("prov", "prov provider.roost.test\n"),
], ids=["hosts", "hostaliases"])
def test_hosts_file_name_no_libc_heap_after_init(llm_call, unshare, plain, shim, tmp_path,
                                                 name, aliases):
    """Two calls to a name the hosts file lists, and no C-library allocation
    after init (before vendor/c-ares-hosts.patch: malloc(472) for the FILE,
    malloc(4096) for its buffer, two frees, per file read)."""
    plain.script(fakellm.text("by ", "name"), times=2)
    report = tmp_path / "shim.txt"
    env = {"LD_PRELOAD": shim, "ROOST_SHIM_REPORT": str(report)}
    if aliases is not None:
        (tmp_path / "aliases").write_text(aliases)
        env["HOSTALIASES"] = str(tmp_path / "aliases")
    url = f"http://{name}:{plain.port}/v1/messages"
    r, sts = run_with_hosts(unshare, llm_call, HOSTS, url, tmp_path, ["--calls", "2"], env=env)
    assert sts == ["ok", "ok"], r.stdout + r.stderr
    allocs, frees, text = shim_summary(report)
    assert (allocs, frees) == (0, 0), text


def filler(n):
    return "".join(f"10.77.{i // 250}.{i % 250 + 1} filler-{i}.roost.test f{i}\n" for i in range(n))


LONG_ALIASES = " ".join(f"alias-{i}.roost.test" for i in range(300))   # about 6 KiB


@pytest.mark.parametrize("name,hosts", [
    # an alias, case-insensitively, after a comment-only line and blank lines
    ("Provider", HOSTS),
    # the canonical name on a CRLF line
    ("crlf.roost.test", "10.255.0.2 other.roost.test\r\n127.0.0.1 crlf.roost.test\r\n"),
    # the last line has no newline
    ("last.roost.test", HOSTS + "127.0.0.1 last.roost.test"),
    # far into a large file (many read() chunks)
    ("deep.roost.test", filler(2000) + "127.0.0.1 deep.roost.test\n" + filler(10)),
    # the last alias of a line longer than any buffer (the line buffer grows)
    ("alias-299.roost.test", filler(3) + "127.0.0.1 " + LONG_ALIASES + "\n"),
    # whitespace and tabs around the fields, a trailing comment
    ("spaced.roost.test", "  \t127.0.0.1 \t spaced.roost.test\t  # comment\n"),
], ids=["alias-case", "crlf", "no-final-newline", "large-file", "long-line", "whitespace"])
def test_hosts_file_forms_resolve(llm_call, unshare, plain, tmp_path, name, hosts):
    """The hosts file resolves as it always has: what c-ares' parser accepts
    is unchanged, only how the bytes are read."""
    plain.script(fakellm.text("ok"))
    r, sts = run_with_hosts(unshare, llm_call, hosts,
                            f"http://{name}:{plain.port}/v1/messages", tmp_path)
    assert sts == ["ok"], r.stdout + r.stderr
    assert len(plain.requests) == 1


@pytest.mark.skipif(SANITIZED, reason="ASan replaces malloc; the shim measures the plain build")
def test_name_missing_from_hosts_file_goes_to_dns(llm_call, unshare, plain, shim, tmp_path):
    """A name the hosts file does not list (only as part of other names, in a
    comment, in the address field) is not taken from it: the lookup goes on
    to DNS, and neither step touches the C library's heap."""
    hosts = ("127.0.0.1 notmissing.roost.invalid  # missing.roost.invalid\n"
             "127.0.0.1 xmissing.roost.invalid missing.roost.invalidx\n"
             "missing.roost.invalid 127.0.0.1\n")
    report = tmp_path / "shim.txt"
    # .invalid (RFC 6761): DNS answers NXDOMAIN, or nothing at all offline;
    # either way no address, and the call ends with a resolve error.
    r, sts = run_with_hosts(unshare, llm_call, hosts,
                            f"http://missing.roost.invalid:{plain.port}/v1/messages",
                            tmp_path, ["--timeout-ms", str(int(3000 * SLOW))],
                            env={"LD_PRELOAD": shim, "ROOST_SHIM_REPORT": str(report)})
    assert len(sts) == 1 and sts[0] != "ok", r.stdout + r.stderr
    assert plain.requests == []
    allocs, frees, text = shim_summary(report)
    assert (allocs, frees) == (0, 0), text
