# SPDX-License-Identifier: BSD-2-Clause
"""WebSocket conformance of the real backend, written from RFC 6455 and RFC 7692.

Raw sockets (this is not our parser: every byte is built here) drive the echo
module through the opening handshake rules, framing, control frames,
fragmentation, UTF-8, close handling, limits, heartbeat, permessage-deflate
negotiation and compression, and the 1001 on shutdown. Each case states the
RFC section it checks.
"""
import base64
import hashlib
import os
import signal
import socket
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
KEY = "dGhlIHNhbXBsZSBub25jZQ=="

MODULES = [
    {"module": "echo", "path": "/echo", "ping_interval": 0},
    {"module": "echo", "path": "/small", "ping_interval": 0, "max_message_size": 1000,
     "close_timeout": 1},
    {"module": "echo", "path": "/strict", "ping_interval": 0,
     "origins": ["http://good.example"], "subprotocols": ["v2.echo", "v1.echo"]},
    {"module": "echo", "path": "/stream", "ping_interval": 0, "streaming": True,
     "max_message_size": 67108864},
    {"module": "chat", "path": "/chatdrop", "ping_interval": 0, "slow_policy": "drop",
     "send_high_watermark": 65536, "send_low_watermark": 16384},
    {"module": "chat", "path": "/chatskip", "ping_interval": 0, "slow_policy": "skip",
     "send_high_watermark": 65536, "send_low_watermark": 16384},
    {"module": "echo", "path": "/greet", "ping_interval": 0, "greeting": "hello there"},
    {"module": "echo", "path": "/beat", "ping_interval": 1, "max_missed_pongs": 2},
    {"module": "echo", "path": "/idle", "ping_interval": 0, "idle_timeout": 1},
    {"module": "echo", "path": "/z", "ping_interval": 0, "deflate": True,
     "deflate_preset": "max", "deflate_threshold": 16, "max_message_size": 1048576},
    {"module": "echo", "path": "/zlow", "ping_interval": 0, "deflate": True,
     "deflate_preset": "low", "deflate_threshold": 16},
    {"module": "echo", "path": "/zbal", "ping_interval": 0, "deflate": True,
     "deflate_threshold": 16},
]

STACK = None


def xor_mask(data, mask):
    if not data:
        return b""
    n = len(data)
    m = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(m, "big")).to_bytes(n, "big")


def frame(op, payload=b"", fin=True, rsv=0, mask=True, length=None):
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    n = len(payload) if length is None else length
    mbit = 0x80 if mask else 0
    if n < 126:
        h = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        h = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        h = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask:
        key = os.urandom(4)
        return h + key + xor_mask(payload, key)
    return h + payload


