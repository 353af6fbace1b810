#!/bin/sh
# Requests/s of an authenticated GET /api/v1/workflows/ against a static file served by the
# same pipelitd, measured with wrk in one run. Target: the API at >= 50% of the static rate.
#
# Usage: bench/http-api-vs-static.sh [PIPELITD] — default build/pipelitd; needs wrk, curl.
# Env: DURATION (default 10s), CONNECTIONS (default 50), WORKFLOWS (rows listed, default 10).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
pipelitd=${1:-$top/build/pipelitd}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-50}
workflows=${WORKFLOWS:-10}

tmp=$(mktemp -d)
pid=""
cleanup() {
        [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$tmp/static"

echo benchpassword | "$pipelitd" --state-dir "$tmp/state" --create-admin bench >/dev/null
"$pipelitd" --state-dir "$tmp/state" --listen "127.0.0.1:$port" --log-level warning \
        --config /dev/null &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -fs "$base/health" >/dev/null 2>&1 && break; sleep 0.1; done

key=$(curl -fs -X POST "$base/api/v1/auth/token/" -H 'Content-Type: application/json' \
        -d '{"username":"bench","password":"benchpassword"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
for i in $(seq "$workflows"); do
        curl -fs -X POST "$base/api/v1/workflows/" -H "Authorization: Bearer $key" \
                -H 'Content-Type: application/json' -d "{\"name\":\"Bench workflow $i\"}" >/dev/null
done

# The static file is the API's own answer, so both sides move the same bytes.
curl -fs "$base/api/v1/workflows/" -H "Authorization: Bearer $key" > "$tmp/static/workflows.json"
kill "$pid"; wait "$pid" || true
PIPELIT_STATIC_DIRECTORY="$tmp/static" "$pipelitd" --state-dir "$tmp/state" \
        --listen "127.0.0.1:$port" --log-level warning --config /dev/null &
pid=$!
for _ in $(seq 50); do curl -fs "$base/health" >/dev/null 2>&1 && break; sleep 0.1; done

rate() {
        wrk -t2 -c"$connections" -d"$duration" "$@" | awk '/Requests\/sec/ { print $2 }'
}
static=$(rate "$base/workflows.json")
api=$(rate -H "Authorization: Bearer $key" "$base/api/v1/workflows/")
bytes=$(wc -c < "$tmp/static/workflows.json")

echo "response size:        $bytes bytes ($workflows workflows)"
echo "static file:          $static req/s"
echo "GET /api/v1/workflows/: $api req/s"
python3 -c "import sys; s,a=float('$static'),float('$api'); print('api/static ratio:     %.2f (target >= 0.50)' % (a/s))"
