# rules for bench/
EXTRA_DIST += bench/http_bench.sh bench/nginx-http.conf
EXTRA_DIST += bench/fe_bench.sh bench/nginx-proxy.conf bench/fe_idle.py bench/fe_wsload.py
EXTRA_DIST += bench/fe_refuse.py bench/be_faults.py
