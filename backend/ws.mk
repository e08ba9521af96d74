# WebSocket engine: pure units (frames, UTF-8, permessage-deflate, handshake)
# in a noinst library the backend links, plus their unit tests.
noinst_LTLIBRARIES += backend/libws.la
backend_libws_la_SOURCES = \
	backend/ws_frame.c backend/ws_frame.h \
	backend/ws_utf8.c backend/ws_utf8.h \
	backend/ws_deflate.c backend/ws_deflate.h \
	backend/ws_handshake.c backend/ws_handshake.h
backend_libws_la_LIBADD = $(OPENSSL_LIBS) $(ZLIB_LIBS)

if HAVE_CHECK
check_PROGRAMS += tests/unit/check_ws
tests_unit_check_ws_SOURCES = tests/unit/check_ws.c \
	tests/unit/ws/test_frame.c tests/unit/ws/test_utf8.c \
	tests/unit/ws/test_deflate.c tests/unit/ws/test_handshake.c
tests_unit_check_ws_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_ws_LDADD = backend/libws.la common/libcommon.la $(CHECK_LIBS) $(OPENSSL_LIBS) $(ZLIB_LIBS)
TESTS += tests/unit/check_ws
endif

# The session layer lives in the daemon (modules call it through -export-dynamic).
backend_bactrian_backend_SOURCES += \
	backend/ws_session.c backend/ws_session.h \
	backend/ws_send.c \
	backend/pubsub.c backend/pubsub.h
backend_bactrian_backend_LDADD += backend/libws.la

# Integration: conformance (raw sockets), interop (python websockets), browser.
TESTS += tests/integration/ws_conformance.py tests/integration/ws_interop.py \
	tests/integration/ws_browser.py
EXTRA_DIST += tests/integration/ws_conformance.py tests/integration/ws_interop.py \
	tests/integration/ws_browser.py tests/integration/ws_browser.js

# chat's Origin check (cross-site WebSocket hijacking).
TESTS += tests/integration/ws_origin.py
EXTRA_DIST += tests/integration/ws_origin.py

# The WebSocket load generator (bench/ws_echo_bench.sh runs it).
noinst_PROGRAMS += bench/wsbench
bench_wsbench_SOURCES = bench/wsbench.c
bench_wsbench_LDADD = $(ZLIB_LIBS)
EXTRA_DIST += bench/node-ws-echo.js bench/ws_echo_bench.sh bench/ws_deflate_mem.py \
	bench/ws_pubsub_bench.py

# The demo page (echo and chat panels), served by the static module at "/".
dist_website_DATA = www/index.html

# The WebSocket guide (settings, behaviour, measured deflate memory).
wsdocdir = $(docdir)
dist_wsdoc_DATA = doc/websocket.md

# A module for the WebSocket API test only (producer, drain, list, ping, close).
check_LTLIBRARIES += tests/modules/wstest.la
tests_modules_wstest_la_SOURCES = tests/unit/ws/mod_wstest.c
tests_modules_wstest_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
TESTS += tests/integration/ws_module_api.py
EXTRA_DIST += tests/integration/ws_module_api.py

# A module that picks any client-offered subprotocol; backend security regressions.
check_LTLIBRARIES += tests/modules/wspick.la
tests_modules_wspick_la_SOURCES = tests/unit/ws/mod_wspick.c
tests_modules_wspick_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
TESTS += tests/integration/ws_security.py
EXTRA_DIST += tests/integration/ws_security.py
