# SPDX-License-Identifier: BSD-2-Clause
"""Connect-time access control (frontend.services.[i].allow / deny): a refused
client is closed before a byte is read, on plaintext and TLS services alike,
IPv4 and IPv6; a client behind a trusted PROXY sender is judged by the address
its header names, before the TLS handshake; refusals are logged at most once a
second with a count of the rest."""
import re
import socket
import ssl
import struct
import time

import harness
import fe_util as fu

BANNED = "127.0.0.2"


def _stack(**svc):
    s = fu.stack(frontend=True, ipv6=True)
    for sv in s.sections["frontend"]["services"]:
        sv.update(svc)
    s.write_config()
    return s


def _connect(port, src=None, family=socket.AF_INET, host="127.0.0.1"):
    c = socket.socket(family, socket.SOCK_STREAM)
    c.settimeout(5)
    if src:
        c.bind((src, 0))
    c.connect((host, port))
    return c


def _plain(s, src=None, family=socket.AF_INET, host="127.0.0.1"):
    """The answer to a GET over plaintext (b"" when closed unanswered)."""
    c = _connect(s.http_port, src, family, host)
    try:
        c.sendall(fu.REQ_CLOSE)
        return fu.recv_all(c)
    except (ConnectionResetError, BrokenPipeError):
        return b""
    finally:
        c.close()


def _tls(s, src=None, family=socket.AF_INET, host="127.0.0.1"):
    """The answer to a GET over TLS, or None when the handshake failed."""
    c = _connect(s.https_port, src, family, host)
    try:
        with fu.tls_context().wrap_socket(c, server_hostname="localhost") as t:
            t.sendall(fu.REQ_CLOSE)
            return fu.recv_all(t)
    except (ssl.SSLError, ConnectionError, OSError):
        return None
    finally:
        c.close()


def _served(out):
    return out is not None and out.startswith(b"HTTP/1.1 200")


def test_deny_ipv4_host_on_plain_and_tls():
    with _stack(deny=[BANNED + "/32"]) as s:
        assert _plain(s, BANNED) == b""
        assert _tls(s, BANNED) is None
        assert _served(_plain(s, "127.0.0.1"))
        assert _served(_tls(s, "127.0.0.1"))
        assert _served(_plain(s, family=socket.AF_INET6, host="::1"))
        assert _served(_tls(s, family=socket.AF_INET6, host="::1"))
        fu.wait_log(s.frontend_log, r"client 127\.0\.0\.2:\d+: refused by the allow/deny list "
                                    r"of port %d \(peer address\)" % s.http_port)
        # Nothing of the refused clients reached the backend.
        assert not re.search(r"^127\.0\.0\.2 ", harness.read_file(s.access_log), re.M)
        # ... nor was read: no handshake failure or timeout was logged for them.
        log = harness.read_file(s.frontend_log)
        assert not re.search(r"client 127\.0\.0\.2:\d+: (TLS|no request)", log), log[-2000:]


def test_a_refusal_costs_no_child():
    """The idle child that accepts a banned peer closes it and stays idle:
    a flood of banned connections forks nothing."""
    with _stack(deny=[BANNED]) as s:
        fu.wait_log(s.frontend_log, r"client 127\.0\.0\.1:\d+: TLS handshake failed")
        time.sleep(0.5)  # the pool refilled after the start-up probes
        before = set(fu.children(s.pid("frontend")))
        for _ in range(50):
            assert _plain(s, BANNED) == b""
            assert _tls(s, BANNED) is None
        time.sleep(0.3)
        assert set(fu.children(s.pid("frontend"))) == before
        assert _served(_plain(s, "127.0.0.1"))


def test_deny_ipv6():
    with _stack(deny=["::1"]) as s:
        assert _plain(s, family=socket.AF_INET6, host="::1") == b""
        assert _tls(s, family=socket.AF_INET6, host="::1") is None
        assert _served(_plain(s, "127.0.0.1"))
        assert _served(_tls(s, "127.0.0.1"))
        fu.wait_log(s.frontend_log, r"client \[::1\]:\d+: refused by the allow/deny list")


