# bactrian-frontend
sbin_PROGRAMS += frontend/bactrian-frontend
frontend_bactrian_frontend_SOURCES = \
	frontend/main.c \
	frontend/master.c frontend/master.h
frontend_bactrian_frontend_LDADD = common/libcommon.la $(OPENSSL_LIBS) $(ZLIB_LIBS) $(LIBCONFIG_LIBS)
