# SPDX-License-Identifier: BSD-2-Clause
"""Chat across backend reloads: 20 users in one room over 2 workers, each
saying a numbered line every 20 ms (about 1,000 lines/s, 20,000 deliveries/s)
while the backend is reloaded R times (default 3, 1.5 s apart); every user
counts the lines of every other it received: lost and duplicated (or
reordered): each must be 0 (doc/design.md, "Pub/sub in flight"). Run from
a built tree:

    R=3 /usr/bin/python3 bench/ws_handoff_chat.py tests/integration

BACTRIAN_BACKEND=path runs another backend binary."""
import asyncio
import json
import os
import signal
import sys

sys.path.insert(0, os.path.abspath(sys.argv[1]))
import harness  # noqa: E402
harness.BACKEND = os.environ.get("BACTRIAN_BACKEND", harness.BACKEND)
U = 20
async def main(s):
    import websockets
    url = "ws://127.0.0.1:%d/chat" % s.backend_port
    users = []
    for i in range(U):
        w = await websockets.connect(url)
        await w.send(json.dumps({"type": "join", "room": "r", "nick": "u%d" % i}))
        users.append(w)
    await asyncio.sleep(0.5)
    seen = [dict() for _ in range(U)]
    dup = [0]; reord = [0]
    async def reader(i):
        try:
            async for raw in users[i]:
                m = json.loads(raw)
                if m["type"] != "message": continue
                who, n = m["text"].split(":"); n = int(n)
                last = seen[i].get(who, -1)
                if n <= last: dup[0] += 1
                seen[i].setdefault("_all_" + who, set()).add(n)
                seen[i][who] = max(last, n)
        except Exception:
            pass
    rs = [asyncio.ensure_future(reader(i)) for i in range(U)]
    sent = [0] * U
    stop = asyncio.Event()
    async def talk(i):
        while not stop.is_set():
            await users[i].send(json.dumps({"type": "say", "text": "u%d:%d" % (i, sent[i])}))
            sent[i] += 1
            await asyncio.sleep(0.02)
    ts = [asyncio.ensure_future(talk(i)) for i in range(U)]
    await asyncio.sleep(1)
    for n in range(int(os.environ.get("R", "3"))):
        s.signal("backend", signal.SIGHUP)
        await asyncio.sleep(1.5)
    stop.set(); await asyncio.gather(*ts); await asyncio.sleep(1)
    lost = 0; total = 0
    for i in range(U):
        for j in range(U):
            got = seen[i].get("_all_u%d" % j, set())
            total += sent[j]; lost += sent[j] - len(got)
    print("messages expected %d, lost %d, duplicates %d" % (total, lost, dup[0]))
    for w in users: await w.close()
    for r in rs: r.cancel()
with harness.Stack(modules=[{"module": "chat", "path": "/chat"}], workers=2, backend_opts={"shutdown_timeout": 5, "log_level": "info"}) as s:
    asyncio.run(main(s))
