# SPDX-License-Identifier: BSD-2-Clause
"""The frontend scoreboard on the status page: the frontend keeps it in
frontend.scoreboard_file, the backend's status module maps it and shows the
busy children (client address, state, bytes, conn id). The file is mode
0440 (nobody of the frontend's user opens it for writing), gone after the frontend stops, and a file of another layout gives an
error member, not a crash or a read out of bounds."""
import json
import os
import socket
import stat
import struct
import time

import harness
import fe_util as fu


def _stack():
    s = fu.stack(frontend=True, ipv6=True)
    sb = os.path.join(s.tmp, "frontend.scoreboard")
    s.sections["frontend"]["scoreboard_file"] = sb
    s.sections["backend"]["modules"] = [
        {"module": "status", "path": "/status", "scoreboard": sb},
        {"module": "hello", "path": "/"},
    ]
    s.write_config()
    return s, sb


def _status(s):
    r = fu.http(s, "/status")
    assert fu.status(r) == "200", r.stdout[-500:]
    return json.loads(r.stdout.rsplit("\n", 1)[0])


def _find(busy, **want):
    return [b for b in busy if all(b.get(k) == v for k, v in want.items())]


def test_scoreboard_on_status_page():
    s, sb = _stack()
    with s:
        # The ports answer a moment before the master has made the file.
        harness.wait_for(lambda: os.path.exists(sb), "scoreboard file")
        st = os.stat(sb)
        assert stat.S_IMODE(st.st_mode) == 0o440, oct(st.st_mode)
        assert not [f for f in os.listdir(s.tmp) if f.startswith("frontend.scoreboard.")]
        # A client over IPv6 that sent its ClientHello and then nothing: its
        # child is in the handshake. (Half a request would wait in the
        # master's waiting room, in no child.)
        half = fu.hold(s.https_port, socket.AF_INET6, "::1", fu.client_hello())
        # A client that got an answer and keeps the connection: relaying.
        kept = fu.hold(s.http_port, data=fu.REQ)
        kept.settimeout(5)
        assert kept.recv(4096).startswith(b"HTTP/1.1 200")
        kept_port = kept.getsockname()[1]
        half_port = half.getsockname()[1]
        try:
            deadline = time.monotonic() + harness.TIMEOUT
            while True:
                doc = _status(s)
                fe = doc["frontend"]
                assert "error" not in fe, fe
                h = _find(fe["busy"], client="::1", port=half_port, state="handshake")
                k = _find(fe["busy"], client="127.0.0.1", port=kept_port, state="relay")
                if (h and k) or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert h, json.dumps(fe, indent=1)
            assert k, json.dumps(fe, indent=1)
            k = k[0]
            assert k["vhost"] == "localhost", k
            assert k["bytes_out"] > 0 and k["bytes_in"] >= len(fu.REQ), k
            assert len(k["conn_id"]) == 19 and k["age_ms"] >= 0, k
            assert k["pid"] in fu.children(s.pid("frontend")), k
            assert fe["pid"] == s.pid("frontend"), fe
            tot = fe["totals"]
            assert tot["handshake"] >= 1 and tot["relay"] >= 2, tot  # kept + this curl
            assert sum(tot.values()) == fe["slots"], fe
            assert doc["workers"], doc
        finally:
            half.close()
            kept.close()
        s.stop("frontend")
        assert not os.path.exists(sb), os.listdir(s.tmp)
        # No file: the page still answers, saying why there is no frontend.
        r = harness.curl("-w", "\n%{http_code}", s.backend_url("/status"))
        doc = json.loads(r.stdout.rsplit("\n", 1)[0])
        assert "No such file" in doc["frontend"]["error"], doc


def test_foreign_scoreboard_file_is_refused():
    s, sb = _stack()
    s.want_frontend = False
    with s:
        def fetch():
            r = harness.curl("-w", "\n%{http_code}", s.backend_url("/status"))
            assert fu.status(r) == "200", r.stdout[-300:]
            return json.loads(r.stdout.rsplit("\n", 1)[0])["frontend"]

        magic = 0x42535842
        # Header: magic, version, header size, slot size (u32 each), nslots (u64).
        cases = [
            (b"", "empty"),
            (b"short", "too short"),
            (b"\0" * 4096, "magic"),
            (struct.pack("=IIIIQ", magic, 99, 64, 128, 1) + b"\0" * 4096, "another version"),
        ]
        for data, why in cases:
            with open(sb, "wb") as f:
                f.write(data)
            fe = fetch()
            assert why in fe.get("error", ""), (why, fe)
        # Right layout, but far more slots than the file holds: read the real
        # header and slot sizes from a scoreboard the frontend wrote.
        s.start_frontend()
        # The ports answer a moment before the master has replaced the file.
        harness.wait_for(lambda: harness.read_file(sb).startswith("BXSB\x03"), "new scoreboard")
        with open(sb, "rb") as f:
            real = f.read()
        s.stop("frontend")
        magic_, ver, hsize, ssize, nslots = struct.unpack_from("=IIIIQ", real)
        assert (magic_, ver) == (magic, 3) and len(real) == hsize + nslots * ssize, (
            magic_, ver, hsize, ssize, nslots, len(real))
        lie = real[:16] + struct.pack("=Q", 1 << 40) + real[24:]
        with open(sb, "wb") as f:
            f.write(lie)
        fe = fetch()
        assert "exceeds the file size" in fe.get("error", ""), fe
        assert s.procs["backend"].poll() is None


if __name__ == "__main__":
    harness.main(globals())
