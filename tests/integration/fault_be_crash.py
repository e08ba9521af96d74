#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Issue 13.7: a module that crashes its worker on every request is backed off.

crashtest raises SIGSEGV on .../boom. Each crash is logged by the master with
the module, its mount, the request and the signal (from the record the worker
wrote before the callback, read as untrusted text); the worker is respawned
at once; after module_crash_limit crashes within module_crash_window the mount
answers 503 with Retry-After for module_crash_backoff, while other mounts and
vhosts are served throughout, under load. Then the mount is served again."""
import os
import re
import time

import harness
import fault_be_util as fb

BACKOFF_S = 2


def _moddir(tmp):
    d = os.path.join(tmp, "mods")
    os.mkdir(d)
    for name in ("echo", "status", "hello"):
        os.symlink(os.path.join(harness.MODULE_DIR, name + ".so"), os.path.join(d, name + ".so"))
    src = os.path.join(fb.TEST_MODS, "crashtest.so")
    if not os.path.exists(src):
        raise AssertionError("tests/modules/crashtest.so not built")
    os.symlink(src, os.path.join(d, "crashtest.so"))
    return d


def _req(addr, path, host="localhost"):
    try:
        return fb.get(addr, path, host)
    except OSError:
        return b""


def test_crash_loop_backs_the_mount_off():
    mods = [fb.ECHO, fb.STATUS, {"module": "hello", "path": "/"},
            {"module": "crashtest", "path": "/crash"}]
    s = harness.Stack(modules=mods, workers=2, backend_tcp=False)
    s.sections["backend"].update({"module_dir": _moddir(s.tmp), "module_crash_limit": 3,
                                  "module_crash_window": 30, "module_crash_backoff": BACKOFF_S})
    s.write_config()
    with s:
        pool = fb.WsPool(s.socket, 20)
        pool.open()
        pool.start()
        load = fb.HttpLoad(s.socket, "/", rate=20).start()
        try:
            assert _req(s.socket, "/crash/ok").startswith(b"HTTP/1.1 200")
            for i in range(3):
                out = _req(s.socket, "/crash/boom%d" % i)
                assert not out.startswith(b"HTTP/1.1 200"), out
                harness.wait_for(lambda: len(re.findall(
                    r"killed by signal 11 \(Segmentation fault\) in module crashtest "
                    r"\(backend\.modules\.\[3\], mount /crash\) serving GET /crash/boom",
                    harness.read_file(s.backend_log))) > i, "crash %d logged" % i)
            fb.wait_until(lambda: "answering 503 on it for %d ms" % (BACKOFF_S * 1000)
                          in harness.read_file(s.backend_log), "the back-off line")
            t_off = time.monotonic()
            out = _req(s.socket, "/crash/boom")
            assert out.startswith(b"HTTP/1.1 503") and b"Retry-After: " in out, out
            assert _req(s.socket, "/crash/ok").startswith(b"HTTP/1.1 503")
            # Other mounts and vhosts are served meanwhile.
            assert _req(s.socket, "/").startswith(b"HTTP/1.1 200")
            assert _req(s.socket, "/", host="alt.localhost").startswith(b"HTTP/1.1 200")
            log = harness.read_file(s.backend_log)
            assert "restarting in 0 ms" in log, log[-2000:]
            # After the back-off the mount is served again.
            fb.wait_until(lambda: _req(s.socket, "/crash/ok").startswith(b"HTTP/1.1 200"),
                          "the mount back", timeout=BACKOFF_S + 3)
            assert time.monotonic() - t_off >= BACKOFF_S - 0.5
            ok_before = load.ok
            time.sleep(0.3)
            assert load.ok > ok_before
            # Only requests in flight on a crashing worker may have failed.
            assert load.failed <= 3, [r for r in load.results if r[1] is None]
        finally:
            load.close()
            pool.close()


def test_crash_on_a_websocket_message_is_attributed():
    """A module that dies on a WebSocket message is named with its mount; with
    module_crash_limit = 1 its mount refuses new upgrades (503) at once while
    another WebSocket mount keeps its sessions and takes new ones."""
    mods = [fb.ECHO, fb.STATUS, {"module": "crashtest", "path": "/crashws"}]
    s = harness.Stack(modules=mods, workers=2, backend_tcp=False)
    s.sections["backend"].update({"module_dir": _moddir(s.tmp), "module_crash_limit": 1,
                                  "module_crash_backoff": 5})
    s.write_config()
    with s:
        fb.workers_ready(s.socket, 2)  # a lone worker takes every session
        pool = fb.WsPool(s.socket, 10)
        pool.open()
        pool.start()
        try:
            c = fb.ws_open(s.socket, path="/crashws")
            c.sendall(fb.frame(b"boom"))
            harness.wait_for(lambda: re.search(
                r"killed by signal 11 \(Segmentation fault\) in module crashtest "
                r"\(backend\.modules\.\[2\], mount /crashws\) serving WebSocket message",
                harness.read_file(s.backend_log)), "the crash logged")
            c.close()
            out = _req(s.socket, "/crashws")
            assert out.startswith(b"HTTP/1.1 503"), out
            try:
                fb.ws_open(s.socket, path="/crashws").close()
                raise AssertionError("upgrade accepted on a backed-off mount")
            except ConnectionError as e:
                assert "503" in str(e), e
            fb.ws_open(s.socket).close()
            assert pool.alive() >= 4, pool.alive()  # only the crashed worker's share was cut
        finally:
            pool.close()


if __name__ == "__main__":
    harness.main(globals())
