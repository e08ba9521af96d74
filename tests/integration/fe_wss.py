# SPDX-License-Identifier: BSD-2-Clause
"""WebSocket echo over wss:// through the frontend (TLS relay) and ws://
(splice relay) to the backend's echo module, with Python websockets."""
import asyncio
import os

import harness
import fe_util as fu

MODULES = [
    {"module": "static", "path": "/", "root": os.path.join(harness.SRCDIR, "www")},
    {"module": "echo", "path": "/echo"},
]


def _need_echo():
    if not os.path.exists(os.path.join(harness.MODULE_DIR, "echo.so")):
        raise harness.Skip("the backend has no echo module yet (%s/echo.so)" % harness.MODULE_DIR)


async def _echo(uri, **kw):
    import websockets
    async with websockets.connect(uri, max_size=4 << 20, open_timeout=10, **kw) as ws:
        for msg in ("hello", "x" * 70000, b"\x00\x01binary" * 1000, "ü€𝄞"):
            await ws.send(msg)
            for _ in range(5):  # tolerate a greeting
                got = await asyncio.wait_for(ws.recv(), 10)
                if got == msg:
                    break
            else:
                raise AssertionError("no echo of %r" % (msg[:20],))
        # Many small messages in flight at once.
        for i in range(200):
            await ws.send("m%d" % i)
        for i in range(200):
            got = await asyncio.wait_for(ws.recv(), 10)
            assert got == "m%d" % i, got


def test_wss_echo():
    _need_echo()
    with fu.stack(frontend=True, modules=MODULES) as s:
        uri = "wss://localhost:%d/echo" % s.https_port
        asyncio.run(_echo(uri, ssl=fu.tls_context(), host="127.0.0.1", port=s.https_port,
                          server_hostname="localhost"))
        asyncio.run(_echo("ws://127.0.0.1:%d/echo" % s.http_port))
        fu.wait_log(s.frontend_log, r"vhost localhost TLSv1.3 sni: relay (openssl|ktls|tlsrec)")


if __name__ == "__main__":
    harness.main(globals())
