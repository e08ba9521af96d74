# bactrian-backend
sbin_PROGRAMS += backend/bactrian-backend
backend_bactrian_backend_SOURCES = \
	backend/main.c \
	backend/master.c backend/master.h \
	backend/worker.c backend/worker.h \
	backend/conn.c backend/conn.h \
	backend/crashrec.c backend/crashrec.h \
	backend/http.c backend/http.h \
	backend/http1.c backend/http1.h \
	backend/router.c backend/router.h \
	backend/modset.c backend/modset.h
backend_bactrian_backend_LDADD = common/libcommon.la $(OPENSSL_LIBS) $(ZLIB_LIBS) $(LIBCONFIG_LIBS) $(LIBSECCOMP_LIBS)
# Modules resolve the backend's API symbols from the executable.
backend_bactrian_backend_LDFLAGS = $(AM_LDFLAGS) -export-dynamic

# Unit tests of the backend's parts (parser, router, event loop).
if HAVE_CHECK
check_PROGRAMS += tests/unit/check_backend
tests_unit_check_backend_SOURCES = tests/unit/check_backend.c \
	tests/unit/backend/test_http1.c tests/unit/backend/test_router.c \
	tests/unit/backend/test_ev.c tests/unit/backend/test_range.c tests/unit/backend/test_crashrec.c \
	backend/http1.c backend/router.c backend/modules/range.c backend/crashrec.c
tests_unit_check_backend_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_backend_LDADD = tests/unit/libtestutil.la common/libcommon.la $(CHECK_LIBS) \
	$(OPENSSL_LIBS) $(LIBCONFIG_LIBS) $(LIBSECCOMP_LIBS)
TESTS += tests/unit/check_backend
endif

# Integration tests of the backend alone (curl, raw sockets, PROXY headers).
TESTS += tests/integration/backend_http.py tests/integration/backend_dotfiles.py
EXTRA_DIST += tests/integration/backend_http.py tests/integration/backend_dotfiles.py
TESTS += tests/integration/backend_module.sh
EXTRA_DIST += tests/integration/backend_module.sh doc/examples/greet.c doc/modules.md

# A module for the integration tests only: async answers, watchers, aborts.
check_LTLIBRARIES += tests/modules/asynctest.la
tests_modules_asynctest_la_SOURCES = tests/unit/backend/mod_async.c
tests_modules_asynctest_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
# A module for the integration tests only: the connect hook, init's identity.
check_LTLIBRARIES += tests/modules/hooktest.la
tests_modules_hooktest_la_SOURCES = tests/unit/backend/mod_hook.c
tests_modules_hooktest_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
TESTS += tests/integration/backend_hooks.py
EXTRA_DIST += tests/integration/backend_hooks.py
# A module for the integration tests only: the request API and the mount's settings.
check_LTLIBRARIES += tests/modules/requesttest.la
tests_modules_requesttest_la_SOURCES = tests/modules/mod_request.c
tests_modules_requesttest_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
TESTS += tests/integration/module_api.py
EXTRA_DIST += tests/integration/module_api.py
# A module for the fault tests only: SIGSEGV in its handler on .../boom.
check_LTLIBRARIES += tests/modules/crashtest.la
tests_modules_crashtest_la_SOURCES = tests/unit/backend/mod_crash.c
tests_modules_crashtest_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
# Fault injection under load (issue 13): master death, spread over workers,
# fd exhaustion, crash loops, a full log disk. Each bounded well under 60 s.
FAULT_BE_TESTS = tests/integration/fault_be_master.py tests/integration/fault_be_spread.py \
	tests/integration/fault_be_emfile.py tests/integration/fault_be_crash.py \
	tests/integration/fault_be_logfull.py
TESTS += $(FAULT_BE_TESTS)
EXTRA_DIST += $(FAULT_BE_TESTS) tests/integration/fault_be_util.py
EXTRA_DIST += tests/fuzz/http1.dict
