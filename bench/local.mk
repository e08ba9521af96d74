# SPDX-License-Identifier: BSD-2-Clause
# bench/: benchmark scripts and the load generators they run.
EXTRA_DIST += bench/http_bench.sh bench/nginx-http.conf
EXTRA_DIST += bench/fe_keyproc_bench.sh bench/fe_bench.sh bench/nginx-proxy.conf bench/fe_idle.py bench/fe_wsload.py
EXTRA_DIST += bench/fe_refuse.py bench/fe_slowloris.py bench/fe_restart.py bench/be_faults.py
EXTRA_DIST += bench/sandbox_bench.sh bench/fe_relay_bench.sh bench/be_redis.py \
	bench/ws_close_latency.py bench/ws_handoff.py bench/ws_handoff_chat.py \
	bench/ticket_resume.py bench/ws_survive.py

# The seccomp filter's cost per system call, per profile (common/sandbox.h).
noinst_PROGRAMS += bench/sandbox_cost
bench_sandbox_cost_SOURCES = bench/sandbox_cost.c
bench_sandbox_cost_LDADD = common/libcommon.la $(OPENSSL_LIBS) $(ZLIB_LIBS) $(LIBCONFIG_LIBS) \
	$(LIBSECCOMP_LIBS)

# The WebSocket load generator (bench/ws_echo_bench.sh runs it).
noinst_PROGRAMS += bench/wsbench
bench_wsbench_SOURCES = bench/wsbench.c
bench_wsbench_LDADD = $(ZLIB_LIBS)
EXTRA_DIST += bench/node-ws-echo.js bench/ws_echo_bench.sh bench/ws_deflate_mem.py \
	bench/ws_pubsub_bench.py
