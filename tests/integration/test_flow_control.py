"""Flow control end to end: human confirmations (pause, resume, cancel, expiry, restart),
subworkflows (nested outputs, the depth limit, failures, cancel), the error handler,
retention (dropping a successful run's data, pruning by count), and the execution timeout
while a code node runs. Events are watched over a real WebSocket."""

import calendar
import shutil
import socket
import time
import unittest

from harness import unique
from test_executions import EngineTestCase, TargetServer, jq
from wsclient import WebSocket

RECV_TIMEOUT = 10


def when_ts(t):
        """Unix seconds of an API timestamp."""
        return calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + t[19:-1])


class FlowTestCase(EngineTestCase):
        def ws(self, channel):
                w = WebSocket("127.0.0.1", self.daemon.port, "/ws/?token=" + self.admin_key, timeout=RECV_TIMEOUT)
                self.addCleanup(w.shutdown)
                w.send_json({"type": "subscribe", "channel": channel})
                self.assertEqual(w.recv_json(RECV_TIMEOUT), {"type": "subscribed", "channel": channel})
                return w

        def next_event(self, w, match, timeout=RECV_TIMEOUT):
                """The first event for which match(event) is true; the others are skipped."""
                deadline = time.monotonic() + timeout
                seen = []
                while time.monotonic() < deadline:
                        try:
                                e = w.recv_json(max(0.05, deadline - time.monotonic()))
                        except socket.timeout:
                                break
                        if match(e):
                                return e
                        seen.append((e.get("type"), (e.get("data") or {}).get("node_id")))
                self.fail("no matching event within %gs; saw %r" % (timeout, seen))

        def wait_status(self, execution_id, status, timeout=10.0):
                return self.wait_for(execution_id, statuses=(status,), timeout=timeout)

        def resume(self, execution_id, answer, expect=200, **extra):
                body = dict(extra, input=answer)
                r = self.admin.post("/executions/%s/resume/" % execution_id, body)
                self.assertEqual(r.status, expect, r)
                return r.body

        def executions_of(self, slug):
                r = self.admin.get("/executions/?workflow_slug=%s" % slug)
                self.assertEqual(r.status, 200, r)
                return r.body["items"]


