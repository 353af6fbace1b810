"""Workflow CRUD, slugs, pagination, batch delete and ownership."""

import re

from harness import DaemonTestCase, unique

WORKFLOW_FIELDS = {"id", "name", "slug", "description", "owner_id", "is_active", "is_public", "settings",
                   "is_default", "tags", "error_handler_workflow_id", "max_execution_seconds",
                   "input_schema", "output_schema", "node_count", "edge_count", "created_at",
                   "updated_at"}
SLUG_RE = re.compile(r"^[a-z0-9_-]+$")


class WorkflowCrudTest(DaemonTestCase):
        def test_create_with_defaults(self):
                name = unique("Daily Report ")
                r = self.admin.post("/workflows/", {"name": name})
                self.assertEqual(r.status, 201, r)
                w = r.body
                self.assertEqual(set(w), WORKFLOW_FIELDS)
                self.assertEqual(w["name"], name)
                self.assertEqual(w["slug"], name.lower().replace(" ", "-"))
                self.assertEqual(w["owner_id"], self.admin_id)
                self.assertIs(w["is_active"], True)
                self.assertIs(w["is_public"], False)
                self.assertIs(w["is_default"], False)
                self.assertEqual(w["tags"], [])
                self.assertEqual(w["max_execution_seconds"], 600)
                self.assertIsNone(w["error_handler_workflow_id"])
                self.assertEqual((w["node_count"], w["edge_count"]), (0, 0))
                self.assertIn(w["description"], ("", None))
                self.assertTimestamp(w["created_at"])
                self.assertTimestamp(w["updated_at"])

        def test_create_with_every_field(self):
                slug = unique("full_flow-")
                body = {"name": "Full", "slug": slug, "description": "does everything",
                        "is_active": False, "is_public": True, "is_default": True,
                        "tags": ["a", "b c"], "max_execution_seconds": 42,
                        "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
                        "output_schema": {"type": "string"}}
                r = self.admin.post("/workflows/", body)
                self.assertEqual(r.status, 201, r)
                for k, v in body.items():
                        self.assertEqual(r.body[k], v, k)
                got = self.admin.get("/workflows/%s/" % slug)
                self.assertEqual(got.status, 200, got)
                for k, v in body.items():
                        self.assertEqual(got.body[k], v, k)
                self.assertEqual(got.body["nodes"], [])
                self.assertEqual(got.body["edges"], [])
                self.assertEqual(set(got.body), WORKFLOW_FIELDS | {"nodes", "edges"})

        def test_error_handler_reference(self):
                handler = self.make_workflow()
                w = self.make_workflow(error_handler_workflow_id=handler["id"])
                self.assertEqual(w["error_handler_workflow_id"], handler["id"])

        def test_slug_is_derived_from_the_name(self):
                w = self.make_workflow(name="Hello, World!  Ünïcode & more")
                self.assertRegex(w["slug"], SLUG_RE)
                self.assertTrue(w["slug"].startswith("hello"), w["slug"])
                self.assertIn("world", w["slug"])

        def test_taken_slugs_get_a_number(self):
                name = unique("Dup Name ")
                slugs = [self.make_workflow(name=name)["slug"] for _ in range(3)]
                base = name.lower().replace(" ", "-")
                self.assertEqual(slugs, [base, base + "-1", base + "-2"])
                explicit = self.make_workflow(name="other", slug=base)
                self.assertEqual(explicit["slug"], base + "-3")

        def test_invalid_input(self):
                self.assertValidation(self.admin.post("/workflows/", {}), "name")
                self.assertValidation(self.admin.post("/workflows/", {"name": ""}), "name")
                self.assertValidation(self.admin.post("/workflows/", {"name": "n" * 256}), "name")
                self.assertValidation(self.admin.post("/workflows/", {"name": "x",
                                                                      "slug": "Bad Slug!"}),
                                      "slug")
                self.assertValidation(self.admin.post("/workflows/", {"name": "x",
                                                                      "max_execution_seconds": 0}),
                                      "max_execution_seconds")
                self.assertValidation(self.admin.post("/workflows/", {"name": "x",
                                                                      "tags": [1, 2]}), "tags")
                r = self.admin.post("/workflows/", {"name": "n" * 255})
                self.assertEqual(r.status, 201, r)

        def test_unknown_workflow(self):
                for r in (self.admin.get("/workflows/no-such-flow/"),
                          self.admin.patch("/workflows/no-such-flow/", {"name": "x"}),
                          self.admin.delete("/workflows/no-such-flow/")):
                        self.assertEqual(r.status, 404, r)
                        self.assertIsInstance(r.body["detail"], str)

        def test_patch(self):
                w = self.make_workflow(tags=["old"])
                r = self.admin.patch("/workflows/%s/" % w["slug"],
                                     {"name": "Renamed", "description": "new words",
                                      "tags": ["new"], "is_public": True,
                                      "max_execution_seconds": 30})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["name"], "Renamed")
                self.assertEqual(r.body["slug"], w["slug"], "a rename keeps the slug")
                self.assertEqual(r.body["description"], "new words")
                self.assertEqual(r.body["tags"], ["new"])
                self.assertIs(r.body["is_public"], True)
                self.assertEqual(r.body["max_execution_seconds"], 30)
                self.assertEqual(r.body["created_at"], w["created_at"])
                self.assertGreaterEqual(r.body["updated_at"], w["updated_at"])
                got = self.admin.get("/workflows/%s/" % w["slug"]).body
                self.assertEqual(got["name"], "Renamed")
                self.assertEqual(got["tags"], ["new"])
                self.assertValidation(self.admin.patch("/workflows/%s/" % w["slug"],
                                                       {"max_execution_seconds": -1}),
                                      "max_execution_seconds")
                self.assertValidation(self.admin.patch("/workflows/%s/" % w["slug"],
                                                       {"name": ""}), "name")

        def test_patch_slug(self):
                w = self.make_workflow()
                other = self.make_workflow()
                new = unique("moved-")
                r = self.admin.patch("/workflows/%s/" % w["slug"], {"slug": new})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["slug"], new)
                self.assertEqual(self.admin.get("/workflows/%s/" % w["slug"]).status, 404)
                self.assertEqual(self.admin.get("/workflows/%s/" % new).status, 200)
                r = self.admin.patch("/workflows/%s/" % new, {"slug": other["slug"]})
                self.assertEqual(r.status, 409, r)
                self.assertEqual(self.admin.get("/workflows/%s/" % new).status, 200)
                self.assertValidation(self.admin.patch("/workflows/%s/" % new,
                                                       {"slug": "Not OK"}), "slug")

        def test_delete(self):
                w = self.make_workflow()
                self.make_node(w["slug"], "trigger_chat")
                r = self.admin.delete("/workflows/%s/" % w["slug"])
                self.assertEqual(r.status, 204, r)
                self.assertIsNone(r.body)
                self.assertEqual(self.admin.get("/workflows/%s/" % w["slug"]).status, 404)
                self.assertEqual(self.admin.get("/workflows/%s/nodes/" % w["slug"]).status, 404)
                self.assertEqual(self.admin.delete("/workflows/%s/" % w["slug"]).status, 404)
                # The slug is free again.
                again = self.make_workflow(name="again", slug=w["slug"])
                self.assertEqual(again["slug"], w["slug"])
                self.assertEqual(self.admin.get("/workflows/%s/nodes/" % w["slug"]).body, [])

        def test_requires_authentication(self):
                self.assertNotAuthenticated(self.anon().get("/workflows/"))
                self.assertNotAuthenticated(self.anon().post("/workflows/", {"name": "x"}))