class WS:
    """One raw client connection."""

    def __init__(self, path="/echo", headers=None, extensions=None, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", STACK.backend_port), timeout=timeout)
        self.buf = bytearray()  # appends are amortised O(1): 32 MiB replies stay fast
        hdrs = {"Host": "localhost", "Upgrade": "websocket", "Connection": "Upgrade",
                "Sec-WebSocket-Key": KEY, "Sec-WebSocket-Version": "13"}
        if extensions:
            hdrs["Sec-WebSocket-Extensions"] = extensions
        hdrs.update(headers or {})
        req = "GET %s HTTP/1.1\r\n" % path + "".join(
            "%s: %s\r\n" % (k, v) for k, v in hdrs.items() if v is not None) + "\r\n"
        self.sock.sendall(req.encode())
        self.status, self.headers = self.read_response()

    def read_response(self):
        while b"\r\n\r\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise AssertionError("connection closed during the handshake")
            self.buf += d
        head, rest = bytes(self.buf).split(b"\r\n\r\n", 1)
        self.buf = bytearray(rest)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        return status, headers

    def send(self, data):
        self.sock.sendall(data)

    def send_frame(self, *a, **kw):
        self.sock.sendall(frame(*a, **kw))

    def need(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(1 << 20)
            if not d:
                raise EOFError("connection closed")
            self.buf += d

    def recv_frame(self):
        self.need(2)
        b0, b1 = self.buf[0], self.buf[1]
        assert not b1 & 0x80, "server frames must not be masked (RFC 6455 5.1)"
        n, off = b1 & 0x7F, 2
        if n == 126:
            self.need(4)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self.need(10)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        self.need(off + n)
        payload = bytes(self.buf[off:off + n])
        del self.buf[:off + n]
        return bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F, payload

    def recv_message(self):
        """Returns (opcode, payload, rsv1 of the first frame); answers nothing."""
        fin, rsv, op, data = self.recv_frame()
        data = bytearray(data)
        first_rsv = rsv
        while not fin:
            fin, rsv, op2, more = self.recv_frame()
            assert op2 == 0, "expected a continuation, got opcode %d" % op2
            assert rsv == 0, "RSV1 only on a message's first frame (RFC 7692 6.1)"
            data += more
        return op, bytes(data), first_rsv

    def expect_close(self, codes, why=""):
        """Reads until a close frame; checks its code and that TCP closes after."""
        if isinstance(codes, int):
            codes = (codes,)
        while True:
            fin, rsv, op, payload = self.recv_frame()
            if op == 8:
                break
            assert op in (0, 1, 2, 9, 10), "unexpected opcode %d before close" % op
        code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
        assert code in codes, "%s: close code %d, want %s (reason %r)" % (
            why, code, codes, payload[2:])
        payload[2:].decode("utf-8")  # the reason is UTF-8 (RFC 6455 5.5.1)
        return code, payload[2:]

    def close_reply_and_eof(self, code=1000):
        """Answers a server close and checks the server closes TCP (7.1.1)."""
        try:
            self.send_frame(8, struct.pack("!H", code))
        except OSError:
            pass
        self.expect_eof()

    def expect_eof(self, timeout=5.0):
        self.sock.settimeout(timeout)
        end = time.time() + timeout
        while time.time() < end:
            try:
                d = self.sock.recv(65536)
            except ConnectionResetError:
                return
            if not d:
                return
        raise AssertionError("server did not close the TCP connection")

    def close(self):
        self.sock.close()


def accept_value(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def echo_ok(ws, op=1, payload=b"ping-pong"):
    ws.send_frame(op, payload)
    rop, data, _ = ws.recv_message()
    assert (rop, data) == (op, payload), "echo: got %r %r" % (rop, data[:60])


def fails_with(code, *frames, path="/echo", why=""):
    ws = WS(path)
    assert ws.status == 101
    for f in frames:
        ws.send(f)
    ws.expect_close(code, why)
    ws.close_reply_and_eof()
    ws.close()


# ---- opening handshake (RFC 6455 4.2) -------------------------------------------------------

def test_handshake_ok():
    ws = WS("/echo", headers={"Connection": "keep-alive, UPGRADE", "Upgrade": "WebSocket"})
    assert ws.status == 101, ws.status
    assert ws.headers["sec-websocket-accept"] == accept_value(KEY)
    assert ws.headers["upgrade"].lower() == "websocket"
    assert "upgrade" in ws.headers["connection"].lower()
    assert "sec-websocket-extensions" not in ws.headers, "deflate is off by default"
    echo_ok(ws)
    ws.close()


def raw_status(req):
    with socket.create_connection(("127.0.0.1", STACK.backend_port), timeout=5) as s:
        s.sendall(req.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            d = s.recv(65536)
            if not d:
                break
            data += d
        head = data.split(b"\r\n\r\n")[0].decode("latin-1")
        return int(head.split()[1]), head


def upgrade_req(method="GET", version="HTTP/1.1", drop=(), **over):
    hdrs = {"Host": "localhost", "Upgrade": "websocket", "Connection": "Upgrade",
            "Sec-WebSocket-Key": KEY, "Sec-WebSocket-Version": "13"}
    hdrs.update({k.replace("_", "-"): v for k, v in over.items()})
    return "%s /echo %s\r\n" % (method, version) + "".join(
        "%s: %s\r\n" % (k, v) for k, v in hdrs.items() if k not in drop) + "\r\n"


def test_handshake_refusals():
    cases = [
        ("no Upgrade", upgrade_req(drop=("Upgrade",)), 400),
        ("no Connection", upgrade_req(drop=("Connection",)), 400),
        ("Upgrade: h2c", upgrade_req(Upgrade="h2c"), 400),
        ("no key", upgrade_req(drop=("Sec-WebSocket-Key",)), 400),
        ("short key", upgrade_req(Sec_WebSocket_Key="c2hvcnQ="), 400),
        ("key of 17 bytes", upgrade_req(Sec_WebSocket_Key="MDEyMzQ1Njc4OWFiY2RlZmc="), 400),
        ("no version", upgrade_req(drop=("Sec-WebSocket-Version",)), 400),
        ("POST", upgrade_req(method="POST"), 400),
        ("HEAD", upgrade_req(method="HEAD"), 400),
        ("HTTP/1.0", upgrade_req(version="HTTP/1.0"), 400),
        ("no Host", upgrade_req(drop=("Host",)), 400),
    ]
    for name, req, want in cases:
        status, head = raw_status(req)
        assert status == want, "%s: got %d, want %d\n%s" % (name, status, want, head)
    status, head = raw_status(upgrade_req(Sec_WebSocket_Version="8"))
    assert status == 426, head
    assert "sec-websocket-version: 13" in head.lower(), head


def test_origin_and_subprotocol():
    ws = WS("/strict", headers={"Origin": "http://evil.example"})
    assert ws.status == 403, ws.status
    ws.close()
    ws = WS("/strict", headers={"Origin": "http://good.example",
                                "Sec-WebSocket-Protocol": "v1.echo, v2.echo"})
    assert ws.status == 101
    assert ws.headers.get("sec-websocket-protocol") == "v2.echo", ws.headers
    echo_ok(ws)
    ws.close()
    ws = WS("/strict", headers={"Origin": "http://good.example",
                                "Sec-WebSocket-Protocol": "other"})
    assert ws.status == 101 and "sec-websocket-protocol" not in ws.headers, ws.headers
    ws.close()


def test_frames_right_behind_the_handshake():
    """A client may send frames right after its request (RFC 6455 4.1)."""
    s = socket.create_connection(("127.0.0.1", STACK.backend_port), timeout=5)
    s.sendall(upgrade_req().encode() + frame(1, b"early") + frame(2, b"bird"))
    ws = WS.__new__(WS)
    ws.sock, ws.buf = s, bytearray()
    ws.status, ws.headers = ws.read_response()
    assert ws.status == 101
    assert ws.recv_message()[:2] == (1, b"early")
    assert ws.recv_message()[:2] == (2, b"bird")
    ws.close()


def test_greeting():
    ws = WS("/greet")
    assert ws.recv_message()[:2] == (1, b"hello there")
    echo_ok(ws)
    ws.close()


# ---- framing (RFC 6455 5) -------------------------------------------------------------------

def test_echo_sizes_and_opcodes():
    ws = WS()
    for n in (0, 1, 125, 126, 127, 65535, 65536, 100000):
        for op in (1, 2):
            payload = (b"a" * n) if op == 1 else os.urandom(n)
            echo_ok(ws, op, payload)
    ws.close()


def test_byte_at_a_time():
    ws = WS()
    f = frame(1, b"slowly but surely") + frame(9, b"p")
    for i in range(len(f)):
        ws.send(f[i:i + 1])
        time.sleep(0.001)
    assert ws.recv_message()[:2] == (1, b"slowly but surely")
    assert ws.recv_frame()[2:] == (10, b"p")
    ws.close()


def test_large_messages_up_to_16mib():
    ws = WS(timeout=30)
    for n in (1 << 20, 16 << 20):
        payload = os.urandom(n)
        ws.send_frame(2, payload)
        op, data, _ = ws.recv_message()
        assert op == 2 and data == payload, "16 MiB echo"
    # and fragmented into 1 MiB frames
    payload = os.urandom(8 << 20)
    chunks = [payload[i:i + (1 << 20)] for i in range(0, len(payload), 1 << 20)]
    for i, c in enumerate(chunks):
        ws.send_frame(2 if i == 0 else 0, c, fin=(i == len(chunks) - 1))
    op, data, _ = ws.recv_message()
    assert data == payload
    ws.close()


def test_streaming_echo():
    """streaming = true: chunks are handed over and sent back as they arrive."""
    ws = WS("/stream", timeout=30)
    echo_ok(ws, 1, "streamed ü".encode())
    echo_ok(ws, 2, b"")
    payload = os.urandom(32 << 20)  # over the default 16 MiB: never held whole
    chunks = [payload[i:i + (4 << 20)] for i in range(0, len(payload), 4 << 20)]
    import threading
    # The echo starts before the message ends, and the server stops reading
    # while we do not read: send from another thread.
    sender = threading.Thread(target=lambda: [
        ws.send_frame(2 if i == 0 else 0, c, fin=(i == len(chunks) - 1))
        for i, c in enumerate(chunks)])
    sender.start()
    op, data, _ = ws.recv_message()
    sender.join(30)
    assert op == 2 and data == payload, "32 MiB streamed echo"
    fails_with(1007, frame(1, b"ok", fin=False), frame(0, b"\xc3", fin=False), frame(0, b"("),
               path="/stream",
               why="UTF-8 checked in streaming mode too")
    ws.close()


def test_back_pressure():
    """A client that sends and never reads: the server stops reading once its
    queue passes the high watermark, instead of buffering without bound."""
    ws = WS()
    msg = frame(2, b"z" * (1 << 20))
    ws.sock.settimeout(0)
    sent, t0 = 0, time.time()
    pending = b""
    while time.time() - t0 < 2 and sent < (200 << 20):
        if not pending:
            pending = msg
        try:
            n = ws.sock.send(pending)
            sent += n
            pending = pending[n:]
        except BlockingIOError:
            time.sleep(0.01)
    assert sent < (64 << 20), "server kept reading %d MiB without us reading" % (sent >> 20)
    ws.sock.settimeout(10)
    import threading
    # Finish the partial message while reading: the server waits for us.
    sender = threading.Thread(target=lambda: ws.sock.sendall(pending))
    sender.start()
    full = (sent + len(pending)) // len(msg)
    for i in range(full):
        op, data, _ = ws.recv_message()
        assert op == 2 and len(data) == 1 << 20
    sender.join(10)
    echo_ok(ws)
    ws.close()


def test_unmasked_client_frame():
    fails_with(1002, frame(1, b"hi", mask=False), why="5.1 unmasked")


def test_non_minimal_length():
    """RFC 6455 5.2: the minimal number of bytes MUST be used for the length."""
    fails_with(1002, struct.pack("!BBH", 0x82, 0x80 | 126, 5) + b"\0\0\0\0" + b"x" * 5,
               why="16-bit length for 5 bytes")
    fails_with(1002, struct.pack("!BBQ", 0x82, 0x80 | 127, 200) + b"\0\0\0\0" + b"x" * 200,
               why="64-bit length for 200 bytes")


def test_reserved_bits():
    for rsv in range(1, 8):
        fails_with(1002, frame(1, b"hi", rsv=rsv), why="5.2 RSV %d" % rsv)


def test_reserved_opcodes():
    for op in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15):
        fails_with(1002, frame(op, b"x"), why="5.2 opcode %d" % op)


def test_control_frame_rules():
    fails_with(1002, frame(9, b"x" * 126), why="5.5 ping over 125 bytes")
    fails_with(1002, frame(9, b"x", fin=False), why="5.5 fragmented ping")
    fails_with(1002, frame(8, struct.pack("!H", 1000), fin=False), why="5.5 fragmented close")


def test_fragmentation_rules():
    fails_with(1002, frame(0, b"x"), why="5.4 continuation with nothing to continue")
    fails_with(1002, frame(1, b"a"), frame(0, b"x"), why="5.4 continuation after a whole message")
    fails_with(1002, frame(1, b"a", fin=False), frame(1, b"b"), why="5.4 text inside a message")
    fails_with(1002, frame(2, b"a", fin=False), frame(2, b"b"), why="5.4 binary inside")


def test_fragments_with_interleaved_control_frames():
    ws = WS()
    ws.send(frame(1, b"Hel", fin=False) + frame(9, b"ping!") + frame(0, b"", fin=False) +
            frame(10, b"unsolicited") + frame(0, b"lo", fin=True))
    fin, rsv, op, data = ws.recv_frame()
    assert (op, data) == (10, b"ping!"), "pong echoes the ping payload (5.5.3)"
    assert ws.recv_message()[:2] == (1, b"Hello")
    echo_ok(ws)
    ws.close()


def test_ping_payloads():
    ws = WS()
    for p in (b"", b"x", bytes(range(125))):
        ws.send_frame(9, p)
        assert ws.recv_frame()[2:] == (10, p)
    ws.close()


# ---- UTF-8 (RFC 6455 8.1) -------------------------------------------------------------------

def test_invalid_utf8_text():
    for bad in (b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"abc\x80",
                b"\xe0\x80\xaf", b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"):
        fails_with(1007, frame(1, bad), why="invalid UTF-8 %r" % bad)


def test_utf8_across_fragments():
    ws = WS()
    text = "κόσμε €𝄞".encode()
    for cut in range(1, len(text)):
        ws.send(frame(1, text[:cut], fin=False) + frame(0, text[cut:]))
        assert ws.recv_message()[:2] == (1, text)
    ws.close()
    fails_with(1007, frame(1, b"\xe2\x82", fin=True), why="message ends mid-character")
    fails_with(1007, frame(1, b"ok\xe2", fin=False), frame(0, b"\x28\xa1"),
               why="bad continuation byte in the next fragment")


def test_utf8_fails_fast():
    """The close arrives as soon as the invalid byte does, mid-message and mid-frame."""
    ws = WS()
    # A frame announced as 1000 bytes; only the first 10 are sent, the 5th is invalid.
    ws.send(frame(1, b"abcd\xffefghi" + b"x" * 990, fin=False)[:6 + 10])
    ws.expect_close(1007, "fail fast")
    ws.close()


def test_utf8_close_reason():
    fails_with(1007, frame(8, struct.pack("!H", 1000) + b"\xff\xfe"), why="close reason")


# ---- close handling (RFC 6455 5.5.1, 7) -----------------------------------------------------

def test_close_handshake_echoes_code_and_server_closes_tcp():
    for code in (1000, 1001, 1003, 1007, 1011, 1012, 3000, 3999, 4000, 4999):
        ws = WS()
        ws.send_frame(8, struct.pack("!H", code) + b"bye")
        got, _ = ws.expect_close(code, "echo of close code %d" % code)
        ws.expect_eof()
        ws.close()
    ws = WS()
    ws.send_frame(8, b"")
    fin, rsv, op, payload = ws.recv_frame()
    assert op == 8 and payload == b"", "an empty close is answered with an empty close"
    ws.expect_eof()
    ws.close()


def test_invalid_close_codes():
    for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535):
        fails_with(1002, frame(8, struct.pack("!H", code)), why="close code %d" % code)
    fails_with(1002, frame(8, b"\x03"), why="1-byte close payload")


def test_nothing_after_close():
    ws = WS()
    ws.send(frame(8, struct.pack("!H", 1000)) + frame(1, b"too late"))
    fin, rsv, op, payload = ws.recv_frame()
    assert op == 8
    ws.expect_eof()
    ws.close()


def test_close_timeout_drops_a_client_that_holds_on():
    """seeds/001: a client may keep the connection after close; the server drops it."""
    ws = WS("/small")
    ws.send_frame(1, b"x" * 1001)  # over max_message_size: the server starts the close
    ws.expect_close(1009, "too big")
    t0 = time.time()
    ws.expect_eof(timeout=5)  # we never answer; close_timeout is 1 s
    assert time.time() - t0 < 4
    ws.close()


# ---- limits -----------------------------------------------------------------------------------

def test_max_message_size():
    ws = WS("/small")
    echo_ok(ws, 2, b"y" * 1000)
    ws.send_frame(2, b"y" * 1001)
    code, reason = ws.expect_close(1009, "single frame over the limit")
    assert reason, "1009 comes with a reason"
    ws.close()
    ws = WS("/small")
    ws.send(frame(2, b"y" * 600, fin=False) + frame(0, b"y" * 600))
    ws.expect_close(1009, "fragmented message over the limit")
    ws.close()


# ---- heartbeat --------------------------------------------------------------------------------

def test_heartbeat_pings_and_missed_pongs():
    ws = WS("/beat")
    t0 = time.time()
    fin, rsv, op, payload = ws.recv_frame()
    assert op == 9, "a ping every ping_interval"
    ws.send_frame(10, payload)  # answered: stays open
    fin, rsv, op, payload2 = ws.recv_frame()
    assert op == 9 and payload2 != payload
    echo_ok(ws)
    # now stop answering: closed after max_missed_pongs (2) intervals
    ws.expect_close((1002, 1001, 1000), "missed pongs")
    assert time.time() - t0 < 8
    ws.close()


def test_idle_timeout():
    ws = WS("/idle")
    echo_ok(ws)
    t0 = time.time()
    ws.expect_close(1001, "idle timeout")
    assert 0.5 < time.time() - t0 < 4
    ws.close_reply_and_eof()
    ws.close()


# ---- permessage-deflate (RFC 7692) --------------------------------------------------------

def negotiate(path, offer):
    ws = WS(path, extensions=offer)
    assert ws.status == 101
    return ws, ws.headers.get("sec-websocket-extensions")


def test_deflate_negotiation_variants():
    cases = [
        ("permessage-deflate", "permessage-deflate"),
        ("permessage-deflate; client_max_window_bits", "permessage-deflate"),
        ("permessage-deflate; client_max_window_bits=10",
         "permessage-deflate; client_max_window_bits=10"),
        ("permessage-deflate; server_max_window_bits=10",
         "permessage-deflate; server_max_window_bits=10"),
        ("permessage-deflate; server_no_context_takeover; client_no_context_takeover",
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        ("permessage-deflate; server_max_window_bits=7, permessage-deflate; "
         "server_max_window_bits=12", "permessage-deflate; server_max_window_bits=12"),
        ("x-unknown, permessage-deflate; foo, permessage-deflate", "permessage-deflate"),
        ("permessage-deflate; server_max_window_bits", None),
        ("permessage-deflate; client_max_window_bits=16", None),
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", None),
        ("x-webkit-deflate-frame", None),
    ]
    for offer, want in cases:
        ws, got = negotiate("/z", offer)
        assert got == want, "offer %r: got %r, want %r" % (offer, got, want)
        ws.close()
    ws, got = negotiate("/echo", "permessage-deflate")
    assert got is None, "off by default"
    ws.close()
    ws, got = negotiate("/zlow", "permessage-deflate")
    assert got == "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    ws.close()
    ws, got = negotiate("/zbal", "permessage-deflate; client_max_window_bits")
    assert got == ("permessage-deflate; server_max_window_bits=13; client_max_window_bits=13"), got
    ws.close()


def compress(data, wbits=15, obj=None):
    c = obj or zlib.compressobj(6, zlib.DEFLATED, -wbits)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


class Inflater:
    def __init__(self, wbits=15):
        self.d = zlib.decompressobj(-wbits)

    def __call__(self, data):
        return self.d.decompress(data + b"\x00\x00\xff\xff")


def test_deflate_round_trips():
    for path, offer, wbits in (("/z", "permessage-deflate", 15),
                               ("/z", "permessage-deflate; server_max_window_bits=9", 9),
                               ("/z", "permessage-deflate; server_max_window_bits=8", 8),
                               ("/zlow", "permessage-deflate", 15),
                               ("/zbal", "permessage-deflate; client_max_window_bits", 13)):
        ws, got = negotiate(path, offer)
        assert got, "%s accepted" % offer
        inflate = Inflater(max(wbits, 9) if wbits > 8 else 8)
        no_ctx = "client_no_context_takeover" in got
        cobj = zlib.compressobj(6, zlib.DEFLATED, -13)
        for i in range(5):
            text = ("camel %d " % i).encode() * 300
            if no_ctx:  # agreed: our compressor starts afresh for every message
                cobj = zlib.compressobj(6, zlib.DEFLATED, -13)
            ws.send_frame(1, compress(text, obj=cobj), rsv=4)
            op, data, rsv = ws.recv_message()
            assert rsv == 4, "reply compressed (above the threshold)"
            assert op == 1 and inflate(data) == text, "%s message %d" % (offer, i)
        # small messages stay uncompressed (threshold 16), and uncompressed input is fine
        ws.send_frame(1, b"tiny")
        op, data, rsv = ws.recv_message()
        assert (op, data, rsv) == (1, b"tiny", 0)
        # a compressed message fragmented in three, RSV1 on the first frame only
        text = b"fragmented and compressed " * 100
        z = compress(text, obj=None if no_ctx else cobj)
        ws.send(frame(1, z[:10], fin=False, rsv=4) + frame(0, z[10:20], fin=False) +
                frame(0, z[20:]))
        op, data, rsv = ws.recv_message()
        assert inflate(data) == text
        ws.close()


def test_deflate_big_message_fragmented_reply():
    ws, got = negotiate("/z", "permessage-deflate")
    inflate = Inflater()
    # Random hex halves at best: the reply still spans several frames. (Data
    # that does not shrink at all is sent back uncompressed: ws_close.py.)
    payload = os.urandom(150000).hex().encode()
    ws.send_frame(2, compress(payload), rsv=4)
    op, data, rsv = ws.recv_message()
    assert rsv == 4 and len(data) > 65536 and inflate(data) == payload
    ws.close()


def test_deflate_errors():
    ws, got = negotiate("/z", "permessage-deflate")
    ws.send(frame(1, b"a", fin=False, rsv=4) + frame(0, b"b", rsv=4))
    ws.expect_close(1002, "RSV1 on a continuation frame")
    ws.close()
    ws, got = negotiate("/z", "permessage-deflate")
    ws.send_frame(9, b"x", rsv=4)
    ws.expect_close(1002, "RSV1 on a control frame")
    ws.close()
    fails_with(1002, frame(1, compress(b"hello"), rsv=4), why="RSV1 without negotiation")
    # a zip bomb: 64 MiB of zeros in ~64 KiB; the cap is max_message_size (1 MiB)
    ws, got = negotiate("/z", "permessage-deflate")
    bomb = compress(b"\0" * (64 << 20))
    t0 = time.time()
    ws.send_frame(2, bomb, rsv=4)
    ws.expect_close(1009, "zip bomb")
    assert time.time() - t0 < 5
    ws.close()
    ws, got = negotiate("/z", "permessage-deflate")
    ws.send_frame(1, b"\xff\xff\xff\xff", rsv=4)
    ws.expect_close(1007, "garbage deflate data")
    ws.close()
    ws, got = negotiate("/z", "permessage-deflate")
    ws.send_frame(1, compress(b"ok \xff not utf-8"), rsv=4)
    ws.expect_close(1007, "invalid UTF-8 inside a compressed message")
    ws.close()


# ---- pub/sub and slow subscribers ----------------------------------------------------------

def chat_join(path, nick):
    import json
    ws = WS(path)
    assert ws.status == 101
    ws.send_frame(1, json.dumps({"type": "join", "room": "flood", "nick": nick}).encode())
    while True:
        m = json.loads(ws.recv_message()[1])
        if m["type"] == "joined" and m["nick"] == nick:
            return ws


def flood(ws, n=1500):
    """Publishes n 4 KB messages while reading (and dropping) what comes back."""
    import json
    import threading
    stop = []

    def reader():
        ws.sock.settimeout(0.5)
        while not stop:
            try:
                if not ws.sock.recv(1 << 20):
                    return
            except (socket.timeout, OSError):
                pass
    t = threading.Thread(target=reader)
    t.start()
    text = "x" * 4000
    try:
        for i in range(n):
            ws.send_frame(1, json.dumps({"type": "say", "text": "%d %s" % (i, text)}).encode())
        time.sleep(0.5)
    finally:
        stop.append(1)
        t.join(5)


def drain_messages(ws, stop_on_close=True):
    import json
    count, close = 0, None
    ws.sock.settimeout(1.0)
    try:
        while True:
            fin, rsv, op, payload = ws.recv_frame()
            if op == 8:
                close = struct.unpack("!H", payload[:2])[0]
                break
            if op == 1 and json.loads(payload)["type"] == "message":
                count += 1
    except (socket.timeout, EOFError, ConnectionResetError):
        pass
    return count, close


def test_slow_subscriber_dropped_and_logged():
    slow = chat_join("/chatdrop", "slow")
    fast = chat_join("/chatdrop", "fast")
    time.sleep(0.2)
    flood(fast)
    count, close = drain_messages(slow)
    assert close == 1008, "slow subscriber closed with the channel's code, got %r" % close
    assert count < 1500
    slow.close()
    fast.close()
    harness.wait_for(lambda: "slow subscribers dropped" in harness.read_file(STACK.backend_log),
                     "the drop to be logged", timeout=5)


def test_slow_subscriber_skipped_and_logged():
    slow = chat_join("/chatskip", "slow")
    pub = chat_join("/chatskip", "pub")
    time.sleep(0.2)
    flood(pub)
    time.sleep(0.5)
    count, close = drain_messages(slow)
    assert close is None, "skip policy keeps the subscriber"
    assert 0 < count < 1500, "messages skipped for the slow subscriber: got %d of 1500" % count
    echo = json_say_roundtrip(slow)
    assert echo, "still subscribed and served after the skips"
    slow.close()
    pub.close()
    harness.wait_for(lambda: "messages skipped for slow subscribers" in
                     harness.read_file(STACK.backend_log), "the skips to be logged", timeout=5)


def json_say_roundtrip(ws):
    import json
    ws.sock.settimeout(5)
    ws.send_frame(1, json.dumps({"type": "say", "text": "still here"}).encode())
    while True:
        m = json.loads(ws.recv_message()[1])
        if m["type"] == "message" and m["text"] == "still here":
            return True


# ---- shutdown ---------------------------------------------------------------------------------

def test_shutdown_sends_1001_to_every_session():
    socks = [WS() for _ in range(4)]
    for ws in socks:
        echo_ok(ws)
    STACK.signal("backend", signal.SIGTERM)
    for ws in socks:
        ws.expect_close(1001, "graceful stop")
        ws.close_reply_and_eof(1001)
        ws.close()


def main():
    global STACK
    only = os.environ.get("WS_TESTS", "")  # e.g. WS_TESTS=streaming,back_pressure
    tests = [(n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)
             and (not only or any(o in n for o in only.split(",")))]
    failed = 0
    # shutdown_timeout 2 s: on TERM sessions get their 1001 after about 1 s.
    with harness.Stack(modules=MODULES, workers=2, backend_opts={"shutdown_timeout": 2}) as s:
        STACK = s
        for name, fn in tests:
            t0 = time.time()
            try:
                fn()
                print("ok   %s (%.1fs)" % (name, time.time() - t0))
            except Exception as e:  # report every failing case, not just the first
                failed += 1
                print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
        if failed:
            sys.stdout.write("--- backend log (tail) ---\n%s" % harness.read_file(
                s.backend_log)[-3000:])
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
