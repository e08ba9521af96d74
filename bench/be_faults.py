# SPDX-License-Identifier: BSD-2-Clause
"""Backend fault figures (issue 13): spread of WebSocket sessions over the
workers, a worker's respawn time after kill -9, and the time a new master
serves after kill -9 of the old one, under load (sessions echoing every
100 ms, ~20 requests/s). Run from a built tree:

    /usr/bin/python3 bench/be_faults.py tests/integration [SESSIONS] [WORKERS] [ROUNDS]"""
import os
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.abspath(sys.argv[1]))
import harness  # noqa: E402
import fault_be_util as fb  # noqa: E402

N = int(sys.argv[2]) if len(sys.argv) > 2 else 200
WORKERS = int(sys.argv[3]) if len(sys.argv) > 3 else 2
ROUNDS = int(sys.argv[4]) if len(sys.argv) > 4 else 5


def live_workers(addr, master):
    try:
        pids = fb.per_worker(addr)
    except (OSError, ValueError):
        return {}
    kids = set(fb.children(master))
    return {p: n for p, n in pids.items() if p in kids}


def spread(s, master, pool):
    counts = live_workers(s.socket, master)
    busiest = max(counts.values())
    print("spread of %d sessions over %d workers: %s; busiest %.1f%%" % (
        N, WORKERS, sorted(counts.values(), reverse=True), 100.0 * busiest / N))


def respawn(s, master):
    times = []
    for _ in range(ROUNDS):
        before = live_workers(s.socket, master)
        victim = min(before)
        t0 = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        fb.wait_until(lambda: len([p for p in live_workers(s.socket, master)
                                   if p not in before]) == 1, "the respawn", step=0.002)
        times.append(time.monotonic() - t0)
        time.sleep(2.1)  # past the quick-death window: no crash-loop back-off
    print("worker respawn (kill -9 to serving from the new one), %d rounds: median %.1f ms, "
          "max %.1f ms" % (ROUNDS, 1000 * statistics.median(times), 1000 * max(times)))


def master_restart(s):
    times = []
    for _ in range(ROUNDS):
        old = s.procs.pop("backend")
        os.kill(old.pid, signal.SIGKILL)
        old.wait()
        t0 = time.monotonic()
        p = subprocess.Popen([harness.BACKEND, "-f", "-c", s.config_path],
                             stdout=open(s.backend_log, "ab"), stderr=subprocess.STDOUT)
        s.procs["backend"] = p
        fb.wait_until(lambda: live_workers(s.socket, p.pid), "the new master", step=0.002)
        times.append(time.monotonic() - t0)
        time.sleep(0.3)
    print("new master serving after kill -9 of the old (start to first answer from its "
          "worker), %d rounds: median %.1f ms, max %.1f ms" % (
              ROUNDS, 1000 * statistics.median(times), 1000 * max(times)))


def main():
    with harness.Stack(modules=[fb.ECHO, fb.STATUS], workers=WORKERS, backend_tcp=False,
                       backend_opts={"log_level": "notice"}) as s:
        master = s.pid("backend")
        fb.wait_until(lambda: len(fb.children(master)) == WORKERS, "the workers")
        fb.workers_ready(s.socket, WORKERS)
        pool = fb.WsPool(s.socket, N)
        pool.open()
        pool.start()
        load = fb.HttpLoad(s.socket, "/status", rate=20).start()
        try:
            time.sleep(0.5)
            spread(s, master, pool)
            respawn(s, master)
            # sessions of the killed workers were cut; the orphans of the master
            # restarts keep theirs until they close below
            master_restart(s)
        finally:
            load.close()
            pool.close()
        print("requests under load: %d ok, %d failed" % (load.ok, load.failed))


if __name__ == "__main__":
    main()
