# SPDX-License-Identifier: BSD-2-Clause
"""The key process (frontend/keyproc.h) is the only frontend process that holds
a private key: a scan of /proc/PID/mem of the master, a handshake child, a
lean child and the idle children finds none of the key's secret bytes, and
finds them in the key process (so the scan works). Keys that are missing or
garbage are errors naming the file; a reload with a broken key keeps the
running generation; ECDSA (P-256, P-384) and RSA (PKCS#1 v1.5 and PSS)
handshakes work over TLS 1.3 and 1.2; a killed key process is started again."""
import os
import re
import signal
import socket
import ssl
import subprocess
import time

import harness
import fe_util as fu

IDLE = 1.8  # a relay idle for a second moves to a lean child


# ---- the key's secret bytes and the scan -----------------------------------

def _secret(keyfile):
    """The private scalar (EC) or private exponent (RSA) as big-endian bytes,
    read with `openssl pkey -text` (no Python crypto library needed)."""
    out = subprocess.run(["openssl", "pkey", "-in", keyfile, "-text", "-noout"],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"^(?:priv|privateExponent):\s*\n((?:[ \t]+[0-9a-f:]+\n)+)", out, re.M)
    assert m, out
    raw = bytes.fromhex(re.sub(r"[\s:]", "", m.group(1))).lstrip(b"\0")
    assert len(raw) >= 30, raw
    return raw


def _needles(keyfile):
    be = _secret(keyfile)
    return {"big-endian": be, "little-endian": be[::-1]}


# Larger mappings are sanitizer shadow memory or reservations (an
# --enable-asan build maps terabytes): never a heap that holds a key.
MAX_REGION = 4 << 30


def _regions(pid):
    """Readable mappings of pid with resident pages, from /proc/PID/smaps."""
    out, cur = [], None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+)(?: \S+){3}\s*(\S*)", line)
            if m:
                cur = None
                lo, hi = int(m.group(1), 16), int(m.group(2), 16)
                if m.group(3)[0] == "r" and m.group(4) not in ("[vvar]", "[vsyscall]") and \
                        hi - lo <= MAX_REGION:
                    cur = [lo, hi]
                continue
            if cur and line.split(":")[0] in ("Rss", "Swap") and int(line.split()[1]) > 0:
                out.append(tuple(cur))
                cur = None
    return out


def _scan(pid, needles):
    """Which needles occur in the readable, resident memory of pid."""
    found = set()
    tail = max(len(n) for n in needles.values())
    with open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
        for lo, hi in _regions(pid):
            prev = b""
            for at in range(lo, hi, 1 << 20):
                try:
                    mem.seek(at)
                    chunk = prev + mem.read(min(1 << 20, hi - at))
                except (OSError, ValueError, OverflowError):
                    break
                for name, n in needles.items():
                    if n in chunk:
                        found.add(name)
                prev = chunk[-tail:]
    return found


def _need_memory_access(pid):
    try:
        with open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
            with open("/proc/%d/maps" % pid) as f:
                first = int(f.readline().split("-")[0], 16)
            mem.seek(first)
            mem.read(16)
    except OSError as e:
        raise harness.Skip("cannot read /proc/%d/mem (%s): needs root or ptrace rights" % (pid, e))


def _key_process(s):
    """The key process's pid, once the master is up (the key process has
    answered it, so it is set up and confined by then)."""
    m = fu.wait_log(s.frontend_log, r"key process (\d+) started")
    fu.wait_log(s.frontend_log, r"started \S+: ")
    return int(m.group(1))


def _tls_connect(port, name="localhost"):
    ctx = ssl.create_default_context(cafile=fu.cafile(name))
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname=name)


