# SPDX-License-Identifier: BSD-2-Clause
"""Slowloris against the frontend with its shipped pool defaults
(max_children 1024, per_ip_max 64): N slow clients (default 2000) from 64
loopback addresses (127.0.0.2-127.0.0.65, about 31 each, under per_ip_max),
each trickling its request head (plain) or ClientHello (TLS) one byte every
5 s; a legitimate client from 127.0.0.1 makes sequential requests (a new
connection each, Connection: close). Prints its p50/p99 quiet and under
attack, and refusals, for plain and TLS. Run from a built tree:

    /usr/bin/python3 bench/fe_slowloris.py tests/integration [N] [REQUESTS]"""
import multiprocessing
import os
import sys
import time

sys.path.insert(0, os.path.abspath(sys.argv[1]))
import fe_util as fu  # noqa: E402
import fault_fe_slow as slow  # noqa: E402

N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
REQS = int(sys.argv[3]) if len(sys.argv) > 3 else 400


def pct(lat, p):
    return lat[min(len(lat) - 1, int(len(lat) * p))] * 1000


def attacker(port, tls, ready, stop, out):
    """In its own process: the attacker's Python must not share the GIL
    with the legitimate client being timed."""
    slow.raise_nofile(N * 2 + 512)
    sources = ["127.0.0.%d" % i for i in range(2, 66)]
    t0 = time.monotonic()
    atk = slow.Slowloris(port, N, sources, tls, every=5.0).start()
    out.put(time.monotonic() - t0)
    ready.set()
    stop.wait()
    out.put(atk.reopened)
    atk.close()


def run(s, tls):
    refused = []
    quiet = sorted(slow.legit(s, tls, REQS, refused))
    port = s.https_port if tls else s.http_port
    ready, stop, out = multiprocessing.Event(), multiprocessing.Event(), multiprocessing.Queue()
    p = multiprocessing.Process(target=attacker, args=(port, tls, ready, stop, out))
    p.start()
    try:
        ready.wait(60)
        opened = out.get(timeout=5)
        time.sleep(6)  # every slow client has sent a byte since it connected
        attack_refused = []
        attack = sorted(slow.legit(s, tls, REQS, attack_refused))
        kids = len(fu.children(s.pid("frontend")))
    finally:
        stop.set()
        reopened = out.get(timeout=30)
        p.join(30)
    name = "tls  " if tls else "plain"
    print("%s quiet : p50 %6.2f ms  p99 %6.2f ms  refused %d" % (name, pct(quiet, .5),
                                                                 pct(quiet, .99), len(refused)))
    print("%s attack: p50 %6.2f ms  p99 %6.2f ms  refused %d  (%d slow clients opened in "
          "%.1f s, %d reopened, %d frontend children)" % (
              name, pct(attack, .5), pct(attack, .99), len(attack_refused), N, opened,
              reopened, kids))


slow.raise_nofile(N * 2 + 512)
opts = {"max_children": 1024, "per_ip_max": 64, "min_spare": 8, "max_spare": 32,
        "log_level": "notice"}
with fu.stack(frontend=True, frontend_opts=opts) as s:
    time.sleep(0.5)
    run(s, False)
    time.sleep(1)
    run(s, True)
