# SPDX-License-Identifier: BSD-2-Clause
"""Backend binary upgrade in place (kill -USR2, issue 12 item 4, backend
part; backend/upgrade.c on common/upgrade.c).

* the master re-executes its binary three times: same pid each time; echo
  sessions (plain, permessage-deflate with context takeover, mid-fragmented
  message, slow readers, over TLS) and chat users in a room, all through the
  frontend, exchange sequence-numbered messages throughout, checked by the
  clients (ws_handoff.py's Echo and Chat): nothing cut, lost, duplicated or
  reordered. With shutdown_timeout = 3 and the old workers gone within
  2.5 s of each upgrade, the sessions really moved to the new binary's
  workers; the log must say each was handed over each time. HTTP is served
  all along.
* a master started as root that dropped to backend.user upgrades too: the
  new image, unprivileged, keeps the access log root created (it could not
  open it by name) and serves and logs on; a new backend.socket is made by
  the running master before the execve, as a reload would make it, and the
  upgrade is refused (the old image serving on) where a reload would fail;
* a new binary whose workers speak another hand-off wire version (a test
  build, tests/upgrade/bactrian-backend-ho2) is refused by the old workers:
  their sessions stay and drain as before hand-offs existed (1001 at
  shutdown_timeout), and the new binary serves new sessions;
* a new binary that cannot start (not there, or failing its -t check) or a
  configuration that became invalid leaves the running master as it was,
  with a log line, its sessions untouched.

The backend runs from a copy of its binary in the test's directory, so that
the test can replace or remove it.
"""
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import ws_handoff as wh  # noqa: E402

UPGRADES = 3
UPGRADED = r"upgrade: pid %d, generation \d+, \d+ old workers kept"
MODULES = [{"module": "echo", "path": "/echo"},
           {"module": "echo", "path": "/echoz", "deflate": True, "deflate_preset": "max"},
           {"module": "chat", "path": "/chat"},
           {"module": "hello", "path": "/"}]


def _need():
    for m in ("echo", "chat", "hello"):
        wh.need(os.path.join(harness.MODULE_DIR, m + ".so"))


class binary:
    """A Stack whose backend runs from a copy of its binary (the path is returned)."""

    def __init__(self, frontend=True, shutdown_timeout=3, **kw):
        self.s = harness.Stack(frontend=frontend, modules=MODULES, workers=2,
                               backend_opts={"shutdown_timeout": shutdown_timeout}, **kw)
        self.frontend = frontend
        self.s.want_backend = self.s.want_frontend = False

    def __enter__(self):
        s = self.s.__enter__()
        self.path = os.path.join(s.tmp, "bin", "bactrian-backend")
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        shutil.copy2(harness.BACKEND, self.path)
        saved, harness.BACKEND = harness.BACKEND, self.path
        try:
            s.start_backend()
            if self.frontend:
                s.start_frontend()
        except BaseException:
            s.close()
            raise
        finally:
            harness.BACKEND = saved
        return s, self.path

    def __exit__(self, *exc):
        return self.s.__exit__(*exc)


def _served(s, url):
    r = harness.curl("-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", url)
    assert r.stdout.strip() == "200", (url, r.stdout, r.stderr)