class ConfirmationTest(FlowTestCase):
        def confirm_flow(self, **extra):
                config = dict({"prompt": "Deploy {{ trigger.text }}?"}, **extra)
                return self.flow(
                        [("ask", "human_confirmation", config),
                         ("yes", "reply_chat", {"message": "went ahead: {{ ask.user_response }}"}),
                         ("no", "reply_chat", {"message": "stopped: {{ ask.user_response }}"})],
                        [("trig", "ask"),
                         ("ask", "yes", {"edge_type": "conditional", "condition_value": "confirmed"}),
                         ("ask", "no", {"edge_type": "conditional", "condition_value": "cancelled"})])

        def test_confirmed_answer_runs_the_confirmed_branch(self):
                slug = self.confirm_flow()
                w = self.ws("workflow:" + slug)
                execution_id = self.execute(slug, {"text": "v2"})

                e = self.next_event(w, lambda e: e["type"] == "execution_interrupted")
                self.assertEqual(e["execution_id"], execution_id)
                self.assertEqual(e["data"]["node_id"], "ask")
                self.assertEqual(e["data"]["prompt"], "Deploy v2?")
                task_id = e["data"]["task_id"]
                self.assertTimestamp(e["data"]["expires_at"])

                status = self.wait_status(execution_id, "interrupted")
                self.assertIsNone(status["completed_at"])
                detail = self.detail(execution_id)
                self.assertEqual(self.run_status(detail, "ask"), "paused")
                [pending] = detail["pending_confirmations"]
                self.assertEqual((pending["task_id"], pending["node_id"], pending["prompt"]),
                                 (task_id, "ask", "Deploy v2?"))
                # The default of system_config.confirmation_timeout_seconds: 5 minutes.
                self.assertAlmostEqual(when_ts(pending["expires_at"]) - when_ts(pending["created_at"]), 300, delta=2)

                answer = self.resume(execution_id, "Yes")
                self.assertEqual(answer, {"execution_id": execution_id, "status": "running", "node_id": "ask",
                                          "task_id": task_id})
                status = self.wait_for(execution_id)
                self.assertEqual(status["status"], "completed", self.detail(execution_id))
                self.assertEqual(status["final_output"], {"output": "went ahead: Yes"})
                detail = self.detail(execution_id)
                self.assertEqual(self.run_status(detail, "no"), "ruled_out")
                self.assertEqual(detail["pending_confirmations"], [])
                [log] = self.logs_of(detail, "ask")
                self.assertEqual(log["output"], {"confirmed": True, "user_response": "Yes"})
                self.assertEqual(log["metadata"]["route"], "confirmed")
                self.assertEqual(log["metadata"]["attempt"], 1)
                self.next_event(w, lambda e: e["type"] == "execution_completed")

                # Over: nothing left to answer.
                r = self.admin.post("/executions/%s/resume/" % execution_id, {"input": "yes"})
                self.assertEqual(r.status, 409, r)

        def test_other_answers_take_the_cancelled_branch(self):
                slug = self.confirm_flow()
                for answer, confirmed, output in (("nope", False, "stopped: nope"), (True, True, "went ahead: true"),
                                                  (" CONFIRM ", True, "went ahead:  CONFIRM "),
                                                  ({"why": "no"}, False, 'stopped: {"why":"no"}')):
                        with self.subTest(answer=answer):
                                execution_id = self.execute(slug)
                                self.wait_status(execution_id, "interrupted")
                                self.resume(execution_id, answer)
                                status = self.wait_for(execution_id)
                                self.assertEqual(status["status"], "completed")
                                self.assertEqual(status["final_output"], {"output": output})
                                log = self.logs_of(self.detail(execution_id), "ask")[0]
                                self.assertEqual(log["output"]["confirmed"], confirmed)

        def test_interrupt_before_pauses_any_node(self):
                slug = self.flow([("step", "transform", jq("\"done\""))], [("trig", "step")])
                r = self.admin.patch("/workflows/%s/nodes/step/" % slug, {"interrupt_before": True})
                self.assertEqual(r.status, 200, r)

                execution_id = self.execute(slug)
                self.wait_status(execution_id, "interrupted")
                detail = self.detail(execution_id)
                self.assertEqual(detail["pending_confirmations"][0]["prompt"], "Continue with step?")
                self.assertEqual(self.logs_of(detail, "step"), [])
                self.assertEqual(self.resume(execution_id, "y")["status"], "running")
                status = self.wait_for(execution_id)
                self.assertEqual(status["final_output"], {"node_outputs": {"step": {"output": "done"}}})

                # Anything but a yes cancels the run.
                execution_id = self.execute(slug)
                self.wait_status(execution_id, "interrupted")
                self.assertEqual(self.resume(execution_id, "no")["status"], "cancelled")
                self.assertEqual(self.wait_for(execution_id)["status"], "cancelled")
                self.assertEqual(self.run_status(self.detail(execution_id), "step"), "cancelled")

        def test_interrupt_after_pauses_once_the_node_ran_and_goes_on_with_its_output(self):
                target = TargetServer()
                self.addCleanup(target.stop)
                slug = self.flow([("call", "http_request", {"url": target.url("/after"), "retries": 0,
                                                            "prompt": "Send it on?"}),
                                  ("say", "reply_chat", {"message": "sent {{ call.response.body.path }}"})],
                                 [("trig", "call"), ("call", "say")])
                r = self.admin.patch("/workflows/%s/nodes/call/" % slug, {"interrupt_after": True})
                self.assertEqual(r.status, 200, r)

                execution_id = self.execute(slug)
                self.wait_status(execution_id, "interrupted")
                detail = self.detail(execution_id)
                self.assertEqual(target.count("/after"), 1)
                self.assertEqual(detail["pending_confirmations"][0]["prompt"], "Send it on?")
                self.assertEqual([l["status"] for l in self.logs_of(detail, "call")], ["completed"])
                self.assertEqual(self.run_status(detail, "call"), "paused")
                self.assertIsNone(self.run_status(detail, "say"))

                # Answered, it goes on with the output it had: the request is not sent again.
                self.assertEqual(self.resume(execution_id, "yes")["status"], "running")
                status = self.wait_for(execution_id)
                self.assertEqual(status["status"], "completed", status)
                self.assertEqual(status["final_output"], {"output": "sent /after"})
                self.assertEqual(target.count("/after"), 1)
                detail = self.detail(execution_id)
                self.assertEqual([l["status"] for l in self.logs_of(detail, "call")], ["completed"])
                self.assertEqual(self.run_status(detail, "call"), "done")

                # Anything but a yes cancels the run, its successors never run.
                execution_id = self.execute(slug)
                self.wait_status(execution_id, "interrupted")
                self.assertEqual(self.resume(execution_id, "no")["status"], "cancelled")
                self.assertEqual(self.wait_for(execution_id)["status"], "cancelled")
                self.assertIsNone(self.run_status(self.detail(execution_id), "say"))
                self.assertEqual(target.count("/after"), 2)

        def test_other_branches_go_on_while_one_waits(self):
                slug = self.flow([("ask", "human_confirmation", {"prompt": "ok?"}),
                                  ("side", "transform", jq("\"side ran\"")),
                                  ("join", "merge", {"mode": "append"})],
                                 [("trig", "ask"), ("trig", "side"), ("ask", "join"), ("side", "join")])
                execution_id = self.execute(slug)
                self.wait_node_status(execution_id, "side", "done")
                self.assertEqual(self.wait_status(execution_id, "interrupted")["status"], "interrupted")
                self.assertEqual(self.run_status(self.detail(execution_id), "join"), "waiting")
                self.resume(execution_id, "yes")
                status = self.wait_for(execution_id)
                self.assertEqual(status["status"], "completed")
                self.assertEqual(self.run_status(self.detail(execution_id), "join"), "done")

        def test_cancel_while_interrupted(self):
                slug = self.confirm_flow()
                execution_id = self.execute(slug)
                self.wait_status(execution_id, "interrupted")
                r = self.admin.post("/executions/%s/cancel/" % execution_id)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(self.wait_for(execution_id)["status"], "cancelled")
                detail = self.detail(execution_id)
                self.assertEqual(detail["pending_confirmations"], [])
                self.assertEqual(self.run_status(detail, "ask"), "cancelled")
                r = self.admin.post("/executions/%s/resume/" % execution_id, {"input": "yes"})
                self.assertEqual(r.status, 409, r)
                self.assertIn("cancelled", r.body["detail"])

        def test_no_answer_in_time_fails_the_node(self):
                slug = self.confirm_flow(timeout_seconds=1)
                execution_id = self.execute(slug)
                status = self.wait_for(execution_id, timeout=10)
                self.assertEqual(status["status"], "failed", self.detail(execution_id))
                self.assertEqual(status["error_code"], "expired")
                self.assertIn("expired", status["error_message"])
                detail = self.detail(execution_id)
                self.assertEqual(self.run_status(detail, "ask"), "failed")
                self.assertEqual(detail["pending_confirmations"], [])
                self.assertEqual(self.logs_of(detail, "ask")[0]["error_code"], "expired")

        def test_resume_checks_its_input_and_its_caller(self):
                slug = self.confirm_flow()
                execution_id = self.execute(slug)
                self.wait_status(execution_id, "interrupted")
                self.assertValidation(self.admin.post("/executions/%s/resume/" % execution_id, {}), "input")
                self.assertValidation(self.admin.post("/executions/%s/resume/" % execution_id,
                                                      {"input": "y", "task_id": 5}), "task_id")
                r = self.admin.post("/executions/%s/resume/" % execution_id, {"input": "y", "task_id": "nope"})
                self.assertEqual(r.status, 404, r)
                _, other = self.make_user()
                r = other.post("/executions/%s/resume/" % execution_id, {"input": "yes"})
                self.assertEqual(r.status, 404, r)
                r = self.admin.post("/executions/00000000-0000-4000-8000-000000000000/resume/", {"input": "y"})
                self.assertEqual(r.status, 404, r)
                self.assertEqual(self.wait_status(execution_id, "interrupted")["status"], "interrupted")

                done = self.execute(self.flow([("t", "transform", jq("1"))], [("trig", "t")]))
                self.wait_for(done)
                r = self.admin.post("/executions/%s/resume/" % done, {"input": "yes"})
                self.assertEqual(r.status, 409, r)

        def test_confirmation_in_a_loop_pauses_each_iteration(self):
                slug = self.flow(
                        [("each", "loop", {"field": "payload.items"}),
                         ("ask", "human_confirmation", {"prompt": "item {{ loop.item }}?"})],
                        [("trig", "each"), ("each", "ask", {"edge_label": "loop_body"}),
                         ("ask", "each", {"edge_label": "loop_return"})])
                execution_id = self.execute(slug, {"payload": {"items": ["a", "b"]}})
                for item, answer in (("a", "yes"), ("b", "no")):
                        self.wait_status(execution_id, "interrupted")
                        [pending] = self.detail(execution_id)["pending_confirmations"]
                        self.assertEqual(pending["prompt"], "item %s?" % item)
                        self.resume(execution_id, answer)
                status = self.wait_for(execution_id)
                self.assertEqual(status["status"], "completed")
                results = status["final_output"]["node_outputs"]["each"]["results"]
                self.assertEqual([r["ask"]["confirmed"] for r in results], [True, False])


