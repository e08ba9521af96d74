# SPDX-License-Identifier: BSD-2-Clause
"""Load and probes for the backend fault-injection tests (fault_be_*.py).

WsPool keeps N raw WebSocket sessions to the backend's echo mount, each
sending a text frame every `every` seconds and reading the echo; HttpLoad
sends a modest request rate on fresh connections. Both run in threads and
count what happened, so a test can inject a fault and then assert on it.
Raw sockets, no client library: the sessions must be cheap (200 of them)."""
import json
import os
import selectors
import socket
import struct
import threading
import time

import harness

UPGRADE = (b"GET /echo HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")
ECHO = {"module": "echo", "path": "/echo"}
STATUS = {"module": "status", "path": "/status"}
TEST_MODS = os.path.join(harness.BUILDDIR, "tests", "modules", ".libs")


def connect(addr, timeout=5.0):
    if isinstance(addr, str):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        c = socket.socket()
    c.settimeout(timeout)
    c.connect(addr)
    return c


def frame(payload, opcode=1):
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked


def ws_open(addr, timeout=5.0, path="/echo"):
    """A session past its 101, or an exception."""
    c = connect(addr, timeout)
    c.sendall(UPGRADE.replace(b"/echo", path.encode(), 1))
    head = b""
    while b"\r\n\r\n" not in head:
        b = c.recv(4096)
        if not b:
            raise ConnectionError("closed before the 101: %r" % head)
        head += b
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError("no 101: %r" % head[:80])
    return c


class WsPool:
    def __init__(self, addr, n, every=0.1):
        self.addr, self.n, self.every = addr, n, every
        self.socks = []
        self.closed = 0           # sessions the server ended
        self.echoes = 0
        self.stop_flag = False
        self.lock = threading.Lock()

    def open(self, n=None):
        for _ in range(n or self.n):
            c = ws_open(self.addr)
            c.setblocking(False)
            with self.lock:
                self.socks.append(c)

    def alive(self):
        with self.lock:
            return len(self.socks)

    def start(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _drop(self, c):
        with self.lock:
            if c in self.socks:
                self.socks.remove(c)
                self.closed += 1
        c.close()

    def _run(self):
        sel = selectors.DefaultSelector()
        known = set()
        next_send = time.monotonic()
        while not self.stop_flag:
            with self.lock:
                socks = list(self.socks)
            for c in socks:
                if c not in known:
                    sel.register(c, selectors.EVENT_READ)
                    known.add(c)
            if time.monotonic() >= next_send:
                next_send += self.every
                for c in socks:
                    try:
                        c.send(frame(b"ping"))
                    except BlockingIOError:
                        pass
                    except OSError:
                        sel.unregister(c)
                        known.discard(c)
                        self._drop(c)
            for key, _ in sel.select(timeout=0.02):
                c = key.fileobj
                try:
                    data = c.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data or data[0] == 0x88:
                    sel.unregister(c)
                    known.discard(c)
                    self._drop(c)
                else:
                    self.echoes += 1
        sel.close()

    def close(self):
        self.stop_flag = True
        if getattr(self, "thread", None):
            self.thread.join(5)
        with self.lock:
            for c in self.socks:
                c.close()
            self.socks = []


class HttpLoad:
    """rate requests/s of GET path on fresh connections; counts and latencies."""

    def __init__(self, addr, path="/status", rate=30):
        self.addr, self.path, self.rate = addr, path, rate
        self.ok = self.failed = 0
        self.results = []         # (t_start, latency or None, status line)
        self.stop_flag = False

    def one(self):
        t0 = time.monotonic()
        try:
            c = connect(self.addr, 3.0)
            c.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                      % self.path.encode())
            data = b""
            while True:
                b = c.recv(65536)
                if not b:
                    break
                data += b
            c.close()
            line = data.split(b"\r\n", 1)[0]
            good = line.startswith(b"HTTP/1.1 200")
        except OSError as e:
            line, good = str(e).encode(), False
        dt = time.monotonic() - t0
        if good:
            self.ok += 1
        else:
            self.failed += 1
        self.results.append((t0, dt if good else None, line))
        return good

    def _run(self):
        while not self.stop_flag:
            t0 = time.monotonic()
            self.one()
            rest = 1.0 / self.rate - (time.monotonic() - t0)
            if rest > 0:
                time.sleep(rest)

    def start(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def close(self):
        self.stop_flag = True
        if getattr(self, "thread", None):
            self.thread.join(5)


def get(addr, path, host="localhost"):
    c = connect(addr)
    c.sendall(b"GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" %
              (path.encode(), host.encode()))
    data = b""
    while True:
        b = c.recv(65536)
        if not b:
            break
        data += b
    c.close()
    return data


def status(addr):
    data = get(addr, "/status")
    return json.loads(data.split(b"\r\n\r\n", 1)[1])


def per_worker(addr):
    """{pid: connections_open} of the live workers (the status request counted
    on the worker that answers it is taken off again)."""
    data = get(addr, "/status")
    head, body = data.split(b"\r\n\r\n", 1)
    st = json.loads(body)
    return {w["pid"]: w["connections_open"] for w in st["workers"] if w["pid"]}


def workers_ready(addr, n):
    """Waits until n workers have published their pid (set up and counting)."""
    def ready():
        try:
            return len(per_worker(addr)) >= n
        except (OSError, ValueError):
            return False
    wait_until(ready, "%d workers ready" % n)


children = harness.children


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until(pred, what, timeout=10.0, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out (%ss) waiting for %s" % (timeout, what))
