# SPDX-License-Identifier: BSD-2-Clause
"""Close-reply latency after a large echo (issue 12 item 6), with Python
websockets as the client: send a 1 MiB message, then close at once; the time
is from close() to the end of the closing handshake (the server's close frame
and its TCP close), so it includes what the server does with the echo first.
Straight to the backend, through the frontend's ws:// and wss:// relays, with
and without permessage-deflate, random (incompressible) and text payloads.

    /usr/bin/python3 bench/ws_close_latency.py [rounds]   (from a built tree)
"""
import asyncio
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import fe_util as fu  # noqa: E402
import websockets  # noqa: E402

MODULES = [{"module": "echo", "path": "/echo", "ping_interval": 0},
           {"module": "echo", "path": "/z", "ping_interval": 0, "deflate": True}]


async def rounds(uri, n, payload, comp, **kw):
    out = []
    for _ in range(n):
        async with websockets.connect(uri, max_size=64 << 20, compression=comp, **kw) as ws:
            await ws.send(payload)
            t0 = time.perf_counter()
            await ws.close()
            out.append((time.perf_counter() - t0) * 1000)
    return sorted(out)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    payloads = (("random", os.urandom(1 << 20)), ("text", ("hello world %d " * 70000)[:1 << 20]))
    with fu.stack(frontend=True, modules=MODULES) as s:
        tls = dict(ssl=fu.tls_context(), host="127.0.0.1", port=s.https_port,
                   server_hostname="localhost")
        for name, base, kw in (("direct", "ws://127.0.0.1:%d" % s.backend_port, {}),
                               ("ws", "ws://127.0.0.1:%d" % s.http_port, {}),
                               ("wss", "wss://localhost:%d" % s.https_port, tls)):
            for path, comp in (("/echo", None), ("/z", "deflate")):
                for pname, p in payloads:
                    r = asyncio.run(rounds(base + path, n, p, comp, **kw))
                    print("%-6s %-8s %-6s close ms: median %6.2f  p90 %6.2f  max %6.2f" % (
                        name, comp or "none", pname, statistics.median(r),
                        r[int(len(r) * 0.9)], r[-1]))


if __name__ == "__main__":
    main()
