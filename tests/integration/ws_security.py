# SPDX-License-Identifier: BSD-2-Clause
"""Backend security regressions (issue 10, parts 4 and 5), each written to fail
on the defect it guards against:

- pub/sub datagrams from a process that is not one of the backend's workers
  (another uid, or the same uid) reach no chat subscriber and close nobody;
  another uid cannot bind a name workers send to; text with a real worker's
  credentials is still checked as UTF-8;
- a module that picks a long client-offered subprotocol gets a correct 101
  (or a clean refusal), never a stack overflow (ASan builds check the logs);
- a refused upgrade that carries a body never keeps the connection (no
  request smuggling);
- permessage-deflate keeps max_frame_size and max_message_size on wire bytes
  and after the stream's final block;
- Range: overlapping ranges are merged, too many are refused.
Raw sockets from ws_conformance.py; chat JSON as backend/modules/chat.c sends it."""
import json
import os
import re
import socket
import struct
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import ws_conformance as wc  # noqa: E402

TEST_MODS = os.path.join(harness.BUILDDIR, "tests", "modules", ".libs")
MODULES = [
    {"module": "chat", "path": "/chat", "ping_interval": 0},
    {"module": "wspick", "path": "/pick", "ping_interval": 0},
    {"module": "wspick", "path": "/pickz", "ping_interval": 0, "deflate": True},
    {"module": "echo", "path": "/zf", "ping_interval": 0, "deflate": True,
     "deflate_threshold": 16, "max_frame_size": 4096, "max_message_size": 65536},
    {"module": "static", "path": "/files", "root": None},
]
STACK = None
ROOT = None
PS_DIRS = []  # checked to be gone once the backend stopped


def children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(x) for x in f.read().split()]


# ---- pub/sub -------------------------------------------------------------------------------

def chat_join(nick, room="sec"):
    ws = wc.WS("/chat")
    assert ws.status == 101, ws.status
    ws.send_frame(1, json.dumps({"type": "join", "room": room, "nick": nick}).encode())
    while True:
        m = json.loads(ws.recv_message()[1])
        if m["type"] == "joined" and m["nick"] == nick:
            return ws


def in_child(fn, uid=None):
    """Runs fn() in a forked child, as uid if given; returns what it returned (a short str)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            out = fn()
        except Exception as e:  # the child must never return into the test
            out = "error: %s" % e
        os.write(w, out.encode())
        os._exit(0)
    os.close(w)
    out = b""
    while True:
        d = os.read(r, 4096)
        if not d:
            break
        out += d
    os.close(r)
    os.waitpid(pid, 0)
    return out.decode()


def inject(addrs, payloads, uid=None):
    """Sends datagrams to the workers' pub/sub sockets; returns one word per address:
    "sent" or the error (another uid must not even reach them)."""
    def send():
        res = []
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        for a in addrs:
            try:
                for p in payloads:
                    s.sendto(p, a)
                res.append("sent")
            except OSError as e:
                res.append(e.__class__.__name__)
        return " ".join(res)
    return in_child(send, uid).split()


def worker_sockets():
    """The workers' pub/sub sockets (bound once a worker has a subscriber)."""
    found = []
    for pid in children(STACK.pid("backend")):
        with open("/proc/net/unix") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 8 else ""
                if re.search(r"/bactrian-ps-[^/]+/%d$" % pid, path):
                    found.append(path)
    return found


def dgram(ch, payload, seq=1):
    """A pub/sub datagram as backend/pubsub.c sends it: 'C', opcode (text),
    name length, the origin's sequence number, name, payload."""
    return b"C\x01" + struct.pack("!HQ", len(ch), seq) + ch + payload


def forged(room, text):
    body = json.dumps({"type": "message", "room": room, "nick": "mallory", "text": text})
    ch = ("chat:" + room).encode()
    return [dgram(ch, body.encode()), dgram(ch, b"\xff\xfe not UTF-8")]


def nothing_arrives(ws, secs=1.0):
    ws.sock.settimeout(secs)
    try:
        d = ws.sock.recv(65536)
    except socket.timeout:
        return
    raise AssertionError("the subscriber received %r" % d[:200])


