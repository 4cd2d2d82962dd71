#!/usr/bin/env python3
"""bench/docs_files.py - documents uploads and downloads beside dd and nginx,
in one run (issue 13's targets; bench/README.md "Documents").

Usage: bench/docs_files.py [path/to/roostd] [--mib 256] [--reps 3]

Measures (median of --reps, the servers' runs interleaved):
- upload MB/s: one --mib MiB file (random bytes) in a multipart body
  (one `file` part, written to disk beforehand) sent with `curl -T BODY -X
  POST` (Content-Length, streamed from the file; `curl -F` itself tops out
  near 200 MB/s here, so it would measure curl) to POST /documents,
  against `dd if=FILE of=DIR/x bs=1M conv=fsync` writing the same bytes
  to the same documents directory (roost also computes the SHA-256 and
  fsyncs, renames and stores the row). Target: roostd/dd >= 0.7.
- VmRSS growth over 4 concurrent --mib MiB uploads: VmHWM of roostd after
  them minus its VmRSS before (a warm-up upload first). Target: < 512 KiB.
- download MB/s: the same document with `curl -o /dev/null` from roostd
  (GET /documents/{id}) and from nginx (nginx-light, sendfile on, the same
  file in its root). Target: roostd/nginx >= 0.8.
The server is pinned to CPU 0 and curl to CPU 1 (taskset). Measures, does
not pass or fail.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import roostlib  # noqa: E402

NGINX = """
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
"""


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith(key + ":"):
                return int(ln.split()[1])
    return 0


BOUNDARY = "roostbench7MA4YWxkTrZu0gW"


def curl_cmd(port, body):
    return ["taskset", "-c", "1", "curl", "-s", "-T", body, "-X", "POST", "-H", "Expect:",
            "-H", f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
            f"http://127.0.0.1:{port}/documents"]


def curl_upload(port, body):
    t0 = time.monotonic()
    out = subprocess.run(curl_cmd(port, body), capture_output=True, check=True).stdout
    dt = time.monotonic() - t0
    return dt, json.loads(out)


def curl_get(url):
    t0 = time.monotonic()
    subprocess.run(["taskset", "-c", "1", "curl", "-s", "-o", "/dev/null", "--fail", url],
                   check=True)
    return time.monotonic() - t0


def dd(src, dst):
    t0 = time.monotonic()
    subprocess.run(["taskset", "-c", "1", "dd", f"if={src}", f"of={dst}", "bs=1M",
                    "conv=fsync", "status=none"], check=True)
    dt = time.monotonic() - t0
    os.unlink(dst)
    return dt


def median(v):
    v = sorted(v)
    return v[len(v) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("roostd", nargs="?", default=os.path.join(HERE, "..", "build", "roostd"))
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    size = a.mib * 1024 * 1024
    work = tempfile.mkdtemp(prefix="roost-docs-bench-", dir=os.path.abspath("."))
    src = os.path.join(work, "payload.bin")
    body = os.path.join(work, "body.mp")
    with open(src, "wb") as f, open(body, "wb") as b:
        b.write(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"payload.bin\"\r\n\r\n".encode())
        left = size
        while left:
            k = min(left, 1 << 20)
            chunk = os.urandom(k)
            f.write(chunk)
            b.write(chunk)
            left -= k
        b.write(f"\r\n--{BOUNDARY}--\r\n".encode())
    port = roostlib.free_ports(1)[0]
    data = os.path.join(work, "data")
    srv = subprocess.Popen(["taskset", "-c", "0", os.path.abspath(a.roostd),
                            f"--data_dir={data}", f"--documents.port={port}",
                            f"--documents.max_upload_bytes={size * 2}",
                            "--fleet.enabled=false", "--rpg.enabled=false",
                            "--observability.enabled=false", "--agents.enabled=false"],
                           cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env=roostlib.clean_env())
    roostlib.wait_for(lambda: roostlib.port_accepts(port), 10, what="roostd")
    docs = os.path.join(data, "documents")
    try:
        up, ddt = [], []
        doc = None
        for _ in range(a.reps):
            dt, doc = curl_upload(port, body)
            up.append(dt)
            ddt.append(dd(src, os.path.join(docs, "dd.bin")))
        mb = size / 1e6
        print(f"upload {a.mib} MiB: roostd {mb / median(up):.0f} MB/s, dd conv=fsync "
              f"{mb / median(ddt):.0f} MB/s, roostd/dd = {median(ddt) / median(up):.2f} "
              f"(target >= 0.7)")

        # RSS over 4 concurrent uploads
        rss0 = status_kib(srv.pid, "VmRSS")
        procs = [subprocess.Popen(curl_cmd(port, body), stdout=subprocess.DEVNULL)
                 for _ in range(4)]
        for p in procs:
            p.wait()
        hwm = status_kib(srv.pid, "VmHWM")
        print(f"4 concurrent {a.mib} MiB uploads: VmRSS before {rss0} KiB, VmHWM after {hwm} "
              f"KiB, growth {hwm - rss0} KiB (target < 512)")

        # downloads beside nginx
        root = os.path.join(work, "www")
        os.makedirs(root)
        shutil.copyfile(os.path.join(docs, doc["id"]), os.path.join(root, "file.bin"))
        os.chmod(os.path.join(root, "file.bin"), 0o644)   # nginx's workers are not root
        os.chmod(root, 0o755)
        os.chmod(work, 0o755)
        nport = roostlib.free_ports(1)[0]
        conf = os.path.join(work, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX.format(work=work, port=nport, root=root))
        ng = subprocess.Popen(["taskset", "-c", "0", shutil.which("nginx"), "-c", conf,
                               "-p", work], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        roostlib.wait_for(lambda: roostlib.port_accepts(nport), 10, what="nginx")
        rd, nd = [], []
        for _ in range(a.reps):
            rd.append(curl_get(f"http://127.0.0.1:{port}/documents/{doc['id']}"))
            nd.append(curl_get(f"http://127.0.0.1:{nport}/file.bin"))
        ng.terminate()
        ng.wait()
        print(f"download {a.mib} MiB: roostd {mb / median(rd):.0f} MB/s, nginx "
              f"{mb / median(nd):.0f} MB/s, roostd/nginx = {median(nd) / median(rd):.2f} "
              f"(target >= 0.8)")
    finally:
        srv.terminate()
        srv.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
