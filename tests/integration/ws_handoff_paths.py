# SPDX-License-Identifier: BSD-2-Clause
"""The WebSocket hand-off's edges (issue 12): the deadline, sessions in the
middle of a frame, and the old worker's paths for the answers 'R' and none.

* Deadline: a session inside a long compressed message (Python websockets
  through the frontend, fragments sent slowly) across a HUP with
  shutdown_timeout = 3 moves when its message ends before the drain would
  close it (1.5 s: shutdown_timeout less the close margin), the message
  echoed once and in order; one whose message goes on past that gets the
  drain's clean 1001 (the client sees the close frame: no cut), and the old
  worker stops offering it at that moment.
* Mid-frame: a session inside an uncompressed frame, or inside a frame
  header, moves at once (the rest of the frame travels as a frame of its own)
  instead of waiting for the frame to end.
* 'R': tests/upgrade/bactrian-backend-hoans makes new worker 0 answer every
  offer with 'R' (it drains too): the sessions land on new worker 1 and go on.
* No answer: the same binary's worker 0 closes the descriptor unread and says
  nothing: the old worker logs "no answer ... given up" once its answer
  timeout (2 s) passes, the client's connection ends, nothing reads it twice,
  and the other sessions move to worker 1.
"""
import asyncio
import base64
import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

RELOADED = r"reloaded .*: generation"
HANDED = (r"worker \d+: (\d+) WebSocket session\(s\) handed to a new worker in (\d+) ms "
          r"\((\d+) refused, (\d+) lost\); (\d+) left to drain(.*)")
HOANS = os.path.join(harness.BUILDDIR, "tests", "upgrade", "bactrian-backend-hoans")
ECHO = [{"module": "echo", "path": "/echo"}]


need, log_count, wait_log = harness.need, harness.log_count, harness.wait_log
children = harness.children


def handed(log):
    return [m for m in re.findall(HANDED, log)]


def new_worker_pid(log, index, generation=2):
    m = re.search(r"worker %d ready \(pid (\d+), generation %d\)" % (index, generation), log)
    assert m, "no worker %d of generation %d in the log" % (index, generation)
    return int(m.group(1))


def spread(log):
    """{new worker pid: sessions it took}, over every old worker's line."""
    out = {}
    for line in re.findall(r"sessions per new worker: (.*)", log):
        for pid, n in re.findall(r"worker (\d+): (\d+)", line):
            out[int(pid)] = out.get(int(pid), 0) + int(n)
    return out


# ---- the deadline ----------------------------------------------------------------------


def test_long_compressed_message_moves_or_gets_1001():
    """Two compressed sessions each inside a fragmented message when the HUP
    comes: one ends its message 0.6 s later and moves with it; the other
    sends fragments for 2.6 s, past the drain's close at 1.5 s, and gets
    1001 with its close frame."""
    need(os.path.join(harness.MODULE_DIR, "echo.so"))
    mods = [{"module": "echo", "path": "/echoz", "deflate": True, "deflate_preset": "max"}]
    with harness.Stack(frontend=True, modules=mods, backend_opts={"shutdown_timeout": 3}) as s:
        url = s.url("/echoz").replace("http", "ws")
        master = s.pid("backend")

        async def run():
            import websockets
            short = await websockets.connect(url, compression="deflate", open_timeout=5,
                                             close_timeout=2)
            long = await websockets.connect(url, compression="deflate", open_timeout=5,
                                            close_timeout=2)
            base = os.urandom(400).hex()
            # Back-references into the first message, across the move.
            await short.send("first " + base)
            assert await asyncio.wait_for(short.recv(), 5) == "first " + base
            hup = asyncio.Event()
            t0 = []

            async def parts(tag, until):
                yield "%s-head|" % tag
                await hup.wait()
                k = 0
                while time.monotonic() - t0[0] < until:
                    yield "%s-%d %s|" % (tag, k, base)
                    k += 1
                    await asyncio.sleep(0.05)
                yield "%s-end" % tag

            def whole(tag, k):
                return "%s-head|" % tag + "".join(
                    "%s-%d %s|" % (tag, i, base) for i in range(k)) + "%s-end" % tag
            send_short = asyncio.ensure_future(short.send(parts("s", 0.6)))
            send_long = asyncio.ensure_future(long.send(parts("l", 2.6)))
            await asyncio.sleep(0.2)  # both first fragments are through
            old = set(children(master))
            t0.append(time.monotonic())
            s.signal("backend", signal.SIGHUP)
            hup.set()
            await send_short
            got = await asyncio.wait_for(short.recv(), 5)
            assert got.startswith("s-head|") and got.endswith("s-end"), got[:80]
            k = got.count("|") - 1
            assert got == whole("s", k), "the short message came back wrong"
            await short.send("after " + base)
            assert await asyncio.wait_for(short.recv(), 5) == "after " + base
            # The long one: the drain's close frame comes, its sending stops.
            try:
                await send_long
            except (websockets.ConnectionClosed, websockets.InvalidState):
                pass  # the close came between two fragments
            try:
                while True:
                    await asyncio.wait_for(long.recv(), 5)
            except websockets.ConnectionClosed:
                pass
            waited = time.monotonic() - t0[0]
            assert long.close_code == 1001, "cut, not closed: %r" % long.close_code
            assert 1.2 < waited < 3.0, "1001 after %.2f s" % waited
            # The short one is no longer in the old worker: it outlives it.
            harness.wait_for(lambda: not (old & set(children(master))), "the old worker to exit",
                             timeout=5)
            await short.send("later " + base)
            assert await asyncio.wait_for(short.recv(), 5) == "later " + base
            await short.close()
        asyncio.run(run())
        log = harness.read_file(s.backend_log)
        moves = handed(log)
        assert len(moves) == 1, moves
        n, ms, refused, lost, left, how = moves[0]
        assert (n, refused, lost) == ("1", "0", "0"), moves
        # The move stopped when the drain took the long session over, not at
        # shutdown_timeout, and said so.
        assert "the drain closes the rest" in how, moves
        assert 1300 <= int(ms) < 2500, moves


