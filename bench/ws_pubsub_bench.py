#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Pub/sub fan-out across the workers of one backend, through the chat module.

S subscribers join one room on a backend with 2 workers (half of them are
steered to each worker: the connections that arrive while one worker is busy
go to the other), one publisher sends M messages of B bytes, and the script
times how long until every subscriber has every message. Prints deliveries/s
and, per message, the publish-to-last-delivery latency of the run.

Usage, from a build directory after make:
    python3 ../bench/ws_pubsub_bench.py [subscribers] [messages] [bytes]
"""
import json
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

BUILD = os.getcwd()
S = int(sys.argv[1]) if len(sys.argv) > 1 else 20
M = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
B = int(sys.argv[3]) if len(sys.argv) > 3 else 100


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def frame(op, payload):
    n = len(payload)
    h = struct.pack("!BB", 0x80 | op, 0x80 | n) if n < 126 else \
        struct.pack("!BBH", 0x80 | op, 0x80 | 126, n)
    return h + b"\0\0\0\0" + payload  # zero mask


class Client:
    def __init__(self, port, path="/chat"):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n" % path).encode())
        self.buf = bytearray()
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.s.recv(4096)
        self.buf = self.buf[self.buf.index(b"\r\n\r\n") + 4:]

    def frames(self):
        """Yields payloads of whole frames as they arrive (server frames are small)."""
        while True:
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
                yield p
            del buf[:pos]  # once per read, not once per frame
            d = self.s.recv(1 << 20)
            if not d:
                return
            self.buf += d

    def join(self, nick):
        self.s.sendall(frame(1, json.dumps({"type": "join", "room": "bench",
                                            "nick": nick}).encode()))
        for p in self.frames():
            m = json.loads(p)
            if m.get("type") == "joined" and m["nick"] == nick:
                return


def main():
    tmp = tempfile.mkdtemp()
    port = free_port()
    conf = os.path.join(tmp, "be.conf")
    with open(conf, "w") as f:
        f.write('backend: { socket = "%s/s"; pid_file = "%s/pid"; error_log = "%s/log";\n'
                'log_level = "debug"; workers = 2; shutdown_timeout = 1; module_dir = "%s/backend/modules/.libs";\n'
                'listen = ( { address = "127.0.0.1"; port = %d; } );\n'
                'modules = ( { module = "chat"; path = "/chat"; ping_interval = 0; },\n'
                '            { module = "echo"; path = "/z"; deflate = true; } ); };\n'
                % (tmp, tmp, tmp, BUILD, port))
    logf = open(os.path.join(tmp, "log"), "w")
    master = subprocess.Popen([os.path.join(BUILD, "backend", "bactrian-backend"), "-f",
                               "-c", conf], stdout=logf, stderr=logf)
    try:
        time.sleep(1)
        subs = []
        for i in range(S):
            if i == S // 2:
                busy = keep_busy(port)
            c = Client(port)
            c.join("s%d" % i)
            subs.append(c)
        busy.close()
        pub = Client(port)
        pub.join("pub")
        time.sleep(0.5)
        log = open(os.path.join(tmp, "log")).read()
        pids = set(re.findall(r"\[(\d+)\]: [^\n]*session \d+ open on /chat", log))
        got = [0] * S
        done = threading.Event()

        last = [0.0]

        def reader(i, c):
            for p in c.frames():
                if p.startswith(b'{"type":"message"'):
                    got[i] += 1
                    last[0] = time.time()
                    if got[i] == M:
                        break
            if all(g == M for g in got):
                done.set()

        threads = [threading.Thread(target=reader, args=(i, c), daemon=True)
                   for i, c in enumerate(subs)]
        for t in threads:
            t.start()
        drain = threading.Thread(target=lambda: [None for _ in pub.frames()], daemon=True)
        drain.start()
        text = "x" * B
        msgs = b"".join(frame(1, json.dumps({"type": "say", "text": text}).encode())
                        for _ in range(M))
        t0 = time.time()
        pub.s.sendall(msgs)
        prev = -1
        while not done.wait(1.0):  # stop when complete, or when nothing moved for a second
            if sum(got) == prev:
                break
            prev = sum(got)
        dt = (last[0] or time.time()) - t0
        total = sum(got)
        print("pub/sub through chat: %d subscribers in %d workers, %d messages of %d B text" % (
            S, len(pids), M, B))
        print("  deliveries %d of %d in %.2f s: %.0f deliveries/s, %.0f published msgs/s" % (
            total, S * M, dt, total / dt, M / dt))
        lost = re.findall(r"pubsub: .*", open(os.path.join(tmp, "log")).read())
        print("  pubsub log lines: %d%s" % (len(lost), (" (" + lost[-1] + ")") if lost else ""))
    finally:
        master.send_signal(3)  # QUIT: stop at once, sessions need no goodbye here
        master.wait(10)
        subprocess.run(["rm", "-rf", tmp])


def keep_busy(port):
    import zlib
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /z HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
              b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
    r = b""
    while b"\r\n\r\n" not in r:
        r += s.recv(4096)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = (c.compress(b"\0" * (16 << 20)) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
    hdr = struct.pack("!BBH", 0xC2, 0x80 | 126, len(bomb)) if len(bomb) < 65536 else \
        struct.pack("!BBQ", 0xC2, 0x80 | 127, len(bomb))  # minimal length encoding
    s.sendall((hdr + b"\0\0\0\0" + bomb) * 12)
    return s


if __name__ == "__main__":
    main()
