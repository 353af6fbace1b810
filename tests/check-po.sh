#!/bin/sh
# Every source file with translatable messages is listed in po/POTFILES.in, and every
# catalog compiles with its format strings matching the originals.
set -eu
top=${PIPELIT_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top"
failed=0
checked=0
for f in $(grep -rl --include='*.c' -E '\b_\("' src); do
        checked=$((checked + 1))
        if ! grep -qx "$f" po/POTFILES.in; then
                echo "FAIL: $f has translatable messages but is missing from po/POTFILES.in"
                failed=$((failed + 1))
        fi
done
for po in po/*.po; do
        checked=$((checked + 1))
        if ! msgfmt --check --check-format -o /dev/null "$po"; then
                echo "FAIL: $po does not compile"
                failed=$((failed + 1))
        fi
done
echo "check-po: $((checked - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
