"""Exporting a workflow as one document and importing it again."""

import copy

from harness import DaemonTestCase, unique

NODE_KEYS = ("component_type", "label", "is_entry_point", "interrupt_before", "interrupt_after",
             "position_x", "position_y", "config")
EDGE_KEYS = ("source_node_id", "target_node_id", "edge_type", "edge_label", "condition_value",
             "priority")


def nodes_by_id(nodes):
        return {n["node_id"]: {k: n[k] for k in NODE_KEYS} for n in nodes}


def edge_set(edges):
        return sorted(tuple(str(e[k]) for k in EDGE_KEYS) for e in edges)


class ImportExportTest(DaemonTestCase):
        def build(self, client=None):
                c = client or self.admin
                w = self.make_workflow(client=c, name=unique("Export me "),
                                       description="a workflow to carry around",
                                       tags=["export", "test"], max_execution_seconds=120,
                                       is_public=True,
                                       input_schema={"type": "object"},
                                       output_schema={"type": "string"})
                s = w["slug"]
                self.make_node(s, "trigger_chat", client=c, node_id="chat", is_entry_point=True,
                               position_x=10, position_y=20,
                               config={"trigger_config": {"greeting": "hi"}, "priority": 2})
                self.make_node(s, "agent", client=c, node_id="agent", label="Helper",
                               config={"system_prompt": "Be brief.",
                                       "extra_config": {"conversation_memory": True}})
                self.make_node(s, "ai_model", client=c, node_id="model",
                               config={"model_name": "test-model", "temperature": 0.3,
                                       "max_tokens": 256})
                self.make_node(s, "switch", client=c, node_id="route",
                               config={"extra_config": {"rules": [
                                       {"id": "yes", "field": "output", "operator": "contains",
                                        "value": "yes"}], "enable_fallback": True}})
                self.make_node(s, "code", client=c, node_id="after",
                               config={"extra_config": {"code": "return 'ok'"}})
                self.make_node(s, "human_confirmation", client=c, node_id="confirm")
                self.make_edge(s, "chat", "agent", client=c)
                self.make_edge(s, "model", "agent", client=c, edge_label="llm")
                self.make_edge(s, "agent", "route", client=c, priority=1)
                self.make_edge(s, "route", "after", client=c, edge_type="conditional",
                               condition_value="yes")
                self.make_edge(s, "route", "__end__", client=c, edge_type="conditional",
                               condition_value="__other__")
                return (c.get("/workflows/%s/" % s).body)

        def export(self, slug, client=None):
                r = (client or self.admin).get("/workflows/%s/export/" % slug)
                self.assertEqual(r.status, 200, r)
                return r.body

        def test_export_document(self):
                w = self.build()
                doc = self.export(w["slug"])
                self.assertEqual(doc["format"], "pipelit-workflow")
                self.assertEqual(doc["version"], 1)
                wf = doc["workflow"]
                for k in ("name", "slug", "description", "is_active", "is_public", "tags",
                          "max_execution_seconds", "input_schema", "output_schema"):
                        self.assertEqual(wf[k], w[k], k)
                self.assertNotIn("id", wf)
                self.assertNotIn("owner_id", wf)
                self.assertEqual(len(doc["nodes"]), 6)
                self.assertEqual(len(doc["edges"]), 5)
                for n in doc["nodes"]:
                        self.assertNotIn("id", n)
                        self.assertNotIn("updated_at", n)
                for e in doc["edges"]:
                        self.assertNotIn("id", e)
                self.assertEqual(nodes_by_id(doc["nodes"]), nodes_by_id(w["nodes"]))
                self.assertEqual(edge_set(doc["edges"]), edge_set(w["edges"]))

        def test_round_trip(self):
                w = self.build()
                doc = self.export(w["slug"])
                r = self.admin.post("/workflows/import/", doc)
                self.assertEqual(r.status, 201, r)
                new = r.body
                self.assertNotEqual(new["slug"], w["slug"])
                self.assertEqual(new["slug"], w["slug"] + "-1")
                self.assertNotEqual(new["id"], w["id"])
                for k in ("name", "description", "is_active", "is_public", "tags",
                          "max_execution_seconds", "input_schema", "output_schema"):
                        self.assertEqual(new[k], w[k], k)
                self.assertEqual((new["node_count"], new["edge_count"]), (6, 5))
                self.assertEqual(nodes_by_id(new["nodes"]), nodes_by_id(w["nodes"]))
                self.assertEqual(edge_set(new["edges"]), edge_set(w["edges"]))
                # What is stored is what was answered.
                got = self.admin.get("/workflows/%s/" % new["slug"]).body
                self.assertEqual(nodes_by_id(got["nodes"]), nodes_by_id(w["nodes"]))
                self.assertEqual(edge_set(got["edges"]), edge_set(w["edges"]))
                # Exporting the copy gives the same document but for the slug.
                again = self.export(new["slug"])
                self.assertEqual(again["workflow"]["slug"], new["slug"])
                again["workflow"]["slug"] = doc["workflow"]["slug"]
                self.assertEqual(again["workflow"], doc["workflow"])
                self.assertEqual(nodes_by_id(again["nodes"]), nodes_by_id(doc["nodes"]))
                self.assertEqual(edge_set(again["edges"]), edge_set(doc["edges"]))
                # The original is untouched.
                self.assertEqual(self.admin.get("/workflows/%s/" % w["slug"]).status, 200)

        def test_import_keeps_a_free_slug(self):
                w = self.build()
                doc = self.export(w["slug"])
                self.assertEqual(self.admin.delete("/workflows/%s/" % w["slug"]).status, 204)
                r = self.admin.post("/workflows/import/", doc)
                self.assertEqual(r.status, 201, r)
                self.assertEqual(r.body["slug"], w["slug"])

        def test_import_belongs_to_the_importer(self):
                _, user = self.make_user()
                doc = self.export(self.build()["slug"])
                r = user.post("/workflows/import/", doc)
                self.assertEqual(r.status, 201, r)
                me = user.get("/users/me/").body
                self.assertEqual(r.body["owner_id"], me["id"])
                self.assertEqual(user.get("/workflows/%s/" % r.body["slug"]).status, 200)

        def assertImportRefused(self, doc):
                before = self.admin.get("/workflows/?limit=1000").body
                r = self.admin.post("/workflows/import/", doc)
                self.assertEqual(r.status, 422, r)
                after = self.admin.get("/workflows/?limit=1000").body
                self.assertEqual(after["total"], before["total"])
                self.assertEqual([w["slug"] for w in after["items"]],
                                 [w["slug"] for w in before["items"]])
                return r

        def test_import_with_a_bad_edge_creates_nothing(self):
                doc = self.export(self.build()["slug"])
                bad = copy.deepcopy(doc)
                # code cannot drive an agent's model
                bad["edges"].append({"source_node_id": "after", "target_node_id": "agent",
                                     "edge_type": "direct", "edge_label": "llm",
                                     "condition_value": "", "priority": 0})
                self.assertImportRefused(bad)
                dangling = copy.deepcopy(doc)
                dangling["edges"].append({"source_node_id": "chat", "target_node_id": "ghost",
                                          "edge_type": "direct", "edge_label": "",
                                          "condition_value": "", "priority": 0})
                self.assertImportRefused(dangling)

        def test_import_with_a_bad_node_creates_nothing(self):
                doc = self.export(self.build()["slug"])
                bad = copy.deepcopy(doc)
                bad["nodes"].append({"node_id": "odd", "component_type": "no_such_type"})
                r = self.assertImportRefused(bad)
                self.assertIn("no_such_type", r.raw.decode())
                dup = copy.deepcopy(doc)
                dup["nodes"].append(copy.deepcopy(dup["nodes"][0]))
                self.assertImportRefused(dup)

        def test_import_refuses_other_documents(self):
                doc = self.export(self.build()["slug"])
                for change in ({"format": "something-else"}, {"version": 99}):
                        bad = dict(doc, **change)
                        self.assertImportRefused(bad)
                no_name = copy.deepcopy(doc)
                del no_name["workflow"]["name"]
                self.assertImportRefused(no_name)

        def test_export_of_unknown_workflow(self):
                self.assertEqual(self.admin.get("/workflows/nope-nope/export/").status, 404)
