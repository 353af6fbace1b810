#!/bin/sh
# The browser tests (tests/ui/*.test.mjs): node's test runner, npm playwright-core from
# src/ui/node_modules and Debian's Chromium against the built pipelitd and UI. Skipped (77)
# when one of them is missing. Screenshots go to tests/ui-screenshots/ in the build folder.
set -eu
top=${PIPELIT_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
pipelitd=${PIPELITD:-$top/pipelitd}
case "$pipelitd" in /*) ;; *) pipelitd=$(pwd)/$pipelitd ;; esac
build=$(dirname "$pipelitd")
ui=${PIPELIT_UI_DIST:-$build/ui-dist}
[ -f "$ui/index.html" ] || ui=$top/ui-dist
chromium=${CHROMIUM:-/usr/bin/chromium}

skip() {
        echo "ui-tests: $*; skipping"
        exit 77
}
command -v node >/dev/null 2>&1 || skip "node not found"
[ -x "$chromium" ] || skip "$chromium not found"
[ -f "$top/src/ui/node_modules/playwright-core/package.json" ] || skip "no playwright-core in src/ui/node_modules (run npm ci there)"
[ -f "$ui/index.html" ] || skip "the UI is not built"
[ -x "$pipelitd" ] || skip "$pipelitd not built"

PIPELITD=$pipelitd
PIPELIT_SRCDIR=$top
PIPELIT_UI_DIST=$ui
PIPELIT_UI_ARTIFACTS=${PIPELIT_UI_ARTIFACTS:-$build/tests/ui-screenshots}
CHROMIUM=$chromium
export PIPELITD PIPELIT_SRCDIR PIPELIT_UI_DIST PIPELIT_UI_ARTIFACTS CHROMIUM
rm -rf "$PIPELIT_UI_ARTIFACTS"
mkdir -p "$PIPELIT_UI_ARTIFACTS"
tap=$PIPELIT_UI_ARTIFACTS/results.tap
status=0
node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$tap" "$top"/tests/ui/*.test.mjs || status=$?
passed=$(sed -n 's/^# pass //p' "$tap")
failed=$(sed -n 's/^# fail //p' "$tap")
echo "screenshots: $PIPELIT_UI_ARTIFACTS"
echo "ui-browser: ${passed:-0} passed, ${failed:-1} failed"
exit "$status"
