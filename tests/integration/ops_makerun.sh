#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# `make run`'s script (etc/run-dev.sh), as a developer uses it: both daemons
# come up with the dev config, and Ctrl-C (SIGINT to the whole foreground
# process group) stops both, leaving no process behind. The dev config is
# copied onto free ports so the test never meets a developer's `make run`.
set -u
B=${abs_top_builddir:?}
S=${abs_top_srcdir:?}
T=$(mktemp -d "${TMPDIR:-/tmp}/bactrian-run-XXXXXX")
fail=0
pg=
# Members of the script's process group (it is its own group leader).
group() {
    [ -n "$pg" ] || return 0
    for d in /proc/[0-9]*; do
        set -- $(sed 's/.*) //' "$d/stat" 2>/dev/null)
        [ "${3:-}" = "$pg" ] && [ "$1" != Z ] && echo "${d#/proc/}"
    done
}
cleanup() {
    for p in $(group); do kill -9 "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fail=1; }

ports=$(/usr/bin/python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
set -- $ports
HTTP=$1 HTTPS=$2
sed -e "s/port = 8080;/port = $HTTP;/" -e "s/port = 8443;/port = $HTTPS;/" \
    -e "s|\"$B/run/\([a-z.]*\)\"|\"$T/\1\"|g" "$B/etc/bactrian-dev.conf" > "$T/dev.conf"
grep -q "port = $HTTP;" "$T/dev.conf" && grep -q "socket = \"$T/backend.sock\"" "$T/dev.conf" ||
    { bad "could not rewrite the dev config: $(cat "$T/dev.conf")"; exit 1; }

# setsid: the script leads its own process group, as a shell job would.
BACTRIAN_DEV_CONF="$T/dev.conf" BACTRIAN_DEV_SOCKET="$T/backend.sock" \
    setsid sh "$S/etc/run-dev.sh" "$B" > "$T/out" 2>&1 &
i=0
while [ $i -lt 100 ]; do
    pg=$(ps -o pgid= -p $! 2>/dev/null | tr -d ' ')
    [ -n "$pg" ] && break
    sleep 0.05; i=$((i + 1))
done
# Up: the banner is printed and both ports accept connections (the backend
# may not answer HTTP yet; the test is about starting and stopping).
up() {
    grep -q "Ctrl-C stops both" "$T/out" && /usr/bin/python3 -c '
import socket, sys
for p in sys.argv[1:]:
    socket.create_connection(("127.0.0.1", int(p)), timeout=1).close()' "$HTTP" "$HTTPS" 2>/dev/null
}
i=0
while [ $i -lt 100 ] && ! up; do sleep 0.1; i=$((i + 1)); done
if up; then ok "both daemons started"; else bad "not started: $(cat "$T/out")"; fi
n=$(group | wc -l)
[ "$n" -ge 4 ] && ok "daemons and their children run ($n processes)" || bad "only $n processes"

# The demo's contract (DESIGN.md): / the demo page, /status JSON, /echo a
# WebSocket echo, HTTPS for localhost and alt.localhost with their own certificates.
code=$(curl -s -o "$T/page" -w '%{http_code}' --max-time 5 "http://127.0.0.1:$HTTP/")
[ "$code" = 200 ] && cmp -s "$T/page" "$S/www/index.html" && ok "/ is the demo page" ||
    bad "GET / gave $code"
curl -s --max-time 5 "http://127.0.0.1:$HTTP/status" | /usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)' &&
    ok "/status is JSON" || bad "/status is not JSON"
for vh in localhost alt.localhost; do
    cn=$(echo | openssl s_client -connect "127.0.0.1:$HTTPS" -servername "$vh" 2>/dev/null |
         openssl x509 -noout -subject 2>/dev/null)
    case $cn in *"CN = $vh"*|*"CN=$vh"*) ok "HTTPS serves the $vh certificate" ;;
    *) bad "HTTPS for $vh: '$cn'" ;; esac
done
/usr/bin/python3 - "$HTTP" <<'EOP' && ok "/echo echoes over WebSocket" || bad "/echo"
import asyncio, sys, websockets
async def main():
    async with websockets.connect("ws://127.0.0.1:%s/echo" % sys.argv[1], open_timeout=5) as ws:
        await ws.send("make run")
        for _ in range(3):
            if await asyncio.wait_for(ws.recv(), 5) == "make run":
                return
        raise SystemExit("no echo")
asyncio.run(main())
EOP

# Ctrl-C: SIGINT to every process of the foreground group.
kill -INT "-$pg"
i=0
while [ $i -lt 200 ] && [ -n "$(group)" ]; do sleep 0.1; i=$((i + 1)); done
left=$(group)
[ -z "$left" ] && ok "Ctrl-C leaves no process behind ($((i / 10)).$((i % 10))s)" ||
    bad "left after Ctrl-C: $left"
grep -q "bactrian-frontend.*stopped" "$T/out" && grep -q "bactrian-backend.*stopped" "$T/out" &&
    ok "both daemons stopped cleanly" || bad "no clean stop: $(tail -5 "$T/out")"
exit $fail