# ---- in the middle of a frame -----------------------------------------------------------


def raw_ws(port, path="/echo"):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n" % (path, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    assert b" 101 " in head.split(b"\r\n")[0], head
    return sock


def frame(fin, op, payload):
    mask = os.urandom(4)
    body = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    n = len(payload)
    size = bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big")
    return bytes([(0x80 if fin else 0) | op]) + size + mask + body


def recv_exactly(sock, n):
    got = b""
    while len(got) < n:
        b = sock.recv(65536)
        assert b, "connection closed after %d of %d bytes" % (len(got), n)
        got += b
    return got


def reload_and_wait_old(s, master, count, bound):
    """HUP; the old worker must be gone within bound seconds."""
    old = set(children(master))
    s.signal("backend", signal.SIGHUP)
    wait_log(s.backend_log, RELOADED, count, "reload %d" % count)
    harness.wait_for(lambda: not (old & set(children(master))),
                     "the old worker to exit (it waited for the frame's end)", timeout=bound)


def test_session_moves_inside_a_frame():
    """Inside a text frame's payload (cut in a UTF-8 character), inside a
    fragmented binary message's first frame, and inside a frame header: each
    session moves at once, the old worker is gone before the client sends
    the rest, and the new worker echoes the whole message."""
    need(os.path.join(harness.MODULE_DIR, "echo.so"))
    with harness.Stack(modules=ECHO, backend_opts={"shutdown_timeout": 3}) as s:
        master = s.pid("backend")
        text = ("caf\u00e9 " * 500).encode()
        cut = text.index(b"\xc3", 1000) + 1
        binary = os.urandom(3000)
        a, b, c = (raw_ws(s.backend_port) for _ in range(3))
        fa, fb, fc = frame(True, 1, text), frame(False, 2, binary[:2000]), frame(True, 1, b"hi")
        head_a = len(fa) - len(text)
        a.sendall(fa[:head_a + cut])          # inside the payload, inside a character
        b.sendall(fb[:len(fb) - 700])         # inside a first frame, FIN clear
        c.sendall(fc[:1])                     # inside the header
        time.sleep(0.3)
        reload_and_wait_old(s, master, 1, 1.2)
        a.sendall(fa[head_a + cut:])
        b.sendall(fb[len(fb) - 700:] + frame(True, 0, binary[2000:]))
        c.sendall(fc[1:])
        assert recv_exactly(a, 4 + len(text)) == bytes([0x81, 126]) + len(text).to_bytes(
            2, "big") + text
        assert recv_exactly(b, 4 + len(binary)) == bytes([0x82, 126]) + len(binary).to_bytes(
            2, "big") + binary
        assert recv_exactly(c, 4) == b"\x81\x02hi"
        for sock in (a, b, c):
            sock.close()
        log = harness.read_file(s.backend_log)
        moves = handed(log)
        assert len(moves) == 1 and (moves[0][0], moves[0][2], moves[0][3]) == ("3", "0", "0"), moves
        assert "1001" not in log


