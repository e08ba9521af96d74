# SPDX-License-Identifier: BSD-2-Clause
"""Frontend timeouts: no first request byte gets a 408 page (plaintext and
TLS); a stalled handshake is closed; WebSocket-like traffic keeps a
connection past idle_timeout while a silent one is closed."""
import socket
import ssl
import time

import harness
import fe_util as fu


def test_request_timeout_408():
    opts = {"request_timeout": 0.5}
    with fu.stack(frontend=True, frontend_opts=opts) as s:
        c = fu.hold(s.http_port)
        t0 = time.monotonic()
        out = fu.recv_all(c, 5)
        c.close()
        assert out.startswith(b"HTTP/1.1 408"), out[:200]
        assert time.monotonic() - t0 < 3
        raw = fu.hold(s.https_port)
        t = fu.tls_context().wrap_socket(raw, server_hostname="localhost")
        out = fu.recv_all(t, 5)
        t.close()
        assert out.startswith(b"HTTP/1.1 408"), out[:200]


def test_handshake_timeout():
    with fu.stack(frontend=True, frontend_opts={"handshake_timeout": 0.5}) as s:
        c = fu.hold(s.https_port)
        t0 = time.monotonic()
        out = fu.recv_all(c, 5)
        c.close()
        assert out == b"" and time.monotonic() - t0 < 3, out
        # It sent nothing: it waited in the master's waiting room, not a child.
        fu.wait_log(s.frontend_log, r"waiting room: a TLS client closed, no ClientHello")


def test_idle_timeout_and_traffic():
    with fu.stack(frontend=True, frontend_opts={"idle_timeout": 1}) as s:
        busy = fu.hold(s.http_port, data=fu.REQ)
        quiet = fu.hold(s.http_port, data=fu.REQ)
        try:
            for c in (busy, quiet):
                assert c.recv(4096).startswith(b"HTTP/1.1 200")
            # Traffic every 0.4 s keeps one alive for 2.4 s; the other closes at 1 s.
            for _ in range(6):
                time.sleep(0.4)
                busy.sendall(fu.REQ)
                assert busy.recv(4096).startswith(b"HTTP/1.1 200")
            assert fu.recv_all(quiet, 1) == b""
            fu.wait_log(s.frontend_log, r"idle timeout")
        finally:
            busy.close()
            quiet.close()


if __name__ == "__main__":
    harness.main(globals())
