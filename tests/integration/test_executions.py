"""The execution engine end to end: manual runs through chains, fan-out and fan-in, switch
routing, retries, continue-on-fail, loops, waits, timeouts, cancel, ownership, the
executions API, and recovery after kill -9."""

import http.server
import json
import threading
import time
import unittest

from harness import DaemonTestCase, unique

TERMINAL = ("completed", "failed", "cancelled")
EXECUTION_FIELDS = {"execution_id", "workflow_slug", "status", "error_message", "error_code",
                    "trigger_node_id", "created_at", "started_at", "completed_at", "total_tokens",
                    "total_cost_usd", "llm_calls"}
LOG_FIELDS = {"id", "node_id", "status", "input", "output", "error", "error_code", "metadata",
              "retry_count", "duration_ms", "timestamp"}


class TargetServer:
        """A local HTTP server for http_request nodes: counts requests per path; /fail…
        answers 500, /slow sleeps `slow_seconds` first, anything else answers 200 {"path"}."""

        def __init__(self):
                self.hits = {}
                self.lock = threading.Lock()
                self.slow_seconds = 0
                outer = self

                class Handler(http.server.BaseHTTPRequestHandler):
                        def do_GET(self):
                                path = self.path.split("?")[0]
                                with outer.lock:
                                        outer.hits[path] = outer.hits.get(path, 0) + 1
                                if path == "/slow":
                                        time.sleep(outer.slow_seconds)
                                status = 500 if path.startswith("/fail") else 200
                                body = json.dumps({"path": path}).encode()
                                try:
                                        self.send_response(status)
                                        self.send_header("Content-Type", "application/json")
                                        self.send_header("Content-Length", str(len(body)))
                                        self.end_headers()
                                        self.wfile.write(body)
                                except OSError:
                                        pass

                        def log_message(self, *args):
                                pass

                self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
                self.server.daemon_threads = True
                self.port = self.server.server_address[1]
                self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
                self.thread.start()

        def url(self, path):
                return "http://127.0.0.1:%d%s" % (self.port, path)

        def count(self, path):
                with self.lock:
                        return self.hits.get(path, 0)

        def stop(self):
                self.server.shutdown()
                self.server.server_close()


class EngineTestCase(DaemonTestCase):
        """Helpers to draw workflows and run them."""

        def flow(self, nodes, edges, client=None, **workflow_fields):
                """nodes: [(node_id, component_type, extra_config or None)]; edges:
                [(source, target)] or [(source, target, {edge fields})]. A trigger_manual
                node "trig" is added first. Returns the slug."""
                client = client or self.admin
                slug = self.make_workflow(client, **workflow_fields)["slug"]
                self.make_node(slug, "trigger_manual", client, node_id="trig")
                for node_id, component_type, extra in nodes:
                        fields = {"node_id": node_id}
                        if extra is not None:
                                fields["config"] = {"extra_config": extra}
                        self.make_node(slug, component_type, client, **fields)
                for e in edges:
                        fields = dict(e[2]) if len(e) > 2 else {}
                        self.make_edge(slug, e[0], e[1], client, **fields)
                return slug

        def execute(self, slug, body=None, client=None):
                r = (client or self.admin).post("/workflows/%s/execute/" % slug,
                                                 body if body is not None else {"text": "hello"})
                self.assertEqual(r.status, 202, r)
                self.assertEqual(set(r.body), {"execution_id", "status"})
                self.assertEqual(r.body["status"], "pending")
                return r.body["execution_id"]

        def wait_for(self, execution_id, statuses=TERMINAL, timeout=20.0, client=None):
                deadline = time.monotonic() + timeout
                while True:
                        r = (client or self.admin).get("/executions/%s/status/" % execution_id)
                        self.assertEqual(r.status, 200, r)
                        if r.body["status"] in statuses:
                                return r.body
                        if time.monotonic() > deadline:
                                self.fail("execution %s still %s after %gs: %r" % (
                                        execution_id, r.body["status"], timeout, self.detail(execution_id)))
                        time.sleep(0.05)

        def run_flow(self, slug, body=None, timeout=20.0):
                execution_id = self.execute(slug, body)
                return self.wait_for(execution_id, timeout=timeout), self.detail(execution_id)

        def detail(self, execution_id, client=None):
                r = (client or self.admin).get("/executions/%s/" % execution_id)
                self.assertEqual(r.status, 200, r)
                return r.body

        def logs_of(self, detail, node_id):
                return [l for l in detail["logs"] if l["node_id"] == node_id]

        def run_status(self, detail, node_id, iteration=""):
                runs = [n for n in detail["node_runs"]
                        if n["node_id"] == node_id and n["iteration"] == iteration]
                return runs[0]["status"] if runs else None

        def wait_nothing_running(self, execution_id, timeout=3.0):
                """Waits until no node run of the execution is running; fails after timeout."""
                deadline = time.monotonic() + timeout
                while True:
                        running = [n for n in self.detail(execution_id)["node_runs"] if n["status"] == "running"]
                        if not running:
                                return
                        if time.monotonic() >= deadline:
                                self.fail("%s still runs %r" % (execution_id, running))
                        time.sleep(0.02)

        def wait_node_status(self, execution_id, node_id, status, timeout=10.0):
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                        if self.run_status(self.detail(execution_id), node_id) == status:
                                return
                        time.sleep(0.05)
                self.fail("node %s of %s never became %s: %r" % (node_id, execution_id, status,
                                                                 self.detail(execution_id)))


