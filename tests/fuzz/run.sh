#!/bin/sh
# Builds a libFuzzer target with clang (ASan + UBSan) and runs it for a while.
# Usage: tests/fuzz/run.sh template|rules [SECONDS]
set -eu
target=$1
seconds=${2:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

case "$target" in
template) sources="$top/src/engine/template*.c" ;;
rules)    sources="$top/src/engine/rules.c $top/src/common/time-util.c" ;;
*) echo "unknown target $target" >&2; exit 2 ;;
esac

# shellcheck disable=SC2086
clang -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
        -I"$top/src" $(pkg-config --cflags jansson) \
        "$top/tests/fuzz/fuzz-$target.c" $sources \
        $(pkg-config --libs jansson) -lm -o "$out/fuzz-$target"
mkdir -p "$out/corpus"
"$out/fuzz-$target" -max_total_time="$seconds" -max_len=4096 -timeout=5 "$out/corpus"
