#!/bin/sh
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
exit $fail