def test_no_private_key_outside_the_key_process():
    with fu.stack(frontend=True) as s:
        master = s.pid("frontend")
        _need_memory_access(master)
        keyproc = _key_process(s)
        needles = _needles(os.path.join(harness.CERTS, "localhost.key"))
        # A handshake child: handshake done, waiting for the first request.
        hs = _tls_connect(s.https_port)
        # A lean child: one request, then idle until the hand-off.
        lean = _tls_connect(s.https_port)
        lean.sendall(fu.REQ)
        assert lean.recv(4096).startswith(b"HTTP/1.1 200")
        time.sleep(IDLE)
        fu.wait_log(s.frontend_log, r"handed off")
        try:
            hs_pid = fu.child_of_client(master, hs.getsockname()[1])
            lean_pid = fu.child_of_client(master, lean.getsockname()[1])
            assert lean_pid and hs_pid and lean_pid != hs_pid, (hs_pid, lean_pid)
            others = [p for p in fu.children(master) if p != keyproc]
            assert hs_pid in others and lean_pid in others and keyproc in fu.children(master)
            scanned = {"master %d" % master: master, "handshake child %d" % hs_pid: hs_pid,
                       "lean child %d" % lean_pid: lean_pid}
            for p in others:
                scanned.setdefault("child %d" % p, p)
            leaks = {}
            for what, pid in scanned.items():
                hit = _scan(pid, needles)
                if hit:
                    leaks[what] = sorted(hit)
            assert not leaks, "private key bytes found in %s" % leaks
            # The scan works: the key process has them.
            assert _scan(keyproc, needles), "scan found no key bytes in the key process"
            # And the connections still work.
            hs.sendall(fu.REQ)
            assert hs.recv(4096).startswith(b"HTTP/1.1 200")
            lean.sendall(fu.REQ)
            assert lean.recv(4096).startswith(b"HTTP/1.1 200")
        finally:
            hs.close()
            lean.close()


def test_key_process_is_confined():
    with fu.stack(frontend=True) as s:
        keyproc = _key_process(s)
        with open("/proc/%d/status" % keyproc) as f:
            st = f.read()
        assert re.search(r"^NoNewPrivs:\s+1$", st, re.M), st
        if os.environ.get("BACTRIAN_UNCONFINED") != "1":
            assert re.search(r"^Seccomp:\s+2$", st, re.M), st  # a filter (common/sandbox.h)
        # Not dumpable: /proc/PID/* of the key process belongs to root.
        assert os.stat("/proc/%d/mem" % keyproc).st_uid == 0


# ---- key errors ------------------------------------------------------------

def _with_key(s, path):
    s.vhosts[1]["key"] = path
    s.write_config()


def _check_t(s):
    return subprocess.run([harness.FRONTEND, "-t", "-c", s.config_path], capture_output=True,
                          text=True, timeout=20)


def _start_fails(s):
    p = subprocess.run([harness.FRONTEND, "-f", "-c", s.config_path], capture_output=True,
                       text=True, timeout=20)
    return p.returncode, p.stdout + p.stderr


def test_missing_or_garbage_key_is_named():
    s = fu.stack(frontend=True, backend=False)
    s.want_frontend = False  # started by hand below, expected to fail
    with s:
        missing = os.path.join(s.tmp, "missing.key")
        garbage = os.path.join(s.tmp, "garbage.key")
        with open(garbage, "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
        other = os.path.join(harness.CERTS, "localhost.key")  # not alt.localhost's
        ed = os.path.join(s.tmp, "ed25519.key")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", ed], check=True,
                       capture_output=True)
        for path, why in ((missing, "No such file"), (garbage, "not a usable PEM"),
                          (other, "does not match certificate"), (ed, "not supported")):
            _with_key(s, path)
            r = _check_t(s)
            assert r.returncode != 0 and path in r.stderr and "alt.localhost" in r.stderr and \
                why in r.stderr, (path, r.returncode, r.stderr)
            rc, out = _start_fails(s)
            assert rc != 0 and path in out and "alt.localhost" in out and why in out, (rc, out)