class PaginationTest(DaemonTestCase):
        @classmethod
        def setUpClass(cls):
                super().setUpClass()
                # A user of our own, so the counts are exact.
                r = cls.admin.post("/users/", {"username": unique("pager"),
                                               "password": "pager-password"})
                assert r.status == 201, r
                key = cls.daemon.login(r.body["username"], "pager-password")
                cls.user = cls.daemon.client(key)
                cls.created = []
                for i in range(5):
                        r = cls.user.post("/workflows/", {"name": "Page %d" % i})
                        assert r.status == 201, r
                        cls.created.append(r.body["slug"])

        def test_newest_first(self):
                r = self.user.get("/workflows/")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(set(r.body), {"items", "total"})
                self.assertEqual(r.body["total"], 5)
                self.assertEqual([w["slug"] for w in r.body["items"]], self.created[::-1])
                for w in r.body["items"]:
                        self.assertEqual(set(w), WORKFLOW_FIELDS)

        def test_limit_and_offset(self):
                seen = []
                for offset in (0, 2, 4):
                        r = self.user.get("/workflows/?limit=2&offset=%d" % offset)
                        self.assertEqual(r.status, 200, r)
                        self.assertEqual(r.body["total"], 5)
                        seen += [w["slug"] for w in r.body["items"]]
                        self.assertEqual(len(r.body["items"]), 2 if offset < 4 else 1)
                self.assertEqual(seen, self.created[::-1])
                r = self.user.get("/workflows/?offset=10")
                self.assertEqual((r.status, r.body["items"], r.body["total"]), (200, [], 5))
                r = self.user.get("/workflows/?limit=1000")
                self.assertEqual(len(r.body["items"]), 5)

        def test_bad_parameters(self):
                for q, name in (("limit=0", "limit"), ("limit=1001", "limit"),
                                ("limit=abc", "limit"), ("offset=-1", "offset"),
                                ("offset=1.5", "offset"), ("limit=", "limit")):
                        with self.subTest(q=q):
                                self.assertValidation(self.user.get("/workflows/?" + q), name,
                                                      where="query")