class ConfirmationRestartTest(FlowTestCase):
        def test_restart_keeps_the_question_and_its_deadline(self):
                slug = self.flow([("ask", "human_confirmation", {"prompt": "ok?", "timeout_seconds": 3}),
                                  ("after", "transform", jq("\"after\""))],
                                 [("trig", "ask"), ("ask", "after")])
                answered, expiring = self.execute(slug), self.execute(slug)
                self.wait_status(answered, "interrupted")
                self.wait_status(expiring, "interrupted")
                expires_at = when_ts(self.detail(expiring)["pending_confirmations"][0]["expires_at"])

                self.daemon.kill()
                self.daemon.start()

                self.assertEqual(self.wait_status(answered, "interrupted")["status"], "interrupted")
                self.resume(answered, "yes")
                self.assertEqual(self.wait_for(answered)["status"], "completed")

                status = self.wait_for(expiring, timeout=15)
                self.assertEqual((status["status"], status["error_code"]), ("failed", "expired"))
                self.assertGreaterEqual(when_ts(status["completed_at"]), expires_at - 0.01)
                self.assertLess(when_ts(status["completed_at"]), expires_at + 3)


class SubworkflowTest(FlowTestCase):
        def child_flow(self, nodes, edges, **fields):
                """A workflow started by a trigger_workflow node "start"."""
                slug = self.make_workflow(**fields)["slug"]
                self.make_node(slug, "trigger_workflow", node_id="start")
                for node_id, component_type, extra in nodes:
                        self.make_node(slug, component_type, node_id=node_id,
                                       config={"extra_config": extra} if extra is not None else {})
                for e in edges:
                        self.make_edge(slug, e[0], e[1], **(e[2] if len(e) > 2 else {}))
                return slug

        def test_nested_subworkflows_return_their_outputs(self):
                c = self.child_flow([("say", "reply_chat", {"message": "C got {{ trigger.payload.value }}"})],
                                    [("start", "say")])
                b = self.child_flow([("callc", "workflow", {"target_workflow": c,
                                                            "input_mapping": {"value": "{{ trigger.payload.value }}-b"}}),
                                     ("say", "reply_chat", {"message": "B saw {{ callc.output.output }}"})],
                                    [("start", "callc"), ("callc", "say")])
                a = self.flow([("callb", "workflow", {"target_workflow": b, "input_mapping": {"value": "trigger.text"}}),
                               ("say", "reply_chat", {"message": "A saw {{ callb.output.output }}"})],
                              [("trig", "callb"), ("callb", "say")])

                w = self.ws("workflow:" + a)
                execution_id = self.execute(a, {"text": "x"})
                waiting = self.next_event(w, lambda e: e["type"] == "node_status" and e["data"]["status"] == "waiting")
                self.assertEqual(waiting["data"]["node_id"], "callb")
                [child_id] = waiting["data"]["child_execution_ids"]
                # The grandchild's nodes show on the top-level run's channels too.
                forwarded = self.next_event(w, lambda e: e["type"] == "child_node_status" and
                                            e["data"]["node_id"] == "say" and e["data"]["status"] == "success" and
                                            e["data"]["child_execution_id"] != child_id)
                self.assertEqual(forwarded["execution_id"], execution_id)
                self.assertEqual(forwarded["data"]["parent_node_id"], "callb")
                self.assertTrue(forwarded["data"]["is_child_event"])

                status = self.wait_for(execution_id)
                self.assertEqual(status["status"], "completed", self.detail(execution_id))
                self.assertEqual(status["final_output"], {"output": "A saw B saw C got x-b"})

                detail = self.detail(execution_id)
                self.assertEqual(detail["depth"], 0)
                self.assertEqual(detail["children"], [{"execution_id": child_id, "workflow_slug": b,
                                                       "parent_node_id": "callb", "status": "completed"}])
                self.assertEqual(self.logs_of(detail, "callb")[0]["output"], {"output": {"output": "B saw C got x-b"}})
                child = self.detail(child_id)
                self.assertEqual((child["parent_execution_id"], child["parent_node_id"], child["depth"]),
                                 (execution_id, "callb", 1))
                self.assertEqual(child["trigger_node_id"], "start")
                self.assertEqual(child["trigger_payload"], {"text": "x", "payload": {"value": "x"}})
                [grandchild] = child["children"]
                self.assertEqual(self.detail(grandchild["execution_id"])["depth"], 2)

        def test_default_payload_and_manual_trigger(self):
                c = self.flow([("say", "reply_chat", {"message": "{{ trigger.text }}/{{ trigger.payload.node_outputs.pre.output }}"})],
                              [("trig", "say")])
                a = self.flow([("pre", "transform", jq("42")), ("call", "workflow", {"target_workflow": c})],
                              [("trig", "pre"), ("pre", "call")])
                status, detail = self.run_flow(a, {"text": "hi"})
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(status["final_output"]["node_outputs"]["call"], {"output": {"output": "hi/42"}})

        def test_depth_limit_stops_a_workflow_calling_itself(self):
                slug = self.make_workflow()["slug"]
                self.make_node(slug, "trigger_manual", node_id="trig")
                self.make_node(slug, "trigger_workflow", node_id="start")
                self.make_node(slug, "workflow", node_id="again", config={"extra_config": {"target_workflow": slug}})
                self.make_edge(slug, "trig", "again")
                self.make_edge(slug, "start", "again")
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "failed", detail)
                self.assertEqual(status["error_code"], "child_failed")
                self.assertIn("MaxSubworkflowDepth=5", status["error_message"])
                runs = self.executions_of(slug)
                self.assertEqual(len(runs), 6)  # depths 0 to 5
                self.assertTrue(all(r["status"] == "failed" for r in runs), runs)
                deepest = [self.detail(r["execution_id"]) for r in runs if r["error_code"] == "depth_limit"]
                self.assertEqual([d["depth"] for d in deepest], [5])

        def test_child_failure_fails_the_parent_node(self):
                c = self.child_flow([("bad", "transform", dict(jq("error(\"boom\")"), retries=0))],
                                    [("start", "bad")])
                a = self.flow([("call", "workflow", {"target_workflow": c}), ("after", "transform", jq("1"))],
                              [("trig", "call"), ("call", "after")])
                status, detail = self.run_flow(a)
                self.assertEqual(status["status"], "failed", detail)
                self.assertEqual(status["error_code"], "child_failed")
                self.assertTrue(status["error_message"].startswith("Node call: Child execution failed: Node bad: "),
                                status)
                self.assertIn("boom", status["error_message"])
                self.assertIsNone(self.run_status(detail, "after"))
                # The child ran once: a failed child is not retried.
                self.assertEqual(len(self.executions_of(c)), 1)
                self.assertEqual(len(self.logs_of(detail, "call")), 1)

        def test_cancel_parent_cancels_the_child(self):
                c = self.child_flow([("pause", "wait", {"duration": 30}), ("after", "transform", jq("1"))],
                                    [("start", "pause"), ("pause", "after")])
                a = self.flow([("call", "workflow", {"target_workflow": c})], [("trig", "call")])
                execution_id = self.execute(a)
                self.wait_node_status(execution_id, "call", "awaiting")
                [child] = self.detail(execution_id)["children"]
                self.wait_node_status(child["execution_id"], "after", "queued")

                w = self.ws("execution:" + child["execution_id"])
                r = self.admin.post("/executions/%s/cancel/" % execution_id)
                self.assertEqual(r.status, 200, r)
                self.next_event(w, lambda e: e["type"] == "execution_cancelled")
                self.assertEqual(self.wait_for(execution_id)["status"], "cancelled")
                self.assertEqual(self.wait_for(child["execution_id"])["status"], "cancelled")
                self.assertEqual(self.run_status(self.detail(execution_id), "call"), "cancelled")
                self.assertEqual(self.run_status(self.detail(child["execution_id"]), "after"), "cancelled")

        def test_cancel_child_fails_the_parent_node(self):
                c = self.child_flow([("pause", "wait", {"duration": 30}), ("after", "transform", jq("1"))],
                                    [("start", "pause"), ("pause", "after")])
                a = self.flow([("call", "workflow", {"target_workflow": c})], [("trig", "call")])
                execution_id = self.execute(a)
                self.wait_node_status(execution_id, "call", "awaiting")
                [child] = self.detail(execution_id)["children"]
                r = self.admin.post("/executions/%s/cancel/" % child["execution_id"])
                self.assertEqual(r.status, 200, r)
                status = self.wait_for(execution_id)
                self.assertEqual((status["status"], status["error_code"]), ("failed", "child_cancelled"))

        def test_parent_timeout_cancels_the_waiting_child(self):
                c = self.child_flow([("pause", "wait", {"duration": 30}), ("after", "transform", jq("1"))],
                                    [("start", "pause"), ("pause", "after")])
                a = self.flow([("call", "workflow", {"target_workflow": c})], [("trig", "call")],
                              max_execution_seconds=1)
                execution_id = self.execute(a)
                status = self.wait_for(execution_id, timeout=10)
                self.assertEqual((status["status"], status["error_code"]), ("failed", "timeout"))
                [child] = self.detail(execution_id)["children"]
                self.assertEqual(self.wait_for(child["execution_id"])["status"], "cancelled")

        def test_bad_targets_fail_clearly(self):
                _, other = self.make_user()
                admins = self.make_workflow()["slug"]
                nothing = self.make_workflow(other)["slug"]
                for config, message in (({"target_workflow": "no-such-flow"}, "Workflow 'no-such-flow' not found"),
                                        ({"target_workflow": admins}, "Workflow '%s' not found" % admins),
                                        ({"target_workflow": nothing},
                                         "Workflow '%s' has no trigger_workflow or trigger_manual node" % nothing),
                                        ({"target_workflow": nothing, "trigger_mode": "sideways"}, "trigger_mode"),
                                        ({}, "No target_workflow is set")):
                        with self.subTest(config=config):
                                slug = self.flow([("call", "workflow", config)], [("trig", "call")], client=other)
                                status = self.wait_for(self.execute(slug, client=other))
                                self.assertEqual((status["status"], status["error_code"]), ("failed", "config"))
                                self.assertIn(message, status["error_message"])

        def test_explicit_mode_picks_the_trigger_that_accepts_the_caller(self):
                c = self.make_workflow()["slug"]
                a = self.flow([("call", "workflow", {"target_workflow": c, "trigger_mode": "explicit"})],
                              [("trig", "call")])
                self.make_node(c, "trigger_workflow", node_id="for_others",
                               config={"trigger_config": {"source_workflow": "someone-else"}, "priority": 5})
                self.make_node(c, "trigger_workflow", node_id="for_a",
                               config={"trigger_config": {"source_workflow": a}})
                self.make_node(c, "reply_chat", node_id="x", config={"extra_config": {"message": "via x"}})
                self.make_node(c, "reply_chat", node_id="y", config={"extra_config": {"message": "via y"}})
                self.make_edge(c, "for_others", "x")
                self.make_edge(c, "for_a", "y")
                status, detail = self.run_flow(a)
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(status["final_output"]["node_outputs"]["call"], {"output": {"output": "via y"}})


