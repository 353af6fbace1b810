"""What the agent tests share: the fake LLM provider (tests/fake-llm) started per test
class, an llm credential pointing at it, and a workflow of trigger → agent with an
ai_model and tools. Not a test module itself: test classes derive from AgentTestBase."""

import os
import sys

from harness import unique
from test_flow_control import FlowTestCase

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fake-llm"))
from fake_llm import FakeLLM  # noqa: E402

KEY = "sk-agent-test-" + "0123456789abcdef" * 2


def tool_results(provider, body):
        """{tool_call_id: text} of the tool results in a request body."""
        results = {}
        for m in body["messages"]:
                if provider != "anthropic":
                        if m.get("role") == "tool":
                                results[m["tool_call_id"]] = m["content"]
                        continue
                if m.get("role") == "user" and isinstance(m.get("content"), list):
                        for block in m["content"]:
                                if block.get("type") == "tool_result":
                                        content = block.get("content")
                                        if isinstance(content, list):
                                                content = "".join(b.get("text", "") for b in content)
                                        results[block["tool_use_id"]] = content
        return results


class AgentTestBase(FlowTestCase):
        provider = None

        @classmethod
        def setUpClass(cls):
                cls.fake = FakeLLM(openai_key=KEY, anthropic_key=KEY)
                cls.fake.start()
                try:
                        super().setUpClass()
                except BaseException:
                        cls.fake.stop()
                        raise

        @classmethod
        def tearDownClass(cls):
                try:
                        super().tearDownClass()
                finally:
                        cls.fake.stop()

        def credential(self, api_key=KEY, client=None):
                """An llm credential of client (the admin by default) pointing at the fake."""
                base_url = self.fake.anthropic_base_url if self.provider == "anthropic" else self.fake.openai_base_url
                r = (client or self.admin).post("/credentials/", {"name": unique("llm "), "credential_type": "llm",
                                                      "detail": {"provider_type": self.provider, "api_key": api_key,
                                                                 "base_url": base_url}})
                self.assertEqual(r.status, 201, r)
                return r.body["id"]

        def agent_flow(self, scenario, api_key=KEY, agent_config=None, tools=("calculator", "datetime"),
                       system_prompt="You are terse."):
                """trig → agent, with an ai_model (model name = the fake's scenario) and tools."""
                slug = self.flow([], [])
                self.make_node(slug, "ai_model", node_id="model",
                               config={"llm_credential_id": self.credential(api_key), "model_name": scenario,
                                       "temperature": 0.2, "max_tokens": 300, "max_retries": 2})
                self.make_node(slug, "agent", node_id="agent",
                               config={"system_prompt": system_prompt, "extra_config": agent_config or {}})
                self.make_edge(slug, "trig", "agent")
                self.make_edge(slug, "model", "agent", edge_label="llm")
                for tool in tools:
                        self.make_node(slug, tool, node_id=tool + "_tool")
                        self.make_edge(slug, tool + "_tool", "agent", edge_label="tool")
                return slug

        def scenario(self):
                return unique("%s-model-" % self.provider)

        def agent_log(self, detail):
                logs = self.logs_of(detail, "agent")
                self.assertEqual(len(logs), 1, detail)
                return logs[0]
