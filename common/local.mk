# SPDX-License-Identifier: BSD-2-Clause
# libcommon: code shared by both daemons (static, not installed).
noinst_LTLIBRARIES += common/libcommon.la
common_libcommon_la_SOURCES = \
	common/xalloc.c common/xalloc.h \
	common/buf.c common/buf.h common/byteorder.h \
	common/log.c common/log.h \
	common/net.c common/net.h \
	common/baddr.c common/baddr.h \
	common/cidr.c common/cidr.h \
	common/ratelimit.c common/ratelimit.h \
	common/pidfile.c common/pidfile.h \
	common/listeners.c common/listeners.h \
	common/supervise.c common/supervise.h \
	common/upgrade.c common/upgrade.h \
	common/upgrade_report.c common/upgrade_report.h \
	common/words.c common/words.h \
	common/proc.c common/proc.h \
	common/cfg.c common/cfg.h common/cfg_int.h \
	common/cfg_parse.c common/cfg_value.c common/cfg_check.c \
	common/cli.c common/cli.h \
	common/daemon.c common/daemon.h \
	common/proxy.c common/proxy.h \
	common/sbfile.c common/sbfile.h \
	common/sandbox.c common/sandbox.h \
	common/sandbox_rules.c common/sandbox_rules.h \
	common/landlock.c common/landlock.h
common_libcommon_la_LIBADD = $(OPENSSL_LIBS) $(ZLIB_LIBS) $(LIBCONFIG_LIBS) $(LIBSECCOMP_LIBS)
# The event loop (backend workers; usable by anyone).
common_libcommon_la_SOURCES += common/ev.c common/ev.h
