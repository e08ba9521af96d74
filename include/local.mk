# SPDX-License-Identifier: BSD-2-Clause
# The public module API: one header and its pkg-config file. The header goes
# to $(includedir)/bactrian/module.h: modules write #include <bactrian/module.h>.
bactrianincludedir = $(includedir)/bactrian
bactrianinclude_HEADERS = include/bactrian/module.h
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = include/bactrian-module.pc
EXTRA_DIST += include/bactrian-module.pc.in
