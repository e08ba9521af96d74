# SPDX-License-Identifier: BSD-2-Clause
# bactrian-frontend: the code lives in a convenience library so the unit
# tests (tests/unit/local.mk: check_frontend) link the same objects.
noinst_LTLIBRARIES += frontend/libfrontend.la
frontend_libfrontend_la_SOURCES = \
	frontend/master.c frontend/master.h frontend/master_int.h \
	frontend/master_setup.c frontend/master_gen.c \
	frontend/master_pool.c frontend/master_keys.c \
	frontend/upgrade.c frontend/upgrade.h \
	frontend/upcheck.c frontend/upcheck.h frontend/upvhost.c frontend/upvhost.h \
	frontend/child.c frontend/child.h frontend/child_int.h \
	frontend/child_accept.c frontend/child_client.c frontend/child_backend.c \
	frontend/http.c frontend/http.h \
	frontend/access.c frontend/access.h \
	frontend/lifeline.c frontend/lifeline.h \
	frontend/refuse.c frontend/refuse.h \
	frontend/waitroom.c frontend/waitroom.h \
	frontend/relay.c frontend/relay.h \
	frontend/scoreboard.c frontend/scoreboard.h \
	frontend/pool.c frontend/pool.h frontend/probe.c \
	frontend/shm.c frontend/shm.h \
	frontend/slottab.c frontend/slottab.h \
	frontend/tls.c frontend/tls.h \
	frontend/keyproc.c frontend/keyproc.h \
	frontend/keyctl.c frontend/keyctl.h \
	frontend/keystub.c frontend/keystub.h \
	frontend/lean.c frontend/lean.h \
	frontend/arena.c frontend/arena.h \
	frontend/tlsrec.c frontend/tlsrec.h \
	frontend/ticketkey.c frontend/ticketkey.h \
	frontend/testhook.c

sbin_PROGRAMS += frontend/bactrian-frontend
frontend_bactrian_frontend_SOURCES = frontend/main.c
frontend_bactrian_frontend_LDADD = frontend/libfrontend.la common/libcommon.la $(OPENSSL_LIBS) \
	$(ZLIB_LIBS) $(LIBCONFIG_LIBS) $(LIBSECCOMP_LIBS)
