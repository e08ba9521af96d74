# SPDX-License-Identifier: BSD-2-Clause
"""Nothing cut: WebSocket sessions across reloads and upgrades of both
daemons (issue 12, Tests).

Through the frontend (ws and wss), SESSIONS clients exchange
sequence-numbered messages without a pause while, interleaved, the backend
is reloaded (HUP) 10 times and upgraded in place (USR2) 3 times and the
frontend is reloaded 5 times and upgraded once, with the backend's
shutdown_timeout = 3 (a session that stayed in an old worker would be
closed within 3 s; the run lasts much longer). The mix:

  * echo sessions, half of all sessions with permessage-deflate (Python
    websockets' compression, context takeover, every message mostly a
    back-reference into the ones before), some of them over wss;
  * fragmented messages sent in three parts, plain ones over 0.6 s (they
    move with the session in the middle), compressed ones over 0.2 s (they
    must end before the session moves), so that every step finds some
    sessions in the middle of one;
  * slow readers: bursts of 6 MiB read only after a second: more than the
    kernel's buffers on the way hold (the frontend's TCP send buffer grows
    to 4 MiB), so the backend's own send queue backs up (to its high
    watermark) and moves with the session;
  * chat users in rooms of five, each reading everyone's lines in order.

Every client checks what it gets against what it sent: 0 sessions cut, 0
messages lost, duplicated, reordered or corrupted; the chat users check every
line of every member of their room once and in order. The masters keep their
pids across USR2. A module without hand-off hooks (tests/modules/mod_wsv2.c)
is drained as documented: its clients get 1001 before shutdown_timeout of
the first backend step, and only they.

make check runs it with 150 sessions; the full run (figures in
doc/design.md) is

    /usr/bin/python3 tests/integration/ws_survive.py --sessions 1000

(--no-handoff: the same with handoff_timeout = 0, which must fail: cut sessions)
from a built tree (bench/ws_survive.py is the same with 1,000 by default).
It prints the figures: sessions, messages, cut/lost/dup/reordered, wall time,
echo latency p50/p99/max over the run and in the 2 s after each step.
"""
import asyncio
import os
import re
import resource
import signal
import ssl
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TEST_MODS = os.path.join(harness.BUILDDIR, "tests", "modules", ".libs")
CHECK_SESSIONS = 150
BURST = 192  # x 32 KiB, a slow reader's burst
# b: backend, f: frontend; H: reload (HUP), U: upgrade in place (USR2).
STEPS = ["bH", "fH", "bH", "bU", "bH", "fH", "bH", "fU", "bH", "bU",
         "fH", "bH", "bH", "fH", "bU", "bH", "fH", "bH", "bH"]
HANDED = (r"worker \d+: (\d+) WebSocket session\(s\) handed to a new worker in (\d+) ms "
          r"\((\d+) refused, (\d+) lost\)")
BE_RELOADED = r"reloaded .*: generation"
FE_RELOADED = r"reloaded: generation"
BE_UPGRADED = r"upgrade: pid %d, generation"
FE_UPGRADED = r"upgrade: pid %d, generation"
V2_SESSIONS = 4
PROBES = 10  # latency probes, in a process of their own (probe_main)


def backend_upgrades():
    """Whether this backend has USR2 (issue 12.4, backend part). Without it a
    USR2 would change nothing and prove nothing: those steps are skipped,
    said in the output."""
    return os.path.exists(os.path.join(harness.SRCDIR, "backend", "upgrade.c"))


class Log:
    """A daemon's log, read incrementally (a 1,000-session run logs a lot)."""

    def __init__(self, path):
        self.path, self.off, self.text = path, 0, ""

    def count(self, pattern):
        try:
            with open(self.path, "r", errors="replace") as f:
                f.seek(self.off)
                more = f.read()
        except OSError:
            more = ""
        self.off += len(more.encode("utf-8", "replace"))
        self.text += more
        return len(re.findall(pattern, self.text))


