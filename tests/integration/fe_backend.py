# SPDX-License-Identifier: BSD-2-Clause
"""Frontend and an unreachable or restarting backend: 503 (Retry-After) with a log line
when it stays down, no failed request when it comes back within
backend_retry."""
import threading
import time

import harness
import fe_util as fu


def test_backend_down_503():
    with fu.stack(frontend=True, frontend_opts={"backend_retry": 0.3}) as s:
        assert fu.status(fu.http(s)) == "200"
        s.stop("backend")
        t0 = time.monotonic()
        r = fu.http(s)
        assert fu.status(r) == "503", r.stdout
        assert time.monotonic() - t0 < 3
        r = fu.https(s)
        assert fu.status(r) == "503", r.stdout
        fu.wait_log(s.frontend_log, r"client 127\.0\.0\.1:\d+ id \S+ vhost localhost: "
                    r"backend unreachable")


def test_backend_restart_no_failures():
    """Three backend restarts under HTTP and HTTPS clients: no request fails."""
    with fu.stack(frontend=True, frontend_opts={"backend_retry": 5}) as s:
        results = {"http": [], "https": []}
        stop = threading.Event()

        def client(kind):
            fn = fu.http if kind == "http" else fu.https
            while not stop.is_set() and len(results[kind]) < 1000:
                r = fn(s, check=False)
                results[kind].append(fu.status(r) + (" " + r.stderr.strip() if r.stderr else ""))

        threads = [threading.Thread(target=client, args=(k,)) for k in results]
        for t in threads:
            t.start()
        try:
            for _ in range(3):
                time.sleep(0.3)
                s.stop("backend")
                time.sleep(0.3)
                s.start_backend()
            time.sleep(0.3)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        for kind, res in results.items():
            assert len(res) > 5 and all(x == "200" for x in res), (kind, res)


if __name__ == "__main__":
    harness.main(globals())
