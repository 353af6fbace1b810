#!/bin/sh
# Agents against the fake LLM provider (tests/fake-llm):
#  1. AGENTS agent executions started together, the fake answering each after DELAY s:
#     the wall time until all completed (target: 1,000 within 3 s) and the daemon's VmHWM;
#  2. engine overhead per agent step: RUNS executions one after the other (each through a
#     sync webhook, which answers when the run has ended: nothing polls meanwhile) with the
#     fake answering at once; each run's time (completed_at - started_at) less the fake's
#     own answer time measured alone (target: 200 µs or less);
#  3. the same for an agent that loops: each run makes STEPS model calls, all but the last
#     asking for the calculator tool, and the overhead is given per step.
# Parts 2 and 3 also give each run's time less the provider's time as the daemon's client
# measured it (the agent's token_usage.model_seconds): the engine's share, without an
# answer time measured apart.
#
# Usage: bench/engine-agents.sh [PIPELITD] — default build/pipelitd; needs python3, curl.
# Env: AGENTS (default 1000), DELAY (1.0), RUNS (100), STEPS (10).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
pipelitd=${1:-$top/build/pipelitd}

exec python3 - "$top" "$pipelitd" "${AGENTS:-1000}" "${DELAY:-1.0}" "${RUNS:-100}" "${STEPS:-10}" <<'PY'
import calendar, concurrent.futures, json, os, resource, shutil, socket, subprocess, sys, tempfile, time
import http.client, urllib.parse, urllib.request

top, pipelitd, agents, delay, runs, steps = (sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]),
                                              int(sys.argv[5]), int(sys.argv[6]))
sys.path.insert(0, os.path.join(top, "tests", "fake-llm"))
from fake_llm import FakeLLM, DEFAULT_OPENAI_KEY  # noqa: E402

# Every waiting agent holds a connection: the daemon inherits this limit.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

def free_port():
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return port

def stamp(t):
        return calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + t[19:-1])

