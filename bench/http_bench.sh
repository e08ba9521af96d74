#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# HTTP benchmark: wrk against bactrian-backend's TCP listener and against
# nginx (the Debian package) serving the same 1 KiB file and a fixed
# response, with the same number of worker processes, keep-alive, 100
# connections. Prints requests/s and the servers' CPU time per request (user +
# system of master and workers, from /proc/PID/stat over each run).
# Not a test: figures depend on what else runs on the machine.
#
#   bench/http_bench.sh BUILDDIR   (WORKERS=1 DURATION=10 CONNS=100 THREADS=2 ROUNDS=3)
#
# Each round runs the four cases back to back, alternating which server goes
# first; the summary uses the median of the rounds, so a burst of load from
# elsewhere on the machine skews one round, not the result.
set -eu
B=$(cd "${1:-.}" && pwd)
S=$(cd "$(dirname "$0")/.." && pwd)
WORKERS=${WORKERS:-1}
DURATION=${DURATION:-10}
CONNS=${CONNS:-100}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
T=$(mktemp -d "${TMPDIR:-/tmp}/bactrian-bench-XXXXXX")
chmod 755 "$T"
mkdir -p "$T/www"
head -c 1024 /dev/zero | tr '\0' 'a' > "$T/www/1k.txt"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
BPORT=$(free_port)
NPORT=$(free_port)
bpid= npid=
cleanup() {
    [ -n "$bpid" ] && kill -TERM "$bpid" 2>/dev/null && wait "$bpid" 2>/dev/null
    [ -n "$npid" ] && kill -QUIT "$npid" 2>/dev/null && wait "$npid" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

cat > "$T/backend.conf" <<EOC
backend: {
    socket = "$T/backend.sock"; pid_file = "$T/backend.pid"; error_log = "$T/backend.log";
    log_level = "warn"; workers = $WORKERS; module_dir = "$B/backend/modules/.libs";
    keepalive_requests = 100000;
    listen = ( { address = "127.0.0.1"; port = $BPORT; } );
    modules = ( { module = "static"; path = "/"; root = "$T/www"; },
                { module = "hello"; path = "/hello"; } );
};
EOC
sed -e "s|@TMP@|$T|g" -e "s|@ROOT@|$T/www|g" -e "s|@PORT@|$NPORT|g" -e "s|@WORKERS@|$WORKERS|g" \
    "$S/bench/nginx-http.conf" > "$T/nginx.conf"

"$B/backend/bactrian-backend" -f -c "$T/backend.conf" </dev/null >/dev/null 2>&1 &
bpid=$!
/usr/sbin/nginx -c "$T/nginx.conf" -p "$T" </dev/null >/dev/null 2>&1 &
npid=$!
for i in $(seq 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$BPORT/1k.txt" &&
        curl -fs -o /dev/null "http://127.0.0.1:$NPORT/1k.txt" && break
    sleep 0.1
done

# CPU ticks (utime + stime) of a master and its children
ticks() {
    pids="$1 $(pgrep -P "$1" | tr '\n' ' ')"
    t=0
    for p in $pids; do
        v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)
        t=$((t + v))
    done
    echo $t
}
HZ=$(getconf CLK_TCK)

run() { # name, master pid, url
    before=$(ticks "$2")
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "$3")
    after=$(ticks "$2")
    rps=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
    reqs=$(echo "$out" | awk '/requests in/ { print $1 }')
    errs=$(echo "$out" | awk '/Non-2xx|Socket errors/ { print }' | tr '\n' ' ')
    cpu=$(awk -v a="$after" -v b="$before" -v hz="$HZ" 'BEGIN { printf "%.2f", (a - b) / hz }')
    us=$(awk -v a="$after" -v b="$before" -v hz="$HZ" -v n="$reqs" \
        'BEGIN { printf "%.2f", n ? (a - b) / hz / n * 1e6 : 0 }')
    printf '%-22s %12s req/s %10s requests  cpu %6ss  %6s us/req %s\n' "$1" "$rps" "$reqs" "$cpu" "$us" "$errs"
    eval "RPS_$4=$rps; US_$4=$us"
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "wrk -t$THREADS -c$CONNS -d${DURATION}s, keep-alive, $WORKERS worker process(es) each, $(nproc) cores, $ROUNDS rounds"
all_bs= all_ns= all_bm= all_nm= cpu_bs= cpu_ns= cpu_bm= cpu_nm=
for round in $(seq "$ROUNDS"); do
    echo "round $round:"
    if [ $((round % 2)) -eq 1 ]; then
        run "  bactrian static 1KiB" "$bpid" "http://127.0.0.1:$BPORT/1k.txt" bs
        run "  nginx static 1KiB" "$npid" "http://127.0.0.1:$NPORT/1k.txt" ns
        run "  bactrian module" "$bpid" "http://127.0.0.1:$BPORT/hello" bm
        run "  nginx return" "$npid" "http://127.0.0.1:$NPORT/hello" nm
    else
        run "  nginx static 1KiB" "$npid" "http://127.0.0.1:$NPORT/1k.txt" ns
        run "  bactrian static 1KiB" "$bpid" "http://127.0.0.1:$BPORT/1k.txt" bs
        run "  nginx return" "$npid" "http://127.0.0.1:$NPORT/hello" nm
        run "  bactrian module" "$bpid" "http://127.0.0.1:$BPORT/hello" bm
    fi
    all_bs="$all_bs $RPS_bs" all_ns="$all_ns $RPS_ns" all_bm="$all_bm $RPS_bm" all_nm="$all_nm $RPS_nm"
    cpu_bs="$cpu_bs $US_bs" cpu_ns="$cpu_ns $US_ns" cpu_bm="$cpu_bm $US_bm" cpu_nm="$cpu_nm $US_nm"
done
mbs=$(echo "$all_bs" | median) mns=$(echo "$all_ns" | median)
mbm=$(echo "$all_bm" | median) mnm=$(echo "$all_nm" | median)
cbs=$(echo "$cpu_bs" | median) cns=$(echo "$cpu_ns" | median)
cbm=$(echo "$cpu_bm" | median) cnm=$(echo "$cpu_nm" | median)
echo "medians:"
printf '  static 1KiB  bactrian %10s req/s %6s us/req   nginx %10s req/s %6s us/req\n' "$mbs" "$cbs" "$mns" "$cns"
printf '  fixed resp.  bactrian %10s req/s %6s us/req   nginx %10s req/s %6s us/req\n' "$mbm" "$cbm" "$mnm" "$cnm"
awk -v a="$mbs" -v b="$mns" -v c="$cbs" -v d="$cns" \
    'BEGIN { printf "static: bactrian/nginx req/s ratio %.3f, cpu/req ratio %.3f\n", a / b, c / d }'
awk -v a="$mbm" -v b="$mnm" -v c="$cbm" -v d="$cnm" \
    'BEGIN { printf "fixed:  bactrian/nginx req/s ratio %.3f, cpu/req ratio %.3f\n", a / b, c / d }'
