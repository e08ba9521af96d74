# The public module API: one header and its pkg-config file.
nobase_include_HEADERS = include/bactrian/module.h
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = include/bactrian-module.pc
EXTRA_DIST += include/bactrian-module.pc.in