tmp = tempfile.mkdtemp()
state = os.path.join(tmp, "state")
subprocess.run([pipelitd, "--state-dir", state, "--create-admin", "bench"], input=b"benchpassword\n",
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
port = free_port()
daemon = subprocess.Popen([pipelitd, "--state-dir", state, "--listen", "127.0.0.1:%d" % port,
                           "--log-level", "warning", "--config", "/dev/null"])
base = "http://127.0.0.1:%d/api/v1" % port
fake = FakeLLM()
fake.start()
try:
        for _ in range(100):
                try:
                        urllib.request.urlopen("http://127.0.0.1:%d/health" % port).read()
                        break
                except OSError:
                        time.sleep(0.05)

        def call(method, path, body=None, key=None):
                req = urllib.request.Request(base + path, method=method,
                                             data=json.dumps(body).encode() if body is not None else None,
                                             headers={"Content-Type": "application/json"})
                if key:
                        req.add_header("Authorization", "Bearer " + key)
                with urllib.request.urlopen(req, timeout=60) as r:
                        return json.load(r)

        key = call("POST", "/auth/token/", {"username": "bench", "password": "benchpassword"})["key"]
        credential = call("POST", "/credentials/", {"name": "fake", "credential_type": "llm", "detail": {
                "provider_type": "openai_compatible", "api_key": DEFAULT_OPENAI_KEY,
                "base_url": fake.openai_base_url}}, key)["id"]

        def agent_workflow(name, model, tools=()):
                """trigger_manual and a sync trigger_webhook (path "run") → agent."""
                slug = call("POST", "/workflows/", {"name": name}, key)["slug"]
                for node in ({"node_id": "trig", "component_type": "trigger_manual"},
                             {"node_id": "hook", "component_type": "trigger_webhook",
                              "config": {"extra_config": {"path": "run", "response_mode": "sync"}}},
                             {"node_id": "model", "component_type": "ai_model",
                              "config": {"llm_credential_id": credential, "model_name": model}},
                             {"node_id": "agent", "component_type": "agent",
                              "config": {"extra_config": {"max_iterations": steps + 1, "input_template": "q"}}}):
                        call("POST", "/workflows/%s/nodes/" % slug, node, key)
                for trigger in ("trig", "hook"):
                        call("POST", "/workflows/%s/edges/" % slug,
                             {"source_node_id": trigger, "target_node_id": "agent"}, key)
                call("POST", "/workflows/%s/edges/" % slug,
                     {"source_node_id": "model", "target_node_id": "agent", "edge_label": "llm"}, key)
                for tool in tools:
                        call("POST", "/workflows/%s/nodes/" % slug, {"node_id": tool, "component_type": tool}, key)
                        call("POST", "/workflows/%s/edges/" % slug,
                             {"source_node_id": tool, "target_node_id": "agent", "edge_label": "tool"}, key)
                return slug

        def run_spans(slug, n, before_each=None, engine=None):
                """Runs slug n + 1 times, one after the other, through its sync webhook (which
                answers when the run has ended, so nothing polls while it runs); the spans of
                all but the first. engine (a list) gets each span less the provider's time
                (model_seconds)."""
                spans = []
                for i in range(n + 1):
                        if before_each:
                                before_each()
                        answer = call("POST", "/webhooks/%s/run" % slug, {})
                        eid = answer["execution_id"]
                        if answer["status"] != "completed":
                                sys.exit("run %s ended %s" % (eid, answer["status"]))
                        s = call("GET", "/executions/%s/status/" % eid, key=key)
                        if i > 0:
                                spans.append(stamp(s["completed_at"]) - stamp(s["started_at"]))
                        if i > 0 and engine is not None:
                                logs = call("GET", "/executions/%s/" % eid, key=key)["logs"]
                                model = sum(l["output"]["token_usage"]["model_seconds"] for l in logs
                                            if l["node_id"] == "agent")
                                engine.append(spans[-1] - model)
                if engine is not None:
                        engine.sort()
                return sorted(spans)

        def completed(slug):
                return call("GET", "/executions/?workflow_slug=%s&status=completed&limit=1" % slug, key=key)["total"]

        def status_file():
                with open("/proc/%d/status" % daemon.pid) as f:
                        return {l.split(":")[0]: l.split(":")[1].strip() for l in f}

        # 1. Many agents waiting at once.
        slow = agent_workflow("Bench agents waiting", "slow")
        fake.script("slow", default={"text": "ok", "delay": delay})
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(64) as pool:
                list(pool.map(lambda i: call("POST", "/workflows/%s/execute/" % slow, {"text": "q%d" % i}, key),
                              range(agents)))
        submitted = time.monotonic() - started
        while completed(slow) < agents and time.monotonic() - started < 120:
                time.sleep(0.05)
        wall = time.monotonic() - started
        done = completed(slow)
        print("%d agents, fake answering after %.1f s: all %s in %.2f s (requests sent in %.2f s); "
              "daemon VmHWM %s" % (agents, delay, "completed" if done == agents else "NOT completed (%d)" % done,
                                   wall, submitted, status_file()["VmHWM"]))

        # 2. Overhead per agent step.
        fast = agent_workflow("Bench agent step", "fast")
        fake.script("fast", default={"text": "ok"})
        # The fake's own answer time, over one kept-alive connection as the daemon's client has.
        body = json.dumps({"model": "fast", "messages": [{"role": "user", "content": "q"}]})
        url = urllib.parse.urlsplit(fake.openai_base_url)
        conn = http.client.HTTPConnection(url.hostname, url.port)
        alone = []
        for _ in range(runs + 1):
                t = time.monotonic()
                conn.request("POST", url.path + "/chat/completions", body, {
                        "Content-Type": "application/json", "Authorization": "Bearer " + DEFAULT_OPENAI_KEY})
                conn.getresponse().read()
                alone.append(time.monotonic() - t)
        conn.close()
        alone = alone[1:]
        engine = []
        spans = run_spans(fast, runs, engine=engine)
        alone.sort()
        run_us = sum(spans) / len(spans) * 1e6
        fake_us = sum(alone) / len(alone) * 1e6
        print("agent step (one model call, no tools), %d runs: %.0f µs per run (median %.0f); the fake alone "
              "%.0f µs per answer (median %.0f); difference %.0f µs (median %.0f)" % (
                      len(spans), run_us, spans[len(spans) // 2] * 1e6, fake_us, alone[len(alone) // 2] * 1e6,
                      run_us - fake_us, (spans[len(spans) // 2] - alone[len(alone) // 2]) * 1e6))
        print("agent step, less the provider's time as the daemon measured it: %.0f µs (median %.0f)" % (
                sum(engine) / len(engine) * 1e6, engine[len(engine) // 2] * 1e6))

        # 3. Overhead per step of an agent that loops through a tool.
        looping = agent_workflow("Bench agent loop", "loop", tools=("calculator",))
        tool_call = {"tool_calls": [{"name": "calculator", "arguments": {"expression": "6*7"}}]}
        engine = []
        spans = run_spans(looping, max(runs // 10, 5),
                          lambda: fake.script("loop", *([tool_call] * (steps - 1) + [{"text": "42"}])), engine)
        median = spans[len(spans) // 2]
        print("agent loop (%d model calls, %d calculator calls), %d runs: %.0f µs per run (median); less %d "
              "answers of the fake alone: %.0f µs per step" % (
                      steps, steps - 1, len(spans), median * 1e6, steps,
                      (median - steps * alone[len(alone) // 2]) / steps * 1e6))
        print("agent loop, less the provider's time as the daemon measured it: %.0f µs per step (median)" % (
                engine[len(engine) // 2] / steps * 1e6))
finally:
        fake.stop()
        daemon.terminate()
        daemon.wait()
        shutil.rmtree(tmp, ignore_errors=True)
PY
