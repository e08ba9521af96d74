# Unit tests (Check) and integration tests (real daemons, real clients).
if HAVE_CHECK
check_LTLIBRARIES += tests/unit/libtestutil.la
tests_unit_libtestutil_la_SOURCES = tests/unit/testutil.c tests/unit/testutil.h
tests_unit_libtestutil_la_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)

check_PROGRAMS += tests/unit/check_common
tests_unit_check_common_SOURCES = tests/unit/check_common.c \
	tests/unit/common/test_config.c tests/unit/common/test_buf.c \
	tests/unit/common/test_net.c tests/unit/common/test_pidfile.c \
	tests/unit/common/test_log.c tests/unit/common/test_proxy.c \
	tests/unit/common/test_proc.c tests/unit/common/test_sbfile.c \
	tests/unit/common/test_sandbox.c tests/unit/common/test_cidr.c
tests_unit_check_common_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_common_LDADD = tests/unit/libtestutil.la common/libcommon.la $(CHECK_LIBS) \
	$(OPENSSL_LIBS) $(LIBCONFIG_LIBS) $(LIBSECCOMP_LIBS)
TESTS += tests/unit/check_common
endif

# Integration tests: each file is one test run by the harness.
TESTS += tests/integration/cli.sh
EXTRA_DIST += tests/integration/cli.sh
EXTRA_DIST += tests/integration/harness.py

# Operations tests keep their own fragment.
include tests/integration/ops_tests.mk