def elapsed_ms(start, end):
        """Milliseconds between two API timestamps."""
        parse = lambda t: time.mktime(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + t[19:-1])
        return (parse(end) - parse(start)) * 1000


def jq(program):
        return {"program": program}


class ExecutionFlowTest(EngineTestCase):
        def test_chain_runs_to_completion(self):
                slug = self.flow(
                        [("up", "transform", jq(".trigger.text | ascii_upcase")),
                         ("wrap", "transform", jq("{shout: .up.output, len: (.up.output | length)}")),
                         ("reply", "reply_chat", {"message": "{{ wrap.output.shout }}!{{ wrap.output.len }}"})],
                        [("trig", "up"), ("up", "wrap"), ("wrap", "reply")])
                status, detail = self.run_flow(slug, {"text": "hello"})

                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(status["final_output"], {"output": "HELLO!5"})
                self.assertEqual(status["workflow"], slug)
                self.assertIsNone(status["error_message"])
                self.assertTimestamp(status["started_at"])
                self.assertTimestamp(status["completed_at"])

                self.assertTrue(EXECUTION_FIELDS <= set(detail), detail)
                self.assertEqual(detail["trigger_payload"], {"text": "hello", "payload": {}})
                self.assertEqual(detail["trigger_node_id"], "trig")
                self.assertEqual([l["node_id"] for l in detail["logs"]], ["up", "wrap", "reply"])
                for log in detail["logs"]:
                        self.assertEqual(set(log), LOG_FIELDS)
                        self.assertEqual(log["status"], "completed")
                        self.assertTimestamp(log["timestamp"])
                        self.assertEqual(log["metadata"]["attempt"], 1)
                self.assertEqual(detail["logs"][0]["output"], {"output": "HELLO"})
                self.assertEqual(detail["logs"][1]["input"], {"output": "HELLO"})
                self.assertEqual({n["node_id"]: n["status"] for n in detail["node_runs"]},
                                 {"up": "done", "wrap": "done", "reply": "done"})

        def test_without_reply_the_output_is_every_node_output(self):
                slug = self.flow([("a", "transform", jq("1")), ("b", "transform", jq(".a.output + 1"))],
                                 [("trig", "a"), ("a", "b")])
                status, _ = self.run_flow(slug)
                self.assertEqual(status["status"], "completed")
                self.assertEqual(status["final_output"],
                                 {"node_outputs": {"a": {"output": 1}, "b": {"output": 2}}})

        def test_payload_and_trigger_node_in_templates(self):
                slug = self.flow([("reply", "reply_chat",
                                   {"message": "{{ trigger.payload.who }}/{{ trig.text }}"})],
                                 [("trig", "reply")])
                status, _ = self.run_flow(slug, {"text": "t", "payload": {"who": "me"},
                                                 "trigger_node_id": "trig"})
                self.assertEqual(status["final_output"], {"output": "me/t"})

        def test_fan_out_and_fan_in_run_the_join_once(self):
                slug = self.flow(
                        [("a", "transform", jq("\"A\"")), ("b", "transform", jq("\"B\"")),
                         ("c", "transform", jq("\"C\"")),
                         ("join", "merge", {"mode": "append"}),
                         ("reply", "reply_chat", {"message": "{{ join.merged | join(',') }}"})],
                        [("trig", "a"), ("trig", "b"), ("trig", "c"), ("a", "join"), ("b", "join"),
                         ("c", "join"), ("join", "reply")])
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(len(self.logs_of(detail, "join")), 1, detail["logs"])
                self.assertEqual(sorted(status["final_output"]["output"].split(",")), ["A", "B", "C"])
                join = self.logs_of(detail, "join")[0]
                self.assertEqual(set(join["input"]), {"a", "b", "c"})

        def switch_flow(self, fallback=False):
                rules = [{"id": "left", "field": "trigger.text", "operator": "equals", "value": "left"},
                         {"id": "right", "field": "trigger.text", "operator": "equals", "value": "right"}]
                return self.flow(
                        [("route", "switch", {"rules": rules, "enable_fallback": fallback}),
                         ("l", "transform", jq("\"went left\"")),
                         ("r", "transform", jq("\"went right\"")),
                         ("r2", "transform", jq("\"deeper right\"")),
                         ("join", "merge", {"mode": "append"}),
                         ("reply", "reply_chat", {"message": "{{ join.merged | join('+') }}"})],
                        [("trig", "route"),
                         ("route", "l", {"edge_type": "conditional", "condition_value": "left"}),
                         ("route", "r", {"edge_type": "conditional", "condition_value": "right"}),
                         ("r", "r2"), ("l", "join"), ("r2", "join"), ("join", "reply")])

        def test_switch_routes_and_rules_out_the_other_branch(self):
                slug = self.switch_flow()
                status, detail = self.run_flow(slug, {"text": "left"})
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(status["final_output"], {"output": "went left"})
                self.assertEqual(self.run_status(detail, "r"), "ruled_out")
                self.assertEqual(self.run_status(detail, "r2"), "ruled_out")
                self.assertEqual(self.run_status(detail, "join"), "done")
                self.assertEqual(self.logs_of(detail, "r"), [])
                self.assertEqual(self.logs_of(detail, "route")[0]["metadata"]["route"], "left")

                status, detail = self.run_flow(slug, {"text": "right"})
                self.assertEqual(status["final_output"], {"output": "deeper right"})
                self.assertEqual(self.run_status(detail, "l"), "ruled_out")

        def test_switch_without_match_takes_no_branch(self):
                slug = self.switch_flow()
                status, detail = self.run_flow(slug, {"text": "neither"})
                self.assertEqual(status["status"], "completed", detail)
                for node_id in ("l", "r", "r2", "join", "reply"):
                        self.assertEqual(self.run_status(detail, node_id), "ruled_out", node_id)
                self.assertEqual(status["final_output"], {"node_outputs": {"route": {"route": None}}})

        def test_loop_runs_its_body_per_item(self):
                slug = self.flow(
                        [("each", "loop", {"field": "payload.items"}),
                         ("double", "transform", jq(".loop.item * 2")),
                         ("label", "reply_chat", {"message": "{{ loop.index }}/{{ loop.total }}={{ double.output }}"}),
                         ("after", "transform", jq("[.each.results[].label.output]"))],
                        [("trig", "each"),
                         ("each", "double", {"edge_label": "loop_body"}),
                         ("double", "label"),
                         ("label", "each", {"edge_label": "loop_return"}),
                         ("each", "after")])
                status, detail = self.run_flow(slug, {"text": "", "payload": {"items": [1, 2, 3]}})
                self.assertEqual(status["status"], "completed", detail)
                # The reply_chat inside the body does not make the execution's output.
                self.assertEqual(status["final_output"]["node_outputs"]["each"]["results"][0],
                                 {"label": {"output": "0/3=2"}})
                after = self.logs_of(detail, "after")[0]
                self.assertEqual(after["output"], {"output": ["0/3=2", "1/3=4", "2/3=6"]})
                self.assertEqual(len(self.logs_of(detail, "double")), 3)
                iterations = sorted(n["iteration"] for n in detail["node_runs"] if n["node_id"] == "double")
                self.assertEqual(iterations, ["each:0", "each:1", "each:2"])

        def loop_flow(self, on_error):
                return self.flow(
                        [("each", "loop", {"field": "payload.items", "on_error": on_error}),
                         ("inv", "transform", jq("if .loop.item == 0 then error(\"zero\") else 12 / .loop.item end"))],
                        [("trig", "each"), ("each", "inv", {"edge_label": "loop_body"}),
                         ("inv", "each", {"edge_label": "loop_return"})])

        def test_loop_on_error_continue_records_the_error(self):
                slug = self.loop_flow("continue")
                status, detail = self.run_flow(slug, {"payload": {"items": [1, 0, 4]}})
                self.assertEqual(status["status"], "completed", detail)
                results = status["final_output"]["node_outputs"]["each"]["results"]
                self.assertEqual(results[0], {"inv": {"output": 12}})
                self.assertEqual(results[1]["inv"]["error_code"], "jq")
                self.assertIn("zero", results[1]["inv"]["error"])
                self.assertEqual(results[2], {"inv": {"output": 3}})

        def test_loop_on_error_stop_fails_the_execution(self):
                slug = self.loop_flow("stop")
                status, detail = self.run_flow(slug, {"payload": {"items": [1, 0, 4]}})
                self.assertEqual(status["status"], "failed", detail)
                self.assertTrue(status["error_message"].startswith("Node inv: "), status)
                self.assertEqual(len(self.logs_of(detail, "inv")), 2)  # the third item never ran

        def test_empty_loop_and_nested_loops(self):
                slug = self.flow(
                        [("outer", "loop", {"field": "payload.rows"}),
                         ("inner", "loop", None),
                         ("cell", "transform", jq(".loop.item * 10")),
                         ("after", "transform", jq("[.outer.results[].inner.results[].cell.output]"))],
                        [("trig", "outer"),
                         ("outer", "inner", {"edge_label": "loop_body"}),
                         ("inner", "cell", {"edge_label": "loop_body"}),
                         ("cell", "inner", {"edge_label": "loop_return"}),
                         ("inner", "outer", {"edge_label": "loop_return"}),
                         ("outer", "after")])
                status, detail = self.run_flow(slug, {"payload": {"rows": [[1, 2], [], [3]]}})
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(self.logs_of(detail, "after")[0]["output"], {"output": [10, 20, 30]})
                cells = sorted(n["iteration"] for n in detail["node_runs"] if n["node_id"] == "cell")
                self.assertEqual(cells, ["outer:0/inner:0", "outer:0/inner:1", "outer:2/inner:0"])

                status, detail = self.run_flow(slug, {"payload": {"rows": []}})
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(self.logs_of(detail, "after")[0]["output"], {"output": []})

        def test_template_error_fails_at_once(self):
                slug = self.flow([("reply", "reply_chat", {"message": "{{ nowhere.output }}"})],
                                 [("trig", "reply")])
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "failed")
                self.assertEqual(status["error_code"], "template")
                self.assertIn("nowhere", status["error_message"])
                self.assertTrue(status["error_message"].startswith("Node reply: "), status)
                self.assertEqual(len(self.logs_of(detail, "reply")), 1)

        def test_type_without_component_fails_clearly(self):
                slug = self.flow([("who", "identify_user", None)], [("trig", "who")])
                status, _ = self.run_flow(slug)
                self.assertEqual(status["status"], "failed")
                self.assertIn("component type 'identify_user' cannot run yet", status["error_message"])

        def test_timeout(self):
                slug = self.flow([("pause", "wait", {"duration": 30}), ("after", "transform", jq("1"))],
                                 [("trig", "pause"), ("pause", "after")], max_execution_seconds=1)
                started = time.monotonic()
                status, detail = self.run_flow(slug)
                self.assertLess(time.monotonic() - started, 10)
                self.assertEqual(status["status"], "failed", detail)
                self.assertEqual(status["error_code"], "timeout")
                self.assertEqual(self.logs_of(detail, "after"), [])

        def test_wait_delays_successors(self):
                slug = self.flow([("pause", "wait", {"duration": 1}), ("after", "transform", jq("1"))],
                                 [("trig", "pause"), ("pause", "after")])
                started = time.monotonic()
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "completed", detail)
                self.assertGreaterEqual(time.monotonic() - started, 0.9)


