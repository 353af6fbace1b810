"""A workflow's graph is read once per change, not once per start: webhooks find their
trigger in it and executions start from it. Every change — a node's config, an edge, the
trigger itself, the workflow's row — is seen by the very next request."""

from test_webhooks import SECRET, WebhookTestCase
from test_executions import jq


class GraphChangeTest(WebhookTestCase):
        def say(self, slug, path="in", headers=None):
                """The output of a sync webhook run that completed."""
                r = self.hook(slug, path, body={"name": "ada"}, headers=headers)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["status"], "completed", r)
                return r.body["output"]["output"]

        def patch_node(self, slug, node_id, config):
                r = self.admin.patch("/workflows/%s/nodes/%s/" % (slug, node_id), {"config": config})
                self.assertEqual(r.status, 200, r)

        def patch_workflow(self, workflow_slug, **fields):
                r = self.admin.patch("/workflows/%s/" % workflow_slug, fields)
                self.assertEqual(r.status, 200, r)

        def test_a_node_config_change(self):
                slug = self.hook_flow([("reply", "reply_chat", {"message": "one {{ hook.body.name }}"})],
                                      [("hook", "reply")], response_mode="sync")
                self.assertEqual(self.say(slug), "one ada")
                self.assertEqual(self.say(slug), "one ada")
                self.patch_node(slug, "reply", {"extra_config": {"message": "two {{ hook.body.name }}"}})
                self.assertEqual(self.say(slug), "two ada")
                self.patch_node(slug, "reply", {"extra_config": {"message": "three"}})
                self.assertEqual(self.say(slug), "three")

        def test_edges_added_and_removed(self):
                slug = self.hook_flow([("a", "reply_chat", {"message": "from a"}),
                                       ("b", "reply_chat", {"message": "from b"})],
                                      [], response_mode="sync")
                to_a = self.make_edge(slug, "hook", "a")
                self.assertEqual(self.say(slug), "from a")

                r = self.admin.delete("/workflows/%s/edges/%d/" % (slug, to_a["id"]))
                self.assertEqual(r.status, 204, r)
                r = self.hook(slug, body={})
                self.assertEqual(r.status, 422, r)
                self.assertIn("nothing to run", r.body["detail"])
                # Still nothing: the reason is answered again.
                self.assertEqual(self.hook(slug, body={}).status, 422)

                self.make_edge(slug, "hook", "b")
                self.assertEqual(self.say(slug), "from b")

                # A node added at the end of the chain runs in the next execution.
                self.make_node(slug, "reply_chat", node_id="c", config={"extra_config": {"message": "c after b"}})
                self.make_edge(slug, "b", "c")
                self.assertEqual(self.say(slug), "c after b")

                r = self.admin.delete("/workflows/%s/nodes/c/" % slug)
                self.assertEqual(r.status, 204, r)
                self.assertEqual(self.say(slug), "from b")

        def test_the_trigger_changes(self):
                slug = self.hook_flow([("reply", "reply_chat", {"message": "hi {{ hook.body.name }}"})],
                                      [("hook", "reply")], response_mode="sync")
                self.assertEqual(self.say(slug), "hi ada")

                self.patch_node(slug, "hook", {"extra_config": {"path": "moved", "response_mode": "sync"}})
                self.assertEqual(self.hook(slug, "in", body={}).status, 404)
                self.assertEqual(self.say(slug, "moved"), "hi ada")

                self.patch_node(slug, "hook", {"extra_config": {"path": "moved", "response_mode": "sync",
                                                                "secret": SECRET}})
                self.assertEqual(self.hook(slug, "moved", body={}).status, 401)
                self.assertEqual(self.say(slug, "moved", headers={"X-Pipelit-Secret": SECRET}), "hi ada")

                self.patch_node(slug, "hook", {"is_active": False})
                r = self.hook(slug, "moved", body={}, headers={"X-Pipelit-Secret": SECRET})
                self.assertEqual(r.status, 404, r)
                self.patch_node(slug, "hook", {"is_active": True})
                self.assertEqual(self.say(slug, "moved", headers={"X-Pipelit-Secret": SECRET}), "hi ada")

                # A trigger that is gone is not found, whatever was kept of it.
                r = self.admin.delete("/workflows/%s/nodes/hook/" % slug)
                self.assertEqual(r.status, 204, r)
                r = self.hook(slug, "moved", body={}, headers={"X-Pipelit-Secret": SECRET})
                self.assertEqual(r.status, 404, r)

        def test_the_highest_priority_trigger_wins_as_priorities_change(self):
                slug = self.hook_flow([("one", "reply_chat", {"message": "first"}),
                                       ("two", "reply_chat", {"message": "second"})],
                                      [("hook", "one")], response_mode="sync")
                self.make_node(slug, "trigger_webhook", node_id="hook2",
                               config={"extra_config": {"path": "in", "response_mode": "sync"}})
                self.make_edge(slug, "hook2", "two")
                self.patch_node(slug, "hook", {"priority": 1})
                self.assertEqual(self.say(slug), "first")
                self.patch_node(slug, "hook2", {"priority": 2})
                self.assertEqual(self.say(slug), "second")
                self.patch_node(slug, "hook2", {"is_active": False})
                self.assertEqual(self.say(slug), "first")

        def test_workflow_changes(self):
                slug = self.hook_flow([("reply", "reply_chat", {"message": "hi"})],
                                      [("hook", "reply")], response_mode="sync")
                self.assertEqual(self.say(slug), "hi")

                self.patch_workflow(slug, is_active=False)
                self.assertEqual(self.hook(slug, body={}).status, 404)
                self.patch_workflow(slug, is_active=True)
                self.assertEqual(self.say(slug), "hi")

                renamed = slug + "-renamed"
                self.patch_workflow(slug, slug=renamed)
                self.assertEqual(self.hook(slug, body={}).status, 404)
                self.assertEqual(self.say(renamed), "hi")

                r = self.admin.delete("/workflows/%s/" % renamed)
                self.assertEqual(r.status, 204, r)
                self.assertEqual(self.hook(renamed, body={}).status, 404)

        def test_the_workflow_settings_go_with_the_next_start(self):
                slug = self.hook_flow([("pause", "wait", {"duration": 2}),
                                       ("reply", "reply_chat", {"message": "done"})],
                                      [("hook", "pause"), ("pause", "reply")], response_mode="sync")
                self.assertEqual(self.say(slug), "done")
                self.patch_workflow(slug, max_execution_seconds=1)
                r = self.hook(slug, body={})
                self.assertEqual(r.status, 200, r)
                self.assertEqual((r.body["status"], r.body["error_code"]), ("failed", "timeout"), r)

        def test_manual_runs_see_changes(self):
                def outputs(text):
                        status, _ = self.run_flow(slug, {"text": text})
                        self.assertEqual(status["status"], "completed", status)
                        return {k: v["output"] for k, v in status["final_output"]["node_outputs"].items()}

                slug = self.flow([("up", "transform", jq(".trigger.text | ascii_upcase"))], [("trig", "up")])
                self.assertEqual(outputs("abc"), {"up": "ABC"})

                self.patch_node(slug, "up", {"extra_config": jq(".trigger.text | ascii_downcase")})
                self.assertEqual(outputs("ABC"), {"up": "abc"})

                self.make_node(slug, "transform", node_id="len", config={"extra_config": jq(".up.output | length")})
                self.make_edge(slug, "up", "len")
                self.assertEqual(outputs("ABCD")["len"], 4)

                r = self.admin.delete("/workflows/%s/" % slug)
                self.assertEqual(r.status, 204, r)
                r = self.admin.post("/workflows/%s/execute/" % slug, {"text": "x"})
                self.assertEqual(r.status, 404, r)

        def test_a_subworkflow_starts_its_child_as_changed(self):
                # The child starts on a worker thread, with that worker's connection.
                child = self.make_workflow()["slug"]
                self.make_node(child, "trigger_workflow", node_id="start")
                self.make_node(child, "reply_chat", node_id="say", config={"extra_config": {"message": "child one"}})
                self.make_edge(child, "start", "say")
                parent = self.flow([("call", "workflow", {"target_workflow": child}),
                                    ("say", "reply_chat", {"message": "saw {{ call.output.output }}"})],
                                   [("trig", "call"), ("call", "say")])
                status, _ = self.run_flow(parent)
                self.assertEqual(status["final_output"], {"output": "saw child one"})

                self.patch_node(child, "say", {"extra_config": {"message": "child two"}})
                status, _ = self.run_flow(parent)
                self.assertEqual(status["final_output"], {"output": "saw child two"})

                r = self.admin.delete("/workflows/%s/edges/%d/" % (
                        child, self.admin.get("/workflows/%s/edges/" % child).body[0]["id"]))
                self.assertEqual(r.status, 204, r)
                status, _ = self.run_flow(parent)
                self.assertEqual(status["status"], "failed")
                self.assertIn("cannot run", status["error_message"])