def test_pubsub_foreign_senders_refused():
    ws = chat_join("alice")
    addrs = worker_sockets()
    assert addrs, "no worker pub/sub socket found in /proc/net/unix"
    d = os.path.dirname(addrs[0])
    PS_DIRS.append(d)
    assert os.stat(d).st_mode & 0o777 == 0o700, oct(os.stat(d).st_mode)
    res = inject(addrs, forged("sec", "injected by the same uid"))
    assert res and all(r == "sent" for r in res), res  # reached, and must be refused
    nothing_arrives(ws)
    if os.geteuid() == 0:
        res = inject(addrs, forged("sec", "injected by nobody"), uid=65534)
        assert res and all(r == "PermissionError" for r in res), res  # cannot even reach it
        nothing_arrives(ws)
    else:
        print("note: not root, the other-uid injection is skipped")
    # still open and subscribed: its own message comes back
    ws.send_frame(1, json.dumps({"type": "say", "text": "still here"}).encode())
    m = json.loads(ws.recv_message()[1])
    assert m["type"] == "message" and m["text"] == "still here", m
    # Every worker refuses on its own and logs when its loop gets to it.
    harness.wait_for(lambda: re.search(
        r"pubsub: \d+ datagram\(s\) refused \(latest: not one of our workers",
        harness.read_file(STACK.backend_log)), "the refusal logged", timeout=10)
    # rate-limited: a flood of refusals logs once a second per worker, not once a
    # datagram (every worker has its socket from the start: it binds it before
    # it is confined)
    before = len(re.findall("datagram\\(s\\) refused", harness.read_file(STACK.backend_log)))
    inject(addrs, forged("sec", "x") * 200)
    time.sleep(0.3)
    after = len(re.findall("datagram\\(s\\) refused", harness.read_file(STACK.backend_log)))
    assert after - before <= len(addrs), "%d refusal lines for one burst to %d workers" % (
        after - before, len(addrs))
    ws.close()


def test_pubsub_text_from_a_worker_checked_as_utf8():
    """Defence in depth: even a datagram with a real worker's credentials (root
    may claim any pid, CAP_SYS_ADMIN) reaches no client with invalid UTF-8 text."""
    if os.geteuid() != 0:
        raise harness.Skip("needs root to send another pid's credentials")
    ws = chat_join("carol", room="utf")
    master = STACK.pid("backend")
    addrs = worker_sockets()
    workers = children(master)
    assert len(workers) == 2, workers
    ch = b"chat:utf"
    bad = dgram(ch, b"\xc3\x28 not UTF-8")
    good = dgram(ch, b'{"type":"message","text":"fine"}')
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    time.sleep(1.1)  # refusals are logged once a second: let this one be logged
    for a in addrs:
        # claim to be the other worker, with the backend's uid and gid
        peer = [w for w in workers if not a.endswith("/%d" % w)][0]
        cred = [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, struct.pack("iII", peer, 0, 0))]
        s.sendmsg([bad], cred, 0, a)
    nothing_arrives(ws)
    assert "latest: text that is not UTF-8" in harness.read_file(STACK.backend_log)
    for a in addrs:  # the same path with valid text does deliver: the check is what stopped it
        peer = [w for w in workers if not a.endswith("/%d" % w)][0]
        cred = [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, struct.pack("iII", peer, 0, 0))]
        s.sendmsg([good], cred, 0, a)
    op, data, _ = ws.recv_message()
    assert data == b'{"type":"message","text":"fine"}', data
    ws.close()


def test_pubsub_names_cannot_be_squatted():
    """Workers used to send to abstract names anyone could bind first (a worker
    binds only when it gets a subscriber): room messages went to the squatter."""
    master = STACK.pid("backend")
    names = [b"\0bactrian-ps-%d-%d" % (master, w) for w in children(master)]

    def squat():
        socks = []
        for n in names:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                s.bind(n)
            except OSError:
                continue  # that worker has bound it: the old scheme
            socks.append(s)
        os.write(ready_w, b"x")
        got = 0
        end = time.time() + 3
        while time.time() < end:
            for s in socks:
                s.setblocking(False)
                try:
                    got += len(s.recv(65536))
                except BlockingIOError:
                    pass
            time.sleep(0.02)
        return "bound %d got %d" % (len(socks), got)

    ready_r, ready_w = os.pipe()
    import threading
    result = []
    t = threading.Thread(target=lambda: result.append(
        in_child(squat, 65534 if os.geteuid() == 0 else None)))
    t.start()
    os.read(ready_r, 1)
    ws = chat_join("bob", room="squat")
    ws.send_frame(1, json.dumps({"type": "say", "text": "secret"}).encode())
    t.join()
    ws.close()
    assert result and result[0].endswith("got 0"), result


# ---- the 101 with a long chosen subprotocol -----------------------------------------------

