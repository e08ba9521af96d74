# SPDX-License-Identifier: BSD-2-Clause
"""Issue 13.1: a kill -9 of the frontend master is not an outage. Idle
children exit at once and give the listening sockets back, relays finish
their client, and a new master binds at once and serves within 1 s."""
import os
import signal
import socket
import ssl
import time

import harness
import fe_util as fu


def _keepalive(s, tls):
    """A held HTTP keep-alive connection that has had one answer: a relay."""
    raw = socket.create_connection(("127.0.0.1", s.https_port if tls else s.http_port), timeout=5)
    c = fu.tls_context().wrap_socket(raw, server_hostname="localhost") if tls else raw
    _ask(c)
    return c


def _ask(c):
    c.sendall(fu.REQ)
    got = b""
    while b"\r\n\r\n" not in got:
        b = c.recv(4096)
        assert b, "closed before an answer"
        got += b
    assert got.startswith(b"HTTP/1.1 200"), got[:100]
    head, _, body = got.partition(b"\r\n\r\n")
    n = int([h.split(b":")[1] for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0])
    while len(body) < n:
        body += c.recv(4096)


def _listening(port):
    """A socket in LISTEN on port (read from /proc: a probe connect would be
    taken by an orphan, which then lets go of the listener)."""
    for line in open("/proc/net/tcp").readlines()[1:]:
        f = line.split()
        if f[3] == "0A" and int(f[1].split(":")[1], 16) == port:
            return True
    return False


def _served(port):
    try:
        r = harness.raw_exchange(("127.0.0.1", port), fu.REQ_CLOSE, timeout=1)
        return r.startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def test_kill9_master_then_restart():
    with fu.stack(frontend=True, frontend_opts={"min_spare": 4, "max_spare": 8}) as s:
        plain, tls = _keepalive(s, False), _keepalive(s, True)
        old = s.procs["frontend"]
        os.kill(old.pid, signal.SIGKILL)
        old.wait()
        t0 = time.monotonic()
        # No orphan keeps a listener: the ports refuse at once (before the
        # new master), so nothing queues clients nobody will accept.
        harness.wait_for(lambda: not _listening(s.http_port) and not _listening(s.https_port),
                         "the old listeners gone", timeout=2)
        del s.procs["frontend"]
        s.start_frontend()
        harness.wait_for(lambda: _served(s.http_port), "the new master serving", timeout=2)
        took = time.monotonic() - t0
        print("kill -9 to the new master's first answer: %.0f ms" % (took * 1000))
        assert took < 1.5, took
        assert "Address already in use" not in harness.read_file(s.frontend_log)
        assert fu.status(fu.https(s)) == "200"
        # The old relays still carry their clients, and end with them.
        _ask(plain)
        _ask(tls)
        plain.close()
        tls.close()


if __name__ == "__main__":
    harness.main(globals())
