# SPDX-License-Identifier: BSD-2-Clause
"""Helpers shared by the frontend integration tests (fe_*.py)."""
import os
import re
import socket
import ssl
import subprocess
import time

import harness


# Every test page comes from the hello module: 200 with a fixed text.
MODULES = [{"module": "hello", "path": "/"}]


def stack(**kw):
    kw.setdefault("modules", MODULES)
    return harness.Stack(**kw)


def cafile(name="localhost"):
    return os.path.join(harness.CERTS, name + ".crt")


def https(s, path="/", host="localhost", addr="127.0.0.1", check=True, extra=()):
    """curl over TLS to the frontend, with host resolved to addr and the
    vhost's own certificate as the CA."""
    port = s.https_port
    url = "https://%s:%d%s" % (host, port, path)
    a = "[%s]" % addr if ":" in addr else addr
    return harness.curl("--resolve", "%s:%d:%s" % (host, port, a), "--cacert", cafile(host),
                        "-w", "\n%{http_code}", *extra, url, check=check)


def http(s, path="/", addr="127.0.0.1", check=True, extra=()):
    a = "[%s]" % addr if ":" in addr else addr
    return harness.curl("-w", "\n%{http_code}", *extra,
                        "http://%s:%d%s" % (a, s.http_port, path), check=check)


def status(r):
    """The status code curl printed last (-w)."""
    return r.stdout.rsplit("\n", 1)[-1].strip()


def s_client(port, servername=None, args=(), data=b"", timeout=10):
    """openssl s_client against 127.0.0.1:port; returns (rc, combined output)."""
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port]
    if servername:
        cmd += ["-servername", servername]
    else:
        cmd += ["-noservername"]
    cmd += list(args)
    r = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout)
    return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")


def subject_cn(out):
    m = re.search(r"^subject=.*?CN ?= ?([^\s,/]+)", out, re.M)
    return m.group(1) if m else None


def wait_log(path, pattern, timeout=harness.TIMEOUT):
    """Waits until a line of the file matches pattern; returns the match."""
    rx = re.compile(pattern, re.M)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = rx.search(harness.read_file(path))
        if m:
            return m
        time.sleep(0.05)
    raise AssertionError("no line matching %r in %s:\n%s" % (
        pattern, path, harness.read_file(path)[-3000:]))


def wait_count(path, pattern, n, timeout=harness.TIMEOUT):
    """Waits until at least n lines of the file match pattern; returns them."""
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while True:
        found = [l for l in harness.read_file(path).splitlines() if rx.search(l)]
        if len(found) >= n or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(found) >= n, "%d of %d lines matching %r in %s:\n%s" % (
        len(found), n, pattern, path, harness.read_file(path)[-3000:])
    return found


def hold(port, family=socket.AF_INET, host="127.0.0.1", data=None):
    """An open TCP connection to the frontend (closed by the caller)."""
    c = socket.socket(family, socket.SOCK_STREAM)
    c.settimeout(5)
    c.connect((host, port))
    if data:
        c.sendall(data)
    return c


def ask(c, req=None):
    """One keep-alive request on c; returns the response head (the body, by
    Content-Length, is read and dropped)."""
    c.sendall(req or REQ)
    got = b""
    while b"\r\n\r\n" not in got:
        b = c.recv(4096)
        if not b:
            return got
        got += b
    head, _, body = got.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    while m and len(body) < int(m.group(1)):
        b = c.recv(4096)
        if not b:
            break
        body += b
    return head


def hold_relay(port, tls=False, host="127.0.0.1"):
    """A keep-alive connection that has had one answer: it holds a relaying
    child. (A client that sends nothing holds no child: it waits in the
    master's waiting room.) Returns (socket, the first response head)."""
    raw = socket.create_connection((host, port), timeout=5)
    c = tls_context().wrap_socket(raw, server_hostname="localhost") if tls else raw
    return c, ask(c)


def client_hello(server_name="localhost"):
    """The bytes of a real TLS ClientHello (from Python's ssl, memory BIOs):
    sent on a raw socket and then nothing, it holds a child in its handshake
    (a client that sent less waits in the master's waiting room)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=server_name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def recv_all(c, timeout=5):
    c.settimeout(timeout)
    out = b""
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            out += b
    except (socket.timeout, ConnectionResetError):
        pass
    return out


def children(master_pid):
    """Pids of the frontend master's children."""
    r = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master_pid)], capture_output=True,
                       text=True)
    return [int(x) for x in r.stdout.split()]


def child_of_client(master_pid, client_port):
    """The child serving the TCP client whose local port is client_port."""
    r = subprocess.run(["ss", "-Htnp", "state", "established"], capture_output=True, text=True)
    kids = set(children(master_pid))
    for line in r.stdout.splitlines():
        if re.search(r":%d\s" % client_port, line + " "):
            for pid in re.findall(r"pid=(\d+)", line):
                if int(pid) in kids:
                    return int(pid)
    return None


def tls_context(name="localhost"):
    ctx = ssl.create_default_context(cafile=cafile(name))
    return ctx


REQ = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
REQ_CLOSE = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