def test_long_subprotocol_101():
    for path, ext in (("/pick", None), ("/pickz", "permessage-deflate; client_max_window_bits")):
        for n in (204, 358, 400, 4000):
            proto = ("p%d-" % n + "x" * n)[:n]
            ws = wc.WS(path, headers={"Sec-WebSocket-Protocol": proto}, extensions=ext)
            assert ws.status == 101, (path, n, ws.status)
            assert ws.headers.get("sec-websocket-protocol") == proto, (path, n)
            assert ws.headers.get("sec-websocket-accept") == wc.accept_value(wc.KEY)
            if ext:
                assert ws.headers["sec-websocket-extensions"].startswith("permessage-deflate")
            else:
                wc.echo_ok(ws, 1, b"after a %d-byte subprotocol" % n)
            ws.close()


# ---- refused upgrades never keep the connection ----------------------------------------------

SMUGGLED = b"GET /files/digits.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"


def upgrade_head(path="/pick", key=wc.KEY, version="13", extra=""):
    h = "GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" % path
    if key:
        h += "Sec-WebSocket-Key: %s\r\n" % key
    h += "Sec-WebSocket-Version: %s\r\n%s" % (version, extra)
    return h.encode()


def one_answer(data, want_status):
    got = harness.raw_exchange(("127.0.0.1", STACK.backend_port), data, timeout=3)
    head = got.split(b"\r\n\r\n", 1)[0]
    assert head.startswith(b"HTTP/1.1 %d " % want_status), got[:300]
    assert b"\r\nConnection: close" in head, head
    assert got.count(b"HTTP/1.1 ") == 1, "the smuggled request was answered: %r" % got[:600]
    assert b"0123456789" not in got, got[:600]


def test_refused_upgrade_with_body_is_not_kept():
    cl = b"Content-Length: %d\r\n\r\n" % len(SMUGGLED)
    # With a body, every upgrade is refused with 400 before anything else is looked at.
    cases = [
        ("missing key", upgrade_head(key=None) + cl + SMUGGLED, 400),
        ("wrong version", upgrade_head(version="12") + cl + SMUGGLED, 400),
        ("module refusal", upgrade_head(extra="Sec-WebSocket-Protocol: refuse\r\n") + cl +
         SMUGGLED, 400),
        ("valid upgrade with a body", upgrade_head() + cl + SMUGGLED, 400),
        ("chunked body", upgrade_head() + b"Transfer-Encoding: chunked\r\n\r\n" +
         b"%x\r\n" % len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n", 400),
        # without a body, a refusal still ends the connection: what follows is not read
        ("missing key, pipelined", upgrade_head(key=None) + b"\r\n" + SMUGGLED, 400),
        ("wrong version, pipelined", upgrade_head(version="12") + b"\r\n" + SMUGGLED, 426),
        ("module refusal, pipelined", upgrade_head(extra="Sec-WebSocket-Protocol: refuse\r\n") +
         b"\r\n" + SMUGGLED, 403),
    ]
    for what, data, status in cases:
        try:
            one_answer(data, status)
        except AssertionError as e:
            raise AssertionError("%s: %s" % (what, e))


# ---- permessage-deflate limits on wire bytes ---------------------------------------------------

def deflate_session():
    ws = wc.WS("/zf", extensions="permessage-deflate")
    assert ws.status == 101 and "permessage-deflate" in ws.headers.get(
        "sec-websocket-extensions", ""), ws.headers
    return ws


def raw_deflate(data, final_block=False):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    if final_block:
        return c.compress(data) + c.flush(zlib.Z_FINISH)  # BFINAL set: the stream ends
    return (c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]


def recv_inflated(ws):
    op, data, rsv = ws.recv_message()
    if rsv & 4:
        data = zlib.decompressobj(-15).decompress(data + b"\0\0\xff\xff")
    return op, data


def send_fragments(ws, op, payload, size):
    pieces = [payload[i:i + size] for i in range(0, len(payload), size)] or [b""]
    for i, p in enumerate(pieces):
        ws.send_frame(op if i == 0 else 0, p, fin=i == len(pieces) - 1, rsv=4 if i == 0 else 0)


def test_deflate_max_frame_size_holds():
    ws = deflate_session()
    blob = os.urandom(6000)  # does not shrink: about 6000 compressed bytes in one frame
    ws.send_frame(2, raw_deflate(blob), rsv=4)
    ws.expect_close(1009, "a 6000-byte compressed frame over max_frame_size 4096")
    ws.close()
    # the same message in frames under the limit is fine
    ws = deflate_session()
    send_fragments(ws, 2, raw_deflate(blob), 4000)
    op, data = recv_inflated(ws)
    assert (op, data) == (2, blob), (op, len(data))
    ws.close()


def test_deflate_message_wire_bytes_counted():
    ws = deflate_session()
    # a message of 60000 bytes that do not shrink stays under max_message_size 65536
    blob = os.urandom(60000)
    send_fragments(ws, 2, raw_deflate(blob), 4000)
    op, data = recv_inflated(ws)
    assert (op, data) == (2, blob), (op, len(data))
    # after the final deflate block, more bytes of the same message still count
    head = raw_deflate(b"tiny", final_block=True)
    ws.send_frame(2, head, fin=False, rsv=4)
    junk = b"\0" * 4000
    ws.sock.settimeout(5)
    try:
        for _ in range(40):  # 160 KB on the wire, 4 bytes inflated
            ws.send_frame(0, junk, fin=False)
    except OSError:
        pass  # closed under our feet: what we want
    ws.expect_close(1009, "an endless message after BFINAL")
    ws.close()


# ---- Range: merged, bounded ------------------------------------------------------------------

def get_range(rng):
    req = ("GET /files/digits.txt HTTP/1.1\r\nHost: localhost\r\nRange: %s\r\n"
           "Connection: close\r\n\r\n" % rng).encode()
    got = harness.raw_exchange(("127.0.0.1", STACK.backend_port), req, timeout=3)
    head, body = got.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:])}
    return int(lines[0].split()[1]), hdrs, body


