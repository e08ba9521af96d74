# SPDX-License-Identifier: BSD-2-Clause
"""Frontend to backends over TCP, as a pool (issue 11.1): two backends on
127.0.0.1 ports share the clients; one killed, every new request succeeds
on the other at once (none waits as long as the connect timeout); it comes
back after a restart (the master's probe); a GET its backend dropped
unanswered is replayed on the other member; tcp:[::1]:PORT works; bad
addresses are config errors naming the line; the status JSON shows the
members."""
import json
import os
import signal
import socket
import subprocess
import threading
import time

import harness
import fe_util as fu

CONNECT_TIMEOUT = 1.5  # long enough that a loaded CI machine never reaches it by accident
POOL_OPTS = {"backend_connect_timeout": CONNECT_TIMEOUT, "backend_down_time": 0.5,
             "backend_check_interval": 0.2, "backend_retry": 1}


def _get(port, path="/", host="localhost"):
    """One GET through the frontend: (status line, seconds it took)."""
    t0 = time.monotonic()
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        c.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" %
                   (path, host)).encode())
        got = b""
        while True:
            b = c.recv(65536)
            if not b:
                break
            got += b
    finally:
        c.close()
    return got.split(b"\r\n", 1)[0].decode("latin-1"), time.monotonic() - t0


def _requests(log):
    return harness.read_file(log).count("GET /")


def _backend(sb=None):
    """A backend alone, on a TCP port of its own (PROXY v2 from 127.0.0.1)."""
    mods = [{"module": "hello", "path": "/"}]
    if sb:
        mods.insert(0, {"module": "status", "path": "/status", "scoreboard": sb})
    return harness.Stack(frontend=False, modules=mods)


def _frontend(backends, **fe):
    f = fu.stack(backend=False, frontend=True, backend_tcp=False)
    for v in f.vhosts:
        v["backends"] = backends
    sb = os.path.join(f.tmp, "frontend.scoreboard")
    f.sections["frontend"].update(POOL_OPTS, scoreboard_file=sb, **fe)
    f.write_config()
    return f, sb


def _pool_status(b):
    """The frontend's pool members as the status page of backend b shows them."""
    r = harness.curl("-s", b.backend_url("/status"))
    fe = json.loads(r.stdout)["frontend"]
    # {} until the master has made its file (its ports answer a moment before)
    return {m["backend"]: m for m in fe.get("backends", [])}


def _state(b, member):
    return _pool_status(b).get(member, {}).get("state")


def test_spread_failover_and_return():
    a = b = f = None
    try:
        f, sb = _frontend([])
        a, b = _backend(sb), _backend(sb)
        ta, tb = "tcp:127.0.0.1:%d" % a.backend_port, "tcp:127.0.0.1:%d" % b.backend_port
        for v in f.vhosts:
            v["backends"] = [ta, tb]
        f.write_config()
        a.__enter__()
        b.__enter__()
        f.__enter__()
        for _ in range(30):
            line, _ = _get(f.http_port)
            assert " 200 " in line, line
        na, nb = _requests(a.access_log), _requests(b.access_log)
        print("spread over 30 requests: %d on a, %d on b" % (na, nb))
        assert na >= 3 and nb >= 3, (na, nb)
        harness.wait_for(lambda: _state(a, ta) == "up" and _state(a, tb) == "up",
                         "both members up on the status page")
        # Open relays are counted per member (least connections reads them).
        held = [fu.hold_relay(f.http_port)[0] for _ in range(4)]
        harness.wait_for(lambda: sum(m["connections"] for m in _pool_status(a).values()) == 4,
                         "4 connections on the status page")
        st = _pool_status(a)
        print("4 open relays: %d on a, %d on b" % (st[ta]["connections"], st[tb]["connections"]))
        assert st[ta]["connections"] == 2 and st[tb]["connections"] == 2, st
        for c in held:
            c.close()
        # b dies: no request fails, none waits for a connect timeout.
        b.stop("backend")
        assert not harness.can_connect(("127.0.0.1", b.backend_port))
        before = _requests(a.access_log)
        worst = 0.0
        for _ in range(30):
            line, took = _get(f.http_port)
            assert " 200 " in line, line
            worst = max(worst, took)
        print("b down: 30 of 30 answered, slowest %.3f s (connect timeout %.1f s)" %
              (worst, CONNECT_TIMEOUT))
        assert worst < CONNECT_TIMEOUT, worst
        assert _requests(a.access_log) - before == 30
        harness.wait_for(lambda: _state(a, tb) == "down", "b marked down")
        st = _pool_status(a)
        assert st[tb]["failures"] >= 1 and st[ta]["state"] == "up", st
        fu.wait_log(f.frontend_log, r"vhost localhost, alt\.localhost: backend %s is down "
                    r"\(.*Connection refused\)" % tb.replace("[", r"\["))
        # b is back: the master's probe finds it, clients go there again.
        b.start_backend()
        t0 = time.monotonic()
        harness.wait_for(lambda: _state(a, tb) == "up", "b up again")
        print("b up again %.2f s after its restart (down_time 0.5 s, interval 0.2 s)" %
              (time.monotonic() - t0))
        fu.wait_log(f.frontend_log, r"backend %s is up again" % tb)
        nb = _requests(b.access_log)
        for _ in range(20):
            assert " 200 " in _get(f.http_port)[0]
        assert _requests(b.access_log) > nb
    finally:
        for s in (f, b, a):
            if s:
                s.close()


