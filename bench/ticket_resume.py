# SPDX-License-Identifier: BSD-2-Clause
"""What a shared ticket secret (frontend.tls.ticket_secret_file) saves when a
client comes back on another frontend: two frontends on loopback with the
same secret; for TLS 1.3 and 1.2, N sequential clients each do a full
handshake on B, then N clients resume on B a session made on A. Prints the
client's wall time per connection (connect, handshake, one request) and the
frontend's CPU per connection (master, its reaped children and the key
process, from /proc). Run from a built tree:

    /usr/bin/python3 bench/ticket_resume.py tests/integration [N]"""
import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.abspath(sys.argv[1]))
import harness  # noqa: E402
import fe_util as fu  # noqa: E402

N = int(sys.argv[2]) if len(sys.argv) > 2 else 200
TICK = os.sysconf("SC_CLK_TCK")
REQ = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


def cpu(pid):
    """utime+stime of pid and of its reaped children, plus its live children's own."""
    def stat(p):
        with open("/proc/%d/stat" % p) as f:
            return f.read().rsplit(")", 1)[1].split()
    f = stat(pid)
    total = sum(int(x) for x in f[11:15])  # utime stime cutime cstime
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                g = stat(int(d))
            except OSError:
                continue
            if int(g[1]) == pid:  # ppid: the key process, the waiting room, spares
                total += int(g[11]) + int(g[12])
    return total / TICK


def one(port, ctx, session=None):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        # As browsers do: without it the request after a resumed handshake
        # waits for the server's delayed ACK (Nagle), 40 ms.
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
            s.sendall(REQ)
            while s.recv(65536):
                pass
            return s.session, s.session_reused


def run(stack_b, port_a, version):
    ctx = ssl.create_default_context(cafile=fu.cafile())
    ctx.minimum_version = ctx.maximum_version = version
    pid = stack_b.pid("frontend")
    res = {}
    for kind in ("full", "resumed"):
        sessions = [one(port_a, ctx)[0] for _ in range(N)] if kind == "resumed" else [None] * N
        c0, t0 = cpu(pid), time.monotonic()
        reused = sum(one(stack_b.https_port, ctx, s)[1] for s in sessions)
        wall, used = time.monotonic() - t0, cpu(pid) - c0
        assert reused == (N if kind == "resumed" else 0), (kind, reused)
        res[kind] = (wall / N * 1000, used / N * 1000)
    return res


def main():
    secret = os.path.join(os.path.dirname(harness.CERTS), "bench-ticket.secret")
    with open(secret, "w") as f:
        f.write(os.urandom(32).hex())
    os.chmod(secret, 0o600)
    tls = {"ticket_secret_file": secret}
    try:
        with fu.stack(frontend=True, tls_opts=tls) as a, fu.stack(frontend=True, tls_opts=tls) as b:
            print("%d clients each, one after another; B resumes sessions made on A" % N)
            print("%-8s %-8s %12s %16s" % ("version", "kind", "wall ms/conn", "frontend CPU ms"))
            for name, v in (("TLSv1.3", ssl.TLSVersion.TLSv1_3), ("TLSv1.2", ssl.TLSVersion.TLSv1_2)):
                for kind, (wall, used) in run(b, a.https_port, v).items():
                    print("%-8s %-8s %12.2f %16.2f" % (name, kind, wall, used))
    finally:
        os.unlink(secret)


if __name__ == "__main__":
    main()
