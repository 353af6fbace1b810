"""The agent tools that act on the platform: workflow_create (a new workflow of the owner
from an import document, checked as an import is) and platform_api (this daemon's REST API
as the owner, with a key the model never sees). The workflows belong to a normal user, so
that "the owner's" and "someone else's" can be told apart. The model is the fake LLM; each
test scripts a tool call and checks what the tool told the model."""

import json
import os
import shutil

from harness import Client, Daemon, unique
from agent_case import KEY, AgentTestBase, tool_results


class PlatformToolsTest(AgentTestBase):
        provider = "openai"

        def setUp(self):
                self.user, self.client = self.make_user()

        def llm_credential(self, client):
                r = client.post("/credentials/", {"name": unique("llm "), "credential_type": "llm",
                                                  "detail": {"provider_type": "openai", "api_key": KEY,
                                                             "base_url": self.fake.openai_base_url}})
                self.assertEqual(r.status, 201, r)
                return r.body["id"]

        def call_tool(self, tool, arguments, tool_config=None):
                """Runs an agent of the user whose model calls tool once with arguments, then
                answers; returns (what the tool told the model, the agent's model node config)."""
                model = self.scenario()
                self.fake.script(model, {"tool_calls": [{"id": "call_1", "name": tool, "arguments": arguments}]},
                                 {"text": "done"})
                c = self.client
                slug = self.make_workflow(c)["slug"]
                model_config = {"llm_credential_id": self.llm_credential(c), "model_name": model}
                self.make_node(slug, "trigger_manual", c, node_id="trig")
                self.make_node(slug, "ai_model", c, node_id="model", config=model_config)
                self.make_node(slug, "agent", c, node_id="agent", config={"system_prompt": "Be terse."})
                self.make_node(slug, tool, c, node_id="the_tool", config=tool_config or {})
                self.make_edge(slug, "trig", "agent", c)
                self.make_edge(slug, "model", "agent", c, edge_label="llm")
                self.make_edge(slug, "the_tool", "agent", c, edge_label="tool")
                r = c.post("/workflows/%s/execute/" % slug, {"text": "go"})
                self.assertEqual(r.status, 202, r)
                status = self.wait_for(r.body["execution_id"], client=c)
                self.assertEqual(status["status"], "completed", self.detail(r.body["execution_id"], client=c))
                requests = self.fake.requests(model)
                self.assertEqual(len(requests), 2)
                return tool_results(self.provider, requests[1]["body"])["call_1"], model_config

        def workflows_of(self, client):
                r = client.get("/workflows/?limit=1000")
                self.assertEqual(r.status, 200, r)
                return {w["slug"]: w for w in r.body["items"]}

        def names_of(self, client):
                return [w["name"] for w in self.workflows_of(client).values()]

        def keys_of(self, client):
                r = client.get("/users/me/keys/")
                self.assertEqual(r.status, 200, r)
                return [(k["id"], k["name"]) for k in r.body]

        # workflow_create ------------------------------------------------------------------

        def test_workflow_create_makes_a_workflow_of_the_owner(self):
                name = unique("Made by an agent ")
                definition = {
                        "workflow": {"name": name, "description": "drafted by a model", "tags": ["agent-made"]},
                        "nodes": [{"node_id": "start", "component_type": "trigger_manual"},
                                  {"node_id": "brain", "component_type": "ai_model"},
                                  {"node_id": "helper", "component_type": "agent",
                                   "config": {"system_prompt": "Help."}}],
                        "edges": [{"source_node_id": "start", "target_node_id": "helper"},
                                  {"source_node_id": "brain", "target_node_id": "helper", "edge_label": "llm"}],
                }
                result, model_config = self.call_tool("workflow_create", {"definition": definition})
                created = json.loads(result)
                self.assertEqual(created["success"], True, result)
                self.assertEqual((created["name"], created["node_count"], created["edge_count"]), (name, 3, 2))

                mine = self.workflows_of(self.client)
                self.assertIn(created["slug"], mine)
                self.assertEqual(mine[created["slug"]]["id"], created["workflow_id"])
                self.assertEqual(mine[created["slug"]]["owner_id"], self.user["id"])
                w = self.client.get("/workflows/%s/" % created["slug"]).body
                self.assertEqual(w["tags"], ["agent-made"])
                brain = [n for n in w["nodes"] if n["node_id"] == "brain"][0]
                # The ai_model without a credential took the agent's own model's.
                self.assertEqual(brain["config"]["llm_credential_id"], model_config["llm_credential_id"])
                self.assertEqual(brain["config"]["model_name"], model_config["model_name"])
                r = self.client.post("/workflows/%s/validate/" % created["slug"])
                self.assertEqual(r.body, {"valid": True, "errors": []})

                # The document's own form, with "format", and the members right in the arguments.
                result, _ = self.call_tool("workflow_create", {"format": "pipelit-workflow", "version": 1,
                                                               "workflow": {"name": name}, "nodes": [], "edges": []})
                again = json.loads(result)
                self.assertNotEqual(again["slug"], created["slug"])
                self.assertEqual((again["node_count"], again["edge_count"]), (0, 0))
                self.assertIn(again["slug"], self.workflows_of(self.client))

        def test_workflow_create_tells_the_model_what_is_wrong_and_creates_nothing(self):
                name = unique("Broken ")
                definition = {
                        "workflow": {"name": name},
                        "nodes": [{"node_id": "a", "component_type": "no_such_type"},
                                  {"node_id": "b", "component_type": "code"}],
                        "edges": [{"source_node_id": "b", "target_node_id": "ghost"}],
                }
                result, _ = self.call_tool("workflow_create", {"definition": definition})
                self.assertTrue(result.startswith("Error: Nothing was created; fix the definition:\n- "), result)
                self.assertIn("- nodes[0].component_type: Unknown component type 'no_such_type'", result)
                self.assertIn("- edges[0]: Target node 'ghost' does not exist in this workflow", result)
                self.assertNotIn(name, self.names_of(self.client))
                before = self.workflows_of(self.client)

                result, _ = self.call_tool("workflow_create", {"definition": {"nodes": []}})
                self.assertIn("- workflow: Field required", result)
                result, _ = self.call_tool("workflow_create", {})
                self.assertIn("'definition' is missing", result)
                result, _ = self.call_tool("workflow_create", {"definition": "{not json"})
                self.assertIn("'definition' is not a JSON object", result)
                # Only the three agents' own workflows are new.
                self.assertEqual(len(self.workflows_of(self.client)), len(before) + 3)
                self.assertHealthy()

        def test_workflow_create_refuses_another_users_credential(self):
                theirs = self.llm_credential(self.admin)
                name = unique("Borrowing ")
                definition = {"workflow": {"name": name},
                              "nodes": [{"node_id": "m", "component_type": "ai_model",
                                         "config": {"llm_credential_id": theirs, "model_name": "x"}}]}
                result, _ = self.call_tool("workflow_create", {"definition": definition})
                self.assertIn("- nodes[0].config.llm_credential_id: Credential %d not found" % theirs, result)
                self.assertNotIn(name, self.names_of(self.client))
                self.assertNotIn(name, self.names_of(self.admin))

        # platform_api ---------------------------------------------------------------------

        def test_platform_api_reads_as_the_owner(self):
                own = self.make_workflow(self.client)["slug"]
                admins = self.make_workflow(self.admin)["slug"]
                keys_before = self.keys_of(self.client)
                result, _ = self.call_tool("platform_api", {"method": "GET", "path": "/api/v1/workflows/?limit=1000"})
                answer = json.loads(result)
                self.assertEqual((answer["status_code"], answer["success"]), (200, True), answer)
                self.assertNotIn("error", answer)
                slugs = [w["slug"] for w in answer["data"]["items"]]
                self.assertIn(own, slugs)
                self.assertNotIn(admins, slugs)
                self.assertEqual(sorted(slugs), sorted(self.workflows_of(self.client)))

                # The key made for the call is gone: the user's keys are as they were.
                self.assertEqual(self.keys_of(self.client), keys_before)
                self.assertNotIn("platform_api", json.dumps(self.keys_of(self.client)))
                self.assertNotIn("platform_api", json.dumps(self.keys_of(self.admin)))

                result, _ = self.call_tool("platform_api", {"path": "/api/v1/workflows/%s/" % admins})
                answer = json.loads(result)
                self.assertEqual((answer["status_code"], answer["success"]), (404, False), answer)
                self.assertEqual(answer["error"], "Workflow not found.")

        def test_platform_api_writes_only_when_allowed(self):
                name = unique("Via the API ")
                call = {"method": "POST", "path": "/api/v1/workflows/", "body": {"name": name}}
                result, _ = self.call_tool("platform_api", call)
                self.assertTrue(result.startswith("Error: "), result)
                self.assertIn("allow_write", result)
                self.assertNotIn(name, self.names_of(self.client))

                result, _ = self.call_tool("platform_api", call, {"extra_config": {"allow_write": True}})
                answer = json.loads(result)
                self.assertEqual((answer["status_code"], answer["success"]), (201, True), answer)
                self.assertEqual(answer["data"]["name"], name)
                mine = self.workflows_of(self.client)
                self.assertEqual(mine[answer["data"]["slug"]]["owner_id"], self.user["id"])
                self.assertNotIn("platform_api", json.dumps(self.keys_of(self.client)))

                # The API's own refusals come back as they are.
                result, _ = self.call_tool("platform_api", {"method": "post", "path": "/api/v1/workflows/",
                                                            "body": {"name": ""}},
                                           {"extra_config": {"allow_write": True}})
                answer = json.loads(result)
                self.assertEqual((answer["status_code"], answer["success"]), (422, False), answer)
                self.assertIn("name", answer["error"])

        def test_platform_api_refuses_logins_keys_and_odd_paths(self):
                write = {"extra_config": {"allow_write": True}}
                keys_before = self.keys_of(self.client)
                refused = [
                        ({"method": "POST", "path": "/api/v1/auth/token/",
                          "body": {"username": self.user["username"], "password": "user-password-1"}},
                         "/api/v1/auth/"),
                        ({"path": "/api/v1/auth/me/"}, "/api/v1/auth/"),
                        ({"path": "/api/v1/users/me/keys/"}, "API keys"),
                        ({"method": "POST", "path": "/api/v1/users/me/keys/", "body": {"name": "mine"}}, "API keys"),
                        ({"method": "PATCH", "path": "/api/v1/users/me/",
                          "body": {"password": "taken-over-1", "current_password": "user-password-1"}},
                         "User accounts"),
                        ({"method": "DELETE", "path": "/api/v1/credentials/1/"}, "Credentials"),
                        ({"path": "/api/v1/%61uth/me/"}, "percent-escapes"),
                        ({"path": "/api/v1/workflows/../auth/me/"}, "'..'"),
                        ({"path": "/health"}, "must start with /api/v1/"),
                        ({"method": "OPTIONS", "path": "/api/v1/workflows/"}, "'method'"),
                        ({}, "'path'"),
                ]
                for call, why in refused:
                        with self.subTest(call=call):
                                result, _ = self.call_tool("platform_api", call, write)
                                self.assertTrue(result.startswith("Error: "), result)
                                self.assertIn(why, result)
                self.assertEqual(self.keys_of(self.client), keys_before)
                # The password did not change.
                self.daemon.login(self.user["username"], "user-password-1")
                self.assertHealthy()

        def test_platform_api_over_a_unix_socket(self):
                """A daemon that listens only on a unix socket (from systemd) is reached there."""
                tool = shutil.which("systemd-socket-activate")
                if not tool:
                        self.skipTest("systemd-socket-activate is not installed")
                d = Daemon(listen=False)
                self.addCleanup(d.cleanup)
                d.create_admin()
                path = os.path.join(d.base, "api.sock")
                d.start(argv=[tool, "-l", path, "--fdname=http"] + d.command(), wait=False)
                d.wait_ready(client=Client(unix_path=path))
                c = Client(unix_path=path, token=d.login(client=Client(unix_path=path)))
                model = self.scenario()
                self.fake.script(model, {"tool_calls": [{"id": "call_1", "name": "platform_api",
                                                         "arguments": {"path": "/api/v1/workflows/"}}]},
                                 {"text": "done"})
                r = c.post("/credentials/", {"name": "llm", "credential_type": "llm",
                                             "detail": {"provider_type": "openai", "api_key": KEY,
                                                        "base_url": self.fake.openai_base_url}})
                self.assertEqual(r.status, 201, r)
                slug = self.make_workflow(c)["slug"]
                self.make_node(slug, "trigger_manual", c, node_id="trig")
                self.make_node(slug, "ai_model", c, node_id="model",
                               config={"llm_credential_id": r.body["id"], "model_name": model})
                self.make_node(slug, "agent", c, node_id="agent")
                self.make_node(slug, "platform_api", c, node_id="api")
                self.make_edge(slug, "trig", "agent", c)
                self.make_edge(slug, "model", "agent", c, edge_label="llm")
                self.make_edge(slug, "api", "agent", c, edge_label="tool")
                r = c.post("/workflows/%s/execute/" % slug, {"text": "go"})
                self.assertEqual(r.status, 202, r)
                status = self.wait_for(r.body["execution_id"], client=c)
                self.assertEqual(status["status"], "completed", d.log())
                answer = json.loads(tool_results(self.provider, self.fake.requests(model)[1]["body"])["call_1"])
                self.assertEqual((answer["status_code"], answer["success"]), (200, True), answer)
                self.assertEqual([w["slug"] for w in answer["data"]["items"]], [slug])
                self.assertEqual(d.stop(check=False), 0, d.log())
