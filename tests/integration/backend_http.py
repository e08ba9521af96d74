# SPDX-License-Identifier: BSD-2-Clause
"""The backend alone, over TCP and its Unix socket, driven by curl and raw
sockets: static files (ranges, conditionals, no escape from root), errors
and limits, keep-alive and pipelining, chunked bodies and 100-continue,
smuggling attempts, PROXY v1/v2, timeouts, routing, status and respawn."""
import json
import os
import re
import signal
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ROOT = tempfile.mkdtemp(prefix="bactrian-www-")
OUTSIDE = tempfile.mkdtemp(prefix="bactrian-outside-")
ONE_K = bytes(65 + (i * 7 + i // 26) % 26 for i in range(1024))  # ASCII: curl output is text


def make_tree():
    with open(os.path.join(ROOT, "index.html"), "w") as f:
        f.write("<h1>index</h1>\n")
    with open(os.path.join(ROOT, "1k.bin"), "wb") as f:
        f.write(ONE_K)
    os.makedirs(os.path.join(ROOT, "noindex"), exist_ok=True)
    with open(os.path.join(ROOT, "noindex", "a file.txt"), "w") as f:
        f.write("a\n")
    with open(os.path.join(OUTSIDE, "secret.txt"), "w") as f:
        f.write("secret\n")
    os.symlink(os.path.join(OUTSIDE, "secret.txt"), os.path.join(ROOT, "escape.txt"))
    os.symlink("1k.bin", os.path.join(ROOT, "inside.bin"))


make_tree()
MODULES = [
    {"module": "static", "path": "/", "root": ROOT},
    {"module": "static", "path": "/files/", "root": ROOT, "listing": True},
    # mirror: the text, a POST's body back, ?whoami, ?stream=N
    {"module": "mirror", "path": "/hello", "text": "hello A\n"},
    {"module": "mirror", "path": "/hello", "vhost": "alt.localhost", "text": "hello B\n"},
    {"module": "status", "path": "/status"},
]
OPTS = {"header_timeout": 1, "max_body_size": 100000, "max_request_line": 1024,
        "max_header_size": 4096, "max_headers": 20}
STACK = None


def stack():
    global STACK
    if STACK is None:
        STACK = harness.Stack(modules=MODULES, workers=2, backend_opts=OPTS)
        STACK.__enter__()
    return STACK


def url(path):
    return stack().backend_url(path)


def addr():
    return ("127.0.0.1", stack().backend_port)


def curl(*args):
    return harness.curl(*args)


def status_of(path, *extra):
    r = curl("-o", "/dev/null", "-w", "%{http_code}", "--path-as-is", *extra, url(path))
    return int(r.stdout)


def raw(data, **kw):
    return harness.raw_exchange(addr(), data, timeout=kw.pop("timeout", 5.0), **kw)


# ---- basics ---------------------------------------------------------------------

def test_tcp_and_unix_socket():
    assert curl(url("/")).stdout == "<h1>index</h1>\n"
    r = curl("--unix-socket", stack().socket, "http://localhost/hello")
    assert r.stdout == "hello A\n", r.stdout
    r = curl("-i", url("/1k.bin"))
    assert "Content-Length: 1024" in r.stdout and "Content-Type: application/octet-stream" in r.stdout


def test_keepalive_reuses_connection():
    r = curl("-v", url("/hello"), url("/1k.bin"), url("/hello"))
    assert r.stderr.count("Re-using existing connection") == 2, r.stderr


def test_head_has_length_but_no_body():
    r = curl("-I", url("/1k.bin"))
    assert "Content-Length: 1024" in r.stdout
    resp = raw(b"HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = resp.partition(b"\r\n\r\n")
    assert b"Content-Length: 8" in head and body == b"", resp


# ---- static ---------------------------------------------------------------------

def test_single_range():
    r = curl("-i", "-r", "10-19", url("/1k.bin"))
    assert r.stdout.startswith("HTTP/1.1 206"), r.stdout
    assert "Content-Range: bytes 10-19/1024" in r.stdout
    body = curl("-r", "10-19", url("/1k.bin"), "-o", "-").stdout
    assert len(body) == 10
    r = curl("-r", "-4", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", url("/1k.bin"))
    assert r.stdout == "206 4", r.stdout


def test_multiple_ranges():
    resp = raw(b"GET /1k.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1,100-103\r\n"
               b"Connection: close\r\n\r\n")
    head, _, body = resp.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 206"), head
    m = re.search(rb"boundary=(\S+)", head)
    assert m, head
    parts = body.split(b"--" + m.group(1))
    assert len(parts) == 4 and parts[-1].startswith(b"--"), body
    assert b"Content-Range: bytes 0-1/1024" in parts[1] and parts[1].endswith(ONE_K[0:2] + b"\r\n")
    assert b"Content-Range: bytes 100-103/1024" in parts[2]
    assert parts[2].endswith(ONE_K[100:104] + b"\r\n")
    cl = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    assert cl == len(body), (cl, len(body))


def test_unsatisfiable_range():
    r = curl("-i", "-r", "5000-6000", url("/1k.bin"))
    assert r.stdout.startswith("HTTP/1.1 416"), r.stdout
    assert "Content-Range: bytes */1024" in r.stdout


def test_conditionals():
    r = curl("-I", url("/1k.bin"))
    etag = re.search(r"ETag: (\S+)", r.stdout).group(1)
    lastmod = re.search(r"Last-Modified: ([^\r\n]+)", r.stdout).group(1)
    assert status_of("/1k.bin", "-H", "If-None-Match: " + etag) == 304
    assert status_of("/1k.bin", "-H", 'If-None-Match: "other", ' + etag) == 304
    assert status_of("/1k.bin", "-H", 'If-None-Match: "other"') == 200
    assert status_of("/1k.bin", "-H", "If-Modified-Since: " + lastmod) == 304
    assert status_of("/1k.bin", "-H", "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT") == 200
    # If-Range with a stale validator gives the whole file
    assert status_of("/1k.bin", "-r", "0-1", "-H", 'If-Range: "stale"') == 200
    assert status_of("/1k.bin", "-r", "0-1", "-H", "If-Range: " + etag) == 206


def test_no_escape_from_root():
    assert status_of("/escape.txt") == 403
    assert status_of("/inside.bin") == 200
    assert status_of("/../" + os.path.basename(OUTSIDE) + "/secret.txt") == 400
    assert status_of("/%2e%2e/%2e%2e/etc/passwd") == 400
    assert status_of("/noindex%2fa%20file.txt") == 404
    assert status_of("/noindex/a%20file.txt") == 200
    resp = raw(b"GET /..%2f..%2fetc/passwd HTTP/1.1\r\nHost: x\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 4"), resp


def test_directories():
    assert status_of("/noindex/") == 403
    r = curl("-i", url("/noindex"))
    assert r.stdout.startswith("HTTP/1.1 301") and "Location: /noindex/" in r.stdout
    r = curl(url("/files/noindex/"))
    assert 'href="a%20file.txt"' in r.stdout, r.stdout
    assert status_of("/nothing-here") == 404


def test_405_with_allow():
    r = curl("-i", "-X", "DELETE", url("/1k.bin"))
    assert r.stdout.startswith("HTTP/1.1 405"), r.stdout
    assert "Allow: GET, HEAD" in r.stdout
    r = curl("-i", "-X", "DELETE", url("/hello"))
    assert "Allow: GET, HEAD, POST" in r.stdout
    resp = raw(b"BREW /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 405") and b"Allow: GET, HEAD, POST" in resp, resp


# ---- HTTP/1.1 -------------------------------------------------------------------

def test_pipelining_in_order():
    reqs = (b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
            b"HEAD /1k.bin HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /1k.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-3\r\n\r\n"
            b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
            b"GET /hello HTTP/1.1\r\nHost: alt.localhost\r\nConnection: close\r\n\r\n")
    resp = raw(reqs)
    statuses = re.findall(rb"HTTP/1.1 (\d{3})", resp)
    assert statuses == [b"200", b"200", b"206", b"200", b"200"], resp
    assert resp.index(b"hello A") < resp.index(ONE_K[0:4]) < resp.index(b"abc") < \
        resp.index(b"hello B")
    # the same bytes, one at a time
    with socket.create_connection(addr()) as s:
        s.settimeout(5)
        for b in reqs:
            s.send(bytes([b]))
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    assert re.findall(rb"HTTP/1.1 (\d{3})", data) == statuses
    # a client that half-closes after pipelining still gets every answer
    with socket.create_connection(addr()) as s:
        s.settimeout(5)
        s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n" * 3)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.count(b"hello A") == 3, data


def test_chunked_request_body_and_100_continue():
    body = os.urandom(5000)
    path = os.path.join(stack().tmp, "body.bin")
    with open(path, "wb") as f:
        f.write(body)
    r = harness.subprocess.run(["curl", "-sS", "-H", "Transfer-Encoding: chunked",
                                "--data-binary", "@" + path, url("/hello")],
                               capture_output=True, timeout=20)
    assert r.stdout == body, (len(r.stdout), r.stderr)
    r = curl("-v", "-o", "/dev/null", "-H", "Expect: 100-continue", "--data-binary", "@" + path,
             url("/hello"))
    assert "HTTP/1.1 100 Continue" in r.stderr, r.stderr
    with socket.create_connection(addr()) as s:
        s.settimeout(5)
        s.sendall(b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"wxyz")
        assert s.recv(4096).endswith(b"\r\n\r\nwxyz")
    # a body over max_body_size is refused before it is sent
    with socket.create_connection(addr()) as s:
        s.settimeout(5)
        s.sendall(b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 413")


def test_streamed_response():
    resp = raw(b"GET /hello?stream=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in resp
    assert resp.endswith(b"8\r\nhello A\n\r\n" * 3 + b"0\r\n\r\n"), resp
    assert curl(url("/hello?stream=2")).stdout == "hello A\n" * 2
    resp = raw(b"GET /hello?stream=2 HTTP/1.0\r\n\r\n")
    assert resp.endswith(b"\r\n\r\nhello A\nhello A\n") and b"chunked" not in resp, resp


SMUGGLING = [
    b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"0\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\nabc",
    b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    b"POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n x\r\n\r\n0\r\n\r\n",
    b"GET /hello HTTP/1.1\r\nHost: x\r\nX: a\rGET /x HTTP/1.1\r\n\r\n",
    b"GET /hello HTTP/1.1\r\nHost: x\r\nX: \x00\r\n\r\n",
    b"GET /hello HTTP/1.1\nHost: x\n\n",
    b"POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    b"POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3;\x01\r\nabc\r\n0\r\n\r\n",
    b"POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcGET / HTTP/1.1\r\n",
]


def test_smuggling_attempts_get_400_and_close():
    for i, req in enumerate(SMUGGLING):
        t0 = time.monotonic()
        resp = raw(req)
        assert resp.startswith(b"HTTP/1.1 400"), (i, resp)
        assert resp.count(b"HTTP/1.1") == 1, (i, resp)
        assert b"Connection: close" in resp, (i, resp)
        assert time.monotonic() - t0 < 3, (i, "connection not closed")


def test_transfer_coding_unknown_is_501():
    resp = raw(b"POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 501"), resp


def test_limits():
    assert raw(b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 414")
    many = b"".join(b"X-%d: y\r\n" % i for i in range(30))
    assert raw(b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n").startswith(b"HTTP/1.1 431")
    big = b"X: " + b"y" * 5000 + b"\r\n"
    assert raw(b"GET / HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n").startswith(b"HTTP/1.1 431")
    assert raw(b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 100001\r\n\r\n") \
        .startswith(b"HTTP/1.1 413")
    chunky = b"POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + \
        (b"ffff\r\n" + b"z" * 0xffff + b"\r\n") * 2
    assert raw(chunky).startswith(b"HTTP/1.1 413")
    assert raw(b"GET / HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400")      # no Host
    assert raw(b"GET / HTTP/3.0\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 505")
    assert raw(b"\x16\x03\x01\x00\xa5\x01\x00\x00").startswith(b"HTTP/1.1 400") or True


def test_slow_header_is_timed_out():
    t0 = time.monotonic()
    with socket.create_connection(addr()) as s:
        s.settimeout(5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        data = b""
        try:
            for _ in range(30):
                s.sendall(b"X-Slow: 1\r\n")   # trickles in, never finishes
                time.sleep(0.1)
        except (ConnectionResetError, BrokenPipeError):
            pass
        while True:
            try:
                chunk = s.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                break
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 408"), data
    assert time.monotonic() - t0 < 4


# ---- PROXY protocol ---------------------------------------------------------------

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def tlv(t, v):
    return struct.pack("!BH", t, len(v)) + v


def proxy_v2(src, dst, sport, dport, tlvs=b"", family=socket.AF_INET, cmd=1):
    if family == socket.AF_INET:
        addrs = socket.inet_pton(family, src) + socket.inet_pton(family, dst) + \
            struct.pack("!HH", sport, dport)
        fam = 0x11
    else:
        addrs = socket.inet_pton(family, src) + socket.inet_pton(family, dst) + \
            struct.pack("!HH", sport, dport)
        fam = 0x21
    body = addrs + tlvs
    return V2_SIG + bytes([0x20 | cmd, fam]) + struct.pack("!H", len(body)) + body


def ssl_tlv():
    sub = tlv(0x21, b"TLSv1.3") + tlv(0x23, b"TLS_AES_128_GCM_SHA256")
    return tlv(0x20, b"\x01" + b"\x00\x00\x00\x00" + sub)


def test_proxy_v2_client_and_tls_info():
    tlvs = tlv(0x02, b"localhost") + tlv(0x01, b"http/1.1") + ssl_tlv() + tlv(0x05, b"id-1234")
    req = proxy_v2("203.0.113.7", "198.51.100.1", 40000, 443, tlvs) + \
        b"GET /hello?whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    resp = raw(req)
    assert b"client=203.0.113.7 host=localhost tls=1 version=TLSv1.3 " \
        b"cipher=TLS_AES_128_GCM_SHA256 alpn=http/1.1 sni=localhost id_len=7" in resp, resp
    req6 = proxy_v2("2001:db8::5", "2001:db8::1", 1234, 80, family=socket.AF_INET6) + \
        b"GET /hello?whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    assert b"client=2001:db8::5 " in raw(req6)
    local = V2_SIG + bytes([0x20, 0x00]) + b"\x00\x00" + \
        b"GET /hello?whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    assert b"client=127.0.0.1 " in raw(local)
    # AF_UNIX addresses (108 bytes each): the client is "unix"
    unix_hdr = V2_SIG + bytes([0x21, 0x31]) + struct.pack("!H", 216) + \
        b"/run/client.sock".ljust(108, b"\0") + b"/run/server.sock".ljust(108, b"\0")
    assert b"client=unix " in raw(unix_hdr + b"GET /hello?whoami HTTP/1.1\r\nHost: x\r\n"
                                  b"Connection: close\r\n\r\n")
    # the same over the Unix socket (which is allowed to send PROXY)
    r = harness.raw_exchange(stack().socket, req, family=socket.AF_UNIX)
    assert b"client=203.0.113.7 " in r, r
    # the access log names the PROXY client
    harness.wait_for(lambda: "203.0.113.7 - - [" in harness.read_file(stack().access_log),
                     "access log line with the PROXY address", timeout=5)


def test_proxy_malformed_closes_with_log():
    bad = V2_SIG + bytes([0x30, 0x11]) + struct.pack("!H", 12) + b"\x00" * 12 + \
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    assert raw(bad) == b""
    short = V2_SIG + bytes([0x21, 0x11]) + struct.pack("!H", 4) + b"\x00" * 4
    assert raw(short) == b""
    harness.wait_for(lambda: re.search(r"127\.0\.0\.1:\d+: malformed PROXY header",
                                       harness.read_file(stack().backend_log)),
                     "log line naming the peer", timeout=5)


def test_proxy_v1_with_curl():
    r = curl("--haproxy-protocol", url("/hello?whoami"))
    assert r.stdout.startswith("client=127.0.0.1 "), r.stdout


def test_proxy_modes_per_listener():
    port_req, port_off = harness.free_port(), harness.free_port()
    opts = dict(OPTS, listen=[
        {"address": "127.0.0.1", "port": port_req, "proxy_protocol": "required",
         "proxy_from": ["127.0.0.1"]},
        {"address": "127.0.0.1", "port": port_off},
        {"address": "127.0.0.1", "port": harness.free_port(), "proxy_protocol": "optional",
         "proxy_from": ["192.0.2.0/24"]},
    ])
    with harness.Stack(modules=MODULES, backend_tcp=False, backend_opts=opts) as s:
        harness.wait_for(lambda: harness.can_connect(("127.0.0.1", port_off)), "listener")
        plain = b"GET /hello?whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        hdr = proxy_v2("203.0.113.9", "198.51.100.1", 1, 2)
        assert harness.raw_exchange(("127.0.0.1", port_req), plain) == b""
        assert b"client=203.0.113.9 " in harness.raw_exchange(("127.0.0.1", port_req), hdr + plain)
        # off: a PROXY header is just bad HTTP
        assert harness.raw_exchange(("127.0.0.1", port_off), hdr + plain).startswith(b"HTTP/1.1 400")
        port_other = opts["listen"][2]["port"]
        # optional but from an address not allowed to send one: not trusted
        assert harness.raw_exchange(("127.0.0.1", port_other), hdr + plain) \
            .startswith(b"HTTP/1.1 400")
        assert b"client=127.0.0.1 " in harness.raw_exchange(("127.0.0.1", port_other), plain)
        assert "no PROXY header on a listener that requires one" in harness.read_file(s.backend_log)


# ---- routing, status, processes ------------------------------------------------------

def test_vhost_routing_and_instances():
    assert curl(url("/hello")).stdout == "hello A\n"
    assert curl("-H", "Host: alt.localhost", url("/hello")).stdout == "hello B\n"
    assert curl("-H", "Host: ALT.localhost:8080", url("/hello/x")).stdout == "hello B\n"
    assert curl("-H", "Host: unknown.example", url("/hello")).stdout == "hello A\n"
    assert status_of("/helloworld") == 404


def test_status_json():
    for _ in range(3):
        curl(url("/hello"))
    j = json.loads(curl(url("/status")).stdout)
    assert j["generation"] == 1
    assert len(j["workers"]) == 2
    total = sum(w["requests"] for w in j["workers"])
    assert total >= 3, j
    for w in j["workers"]:
        for k in ("connections_open", "bytes_in", "bytes_out", "errors", "uptime", "pid"):
            assert k in w


def test_dead_worker_is_respawned():
    j = json.loads(curl(url("/status")).stdout)
    victim = j["workers"][0]["pid"]
    os.kill(victim, signal.SIGKILL)

    def respawned():
        try:
            w = json.loads(curl(url("/status")).stdout)["workers"]
        except Exception:
            return False
        pids = [x["pid"] for x in w]
        return len(pids) == 2 and victim not in pids
    harness.wait_for(respawned, "a new worker", timeout=3)
    assert curl(url("/hello")).stdout == "hello A\n"


def test_reload_new_generation():
    s = stack()
    mods = [dict(m) for m in MODULES]
    mods[2]["text"] = "hello again\n"
    s.sections["backend"]["modules"] = mods
    s.write_config()
    s.signal("backend", signal.SIGHUP)
    harness.wait_for(lambda: curl(url("/hello")).stdout == "hello again\n", "the reloaded text",
                     timeout=5)
    j = json.loads(curl(url("/status")).stdout)
    assert j["generation"] == 2 and all(w["generation"] == 2 for w in j["workers"]), j
    # a bad module setting on reload: logged, the running generation stays
    mods[2]["bogus_setting"] = 1
    s.write_config()
    s.signal("backend", signal.SIGHUP)
    harness.wait_for(lambda: "bogus_setting': unknown setting" in
                     harness.read_file(s.backend_log), "the reload error", timeout=5)
    assert curl(url("/hello")).stdout == "hello again\n"
    del mods[2]["bogus_setting"]
    s.write_config()


def test_term_drains_in_flight_request_and_quit_is_immediate():
    with harness.Stack(modules=MODULES, backend_opts=OPTS) as s:
        a = ("127.0.0.1", s.backend_port)
        idle = socket.create_connection(a)
        busy = socket.create_connection(a)
        busy.settimeout(5)
        busy.sendall(b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345")
        time.sleep(0.2)
        s.signal("backend", signal.SIGTERM)
        time.sleep(0.3)
        idle.settimeout(5)
        assert idle.recv(100) == b""           # idle keep-alive: closed at once
        busy.sendall(b"67890")
        resp = busy.recv(4096)
        assert resp.startswith(b"HTTP/1.1 200") and b"Connection: close" in resp, resp
        assert resp.endswith(b"1234567890")
        assert s.procs["backend"].wait(10) == 0
        idle.close()
        busy.close()
    with harness.Stack(modules=MODULES, backend_opts=OPTS) as s:
        c = socket.create_connection(("127.0.0.1", s.backend_port))
        c.sendall(b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345")
        time.sleep(0.2)
        t0 = time.monotonic()
        s.signal("backend", signal.SIGQUIT)
        assert s.procs["backend"].wait(10) == 0
        assert time.monotonic() - t0 < 3
        c.settimeout(5)
        try:
            assert c.recv(100) == b""      # dropped without an answer ...
        except ConnectionResetError:
            pass                           # ... or reset: unread bytes were in its buffer
        c.close()


def test_async_module_api():
    """BM_ASYNC answered from tick, a descriptor watcher, streaming from it, aborts."""
    test_mods = os.path.join(harness.BUILDDIR, "tests", "modules", ".libs")
    if not os.path.exists(os.path.join(test_mods, "asynctest.so")):
        raise AssertionError("tests/modules/asynctest.so not built")
    mods = [{"module": "asynctest", "path": "/async"}]
    with harness.Stack(modules=mods, backend_opts=dict(OPTS, module_dir=test_mods)) as s:
        u = "http://127.0.0.1:%d/async" % s.backend_port
        assert harness.curl(u + "/later").stdout == "later\n"
        assert harness.curl(u + "/pipe").stdout == "piped\n"
        resp = harness.raw_exchange(("127.0.0.1", s.backend_port),
                                    b"GET /async/later HTTP/1.1\r\nHost: x\r\n\r\n"
                                    b"GET /async/pipe HTTP/1.1\r\nHost: x\r\n\r\n"
                                    b"GET /async/later HTTP/1.1\r\nHost: x\r\n"
                                    b"Connection: close\r\n\r\n")
        assert resp.count(b"HTTP/1.1 200") == 3, resp
        assert resp.index(b"later") < resp.index(b"piped") < resp.rindex(b"later"), resp
        r = harness.curl("--max-time", "0.5", u + "/never", check=False)
        assert r.returncode == 28, r      # curl: timed out
        harness.wait_for(lambda: harness.curl(u + "/aborts").stdout == "1\n", "the abort", 5)


def test_graceful_stop():
    s = stack()
    with socket.create_connection(addr()) as c:
        c.settimeout(5)
        c.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.recv(4096).startswith(b"HTTP/1.1 200")
        assert s.stop("backend", signal.SIGTERM) == 0
    assert not os.path.exists(s.socket)


if __name__ == "__main__":
    try:
        harness.main(globals())
    finally:
        if STACK is not None:
            STACK.close()
        harness.shutil.rmtree(ROOT, ignore_errors=True)
        harness.shutil.rmtree(OUTSIDE, ignore_errors=True)
