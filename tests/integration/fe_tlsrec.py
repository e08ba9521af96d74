"""Edges of our own TLS 1.3 record layer (frontend/tlsrec.c) in a live
frontend, with Python's ssl module (OpenSSL) on memory BIOs as the client so
the test controls which records travel in one TCP write."""
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


if __name__ == "__main__":
    harness.main(globals())
