# SPDX-License-Identifier: BSD-2-Clause
"""Frontend binary upgrade in place (kill -USR2, issue 12 item 4, frontend
part; frontend/upgrade.c on common/upgrade.c).

* the master re-executes its binary: same pid, the WebSocket sessions open
  through it (ws and wss, some already in lean children) go on echoing, a
  keep-alive relay in flight goes on, new clients are served on both ports,
  and a reload after the upgrade works;
* a new binary that cannot start (not there, or failing its -t check) or a
  configuration that became invalid leaves the running master as it was,
  with a log line;
* a master started as root that dropped to frontend.user upgrades too
  (daemonized, logging to a file root made 0640): the new image,
  unprivileged, keeps the error log it could not open by name; an upgrade
  whose new image could not make frontend.scoreboard_file anew (its
  directory not writable by frontend.user) is refused, the old image
  running on, and goes through once the directory is writable;
* with keys only root reads (0600, root's, in a directory of root's) and
  frontend.user nobody, the upgrade works: its -t run reads no key, the
  running master has the kept key process check them; TLS sessions and new
  handshakes work after. A new configuration whose key does not match its
  certificate, or names a key that is not there, is refused with a log line
  naming the vhost and the file, the old image running on;
* a new configuration gaining a port below 1024 is refused by the master
  that dropped root (it binds the new listeners before the execve), with a
  log line naming the address and port; one gaining an unprivileged port
  upgrades and the new port serves.

The frontend runs from a copy of its binary in the test's directory, so
that the test can replace or remove it.
"""
import asyncio
import os
import re
import shutil
import signal

import harness
import fe_util as fu

MODULES = [{"module": "hello", "path": "/"}, {"module": "echo", "path": "/echo"}]
SESSIONS = 6


def _need_echo():
    if not os.path.exists(os.path.join(harness.MODULE_DIR, "echo.so")):
        raise harness.Skip("the backend has no echo module (%s/echo.so)" % harness.MODULE_DIR)


def _own_binary(s):
    """The frontend binary copied into the stack's directory, used from now on."""
    path = os.path.join(s.tmp, "bin", "bactrian-frontend")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    shutil.copy2(harness.FRONTEND, path)
    return path


class binary:
    """Stack(frontend=False) plus a frontend started from a copy of the binary."""

    def __init__(self, **kw):
        self.s = fu.stack(frontend=True, modules=MODULES, **kw)
        self.s.want_frontend = False

    def __enter__(self):
        s = self.s.__enter__()
        s.want_frontend = True
        self.path = _own_binary(s)
        saved, harness.FRONTEND = harness.FRONTEND, self.path
        try:
            s.start_frontend()
        finally:
            harness.FRONTEND = saved
        return s, self.path

    def __exit__(self, *exc):
        return self.s.__exit__(*exc)


async def _open(s, tls):
    import websockets
    if tls:
        return await websockets.connect("wss://localhost:%d/echo" % s.https_port,
                                        ssl=fu.tls_context(), host="127.0.0.1",
                                        port=s.https_port, server_hostname="localhost",
                                        open_timeout=10)
    return await websockets.connect("ws://127.0.0.1:%d/echo" % s.http_port, open_timeout=10)


async def _echo(ws, msg):
    await ws.send(msg)
    got = await asyncio.wait_for(ws.recv(), 10)
    assert got == msg, (got, msg)


def _served(s):
    assert fu.status(fu.http(s)) == "200"
    assert fu.status(fu.https(s)) == "200"


async def _upgrade(s):
    pid = s.pid("frontend")
    sessions = [await _open(s, i % 2 == 0) for i in range(SESSIONS)]
    await asyncio.gather(*(_echo(ws, "before %d" % i) for i, ws in enumerate(sessions)))
    await asyncio.sleep(1.3)  # idle past 1 s: some are in lean children now
    relay, head = fu.hold_relay(s.http_port)
    assert b" 200 " in head, head
    s.signal("frontend", signal.SIGUSR2)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, fu.wait_log, s.frontend_log,
                               r"upgrade: pid %d, generation 2, \d+ children kept" % pid)
    assert s.procs["frontend"].poll() is None, "the master exited"
    await asyncio.gather(*(_echo(ws, "after %d" % i) for i, ws in enumerate(sessions)))
    assert b" 200 " in fu.ask(relay), "the keep-alive relay did not survive"
    relay.close()
    await loop.run_in_executor(None, _served, s)
    # The new image reloads as any master does.
    s.signal("frontend", signal.SIGHUP)
    await loop.run_in_executor(None, fu.wait_log, s.frontend_log, r"reloaded: generation 3")
    await asyncio.gather(*(_echo(ws, "reloaded %d" % i) for i, ws in enumerate(sessions)))
    await loop.run_in_executor(None, _served, s)
    for ws in sessions:
        await ws.close()
    return pid


