"""GET /health and the node type registry (both answer without authentication)."""

import subprocess

import harness
from harness import DaemonTestCase

TRIGGERS = ["trigger_chat", "trigger_telegram", "trigger_manual", "trigger_schedule",
            "trigger_workflow", "trigger_error", "trigger_webhook"]
AI = ["agent", "deep_agent", "categorizer", "router", "extractor"]
SUB_COMPONENTS = ["ai_model", "output_parser", "skill"]
TOOLS = ["run_command", "platform_api", "whoami", "get_totp_code", "spawn_and_await",
         "workflow_create", "workflow_discover", "scheduler_tools", "system_health",
         "validate_gherkin", "validate_topology", "memory_read", "memory_write"]
LOGIC = ["switch", "assertion", "code", "merge", "filter", "loop", "wait",
         "human_confirmation", "workflow", "error_handler"]
OTHER = ["reply_chat", "identify_user"]
ALL_TYPES = TRIGGERS + AI + SUB_COMPONENTS + TOOLS + LOGIC + OTHER

DATA_TYPES = {"string", "number", "boolean", "object", "array", "message", "messages",
              "image", "file", "any"}
CATEGORIES = {"trigger", "ai", "sub_component", "agent", "memory", "logic", "flow", "output"}
FLAGS = ["requires_model", "requires_tools", "requires_memory", "requires_output_parser",
         "requires_skills", "executable", "implemented"]


class HealthTest(DaemonTestCase):
        def test_health_reports_ok_version_and_backend(self):
                r = self.anon().get("/health")
                self.assertEqual(r.status, 200, r)
                self.assertIn("application/json", r.headers.get("Content-Type", ""))
                self.assertEqual(r.body["status"], "ok")
                self.assertEqual(r.body["database"], "ok")
                self.assertEqual(r.body["database_backend"], harness.BACKEND)
                self.assertEqual(r.body["broker"], "local")
                self.assertRegex(r.body["version"], r"^\d+\.\d+\.\d+")

        def test_health_version_matches_the_binary(self):
                p = subprocess.run([harness.PIPELITD, "--version"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=10)
                self.assertEqual(p.returncode, 0, p)
                version = self.anon().get("/health").body["version"]
                self.assertIn(version, p.stdout.decode())

        def test_health_ignores_a_bad_key(self):
                r = self.anon().get("/health", token="not-a-key")
                self.assertEqual(r.status, 200, r)


class NodeTypesTest(DaemonTestCase):
        @classmethod
        def setUpClass(cls):
                super().setUpClass()
                r = cls.daemon.client().get("/workflows/node-types/")
                cls.status = r.status
                cls.types = r.body

        def test_served_without_authentication(self):
                self.assertEqual(self.status, 200)
                self.assertIsInstance(self.types, dict)
                # The same answer with a key.
                r = self.admin.get("/workflows/node-types/")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body, self.types)

        def test_every_inventory_type_is_listed(self):
                missing = [t for t in ALL_TYPES if t not in self.types]
                self.assertEqual(missing, [])

        def test_each_type_has_the_full_spec(self):
                for name, spec in self.types.items():
                        with self.subTest(type=name):
                                self.assertEqual(spec["component_type"], name)
                                self.assertIsInstance(spec["display_name"], str)
                                self.assertTrue(spec["display_name"])
                                self.assertIsInstance(spec["description"], str)
                                self.assertIn(spec["category"], CATEGORIES)
                                for flag in FLAGS:
                                        self.assertIsInstance(spec[flag], bool, flag)
                                self.assertIsInstance(spec["config_schema"], dict)
                                for side in ("inputs", "outputs"):
                                        self.assertIsInstance(spec[side], list)
                                        for port in spec[side]:
                                                self.assertIsInstance(port["name"], str)
                                                self.assertTrue(port["name"])
                                                self.assertIn(port["data_type"], DATA_TYPES)
                                                self.assertIsInstance(port["description"], str)
                                                self.assertIsInstance(port["required"], bool)

        def test_triggers(self):
                for t in TRIGGERS:
                        with self.subTest(type=t):
                                self.assertEqual(self.types[t]["category"], "trigger")
                                self.assertFalse(self.types[t]["executable"])
                                self.assertEqual(self.types[t]["inputs"], [])
                first = self.types["trigger_chat"]["outputs"][0]
                self.assertEqual((first["name"], first["data_type"]), ("text", "string"))
                first = self.types["trigger_manual"]["outputs"][0]
                self.assertEqual((first["name"], first["data_type"]), ("payload", "object"))

        def test_categories(self):
                for t in AI:
                        self.assertEqual(self.types[t]["category"], "ai", t)
                for t in SUB_COMPONENTS:
                        self.assertEqual(self.types[t]["category"], "sub_component", t)
                for t in TOOLS:
                        self.assertIn(self.types[t]["category"], ("sub_component", "agent"), t)
                self.assertEqual(self.types["reply_chat"]["category"], "output")
                self.assertEqual(self.types["identify_user"]["category"], "memory")
                self.assertEqual(self.types["human_confirmation"]["category"], "flow")
                for t in ["switch", "assertion", "code", "merge", "filter", "loop", "wait",
                          "workflow"]:
                        self.assertEqual(self.types[t]["category"], "logic", t)

        def test_agent(self):
                agent = self.types["agent"]
                self.assertTrue(agent["requires_model"])
                self.assertTrue(agent["requires_tools"])
                self.assertTrue(agent["requires_skills"])
                self.assertTrue(agent["executable"])
                self.assertEqual(agent["inputs"][0]["data_type"], "messages")
                self.assertEqual([p["name"] for p in agent["outputs"]], ["messages", "output"])

        def test_sub_components_are_not_executable(self):
                for t in ["ai_model", "output_parser", "skill"]:
                        self.assertFalse(self.types[t]["executable"], t)
                self.assertEqual(self.types["ai_model"]["outputs"][0]["data_type"], "object")

        def test_logic_ports(self):
                switch = self.types["switch"]
                self.assertEqual(switch["inputs"][0]["data_type"], "any")
                self.assertEqual((switch["outputs"][0]["name"], switch["outputs"][0]["data_type"]),
                                 ("route", "string"))
                self.assertEqual(self.types["loop"]["inputs"][0]["data_type"], "array")
                self.assertEqual(self.types["filter"]["inputs"][0]["data_type"], "array")
                names = [p["name"] for p in self.types["human_confirmation"]["outputs"]]
                self.assertEqual(names, ["confirmed", "user_response"])
