# SPDX-License-Identifier: BSD-2-Clause
# tests/unit/: Check unit tests, laid out as the sources are
# (tests/unit/common/test_X.c tests common/X.c, and so on), one runner per
# source directory. check_frontend is built by frontend/local.mk for now.
if HAVE_CHECK
check_LTLIBRARIES += tests/unit/libtestutil.la
tests_unit_libtestutil_la_SOURCES = tests/unit/testutil.c tests/unit/testutil.h
tests_unit_libtestutil_la_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)

check_PROGRAMS += tests/unit/check_common
tests_unit_check_common_SOURCES = tests/unit/check_common.c \
	tests/unit/common/test_cfg.c tests/unit/common/test_cfg_value.c \
	tests/unit/common/test_buf.c \
	tests/unit/common/test_net.c tests/unit/common/test_pidfile.c \
	tests/unit/common/test_log.c tests/unit/common/test_proxy.c \
	tests/unit/common/test_proc.c tests/unit/common/test_sbfile.c \
	tests/unit/common/test_sandbox.c tests/unit/common/test_cidr.c \
	tests/unit/common/test_ev.c tests/unit/common/test_cli.c \
	tests/unit/common/test_xalloc.c tests/unit/common/test_ratelimit.c \
	tests/unit/common/test_baddr.c \
	tests/unit/common/test_supervise.c tests/unit/common/test_listeners.c \
	tests/unit/common/test_upgrade.c tests/unit/common/test_upgrade_report.c \
	tests/unit/common/test_words.c
tests_unit_check_common_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_common_LDADD = tests/unit/libtestutil.la common/libcommon.la $(CHECK_LIBS) \
	$(OPENSSL_LIBS) $(LIBCONFIG_LIBS) $(LIBSECCOMP_LIBS)
TESTS += tests/unit/check_common

check_PROGRAMS += tests/unit/check_backend
tests_unit_check_backend_SOURCES = tests/unit/check_backend.c \
	tests/unit/backend/test_http1.c tests/unit/backend/test_router.c \
	tests/unit/backend/test_crashrec.c tests/unit/backend/test_modset.c \
	tests/unit/backend/test_pubsub.c tests/unit/backend/test_pubsub_replay.c \
	tests/unit/backend/test_ws_frame.c tests/unit/backend/test_ws_utf8.c \
	tests/unit/backend/test_ws_deflate.c tests/unit/backend/test_ws_handshake.c \
	tests/unit/backend/test_ws_handoff_rec.c tests/unit/backend/test_upgrade.c \
	tests/unit/backend/test_ws_handoff_session.c tests/unit/backend/test_usock.c \
	tests/unit/backend/modules/test_range.c backend/modules/range.c \
	tests/unit/backend/modules/test_json.c backend/modules/json.c \
	tests/unit/backend/beloop.c tests/unit/backend/beloop.h \
	tests/unit/backend/test_http.c tests/unit/backend/test_conn.c \
	tests/unit/backend/test_ws_session.c tests/unit/backend/modules/test_static.c \
	tests/unit/backend/modules/test_status.c tests/unit/backend/modules/test_chat.c
tests_unit_check_backend_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
# The in-process worker (beloop.c) dlopens the bundled modules, which call
# the bm_* API in this program, as they do in the daemon.
tests_unit_check_backend_LDFLAGS = $(AM_LDFLAGS) -export-dynamic
tests_unit_check_backend_LDADD = tests/unit/libtestutil.la backend/libbackend.la backend/libws.la \
	common/libcommon.la $(CHECK_LIBS) $(OPENSSL_LIBS) $(ZLIB_LIBS) $(LIBCONFIG_LIBS) \
	$(LIBSECCOMP_LIBS)
TESTS += tests/unit/check_backend
endif

# frontend/ (the objects of frontend/libfrontend.la)
if HAVE_CHECK
check_PROGRAMS += tests/unit/check_frontend
tests_unit_check_frontend_SOURCES = tests/unit/check_frontend.c \
	tests/unit/frontend/test_http.c tests/unit/frontend/test_scoreboard.c \
	tests/unit/frontend/test_tlsrec.c tests/unit/frontend/test_lean.c \
	tests/unit/frontend/test_slottab.c tests/unit/frontend/test_tls.c \
	tests/unit/frontend/test_keyproc.c tests/unit/frontend/test_refuse.c \
	tests/unit/frontend/test_access.c tests/unit/frontend/test_waitroom.c \
	tests/unit/frontend/test_shm.c tests/unit/frontend/test_lifeline.c \
	tests/unit/frontend/test_arena.c tests/unit/frontend/test_relay.c \
	tests/unit/frontend/test_keystub.c tests/unit/frontend/kpfix.c tests/unit/frontend/kpfix.h \
	tests/unit/frontend/test_ticketkey.c tests/unit/frontend/test_upcheck.c \
	tests/unit/frontend/test_upvhost.c
tests_unit_check_frontend_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_frontend_LDADD = tests/unit/libtestutil.la frontend/libfrontend.la common/libcommon.la $(CHECK_LIBS) \
	$(OPENSSL_LIBS) $(LIBCONFIG_LIBS) $(LIBSECCOMP_LIBS)
TESTS += tests/unit/check_frontend
endif