class SubworkflowRecoveryTest(FlowTestCase):
        def test_waiting_parent_survives_a_restart(self):
                c = self.make_workflow()["slug"]
                self.make_node(c, "trigger_workflow", node_id="start")
                self.make_node(c, "wait", node_id="pause", config={"extra_config": {"duration": 2}})
                self.make_node(c, "reply_chat", node_id="say", config={"extra_config": {"message": "late"}})
                self.make_edge(c, "start", "pause")
                self.make_edge(c, "pause", "say")
                a = self.flow([("call", "workflow", {"target_workflow": c}),
                               ("say", "reply_chat", {"message": "got {{ call.output.output }}"})],
                              [("trig", "call"), ("call", "say")])
                execution_id = self.execute(a)
                self.wait_node_status(execution_id, "call", "awaiting")
                self.daemon.kill()
                self.daemon.start()
                status = self.wait_for(execution_id, timeout=20)
                self.assertEqual(status["status"], "completed", self.detail(execution_id))
                self.assertEqual(status["final_output"], {"output": "got late"})


class ErrorHandlerTest(FlowTestCase):
        def handler(self, fails=False):
                slug = self.make_workflow()["slug"]
                self.make_node(slug, "trigger_error", node_id="onerr")
                if fails:
                        self.make_node(slug, "transform", node_id="worse",
                                       config={"extra_config": dict(jq("error(\"worse\")"), retries=0)})
                        self.make_edge(slug, "onerr", "worse")
                else:
                        self.make_node(slug, "reply_chat", node_id="note", config={"extra_config": {
                                "message": "{{ trigger.error.node_id }}/{{ trigger.error.error_code }}"}})
                        self.make_edge(slug, "onerr", "note")
                return self.admin.get("/workflows/%s/" % slug).body

        def failing(self, handler_id):
                return self.flow([("bad", "transform", dict(jq("error(\"boom\")"), retries=0))], [("trig", "bad")],
                                 error_handler_workflow_id=handler_id)

        def handler_runs(self, slug, count, timeout=10.0):
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                        runs = self.executions_of(slug)
                        if len(runs) >= count:
                                return runs
                        time.sleep(0.05)
                self.fail("%s ran %d times, not %d" % (slug, len(self.executions_of(slug)), count))

        def test_a_failure_runs_the_handler_with_its_details(self):
                handler = self.handler()
                slug = self.failing(handler["id"])
                execution_id = self.execute(slug)
                failed = self.wait_for(execution_id)
                self.assertEqual(failed["status"], "failed")

                [run] = self.handler_runs(handler["slug"], 1)
                status = self.wait_for(run["execution_id"])
                self.assertEqual(status["status"], "completed")
                self.assertEqual(status["final_output"], {"output": "bad/jq"})
                detail = self.detail(run["execution_id"])
                self.assertEqual(detail["trigger_node_id"], "onerr")
                self.assertEqual(detail["error_of_execution_id"], execution_id)
                self.assertEqual(detail["trigger_payload"], {"error": {
                        "execution_id": execution_id, "workflow_slug": slug, "node_id": "bad",
                        "message": failed["error_message"], "error_code": "jq"}})

        def test_a_failing_handler_starts_no_other(self):
                handler = self.handler(fails=True)
                r = self.admin.patch("/workflows/%s/" % handler["slug"], {"error_handler_workflow_id": handler["id"]})
                self.assertEqual(r.status, 200, r)
                slug = self.failing(handler["id"])
                self.wait_for(self.execute(slug))
                [run] = self.handler_runs(handler["slug"], 1)
                self.assertEqual(self.wait_for(run["execution_id"])["status"], "failed")
                time.sleep(0.5)
                self.assertEqual(len(self.executions_of(handler["slug"])), 1)

        def test_cancel_or_success_runs_no_handler(self):
                handler = self.handler()
                slug = self.flow([("pause", "wait", {"duration": 30}), ("after", "transform", jq("1"))],
                                 [("trig", "pause"), ("pause", "after")], error_handler_workflow_id=handler["id"])
                execution_id = self.execute(slug)
                self.wait_node_status(execution_id, "pause", "done")
                self.assertEqual(self.admin.post("/executions/%s/cancel/" % execution_id).status, 200)
                ok = self.flow([("fine", "transform", jq("1"))], [("trig", "fine")],
                               error_handler_workflow_id=handler["id"])
                self.wait_for(self.execute(ok))
                time.sleep(0.5)
                self.assertEqual(self.executions_of(handler["slug"]), [])

        def test_handler_without_error_trigger_is_skipped(self):
                plain = self.flow([("x", "transform", jq("1"))], [("trig", "x")])
                handler_id = self.admin.get("/workflows/%s/" % plain).body["id"]
                slug = self.failing(handler_id)
                self.wait_for(self.execute(slug))
                deadline = time.monotonic() + 5
                while "has no trigger_error node" not in self.daemon.log() and time.monotonic() < deadline:
                        time.sleep(0.05)
                self.assertIn("has no trigger_error node", self.daemon.log())
                self.assertEqual(self.executions_of(plain), [])