def test_allow_list_with_an_exception():
    # Only loopback 127/8 may connect, except the one banned host; ::1 is not listed.
    with _stack(allow=["127.0.0.0/8"], deny=[BANNED]) as s:
        assert _served(_plain(s, "127.0.0.1"))
        assert _served(_tls(s, "127.0.0.3"))
        assert _plain(s, BANNED) == b""
        assert _tls(s, BANNED) is None
        assert _plain(s, family=socket.AF_INET6, host="::1") == b""


def test_refusals_are_rate_limited():
    with _stack(deny=[BANNED]) as s:
        for _ in range(30):
            _plain(s, BANNED)
        time.sleep(1.1)
        _plain(s, BANNED)  # the first line of a new second carries the count
        lines = fu.wait_count(s.frontend_log, r"127\.0\.0\.2:\d+: refused by", 2)
        assert len(lines) <= 4, lines
        more = sum(int(m.group(1)) for l in lines
                   for m in [re.search(r"; (\d+) more refused", l)] if m)
        assert len(lines) + more == 31, (lines, more)


def test_master_refusing_a_full_pool_closes_banned_clients_silently():
    opts = {"max_children": 2, "min_spare": 1, "max_spare": 1, "per_ip_max": 0}
    s = fu.stack(frontend=True, frontend_opts=opts)
    s.sections["frontend"]["services"][0]["deny"] = [BANNED]
    s.write_config()
    with s:
        # the harness's start-up probes must be gone before we fill the pool
        fu.wait_log(s.frontend_log, r"client 127\.0\.0\.1:\d+: TLS handshake failed")
        time.sleep(0.2)
        held = [fu.hold_relay(s.http_port)[0] for _ in range(2)]
        try:
            time.sleep(0.3)
            assert _plain(s, "127.0.0.1").startswith(b"HTTP/1.1 503")
            assert _plain(s, BANNED) == b""
            fu.wait_log(s.frontend_log, r"client 127\.0\.0\.2:\d+: refused by the allow/deny")
        finally:
            for c in held:
                c.close()


def _v2(client):
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    addrs = socket.inet_pton(socket.AF_INET, client) + \
        socket.inet_pton(socket.AF_INET, "127.0.0.1") + struct.pack("!HH", 4711, 443)
    return sig + bytes([0x21, 0x11]) + struct.pack("!H", len(addrs)) + addrs


def test_proxied_client_is_judged_before_the_handshake():
    port = harness.free_port()
    s = fu.stack(frontend=True)
    s.sections["frontend"]["services"].append(
        {"port": port, "bind": ["127.0.0.1"], "tls": True, "proxy_protocol": "required",
         "proxy_from": ["127.0.0.1"], "deny": ["203.0.113.7"]})
    s.write_config()
    with s:
        def get(client):
            raw = socket.create_connection(("127.0.0.1", port), timeout=5)
            try:
                raw.sendall(_v2(client))
                with fu.tls_context().wrap_socket(raw, server_hostname="localhost") as c:
                    c.sendall(fu.REQ_CLOSE)
                    return fu.recv_all(c)
            except (ssl.SSLError, ConnectionError, OSError):
                return None
            finally:
                raw.close()
        # The balancer (127.0.0.1, trusted) is not judged; its clients are.
        assert _served(get("203.0.113.8"))
        assert get("203.0.113.7") is None
        fu.wait_log(s.frontend_log, r"client 203\.0\.113\.7:4711: refused by the allow/deny list "
                                    r"of port %d \(after the PROXY header\)" % port)
        assert not re.search(r"203\.0\.113\.7:4711: TLS", harness.read_file(s.frontend_log))


if __name__ == "__main__":
    harness.main(globals())
