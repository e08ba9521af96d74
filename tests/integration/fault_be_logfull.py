#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Issue 13.7: a full log disk neither crashes nor blocks the backend.

The error and access logs live on a 1 MiB tmpfs (needs root to mount; skips
otherwise) that the test fills up. Under load (WebSocket sessions, a request
rate, requests that log a line each) every request is still answered quickly;
lines are dropped and counted (common/log.c), and once there is room the log
says how many were lost and carries on."""
import os
import re
import subprocess
import time

import harness
import fault_be_util as fb


def _fill(path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"x" * 4096) > 0:
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


def _bad(addr):
    c = fb.connect(addr)
    c.sendall(b"NOT A REQUEST\r\n\r\n")
    data = c.recv(100)
    c.close()
    return data


def test_full_log_disk():
    if os.geteuid() != 0:
        raise harness.Skip("needs root to mount a 1 MiB tmpfs")
    s = harness.Stack(modules=[fb.ECHO, fb.STATUS], workers=2, backend_tcp=False)
    logs = os.path.join(s.tmp, "logs")
    os.mkdir(logs)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", logs]).returncode:
        raise harness.Skip("cannot mount a tmpfs here")
    try:
        # In the foreground (as the harness runs it) the error log is stderr:
        # a file on the tmpfs, which is the same write path as error_log.
        err_log = s.backend_log = os.path.join(logs, "backend.log")
        s.sections["backend"].update({"access_log": os.path.join(logs, "access.log"),
                                      "log_level": "debug"})
        s.write_config()
        with s:
            pool = fb.WsPool(s.socket, 20)
            pool.open()
            pool.start()
            load = fb.HttpLoad(s.socket, "/status", rate=30).start()
            filler = os.path.join(logs, "filler")
            try:
                _fill(filler)
                t0 = time.monotonic()
                while time.monotonic() - t0 < 2.0:
                    assert _bad(s.socket).startswith(b"HTTP/1.1 400")
                    time.sleep(0.01)
                assert s.procs["backend"].poll() is None, "the backend died on a full disk"
                during = [r for r in load.results if r[0] >= t0]
                assert during and all(r[1] is not None and r[1] < 0.5 for r in during), \
                    [r for r in during if r[1] is None or r[1] >= 0.5][:5]
                os.unlink(filler)
                fb.wait_until(lambda: (_bad(s.socket), load.one()) and re.search(
                    r"\d+ log lines dropped \(No space left on device\)",
                    harness.read_file(err_log)), "the dropped-lines note", timeout=5)
                log = harness.read_file(err_log)
                m = re.search(r"(\d+) log lines dropped", log)
                print("after the disk had room again:", m.group(0))
                assert int(m.group(1)) > 0
                fb.wait_until(lambda: load.one() and re.search(
                    r"\d+ access log lines dropped", harness.read_file(err_log)),
                    "the access-log note", timeout=5)
                assert pool.alive() == 20
                assert load.failed == 0, [r for r in load.results if r[1] is None][:5]
            finally:
                load.close()
                pool.close()
    finally:
        subprocess.run(["umount", "-l", logs])


if __name__ == "__main__":
    harness.main(globals())
