# SPDX-License-Identifier: BSD-2-Clause
"""wss echo load for bench/fe_bench.sh: C connections each send a message,
wait for its echo, repeat for D seconds. Prints msgs/s and p50/p99 (ms)."""
import asyncio
import ssl
import sys
import time

import websockets

port, conns, dur, size = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
lat = []


async def client(stop):
    async with websockets.connect("wss://127.0.0.1:%d/echo" % port, ssl=ctx,
                                  server_hostname="localhost", ping_interval=None,
                                  max_size=None, compression=None) as ws:
        msg = "x" * size
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            await ws.send(msg)
            await ws.recv()
            lat.append(time.perf_counter() - t0)


async def main():
    stop = time.monotonic() + dur
    t0 = time.monotonic()
    await asyncio.gather(*(client(stop) for _ in range(conns)))
    el = time.monotonic() - t0
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
    print("msgs/s %.0f p50 %.2f ms p99 %.2f ms (%d msgs)" % (len(lat) / el, p(0.5), p(0.99),
                                                             len(lat)))


asyncio.run(main())
