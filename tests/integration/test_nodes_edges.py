"""Nodes and edges of a workflow, edge type checking, and validate/."""

import json

from harness import DaemonTestCase

NODE_FIELDS = {"id", "node_id", "component_type", "label", "is_entry_point", "interrupt_before",
               "interrupt_after", "position_x", "position_y", "subworkflow_id", "config",
               "updated_at"}
CONFIG_FIELDS = {"system_prompt", "extra_config", "llm_credential_id", "model_name",
                 "temperature", "max_tokens", "frequency_penalty", "presence_penalty", "top_p",
                 "timeout", "max_retries", "response_format", "llm_model_config_id",
                 "credential_id", "is_active", "priority", "trigger_config"}
EDGE_FIELDS = {"id", "source_node_id", "target_node_id", "edge_type", "edge_label",
               "condition_value", "priority"}


class NodeTest(DaemonTestCase):
        def setUp(self):
                self.slug = self.make_workflow()["slug"]
                self.nodes = "/workflows/%s/nodes/" % self.slug

        def test_generated_node_id(self):
                r = self.admin.post(self.nodes, {"component_type": "agent"})
                self.assertEqual(r.status, 201, r)
                n = r.body
                self.assertEqual(set(n), NODE_FIELDS)
                self.assertRegex(n["node_id"], r"^agent_[0-9a-f]{8}$")
                self.assertEqual(n["component_type"], "agent")
                self.assertIs(n["is_entry_point"], False)
                self.assertIs(n["interrupt_before"], False)
                self.assertIs(n["interrupt_after"], False)
                self.assertEqual((n["position_x"], n["position_y"]), (0, 0))
                self.assertIsNone(n["subworkflow_id"])
                self.assertEqual(set(n["config"]), CONFIG_FIELDS)
                self.assertTimestamp(n["updated_at"])
                other = self.make_node(self.slug, "agent")
                self.assertNotEqual(other["node_id"], n["node_id"])
                listed = self.admin.get(self.nodes)
                self.assertEqual(listed.status, 200, listed)
                self.assertIsInstance(listed.body, list)
                self.assertEqual(sorted(x["node_id"] for x in listed.body),
                                 sorted([n["node_id"], other["node_id"]]))
                self.assertEqual(self.admin.get("/workflows/%s/" % self.slug).body["node_count"], 2)

        def test_explicit_node_id_and_fields(self):
                r = self.admin.post(self.nodes, {"component_type": "code", "node_id": "My-node_1",
                                                 "label": "Compute", "is_entry_point": True,
                                                 "interrupt_after": True, "position_x": 12.5,
                                                 "position_y": -3,
                                                 "config": {"system_prompt": "hi",
                                                            "extra_config": {"code": "return 1",
                                                                             "timeout": 5}}})
                self.assertEqual(r.status, 201, r)
                n = r.body
                self.assertEqual(n["node_id"], "My-node_1")
                self.assertEqual(n["label"], "Compute")
                self.assertIs(n["is_entry_point"], True)
                self.assertIs(n["interrupt_after"], True)
                self.assertEqual((n["position_x"], n["position_y"]), (12.5, -3))
                self.assertEqual(n["config"]["system_prompt"], "hi")
                self.assertEqual(n["config"]["extra_config"], {"code": "return 1", "timeout": 5})
                got = self.admin.get(self.nodes).body
                self.assertEqual(got, [n])

        def test_duplicate_node_id(self):
                self.make_node(self.slug, "code", node_id="twice")
                r = self.admin.post(self.nodes, {"component_type": "switch", "node_id": "twice"})
                self.assertEqual(r.status, 409, r)
                self.assertIsInstance(r.body["detail"], str)
                self.assertEqual(len(self.admin.get(self.nodes).body), 1)
                # The same node_id in another workflow is fine.
                other = self.make_workflow()["slug"]
                self.make_node(other, "code", node_id="twice")

        def test_bad_node_ids(self):
                for bad in ("", "has space", "semi;colon", "x" * 65, "slash/id", "ünï"):
                        with self.subTest(node_id=bad):
                                r = self.admin.post(self.nodes, {"component_type": "code",
                                                                 "node_id": bad})
                                self.assertValidation(r, "node_id")
                self.make_node(self.slug, "code", node_id="x" * 64)

        def test_unknown_component_type(self):
                r = self.admin.post(self.nodes, {"component_type": "no_such_type"})
                self.assertEqual(r.status, 422, r)
                self.assertIn("component_type", json.dumps(r.body))
                self.assertValidation(self.admin.post(self.nodes, {}), "component_type")
                self.assertValidation(self.admin.post(self.nodes, {"component_type": 7}),
                                      "component_type")
                self.assertEqual(self.admin.get(self.nodes).body, [])

        def test_bad_config(self):
                r = self.admin.post(self.nodes, {"component_type": "ai_model",
                                                 "config": {"temperature": "hot"}})
                self.assertValidation(r, "config")
                r = self.admin.post(self.nodes, {"component_type": "code", "config": "text"})
                self.assertValidation(r, "config")
                self.assertEqual(self.admin.get(self.nodes).body, [])

        def test_llm_fields_only_for_ai_model(self):
                cfg = {"model_name": "gpt-test", "temperature": 0.5, "max_tokens": 100,
                       "top_p": 0.9}
                model = self.make_node(self.slug, "ai_model", config=cfg)
                for k, v in cfg.items():
                        self.assertEqual(model["config"][k], v, k)
                code = self.make_node(self.slug, "code", config=cfg)
                for k in cfg:
                        self.assertIsNone(code["config"][k], k)

        def test_trigger_fields_only_for_triggers(self):
                cfg = {"trigger_config": {"chat": 1}, "priority": 7, "is_active": False}
                trig = self.make_node(self.slug, "trigger_chat", config=cfg)
                for k, v in cfg.items():
                        self.assertEqual(trig["config"][k], v, k)
                code = self.make_node(self.slug, "code", config=cfg)
                self.assertNotEqual(code["config"]["trigger_config"], {"chat": 1})
                self.assertNotEqual(code["config"]["priority"], 7)

        def test_patch_merges_config(self):
                n = self.make_node(self.slug, "ai_model",
                                   config={"model_name": "m1", "temperature": 0.1,
                                           "system_prompt": "keep me"})
                path = self.nodes + n["node_id"] + "/"
                r = self.admin.patch(path, {"config": {"temperature": 0.7}, "label": "Model"})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["config"]["temperature"], 0.7)
                self.assertEqual(r.body["config"]["model_name"], "m1")
                self.assertEqual(r.body["config"]["system_prompt"], "keep me")
                self.assertEqual(r.body["label"], "Model")
                self.assertEqual(r.body["node_id"], n["node_id"])
                self.assertEqual(r.body["component_type"], "ai_model")
                got = [x for x in self.admin.get(self.nodes).body if x["node_id"] == n["node_id"]]
                self.assertEqual(got, [r.body])
                r = self.admin.patch(path, {"position_x": 100, "position_y": 200.25})
                self.assertEqual((r.body["position_x"], r.body["position_y"]), (100, 200.25))
                self.assertEqual(r.body["config"]["model_name"], "m1")

        def test_patch_unknown_node(self):
                r = self.admin.patch(self.nodes + "nope/", {"label": "x"})
                self.assertEqual(r.status, 404, r)

        def test_human_confirmation_always_interrupts(self):
                n = self.make_node(self.slug, "human_confirmation")
                self.assertIs(n["interrupt_before"], True)
                n = self.make_node(self.slug, "human_confirmation", interrupt_before=False)
                self.assertIs(n["interrupt_before"], True)
                r = self.admin.patch(self.nodes + n["node_id"] + "/", {"interrupt_before": False})
                self.assertIn(r.status, (200, 422), r)
                got = [x for x in self.admin.get(self.nodes).body if x["node_id"] == n["node_id"]]
                self.assertIs(got[0]["interrupt_before"], True)

        def test_delete_removes_its_edges(self):
                a = self.make_node(self.slug, "trigger_chat")
                b = self.make_node(self.slug, "code")
                c = self.make_node(self.slug, "reply_chat")
                self.make_edge(self.slug, a["node_id"], b["node_id"])
                self.make_edge(self.slug, b["node_id"], c["node_id"])
                keep = self.make_edge(self.slug, a["node_id"], c["node_id"])
                r = self.admin.delete(self.nodes + b["node_id"] + "/")
                self.assertEqual(r.status, 204, r)
                self.assertIsNone(r.body)
                edges = self.admin.get("/workflows/%s/edges/" % self.slug).body
                self.assertEqual([e["id"] for e in edges], [keep["id"]])
                w = self.admin.get("/workflows/%s/" % self.slug).body
                self.assertEqual((w["node_count"], w["edge_count"]), (2, 1))
                self.assertNotIn(b["node_id"], [x["node_id"] for x in w["nodes"]])
                self.assertEqual(self.admin.delete(self.nodes + b["node_id"] + "/").status, 404)


