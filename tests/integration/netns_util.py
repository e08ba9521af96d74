# SPDX-License-Identifier: BSD-2-Clause
"""Hosts made of network namespaces, for tests that need several machines
(multihost.py).

Every host is a namespace with its own loopback and one interface, eth0,
with its own address; the other end of each eth0 is a port of a bridge in a
namespace of its own (the "switch"). Nothing is added to the namespace the
test runs in: concurrent runs do not see each other, and the addresses
(10.77.0.0/24 by default) collide with nothing outside.

    net = netns_util.Net({"fe1": "10.77.0.11", "client": "10.77.0.100"})
    try:
        net.up()
        p = net.popen("fe1", [...], log_path)
        with net.inside("client"):      # this thread's sockets are the client's
            ...
    finally:
        net.down()                      # kills every process of every host

Names are bx<pid>-<host>, so a run that was killed (SIGKILL: no finally)
leaves namespaces another run recognises and removes: reap_stale().

Run as a script: `netns_util.py cleanup` removes what dead runs left.
Needs root and iproute2's `ip` with netns support; available() says why not.
"""
import ctypes
import os
import re
import signal
import subprocess
import sys
import time

IP = "/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else "ip"
CLONE_NEWNET = 0x40000000
PREFIX_RX = re.compile(r"^bx(\d+)-[a-z0-9]+$")


def _ip(*args, check=True):
    r = subprocess.run([IP] + list(args), capture_output=True, text=True, timeout=10)
    if check and r.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def _namespaces():
    r = _ip("netns", "list", check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def available():
    """None when this process can make namespaces, else the reason."""
    if os.geteuid() != 0:
        return "needs root (network namespaces and veth pairs)"
    probe = "bx%d-probe" % os.getpid()
    try:
        r = _ip("netns", "add", probe, check=False)
    except (OSError, subprocess.SubprocessError) as e:
        return "no usable `ip` command (iproute2): %s" % e
    if r.returncode != 0:
        return "`ip netns add` fails here: %s" % r.stderr.strip()
    try:
        r = _ip("-n", probe, "link", "add", "br0", "type", "bridge", check=False)
        if r.returncode != 0:
            return "cannot make a bridge in a namespace: %s" % r.stderr.strip()
        r = _ip("netns", "exec", probe, "/bin/true", check=False)
        if r.returncode != 0:  # e.g. a container that may not remount /sys
            return "`ip netns exec` fails here: %s" % r.stderr.strip()
    finally:
        _ip("netns", "del", probe, check=False)
    return None


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _kill_namespace(ns):
    """SIGKILLs every process in ns (by pid, as the kernel lists them) and
    deletes it."""
    for _ in range(50):
        pids = [int(p) for p in _ip("netns", "pids", ns, check=False).stdout.split()]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    _ip("netns", "del", ns, check=False)


def reap_stale():
    """Removes the namespaces of runs whose process is gone."""
    for ns in _namespaces():
        m = PREFIX_RX.match(ns)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            _kill_namespace(ns)


class Net:
    def __init__(self, hosts, prefix_len=24):
        self.hosts = dict(hosts)
        self.prefix_len = prefix_len
        self.tag = "bx%d" % os.getpid()
        self.made = []
        self._libc = ctypes.CDLL(None, use_errno=True)

    def ns(self, host):
        return "%s-%s" % (self.tag, host)

    def up(self):
        """Makes the switch and every host; on failure, removes what it made."""
        reap_stale()
        try:
            sw = self.ns("sw")
            _ip("netns", "add", sw)
            self.made.append(sw)
            _ip("-n", sw, "link", "add", "br0", "type", "bridge")
            _ip("-n", sw, "link", "set", "br0", "up")
            for host, addr in self.hosts.items():
                self._add_host(host, addr)
        except BaseException:
            self.down()
            raise

    def _add_host(self, host, addr):
        ns, sw = self.ns(host), self.ns("sw")
        port = ("p-" + host)[:15]
        _ip("netns", "add", ns)
        self.made.append(ns)
        # Made inside the host: no name is ever taken in our own namespace.
        _ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", sw)
        _ip("-n", sw, "link", "set", port, "master", "br0", "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", ns, "addr", "add", "%s/%d" % (addr, self.prefix_len), "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")

    def down(self):
        for ns in reversed(self.made):
            _kill_namespace(ns)
        self.made = []

    def argv(self, host, argv):
        return [IP, "netns", "exec", self.ns(host)] + list(argv)

    def popen(self, host, argv, log_path, env=None):
        log = open(log_path, "ab")
        try:
            return subprocess.Popen(self.argv(host, argv), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env)
        finally:
            log.close()

    def run(self, host, argv, timeout=20, **kw):
        return subprocess.run(self.argv(host, argv), capture_output=True, timeout=timeout, **kw)

    def pids(self, host):
        r = _ip("netns", "pids", self.ns(host), check=False)
        return [int(p) for p in r.stdout.split()]

    def kill_host(self, host, sig=signal.SIGKILL):
        """Every process of the host, as the kernel lists them: a host that
        crashed. Returns the pids signalled."""
        pids = self.pids(host)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        return pids

    def set_link(self, host, up):
        _ip("-n", self.ns(host), "link", "set", "eth0", "up" if up else "down")

    def inside(self, host):
        return _Inside(self, host)


class _Inside:
    """Moves the calling thread into a host's namespace and back: sockets it
    opens and processes it starts are that host's."""

    def __init__(self, net, host):
        self.net, self.host, self.home = net, host, None

    def _setns(self, fd):
        if self.net._libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns: %s" % os.strerror(e))

    def __enter__(self):
        self.home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        fd = os.open("/run/netns/" + self.net.ns(self.host), os.O_RDONLY | os.O_CLOEXEC)
        try:
            self._setns(fd)
        except BaseException:
            os.close(self.home)
            raise
        finally:
            os.close(fd)
        return self

    def __exit__(self, *exc):
        try:
            self._setns(self.home)
        finally:
            os.close(self.home)
        return False


if __name__ == "__main__":
    if sys.argv[1:] == ["cleanup"]:
        reap_stale()
    else:
        sys.exit("usage: netns_util.py cleanup")
