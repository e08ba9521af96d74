# SPDX-License-Identifier: BSD-2-Clause
# bactrian-frontend: the code lives in a convenience library so the unit
# tests (tests/unit/check_frontend) link the same objects.
noinst_LTLIBRARIES += frontend/libfrontend.la
frontend_libfrontend_la_SOURCES = \
	frontend/master.c frontend/master.h \
	frontend/child.c frontend/child.h \
	frontend/access.c frontend/access.h \
	frontend/lifeline.c frontend/lifeline.h \
	frontend/refuse.c frontend/refuse.h \
	frontend/waitroom.c frontend/waitroom.h \
	frontend/relay.c frontend/relay.h \
	frontend/scoreboard.c frontend/scoreboard.h \
	frontend/shm.c frontend/shm.h \
	frontend/slottab.c frontend/slottab.h \
	frontend/tls.c frontend/tls.h \
	frontend/keyproc.c frontend/keyproc.h \
	frontend/keyctl.c frontend/keyctl.h \
	frontend/keystub.c frontend/keystub.h \
	frontend/lean.c frontend/lean.h \
	frontend/arena.c frontend/arena.h \
	frontend/tlsrec.c frontend/tlsrec.h \
	frontend/testhook.c

sbin_PROGRAMS += frontend/bactrian-frontend
frontend_bactrian_frontend_SOURCES = frontend/main.c
frontend_bactrian_frontend_LDADD = frontend/libfrontend.la common/libcommon.la $(OPENSSL_LIBS) \
	$(ZLIB_LIBS) $(LIBCONFIG_LIBS) $(LIBSECCOMP_LIBS)

if HAVE_CHECK
check_PROGRAMS += tests/unit/check_frontend
tests_unit_check_frontend_SOURCES = tests/unit/check_frontend.c \
	tests/unit/frontend/test_child.c tests/unit/frontend/test_scoreboard.c \
	tests/unit/frontend/test_tlsrec.c tests/unit/frontend/test_lean.c \
	tests/unit/frontend/test_slottab.c tests/unit/frontend/test_tls.c \
	tests/unit/frontend/test_keyproc.c
tests_unit_check_frontend_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_frontend_LDADD = frontend/libfrontend.la common/libcommon.la $(CHECK_LIBS) \
	$(OPENSSL_LIBS) $(LIBCONFIG_LIBS) $(LIBSECCOMP_LIBS)
TESTS += tests/unit/check_frontend
endif

# Integration tests (real daemons, real clients; see tests/integration/harness.py).
FE_IT = tests/integration/fe_relay.py tests/integration/fe_tls.py \
	tests/integration/fe_pool.py tests/integration/fe_backend.py \
	tests/integration/fe_timeouts.py tests/integration/fe_reload.py \
	tests/integration/fe_wss.py tests/integration/fe_lean.py \
	tests/integration/fe_proxy_tls.py tests/integration/fe_status.py \
	tests/integration/fe_tlsrec.py tests/integration/fe_sbtrust.py \
	tests/integration/fe_access.py tests/integration/fe_keyproc.py \
	tests/integration/fault_fe_master.py tests/integration/fault_fe_reload.py \
	tests/integration/fault_fe_slow.py tests/integration/fault_fe_refuse.py \
	tests/integration/fault_fe_fdlimit.py
TESTS += $(FE_IT)
EXTRA_DIST += $(FE_IT) tests/integration/fe_util.py
