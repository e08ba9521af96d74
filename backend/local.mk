# SPDX-License-Identifier: BSD-2-Clause
# backend/: bactrian-backend. Everything but main.c lives in two convenience
# libraries, so the daemon, the unit tests (tests/unit/local.mk) and the
# fuzzers (tests/fuzz/local.mk) link the same objects, each compiled once.

# The WebSocket engine's pure units (frames, UTF-8, permessage-deflate,
# handshake): no event loop, no connection.
noinst_LTLIBRARIES += backend/libws.la
backend_libws_la_SOURCES = \
	backend/ws_frame.c backend/ws_frame.h \
	backend/ws_utf8.c backend/ws_utf8.h \
	backend/ws_deflate.c backend/ws_deflate.h \
	backend/ws_handshake.c backend/ws_handshake.h \
	backend/ws_handoff_rec.c backend/ws_handoff_rec.h
backend_libws_la_LIBADD = $(OPENSSL_LIBS) $(ZLIB_LIBS)

# The rest of the daemon: master and workers, HTTP, routing, the module set,
# the WebSocket session layer and pub/sub.
noinst_LTLIBRARIES += backend/libbackend.la
backend_libbackend_la_SOURCES = \
	backend/master.c backend/master.h \
	backend/upgrade.c backend/upgrade.h \
	backend/usock.c backend/usock.h \
	backend/worker.c backend/worker.h \
	backend/conn.c backend/conn.h \
	backend/crashrec.c backend/crashrec.h \
	backend/http.c backend/http.h \
	backend/http1.c backend/http1.h \
	backend/router.c backend/router.h \
	backend/modset.c backend/modset.h \
	backend/ws_session.c backend/ws_session.h \
	backend/ws_send.c \
	backend/ws_handoff.c backend/ws_handoff.h \
	backend/ws_handoff_session.c \
	backend/pubsub.c backend/pubsub.h \
	backend/pubsub_replay.c backend/pubsub_replay.h \
	backend/pubsub_redis.c backend/pubsub_redis.h \
	backend/redis_link.c backend/redis_link.h
backend_libbackend_la_CPPFLAGS = $(AM_CPPFLAGS) $(HIREDIS_CFLAGS)
backend_libbackend_la_LIBADD = $(HIREDIS_LIBS)

sbin_PROGRAMS += backend/bactrian-backend
backend_bactrian_backend_SOURCES = backend/main.c
backend_bactrian_backend_LDADD = backend/libbackend.la backend/libws.la common/libcommon.la $(OPENSSL_LIBS) $(ZLIB_LIBS) $(LIBCONFIG_LIBS) \
	$(LIBSECCOMP_LIBS)
backend_bactrian_backend_LDFLAGS = $(AM_LDFLAGS) -export-dynamic
