#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# WebSocket echo benchmark: bactrian-backend's echo module and Node's `ws`
# (Debian package node-ws) side by side in the same run, with wsbench as the
# load generator, at 64 B and 16 KiB, with and without permessage-deflate.
#
# On two cores the generator saturates before a fast server does, so the
# script also reports the server's CPU time per message, from utime+stime in
# /proc/PID/stat of every server process over the run: that figure does not
# depend on who ran out of CPU first.
#
# Usage (from a build directory, after make):
#   sh ../bench/ws_echo_bench.sh [seconds] [connections]
# Environment: WORKERS (bactrian workers, default 1: node is one process too),
# DEPTH (pipeline depth, default 8).
set -eu
DUR=${1:-5}
CONNS=${2:-50}
WORKERS=${WORKERS:-1}
DEPTH=${DEPTH:-8}
BUILD=$(pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
WSBENCH=$BUILD/bench/wsbench
BACKEND=$BUILD/backend/bactrian-backend
[ -x "$WSBENCH" ] && [ -x "$BACKEND" ] || { echo "run from a build directory after make" >&2; exit 2; }
command -v node >/dev/null || { echo "node is needed (apt-get install nodejs node-ws)" >&2; exit 2; }

TMP=$(mktemp -d)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

BPORT=$(free_port)
cat >"$TMP/be.conf" <<EOF
backend: {
    socket = "$TMP/backend.sock";
    pid_file = "$TMP/backend.pid";
    error_log = "$TMP/backend.log";
    log_level = "warn";
    workers = $WORKERS;
    listen = ( { address = "127.0.0.1"; port = $BPORT; } );
    module_dir = "$BUILD/backend/modules/.libs";
    modules = (
        { module = "echo"; path = "/echo"; ping_interval = 0; },
        { module = "echo"; path = "/echoz"; ping_interval = 0; deflate = true;
          deflate_preset = "max"; deflate_threshold = 1024; }
    );
};
EOF
"$BACKEND" -f -c "$TMP/be.conf" 2>>"$TMP/backend.log" &
BPID=$!
PIDS="$PIDS $BPID"

NPORT=$(free_port)
NZPORT=$(free_port)
node "$SRC/bench/node-ws-echo.js" "$NPORT" >/dev/null &
NPID=$!
node "$SRC/bench/node-ws-echo.js" "$NZPORT" deflate >/dev/null &
NZPID=$!
PIDS="$PIDS $NPID $NZPID"
sleep 1

# CPU ticks (utime + stime) of a process and its children (the workers).
ticks() {
    t=0
    for p in $1 $(pgrep -P "$1" || true); do
        [ -r "/proc/$p/stat" ] || continue
        v=$(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')
        t=$((t + v))
    done
    echo "$t"
}
HZ=$(getconf CLK_TCK)

run() { # name pid port path size deflate
    name=$1 pid=$2 port=$3 path=$4 size=$5 z=$6
    t0=$(ticks "$pid")
    out=$("$WSBENCH" -p "$port" -P "$path" -c "$CONNS" -s "$size" -d "$DEPTH" -t "$DUR" -w 0 $z 2>&1) || true
    t1=$(ticks "$pid")
    line=$(printf '%s\n' "$out" | grep '^msgs/s')
    msgs=$(printf '%s\n' "$line" | sed 's/.* msgs \([0-9]*\).*/\1/')
    rate=$(printf '%s\n' "$line" | awk '{print $2}')
    mbs=$(printf '%s\n' "$line" | awk '{print $4}')
    lat=$(printf '%s\n' "$line" | sed 's/.*p50 \([0-9]*\) p99 \([0-9]*\) p99.9 \([0-9]*\).*/\1\/\2\/\3/')
    errs=$(printf '%s\n' "$line" | sed 's/.*errors \([0-9]*\).*/\1/')
    cpu_us=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v m="$msgs" \
        'BEGIN { if (m > 0) printf "%.2f", d / hz * 1e6 / m; else print "-" }')
    cpu_s=$(awk -v d=$((t1 - t0)) -v hz="$HZ" 'BEGIN { printf "%.2f", d / hz }')
    printf '%-10s %6s %-7s %10s %9s %18s %8s %12s %6s\n' "$name" "$size" \
        "$( [ -n "$z" ] && echo deflate || echo plain )" "$rate" "$mbs" "$lat" "$cpu_s" "$cpu_us" "$errs"
}

echo "WebSocket echo, $CONNS connections, depth $DEPTH, ${DUR}s per run, bactrian workers=$WORKERS"
echo "(CPU = server utime+stime over the run; CPU/msg in microseconds)"
printf '%-10s %6s %-7s %10s %9s %18s %8s %12s %6s\n' server size mode msgs/s MB/s \
    "lat p50/p99/p99.9" "CPU s" "CPU/msg us" errors
for size in 64 16384; do
    run bactrian "$BPID" "$BPORT" /echo "$size" ""
    run node-ws "$NPID" "$NPORT" / "$size" ""
    run bactrian "$BPID" "$BPORT" /echoz "$size" -z
    run node-ws "$NZPID" "$NZPORT" / "$size" -z
done
