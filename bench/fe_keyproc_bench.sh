#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# New full TLS connections/s of two frontend builds in the same run, e.g. before
# and after the key process (frontend/keyproc.h): parallel `openssl s_time -new`,
# so every connection is a full handshake (see load below for wrk), frontend and
# backend pinned to SERVER_CPUS, the client to CLIENT_CPUS. The
# builds alternate for ROUNDS rounds; medians and the ratio B/A at the end. Also
# the frontend's CPU time per connection (all its processes, key process
# included), steadier than the rate on a shared machine.
#
# Usage: sh bench/fe_keyproc_bench.sh BUILD_A BUILD_B [seconds] [ec|rsa] [BUILD_C]
# (BUILD_x: a build directory after make; the certificates come from BUILD_B's
# run/certs for ec, or a fresh RSA-2048 one for rsa. With BUILD_C, three builds
# alternate, e.g. before the key process, the key process, a change to it; the
# ratios are against A, and B/A round by round.)
set -eu
A=$1
B=$2
DUR=${3:-10}
KEYTYPE=${4:-ec}
C=${5:-}
SIDES="A B${C:+ C}"
CONNS=${CONNS:-50}
CLIENT=${CLIENT:-stime}
STIME_PROCS=${STIME_PROCS:-8}
SERVER_CPUS=${SERVER_CPUS:-0}
CLIENT_CPUS=${CLIENT_CPUS:-1}
ROUNDS=${ROUNDS:-3}
PY=/usr/bin/python3
TMP=$(mktemp -d)
trap 'for f in "$TMP"/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null; done; sleep 1; rm -rf "$TMP"' EXIT
trap "exit 1" INT TERM

