# SPDX-License-Identifier: BSD-2-Clause
"""WebSocket sessions across backend reloads (issue 12): SESSIONS echo
sessions (half with permessage-deflate, context takeover, window 2^15) on
the backend's TCP listener, each echoing a sequence-numbered message every
second (checked: nothing lost, duplicated or reordered, no session cut),
plus 20 probe sessions echoing every 20 ms for latency, while the backend
is reloaded (HUP) ROUNDS times. Prints:

  * hand-off time: per worker from its log line ("N session(s) handed ...
    in T ms"), per session (T / N) and per 1,000 sessions (the workers move
    theirs in parallel: the slowest worker's T, scaled to 1,000);
  * spread: how many sessions each new worker took in each reload (from the
    old workers' lines "sessions per new worker: worker PID: N, ..."), and
    the smallest share of one new worker;
  * memory: the backend's total RSS (master + workers, every 50 ms) before
    the reload and its peak during it; and the workers' RSS before and after
    (the new workers hold the same sessions: the windows were primed, not
    copied beside zlib's);
  * echo latency of the probes: p50 / p99 / max before the reloads and in
    the 2 s after each HUP.

Run from a built tree (WORKERS defaults to 2):

    /usr/bin/python3 bench/ws_handoff.py tests/integration [SESSIONS] [ROUNDS] [WORKERS]

BACTRIAN_BACKEND=path runs another backend binary (to compare builds,
alternating runs on a shared machine). BACTRIAN_BENCH_SIGNAL=USR2 upgrades
the binary in place (the same one, re-executed) instead of reloading: the
sessions move to the new image's workers by the same hand-off.
BACTRIAN_BENCH_LATE_WORKER=SECONDS mounts tests/modules/mod_slowstart.c,
which makes new worker 1 of each reload start that much later than worker 0
(as on a loaded machine): the spread shows whether the old workers wait for
it."""
import asyncio
import os
import re
import resource
import signal
import statistics
import sys
import time

sys.path.insert(0, os.path.abspath(sys.argv[1]))
import harness  # noqa: E402

harness.BACKEND = os.environ.get("BACTRIAN_BACKEND", harness.BACKEND)
SIG = getattr(signal, "SIG" + os.environ.get("BACTRIAN_BENCH_SIGNAL", "HUP"))

N = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
WORKERS = int(sys.argv[4]) if len(sys.argv) > 4 else 2
PROBES = 20
HANDED = r"worker \d+: (\d+) WebSocket session\(s\) handed to a new worker in (\d+) ms " \
         r"\((\d+) refused, (\d+) lost\)"
SPREAD = r"sessions per new worker: (.*)"
STEP = r"reloaded .*: generation|upgrade: pid \d+, generation"


children = harness.children


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def backend_rss(master):
    return rss_kib(master) + sum(rss_kib(p) for p in children(master))


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")


class Session:
    def __init__(self, url, sid, deflate):
        self.url, self.sid, self.deflate, self.seq = url, sid, deflate, 0
        self.base = ("%d:" % sid) + os.urandom(200).hex()

    async def open(self):
        import websockets
        self.ws = await websockets.connect(self.url, open_timeout=30, close_timeout=5,
                                           compression="deflate" if self.deflate else None,
                                           ping_interval=None)

    async def echo(self):
        m = "%d-%d %s" % (self.sid, self.seq, self.base)
        await self.ws.send(m)
        got = await asyncio.wait_for(self.ws.recv(), 20)
        assert got == m, "session %d message %d: got %r" % (self.sid, self.seq, got[:40])
        self.seq += 1


async def main_async(s):
    url = "ws://127.0.0.1:%d/echo" % s.backend_port
    urlz = "ws://127.0.0.1:%d/echoz" % s.backend_port
    sessions = [Session(urlz if i % 2 else url, i, i % 2 == 1) for i in range(N)]
    sem = asyncio.Semaphore(50)

    async def opened(x):
        async with sem:
            await x.open()
    await asyncio.gather(*(opened(x) for x in sessions))
    probes = [Session(url, N + i, False) for i in range(PROBES)]
    for p in probes:
        await p.open()
    master = s.pid("backend")
    stop = asyncio.Event()
    lat = []  # (time, seconds)

    async def load(x):
        await asyncio.sleep(x.sid % 100 / 100.0)
        while not stop.is_set():
            await x.echo()
            await asyncio.sleep(1.0)

    async def probe(p):
        while not stop.is_set():
            t0 = time.monotonic()
            await p.echo()
            lat.append((t0, time.monotonic() - t0))
            await asyncio.sleep(0.02)
    tasks = [asyncio.ensure_future(load(x)) for x in sessions]
    tasks += [asyncio.ensure_future(probe(p)) for p in probes]
    mem = []

    async def sample():
        while not stop.is_set():
            mem.append((time.monotonic(), backend_rss(master)))
            await asyncio.sleep(0.05)
    tasks.append(asyncio.ensure_future(sample()))
    await asyncio.sleep(3.0)
    workers_before = sum(rss_kib(p) for p in children(master))
    hups = []
    for n in range(ROUNDS):
        hups.append(time.monotonic())
        s.signal("backend", SIG)
        await asyncio.sleep(4.0)
    workers_after = sum(rss_kib(p) for p in children(master))
    stop.set()
    await asyncio.gather(*tasks)
    for x in sessions + probes:
        await x.ws.close()
    return sessions, lat, mem, hups, workers_before, workers_after


