# SPDX-License-Identifier: BSD-2-Clause
"""What a banned client costs the frontend: N sequential connects from
127.0.0.2 to a TLS service with deny = [ "127.0.0.2" ], each waiting for the
close; prints refusals/s and the frontend's CPU (master, reaped and live
children) per refusal. Run from a built tree:

    /usr/bin/python3 bench/fe_refuse.py tests/integration [N]"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.abspath(sys.argv[1]))
import fe_util as fu  # noqa: E402

def ticks(pid, fields):
    try:
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return sum(int(f[i]) for i in fields)


def cpu_of_tree(pid):
    # the master (utime, stime, and cutime, cstime of its reaped children)
    # plus the live children's own utime, stime
    t = ticks(pid, range(11, 15)) + sum(ticks(k, (11, 12)) for k in fu.children(pid))
    return t / os.sysconf("SC_CLK_TCK")

N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
s = fu.stack(frontend=True, frontend_opts={"log_level": "notice"})
for sv in s.sections["frontend"]["services"]:
    sv["deny"] = ["127.0.0.2"]
s.write_config()
with s:
    time.sleep(0.5)
    pid = s.pid("frontend")
    c0, t0 = cpu_of_tree(pid), time.monotonic()
    for _ in range(N):
        c = socket.socket()
        c.bind(("127.0.0.2", 0))
        c.connect(("127.0.0.1", s.https_port))
        try:
            c.recv(1)
        except ConnectionResetError:
            pass
        c.close()
    time.sleep(0.5)  # let the last children be reaped
    dt, dc = time.monotonic() - t0, cpu_of_tree(pid) - c0
    print("%d refused in %.2fs: %.0f/s, frontend CPU %.1f ms total, %.1f us per refusal"
          % (N, dt, N / dt, dc * 1000, dc * 1e6 / N))
