# rules for bench/
EXTRA_DIST += bench/http_bench.sh bench/nginx-http.conf
