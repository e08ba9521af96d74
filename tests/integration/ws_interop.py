# SPDX-License-Identifier: BSD-2-Clause
"""Interop with an independent client: Python `websockets` (Debian's 10.4),
with and without permessage-deflate, against echo and chat on a backend with
two workers (chat messages cross workers through pub/sub)."""
import asyncio
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

import websockets  # noqa: E402

MODULES = [
    {"module": "echo", "path": "/echo", "ping_interval": 0},
    {"module": "echo", "path": "/z", "deflate": True, "deflate_preset": "max"},
    {"module": "echo", "path": "/zlow", "deflate": True, "deflate_preset": "low"},
    {"module": "echo", "path": "/zbal", "deflate": True},
    {"module": "chat", "path": "/chat"},
]
STACK = None


def uri(path):
    return "ws://127.0.0.1:%d%s" % (STACK.backend_port, path)


async def echo_round_trips(path, compression):
    async with websockets.connect(uri(path), compression=compression, max_size=None) as ws:
        ext = ws.response_headers.get("Sec-WebSocket-Extensions")
        if compression:
            assert ext and ext.startswith("permessage-deflate"), "negotiated: %r" % ext
        else:
            assert ext is None
        for n in (0, 1, 125, 126, 65536, 1 << 20, 4 << 20):
            text = ("bactrian " * (n // 9 + 1))[:n]
            await ws.send(text)
            assert await ws.recv() == text, "text of %d bytes" % n
            blob = os.urandom(n)
            await ws.send(blob)
            assert await ws.recv() == blob, "binary of %d bytes" % n
        # a fragmented message from the client
        await ws.send(["frag", "mented ", "ü" * 1000])
        assert await ws.recv() == "fragmented " + "ü" * 1000
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        await ws.close(4000, "done here")
        assert ws.close_code == 4000, ws.close_code


def test_echo_plain():
    asyncio.run(echo_round_trips("/echo", None))


def test_echo_deflate_variants():
    for path in ("/z", "/zlow", "/zbal"):
        asyncio.run(echo_round_trips(path, "deflate"))


def test_deflate_declined_when_off():
    async def run():
        async with websockets.connect(uri("/echo"), compression="deflate") as ws:
            assert ws.response_headers.get("Sec-WebSocket-Extensions") is None
            await ws.send("plain")
            assert await ws.recv() == "plain"
    asyncio.run(run())


def keep_a_worker_busy():
    """Gives the worker that takes the next connection a second or so of
    inflating and compressing, so that the kernel hands the chat connections
    that follow to the other worker (EPOLLEXCLUSIVE wakes an idle one)."""
    import socket
    import struct
    import zlib
    s = socket.create_connection(("127.0.0.1", STACK.backend_port), timeout=10)
    s.sendall(("GET /z HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n").encode())
    resp = b""
    while b"\r\n\r\n" not in resp:
        resp += s.recv(4096)
    assert b" 101 " in resp and b"permessage-deflate" in resp, resp
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = c.compress(b"\0" * (16 << 20)) + c.flush(zlib.Z_SYNC_FLUSH)
    bomb = bomb[:-4]
    # minimal length encoding (RFC 6455 5.2), or the server rightly refuses it
    hdr = struct.pack("!BBH", 0xC2, 0x80 | 126, len(bomb)) if len(bomb) < 65536 else \
        struct.pack("!BBQ", 0xC2, 0x80 | 127, len(bomb))
    f = hdr + b"\0\0\0\0" + bomb
    s.sendall(f * 12)  # a zero mask: legal, and no masking work here
    return s


def chat_pids():
    log = harness.read_file(STACK.backend_log)
    return re.findall(r"bactrian-backend\[(\d+)\]: [^\n]*WebSocket session \d+ open on /chat", log)


def test_chat_across_workers():
    import json

    async def join(i):
        ws = await websockets.connect(uri("/chat"), compression="deflate" if i % 2 else None)
        await ws.send(json.dumps({"type": "join", "room": "interop", "nick": "n%d" % i}))
        while True:  # wait for our own join notice
            m = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if m["type"] == "joined" and m["nick"] == "n%d" % i:
                return ws

    async def run():
        clients = []
        try:
            for i in range(4):
                clients.append(await join(i))
            # Idle workers take connections in a fixed order, so all of these
            # went to one. Keep a worker busy inflating and join again, until
            # the room has members in both (the kernel wakes an idle worker).
            for attempt in range(8):
                if len(set(chat_pids())) == 2:
                    break
                busy = keep_a_worker_busy()
                try:
                    for _ in range(3):
                        clients.append(await join(len(clients)))
                finally:
                    busy.close()
            assert len(set(chat_pids())) == 2, "chat sessions in workers %s" % set(chat_pids())
            await clients[0].send(json.dumps({"type": "say", "text": "über alles: hi"}))
            for i, ws in enumerate(clients):
                while True:
                    m = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    if m["type"] == "message":
                        assert m == {"type": "message", "room": "interop", "nick": "n0",
                                     "text": "über alles: hi"}, m
                        break
            await clients[1].send("not json")
            while True:
                m = json.loads(await asyncio.wait_for(clients[1].recv(), 5))
                if m["type"] == "error":
                    break
        finally:
            for ws in clients:
                await ws.close()
    asyncio.run(run())


def main():
    global STACK
    tests = [(n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)]
    failed = 0
    with harness.Stack(modules=MODULES, workers=2) as s:
        STACK = s
        for name, fn in tests:
            try:
                fn()
                print("ok   %s" % name)
            except Exception as e:
                failed += 1
                print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
        if failed:
            print(harness.read_file(s.backend_log)[-3000:])
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
