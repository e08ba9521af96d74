#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Issue 13.1: the backend master's death is not an outage.

Under load (WebSocket sessions echoing, a request rate), kill -9 of the
backend master: its workers close their listeners at once and keep their
sessions; a new master started right away (the pid file lock, not "something
answers on the socket", says none runs) serves new clients within 1 s on the
Unix socket and on TCP; the orphans exit once their clients leave.
Before the fix the restart was refused ("another process is listening on
it") and the orphans stayed."""
import os
import signal
import subprocess
import time

import harness
import fault_be_util as fb

SESSIONS = 40


def _serves(addr, master):
    """True when a worker of master (not an orphan) answered on addr."""
    try:
        pids = set(fb.per_worker(addr))
    except (OSError, ValueError):
        return False
    return bool(pids) and pids <= set(fb.children(master))


def test_master_kill_restart_orphans_drain():
    mods = [fb.ECHO, fb.STATUS]
    with harness.Stack(modules=mods, workers=2) as s:
        master = s.pid("backend")
        workers = fb.wait_until(lambda: (lambda c: c if len(c) == 2 else None)(
            fb.children(master)), "2 workers")
        pool = fb.WsPool(s.socket, SESSIONS)
        pool.open()
        pool.start()
        load = fb.HttpLoad(s.socket, "/status", rate=20).start()
        try:
            time.sleep(0.3)
            os.kill(master, signal.SIGKILL)
            s.procs.pop("backend").wait()
            t0 = time.monotonic()
            log = open(s.backend_log, "ab")
            p = subprocess.Popen([harness.BACKEND, "-f", "-c", s.config_path], stdout=log,
                                 stderr=subprocess.STDOUT)
            s.procs["backend"] = p
            tcp = ("127.0.0.1", s.backend_port)
            fb.wait_until(lambda: p.poll() is not None or (_serves(s.socket, p.pid) and
                                                         _serves(tcp, p.pid)),
                          "the new master to serve", timeout=5)
            took = time.monotonic() - t0
            print("new master serves unix and tcp %.3f s after its start" % took)
            assert p.poll() is None, harness.read_file(s.backend_log)[-2000:]
            assert took < 1.0, took
            # The orphans kept every session and accept nothing new.
            time.sleep(0.3)
            assert pool.alive() == SESSIONS, (pool.alive(), pool.closed)
            assert all(fb.alive(w) for w in workers)
            new_workers = fb.children(p.pid)
            assert not set(new_workers) & set(workers)
            log_text = harness.read_file(s.backend_log)
            assert "the master is gone; not accepting" in log_text, log_text[-2000:]
            # Requests after the restart are served (by the new generation).
            n_ok = load.ok
            time.sleep(0.5)
            assert load.ok > n_ok
            # Their clients leave: the orphans exit.
            pool.close()
            fb.wait_until(lambda: not any(fb.alive(w) for w in workers),
                          "the orphans to exit after their sessions closed", timeout=5)
        finally:
            load.close()
            pool.close()
        late = [r for r in load.results if r[0] > t0 + 1.0 and r[1] is None]
        assert not late, late[:5]


if __name__ == "__main__":
    harness.main(globals())