def test_upgrades_keep_pid_and_sessions():
    _need()
    with binary() as (s, _):
        urls = {"plain": s.url("/echo").replace("http", "ws"),
                "deflate": s.url("/echoz").replace("http", "ws"),
                "wss": s.url("/echoz", tls=True).replace("https", "wss"),
                "chat": s.url("/chat").replace("http", "ws")}
        master = s.pid("backend")
        loop = asyncio.new_event_loop()

        async def upgrades(stop):
            await asyncio.sleep(1.0)
            for n in range(1, UPGRADES + 1):
                before = set(wh.children(master))
                s.signal("backend", signal.SIGUSR2)
                await loop.run_in_executor(None, wh.wait_log, s.backend_log,
                                           UPGRADED % master, n, "upgrade %d" % n)
                assert s.procs["backend"].poll() is None, "the master exited"
                # The old workers let go of every session and exit well before
                # shutdown_timeout (3 s) would have closed them.
                t0 = time.monotonic()
                while before & set(wh.children(master)):
                    # A session left at 3 s would get 1001, which its client reports.
                    assert time.monotonic() - t0 < 4.5, "old workers still there after 4.5 s"
                    await asyncio.sleep(0.05)
                await loop.run_in_executor(None, _served, s, s.url("/"))
                await asyncio.sleep(0.6)
            await asyncio.sleep(1.0)
            stop.set()
        try:
            sessions, chats = loop.run_until_complete(wh.exchange(s, urls, upgrades))
        finally:
            loop.close()
        assert s.pid("backend") == master
        # The pid file still names us, and its lock is still held.
        pid_file = s.sections["backend"]["pid_file"]
        assert harness.read_file(pid_file).strip() == str(master)
        r = subprocess.run([harness.BACKEND, "-f", "-c", s.config_path], capture_output=True,
                           text=True, timeout=20)
        assert r.returncode != 0 and "is held by running process %d" % master in r.stderr, r
        # The new image reloads as any master does, and its sessions move.
        s.signal("backend", signal.SIGHUP)
        wh.wait_log(s.backend_log, wh.RELOADED, 1, "a reload after the upgrades")
        _served(s, s.url("/"))
        log = harness.read_file(s.backend_log)
        handed = [tuple(map(int, m)) for m in re.findall(wh.HANDED, log)]
        total = sum(h[0] for h in handed)
        n = len(sessions) + len(chats)
        assert total == n * UPGRADES, "sessions handed over: %d, want %d (%r)" % (
            total, n * UPGRADES, handed)
        assert not any(h[1] or h[2] for h in handed), "refused or lost: %r" % handed
        assert "1001" not in log and "server shutting down" not in log
        assert len(re.findall(r"upgraded to ", log)) == UPGRADES
        print("messages per echo session:", [e.seq for e in sessions])
        assert min(e.seq for e in sessions) >= 5, "sessions made too little progress"
        assert s.stop("backend") == 0


def _still_running(s, pid, failures, ws):
    wh.wait_log(s.backend_log, r"upgrade: .*still running", failures, "failure %d" % failures)
    assert s.procs["backend"].poll() is None and s.pid("backend") == pid
    assert "upgraded to" not in harness.read_file(s.backend_log)
    _served(s, s.backend_url("/"))

    async def echo():
        await ws.step()
    asyncio.get_event_loop().run_until_complete(echo())


def test_bad_binary_or_config_leaves_old_running():
    _need()
    with binary(frontend=False, backend_tcp=True) as (s, path):
        pid = s.pid("backend")
        wh.wait_log(s.backend_log, r"worker \d ready", 2, "both workers")
        workers = set(wh.children(pid))
        asyncio.set_event_loop(asyncio.new_event_loop())
        ws = wh.Echo("ws://127.0.0.1:%d/echoz" % s.backend_port, 1, "deflate")
        asyncio.get_event_loop().run_until_complete(ws.open())
        # 1. The binary is gone.
        os.rename(path, path + ".real")
        s.signal("backend", signal.SIGUSR2)
        _still_running(s, pid, 1, ws)
        assert "cannot execute" in harness.read_file(s.backend_log)
        # 2. A binary that fails its -t check.
        with open(path, "w") as f:
            f.write("#!/bin/sh\necho 'broken build' >&2\nexit 3\n")
        os.chmod(path, 0o755)
        s.signal("backend", signal.SIGUSR2)
        _still_running(s, pid, 2, ws)
        assert "broken build" in harness.read_file(s.backend_log)
        # 3. The real binary, but the configuration became invalid.
        os.replace(path + ".real", path)
        good = harness.read_file(s.config_path)
        with open(s.config_path, "w") as f:
            f.write(good + "\nbackend: { nonsense = ; };\n")
        s.signal("backend", signal.SIGUSR2)
        _still_running(s, pid, 3, ws)
        # The workers were never told to go.
        now = set(wh.children(pid))
        assert workers == now, "workers changed: %r, now %r" % (workers, now)
        # And once all is well again, the upgrade goes through.
        with open(s.config_path, "w") as f:
            f.write(good)
        s.signal("backend", signal.SIGUSR2)
        wh.wait_log(s.backend_log, UPGRADED % pid, 1, "the upgrade")
        harness.wait_for(lambda: not (workers & set(wh.children(pid))), "the old workers to go",
                         timeout=2.5)
        _served(s, s.backend_url("/"))
        loop = asyncio.get_event_loop()
        for _ in range(3):
            loop.run_until_complete(ws.step())
        loop.run_until_complete(ws.ws.close())
        loop.close()
        assert "1001" not in harness.read_file(s.backend_log)


