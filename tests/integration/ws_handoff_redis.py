#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Sessions moved by a reload get every pub/sub message once, through Redis too
(issue 11.2 with issue 12.1).

A real redis-server on a free port, two backends with two workers each sharing
it (backend.pubsub.redis), chat users (Python websockets) in one room on both
backends, every user saying sequence-numbered messages all the time, while
backend A is reloaded (HUP) three times: its sessions move to new workers in
the middle of the traffic. Every user must get every user's messages (its own
too) exactly once and in order: 0 lost, 0 duplicated, 0 reordered; and the
backend's log must say every session was handed over each time, none refused
or lost. Without origin sequence numbers in the Redis payload, the seen vector
and the PING barrier (pubsub_redis.c), messages in flight during a move are
lost or come twice."""
import asyncio
import json
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from be_redis import Redis  # noqa: E402
from ws_handoff import HANDED, RELOADED, children, need, wait_log  # noqa: E402

RELOADS = 3
PER_BACKEND = 6
INTERVAL = 0.01


def stack(redis):
    ps = {"redis": "127.0.0.1:%d" % redis.port, "redis_retry_min": 0.05,
          "redis_retry_max": 0.3}
    return harness.Stack(workers=2, modules=[{"module": "chat", "path": "/chat",
                                              "ping_interval": 0}],
                         backend_opts={"pubsub": ps, "shutdown_timeout": 3})


class User:
    def __init__(self, port, nick):
        self.url, self.nick, self.sent = "ws://127.0.0.1:%d/chat" % port, nick, 0
        self.got = {}  # sender -> [sequence numbers in arrival order]

    async def open(self):
        import websockets
        self.ws = await websockets.connect(self.url, open_timeout=5, close_timeout=2,
                                           compression=None)
        await self.ws.send(json.dumps({"type": "join", "room": "room", "nick": self.nick}))

    async def reader(self):
        async for raw in self.ws:
            m = json.loads(raw)
            if m["type"] == "message":
                who, n = m["text"].split(":")
                assert who == m["nick"], m
                self.got.setdefault(who, []).append(int(n))

    async def say(self):
        await self.ws.send(json.dumps({"type": "say", "text": "%s:%d" % (self.nick, self.sent)}))
        self.sent += 1


def complete(users):
    return all(len(u.got.get(o.nick, [])) >= o.sent for u in users for o in users)


def verdict(users):
    """(lost, duplicated, out of order) over every (receiver, sender) pair."""
    lost = dup = disorder = 0
    for u in users:
        for o in users:
            have = u.got.get(o.nick, [])
            lost += len(set(range(o.sent)) - set(have))
            dup += len(have) - len(set(have))
            disorder += sum(1 for a, b in zip(have, have[1:]) if b <= a)
    return lost, dup, disorder


async def traffic(a, b):
    users = [User(s.backend_port, "%s%d" % (tag, k)) for s, tag in ((a, "a"), (b, "b"))
             for k in range(PER_BACKEND)]
    for u in users:
        await u.open()
    readers = [asyncio.ensure_future(u.reader()) for u in users]
    # Every worker holding a user has subscribed: a first message reaches all.
    deadline = time.monotonic() + harness.TIMEOUT
    while True:
        for u in users:
            await u.say()
        await asyncio.sleep(0.3)
        if complete(users):
            break
        assert time.monotonic() < deadline, "the room never reached every user"
    for u in users:  # the warm-up does not count
        u.got, u.sent = {}, 0
        await u.say()
    stop = asyncio.Event()

    async def chatter():
        while not stop.is_set():
            for u in users:
                await u.say()
            await asyncio.sleep(INTERVAL)
    talk = asyncio.ensure_future(chatter())
    master = a.pid("backend")
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0.5)
    for n in range(1, RELOADS + 1):
        before = set(children(master))
        a.signal("backend", signal.SIGHUP)
        await loop.run_in_executor(None, wait_log, a.backend_log, RELOADED, n, "reload %d" % n)
        t0 = time.monotonic()
        while before & set(children(master)):
            assert time.monotonic() - t0 < 2.5, "old workers still there after 2.5 s"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
    stop.set()
    await talk
    deadline = time.monotonic() + 5
    while not complete(users) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)  # a late duplicate would come now
    for r in readers:
        r.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    for u in users:
        await u.ws.close()
    return users


def test_moved_sessions_exactly_once_through_redis():
    need(os.path.join(harness.MODULE_DIR, "chat.so"))
    redis = Redis()
    redis.start()
    try:
        with stack(redis) as a, stack(redis) as b:
            users = asyncio.run(traffic(a, b))
            lost, dup, disorder = verdict(users)
            sent = sum(u.sent for u in users)
            print("# %d users, %d messages published, %d deliveries expected: "
                  "%d lost, %d duplicated, %d out of order" % (
                      len(users), sent, sent * len(users), lost, dup, disorder))
            log = harness.read_file(a.backend_log)
            handed = [tuple(map(int, m)) for m in re.findall(HANDED, log)]
            total = sum(h[0] for h in handed)
            assert total == PER_BACKEND * RELOADS, "sessions handed over: %d, want %d (%r)" % (
                total, PER_BACKEND * RELOADS, handed)
            assert not any(h[1] or h[2] for h in handed), "refused or lost: %r" % handed
            assert (lost, dup, disorder) == (0, 0, 0), (lost, dup, disorder)
            for s in (a, b):
                log = harness.read_file(s.backend_log)
                assert "killed by seccomp" not in log, log[-2000:]
                assert "may miss messages" not in log, log[-2000:]
                assert "1001" not in log
    finally:
        redis.close()


if __name__ == "__main__":
    harness.main(globals())