def per_step(log):
    """Per reload (or upgrade): the old workers' move lines (N, T, refused,
    lost) and {new worker pid: sessions it took}. An old worker with no
    session says nothing, so lines are grouped by the step they follow."""
    rounds = []
    for line in log.splitlines():
        if re.search(STEP, line):
            rounds.append(([], {}))
        if not rounds:
            continue
        m = re.search(HANDED, line)
        if m:
            rounds[-1][0].append(tuple(map(int, m.groups())))
        m = re.search(SPREAD, line)
        if m:
            for pid, n in re.findall(r"worker (\d+): (\d+)", m.group(1)):
                rounds[-1][1][pid] = rounds[-1][1].get(pid, 0) + int(n)
    return rounds


def main():
    mods = [{"module": "echo", "path": "/echo"},
            {"module": "echo", "path": "/echoz", "deflate": True, "deflate_preset": "max"}]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * N + 256)), hard))
    opts = {"shutdown_timeout": 10, "log_level": "info"}
    late = os.environ.get("BACTRIAN_BENCH_LATE_WORKER")
    mdir = None
    if late:
        import tempfile
        mdir = tempfile.mkdtemp(prefix="bactrian-bench-mods-")
        tmods = os.path.join(harness.BUILDDIR, "tests", "modules", ".libs")
        os.symlink(os.path.join(harness.MODULE_DIR, "echo.so"), os.path.join(mdir, "echo.so"))
        os.symlink(os.path.join(tmods, "slowstart.so"), os.path.join(mdir, "slowstart.so"))
        opts["module_dir"] = mdir
        mods.append({"module": "slowstart", "path": "/slow", "delay": float(late), "worker": 1})
    try:
        log, results = run_stack(mods, opts)
    finally:
        if mdir:
            import shutil
            shutil.rmtree(mdir, ignore_errors=True)
    report(log, results)


def run_stack(mods, opts):
    with harness.Stack(modules=mods, workers=WORKERS, backend_opts=opts) as s:
        loop = asyncio.new_event_loop()
        try:
            results = loop.run_until_complete(main_async(s))
        finally:
            loop.close()
        return harness.read_file(s.backend_log), results


def report(log, results):
    sessions, lat, mem, hups, wb, wa = results
    steps = per_step(log)
    handed = [h for batch, _ in steps for h in batch]
    print("%d sessions (%d with permessage-deflate), %d workers, %d x %s" % (
        N, N // 2, WORKERS, ROUNDS, signal.Signals(SIG).name))
    print("messages echoed per session: min %d; every answer checked" % min(x.seq for x in sessions))
    moved = sum(h[0] for h in handed)
    print("sessions handed over: %d of %d (refused %d, lost %d)" % (
        moved, (N + PROBES) * ROUNDS, sum(h[2] for h in handed), sum(h[3] for h in handed)))
    for r, (batch, counts) in enumerate(steps):
        n, slowest = sum(h[0] for h in batch), max([h[1] for h in batch] or [0])
        print("reload %d: %s; per session %.3f ms; per 1,000 sessions %.0f ms" % (
            r + 1, ", ".join("%d in %d ms" % (h[0], h[1]) for h in batch),
            sum(h[1] for h in batch) / max(1, n), slowest * 1000.0 / max(1, n)))
        v = sorted(counts.values(), reverse=True)
        print("reload %d spread: %s over %d new workers (smallest share %.1f%%)" % (
            r + 1, " / ".join(map(str, v)) or "-", len(v),
            100.0 * (min(v) if len(v) >= WORKERS else 0) / max(1, sum(v))))
    base = [m for t, m in mem if t < hups[0]]
    print("backend RSS: %.1f MiB before the reloads, peak %.1f MiB during them" % (
        max(base) / 1024.0, max(m for _, m in mem) / 1024.0))
    print("workers' RSS: %.1f MiB before, %.1f MiB after (the new generation)" % (
        wb / 1024.0, wa / 1024.0))
    before = [d for t, d in lat if t < hups[0]]
    around = [d for t, d in lat if any(h <= t < h + 2.0 for h in hups)]
    for name, v in (("before the reloads", before), ("2 s after each HUP", around)):
        print("echo latency %s: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d samples)" % (
            name, 1000 * pct(v, 0.5), 1000 * pct(v, 0.99), 1000 * max(v), len(v)))


if __name__ == "__main__":
    main()
