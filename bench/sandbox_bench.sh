#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# What confinement costs per message (common/sandbox.h): two full stacks
# (frontend -> backend echo module) in the same run, one confined, one started
# with BACTRIAN_UNCONFINED=1, measured in alternating rounds: ws echo through
# the frontend's plain service (wsbench) and wss echo through its TLS service
# (bench/fe_wsload.py). The figure that matters is the servers' CPU time per
# message (utime+stime of every frontend and backend process, reaped children
# included), which does not depend on the load generator's speed.
#
# Usage (from a build directory, after make and make bench/wsbench):
#   sh ../bench/sandbox_bench.sh [seconds] [connections]
# Environment: ROUNDS (default 3), SERVER_CPUS (default 0), CLIENT_CPUS (default 1).
set -eu
DUR=${1:-5}
CONNS=${2:-50}
ROUNDS=${ROUNDS:-3}
SERVER_CPUS=${SERVER_CPUS:-0}
CLIENT_CPUS=${CLIENT_CPUS:-1}
BUILD=$(pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
FRONTEND=$BUILD/frontend/bactrian-frontend
BACKEND=$BUILD/backend/bactrian-backend
WSBENCH=$BUILD/bench/wsbench
PY=/usr/bin/python3
[ -x "$FRONTEND" ] && [ -x "$BACKEND" ] && [ -x "$WSBENCH" ] ||
    { echo "run from a build directory after make and make bench/wsbench" >&2; exit 2; }
TMP=$(mktemp -d)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    sleep 1
    rm -rf "$TMP"
}
trap cleanup EXIT
trap "exit 1" INT TERM
free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() { # name env: starts one stack, sets PORT_<name>, TPORT_<name>, FE_<name>, BE_<name>
    name=$1 envv=$2 d=$TMP/$1
    mkdir -p "$d"
    p=$(free_port) tp=$(free_port)
    cat >"$d/b.conf" <<CONF
frontend: {
    pid_file = "$d/fe.pid"; error_log = "$d/fe.log"; log_level = "warn";
    min_spare = 8; max_spare = 64; max_children = 512; per_ip_max = 0; idle_timeout = 3600;
    services = ( { port = $p; bind = [ "127.0.0.1" ]; tls = false; },
                 { port = $tp; bind = [ "127.0.0.1" ]; tls = true; } );
    tls = { default_vhost = "localhost"; };
};
vhosts = ( { name = "localhost"; cert = "$BUILD/run/certs/localhost.crt";
             key = "$BUILD/run/certs/localhost.key"; } );
backend: {
    socket = "$d/be.sock"; socket_proxy_protocol = "optional"; pid_file = "$d/be.pid";
    error_log = "$d/be.log"; log_level = "warn"; workers = 1;
    module_dir = "$BUILD/backend/modules/.libs";
    modules = ( { module = "echo"; path = "/echo"; ping_interval = 0; } );
};
CONF
    env $envv taskset -c "$SERVER_CPUS" "$BACKEND" -f -c "$d/b.conf" 2>>"$d/be.log" &
    eval "BE_$name=$!"
    PIDS="$PIDS $!"
    sleep 0.5
    env $envv taskset -c "$SERVER_CPUS" "$FRONTEND" -f -c "$d/b.conf" 2>>"$d/fe.log" &
    eval "FE_$name=$!"
    PIDS="$PIDS $!"
    eval "PORT_$name=$p TPORT_$name=$tp"
}

# CPU ticks of a master (its own, and its reaped children's) and its live children.
ticks() {
    t=0
    for m in "$@"; do
        v=$(sed 's/^.*) //' "/proc/$m/stat" | awk '{print $12 + $13 + $14 + $15}')
        t=$((t + v))
        for c in $(pgrep -P "$m" || true); do
            v=$(sed 's/^.*) //' "/proc/$c/stat" 2>/dev/null | awk '{print $12 + $13}')
            [ -n "$v" ] || continue
            t=$((t + v))
        done
    done
    echo "$t"
}
HZ=$(getconf CLK_TCK)

measure() { # name kind
    name=$1 kind=$2
    eval "fe=\$FE_$name be=\$BE_$name port=\$PORT_$name tport=\$TPORT_$name"
    t0=$(ticks "$fe" "$be")
    if [ "$kind" = ws ]; then
        out=$(taskset -c "$CLIENT_CPUS" "$WSBENCH" -p "$port" -P /echo -c "$CONNS" -s 64 -d 1 \
              -t "$DUR" -w 0 2>&1 | grep '^msgs/s') || true
        msgs=$(printf '%s\n' "$out" | sed 's/.* msgs \([0-9]*\).*/\1/')
        rate=$(printf '%s\n' "$out" | awk '{print $2}')
    else
        out=$(taskset -c "$CLIENT_CPUS" $PY "$SRC/bench/fe_wsload.py" "$tport" "$CONNS" "$DUR" 64)
        rate=$(echo "$out" | awk '{print $2}')
        msgs=$(awk -v r="$rate" -v d="$DUR" 'BEGIN { printf "%d", r * d }')
    fi
    # Let the connections' children exit and be reaped: their time is then
    # in the master's cutime, counted in this run and not in the next one.
    sleep 2
    t1=$(ticks "$fe" "$be")
    us=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v m="$msgs" \
        'BEGIN { if (m > 0) printf "%.2f", d / hz * 1e6 / m; else print "-" }')
    printf '%-10s %-4s %10s %12s\n' "$name" "$kind" "$rate" "$us"
    echo "$name $kind $us" >>"$TMP/figures"
}

start confined ""
start unconfined "BACTRIAN_UNCONFINED=1"
sleep 1
echo "64 B echo through the frontend, $CONNS connections, ${DUR}s runs, $ROUNDS rounds"
printf '%-10s %-4s %10s %12s\n' stack kind msgs/s "CPU/msg us"
for r in $(seq "$ROUNDS"); do
    for kind in ws wss; do
        measure confined $kind
        measure unconfined $kind
    done
done
echo "medians (CPU us per message):"
for kind in ws wss; do
    c=$(awk -v k=$kind '$1 == "confined" && $2 == k {print $3}' "$TMP/figures" | sort -n |
        awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    u=$(awk -v k=$kind '$1 == "unconfined" && $2 == k {print $3}' "$TMP/figures" | sort -n |
        awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    awk -v k=$kind -v c="$c" -v u="$u" \
        'BEGIN { printf "%-4s confined %s, unconfined %s: %+.1f%%\n", k, c, u, (c / u - 1) * 100 }'
done
