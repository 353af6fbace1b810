#!/usr/bin/python3
"""Runs an agent whose model calls the run_command tool, through pipelitd's HTTP API, for
test-sandbox-systemd.py, which runs it inside the container next to the daemon. The model
is tests/fake-llm/fake_llm.py, started here on the loopback. Standard library only.

  run-agent-workflow.py PORT USER PASSWORD COMMANDS_JSON [COMMANDS_JSON …]

Each COMMANDS_JSON is one execution: a list of commands the model runs one after the
other, in the same agent's workspace. Prints {"workflow_id", "slug", "executions":
[{"status", "results": [what each call told the model]}]} as JSON."""

import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_llm import FakeLLM  # noqa: E402

TERMINAL = ("completed", "failed", "cancelled")
KEY = "sk-system-test-0123456789abcdef0123456789abcdef"


class Client:
        def __init__(self, port):
                self.port = port
                self.token = None

        def request(self, method, path, body=None):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                headers = {"Content-Type": "application/json"}
                if self.token:
                        headers["Authorization"] = "Bearer " + self.token
                conn.request(method, "/api/v1" + path, json.dumps(body) if body is not None else None, headers)
                r = conn.getresponse()
                data = r.read()
                conn.close()
                if r.status >= 300:
                        raise SystemExit(f"{method} {path}: {r.status} {data[:2000]!r}")
                return json.loads(data) if data else None


def tool_results(body):
        return {m["tool_call_id"]: m["content"] for m in body["messages"] if m.get("role") == "tool"}


def main():
        port, user, password = sys.argv[1:4]
        executions = [json.loads(a) for a in sys.argv[4:]]
        c = Client(int(port))

        for _ in range(100):
                try:
                        c.token = c.request("POST", "/auth/token/", {"username": user, "password": password})["key"]
                        break
                except (ConnectionError, OSError):
                        time.sleep(0.1)
        else:
                raise SystemExit("pipelitd does not answer")

        fake = FakeLLM(openai_key=KEY)
        fake.start()
        try:
                scenario = f"system-{time.time_ns()}"
                for i, commands in enumerate(executions):
                        replies = [{"tool_calls": [{"id": f"e{i}c{j}", "name": "run_command",
                                                    "arguments": {"command": command}}]}
                                   for j, command in enumerate(commands)]
                        fake.script(scenario, *replies, {"text": "done"})

                credential = c.request("POST", "/credentials/", {
                        "name": f"fake {scenario}", "credential_type": "llm",
                        "detail": {"provider_type": "openai", "api_key": KEY, "base_url": fake.openai_base_url}})["id"]
                workflow = c.request("POST", "/workflows/", {"name": f"Agent {scenario}"})
                slug = workflow["slug"]
                nodes = [
                        {"component_type": "trigger_manual", "node_id": "trig"},
                        {"component_type": "ai_model", "node_id": "model",
                         "config": {"llm_credential_id": credential, "model_name": scenario, "max_tokens": 200}},
                        {"component_type": "agent", "node_id": "agent", "config": {"system_prompt": "Terse."}},
                        {"component_type": "run_command", "node_id": "cmd",
                         "config": {"extra_config": {"timeout": 60}}},
                ]
                for node in nodes:
                        c.request("POST", f"/workflows/{slug}/nodes/", node)
                for edge in ({"source_node_id": "trig", "target_node_id": "agent"},
                             {"source_node_id": "model", "target_node_id": "agent", "edge_label": "llm"},
                             {"source_node_id": "cmd", "target_node_id": "agent", "edge_label": "tool"}):
                        c.request("POST", f"/workflows/{slug}/edges/", edge)

                out = {"workflow_id": workflow["id"], "slug": slug, "executions": []}
                for i, commands in enumerate(executions):
                        execution = c.request("POST", f"/workflows/{slug}/execute/", {"text": "go"})["execution_id"]
                        started = time.monotonic()
                        while time.monotonic() - started < 120:
                                status = c.request("GET", f"/executions/{execution}/status/")["status"]
                                if status in TERMINAL:
                                        break
                                time.sleep(0.1)
                        requests = fake.requests(scenario)
                        got = tool_results(requests[-1]["body"]) if requests else {}
                        out["executions"].append({
                                "status": status,
                                "results": [got.get(f"e{i}c{j}") for j in range(len(commands))],
                                "detail": c.request("GET", f"/executions/{execution}/") if status != "completed" else None,
                        })
                print(json.dumps(out))
        finally:
                fake.stop()


if __name__ == "__main__":
        main()
