# SPDX-License-Identifier: BSD-2-Clause
"""Frontend end to end: HTTP and HTTPS through the frontend to the real
backend over IPv4 and IPv6, the client address and connection id the
backend logs, a vhost with its own backend socket, PROXY headers from a
load balancer."""
import os
import re
import socket
import struct

import harness
import fe_util as fu


def test_http_and_https_ipv4_ipv6():
    with fu.stack(frontend=True, ipv6=True) as s:
        for addr in ("127.0.0.1", "::1"):
            r = fu.http(s, "/", addr=addr)
            assert fu.status(r) == "200", r.stdout[-300:]
            r = fu.https(s, "/", addr=addr)
            assert fu.status(r) == "200", r.stdout[-300:]
        # The backend logs the real client, not the frontend's Unix socket.
        acc = harness.read_file(s.access_log)
        lines = acc.splitlines()
        assert len(lines) >= 4, acc
        v4 = [l for l in lines if l.startswith("127.0.0.1 ")]
        v6 = [l for l in lines if l.startswith("::1 ")]
        assert len(v4) >= 2 and len(v6) >= 2, acc
        # Both daemons log the same connection id.
        fu.wait_count(s.frontend_log, r" id \S+ vhost", 4)
        ids = re.findall(r" id (\S+) vhost", harness.read_file(s.frontend_log))
        assert len(ids) >= 4, harness.read_file(s.frontend_log)
        for i in ids:
            assert i in acc, "connection id %s not in the access log:\n%s" % (i, acc)


def test_large_bodies_both_paths():
    """1 MiB both ways through splice (HTTP) and OpenSSL (HTTPS)."""
    with fu.stack(frontend=True, modules=[{"module": "mirror", "path": "/"}]) as s:
        tmp = os.path.join(s.tmp, "body")
        with open(tmp, "wb") as f:
            f.write(os.urandom(1 << 20))
        for fn in (fu.http, fu.https):
            r = fn(s, "/", extra=("-X", "POST", "--data-binary", "@" + tmp, "-o", "/dev/null"))
            assert fu.status(r) in ("200", "404", "405", "413"), r.stdout
        fu.wait_log(s.frontend_log, r"relay splice, \d{7} bytes in")
        fu.wait_log(s.frontend_log, r"relay (openssl|ktls\+splice|tlsrec), \d{7} bytes in")


def test_vhost_with_own_backend():
    other = fu.stack(backend=True, backend_tcp=False)
    with other:
        vh = [
            {"name": "localhost", "cert": fu.cafile("localhost"),
             "key": os.path.join(harness.CERTS, "localhost.key")},
            {"name": "alt.localhost", "cert": fu.cafile("alt.localhost"),
             "key": os.path.join(harness.CERTS, "alt.localhost.key"),
             "backend": other.socket},
        ]
        with fu.stack(frontend=True, vhosts=vh) as s:
            r = fu.https(s, "/", host="alt.localhost")
            assert fu.status(r) == "200", r.stdout
            r = fu.http(s, "/", extra=("-H", "Host: alt.localhost"))
            assert fu.status(r) == "200", r.stdout
            r = fu.https(s, "/", host="localhost")
            assert fu.status(r) == "200", r.stdout
            mine = harness.read_file(s.access_log)
            theirs = harness.read_file(other.access_log)
            assert len(theirs.splitlines()) == 2, theirs
            assert len(mine.splitlines()) == 1, mine


def _lb_stack(mode):
    port = harness.free_port()
    svc = [{"port": port, "bind": ["127.0.0.1"], "tls": False, "proxy_protocol": mode,
            "proxy_from": ["127.0.0.1"]}]
    s = fu.stack(frontend=True)
    s.sections["frontend"]["services"] += svc
    s.write_config()
    return s, port


def test_proxy_header_from_load_balancer():
    s, port = _lb_stack("required")
    with s:
        v1 = b"PROXY TCP4 203.0.113.7 127.0.0.1 40000 80\r\n" + fu.REQ_CLOSE
        out = harness.raw_exchange(("127.0.0.1", port), v1)
        assert out.startswith(b"HTTP/1.1 200"), out[:200]
        sig = b"\r\n\r\n\x00\r\nQUIT\n"
        addrs = socket.inet_pton(socket.AF_INET6, "2001:db8::9") + \
            socket.inet_pton(socket.AF_INET6, "2001:db8::1") + struct.pack("!HH", 40001, 80)
        v2 = sig + bytes([0x21, 0x21]) + struct.pack("!H", len(addrs)) + addrs
        out = harness.raw_exchange(("127.0.0.1", port), v2 + fu.REQ_CLOSE)
        assert out.startswith(b"HTTP/1.1 200"), out[:200]
        # Without a header a required service closes without answering.
        out = harness.raw_exchange(("127.0.0.1", port), fu.REQ_CLOSE, timeout=3)
        assert out == b"", out[:200]
        acc = harness.read_file(s.access_log)
        assert re.search(r"^203\.0\.113\.7 ", acc, re.M), acc
        assert re.search(r"^2001:db8::9 ", acc, re.M), acc


if __name__ == "__main__":
    harness.main(globals())