async def until(pred, what, timeout):
    t0 = time.monotonic()
    while not pred():
        if time.monotonic() - t0 > timeout:
            raise AssertionError("timed out (%.1f s) waiting for %s" % (timeout, what))
        await asyncio.sleep(0.05)
    return time.monotonic() - t0


children = harness.children


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")


class Tally:
    """What the clients saw, all sessions together."""

    def __init__(self):
        self.sent = self.got = self.lost = self.dup = self.reordered = self.bad = 0
        self.cut = []          # (session, kind, close code, reason, last step)
        self.lost_at = []      # (session, kind, first seqs missing, what was sent around them)
        self.rtt = []          # (monotonic time sent, seconds) of single-frame echoes
        self.load_rtt = []
        self.mid_message = 0   # fragmented messages under way when a step was signalled
        self.step = "start"


async def connect(url, tls_port=None, **kw):
    import websockets
    if tls_port:
        ctx = ssl.create_default_context(cafile=os.path.join(harness.CERTS, "localhost.crt"))
        kw.update(ssl=ctx, host="127.0.0.1", port=tls_port, server_hostname="localhost")
    return await websockets.connect(url, open_timeout=30, close_timeout=5, max_size=None, **kw)


class Echo:
    """One echo session: a sender paced by a window, a reader checking every
    answer against what was sent, by sequence number."""

    def __init__(self, tally, sid, kind, interval):
        self.t, self.sid, self.kind, self.interval = tally, sid, kind, interval
        self.deflate = kind in ("deflate", "wss", "fragz")
        self.seq, self.sent, self.seen = 0, {}, set()
        self.max_seen, self.pause_until, self.in_fragment = -1, 0.0, False
        self.window = asyncio.Semaphore(BURST + 8 if kind == "slow" else 4)
        self.base = os.urandom(350).hex()  # repeated: a back-reference in each message

    async def open(self, urls):
        url = urls["wss" if self.kind == "wss" else ("deflate" if self.deflate else "plain")]
        self.ws = await connect(url, urls["tls_port"] if self.kind == "wss" else None,
                                compression="deflate" if self.deflate else None,
                                max_queue=1 if self.kind == "slow" else 16)
        if self.deflate:
            ext = self.ws.response_headers.get("Sec-WebSocket-Extensions", "")
            assert "permessage-deflate" in ext and "no_context" not in ext, ext

    def message(self, extra="", timed=False):
        m = "%d %d %s%s" % (self.sid, self.seq, self.base, extra)
        # The hash, not the text: the bursts in flight would take 100s of MiB.
        self.sent[self.seq] = (hash(m), time.monotonic(), timed)
        self.seq += 1
        self.t.sent += 1
        return m

    async def fragmented(self):
        m = self.message("|end")
        parts = [m[:40], m[40:400], m[400:]]

        # A step may come in between. A plain fragmented message moves with
        # the session; a compressed one must end first (zlib's state cannot
        # travel): 0.2 s, so that such a client is mostly between messages.
        gap = 0.1 if self.deflate else 0.3

        async def gen():
            self.in_fragment = True
            for i, p in enumerate(parts):
                if i:
                    await asyncio.sleep(gap)
                yield p
            self.in_fragment = False
        await self.ws.send(gen())

    async def burst(self):
        big = "x" * 32768
        self.pause_until = time.monotonic() + 1.0  # the reader waits: queues back up
        for _ in range(BURST):
            await self.window.acquire()
            await self.ws.send(self.message(big))

    async def step(self):
        if self.kind in ("frag", "fragz"):
            await self.window.acquire()
            await self.fragmented()
        elif self.kind == "slow" and self.seq % 5 == 0:
            await self.burst()
        else:
            await self.window.acquire()
            # The latency sample: single frames of sessions that read at once.
            await self.ws.send(self.message(timed=self.kind != "slow"))

    def check(self, raw):
        sid, seq = (int(x) for x in raw.split(" ", 2)[:2])
        want = self.sent.pop(seq, None)
        if sid != self.sid or want is None:
            if seq in self.seen:
                self.t.dup += 1
            else:
                self.t.bad += 1
            return
        self.window.release()
        self.t.got += 1
        if want[0] != hash(raw):
            self.t.bad += 1
        if seq < self.max_seen:
            self.t.reordered += 1
        self.max_seen = max(self.max_seen, seq)
        self.seen.add(seq)
        if want[2]:  # single frame, not in a burst
            self.t.rtt.append((want[1], time.monotonic() - want[1]))

    async def reader(self):
        while True:
            wait = self.pause_until - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            raw = await asyncio.wait_for(self.ws.recv(), 60)
            if raw == "fin":
                return
            self.check(raw)

    async def sender(self, stop):
        await asyncio.sleep(self.sid % 50 * self.interval / 50)
        while not stop.is_set():
            await self.step()
            await asyncio.sleep(self.interval)
        t0 = time.monotonic()
        while self.sent and time.monotonic() - t0 < 20:
            await asyncio.sleep(0.05)
        await self.ws.send("fin")  # a duplicate or late answer would come before it

    async def run(self, stop):
        import websockets
        rd = asyncio.ensure_future(self.reader())
        try:
            await asyncio.gather(self.sender(stop), rd)
            self.t.lost += len(self.sent)
            if self.sent:
                self.t.lost_at.append((self.sid, self.kind, sorted(self.sent)[:5], self.seq))
            await self.ws.close()
        except (websockets.ConnectionClosed, websockets.InvalidState,
                asyncio.TimeoutError) as e:
            rd.cancel()
            self.t.lost += len(self.sent)
            self.t.cut.append((self.sid, self.kind, self.ws.close_code, repr(e)[:80], self.t.step))


