# SPDX-License-Identifier: BSD-2-Clause
"""The public module API that no bundled module calls, through test modules
(one per API area, built in tests/modules): the request and the mount's
settings (requesttest), and the asynchronous side: the per-request slot, a
watcher whose events change, the loop clock (asynctest). The WebSocket side
is tests/integration/ws_module_api.py (wstest)."""
import os
import time

import harness

TEST_MODS = os.path.join(harness.BUILDDIR, "tests", "modules", ".libs")
MODS = [
    {"module": "requesttest", "path": "/req", "flag": 7, "wait": 0.5, "limit": "64K"},
    {"module": "requesttest", "path": "/other", "vhost": "alt.localhost"},
    {"module": "requesttest", "path": "/s", "wait": "30s", "limit": 100},
    {"module": "requesttest", "path": "/ms", "wait": "250ms", "limit": "1M"},
    {"module": "asynctest", "path": "/async"},
]


def _need(name):
    if not os.path.exists(os.path.join(TEST_MODS, name + ".so")):
        raise AssertionError("tests/modules/%s.so not built" % name)


STACK = None


def stack():
    global STACK
    if STACK is None:
        _need("requesttest")
        _need("asynctest")
        STACK = harness.Stack(modules=MODS, backend_opts={"module_dir": TEST_MODS})
        STACK.__enter__()
    return STACK


def dump(resp):
    """The requesttest body as a dict (h: a list), and the response head."""
    head, _, body = resp.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        # size lines and data alternate; keep the data
        parts = body.split(b"\r\n")
        body = b"".join(parts[i] for i in range(1, len(parts), 2))
    text = body.decode()
    d = {"h": []}
    for ln in text.splitlines():
        k, _, v = ln.partition("=")
        if k == "h":
            d["h"].append(v)
        else:
            d[k] = v
    return head + b"\r\n\r\n", d


def request(data):
    return harness.raw_exchange(("127.0.0.1", stack().backend_port), data)


def test_request_api():
    head, d = dump(request(b"PUT /req/a%20b?x=1 HTTP/1.1\r\nHost: localhost\r\nX-One: 1\r\n"
                           b"X-Two: two\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
    assert head.startswith(b"HTTP/1.1 200"), head
    assert d["method"] == "PUT" and d["target"] == "/req/a%20b?x=1" and d["minor"] == "1", d
    assert d["headers"] == "5", d
    assert d["h"] == ["Host: localhost", "X-One: 1", "X-Two: two", "Content-Length: 0",
                      "Connection: close"], d["h"]
    assert d["past_end"] == "0", d
    assert d["family"] == "2" and d["addrlen"] == "16", d          # AF_INET, sockaddr_in
    assert d["started_before"] == "0" and d["started_after"] == "1", d
    # bm_pending right after bm_stream_begin: the whole head, still queued
    assert int(d["pending"]) == len(head), (d["pending"], len(head), head)
    _, d = dump(request(b"GET /req HTTP/1.0\r\n\r\n"))
    assert d["minor"] == "0" and d["headers"] == "0", d


def test_request_api_over_unix():
    s = stack()
    _, d = dump(harness.raw_exchange(s.socket, b"GET /req HTTP/1.1\r\nHost: x\r\n"
                                     b"Connection: close\r\n\r\n", family=harness.socket.AF_UNIX))
    assert d["family"] == "1", d                                  # AF_UNIX peer, no PROXY header


def test_mount_settings():
    _, d = dump(request(b"GET /req/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert d["mount"] == "/req" and d["vhost"] == "*" and d["flag"] == "1 7", d
    _, d = dump(request(b"GET /other HTTP/1.1\r\nHost: alt.localhost\r\nConnection: close\r\n\r\n"))
    assert d["mount"] == "/other" and d["vhost"] == "alt.localhost" and d["flag"] == "0 -1", d


def test_typed_settings():
    """bm_conf_duration_ms / bm_conf_size read what the core's settings take."""
    want = {"/req": ("500 0", "65536 0"), "/other": ("1500 0", "4096 0"),
            "/s": ("30000 0", "100 0"), "/ms": ("250 0", "1048576 0")}
    for path, (wait, limit) in want.items():
        host = "alt.localhost" if path == "/other" else "x"
        _, d = dump(request(b"GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (
            path.encode(), host.encode())))
        assert (d["wait"], d["limit"]) == (wait, limit), (path, d)


def test_typed_settings_errors():
    """Out of range or of the wrong form: -t fails with file, line, module,
    mount and key, one line each."""
    bad = [{"module": "requesttest", "path": "/a", "wait": 61},
           {"module": "requesttest", "path": "/b", "limit": "12Q"},
           {"module": "requesttest", "path": "/c", "wait": "soon", "limit": 0}]
    with harness.Stack(backend=False, modules=bad, backend_opts={"module_dir": TEST_MODS}) as s:
        r = harness.subprocess.run([harness.BACKEND, "-t", "-c", s.config_path],
                                   capture_output=True, text=True, timeout=30)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    conf = s.config_path
    for want in (
            "setting 'backend.modules.[0].wait': must be 0-60 seconds (module requesttest on /a)",
            "setting 'backend.modules.[1].limit': must be a size in bytes, like 65536 or "
            "\"64K\", \"16M\", \"1G\" (module requesttest on /b)",
            "setting 'backend.modules.[2].wait': must be a duration",
            "setting 'backend.modules.[2].limit': must be 1-1073741824 bytes "
            "(module requesttest on /c)"):
        assert want in out, "%r not in:\n%s" % (want, out)
    assert out.count(conf + ":") >= 4, out


def test_request_slot_watch_update_clock():
    u = "http://127.0.0.1:%d/async" % stack().backend_port
    # the tag travels from handle() to tick() in the request's slot
    assert harness.curl(u + "/later?blue").stdout == "later blue\n"
    assert harness.curl(u + "/later").stdout == "later\n"
    # answered only once bm_watch_update switched the watcher to BM_READ
    r = harness.curl("--max-time", "5", u + "/update", check=False)
    assert r.returncode == 0 and r.stdout == "updated rc=0\n", r
    t0 = int(harness.curl(u + "/now").stdout)
    time.sleep(0.3)
    t1 = int(harness.curl(u + "/now").stdout)
    assert 250 <= t1 - t0 < 5000, (t0, t1)


if __name__ == "__main__":
    try:
        harness.main(globals())
    finally:
        if STACK is not None:
            STACK.close()
