# SPDX-License-Identifier: BSD-2-Clause
"""The module connect hook (bm_module.connect) and the identity module code
runs with. The hook sees the client address (the PROXY header's when one
came, else the TCP peer) before any HTTP byte is parsed and may refuse it:
the connection is closed unanswered. init() runs after the privilege drop."""
import os
import pwd
import socket
import struct

import harness
import fe_util as fu

TEST_MODS = os.path.join(harness.BUILDDIR, "tests", "modules", ".libs")
MODS = [{"module": "hooktest", "path": "/", "refuse": ["127.0.0.2", "203.0.113.9"]}]


def _need_module():
    if not os.path.exists(os.path.join(TEST_MODS, "hooktest.so")):
        raise AssertionError("tests/modules/hooktest.so not built")


def _exchange(port, data, src=None):
    c = socket.socket()
    c.settimeout(5)
    if src:
        c.bind((src, 0))
    c.connect(("127.0.0.1", port))
    try:
        c.sendall(data)
        return fu.recv_all(c)
    except (ConnectionResetError, BrokenPipeError):
        return b""
    finally:
        c.close()


def _v2(client):
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    addrs = socket.inet_pton(socket.AF_INET, client) + \
        socket.inet_pton(socket.AF_INET, "127.0.0.1") + struct.pack("!HH", 4711, 80)
    return sig + bytes([0x21, 0x11]) + struct.pack("!H", len(addrs)) + addrs


def test_connect_hook_refuses_before_http_parsing():
    _need_module()
    with harness.Stack(modules=MODS, backend_opts={"module_dir": TEST_MODS}) as s:
        p = s.backend_port
        req = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        assert _exchange(p, req, "127.0.0.1").startswith(b"HTTP/1.1 200")
        # Refused peer: closed with no answer, even to bytes that would be a 400.
        assert _exchange(p, req, "127.0.0.2") == b""
        assert _exchange(p, b"NOT HTTP AT ALL\r\n\r\n", "127.0.0.2") == b""
        # Through a PROXY header the client it names is judged, not the peer.
        assert _exchange(p, _v2("203.0.113.9") + req) == b""
        assert _exchange(p, _v2("203.0.113.10") + req).startswith(b"HTTP/1.1 200")
        log = harness.read_file(s.backend_log)
        assert "127.0.0.2: connection refused by module hooktest (backend.modules.[0])" in log
        acc = harness.read_file(s.access_log)
        assert "127.0.0.2" not in acc and "203.0.113.9 " not in acc, acc
        assert "400" not in acc, acc


def test_connect_hook_behind_the_frontend():
    """The frontend passes the client in PROXY v2; the backend's hook refuses it."""
    _need_module()
    with fu.stack(frontend=True, modules=MODS,
                  backend_opts={"module_dir": TEST_MODS}) as s:
        out = _exchange(s.http_port, fu.REQ_CLOSE, "127.0.0.1")
        assert out.startswith(b"HTTP/1.1 200") and b"init_euid=" in out, out
        out = _exchange(s.http_port, fu.REQ_CLOSE, "127.0.0.2")
        assert not out.startswith(b"HTTP/1.1 200"), out
        fu.wait_log(s.backend_log, r"127\.0\.0\.2: connection refused by module hooktest")


def test_module_init_runs_after_privilege_drop():
    _need_module()
    if os.geteuid() != 0:
        raise harness.Skip("needs root: the backend must start as root to drop to a user")
    nobody = pwd.getpwnam("nobody")
    opts = {"module_dir": TEST_MODS, "user": "nobody"}
    with harness.Stack(modules=MODS, backend_opts=opts) as s:
        body = harness.curl(s.backend_url("/")).stdout
        assert body.startswith("init_euid=%d " % nobody.pw_uid), body


if __name__ == "__main__":
    harness.main(globals())
