"""Agents end to end against the fake LLM provider (tests/fake-llm), in both dialects: an
ai_model node with an llm credential pointing at the fake, an agent with calculator and
datetime tools. The agent calls its tools and answers, tool calls show as node_status events
over a WebSocket, max_iterations stops an endless loop, provider errors fail the node with
the provider's words, a rate limit is waited out, and the key never shows."""

import datetime
import json
import time

from agent_case import KEY, AgentTestBase, tool_results


class AgentCases(AgentTestBase):
        def test_agent_calls_two_tools_and_answers(self):
                model = self.scenario()
                self.fake.script(model,
                                 {"tool_calls": [{"id": "call_calc", "name": "calculator",
                                                  "arguments": {"expression": "6*7"}},
                                                 {"id": "call_time", "name": "datetime", "arguments": {}}]},
                                 {"text": "6*7 is 42."})
                slug = self.agent_flow(model, agent_config={"input_template": "Question: {{ trigger.text }}"})
                w = self.ws("workflow:" + slug)
                status, detail = self.run_flow(slug, {"text": "what is 6*7 and what time is it?"})
                self.assertEqual(status["status"], "completed", detail)

                output = self.agent_log(detail)["output"]
                self.assertEqual(output["output"], "6*7 is 42.")
                self.assertEqual([m["role"] for m in output["messages"]], ["user", "assistant", "tool", "tool",
                                                                          "assistant"])
                self.assertEqual(output["messages"][0]["content"], "Question: what is 6*7 and what time is it?")
                self.assertEqual(output["token_usage"]["llm_calls"], 2)
                self.assertEqual(output["token_usage"]["tool_calls"], 2)
                self.assertGreater(output["token_usage"]["total_tokens"], 0)
                # The execution adds up what its nodes' model calls used.
                self.assertEqual(detail["llm_calls"], 2)
                self.assertEqual(detail["total_tokens"], output["token_usage"]["total_tokens"])

                requests = self.fake.requests(model)
                self.assertEqual(len(requests), 2)
                first = requests[0]["body"]
                offered = sorted(t.get("name") or t.get("function", {}).get("name") for t in first["tools"])
                self.assertEqual(offered, ["calculator", "datetime"])
                self.assertEqual(first.get("max_tokens") or first.get("max_completion_tokens"), 300)
                self.assertEqual(first["temperature"], 0.2)
                results = tool_results(self.provider, requests[1]["body"])
                self.assertEqual(results["call_calc"], "42")
                self.assertRegex(results["call_time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
                now = time.strftime("%Y-%m-%dT%H", time.gmtime())
                self.assertTrue(results["call_time"].startswith(now[:10]), results["call_time"])
                if self.provider == "anthropic":
                        self.assertEqual(first["system"], "You are terse.")
                else:
                        self.assertEqual(first["messages"][0], {"role": "system", "content": "You are terse."})

                def tool_event(node_id, status):
                        return lambda e: (e.get("type") == "node_status" and e["data"].get("is_tool_call") is True
                                          and e["data"]["node_id"] == node_id and e["data"]["status"] == status)

                running = self.next_event(w, tool_event("calculator_tool", "running"))
                self.assertEqual(running["data"]["parent_node_id"], "agent")
                self.assertEqual(running["data"]["tool_name"], "calculator")
                self.assertEqual(running["data"]["component_type"], "calculator")
                done = self.next_event(w, tool_event("calculator_tool", "success"))
                self.assertEqual(done["data"]["output"], {"result": "42"})
                self.next_event(w, tool_event("datetime_tool", "success"))

        def test_tool_errors_go_back_to_the_model(self):
                model = self.scenario()
                self.fake.script(model,
                                 {"tool_calls": [{"id": "c1", "name": "calculator", "arguments": {"expression": "1/0"}},
                                                 {"id": "c2", "name": "calculator",
                                                  "arguments": {"expression": "__import__('os')"}},
                                                 {"id": "c3", "name": "no_such_tool", "arguments": {}},
                                                 {"id": "c4", "name": "datetime", "arguments": {"timezone": "+05:30"}},
                                                 {"id": "c5", "name": "datetime", "arguments": {"timezone": "Mars/Base"}}]
                                  # Only OpenAI-style models write arguments that are not JSON.
                                  + ([{"id": "c6", "name": "calculator", "arguments": "{not json"}]
                                     if self.provider == "openai" else [])},
                                 {"text": "I cannot."})
                slug = self.agent_flow(model)
                w = self.ws("workflow:" + slug)
                status, detail = self.run_flow(slug, {"text": "divide"})
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(self.agent_log(detail)["output"]["output"], "I cannot.")
                results = tool_results(self.provider, self.fake.requests(model)[1]["body"])
                self.assertIn("Division by zero", results["c1"])
                self.assertIn("Unexpected '_'", results["c2"])
                self.assertIn("no tool called 'no_such_tool'", results["c3"])
                self.assertRegex(results["c4"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+05:30$")
                self.assertIn("Unknown time zone 'Mars/Base'", results["c5"])
                if self.provider == "openai":
                        self.assertIn("not a JSON object", results["c6"])
                failed = self.next_event(w, lambda e: e.get("type") == "node_status"
                                         and e["data"].get("is_tool_call") and e["data"]["status"] == "failed")
                self.assertIn("Division by zero", failed["data"]["error"])

        def test_max_iterations_fails_clearly(self):
                model = self.scenario()
                self.fake.script(model, default={"tool_calls": [{"name": "calculator",
                                                                 "arguments": {"expression": "1+1"}}]})
                slug = self.agent_flow(model, agent_config={"max_iterations": 3})
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "failed", detail)
                log = self.agent_log(detail)
                self.assertEqual(log["error_code"], "max_iterations")
                self.assertIn("3 model calls (max_iterations)", log["error"])
                self.assertEqual(len(self.fake.requests(model)), 3)

        def test_the_model_time_is_told_apart(self):
                """token_usage.model_seconds: how long the provider took, every call together;
                the rest of the node's time is the daemon's. The node's duration_ms covers
                both, though the agent waited for each answer off its worker."""
                model = self.scenario()
                self.fake.script(model, {"tool_calls": [{"id": "c1", "name": "calculator",
                                                         "arguments": {"expression": "6*7"}}], "delay": 0.3},
                                 {"text": "42", "delay": 0.2})
                slug = self.agent_flow(model)
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "completed", detail)
                log = self.agent_log(detail)
                usage = log["output"]["token_usage"]
                self.assertEqual(usage["llm_calls"], 2)
                self.assertGreaterEqual(usage["model_seconds"], 0.5)
                took = (datetime.datetime.fromisoformat(detail["completed_at"].replace("Z", "+00:00"))
                        - datetime.datetime.fromisoformat(detail["started_at"].replace("Z", "+00:00")))
                self.assertLess(usage["model_seconds"], took.total_seconds())
                self.assertGreaterEqual(log["duration_ms"], 500)
                self.assertLessEqual(log["duration_ms"], took.total_seconds() * 1000 + 1)

        def test_wrong_key_fails_with_an_auth_message(self):
                model = self.scenario()
                wrong = "sk-wrong-" + "abcdefghij" * 3
                slug = self.agent_flow(model, api_key=wrong)
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "failed", detail)
                log = self.agent_log(detail)
                self.assertEqual(log["error_code"], "llm_auth")
                self.assertIn("authentication failed, HTTP 401", log["error"])
                self.assertNotIn(wrong, json.dumps(detail))
                self.assertNotIn(wrong, self.daemon.log())

        def test_bad_request_fails_with_the_provider_message(self):
                model = self.scenario()
                self.fake.script(model, {"error": {"status": 400, "message": "max_tokens: 300 is too many for this model"}})
                slug = self.agent_flow(model)
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "failed", detail)
                log = self.agent_log(detail)
                self.assertEqual(log["error_code"], "llm")
                self.assertIn("HTTP 400", log["error"])
                self.assertIn("max_tokens: 300 is too many for this model", log["error"])
                self.assertEqual(len(self.fake.requests(model)), 1)

        def test_rate_limit_then_success(self):
                model = self.scenario()
                self.fake.script(model, {"error": {"status": 429, "retry_after": 1}}, {"text": "made it"})
                slug = self.agent_flow(model)
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(self.agent_log(detail)["output"]["output"], "made it")
                requests = self.fake.requests(model)
                self.assertEqual(len(requests), 2)
                self.assertGreaterEqual(requests[1]["time"] - requests[0]["time"], 0.9)

        def test_key_never_shows(self):
                model = self.scenario()
                self.fake.script(model,
                                 {"tool_calls": [{"id": "k1", "name": "calculator", "arguments": {"expression": "2**5"}}]},
                                 {"error": {"status": 400, "message": "your key %s is not allowed here" % KEY}})
                slug = self.agent_flow(model)
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "failed", detail)
                self.assertIn("your key **** is not allowed here", self.agent_log(detail)["error"])
                listing = self.admin.get("/executions/?workflow_slug=%s" % slug)
                for text in (json.dumps(detail), json.dumps(listing.body), self.daemon.log()):
                        self.assertNotIn(KEY, text)
                        self.assertNotIn(KEY[8:30], text)

        def test_cancel_stops_the_model_call(self):
                model = self.scenario()
                self.fake.script(model, {"text": "too late", "delay": 10})
                slug = self.agent_flow(model)
                execution_id = self.execute(slug)
                self.wait_node_status(execution_id, "agent", "running")
                deadline = time.monotonic() + 5
                while not self.fake.requests(model) and time.monotonic() < deadline:
                        time.sleep(0.05)
                started = time.monotonic()
                r = self.admin.post("/executions/%s/cancel/" % execution_id)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(self.wait_for(execution_id)["status"], "cancelled")
                self.wait_node_status(execution_id, "agent", "cancelled", timeout=3)
                self.assertLess(time.monotonic() - started, 3)
                self.assertHealthy()

        def test_a_cancel_at_any_moment_of_a_tool_loop_stops_it(self):
                """Cancels that land anywhere in an agent's loop — while it sends a call, while
                an answer wakes it, while its tool runs, while it waits — stop it: no call
                starts after the cancel but the one it may have been sending."""
                model = self.scenario()
                self.fake.script(model, default={"tool_calls": [{"id": "c", "name": "calculator",
                                                                  "arguments": {"expression": "6*7"}}],
                                                  "delay": 0.004})
                slug = self.agent_flow(model)
                for i in range(20):
                        execution_id = self.execute(slug)
                        time.sleep(0.002 + i * 0.001)
                        sent = len(self.fake.requests(model))
                        r = self.admin.post("/executions/%s/cancel/" % execution_id)
                        self.assertIn(r.status, (200, 409), r)
                        self.assertIn(self.wait_for(execution_id)["status"], ("cancelled", "failed"))
                        self.wait_nothing_running(execution_id)
                        self.assertLessEqual(len(self.fake.requests(model)) - sent, 1, execution_id)
                self.assertHealthy()

        def test_streamed_answer_arrives_before_the_node_finishes(self):
                model = self.scenario()
                answer = "Streaming lets the reader see the reply grow word by word."
                self.fake.script(model, {"text": answer, "chunks": 6, "chunk_delay": 0.15})
                slug = self.agent_flow(model, tools=())
                w = self.ws("workflow:" + slug)
                execution_id = self.execute(slug, {"text": "stream please"})

                deltas, first_delta_at = [], None
                while True:
                        e = self.next_event(w, lambda e: e.get("type") in ("chat_delta", "chat_message") or
                                            (e.get("type") == "node_status" and e["data"]["node_id"] == "agent"
                                             and e["data"]["status"] in ("success", "failed")))
                        self.assertEqual(e["execution_id"], execution_id)
                        if e["type"] == "chat_delta":
                                self.assertEqual(e["data"]["node_id"], "agent")
                                self.assertEqual(e["data"]["seq"], len(deltas))
                                deltas.append(e["data"]["text"])
                                first_delta_at = first_delta_at or time.monotonic()
                        elif e["type"] == "chat_message":
                                self.assertEqual(e["data"], {"node_id": "agent", "text": answer})
                        else:
                                finished_at = time.monotonic()
                                self.assertEqual(e["data"]["status"], "success", e)
                                break
                # The pieces came while the model wrote, well before the node finished.
                self.assertEqual("".join(deltas), answer)
                self.assertGreaterEqual(len(deltas), 6)
                self.assertGreater(finished_at - first_delta_at, 0.4)
                self.assertTrue(self.fake.requests(model)[0]["body"]["stream"])
                self.assertEqual(self.wait_for(execution_id)["status"], "completed")

                # With streaming off the provider is asked for one plain answer.
                self.fake.script(model, {"text": "plain"})
                r = self.admin.patch("/workflows/%s/nodes/model/" % slug, {"config": {"extra_config": {"stream": False}}})
                self.assertEqual(r.status, 200, r)
                status, detail = self.run_flow(slug, {"text": "no stream"})
                self.assertEqual(status["status"], "completed", detail)
                self.assertFalse(self.fake.requests(model)[-1]["body"].get("stream", False))

        def test_execution_deadline_ends_the_model_call(self):
                model = self.scenario()
                self.fake.script(model, *[{"text": "too late", "delay": 8}] * 3)
                slug = self.agent_flow(model, tools=())
                r = self.admin.patch("/workflows/%s/" % slug, {"max_execution_seconds": 1})
                self.assertEqual(r.status, 200, r)
                started = time.monotonic()
                status, detail = self.run_flow(slug, {"text": "hi"})
                elapsed = time.monotonic() - started
                self.assertEqual(status["status"], "failed", detail)
                self.assertEqual(status["error_code"], "timeout", detail)
                # Ended at the deadline, not after the retries the model's settings allow.
                self.assertLess(elapsed, 2.5)
                self.assertEqual(len(self.fake.requests(model)), 1)
                self.assertHealthy()

        def failed_agent(self, slug, body=None):
                status, detail = self.run_flow(slug, body)
                self.assertEqual(status["status"], "failed", detail)
                return self.agent_log(detail)

        def test_misconfigured_agents_fail_clearly(self):
                slug = self.flow([("agent", "agent", None)], [("trig", "agent")])
                log = self.failed_agent(slug)
                self.assertEqual(log["error_code"], "config")
                self.assertIn("no AI model: connect an ai_model node", log["error"])

                slug = self.agent_flow(self.scenario(), agent_config={"max_iterations": 0})
                self.assertIn("max_iterations must be a number from 1", self.failed_agent(slug)["error"])

                slug = self.agent_flow(self.scenario())
                self.assertIn("nothing to answer", self.failed_agent(slug, {"text": ""})["error"])

                slug = self.agent_flow(self.scenario())
                r = self.admin.patch("/workflows/%s/nodes/model/" % slug, {"config": {"model_name": None}})
                self.assertEqual(r.status, 200, r)
                log = self.failed_agent(slug)
                self.assertEqual(log["error_code"], "config")
                self.assertIn("'model' has no model_name", log["error"])

                slug = self.agent_flow(self.scenario(), tools=("system_health",))
                self.assertIn("'system_health_tool' (system_health) cannot run yet", self.failed_agent(slug)["error"])
                self.assertHealthy()


class OpenAIAgentTest(AgentCases):
        provider = "openai"


class AnthropicAgentTest(AgentCases):
        provider = "anthropic"


class AgentsShareOneWorkerTest(AgentTestBase):
        """One worker: agents waiting for their model must not hold it."""
        provider = "openai"
        daemon_env = {"PIPELIT_WORKERS": "1"}

        def test_agents_waiting_on_the_model_do_not_hold_the_worker(self):
                runs = 4
                model = self.scenario()
                self.fake.script(model, *[{"text": "done", "delay": 1.0}] * runs)
                slug = self.agent_flow(model, tools=())
                started = time.monotonic()
                ids = [self.execute(slug, {"text": "question %d" % i}) for i in range(runs)]
                for execution_id in ids:
                        status = self.wait_for(execution_id, timeout=30)
                        self.assertEqual(status["status"], "completed", self.detail(execution_id))
                elapsed = time.monotonic() - started
                # Holding the worker for each call would take at least runs × 1 s.
                self.assertLess(elapsed, runs * 1.0 - 1.0, "%d agents took %.1f s on one worker" % (runs, elapsed))
                self.assertEqual(len(self.fake.requests(model)), runs)


del AgentCases
