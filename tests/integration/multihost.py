# SPDX-License-Identifier: BSD-2-Clause
"""A site on several hosts (issue 11.5): network namespaces made by the test
(netns_util.py), each host with its own address on one bridge:

    fe1 10.77.0.11, fe2 10.77.0.12    bactrian-frontend (HTTP :80, HTTPS :443),
                                      the same ticket_secret_file
    be1 10.77.0.21, be2 10.77.0.22    bactrian-backend (TCP :8080, PROXY v2
                                      from fe1/fe2), pub/sub through Redis
    redis 10.77.0.31                  redis-server :6379
    client 10.77.0.100                every client of the test

Both frontends' vhost localhost is the pool [be1, be2]; vhost alt.localhost
is be1 alone on fe1 and be2 alone on fe2, so a client's backend is known.
What is checked, in one topology (bounded: well under 60 s):
  - plain HTTP from the client host to both frontends and both backends;
  - a TLS session made on fe1 resumes on fe2 and back (shared secret);
  - a chat message from a client on fe1/be1 reaches a client on fe2/be2;
  - Redis killed and started again: no subscriber is lost, a publish made
    while it was down reaches be2 once after the reconnect, and is logged;
  - every process of be1 killed: be1's sessions drop, be2's stay, and new
    connections on both frontends are served by be2;
  - be1 started again is used again; be1 unreachable (its link down, so
    connects time out): new clients wait at most backend_connect_timeout.
Needs redis-server (Debian's package).
Needs root and `ip netns` (skips, exit 77, otherwise); everything it made is
removed after, also when it fails or is stopped by SIGTERM."""
import asyncio
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import netns_util  # noqa: E402

HOSTS = {"fe1": "10.77.0.11", "fe2": "10.77.0.12", "be1": "10.77.0.21", "be2": "10.77.0.22",
         "redis": "10.77.0.31", "client": "10.77.0.100"}
BE_PORT, REDIS_PORT = 8080, 6379
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
T = 10  # seconds: bound of every single wait
CONNECT_TIMEOUT = 0.5  # frontend.backend_connect_timeout
RESULTS = []  # (what, seconds) for the report at the end


