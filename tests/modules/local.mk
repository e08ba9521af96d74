# SPDX-License-Identifier: BSD-2-Clause
# tests/modules/: page modules for the integration tests only, built by
# `make check` into tests/modules/.libs (doc/modules.md lists what each covers).
BX_TEST_MODULE_LDFLAGS = -module -avoid-version -shared -rpath /nowhere

# Async answers, watchers, aborts.
check_LTLIBRARIES += tests/modules/asynctest.la
tests_modules_asynctest_la_SOURCES = tests/modules/mod_async.c
tests_modules_asynctest_la_LDFLAGS = $(BX_TEST_MODULE_LDFLAGS)
# The connect hook, init's identity.
check_LTLIBRARIES += tests/modules/hooktest.la
tests_modules_hooktest_la_SOURCES = tests/modules/mod_hook.c
tests_modules_hooktest_la_LDFLAGS = $(BX_TEST_MODULE_LDFLAGS)
# The request API and the mount's settings.
check_LTLIBRARIES += tests/modules/requesttest.la
tests_modules_requesttest_la_SOURCES = tests/modules/mod_request.c
tests_modules_requesttest_la_LDFLAGS = $(BX_TEST_MODULE_LDFLAGS)
# The fault tests: SIGSEGV in its handler on .../boom.
check_LTLIBRARIES += tests/modules/crashtest.la
tests_modules_crashtest_la_SOURCES = tests/modules/mod_crash.c
tests_modules_crashtest_la_LDFLAGS = $(BX_TEST_MODULE_LDFLAGS)
# The WebSocket API (producer, drain, list, ping, close).
check_LTLIBRARIES += tests/modules/wstest.la
tests_modules_wstest_la_SOURCES = tests/modules/mod_wstest.c
tests_modules_wstest_la_LDFLAGS = $(BX_TEST_MODULE_LDFLAGS)
# A WebSocket echo with a module API version 2 descriptor (no hand-off hooks).
check_LTLIBRARIES += tests/modules/wsv2.la
tests_modules_wsv2_la_SOURCES = tests/modules/mod_wsv2.c
tests_modules_wsv2_la_LDFLAGS = $(BX_TEST_MODULE_LDFLAGS)
# Picks any client-offered subprotocol: backend security regressions (and
# tests/fuzz/fuzz_ws_handshake.c includes it).
check_LTLIBRARIES += tests/modules/wspick.la
tests_modules_wspick_la_SOURCES = tests/modules/mod_wspick.c
tests_modules_wspick_la_LDFLAGS = $(BX_TEST_MODULE_LDFLAGS)
# One worker of each reloaded generation starts late: the hand-off's spread.
check_LTLIBRARIES += tests/modules/slowstart.la
tests_modules_slowstart_la_SOURCES = tests/modules/mod_slowstart.c
tests_modules_slowstart_la_LDFLAGS = $(BX_TEST_MODULE_LDFLAGS)
