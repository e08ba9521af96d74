# SPDX-License-Identifier: BSD-2-Clause
"""Frontend HUP reload: new certificates and services are picked up, a bad
config keeps the running one, old children finish their clients; USR1
reopens the log; TERM stops gracefully."""
import os
import signal
import socket
import time

import harness
import fe_util as fu


def _hup(s, pattern):
    s.signal("frontend", signal.SIGHUP)
    fu.wait_log(s.frontend_log, pattern)


def test_reload_certs_services_and_old_children():
    with fu.stack(frontend=True) as s:
        old = fu.hold(s.http_port, data=fu.REQ)
        try:
            assert old.recv(4096).startswith(b"HTTP/1.1 200")
            # localhost now serves the alt certificate; a service is added,
            # the plaintext one removed.
            new_port = harness.free_port()
            fe = s.sections["frontend"]
            fe["services"] = [svc for svc in fe["services"] if svc["tls"]] + [
                {"port": new_port, "bind": ["127.0.0.1"], "tls": False}]
            s.vhosts[0]["cert"] = fu.cafile("alt.localhost")
            s.vhosts[0]["key"] = os.path.join(harness.CERTS, "alt.localhost.key")
            s.write_config()
            _hup(s, r"reloaded: generation 2")
            rc, out = fu.s_client(s.https_port, "localhost", data=fu.REQ_CLOSE)
            assert fu.subject_cn(out) == "alt.localhost", out[-1500:]
            out = harness.raw_exchange(("127.0.0.1", new_port), fu.REQ_CLOSE)
            assert out.startswith(b"HTTP/1.1 200"), out[:200]
            # The old child still serves its client on the removed service...
            old.sendall(fu.REQ)
            assert old.recv(4096).startswith(b"HTTP/1.1 200")
        finally:
            old.close()
        # ...and once it is done the port is gone.
        harness.wait_for(lambda: not harness.can_connect(("127.0.0.1", s.http_port)),
                         "removed service closed", timeout=5)


def test_bad_config_keeps_running():
    with fu.stack(frontend=True) as s:
        with open(s.config_path, "a") as f:
            f.write("frontend_typo = ;\n")
        _hup(s, r"reload: configuration has errors, keeping the running one")
        assert fu.status(fu.http(s)) == "200"
        assert fu.status(fu.https(s)) == "200"


def test_reload_max_generations():
    opts = {"reload_max_generations": 1}
    with fu.stack(frontend=True, frontend_opts=opts) as s:
        c = fu.hold(s.http_port, data=fu.REQ)
        try:
            assert c.recv(4096).startswith(b"HTTP/1.1 200")
            _hup(s, r"reloaded: generation 2")
            c.sendall(fu.REQ)
            assert c.recv(4096).startswith(b"HTTP/1.1 200")
            _hup(s, r"reloaded: generation 3")
            fu.wait_log(s.frontend_log, r"of generation 1: ending its client \(reload limits\)")
            assert fu.recv_all(c, 3) == b""
        finally:
            c.close()


def test_usr1_reopens_and_term_stops():
    with fu.stack(frontend=True) as s:
        s.signal("frontend", signal.SIGUSR1)
        assert fu.status(fu.http(s)) == "200"
        t0 = time.monotonic()
        assert s.stop("frontend") == 0
        assert time.monotonic() - t0 < 3
        assert not harness.can_connect(("127.0.0.1", s.http_port))


def test_usr1_log_rotation_reaches_busy_children():
    """logrotate moves the file and sends USR1: the master and a child that
    was already serving a long client both write to the new file."""
    import subprocess
    s = harness.Stack(frontend=True, modules=[{"module": "hello", "path": "/"}])
    log = os.path.join(s.tmp, "fe-error.log")
    s.sections["frontend"]["error_log"] = log
    s.sections["frontend"]["log_level"] = "info"
    s.write_config()
    pid_file = s.sections["frontend"]["pid_file"]
    master = None
    try:
        s.start_backend()
        # Without -f the frontend logs to the file (and daemonizes).
        subprocess.run([harness.FRONTEND, "-c", s.config_path], check=True, timeout=10)
        harness.wait_for(lambda: harness.can_connect(("127.0.0.1", s.http_port)),
                         "frontend port", log=log)
        harness.wait_for(lambda: os.path.exists(pid_file), "frontend pid file", log=log)
        master = int(open(pid_file).read())
        busy = fu.hold(s.http_port)         # a child is now serving this client
        time.sleep(0.3)
        os.rename(log, log + ".1")
        os.kill(master, signal.SIGUSR1)
        harness.wait_for(lambda: os.path.exists(log), "the master's reopened log")
        busy.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        assert fu.recv_all(busy).startswith(b"HTTP/1.1 200")
        busy.close()
        fu.wait_log(log, r"client 127\.0\.0\.1:\d+ id \S+ vhost localhost: relay splice")
        assert "relay splice" not in harness.read_file(log + ".1")
    finally:
        if master:
            os.kill(master, signal.SIGTERM)
            harness.wait_for(lambda: not os.path.exists(pid_file), "frontend stop")
        s.close()


if __name__ == "__main__":
    harness.main(globals())
