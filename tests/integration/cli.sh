#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The command-line contract of both daemons: -V, -h, -t on the shipped
# configs, -t naming file and line of a mistake, and a second copy refused by
# the pid file.
set -u
B=${abs_top_builddir:?}
S=${abs_top_srcdir:?}
FE="$B/frontend/bactrian-frontend"
BE="$B/backend/bactrian-backend"
T=$(mktemp -d "${TMPDIR:-/tmp}/bactrian-cli-XXXXXX")
fail=0
pids=
cleanup() { for p in $pids; do kill -9 "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fail=1; }
expect() { # description, expected substring, command...
    what=$1 want=$2; shift 2
    out=$("$@" 2>&1)
    case $out in *"$want"*) ok "$what" ;; *) bad "$what: wanted '$want', got: $out" ;; esac
}

for d in "$FE" "$BE"; do
    n=$(basename "$d")
    expect "$n -V" "$n 0." "$d" -V
    expect "$n -h" "-t       test the configuration" "$d" -h
    expect "$n -t dev config" "configuration OK" "$d" -t -c "$B/etc/bactrian-dev.conf"
    "$d" -x >/dev/null 2>&1; [ $? -eq 2 ] && ok "$n bad option exits 2" || bad "$n bad option exit"
done

# The production example, with its installed paths pointed at this build.
sed -e "s|^\( *cert = \)\"[^\"]*\"|\1\"$B/run/certs/localhost.crt\"|" \
    -e "s|^\( *key = \)\"[^\"]*\"|\1\"$B/run/certs/localhost.key\"|" \
    -e "s|module_dir = \"[^\"]*\"|module_dir = \"$B/backend/modules/.libs\"|" \
    "$B/etc/bactrian.conf" > "$T/prod.conf"
expect "frontend -t production example" "configuration OK" "$FE" -t -c "$T/prod.conf"
expect "backend -t production example" "configuration OK" "$BE" -t -c "$T/prod.conf"

# A typo is an error with file and line, and -t exits 1.
sed 's/    workers = 0;/    wokers = 0;/' "$T/prod.conf" > "$T/typo.conf"
line=$(grep -n 'wokers' "$T/typo.conf" | cut -d: -f1)
expect "typo named with file and line" "$T/typo.conf:$line: setting 'backend.wokers': unknown setting" "$BE" -t -c "$T/typo.conf"
"$BE" -t -c "$T/typo.conf" >/dev/null 2>&1; [ $? -eq 1 ] && ok "-t exits 1 on error" || bad "-t exit status"
expect "missing file" "$T/none.conf: cannot read: No such file or directory" "$FE" -t -c "$T/none.conf"

# A running backend holds its pid file; a second copy is refused.
mkdir -p "$T/mods"
cat > "$T/be.conf" <<EOC
backend: { socket = "$T/be.sock"; pid_file = "$T/be.pid"; module_dir = "$T/mods"; workers = 1; };
EOC
"$BE" -f -c "$T/be.conf" 2>"$T/be.log" &
bepid=$!; pids="$pids $bepid"
i=0; while [ ! -S "$T/be.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
[ -S "$T/be.sock" ] && ok "backend binds its socket" || bad "backend socket missing: $(cat "$T/be.log")"
[ "$(cat "$T/be.pid" 2>/dev/null)" = "$bepid" ] && ok "pid file holds the master pid" || bad "pid file"
expect "second copy refused" "is held by running process $bepid" "$BE" -f -c "$T/be.conf"
kill -TERM $bepid; wait $bepid; rc=$?
[ $rc -eq 0 ] && ok "TERM stops the backend with status 0" || bad "backend exit status $rc"
[ ! -e "$T/be.pid" ] && ok "pid file removed on stop" || bad "pid file left behind"
[ ! -e "$T/be.sock" ] && ok "socket removed on stop" || bad "socket left behind"
exit $fail
