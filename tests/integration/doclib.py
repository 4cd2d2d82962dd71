"""Helpers for the documents tests: multipart/form-data bodies built by hand
(as curl -F and browsers send them), uploads over Content-Length or chunked
framing, and the documents directory of a running roostd."""

import json
import os
import socket
import time

import roostlib
from roostlib import HOST

FAM = "documents"
BOUNDARY = "----roostBoundary7MA4YWxkTrZu0gW"


def part(name, data, filename=None, ctype=None, filename_star=None):
    """One part: headers, blank line, data (bytes or str)."""
    if isinstance(data, str):
        data = data.encode()
    disp = f'form-data; name="{name}"'
    if filename is not None:
        quoted = filename.replace("\\", "\\\\").replace('"', '\\"')
        disp += f'; filename="{quoted}"'
    if filename_star is not None:
        disp += f"; filename*={filename_star}"
    head = f"Content-Disposition: {disp}\r\n"
    if ctype is not None:
        head += f"Content-Type: {ctype}\r\n"
    return head.encode() + b"\r\n" + data


def form(parts, boundary=BOUNDARY, preamble=b"", epilogue=b""):
    """A whole multipart body from parts (bytes from part())."""
    b = boundary.encode()
    out = preamble
    for p in parts:
        out += b"--" + b + b"\r\n" + p + b"\r\n"
    return out + b"--" + b + b"--\r\n" + epilogue


def upload_body(content=b"# notes\n", filename="notes.md", tags=None, metadata=None,
                ctype=None):
    parts = [part("file", content, filename=filename, ctype=ctype)]
    if tags is not None:
        parts.append(part("tags", tags))
    if metadata is not None:
        parts.append(part("metadata", metadata if isinstance(metadata, str)
                          else json.dumps(metadata)))
    return form(parts)


def mp_headers(boundary=BOUNDARY):
    return {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def upload(srv, content=b"# notes\n", filename="notes.md", tags=None, metadata=None,
           ctype=None, expect=201):
    body = upload_body(content, filename, tags, metadata, ctype)
    r = srv.request(FAM, "POST", "/documents", headers=mp_headers(), body=body)
    assert r.status == expect, r
    return r.json() if expect in (200, 201) else r


def raw_request(port, head, pieces, pause=0.0, timeout=10.0):
    """Send head then each piece of the body (a pause between them) on a
    fresh connection; return the raw answer (until the server closes or
    one whole response arrived)."""
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.sendall(head)
    for p in pieces:
        if pause:
            time.sleep(pause)
        s.sendall(p)
    return read_response(s, timeout)


def read_response(s, timeout=10.0):
    """One HTTP response from socket s as (status, headers dict, body)."""
    s.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    s.close()
    return status, headers, rest[:n]


def chunked(body, size):
    """body in chunked framing, chunks of size bytes."""
    out = b""
    for i in range(0, len(body), size):
        c = body[i:i + size]
        out += b"%x\r\n" % len(c) + c + b"\r\n"
    return out + b"0\r\n\r\n"


def docs_dir(srv):
    return os.path.join(srv.data_dir, "documents")


def files_on_disk(srv):
    d = docs_dir(srv)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def port(srv):
    return srv.ports[FAM]


def listen_port(srv):
    return srv.ports[FAM]


__all__ = ["FAM", "BOUNDARY", "part", "form", "upload_body", "mp_headers", "upload",
           "raw_request", "read_response", "chunked", "docs_dir", "files_on_disk", "port",
           "roostlib"]
