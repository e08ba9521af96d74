# SPDX-License-Identifier: BSD-2-Clause
# The hostile-child test (tests/integration/sandbox_hostile.py): attacker
# actions run inside a real confined frontend child and backend worker.

# The frontend with a strong fe_test_hook (frontend/child.h); same objects.
check_PROGRAMS += tests/hostile/bactrian-frontend-hostile
tests_hostile_bactrian_frontend_hostile_SOURCES = frontend/main.c tests/hostile/fe_hook.c \
	tests/hostile/actions.c tests/hostile/actions.h
tests_hostile_bactrian_frontend_hostile_LDADD = frontend/libfrontend.la common/libcommon.la \
	$(OPENSSL_LIBS) $(ZLIB_LIBS) $(LIBCONFIG_LIBS) $(LIBSECCOMP_LIBS)

# The backend test module: GET /hostile?do=ACTION&arg=ARG.
check_LTLIBRARIES += tests/modules/hostile.la
tests_modules_hostile_la_SOURCES = tests/hostile/mod_hostile.c tests/hostile/actions.c \
	tests/hostile/actions.h
tests_modules_hostile_la_CFLAGS = $(AM_CFLAGS)
tests_modules_hostile_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere

TESTS += tests/integration/sandbox_hostile.py
EXTRA_DIST += tests/integration/sandbox_hostile.py
