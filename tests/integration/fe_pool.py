# SPDX-License-Identifier: BSD-2-Clause
"""Frontend process pool: max_children, per_ip_max and debug_ip are
enforced; a child killed mid-connection leaves the others untouched; the
pool is refilled."""
import os
import re
import signal
import socket
import time

import harness
import fe_util as fu


def _busy(s, n, tls=False):
    """n connections that occupy a child each (keep-alive relays; a client
    that sends nothing waits in the master's waiting room, holding none)."""
    port = s.https_port if tls else s.http_port
    # The harness's start-up probes must be gone before we count.
    fu.wait_log(s.frontend_log, r"client 127\.0\.0\.1:\d+: TLS handshake failed")
    time.sleep(0.2)
    conns = []
    for _ in range(n):
        c, head = fu.hold_relay(port, tls)
        conns.append(c)
        time.sleep(0.05)
    return conns


def test_max_children():
    opts = {"max_children": 3, "min_spare": 1, "max_spare": 2, "per_ip_max": 0}
    with fu.stack(frontend=True, frontend_opts=opts) as s:
        held = _busy(s, 3)
        try:
            time.sleep(0.3)
            t0 = time.monotonic()
            out = harness.raw_exchange(("127.0.0.1", s.http_port), fu.REQ)
            assert out.startswith(b"HTTP/1.1 503"), out[:200]
            assert time.monotonic() - t0 < 2, "the 503 was not immediate"
            # TLS: a TLS alert before the handshake (refuse.h), no certificate.
            rc, out = fu.s_client(s.https_port, "localhost")
            assert fu.subject_cn(out) is None, out[-800:]
            fu.wait_log(s.frontend_log, r"refused, max_children \(3\) busy")
            # A flood of refusals is summarised, not logged line by line.
            for _ in range(30):
                out = harness.raw_exchange(("127.0.0.1", s.http_port), fu.REQ)
                assert out.startswith(b"HTTP/1.1 503"), out[:200]
            time.sleep(1.1)
            out = harness.raw_exchange(("127.0.0.1", s.http_port), fu.REQ)
            assert out.startswith(b"HTTP/1.1 503"), out[:200]
            log = harness.read_file(s.frontend_log)
            lines = log.count("refused, max_children (3) busy")
            assert lines <= 4, "%d refusal lines for 32 refusals" % lines
            assert re.search(r"busy; \d+ more such refusals since the last such line", log), log[-2000:]
        finally:
            for c in held:
                c.close()
        # Freed children are replaced: new clients get served again.
        deadline = time.monotonic() + 5
        while True:
            out = harness.raw_exchange(("127.0.0.1", s.http_port), fu.REQ_CLOSE)
            if out.startswith(b"HTTP/1.1 200") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert out.startswith(b"HTTP/1.1 200"), out[:200]


def test_per_ip_max():
    opts = {"per_ip_max": 2, "min_spare": 4, "max_spare": 8}
    with fu.stack(frontend=True, frontend_opts=opts) as s:
        held = _busy(s, 2)
        try:
            time.sleep(0.3)
            out = harness.raw_exchange(("127.0.0.1", s.http_port), fu.REQ)
            assert out.startswith(b"HTTP/1.1 503"), out[:200]
            rc, out = fu.s_client(s.https_port, "localhost")
            assert fu.subject_cn(out) is None, out[-800:]
            fu.wait_log(s.frontend_log, r"client 127\.0\.0\.1:\d+: refused, per_ip_max 2")
        finally:
            for c in held:
                c.close()
        time.sleep(0.3)
        assert fu.status(fu.http(s)) == "200"


def test_debug_ip():
    with fu.stack(frontend=True, ipv6=True, frontend_opts={"debug_ip": "::1"}) as s:
        assert fu.status(fu.http(s, addr="::1")) == "200"
        out = harness.raw_exchange(("127.0.0.1", s.http_port), fu.REQ_CLOSE)
        assert out == b"", out[:200]
        acc = harness.read_file(s.access_log)
        assert "127.0.0.1" not in acc and "::1" in acc, acc


def test_killed_child_leaves_others():
    with fu.stack(frontend=True) as s:
        a = fu.hold(s.http_port, data=fu.REQ)
        b = fu.hold(s.http_port, data=fu.REQ)
        try:
            for c in (a, b):
                c.settimeout(5)
                assert c.recv(4096).startswith(b"HTTP/1.1 200")
            master = s.pid("frontend")
            victim = fu.child_of_client(master, a.getsockname()[1])
            other = fu.child_of_client(master, b.getsockname()[1])
            assert victim and other and victim != other, (victim, other)
            os.kill(victim, signal.SIGKILL)
            assert fu.recv_all(a, 3) == b"", "the killed child's client was not closed"
            # The other client's connection still works (keep-alive).
            b.sendall(fu.REQ)
            assert b.recv(4096).startswith(b"HTTP/1.1 200")
            assert fu.status(fu.http(s)) == "200"
            assert s.procs["frontend"].poll() is None
            fu.wait_log(s.frontend_log, r"child %d .*killed by signal 9" % victim)
        finally:
            a.close()
            b.close()


def test_pool_refills():
    opts = {"min_spare": 3, "max_spare": 5}
    with fu.stack(frontend=True, frontend_opts=opts) as s:
        master = s.pid("frontend")
        harness.wait_for(lambda: len(fu.children(master)) >= 3, "3 spare children")
        held = _busy(s, 4)
        try:
            # 4 busy + at least 3 idle again.
            harness.wait_for(lambda: len(fu.children(master)) >= 7, "pool refilled", timeout=3)
        finally:
            for c in held:
                c.close()
        # Back to at most max_spare idle ones.
        harness.wait_for(lambda: len(fu.children(master)) <= 5, "pool trimmed", timeout=5)


if __name__ == "__main__":
    harness.main(globals())