class ExecutionFailureTest(EngineTestCase):
        @classmethod
        def setUpClass(cls):
                super().setUpClass()
                cls.target = TargetServer()

        @classmethod
        def tearDownClass(cls):
                cls.target.stop()
                super().tearDownClass()

        def http_node(self, path, **extra):
                extra.update(url=self.target.url(path), fail_on_error=True)
                return extra

        def test_retries_then_fails_the_execution(self):
                path = "/fail-" + unique()
                slug = self.flow([("call", "http_request", self.http_node(path, retries=2,
                                                                           retry_backoff_seconds=0.2)),
                                  ("after", "transform", jq("1"))],
                                 [("trig", "call"), ("call", "after")])
                self.target.hits.clear()
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "failed", detail)
                self.assertEqual(status["error_code"], "http")
                self.assertTrue(status["error_message"].startswith("Node call: "), status)
                self.assertIn("500", status["error_message"])
                logs = self.logs_of(detail, "call")
                self.assertEqual([l["status"] for l in logs], ["failed"] * 3)
                self.assertEqual([l["retry_count"] for l in logs], [0, 1, 2])
                self.assertEqual([l["metadata"]["attempt"] for l in logs], [1, 2, 3])
                self.assertEqual(self.target.count(path), 3)
                self.assertEqual(self.logs_of(detail, "after"), [])
                self.assertEqual(self.run_status(detail, "call"), "failed")

        def test_retry_backoff_doubles(self):
                path = "/fail-" + unique()
                slug = self.flow([("call", "http_request", self.http_node(path, retries=2,
                                                                           retry_backoff_seconds=0.5))],
                                 [("trig", "call")])
                started = time.monotonic()
                status, _ = self.run_flow(slug)
                # 0.5 s, then 1 s between the three attempts.
                self.assertGreaterEqual(time.monotonic() - started, 1.45)
                self.assertEqual(status["status"], "failed")

        def test_continue_on_fail_routes_the_error_as_output(self):
                path = "/fail-" + unique()
                slug = self.flow([("call", "http_request", self.http_node(path, retries=0,
                                                                           continue_on_fail=True)),
                                  ("after", "transform", jq(".call.error_code"))],
                                 [("trig", "call"), ("call", "after")])
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(self.logs_of(detail, "after")[0]["output"], {"output": "http"})
                call = self.logs_of(detail, "call")
                self.assertEqual(len(call), 1)
                self.assertEqual(call[0]["status"], "failed")
                self.assertEqual(self.target.count(path), 1)

        def test_success_after_a_retry(self):
                slug = self.flow([("call", "http_request", self.http_node("/ok"))], [("trig", "call")])
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(self.logs_of(detail, "call")[0]["output"]["response"]["status"], 200)


