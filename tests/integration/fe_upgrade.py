# SPDX-License-Identifier: BSD-2-Clause
"""Frontend binary upgrade in place (kill -USR2, issue 12 item 4, frontend
part; frontend/upgrade.c on common/upgrade.c).

* the master re-executes its binary: same pid, the WebSocket sessions open
  through it (ws and wss, some already in lean children) go on echoing, a
  keep-alive relay in flight goes on, new clients are served on both ports,
  and a reload after the upgrade works;
* a new binary that cannot start (not there, or failing its -t check) or a
  configuration that became invalid leaves the running master as it was,
  with a log line.

The frontend runs from a copy of its binary in the test's directory, so
that the test can replace or remove it.
"""
import asyncio
import os
import shutil
import signal

import harness
import fe_util as fu

MODULES = [{"module": "hello", "path": "/"}, {"module": "echo", "path": "/echo"}]
SESSIONS = 6


def _need_echo():
    if not os.path.exists(os.path.join(harness.MODULE_DIR, "echo.so")):
        raise harness.Skip("the backend has no echo module (%s/echo.so)" % harness.MODULE_DIR)


def _own_binary(s):
    """The frontend binary copied into the stack's directory, used from now on."""
    path = os.path.join(s.tmp, "bin", "bactrian-frontend")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    shutil.copy2(harness.FRONTEND, path)
    return path


class binary:
    """Stack(frontend=False) plus a frontend started from a copy of the binary."""

    def __init__(self, **kw):
        self.s = fu.stack(frontend=True, modules=MODULES, **kw)
        self.s.want_frontend = False

    def __enter__(self):
        s = self.s.__enter__()
        s.want_frontend = True
        self.path = _own_binary(s)
        saved, harness.FRONTEND = harness.FRONTEND, self.path
        try:
            s.start_frontend()
        finally:
            harness.FRONTEND = saved
        return s, self.path

    def __exit__(self, *exc):
        return self.s.__exit__(*exc)


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


def _served(s):
    assert fu.status(fu.http(s)) == "200"
    assert fu.status(fu.https(s)) == "200"


async def _upgrade(s):
    pid = s.pid("frontend")
    sessions = [await _open(s, i % 2 == 0) for i in range(SESSIONS)]
    await asyncio.gather(*(_echo(ws, "before %d" % i) for i, ws in enumerate(sessions)))
    await asyncio.sleep(1.3)  # idle past 1 s: some are in lean children now
    relay, head = fu.hold_relay(s.http_port)
    assert b" 200 " in head, head
    s.signal("frontend", signal.SIGUSR2)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, fu.wait_log, s.frontend_log,
                               r"upgrade: pid %d, generation 2, \d+ children kept" % pid)
    assert s.procs["frontend"].poll() is None, "the master exited"
    await asyncio.gather(*(_echo(ws, "after %d" % i) for i, ws in enumerate(sessions)))
    assert b" 200 " in fu.ask(relay), "the keep-alive relay did not survive"
    relay.close()
    await loop.run_in_executor(None, _served, s)
    # The new image reloads as any master does.
    s.signal("frontend", signal.SIGHUP)
    await loop.run_in_executor(None, fu.wait_log, s.frontend_log, r"reloaded: generation 3")
    await asyncio.gather(*(_echo(ws, "reloaded %d" % i) for i, ws in enumerate(sessions)))
    await loop.run_in_executor(None, _served, s)
    for ws in sessions:
        await ws.close()
    return pid


def test_upgrade_keeps_pid_sessions_and_listeners():
    _need_echo()
    with binary() as (s, _):
        pid = asyncio.run(_upgrade(s))
        assert s.pid("frontend") == pid
        log = harness.read_file(s.frontend_log)
        assert "upgraded to" in log and "key process" in log
        assert s.stop("frontend") == 0


def _still_running(s, pid, failures):
    fu.wait_count(s.frontend_log, r"upgrade: .*still running", failures)
    assert s.procs["frontend"].poll() is None and s.pid("frontend") == pid
    _served(s)


def test_bad_binary_or_config_leaves_old_running():
    with binary() as (s, path):
        pid = s.pid("frontend")
        relay, head = fu.hold_relay(s.https_port, tls=True)
        # 1. The binary is gone.
        os.rename(path, path + ".real")
        s.signal("frontend", signal.SIGUSR2)
        _still_running(s, pid, 1)
        assert "cannot execute" in harness.read_file(s.frontend_log)
        # 2. A binary that fails its -t check.
        with open(path, "w") as f:
            f.write("#!/bin/sh\necho 'broken build' >&2\nexit 3\n")
        os.chmod(path, 0o755)
        s.signal("frontend", signal.SIGUSR2)
        _still_running(s, pid, 2)
        assert "broken build" in harness.read_file(s.frontend_log)
        # 3. The real binary, but the configuration became invalid.
        os.replace(path + ".real", path)
        good = harness.read_file(s.config_path)
        with open(s.config_path, "w") as f:
            f.write(good + "\nfrontend: { nonsense = ; };\n")
        s.signal("frontend", signal.SIGUSR2)
        _still_running(s, pid, 3)
        assert "upgraded to" not in harness.read_file(s.frontend_log)
        assert b" 200 " in fu.ask(relay), "a relay did not survive the failed upgrades"
        relay.close()
        # And once all is well again, the upgrade goes through.
        with open(s.config_path, "w") as f:
            f.write(good)
        s.signal("frontend", signal.SIGUSR2)
        fu.wait_log(s.frontend_log, r"upgrade: pid %d, generation 2" % pid)
        _served(s)


if __name__ == "__main__":
    harness.main(globals())