def test_upgrade_keeps_pid_sessions_and_listeners():
    _need_echo()
    with binary() as (s, _):
        pid = asyncio.run(_upgrade(s))
        assert s.pid("frontend") == pid
        log = harness.read_file(s.frontend_log)
        assert "upgraded to" in log and "key process" in log
        assert s.stop("frontend") == 0


def _still_running(s, pid, failures):
    fu.wait_count(s.frontend_log, r"upgrade: .*still running", failures)
    assert s.procs["frontend"].poll() is None and s.pid("frontend") == pid
    _served(s)


def test_bad_binary_or_config_leaves_old_running():
    with binary() as (s, path):
        pid = s.pid("frontend")
        relay, head = fu.hold_relay(s.https_port, tls=True)
        # 1. The binary is gone.
        os.rename(path, path + ".real")
        s.signal("frontend", signal.SIGUSR2)
        _still_running(s, pid, 1)
        assert "cannot execute" in harness.read_file(s.frontend_log)
        # 2. A binary that fails its -t check.
        with open(path, "w") as f:
            f.write("#!/bin/sh\necho 'broken build' >&2\nexit 3\n")
        os.chmod(path, 0o755)
        s.signal("frontend", signal.SIGUSR2)
        _still_running(s, pid, 2)
        assert "broken build" in harness.read_file(s.frontend_log)
        # 3. The real binary, but the configuration became invalid.
        os.replace(path + ".real", path)
        good = harness.read_file(s.config_path)
        with open(s.config_path, "w") as f:
            f.write(good + "\nfrontend: { nonsense = ; };\n")
        s.signal("frontend", signal.SIGUSR2)
        _still_running(s, pid, 3)
        assert "upgraded to" not in harness.read_file(s.frontend_log)
        assert b" 200 " in fu.ask(relay), "a relay did not survive the failed upgrades"
        relay.close()
        # And once all is well again, the upgrade goes through.
        with open(s.config_path, "w") as f:
            f.write(good)
        s.signal("frontend", signal.SIGUSR2)
        fu.wait_log(s.frontend_log, r"upgrade: pid %d, generation 2" % pid)
        _served(s)


def _daemon_pid(s, proc):
    """The daemonized frontend's pid, from its pid file."""
    pid_file = s.sections["frontend"]["pid_file"]
    harness.wait_for(lambda: proc.poll() is not None and os.path.exists(pid_file) and
                     harness.read_file(pid_file).strip(), "the pid file", timeout=10)
    return int(harness.read_file(pid_file).strip())


def _alive(pid):
    """pid runs (not a zombie waiting for init to reap it)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_upgrade_after_dropping_root():
    import pwd
    import subprocess
    if os.geteuid() != 0:
        raise harness.Skip("needs root: the frontend must start as root to drop to a user")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        raise harness.Skip("no user nobody")
    s = fu.stack(frontend=True, modules=MODULES, backend_opts={"socket_mode": "0666"})
    s.want_frontend = False
    err_log = os.path.join(s.tmp, "frontend-error.log")
    sb_dir = os.path.join(s.tmp, "run")
    os.mkdir(sb_dir, 0o755)  # root's: nobody cannot make a file in it
    s.sections["frontend"].update({"user": "nobody", "error_log": err_log,
                                   "scoreboard_file": os.path.join(sb_dir, "scoreboard")})
    _root_only_keys(s)
    s.write_config()
    # What the unprivileged master reads again for the upgrade (its -t check):
    # the configuration and its directory, the binary (as in any install).
    os.chmod(s.tmp, 0o755)
    os.chmod(s.config_path, 0o644)
    with s:
        path = _own_binary(s)
        # Without -f: daemonized, logging to err_log (made by root, 0640).
        proc = subprocess.Popen([path, "-c", s.config_path], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        pid = _daemon_pid(s, proc)
        try:
            fu.wait_log(err_log, r"started ")
            st = os.stat(err_log)
            assert st.st_uid == 0 and st.st_mode & 0o777 == 0o640, oct(st.st_mode)
            _served(s)
            # 1. The new image could not make the scoreboard file: refused.
            os.kill(pid, signal.SIGUSR2)
            fu.wait_log(err_log, r"upgrade: .*scoreboard.*still running")
            assert _alive(pid) and "upgraded to" not in harness.read_file(err_log)
            _served(s)
            # 2. Now it can: the new image keeps the log it cannot open.
            os.chown(sb_dir, nobody.pw_uid, nobody.pw_gid)
            os.kill(pid, signal.SIGUSR2)
            fu.wait_log(err_log, r"upgrade: pid %d, generation 2" % pid)
            assert _alive(pid), "the new image exited"
            _served(s)
            assert "cannot open" not in harness.read_file(err_log)
            assert os.stat(os.path.join(sb_dir, "scoreboard")).st_uid == nobody.pw_uid
        finally:
            if _alive(pid):
                os.kill(pid, signal.SIGTERM)
                harness.wait_for(lambda: not _alive(pid), "the frontend's exit", timeout=10)


def _root_only_keys(s):
    """The vhosts' keys copied where only root reads them (0600 in a 0700
    directory of root's), the certificates where anyone does."""
    certs, keys = os.path.join(s.tmp, "certs"), os.path.join(s.tmp, "keys")
    os.mkdir(certs, 0o755)
    os.mkdir(keys, 0o700)
    for v in s.vhosts:
        v["cert"] = shutil.copy(v["cert"], certs)
        os.chmod(v["cert"], 0o644)
        v["key"] = shutil.copy(v["key"], keys)
        os.chmod(v["key"], 0o600)
    return keys


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


