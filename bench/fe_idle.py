# SPDX-License-Identifier: BSD-2-Clause
"""Holds N idle client connections through a TLS proxy for the memory
figure of bench/fe_bench.sh: wss (WebSocket echo) when the backend has an
echo module, else HTTPS keep-alive after one request. Prints "ready" when
all are open, then waits until the stop file exists.

    fe_idle.py PORT N wss|https STOPFILE"""
import asyncio
import os
import ssl
import sys

port, n, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


async def one(sem, held):
    async with sem:
        if mode == "wss":
            import websockets
            ws = await websockets.connect("wss://127.0.0.1:%d/echo" % port, ssl=ctx,
                                          server_hostname="localhost", open_timeout=60,
                                          ping_interval=None)
            await ws.send("hello")
            await ws.recv()
            held.append(ws)
        else:
            r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                                 server_hostname="localhost")
            w.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            await r.readuntil(b"\r\n\r\n")
            await r.read(14)
            held.append((r, w))


async def main():
    sem = asyncio.Semaphore(64)
    held = []
    await asyncio.gather(*(one(sem, held) for _ in range(n)))
    print("ready %d" % len(held), flush=True)
    while not os.path.exists(sys.argv[4]):
        await asyncio.sleep(0.2)


asyncio.run(main())