def test_range_overlaps_merged_and_many_refused():
    digits = b"0123456789" * 10
    # 16 copies of the whole file were 16 parts: now one range
    status, h, body = get_range("bytes=" + ",".join(["0-"] * 16))
    assert status == 206 and h["content-range"] == "bytes 0-99/100", (status, h)
    assert body == digits, body[:200]
    # overlapping ranges out of order: sorted and merged into two parts
    status, h, body = get_range("bytes=50-59,0-9,5-20")
    assert status == 206 and h["content-type"].startswith("multipart/byteranges"), (status, h)
    assert body.count(b"Content-Range: ") == 2, body
    assert b"bytes 0-20/100" in body and b"bytes 50-59/100" in body, body
    assert body.index(b"bytes 0-20/100") < body.index(b"bytes 50-59/100")
    # more than 16 ranges: the header is ignored, the whole file with 200
    status, h, body = get_range("bytes=" + ",".join("%d-%d" % (i, i) for i in range(0, 40, 2)))
    assert status == 200 and body == digits and "content-range" not in h, (status, h)
    # curl -r agrees
    out = harness.curl("-s", "-r", "0-4,2-8", STACK.backend_url("/files/digits.txt"))
    assert out.stdout == "012345678", out.stdout


def main():
    global STACK, ROOT
    if not os.path.exists(os.path.join(TEST_MODS, "wspick.so")):
        print("tests/modules/wspick.so not built")
        return 1
    mods = tempfile.mkdtemp(prefix="bactrian-sec-mods-")
    ROOT = tempfile.mkdtemp(prefix="bactrian-sec-root-")
    for name in ("chat", "echo", "static"):
        os.symlink(os.path.join(harness.MODULE_DIR, name + ".so"),
                   os.path.join(mods, name + ".so"))
    os.symlink(os.path.join(TEST_MODS, "wspick.so"), os.path.join(mods, "wspick.so"))
    with open(os.path.join(ROOT, "digits.txt"), "w") as f:
        f.write("0123456789" * 10)
    MODULES[-1]["root"] = ROOT
    tests = [(n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)
             and (not os.environ.get("TEST_ONLY") or os.environ["TEST_ONLY"] in n)]
    failed = 0
    try:
        with harness.Stack(modules=MODULES, workers=2, backend_opts={"module_dir": mods}) as s:
            STACK = wc.STACK = s
            for name, fn in tests:
                t0 = time.time()
                try:
                    fn()
                    print("ok   %s (%.1fs)" % (name, time.time() - t0))
                except harness.Skip as e:
                    print("skip %s: %s" % (name, e))
                except Exception as e:
                    failed += 1
                    print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
            if failed:
                sys.stdout.write("--- backend log (tail) ---\n%s" % harness.read_file(
                    s.backend_log)[-3000:])
        for d in PS_DIRS:
            if os.path.exists(d):
                failed += 1
                print("FAIL the pub/sub directory %s outlived the backend" % d)
    finally:
        for d in (mods, ROOT):
            for f in os.listdir(d):
                os.unlink(os.path.join(d, f))
            os.rmdir(d)
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
