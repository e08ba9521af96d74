# SPDX-License-Identifier: BSD-2-Clause
"""Starts the real Bactrian daemons for integration tests.

A test builds a config with the settings it needs, starts the backend and/or
frontend with it on free loopback ports, talks to them with real clients, and
the harness stops everything (even when the test fails).

    import harness
    with harness.Stack(frontend=True, modules=[{"module": "static", "path": "/",
                                                "root": harness.SRCDIR + "/www"}]) as s:
        out = harness.curl(s.url("/"))

Run a file of tests with harness.main(globals()): every function named test_*
runs in order; the exit status is 0 when all pass, 1 when any fails, and 77
(Automake's SKIP) when a test raises harness.Skip.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

BUILDDIR = os.environ.get("abs_top_builddir") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
SRCDIR = os.environ.get("abs_top_srcdir") or BUILDDIR
BACKEND = os.path.join(BUILDDIR, "backend", "bactrian-backend")
FRONTEND = os.path.join(BUILDDIR, "frontend", "bactrian-frontend")
MODULE_DIR = os.path.join(BUILDDIR, "backend", "modules", ".libs")
CERTS = os.path.join(BUILDDIR, "run", "certs")
# Sanitizer builds are slower; give every wait a generous upper bound.
TIMEOUT = float(os.environ.get("BACTRIAN_TEST_TIMEOUT", "20"))


# Lines AddressSanitizer, LeakSanitizer and UBSan print when they find something.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


class Skip(Exception):
    """Raise to report the test as skipped (exit 77) with a reason."""


def free_port(family=socket.AF_INET):
    """A port that was free a moment ago on loopback."""
    host = "127.0.0.1" if family == socket.AF_INET else "::1"
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def to_libconfig(value, indent=0):
    """Renders Python values as libconfig text: dict = group, list of dicts =
    list, other list = array."""
    pad = "    " * indent
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        inner = "".join("%s    %s = %s;\n" % (pad, k, to_libconfig(v, indent + 1))
                        for k, v in value.items())
        return "{\n" + inner + pad + "}"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, dict) for v in value):
            items = (",\n" + pad + "    ").join(to_libconfig(v, indent + 1) for v in value)
            return "(\n" + pad + "    " + items + "\n" + pad + ")"
        return "[ " + ", ".join(to_libconfig(v, indent) for v in value) + " ]"
    raise TypeError("cannot render %r" % (value,))


def render_config(sections):
    return "".join("%s = %s;\n" % (k, to_libconfig(v)) for k, v in sections.items())


def wait_for(predicate, what, timeout=TIMEOUT, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError("%s: process exited with %s before %s\n%s" % (
                proc.args[0], proc.returncode, what, read_file(log) if log else ""))
        time.sleep(0.02)
    raise AssertionError("timed out waiting for %s\n%s" % (what, read_file(log) if log else ""))


def read_file(path):
    try:
        with open(path, "r", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def need(path):
    """Skips the test when a file it needs (a module, a test binary) is not built."""
    if not os.path.exists(path):
        raise Skip("%s is not built" % path)


def log_count(path, pattern):
    """How many times pattern matches in the file."""
    return len(re.findall(pattern, read_file(path)))


def wait_log(path, pattern, count=1, what=None, timeout=TIMEOUT):
    """Waits until pattern matches count times in the file (the log is shown
    on failure)."""
    wait_for(lambda: log_count(path, pattern) >= count, what or pattern, timeout=timeout, log=path)


def children(pid, live=False):
    """Pids of pid's children, sorted, from /proc (zombies too unless live)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read().rsplit(")", 1)[1].split()
                if int(st[1]) == pid and not (live and st[0] == "Z"):
                    out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return sorted(out)


async def reload_until_old_gone(stack, within, what):
    """HUPs the stack's backend, waits for its "reloaded" line, then fails
    with what unless every worker it had before is gone within seconds (an
    asyncio caller's sessions keep running meanwhile)."""
    import asyncio
    master = stack.pid("backend")
    n = log_count(stack.backend_log, r"reloaded .*: generation")
    old = set(children(master))
    stack.signal("backend", signal.SIGHUP)
    await asyncio.get_running_loop().run_in_executor(
        None, wait_log, stack.backend_log, r"reloaded .*: generation", n + 1, "the reload")
    t0 = time.monotonic()
    while old & set(children(master)):
        assert time.monotonic() - t0 < within, what
        await asyncio.sleep(0.05)


