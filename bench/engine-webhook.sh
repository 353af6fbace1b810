#!/bin/sh
# Executions/s, latency and daemon memory of a sync webhook workflow on SQLite:
# trigger_webhook (sync) → transform → switch → reply_chat, driven by wrk at CONNECTIONS
# concurrent connections for DURATION, once with successful runs' data kept (the default)
# and once with the workflow's retention keep_successful "none". Each mode gets a fresh
# daemon and database, so its VmHWM is its own. After each run the completed executions are
# counted through the API, and the CPU time the daemon and its jq evaluators used per
# execution is given (it moves less than the rate when other work shares the machine), as
# is the size of the database file per execution after the daemon stopped.
# Targets: >= 3,000 executions/s kept, >= 10,000 not kept.
#
# Usage: bench/engine-webhook.sh [PIPELITD] — default build/pipelitd; needs wrk, curl, python3.
# Env: DURATION (default 10s), CONNECTIONS (default 64), THREADS (wrk threads, default 2),
# MODES (default "all none": which keep_successful values to measure).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
pipelitd=${1:-$top/build/pipelitd}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
threads=${THREADS:-2}
modes=${MODES:-all none}

tmp=$(mktemp -d)
pid=""
cleanup() {
        [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

seconds=$(python3 -c "import re,sys; m=re.fullmatch(r'(\d+)([smh]?)', '$duration'); print(int(m.group(1)) * {'':1,'s':1,'m':60,'h':3600}[m.group(2)])")

# The CPU time the daemon and its running children (the jq evaluators) have used, user and
# system, in clock ticks.
cpu_ticks() {
        for p in "$1" $(pgrep -P "$1"); do cat "/proc/$p/stat" 2>/dev/null; done |
                awk '{ sum += $14 + $15 } END { print sum }'
}
ticks=$(getconf CLK_TCK)

# run_mode KEEP_SUCCESSFUL: prints one result line.
run_mode() {
        keep=$1
        state="$tmp/state-$keep"
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        echo benchpassword | "$pipelitd" --state-dir "$state" --create-admin bench >/dev/null 2>&1
        "$pipelitd" --state-dir "$state" --listen "127.0.0.1:$port" --log-level warning \
                --config /dev/null &
        pid=$!
        base="http://127.0.0.1:$port"
        for _ in $(seq 50); do curl -fs "$base/health" >/dev/null 2>&1 && break; sleep 0.1; done

        # The workflow, through the API; prints "KEY SLUG".
        set -- $(python3 - "$base" "$keep" <<'PY'
import json, sys, urllib.request
base, keep = sys.argv[1], sys.argv[2]
def call(method, path, body, key=None):
        req = urllib.request.Request(base + "/api/v1" + path, method=method,
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        if key:
                req.add_header("Authorization", "Bearer " + key)
        with urllib.request.urlopen(req) as r:
                return json.load(r)
key = call("POST", "/auth/token/", {"username": "bench", "password": "benchpassword"})["key"]
slug = call("POST", "/workflows/", {"name": "Bench webhook " + keep,
                                    "settings": {"retention": {"keep_successful": keep}}}, key)["slug"]
def node(node_id, kind, extra):
        call("POST", "/workflows/%s/nodes/" % slug,
             {"node_id": node_id, "component_type": kind, "config": {"extra_config": extra}}, key)
def edge(source, target, **fields):
        call("POST", "/workflows/%s/edges/" % slug,
             dict(fields, source_node_id=source, target_node_id=target), key)
node("hook", "trigger_webhook", {"path": "in", "response_mode": "sync"})
node("count", "transform", {"program": "{n: (.trigger.body.items | length), "
                            "kind: (if (.trigger.body.items | length) > 2 then \"many\" else \"few\" end)}"})
node("route", "switch", {"rules": [
        {"id": "many", "field": "count.output.kind", "operator": "equals", "value": "many"},
        {"id": "few", "field": "count.output.kind", "operator": "equals", "value": "few"}]})
node("many", "reply_chat", {"message": "{{ count.output.n }} is many"})
node("few", "reply_chat", {"message": "{{ count.output.n }} is few"})
edge("hook", "count")
edge("count", "route")
edge("route", "many", edge_type="conditional", condition_value="many")
edge("route", "few", edge_type="conditional", condition_value="few")
print(key, slug)
PY
)
        key=$1 slug=$2
        url="$base/api/v1/webhooks/$slug/in"
        answer=$(curl -fs -X POST -H 'Content-Type: application/json' \
                -d '{"items": [1, 2, 3], "name": "bench"}' "$url")
        case "$answer" in
        *'"3 is many"'*) ;;
        *) echo "unexpected answer: $answer" >&2; exit 1 ;;
        esac

        cpu_before=$(cpu_ticks "$pid")
        wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$top/bench/webhook-post.lua" \
                "$url" > "$tmp/wrk-$keep.txt"
        sleep 1
        cpu=$(( $(cpu_ticks "$pid") - cpu_before ))
        hwm=$(awk '/^VmHWM/ { print $2 }' /proc/$pid/status)
        completed=$(curl -fs -H "Authorization: Bearer $key" \
                "$base/api/v1/executions/?workflow_slug=$slug&status=completed&limit=1" |
                python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
        other=$(curl -fs -H "Authorization: Bearer $key" \
                "$base/api/v1/executions/?workflow_slug=$slug&limit=1" |
                python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
        kill "$pid"; wait "$pid" || true
        pid=""
        # After a clean stop the WAL is folded in: the file is all the runs take.
        db_bytes=$(stat -c %s "$state/pipelit.db")
        # The first, checked execution is not part of the measured ones.
        python3 - "$tmp/wrk-$keep.txt" "$keep" "$completed" "$other" "$hwm" "$seconds" "$cpu" "$ticks" "$db_bytes" <<'PY'
import re, sys
path, keep, completed, total, hwm, seconds, cpu, ticks, db_bytes = sys.argv[1:]
text = open(path).read()
def latency(pct):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, text, re.M)
        return m.group(1) if m else "?"
requests = re.search(r"(\d+) requests in", text).group(1)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errors = re.search(r"Socket errors: (.*)", text)
rate = (int(completed) - 1) / float(seconds)
cpu_per_execution = int(cpu) / float(ticks) * 1e6 / max(int(completed) - 1, 1)
print("keep_successful=%-4s  %8.0f executions/s  p50 %-8s p99 %-8s  VmHWM %6.1f MiB  "
      "daemon CPU %4.0f us/execution  database %5.0f bytes/execution  "
      "(wrk: %s answers, %s non-2xx%s; executions: %d completed of %d)" % (
              keep, rate, latency(50), latency(99), int(hwm) / 1024.0, cpu_per_execution,
              int(db_bytes) / max(int(completed), 1), requests,
              non2xx.group(1) if non2xx else 0, "; socket errors " + errors.group(1) if errors else "",
              int(completed), int(total)))
if int(completed) != int(total) or int(completed) < int(requests):
        sys.exit("not every execution completed")
PY
}

echo "sync webhook → transform → switch → reply_chat, SQLite, $connections connections, $duration"
for mode in $modes; do
        run_mode "$mode"
done