class BatchDeleteTest(DaemonTestCase):
        def test_batch_delete(self):
                a, b, c = (self.make_workflow() for _ in range(3))
                r = self.admin.post("/workflows/batch-delete/",
                                    {"slugs": [a["slug"], b["slug"], "never-existed-slug"]})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body, {"deleted": 2})
                self.assertEqual(self.admin.get("/workflows/%s/" % a["slug"]).status, 404)
                self.assertEqual(self.admin.get("/workflows/%s/" % b["slug"]).status, 404)
                self.assertEqual(self.admin.get("/workflows/%s/" % c["slug"]).status, 200)

        def test_batch_delete_skips_what_the_caller_cannot_see(self):
                mine = self.make_workflow()
                _, other = self.make_user()
                theirs = self.make_workflow(client=other)
                r = other.post("/workflows/batch-delete/",
                               {"slugs": [mine["slug"], theirs["slug"]]})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body, {"deleted": 1})
                self.assertEqual(self.admin.get("/workflows/%s/" % mine["slug"]).status, 200)

        def test_batch_delete_input(self):
                self.assertValidation(self.admin.post("/workflows/batch-delete/", {}), "slugs")
                self.assertValidation(self.admin.post("/workflows/batch-delete/",
                                                      {"slugs": "one"}), "slugs")
                r = self.admin.post("/workflows/batch-delete/", {"slugs": []})
                self.assertEqual((r.status, r.body), (200, {"deleted": 0}))


class OwnershipTest(DaemonTestCase):
        @classmethod
        def setUpClass(cls):
                super().setUpClass()
                clients = []
                for name in ("owner", "stranger"):
                        r = cls.admin.post("/users/", {"username": unique(name),
                                                       "password": "password-123"})
                        assert r.status == 201, r
                        key = cls.daemon.login(r.body["username"], "password-123")
                        clients.append((r.body, cls.daemon.client(key)))
                (cls.a_user, cls.a), (cls.b_user, cls.b) = clients

        def setUp(self):
                self.w = self.make_workflow(client=self.a)
                self.slug = self.w["slug"]
                self.trigger = self.make_node(self.slug, "trigger_chat", client=self.a)
                self.agent = self.make_node(self.slug, "agent", client=self.a)
                self.edge = self.make_edge(self.slug, self.trigger["node_id"],
                                           self.agent["node_id"], client=self.a)

        def test_owner_sees_it(self):
                self.assertEqual(self.w["owner_id"], self.a_user["id"])
                r = self.a.get("/workflows/%s/" % self.slug)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(len(r.body["nodes"]), 2)
                self.assertEqual(len(r.body["edges"]), 1)
                self.assertEqual((r.body["node_count"], r.body["edge_count"]), (2, 1))

        def test_stranger_gets_404_everywhere(self):
                s, n, e = self.slug, self.agent["node_id"], self.edge["id"]
                for method, path, body in (
                                ("GET", "/workflows/%s/" % s, None),
                                ("PATCH", "/workflows/%s/" % s, {"name": "mine now"}),
                                ("DELETE", "/workflows/%s/" % s, None),
                                ("POST", "/workflows/%s/validate/" % s, None),
                                ("GET", "/workflows/%s/export/" % s, None),
                                ("GET", "/workflows/%s/nodes/" % s, None),
                                ("POST", "/workflows/%s/nodes/" % s, {"component_type": "code"}),
                                ("PATCH", "/workflows/%s/nodes/%s/" % (s, n), {"label": "x"}),
                                ("DELETE", "/workflows/%s/nodes/%s/" % (s, n), None),
                                ("GET", "/workflows/%s/edges/" % s, None),
                                ("POST", "/workflows/%s/edges/" % s,
                                 {"source_node_id": n, "target_node_id": n}),
                                ("PATCH", "/workflows/%s/edges/%s/" % (s, e), {"priority": 3}),
                                ("DELETE", "/workflows/%s/edges/%s/" % (s, e), None)):
                        with self.subTest(method=method, path=path):
                                r = self.b.request(method, path, body)
                                self.assertEqual(r.status, 404, r)
                # Nothing changed.
                r = self.a.get("/workflows/%s/" % s)
                self.assertEqual(r.body["name"], self.w["name"])
                self.assertEqual((r.body["node_count"], r.body["edge_count"]), (2, 1))
                agent = [x for x in r.body["nodes"] if x["node_id"] == n]
                self.assertEqual(len(agent), 1)
                self.assertNotEqual(agent[0]["label"], "x")
                self.assertEqual(len(self.a.get("/workflows/%s/edges/" % s).body), 1)

        def test_stranger_list_does_not_show_it(self):
                r = self.b.get("/workflows/")
                self.assertEqual(r.status, 200, r)
                self.assertNotIn(self.slug, [w["slug"] for w in r.body["items"]])
                self.assertEqual(r.body["total"], len(r.body["items"]))
                for w in r.body["items"]:
                        self.assertEqual(w["owner_id"], self.b_user["id"])

        def test_admin_sees_everything(self):
                theirs = self.make_workflow(client=self.b)
                r = self.admin.get("/workflows/?limit=1000")
                slugs = [w["slug"] for w in r.body["items"]]
                self.assertIn(self.slug, slugs)
                self.assertIn(theirs["slug"], slugs)
                r = self.admin.get("/workflows/%s/" % self.slug)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["owner_id"], self.a_user["id"])
                r = self.admin.patch("/workflows/%s/nodes/%s/" % (self.slug, self.agent["node_id"]),
                                     {"label": "set by admin"})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["label"], "set by admin")
