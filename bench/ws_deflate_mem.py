#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Measures the memory a WebSocket connection costs in a backend worker, with
permessage-deflate off and with each preset ("max" = zlib defaults, "balanced",
"low"), from the worker's Private_Dirty in /proc/PID/smaps_rollup before and
after opening N connections that each exchanged one compressed message (so
both the compressor and the inflater exist).

Usage, from a build directory after make:
    python3 ../bench/ws_deflate_mem.py [N]
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib

BUILD = os.getcwd()
BACKEND = os.path.join(BUILD, "backend", "bactrian-backend")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 200


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def private_dirty(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1]) * 1024
    return 0


def varied_text(n, seed):
    import random
    r = random.Random(seed)
    words = [("".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(2, 9))))
             for _ in range(5000)]
    out = []
    size = 0
    while size < n:
        w = r.choice(words)
        out.append(w)
        size += len(w) + 1
    return " ".join(out).encode()[:n]


def connect(port, path, deflate, text):
    s = socket.create_connection(("127.0.0.1", port))
    ext = ("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
           if deflate else "")
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
               "%s\r\n" % (path, ext)).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    assert b" 101 " in buf
    if deflate:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = (c.compress(text) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
        b0 = 0xC1
    else:
        body, b0 = text, 0x81
    n = len(body)
    if n > 65535:
        hdr = struct.pack("!BBQ", b0, 0x80 | 127, n)
    elif n > 125:
        hdr = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        hdr = struct.pack("!BB", b0, 0x80 | n)
    s.sendall(hdr + b"\0\0\0\0" + body)  # zero mask
    # read the whole echo (its frame header tells the length)
    got = b""
    while True:
        while len(got) < 10:
            got += s.recv(65536)
        ln = got[1] & 0x7F
        hl, ln = (4, struct.unpack("!H", got[2:4])[0]) if ln == 126 else \
            (10, struct.unpack("!Q", got[2:10])[0]) if ln == 127 else (2, ln)
        while len(got) < hl + ln:
            got += s.recv(65536)
        got = got[hl + ln:]
        if not got:
            return s


def start(preset):
    tmp = tempfile.mkdtemp()
    port = free_port()
    mod = ('{ module = "echo"; path = "/e"; ping_interval = 0; deflate = %s; %s '
           'deflate_threshold = 64; }' % ("false" if preset == "off" else "true",
                                          "" if preset == "off" else
                                          'deflate_preset = "%s";' % preset))
    conf = os.path.join(tmp, "be.conf")
    with open(conf, "w") as f:
        f.write('backend: { socket = "%s/s"; pid_file = "%s/pid"; error_log = "%s/log";\n'
                'log_level = "warn"; workers = 1; module_dir = "%s/backend/modules/.libs";\n'
                'listen = ( { address = "127.0.0.1"; port = %d; } );\n modules = ( %s ); };\n'
                % (tmp, tmp, tmp, BUILD, port, mod))
    master = subprocess.Popen([BACKEND, "-f", "-c", conf])
    time.sleep(0.8)
    worker = int(subprocess.check_output(["pgrep", "-P", str(master.pid)]).split()[0])
    return tmp, port, master, worker


def main():
    # A fresh backend per measurement: freed heap from an earlier run would
    # otherwise be reused and hide (or inflate) the figure.
    for label, text in (("one 2 KB JSON-like message", b'{"camel":"bactrian","humps":2}' * 68),
                        ("one 256 KB message of varied text (windows and hash tables filled)",
                         varied_text(256 << 10, 1))):
        print("worker memory per connection (Private_Dirty), %d connections, %s:" % (N, label))
        base = None
        for preset in ("off", "max", "balanced", "low"):
            tmp, port, master, worker = start(preset)
            try:
                warm = connect(port, "/e", preset != "off", text)  # first-use allocations
                time.sleep(0.2)
                before = private_dirty(worker)
                socks = [connect(port, "/e", preset != "off", text) for _ in range(N)]
                time.sleep(0.3)
                per = (private_dirty(worker) - before) / N
                if base is None:
                    base = per
                print("  %-9s %8.1f KiB per connection (%+.1f KiB for permessage-deflate)" % (
                    preset, per / 1024, (per - base) / 1024))
                for s in socks + [warm]:
                    s.close()
            finally:
                master.terminate()
                master.wait(10)
                subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
