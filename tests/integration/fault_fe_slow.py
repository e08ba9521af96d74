# SPDX-License-Identifier: BSD-2-Clause
"""Issue 13.4: slow clients cannot starve others. Clients that trickle a
request head (plain) or a ClientHello (TLS) one byte at a time wait in the
master's waiting room, not in a child: with more of them than max_children,
a legitimate client from another address is never refused. (Before the
waiting room each held a child, and the legitimate clients got 503s.)"""
import resource
import socket
import ssl
import threading
import time

import harness
import fe_util as fu

# A ClientHello record header announcing 512 bytes, and the start of one.
TLS_PREFIX = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])
HTTP_PREFIX = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: "


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(soft, n), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


class Slowloris:
    """n connections from sources (addresses), each sending its prefix then
    one byte every `every` seconds; closed ones are opened again."""

    def __init__(self, port, n, sources, tls, every=5.0):
        self.port, self.n, self.sources, self.every = port, n, sources, every
        self.prefix = TLS_PREFIX if tls else HTTP_PREFIX
        self.conns, self.opened, self.reopened = [], 0, 0
        self.stop = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)

    def _open(self, i):
        c = socket.socket()
        c.bind((self.sources[i % len(self.sources)], 0))
        c.settimeout(2)
        c.connect(("127.0.0.1", self.port))
        c.sendall(self.prefix)
        c.setblocking(False)
        self.opened += 1
        return c

    def start(self):
        for i in range(self.n):
            self.conns.append(self._open(i))
        self.t.start()
        return self

    def _run(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            for i, c in enumerate(self.conns):
                if self.stop.is_set():
                    return
                try:
                    c.send(b"a")
                except OSError:
                    c.close()
                    try:
                        self.conns[i] = self._open(i)
                        self.reopened += 1
                    except OSError:
                        pass
                # spread the bytes over the period
                time.sleep(max(0.0, self.every / len(self.conns) - 0.00002))
            left = self.every - (time.monotonic() - t0)
            if left > 0:
                self.stop.wait(left)

    def close(self):
        self.stop.set()
        self.t.join(10)
        for c in self.conns:
            c.close()


def legit(s, tls, n, refusals):
    """n sequential requests from 127.0.0.1; returns latencies (s)."""
    ctx = fu.tls_context()
    lat = []
    for _ in range(n):
        t0 = time.monotonic()
        try:
            raw = socket.create_connection(("127.0.0.1", s.https_port if tls else s.http_port),
                                           timeout=10)
            c = ctx.wrap_socket(raw, server_hostname="localhost") if tls else raw
            head = fu.ask(c, fu.REQ_CLOSE)
            c.close()
        except (OSError, ssl.SSLError) as e:
            head = repr(e).encode()
        lat.append(time.monotonic() - t0)
        if not head.startswith(b"HTTP/1.1 200"):
            refusals.append(head[:60])
    return lat


def _attack(tls):
    raise_nofile(4096)
    opts = {"max_children": 64, "per_ip_max": 64, "min_spare": 4, "max_spare": 16,
            "log_level": "info"}
    with fu.stack(frontend=True, frontend_opts=opts) as s:
        port = s.https_port if tls else s.http_port
        sources = ["127.0.0.%d" % i for i in range(2, 12)]
        atk = Slowloris(port, 300, sources, tls, every=1.0).start()
        try:
            time.sleep(2.5)  # every slow client has trickled a few bytes
            refusals = []
            lat = legit(s, tls, 60, refusals)
            kids = len(fu.children(s.pid("frontend")))
        finally:
            atk.close()
        lat.sort()
        print("%s: 300 slow clients, 60 requests: p50 %.1f ms, max %.1f ms, %d refused, "
              "%d children" % ("tls" if tls else "plain", lat[30] * 1000, lat[-1] * 1000,
                               len(refusals), kids))
        assert not refusals, refusals[:5]
        assert kids < 40, "slow clients hold children: %d" % kids


def test_slow_heads_plain():
    _attack(False)


def test_slow_client_hellos():
    _attack(True)


def test_one_address_cannot_fill_the_waiting_room():
    with fu.stack(frontend=True, frontend_opts={"per_ip_max": 10}) as s:
        conns = []
        for _ in range(30):
            c = socket.socket()
            c.bind(("127.0.0.2", 0))
            c.settimeout(5)
            c.connect(("127.0.0.1", s.http_port))
            c.sendall(HTTP_PREFIX)
            conns.append(c)
        refused = 0
        for c in conns:
            c.settimeout(0.5)
            try:
                if c.recv(4096).startswith(b"HTTP/1.1 503"):
                    refused += 1
            except socket.timeout:
                pass
        print("30 slow clients from one address, per_ip_max 10: %d refused" % refused)
        assert refused == 20, refused
        fu.wait_log(s.frontend_log, r"waiting room: a client refused, per_ip_max 10 waiting")
        assert fu.status(fu.http(s)) == "200"
        for c in conns:
            c.close()


if __name__ == "__main__":
    harness.main(globals())
