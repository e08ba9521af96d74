# SPDX-License-Identifier: BSD-2-Clause
"""Graceful reload (HUP) of both daemons, as operators use it.

* a broken config on reload: the old one keeps serving, the error is logged
* a certificate replaced on disk, then HUP: the new one is served (and one
  with the wrong key is refused)
* services and vhosts added or removed, a module added
* old frontend generations are capped by number and by age
* reload under load: a bounded wrk run and open WebSocket sessions while both
  daemons get HUP several times: no failed request, the sessions still echo
* a backend reload without hand-off (handoff_timeout = 0) keeps WebSocket
  sessions working, then the old worker closes them with 1001 after
  shutdown_timeout
* USR1: the access log is reopened after rotation

Tests whose daemon behaviour has not landed on main yet raise harness.Skip
naming what is missing.
"""
import asyncio
import atexit
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import fe_util as fu  # noqa: E402

MODULE_DIR = harness.MODULE_DIR
# A document root of our own: the tests need a page, not the demo site.
WWW = harness.tempfile.mkdtemp(prefix="bactrian-www-")
with open(os.path.join(WWW, "index.html"), "w") as _f:
    _f.write("<!doctype html><title>reload</title>" + "x" * 2000 + "\n")
atexit.register(harness.shutil.rmtree, WWW, True)


def have_module(name):
    return os.path.exists(os.path.join(MODULE_DIR, name + ".so"))


def modules(*names):
    """The module list for the given bundled modules, or Skip if one is not built."""
    out = []
    for n in names:
        if not have_module(n):
            raise harness.Skip("module %s is not built yet (%s/%s.so)" % (n, MODULE_DIR, n))
        m = {"module": n, "path": "/" if n == "static" else "/" + n}
        if n == "static":
            m["root"] = WWW
        out.append(m)
    return out


BACKEND_RELOADED = r"reloaded .*: generation"