class NodeLimitTest(DaemonTestCase):
        daemon_config = "[Limits]\nMaxNodesPerWorkflow=3\n"

        def test_limit(self):
                slug = self.make_workflow()["slug"]
                for _ in range(3):
                        self.make_node(slug, "code")
                r = self.admin.post("/workflows/%s/nodes/" % slug, {"component_type": "code"})
                self.assertEqual(r.status, 422, r)
                self.assertEqual(len(self.admin.get("/workflows/%s/nodes/" % slug).body), 3)
                # Per workflow, not overall.
                self.make_node(self.make_workflow()["slug"], "code")


class EdgeTest(DaemonTestCase):
        def setUp(self):
                self.slug = self.make_workflow()["slug"]
                self.edges = "/workflows/%s/edges/" % self.slug

        def node(self, component_type, **fields):
                return self.make_node(self.slug, component_type, **fields)["node_id"]

        def post(self, source, target, **fields):
                fields.update(source_node_id=source, target_node_id=target)
                return self.admin.post(self.edges, fields)

        def assertRejected(self, r, *words):
                self.assertEqual(r.status, 422, r)
                errors = r.body["detail"]["validation_errors"]
                self.assertIsInstance(errors, list)
                self.assertTrue(errors)
                text = " ".join(errors)
                for w in words:
                        self.assertIn(w, text)
                return text

        def test_compatible_flow_edge(self):
                chat, agent = self.node("trigger_chat"), self.node("agent")
                r = self.post(chat, agent)
                self.assertEqual(r.status, 201, r)
                self.assertEqual(set(r.body), EDGE_FIELDS)
                self.assertEqual(r.body["source_node_id"], chat)
                self.assertEqual(r.body["target_node_id"], agent)
                self.assertEqual(r.body["edge_type"], "direct")
                self.assertEqual(r.body["edge_label"], "")
                self.assertEqual(r.body["priority"], 0)
                self.assertIn(r.body["condition_value"], ("", None))
                self.assertEqual(self.admin.get(self.edges).body, [r.body])
                # messages -> any, any -> any
                reply, code = self.node("reply_chat"), self.node("code")
                self.assertEqual(self.post(agent, reply).status, 201)
                self.assertEqual(self.post(code, self.node("code")).status, 201)

        def test_incompatible_flow_edges(self):
                manual, chat = self.node("trigger_manual"), self.node("trigger_chat")
                self.assertRejected(self.post(manual, chat), "trigger_chat")
                switch, loop = self.node("switch"), self.node("loop")
                self.assertRejected(self.post(switch, loop), "switch", "loop", "string", "array")
                self.assertEqual(self.admin.get(self.edges).body, [])

        def test_tool_cannot_be_a_flow_source(self):
                tool, switch = self.node("run_command"), self.node("switch")
                self.assertRejected(self.post(tool, switch), "run_command")

        def test_llm_edge(self):
                model, agent, code = self.node("ai_model"), self.node("agent"), self.node("code")
                r = self.post(model, agent, edge_label="llm")
                self.assertEqual(r.status, 201, r)
                self.assertEqual(r.body["edge_label"], "llm")
                self.assertRejected(self.post(code, agent, edge_label="llm"), "llm")
                self.assertRejected(self.post(model, code, edge_label="llm"), "llm")

        def test_tool_edge(self):
                tool, agent, code = self.node("whoami"), self.node("agent"), self.node("code")
                r = self.post(tool, agent, edge_label="tool")
                self.assertEqual(r.status, 201, r)
                self.assertEqual(self.post(self.node("run_command"), self.node("deep_agent"),
                                           edge_label="tool").status, 201)
                self.assertRejected(self.post(code, agent, edge_label="tool"))
                self.assertRejected(self.post(tool, code, edge_label="tool"))

        def test_unknown_label_and_type(self):
                a, b = self.node("code"), self.node("code")
                self.assertEqual(self.post(a, b, edge_label="bogus").status, 422)
                self.assertEqual(self.post(a, b, edge_type="sideways").status, 422)

        def test_conditional_from_switch(self):
                switch, a, b = self.node("switch"), self.node("code"), self.node("code")
                r = self.post(switch, a, edge_type="conditional", condition_value="rule_a")
                self.assertEqual(r.status, 201, r)
                self.assertEqual(r.body["edge_type"], "conditional")
                self.assertEqual(r.body["condition_value"], "rule_a")
                r = self.post(switch, "__end__", edge_type="conditional", condition_value="__other__")
                self.assertEqual(r.status, 201, r)
                self.assertEqual(r.body["target_node_id"], "__end__")
                self.assertRejected(self.post(switch, b, edge_type="conditional"))
                self.assertRejected(self.post(switch, b, edge_type="conditional",
                                              condition_value=""))
                self.assertEqual(len(self.admin.get(self.edges).body), 2)

        def test_conditional_from_assertion(self):
                check, ok, bad = self.node("assertion"), self.node("code"), self.node("code")
                for value, target in (("pass", ok), ("fail", bad)):
                        r = self.post(check, target, edge_type="conditional", condition_value=value)
                        self.assertEqual(r.status, 201, r)

        def test_conditional_needs_a_router(self):
                a, b = self.node("code"), self.node("code")
                self.assertRejected(self.post(a, b, edge_type="conditional", condition_value="x"))

        def test_end_only_for_conditional_edges(self):
                a = self.node("code")
                self.assertRejected(self.post(a, "__end__"))

        def test_endpoints_must_exist_here(self):
                a = self.node("code")
                self.assertRejected(self.post(a, "ghost"))
                self.assertRejected(self.post("ghost", a))
                other = self.make_workflow()["slug"]
                foreign = self.make_node(other, "code")["node_id"]
                self.assertRejected(self.post(a, foreign))
                self.assertEqual(self.admin.get(self.edges).body, [])

        def test_patch_and_delete(self):
                switch, a, b = self.node("switch"), self.node("code"), self.node("code")
                e = self.post(switch, a, edge_type="conditional", condition_value="x").body
                path = self.edges + "%s/" % e["id"]
                r = self.admin.patch(path, {"condition_value": "y", "priority": 4,
                                            "target_node_id": b})
                self.assertEqual(r.status, 200, r)
                self.assertEqual((r.body["condition_value"], r.body["priority"],
                                  r.body["target_node_id"]), ("y", 4, b))
                self.assertRejected(self.admin.patch(path, {"condition_value": ""}))
                self.assertRejected(self.admin.patch(path, {"target_node_id": "ghost"}))
                got = self.admin.get(self.edges).body
                self.assertEqual(got, [r.body])
                r = self.admin.delete(path)
                self.assertEqual(r.status, 204, r)
                self.assertEqual(self.admin.get(self.edges).body, [])
                self.assertEqual(self.admin.delete(path).status, 404)
                self.assertEqual(self.admin.patch(path, {"priority": 1}).status, 404)

        def test_counts(self):
                a, b = self.node("trigger_chat"), self.node("agent")
                self.post(a, b)
                w = self.admin.get("/workflows/%s/" % self.slug).body
                self.assertEqual((w["node_count"], w["edge_count"]), (2, 1))
                self.assertEqual(len(w["edges"]), 1)


class ValidateTest(DaemonTestCase):
        def test_empty_workflow_is_valid(self):
                slug = self.make_workflow()["slug"]
                r = self.admin.post("/workflows/%s/validate/" % slug)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body, {"valid": True, "errors": []})

        def test_agent_without_llm(self):
                slug = self.make_workflow()["slug"]
                chat = self.make_node(slug, "trigger_chat")["node_id"]
                agent = self.make_node(slug, "agent")["node_id"]
                self.make_edge(slug, chat, agent)
                r = self.admin.post("/workflows/%s/validate/" % slug)
                self.assertEqual(r.status, 200, r)
                self.assertIs(r.body["valid"], False)
                self.assertTrue(any(agent in e for e in r.body["errors"]), r.body)
                model = self.make_node(slug, "ai_model")["node_id"]
                self.make_edge(slug, model, agent, edge_label="llm")
                r = self.admin.post("/workflows/%s/validate/" % slug)
                self.assertEqual(r.body, {"valid": True, "errors": []})

        def test_unknown_workflow(self):
                self.assertEqual(self.admin.post("/workflows/nope-nope/validate/").status, 404)
