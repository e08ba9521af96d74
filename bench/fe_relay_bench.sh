#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Relay cost: frontend CPU per echoed 64-byte WebSocket message, wss
# (bench/fe_wsload.py, TLS 1.3: the record layer) and plain ws (bench/wsbench,
# splice), for one or more builds in alternating rounds on the same machine
# (take medians: a shared machine's figures vary by 10-50% from round to
# round). CPU is utime+stime+cutime+cstime of the frontend master and its
# live children, before and after each load (1 s after, so children of
# closed clients are reaped and counted).
#
# Usage: sh bench/fe_relay_bench.sh ROUNDS SECONDS BUILD_DIR [BUILD_DIR...]
# e.g. git worktree add /tmp/base <commit>, build there, then
#   sh bench/fe_relay_bench.sh 5 5 /tmp/base "$PWD"
set -eu
ROUNDS=$1; DUR=$2; shift 2
PY=/usr/bin/python3
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
WSBENCH=${WSBENCH:-$1/bench/wsbench} # the load generator of the first build
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# utime+stime+cutime+cstime of the frontend master and its live descendants
ticks() {
    t=0
    for p in $1 $(pgrep -P "$1" || true); do
        [ -r /proc/$p/stat ] || continue
        v=$(sed 's/^.*) //' /proc/$p/stat | awk '{print $12+$13+$14+$15}')
        t=$((t+v))
    done
    echo $t
}
start() { # build tmp -> sets FEPID PPORT TPORT BEPID
    B=$1; T=$2; mkdir -p $T
    PPORT=$(free_port); TPORT=$(free_port)
    cat >$T/b.conf <<CONF
frontend: {
    pid_file = "$T/fe.pid"; error_log = "$T/fe.log"; log_level = "warn";
    max_children = 200; min_spare = 8; max_spare = 64; per_ip_max = 0; idle_timeout = 3600;
    services = ( { port = $PPORT; bind = [ "127.0.0.1" ]; },
                 { port = $TPORT; bind = [ "127.0.0.1" ]; tls = true; } );
    tls = { default_vhost = "localhost"; };
};
vhosts = ( { name = "localhost"; cert = "$B/run/certs/localhost.crt"; key = "$B/run/certs/localhost.key"; } );
backend: {
    socket = "$T/be.sock"; socket_proxy_protocol = "optional"; socket_mode = "0666";
    pid_file = "$T/be.pid"; error_log = "$T/be.log"; log_level = "warn";
    workers = 1; idle_timeout = 3600;
    module_dir = "$B/backend/modules/.libs";
    modules = ( { module = "echo"; path = "/echo"; ping_interval = 0; }, { module = "hello"; path = "/"; } );
};
CONF
    $B/backend/bactrian-backend -f -c $T/b.conf >$T/be.out 2>>$T/be.err </dev/null & BEPID=$!
    for k in $(seq 50); do [ -S $T/be.sock ] && break; sleep 0.1; done
    $B/frontend/bactrian-frontend -f -c $T/b.conf >$T/fe.out 2>>$T/fe.err </dev/null & FEPID=$!
    sleep 1.5
}
i=0
for b in "$@"; do
    start $b $WORK/s$i
    eval "FE$i=$FEPID BE$i=$BEPID PP$i=$PPORT TP$i=$TPORT"
    i=$((i+1))
done
trap 'kill $FE0 $BE0 ${FE1:-0} ${BE1:-0} 2>/dev/null || true; sleep 0.5; rm -rf "$WORK"' EXIT
for r in $(seq $ROUNDS); do
    i=0
    for b in "$@"; do
        eval "FE=\$FE$i PP=\$PP$i TP=\$TP$i"
        t0=$(ticks $FE)
        out=$($PY $SRC/bench/fe_wsload.py $TP 10 $DUR 64)
        sleep 1; t1=$(ticks $FE)
        n=$(echo "$out" | sed 's/.*(\([0-9]*\) msgs).*/\1/')
        wss=$(awk -v t=$((t1-t0)) -v n=$n -v hz=$(getconf CLK_TCK) 'BEGIN{printf "%.2f", t/hz*1e6/n}')
        t0=$(ticks $FE)
        out=$($WSBENCH -p $PP -P /echo -c 10 -s 64 -d 4 -t $DUR)
        sleep 1; t1=$(ticks $FE)
        n=$(echo "$out" | sed -n 's/.*msgs \([0-9]*\).*/\1/p')
        ws=$(awk -v t=$((t1-t0)) -v n=$n -v hz=$(getconf CLK_TCK) 'BEGIN{printf "%.2f", t/hz*1e6/n}')
        echo "round $r build $b: wss us/msg $wss  plain us/msg $ws ($n msgs)"
        i=$((i+1))
    done
done
