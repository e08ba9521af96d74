# SPDX-License-Identifier: BSD-2-Clause
"""The PageCamel JSON keep-alive (issue 12 item 6): with json_ping = true,
echo and chat answer a text message {"type":"PING"} with {"type":"PING"},
and the message keeps the session alive (it resets idle_timeout like any
other); off by default, when echo sends it back as it came and chat calls
it an unknown type. Python websockets is the client."""
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

MODULES = [
    {"module": "echo", "path": "/jp", "ping_interval": 0, "idle_timeout": 1, "json_ping": True},
    {"module": "echo", "path": "/plain", "ping_interval": 0},
    {"module": "chat", "path": "/cjp", "ping_interval": 0, "idle_timeout": "1s",
     "json_ping": True},
    {"module": "chat", "path": "/c", "ping_interval": 0},
]
PING = '{"type":"PING"}'
VARIANT = ' { "type" : "PING", "ts" : 1700000000 }'


async def recv(ws):
    return await asyncio.wait_for(ws.recv(), 5)


async def keeps_alive(uri):
    """PINGs every 0.4 s for 2.4 s keep a session with idle_timeout 1 s open,
    each answered; silence then ends it with 1001 about a second later."""
    import websockets
    async with websockets.connect(uri, open_timeout=10) as ws:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.4:
            await ws.send(PING)
            assert await recv(ws) == PING
            await asyncio.sleep(0.4)
        await ws.send(VARIANT)  # any object whose type is PING; the answer is the plain one
        assert await recv(ws) == PING
        t1 = time.monotonic()
        try:
            await asyncio.wait_for(ws.recv(), 5)
            raise AssertionError("a message instead of the idle close")
        except websockets.ConnectionClosed as e:
            assert e.rcvd is not None and e.rcvd.code == 1001, e
        took = time.monotonic() - t1
        assert 0.8 < took < 3, "idle close after %.2f s" % took


async def off_by_default(base):
    import websockets
    async with websockets.connect(base + "/plain", open_timeout=10) as ws:
        await ws.send(VARIANT)
        assert await recv(ws) == VARIANT  # echoed as it came
    async with websockets.connect(base + "/c", open_timeout=10) as ws:
        await ws.send(PING)
        got = json.loads(await recv(ws))
        assert got["type"] == "error" and "unknown type" in got["error"], got


async def chat_still_chats(base):
    import websockets
    async with websockets.connect(base + "/cjp", open_timeout=10) as ws:
        await ws.send(PING)
        assert await recv(ws) == PING
        await ws.send('{"type":"join","room":"r","nick":"ann"}')
        assert json.loads(await recv(ws))["type"] == "joined"
        await ws.send('{"type":"say","text":"hi"}')
        got = json.loads(await recv(ws))
        assert got["type"] == "message" and got["text"] == "hi", got
        await ws.send(PING)
        assert await recv(ws) == PING


def test_json_ping():
    with harness.Stack(modules=MODULES) as s:
        base = "ws://127.0.0.1:%d" % s.backend_port
        asyncio.run(keeps_alive(base + "/jp"))
        asyncio.run(keeps_alive(base + "/cjp"))
        asyncio.run(off_by_default(base))
        asyncio.run(chat_still_chats(base))


if __name__ == "__main__":
    harness.main(globals())
