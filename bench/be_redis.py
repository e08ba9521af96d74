#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Pub/sub through Redis against pub/sub within one backend, in the same run.

Redis: 2 backends x 2 workers sharing one redis-server; local: 1 backend x 4
workers without Redis (local pub/sub cannot span backends). In each, S
subscribers join one chat room (spread over the backends), then two publishers
(one per backend with Redis) send messages carrying their send time:
  - a burst of M messages per publisher: messages/s published and
    deliveries/s, from the first send to the last delivery;
  - a paced run (R messages/s per publisher for T seconds): delivery latency
    p50/p99/max, send to receipt;
and in both, loss = deliveries expected - received (must be 0).

Usage, from the build directory after make (redis-server installed):
    python3 ../bench/be_redis.py [subscribers] [burst] [rate] [seconds]
"""
import json
import os
import re
import selectors
import socket
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
os.environ.setdefault("abs_top_builddir", os.getcwd())
import harness  # noqa: E402

S = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
M = int(sys.argv[2]) if len(sys.argv) > 2 else 200
RATE = int(sys.argv[3]) if len(sys.argv) > 3 else 100
SECS = float(sys.argv[4]) if len(sys.argv) > 4 else 3
CHANNEL = "bactrian:chat:bench"


def frame(payload):
    n = len(payload)
    h = struct.pack("!BB", 0x81, 0x80 | n) if n < 126 else struct.pack("!BBH", 0x81, 0xFE, n)
    return h + b"\0\0\0\0" + payload


class Sub:
    def __init__(self, port, nick):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.sendall(("GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += self.s.recv(4096)
        self.buf = bytearray(buf[buf.index(b"\r\n\r\n") + 4:])
        self.s.sendall(frame(json.dumps({"type": "join", "room": "bench",
                                         "nick": nick}).encode()))
        self.s.setblocking(False)

    def read(self, on_text):
        try:
            d = self.s.recv(1 << 18)
        except BlockingIOError:
            return
        self.buf += d
        buf, pos = self.buf, 0
        while len(buf) - pos >= 2:
            n, off = buf[pos + 1] & 0x7F, 2
            if n == 126:
                if len(buf) - pos < 4:
                    break
                n, off = struct.unpack_from("!H", buf, pos + 2)[0], 4
            if len(buf) - pos < off + n:
                break
            p = bytes(buf[pos + off:pos + off + n])
            pos += off + n
            at = p.find(b'"text":"m ')
            if at != -1:
                on_text(p[at + 10:p.index(b'"', at + 10)])
        del buf[:pos]


class Receivers:
    """The subscribers' sockets split over a few reader processes (one Python
    process cannot read 1,000 sockets as fast as the server writes them);
    each counts the messages of the current phase in shared memory and sends
    back their latencies when told."""

    def __init__(self, subs, nproc=3):
        import multiprocessing as mp
        ctx = mp.get_context("fork")
        self.counts = ctx.Array("q", nproc * 2, lock=False)
        self.phase = ctx.Value("i", 0, lock=False)   # 0 join, 1 burst, 2 paced, 3 stop
        self.q = ctx.Queue()
        self.procs = [ctx.Process(target=self._reader, args=(k, subs[k::nproc]), daemon=True)
                      for k in range(nproc)]
        for p in self.procs:
            p.start()
        for c in subs:
            c.s.close()  # the readers have them

    def _reader(self, k, subs):
        sel = selectors.DefaultSelector()
        for c in subs:
            sel.register(c.s, selectors.EVENT_READ, c)
        lat = {1: [], 2: []}

        def got(body):
            ph = self.phase.value
            if ph in (1, 2):
                self.counts[k * 2 + ph - 1] += 1
                lat[ph].append(time.time() - float(body.split(b" ")[2]))
        while self.phase.value != 3:
            for key, _ in sel.select(0.05):
                key.data.read(got)
        self.q.put((lat[1], lat[2]))

    def count(self, ph):
        return sum(self.counts[k * 2 + ph - 1] for k in range(len(self.procs)))

    def drain(self, ph, want, idle=3.0):
        last, at = -1, time.time()
        while self.count(ph) < want and time.time() - at < idle:
            time.sleep(0.05)
            if self.count(ph) != last:
                last, at = self.count(ph), time.time()

    def finish(self):
        self.phase.value = 3
        lats = [self.q.get(timeout=30) for _ in self.procs]
        for p in self.procs:
            p.join(10)
        return [x for a, _ in lats for x in a], [x for _, b in lats for x in b]


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] * 1000 if v else float("nan")


def wait_joined(stacks, redis, n):
    """Every session open (and, through Redis, every worker subscribed)."""
    deadline = time.time() + 60
    while time.time() < deadline:
        logs = [harness.read_file(s.backend_log) for s in stacks]
        opened = sum(len(re.findall(r"session \d+ open on /chat", t)) for t in logs)
        workers = len(set(p for t in logs
                          for p in re.findall(r"\[(\d+)\]: [^\n]*session \d+ open on /chat", t)))
        if opened >= n and (not redis or redis.numsub(CHANNEL) == workers):
            return workers
        time.sleep(0.2)
    raise SystemExit("the subscribers did not all join within 60 s")


def say(pubs, seq):
    for i, p in enumerate(pubs):
        p.s.sendall(frame(('{"type":"say","text":"m %d %d %.6f"}' % (
            i, seq, time.time())).encode()))


def run(name, ports, stacks, redis):
    subs = [Sub(ports[i % len(ports)], "s%d" % i) for i in range(S)]
    pubs = [Sub(p, "pub%d" % i) for i, p in enumerate(ports)]
    for p in pubs:
        p.s.setblocking(True)
    rx = Receivers(subs)
    workers = wait_joined(stacks, redis, S + len(pubs))
    time.sleep(1)  # the join notices are read
    drain = [threading.Thread(target=lambda p=p: discard(p), daemon=True) for p in pubs]
    for t in drain:
        t.start()
    rx.phase.value = 1
    t0 = time.time()
    for seq in range(M):
        say(pubs, seq)
    want = M * len(pubs) * S
    rx.drain(1, want)
    dt = time.time() - t0
    got = rx.count(1)
    rx.phase.value = 2
    n = int(RATE * SECS)
    t1 = time.time()
    for seq in range(n):
        say(pubs, seq)
        time.sleep(max(0, t1 + (seq + 1) / RATE - time.time()))
    want2 = n * len(pubs) * S
    rx.drain(2, want2)
    got2 = rx.count(2)
    _, lat = rx.finish()
    for c in pubs:
        c.s.shutdown(socket.SHUT_RDWR)  # wakes discard(): a close alone would not
        c.s.close()
    print("%-30s %d workers with subscribers" % (name, workers))
    print("  burst: %d msgs in %.2f s = %5.0f msgs/s published, %6.0f deliveries/s, loss %d" % (
        M * len(pubs), dt, M * len(pubs) / dt, got / dt, want - got))
    print("  paced %d msgs/s x %d publishers: latency p50 %.1f ms, p99 %.1f ms, max %.1f ms, "
          "loss %d" % (RATE, len(pubs), pct(lat, 0.5), pct(lat, 0.99), pct(lat, 1.0),
                       want2 - got2))
    return want - got + want2 - got2


def discard(p):
    """The publishers are subscribers too: their copies are read and dropped."""
    try:
        while p.s.recv(1 << 20):
            pass
    except OSError:
        pass


def chat(workers, pubsub=None):
    opts = {"pubsub": pubsub} if pubsub else {}
    return harness.Stack(workers=workers, backend_opts=opts,
                         modules=[{"module": "chat", "path": "/chat", "ping_interval": 0,
                                   "send_high_watermark": 4 << 20}])


def main():
    import be_redis
    redis = be_redis.Redis()
    redis.start()
    lost = 0
    try:
        print("pub/sub, %d subscribers in one chat room, 2 publishers "
              "(load average %.1f)" % (S, os.getloadavg()[0]))
        ps = {"redis": "127.0.0.1:%d" % redis.port}
        with chat(2, ps) as a, chat(2, ps) as b:
            lost += run("Redis, 2 backends x 2 workers", [a.backend_port, b.backend_port],
                        [a, b], redis)
        with chat(4) as c:
            lost += run("local, 1 backend x 4 workers", [c.backend_port] * 2, [c], None)
    finally:
        redis.close()
    sys.exit(1 if lost else 0)


if __name__ == "__main__":
    main()
