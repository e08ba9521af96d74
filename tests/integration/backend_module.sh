#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# A page module built out of tree: the public header and bactrian-module.pc
# are installed (DESTDIR), doc/examples/greet.c is compiled with the flags
# pkg-config gives, and the backend loads it, validates its settings (-t) and
# serves it. A module built for another API version is refused by name.
set -u
B=${abs_top_builddir:?}
S=${abs_top_srcdir:?}
BE="$B/backend/bactrian-backend"
T=$(mktemp -d "${TMPDIR:-/tmp}/bactrian-mod-XXXXXX")
fail=0
bepid=
cleanup() { [ -n "$bepid" ] && kill -9 "$bepid" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fail=1; }
expect() { # description, expected substring, command...
    what=$1 want=$2; shift 2
    out=$("$@" 2>&1)
    case $out in *"$want"*) ok "$what" ;; *) bad "$what: wanted '$want', got: $out" ;; esac
}

make -s -C "$B" install-bactrianincludeHEADERS install-pkgconfigDATA DESTDIR="$T/inst" \
    >"$T/install.log" 2>&1 || { cat "$T/install.log"; bad "installing the header"; exit 1; }
pc=$(find "$T/inst" -name bactrian-module.pc | head -1)
[ -n "$pc" ] && ok "bactrian-module.pc installed" || { bad "no .pc installed"; exit 1; }
hdr=$(find "$T/inst" -path '*/bactrian/module.h' | head -1)
[ -n "$hdr" ] && ok "bactrian/module.h installed" || bad "no header installed"
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$T/inst"
cflags=$(pkg-config --cflags bactrian-module) || bad "pkg-config --cflags"
mkdir -p "$T/mods" "$T/bad"
# -nostdinc would be too much; the installed copy must come first, so the
# source tree's include/ is not on the path at all.
${CC:-cc} -std=c11 -Wall -Wextra -Werror -shared -fPIC $cflags -o "$T/mods/greet.so" \
    "$S/doc/examples/greet.c" && ok "sample module builds out of tree" || bad "sample build"
${CC:-cc} -shared -fPIC $cflags -DGREET_WRONG_API -o "$T/bad/greet.so" "$S/doc/examples/greet.c"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

conf() { # module_dir, extra settings of the greet block
    cat > "$T/be.conf" <<EOC
backend: {
    socket = "$T/be.sock"; pid_file = "$T/be.pid"; module_dir = "$1"; workers = 1;
    error_log = "stderr";
    listen = ( { address = "127.0.0.1"; port = $port; } );
    modules = (
        { module = "greet"; path = "/greet"; $2 }
    );
};
EOC
}

conf "$T/mods" 'greeting = "Hi"; repeat = 2;'
expect "-t loads the module and runs its init" "configuration OK" "$BE" -t -c "$T/be.conf"
conf "$T/mods" 'greeting = "Hi";
          repeat = 42;'
expect "the module rejects a value with file and line" \
    "$T/be.conf:7: setting 'backend.modules.[0].repeat': must be between 1 and 10, not 42" \
    "$BE" -t -c "$T/be.conf"
conf "$T/mods" 'greting = "Hi";'
expect "an unread key is an unknown setting" \
    "$T/be.conf:6: setting 'backend.modules.[0].greting': unknown setting" "$BE" -t -c "$T/be.conf"
conf "$T/mods" 'greeting = 5;'
expect "a value of the wrong type" "setting 'backend.modules.[0].greeting': must be a string" \
    "$BE" -t -c "$T/be.conf"
conf "$T/bad" ''
expect "wrong API version refused, naming the file" \
    "$T/bad/greet.so was built for module API version 999" "$BE" -t -c "$T/be.conf"
mkdir -p "$T/empty"; conf "$T/empty" ''
expect "missing module named" "cannot load module $T/empty/greet.so" "$BE" -t -c "$T/be.conf"

conf "$T/mods" 'greeting = "Hi"; repeat = 2;'
"$BE" -f -c "$T/be.conf" >"$T/be.log" 2>&1 &
bepid=$!
i=0; while [ ! -S "$T/be.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
out=$(curl -sS --max-time 10 --retry 5 --retry-connrefused "http://127.0.0.1:$port/greet?name=Ada")
[ "$out" = "Hi, Ada!
Hi, Ada!" ] && ok "the loaded module answers" || bad "module answer: '$out' $(cat "$T/be.log")"
out=$(curl -sS --max-time 10 --unix-socket "$T/be.sock" -D - "http://x/greet" | tr -d '\r')
case $out in *"X-Served-By-Worker: 0"*"Hi, unix!"*) ok "over the Unix socket" ;;
    *) bad "unix socket: $out" ;; esac
kill -TERM $bepid; wait $bepid; rc=$?; bepid=
[ $rc -eq 0 ] && ok "stops cleanly" || bad "exit status $rc"
exit $fail
