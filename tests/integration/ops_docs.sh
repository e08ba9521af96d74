#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Every setting of the configuration schema (the tables in common/cfg.c) is
# documented in bactrian.conf(5) and appears, set or commented out, in the
# production example etc/bactrian.conf.in. A setting added to the schema
# without its documentation fails here, naming the file to edit.
set -u
S=${abs_top_srcdir:?}
fail=0
names=$(sed -n 's/.*\.name = "\([a-z_0-9]*\)".*/\1/p' "$S/common/cfg.c" | sort -u)
n=$(echo "$names" | wc -l)
if [ "$n" -lt 40 ]; then
    echo "FAIL - found only $n setting names in common/cfg.c: the schema format changed?"
    exit 1
fi
for name in $names; do
    # In the man page a setting is a bold word of a tagged paragraph.
    if ! grep -E "^\.BR? (.*[ \"])?$name([ \"]|$)" "$S/doc/bactrian.conf.5.in" >/dev/null; then
        echo "FAIL - setting '$name' is not documented in doc/bactrian.conf.5.in"
        fail=1
    fi
    if ! grep -E "(^|[^a-z_])$name *[=:]" "$S/etc/bactrian.conf.in" >/dev/null; then
        echo "FAIL - setting '$name' is missing from etc/bactrian.conf.in (add it, commented out if need be)"
        fail=1
    fi
done
[ $fail -eq 0 ] && echo "ok - all $n settings are in bactrian.conf(5) and the example config"

# Module settings are the keys a module reads with the bm_conf accessors
# (bm_conf_error only names them). Each bundled module's keys must be tagged
# paragraphs of its own ".SS NAME" section; the keys bm_ws_options_read
# reads (backend/ws_session.c) those of "WebSocket settings", which every
# module that calls it must point to.
MAN="$S/doc/bactrian.conf.5.in"
keys_of() {  # file: the string keys of its bm_conf_* reads, calls spanning lines too
    tr '\n' ' ' <"$1" |
        grep -oE 'bm_conf_(string|path|int|bool|strings|has|duration_ms|size) *\( *[a-z_]+ *, *"[a-z_0-9]+"' |
        sed 's/.*"\(.*\)"/\1/' | sort -u
}
section() {  # title: the man page lines from ".SS title" to the next section
    awk -v t="$1" '$0 == ".SS " t {on = 1; next} on && /^\.S[HS] / {exit} on' "$MAN"
}
check_keys() {  # title file...: every key the files read is documented in the section
    title=$1; shift
    sec=$(section "$title")
    if [ -z "$sec" ]; then
        echo "FAIL - no '.SS $title' section in doc/bactrian.conf.5.in"
        fail=1
        return
    fi
    for key in $(for f in "$@"; do keys_of "$f"; done | sort -u); do
        nkeys=$((nkeys + 1))
        if ! echo "$sec" | grep -E "^\.BR? (.*[ \"])?$key([ \",]|$)" >/dev/null; then
            echo "FAIL - setting '$key' of $title is not documented in its section of doc/bactrian.conf.5.in"
            fail=1
        fi
    done
}
nkeys=0
check_keys "WebSocket settings" "$S/backend/ws_session.c"
nws=$nkeys
if [ "$nws" -lt 10 ]; then
    echo "FAIL - found only $nws WebSocket settings in backend/ws_session.c: the accessor calls changed?"
    fail=1
fi
nmods=0
for src in "$S"/backend/modules/*.c; do
    name=$(sed -n 's/^ *\.name = "\([a-z_0-9]*\)".*/\1/p' "$src")
    [ -n "$name" ] || continue          # a helper file (range.c), not a module
    nmods=$((nmods + 1))
    check_keys "$name" "$src"
    if grep -q 'bm_ws_options_read' "$src" && ! section "$name" | grep -q 'WebSocket settings'; then
        echo "FAIL - module $name reads the WebSocket settings but its section does not say so"
        fail=1
    fi
done
if [ "$nmods" -lt 6 ]; then
    echo "FAIL - found only $nmods bundled modules in backend/modules: the descriptor format changed?"
    fail=1
fi
[ $fail -eq 0 ] && echo "ok - all $nkeys module settings of $nmods modules (WebSocket: $nws) are in bactrian.conf(5)"
exit $fail