class Chat:
    """A chat user in a room: every line of every member (its own too, chat
    sends a room's lines to all of it) arrives once and in order."""

    def __init__(self, tally, nick, room, interval):
        self.t, self.nick, self.room, self.interval = tally, nick, room, interval
        self.seq, self.seen, self.members = 0, {}, []

    async def open(self, urls):
        self.ws = await connect(urls["chat"])
        await self.ws.send('{"type":"join","room":"%s","nick":"%s"}' % (self.room, self.nick))

    def take(self, m):
        if m["type"] != "message":
            return
        who, n = m["text"].split(":")
        n, last = int(n), self.seen.get(who, -1)
        if m["room"] != self.room or who != m["nick"]:
            self.t.bad += 1
        elif n == last:
            self.t.dup += 1
        elif n < last:
            self.t.reordered += 1
        else:
            self.t.got += 1
            self.t.lost += n - last - 1  # what a later line skipped never comes
            if n - last - 1:
                self.t.lost_at.append((self.nick, "chat", who, list(range(last + 1, n))[:5]))
            self.seen[who] = n

    async def reader(self):
        import json
        async for raw in self.ws:
            self.take(json.loads(raw))

    async def run(self, stop):
        import websockets
        rd = asyncio.ensure_future(self.reader())
        try:
            await asyncio.sleep(1.0)  # every member joined
            while not stop.is_set():
                await self.ws.send('{"type":"say","text":"%s:%d"}' % (self.nick, self.seq))
                self.seq += 1
                self.t.sent += len(self.members)
                await asyncio.sleep(self.interval)
            await asyncio.sleep(0.5)  # let everyone finish
            done = lambda: all(self.seen.get(o.nick, -1) == o.seq - 1 for o in self.members)
            t0 = time.monotonic()
            while not done() and time.monotonic() - t0 < 20 and not rd.done():
                await asyncio.sleep(0.05)
            self.t.lost += sum(o.seq - 1 - self.seen.get(o.nick, -1) for o in self.members)
            if rd.done():
                rd.result()  # raises what cut it
            rd.cancel()
            await self.ws.close()
        except websockets.ConnectionClosed as e:
            rd.cancel()
            self.t.cut.append((self.nick, "chat", self.ws.close_code, repr(e)[:80], self.t.step))


