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
  running on, and goes through once the directory is writable.

The frontend runs from a copy of its binary in the test's directory, so
that the test can replace or remove it.
"""
import asyncio
import os
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
    # The -t check of the upgrade runs as frontend.user and reads the keys
    # (the new image itself takes them from the key process it keeps): an
    # install whose keys only root reads cannot upgrade yet; copies here.
    certs = os.path.join(s.tmp, "certs")
    os.mkdir(certs, 0o755)
    for v in s.vhosts:
        for k in ("cert", "key"):
            v[k] = shutil.copy(v[k], certs)
            os.chmod(v[k], 0o644)
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


if __name__ == "__main__":
    harness.main(globals())
