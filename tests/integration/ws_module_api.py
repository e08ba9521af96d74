# SPDX-License-Identifier: BSD-2-Clause
"""The WebSocket module API parts that echo and chat do not use, through the
test module tests/modules/wstest: a producer send (bm_ws_send_from),
back-pressure with bm_ws_writable and drain(), bm_ws_list, a module ping and
its pong callback, a module-initiated close; the session's accessors
(client, subprotocol, compression, pending bytes), the default options, and
pub/sub counters (bm_channel_stats). Client: Python websockets."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

import websockets  # noqa: E402

TEST_MODS = os.path.join(harness.BUILDDIR, "tests", "modules", ".libs")


async def scenario(port):
    uri = "ws://127.0.0.1:%d/t" % port
    async with websockets.connect(uri, max_size=None) as ws, \
            websockets.connect(uri, max_size=None) as other:
        # producer: 5 MiB generated piece by piece, arrives as one message
        await ws.send("produce %d" % (5 << 20))
        data = await asyncio.wait_for(ws.recv(), 20)
        assert len(data) == 5 << 20, len(data)
        assert data[:5] == bytes([0, 1, 2, 3, 4]) and data[251] == 0 and data[-1] == \
            ((5 << 20) - 1) % 251
        # back-pressure: 400 x 16 KiB with a 64 KiB high watermark needs drains
        await ws.send("flood 400")
        got = 0
        while True:
            m = await asyncio.wait_for(ws.recv(), 20)
            if isinstance(m, bytes):
                got += 1
                continue
            assert m.startswith("flood done "), m
            drains = int(m.split()[2])
            break
        assert got == 400, got
        assert drains >= 1, "drain() ran while the queue emptied"
        await ws.send("list")
        assert await asyncio.wait_for(ws.recv(), 5) == "sessions 2"
        await ws.send("ping")
        assert await asyncio.wait_for(ws.recv(), 5) == "pong hi"
        await other.send("close")
        try:
            await asyncio.wait_for(other.recv(), 5)
            raise AssertionError("the module's close did not close")
        except websockets.ConnectionClosed:
            pass
        assert other.close_code == 4001 and other.close_reason == "asked", other.close_code
    await accessors(port)


async def accessors(port):
    plain = "ws://127.0.0.1:%d/t" % port
    async with websockets.connect(plain, compression=None) as ws:
        await ws.send("info")
        assert await asyncio.wait_for(ws.recv(), 5) == "queued"
        # "queued" (2 + 6 bytes) was still in the queue when pending was read
        assert await asyncio.wait_for(ws.recv(), 5) == \
            "info client=127.0.0.1 sub=- deflate=0 pending=8"
        await ws.send("defaults")
        assert await asyncio.wait_for(ws.recv(), 5) == \
            "defaults %d 0 30000 65536 %d %d 0" % (16 << 20, 1 << 20, 256 << 10)
        await ws.send("stats room")
        assert await asyncio.wait_for(ws.recv(), 5) == "stats none"
        await ws.send("sub room")
        await ws.send("pub room hi all")
        assert await asyncio.wait_for(ws.recv(), 5) == "hi all"
        await ws.send("stats room")
        assert await asyncio.wait_for(ws.recv(), 5) == "stats 1 1 1"
    deflate = "ws://127.0.0.1:%d/d" % port
    async with websockets.connect(deflate, subprotocols=["x.other", "t.v1"]) as ws:
        assert ws.subprotocol == "t.v1", ws.subprotocol
        await ws.send("info")
        assert await asyncio.wait_for(ws.recv(), 5) == "queued"
        info = await asyncio.wait_for(ws.recv(), 5)
        assert info.startswith("info client=127.0.0.1 sub=t.v1 deflate=1 pending="), info


def main():
    if not os.path.exists(os.path.join(TEST_MODS, "wstest.so")):
        print("tests/modules/wstest.so not built")
        return 1
    mods = [{"module": "wstest", "path": "/t", "send_high_watermark": 65536,
             "send_low_watermark": 16384},
            {"module": "wstest", "path": "/d", "deflate": True}]
    with harness.Stack(modules=mods, backend_opts={"module_dir": TEST_MODS}) as s:
        try:
            asyncio.run(scenario(s.backend_port))
        except Exception as e:
            print("FAIL: %s: %s" % (type(e).__name__, e))
            print(harness.read_file(s.backend_log)[-3000:])
            print("0 passed, 1 failed")
            return 1
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