HO2 = os.path.join(harness.BUILDDIR, "tests", "upgrade", "bactrian-backend-ho2")


def test_mismatched_handoff_version_drains():
    _need()
    wh.need(HO2)
    # shutdown_timeout 6: the drain's 1001 comes about 3 s after the upgrade
    # (ws_session.c keeps the close handshake's time), room enough to see the
    # old sessions still served first on a loaded machine.
    with binary(frontend=False, shutdown_timeout=6) as (s, path):
        pid = s.pid("backend")
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        base = "ws://127.0.0.1:%d" % s.backend_port
        old = [wh.Echo(base + "/echo", 1, "plain"), wh.Echo(base + "/echoz", 2, "deflate")]
        for e in old:
            loop.run_until_complete(e.open())
            loop.run_until_complete(e.step())
        shutil.copy2(HO2, path + ".new")
        os.replace(path + ".new", path)
        s.signal("backend", signal.SIGUSR2)
        t0 = time.monotonic()
        wh.wait_log(s.backend_log, UPGRADED % pid, 1, "the upgrade")
        # ho2 speaks the version one above ours (BE_HO_WIRE_VERSION in ws_handoff_rec.h).
        wh.wait_log(s.backend_log, r"speaks hand-off version \d+, not \d+", 1, "the refusal")
        ver = re.search(r"speaks hand-off version (\d+), not (\d+)", harness.read_file(
            s.backend_log))
        assert int(ver.group(1)) == int(ver.group(2)) + 1, ver.group(0)
        for e in old:  # still served by their old workers
            loop.run_until_complete(e.step())
        # A new session is served by the new binary's workers.
        new = wh.Echo(base + "/echo", 3, "plain")
        loop.run_until_complete(new.open())
        loop.run_until_complete(new.step())

        async def drained(e):
            import websockets
            try:
                while True:
                    await asyncio.wait_for(e.ws.recv(), 8)
            except websockets.ConnectionClosed:
                pass
            return e.ws.close_code, time.monotonic() - t0
        for e in old:
            code, after = loop.run_until_complete(drained(e))
            assert code == 1001, code
            assert 1.0 < after < 6.5, "1001 after %.2fs, not at shutdown_timeout" % after
        loop.run_until_complete(new.step())
        loop.run_until_complete(new.ws.close())
        loop.close()
        assert s.pid("backend") == pid
        moved = [int(m[0]) for m in re.findall(wh.HANDED, harness.read_file(s.backend_log))]
        assert sum(moved) == 0, "sessions moved to a peer of another version: %r" % moved