def _refused(s, pid, pattern, n):
    """The n-th upgrade refusal, matching pattern; the old image serves."""
    fu.wait_count(s.frontend_log, r"upgrade: .*still running", n)
    assert re.search(pattern, harness.read_file(s.frontend_log)), pattern
    assert s.procs["frontend"].poll() is None and s.pid("frontend") == pid
    _served(s)


def test_root_only_keys_and_new_listeners_after_dropping_root():
    import pwd
    import socket
    if os.geteuid() != 0:
        raise harness.Skip("needs root: the frontend must start as root to drop to a user")
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        raise harness.Skip("no user nobody")
    _need_echo()
    b = binary(backend_opts={"socket_mode": "0666"})
    b.s.sections["frontend"]["user"] = "nobody"
    keys = _root_only_keys(b.s)
    b.s.write_config()
    os.chmod(b.s.tmp, 0o755)  # the configuration is read again as nobody
    os.chmod(b.s.config_path, 0o644)
    with b as (s, _):
        pid = s.pid("frontend")
        loop = asyncio.new_event_loop()
        wss = loop.run_until_complete(_open(s, True))
        loop.run_until_complete(_echo(wss, "before"))
        relay, head = fu.hold_relay(s.https_port, tls=True)
        assert b" 200 " in head, head
        # 1. Keys nobody can read: the kept key process checks them.
        s.signal("frontend", signal.SIGUSR2)
        fu.wait_log(s.frontend_log, r"upgrade: pid %d, generation 2" % pid)
        assert s.procs["frontend"].poll() is None and s.pid("frontend") == pid
        loop.run_until_complete(_echo(wss, "after"))
        assert b" 200 " in fu.ask(relay), "the TLS relay did not survive"
        _served(s)  # new handshakes, signed by the kept key process
        good = [dict(v) for v in s.vhosts]
        # 2. A key that does not match its certificate.
        s.vhosts[0]["key"] = os.path.join(keys, os.path.basename(good[1]["key"]))
        s.write_config()
        s.signal("frontend", signal.SIGUSR2)
        _refused(s, pid, r"upgrade: vhost 'localhost': key %s does not match certificate %s" %
                 (re.escape(s.vhosts[0]["key"]), re.escape(s.vhosts[0]["cert"])), 1)
        # 3. A key that is not there.
        s.vhosts[0]["key"] = os.path.join(keys, "gone.key")
        s.write_config()
        s.signal("frontend", signal.SIGUSR2)
        _refused(s, pid, r"upgrade: vhost 'localhost': .*%s" % re.escape(s.vhosts[0]["key"]), 2)
        s.vhosts[0].update(good[0])
        # 4. A port below 1024: the master that dropped root cannot bind it.
        services = s.sections["frontend"]["services"]
        low = _privileged_port()
        services.append({"port": low, "bind": ["127.0.0.1"], "tls": False})
        s.write_config()
        s.signal("frontend", signal.SIGUSR2)
        _refused(s, pid, r"upgrade: the new configuration listens on 127\.0\.0\.1 port %d, "
                 r"which this master cannot bind: .*Permission denied "
                 r"\(needs root or CAP_NET_BIND_SERVICE\)" % low, 3)
        assert not harness.can_connect(("127.0.0.1", low))
        assert "generation 3" not in harness.read_file(s.frontend_log)
        # 5. An unprivileged new port: bound before the execve, it serves.
        high = harness.free_port()
        services[-1] = {"port": high, "bind": ["127.0.0.1"], "tls": False}
        s.write_config()
        s.signal("frontend", signal.SIGUSR2)
        fu.wait_log(s.frontend_log, r"upgrade: pid %d, generation 3" % pid)
        assert s.procs["frontend"].poll() is None and s.pid("frontend") == pid
        with socket.create_connection(("127.0.0.1", high), timeout=5) as c:
            assert b" 200 " in fu.ask(c)
        loop.run_until_complete(_echo(wss, "again"))
        assert b" 200 " in fu.ask(relay)
        relay.close()
        _served(s)
        loop.run_until_complete(wss.close())
        loop.close()
        # Children kept by the first upgrade were passed on by the second:
        # their exits are counted as theirs, and the stop ends on time.
        assert s.stop("frontend") == 0
        assert "still busy" not in harness.read_file(s.frontend_log)


if __name__ == "__main__":
    harness.main(globals())