class ExecutionApiTest(EngineTestCase):
        def test_execute_checks_the_trigger(self):
                slug = self.make_workflow()["slug"]
                self.make_node(slug, "transform", node_id="t", config={"extra_config": jq("1")})
                r = self.admin.post("/workflows/%s/execute/" % slug, {"text": "x"})
                self.assertEqual(r.status, 422, r)
                self.assertIn("trigger_manual", r.body["detail"])
                r = self.admin.post("/workflows/%s/execute/" % slug, {"trigger_node_id": "t"})
                self.assertEqual(r.status, 422, r)
                r = self.admin.post("/workflows/%s/execute/" % slug, {"trigger_node_id": "ghost"})
                self.assertEqual(r.status, 422, r)

                self.make_node(slug, "trigger_manual", node_id="m1")
                r = self.admin.post("/workflows/%s/execute/" % slug, {})
                self.assertEqual(r.status, 422, r)  # m1 reaches nothing
                self.assertIn("nothing to run", r.body["detail"])
                self.make_edge(slug, "m1", "t")
                self.make_node(slug, "trigger_manual", node_id="m2")
                r = self.admin.post("/workflows/%s/execute/" % slug, {})
                self.assertEqual(r.status, 422, r)
                self.assertIn("trigger_node_id", r.body["detail"])
                execution_id = self.execute(slug, {"trigger_node_id": "m1"})
                self.assertEqual(self.wait_for(execution_id)["status"], "completed")

                self.assertValidation(self.admin.post("/workflows/%s/execute/" % slug,
                                                      {"payload": [1]}), "payload")
                self.assertValidation(self.admin.post("/workflows/%s/execute/" % slug,
                                                      {"text": 5}), "text")
                r = self.admin.post("/workflows/no-such-flow/execute/", {})
                self.assertEqual(r.status, 404, r)

        def test_execute_inactive_workflow(self):
                slug = self.flow([("t", "transform", jq("1"))], [("trig", "t")], is_active=False)
                r = self.admin.post("/workflows/%s/execute/" % slug, {})
                self.assertEqual(r.status, 422, r)

        def test_list_filters_and_pages(self):
                slug = self.flow([("t", "transform", jq("1"))], [("trig", "t")])
                ids = [self.execute(slug) for _ in range(3)]
                for i in ids:
                        self.wait_for(i)
                r = self.admin.get("/executions/?workflow_slug=%s" % slug)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["total"], 3)
                self.assertEqual([e["execution_id"] for e in r.body["items"]], ids[::-1])
                for e in r.body["items"]:
                        self.assertEqual(set(e), EXECUTION_FIELDS)
                        self.assertEqual(e["workflow_slug"], slug)
                r = self.admin.get("/executions/?workflow_slug=%s&limit=1&offset=1" % slug)
                self.assertEqual([e["execution_id"] for e in r.body["items"]], [ids[1]])
                self.assertEqual(r.body["total"], 3)
                r = self.admin.get("/executions/?workflow_slug=%s&status=failed" % slug)
                self.assertEqual((r.body["total"], r.body["items"]), (0, []))
                r = self.admin.get("/executions/?workflow_slug=%s&status=completed" % slug)
                self.assertEqual(r.body["total"], 3)
                self.assertValidation(self.admin.get("/executions/?status=bogus"), "status", "query")
                self.assertValidation(self.admin.get("/executions/?limit=0"), "limit", "query")

        def test_unknown_execution(self):
                for path in ("/executions/%s/", "/executions/%s/status/"):
                        for bad in ("nope", "00000000-0000-4000-8000-000000000000"):
                                r = self.admin.get(path % bad)
                                self.assertEqual(r.status, 404, r)
                r = self.admin.post("/executions/00000000-0000-4000-8000-000000000000/cancel/")
                self.assertEqual(r.status, 404, r)

        def test_batch_delete(self):
                slug = self.flow([("t", "transform", jq("1"))], [("trig", "t")])
                a, b = self.execute(slug), self.execute(slug)
                self.wait_for(a)
                self.wait_for(b)
                r = self.admin.post("/executions/batch-delete/", {"execution_ids": [a, "nope"]})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body, {"deleted": 1})
                self.assertEqual(self.admin.get("/executions/%s/" % a).status, 404)
                self.assertEqual(self.admin.get("/executions/%s/" % b).status, 200)
                self.assertValidation(self.admin.post("/executions/batch-delete/", {}), "execution_ids")

        def test_cancel_stops_the_run(self):
                slug = self.flow([("pause", "wait", {"duration": 30}), ("after", "transform", jq("1"))],
                                 [("trig", "pause"), ("pause", "after")])
                execution_id = self.execute(slug)
                self.wait_node_status(execution_id, "after", "queued")
                r = self.admin.post("/executions/%s/cancel/" % execution_id)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body, {"execution_id": execution_id, "status": "cancelled"})
                status = self.wait_for(execution_id)
                self.assertEqual(status["status"], "cancelled")
                self.assertTimestamp(status["completed_at"])
                detail = self.detail(execution_id)
                self.assertEqual(self.run_status(detail, "after"), "cancelled")
                self.assertEqual(self.logs_of(detail, "after"), [])
                r = self.admin.post("/executions/%s/cancel/" % execution_id)
                self.assertEqual(r.status, 409, r)

        def test_another_users_executions_are_invisible(self):
                slug = self.flow([("t", "transform", jq("1"))], [("trig", "t")])
                execution_id = self.execute(slug)
                self.wait_for(execution_id)
                _, other = self.make_user()
                for path in ("/executions/%s/", "/executions/%s/status/"):
                        r = other.get(path % execution_id)
                        self.assertEqual(r.status, 404, r)
                self.assertEqual(other.post("/executions/%s/cancel/" % execution_id).status, 404)
                r = other.get("/executions/")
                self.assertEqual((r.status, r.body["total"]), (200, 0))
                r = other.post("/executions/batch-delete/", {"execution_ids": [execution_id]})
                self.assertEqual(r.body, {"deleted": 0})
                self.assertEqual(other.post("/workflows/%s/execute/" % slug, {}).status, 404)
                self.assertEqual(self.admin.get("/executions/%s/" % execution_id).status, 200)

                # Their own runs are theirs to see.
                own = self.flow([("t", "transform", jq("1"))], [("trig", "t")], client=other)
                mine = self.execute(own, client=other)
                self.wait_for(mine, client=other)
                self.assertEqual(other.get("/executions/").body["total"], 1)
                self.assertEqual(self.admin.get("/executions/%s/" % mine).status, 200)

        def test_many_executions_at_once(self):
                slug = self.flow(
                        [("a", "reply_chat", {"message": "a"}), ("b", "reply_chat", {"message": "b"}),
                         ("c", "reply_chat", {"message": "c"}),
                         ("join", "merge", {"mode": "append"}),
                         ("reply", "reply_chat", {"message": "{{ join.merged | sort | join('') }}"})],
                        [("trig", "a"), ("trig", "b"), ("trig", "c"), ("a", "join"), ("b", "join"),
                         ("c", "join"), ("join", "reply")])
                ids = [self.execute(slug) for _ in range(40)]
                for execution_id in ids:
                        status = self.wait_for(execution_id, timeout=60)
                        self.assertEqual(status["status"], "completed")
                        self.assertEqual(status["final_output"], {"output": "abc"})
                detail = self.detail(ids[-1])
                self.assertEqual(len(self.logs_of(detail, "join")), 1)
                self.assertEqual(len(detail["logs"]), 5)

        def test_twenty_node_chain(self):
                # reply_chat does next to nothing, so the time is the engine's own.
                nodes = [("n%d" % i, "reply_chat", {"message": "{{ trigger.text }}%d" % i}) for i in range(20)]
                edges = [("trig", "n0")] + [("n%d" % i, "n%d" % (i + 1)) for i in range(19)]
                slug = self.flow(nodes, edges)
                timings = []
                for _ in range(3):
                        execution_id = self.execute(slug)
                        status = self.wait_for(execution_id)
                        self.assertEqual(status["status"], "completed")
                        self.assertEqual(status["final_output"], {"output": "hello19"})
                        detail = self.detail(execution_id)
                        self.assertEqual(len(detail["logs"]), 20)
                        timings.append(elapsed_ms(detail["created_at"], detail["completed_at"]))
                print("\n    20-node chain: %s ms from creation to completion" %
                      " / ".join("%.1f" % t for t in timings), end=" ")