def test_upgrade_after_dropping_root():
    import pwd
    if os.geteuid() != 0:
        raise harness.Skip("needs root: the backend must start as root to drop to a user")
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        raise harness.Skip("no user nobody")
    _need()
    b = binary(frontend=False)
    b.s.sections["backend"]["user"] = "nobody"
    b.s.write_config()
    # What the unprivileged master must read again for the upgrade: the
    # configuration and its directory, the binary (as in any install).
    os.chmod(b.s.tmp, 0o755)
    os.chmod(b.s.config_path, 0o644)
    with b as (s, path):
        err_log = s.backend_log  # stderr: the harness runs the daemon with -f
        pid = s.pid("backend")
        harness.wait_for(lambda: wh.log_count(err_log, r"worker \d ready") >= 2, "workers",
                         log=err_log)
        st = os.stat(s.access_log)  # made by root before the drop, 0640
        assert st.st_uid == 0 and st.st_mode & 0o777 == 0o640, oct(st.st_mode)
        s.signal("backend", signal.SIGUSR2)
        harness.wait_for(lambda: wh.log_count(err_log, UPGRADED % pid) >= 1, "the upgrade",
                         log=err_log)
        harness.wait_for(lambda: wh.log_count(err_log, r"generation 2\)") >= 2,
                         "the new workers", log=err_log)
        _served(s, s.backend_url("/after-the-upgrade"))
        harness.wait_for(lambda: "/after-the-upgrade" in harness.read_file(s.access_log),
                         "the access log line", timeout=5)
        assert s.procs["backend"].poll() is None and s.pid("backend") == pid
        assert "cannot open" not in harness.read_file(err_log)
        # A port below 1024 in the new configuration: the master that
        # dropped root binds new listeners before the execve, and cannot.
        low = _privileged_port()
        listen = s.sections["backend"]["listen"]
        listen.append({"address": "127.0.0.1", "port": low})
        s.write_config()
        s.signal("backend", signal.SIGUSR2)
        harness.wait_for(lambda: wh.log_count(err_log, r"upgrade: .*still running") >= 1,
                         "the refusal", log=err_log)
        assert re.search(r"upgrade: the new configuration listens on 127\.0\.0\.1 port %d, "
                         r"which this master cannot bind: .*Permission denied \(needs root or "
                         r"CAP_NET_BIND_SERVICE\); still running" % low,
                         harness.read_file(err_log))
        assert s.procs["backend"].poll() is None and s.pid("backend") == pid
        assert wh.log_count(err_log, UPGRADED % pid) == 1
        _served(s, s.backend_url("/after-the-refusal"))
        # An unprivileged new port: bound before the execve, it serves after.
        high = harness.free_port()
        listen[-1] = {"address": "127.0.0.1", "port": high}
        s.write_config()
        s.signal("backend", signal.SIGUSR2)
        harness.wait_for(lambda: wh.log_count(err_log, UPGRADED % pid) >= 2, "the upgrade",
                         log=err_log)
        _served(s, "http://127.0.0.1:%d/on-the-new-port" % high)
        assert s.procs["backend"].poll() is None and s.pid("backend") == pid


