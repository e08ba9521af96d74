# bactrian-backend
sbin_PROGRAMS += backend/bactrian-backend
backend_bactrian_backend_SOURCES = \
	backend/main.c \
	backend/master.c backend/master.h \
	backend/worker.c backend/worker.h \
	backend/conn.c backend/conn.h \
	backend/http.c backend/http.h \
	backend/http1.c backend/http1.h \
	backend/router.c backend/router.h \
	backend/modset.c backend/modset.h \
	backend/ws_upgrade_stub.c
backend_bactrian_backend_LDADD = common/libcommon.la $(OPENSSL_LIBS) $(ZLIB_LIBS) $(LIBCONFIG_LIBS)
# Modules resolve the backend's API symbols from the executable.
backend_bactrian_backend_LDFLAGS = $(AM_LDFLAGS) -export-dynamic
