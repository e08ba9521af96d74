# SPDX-License-Identifier: BSD-2-Clause
"""frontend.tls.ticket_secret_file (issue 11.3): frontends given the same
secret derive the same ticket keys, so a session made on one resumes on the
other; another secret (or none) does not; at a period boundary the previous
period's key still decrypts (and a fresh ticket is issued); the file is
checked (owner-only mode, length) and re-read on reload; sessions survive a
USR2 upgrade in place.

Two frontends, each with its own backend, on different loopback ports. The
boundary test runs tests/integration/bactrian-frontend-clock, whose ticket
clock runs BACTRIAN_TEST_CLOCK_OFFSET_MS ahead, to put frontends in
different periods at once."""
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time

import harness
import fe_util as fu

CLOCK_FRONTEND = os.path.join(harness.BUILDDIR, "tests", "integration",
                              "bactrian-frontend-clock")
ROTATE_MS = 60000


def _secret(d, name, data=None, mode=0o600):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(data if data is not None else os.urandom(48).hex().encode() + b"\n")
    os.chmod(path, mode)
    return path


@contextlib.contextmanager
def _secrets_dir():
    d = tempfile.mkdtemp(prefix="bactrian-secret-")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def _frontend(secret, offset_ms=None, rotate=ROTATE_MS // 1000):
    """A backend + frontend stack with that ticket secret (None: none); with
    offset_ms the clock frontend, its ticket clock that far ahead."""
    tls = {"ticket_rotate": rotate}
    if secret:
        tls["ticket_secret_file"] = secret
    saved = harness.FRONTEND, os.environ.get("BACTRIAN_TEST_CLOCK_OFFSET_MS")
    if offset_ms is not None:
        harness.FRONTEND = CLOCK_FRONTEND
        os.environ["BACTRIAN_TEST_CLOCK_OFFSET_MS"] = str(offset_ms)
    try:
        s = fu.stack(frontend=True, tls_opts=tls)
        s.__enter__()  # Popen copies the environment now
    finally:
        harness.FRONTEND = saved[0]
        if saved[1] is None:
            os.environ.pop("BACTRIAN_TEST_CLOCK_OFFSET_MS", None)
        else:
            os.environ["BACTRIAN_TEST_CLOCK_OFFSET_MS"] = saved[1]
    ok = False
    try:
        yield s
        ok = True
    finally:
        s.__exit__(*((None, None, None) if ok else (AssertionError, None, None)))


def _new_session(port, sess, proto="-tls1_3"):
    rc, out = fu.s_client(port, "localhost", data=fu.REQ_CLOSE,
                          args=(proto, "-ign_eof", "-sess_out", sess))
    assert "New," in out and "200 OK" in out, out[-1500:]


def _resumes(port, sess, proto="-tls1_3", sess_out=None):
    args = [proto, "-ign_eof", "-sess_in", sess]
    if sess_out:
        args += ["-sess_out", sess_out]
    rc, out = fu.s_client(port, "localhost", data=fu.REQ_CLOSE, args=args)
    assert "200 OK" in out, out[-1500:]
    return "Reused," in out


def test_same_secret_resumes_on_the_other_frontend():
    with _secrets_dir() as d:
        secret = _secret(d, "ticket.secret")
        with _frontend(secret) as a, _frontend(secret) as b:
            fu.wait_log(a.frontend_log, r"session ticket keys from frontend.tls.ticket_secret_file")
            for proto in ("-tls1_3", "-tls1_2"):
                sess = os.path.join(a.tmp, "sess%s.pem" % proto)
                _new_session(a.https_port, sess, proto)
                assert _resumes(b.https_port, sess, proto), "%s: not resumed on B" % proto
                assert _resumes(a.https_port, sess, proto), "%s: not resumed on A" % proto


def test_other_secret_or_none_does_not_resume():
    with _secrets_dir() as d:
        s1 = _secret(d, "one.secret")
        s2 = _secret(d, "two.secret")
        with _frontend(s1) as a, _frontend(s2) as b, _frontend(None) as c:
            sess = os.path.join(a.tmp, "sess.pem")
            _new_session(a.https_port, sess)
            assert not _resumes(b.https_port, sess), "resumed with another secret"
            assert not _resumes(c.https_port, sess), "resumed without a secret"
            assert _resumes(a.https_port, sess)
            # Without a secret, two frontends keep their own random keys (as before).
            with _frontend(None) as c2:
                sess = os.path.join(a.tmp, "sess-c.pem")
                _new_session(c.https_port, sess)
                assert not _resumes(c2.https_port, sess), "random keys shared between hosts"


def _mid_period_offset():
    """An offset that puts the ticket clock in the middle of a period, so
    nothing crosses a boundary while the test runs (it takes seconds)."""
    now = int(time.time() * 1000)
    return ROTATE_MS // 2 - now % ROTATE_MS


def test_period_boundary_keeps_previous_key():
    off = _mid_period_offset()
    with _secrets_dir() as d:
        secret = _secret(d, "ticket.secret")
        with _frontend(secret, off) as a, _frontend(secret, off + ROTATE_MS) as b, \
                _frontend(secret, off + 2 * ROTATE_MS) as c:
            sess = os.path.join(a.tmp, "sess.pem")
            fresh = os.path.join(a.tmp, "fresh.pem")
            _new_session(a.https_port, sess)
            # B is one period on: A's current key is its previous one.
            assert _resumes(b.https_port, sess, sess_out=fresh), "previous key refused"
            # C is two periods on: that key is gone, but B's fresh ticket
            # (B's current key, C's previous one) resumes.
            assert not _resumes(c.https_port, sess), "a key two periods old was accepted"
            assert _resumes(c.https_port, fresh), "the fresh ticket B issued was refused"


def _check(s, path):
    """bactrian-frontend -t, then a start, with that ticket_secret_file."""
    s.sections["frontend"]["tls"]["ticket_secret_file"] = path
    s.write_config()
    out = []
    for flag in ("-t", "-f"):
        r = subprocess.run([harness.FRONTEND, flag, "-c", s.config_path],
                           capture_output=True, text=True, timeout=harness.TIMEOUT)
        out.append((r.returncode, r.stdout + r.stderr))
    return out


def test_file_checks():
    s = fu.stack(frontend=True)  # its config and ports only: never started
    try:
        cases = [
            (_secret(s.tmp, "open.secret", mode=0o640), r"mode 0640 lets others"),
            (_secret(s.tmp, "short.secret", b"0123456789abcdef0123456789abcde\n"),
             r"too short"),
            (_secret(s.tmp, "long.secret", b"x" * 4097), r"too long"),
            (os.path.join(s.tmp, "missing.secret"), r"No such file"),
            (s.tmp, r"not a regular file"),
        ]
        for path, why in cases:
            for rc, msg in _check(s, path):
                assert rc != 0 and ("ticket_secret_file %s: " % path) in msg and why in msg, \
                    "%s: %d %s" % (path, rc, msg)
        # Exactly 32 bytes once CRLF is taken off is enough.
        ok = _secret(s.tmp, "ok.secret", b"0123456789abcdef0123456789abcdef\r\n")
        s.sections["frontend"]["tls"]["ticket_secret_file"] = ok
        s.write_config()
        r = subprocess.run([harness.FRONTEND, "-t", "-c", s.config_path],
                           capture_output=True, text=True, timeout=harness.TIMEOUT)
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        s.close()


def _hup(s, pattern, n):
    s.signal("frontend", signal.SIGHUP)
    fu.wait_count(s.frontend_log, pattern, n)


def test_reload_rereads_the_secret():
    with _secrets_dir() as d:
        secret = _secret(d, "ticket.secret")
        with _frontend(secret) as a:
            sess = os.path.join(a.tmp, "sess.pem")
            _new_session(a.https_port, sess)
            # A file that is not owner-only fails the reload: the old keys stay.
            os.chmod(secret, 0o644)
            _hup(a, r"reload: keeping the running configuration: frontend.tls."
                    r"ticket_secret_file .*mode 0644", 1)
            assert _resumes(a.https_port, sess), "a failed reload changed the keys"
            # A new secret: sessions of the old one are over.
            _secret(d, "ticket.secret")
            _hup(a, r"reloaded: generation", 1)
            assert not _resumes(a.https_port, sess), "the old secret's session still resumes"
            _new_session(a.https_port, sess)
            assert _resumes(a.https_port, sess)


def test_upgrade_in_place_keeps_sessions():
    """USR2 (upgrade.h) makes the ticket page anew: with a secret the new
    image derives the same keys, so sessions made before still resume."""
    with _secrets_dir() as d:
        secret = _secret(d, "ticket.secret")
        with _frontend(secret) as a:
            pid = a.pid("frontend")
            sess = os.path.join(a.tmp, "sess.pem")
            _new_session(a.https_port, sess)
            a.signal("frontend", signal.SIGUSR2)
            fu.wait_log(a.frontend_log, r"upgrade: pid %d, generation 2" % pid)
            assert _resumes(a.https_port, sess), "a session did not survive the upgrade"


if __name__ == "__main__":
    harness.main(globals())
