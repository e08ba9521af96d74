# SPDX-License-Identifier: BSD-2-Clause
"""Idle connections move from the child that did their handshake into a lean
child of the master (frontend/lean.h), and go on working there: wss:// on our
own TLS 1.3 record layer, ws:// on splice, a KeyUpdate after the move, and
TLS 1.2, which stays with OpenSSL. Real clients: Python websockets and
openssl s_client."""
import asyncio
import os
import re
import subprocess
import time

import harness
import fe_util as fu

MODULES = [
    {"module": "hello", "path": "/"},
    {"module": "echo", "path": "/echo"},
]
IDLE = 1.8  # the hand-off comes after one second without traffic


def _need_echo():
    if not os.path.exists(os.path.join(harness.MODULE_DIR, "echo.so")):
        raise harness.Skip("no echo module (%s/echo.so)" % harness.MODULE_DIR)


async def _idle_then_echo(uri, **kw):
    import websockets
    async with websockets.connect(uri, max_size=4 << 20, open_timeout=10, **kw) as ws:
        await ws.send("before")
        assert await asyncio.wait_for(ws.recv(), 10) == "before"
        await asyncio.sleep(IDLE)
        # After the move: small, large (several records) and many in flight.
        for msg in ("after", "y" * 200000, b"\x00\xffbin" * 5000):
            await ws.send(msg)
            assert await asyncio.wait_for(ws.recv(), 10) == msg
        for i in range(100):
            await ws.send("m%d" % i)
        for i in range(100):
            assert await asyncio.wait_for(ws.recv(), 10) == "m%d" % i
        # A second idle spell in the lean child itself (no second move).
        await asyncio.sleep(IDLE)
        await ws.send("again")
        assert await asyncio.wait_for(ws.recv(), 10) == "again"


def _lean_lines(log):
    with open(log) as f:
        return [l for l in f if "(lean)" in l]


def test_wss_moves_to_lean_child():
    _need_echo()
    with fu.stack(frontend=True, modules=MODULES) as s:
        asyncio.run(_idle_then_echo("wss://localhost:%d/echo" % s.https_port,
                                    ssl=fu.tls_context(), host="127.0.0.1", port=s.https_port,
                                    server_hostname="localhost"))
        fu.wait_log(s.frontend_log, r"TLSv1\.3 sni: relay tlsrec, \d+ bytes in, \d+ out, "
                                    r"\d+ms, handed off")
        fu.wait_log(s.frontend_log, r"TLSv1\.3: relay tlsrec \(lean\), \d+ bytes in")
        lines = _lean_lines(s.frontend_log)
        assert len(lines) == 1 and lines[0].rstrip().endswith("closed"), lines
        # Counters carry on across the move, from what the first child counted.
        with open(s.frontend_log) as f:
            handed = [l for l in f if l.rstrip().endswith("handed off")]
        before = [int(x) for x in re.search(r"(\d+) bytes in, (\d+) out", handed[0]).groups()]
        after = [int(x) for x in re.search(r"(\d+) bytes in, (\d+) out", lines[0]).groups()]
        assert after[0] > before[0] + 1000 and after[1] > before[1] + 1000, (handed, lines)


def test_plain_ws_moves_to_lean_child():
    _need_echo()
    with fu.stack(frontend=True, modules=MODULES) as s:
        asyncio.run(_idle_then_echo("ws://127.0.0.1:%d/echo" % s.http_port))
        fu.wait_log(s.frontend_log, r"relay splice, \d+ bytes in, \d+ out, \d+ms, handed off")
        fu.wait_log(s.frontend_log, r"relay splice \(lean\), \d+ bytes in, \d+ out, \d+ms, closed")


def test_lean_child_takes_the_slot():
    """The lean child replaces the handshake child: one process per client,
    and the handshake child is gone."""
    _need_echo()

    async def run(s):
        import websockets
        async with websockets.connect("wss://localhost:%d/echo" % s.https_port,
                                      ssl=fu.tls_context(), host="127.0.0.1",
                                      port=s.https_port, server_hostname="localhost") as ws:
            await ws.send("x")
            await ws.recv()
            port = ws.transport.get_extra_info("sockname")[1]
            first = fu.child_of_client(s.pid("frontend"), port)
            await asyncio.sleep(IDLE)
            second = fu.child_of_client(s.pid("frontend"), port)
            assert first and second and first != second, (first, second)
            assert second in fu.children(s.pid("frontend"))
            for _ in range(50):
                if first not in fu.children(s.pid("frontend")):
                    break
                await asyncio.sleep(0.05)
            assert first not in fu.children(s.pid("frontend")), "handshake child still there"
            await ws.send("y")
            assert await asyncio.wait_for(ws.recv(), 10) == "y"

    with fu.stack(frontend=True, modules=MODULES) as s:
        asyncio.run(run(s))


