#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Issue 13.2: connections spread evenly over the backend's workers.

200 WebSocket sessions echoing every 100 ms plus a modest request rate over
the Unix socket, 2 workers: the busiest worker holds at most 60%. kill -9 of
one worker cuts at most the sessions it held, and the respawned worker takes
the new sessions at once (the other is above its share and steps back).
Before the fix (EPOLLEXCLUSIVE) ~94% landed on one worker."""
import os
import signal
import time

import harness
import fault_be_util as fb

N = 200


def test_spread_crash_respawn():
    mods = [fb.ECHO, fb.STATUS]
    with harness.Stack(modules=mods, workers=2, backend_tcp=False) as s:
        master = s.pid("backend")
        fb.wait_until(lambda: len(fb.children(master)) == 2, "2 workers")
        fb.workers_ready(s.socket, 2)  # a lone worker takes every session
        pool = fb.WsPool(s.socket, N)
        load = fb.HttpLoad(s.socket, "/status", rate=20).start()
        try:
            pool.open()
            pool.start()
            time.sleep(0.5)
            counts = fb.per_worker(s.socket)
            print("spread:", counts)
            assert len(counts) == 2, counts
            busiest_pid, busiest = max(counts.items(), key=lambda kv: kv[1])
            assert busiest <= 0.6 * N + 1, "busiest worker holds %d of %d" % (busiest, N)
            # A worker crash cuts at most its share.
            os.kill(busiest_pid, signal.SIGKILL)
            t0 = time.monotonic()
            fb.wait_until(lambda: pool.alive() <= N - busiest + 1, "the cut sessions to close")
            fb.wait_until(lambda: len([p for p in fb.children(master) if p != busiest_pid]) == 2,
                          "the respawn")
            respawn = time.monotonic() - t0
            time.sleep(0.3)
            cut = N - pool.alive()
            print("cut %d sessions (the worker held %d); respawned in %.3f s" %
                  (cut, busiest, respawn))
            assert cut <= busiest + 1, (cut, busiest)
            # New sessions land on the respawned worker.
            before = fb.per_worker(s.socket)
            new_pid = [p for p in before if p != busiest_pid and before[p] <= 2]
            assert new_pid, before
            pool.open(40)
            after = fb.per_worker(s.socket)
            print("after 40 new sessions:", after)
            gained = after.get(new_pid[0], 0) - before[new_pid[0]]
            assert gained >= 35, "respawned worker took %d of 40" % gained
            assert load.failed == 0, load.results[-5:]
        finally:
            load.close()
            pool.close()


if __name__ == "__main__":
    harness.main(globals())