# ---- the answers 'R' and none ------------------------------------------------------------


class Hoans:
    """The test backend, its workers told how to answer."""

    def __init__(self, answer):
        need(HOANS)
        need(os.path.join(harness.MODULE_DIR, "echo.so"))
        self.answer, self.saved = answer, harness.BACKEND

    def __enter__(self):
        harness.BACKEND = HOANS
        os.environ["BACTRIAN_TEST_HO_ANSWER"] = self.answer
        return self

    def __exit__(self, *exc):
        harness.BACKEND = self.saved
        os.environ.pop("BACTRIAN_TEST_HO_ANSWER", None)


async def open_echoes(port, n):
    import websockets
    out = []
    for i in range(n):
        ws = await websockets.connect("ws://127.0.0.1:%d/echo" % port, open_timeout=5,
                                      close_timeout=2, ping_interval=None)
        await ws.send("hello %d" % i)
        assert await asyncio.wait_for(ws.recv(), 5) == "hello %d" % i
        out.append(ws)
    return out


def test_answer_r_goes_to_another_worker():
    with Hoans("R"), harness.Stack(modules=ECHO, workers=2,
                                   backend_opts={"shutdown_timeout": 3}) as s:
        async def run():
            sessions = await open_echoes(s.backend_port, 8)
            await harness.reload_until_old_gone(s, 2.5, "the old workers kept their sessions")
            for k in range(3):
                for i, ws in enumerate(sessions):
                    await ws.send("after %d %d" % (k, i))
                    assert await asyncio.wait_for(ws.recv(), 5) == "after %d %d" % (k, i)
            for ws in sessions:
                await ws.close()
        asyncio.run(run())
        log = harness.read_file(s.backend_log)
        w0, w1 = new_worker_pid(log, 0), new_worker_pid(log, 1)
        moves = handed(log)
        assert sum(int(m[0]) for m in moves) == 8, moves
        assert not any(int(m[2]) or int(m[3]) for m in moves), moves
        assert re.search(r"worker %d drains too; its sessions go to another" % w0, log), \
            "no 'R' answer was seen"
        assert spread(log) == {w1: 8}, (spread(log), w0, w1)
        assert "1001" not in log


def test_no_answer_gives_the_session_up():
    # shutdown_timeout 10: the drain's 1001 (5 s) does not come into it.
    with Hoans("none"), harness.Stack(modules=ECHO, workers=2,
                                      backend_opts={"shutdown_timeout": 10}) as s:
        import websockets

        async def run():
            sessions = await open_echoes(s.backend_port, 8)
            t0 = time.monotonic()
            s.signal("backend", signal.SIGHUP)
            await asyncio.sleep(0.1)

            async def after(i, ws):
                # Sent after the HUP: answered once by whoever holds the
                # session, or never, the connection ending.
                await ws.send("after %d" % i)
                try:
                    got = await asyncio.wait_for(ws.recv(), 8)
                except websockets.ConnectionClosed:
                    return ("ended", time.monotonic() - t0, ws.close_code)
                assert got == "after %d" % i, got
                await ws.send("again %d" % i)
                assert await asyncio.wait_for(ws.recv(), 5) == "again %d" % i
                return ("echoed", time.monotonic() - t0, None)
            res = await asyncio.gather(*(after(i, ws) for i, ws in enumerate(sessions)))
            await asyncio.get_running_loop().run_in_executor(
                None, wait_log, s.backend_log, r"no answer from worker \d+ about WebSocket "
                r"session \d+; given up", 1, "the give-up", 6)
            for ws in sessions:
                await ws.close()
            return res, time.monotonic() - t0
        res, _ = asyncio.run(run())
        log = harness.read_file(s.backend_log)
        gave_up = re.findall(r"no answer from worker (\d+) about WebSocket session \d+; given up",
                             log)
        w0 = new_worker_pid(log, 0)
        assert gave_up and all(int(p) == w0 for p in gave_up), (gave_up, w0)
        ended = [r for r in res if r[0] == "ended"]
        # Each give-up is one client whose connection ended, after the 2 s
        # answer timeout (and not much later), with no close frame from us.
        assert len(ended) == len(gave_up), (res, gave_up)
        for _, when, code in ended:
            assert 1.9 < when < 4.5, res
            assert code == 1006, res
        moves = handed(log)
        assert sum(int(m[3]) for m in moves) == len(gave_up), moves
        assert sum(int(m[0]) for m in moves) == 8 - len(gave_up), moves
        assert "1001" not in log


if __name__ == "__main__":
    harness.main(globals())