def _served_unix(path, what):
    r = harness.curl("-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                     "--unix-socket", path, "http://localhost/" + what, check=False)
    assert r.stdout.strip() == "200", (path, r.stdout, r.stderr)


def _refused(s, pid, n, pattern):
    """The n-th refused upgrade, with a line matching pattern; the master as it was."""
    err_log = s.backend_log
    harness.wait_for(lambda: wh.log_count(err_log, r"upgrade: .*still running") >= n,
                     "refusal %d" % n, log=err_log)
    assert re.search(r"upgrade: %s; still running" % pattern, harness.read_file(err_log)), \
        pattern
    assert s.procs["backend"].poll() is None and s.pid("backend") == pid


def _reload_fails_too(s, n, pattern):
    """What a reload does with the same configuration: it fails the same way."""
    s.signal("backend", signal.SIGHUP)
    harness.wait_for(lambda: wh.log_count(s.backend_log, r"reload failed") >= n,
                     "reload failure %d" % n, log=s.backend_log)
    assert re.search(pattern, harness.read_file(s.backend_log)), pattern


def test_upgrade_moves_unix_socket_after_dropping_root():
    """A new backend.socket is made by the running master, which dropped root,
    before the execve, as a reload would make it: where a reload cannot (a
    directory nobody may write, a socket_owner only root may give), the
    upgrade is refused with the old image serving on; where it can, the new
    image serves on the new socket and the old path is gone, as after a
    reload."""
    import pwd
    if os.geteuid() != 0:
        raise harness.Skip("needs root: the backend must start as root to drop to a user")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        raise harness.Skip("no user nobody")
    _need()
    b = binary(frontend=False)
    be = b.s.sections["backend"]
    be["user"] = "nobody"
    # A directory nobody may write: a reload, as nobody, moving the socket
    # from there unlinks the old path; an upgrade must leave it as a reload.
    open_dir = os.path.join(b.s.tmp, "open")
    os.mkdir(open_dir, 0o755)
    os.chown(open_dir, nobody.pw_uid, nobody.pw_gid)
    be["socket"] = b.s.socket = os.path.join(open_dir, "at-start.sock")
    b.s.write_config()
    os.chmod(b.s.tmp, 0o755)
    os.chmod(b.s.config_path, 0o644)
    with b as (s, path):
        pid, old_sock = s.pid("backend"), be["socket"]
        harness.wait_for(lambda: wh.log_count(s.backend_log, r"worker \d ready") >= 2,
                         "workers", log=s.backend_log)
        _served_unix(old_sock, "at-start")
        # 1. A directory nobody may not write (root's, 0755).
        shut = os.path.join(s.tmp, "shut")
        os.mkdir(shut, 0o755)
        be["socket"] = os.path.join(shut, "backend.sock")
        s.write_config()
        s.signal("backend", signal.SIGUSR2)
        why = r"backend\.socket %s: cannot bind unix:%s: Permission denied" % (
            re.escape(be["socket"]), re.escape(be["socket"]))
        _refused(s, pid, 1, why)
        assert not os.path.exists(be["socket"])
        _served_unix(old_sock, "after-refusal-1")
        _reload_fails_too(s, 1, r"(?m)^.*%s$" % why)
        # 2. A directory nobody may write, but an owner only root may give.
        be["socket"] = os.path.join(open_dir, "backend.sock")
        be["socket_owner"] = "root"
        s.write_config()
        s.signal("backend", signal.SIGUSR2)
        why = (r"backend\.socket_owner 'root', socket_group unset: the chown of unix socket "
               r"%s to them needs root \(this master runs as uid %d\)" % (
                   re.escape(be["socket"]), nobody.pw_uid))
        _refused(s, pid, 2, why)
        assert not os.path.exists(be["socket"]), "the refused upgrade left its socket"
        _served_unix(old_sock, "after-refusal-2")
        _reload_fails_too(s, 2, why)
        assert wh.log_count(s.backend_log, r"upgraded to ") == 0
        # 3. The same without the owner: made before the execve, served after.
        del be["socket_owner"]
        s.write_config()
        s.signal("backend", signal.SIGUSR2)
        harness.wait_for(lambda: wh.log_count(s.backend_log, UPGRADED % pid) >= 1,
                         "the upgrade", log=s.backend_log)
        st = os.stat(be["socket"])
        assert st.st_uid == nobody.pw_uid and st.st_mode & 0o7777 == 0o660, (
            st.st_uid, oct(st.st_mode))
        _served_unix(be["socket"], "on-the-new-socket")
        _served(s, s.backend_url("/on-tcp"))
        # A reload leaves no socket at the path it moves from: neither does an upgrade.
        assert not os.path.exists(old_sock), "the old socket's path is still there"
        assert s.procs["backend"].poll() is None and s.pid("backend") == pid


def _privileged_port():
    """A port below 1024 free on 127.0.0.1 (we are root: we can probe)."""
    import socket
    for port in range(600, 1000):
        with socket.socket() as p:
            try:
                p.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise harness.Skip("no free port in 600..999 on 127.0.0.1")


if __name__ == "__main__":
    harness.main(globals())
