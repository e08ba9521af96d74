# SPDX-License-Identifier: BSD-2-Clause
"""The end of a WebSocket session: who closes TCP, and how fast (RFC 6455 7.1.1,
7.1.7; issue 12 item 6).

A raw socket client (every byte built here, not our code) sends an invalid
close frame (the Autobahn cases 7.3.2, 7.5.1, 7.9.x), a framing error, invalid
UTF-8, or a valid close, and never answers anything: the server must send its
close frame and then close the TCP connection itself, within a second, not
wait close_timeout (5 s here) for an answer that will not come. The same runs
straight to the backend, through the frontend's ws:// relay and its wss://
relay (TLS with Python's ssl module).
"""
import os
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import fe_util as fu  # noqa: E402

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
MODULES = [{"module": "echo", "path": "/echo", "ping_interval": 0, "close_timeout": 5},
           {"module": "echo", "path": "/z", "ping_interval": 0, "deflate": True}]
PROMPT = 1.0  # seconds the server may take to close after its close frame


def frame(op, payload=b"", fin=True, mask=True):
    b0 = (0x80 if fin else 0) | op
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        h = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        h = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        h = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return h + payload
    key = os.urandom(4)
    return h + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class Client:
    def __init__(self, kind, stack, path="/echo", extra=""):
        if kind == "direct":
            self.sock = socket.create_connection(("127.0.0.1", stack.backend_port), timeout=5)
        elif kind == "ws":
            self.sock = socket.create_connection(("127.0.0.1", stack.http_port), timeout=5)
        else:
            raw = socket.create_connection(("127.0.0.1", stack.https_port), timeout=5)
            self.sock = fu.tls_context().wrap_socket(raw, server_hostname="localhost")
        self.buf = b""
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n%s\r\n" % (path, KEY, extra)).encode())
        while b"\r\n\r\n" not in self.buf:
            self.more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def more(self):
        d = self.sock.recv(65536)
        if not d:
            raise EOFError
        self.buf += d

    def frame(self):
        while len(self.buf) < 2:
            self.more()
        n, off = self.buf[1] & 0x7F, 2
        if n == 126:
            while len(self.buf) < 4:
                self.more()
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            while len(self.buf) < 10:
                self.more()
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        while len(self.buf) < off + n:
            self.more()
        op, payload = self.buf[0] & 0x0F, self.buf[off:off + n]
        self.rsv1, self.fin = bool(self.buf[0] & 0x40), bool(self.buf[0] & 0x80)
        self.buf = self.buf[off + n:]
        return op, payload

    def message(self):
        """(RSV1 of the first frame, payload as sent) of one data message."""
        op, data = self.frame()
        rsv1 = self.rsv1
        while not self.fin:
            op, more = self.frame()
            data += more
        return rsv1, data

    def close_then_eof(self, codes, why):
        """The server's close frame (its code in codes), then EOF within PROMPT."""
        while True:
            op, payload = self.frame()
            if op == 8:
                break
        t0 = time.monotonic()
        code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
        assert code in codes, "%s: close code %d, want %s" % (why, code, codes)
        self.sock.settimeout(PROMPT + 4)
        try:
            while self.sock.recv(65536):
                pass
        except (ConnectionResetError, ssl.SSLError):
            pass
        except socket.timeout:
            raise AssertionError("%s: the server never closed TCP after its close" % why)
        took = time.monotonic() - t0
        assert took < PROMPT, "%s: TCP closed %.2f s after the close frame" % (why, took)
        self.sock.close()
        return took


# (what the client sends, close codes the server may answer, the case)
BAD = [
    (frame(8, struct.pack("!H", 999)), (1002,), "7.9.x close code 999"),
    (frame(8, struct.pack("!H", 1005)), (1002,), "7.9.x close code 1005"),
    (frame(8, struct.pack("!H", 1016)), (1002,), "7.9.x close code 1016"),
    (frame(8, struct.pack("!H", 2999)), (1002,), "7.9.x close code 2999"),
    (frame(8, b"\x03"), (1002,), "7.3.2 one-byte close payload"),
    (frame(8, struct.pack("!H", 1000) + b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"),
     (1007, 1002), "7.5.1 close reason not UTF-8"),
    (frame(3, b"x"), (1002,), "reserved opcode (framing error)"),
    (frame(1, b"hi", mask=False), (1002,), "unmasked frame (framing error)"),
    (frame(1, b"\xff"), (1007,), "invalid UTF-8 in a text message"),
]


def run(kind, stack):
    for data, codes, why in BAD:
        c = Client(kind, stack)
        c.sock.sendall(frame(1, b"before"))
        assert c.frame() == (1, b"before"), why
        c.sock.sendall(data)
        c.close_then_eof(codes, "%s %s" % (kind, why))
    # A normal close handshake: the reply, then EOF at once.
    c = Client(kind, stack)
    c.sock.sendall(frame(8, struct.pack("!H", 1000) + b"bye"))
    c.close_then_eof((1000,), "%s valid close" % kind)
    # The same after a large echo (the close waits only for that echo).
    c = Client(kind, stack)
    big = os.urandom(1 << 20)
    c.sock.sendall(frame(2, big))
    got = b""
    while len(got) < len(big):
        op, payload = c.frame()
        got += payload
    assert got == big
    c.sock.sendall(frame(8, struct.pack("!H", 1000)))
    c.close_then_eof((1000,), "%s close after a 1 MiB echo" % kind)


def test_direct():
    with harness.Stack(modules=MODULES) as s:
        run("direct", s)


def test_deflate_skips_incompressible():
    """A big echo that does not shrink goes back uncompressed: compressing
    1 MiB of random bytes took 24 ms, and the close behind it waited."""
    with harness.Stack(modules=MODULES) as s:
        c = Client("direct", s, "/z", "Sec-WebSocket-Extensions: permessage-deflate\r\n")
        rnd = os.urandom(1 << 20)
        c.sock.sendall(frame(2, rnd))
        rsv1, got = c.message()
        assert not rsv1 and got == rnd, "random bytes came back compressed"
        c.sock.sendall(frame(2, b"abc" * 100000))
        rsv1, got = c.message()
        assert rsv1 and len(got) < 10000, "text came back uncompressed"
        c.sock.sendall(frame(8, struct.pack("!H", 1000)))
        c.close_then_eof((1000,), "close after an incompressible echo")


def test_ws_relay():
    with fu.stack(frontend=True, modules=MODULES) as s:
        run("ws", s)


def test_wss_relay():
    with fu.stack(frontend=True, modules=MODULES) as s:
        run("wss", s)


if __name__ == "__main__":
    harness.main(globals())
