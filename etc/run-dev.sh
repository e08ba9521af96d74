#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# `make run`: both daemons in the foreground with the dev config. Ctrl-C (or
# TERM) stops both and waits for them, so no process is left behind.
set -u
top=$1
# The test of this script (tests/integration/ops_makerun.sh) points these at
# a copy of the dev config on free ports.
conf=${BACTRIAN_DEV_CONF:-$top/etc/bactrian-dev.conf}
sock=${BACTRIAN_DEV_SOCKET:-$top/run/backend.sock}
fe='' be=''

# Running and not yet a zombie (an exited child stays one until we wait).
running() {
    [ -n "$1" ] || return 1
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$st" ] && [ "$st" != Z ]
}
# Waits up to $1 tenths of a second for both daemons to exit.
settle() {
    n=0
    while [ $n -lt "$1" ] && { running "$fe" || running "$be"; }; do
        sleep 0.1; n=$((n + 1))
    done
}
# A graceful stop (TERM) normally takes a moment; a daemon that hangs gets QUIT
# (immediate stop, which takes its children along) and at last KILL, so the
# terminal always comes back with nothing left running. A second Ctrl-C
# cannot interrupt the clean-up.
stop() {
    trap '' INT TERM
    # shellcheck disable=SC2086 # an unset pid is simply left out
    kill -TERM $fe $be 2>/dev/null
    settle 100
    # shellcheck disable=SC2086
    kill -QUIT $fe $be 2>/dev/null
    settle 50
    # shellcheck disable=SC2086
    kill -KILL $fe $be 2>/dev/null
    wait
    exit "${1:-0}"
}
trap stop INT TERM

mkdir -p "$top/run"
"$top/backend/bactrian-backend" -f -c "$conf" &
be=$!
# The frontend relays to the backend's socket: give it a moment to bind.
i=0
while [ ! -S "$sock" ] && [ $i -lt 50 ] && running $be; do
    sleep 0.1; i=$((i + 1))
done
if ! running $be; then
    echo "bactrian: the backend did not start (see above)" >&2
    stop 1
fi
"$top/frontend/bactrian-frontend" -f -c "$conf" &
fe=$!
echo "bactrian: http://127.0.0.1:8080/  https://localhost:8443/  (Ctrl-C stops both)"
# If either daemon exits on its own, stop the other too.
while running $be && running $fe; do
    sleep 0.5
done
echo "bactrian: a daemon exited; stopping the other" >&2
stop 1
