# SPDX-License-Identifier: BSD-2-Clause
"""The master trusts nothing a child can write (issue 10): garbage in every
shared scoreboard field, written from outside through the scoreboard file
(which is a mapping of the same pages the master and children use, so this
stands in for a child that could write them), does not crash the master or
make it act on a slot it does not own. The garbage: a slot count far beyond
the mapping, every slot naming a decoy process as its child, free slots
claiming to be idle children of an old generation. Then a reload (which
retires old idle children), new clients and a stop (which signals every
child): the master keeps serving, never signals the decoy, and stops
cleanly. A build that took pids and the slot count from the shared pages
walked off its mapping or killed the decoy here."""
import mmap
import os
import signal
import struct
import subprocess
import time

import harness
import fe_util as fu

STATE_FREE, STATE_IDLE = 0, 2


def _stack():
    s = fu.stack(frontend=True)
    sb = os.path.join(s.tmp, "frontend.scoreboard")
    s.sections["frontend"]["scoreboard_file"] = sb
    s.write_config()
    return s, sb


_GEOMETRY = {}


def _scribble(sb, decoy):
    """One pass of garbage over the header and every slot; the number of slots."""
    os.chmod(sb, 0o640)  # we own it; the frontend's children cannot do this
    fd = os.open(sb, os.O_RDWR)
    try:
        size = os.fstat(fd).st_size
        m = mmap.mmap(fd, size)
        try:
            # Header: magic, version, header size, slot size (u32), nslots
            # (u64), master pid (i32), boot id, log seq (u32): read once, as
            # the header is garbage after the first pass.
            if sb not in _GEOMETRY:
                _, _, hsize, ssize = struct.unpack_from("=IIII", m)
                _GEOMETRY[sb] = (hsize, ssize, (size - hsize) // ssize)
            hsize, ssize, nslots = _GEOMETRY[sb]
            struct.pack_into("=IIIIQiII", m, 0, 0x42535842, 2, 8, 1, 1 << 40, decoy,
                             0xffffffff, int(time.monotonic() * 1000) & 0xffffffff)
            for i in range(nslots):
                off = hsize + i * ssize
                state, = struct.unpack_from("=i", m, off)
                # Slot: state (int), pid (pid_t), generation (unsigned).
                struct.pack_into("=iI", m, off + 4, decoy, 0xdeadbeef)
                if state == STATE_FREE:
                    struct.pack_into("=i", m, off, STATE_IDLE)
            return nslots
        finally:
            m.close()
    finally:
        os.close(fd)


def test_garbage_in_the_shared_scoreboard():
    s, sb = _stack()
    decoy = subprocess.Popen(["sleep", "300"])
    try:
        with s:
            harness.wait_for(lambda: os.path.exists(sb), "scoreboard file")
            # Busy children of generation 1 that must survive all this.
            kept = fu.hold(s.http_port, data=fu.REQ)
            assert kept.recv(4096).startswith(b"HTTP/1.1 200")
            master = s.pid("frontend")
            assert _scribble(sb, decoy.pid) > 4
            for _ in range(5):
                assert fu.status(fu.http(s)) == "200"
                _scribble(sb, decoy.pid)
            s.signal("frontend", signal.SIGHUP)
            fu.wait_log(s.frontend_log, r"reloaded: generation 2")
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                _scribble(sb, decoy.pid)
                assert fu.status(fu.http(s)) == "200"
                assert fu.status(fu.https(s)) == "200"
            assert decoy.poll() is None, "the master signalled a process it does not own"
            assert s.procs["frontend"].poll() is None, harness.read_file(s.frontend_log)[-2000:]
            # The old busy child still serves its client.
            kept.sendall(fu.REQ)
            assert kept.recv(4096).startswith(b"HTTP/1.1 200")
            kept.close()
            _scribble(sb, decoy.pid)
            rc = s.stop("frontend")
            assert rc == 0, (rc, harness.read_file(s.frontend_log)[-2000:])
            assert decoy.poll() is None, "the stop signalled a process the master does not own"
            assert not fu.children(master)
            log = harness.read_file(s.frontend_log)
            assert "stopped" in log, log[-2000:]
    finally:
        decoy.kill()
        decoy.wait()


if __name__ == "__main__":
    harness.main(globals())
