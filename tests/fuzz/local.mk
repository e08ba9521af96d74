# SPDX-License-Identifier: BSD-2-Clause
# tests/fuzz/: libFuzzer targets, one per parser that reads bytes from the
# network. --enable-fuzz compiles every object with -fsanitize=fuzzer-no-link
# (configure.ac), so they link the daemons' own libraries.
# Build: ./configure CC=clang --enable-fuzz && make fuzz-smoke (60 s each),
# or run one longer: tests/fuzz/fuzz_http1 -max_total_time=600 corpus-dir/
EXTRA_DIST += tests/fuzz/fuzz_proxy.c tests/fuzz/fuzz_http1.c tests/fuzz/fuzz_ws_frame.c \
	tests/fuzz/fuzz_utf8.c tests/fuzz/fuzz_tlsrec.c tests/fuzz/README.md \
	tests/fuzz/fuzz_ws_deflate.c tests/fuzz/fuzz_ws_handshake.c tests/fuzz/fuzz_range.c \
	tests/fuzz/ws_handshake.dict tests/fuzz/ws_deflate.dict tests/fuzz/range.dict \
	tests/fuzz/http1.dict tests/fuzz/fuzz_json.c tests/fuzz/fuzz_ws_handoff.c \
	tests/fuzz/uptok.h tests/fuzz/fuzz_upgrade_record.c tests/fuzz/fuzz_upgrade_report.c \
	tests/fuzz/upgrade_record.dict tests/fuzz/upgrade_report.dict \
	tests/fuzz/seeds/upgrade_record/full tests/fuzz/seeds/upgrade_report/full
if FUZZ
FUZZERS = tests/fuzz/fuzz_proxy tests/fuzz/fuzz_http1 tests/fuzz/fuzz_ws_frame tests/fuzz/fuzz_utf8 \
	tests/fuzz/fuzz_tlsrec tests/fuzz/fuzz_ws_deflate tests/fuzz/fuzz_ws_handshake \
	tests/fuzz/fuzz_range tests/fuzz/fuzz_json tests/fuzz/fuzz_ws_handoff \
	tests/fuzz/fuzz_upgrade_record tests/fuzz/fuzz_upgrade_report
noinst_PROGRAMS += $(FUZZERS)
FUZZ_LDADD = common/libcommon.la $(OPENSSL_LIBS) $(ZLIB_LIBS) $(LIBCONFIG_LIBS) $(LIBSECCOMP_LIBS)
tests_fuzz_fuzz_proxy_SOURCES = tests/fuzz/fuzz_proxy.c
tests_fuzz_fuzz_proxy_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_proxy_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_http1_SOURCES = tests/fuzz/fuzz_http1.c
tests_fuzz_fuzz_http1_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_http1_LDADD = backend/libbackend.la $(FUZZ_LDADD)
tests_fuzz_fuzz_ws_frame_SOURCES = tests/fuzz/fuzz_ws_frame.c
tests_fuzz_fuzz_ws_frame_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_ws_frame_LDADD = backend/libws.la $(FUZZ_LDADD)
tests_fuzz_fuzz_utf8_SOURCES = tests/fuzz/fuzz_utf8.c
tests_fuzz_fuzz_utf8_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_utf8_LDADD = backend/libws.la $(FUZZ_LDADD)
tests_fuzz_fuzz_tlsrec_SOURCES = tests/fuzz/fuzz_tlsrec.c
tests_fuzz_fuzz_tlsrec_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_tlsrec_LDADD = frontend/libfrontend.la $(FUZZ_LDADD)
tests_fuzz_fuzz_ws_deflate_SOURCES = tests/fuzz/fuzz_ws_deflate.c
tests_fuzz_fuzz_ws_deflate_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_ws_deflate_LDADD = backend/libws.la $(FUZZ_LDADD)
tests_fuzz_fuzz_ws_handshake_SOURCES = tests/fuzz/fuzz_ws_handshake.c
tests_fuzz_fuzz_ws_handshake_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_ws_handshake_LDADD = backend/libws.la $(FUZZ_LDADD)
tests_fuzz_fuzz_ws_handoff_SOURCES = tests/fuzz/fuzz_ws_handoff.c
tests_fuzz_fuzz_ws_handoff_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_ws_handoff_LDADD = backend/libws.la $(FUZZ_LDADD)
tests_fuzz_fuzz_upgrade_record_SOURCES = tests/fuzz/fuzz_upgrade_record.c
tests_fuzz_fuzz_upgrade_record_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_upgrade_record_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_upgrade_report_SOURCES = tests/fuzz/fuzz_upgrade_report.c
tests_fuzz_fuzz_upgrade_report_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_upgrade_report_LDADD = frontend/libfrontend.la $(FUZZ_LDADD)
tests_fuzz_fuzz_range_SOURCES = tests/fuzz/fuzz_range.c backend/modules/range.c
# own object names: range.c is also built with libtool into static.la
tests_fuzz_fuzz_range_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_range_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_range_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_json_SOURCES = tests/fuzz/fuzz_json.c backend/modules/json.c
# own object names: json.c is also built with libtool into echo.la and chat.la
tests_fuzz_fuzz_json_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_json_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_json_LDADD = $(FUZZ_LDADD)

FUZZ_SECONDS = 60
fuzz-smoke: $(FUZZERS)
	@for f in $(FUZZERS); do \
	  echo "== $$f ($(FUZZ_SECONDS) s)"; \
	  mkdir -p fuzz-corpus/$$(basename $$f); \
	  dict=$(srcdir)/tests/fuzz/$$(basename $$f | sed 's/^fuzz_//').dict; \
	  [ -f $$dict ] && dict=-dict=$$dict || dict=; \
	  seeds=$(srcdir)/tests/fuzz/seeds/$$(basename $$f | sed 's/^fuzz_//'); \
	  [ -d $$seeds ] || seeds=; \
	  ./$$f $$dict -max_total_time=$(FUZZ_SECONDS) fuzz-corpus/$$(basename $$f) $$seeds \
	    > fuzz-corpus/$$(basename $$f).log 2>&1; rc=$$?; \
	  grep -E '^Done|ERROR|SUMMARY' fuzz-corpus/$$(basename $$f).log; \
	  [ $$rc -eq 0 ] || exit 1; \
	done
endif
.PHONY: fuzz-smoke
