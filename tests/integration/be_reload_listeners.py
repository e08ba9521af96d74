# SPDX-License-Identifier: BSD-2-Clause
"""Backend listeners across reloads (common/listeners.c, shared with the
frontend): a listener is kept by its place, whatever the order of the new
configuration, and a reload that fails half way leaves the running
generation's listeners exactly as they were.

Regression: the backend used to move the reused descriptors into the new
generation and give them back on failure matching by kind only, so a reload
that reordered two TCP listeners and then failed (a third port busy) swapped
their descriptors: the next respawned worker applied one port's PROXY policy
to the other port.
"""
import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

GET = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


def served(port):
    """True when a plain GET (no PROXY header) on port gets a 200."""
    try:
        return harness.raw_exchange(("127.0.0.1", port), GET, timeout=3).startswith(
            b"HTTP/1.1 200")
    except OSError:
        return False


def workers(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except OSError:
                pass
    return out


def listeners(strict, plain, extra=None):
    ls = [{"address": "127.0.0.1", "port": strict, "proxy_protocol": "required",
           "proxy_from": ["127.0.0.1"]},
          {"address": "127.0.0.1", "port": plain}]
    return ls + (extra or [])


def test_failed_reordered_reload_keeps_each_port_its_socket():
    strict, plain, busy = 0, 0, 0
    while len({strict, plain, busy}) < 3:
        strict, plain, busy = (harness.free_port() for _ in range(3))
    with harness.Stack(workers=1, backend_tcp=False,
                       backend_opts={"listen": listeners(strict, plain)}) as st:
        harness.wait_for(lambda: served(plain), "port %d served" % plain, log=st.backend_log)
        assert not served(strict), "a GET without PROXY header served on a 'required' port"
        master = st.pid("backend")
        # The new configuration lists the same two places the other way round,
        # then a port someone else holds: the reload fails after both were reused.
        holder = socket.socket()
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", busy))
        holder.listen(1)
        try:
            ls = listeners(strict, plain, [{"address": "127.0.0.1", "port": busy}])
            st.sections["backend"]["listen"] = [ls[1], ls[0], ls[2]]
            st.write_config()
            st.signal("backend", signal.SIGHUP)
            harness.wait_for(lambda: "reload failed" in harness.read_file(st.backend_log),
                             "the reload to fail", log=st.backend_log)
        finally:
            holder.close()
        # A worker forked now runs with the running generation's listeners.
        old = workers(master)
        assert len(old) == 1, old
        os.kill(old[0], signal.SIGKILL)
        harness.wait_for(lambda: workers(master) and workers(master) != old,
                         "a respawned worker", log=st.backend_log)
        harness.wait_for(lambda: served(plain), "port %d served by the respawned worker" % plain,
                         log=st.backend_log)
        assert not served(strict), ("port %d (proxy_protocol required) served a GET without "
                                    "PROXY header: its descriptor was swapped" % strict)
        # And a good reload after that still finds each socket by its place.
        st.sections["backend"]["listen"] = [ls[1], ls[0]]
        st.write_config()
        st.signal("backend", signal.SIGHUP)
        harness.wait_for(lambda: len(re.findall(r"reloaded .*: generation",
                                                harness.read_file(st.backend_log))) >= 1,
                         "the second reload", log=st.backend_log)
        deadline = time.monotonic() + 10
        while not served(plain) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert served(plain)
        assert not served(strict)


if __name__ == "__main__":
    harness.main(globals())
