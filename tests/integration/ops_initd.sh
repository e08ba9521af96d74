#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The install layout and the init scripts, against a scratch-prefix install:
# `make install prefix=$T/inst` puts every file where DESTDIR-less installs
# put it; the SysV scripts start, report status, reload (HUP, refused for a
# broken config), reopen logs, restart and stop both daemons through their
# pid files; the systemd units pass systemd-analyze; `make uninstall` leaves
# no file behind.
set -u
B=${abs_top_builddir:?}
T=$(mktemp -d "${TMPDIR:-/tmp}/bactrian-initd-XXXXXX")
I="$T/inst"
fail=0
cleanup() {
    # Whatever an init script started from this prefix goes, even on failure.
    for d in /proc/[0-9]*; do
        case $(readlink "$d/exe" 2>/dev/null) in "$I"/sbin/*) kill -9 "${d#/proc/}" 2>/dev/null ;; esac
    done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fail=1; }
# Our processes from the scratch prefix, as "pid ppid" lines.
procs() {
    for d in /proc/[0-9]*; do
        case $(readlink "$d/exe" 2>/dev/null) in
        "$I"/sbin/*) alive "${d#/proc/}" && echo "${d#/proc/} $(awk '{print $4}' "$d/stat")" ;;
        esac
    done
}
# Running, not a zombie: a daemonized master is reaped by whatever pid 1 is.
alive() {
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
    [ -n "$st" ] && [ "$st" != Z ]
}
wait_for() { # tenths of a second, command...
    n=$1; shift; i=0
    while [ $i -lt "$n" ]; do "$@" && return 0; sleep 0.1; i=$((i + 1)); done
    return 1
}

# A nested make must not think it is part of the outer make's job server.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
out=$(${MAKE:-make} -C "$B" install prefix="$I" 2>&1)
if [ $? -ne 0 ]; then
    echo "$out" | tail -30
    bad "make install prefix=$I"
    exit 1
fi
ok "make install prefix=scratch"

for f in sbin/bactrian-frontend sbin/bactrian-backend include/bactrian/module.h \
         lib/pkgconfig/bactrian-module.pc etc/bactrian/bactrian.conf.example \
         etc/bactrian/bactrian.conf etc/init.d/bactrian-frontend etc/init.d/bactrian-backend \
         etc/logrotate.d/bactrian lib/systemd/system/bactrian-frontend.service \
         lib/systemd/system/bactrian-backend.service share/man/man8/bactrian-frontend.8 \
         share/man/man8/bactrian-backend.8 share/man/man5/bactrian.conf.5 \
         share/doc/bactrian/deployment.md share/doc/bactrian/modules.md; do
    [ -f "$I/$f" ] && ok "installed $f" || bad "missing $I/$f"
done
# Whatever the build has of modules and demo site is installed too.
for m in "$B"/backend/modules/.libs/*.so; do
    [ -e "$m" ] || continue
    n=$(basename "$m")
    [ -f "$I/lib/bactrian/modules/$n" ] && ok "installed module $n" || bad "module $n not installed"
done
SRC=${abs_top_srcdir:?}
if [ -f "$SRC/www/index.html" ]; then
    [ -f "$I/share/bactrian/www/index.html" ] && ok "installed the demo site" ||
        bad "demo site not installed in share/bactrian/www"
fi
for d in var/log/bactrian etc/bactrian/certs; do
    [ -d "$I/$d" ] && ok "created $d" || bad "missing directory $I/$d"
done
[ -x "$I/etc/init.d/bactrian-backend" ] && ok "init script is executable" || bad "init script mode"
grep -q "^DAEMON=$I/sbin/" "$I/etc/init.d/bactrian-frontend" &&
    ok "init script names the installed daemon" || bad "init script DAEMON path"
grep -q "module_dir = \"$I/lib/bactrian/modules\"" "$I/etc/bactrian/bactrian.conf.example" &&
    ok "example config names the installed module dir" || bad "example config module_dir"
PKG_CONFIG_PATH="$I/lib/pkgconfig" pkg-config --define-prefix --cflags bactrian-module | grep -q -- "-I$I/include" &&
    ok "pkg-config --cflags bactrian-module" || bad "pkg-config bactrian-module"
for f in "$I"/share/man/man*/*; do
    # Every warning but line breaking (long installed paths cannot be adjusted).
    w=$(groff -man -z -ww -Wbreak -Tutf8 "$f" 2>&1)
    [ -z "$w" ] && ok "man $(basename "$f") renders cleanly" || bad "man $(basename "$f"): $w"
done

# An installed module compiles against the installed header and .pc.
printf '#include <bactrian/module.h>\nint bm_probe = BACTRIAN_MODULE_API_VERSION;\n' > "$T/m.c"
# shellcheck disable=SC2046
cc -c -o "$T/m.o" $(PKG_CONFIG_PATH="$I/lib/pkgconfig" pkg-config --define-prefix --cflags bactrian-module) "$T/m.c" &&
    ok "a module compiles against the installed header" || bad "compile against installed header"

if command -v systemd-analyze >/dev/null 2>&1; then
    w=$(cd "$T" && systemd-analyze verify --man=no "$I"/lib/systemd/system/bactrian-*.service 2>&1)
    rc=$?
    [ $rc -eq 0 ] && [ -z "$w" ] && ok "systemd-analyze verify: units are clean" ||
        bad "systemd-analyze verify (rc $rc): $w"
    grep -q '^Before=bactrian-frontend.service' "$I/lib/systemd/system/bactrian-backend.service" &&
        grep -q '^After=.*bactrian-backend.service' "$I/lib/systemd/system/bactrian-frontend.service" &&
        ok "units order the backend before the frontend" || bad "unit ordering"
else
    echo "# systemd-analyze not installed: unit files not verified"
fi

# A test config on free loopback ports, logging to files, pid files in $T.
ports=$(/usr/bin/python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
set -- $ports
HTTP=$1 HTTPS=$2
mkdir -p "$I/lib/bactrian/modules"
# The installed layout: pid files in runstatedir (a tmpfs on real systems, so
# not made by make install), logs in the log directory the install made.
RUN="$I/var/run" LOGD="$I/var/log/bactrian"
mkdir -p "$RUN"
mkconf() { # file, extra backend setting
    cat > "$1" <<EOC
frontend: {
    pid_file = "$RUN/bactrian-frontend.pid";
    error_log = "$LOGD/frontend.log";
    log_level = "info";
    min_spare = 1; max_spare = 2; max_children = 16;
    services = ( { port = $HTTP; bind = [ "127.0.0.1" ]; },
                 { port = $HTTPS; bind = [ "127.0.0.1" ]; tls = true; } );
};
vhosts = ( { name = "localhost"; cert = "$B/run/certs/localhost.crt";
             key = "$B/run/certs/localhost.key"; } );
backend: {
    pid_file = "$RUN/bactrian-backend.pid";
    error_log = "$LOGD/backend.log";
    access_log = "$LOGD/access.log";
    socket = "$T/be.sock";
    workers = 1;
    shutdown_timeout = 2;
    module_dir = "$I/lib/bactrian/modules";
    $2
};
EOC
}
# With the static module and the demo site installed, the installed daemons
# serve the installed page.
# Without the demo site (not built yet), a page of our own.
serve= page=
if [ -f "$I/lib/bactrian/modules/static.so" ]; then
    root="$I/share/bactrian/www"
    if [ ! -f "$root/index.html" ]; then
        root="$T/www"; mkdir -p "$root"; echo "installed and serving" > "$root/index.html"
    fi
    page="$root/index.html"
    serve="modules = ( { module = \"static\"; path = \"/\"; root = \"$root\"; } );"
fi
mkconf "$T/bactrian.conf" "$serve"
mkdir -p "$I/etc/default"
for role in backend frontend; do
    # PIDFILE stays the script's default: the installed runstatedir.
    printf 'CONFIG=%s\nSTOP_TIMEOUT=10\n' "$T/bactrian.conf" > "$I/etc/default/bactrian-$role"
done

export PATH="/sbin:/usr/sbin:$PATH"
for role in backend frontend; do
    S="$I/etc/init.d/bactrian-$role"
    PF="$RUN/bactrian-$role.pid"
    LOG="$LOGD/$role.log"
    out=$("$S" status 2>&1); rc=$?
    [ $rc -eq 3 ] && ok "$role: status before start is 3" || bad "$role: status before start rc $rc: $out"
    out=$("$S" start 2>&1); rc=$?
    [ $rc -eq 0 ] && ok "$role: start" || bad "$role: start rc $rc: $out $(cat "$LOG" 2>/dev/null)"
    pid=$(cat "$PF" 2>/dev/null)
    [ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe")" = "$I/sbin/bactrian-$role" ] &&
        ok "$role: pid file names the running master" || bad "$role: pid file '$pid'"
    out=$("$S" status 2>&1); rc=$?
    [ $rc -eq 0 ] && ok "$role: status running" || bad "$role: status rc $rc: $out"
    out=$("$S" start 2>&1); rc=$?
    [ $rc -eq 0 ] && [ "$(cat "$PF")" = "$pid" ] && ok "$role: second start leaves it alone" ||
        bad "$role: second start rc $rc: $out"

    # reload = HUP, after checking the config.
    before=$(wc -l < "$LOG")
    out=$("$S" reload 2>&1); rc=$?
    [ $rc -eq 0 ] && ok "$role: reload" || bad "$role: reload rc $rc: $out"
    if wait_for 100 sh -c "[ \$(wc -l < '$LOG') -gt $before ]" && grep -qi 'hup\|reload' "$LOG"; then
        ok "$role: the daemon logged the HUP"
    else
        bad "$role: no reload line in the log: $(tail -3 "$LOG")"
    fi
    sleep 0.3
    [ "$(cat "$PF" 2>/dev/null)" = "$pid" ] && alive "$pid" &&
        ok "$role: same master after reload" || bad "$role: master changed or died after reload"
    out=$("$S" force-reload 2>&1); rc=$?
    [ $rc -eq 0 ] && ok "$role: force-reload" || bad "$role: force-reload rc $rc: $out"

    # A broken config is refused before any signal is sent.
    cp "$T/bactrian.conf" "$T/good.conf"
    mkconf "$T/bactrian.conf" "wokers = 3; $serve"
    out=$("$S" reload 2>&1); rc=$?
    [ $rc -ne 0 ] && echo "$out" | grep -q "wokers" &&
        ok "$role: reload with a broken config fails and names the error" ||
        bad "$role: broken reload rc $rc: $out"
    out=$("$S" restart 2>&1); rc=$?
    [ $rc -ne 0 ] && [ "$(cat "$PF" 2>/dev/null)" = "$pid" ] && alive "$pid" &&
        ok "$role: restart with a broken config keeps the running daemon" ||
        bad "$role: broken restart rc $rc: $out"
    cp "$T/good.conf" "$T/bactrian.conf"

    # Log rotation: move the file away, USR1 through the script, and the next
    # line goes to a new file while the old one stays as it was.
    mv "$LOG" "$LOG.moved"
    n1=$(wc -l < "$LOG.moved")
    out=$("$S" rotate 2>&1); rc=$?
    [ $rc -eq 0 ] && alive "$pid" && ok "$role: rotate (USR1)" || bad "$role: rotate rc $rc: $out"
    wait_for 100 test -e "$LOG" && ok "$role: USR1 reopened the error log" ||
        bad "$role: no new error log after USR1"
    "$S" reload >/dev/null 2>&1
    wait_for 100 grep -qi 'hup\|reload' "$LOG" && [ "$(wc -l < "$LOG.moved")" -eq "$n1" ] &&
        ok "$role: lines after USR1 go to the new file" ||
        bad "$role: after USR1: new [$(cat "$LOG" 2>/dev/null)] old grew to $(wc -l < "$LOG.moved")"

    out=$("$S" restart 2>&1); rc=$?
    npid=$(cat "$PF" 2>/dev/null)
    [ $rc -eq 0 ] && [ -n "$npid" ] && [ "$npid" != "$pid" ] && alive "$npid" && ! alive "$pid" && ok "$role: restart gives a new master" ||
        bad "$role: restart rc $rc ($pid -> $npid): $out"
done

if [ -n "$serve" ]; then
    # The frontend was just restarted: its pid file is written before its
    # listeners are open (the script's start waits for the pid file only),
    # so a loaded machine may refuse the first connection. 5 s at most.
    get_page() { curl -s --max-time 5 "http://127.0.0.1:$HTTP/" > "$T/page" && cmp -s "$T/page" "$page"; }
    wait_for 50 get_page &&
        ok "the installed daemons serve $page" ||
        bad "GET / through the installed daemons: $(head -c 300 "$T/page")"
else
    echo "# static module not built: no page fetched through the install"
fi

# The installed logrotate file: rotate, and USR1 makes both daemons write to
# the new files.
if command -v logrotate >/dev/null 2>&1; then
    n_be=$(wc -l < "$LOGD/backend.log")
    out=$(logrotate -f -s "$T/logrotate.state" "$I/etc/logrotate.d/bactrian" 2>&1)
    rc=$?
    [ $rc -eq 0 ] && [ -f "$LOGD/backend.log.1" ] && [ -f "$LOGD/frontend.log.1" ] &&
        ok "logrotate rotated the logs" || bad "logrotate rc $rc: $out $(ls "$LOGD")"
    [ "$(stat -c %U "$LOGD/backend.log" 2>/dev/null)" = www-data ] &&
        ok "logrotate created the new log for www-data" || bad "new log owner"
    for role in backend frontend; do
        "$I/etc/init.d/bactrian-$role" reload >/dev/null 2>&1
        wait_for 100 grep -qi 'reload' "$LOGD/$role.log" &&
            ok "$role: after logrotate (USR1) lines go to the new file" ||
            bad "$role: nothing in the new log: $(tail -2 "$LOGD/$role.log.1")"
    done
    [ "$(wc -l < "$LOGD/backend.log.1")" -eq "$n_be" ] ||
        bad "the rotated backend log still grows"
    if [ -n "$serve" ]; then
        curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$HTTP/?after-logrotate"
        wait_for 100 grep -q 'after-logrotate' "$LOGD/access.log" &&
            ok "the access log is reopened after logrotate" ||
            bad "no request in the new access log"
    fi
else
    echo "# logrotate not installed: the logrotate file was not exercised"
fi

# An upgrade in place: make install replaces the binaries under the running
# masters, whose executables then show as deleted. The scripts must still
# find them, or a restart would leave the old ones running.
ino=$(stat -c %i "$I/sbin/bactrian-backend")
out=$(${MAKE:-make} -C "$B" install prefix="$I" 2>&1) || bad "reinstall: $(echo "$out" | tail -5)"
if [ "$(stat -c %i "$I/sbin/bactrian-backend")" != "$ino" ]; then
    for role in backend frontend; do
        "$I/etc/init.d/bactrian-$role" status >/dev/null 2>&1 &&
            ok "$role: status finds the master after an upgrade" ||
            bad "$role: status after upgrade: $("$I/etc/init.d/bactrian-$role" status 2>&1)"
    done
else
    echo "# make install kept the inode: the upgrade case is not exercised"
fi

# `upgrade` (USR2 through the scripts) executes the binary installed over the
# running one in place: same pid, its exe link now the new file, still serving.
# A binary the script's own -t refuses, and one that passes it but fails the
# master's check, are refused: same pid, the old image, still serving.
serves() {
    [ -z "$serve" ] && return 0
    curl -s --max-time 5 "http://127.0.0.1:$HTTP/" > "$T/page" && cmp -s "$T/page" "$page"
}
exe_ino() { stat -L -c %i "/proc/$1/exe" 2>/dev/null; }
install_over() { # source file, daemon path: a new inode at the path, as a package does
    cp "$1" "$2.tmp" && chmod 755 "$2.tmp" && mv -f "$2.tmp" "$2"
}
for role in backend frontend; do
    S="$I/etc/init.d/bactrian-$role"
    D="$I/sbin/bactrian-$role"
    LOG="$LOGD/$role.log"
    DEF="$I/etc/default/bactrian-$role"
    pid=$(cat "$RUN/bactrian-$role.pid" 2>/dev/null)
    cp "$D" "$T/real-$role"
    install_over "$T/real-$role" "$D"
    new=$(stat -c %i "$D")
    old=$(exe_ino "$pid")
    [ -n "$old" ] && [ "$old" != "$new" ] || bad "$role: the copy has the running inode ($old)"
    n_up=$(grep -c 'upgraded to' "$LOG")
    t0=$(date +%s%N)
    out=$("$S" upgrade 2>&1); rc=$?
    echo "$out" | sed 's/^/# /'
    echo "# $role: upgrade took $((($(date +%s%N) - t0) / 1000000)) ms"
    [ $rc -eq 0 ] && [ "$(cat "$RUN/bactrian-$role.pid" 2>/dev/null)" = "$pid" ] && alive "$pid" &&
        [ "$(exe_ino "$pid")" = "$new" ] &&
        ok "$role: upgrade runs the new binary in place (pid $pid, inode $old -> $new)" ||
        bad "$role: upgrade rc $rc, pid $pid, inode $(exe_ino "$pid") (want $new): $out $(tail -3 "$LOG")"
    echo "$out" | grep -q "inode $new" && ok "$role: upgrade says what runs now" ||
        bad "$role: upgrade output: $out"
    [ "$(grep -c 'upgraded to' "$LOG")" -gt "$n_up" ] && ok "$role: the new image logged 'upgraded to'" ||
        bad "$role: no 'upgraded to' line: $(tail -3 "$LOG")"
    serves && ok "$role: serves after the upgrade" || bad "$role: GET / after upgrade: $(head -c 300 "$T/page")"

    # Nothing new installed: still a re-exec, and said so.
    out=$("$S" upgrade 2>&1); rc=$?
    [ $rc -eq 0 ] && alive "$pid" && [ "$(exe_ino "$pid")" = "$new" ] &&
        echo "$out" | grep -q "nothing new was installed" &&
        ok "$role: upgrade with nothing new re-executes and says so" ||
        bad "$role: upgrade of the same binary rc $rc: $out"

    # A binary that cannot start: refused by the script's -t, no signal sent.
    printf '#!/bin/sh\nexit 1\n' > "$T/fail-$role"
    install_over "$T/fail-$role" "$D"
    out=$("$S" upgrade 2>&1); rc=$?
    [ $rc -ne 0 ] && [ "$(cat "$RUN/bactrian-$role.pid" 2>/dev/null)" = "$pid" ] && alive "$pid" &&
        [ "$(exe_ino "$pid")" = "$new" ] && ok "$role: upgrade to a failing binary is refused" ||
        bad "$role: failing binary: rc $rc, inode $(exe_ino "$pid"): $out"
    serves && ok "$role: serves after the refused upgrade" || bad "$role: GET / after a refused upgrade"

    # One that passes -t by hand but not the master's (run with the report's
    # descriptor): the master refuses, the script sees the old image stay.
    printf '#!/bin/sh\n[ -n "$BACTRIAN_UPGRADE_REPORT_FD" ] && exit 1\nexec %s "$@"\n' \
        "$T/real-$role" > "$T/fail-$role"
    install_over "$T/fail-$role" "$D"
    echo "START_WAIT=3" >> "$DEF"
    n_still=$(grep -c 'still running' "$LOG")
    out=$("$S" upgrade 2>&1); rc=$?
    echo "$out" | sed 's/^/# /'
    [ $rc -eq 1 ] && [ "$(cat "$RUN/bactrian-$role.pid" 2>/dev/null)" = "$pid" ] && alive "$pid" &&
        [ "$(exe_ino "$pid")" = "$new" ] && echo "$out" | grep -q "refused the upgrade.*error log" &&
        ok "$role: the master's refusal is reported, pointing at the log" ||
        bad "$role: master-refused upgrade: rc $rc, inode $(exe_ino "$pid"): $out"
    [ "$(grep -c 'still running' "$LOG")" -gt "$n_still" ] && ok "$role: the master logged why" ||
        bad "$role: no 'still running' line: $(tail -3 "$LOG")"
    serves && ok "$role: serves after the master refused" || bad "$role: GET / after the master refused"
    sed -i '/^START_WAIT=/d' "$DEF"
    install_over "$T/real-$role" "$D"
done

# Stop the frontend first, as a shutdown would.
for role in frontend backend; do
    S="$I/etc/init.d/bactrian-$role"
    pid=$(cat "$RUN/bactrian-$role.pid" 2>/dev/null)
    out=$("$S" stop 2>&1); rc=$?
    [ $rc -eq 0 ] && ok "$role: stop" || bad "$role: stop rc $rc: $out"
    ! alive "$pid" && ok "$role: master is gone" || bad "$role: master $pid still runs"
    [ ! -e "$RUN/bactrian-$role.pid" ] && ok "$role: pid file removed" || bad "$role: pid file left"
    out=$("$S" status 2>&1); rc=$?
    [ $rc -eq 3 ] && ok "$role: status after stop is 3" || bad "$role: status after stop rc $rc: $out"
    out=$("$S" stop 2>&1); rc=$?
    [ $rc -eq 0 ] && ok "$role: stop when stopped succeeds" || bad "$role: second stop rc $rc: $out"
    out=$("$S" reload 2>&1); rc=$?
    [ $rc -eq 7 ] && ok "$role: reload when stopped is 7" || bad "$role: reload when stopped rc $rc"
    out=$("$S" upgrade 2>&1); rc=$?
    [ $rc -eq 7 ] && ok "$role: upgrade when stopped is 7" || bad "$role: upgrade when stopped rc $rc: $out"
done
left=$(procs)
[ -z "$left" ] && ok "no daemon process left behind" || bad "processes left: $left"
[ ! -e "$T/be.sock" ] && ok "backend socket removed" || bad "backend socket left"

# A stale pid file (a crash) does not confuse status or start.
echo 999999 > "$RUN/bactrian-backend.pid"
out=$("$I/etc/init.d/bactrian-backend" status 2>&1); rc=$?
[ $rc -eq 1 ] && ok "status with a stale pid file is 1" || bad "stale status rc $rc: $out"
out=$("$I/etc/init.d/bactrian-backend" start 2>&1); rc=$?
[ $rc -eq 0 ] && ok "start over a stale pid file" || bad "start over stale pid rc $rc: $out"
"$I/etc/init.d/bactrian-backend" stop >/dev/null 2>&1

# A binary that passes both checks but dies once executed: the master is
# gone, and `upgrade` says so loudly (its old workers drain on their own).
D="$I/sbin/bactrian-backend"
"$I/etc/init.d/bactrian-backend" start >/dev/null 2>&1
pid=$(cat "$RUN/bactrian-backend.pid" 2>/dev/null)
printf '#!/bin/sh\n[ -n "$BACTRIAN_UPGRADE_FD" ] && exit 1\nexec %s "$@"\n' \
    "$T/real-backend" > "$T/die-backend"
install_over "$T/die-backend" "$D"
out=$("$I/etc/init.d/bactrian-backend" upgrade 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
[ $rc -eq 1 ] && ! alive "$pid" && echo "$out" | grep -q "DIED" &&
    ok "upgrade into a binary that dies reports the master's death" ||
    bad "upgrade into a dying binary: rc $rc, pid $pid alive: $(alive "$pid" && echo yes): $out"
install_over "$T/real-backend" "$D"
rm -f "$RUN/bactrian-backend.pid"

# sysconfdir, localstatedir and runstatedir are honoured on their own too.
J="$T/inst2"
out=$(${MAKE:-make} -C "$B" install prefix="$J" sysconfdir="$J/conf" localstatedir="$J/state" \
      runstatedir="$J/rt" 2>&1) || bad "make install with separate dirs: $(echo "$out" | tail -5)"
[ -f "$J/conf/bactrian/bactrian.conf.example" ] && [ -x "$J/conf/init.d/bactrian-backend" ] &&
    [ -d "$J/state/log/bactrian" ] && ok "sysconfdir and localstatedir honoured" ||
    bad "separate dirs: $(cd "$J" && find . | sort | head -30)"
grep -q "^CONFIG=$J/conf/bactrian/bactrian.conf" "$J/conf/init.d/bactrian-frontend" &&
    grep -q "^PIDFILE=$J/rt/" "$J/conf/init.d/bactrian-frontend" &&
    grep -q "pid_file = \"$J/rt/bactrian-backend.pid\"" "$J/conf/bactrian/bactrian.conf.example" &&
    grep -q "access_log = \"$J/state/log/bactrian/access.log\"" "$J/conf/bactrian/bactrian.conf.example" &&
    grep -q "$J/rt/bactrian-backend.pid" "$J/conf/logrotate.d/bactrian" &&
    ok "installed files name the chosen dirs" || bad "paths in installed files"
out=$(${MAKE:-make} -C "$B" uninstall prefix="$J" sysconfdir="$J/conf" localstatedir="$J/state" \
      runstatedir="$J/rt" 2>&1) || bad "make uninstall with separate dirs"
left=$(cd "$J" && find . -type f)
[ -z "$left" ] && ok "uninstall with separate dirs leaves no file" || bad "left: $left"

# Uninstall removes every file it installed. The operator's changed config stays.
rm -f "$I/etc/default/bactrian-backend" "$I/etc/default/bactrian-frontend"
rm -f "$LOGD"/*
rm -f "$T/m.o"
echo "# operator's change" >> "$I/etc/bactrian/bactrian.conf"
out=$(${MAKE:-make} -C "$B" uninstall prefix="$I" 2>&1) || bad "make uninstall: $(echo "$out" | tail -5)"
left=$(cd "$I" && find . -type f | sort)
[ "$left" = "./etc/bactrian/bactrian.conf" ] && ok "uninstall leaves only the operator's config" ||
    bad "uninstall left: $left"
exit $fail
