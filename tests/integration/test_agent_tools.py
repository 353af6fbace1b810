"""The agent tools that reach outside the agent: http_request (with the node's headers and
the private-network guard), web_search against a SearXNG stand-in speaking its JSON API,
whoami, and workflow_discover over the owner's workflows. The model is the fake LLM; each
test scripts a tool call and checks what the tool told the model."""

import http.server
import json
import threading
import urllib.parse

from harness import unique
from agent_case import AgentTestBase, tool_results


class RecordingServer:
        """A local HTTP server that records each request (path, query, headers) and answers
        with what answer(path) returns: (status, JSON body)."""

        def __init__(self, answer):
                self.requests = []
                self.lock = threading.Lock()
                outer = self

                class Handler(http.server.BaseHTTPRequestHandler):
                        def do_GET(self):
                                url = urllib.parse.urlsplit(self.path)
                                with outer.lock:
                                        outer.requests.append({"path": url.path,
                                                               "query": urllib.parse.parse_qs(url.query),
                                                               "headers": {k.lower(): v for k, v in self.headers.items()}})
                                status, body = answer(url.path)
                                data = json.dumps(body).encode()
                                self.send_response(status)
                                self.send_header("Content-Type", "application/json")
                                self.send_header("Content-Length", str(len(data)))
                                self.end_headers()
                                self.wfile.write(data)

                        def log_message(self, *args):
                                pass

                self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
                self.server.daemon_threads = True
                self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
                threading.Thread(target=self.server.serve_forever, daemon=True).start()

        def stop(self):
                self.server.shutdown()
                self.server.server_close()


SEARCH_RESULTS = [
        {"title": "pipelit workflows", "url": "https://example.org/pipelit", "content": "Draw workflows."},
        {"title": "", "url": "https://example.org/untitled", "content": ""},
        {"title": "Third", "url": "https://example.org/third", "content": "Not shown with max_results 2."},
]


def searxng_answer(path):
        if path == "/broken/search":
                return 500, {"error": "engine down"}
        return 200, {"query": "x", "results": SEARCH_RESULTS}


