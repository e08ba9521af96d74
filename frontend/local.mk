# bactrian-frontend
sbin_PROGRAMS += frontend/bactrian-frontend
frontend_bactrian_frontend_SOURCES = \
	frontend/main.c \
	frontend/master.c frontend/master.h \
	frontend/child.c frontend/child.h \
	frontend/relay.c frontend/relay.h \
	frontend/scoreboard.c frontend/scoreboard.h \
	frontend/tls.c frontend/tls.h
frontend_bactrian_frontend_LDADD = common/libcommon.la $(OPENSSL_LIBS) $(ZLIB_LIBS) $(LIBCONFIG_LIBS)
