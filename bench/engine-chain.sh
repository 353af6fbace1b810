#!/bin/sh
# Engine overhead per node: a manual trigger followed by a chain of NODES reply_chat nodes
# with a constant message (no template work, no jq), run EXECUTIONS times one after the
# other on SQLite. Overhead per node = (completed_at - started_at) / NODES, averaged over the
# runs; the first run (cold statement caches) is left out. Target: <= 50 µs per node.
#
# Usage: bench/engine-chain.sh [PIPELITD] — default build/pipelitd; needs curl, python3.
# Env: NODES (default 100), EXECUTIONS (default 50).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
pipelitd=${1:-$top/build/pipelitd}
nodes=${NODES:-100}
executions=${EXECUTIONS:-50}

tmp=$(mktemp -d)
pid=""
cleanup() {
        [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo benchpassword | "$pipelitd" --state-dir "$tmp/state" --create-admin bench >/dev/null 2>&1
"$pipelitd" --state-dir "$tmp/state" --listen "127.0.0.1:$port" --log-level warning \
        --config /dev/null &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -fs "$base/health" >/dev/null 2>&1 && break; sleep 0.1; done

python3 - "$base" "$nodes" "$executions" <<'PY'
import datetime, json, statistics, sys, time, urllib.request
base, nodes, executions = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def call(method, path, body=None, key=None):
        req = urllib.request.Request(base + "/api/v1" + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
        if key:
                req.add_header("Authorization", "Bearer " + key)
        with urllib.request.urlopen(req) as r:
                return json.load(r)

def when(text):
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")

key = call("POST", "/auth/token/", {"username": "bench", "password": "benchpassword"})["key"]
slug = call("POST", "/workflows/", {"name": "Bench chain"}, key)["slug"]
call("POST", "/workflows/%s/nodes/" % slug, {"node_id": "trig", "component_type": "trigger_manual"}, key)
previous = "trig"
for i in range(1, nodes + 1):
        node_id = "n%d" % i
        call("POST", "/workflows/%s/nodes/" % slug,
             {"node_id": node_id, "component_type": "reply_chat",
              "config": {"extra_config": {"message": "step %d" % i}}}, key)
        call("POST", "/workflows/%s/edges/" % slug,
             {"source_node_id": previous, "target_node_id": node_id}, key)
        previous = node_id

per_node = []
for run in range(executions + 1):
        execution_id = call("POST", "/workflows/%s/execute/" % slug, {"text": "go"}, key)["execution_id"]
        deadline = time.monotonic() + 60
        while True:
                status = call("GET", "/executions/%s/status/" % execution_id, key=key)
                if status["status"] in ("completed", "failed", "cancelled"):
                        break
                if time.monotonic() > deadline:
                        sys.exit("execution %s did not finish" % execution_id)
                time.sleep(0.002)
        if status["status"] != "completed" or status["final_output"] != {"output": "step %d" % nodes}:
                sys.exit("execution %s: %r" % (execution_id, status))
        if run == 0:
                continue
        seconds = (when(status["completed_at"]) - when(status["started_at"])).total_seconds()
        per_node.append(seconds / nodes * 1e6)

print("chain of %d reply_chat nodes, %d sequential executions, SQLite" % (nodes, executions))
print("engine overhead per node: mean %.1f µs, median %.1f µs, min %.1f µs, max %.1f µs"
      " (target <= 50 µs)" % (statistics.mean(per_node), statistics.median(per_node),
                              min(per_node), max(per_node)))
PY
