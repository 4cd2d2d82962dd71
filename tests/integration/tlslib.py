"""TLS listeners in tests: a throwaway CA and server certificates made with
the openssl command in a test's directory, HTTPS requests and a TLS client
that stops half way through its handshake.

Certificates (ECDSA P-256, for 127.0.0.1 and localhost) are signed by one CA
per PKI; ``Pki.server(name)`` makes another one (a reload's new certificate),
``expired=True`` one whose validity ended yesterday.
"""

import http.client
import os
import shutil
import socket
import ssl
import subprocess

from roostlib import IO_TIMEOUT, built_families


def openssl(*args, cwd):
    exe = shutil.which("openssl")
    if exe is None:
        raise RuntimeError("the openssl command is needed (Debian package: openssl)")
    p = subprocess.run([exe] + list(args), cwd=cwd, capture_output=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n"
                           f"{p.stderr.decode(errors='replace')}")


class Pki:
    def __init__(self, d):
        self.dir = str(d)
        os.makedirs(self.dir, exist_ok=True)
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", "ca.key", cwd=self.dir)
        openssl("req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "7",
                "-subj", "/O=roost tests/CN=roost TLS test CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "ca.pem",
                cwd=self.dir)
        self.ca_file = os.path.join(self.dir, "ca.pem")
        with open(os.path.join(self.dir, "srv.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    "basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")

    def server(self, name, expired=False, rsa=False):
        """(cert path, key path) of a new server certificate."""
        gen = (["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"] if rsa else
               ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
        openssl("genpkey", *gen, "-out", f"{name}.key", cwd=self.dir)
        openssl("req", "-new", "-key", f"{name}.key", "-subj", f"/O=roost tests/CN={name}",
                "-out", f"{name}.csr", cwd=self.dir)
        # -days -1: valid from now until yesterday, i.e. expired
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-set_serial", "0x" + os.urandom(8).hex(), "-days", "-1" if expired else "7",
                "-sha256", "-extfile", "srv.ext", "-out", f"{name}.pem", cwd=self.dir)
        return os.path.join(self.dir, f"{name}.pem"), os.path.join(self.dir, f"{name}.key")

    def context(self):
        ctx = ssl.create_default_context(cafile=self.ca_file)
        return ctx


def tls_args(cert, key, fams=None):
    """The flags that put cert/key on every listener in fams (default: all built)."""
    out = []
    for fam in (fams or built_families()):
        out += [f"--{fam}.tls_cert={cert}", f"--{fam}.tls_key={key}"]
    return out


def https(ctx, port, method, path, headers=None, body=None, timeout=IO_TIMEOUT):
    """One request on a new connection: (status, body bytes)."""
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def metrics(ctx, port, key=None):
    """The /metrics page of the fleet listener at port (TLS when ctx) as a dict."""
    headers = {"X-API-Key": key} if key else {}
    if ctx is not None:
        status, body = https(ctx, port, "GET", "/metrics", headers=headers)
    else:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=IO_TIMEOUT)
        c.request("GET", "/metrics", headers=headers)
        r = c.getresponse()
        status, body = r.status, r.read()
        c.close()
    assert status == 200, (status, body[:200])
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def client_hello():
    """The bytes of a TLS ClientHello (Python's ssl through memory BIOs)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    assert len(hello) > 100, hello
    return hello


def stalled_handshake(port):
    """A socket that sent half a ClientHello and stops there."""
    s = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
    hello = client_hello()
    s.sendall(hello[:len(hello) // 2])
    return s


def closed_by_peer(s, timeout):
    """True when the server closed s (EOF or reset) within timeout seconds."""
    s.settimeout(timeout)
    try:
        while True:
            b = s.recv(4096)
            if not b:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