class ExecutionRecoveryTest(EngineTestCase):
        """kill -9 with work in flight, then a restart on the same database."""

        @classmethod
        def setUpClass(cls):
                super().setUpClass()
                cls.target = TargetServer()

        @classmethod
        def tearDownClass(cls):
                cls.target.stop()
                super().tearDownClass()

        def restart(self):
                self.daemon.kill()
                self.daemon.start()

        def test_delayed_nodes_survive_kill(self):
                slug = self.flow([("pause", "wait", {"duration": 2}), ("after", "transform", jq("\"after\"")),
                                  ("reply", "reply_chat", {"message": "{{ after.output }}"})],
                                 [("trig", "pause"), ("pause", "after"), ("after", "reply")])
                path = "/fail-" + unique()
                retrying = self.flow([("call", "http_request", {"url": self.target.url(path),
                                                                "fail_on_error": True, "retries": 1,
                                                                "retry_backoff_seconds": 2})],
                                     [("trig", "call")])
                waiting = self.execute(slug)
                failing = self.execute(retrying)
                self.wait_node_status(waiting, "after", "queued")
                self.wait_node_status(failing, "call", "queued")
                deadline = time.monotonic() + 10
                while self.target.count(path) < 1 and time.monotonic() < deadline:
                        time.sleep(0.05)
                self.restart()

                status = self.wait_for(waiting)
                self.assertEqual(status["status"], "completed")
                self.assertEqual(status["final_output"], {"output": "after"})
                detail = self.detail(waiting)
                self.assertEqual(len(self.logs_of(detail, "after")), 1)

                status = self.wait_for(failing)
                self.assertEqual(status["status"], "failed")
                self.assertEqual(self.target.count(path), 2)
                self.assertEqual(len(self.logs_of(self.detail(failing), "call")), 2)

        def test_node_cut_off_mid_run_runs_again_as_another_attempt(self):
                self.target.slow_seconds = 30
                slug = self.flow([("call", "http_request", {"url": self.target.url("/slow"), "retries": 3}),
                                  ("after", "transform", jq(".call.response.body.path"))],
                                 [("trig", "call"), ("call", "after")])
                execution_id = self.execute(slug)
                deadline = time.monotonic() + 10
                while self.target.count("/slow") < 1 and time.monotonic() < deadline:
                        time.sleep(0.05)
                self.assertEqual(self.target.count("/slow"), 1)
                self.target.slow_seconds = 0
                self.restart()

                status = self.wait_for(execution_id)
                self.assertEqual(status["status"], "completed")
                self.assertEqual(self.target.count("/slow"), 2)
                detail = self.detail(execution_id)
                call = [n for n in detail["node_runs"] if n["node_id"] == "call"][0]
                self.assertEqual(call["attempt"], 2)
                self.assertEqual(self.logs_of(detail, "after")[0]["output"], {"output": "/slow"})