class Site:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="bactrian-mh-")
        self.net = netns_util.Net(HOSTS)
        self.procs = {}
        self.secret = os.path.join(self.tmp, "ticket.secret")
        with open(self.secret, "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        os.chmod(self.secret, 0o600)

    def dir(self, host):
        d = os.path.join(self.tmp, host)
        os.makedirs(d, exist_ok=True)
        return d

    def log(self, host):
        return os.path.join(self.dir(host), host + ".log")

    # -- configs ---------------------------------------------------------------
    def vhosts(self, backend=None, alt=None):
        v = [{"name": "localhost", "cert": os.path.join(harness.CERTS, "localhost.crt"),
              "key": os.path.join(harness.CERTS, "localhost.key")},
             {"name": "alt.localhost", "cert": os.path.join(harness.CERTS, "alt.localhost.crt"),
              "key": os.path.join(harness.CERTS, "alt.localhost.key")}]
        if backend:
            v[0].update(backend)
            v[1].update(alt or backend)
        return v

    def backend_conf(self, host):
        d = self.dir(host)
        os.makedirs(os.path.join(d, "www"), exist_ok=True)
        with open(os.path.join(d, "www", "name.txt"), "w") as f:
            f.write(host + "\n")
        be = {"socket": os.path.join(d, "backend.sock"),
              "pid_file": os.path.join(d, "backend.pid"), "error_log": "stderr",
              "access_log": os.path.join(d, "access.log"), "log_level": "debug", "workers": 1,
              "module_dir": harness.MODULE_DIR,
              "modules": [{"module": "static", "path": "/", "root": os.path.join(d, "www")},
                          {"module": "chat", "path": "/chat"}],
              # "optional": the client host also talks HTTP to the backends directly
              # (in production, "required" with the frontends in proxy_from).
              "listen": [{"address": HOSTS[host], "port": BE_PORT, "proxy_protocol": "optional",
                          "proxy_from": [HOSTS["fe1"], HOSTS["fe2"]]}],
              "pubsub": {"redis": "%s:%d" % (HOSTS["redis"], REDIS_PORT)}}
        return {"backend": be, "vhosts": self.vhosts()}

    def frontend_conf(self, host):
        d = self.dir(host)
        mine = "be1" if host == "fe1" else "be2"
        tcp = lambda b: "tcp:%s:%d" % (HOSTS[b], BE_PORT)  # noqa: E731
        vhosts = self.vhosts({"backends": [tcp("be1"), tcp("be2")]}, {"backend": tcp(mine)})
        ip = HOSTS[host]
        fe = {"pid_file": os.path.join(d, "frontend.pid"), "error_log": "stderr",
              "log_level": "debug", "min_spare": 2, "max_spare": 4, "max_children": 64,
              "services": [{"port": 80, "bind": [ip], "tls": False},
                           {"port": 443, "bind": [ip], "tls": True}],
              "tls": {"default_vhost": "localhost", "ticket_secret_file": self.secret}}
        # Short, so the test sees a member go down and come back in seconds.
        fe.update({"backend_connect_timeout": CONNECT_TIMEOUT, "backend_down_time": 1,
                   "backend_check_interval": 0.5})
        return {"frontend": fe, "vhosts": vhosts}

    def write(self, host, name, sections):
        path = os.path.join(self.dir(host), name)
        with open(path, "w") as f:
            f.write(harness.render_config(sections))
        return path

    # -- processes -------------------------------------------------------------
    def start(self, host, name, argv):
        self.procs[name] = self.net.popen(host, argv, self.log(host))
        return self.procs[name]

    def wait_port(self, host, port, name):
        def ok():
            with self.net.inside("client"):
                return harness.can_connect((HOSTS[host], port))
        harness.wait_for(ok, "%s on %s:%d" % (name, host, port), timeout=T,
                         proc=self.procs.get(name), log=self.log(host))

    def start_redis(self):
        self.start("redis", "redis", [REDIS, "--bind", HOSTS["redis"], "--port", str(REDIS_PORT),
                                      "--save", "", "--appendonly", "no", "--protected-mode",
                                      "no", "--dir", self.dir("redis")])
        self.wait_port("redis", REDIS_PORT, "redis")

    def start_backend(self, host):
        c = self.write(host, "backend.conf", self.backend_conf(host))
        self.start(host, host + "-be", [harness.BACKEND, "-f", "-c", c])
        self.wait_port(host, BE_PORT, host + "-be")

    def start_frontend(self, host):
        c = self.write(host, "frontend.conf", self.frontend_conf(host))
        self.start(host, host + "-fe", [harness.FRONTEND, "-f", "-c", c])
        self.wait_port(host, 80, host + "-fe")
        self.wait_port(host, 443, host + "-fe")

    def up(self):
        self.net.up()
        self.start_redis()
        for h in ("be1", "be2"):
            self.start_backend(h)
        for h in ("fe1", "fe2"):
            self.start_frontend(h)

    def down(self):
        self.net.down()  # every process of every host, by the kernel's list
        for p in self.procs.values():
            try:
                p.wait(T)
            except subprocess.TimeoutExpired:
                pass
        if os.environ.get("BACTRIAN_KEEP_TMP"):
            print("kept", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def dump_logs(self):
        for h in HOSTS:
            text = harness.read_file(self.log(h))
            if text:
                sys.stdout.write("--- %s ---\n%s\n" % (h, text[-3000:]))


# -- clients (all on the client host) --------------------------------------------

def curl(site, host, path="/name.txt", vhost="localhost", tls=False, check=True):
    port = 443 if tls else 80
    url = "%s://%s:%d%s" % ("https" if tls else "http", vhost, port, path)
    args = ["--resolve", "%s:%d:%s" % (vhost, port, HOSTS[host]), "-w", "\n%{http_code}"]
    if tls:
        args += ["--cacert", os.path.join(harness.CERTS, vhost + ".crt")]
    with site.net.inside("client"):
        r = harness.curl(*args, url, check=check, timeout=T)
    body, _, code = r.stdout.rpartition("\n")
    return code.strip(), body.strip()


def s_client(site, host, args):
    with site.net.inside("client"):
        r = subprocess.run(["openssl", "s_client", "-connect", "%s:443" % HOSTS[host],
                            "-servername", "localhost", "-ign_eof"] + list(args),
                           input=b"GET /name.txt HTTP/1.1\r\nHost: localhost\r\n"
                                 b"Connection: close\r\n\r\n",
                           capture_output=True, timeout=T)
    return (r.stdout + r.stderr).decode("utf-8", "replace")


def check_http(site):
    t0 = time.monotonic()
    for fe in ("fe1", "fe2"):
        for tls in (False, True):
            code, body = curl(site, fe, tls=tls)
            assert code == "200", "%s tls=%s: %s %s" % (fe, tls, code, body)
    for be in ("be1", "be2"):
        with site.net.inside("client"):
            r = harness.curl("-w", "\n%{http_code}", "http://%s:%d/name.txt" % (HOSTS[be], BE_PORT),
                             timeout=T)
        assert r.stdout.split() == [be, "200"], "%s direct: %r" % (be, r.stdout)
    for fe, be in (("fe1", "be1"), ("fe2", "be2")):
            code, body = curl(site, fe, vhost="alt.localhost", tls=True)
            assert (code, body) == ("200", be), "%s alt.localhost: %s %s" % (fe, code, body)
    RESULTS.append(("HTTP from the client host to 2 frontends and 2 backends",
                    time.monotonic() - t0))


def check_resumption(site):
    t0 = time.monotonic()
    for a, b in (("fe1", "fe2"), ("fe2", "fe1")):
        for proto in ("-tls1_3", "-tls1_2"):
            sess = os.path.join(site.tmp, "sess-%s%s.pem" % (a, proto))
            out = s_client(site, a, [proto, "-sess_out", sess])
            assert "New," in out and "200 OK" in out, out[-1500:]
            out = s_client(site, b, [proto, "-sess_in", sess])
            assert "Reused," in out, "%s session from %s not resumed on %s:\n%s" % (
                proto, a, b, out[-1500:])
    RESULTS.append(("TLS 1.2 and 1.3 sessions resumed on the other frontend",
                    time.monotonic() - t0))


# -- chat ----------------------------------------------------------------------

def tls_ctx(vhost):
    return ssl.create_default_context(cafile=os.path.join(harness.CERTS, vhost + ".crt"))


async def chat_join(site, fe, vhost, nick):
    import websockets
    with site.net.inside("client"):  # the socket is made here, used after
        ws = await websockets.connect("wss://%s/chat" % vhost, ssl=tls_ctx(vhost), host=HOSTS[fe],
                                      port=443, server_hostname=vhost, open_timeout=T,
                                      ping_interval=None)
    await ws.send(json.dumps({"type": "join", "room": "mh", "nick": nick}))
    await until(ws, lambda m: m["type"] == "joined" and m["nick"] == nick)
    return ws


async def until(ws, pred, timeout=T, seen=None):
    """The first message pred accepts; those before it go to seen."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no matching message within %ss" % timeout)
        m = json.loads(await asyncio.wait_for(ws.recv(), left))
        if pred(m):
            return m
        if seen is not None:
            seen.append(m)


async def say_until_heard(a, b, text, timeout=T, seen=None):
    """a says text (again every 0.5 s, numbered) until b hears one of them;
    returns how many were said. What b hears before goes to seen."""
    deadline = time.monotonic() + timeout
    n = 0
    while time.monotonic() < deadline:
        n += 1
        await a.send(json.dumps({"type": "say", "text": "%s #%d" % (text, n)}))
        try:
            await until(b, lambda m: m["type"] == "message" and m["text"].startswith(text), 0.5,
                        seen)
            return n
        except (AssertionError, asyncio.TimeoutError):
            continue
    raise AssertionError("%r never heard within %ss" % (text, timeout))


def opened_on(site, host):
    return len(re.findall(r"WebSocket session \d+ open on /chat", harness.read_file(
        site.log(host))))


async def chat_across(site, c1, c2):
    t0 = time.monotonic()
    await c1.send(json.dumps({"type": "say", "text": "hello from fe1/be1"}))
    m = await until(c2, lambda m: m["type"] == "message")
    assert m == {"type": "message", "room": "mh", "nick": "one", "text": "hello from fe1/be1"}, m
    await c2.send(json.dumps({"type": "say", "text": "hello from fe2/be2"}))
    await until(c1, lambda m: m["type"] == "message" and m["text"] == "hello from fe2/be2")
    RESULTS.append(("chat fe1/be1 <-> fe2/be2 through Redis", time.monotonic() - t0))


def outage_lines(site):
    return [line for h in ("be1", "be2") for line in harness.read_file(site.log(h)).splitlines()
            if re.search(r"redis", line, re.I) and
            re.search(r"down|lost|drop|unavailable|reconnect|not sent|held|error", line, re.I)]


async def redis_restart(site, c1, c2):
    """Redis killed and started again: both subscribers are still there."""
    t0 = time.monotonic()
    before = len(outage_lines(site))
    site.net.kill_host("redis")
    site.procs["redis"].wait(T)
    down = "while redis is down"
    await c1.send(json.dumps({"type": "say", "text": down}))
    # The publisher's own worker delivers at once, Redis or not.
    await until(c1, lambda m: m["type"] == "message" and m["text"] == down, 2)
    await asyncio.sleep(1)
    site.start_redis()
    seen = []
    n = await say_until_heard(c1, c2, "after the restart", seen=seen)
    await say_until_heard(c2, c1, "and back")
    # Held publishes go out once every worker must have subscribed again
    # (outage_flush_delay, longer after a long outage), in order, once.
    held = [m for m in seen if m.get("text") == down]
    assert len(held) == 1, "the held message arrived %d times at be2" % len(held)
    RESULTS.append(("Redis restarted: subscribers restored (%d tries); the message published "
                    "while down reached be2 once" % n, time.monotonic() - t0))
    lines = outage_lines(site)
    assert len(lines) > before, "the backends logged nothing about the Redis outage"
    print("  outage as logged: %s" % lines[before][-200:])


async def backend_host_dies(site, c1, c2):
    """Every process of be1 dies: only be1's clients lose their session,
    new clients on both frontends go to be2 at once."""
    import websockets
    t0 = time.monotonic()
    killed = site.net.kill_host("be1")
    try:
        await until(c1, lambda m: False, timeout=T)
        raise AssertionError("c1 (on be1) still open")
    except websockets.exceptions.ConnectionClosed:
        pass
    await c2.send(json.dumps({"type": "say", "text": "still here"}))
    await until(c2, lambda m: m["type"] == "message" and m["text"] == "still here")
    worst = 0.0
    for fe in ("fe1", "fe2"):
        for i in range(4):
            t1 = time.monotonic()
            code, body = curl(site, fe)
            worst = max(worst, time.monotonic() - t1)
            assert (code, body) == ("200", "be2"), "%s #%d after be1 died: %s %s" % (
                fe, i, code, body)
    assert worst < 3, "a new client waited %.1fs" % worst
    c3 = await chat_join(site, "fe1", "localhost", "three")
    await c3.send(json.dumps({"type": "say", "text": "three on be2"}))
    await until(c2, lambda m: m["type"] == "message" and m["text"] == "three on be2")
    RESULTS.append(("be1 killed (%d processes): its session dropped, be2 serves the rest "
                    "(slowest new request %.0f ms)" % (len(killed), worst * 1000),
                    time.monotonic() - t0))
    await c3.close()


def backend_host_unreachable(site):
    """be1 back (its daemons started again): the frontends use it again.
    Then be1 unreachable (link down: no RST, connects time out): new clients
    wait at most backend_connect_timeout, and only until a probe took it out."""
    t0 = time.monotonic()
    site.start_backend("be1")
    deadline = time.monotonic() + T
    while curl(site, "fe1")[1] != "be1":
        assert time.monotonic() < deadline, "be1 never used again after it came back"
        time.sleep(0.2)
    back = time.monotonic() - t0
    site.net.set_link("be1", False)
    waits = []
    for i in range(8):
        t1 = time.monotonic()
        code, body = curl(site, "fe1" if i % 2 else "fe2")
        waits.append(time.monotonic() - t1)
        assert (code, body) == ("200", "be2"), "#%d with be1 unreachable: %s %s" % (i, code, body)
    assert max(waits) < CONNECT_TIMEOUT + 1.5, "a client waited %.2fs" % max(waits)
    RESULTS.append(("be1 restarted: used again after %.1fs; then unreachable: slowest new "
                    "request %.0f ms, median %.0f ms" % (back, max(waits) * 1000,
                                                          sorted(waits)[4] * 1000),
                    time.monotonic() - t0))


async def chat_checks(site):
    c1 = await chat_join(site, "fe1", "alt.localhost", "one")  # fe1 -> be1
    c2 = await chat_join(site, "fe2", "alt.localhost", "two")  # fe2 -> be2
    assert opened_on(site, "be1") >= 1 and opened_on(site, "be2") >= 1
    await chat_across(site, c1, c2)
    await redis_restart(site, c1, c2)
    await backend_host_dies(site, c1, c2)
    await c2.close()


def test_multihost():
    why = netns_util.available()
    if why:
        raise harness.Skip("multihost: %s" % why)
    if not os.path.exists(REDIS):
        raise harness.Skip("multihost: no redis-server (Debian package redis-server)")
    site = Site()
    # SIGTERM (make check's timeout, a CI runner) must still run the finally.
    old = signal.signal(signal.SIGTERM, lambda *a: sys.exit("stopped by SIGTERM"))
    ok = False
    t0 = time.monotonic()
    try:
        site.up()
        RESULTS.append(("topology up: %d namespaces, %d daemons" % (
            len(site.net.made), len(site.procs)), time.monotonic() - t0))
        check_http(site)
        check_resumption(site)
        asyncio.run(asyncio.wait_for(chat_checks(site), 45))
        backend_host_unreachable(site)
        ok = True
    finally:
        if not ok:
            site.dump_logs()
        site.down()
        signal.signal(signal.SIGTERM, old)
        left = [n for n in netns_util._namespaces() if n.startswith(site.net.tag + "-")]
        assert not left, "namespaces left behind: %s" % left
    for what, secs in RESULTS:
        print("  %-70s %5.2fs" % (what, secs))
    print("  total %.2fs" % (time.monotonic() - t0))


if __name__ == "__main__":
    harness.main(globals())
