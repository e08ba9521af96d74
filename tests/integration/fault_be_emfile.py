#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Issue 13.6 (backend): at its descriptor limit a worker pauses accepting for
100 ms (the listener out of its loop, so it does not spin), says so at most
once a second with a count of the pauses it did not log, and resumes when
descriptors are free again. A client that gave up on an upgrade while it was
queued gets no 101 later. The limit is lowered on the running worker with
prlimit(2); WebSocket sessions and requests keep running around it."""
import os
import re
import resource
import socket
import time

import harness
import fault_be_util as fb


def _fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def test_fd_limit_pause_log_resume():
    mods = [fb.ECHO, fb.STATUS]
    with harness.Stack(modules=mods, workers=1, backend_tcp=False) as s:
        master = s.pid("backend")
        worker = fb.wait_until(lambda: (fb.children(master) or [None])[0], "the worker")
        pool = fb.WsPool(s.socket, 10)
        pool.open()
        pool.start()
        time.sleep(0.2)
        base = _fds(worker)
        resource.prlimit(worker, resource.RLIMIT_NOFILE, (base + 4, base + 4))
        extra = fb.WsPool(s.socket, 4)
        extra.open()          # uses up the limit
        # An upgrade that waits in the backlog and is abandoned.
        gone = fb.connect(s.socket)
        gone.sendall(fb.UPGRADE)
        gone.settimeout(0.5)
        try:
            assert gone.recv(100) == b"", "answered at the fd limit?"
        except socket.timeout:
            pass
        gone.close()
        # Pausing, not spinning: the worker sleeps between tries.
        time.sleep(2.2)
        with open("/proc/%d/stat" % worker) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu_ticks = int(fields[11]) + int(fields[12])
        log = harness.read_file(s.backend_log)
        lines = re.findall(r"accept: Too many open files; pausing accepts for 100 ms(.*)", log)
        print("EMFILE lines in ~2.7 s:", len(lines), lines[-1:] if lines else "")
        assert 1 <= len(lines) <= 5, lines
        assert any("more pauses since the last such line" in x for x in lines[1:]), lines
        # Room again: the queued, abandoned upgrade gets no 101, a new client one at once.
        extra.close()
        t0 = time.monotonic()
        c = fb.ws_open(s.socket)
        took = time.monotonic() - t0
        c.close()
        print("101 %.3f s after descriptors were free" % took)
        assert took < 0.5, took
        assert pool.alive() == 10
        time.sleep(0.3)
        acc = harness.read_file(s.access_log)
        n101 = len(re.findall(r'"GET /echo HTTP/1.1" 101 ', acc))
        assert n101 == 10 + 4 + 1, "%d upgrades answered (the abandoned one too?)" % n101
        load = fb.HttpLoad(s.socket, "/status", rate=20)
        for _ in range(5):
            assert load.one()
        pool.close()
        assert cpu_ticks < 100, "the worker spun at the fd limit: %d ticks" % cpu_ticks


if __name__ == "__main__":
    harness.main(globals())