def test_reload_with_broken_key_keeps_generation():
    with fu.stack(frontend=True) as s:
        assert fu.status(fu.https(s, host="alt.localhost")) == "200"
        garbage = os.path.join(s.tmp, "garbage.key")
        with open(garbage, "w") as f:
            f.write("garbage\n")
        _with_key(s, garbage)
        s.signal("frontend", signal.SIGHUP)
        m = fu.wait_log(s.frontend_log, r"reload: (.*); keeping the running configuration")
        assert garbage in m.group(1) and "alt.localhost" in m.group(1), m.group(0)
        for _ in range(3):  # new children of the running generation sign with its keys
            assert fu.status(fu.https(s, host="alt.localhost")) == "200"
            assert fu.status(fu.https(s)) == "200"
        # A good reload after it: the new generation's keys are used.
        _with_key(s, os.path.join(harness.CERTS, "alt.localhost.key"))
        s.signal("frontend", signal.SIGHUP)
        fu.wait_log(s.frontend_log, r"reloaded: generation 2")
        assert fu.status(fu.https(s, host="alt.localhost")) == "200"


# ---- key types ---------------------------------------------------------------

def _make_cert(tmp, name, newkey):
    key, crt = os.path.join(tmp, name + ".key"), os.path.join(tmp, name + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", newkey[0]] +
                   sum((["-pkeyopt", o] for o in newkey[1:]), []) +
                   ["-nodes", "-days", "2", "-subj", "/CN=" + name,
                    "-addext", "subjectAltName=DNS:" + name, "-keyout", key, "-out", crt],
                   check=True, capture_output=True)
    return {"name": name, "cert": crt, "key": key}


def _peer_sig(port, name, args):
    rc, out = fu.s_client(port, name, args=list(args) + ["-ign_eof"], data=fu.REQ_CLOSE)
    m = re.search(r"^Peer signature type: (\S+)", out, re.M)
    proto = re.search(r"^New, (TLSv[\d.]+)", out, re.M)
    assert rc == 0 and m and proto and "HTTP/1.1 200" in out, out[-2000:]
    return proto.group(1), m.group(1)


def test_ecdsa_and_rsa_handshakes():
    import tempfile
    tmp = tempfile.mkdtemp(prefix="bactrian-keys-")
    vhosts = [
        {"name": "localhost", "cert": fu.cafile("localhost"),
         "key": os.path.join(harness.CERTS, "localhost.key")},
        _make_cert(tmp, "rsa.localhost", ["rsa", "rsa_keygen_bits:2048"]),
        _make_cert(tmp, "p384.localhost", ["ec", "ec_paramgen_curve:secp384r1"]),
    ]
    with fu.stack(frontend=True, vhosts=vhosts) as s:
        cases = [
            ("localhost", ["-tls1_3"], ("TLSv1.3", "ECDSA")),
            ("localhost", ["-tls1_2"], ("TLSv1.2", "ECDSA")),
            ("p384.localhost", ["-tls1_3"], ("TLSv1.3", "ECDSA")),
            ("p384.localhost", ["-tls1_2"], ("TLSv1.2", "ECDSA")),
            ("rsa.localhost", ["-tls1_3"], ("TLSv1.3", "RSA-PSS")),
            ("rsa.localhost", ["-tls1_3", "-sigalgs", "rsa_pss_rsae_sha512"], ("TLSv1.3", "RSA-PSS")),
            ("rsa.localhost", ["-tls1_2"], ("TLSv1.2", "RSA-PSS")),
            ("rsa.localhost", ["-tls1_2", "-sigalgs", "RSA+SHA256"], ("TLSv1.2", "RSA")),
            ("rsa.localhost", ["-tls1_2", "-sigalgs", "RSA+SHA384"], ("TLSv1.2", "RSA")),
        ]
        for name, args, want in cases:
            assert _peer_sig(s.https_port, name, args) == want, (name, args)
        for v in vhosts[1:]:
            for ver in ("--tlsv1.3", "--tlsv1.2"):
                r = harness.curl("--resolve", "%s:%d:127.0.0.1" % (v["name"], s.https_port),
                                 "--cacert", v["cert"], ver, "-w", "\n%{http_code}",
                                 "https://%s:%d/" % (v["name"], s.https_port))
                assert fu.status(r) == "200", (v["name"], ver, r.stdout)
        # RSA key exchange would be a decryption: never done, refused cleanly.
        rc, out = fu.s_client(s.https_port, "rsa.localhost",
                              args=["-tls1_2", "-cipher", "AES128-GCM-SHA256"])
        assert rc != 0 and "Cipher is (NONE)" in out, out[-1500:]
        assert fu.status(fu.https(s)) == "200"


