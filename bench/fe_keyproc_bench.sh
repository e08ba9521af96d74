#!/bin/sh
# New full TLS connections/s of two frontend builds in the same run, e.g. before
# and after the key process (frontend/keyproc.h): wrk with Connection: close, so
# every request is a new connection and a full handshake (wrk never resumes a
# session), frontend and backend pinned to SERVER_CPUS, wrk to CLIENT_CPUS. The
# builds alternate for ROUNDS rounds; medians and the ratio B/A at the end. Also
# the frontend's CPU time per connection (all its processes, key process
# included), steadier than the rate on a shared machine.
#
# Usage: sh bench/fe_keyproc_bench.sh BUILD_A BUILD_B [seconds] [ec|rsa]
# (BUILD_x: a build directory after make; the certificates come from BUILD_B's
# run/certs for ec, or a fresh RSA-2048 one for rsa.)
set -eu
A=$1
B=$2
DUR=${3:-10}
KEYTYPE=${4:-ec}
CONNS=${CONNS:-50}
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
for s in A B; do
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
# Prints "connections/s frontend-CPU-us-per-connection [errors]".
rate() {
    t0=$(ticks $1)
    taskset -c "$CLIENT_CPUS" wrk -t1 -c"$CONNS" -d"${DUR}s" -H 'Connection: close' \
        "https://127.0.0.1:$(cat "$TMP/$1.port")/" >"$TMP/wrk.out" 2>&1
    t1=$(ticks $1)
    awk -v dt=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" '
        / requests in / { n = $1 } /Requests\/sec/ { r = $2 }
        /Non-2xx|Socket errors/ { e = e " [" $0 "]" }
        END { printf "%s %.0f%s", r, n ? dt * 1e6 / hz / n : 0, e }' "$TMP/wrk.out"
}
echo "A=$A B=$B key=$KEYTYPE ${DUR}s x $ROUNDS rounds, $CONNS connections, servers on CPU" \
     "$SERVER_CPUS, wrk on CPU $CLIENT_CPUS"
for r in $(seq "$ROUNDS"); do
    for s in A B; do
        v=$(rate $s)
        set -- $v
        echo "round $r $s: $1 new TLS connections/s, frontend CPU $2 us per connection${3:+ $*}"
        echo "$s $1 $2" >>"$TMP/figures"
    done
done
median() { awk -v s="$1" -v f="$2" '$1 == s { print $f }' "$TMP/figures" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b / a }'; }
ma=$(median A 2) mb=$(median B 2) ca=$(median A 3) cb=$(median B 3)
echo "medians: connections/s A $ma, B $mb, B/A $(ratio "$ma" "$mb");" \
     "frontend CPU us/connection A $ca, B $cb, B/A $(ratio "$ca" "$cb")"
