"""The agent tool spawn_and_await end to end, against the fake LLM provider: an agent runs
child executions in parallel and gets their results in task order in its next model
request; a failing child (or one that cannot start) comes back as an error entry; "self"
stops at the depth limit with a message to the model; a kill -9 while the children wait
(or while the agent asks its model afterwards) changes nothing but the time it takes, and
every child runs once; cancelling the parent cancels the children; bad task lists get a
clear error back to the model."""

import json
import time

from agent_case import KEY, AgentTestBase, tool_results
from harness import unique
from test_executions import jq


class SpawnTest(AgentTestBase):
        provider = "openai"

        def spawn_flow(self, model, client=None, tool_config=None):
                """trig → agent, with an ai_model and a spawn_and_await tool, drawn by client."""
                client = client or self.admin
                r = client.post("/credentials/", {"name": unique("llm "), "credential_type": "llm",
                                                  "detail": {"provider_type": "openai", "api_key": KEY,
                                                             "base_url": self.fake.openai_base_url}})
                self.assertEqual(r.status, 201, r)
                slug = self.flow([], [], client=client)
                self.make_node(slug, "ai_model", client, node_id="model",
                               config={"llm_credential_id": r.body["id"], "model_name": model, "max_tokens": 300})
                self.make_node(slug, "agent", client, node_id="agent", config={"system_prompt": "Delegate."})
                self.make_node(slug, "spawn_and_await", client, node_id="spawn",
                               config={"extra_config": tool_config or {}})
                self.make_edge(slug, "trig", "agent", client)
                self.make_edge(slug, "model", "agent", client, edge_label="llm")
                self.make_edge(slug, "spawn", "agent", client, edge_label="tool")
                return slug

        def child_flow(self, nodes, edges, client=None, **fields):
                """A workflow started by a trigger_workflow node "start"."""
                slug = self.make_workflow(client, **fields)["slug"]
                self.make_node(slug, "trigger_workflow", client, node_id="start")
                for node_id, component_type, extra in nodes:
                        self.make_node(slug, component_type, client, node_id=node_id, config={"extra_config": extra})
                for e in edges:
                        self.make_edge(slug, e[0], e[1], client)
                return slug

        def waiting_child(self):
                """start → pause (trigger.payload.wait seconds) → say "<text> after <wait>s"."""
                return self.child_flow([("pause", "wait", {"duration": "{{ trigger.payload.wait }}"}),
                                        ("say", "reply_chat",
                                         {"message": "{{ trigger.text }} after {{ trigger.payload.wait }}s"})],
                                       [("start", "pause"), ("pause", "say")])

        @staticmethod
        def spawn_call(tasks, call_id="spawn_1"):
                return {"id": call_id, "name": "spawn_and_await", "arguments": {"tasks": tasks}}

        def spawn_result(self, model, request=1, call_id="spawn_1"):
                """What the spawn call told the model, parsed, in the given request."""
                text = tool_results(self.provider, self.fake.requests(model)[request]["body"])[call_id]
                return json.loads(text)

        def children_of(self, execution_id):
                return [c["execution_id"] for c in self.detail(execution_id)["children"]]

        def test_children_run_in_parallel_and_come_back_in_task_order(self):
                model = self.scenario()
                child = self.waiting_child()
                self.fake.script(model, {"tool_calls": [self.spawn_call([
                        {"workflow_slug": child, "input_text": "slow", "input_data": {"wait": 2}},
                        {"workflow_slug": child, "input_text": "fast", "input_data": {"wait": 0}}])]},
                        {"text": "Both are done."})
                slug = self.spawn_flow(model)
                w = self.ws("workflow:" + slug)
                execution_id = self.execute(slug, {"text": "go"})

                waiting = self.next_event(w, lambda e: e["type"] == "node_status" and e["data"]["node_id"] == "agent"
                                          and e["data"]["status"] == "waiting")
                slow, fast = waiting["data"]["child_execution_ids"]
                self.assertEqual(self.run_status(self.detail(execution_id), "agent"), "awaiting")
                # Both started at once: the fast one is over while the slow one still waits.
                self.assertEqual(self.wait_for(fast)["status"], "completed")
                self.assertIn(self.detail(slow)["status"], ("pending", "running"))
                self.assertEqual(self.detail(execution_id)["status"], "running")

                status = self.wait_for(execution_id)
                self.assertEqual(status["status"], "completed", self.detail(execution_id))
                self.assertEqual(status["final_output"], {"output": "Both are done."})
                self.assertEqual(self.spawn_result(model), [
                        {"workflow_slug": child, "execution_id": slow, "status": "completed",
                         "output": {"output": "slow after 2s"}},
                        {"workflow_slug": child, "execution_id": fast, "status": "completed",
                         "output": {"output": "fast after 0s"}}])
                self.assertEqual(len(self.fake.requests(model)), 2)

                detail = self.detail(execution_id)
                self.assertEqual(sorted(self.children_of(execution_id)), sorted([slow, fast]))
                for child_id, text, wait in ((slow, "slow", 2), (fast, "fast", 0)):
                        d = self.detail(child_id)
                        self.assertEqual((d["parent_execution_id"], d["parent_node_id"], d["depth"]),
                                         (execution_id, "agent", 1))
                        self.assertEqual(d["trigger_node_id"], "start")
                        self.assertEqual(d["trigger_payload"], {"text": text, "payload": {"wait": wait}})
                output = self.agent_log(detail)["output"]
                self.assertEqual([m["role"] for m in output["messages"]], ["user", "assistant", "tool", "assistant"])
                self.assertEqual((output["token_usage"]["llm_calls"], output["token_usage"]["tool_calls"]), (2, 1))
                self.assertEqual(len(self.logs_of(detail, "agent")), 1)
                done = self.next_event(w, lambda e: e["type"] == "node_status" and e["data"]["node_id"] == "spawn"
                                       and e["data"]["status"] == "success")
                self.assertTrue(done["data"]["is_tool_call"])
                self.assertEqual(json.loads(done["data"]["output"]["result"])[0]["execution_id"], slow)

        def test_failed_and_unstartable_children_come_back_as_errors(self):
                model = self.scenario()
                good = self.waiting_child()
                bad = self.child_flow([("boom", "transform", dict(jq('error("boom")'), retries=0))],
                                      [("start", "boom")])
                # A trigger with nothing after it: its graph cannot run.
                lonely = self.child_flow([], [])
                self.fake.script(model, {"tool_calls": [self.spawn_call([
                        {"workflow_slug": good, "input_text": "ok", "input_data": {"wait": 0}},
                        {"workflow_slug": bad},
                        {"workflow_slug": lonely}])]},
                        {"text": "One worked."})
                slug = self.spawn_flow(model)
                status, detail = self.run_flow(slug, {"text": "go"})
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(status["final_output"], {"output": "One worked."})

                ok, failed, unstarted = self.spawn_result(model)
                self.assertEqual((ok["status"], ok["output"]), ("completed", {"output": "ok after 0s"}))
                self.assertEqual((failed["workflow_slug"], failed["status"]), (bad, "failed"))
                self.assertTrue(failed["error"].startswith("Node boom: "), failed)
                self.assertIn("boom", failed["error"])
                self.assertEqual(self.detail(failed["execution_id"])["status"], "failed")
                self.assertEqual((unstarted["workflow_slug"], unstarted["execution_id"], unstarted["status"]),
                                 (lonely, None, "failed"))
                self.assertIn("Workflow '%s' cannot run" % lonely, unstarted["error"])
                self.assertEqual(len(self.children_of(detail["execution_id"])), 2)
                self.assertEqual(self.executions_of(lonely), [])

        def test_no_child_can_start_and_the_agent_goes_on(self):
                model = self.scenario()
                lonely = self.child_flow([], [])
                self.fake.script(model, {"tool_calls": [self.spawn_call([{"workflow_slug": lonely}])]},
                                 {"text": "Nothing ran."})
                slug = self.spawn_flow(model)
                status, detail = self.run_flow(slug, {"text": "go"})
                self.assertEqual(status["status"], "completed", detail)
                [result] = self.spawn_result(model)
                self.assertEqual((result["status"], result["execution_id"]), ("failed", None))
                self.assertEqual(detail["children"], [])
                self.assertEqual(self.run_status(detail, "agent"), "done")

        def test_an_agent_spawns_again_after_its_first_children(self):
                model = self.scenario()
                child = self.waiting_child()
                self.fake.script(model,
                                 {"tool_calls": [self.spawn_call([{"workflow_slug": child, "input_text": "one",
                                                                   "input_data": {"wait": 0}}], "round_1")]},
                                 {"tool_calls": [self.spawn_call([{"workflow_slug": child, "input_text": "two",
                                                                   "input_data": {"wait": 1}},
                                                                  {"workflow_slug": child, "input_text": "three",
                                                                   "input_data": {"wait": 0}}], "round_2")]},
                                 {"text": "Three done."})
                slug = self.spawn_flow(model)
                status, detail = self.run_flow(slug, {"text": "go"})
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual([r["output"] for r in self.spawn_result(model, 1, "round_1")],
                                 [{"output": "one after 0s"}])
                self.assertEqual([r["output"] for r in self.spawn_result(model, 2, "round_2")],
                                 [{"output": "two after 1s"}, {"output": "three after 0s"}])
                self.assertEqual(len(detail["children"]), 3)
                output = self.agent_log(detail)["output"]
                self.assertEqual([m["role"] for m in output["messages"]],
                                 ["user", "assistant", "tool", "assistant", "tool", "assistant"])
                self.assertEqual(output["token_usage"]["llm_calls"], 3)

        def test_self_stops_at_the_depth_limit_with_a_message_to_the_model(self):
                model = self.scenario()
                # Every generation's agent spawns itself until the tool refuses; then each
                # answers, from the deepest up.
                self.fake.script(model, {"tool_calls": [self.spawn_call([{"workflow_slug": "self",
                                                                           "input_text": "deeper"}])],
                                         "repeat": 6}, default={"text": "done"})
                slug = self.spawn_flow(model)
                status, detail = self.run_flow(slug, {"text": "go"}, timeout=60)
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(status["final_output"], {"output": "done"})

                requests = self.fake.requests(model)
                self.assertEqual(len(requests), 12)
                refused = tool_results(self.provider, requests[6]["body"])["spawn_1"]
                self.assertIn("MaxSubworkflowDepth=5", refused)
                self.assertIn("6 generations deep", refused)
                runs = self.executions_of(slug)
                self.assertEqual(len(runs), 6)  # depths 0 to 5
                self.assertTrue(all(r["status"] == "completed" for r in runs), runs)
                self.assertEqual(sorted(self.detail(r["execution_id"])["depth"] for r in runs), [0, 1, 2, 3, 4, 5])
                # Every generation's model calls add up in the top-level execution.
                self.assertEqual(detail["llm_calls"], 12)
                deepest = [r for r in runs if self.detail(r["execution_id"])["depth"] == 5][0]
                self.assertEqual(self.detail(deepest["execution_id"])["children"], [])

        def test_kill_while_children_wait_then_every_child_ran_once(self):
                model = self.scenario()
                child = self.waiting_child()
                self.fake.script(model, {"tool_calls": [self.spawn_call([
                        {"workflow_slug": child, "input_text": "first", "input_data": {"wait": 3}},
                        {"workflow_slug": child, "input_text": "second", "input_data": {"wait": 2}}])]},
                        {"text": "Survived."})
                slug = self.spawn_flow(model)
                execution_id = self.execute(slug, {"text": "go"})
                self.wait_node_status(execution_id, "agent", "awaiting")
                first, second = self.spawn_order(execution_id)

                self.admin.close()
                self.daemon.kill()  # SIGKILL
                self.daemon.start()
                status = self.wait_for(execution_id, timeout=30)
                self.assertEqual(status["status"], "completed", self.detail(execution_id))
                self.assertEqual(status["final_output"], {"output": "Survived."})

                self.assertEqual(len(self.fake.requests(model)), 2)
                self.assertEqual([(r["execution_id"], r["output"]) for r in self.spawn_result(model)],
                                 [(first, {"output": "first after 3s"}), (second, {"output": "second after 2s"})])
                self.assertEqual(sorted(r["execution_id"] for r in self.executions_of(child)), sorted([first, second]))
                for child_id in (first, second):
                        self.assertEqual(len(self.logs_of(self.detail(child_id), "say")), 1)
                self.assertEqual(len(self.logs_of(self.detail(execution_id), "agent")), 1)

        def test_kill_while_the_agent_asks_its_model_after_the_children(self):
                model = self.scenario()
                child = self.waiting_child()
                self.fake.script(model, {"tool_calls": [self.spawn_call([
                        {"workflow_slug": child, "input_text": "only", "input_data": {"wait": 0}}])]},
                        # This answer never arrives: the daemon is killed while it is awaited.
                        {"text": "lost", "delay": 30},
                        {"text": "Asked again."})
                slug = self.spawn_flow(model)
                execution_id = self.execute(slug, {"text": "go"})
                deadline = time.monotonic() + 15
                while len(self.fake.requests(model)) < 2:
                        self.assertLess(time.monotonic(), deadline, "the agent never asked again")
                        time.sleep(0.05)

                self.admin.close()
                self.daemon.kill()
                self.daemon.start()
                status = self.wait_for(execution_id, timeout=30)
                self.assertEqual(status["status"], "completed", self.detail(execution_id))
                self.assertEqual(status["final_output"], {"output": "Asked again."})
                requests = self.fake.requests(model)
                self.assertEqual(len(requests), 3)
                # The same conversation, from the kept state: the child did not run again.
                self.assertEqual(requests[2]["body"]["messages"], requests[1]["body"]["messages"])
                self.assertEqual(len(self.executions_of(child)), 1)

        def spawn_order(self, execution_id):
                """The child execution ids the agent waits for, in task order (the waiting
                node_status event's order, read back through the API's children list)."""
                deadline = time.monotonic() + 10
                while True:
                        children = self.detail(execution_id)["children"]
                        if len(children) == 2:
                                break
                        self.assertLess(time.monotonic(), deadline, children)
                        time.sleep(0.05)
                by_text = {self.detail(c["execution_id"])["trigger_payload"]["text"]: c["execution_id"]
                           for c in children}
                return by_text["first"], by_text["second"]

        def test_cancel_of_the_parent_cancels_the_children(self):
                model = self.scenario()
                child = self.waiting_child()
                self.fake.script(model, {"tool_calls": [self.spawn_call([
                        {"workflow_slug": child, "input_text": "a", "input_data": {"wait": 30}},
                        {"workflow_slug": child, "input_text": "b", "input_data": {"wait": 30}}])]},
                        {"text": "never"})
                slug = self.spawn_flow(model)
                execution_id = self.execute(slug, {"text": "go"})
                self.wait_node_status(execution_id, "agent", "awaiting")
                children = self.children_of(execution_id)
                self.assertEqual(len(children), 2)

                r = self.admin.post("/executions/%s/cancel/" % execution_id)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(self.wait_for(execution_id)["status"], "cancelled")
                for child_id in children:
                        self.assertEqual(self.wait_for(child_id)["status"], "cancelled")
                        self.assertEqual(self.run_status(self.detail(child_id), "say"), "cancelled")
                self.assertEqual(self.run_status(self.detail(execution_id), "agent"), "cancelled")
                self.assertEqual(len(self.fake.requests(model)), 1)

        def test_bad_task_lists_get_a_clear_error(self):
                model = self.scenario()
                child = self.waiting_child()
                inactive = self.child_flow([("say", "reply_chat", {"message": "hi"})], [("start", "say")],
                                           is_active=False)
                untriggered = self.make_workflow()["slug"]
                ok = {"workflow_slug": child, "input_data": {"wait": 0}}
                calls = [("c1", {"tasks": []}),
                         ("c2", {"tasks": [ok, ok, ok]}),
                         ("c3", {"tasks": "all of them"}),
                         ("c4", {}),
                         ("c5", {"tasks": [{"workflow_slug": "no-such-flow"}]}),
                         ("c6", {"tasks": [ok, {"input_text": "who?"}]}),
                         ("c7", {"tasks": [{"workflow_slug": child, "input_data": [1, 2]}]}),
                         ("c8", {"tasks": [{"workflow_slug": child, "input_text": 42}]}),
                         ("c9", {"tasks": [{"workflow_slug": inactive}]}),
                         ("c10", {"tasks": ["just a string"]}),
                         ("c11", {"tasks": [{"workflow_slug": untriggered}]})]
                self.fake.script(model, {"tool_calls": [{"id": i, "name": "spawn_and_await", "arguments": a}
                                                        for i, a in calls]},
                                 {"text": "I give up."})
                slug = self.spawn_flow(model, tool_config={"max_tasks": 2})
                status, detail = self.run_flow(slug, {"text": "go"})
                self.assertEqual(status["status"], "completed", detail)
                results = tool_results(self.provider, self.fake.requests(model)[1]["body"])
                expected = {"c1": "'tasks' has 0 tasks: give 1 to 2",
                            "c2": "'tasks' has 3 tasks: give 1 to 2",
                            "c3": "'tasks' must be a list",
                            "c4": "'tasks' must be a list",
                            "c5": "Task 1: workflow 'no-such-flow' not found",
                            "c6": "Task 2: 'workflow_slug' (a string) is missing",
                            "c7": "Task 1: 'input_data' must be an object",
                            "c8": "Task 1: 'input_text' must be a string",
                            "c9": "Task 1: workflow '%s' is not active" % inactive,
                            "c10": "Task 1: a task is an object",
                            "c11": "Task 1: workflow '%s' has no trigger_workflow or trigger_manual node" % untriggered}
                for call_id, message in expected.items():
                        self.assertTrue(results[call_id].startswith("Error: "), results[call_id])
                        self.assertIn(message, results[call_id], call_id)
                # Nothing started, even for the lists with good tasks in them.
                self.assertEqual(detail["children"], [])
                self.assertEqual(self.executions_of(child), [])
                self.assertHealthy()

        def test_one_spawn_per_answer_and_a_tool_setting_out_of_range(self):
                model = self.scenario()
                child = self.waiting_child()
                task = {"workflow_slug": child, "input_text": "x", "input_data": {"wait": 0}}
                self.fake.script(model, {"tool_calls": [self.spawn_call([task], "first"),
                                                        self.spawn_call([task], "second")]},
                                 {"text": "ok"})
                slug = self.spawn_flow(model)
                status, detail = self.run_flow(slug, {"text": "go"})
                self.assertEqual(status["status"], "completed", detail)
                self.assertIn("already runs in this answer",
                              tool_results(self.provider, self.fake.requests(model)[1]["body"])["second"])
                self.assertEqual(len(self.spawn_result(model, call_id="first")), 1)
                self.assertEqual(len(self.executions_of(child)), 1)

                model = self.scenario()
                self.fake.script(model, {"tool_calls": [self.spawn_call([task])]}, {"text": "ok"})
                slug = self.spawn_flow(model, tool_config={"max_tasks": 1000})
                status, detail = self.run_flow(slug, {"text": "go"})
                self.assertEqual(status["status"], "completed", detail)
                self.assertIn("max_tasks setting must be a whole number from 1 to 100",
                              tool_results(self.provider, self.fake.requests(model)[1]["body"])["spawn_1"])

        def test_only_workflows_the_owner_may_call(self):
                _, user = self.make_user()
                model = self.scenario()
                admins = self.waiting_child()
                own = self.waiting_child_of(user)
                self.fake.script(model, {"tool_calls": [
                        self.spawn_call([{"workflow_slug": admins}], "theirs"),
                        self.spawn_call([{"workflow_slug": own, "input_text": "mine", "input_data": {"wait": 0}}],
                                        "mine")]},
                        {"text": "ok"})
                slug = self.spawn_flow(model, client=user)
                execution_id = self.execute(slug, {"text": "go"}, client=user)
                status = self.wait_for(execution_id, client=user)
                self.assertEqual(status["status"], "completed", self.detail(execution_id))
                results = tool_results(self.provider, self.fake.requests(model)[1]["body"])
                self.assertIn("Task 1: workflow '%s' not found" % admins, results["theirs"])
                [mine] = json.loads(results["mine"])
                self.assertEqual((mine["status"], mine["output"]), ("completed", {"output": "mine after 0s"}))
                self.assertEqual(self.executions_of(admins), [])

        def waiting_child_of(self, client):
                slug = self.make_workflow(client)["slug"]
                self.make_node(slug, "trigger_workflow", client, node_id="start")
                self.make_node(slug, "reply_chat", client, node_id="say",
                               config={"extra_config": {"message": "{{ trigger.text }} after 0s"}})
                self.make_edge(slug, "start", "say", client)
                return slug