def test_key_process_restarted():
    with fu.stack(frontend=True) as s:
        keyproc = _key_process(s)
        assert fu.status(fu.https(s)) == "200"
        os.kill(keyproc, signal.SIGKILL)
        fu.wait_log(s.frontend_log, r"key process %d killed by signal 9" % keyproc)
        m = fu.wait_log(s.frontend_log, r"key process (\d+) started again \(generation 1\)")
        assert int(m.group(1)) != keyproc
        deadline = time.monotonic() + 10
        codes = []
        while time.monotonic() < deadline:  # old idle children are replaced
            r = fu.https(s, check=False)
            codes.append(fu.status(r))
            if codes[-3:] == ["200"] * 3:
                break
        assert codes[-3:] == ["200"] * 3, codes
        assert fu.status(fu.https(s, host="alt.localhost")) == "200"


def _root_only_copy(src, dst):
    with open(src, "rb") as f:
        data = f.read()
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return dst


def _status_field(pid, field):
    with open("/proc/%d/status" % pid) as f:
        return re.search(r"^%s:\s+(.*)$" % field, f.read(), re.M).group(1)


def test_root_only_keys_after_the_drop():
    """Started as root with a user: the key process keeps only
    CAP_DAC_READ_SEARCH, so keys only root can read load at start and on
    reload, after everything else dropped root."""
    import pwd
    if os.geteuid() != 0:
        raise harness.Skip("needs root (privilege drop)")
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        raise harness.Skip("no user nobody")
    s = fu.stack(frontend=True, frontend_opts={"user": "nobody"},
                 backend_opts={"socket_mode": "0666"})
    os.chmod(s.tmp, 0o755)  # the unprivileged frontend reaches the backend socket
    keys = os.path.join(s.tmp, "keys")
    os.mkdir(keys, 0o700)
    s.vhosts[0]["key"] = _root_only_copy(os.path.join(harness.CERTS, "localhost.key"),
                                         os.path.join(keys, "localhost.key"))
    s.write_config()
    with s:
        keyproc = _key_process(s)  # and the master has dropped root
        nobody = str(pwd.getpwnam("nobody").pw_uid)
        assert _status_field(s.pid("frontend"), "Uid").split()[0] == nobody
        assert _status_field(keyproc, "Uid").split() == [nobody] * 4
        assert int(_status_field(keyproc, "CapEff"), 16) == 1 << 2  # CAP_DAC_READ_SEARCH
        assert int(_status_field(keyproc, "CapPrm"), 16) == 1 << 2
        assert fu.status(fu.https(s)) == "200"
        # A reload reads a new root-only key.
        s.vhosts[1]["key"] = _root_only_copy(os.path.join(harness.CERTS, "alt.localhost.key"),
                                             os.path.join(keys, "alt.localhost.key"))
        s.write_config()
        s.signal("frontend", signal.SIGHUP)
        fu.wait_log(s.frontend_log, r"reloaded: generation 2")
        assert fu.status(fu.https(s, host="alt.localhost")) == "200"
        assert fu.status(fu.https(s)) == "200"


if __name__ == "__main__":
    harness.main(globals())
