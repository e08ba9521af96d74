# SPDX-License-Identifier: BSD-2-Clause
"""Time to serve after a kill -9 of the frontend master: with an idle pool
and open relays (keep-alive, plain and TLS), kill -9 the master, start a new
one at once, and time until its first 200; ROUNDS times. Run from a built
tree:

    /usr/bin/python3 bench/fe_restart.py tests/integration [ROUNDS]"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.abspath(sys.argv[1]))
import harness  # noqa: E402
import fe_util as fu  # noqa: E402

ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 10


def served(port):
    try:
        return harness.raw_exchange(("127.0.0.1", port), fu.REQ_CLOSE,
                                    timeout=1).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


took, failed = [], 0
with fu.stack(frontend=True, frontend_opts={"min_spare": 8, "max_spare": 32,
                                            "log_level": "notice"}) as s:
    for r in range(ROUNDS):
        held = [fu.hold_relay(s.http_port)[0], fu.hold_relay(s.https_port, tls=True)[0]]
        p = s.procs.pop("frontend")
        t0 = time.monotonic()
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        s.start_frontend()
        while not served(s.http_port):
            if time.monotonic() - t0 > 5:
                failed += 1
                break
            time.sleep(0.005)
        took.append(time.monotonic() - t0)
        for c in held:
            fu.ask(c)  # the old relays still answer
            c.close()
    log = harness.read_file(s.frontend_log)
took.sort()
print("kill -9 to first 200 from the new master, %d rounds: median %.0f ms, max %.0f ms, "
      "%d failed, 'Address already in use' %d times" % (
          ROUNDS, took[len(took) // 2] * 1000, took[-1] * 1000, failed,
          log.count("Address already in use")))