def can_connect(addr, family=socket.AF_INET):
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            s.connect(addr)
        return True
    except OSError:
        return False


DEFAULT_MODULES = [
    {"module": "static", "path": "/", "root": os.path.join(SRCDIR, "www")},
]


class Stack:
    """The daemons under test with their generated config.

    backend: start bactrian-backend (Unix socket; also a TCP listener when
             backend_tcp is true)
    frontend: start bactrian-frontend with an HTTP and an HTTPS service on
             127.0.0.1 (and ::1 when ipv6 is true), vhosts localhost (default)
             and alt.localhost
    modules: the backend.modules list
    backend_opts / frontend_opts / tls_opts: extra settings merged in
    vhosts: replaces the default vhost list
    """

    def __init__(self, backend=True, frontend=False, modules=None, workers=1,
                 backend_tcp=True, ipv6=False, backend_opts=None, frontend_opts=None,
                 tls_opts=None, vhosts=None, extra_sections=None):
        self.tmp = tempfile.mkdtemp(prefix="bactrian-it-")
        self.socket = os.path.join(self.tmp, "backend.sock")
        # Distinct ports: the kernel may hand the same free port out twice.
        ports = []
        while len(ports) < 3:
            p = free_port()
            if p not in ports:
                ports.append(p)
        self.backend_port = ports[0] if backend_tcp else None
        self.http_port, self.https_port = ports[1], ports[2]
        self.backend_log = os.path.join(self.tmp, "backend.log")
        self.frontend_log = os.path.join(self.tmp, "frontend.log")
        self.access_log = os.path.join(self.tmp, "access.log")
        self.config_path = os.path.join(self.tmp, "bactrian.conf")
        self.want_backend, self.want_frontend = backend, frontend
        self.procs = {}
        be = {
            "socket": self.socket,
            "pid_file": os.path.join(self.tmp, "backend.pid"),
            "error_log": "stderr",
            "access_log": self.access_log,
            "log_level": "debug",
            "workers": workers,
            "module_dir": MODULE_DIR,
            "modules": modules if modules is not None else DEFAULT_MODULES,
        }
        if backend_tcp:
            be["listen"] = [{"address": "127.0.0.1", "port": self.backend_port,
                             "proxy_protocol": "optional", "proxy_from": ["127.0.0.1"]}]
        be.update(backend_opts or {})
        binds = ["127.0.0.1"] + (["::1"] if ipv6 else [])
        fe = {
            "pid_file": os.path.join(self.tmp, "frontend.pid"),
            "error_log": "stderr",
            "log_level": "debug",
            "min_spare": 2,
            "max_spare": 4,
            "max_children": 64,
            "services": [
                {"port": self.http_port, "bind": binds, "tls": False},
                {"port": self.https_port, "bind": binds, "tls": True},
            ],
            "tls": dict({"default_vhost": "localhost"}, **(tls_opts or {})),
        }
        fe.update(frontend_opts or {})
        self.vhosts = vhosts if vhosts is not None else [
            {"name": "localhost", "cert": os.path.join(CERTS, "localhost.crt"),
             "key": os.path.join(CERTS, "localhost.key")},
            {"name": "alt.localhost", "cert": os.path.join(CERTS, "alt.localhost.crt"),
             "key": os.path.join(CERTS, "alt.localhost.key")},
        ]
        self.sections = {"backend": be, "vhosts": self.vhosts}
        if frontend:
            self.sections["frontend"] = fe
        self.sections.update(extra_sections or {})
        self.write_config()

    # -- config --------------------------------------------------------------
    def write_config(self, sections=None, path=None):
        """(Re)writes the config file, e.g. before a reload test sends HUP."""
        with open(path or self.config_path, "w") as f:
            f.write(render_config(sections or self.sections))

    # -- processes -----------------------------------------------------------
    def start_backend(self):
        log = open(self.backend_log, "ab")
        p = subprocess.Popen([BACKEND, "-f", "-c", self.config_path], stdout=log,
                             stderr=subprocess.STDOUT)
        self.procs["backend"] = p
        wait_for(lambda: os.path.exists(self.socket) and can_connect_unix(self.socket),
                 "backend socket %s" % self.socket, proc=p, log=self.backend_log)
        if self.backend_port:
            wait_for(lambda: can_connect(("127.0.0.1", self.backend_port)),
                     "backend port %d" % self.backend_port, proc=p, log=self.backend_log)
        return p

    def start_frontend(self):
        log = open(self.frontend_log, "ab")
        p = subprocess.Popen([FRONTEND, "-f", "-c", self.config_path], stdout=log,
                             stderr=subprocess.STDOUT)
        self.procs["frontend"] = p
        wait_for(lambda: can_connect(("127.0.0.1", self.http_port)) and
                 can_connect(("127.0.0.1", self.https_port)),
                 "frontend ports %d/%d" % (self.http_port, self.https_port), proc=p,
                 log=self.frontend_log)
        return p

    def stop(self, name, sig=signal.SIGTERM, timeout=TIMEOUT):
        """Stops one daemon and returns its exit status (killing it after timeout)."""
        p = self.procs.pop(name, None)
        if p is None or p.poll() is not None:
            return None if p is None else p.returncode
        p.send_signal(sig)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise AssertionError("%s did not stop within %ss after %s" % (name, timeout, sig))

    def signal(self, name, sig):
        self.procs[name].send_signal(sig)

    def pid(self, name):
        return self.procs[name].pid

    def __enter__(self):
        try:
            if self.want_backend:
                self.start_backend()
            if self.want_frontend:
                self.start_frontend()
        except BaseException:
            self.close()
            raise
        return self

    def close(self):
        for name in ("frontend", "backend"):
            try:
                self.stop(name)
            except AssertionError as e:
                print("warning: %s" % e)
        # Leftover children (a test's own kill -9 of a master) must not outlive us.
        subprocess.run(["pkill", "-KILL", "-f", self.config_path], check=False)
        reports = self.sanitizer_reports()
        if os.environ.get("BACTRIAN_KEEP_TMP") or reports:
            print("kept", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if reports:
            # In an --enable-asan build a daemon (or one of its children) that
            # hits a memory error or UB logs it and dies; the client may never
            # notice, so the test must.
            raise AssertionError("sanitizer report in the daemons' logs:\n" + reports)

    def sanitizer_reports(self):
        found = []
        for path in (self.backend_log, self.frontend_log):
            text = read_file(path)
            for marker in SANITIZER_MARKERS:
                at = text.find(marker)
                if at != -1:
                    found.append("%s:\n%s" % (path, text[max(0, at - 200):at + 3000]))
                    break
        return "\n".join(found)

    def __exit__(self, *exc):
        if exc[0] is not None:
            sys.stdout.write("--- backend log ---\n%s--- frontend log ---\n%s" % (
                read_file(self.backend_log)[-4000:], read_file(self.frontend_log)[-4000:]))
        try:
            self.close()
        except AssertionError:
            if exc[0] is None:
                raise
            traceback.print_exc(file=sys.stdout)  # the test's own failure comes first
        return False

    # -- addresses -------------------------------------------------------------
    def url(self, path="/", tls=False, host="localhost"):
        if tls:
            return "https://%s:%d%s" % (host, self.https_port, path)
        return "http://%s:%d%s" % (host, self.http_port, path)

    def backend_url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.backend_port, path)