class ExecutionStopTest(EngineTestCase):
        """SIGTERM while a node runs: the daemon stops promptly; the node runs again after
        the restart."""

        def test_sigterm_interrupts_and_restart_resumes(self):
                target = TargetServer()
                self.addCleanup(target.stop)
                target.slow_seconds = 60
                slug = self.flow([("call", "http_request", {"url": target.url("/slow")})], [("trig", "call")])
                execution_id = self.execute(slug)
                deadline = time.monotonic() + 10
                while target.count("/slow") < 1 and time.monotonic() < deadline:
                        time.sleep(0.05)
                target.slow_seconds = 0

                started = time.monotonic()
                self.daemon.stop()
                self.assertLess(time.monotonic() - started, 8)
                self.daemon.start()

                status = self.wait_for(execution_id)
                self.assertEqual(status["status"], "completed")
                self.assertEqual(target.count("/slow"), 2)
                detail = self.detail(execution_id)
                self.assertEqual([l["status"] for l in detail["logs"]], ["completed"])
                self.assertEqual(detail["node_runs"][0]["attempt"], 2)


        def test_cancel_aborts_a_running_node(self):
                target = TargetServer()
                self.addCleanup(target.stop)
                target.slow_seconds = 30
                slug = self.flow([("call", "http_request", {"url": target.url("/slow")}),
                                  ("after", "transform", jq("1"))],
                                 [("trig", "call"), ("call", "after")])
                execution_id = self.execute(slug)
                self.wait_node_status(execution_id, "call", "running")
                deadline = time.monotonic() + 10
                while target.count("/slow") < 1 and time.monotonic() < deadline:
                        time.sleep(0.05)

                started = time.monotonic()
                r = self.admin.post("/executions/%s/cancel/" % execution_id)
                self.assertEqual(r.status, 200, r)
                # The request is aborted: the node's run ends well before the server answers.
                self.wait_node_status(execution_id, "call", "cancelled", timeout=5)
                self.assertLess(time.monotonic() - started, 5)
                detail = self.detail(execution_id)
                self.assertEqual(detail["status"], "cancelled")
                self.assertEqual([l["status"] for l in self.logs_of(detail, "call")], ["cancelled"])
                self.assertEqual(self.logs_of(detail, "after"), [])
                self.assertEqual(target.count("/slow"), 1)


class OutputLimitTest(EngineTestCase):
        daemon_config = "[Limits]\nMaxNodeOutputSize=100\n[Engine]\nWorkers=2\n"

        def test_large_output_fails_clearly(self):
                slug = self.flow([("big", "reply_chat", {"message": "x" * 200})], [("trig", "big")])
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "failed", detail)
                self.assertEqual(status["error_code"], "output_too_large")
                self.assertIn("MaxNodeOutputSize", status["error_message"])
                self.assertEqual(len(self.logs_of(detail, "big")), 1)


if __name__ == "__main__":
        unittest.main()