port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
if [ "$KEYTYPE" = rsa ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
        -addext subjectAltName=DNS:localhost -keyout "$TMP/k.key" -out "$TMP/k.crt" 2>/dev/null
    CERT=$TMP/k.crt KEY=$TMP/k.key
else
    CERT=$B/run/certs/localhost.crt KEY=$B/run/certs/localhost.key
fi

# start NAME BUILD: both daemons of BUILD, frontend on $PORT
start() {
    PORT=$(port)
    cat >"$TMP/$1.conf" <<CONF
frontend: {
    pid_file = "$TMP/$1-fe.pid"; error_log = "$TMP/$1-fe.log"; log_level = "warn";
    max_children = 512; min_spare = 32; max_spare = 128; per_ip_max = 0;
    services = ( { port = $PORT; bind = [ "127.0.0.1" ]; tls = true; } );
    tls = { default_vhost = "localhost"; };
};
vhosts = ( { name = "localhost"; cert = "$CERT"; key = "$KEY"; } );
backend: {
    socket = "$TMP/$1.sock"; pid_file = "$TMP/$1-be.pid"; error_log = "$TMP/$1-be.log";
    log_level = "warn"; workers = 1; module_dir = "$2/backend/modules/.libs";
    modules = ( { module = "hello"; path = "/"; } );
};
CONF
    taskset -c "$SERVER_CPUS" "$2/backend/bactrian-backend" -c "$TMP/$1.conf"
    taskset -c "$SERVER_CPUS" "$2/frontend/bactrian-frontend" -c "$TMP/$1.conf"
    echo "$PORT" >"$TMP/$1.port"
}
for s in $SIDES; do
    eval "start $s \$$s"
done
sleep 2
# CPU ticks of the frontend of side $1 so far: the master with its reaped
# children, and every live child (the key process among them).
ticks() {
    m=$(cat "$TMP/$1-fe.pid")
    t=$(awk '{ print $14 + $15 + $16 + $17 }' /proc/$m/stat)
    for c in $(ps -o pid= --ppid "$m"); do
        t=$((t + $(awk '{ print $14 + $15 }' /proc/$c/stat 2>/dev/null || echo 0)))
    done
    echo "$t"
}
# Nanoseconds on CPU of the master alone and of its oldest child (the key
# process, forked first; a handshake child in a build without one), from
# /proc/PID/schedstat: finer than the ticks above.
oncpu() {
    m=$(cat "$TMP/$1-fe.pid")
    k=$(ps -o pid= --ppid "$m" --sort=start_time | head -1 | tr -d " ")
    echo "$(awk '{ print $1 }' /proc/$m/schedstat) $(awk '{ print $1 }' /proc/$k/schedstat)"
}
# The load: CLIENT=stime (default), STIME_PROCS parallel `openssl s_time
# -new`, every connection a full handshake; or CLIENT=wrk, CONNS connections
# with Connection: close, but wrk keeps the session across its reconnects
# (SSL_clear), so about half of its handshakes are resumed and sign nothing.
# Writes "N requests in" and "Requests/sec: R" to $TMP/wrk.out either way.
load() {
    if [ "$CLIENT" = wrk ]; then
        taskset -c "$CLIENT_CPUS" wrk -t1 -c"$CONNS" -d"${DUR}s" -H 'Connection: close' \
            "https://127.0.0.1:$1/" >"$TMP/wrk.out" 2>&1
        return
    fi
    for i in $(seq "$STIME_PROCS"); do
        taskset -c "$CLIENT_CPUS" openssl s_time -connect "127.0.0.1:$1" -new -time "$DUR" \
            -www / >"$TMP/st$i.out" 2>&1 &
    done
    wait
    cat "$TMP"/st*.out | awk -v d="$DUR" '/connections in .* real seconds/ { n += $1 }
        END { printf "%d requests in %ss\nRequests/sec: %.2f\n", n, d, n / d }' >"$TMP/wrk.out"
}
# Prints "connections/s frontend-CPU-us-per-connection master-us key-us [errors]".
rate() {
    t0=$(ticks $1) c0=$(oncpu $1)
    load "$(cat "$TMP/$1.port")"
    t1=$(ticks $1) c1=$(oncpu $1)
    awk -v dt=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v c0="$c0" -v c1="$c1" '
        / requests in / { n = $1 } /Requests\/sec/ { r = $2 }
        /Non-2xx|Socket errors/ { e = e " [" $0 "]" }
        END { split(c0, a, " "); split(c1, b, " "); d = n ? n : 1
              printf "%s %.0f %.1f %.1f%s", r, n ? dt * 1e6 / hz / n : 0,
                     (b[1] - a[1]) / 1e3 / d, (b[2] - a[2]) / 1e3 / d, e }' "$TMP/wrk.out"
}
echo "A=$A B=$B${C:+ C=$C} key=$KEYTYPE ${DUR}s x $ROUNDS rounds, client $CLIENT, servers on CPU" \
     "$SERVER_CPUS, wrk on CPU $CLIENT_CPUS"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a ? b / a : 0 }'; }
for r in $(seq "$ROUNDS"); do
    for s in $SIDES; do
        v=$(rate $s)
        set -- $v
        echo "round $r $s: $1 new TLS connections/s, frontend CPU $2 us per connection" \
             "(master $3, key process $4)${5:+ $*}"
        echo "$s $1 $2 $3 $4" >>"$TMP/figures"
        eval "cpu_$s=$2"
    done
    echo "round $r CPU per connection: B/A $(ratio "$cpu_A" "$cpu_B")${C:+, C/A $(ratio "$cpu_A" "$cpu_C"), C/B $(ratio "$cpu_B" "$cpu_C")}"
done
median() { awk -v s="$1" -v f="$2" '$1 == s { print $f }' "$TMP/figures" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ma=$(median A 2) mb=$(median B 2) ca=$(median A 3) cb=$(median B 3)
echo "medians: connections/s A $ma, B $mb, B/A $(ratio "$ma" "$mb");" \
     "frontend CPU us/connection A $ca, B $cb, B/A $(ratio "$ca" "$cb")"
for s in $SIDES; do
    echo "medians $s: master $(median $s 4) us, key process (oldest child) $(median $s 5) us" \
         "per connection"
done
if [ -n "$C" ]; then
    mc=$(median C 2) cc=$(median C 3)
    echo "medians: connections/s C $mc, C/A $(ratio "$ma" "$mc"), C/B $(ratio "$mb" "$mc");" \
         "frontend CPU us/connection C $cc, C/A $(ratio "$ca" "$cc"), C/B $(ratio "$cb" "$cc")"
fi
