#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Full-path benchmark: client -> bactrian-frontend -> bactrian-backend against
# client -> nginx (TLS, proxy_pass to the backend's Unix socket, upgrade
# headers; bench/nginx-proxy.conf) -> the same backend, in the same run.
# Servers (proxy and backend) are pinned to SERVER_CPUS, the load generators
# to CLIENT_CPUS, so both proxies get the same core budget.
#
# Figures: HTTPS requests/s with keep-alive (wrk), new TLS connections/s (wrk
# with Connection: close), wss echo msgs/s and p99 (when the backend has the
# echo module), and memory per idle client (PSS of every proxy process plus
# every backend process, minus the same sum before the clients came, divided
# by the number of clients) at each count of IDLE; then the ratios bactrian/nginx.
#
# Usage (from a build directory, after make):
#   sh ../bench/fe_bench.sh [seconds] ["1000 9500"]
# (9,500: nginx counts client and upstream connections against one 20,000 fd
# limit on this machine, and fails above about 9,500 idle proxied clients.)
# Environment: CONNS (wrk connections, default 50), SERVER_CPUS (default 0),
# CLIENT_CPUS (default 1), NGINX_WORKERS (default 1), ROUNDS (default 3: this
# machine's figures vary by some 10% from run to run).
set -eu
DUR=${1:-10}
IDLE=${2:-"1000 9500"}
CONNS=${CONNS:-50}
SERVER_CPUS=${SERVER_CPUS:-0}
CLIENT_CPUS=${CLIENT_CPUS:-1}
NGINX_WORKERS=${NGINX_WORKERS:-1}
ROUNDS=${ROUNDS:-3}
BUILD=$(pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
FRONTEND=$BUILD/frontend/bactrian-frontend
BACKEND=$BUILD/backend/bactrian-backend
PY=/usr/bin/python3
[ -x "$FRONTEND" ] && [ -x "$BACKEND" ] || { echo "run from a build directory after make" >&2; exit 2; }
for t in wrk nginx taskset; do
    command -v $t >/dev/null || { echo "$t is needed" >&2; exit 2; }
done
ulimit -n 20000 2>/dev/null || true

TMP=$(mktemp -d)
chmod 755 "$TMP" # nginx workers run as nobody and must reach the socket
PIDS=""
cleanup() {
    touch "$TMP/stop"
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    sleep 1
    if [ -n "${KEEP:-}" ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap "exit 1" INT TERM

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
CERT=$BUILD/run/certs/localhost.crt
KEY=$BUILD/run/certs/localhost.key
FEPORT=$(free_port)
NGPORT=$(free_port)
ECHO=""
MODE=https
if [ -e "$BUILD/backend/modules/.libs/echo.so" ]; then
    ECHO='{ module = "echo"; path = "/echo"; },'
    MODE=wss
fi
cat >"$TMP/bactrian.conf" <<CONF
frontend: {
    pid_file = "$TMP/frontend.pid"; error_log = "$TMP/frontend.log"; log_level = "warn";
    max_children = 10100; min_spare = 32; max_spare = 256; per_ip_max = 0;
    idle_timeout = 3600;
    services = ( { port = $FEPORT; bind = [ "127.0.0.1" ]; tls = true; } );
    tls = { default_vhost = "localhost"; };
};
vhosts = ( { name = "localhost"; cert = "$CERT"; key = "$KEY"; } );
backend: {
    socket = "$TMP/backend.sock"; socket_proxy_protocol = "optional"; socket_mode = "0666";
    pid_file = "$TMP/backend.pid"; error_log = "$TMP/backend.log"; log_level = "warn";
    workers = 1; idle_timeout = 3600;
    module_dir = "$BUILD/backend/modules/.libs";
    modules = ( $ECHO { module = "hello"; path = "/"; } );
};
CONF
sed -e "s|@WORKERS@|$NGINX_WORKERS|; s|@TMP@|$TMP|g; s|@SOCKET@|$TMP/backend.sock|; s|@PORT@|$NGPORT|" \
    -e "s|@CERT@|$CERT|; s|@KEY@|$KEY|" "$SRC/bench/nginx-proxy.conf" >"$TMP/nginx.conf"

taskset -c "$SERVER_CPUS" "$BACKEND" -f -c "$TMP/bactrian.conf" 2>>"$TMP/backend.log" &
BEPID=$!
PIDS="$PIDS $BEPID"
for i in $(seq 50); do [ -S "$TMP/backend.sock" ] && break; sleep 0.1; done
taskset -c "$SERVER_CPUS" "$FRONTEND" -f -c "$TMP/bactrian.conf" 2>>"$TMP/frontend.log" &
FEPID=$!
PIDS="$PIDS $FEPID"
taskset -c "$SERVER_CPUS" nginx -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" &
NGPID=$!
PIDS="$PIDS $NGPID"
sleep 1

# Every process of one side: the proxy's tree plus the backend's tree.
tree() { echo "$1"; ps -o pid= --ppid "$1"; }
pss_kb() {
    for p in $(tree "$1") $(tree "$BEPID"); do cat /proc/$p/smaps_rollup 2>/dev/null; done |
        awk '/^Pss:/ { s += $2 } END { print s }'
}
wrk_rate() {
    taskset -c "$CLIENT_CPUS" wrk -t1 -c"$CONNS" -d"${DUR}s" "$@" 2>&1 |
        awk '/Requests\/sec/ { r = $2 } /Non-2xx|Socket errors/ { e = e " [" $0 "]" }
             END { printf "%s%s", r, e }'
}

echo "bactrian-frontend (pid $FEPID, port $FEPORT) vs nginx $(nginx -v 2>&1 | sed 's/.*\///')" \
     "(pid $NGPID, port $NGPORT, $NGINX_WORKERS worker), backend pid $BEPID, 1 worker"
echo "servers on CPU $SERVER_CPUS, clients on CPU $CLIENT_CPUS, ${DUR}s per figure, $CONNS connections," \
     "$ROUNDS rounds (the two sides alternate; the ratios use the medians)"
for round in $(seq "$ROUNDS"); do
for side in bactrian nginx; do
    if [ $side = bactrian ]; then PORT=$FEPORT; else PORT=$NGPORT; fi
    URL="https://127.0.0.1:$PORT/"
    echo "== $side (round $round)"
    ka=$(wrk_rate "$URL")
    nc=$(wrk_rate -H 'Connection: close' "$URL")
    echo "https keep-alive requests/s: $ka"
    echo "new TLS connections/s:       $nc"
    echo "$side ka ${ka%% *}" >>"$TMP/figures"
    echo "$side nc ${nc%% *}" >>"$TMP/figures"
    if [ $MODE = wss ]; then
        ws=$(taskset -c "$CLIENT_CPUS" $PY "$SRC/bench/fe_wsload.py" "$PORT" "$CONNS" "$DUR" 64)
        echo "wss echo 64 B, $CONNS conns:   $ws"
        echo "$side wss $(echo "$ws" | awk '{print $2}')" >>"$TMP/figures"
        echo "$side p99 $(echo "$ws" | awk '{print $7}')" >>"$TMP/figures"
    fi
done
done
for n in $IDLE; do
    for side in bactrian nginx; do
        if [ $side = bactrian ]; then PORT=$FEPORT; TOP=$FEPID; else PORT=$NGPORT; TOP=$NGPID; fi
        sleep 2
        base=$(pss_kb $TOP)
        rm -f "$TMP/stop"
        taskset -c "$CLIENT_CPUS" $PY "$SRC/bench/fe_idle.py" "$PORT" "$n" "$MODE" "$TMP/stop" \
            >"$TMP/idle.out" 2>&1 &
        IPID=$!
        for i in $(seq 1200); do
            grep -q ready "$TMP/idle.out" 2>/dev/null && break
            kill -0 $IPID 2>/dev/null || break # the client gave up: its error is printed below
            sleep 0.25
        done
        sleep 3 # let idle relays give their buffers back
        now=$(pss_kb $TOP)
        echo "$side idle$n $(( (now - base) * 1024 / n ))" >>"$TMP/figures"
        echo "idle $MODE clients ($(tail -c 200 "$TMP/idle.out" | tr '\n' ' ')): $side PSS" \
             "$base -> $now kB, $(( (now - base) * 1024 / n )) bytes per client"
        touch "$TMP/stop"
        wait $IPID || true
    done
done
# Ratios, bactrian / nginx (above 1 is better for rates; below 1 is better for
# p99 and bytes per client).
echo "== medians and ratios bactrian/nginx"
for f in ka nc wss p99 $(for n in $IDLE; do echo "idle$n"; done); do
    b=$(awk -v f=$f '$1 == "bactrian" && $2 == f { print $3 }' "$TMP/figures" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }')
    g=$(awk -v f=$f '$1 == "nginx" && $2 == f { print $3 }' "$TMP/figures" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }')
    [ -n "$b" ] && [ -n "$g" ] || continue
    awk -v f=$f -v b=$b -v g=$g 'BEGIN { printf "%-9s bactrian %-10s nginx %-10s ratio %.2f\n", f, b, g, (g > 0 ? b / g : 0) }'
done