class RetentionTest(FlowTestCase):
        def test_settings_are_validated_and_patched(self):
                slug = self.make_workflow()["slug"]
                self.assertEqual(self.admin.get("/workflows/%s/" % slug).body["settings"], {})
                retention = {"keep_successful": "none", "max_age_days": 30, "max_count": None}
                r = self.admin.patch("/workflows/%s/" % slug, {"settings": {"retention": retention}})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["settings"], {"retention": retention})
                # Other fields leave settings alone; a key set to null goes.
                r = self.admin.patch("/workflows/%s/" % slug, {"description": "d"})
                self.assertEqual(r.body["settings"], {"retention": retention})
                r = self.admin.patch("/workflows/%s/" % slug, {"settings": {"retention": None}})
                self.assertEqual(r.body["settings"], {})

                for bad, loc in (({"retention": {"keep_successful": "some"}}, ["retention", "keep_successful"]),
                                 ({"retention": {"max_count": 0}}, ["retention", "max_count"]),
                                 ({"retention": {"max_age_days": "1"}}, ["retention", "max_age_days"]),
                                 ({"retention": {"keep": "all"}}, ["retention", "keep"]),
                                 ({"retention": []}, ["retention"]),
                                 ({"colour": "red"}, ["colour"])):
                        with self.subTest(bad=bad):
                                self.assertValidation(self.admin.patch("/workflows/%s/" % slug, {"settings": bad}),
                                                      ["settings"] + loc)
                self.assertValidation(self.admin.post("/workflows/", {"name": "x", "settings": []}), "settings")
                r = self.admin.post("/workflows/", {"name": unique("r"), "settings": {"retention": {"max_count": 3}}})
                self.assertEqual(r.status, 201, r)
                self.assertEqual(r.body["settings"], {"retention": {"max_count": 3}})

        def test_keep_none_drops_a_successful_run_data(self):
                slug = self.flow([("up", "transform", jq(".trigger.text | ascii_upcase")),
                                  ("say", "reply_chat", {"message": "{{ up.output }}"})],
                                 [("trig", "up"), ("up", "say")],
                                 settings={"retention": {"keep_successful": "none"}})
                status, detail = self.run_flow(slug, {"text": "secret"})
                self.assertEqual(status["status"], "completed")
                self.assertEqual(status["final_output"], {"output": "SECRET"})
                self.assertEqual((detail["logs"], detail["node_runs"], detail["trigger_payload"]), ([], [], None))
                self.assertTimestamp(detail["completed_at"])

                # A failed run keeps everything, to be looked into.
                failing = self.flow([("bad", "transform", dict(jq("error(\"x\")"), retries=0))], [("trig", "bad")],
                                    settings={"retention": {"keep_successful": "none"}})
                status, detail = self.run_flow(failing)
                self.assertEqual(status["status"], "failed")
                self.assertEqual(len(detail["logs"]), 1)
                self.assertEqual(detail["trigger_payload"], {"text": "hello", "payload": {}})