class _Dropper:
    """A 'backend' that takes a connection, reads the request and closes
    without answering: a backend dying before it answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.dropped = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.settimeout(2)
            data = b""
            try:
                # The PROXY header and the request may come in separate
                # segments: read until the request line shows (or 2 s, EOF).
                while b"GET " not in data and b"POST " not in data and len(data) < 65536:
                    got = c.recv(65536)
                    if not got:
                        break
                    data += got
                if b"GET " in data or b"POST " in data:
                    self.dropped += 1
            except OSError:
                pass
            c.close()


def test_get_replayed_on_another_member():
    d = _Dropper()
    a = _backend()
    f, _ = _frontend(["tcp:127.0.0.1:%d" % d.port, "tcp:127.0.0.1:%d" % a.backend_port])
    with a, f:
        for _ in range(12):
            line, _ = _get(f.http_port)
            assert " 200 " in line, line
        assert d.dropped >= 1, "no request went to the dropping member"
        fu.wait_log(f.frontend_log, r"vhost localhost: backend tcp:127\.0\.0\.1:%d closed "
                    r"before answering; sending the request again to another member" % d.port)
        print("%d GETs dropped by one member, all 12 answered by the other" % d.dropped)
    d.sock.close()


class _Blackhole:
    """A port whose connects time out, like a host that vanished: a listener
    that never accepts, its queue full (the kernel then drops new SYNs)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fill = []
        for _ in range(4):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", self.port))
            self.fill.append(c)
        time.sleep(0.1)

    def close(self):
        for c in self.fill:
            c.close()
        self.sock.close()


def test_member_that_times_out():
    h = _Blackhole()
    probe = socket.socket()
    probe.settimeout(0.3)
    try:
        probe.connect(("127.0.0.1", h.port))
        probe.close()
        h.close()
        raise harness.Skip("this kernel accepted a connect on a full listen queue")
    except socket.timeout:
        probe.close()
    a = _backend()
    th = "tcp:127.0.0.1:%d" % h.port
    f, sb = _frontend([th, "tcp:127.0.0.1:%d" % a.backend_port])
    a.sections["backend"]["modules"].insert(0, {"module": "status", "path": "/status",
                                                 "scoreboard": sb})
    a.write_config()
    try:
        with a, f:
            # The master's probe times out and takes the member out, with no client.
            harness.wait_for(lambda: _state(a, th) == "down", "member down")
            fu.wait_log(f.frontend_log, r"backend %s is down \(probe: cannot connect to %s: "
                        r"timed out after %d ms\)" % (th, th, CONNECT_TIMEOUT * 1000))
            worst = 0.0
            for _ in range(20):
                line, took = _get(f.http_port)
                assert " 200 " in line, line
                worst = max(worst, took)
            print("member timing out, marked down by the probe: 20 of 20 answered, slowest "
                  "%.3f s (connect timeout %.1f s)" % (worst, CONNECT_TIMEOUT))
            assert worst < CONNECT_TIMEOUT, worst
            assert _pool_status(a)[th]["failures"] >= 1
    finally:
        h.close()


