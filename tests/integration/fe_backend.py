"""Frontend and an unreachable or restarting backend: 502 with a log line
when it stays down, no failed request when it comes back within
backend_retry."""
import threading
import time

import harness
import fe_util as fu


def test_backend_down_502():
    with fu.stack(frontend=True, frontend_opts={"backend_retry": 0.3}) as s:
        assert fu.status(fu.http(s)) == "200"
        s.stop("backend")
        t0 = time.monotonic()
        r = fu.http(s)
        assert fu.status(r) == "502", r.stdout
        assert time.monotonic() - t0 < 3
        r = fu.https(s)
        assert fu.status(r) == "502", r.stdout
        fu.wait_log(s.frontend_log, r"client 127\.0\.0\.1:\d+ id \S+ vhost localhost: "
                    r"backend unreachable")


def test_backend_restart_no_failures():
    with fu.stack(frontend=True, frontend_opts={"backend_retry": 5}) as s:
        results = []
        stop = threading.Event()

        def client():
            while not stop.is_set() and len(results) < 500:
                r = fu.http(s, check=False)
                results.append(fu.status(r))

        t = threading.Thread(target=client)
        t.start()
        try:
            time.sleep(0.3)
            s.stop("backend")
            time.sleep(0.5)
            s.start_backend()
            time.sleep(0.3)
        finally:
            stop.set()
            t.join(30)
        assert results and all(x == "200" for x in results), results
        assert len(results) > 5, results


if __name__ == "__main__":
    harness.main(globals())