log_count, wait_log, children = harness.log_count, harness.wait_log, harness.children


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def peer_cert(port, name="localhost"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as t:
            return t.getpeercert(binary_form=True)


def make_cert(path_prefix, cn):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=DNS:" + cn, "-keyout", path_prefix + ".key",
                    "-out", path_prefix + ".crt"], check=True, capture_output=True)
    der = subprocess.run(["openssl", "x509", "-in", path_prefix + ".crt", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return der


def own_vhosts(tmp):
    """vhosts with certificates in the test's own directory (they get replaced)."""
    out = []
    for name in ("localhost", "alt.localhost"):
        make_cert(os.path.join(tmp, name), name)
        out.append({"name": name, "cert": os.path.join(tmp, name + ".crt"),
                    "key": os.path.join(tmp, name + ".key")})
    return out


def reload_and_wait(s, name, pattern, n):
    s.signal(name, signal.SIGHUP)
    wait_log(s.frontend_log if name == "frontend" else s.backend_log, pattern, n,
             "%s reload #%d" % (name, n))


# ---- frontend ---------------------------------------------------------------

def test_frontend_broken_config_keeps_running():
    with harness.Stack(frontend=True, modules=[]) as s:
        before = peer_cert(s.https_port)
        fe = dict(s.sections["frontend"])
        fe["bogus_setting"] = 1
        s.write_config(dict(s.sections, frontend=fe))
        s.signal("frontend", signal.SIGHUP)
        wait_log(s.frontend_log, r"bogus_setting", 1, "the reload error naming the setting")
        assert re.search(r"bactrian\.conf:\d+: setting 'frontend\.bogus_setting'",
                         harness.read_file(s.frontend_log)), "error names file, line and setting"
        time.sleep(0.3)
        assert s.procs["frontend"].poll() is None, "frontend exited on a broken reload"
        assert peer_cert(s.https_port) == before, "still serving the old config"
        # A good config afterwards is taken.
        s.write_config()
        reload_and_wait(s, "frontend", r"reloaded", 1)


def test_certificate_replaced_then_hup():
    tmp = harness.tempfile.mkdtemp(prefix="bactrian-cert-")
    try:
        vh = own_vhosts(tmp)
        with harness.Stack(frontend=True, modules=[], vhosts=vh) as s:
            old = peer_cert(s.https_port)
            new = make_cert(os.path.join(tmp, "localhost"), "localhost")
            assert new != old
            # The file changed, but nothing is re-read before the HUP.
            assert peer_cert(s.https_port) == old, "certificate changed without a reload"
            reload_and_wait(s, "frontend", r"reloaded", 1)
            time.sleep(0.3)
            got = None
            for _ in range(20):  # old idle children are being retired
                got = peer_cert(s.https_port)
                if got == new:
                    break
                time.sleep(0.1)
            assert got == new, "the new certificate is not served after HUP"
            # The other vhost keeps its own certificate.
            assert peer_cert(s.https_port, "alt.localhost") != new
    finally:
        harness.shutil.rmtree(tmp, ignore_errors=True)


def test_certificate_with_wrong_key_is_refused():
    tmp = harness.tempfile.mkdtemp(prefix="bactrian-cert-")
    try:
        vh = own_vhosts(tmp)
        with harness.Stack(frontend=True, modules=[], vhosts=vh) as s:
            old = peer_cert(s.https_port)
            # A renewal gone wrong: a new certificate next to the old key.
            os.rename(os.path.join(tmp, "localhost.key"), os.path.join(tmp, "old.key"))
            make_cert(os.path.join(tmp, "localhost"), "localhost")
            os.rename(os.path.join(tmp, "old.key"), os.path.join(tmp, "localhost.key"))
            s.signal("frontend", signal.SIGHUP)
            wait_log(s.frontend_log, r"reload.*keeping", 1, "the reload refused")
            assert "localhost" in harness.read_file(s.frontend_log).split("keeping")[0][-600:], \
                "the error names the vhost or its files"
            time.sleep(0.3)
            assert s.procs["frontend"].poll() is None, "frontend exited on a bad certificate"
            assert peer_cert(s.https_port) == old, "the old certificate is still served"
    finally:
        harness.shutil.rmtree(tmp, ignore_errors=True)


def test_reload_adds_and_removes_services_and_vhosts():
    tmp = harness.tempfile.mkdtemp(prefix="bactrian-vh-")
    try:
        with harness.Stack(frontend=True, modules=[]) as s:
            new_port = harness.free_port()
            new_cert = make_cert(os.path.join(tmp, "new.localhost"), "new.localhost")
            fe = dict(s.sections["frontend"])
            # The HTTPS service goes, a second plain one comes.
            fe["services"] = [fe["services"][0],
                              {"port": new_port, "bind": ["127.0.0.1"], "tls": True}]
            vhosts = s.vhosts + [{"name": "new.localhost",
                                  "cert": os.path.join(tmp, "new.localhost.crt"),
                                  "key": os.path.join(tmp, "new.localhost.key")}]
            s.write_config(dict(s.sections, frontend=fe, vhosts=vhosts))
            reload_and_wait(s, "frontend", r"reloaded", 1)
            assert harness.can_connect(("127.0.0.1", new_port)), "added service not listening"
            assert peer_cert(new_port, "new.localhost") == new_cert, "added vhost's certificate"
            harness.wait_for(lambda: not harness.can_connect(("127.0.0.1", s.https_port)),
                             "removed service to stop listening", timeout=5)
            assert harness.can_connect(("127.0.0.1", s.http_port)), "kept service closed"
    finally:
        harness.shutil.rmtree(tmp, ignore_errors=True)


def test_backend_reload_adds_module():
    modules("hello")  # skips if it is not built
    mods = modules("static")
    with harness.Stack(frontend=True, modules=mods) as s:
        r = harness.curl("-o", "/dev/null", "-w", "%{http_code}", s.url("/hello/x"), check=False)
        assert r.stdout.strip() == "404", "hello is not mounted yet: %s" % r.stdout
        be = dict(s.sections["backend"])
        be["modules"] = [{"module": "hello", "path": "/hello", "text": "added by reload\n"}] + mods
        s.write_config(dict(s.sections, backend=be))
        reload_and_wait(s, "backend", BACKEND_RELOADED, 1)
        body = None
        for _ in range(30):  # old workers finish; new ones take the new clients
            body = harness.curl(s.url("/hello/x"), check=False).stdout
            if body == "added by reload\n":
                break
            time.sleep(0.1)
        assert body == "added by reload\n", "module added by reload not served: %r" % body
        assert http_ok(s), "the other mounts still work"


def hold(port):
    """A plaintext keep-alive client that had one answer: a busy child (one
    that sends nothing waits in the master's waiting room instead)."""
    c, head = fu.hold_relay(port)
    assert head.startswith(b"HTTP/1.1 "), head
    c.setblocking(False)
    return c


def server_socket_inode(c):
    """The inode of the server's end of client socket c (IPv4 loopback)."""
    lport = c.getsockname()[1]
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            x = line.split()
            if int(x[2].split(":")[1], 16) == lport and x[3] == "01":
                return x[9]
    return None


def wait_accepted(s, c):
    """Waits until a frontend child has accepted client c (not just the
    kernel's queue), so it belongs to the generation running now."""
    def taken():
        ino = server_socket_inode(c)
        if not ino:
            return False
        for pid in children(s.pid("frontend")):
            try:
                for fd in os.listdir("/proc/%d/fd" % pid):
                    if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == "socket:[%s]" % ino:
                        return True
            except OSError:
                pass
        return False
    harness.wait_for(taken, "a child to accept the client", timeout=10)


def closed(c):
    try:
        return c.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_old_generations_capped_by_number():
    with harness.Stack(frontend=True, modules=[],
                       frontend_opts={"reload_max_generations": 2, "reload_max_age": 600,
                                      "request_timeout": 60}) as s:
        held = []
        for n in range(1, 6):
            held.append(hold(s.http_port))
            wait_accepted(s, held[-1])  # by a child of the current generation
            reload_and_wait(s, "frontend", r"reloaded", n)
            time.sleep(0.2)  # the old generation's idle children are retired
        # Generations 0..4 are old, 5 is current: at most 2 old ones are kept.
        harness.wait_for(lambda: all(closed(c) for c in held[:3]),
                         "clients of generations more than 2 back to be cut", timeout=5)
        time.sleep(0.5)
        assert not any(closed(c) for c in held[3:]), "clients of the 2 newest old generations cut"
        for c in held:
            c.close()


def test_old_generations_capped_by_age():
    with harness.Stack(frontend=True, modules=[],
                       frontend_opts={"reload_max_generations": 8, "reload_max_age": 1,
                                      "request_timeout": 60}) as s:
        c = hold(s.http_port)
        wait_accepted(s, c)
        reload_and_wait(s, "frontend", r"reloaded", 1)
        t0 = time.monotonic()
        assert not closed(c), "client cut at once"
        harness.wait_for(lambda: closed(c), "old child stopped after reload_max_age", timeout=6)
        assert time.monotonic() - t0 >= 0.8, "client cut before reload_max_age"
        c.close()


def test_reload_burst_does_not_pile_up():
    with harness.Stack(frontend=True, modules=[],
                       frontend_opts={"reload_max_generations": 2, "min_spare": 2,
                                      "max_spare": 4}) as s:
        master = s.pid("frontend")
        for n in range(1, 11):
            s.signal("frontend", signal.SIGHUP)
            time.sleep(0.05)
        # Signals sent while one is pending merge into one: wait until the
        # reloads stop coming rather than for exactly ten.
        wait_log(s.frontend_log, r"reloaded", 2, "the reloads")
        last, stable_since = -1, time.monotonic()
        while time.monotonic() - stable_since < 0.5:
            n = log_count(s.frontend_log, r"reloaded")
            if n != last:
                last, stable_since = n, time.monotonic()
            time.sleep(0.05)
        # Idle old children are retired: the pool settles at its spare limits.
        harness.wait_for(lambda: len(children(master)) <= 4, "pool back within max_spare",
                         timeout=5)
        assert s.procs["frontend"].poll() is None


def processes_of(config_path):
    """Live processes started with this config (masters, children, workers)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if config_path.encode() in f.read() and alive(int(d)):
                    out.append(int(d))
        except OSError:
            pass
    return out


def test_term_is_graceful_quit_is_immediate():
    with harness.Stack(frontend=True, modules=[],
                       frontend_opts={"request_timeout": 60}) as s:
        c = hold(s.http_port)
        wait_accepted(s, c)
        fe = s.procs["frontend"]
        fe.send_signal(signal.SIGTERM)
        harness.wait_for(lambda: not harness.can_connect(("127.0.0.1", s.https_port)),
                         "listeners closed on TERM", timeout=5)
        time.sleep(0.5)
        assert fe.poll() is None, "TERM did not wait for the busy client"
        assert not closed(c), "TERM cut a client that was being served"
        fe.send_signal(signal.SIGQUIT)
        fe.wait(5)
        harness.wait_for(lambda: closed(c), "QUIT to cut the client", timeout=5)
        c.close()
        s.procs.pop("frontend")
        # The backend: QUIT stops it at once too.
        be = s.procs.pop("backend")
        be.send_signal(signal.SIGQUIT)
        be.wait(5)
        harness.wait_for(lambda: not processes_of(s.config_path),
                         "no process left after QUIT", timeout=5)


# ---- backend ----------------------------------------------------------------

def test_backend_broken_config_keeps_running():
    with harness.Stack(modules=[]) as s:
        be = dict(s.sections["backend"])
        be["bogus_setting"] = 1
        s.write_config(dict(s.sections, backend=be))
        s.signal("backend", signal.SIGHUP)
        wait_log(s.backend_log, r"bogus_setting", 1, "the reload error naming the setting")
        assert re.search(r"bactrian\.conf:\d+: setting 'backend\.bogus_setting'",
                         harness.read_file(s.backend_log)), "error names file, line and setting"
        assert s.procs["backend"].poll() is None, "backend exited on a broken reload"
        assert harness.can_connect_unix(s.socket), "backend socket gone"


def test_backend_reload_picks_up_an_upgraded_module():
    """An operator installs a new build of a module, then reloads: the new code
    must serve, not the copy the master loaded at start."""
    tmp = harness.tempfile.mkdtemp(prefix="bactrian-mod-")
    try:
        src = os.path.join(harness.SRCDIR, "doc", "examples", "greet.c")
        if not os.path.exists(src):
            raise harness.Skip("doc/examples/greet.c is missing")
        mods = os.path.join(tmp, "mods")
        os.mkdir(mods)

        def build(word, out):
            with open(src) as f:
                code = f.read().replace('"Hello"', '"%s"' % word)
            c = os.path.join(tmp, word + ".c")
            with open(c, "w") as f:
                f.write(code)
            subprocess.run(["cc", "-std=c11", "-shared", "-fPIC", "-I",
                            os.path.join(harness.SRCDIR, "include"), "-o", out, c],
                           check=True, capture_output=True)
        build("Hello", os.path.join(mods, "greet.so"))
        build("Bonjour", os.path.join(tmp, "greet-new.so"))
        with harness.Stack(frontend=True, modules=[{"module": "greet", "path": "/greet"}],
                           backend_opts={"module_dir": mods}) as s:
            first = harness.curl(s.url("/greet?name=op")).stdout
            assert first.startswith("Hello"), first
            # As `install` does: a new file (new inode) under the same name.
            os.rename(os.path.join(tmp, "greet-new.so"), os.path.join(mods, "greet.so"))
            reload_and_wait(s, "backend", BACKEND_RELOADED, 1)
            got = None
            for _ in range(30):
                got = harness.curl(s.url("/greet?name=op")).stdout
                if got.startswith("Bonjour"):
                    break
                time.sleep(0.1)
            assert got.startswith("Bonjour"), "still the old module after reload: %r" % got
    finally:
        harness.shutil.rmtree(tmp, ignore_errors=True)


def http_ok(s, path="/"):
    r = harness.curl("-o", "/dev/null", "-w", "%{http_code}", s.url(path), check=False,
                     timeout=3)
    return r.stdout.strip() == "200"


async def ws_open(url, n):
    import websockets
    kw = {}
    if url.startswith("wss:"):
        ctx = ssl.create_default_context(cafile=os.path.join(harness.CERTS, "localhost.crt"))
        kw["ssl"] = ctx
    return [await websockets.connect(url, open_timeout=5, close_timeout=2, **kw)
            for _ in range(n)]


async def ws_echo(conns, tag):
    for i, c in enumerate(conns):
        msg = "%s-%d" % (tag, i)
        await c.send(msg)
        for _ in range(5):  # a module may greet first
            got = await asyncio.wait_for(c.recv(), 5)
            if got == msg:
                break
        else:
            raise AssertionError("session %d did not echo %r" % (i, msg))


def wrk_run(url, seconds, close=False):
    """A bounded wrk run. close=True: a new connection per request, so clients
    keep arriving while generations change (keep-alive ones stay on one child)."""
    extra = ["-H", "Connection: close"] if close else []
    return subprocess.Popen(["wrk", "-t1", "-c%d" % (4 if close else 8), "-d%ds" % seconds,
                             "--timeout", "3s"] + extra + [url],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wrk_check(out, rc):
    print(out)
    assert rc == 0, "wrk failed"
    m = re.search(r"(\d+) requests in", out)
    assert m and int(m.group(1)) > 100, "wrk made too few requests"
    assert "Socket errors" not in out, "failed requests during reloads"
    assert "Non-2xx" not in out, "error responses during reloads"


def test_http_reload_under_load():
    mods = modules("static")
    with harness.Stack(frontend=True, modules=mods, workers=2) as s:
        assert http_ok(s), "GET / through the frontend does not answer 200"
        ws = [wrk_run(s.url("/"), 3), wrk_run(s.url("/"), 3, close=True)]
        for n in range(1, 4):
            time.sleep(0.7)
            reload_and_wait(s, "frontend", r"reloaded", n)
            reload_and_wait(s, "backend", BACKEND_RELOADED, n)
        for w in ws:
            out, _ = w.communicate(timeout=30)
            wrk_check(out, w.returncode)
        assert http_ok(s), "new clients are served after the reloads"


def test_reload_under_load():
    mods = modules("static", "echo")
    with harness.Stack(frontend=True, modules=mods, workers=2) as s:
        assert http_ok(s), "GET / through the frontend does not answer 200"
        loop = asyncio.new_event_loop()
        try:
            # Plain sessions (spliced by the frontend) and TLS ones (relayed
            # through OpenSSL), each in its own frontend child.
            conns = loop.run_until_complete(ws_open(s.url("/echo").replace("http", "ws"), 3))
            conns += loop.run_until_complete(
                ws_open(s.url("/echo", tls=True).replace("https", "wss"), 3))
            loop.run_until_complete(ws_echo(conns, "before"))
            ws = [wrk_run(s.url("/"), 4), wrk_run(s.url("/"), 4, close=True)]
            for n in range(1, 4):
                time.sleep(0.8)
                s.signal("backend", signal.SIGHUP)
                s.signal("frontend", signal.SIGHUP)
                loop.run_until_complete(ws_echo(conns, "during%d" % n))
            outs = [(w.communicate(timeout=30)[0], w.returncode) for w in ws]
            wait_log(s.frontend_log, r"reloaded", 3, "three frontend reloads")
            wait_log(s.backend_log, BACKEND_RELOADED, 3, "three backend reloads")
            for out, rc in outs:
                wrk_check(out, rc)
            loop.run_until_complete(ws_echo(conns, "after"))
            for c in conns:
                loop.run_until_complete(c.close())
            assert http_ok(s), "new clients are served after the reloads"
        finally:
            loop.close()


def test_backend_reload_drains_with_1001():
    mods = modules("echo")
    # handoff_timeout 0: sessions are not handed to the new workers (as for a
    # module without hand-off hooks; ws_handoff.py tests the hand-off).
    # shutdown_timeout 8 s: the old worker keeps its sessions, then sends 1001
    # early enough for the close handshake (close_timeout, 5 s by default, at
    # most half the timeout): about 4 s after the reload. Room for a slow
    # machine to check the sessions still work in between.
    with harness.Stack(frontend=True, modules=mods,
                       backend_opts={"shutdown_timeout": 8, "handoff_timeout": 0}) as s:
        loop = asyncio.new_event_loop()
        try:
            url = s.url("/echo").replace("http", "ws")
            conns = loop.run_until_complete(ws_open(url, 2))
            loop.run_until_complete(ws_echo(conns, "before"))
            workers_before = set(children(s.pid("backend")))
            s.signal("backend", signal.SIGHUP)
            t0 = time.monotonic()
            wait_log(s.backend_log, BACKEND_RELOADED, 1, "the backend reload")
            for n in range(3):  # the old worker still serves its sessions
                time.sleep(0.3)
                loop.run_until_complete(ws_echo(conns, "draining%d" % n))

            async def close_code(c):
                try:
                    while True:
                        await asyncio.wait_for(c.recv(), 9)
                except asyncio.TimeoutError:
                    return None
                except Exception:  # noqa: BLE001 - ConnectionClosed carries the code
                    return c.close_code
            codes = [loop.run_until_complete(close_code(c)) for c in conns]
            waited = time.monotonic() - t0
            assert codes == [1001, 1001], "close codes after the drain: %r" % codes
            assert 3.0 <= waited <= 7.5, "1001 came %.2fs after the reload" % waited
            # A reconnecting client reaches a new worker; the old ones are gone.
            fresh = loop.run_until_complete(ws_open(url, 1))
            loop.run_until_complete(ws_echo(fresh, "new"))
            loop.run_until_complete(fresh[0].close())
            harness.wait_for(lambda: not (workers_before & set(children(s.pid("backend")))),
                             "old workers to exit", timeout=5)
        finally:
            loop.close()


def test_backend_term_closes_sessions_with_1001():
    mods = modules("echo")
    with harness.Stack(frontend=True, modules=mods, backend_opts={"shutdown_timeout": 2}) as s:
        loop = asyncio.new_event_loop()
        try:
            conns = loop.run_until_complete(ws_open(s.url("/echo").replace("http", "ws"), 2))
            loop.run_until_complete(ws_echo(conns, "before"))
            be = s.procs["backend"]
            be.send_signal(signal.SIGTERM)
            t0 = time.monotonic()

            async def close_code(c):
                try:
                    while True:
                        await asyncio.wait_for(c.recv(), 5)
                except asyncio.TimeoutError:
                    return None
                except Exception:  # noqa: BLE001 - ConnectionClosed carries the code
                    return c.close_code
            codes = [loop.run_until_complete(close_code(c)) for c in conns]
            assert codes == [1001, 1001], "close codes on TERM: %r" % codes
            assert be.wait(5) == 0, "backend exit status after TERM"
            assert time.monotonic() - t0 <= 4.0, "TERM took longer than shutdown_timeout"
            s.procs.pop("backend")
        finally:
            loop.close()


def test_access_log_reopen():
    mods = modules("static")
    with harness.Stack(frontend=True, modules=mods) as s:
        assert http_ok(s), "GET / through the frontend does not answer 200"
        harness.wait_for(lambda: os.path.getsize(s.access_log) > 0, "an access log line")
        os.rename(s.access_log, s.access_log + ".1")
        s.signal("backend", signal.SIGUSR1)
        harness.wait_for(lambda: os.path.exists(s.access_log), "access log reopened")
        n_old = len(harness.read_file(s.access_log + ".1").splitlines())
        assert http_ok(s, "/?after-rotate")
        harness.wait_for(lambda: "after-rotate" in harness.read_file(s.access_log),
                         "the request logged in the new file")
        assert len(harness.read_file(s.access_log + ".1").splitlines()) == n_old


if __name__ == "__main__":
    harness.main(globals())
