#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Issue 14.1: the tree ships its licence, and every source file names it in
# an SPDX line near its top. Runs over the source tree (also the release
# tarball's, under make distcheck).
set -e
src=${abs_top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
fail=0
[ -f "$src/LICENSE" ] || { echo "FAIL: no LICENSE at the top of the tree"; exit 1; }
grep -q "BSD 2-Clause" "$src/LICENSE" || { echo "FAIL: LICENSE is not BSD-2-Clause"; exit 1; }
for f in $(cd "$src" && find common frontend backend include tests bench doc/examples tools etc \
        -type f \( -name '*.c' -o -name '*.h' -o -name '*.py' -o -name '*.sh' -o -name '*.mk' \
        -o -name '*.js' \) ! -path '*/node_modules/*' | sort); do
    if ! head -n 3 "$src/$f" | grep -q "SPDX-License-Identifier: BSD-2-Clause"; then
        echo "missing SPDX line: $f"
        fail=1
    fi
done
for f in configure.ac Makefile.am; do
    head -n 3 "$src/$f" | grep -q "SPDX-License-Identifier: BSD-2-Clause" ||
        { echo "missing SPDX line: $f"; fail=1; }
done
[ $fail = 0 ] && echo "LICENSE and SPDX lines: OK"
exit $fail
