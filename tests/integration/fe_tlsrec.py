# SPDX-License-Identifier: BSD-2-Clause
"""Edges of our own TLS 1.3 record layer (frontend/tlsrec.c) in a live
frontend, with Python's ssl module (OpenSSL) on memory BIOs as the client so
the test controls which records travel in one TCP write."""
import os
import socket
import ssl
import time

import harness
import fe_util as fu


def _handshake(port):
    ctx = fu.tls_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    c = socket.create_connection(("127.0.0.1", port))
    c.settimeout(5)
    for _ in range(20):
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            c.sendall(out.read())
            b = c.recv(65536)
            assert b, "EOF in the handshake"
            inc.write(b)
    c.sendall(out.read())
    return c, obj, inc, out


def _read_to_eof(c, obj, inc):
    """Plaintext until the server's EOF, and whether EOF came (5 s at most)."""
    plain, eof = b"", False
    while True:
        try:
            b = c.recv(65536)
        except socket.timeout:
            break
        if not b:
            eof = True
            break
        inc.write(b)
        try:
            while True:
                plain += obj.read(65536)
        except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
            pass
    return plain, eof


def _read_answer(c, obj, inc):
    """Plaintext up to the end of the hello module's answer; the connection
    must stay open until then."""
    plain = b""
    while not plain.endswith(b"Hello, world!\n"):
        b = c.recv(65536)
        assert b, plain
        inc.write(b)
        try:
            plain += obj.read(65536)
        except ssl.SSLWantReadError:
            pass
    return plain


def test_close_notify_with_the_request():
    """A keep-alive request and the client's close_notify in one write: the
    handshake child opens both before the relay starts, and the backend must
    still see the half-close, answer and close at once (it used to wait for
    the backend's keep-alive timeout). Control: the same with the
    close_notify sent a moment later."""
    with fu.stack(frontend=True) as s:
        for together in (False, True):
            c, obj, inc, out = _handshake(s.https_port)
            try:
                time.sleep(0.2)  # the child is waiting for the first request now
                obj.write(fu.REQ)
                if not together:
                    c.sendall(out.read())
                    time.sleep(0.3)
                try:
                    obj.unwrap()
                except ssl.SSLWantReadError:
                    pass
                t0 = time.monotonic()
                c.sendall(out.read())
                plain, eof = _read_to_eof(c, obj, inc)
                took = time.monotonic() - t0
            finally:
                c.close()
            assert plain.startswith(b"HTTP/1.1 200") and plain.endswith(b"Hello, world!\n"), \
                (together, plain[:200])
            assert eof and took < 2.0, "together=%s: EOF %s after %.1f s" % (together, eof, took)


class _FakeBackend:
    """A backend on the stack's Unix socket: the first connection takes the
    request and closes unanswered when told to (a backend on its way out),
    later ones answer every request with 200 and keep the connection."""

    def __init__(self, path):
        import threading
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(8)
        self.srv.settimeout(0.2)
        self.got_first = threading.Event()
        self.drop_first = threading.Event()
        self.stop = threading.Event()
        self.conns = 0
        self.t = threading.Thread(target=self.run)
        self.t.start()

    def run(self):
        import threading
        while not self.stop.is_set():
            try:
                c, _ = self.srv.accept()
            except socket.timeout:
                continue
            self.conns += 1
            threading.Thread(target=self.serve, args=(c, self.conns == 1)).start()

    def serve(self, c, first):
        c.settimeout(0.2)
        buf = b""
        with c:
            while not self.stop.is_set():
                if first and self.got_first.is_set() and self.drop_first.is_set():
                    return
                try:
                    b = c.recv(65536)
                except socket.timeout:
                    continue
                if not b:
                    return
                buf += b
                while b"\r\n\r\n" in buf:
                    _, buf = buf.split(b"\r\n\r\n", 1)
                    if first:
                        self.got_first.set()
                    else:
                        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")

    def close(self):
        self.stop.set()
        self.t.join(5)
        self.srv.close()


def test_no_replay_over_a_partial_record():
    """The backend drops the first request unanswered (replay case) while the
    relay holds the first bytes of the client's next record: replaying would
    lose them and open the rest of that record as a new one (a broken TLS
    stream). The relay must not replay then; whatever the client gets must be
    clean, and the frontend must never misread a record."""
    with fu.stack(backend=False, frontend=True, frontend_opts={"backend_retry": 2}) as s:
        be = _FakeBackend(s.socket)
        try:
            c, obj, inc, out = _handshake(s.https_port)
            with c:
                obj.write(fu.REQ)
                c.sendall(out.read())
                assert be.got_first.wait(5), "the request did not reach the backend"
                obj.write(fu.REQ)
                rec = out.read()
                c.sendall(rec[:10])       # the relay reads a partial record
                time.sleep(0.3)
                be.drop_first.set()       # the backend goes, unanswered
                time.sleep(0.5)
                try:
                    c.sendall(rec[10:])
                except OSError:
                    pass
                plain, eof = _read_to_eof(c, obj, inc)
        finally:
            be.close()
        log = harness.read_file(s.frontend_log)
        assert "bad TLS record" not in log, log[-2000:]
        assert plain in (b"", b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n" * 2), plain


def _cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_partial_record_does_not_spin():
    """A client that stops in the middle of a record (a slow link, or on
    purpose): the relay holds the partial record and must sleep until more
    comes, also once the one-second buffer trim is due (it used to wait with
    a zero timeout from then on, a busy loop until idle_timeout)."""
    with fu.stack(frontend=True) as s:
        c, obj, inc, out = _handshake(s.https_port)
        with c:
            obj.write(fu.REQ)
            c.sendall(out.read())
            _read_answer(c, obj, inc)
            child = fu.child_of_client(s.pid("frontend"), c.getsockname()[1])
            obj.write(fu.REQ)
            rec = out.read()
            c.sendall(rec[:10])
            time.sleep(1.2)          # past the trim deadline
            t0 = _cpu_seconds(child)
            time.sleep(1.0)
            used = _cpu_seconds(child) - t0
            assert used < 0.3, "the relay used %.2f s of CPU in 1 s waiting" % used
            c.sendall(rec[10:])      # and the record still opens
            plain = _read_answer(c, obj, inc)
            assert plain.startswith(b"HTTP/1.1 200"), plain


if __name__ == "__main__":
    harness.main(globals())
