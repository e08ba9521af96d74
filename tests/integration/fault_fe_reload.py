# SPDX-License-Identifier: BSD-2-Clause
"""Issue 13.3: a reload never kills a live session by default. Ten HUP
reloads in a row with WebSocket sessions open (wss and ws through the
frontend to the backend's echo module): every session stays up and echoes
after the tenth. With a limit set, a relay over it ends with a TLS
close_notify (not a reset, not a SIGKILL) and a log line."""
import asyncio
import os
import signal
import socket
import ssl

import harness
import fe_util as fu

MODULES = [{"module": "hello", "path": "/"}, {"module": "echo", "path": "/echo"}]
SESSIONS = 12


def _need_echo():
    if not os.path.exists(os.path.join(harness.MODULE_DIR, "echo.so")):
        raise harness.Skip("the backend has no echo module (%s/echo.so)" % harness.MODULE_DIR)


async def _open(s, tls):
    import websockets
    if tls:
        return await websockets.connect("wss://localhost:%d/echo" % s.https_port,
                                        ssl=fu.tls_context(), host="127.0.0.1",
                                        port=s.https_port, server_hostname="localhost",
                                        open_timeout=10)
    return await websockets.connect("ws://127.0.0.1:%d/echo" % s.http_port, open_timeout=10)


async def _echo(ws, msg):
    await ws.send(msg)
    got = await asyncio.wait_for(ws.recv(), 10)
    assert got == msg, (got, msg)


async def _reloads(s):
    sessions = [await _open(s, i % 3 != 0) for i in range(SESSIONS)]
    for n in range(1, 11):
        s.signal("frontend", signal.SIGHUP)
        await asyncio.get_running_loop().run_in_executor(
            None, fu.wait_count, s.frontend_log, r"reloaded: generation", n)
        # Sessions now idle past 1 s are in lean children of old generations.
        await asyncio.sleep(0.4 if n % 3 else 1.2)
        await asyncio.gather(*(_echo(ws, "r%d-%d" % (n, i)) for i, ws in enumerate(sessions)))
    await asyncio.gather(*(_echo(ws, "after %d" % i) for i, ws in enumerate(sessions)))
    for ws in sessions:
        await ws.close()


def test_ten_reloads_keep_every_session():
    _need_echo()
    with fu.stack(frontend=True, modules=MODULES) as s:
        asyncio.run(_reloads(s))
        log = harness.read_file(s.frontend_log)
        assert "reload limits" not in log
        assert "killed" not in log


def _limit_ends_with_close_notify(lean):
    with fu.stack(frontend=True, frontend_opts={"reload_max_generations": 1}) as s:
        raw = socket.create_connection(("127.0.0.1", s.https_port), timeout=5)
        c = fu.tls_context().wrap_socket(raw, server_hostname="localhost")
        c.sendall(fu.REQ)
        assert c.recv(4096).startswith(b"HTTP/1.1 200")
        if lean:  # idle for a second: the connection moves to a lean child
            fu.wait_log(s.frontend_log, r"handed to lean relay")
        for n in (2, 3):
            s.signal("frontend", signal.SIGHUP)
            fu.wait_log(s.frontend_log, r"reloaded: generation %d" % n)
        fu.wait_log(s.frontend_log, r"of generation 1: ending its client \(reload limits\)")
        c.settimeout(5)
        rest = b""
        while True:
            b = c.recv(4096)  # SSLEOFError here: a close without close_notify
            if not b:
                break
            rest += b
        fu.wait_log(s.frontend_log, r"%s, ended by the master \(reload limits\)" %
                    (r"\(lean\).*" if lean else ""))
        assert "still there" not in harness.read_file(s.frontend_log)
        c.close()


def test_limit_ends_with_close_notify():
    _limit_ends_with_close_notify(False)


def test_limit_ends_a_lean_relay_with_close_notify():
    _limit_ends_with_close_notify(True)


if __name__ == "__main__":
    harness.main(globals())
