# SPDX-License-Identifier: BSD-2-Clause
"""Issue 13.6 (frontend): at the descriptor limit nothing hangs. The
master's RLIMIT_NOFILE is lowered (prlimit) and its idle children replaced,
so every new child has (almost) no descriptor to spare: clients get an
answer at once, 200 or 503 with Retry-After, never a hang, and the log
says so once a second at most."""
import os
import re
import shutil
import signal
import subprocess
import time

import harness
import fe_util as fu


def low_limit_round(s, master, limit):
    """40 requests with the master (and so new children) at limit
    descriptors; every one answered at once, 200 or 503."""
    subprocess.run(["prlimit", "--pid", str(master), "--nofile=%d:%d" % (limit, limit)],
                   check=True)
    keyproc = {int(x) for x in re.findall(r"key process (\d+) started",
                                          harness.read_file(s.frontend_log))}
    for pid in set(fu.children(master)) - keyproc:  # replaced by children with the low limit
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    time.sleep(0.5)
    seen = {}
    for _ in range(40):
        t = time.monotonic()
        try:
            r = harness.raw_exchange(("127.0.0.1", s.http_port), fu.REQ_CLOSE, timeout=3)
        except OSError as e:
            r = repr(e).encode()
        took = time.monotonic() - t
        code = r[9:12].decode("ascii", "replace") if r.startswith(b"HTTP/1.1 ") else r[:40]
        seen[code] = seen.get(code, 0) + 1
        assert took < 1.5, "hung %.1f s: %r" % (took, r[:80])
        if r.startswith(b"HTTP/1.1 503"):
            assert b"Retry-After: 1" in r
    assert set(seen) <= {"200", "503"}, seen
    return seen


def test_low_nofile_answers_at_once():
    if not shutil.which("prlimit"):
        raise harness.Skip("no prlimit")
    with fu.stack(frontend=True, frontend_opts={"min_spare": 2, "max_spare": 2}) as s:
        master = s.pid("frontend")
        fu.wait_log(s.frontend_log, r"started ")  # the ports answer before setup is done
        time.sleep(0.2)
        n_master = len(os.listdir("/proc/%d/fd" % master))
        # How many descriptors a child has left depends on how many it
        # inherits (key process channels, waiting room...): lower the limit
        # step by step until it bites, within a bounded number of steps.
        t0 = time.monotonic()
        for limit in (12, 10, 8, 6):
            seen = low_limit_round(s, master, limit)
            if "503" in seen:
                break
        elapsed = time.monotonic() - t0
        print("master had %d descriptors, limit %d: %r" % (n_master, limit, seen))
        assert "503" in seen, "the low limit did not bite: %r" % seen
        log = harness.read_file(s.frontend_log)
        lines = [l for l in log.splitlines() if "Too many open files" in l]
        assert len(lines) <= elapsed + 3, lines


if __name__ == "__main__":
    harness.main(globals())
