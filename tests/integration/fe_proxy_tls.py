# SPDX-License-Identifier: BSD-2-Clause
"""A PROXY header in front of TLS: a load balancer that passes TLS through
sends PROXY v1 or v2 in clear, then the client's handshake follows on the
same connection. The frontend must take the client address from the header,
do the handshake on the bytes after it, and refuse a TLS client that sends
no header to a service that requires one."""
import re
import socket
import ssl
import struct

import harness
import fe_util as fu

CLIENT = "203.0.113.7"


def _stack():
    port = harness.free_port()
    svc = [{"port": port, "bind": ["127.0.0.1"], "tls": True, "proxy_protocol": "required",
            "proxy_from": ["127.0.0.1"]}]
    s = fu.stack(frontend=True)
    s.sections["frontend"]["services"] += svc
    s.write_config()
    return s, port


def _v1():
    return ("PROXY TCP4 %s 127.0.0.1 4711 443\r\n" % CLIENT).encode()


def _v2():
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    addrs = socket.inet_pton(socket.AF_INET, CLIENT) + \
        socket.inet_pton(socket.AF_INET, "127.0.0.1") + struct.pack("!HH", 4711, 443)
    return sig + bytes([0x21, 0x11]) + struct.pack("!H", len(addrs)) + addrs


def _tls_get(port, header, path):
    """Sends header in clear, then an HTTPS request on the same socket."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        raw.sendall(header)
        ctx = ssl.create_default_context(cafile=fu.cafile())
        with ctx.wrap_socket(raw, server_hostname="localhost") as c:
            c.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                       % path).encode())
            return fu.recv_all(c)
    finally:
        raw.close()


def test_proxy_header_before_tls():
    s, port = _stack()
    with s:
        for name, hdr in (("v2", _v2()), ("v1", _v1())):
            out = _tls_get(port, hdr, "/" + name)
            assert out.startswith(b"HTTP/1.1 200"), (name, out[:200])
            # The backend logs the address from the header, not 127.0.0.1.
            fu.wait_log(s.access_log, r"^%s .*/%s" % (re.escape(CLIENT), name))
            # So does the frontend's relay line.
            fu.wait_log(s.frontend_log, r"client %s:4711 .*relay" % re.escape(CLIENT))
        acc = harness.read_file(s.access_log)
        assert not re.search(r"^127\.0\.0\.1 ", acc, re.M), acc


def test_tls_without_proxy_header_is_refused():
    s, port = _stack()
    with s:
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        ctx = ssl.create_default_context(cafile=fu.cafile())
        try:
            with ctx.wrap_socket(raw, server_hostname="localhost") as c:
                c.sendall(fu.REQ_CLOSE)
                out = fu.recv_all(c)
            raise AssertionError("handshake without a PROXY header succeeded: %r" % out[:200])
        except (ssl.SSLError, ConnectionError, OSError) as e:
            assert not isinstance(e, AssertionError)
        finally:
            raw.close()
        fu.wait_log(s.frontend_log,
                    r"client 127\.0\.0\.1:\d+: no PROXY header but the service requires one")
        assert harness.read_file(s.access_log) == "", harness.read_file(s.access_log)


if __name__ == "__main__":
    harness.main(globals())
