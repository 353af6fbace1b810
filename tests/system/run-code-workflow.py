#!/usr/bin/python3
"""Runs a one-node workflow with a code node through pipelitd's HTTP API, for
test-sandbox-systemd.py, which runs it inside the container next to the daemon. Standard
library only.

  run-code-workflow.py PORT USER PASSWORD EXTRA_CONFIG_JSON [--cancel-after SEC]

EXTRA_CONFIG_JSON is the code node's extra_config: {"language", "code", "timeout"?}.

Prints the execution's detail (GET /api/v1/executions/{id}/) as JSON once it ended; with
--cancel-after, cancels it that long after it started."""

import http.client
import json
import sys
import time

TERMINAL = ("completed", "failed", "cancelled")


class Client:
        def __init__(self, port):
                self.port = port
                self.token = None

        def request(self, method, path, body=None):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
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


def main():
        port, user, password, extra = sys.argv[1:5]
        cancel_after = float(sys.argv[6]) if len(sys.argv) > 6 and sys.argv[5] == "--cancel-after" else None
        c = Client(int(port))

        # Socket activation starts the daemon on the first connection; give it a moment.
        for _ in range(100):
                try:
                        c.token = c.request("POST", "/auth/token/", {"username": user, "password": password})["key"]
                        break
                except (ConnectionError, OSError):
                        time.sleep(0.1)
        else:
                raise SystemExit("pipelitd does not answer")

        slug = c.request("POST", "/workflows/", {"name": f"Sandbox {time.time_ns()}"})["slug"]
        c.request("POST", f"/workflows/{slug}/nodes/", {"component_type": "trigger_manual", "node_id": "trig"})
        c.request("POST", f"/workflows/{slug}/nodes/",
                  {"component_type": "code", "node_id": "calc",
                   "config": {"extra_config": dict(json.loads(extra), retries=0)}})
        c.request("POST", f"/workflows/{slug}/edges/", {"source_node_id": "trig", "target_node_id": "calc"})

        execution = c.request("POST", f"/workflows/{slug}/execute/", {"text": "hello"})["execution_id"]
        started = time.monotonic()
        cancelled = False
        while time.monotonic() - started < 60:
                status = c.request("GET", f"/executions/{execution}/status/")["status"]
                if status in TERMINAL:
                        break
                if cancel_after is not None and not cancelled and time.monotonic() - started >= cancel_after:
                        c.request("POST", f"/executions/{execution}/cancel/")
                        cancelled = True
                time.sleep(0.1)
        print(json.dumps(c.request("GET", f"/executions/{execution}/")))


if __name__ == "__main__":
        main()