class PruningTest(FlowTestCase):
        def test_pruning_by_count_at_start(self):
                slug = self.flow([("t", "transform", jq("1"))], [("trig", "t")],
                                 settings={"retention": {"max_count": 2}})
                kept_all = self.flow([("t", "transform", jq("1"))], [("trig", "t")])
                ids = [self.execute(slug) for _ in range(4)]
                for i in ids:
                        self.wait_for(i)
                for _ in range(3):
                        self.wait_for(self.execute(kept_all))
                # A run still going is never pruned.
                waiting = self.flow([("pause", "wait", {"duration": 60}), ("after", "transform", jq("1"))],
                                    [("trig", "pause"), ("pause", "after")], settings={"retention": {"max_count": 1}})
                live = self.execute(waiting)
                r = self.admin.patch("/workflows/%s/nodes/pause/" % waiting,
                                     {"config": {"extra_config": {"duration": 0}}})
                self.assertEqual(r.status, 200, r)
                self.wait_for(self.execute(waiting))
                self.wait_for(self.execute(waiting))

                self.daemon.stop()
                self.daemon.start()
                deadline = time.monotonic() + 10
                while len(self.executions_of(slug)) > 2 and time.monotonic() < deadline:
                        time.sleep(0.05)
                self.assertEqual([e["execution_id"] for e in self.executions_of(slug)], ids[:1:-1])
                self.assertEqual(len(self.executions_of(kept_all)), 3)
                left = {e["execution_id"]: e["status"] for e in self.executions_of(waiting)}
                self.assertEqual(len(left), 2, left)
                self.assertIn(live, left)
                self.assertIn("Pruned 3 finished execution(s)", self.daemon.log())


