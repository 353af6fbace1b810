"""The categorizer, router and extractor end to end against the fake LLM provider
(tests/fake-llm), in both dialects, and the output parser attached to them and to an agent.
A categorizer routes through its own conditional edges and through a switch after it, an
answer naming no category takes __other__, a router routes on the model's choice or on a
state value, an extractor's object is checked against its schema and a wrong one is sent
back once and then fails the node naming the field, the parsers (json, regex, list) put their
result in the node's output, and bad settings fail the node clearly while the daemon goes
on. A model call holds no worker while the provider thinks."""

import json
import time

import agent_case
from harness import unique

PERSON_SCHEMA = {
        "type": "object",
        "properties": {
                "name": {"type": "string", "description": "Full name"},
                "age": {"type": "integer"},
                "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["name", "age"],
}

CATEGORIES = [{"name": "billing", "description": "Invoices, payments, refunds"},
              {"name": "tech", "description": "Bugs and outages"}]


def text_of(content):
        """A message's text in either dialect (a string, or a list of blocks)."""
        if isinstance(content, str):
                return content
        return "".join(b.get("text", "") for b in content or [] if isinstance(b, dict))


def system_prompt(body):
        if "system" in body:
                return text_of(body["system"])
        return "".join(text_of(m["content"]) for m in body["messages"] if m["role"] == "system")


def conversation(body):
        """[(role, text)] of the messages after the system prompt."""
        return [(m["role"], text_of(m["content"])) for m in body["messages"] if m["role"] != "system"]


class AiNodesCase(agent_case.AgentTestBase):
        """Workflows of AI nodes with a model (and parsers) attached."""

        def attach_model(self, slug, scenario, *node_ids, model_id="model", **model_config):
                self.make_node(slug, "ai_model", node_id=model_id,
                               config=dict({"llm_credential_id": self.credential(), "model_name": scenario,
                                            "max_retries": 0}, **model_config))
                for node_id in node_ids:
                        self.make_edge(slug, model_id, node_id, edge_label="llm")

        def attach_parser(self, slug, node_id, **settings):
                parser_id = unique("parser_")
                self.make_node(slug, "output_parser", node_id=parser_id, config={"extra_config": settings})
                self.make_edge(slug, parser_id, node_id, edge_label="output_parser")

        def categorizer_flow(self, scenario, categories=CATEGORIES):
                """trig → cat, whose conditional edges lead to one reply per category and __other__."""
                branches = [c["name"] for c in categories] + ["__other__"]
                slug = self.flow([("cat", "categorizer", {"categories": categories})]
                                 + [("to_" + b.strip("_"), "reply_chat", {"message": "went " + b}) for b in branches],
                                 [("trig", "cat")]
                                 + [("cat", "to_" + b.strip("_"), {"edge_type": "conditional", "condition_value": b})
                                    for b in branches])
                self.attach_model(slug, scenario, "cat")
                return slug

        def node_log(self, detail, node_id):
                logs = self.logs_of(detail, node_id)
                self.assertEqual(len(logs), 1, detail)
                return logs[0]

        def failed_log(self, slug, node_id, body=None):
                status, detail = self.run_flow(slug, body)
                self.assertEqual(status["status"], "failed", detail)
                return self.node_log(detail, node_id)


class AiNodesTests(AiNodesCase):

        # --- categorizer ------------------------------------------------------------------

        def test_categorizer_routes_through_its_own_edges(self):
                model = self.scenario()
                self.fake.script(model, {"text": "Billing.", "usage": {"input_tokens": 50, "output_tokens": 2}},
                                 {"text": '{"category": "tech"}'},
                                 {"text": "I cannot tell."})
                slug = self.categorizer_flow(model)

                status, detail = self.run_flow(slug, {"text": "I was charged twice"})
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(status["final_output"], {"output": "went billing"})
                log = self.node_log(detail, "cat")
                # How long the provider took: some time, less than the whole run.
                self.assertGreater(log["output"]["token_usage"].pop("model_seconds"), 0)
                self.assertEqual(log["output"], {"category": "billing", "raw": "Billing.",
                                                 "token_usage": {"input_tokens": 50, "output_tokens": 2,
                                                                 "total_tokens": 52, "llm_calls": 1,
                                                                 # The scenario's model has no price.
                                                                 "cost_usd": 0.0, "cost_known": False}})
                self.assertEqual(log["metadata"]["route"], "billing")
                self.assertEqual(self.run_status(detail, "to_tech"), "ruled_out")
                self.assertEqual(self.run_status(detail, "to_other"), "ruled_out")
                self.assertEqual((detail["llm_calls"], detail["total_tokens"]), (1, 52))
                # In the ledger, written with the node's commit.
                today = self.admin.get("/workflows/%s/usage/" % slug).body["today"]
                self.assertEqual((today["llm_calls"], today["total_tokens"]), (1, 52))

                body = self.fake.requests(model)[0]["body"]
                prompt = system_prompt(body)
                self.assertIn("- billing: Invoices, payments, refunds", prompt)
                self.assertIn("- tech: Bugs and outages", prompt)
                self.assertEqual(conversation(body), [("user", "I was charged twice")])

                status, detail = self.run_flow(slug, {"text": "the site is down"})
                self.assertEqual(status["final_output"], {"output": "went tech"}, detail)
                self.assertEqual(self.node_log(detail, "cat")["output"]["category"], "tech")

                # An answer naming no category takes __other__.
                status, detail = self.run_flow(slug, {"text": "hello"})
                self.assertEqual(status["final_output"], {"output": "went __other__"}, detail)
                log = self.node_log(detail, "cat")
                self.assertEqual((log["output"]["category"], log["output"]["raw"]), ("__other__", "I cannot tell."))
                self.assertEqual(len(self.fake.requests(model)), 3)

        def test_a_spent_budget_stops_the_categorizer_before_its_call(self):
                model = self.scenario()
                self.fake.script(model, {"text": "billing"})
                slug = self.categorizer_flow(model)
                r = self.admin.patch("/workflows/%s/" % slug, {"settings": {"budget": {"tokens_per_day": 0}}})
                self.assertEqual(r.status, 200, r)
                log = self.failed_log(slug, "cat", {"text": "I was charged twice"})
                self.assertEqual(log["error_code"], "budget_exceeded", log)
                self.assertIn("limit of 0 tokens per day", log["error"])
                self.assertEqual(self.fake.requests(model), [])

        def test_categorizer_then_switch(self):
                model = self.scenario()
                self.fake.script(model, {"text": "tech"}, {"text": "billing"})
                slug = self.flow(
                        [("cat", "categorizer", {"categories": ["billing", "tech"],
                                                 "input_template": "Ticket: {{ trigger.payload.subject }}"}),
                         ("sw", "switch", {"rules": [{"id": "r_tech", "field": "node_outputs.cat.category",
                                                      "operator": "equals", "value": "tech"}],
                                           "enable_fallback": True}),
                         ("oncall", "reply_chat", {"message": "paged: {{ cat.raw }}"}),
                         ("queue", "reply_chat", {"message": "queued as {{ cat.category }}"})],
                        [("trig", "cat"), ("cat", "sw"),
                         ("sw", "oncall", {"edge_type": "conditional", "condition_value": "r_tech"}),
                         ("sw", "queue", {"edge_type": "conditional", "condition_value": "__other__"})])
                self.attach_model(slug, model, "cat")

                status, detail = self.run_flow(slug, {"payload": {"subject": "500 errors"}})
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(status["final_output"], {"output": "paged: tech"})
                self.assertEqual(conversation(self.fake.requests(model)[0]["body"]), [("user", "Ticket: 500 errors")])

                status, detail = self.run_flow(slug, {"payload": {"subject": "refund"}})
                self.assertEqual(status["final_output"], {"output": "queued as billing"}, detail)
                self.assertEqual(self.run_status(detail, "oncall"), "ruled_out")

        def test_categorizer_asks_a_json_model_for_json(self):
                model = self.scenario()
                self.fake.script(model, {"text": '{"category": "Tech"}'})
                slug = self.flow([("cat", "categorizer", {"categories": CATEGORIES})], [("trig", "cat")])
                self.attach_model(slug, model, "cat", response_format={"type": "json_object"})
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(self.node_log(detail, "cat")["output"]["category"], "tech")
                body = self.fake.requests(model)[0]["body"]
                self.assertIn('as JSON: {"category": "<name>"}', system_prompt(body))
                if self.provider == "openai":
                        self.assertEqual(body["response_format"], {"type": "json_object"})

        def test_categorizer_after_an_agent_reads_its_answer(self):
                model = self.scenario()
                self.fake.script(model, {"text": "The customer wants their money back."}, {"text": "billing"})
                slug = self.flow([("agent", "agent", {}), ("cat", "categorizer", {"categories": CATEGORIES})],
                                 [("trig", "agent"), ("agent", "cat")])
                self.attach_model(slug, model, "agent", "cat")
                status, detail = self.run_flow(slug, {"text": "summarise: I want a refund"})
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(self.node_log(detail, "cat")["output"]["category"], "billing")
                self.assertEqual(conversation(self.fake.requests(model)[1]["body"]),
                                 [("user", "The customer wants their money back.")])
                self.assertEqual(detail["llm_calls"], 2)

        # --- router -----------------------------------------------------------------------

        def test_router_routes_on_the_model_or_on_a_state_value(self):
                model = self.scenario()
                self.fake.script(model, {"text": "Route: refund"})
                slug = self.flow([("route", "router", {"routes": [{"name": "refund", "description": "Money back"},
                                                                  {"name": "question"}]}),
                                  ("refund", "reply_chat", {"message": "refunding"}),
                                  ("question", "reply_chat", {"message": "answering"})],
                                 [("trig", "route"),
                                  ("route", "refund", {"edge_type": "conditional", "condition_value": "refund"}),
                                  ("route", "question", {"edge_type": "conditional", "condition_value": "question"})])
                self.attach_model(slug, model, "route")
                status, detail = self.run_flow(slug, {"text": "give it back"})
                self.assertEqual(status["final_output"], {"output": "refunding"}, detail)
                output = self.node_log(detail, "route")["output"]
                self.assertEqual((output["route"], output["raw"], output["token_usage"]["llm_calls"]),
                                 ("refund", "Route: refund", 1))
                self.assertIn("- refund: Money back", system_prompt(self.fake.requests(model)[0]["body"]))

                # On a state value the router calls no model (and needs none to run).
                slug = self.flow([("route", "router", {"condition_expression": "trigger.payload.vip == 'yes'"}),
                                  ("vip", "reply_chat", {"message": "vip"}),
                                  ("std", "reply_chat", {"message": "standard"})],
                                 [("trig", "route"),
                                  ("route", "vip", {"edge_type": "conditional", "condition_value": "true"}),
                                  ("route", "std", {"edge_type": "conditional", "condition_value": "false"})])
                for payload, reply in (({"vip": "yes"}, "vip"), ({"vip": "no"}, "standard"), ({}, "standard")):
                        status, detail = self.run_flow(slug, {"payload": payload})
                        self.assertEqual(status["final_output"], {"output": reply}, detail)
                        self.assertEqual(self.node_log(detail, "route")["output"], {"route": "true" if reply == "vip"
                                                                                    else "false"})
                self.assertEqual(len(self.fake.requests(model)), 1)

        # --- extractor --------------------------------------------------------------------

        def extractor_flow(self, scenario, **settings):
                slug = self.flow([("ext", "extractor", dict({"extraction_schema": PERSON_SCHEMA}, **settings)),
                                  ("say", "reply_chat", {"message": "{{ ext.extracted.name }} is {{ ext.extracted.age }}"})],
                                 [("trig", "ext"), ("ext", "say")])
                self.attach_model(slug, scenario, "ext")
                return slug

        def test_extractor_returns_the_object(self):
                model = self.scenario()
                self.fake.script(model, {"text": 'Here you are:\n```json\n{"name": "Ada Lovelace", "age": 36, '
                                                 '"tags": ["maths"]}\n```'})
                slug = self.extractor_flow(model)
                status, detail = self.run_flow(slug, {"text": "Ada Lovelace, 36, wrote about the engine."})
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(status["final_output"], {"output": "Ada Lovelace is 36"})
                output = self.node_log(detail, "ext")["output"]
                self.assertEqual(output["extracted"], {"name": "Ada Lovelace", "age": 36, "tags": ["maths"]})
                self.assertEqual(output["token_usage"]["llm_calls"], 1)

                body = self.fake.requests(model)[0]["body"]
                prompt = system_prompt(body)
                self.assertIn('"required": [', prompt)
                self.assertIn('"name"', prompt)
                self.assertIn("JSON object only", prompt)
                self.assertEqual(conversation(body), [("user", "Ada Lovelace, 36, wrote about the engine.")])
                if self.provider == "anthropic":
                        self.assertNotIn("response_format", body)
                else:
                        self.assertEqual(body["response_format"], {"type": "json_object"})

        def test_the_budget_counts_the_answer_before_a_second_call(self):
                """The first answer's ledger entry waits for the node's commit; the check
                before the extractor's second call counts it all the same."""
                model = self.scenario()
                self.fake.script(model, {"text": '{"name": "Ada", "age": "thirty-six"}',
                                         "usage": {"input_tokens": 10, "output_tokens": 10}},
                                 {"text": '{"name": "Ada", "age": 36}'})
                slug = self.extractor_flow(model)
                r = self.admin.patch("/workflows/%s/" % slug, {"settings": {"budget": {"tokens_per_day": 15}}})
                self.assertEqual(r.status, 200, r)
                status, detail = self.run_flow(slug, {"text": "Ada, thirty-six"})
                self.assertEqual((status["status"], status["error_code"]), ("failed", "budget_exceeded"), detail)
                self.assertIn("has used 20 tokens of its limit of 15 tokens", self.node_log(detail, "ext")["error"])
                self.assertEqual(len(self.fake.requests(model)), 1)
                self.assertEqual(self.admin.get("/workflows/%s/usage/" % slug).body["today"]["llm_calls"], 1)

        def test_an_answer_is_in_the_ledger_while_the_next_call_waits(self):
                """An answer the node's commit would take goes into the ledger once the run
                waits for another call: held over the wait, it would be lost with the run."""
                model = self.scenario()
                self.fake.script(model, {"text": '{"name": "Ada", "age": "thirty-six"}'},
                                 {"text": '{"name": "Ada", "age": 36}', "delay": 2})
                slug = self.extractor_flow(model)
                execution_id = self.execute(slug, {"text": "Ada, thirty-six"})
                deadline = time.monotonic() + 10
                while len(self.fake.requests(model)) < 2:
                        self.assertLess(time.monotonic(), deadline)
                        time.sleep(0.02)
                # Before the second answer (2 s away), the first is counted.
                deadline = time.monotonic() + 1.5
                while self.admin.get("/workflows/%s/usage/" % slug).body["today"]["llm_calls"] < 1:
                        self.assertLess(time.monotonic(), deadline, "the first answer is not in the ledger")
                        time.sleep(0.02)
                self.assertEqual(self.detail(execution_id)["status"], "running")
                self.assertEqual(self.wait_for(execution_id)["status"], "completed")
                self.assertEqual(self.admin.get("/workflows/%s/usage/" % slug).body["today"]["llm_calls"], 2)

        def test_extractor_sends_a_wrong_answer_back_once(self):
                model = self.scenario()
                self.fake.script(model, {"text": '{"name": "Ada", "age": "thirty-six"}'}, {"text": '{"name": "Ada", "age": 36}'})
                slug = self.extractor_flow(model)
                status, detail = self.run_flow(slug, {"text": "Ada, thirty-six"})
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(status["final_output"], {"output": "Ada is 36"})
                self.assertEqual(self.node_log(detail, "ext")["output"]["token_usage"]["llm_calls"], 2)
                self.assertEqual(detail["llm_calls"], 2)
                self.assertEqual(self.admin.get("/workflows/%s/usage/" % slug).body["today"]["llm_calls"], 2)
                second = conversation(self.fake.requests(model)[1]["body"])
                self.assertEqual([role for role, _ in second], ["user", "assistant", "user"])
                self.assertEqual(second[1][1], '{"name": "Ada", "age": "thirty-six"}')
                self.assertIn("'age' must be an integer, not a string", second[2][1])

        def test_extractor_fails_naming_the_field(self):
                model = self.scenario()
                self.fake.script(model, {"text": "I could not find anything."}, {"text": '{"name": "Ada"}'})
                slug = self.extractor_flow(model)
                log = self.failed_log(slug, "ext", {"text": "nothing here"})
                self.assertEqual(log["error_code"], "validation")
                self.assertEqual(log["error"], "The model's answer does not match extraction_schema after 2 attempts: "
                                               "'age' is required")
                self.assertIn("the answer holds no JSON object",
                              conversation(self.fake.requests(model)[1]["body"])[2][1])
                # Not retried: it was asked again already.
                self.assertEqual(len(self.fake.requests(model)), 2)

                model = self.scenario()
                self.fake.script(model, {"text": '{"name": "Ada", "age": 36, "tags": "maths"}'})
                slug = self.extractor_flow(model, validation_retries=0)
                log = self.failed_log(slug, "ext")
                self.assertEqual(log["error"], "The model's answer does not match extraction_schema after 1 attempt: "
                                               "'tags' must be an array, not a string")
                self.assertEqual(len(self.fake.requests(model)), 1)

        # --- output parsers ---------------------------------------------------------------

        def test_output_parsers_attached_to_ai_nodes(self):
                model = self.scenario()
                self.fake.script(model, {"text": "billing (confidence: 0.8)"},
                                 {"text": 'Done.\n```json\n{"summary": "refund", "items": [1, 2]}\n```'},
                                 {"text": "Steps:\n1. refund\n2. apologise\n- close the ticket"},
                                 {"text": "no json at all"})
                slug = self.flow([("cat", "categorizer", {"categories": CATEGORIES}),
                                  ("agent", "agent", {"input_template": "{{ trigger.text }}"}),
                                  ("steps", "agent", {"input_template": "plan"}),
                                  ("broken", "agent", {"input_template": "again"})],
                                 [("trig", "cat"), ("cat", "agent", {"edge_type": "conditional",
                                                                     "condition_value": "billing"}),
                                  ("agent", "steps"), ("steps", "broken")])
                self.attach_model(slug, model, "cat", "agent", "steps", "broken")
                self.attach_parser(slug, "cat", parser_type="regex", pattern=r"confidence: (?P<confidence>[0-9.]+)")
                self.attach_parser(slug, "agent", parser_type="json")
                self.attach_parser(slug, "steps", parser_type="list")
                self.attach_parser(slug, "broken")

                status, detail = self.run_flow(slug, {"text": "refund please"})
                self.assertEqual(status["status"], "failed", detail)
                cat = self.node_log(detail, "cat")["output"]
                self.assertEqual(cat["category"], "billing")
                self.assertEqual(cat["parsed"], {"match": "confidence: 0.8", "groups": ["0.8"],
                                                 "named": {"confidence": "0.8"}, "matches": ["0.8"]})
                self.assertEqual(self.node_log(detail, "agent")["output"]["parsed"],
                                 {"summary": "refund", "items": [1, 2]})
                self.assertEqual(self.node_log(detail, "steps")["output"]["parsed"],
                                 ["refund", "apologise", "close the ticket"])
                broken = self.node_log(detail, "broken")
                self.assertEqual(broken["error_code"], "output_parser")
                self.assertRegex(broken["error"], r"^The output parser 'parser_\w+' found no JSON object or array in "
                                                  r"the text: \"no json at all\"$")

        # --- suspension, cancel, failures -------------------------------------------------

        def test_cancel_stops_the_model_call(self):
                model = self.scenario()
                self.fake.script(model, {"text": "billing", "delay": 10})
                slug = self.categorizer_flow(model)
                execution_id = self.execute(slug)
                self.wait_node_status(execution_id, "cat", "running")
                deadline = time.monotonic() + 5
                while not self.fake.requests(model) and time.monotonic() < deadline:
                        time.sleep(0.05)
                started = time.monotonic()
                r = self.admin.post("/executions/%s/cancel/" % execution_id)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(self.wait_for(execution_id)["status"], "cancelled")
                self.wait_node_status(execution_id, "cat", "cancelled", timeout=3)
                self.assertLess(time.monotonic() - started, 3)

        def test_a_cancel_at_any_moment_stops_the_node(self):
                """Cancels that land anywhere in a model node's life — before it is claimed,
                while it sends its call, between its call and its suspension, while it waits —
                all stop it, and none leaves it running until the model answers."""
                model = self.scenario()
                self.fake.script(model, default={"text": "billing", "delay": 10})
                slug = self.categorizer_flow(model)
                ids = []
                for i in range(20):
                        execution_id = self.execute(slug)
                        time.sleep(i * 0.0005)
                        r = self.admin.post("/executions/%s/cancel/" % execution_id)
                        self.assertIn(r.status, (200, 409), r)
                        ids.append(execution_id)
                for execution_id in ids:
                        self.assertEqual(self.wait_for(execution_id)["status"], "cancelled")
                        self.wait_nothing_running(execution_id)
                self.assertHealthy()

        def test_provider_errors_fail_the_node(self):
                model = self.scenario()
                self.fake.script(model, {"error": {"status": 400, "message": "model %s does not exist" % model}})
                log = self.failed_log(self.categorizer_flow(model), "cat")
                self.assertEqual(log["error_code"], "llm")
                self.assertIn("HTTP 400", log["error"])
                self.assertIn("model %s does not exist" % model, log["error"])

        def test_bad_settings_fail_clearly(self):
                model = self.scenario()
                cases = [
                        ("categorizer", {"categories": []}, "categories must be a non-empty list"),
                        ("categorizer", {"categories": ["a", "A"]}, "categories names 'A' twice"),
                        ("router", {"routes": ["a"], "condition_expression": "x == 'y'"}, "not both"),
                        ("extractor", {"extraction_schema": {"type": "object", "properties": {"n": {"type": "int"}}}},
                         "extraction_schema: properties.n.type: unknown type 'int'"),
                        ("extractor", {}, "extraction_schema must be a JSON schema"),
                ]
                for component_type, settings, message in cases:
                        with self.subTest(component_type=component_type, settings=settings):
                                slug = self.flow([("node", component_type, settings)], [("trig", "node")])
                                self.attach_model(slug, model, "node")
                                log = self.failed_log(slug, "node")
                                self.assertEqual(log["error_code"], "config")
                                self.assertIn(message, log["error"])

                # No model attached.
                slug = self.flow([("node", "categorizer", {"categories": CATEGORIES})], [("trig", "node")])
                self.assertIn("The categorizer has no AI model", self.failed_log(slug, "node")["error"])
                r = self.admin.post("/workflows/%s/validate/" % slug)
                self.assertEqual(r.status, 200, r)
                self.assertFalse(r.body["valid"])

                # Nothing to read.
                slug = self.categorizer_flow(model)
                self.assertIn("has nothing to read", self.failed_log(slug, "cat", {"text": ""})["error"])

                # A parser with a bad pattern, and two parsers.
                slug = self.categorizer_flow(model)
                self.fake.script(model, {"text": "billing"})
                self.attach_parser(slug, "cat", parser_type="regex", pattern="(?=look)")
                log = self.failed_log(slug, "cat")
                self.assertEqual(log["error_code"], "config")
                self.assertIn("'(?=' is not supported", log["error"])
                self.attach_parser(slug, "cat", parser_type="list")
                self.fake.script(model, {"text": "billing"})
                self.assertIn("has 2 output parsers", self.failed_log(slug, "cat")["error"])

                # Parsers attach only where they are used; the API refuses the rest.
                slug = self.flow([("code", "code", {"code": "1"})], [("trig", "code")])
                self.make_node(slug, "output_parser", node_id="p")
                r = self.admin.post("/workflows/%s/edges/" % slug, {"source_node_id": "p", "target_node_id": "code",
                                                                    "edge_label": "output_parser"})
                self.assertEqual(r.status, 422, r)
                self.assertIn("code does not take an output parser", json.dumps(r.body))
                self.assertHealthy()


class OpenAIAiNodesTest(AiNodesTests):
        provider = "openai"


class AnthropicAiNodesTest(AiNodesTests):
        provider = "anthropic"


class AiNodesShareOneWorkerTest(AiNodesCase):
        """One worker: categorizers waiting for their model must not hold it."""
        provider = "openai"
        daemon_env = {"PIPELIT_WORKERS": "1"}

        def test_nodes_waiting_on_the_model_do_not_hold_the_worker(self):
                runs = 4
                model = self.scenario()
                self.fake.script(model, *[{"text": "tech", "delay": 1.0}] * runs)
                slug = self.categorizer_flow(model)
                started = time.monotonic()
                ids = [self.execute(slug, {"text": "question %d" % i}) for i in range(runs)]
                for execution_id in ids:
                        status = self.wait_for(execution_id, timeout=30)
                        self.assertEqual(status["final_output"], {"output": "went tech"}, self.detail(execution_id))
                elapsed = time.monotonic() - started
                self.assertLess(elapsed, runs * 1.0 - 1.0, "%d categorizers took %.1f s on one worker" % (runs, elapsed))


del AiNodesCase, AiNodesTests