def test_answer_and_close_together_end_promptly():
    """The backend's last bytes and its close often arrive in one wake-up of
    the relay (edge-triggered epoll): the relay must still see the close at
    once instead of waiting for an edge that never comes. 100 requests with
    Connection: close, on TLS 1.3 (tlsrec) and plaintext, each answered and
    closed well within a second. Four loops in parallel keep the frontend
    busy, which makes the coalesced wake-up likely."""
    import socket
    import ssl
    import threading
    with fu.stack(frontend=True, modules=MODULES) as s:
        ctx = fu.tls_context()
        slow = []

        def loop(tls):
            for _ in range(25):
                t0 = time.monotonic()
                c = socket.create_connection(("127.0.0.1", s.https_port if tls else s.http_port))
                if tls:
                    c = ctx.wrap_socket(c, server_hostname="localhost")
                c.sendall(fu.REQ_CLOSE)
                c.settimeout(5)
                data = b""
                try:
                    while True:
                        b = c.recv(65536)
                        if not b:
                            break
                        data += b
                except (socket.timeout, ssl.SSLError, ConnectionResetError) as e:
                    slow.append(repr(e))
                c.close()
                if not data.startswith(b"HTTP/1.1 200") or time.monotonic() - t0 > 1.0:
                    slow.append((tls, time.monotonic() - t0, data[:40]))

        ts = [threading.Thread(target=loop, args=(tls,)) for tls in (True, True, True, False)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert not slow, slow[:5]


def test_idle_time_carries_over_the_move():
    """idle_timeout counts from the last traffic, not from the move: a silent
    TLS client with idle_timeout 3 is closed about 3 s after its last bytes
    (the move happens at 1 s), not 4 s."""
    import socket
    with fu.stack(frontend=True, modules=MODULES, frontend_opts={"idle_timeout": 3}) as s:
        c = fu.tls_context().wrap_socket(socket.create_connection(("127.0.0.1", s.https_port)),
                                         server_hostname="localhost")
        c.sendall(fu.REQ)
        assert c.recv(4096).startswith(b"HTTP/1.1 200")
        t0 = time.monotonic()
        c.settimeout(10)
        try:
            while c.recv(4096):
                pass
        except (ConnectionResetError, OSError):
            pass
        took = time.monotonic() - t0
        c.close()
        fu.wait_log(s.frontend_log, r"relay tlsrec \(lean\), .*idle timeout")
        assert 2.5 < took < 3.7, took


def test_tls12_stays_with_openssl():
    _need_echo()
    import ssl
    ctx = fu.tls_context()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with fu.stack(frontend=True, modules=MODULES) as s:
        asyncio.run(_idle_then_echo("wss://localhost:%d/echo" % s.https_port, ssl=ctx,
                                    host="127.0.0.1", port=s.https_port,
                                    server_hostname="localhost"))
        fu.wait_log(s.frontend_log, r"TLSv1\.2 sni: relay openssl, \d+ bytes in, \d+ out, "
                                    r"\d+ms, closed")
        assert not _lean_lines(s.frontend_log)


def test_key_update_after_the_move():
    """openssl s_client sends a KeyUpdate asking for ours ('K' command) to the
    lean child; requests before and after it are answered."""
    with fu.stack(frontend=True, modules=MODULES) as s:
        p = subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:%d" % s.https_port,
                              "-servername", "localhost", "-CAfile", fu.cafile(), "-crlf"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        try:
            req = b"GET / HTTP/1.1\nHost: localhost\n\n"
            p.stdin.write(req)
            p.stdin.flush()
            time.sleep(0.5 + IDLE)
            p.stdin.write(b"K\n")
            p.stdin.flush()
            time.sleep(0.3)
            p.stdin.write(req)
            p.stdin.flush()
            time.sleep(0.5)
            p.stdin.write(b"Q\n")
            p.stdin.flush()
            out = p.communicate(timeout=10)[0].decode(errors="replace")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        assert "KEYUPDATE" in out, out[-2000:]
        assert out.count("HTTP/1.1 200") == 2, out[-2000:]
        fu.wait_log(s.frontend_log, r"relay tlsrec, \d+ bytes in, \d+ out, \d+ms, handed off")
        fu.wait_log(s.frontend_log, r"relay tlsrec \(lean\), \d+ bytes in, \d+ out, \d+ms")


if __name__ == "__main__":
    harness.main(globals())