class Drained:
    """A session of a module without hand-off hooks: it stays in its old
    worker and gets 1001 shortly before shutdown_timeout."""

    def __init__(self, url):
        self.url, self.code, self.closed_at = url, None, None

    async def open(self, urls):
        self.ws = await connect(urls["v2"])
        await self.ws.send("hello")
        assert await asyncio.wait_for(self.ws.recv(), 10) == "hello"

    async def run(self):
        import websockets
        try:
            while True:
                await self.ws.recv()
        except websockets.ConnectionClosed:
            self.code, self.closed_at = self.ws.close_code, time.monotonic()


def mix(n):
    """The kinds of n sessions: half with permessage-deflate in all."""
    chat = max(5, n // 10 // 5 * 5)
    slow = min(10, max(1, n // 20))  # 6 MiB each in flight at times
    frag, fragz, wss = max(1, n // 20), max(1, n // 20), max(1, n // 10)
    rest = n - chat - slow - frag - fragz - wss
    deflate = max(0, n // 2 - fragz - wss)
    plain = rest - deflate
    return (["plain"] * plain + ["deflate"] * deflate + ["wss"] * wss + ["frag"] * frag +
            ["fragz"] * fragz + ["slow"] * slow), chat


class Steps:
    """The reloads and upgrades, interleaved, each waited for in the loop (the
    clients go on meanwhile)."""

    def __init__(self, s, tally, echoes, be_usr2, shutdown=3):
        self.s, self.t, self.echoes, self.be_usr2 = s, tally, echoes, be_usr2
        self.shutdown = shutdown
        self.be, self.fe = Log(s.backend_log), Log(s.frontend_log)
        self.pids = {"backend": s.pid("backend"), "frontend": s.pid("frontend")}
        self.done = {"bH": 0, "bU": 0, "fH": 0, "fU": 0}
        self.times, self.skipped = [], 0
        self.first_be = None  # when the first backend step was signalled

    def check_pids(self):
        for name, pid in self.pids.items():
            p = self.s.procs[name]
            assert p.poll() is None and p.pid == pid, "%s master %d exited (%r)" % (
                name, pid, p.poll())

    async def backend(self, step):
        master = self.pids["backend"]
        before = set(children(master))
        sig, log, n = {"bH": (signal.SIGHUP, BE_RELOADED, self.done["bH"]),
                       "bU": (signal.SIGUSR2, BE_UPGRADED % master, self.done["bU"])}[step]
        t0 = time.monotonic()
        self.first_be = self.first_be or t0
        self.s.signal("backend", sig)
        await until(lambda: self.be.count(log) > n, "backend %s %d" % (step, n + 1), 30)
        # Every old worker lets go of its sessions and exits long before
        # shutdown_timeout; at the first step the wsv2 sessions keep theirs
        # until 1001 (shortly before shutdown_timeout, which the bench may set long).
        await until(lambda: not (before & set(children(master))), "old workers to exit",
                    max(10, self.shutdown + 7))
        return t0

    async def frontend(self, step):
        pid = self.pids["frontend"]
        sig, log = {"fH": (signal.SIGHUP, FE_RELOADED),
                    "fU": (signal.SIGUSR2, FE_UPGRADED % pid)}[step]
        n = self.fe.count(log)
        t0 = time.monotonic()
        self.s.signal("frontend", sig)
        await until(lambda: self.fe.count(log) > n, "frontend %s" % step, 30)
        return t0

    async def run(self, gap):
        for step in STEPS:
            await asyncio.sleep(gap)
            if step == "bU" and not self.be_usr2:
                self.skipped += 1
                continue
            self.t.step = step
            self.t.mid_message += sum(1 for e in self.echoes if e.in_fragment)
            t0 = await (self.backend(step) if step[0] == "b" else self.frontend(step))
            self.times.append((step, t0, time.monotonic() - t0))
            self.done[step] += 1
            self.check_pids()
        self.t.step = "end"
        await asyncio.sleep(gap)


async def exchange(s, n, interval, be_usr2, shutdown=3):
    urls = {"plain": "ws://127.0.0.1:%d/echo" % s.http_port,
            "deflate": "ws://127.0.0.1:%d/echoz" % s.http_port,
            "wss": "wss://localhost:%d/echoz" % s.https_port, "tls_port": s.https_port,
            "chat": "ws://127.0.0.1:%d/chat" % s.http_port,
            "v2": "ws://127.0.0.1:%d/v2" % s.http_port}
    t = Tally()
    kinds, nchat = mix(n)
    echoes = [Echo(t, i, k, interval) for i, k in enumerate(kinds)]
    chats = [Chat(t, "u%d" % i, "room%d" % (i // 5), interval) for i in range(nchat)]
    for i, c in enumerate(chats):
        c.members = chats[i // 5 * 5:i // 5 * 5 + 5]
    drained = [Drained(urls["v2"]) for _ in range(V2_SESSIONS)]
    sem = asyncio.Semaphore(32)

    async def opened(x):
        async with sem:
            await x.open(urls)
    await asyncio.gather(*(opened(x) for x in echoes + chats + drained))
    stop = asyncio.Event()
    runs = [asyncio.ensure_future(x.run(stop)) for x in echoes + chats]
    v2 = [asyncio.ensure_future(d.run()) for d in drained]
    steps = Steps(s, t, echoes, be_usr2, shutdown)
    probes = await Probes.start(s.http_port)
    t0 = time.monotonic()
    await asyncio.sleep(2.0)
    try:
        await steps.run(gap=0.5)
    finally:
        stop.set()
        await asyncio.gather(*runs)
        await probes.stop(t)
    await asyncio.wait_for(asyncio.gather(*v2), shutdown + 10)
    return t, steps, drained, time.monotonic() - t0


class Probes:
    """PROBES echo sessions in another process, echoing every 20 ms: the
    latency the servers give, apart from this process's own load (1,000
    sessions keep one core busy in Python). CLOCK_MONOTONIC is the system's,
    so their times compare with the steps'."""

    @classmethod
    async def start(cls, port):
        import subprocess
        self = cls()
        cmd = [sys.executable, os.path.abspath(__file__), "--probe", str(port)]
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(
            None, self.p.stdout.readline), 60)
        assert line.strip() == "ready", "probe process: %r" % line
        return self

    async def stop(self, t):
        import json
        out, _ = await asyncio.get_running_loop().run_in_executor(
            None, lambda: self.p.communicate("stop\n", timeout=60))
        got = json.loads(out)
        for k in ("sent", "got", "lost", "dup", "reordered", "bad"):
            setattr(t, k, getattr(t, k) + got[k])
        t.cut += [tuple(c) for c in got["cut"]]
        t.load_rtt, t.rtt = t.rtt, [tuple(r) for r in got["rtt"]]


async def probe_async(port):
    import json
    t = Tally()
    urls = {"plain": "ws://127.0.0.1:%d/echo" % port}
    probes = [Echo(t, 100000 + i, "plain", 0.02) for i in range(PROBES)]
    for e in probes:
        await e.open(urls)
    stop = asyncio.Event()
    runs = [asyncio.ensure_future(e.run(stop)) for e in probes]
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    stop.set()
    await asyncio.gather(*runs)
    print(json.dumps({"sent": t.sent, "got": t.got, "lost": t.lost, "dup": t.dup,
                      "reordered": t.reordered, "bad": t.bad, "cut": t.cut, "rtt": t.rtt}))


def stack(n, handoff=True, shutdown=3):
    """A backend (2 workers, shutdown_timeout 3 unless told) with echo, echo with
    deflate, chat and the hook-less wsv2, behind a frontend with room for n
    children."""
    for path in (os.path.join(harness.MODULE_DIR, "echo.so"),
                 os.path.join(harness.MODULE_DIR, "chat.so"), os.path.join(TEST_MODS, "wsv2.so")):
        if not os.path.exists(path):
            raise harness.Skip("%s is not built" % path)
    mods = tempfile.mkdtemp(prefix="bactrian-survive-mods-")
    for path in (os.path.join(harness.MODULE_DIR, "echo.so"),
                 os.path.join(harness.MODULE_DIR, "chat.so"), os.path.join(TEST_MODS, "wsv2.so")):
        os.symlink(path, os.path.join(mods, os.path.basename(path)))
    modules = [{"module": "echo", "path": "/echo"},
               {"module": "echo", "path": "/echoz", "deflate": True, "deflate_preset": "max"},
               {"module": "chat", "path": "/chat"}, {"module": "wsv2", "path": "/v2"}]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * n + 512)), hard))
    be = {"shutdown_timeout": shutdown, "module_dir": mods, "log_level": "info"}
    if not handoff:
        be["handoff_timeout"] = 0  # --no-handoff: shows the test fails without it
    fe = {"log_level": "info", "per_ip_max": 0, "max_children": 2 * n + 200,
          "min_spare": 4, "max_spare": 16}
    return harness.Stack(frontend=True, modules=modules, workers=2, backend_opts=be,
                         frontend_opts=fe), mods


def survive(n, interval, handoff=True, shutdown=3):
    be_usr2 = backend_upgrades()
    st, mods = stack(n, handoff, shutdown)
    try:
        with st as s:
            loop = asyncio.new_event_loop()
            try:
                t, steps, drained, wall = loop.run_until_complete(
                    exchange(s, n, interval, be_usr2, shutdown))
            finally:
                loop.close()
            log = harness.read_file(s.backend_log)
    finally:
        for f in os.listdir(mods):
            os.unlink(os.path.join(mods, f))
        os.rmdir(mods)
    return t, steps, drained, wall, log


def report(n, t, steps, drained, wall, log):
    handed = [tuple(map(int, m)) for m in re.findall(HANDED, log)]
    print("%d sessions (%d echo, %d chat users) + %d wsv2; steps: %s%s" % (
        n, n - mix(n)[1], mix(n)[1], len(drained), " ".join(s for s, _, _ in steps.times),
        "; %d backend USR2 skipped: this backend has no upgrade" % steps.skipped
        if steps.skipped else ""))
    print("messages: %d expected, %d received; cut %d, lost %d, duplicated %d, reordered %d, "
          "corrupt %d" % (t.sent, t.got, len(t.cut), t.lost, t.dup, t.reordered, t.bad))
    print("fragmented messages under way at the steps: %d" % t.mid_message)
    print("session moves: %d (%d refused, %d lost) in %d worker hand-offs, slowest %d ms" % (
        sum(h[0] for h in handed), sum(h[2] for h in handed), sum(h[3] for h in handed),
        len(handed), max([h[1] for h in handed] or [0])))
    print("steps took (signal to done): " +
          ", ".join("%s %.2fs" % (s, d) for s, _, d in steps.times))
    load = [d for _, d in t.load_rtt]
    print("echo latency of the load sessions (bound by this process's CPU): p50 %.1f ms, "
          "p99 %.1f ms (%d samples)" % (1000 * pct(load, 0.5), 1000 * pct(load, 0.99), len(load)))
    lat = [d for _, d in t.rtt]
    after = [d for ts, d in t.rtt if any(s0 <= ts < s0 + 2.0 for _, s0, _ in steps.times)]
    for name, v in (("over the run", lat), ("2 s after each step", after)):
        print("echo latency (%d probes, every 20 ms) %s: p50 %.1f ms, p99 %.1f ms, "
              "max %.1f ms (%d samples)" % (
            PROBES, name, 1000 * pct(v, 0.5), 1000 * pct(v, 0.99), 1000 * max(v or [0]), len(v)))
    print("wsv2 (no hooks) closed with %r, %.2f s after the first backend step" % (
        [d.code for d in drained], max(d.closed_at for d in drained) - steps.first_be))
    print("masters' pids unchanged across every step: backend %d, frontend %d" % (
        steps.pids["backend"], steps.pids["frontend"]))
    print("wall time: %.1f s" % wall)
    return handed


def verify(n, t, steps, drained, log, handed, shutdown=3):
    assert not t.cut, "sessions cut: %r" % t.cut[:10]
    assert t.lost == t.dup == t.reordered == t.bad == 0, (t.lost, t.dup, t.reordered, t.bad,
                                                          t.lost_at[:10])
    assert t.got == t.sent, (t.got, t.sent)
    be_steps = steps.done["bH"] + steps.done["bU"]
    assert sum(h[0] for h in handed) == (n + PROBES) * be_steps, "moved %d, want %d x %d" % (
        sum(h[0] for h in handed), n + PROBES, be_steps)
    assert not any(h[2] or h[3] for h in handed), "refused or lost: %r" % handed
    assert t.mid_message > 0, "no step came in the middle of a fragmented message"
    for d in drained:
        assert d.code == 1001, [x.code for x in drained]
        assert d.closed_at - steps.first_be < shutdown + 0.5, "1001 %.2f s after the step" % (
            d.closed_at - steps.first_be)
    assert len(re.findall(r"will not survive a reload", log)) >= 1


def test_nothing_cut():
    n = CHECK_SESSIONS
    t, steps, drained, wall, log = survive(n, interval=0.25)
    handed = report(n, t, steps, drained, wall, log)
    try:
        verify(n, t, steps, drained, log, handed)
    except AssertionError:
        # The stack's files are gone by now: what the backend said, for the post-mortem.
        print("--- backend log, notice and above ---")
        for line in log.splitlines():
            if re.search(r"\[(notice|warn|error|crit)\]", line):
                print(line)
        raise


def test_backpressured_session_moves():
    """A session whose reader stopped reading: the backend's queue is over
    its high watermark and it stopped reading the client (which still had
    more to send). On a reload it must move all the same, not wait for the
    reader and be cut with 1001 (shutdown_timeout 3: 1001 after 1.5 s).
    Frames of 32 KiB + 7 bytes, so reads end in the middle of one."""
    if not os.path.exists(os.path.join(harness.MODULE_DIR, "echo.so")):
        raise harness.Skip("echo.so is not built")
    with harness.Stack(modules=[{"module": "echo", "path": "/echo"}],
                       backend_opts={"shutdown_timeout": 3, "log_level": "info"}) as s:
        async def run():
            ws = await connect("ws://127.0.0.1:%d/echo" % s.backend_port, max_queue=1,
                               read_limit=4096, ping_interval=None)
            # 40 MiB: more than the kernel buffers on the way take (up to 15 MiB)
            msgs = ["%d %s" % (i, "y" * 32768) for i in range(1280)]
            sent = []

            async def send_all():
                for m in msgs:
                    await ws.send(m)
                    sent.append(m)
            sender = asyncio.ensure_future(send_all())
            last, still = -1, 0
            while still < 10 and not sender.done():  # 0.5 s without progress: paused
                await asyncio.sleep(0.05)
                still, last = (still + 1, last) if len(sent) == last else (0, len(sent))
            assert not sender.done(), "the backend never stopped reading"
            log = Log(s.backend_log)
            s.signal("backend", signal.SIGHUP)
            await until(lambda: log.count(HANDED) >= 1, "the hand-off", 10)
            await asyncio.sleep(2.0)  # past the 1001 an old worker would have sent
            for m in msgs:
                got = await asyncio.wait_for(ws.recv(), 20)
                assert got == m, "got %r, want %r" % (got[:20], m[:20])
            await sender
            await ws.close()
            return log.text
        log = asyncio.run(run())
        moved = [tuple(map(int, m)) for m in re.findall(HANDED, log)]
        assert sum(h[0] for h in moved) == 1 and not any(h[2] or h[3] for h in moved), moved


def bench(argv):
    n = int(argv[argv.index("--sessions") + 1]) if "--sessions" in argv else 1000
    shutdown = (int(argv[argv.index("--shutdown-timeout") + 1])
                if "--shutdown-timeout" in argv else 3)
    t, steps, drained, wall, log = survive(n, interval=1.0 if n > 300 else 0.25,
                                           handoff="--no-handoff" not in argv, shutdown=shutdown)
    verify(n, t, steps, drained, log, report(n, t, steps, drained, wall, log), shutdown)


if __name__ == "__main__":
    if "--probe" in sys.argv:
        asyncio.run(probe_async(int(sys.argv[sys.argv.index("--probe") + 1])))
    elif "--sessions" in sys.argv:
        bench(sys.argv)
    else:
        harness.main(globals())
