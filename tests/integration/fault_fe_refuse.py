# SPDX-License-Identifier: BSD-2-Clause
"""Issue 13.5, 13.6 (frontend): refusals are quiet and clear, and fail fast.
A flood of per-IP refusals logs about one line a second with a count; a TLS
client over the limit gets a TLS alert, not a reset; a backend that cannot
take a connection (backlog full, or not running) gets the client a 503 with
Retry-After at once."""
import os
import re
import socket
import time

import harness
import fe_util as fu


def _relay(port):
    """A held keep-alive connection, or None when it was refused."""
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.sendall(fu.REQ)
    if c.recv(4096).startswith(b"HTTP/1.1 200"):
        return c
    c.close()
    return None


def test_per_ip_flood_is_quiet_and_tls_gets_an_alert():
    with fu.stack(frontend=True, frontend_opts={"per_ip_max": 2, "min_spare": 4,
                                                "max_spare": 8}) as s:
        # the harness's start-up probes must be gone before we count
        fu.wait_log(s.frontend_log, r"client 127\.0\.0\.1:\d+: TLS handshake failed")
        time.sleep(0.3)
        held = []
        while len(held) < 4:  # up to the limit (the refused one is closed)
            c = _relay(s.http_port)
            if c is None:
                break
            held.append(c)
        assert 1 <= len(held) <= 2, len(held)
        t0, n = time.monotonic(), 0
        while time.monotonic() - t0 < 2.5:
            r = harness.raw_exchange(("127.0.0.1", s.http_port), fu.REQ_CLOSE, timeout=5)
            assert r.startswith(b"HTTP/1.1 503"), r[:80]
            assert b"\r\nRetry-After: 1\r\n" in r
            n += 1
        took = time.monotonic() - t0
        rc, out = fu.s_client(s.https_port, "localhost", data=b"")
        assert re.search(r"alert internal error|alert number 80", out), out[-800:]
        time.sleep(0.3)
        lines = [l for l in harness.read_file(s.frontend_log).splitlines()
                 if "per_ip_max 2 reached" in l]
        print("%d refusals in %.1f s: %d log lines" % (n, took, len(lines)))
        assert n > 50
        assert len(lines) <= took + 2, lines
        assert any("more such refusals" in l for l in lines), lines
        for c in held:
            c.close()


def _full_backend(path):
    """A backend socket whose backlog is full: it never accepts."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(0)
    fill = []
    for _ in range(4):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(path)
        except (BlockingIOError, OSError):
            c.close()
            break
        fill.append(c)
    return srv, fill


def _quick_503(s, tls):
    t0 = time.monotonic()
    r = fu.https(s, check=False, extra=("-i",)) if tls else fu.http(s, check=False, extra=("-i",))
    took = time.monotonic() - t0
    assert fu.status(r) == "503", r.stdout[-300:]
    assert "Retry-After: 1" in r.stdout
    return took


def test_backend_full_or_down_503_at_once():
    with fu.stack(frontend=True, frontend_opts={"backend_retry": 3}) as s:
        assert fu.status(fu.http(s)) == "200"
        s.stop("backend")
        if os.path.exists(s.socket):
            os.unlink(s.socket)
        srv, fill = _full_backend(s.socket)
        try:
            for tls in (False, True):
                took = _quick_503(s, tls)
                print("backlog full: 503 in %.0f ms (tls %s)" % (took * 1000, tls))
                assert took < 1.0, took  # not backend_retry (3 s)
        finally:
            for c in fill:
                c.close()
            srv.close()
            os.unlink(s.socket)
        fu.wait_log(s.frontend_log, r"backend unreachable: unix:\S+: backlog full; 503")


def test_backend_down_without_retry():
    with fu.stack(frontend=True, frontend_opts={"backend_retry": 0}) as s:
        s.stop("backend")
        assert _quick_503(s, False) < 1.0


if __name__ == "__main__":
    harness.main(globals())
