#!/bin/sh
# `make run`: both daemons in the foreground with the dev config. Ctrl-C (or
# TERM) stops both and waits for them, so no process is left behind.
set -u
top=$1
conf="$top/etc/bactrian-dev.conf"
mkdir -p "$top/run"
"$top/backend/bactrian-backend" -f -c "$conf" &
be=$!
# The frontend relays to the backend's socket: give it a moment to bind.
i=0
while [ ! -S "$top/run/backend.sock" ] && [ $i -lt 50 ] && kill -0 $be 2>/dev/null; do
    sleep 0.1; i=$((i + 1))
done
"$top/frontend/bactrian-frontend" -f -c "$conf" &
fe=$!
stop() {
    trap - INT TERM
    kill -TERM $fe $be 2>/dev/null
    wait $fe 2>/dev/null
    wait $be 2>/dev/null
    exit 0
}
trap stop INT TERM
echo "bactrian: http://127.0.0.1:8080/  https://localhost:8443/  (Ctrl-C stops both)"
# If either daemon exits on its own, stop the other too.
while kill -0 $be 2>/dev/null && kill -0 $fe 2>/dev/null; do
    sleep 0.5
done
stop
