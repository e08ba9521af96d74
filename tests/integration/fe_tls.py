# SPDX-License-Identifier: BSD-2-Clause
"""Frontend TLS: SNI picks the vhost certificate, unknown names get the
default (or fail under strict_sni), TLS 1.0/1.1 are refused, sessions
resume across children."""
import os
import re

import harness
import fe_util as fu


def test_sni_certificates():
    with fu.stack(frontend=True) as s:
        for name, want in (("localhost", "localhost"), ("alt.localhost", "alt.localhost"),
                           ("unknown.example", "localhost"), (None, "localhost")):
            rc, out = fu.s_client(s.https_port, name, data=fu.REQ_CLOSE)
            assert fu.subject_cn(out) == want, "%s: %s" % (name, out[-1500:])
            assert "Protocol  : TLSv1.3" in out or "TLSv1.3" in out, out[-800:]


def test_strict_sni():
    with fu.stack(frontend=True, tls_opts={"strict_sni": True}) as s:
        rc, out = fu.s_client(s.https_port, "alt.localhost", data=fu.REQ_CLOSE)
        assert fu.subject_cn(out) == "alt.localhost", out[-1500:]
        for name in ("unknown.example", None):
            rc, out = fu.s_client(s.https_port, name, data=fu.REQ_CLOSE)
            assert fu.subject_cn(out) is None, out[-1500:]
            assert "unrecognized name" in out or "alert" in out, out[-1500:]


def test_old_protocols_refused():
    with fu.stack(frontend=True) as s:
        for flag in ("-tls1", "-tls1_1"):
            # SECLEVEL=0 so the client really offers the old version; the refusal
            # must come from the server.
            rc, out = fu.s_client(s.https_port, "localhost",
                                  args=(flag, "-cipher", "DEFAULT:@SECLEVEL=0"))
            assert rc != 0 and fu.subject_cn(out) is None, out[-1500:]
            assert "protocol version" in out, out[-1500:]
        rc, out = fu.s_client(s.https_port, "localhost", args=("-tls1_2",), data=fu.REQ_CLOSE)
        assert fu.subject_cn(out) == "localhost" and "TLSv1.2" in out, out[-1500:]


def test_session_resumption_across_children():
    with fu.stack(frontend=True) as s:
        sess = os.path.join(s.tmp, "sess.pem")
        for proto in ("-tls1_3", "-tls1_2"):
            rc, out = fu.s_client(s.https_port, "localhost", data=fu.REQ_CLOSE,
                                  args=(proto, "-ign_eof", "-sess_out", sess))
            assert "New," in out, out[-1500:]
            rc, out = fu.s_client(s.https_port, "localhost", data=fu.REQ_CLOSE,
                                  args=(proto, "-ign_eof", "-sess_in", sess))
            assert "Reused," in out, "%s not resumed: %s" % (proto, out[-1500:])
        fu.wait_count(s.frontend_log, r"client .* TLSv1", 4)
        pids = re.findall(r"bactrian-frontend\[(\d+)\]: client .* TLSv1", harness.read_file(
            s.frontend_log))
        assert len(pids) >= 4 and len(set(pids)) == len(pids), pids


if __name__ == "__main__":
    harness.main(globals())