class AgentToolsTest(AgentTestBase):
        provider = "openai"

        @classmethod
        def setUpClass(cls):
                cls.target = RecordingServer(lambda path: (200, {"items": [1, 2, 3], "path": path}))
                cls.searxng = RecordingServer(searxng_answer)
                super().setUpClass()

        @classmethod
        def tearDownClass(cls):
                try:
                        super().tearDownClass()
                finally:
                        cls.target.stop()
                        cls.searxng.stop()

        def call_tool(self, tool, arguments, tool_config=None, agent_config=None):
                """Runs an agent whose model calls tool once with arguments, then answers; returns
                (what the tool told the model, the execution detail, the slug)."""
                model = self.scenario()
                self.fake.script(model, {"tool_calls": [{"id": "call_1", "name": tool, "arguments": arguments}]},
                                 {"text": "done"})
                slug = self.agent_flow(model, tools=(), agent_config=agent_config)
                self.make_node(slug, tool, node_id="the_tool", config=tool_config or {})
                self.make_edge(slug, "the_tool", "agent", edge_label="tool")
                status, detail = self.run_flow(slug, {"text": "go"})
                self.assertEqual(status["status"], "completed", detail)
                requests = self.fake.requests(model)
                self.assertEqual(len(requests), 2)
                return tool_results(self.provider, requests[1]["body"])["call_1"], detail, slug

        def test_tool_calls_of_a_child_reach_the_top_level_execution(self):
                model = self.scenario()
                self.fake.script(model, {"tool_calls": [{"id": "c1", "name": "calculator",
                                                         "arguments": {"expression": "2+2"}}]}, {"text": "4"})
                child = self.agent_flow(model, tools=("calculator",))
                parent = self.flow([("sub", "workflow", {"target_workflow": child})], [("trig", "sub")])
                w = self.ws("workflow:" + parent)
                status, detail = self.run_flow(parent, {"text": "2+2?"})
                self.assertEqual(status["status"], "completed", detail)

                def child_tool_event(status):
                        return lambda e: (e.get("type") == "child_node_status" and e["data"].get("is_tool_call") is True
                                          and e["data"]["status"] == status)

                running = self.next_event(w, child_tool_event("running"))
                self.assertEqual(running["execution_id"], detail["execution_id"])
                self.assertEqual(running["data"]["node_id"], "calculator_tool")
                self.assertEqual(running["data"]["parent_node_id"], "sub")
                self.assertTrue(running["data"]["is_child_event"])
                child_execution = running["data"]["child_execution_id"]
                self.assertNotEqual(child_execution, detail["execution_id"])
                done = self.next_event(w, child_tool_event("success"))
                self.assertEqual(done["data"]["output"], {"result": "4"})
                self.assertEqual(done["data"]["child_execution_id"], child_execution)

        def test_http_request_tool_with_the_nodes_headers(self):
                before = len(self.target.requests)
                result, _, _ = self.call_tool(
                        "http_request",
                        {"url": self.target.url + "/items?x=1", "headers": {"authorization": "Bearer from-model",
                                                                            "X-Model": "yes"}},
                        {"extra_config": {"allow_private_network": True,
                                          "headers": {"Authorization": "Bearer node-secret"}}})
                self.assertEqual(json.loads(result), {"status": 200, "body": {"items": [1, 2, 3], "path": "/items"}})
                seen = self.target.requests[before:]
                self.assertEqual(len(seen), 1)
                self.assertEqual(seen[0]["query"], {"x": ["1"]})
                # The node's header wins over the model's, whatever case it was written in.
                self.assertEqual(seen[0]["headers"]["authorization"], "Bearer node-secret")
                self.assertEqual(seen[0]["headers"]["x-model"], "yes")

        def test_http_request_tool_stays_off_private_networks_by_default(self):
                before = len(self.target.requests)
                result, detail, _ = self.call_tool("http_request", {"url": self.target.url + "/secret"})
                self.assertIn("private network", result)
                self.assertTrue(result.startswith("Error: "), result)
                self.assertEqual(len(self.target.requests), before)
                # The tool's failure went to the model; the agent still answered.
                self.assertEqual(self.agent_log(detail)["output"]["output"], "done")

                result, _, _ = self.call_tool("http_request", {"url": "file:///etc/passwd"},
                                              {"extra_config": {"allow_private_network": True}})
                self.assertIn("Only http:// and https://", result)
                result, _, _ = self.call_tool("http_request", {"method": "GET"})
                self.assertIn("'url'", result)

        def searxng_credential(self, url):
                r = self.admin.post("/credentials/", {"name": unique("searx "), "credential_type": "tool",
                                                      "detail": {"tool_type": "searxng", "config": {"url": url}}})
                self.assertEqual(r.status, 201, r)
                return r.body["id"]

        def test_web_search_asks_searxng(self):
                before = len(self.searxng.requests)
                credential = self.searxng_credential(self.searxng.url + "/")
                result, _, _ = self.call_tool("web_search", {"query": "visual workflows & agents"},
                                              {"credential_id": credential, "extra_config": {"max_results": 2}})
                self.assertEqual(result, "1. pipelit workflows\n   https://example.org/pipelit\n   Draw workflows.\n"
                                         "2. https://example.org/untitled\n   https://example.org/untitled\n")
                seen = self.searxng.requests[before:]
                self.assertEqual(len(seen), 1)
                self.assertEqual(seen[0]["path"], "/search")
                self.assertEqual(seen[0]["query"], {"q": ["visual workflows & agents"], "format": ["json"]})

        def test_web_search_failures_are_told_to_the_model(self):
                credential = self.searxng_credential(self.searxng.url + "/broken")
                result, _, _ = self.call_tool("web_search", {"query": "anything"}, {"credential_id": credential})
                self.assertIn("Web search is unavailable: the search service answered HTTP 500", result)

                result, _, _ = self.call_tool("web_search", {"query": "anything"})
                self.assertIn("no SearXNG credential", result)
                result, _, _ = self.call_tool("web_search", {}, {"credential_id": credential})
                self.assertIn("'query'", result)

                # Only a credential of the node's owner may be named.
                _, other = self.make_user()
                r = other.post("/workflows/%s/nodes/" % self.flow([], [], client=other),
                               {"component_type": "web_search", "config": {"credential_id": credential}})
                self.assertEqual(r.status, 422, r)
                self.assertHealthy()

        def test_whoami(self):
                result, _, slug = self.call_tool("whoami", {}, agent_config={"max_iterations": 3})
                me = json.loads(result)
                self.assertEqual(me["workflow"]["slug"], slug)
                self.assertEqual(me["node"], {"node_id": "agent", "component_type": "agent"})
                self.assertEqual(me["config"]["system_prompt"], "You are terse.")
                self.assertEqual(me["config"]["extra_config"]["max_iterations"], 3)
                self.assertEqual(me["tools"], [{"node_id": "the_tool", "component_type": "whoami"}])
                self.assertEqual(me["self_modification"]["path"], "/api/v1/workflows/%s/nodes/agent/" % slug)
                self.assertEqual(me["started_by_user_id"], self.admin_id)
                r = self.admin.get("/executions/%s/" % me["execution_id"])
                self.assertEqual(r.status, 200, r)

        def test_workflow_discover_scores_the_owners_workflows(self):
                tag = unique("tag")
                full = self.flow([("code", "code", {"language": "python", "code": "print(1)"}),
                                  ("sw", "switch", None)], [("trig", "code"), ("code", "sw")], tags=[tag])
                half = self.flow([("sw", "switch", None)], [("trig", "sw")], tags=[tag])
                # Another user's workflow with everything asked for is never shown.
                _, other = self.make_user()
                theirs = self.flow([("code", "code", {"language": "python", "code": "print(1)"})], [("trig", "code")],
                                   client=other, tags=[tag])

                result, _, _ = self.call_tool("workflow_discover",
                                              {"requirements": {"node_types": ["code", "switch"], "tags": [tag]},
                                               "limit": 3})
                found = json.loads(result)
                self.assertEqual(found["recommendation"], "reuse")
                matches = found["matches"]
                self.assertGreaterEqual(len(matches), 2, matches)
                self.assertNotIn(theirs, [m["slug"] for m in matches])
                self.assertEqual((matches[0]["slug"], matches[0]["match_score"], matches[0]["recommendation"]),
                                 (full, 1.0, "reuse"))
                self.assertEqual(matches[0]["missing"], [])
                self.assertEqual((matches[1]["slug"], matches[1]["match_score"]), (half, 0.67))
                self.assertEqual(matches[1]["missing"], ["code"])
                self.assertEqual(matches[1]["recommendation"], "fork_and_patch")

                result, _, _ = self.call_tool("workflow_discover", {"requirements": {}})
                self.assertIn("Say what the workflow should do", result)