class GlobalRetentionTest(FlowTestCase):
        daemon_config = "[Retention]\nKeepSuccessful=none\nMaxCount=1\n"

        def test_config_defaults_and_workflow_overrides(self):
                dropped = self.flow([("t", "transform", jq("1"))], [("trig", "t")])
                kept = self.flow([("t", "transform", jq("1"))], [("trig", "t")],
                                 settings={"retention": {"keep_successful": "all", "max_count": None}})
                status, detail = self.run_flow(dropped)
                self.assertEqual((status["status"], detail["logs"]), ("completed", []))
                status, detail = self.run_flow(kept)
                self.assertEqual(len(detail["logs"]), 1)
                for slug in (dropped, kept):
                        self.wait_for(self.execute(slug))
                self.daemon.stop()
                self.daemon.start()
                deadline = time.monotonic() + 10
                while len(self.executions_of(dropped)) > 1 and time.monotonic() < deadline:
                        time.sleep(0.05)
                self.assertEqual(len(self.executions_of(dropped)), 1)
                self.assertEqual(len(self.executions_of(kept)), 2)


class ExecutionTimeoutTest(FlowTestCase):
        @unittest.skipUnless(shutil.which("bwrap"), "bubblewrap is not installed")
        def test_a_running_code_node_is_stopped_at_the_deadline(self):
                slug = self.flow([("slow", "code", {"language": "python", "timeout": 60, "retries": 0,
                                                    "code": "import time\ntime.sleep(30)\nreturn 1"}),
                                  ("after", "transform", jq("1"))],
                                 [("trig", "slow"), ("slow", "after")], max_execution_seconds=2)
                started = time.monotonic()
                execution_id = self.execute(slug)
                self.wait_node_status(execution_id, "slow", "running")
                status = self.wait_for(execution_id, timeout=15)
                self.assertLess(time.monotonic() - started, 8)
                self.assertEqual((status["status"], status["error_code"]), ("failed", "timeout"), status)
                self.assertIn("max_execution_seconds", status["error_message"])
                detail = self.detail(execution_id)
                self.assertEqual(self.run_status(detail, "slow"), "failed")
                self.assertIsNone(self.run_status(detail, "after"))
                self.assertEqual([l["error_code"] for l in self.logs_of(detail, "slow")], ["timeout"])

        def test_an_endless_jq_program_is_stopped_at_the_deadline(self):
                slug = self.flow([("spin", "transform", jq("last(range(1e15))")),
                                  ("after", "reply_chat", {"message": "never"})],
                                 [("trig", "spin"), ("spin", "after")], max_execution_seconds=1)
                started = time.monotonic()
                status = self.wait_for(self.execute(slug), timeout=15)
                self.assertLess(time.monotonic() - started, 6)
                self.assertEqual((status["status"], status["error_code"]), ("failed", "timeout"), status)
                # The worker is free again: the next run of a quick program completes.
                quick = self.flow([("size", "transform", jq(".trigger.text | length"))], [("trig", "size")])
                status = self.wait_for(self.execute(quick, {"text": "hello"}))
                self.assertEqual(status["final_output"], {"node_outputs": {"size": {"output": 5}}})

        def test_cancel_stops_an_endless_jq_program(self):
                slug = self.flow([("spin", "transform", jq("last(range(1e15))"))], [("trig", "spin")])
                execution_id = self.execute(slug)
                self.wait_node_status(execution_id, "spin", "running")
                started = time.monotonic()
                self.assertEqual(self.admin.post("/executions/%s/cancel/" % execution_id).status, 200)
                self.wait_node_status(execution_id, "spin", "cancelled", timeout=5)
                self.assertLess(time.monotonic() - started, 3)
                self.assertEqual(self.wait_for(execution_id)["status"], "cancelled")
                self.assertHealthy()

        def test_a_running_http_request_is_stopped_at_the_deadline(self):
                target = TargetServer()
                self.addCleanup(target.stop)
                target.slow_seconds = 20
                slug = self.flow([("call", "http_request", {"url": target.url("/slow"), "timeout": 60, "retries": 0})],
                                 [("trig", "call")], max_execution_seconds=1)
                started = time.monotonic()
                status = self.wait_for(self.execute(slug), timeout=15)
                self.assertLess(time.monotonic() - started, 6)
                self.assertEqual((status["status"], status["error_code"]), ("failed", "timeout"), status)
                target.slow_seconds = 0

        def test_the_deadline_holds_while_a_confirmation_waits(self):
                slug = self.flow([("ask", "human_confirmation", {"prompt": "?", "timeout_seconds": 60})],
                                 [("trig", "ask")], max_execution_seconds=1)
                status = self.wait_for(self.execute(slug), timeout=10)
                self.assertEqual((status["status"], status["error_code"]), ("failed", "timeout"), status)


if __name__ == "__main__":
        unittest.main()