def test_reload_keeps_member_state():
    """A reload keeps the state of members it still names (a down member
    stays down, with its failures) and drops the others from the table."""
    a = b = f = None
    try:
        f, sb = _frontend([])
        a, b = _backend(sb), _backend(sb)
        ta, tb = "tcp:127.0.0.1:%d" % a.backend_port, "tcp:127.0.0.1:%d" % b.backend_port
        for v in f.vhosts:
            v["backends"] = [ta, tb]
        f.sections["frontend"]["backend_down_time"] = 60
        f.write_config()
        a.__enter__()
        f.__enter__()  # b never started: down at the first probe
        harness.wait_for(lambda: _state(a, tb) == "down", "b down")
        failures = _pool_status(a)[tb]["failures"]
        f.vhosts[1]["backends"] = [ta, tb, "tcp:127.0.0.1:1"]
        f.write_config()
        f.signal("frontend", signal.SIGHUP)
        fu.wait_log(f.frontend_log, r"reloaded: generation 2")
        harness.wait_for(lambda: "tcp:127.0.0.1:1" in _pool_status(a), "the new member listed")
        st = _pool_status(a)
        assert st[tb]["state"] == "down" and st[tb]["failures"] >= failures, st
        assert st[ta]["state"] == "up", st
        for v in f.vhosts:
            v["backends"] = [ta]
        f.write_config()
        f.signal("frontend", signal.SIGHUP)
        fu.wait_log(f.frontend_log, r"reloaded: generation 3")
        harness.wait_for(lambda: list(_pool_status(a)) == [ta], "only a listed")
        for _ in range(5):
            assert " 200 " in _get(f.http_port)[0]
    finally:
        for s_ in (f, b, a):
            if s_:
                s_.close()


def test_ipv6_member():
    port = harness.free_port(socket.AF_INET6)
    a = harness.Stack(frontend=False, modules=fu.MODULES, backend_opts={"listen": [
        {"address": "::1", "port": port, "proxy_protocol": "optional", "proxy_from": ["::1"]}]})
    a.backend_port = None  # the harness waits on 127.0.0.1 only
    f, _ = _frontend(["tcp:[::1]:%d" % port])
    with a, f:
        harness.wait_for(lambda: harness.can_connect(("::1", port), socket.AF_INET6),
                         "backend on ::1")
        line, _ = _get(f.http_port)
        assert " 200 " in line, line
        fu.wait_log(f.frontend_log, r"vhost localhost: backend tcp:\[::1\]:%d$" % port)


def _check(conf_text, tmp):
    path = os.path.join(tmp, "bad.conf")
    with open(path, "w") as fh:
        fh.write(conf_text)
    return subprocess.run([harness.FRONTEND, "-t", "-c", path], capture_output=True, text=True,
                          timeout=20)


def test_bad_addresses_are_config_errors():
    f, _ = _frontend(["tcp:127.0.0.1:1"])
    try:
        for bad, why in [("tcp:127.0.0.1", "no port: tcp:HOST:PORT"),
                         ("tcp:::1:80", "an IPv6 address goes in brackets"),
                         ("tcp:127.0.0.1:70000", "port '70000' is not a number 1-65535"),
                         ("udp:127.0.0.1:80", "not a backend address")]:
            f.vhosts[1]["backends"] = ["tcp:127.0.0.1:1", bad]
            text = harness.render_config(f.sections)
            r = _check(text, f.tmp)
            assert r.returncode != 0, r
            lines = text.splitlines()
            want_line = 1 + next(i for i, l in enumerate(lines) if "alt.localhost" in l)
            # the vhost's line: the group opens on the line before its name
            out = r.stderr + r.stdout
            assert "vhost 'alt.localhost': backend '%s': %s" % (bad, why) in out, out
            assert any(":%d: setting 'vhosts.[1]'" % n in out
                       for n in (want_line - 1, want_line)), (want_line, out)
        f.vhosts[1]["backends"] = ["tcp:127.0.0.1:1"]
        assert _check(harness.render_config(f.sections), f.tmp).returncode == 0
    finally:
        f.close()


if __name__ == "__main__":
    harness.main(globals())