def can_connect_unix(path):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            s.connect(path)
        return True
    except OSError:
        return False


def curl(*args, check=True, timeout=TIMEOUT):
    """Runs curl with the given arguments (plus -sS and name resolution for
    *.localhost to 127.0.0.1); returns CompletedProcess with text output."""
    cmd = ["curl", "-sS", "--max-time", str(timeout)] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 5)
    if check and r.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr))
    return r


def raw_exchange(addr, data, family=socket.AF_INET, timeout=5.0, read_until_close=True):
    """Sends bytes on a fresh TCP (or Unix, with family=AF_UNIX) connection and
    returns everything read until the server closes or timeout."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(addr)
        if data:
            s.sendall(data)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
            if not read_until_close:
                break
        return b"".join(chunks)


def main(tests):
    """Runs every test_* function from a module's globals()."""
    names = [n for n in tests if n.startswith("test_") and callable(tests[n])]
    only = os.environ.get("TEST_ONLY")
    failed = skipped = 0
    for name in names:
        if only and only not in name:
            continue
        t0 = time.monotonic()
        try:
            tests[name]()
            print("ok - %s (%.2fs)" % (name, time.monotonic() - t0))
        except Skip as e:
            skipped += 1
            print("skip - %s: %s" % (name, e))
        except Exception:
            failed += 1
            print("FAIL - %s" % name)
            traceback.print_exc(file=sys.stdout)
        sys.stdout.flush()
    if failed:
        sys.exit(1)
    if skipped and skipped == len(names):
        sys.exit(77)
    sys.exit(0)
