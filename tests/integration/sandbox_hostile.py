#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The hostile-child test (issue 10): attacker actions run inside a real,
confined frontend child (the test build tests/hostile/bactrian-frontend-hostile,
same objects as the daemon plus a hook) and a real backend worker (the test
module tests/modules/hostile.so). Each action must fail, either refused by the
kernel ("denied ERRNO") or trapped by seccomp (the process dies by SIGSYS and
its master logs "killed by seccomp: system call NAME"), and the rest of the
server keeps serving: the master lives, the attacked sibling lives, other
clients get their pages.

The frontend child also attacks what it shares with the master
(frontend/shm.h, slottab.h): it writes another child's slot, the
scoreboard header, the session ticket keys (through the read-only view and
where the master's writable mapping was) and dies by SIGSEGV; mprotect makes
no view writable (EACCES) and mremap does not grow its own slot over its
neighbours (EPERM, mseal); it opens the scoreboard file for writing (trapped,
or EACCES by Landlock with the log's open flags); it sends forged lean
hand-offs (naming another slot, slot 0xffffffff, its own slot while not
relaying) and the master logs "hand-off from pid N refused: ..." and serves
on; it takes the per-IP admission lock and keeps it, and the master kills it
within about a second (test_per_ip_lock_held_forever_is_broken).
The worker sends pub/sub text that is not UTF-8 to the other workers with
its own, real credentials: the subscribers get nothing and stay open
(test_worker_pubsub_text_checked); and it cannot connect to the backend's
Unix socket (only datagram sockets). Neither process reaches an abstract
Unix socket of the test's (Landlock scope). Datagrams from processes that are not
workers (the same uid, and nobody) are tested in ws_security.py
(test_pubsub_foreign_senders_refused).

Adding an action: tests/hostile/actions.h (or child_actions in fe_hook.c for
one that needs the child's scoreboard, slot or hand-off socket), then a line
in FE_ACTIONS and BE_ACTIONS below (what the frontend child and the worker
must see)."""
import ctypes
import errno
import json
import os
import re
import shutil
import socket
import tempfile
import time

import harness

HOSTILE_FE = os.path.join(harness.BUILDDIR, "tests", "hostile", "bactrian-frontend-hostile")
TEST_MODS = os.path.join(harness.BUILDDIR, "tests", "modules", ".libs")

# (action, argument, expected): argument "SIB" is a busy sibling's pid, "MASTER"
# the master's, "PORT" a loopback TCP listener of the test's, "SBFILE" the
# scoreboard file. expected is ("trap", system call names), ("denied",) or
# ("denied", errno), ("segv",) (the child dies by SIGSEGV, the master logs
# it), or ("handoff", why): refused, and the master logs the refusal.
FE_ACTIONS = [
    ("mem", "SIB", ("trap", "openat")),
    ("vmread", "SIB", ("trap", "process_vm_readv")),
    ("ptrace", "SIB", ("trap", "ptrace")),
    ("kill", "SIB", ("trap", "kill")),
    ("kill", "MASTER", ("trap", "kill")),
    ("open", "/etc/passwd", ("trap", "openat")),
    ("connect", "PORT", ("denied",)),
    ("exec", "", ("trap", "execve")),
    ("fork", "", ("trap", "clone", "clone3", "fork")),
    ("sbslot", "", ("segv",)),
    ("sbheader", "", ("segv",)),
    ("tickets", "view", ("segv",)),
    ("tickets", "page", ("segv",)),
    ("mprotect", "header", ("denied", errno.EACCES)),
    ("mprotect", "tickets", ("denied", errno.EACCES)),
    ("mremap", "grow", ("denied", errno.EPERM)),
    ("mremap", "move", ("denied", errno.EPERM)),
    ("mremap", "zero", ("denied", errno.EPERM)),
    ("openw", "rw:SBFILE", ("trap", "openat")),
    ("openw", "append:SBFILE", ("denied", errno.EACCES)),
    ("handoff", "other", ("handoff", r"pid \d+ owns slot \d+ but claims slot \d+")),
    ("handoff", "ffffffff", ("handoff", r"pid \d+ owns slot \d+ but claims slot 4294967295")),
    ("handoff", "self", ("handoff", r"slot \d+ is handshake, not relaying")),
    ("unixconnect", "@ABSTRACT_S", ("denied", errno.EPERM)),
    ("unixsend", "@ABSTRACT_D", ("denied", errno.EACCES)),
]
# Workers may open files for reading (modules' files): Landlock refuses the
# rest, so those are "denied", not trapped.
BE_ACTIONS = [
    ("mem", "sibling", ("denied",)),
    ("vmread", "sibling", ("trap", "process_vm_readv")),
    ("ptrace", "sibling", ("trap", "ptrace")),
    ("kill", "sibling", ("trap", "kill")),
    ("kill", "MASTER", ("trap", "kill")),
    ("open", "/etc/passwd", ("denied",)),
    ("connect", "PORT", ("denied",)),
    ("exec", "", ("trap", "execve")),
    ("fork", "", ("trap", "clone", "clone3", "fork")),
    ("unixconnect", "BESOCK", ("denied", errno.EACCES)),
    ("unixsend", "@ABSTRACT_D", ("denied", errno.EPERM)),
]


def asan_build():
    with open(os.path.join(harness.BUILDDIR, "config.h")) as f:
        return "#define BX_ASAN 1" in f.read()


# In --enable-asan builds seccomp lets reads through for the sanitizer's
# report (Landlock refuses them but its own files): those are "denied".
if asan_build():
    FE_ACTIONS = [(a, g, ("denied",) if e[0] == "trap" and e[1] == "openat" and a != "openw"
                   else e) for a, g, e in FE_ACTIONS]


def have_landlock():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    # landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) on x86_64
    return libc.syscall(444, None, 0, 1) >= 1


def landlock_abi():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return max(0, libc.syscall(444, None, 0, 1))


# Abstract Unix sockets of the test's, outside every sandbox: a confined
# process must reach neither (Landlock's scope, ABI 6; stream sockets in
# workers and datagram sockets in frontend children are not even made).
ABSTRACT = "bactrian-hostile-%d" % os.getpid()


def abstract_sockets():
    d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    d.bind("\0" + ABSTRACT + "-d")
    d.setblocking(False)
    st = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    st.bind("\0" + ABSTRACT + "-s")
    st.listen(8)
    st.setblocking(False)
    return d, st


def assert_untouched(d, st):
    for sock, what in ((d, "datagram"), (st, "stream")):
        try:
            got = sock.recv(100) if sock is d else sock.accept()
            raise AssertionError("the abstract %s socket was reached: %r" % (what, got))
        except BlockingIOError:
            pass


def with_abstract(arg):
    return arg.replace("@ABSTRACT_D", "@" + ABSTRACT + "-d").replace(
        "@ABSTRACT_S", "@" + ABSTRACT + "-s")


def have_mseal():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc.syscall(462, None, 0, 0) == 0 or ctypes.get_errno() != errno.ENOSYS


# Without mseal (Linux < 6.10) a child can grow its own slot (doc/design.md),
# and without Landlock the log's open flags open any file the uid may write.
if not have_mseal():
    print("note: no mseal in this kernel: the mremap attacks are not tried")
    FE_ACTIONS = [x for x in FE_ACTIONS if x[0] != "mremap"]
if not have_landlock():
    FE_ACTIONS = [x for x in FE_ACTIONS if x[1] != "append:SBFILE"]
if landlock_abi() < 6:
    print("note: Landlock ABI < 6: the abstract socket attacks are not tried")
    FE_ACTIONS = [x for x in FE_ACTIONS if x[1] != "@ABSTRACT_S"]
    BE_ACTIONS = [x for x in BE_ACTIONS if not x[1].startswith("@")]


def children(ppid):
    return harness.children(ppid, live=True)


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def status_field(pid, name):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split()[1]
    return None


def filtered(pid):
    try:
        return status_field(pid, "Seccomp") == "2"
    except OSError:
        return True  # gone meanwhile (replaced): its successor is looked at next time


def wait_log(path, pattern, count, timeout=harness.TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(re.findall(pattern, harness.read_file(path))) >= count:
            return True
        time.sleep(0.05)
    return False


def check_outcome(where, action, answer, expected, log, before):
    """answer: what the attacked process sent back (b"" when it died)."""
    text = answer.decode("utf-8", "replace")
    assert " ok" not in text.split("\n")[0], "%s: %s got through: %r" % (where, action, text)
    if expected[0] == "denied":
        want = "RESULT %s denied" % action + (" %d " % expected[1] if len(expected) > 1 else "")
        assert text.startswith(want), (where, action, text, want)
        return
    if expected[0] in ("segv", "handoff"):
        pat = (r"child \d+ \([^)]*\) killed by signal 11" if expected[0] == "segv"
               else r"hand-off from pid \d+ refused: " + expected[1])
        if expected[0] == "segv":
            assert text == "", (where, action, text)
        else:
            assert text.startswith("RESULT %s denied" % action), (where, action, text)
        assert wait_log(log, pat, before.get(pat, 0) + 1), \
            "%s: %s: no master log line matching %r:\n%s" % (where, action, pat,
                                                              harness.read_file(log)[-3000:])
        before[pat] = before.get(pat, 0) + 1
        return
    names = "|".join(expected[1:])
    pat = r"killed by seccomp: system call (%s) \(\d+\)" % names
    assert text == "" or "denied" in text, (where, action, text)
    assert wait_log(log, pat, before.get(names, 0) + 1), \
        "%s: %s: no master log line matching %r:\n%s" % (where, action, pat,
                                                          harness.read_file(log)[-3000:])
    before[names] = before.get(names, 0) + 1


def fe_attack(s, action, arg):
    return harness.raw_exchange(("127.0.0.1", s.http_port),
                                ("HOSTILE %s %s\r\n\r\n" % (action, arg)).encode(), timeout=5)


def test_frontend_child_is_confined_and_attacks_fail():
    if not os.path.exists(HOSTILE_FE):
        raise AssertionError("tests/hostile/bactrian-frontend-hostile not built")
    harness.FRONTEND, saved = HOSTILE_FE, harness.FRONTEND
    target = socket.socket()
    target.bind(("127.0.0.1", 0))
    target.listen(8)
    sbdir = tempfile.mkdtemp(prefix="bactrian-sb-")
    sbfile = os.path.join(sbdir, "scoreboard")
    ab = abstract_sockets()
    try:
        with harness.Stack(frontend=True, modules=[{"module": "hello", "path": "/"}],
                           backend_tcp=False, frontend_opts={"scoreboard_file": sbfile}) as s:
            master = s.pid("frontend")
            harness.wait_for(lambda: len(children(master)) >= 2 and
                             all(filtered(pid) for pid in children(master)),
                             "two idle children, each filtered")
            for pid in children(master):
                assert status_field(pid, "NoNewPrivs") == "1", pid
            # A busy sibling: a client whose child holds it and says its pid.
            hold = socket.create_connection(("127.0.0.1", s.http_port))
            hold.sendall(b"HOSTILE hold\r\n\r\n")
            m = re.match(rb"RESULT hold ok (\d+)", hold.recv(100))
            assert m, "the hold client got no pid"
            sib = int(m.group(1))
            seen = {}
            port = str(target.getsockname()[1])
            for action, arg, expected in FE_ACTIONS:
                a = {"SIB": str(sib), "MASTER": str(master), "PORT": port}.get(arg, arg)
                a = with_abstract(a.replace("SBFILE", sbfile))
                answer = fe_attack(s, action, a)
                check_outcome("frontend", action, answer, expected, s.frontend_log, seen)
                assert s.procs["frontend"].poll() is None, "the master died"
                assert alive(sib), "the sibling died after %s" % action
                r = harness.curl("-w", "\n%{http_code}", s.url("/"))
                assert r.stdout.endswith("\n200"), (action, r.stdout)
            target.settimeout(0.2)
            try:
                target.accept()
                raise AssertionError("a child connected to the test's TCP listener")
            except socket.timeout:
                pass
            hold.close()
            assert_untouched(*ab)
    finally:
        harness.FRONTEND = saved
        target.close()
        shutil.rmtree(sbdir, ignore_errors=True)
        for x in ab:
            x.close()


def test_frontend_child_with_tcp_backends_connects_only_to_them():
    """With a TCP backend the child may make TCP sockets (seccomp), and
    Landlock lets it connect to the backends' ports only."""
    if not os.path.exists(HOSTILE_FE):
        raise AssertionError("tests/hostile/bactrian-frontend-hostile not built")
    if landlock_abi() < 4:
        raise harness.Skip("Landlock ABI %d: no TCP port rules before ABI 4 (Linux 6.7); "
                           "the child could connect to any port" % landlock_abi())
    harness.FRONTEND, saved = HOSTILE_FE, harness.FRONTEND
    target = socket.socket()
    target.bind(("127.0.0.1", 0))
    target.listen(8)
    try:
        s = harness.Stack(frontend=True, modules=[{"module": "hello", "path": "/"}])
        for v in s.vhosts:
            v["backends"] = ["tcp:127.0.0.1:%d" % s.backend_port]
        s.write_config()
        with s:
            r = harness.curl("-w", "\n%{http_code}", s.url("/"))
            assert r.stdout.endswith("\n200"), r.stdout
            answer = fe_attack(s, "connect", str(target.getsockname()[1]))
            check_outcome("frontend", "connect", answer, ("denied", errno.EACCES),
                          s.frontend_log, {})
            target.settimeout(0.2)
            try:
                target.accept()
                raise AssertionError("a child connected to the test's TCP listener")
            except socket.timeout:
                pass
    finally:
        harness.FRONTEND = saved
        target.close()


def curl_code(s):
    r = harness.curl("-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3",
                     s.url("/"), check=False)
    return r.stdout.strip()


def test_per_ip_lock_held_forever_is_broken():
    """A taken-over child that takes the per-IP admission lock and keeps it
    would make every other child answer its per-IP-limited clients with a 503
    (after a 200 ms wait): the master kills a child that holds the lock for
    over a second, and those clients are served again."""
    harness.FRONTEND, saved = HOSTILE_FE, harness.FRONTEND
    try:
        with harness.Stack(frontend=True, modules=[{"module": "hello", "path": "/"}],
                           backend_tcp=False, frontend_opts={"per_ip_max": 8}) as s:
            assert curl_code(s) == "200"
            bad = socket.create_connection(("127.0.0.1", s.http_port))
            bad.settimeout(5)
            bad.sendall(b"HOSTILE iplock\r\n\r\n")
            m = re.match(rb"RESULT iplock ok held by (\d+)", bad.recv(100))
            assert m, "the hostile child did not take the lock"
            holder = int(m.group(1))
            t0 = time.monotonic()
            codes = []
            while time.monotonic() - t0 < 8:
                codes.append(curl_code(s))
                if codes[-1] == "200":
                    break
            took = time.monotonic() - t0
            assert codes[0] == "503", "the held lock did not stop anyone: %r" % codes
            assert codes[-1] == "200", "still refused after %.1f s: %r" % (took, codes)
            assert took < 3, "served again only after %.1f s" % took
            print("per-IP-limited clients served again after %.2f s (%d refused)" %
                  (took, len(codes) - 1))
            log = harness.read_file(s.frontend_log)
            assert "the per_ip_max lock is held by pid %d" % holder in log, log[-2000:]
            assert re.search(r"child %d \(slot \d+\) held the per_ip_max lock for over 1000 ms: "
                             r"killed" % holder, log), log[-2000:]
            harness.wait_for(lambda: not alive(holder), "the lock holder's end")
            assert s.procs["frontend"].poll() is None, "the master died"
            for _ in range(5):
                assert curl_code(s) == "200"
            bad.close()
    finally:
        harness.FRONTEND = saved


def test_lean_child_is_confined():
    """A connection idle for a second moves to a lean child (frontend/lean.h):
    that child is confined too, and relays."""
    import fe_util as fu
    with harness.Stack(frontend=True, modules=[{"module": "hello", "path": "/"}]) as s:
        c = socket.create_connection(("127.0.0.1", s.http_port))
        c.settimeout(10)
        c.sendall(fu.REQ)
        assert c.recv(4096).startswith(b"HTTP/1.1 200")
        port = c.getsockname()[1]
        first = fu.child_of_client(s.pid("frontend"), port)
        harness.wait_for(lambda: fu.child_of_client(s.pid("frontend"), port) not in
                         (None, first), "the hand-off to a lean child")
        lean = fu.child_of_client(s.pid("frontend"), port)
        assert status_field(lean, "Seccomp") == "2", "lean child %d not filtered" % lean
        assert status_field(lean, "NoNewPrivs") == "1", lean
        c.sendall(fu.REQ)
        assert c.recv(4096).startswith(b"HTTP/1.1 200")
        c.close()


def test_backend_worker_is_confined_and_attacks_fail():
    if not os.path.exists(os.path.join(TEST_MODS, "hostile.so")):
        raise AssertionError("tests/modules/hostile.so not built")
    if not have_landlock():
        raise harness.Skip("no Landlock in this kernel: workers may read any file their "
                           "user can (doc/design.md, confinement)")
    mods = [{"module": "hostile", "path": "/hostile"}]
    target = socket.socket()
    target.bind(("127.0.0.1", 0))
    target.listen(8)
    # Every trapped attack kills the worker inside the module's handler: with
    # the crash back-off (module_crash_limit) the mount would answer 503 after
    # the third; this test wants every attack to reach a fresh worker.
    with harness.Stack(modules=mods, workers=3,
                       backend_opts={"module_dir": TEST_MODS, "module_crash_limit": 0}) as s:
        master = s.pid("backend")
        # A worker confines itself once its modules are ready: wait for that,
        # bounded, rather than look at the moment it exists.
        harness.wait_for(lambda: len(children(master)) >= 3 and
                         all(filtered(pid) for pid in children(master)),
                         "three workers, each filtered")
        seen = {}
        port = str(target.getsockname()[1])
        ab = abstract_sockets()
        for action, arg, expected in BE_ACTIONS:
            a = {"MASTER": str(master), "PORT": port, "BESOCK": s.socket}.get(arg, arg)
            a = with_abstract(a)
            r = harness.curl(s.backend_url("/hostile?do=%s&arg=%s" % (action, a)), check=False)
            check_outcome("backend", action, r.stdout.encode(), expected, s.backend_log, seen)
            assert s.procs["backend"].poll() is None, "the master died"
            r = harness.curl(s.backend_url("/hostile?do=none"))
            assert r.stdout.startswith("RESULT none unknown"), r.stdout
        target.close()
        assert_untouched(*ab)
        for x in ab:
            x.close()


def worker_of_client(master, port):
    import fe_util as fu
    return fu.child_of_client(master, port)


def ps_sockets(workers):
    found = []
    with open("/proc/net/unix") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 8 else ""
            if any(re.search(r"/bactrian-ps-[^/]+/%d$" % w, path) for w in workers):
                found.append(path)
    return found


def test_worker_pubsub_text_checked():
    """A taken-over worker is one of the workers, so its pub/sub datagrams
    carry credentials the others accept: text that is not UTF-8 from it
    still reaches no client (and closes nobody); valid text does arrive, so
    it is the check that stopped the other."""
    import ws_conformance as wc
    mods = [{"module": "chat", "path": "/chat", "ping_interval": 0},
            {"module": "hostile", "path": "/hostile"}]
    d = tempfile.mkdtemp(prefix="bactrian-hostile-mods-")
    os.symlink(os.path.join(harness.MODULE_DIR, "chat.so"), os.path.join(d, "chat.so"))
    os.symlink(os.path.join(TEST_MODS, "hostile.so"), os.path.join(d, "hostile.so"))
    try:
        worker_pubsub(mods, d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def worker_pubsub(mods, moddir):
    import ws_conformance as wc
    with harness.Stack(modules=mods, workers=2, backend_opts={"module_dir": moddir}) as s:
        wc.STACK = s
        master = s.pid("backend")
        harness.wait_for(lambda: len(children(master)) >= 2, "two workers")
        ws = wc.WS("/chat")
        assert ws.status == 101, ws.status
        ws.send_frame(1, json.dumps({"type": "join", "room": "h", "nick": "eve"}).encode())
        while json.loads(ws.recv_message()[1])["type"] != "joined":
            pass
        sub = worker_of_client(master, ws.sock.getsockname()[1])
        assert sub, "the subscriber's worker not found"
        socks = ps_sockets(children(master))
        assert len(socks) == 2, socks

        def send(text):
            # From the worker the subscriber is not on (a worker never takes
            # its own datagrams). A worker takes a connection only within its
            # fair share (backend/worker.c): the subscriber's holds the
            # WebSocket, so the next connection goes to the other. Should a
            # try land on it anyway, one kept busy by a sleeping request
            # leaves the next to the other.
            import threading
            for attempt in range(10):
                t = None
                if attempt % 2:
                    t = threading.Thread(target=harness.curl, args=(
                        s.backend_url("/hostile?do=sleep&arg=600"),))
                    t.start()
                    time.sleep(0.2)
                r = harness.curl(s.backend_url("/hostile?do=pssend&room=h&text=%s&arg=%s" %
                                               (text, ",".join(socks))))
                if t:
                    t.join()
                m = re.match(r"RESULT pssend sent (\d+) error \d+ pid (\d+)", r.stdout)
                assert m and m.group(1) == "2", r.stdout
                if int(m.group(2)) != sub:
                    return
            raise AssertionError("no request reached the other worker")
        send("bad")
        ws.sock.settimeout(1.0)
        try:
            d = ws.sock.recv(65536)
            raise AssertionError("the subscriber received %r" % d[:200])
        except socket.timeout:
            pass
        assert wait_log(s.backend_log, r"latest: text that is not UTF-8", 1), \
            harness.read_file(s.backend_log)[-2000:]
        send("good")
        ws.sock.settimeout(5)
        op, data, _ = ws.recv_message()
        assert json.loads(data) == {"type": "message", "text": "from a worker"}, data
        ws.close()


def test_static_symlinks_outside_still_work_confined():
    """static declares its root to the confined worker, or everything when
    symlinks_outside lets links lead out of it (doc/modules.md)."""
    import tempfile
    d = tempfile.mkdtemp(prefix="bactrian-sb-")
    os.makedirs(os.path.join(d, "root"))
    os.makedirs(os.path.join(d, "outside"))
    with open(os.path.join(d, "root", "in.txt"), "w") as f:
        f.write("inside\n")
    with open(os.path.join(d, "outside", "out.txt"), "w") as f:
        f.write("outside\n")
    os.symlink(os.path.join(d, "outside", "out.txt"), os.path.join(d, "root", "link.txt"))
    try:
        for follow, want in ((True, "200"), (False, "403")):
            mods = [{"module": "static", "path": "/", "root": os.path.join(d, "root"),
                     "symlinks_outside": follow}]
            with harness.Stack(modules=mods) as s:
                r = harness.curl("-w", "\n%{http_code}", s.backend_url("/in.txt"))
                assert r.stdout == "inside\n\n200", r.stdout
                r = harness.curl("-w", "\n%{http_code}", s.backend_url("/link.txt"))
                assert r.stdout.endswith(want), (follow, r.stdout)
                assert "killed by seccomp" not in harness.read_file(s.backend_log)
    finally:
        harness.shutil.rmtree(d, ignore_errors=True)


def test_asan_reports_from_confined_processes():
    """Under ASan a memory error in a confined child or worker still gives a
    whole report (the runtime's calls are allowed in ASan builds only)."""
    if not asan_build():
        raise harness.Skip("not an --enable-asan build")
    harness.FRONTEND, saved = HOSTILE_FE, harness.FRONTEND
    mods = [{"module": "hostile", "path": "/hostile"}]
    try:
        with harness.Stack(frontend=True, modules=mods, backend_opts={"module_dir": TEST_MODS},
                           frontend_opts={"min_spare": 1}) as s:
            fe_attack(s, "asan", "")
            harness.curl(s.backend_url("/hostile?do=asan"), check=False)
            # Module frames stay unsymbolized: modules are loaded from a
            # temporary copy (backend/modset.c) the worker may not read.
            for log, where in ((s.frontend_log, r".*actions\.c:\d+ in act_asan"),
                               (s.backend_log, "")):
                assert wait_log(log, r"SUMMARY: AddressSanitizer: heap-buffer-overflow" + where,
                                1), harness.read_file(log)
                assert "killed by seccomp" not in harness.read_file(log), log
                open(log, "w").close()  # the report was expected: not one for the harness
    finally:
        harness.FRONTEND = saved


def test_root_without_user_warns():
    if os.geteuid() != 0:
        raise harness.Skip("needs root: the warning is for a daemon started as root")
    with harness.Stack(frontend=True, modules=[{"module": "hello", "path": "/"}]) as s:
        assert wait_log(s.frontend_log, r"running as root: frontend.user is not set", 1)
        assert wait_log(s.backend_log, r"running as root: backend.user is not set", 1)
        for prog in (harness.FRONTEND, harness.BACKEND):
            r = harness.subprocess.run([prog, "-t", "-c", s.config_path], capture_output=True,
                                       text=True)
            assert r.returncode == 0, r.stderr
            assert "running as root" in r.stderr, (prog, r.stderr)


if __name__ == "__main__":
    harness.main(globals())
