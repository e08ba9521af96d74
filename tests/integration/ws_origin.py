# SPDX-License-Identifier: BSD-2-Clause
"""chat refuses a browser from another site (cross-site WebSocket hijacking):
same-origin by default (the Origin's host must be the Host the request was
sent to), an `origins` allow-list when set; a client without Origin (not a
browser) is accepted. Refusals are a 403 before the 101. Python websockets
sends the Origin header."""
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

import websockets  # noqa: E402

MODULES = [
    {"module": "chat", "path": "/chat", "ping_interval": 0},
    {"module": "chat", "path": "/listed", "ping_interval": 0,
     "origins": ["https://chat.example.com", "http://localhost:8080"]},
    {"module": "chat", "path": "/any", "ping_interval": 0, "origins": ["*"]},
]


def status(port, path, origin, host="127.0.0.1"):
    """101 when the chat joined, else the HTTP status of the refusal."""
    async def run():
        uri = "ws://%s:%d%s" % (host, port, path)
        try:
            async with websockets.connect(uri, origin=origin, open_timeout=5) as ws:
                await ws.send(json.dumps({"type": "join", "room": "r", "nick": "n"}))
                assert json.loads(await ws.recv())["type"] == "joined"
                return 101
        except websockets.exceptions.InvalidStatusCode as e:
            return e.status_code
    return asyncio.run(run())


def test_same_origin_by_default():
    with harness.Stack(modules=MODULES) as s:
        p = s.backend_port
        assert status(p, "/chat", None) == 101
        assert status(p, "/chat", "http://127.0.0.1:%d" % p) == 101
        assert status(p, "/chat", "https://127.0.0.1") == 101  # scheme and port are not compared
        assert status(p, "/chat", "http://LOCALHOST:1", host="localhost") == 101
        for evil in ("https://evil.example", "http://127.0.0.1.evil.example", "null",
                     "http://evil.example/127.0.0.1", "127.0.0.1"):
            assert status(p, "/chat", evil) == 403, evil
        assert status(p, "/chat", "http://127.0.0.1", host="localhost") == 403
        log = harness.read_file(s.backend_log)
        assert "chat: 127.0.0.1: origin https://evil.example refused" in log, log[-2000:]


def test_origins_allow_list():
    with harness.Stack(modules=MODULES) as s:
        p = s.backend_port
        assert status(p, "/listed", "https://chat.example.com") == 101
        assert status(p, "/listed", "http://localhost:8080") == 101
        assert status(p, "/listed", None) == 101
        # the list replaces same-origin: the request's own host is not implied
        assert status(p, "/listed", "http://127.0.0.1:%d" % p) == 403
        assert status(p, "/listed", "https://chat.example.com.evil") == 403
        assert status(p, "/any", "https://evil.example") == 101


if __name__ == "__main__":
    harness.main(globals())
