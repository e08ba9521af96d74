# SPDX-License-Identifier: BSD-2-Clause
# tests/integration/: each file is one test run against the real daemons
# (harness.py), grouped by the part of the server they drive.
EXTRA_DIST += tests/integration/harness.py
TESTS += tests/integration/cli.sh
EXTRA_DIST += tests/integration/cli.sh

# The backend alone (curl, raw sockets, PROXY headers), its hooks and module API.
BE_IT = tests/integration/backend_http.py tests/integration/backend_dotfiles.py \
	tests/integration/backend_module.sh tests/integration/backend_hooks.py \
	tests/integration/module_api.py tests/integration/be_redis.py \
	tests/integration/be_reload_listeners.py
TESTS += $(BE_IT)
EXTRA_DIST += $(BE_IT)

# Fault injection under load (issue 13): master death, spread over workers,
# fd exhaustion, crash loops, a full log disk. Each bounded well under 60 s.
FAULT_BE_TESTS = tests/integration/fault_be_master.py tests/integration/fault_be_spread.py \
	tests/integration/fault_be_emfile.py tests/integration/fault_be_crash.py \
	tests/integration/fault_be_logfull.py
TESTS += $(FAULT_BE_TESTS)
EXTRA_DIST += $(FAULT_BE_TESTS) tests/integration/fault_be_util.py

# WebSocket: conformance (raw sockets), interop (python websockets), browser,
# chat's Origin check (cross-site WebSocket hijacking), the module API, and
# backend security regressions, and sessions that survive reloads (hand-off).
WS_IT = tests/integration/ws_conformance.py tests/integration/ws_interop.py \
	tests/integration/ws_browser.py tests/integration/ws_origin.py \
	tests/integration/ws_module_api.py tests/integration/ws_security.py \
	tests/integration/ws_close.py tests/integration/ws_keepalive.py \
	tests/integration/ws_handoff.py tests/integration/ws_handoff_redis.py \
	tests/integration/ws_handoff_paths.py \
	tests/integration/be_upgrade.py tests/integration/ws_survive.py
TESTS += $(WS_IT)
EXTRA_DIST += $(WS_IT) tests/integration/ws_browser.js

# Operations (install layout, init scripts, docs, signals).
bx_ops_tests = tests/integration/ops_docs.sh tests/integration/ops_initd.sh tests/integration/ops_license.sh \
	tests/integration/ops_format.sh tests/integration/ops_reload.py tests/integration/ops_makerun.sh
TESTS += $(bx_ops_tests)
EXTRA_DIST += $(bx_ops_tests)

# The frontend with a backend behind it (TLS, pool, relay, reload, faults).
FE_IT = tests/integration/fe_relay.py tests/integration/fe_tls.py \
	tests/integration/fe_pool.py tests/integration/fe_backend.py \
	tests/integration/fe_timeouts.py tests/integration/fe_reload.py \
	tests/integration/fe_wss.py tests/integration/fe_lean.py \
	tests/integration/fe_proxy_tls.py tests/integration/fe_status.py \
	tests/integration/fe_tlsrec.py tests/integration/fe_sbtrust.py \
	tests/integration/fe_access.py tests/integration/fe_keyproc.py \
	tests/integration/fe_backend_pool.py \
	tests/integration/fault_fe_master.py tests/integration/fault_fe_reload.py \
	tests/integration/fault_fe_slow.py tests/integration/fault_fe_refuse.py \
	tests/integration/fault_fe_fdlimit.py tests/integration/fe_upgrade.py
TESTS += $(FE_IT)
EXTRA_DIST += $(FE_IT) tests/integration/fe_util.py

# Session tickets shared by frontends through ticket_secret_file (issue 11.3);
# fe_clock.c makes the frontend whose ticket clock runs ahead of the wall clock.
check_PROGRAMS += tests/integration/bactrian-frontend-clock
tests_integration_bactrian_frontend_clock_SOURCES = frontend/main.c tests/integration/fe_clock.c
tests_integration_bactrian_frontend_clock_LDADD = frontend/libfrontend.la common/libcommon.la \
	$(OPENSSL_LIBS) $(ZLIB_LIBS) $(LIBCONFIG_LIBS) $(LIBSECCOMP_LIBS)
TESTS += tests/integration/fe_ticket_secret.py
EXTRA_DIST += tests/integration/fe_ticket_secret.py

# Several hosts in network namespaces (issue 11.5): needs root and ip netns,
# skips otherwise; netns_util.py makes and removes the hosts.
TESTS += tests/integration/multihost.py
EXTRA_DIST += tests/integration/multihost.py tests/integration/netns_util.py
