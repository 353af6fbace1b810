"""Spend and budgets end to end against the fake LLM provider: each agent call is priced from
data/prices.json (the daemon reads the same file, PriceTable=), the cost shows on the node's
log, its node_status event and the execution, a child execution's cost rolls up into its
parent's, and budgets stop model calls: a workflow's tokens per day and a user's USD per day
fail the next agent with budget_exceeded before any request reaches the provider, with a
budget_exceeded event over the WebSocket. Spend outlives deleted executions; nonsense
budgets answer 422 and the daemon runs on."""

import json
import os
import time

from agent_case import AgentTestBase
from harness import SRCDIR, unique

PRICES_PATH = os.path.join(SRCDIR, "data", "prices.json")
with open(PRICES_PATH) as f:
        PRICES = json.load(f)["models"]


def price_of(model):
        """The price table's entry for model: the longest prefix wins (as the daemon does)."""
        prefixes = [p for p in PRICES if model.lower().startswith(p.lower())]
        return PRICES[max(prefixes, key=len)] if prefixes else None


def cost_of(model, input_tokens, output_tokens):
        p = price_of(model)
        return (input_tokens * p["input"] + output_tokens * p["output"]) / 1e6


def utc_today():
        return time.strftime("%Y-%m-%d", time.gmtime())


class BudgetTestBase(AgentTestBase):
        provider = "openai"
        daemon_env = {"PIPELIT_PRICE_TABLE": PRICES_PATH}

        def add_agent(self, slug, model, parent, client=None, node_id="agent", input_template="{{ trigger.text }}"):
                """An agent after parent, talking to model (the fake's scenario)."""
                self.make_node(slug, "ai_model", client, node_id=node_id + "_model",
                               config={"llm_credential_id": self.credential(client=client), "model_name": model})
                self.make_node(slug, "agent", client, node_id=node_id,
                               config={"system_prompt": "Be brief.",
                                       "extra_config": {"input_template": input_template}})
                self.make_edge(slug, parent, node_id, client)
                self.make_edge(slug, node_id + "_model", node_id, client, edge_label="llm")

        def agent_flow(self, model, client=None, **workflow_fields):
                slug = self.flow([], [], client=client, **workflow_fields)
                self.add_agent(slug, model, "trig", client)
                return slug

        def run_as(self, client, slug, text="hi"):
                execution_id = self.execute(slug, {"text": text}, client=client)
                status = self.wait_for(execution_id, client=client)
                return status, self.detail(execution_id, client=client)

        def agent_log(self, detail, node_id="agent"):
                logs = self.logs_of(detail, node_id)
                self.assertEqual(len(logs), 1, detail)
                return logs[0]

        def budget_event(self, w):
                return self.next_event(w, lambda e: e.get("type") == "budget_exceeded")


class CostTest(BudgetTestBase):
        def test_cost_from_the_price_table(self):
                model = unique("gpt-4o-mini-")
                self.assertEqual(price_of(model), PRICES["gpt-4o-mini"])
                self.fake.script(model, {"text": "Hello.", "usage": {"input_tokens": 1200, "output_tokens": 300}})
                slug = self.agent_flow(model)
                w = self.ws("workflow:" + slug)
                status, detail = self.run_flow(slug, {"text": "hi"})
                self.assertEqual(status["status"], "completed", detail)

                expected = cost_of(model, 1200, 300)
                self.assertGreater(expected, 0)
                usage = self.agent_log(detail)["output"]["token_usage"]
                self.assertEqual((usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]),
                                 (1200, 300, 1500))
                self.assertAlmostEqual(usage["cost_usd"], expected, places=12)
                self.assertIs(usage["cost_known"], True)
                # The execution adds it up; its list entry says the same.
                self.assertAlmostEqual(detail["total_cost_usd"], expected, places=12)
                self.assertEqual((detail["total_tokens"], detail["llm_calls"]), (1500, 1))
                r = self.admin.get("/executions/?workflow_slug=%s" % slug)
                self.assertAlmostEqual(r.body["items"][0]["total_cost_usd"], expected, places=12)
                # The node's event carries its usage and cost.
                done = self.next_event(w, lambda e: e["type"] == "node_status" and e["data"]["node_id"] == "agent"
                                       and e["data"]["status"] == "success")
                self.assertAlmostEqual(done["data"]["token_usage"]["cost_usd"], expected, places=12)
                self.assertEqual(done["data"]["token_usage"]["total_tokens"], 1500)

                # The workflow's usage: today, this month, per model.
                r = self.admin.get("/workflows/%s/usage/" % slug)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["today"]["period"], utc_today())
                self.assertEqual(r.body["today"]["total_tokens"], 1500)
                self.assertAlmostEqual(r.body["today"]["cost_usd"], expected, places=12)
                self.assertEqual(r.body["this_month"]["period"], utc_today()[:7])
                self.assertEqual([m["model"] for m in r.body["models"]], [model])
                self.assertEqual(r.body["days"][0]["day"], utc_today())
                self.assertEqual((r.body["budget"], r.body["limits"]), ({}, []))

        def test_unknown_model_costs_nothing_and_says_so(self):
                model = unique("homegrown-llm-")
                self.assertIsNone(price_of(model))
                self.fake.script(model, {"text": "Hi.", "usage": {"input_tokens": 50, "output_tokens": 5}})
                status, detail = self.run_flow(self.agent_flow(model))
                self.assertEqual(status["status"], "completed", detail)
                usage = self.agent_log(detail)["output"]["token_usage"]
                self.assertEqual(usage["cost_usd"], 0)
                self.assertIs(usage["cost_known"], False)
                self.assertEqual((detail["total_tokens"], detail["total_cost_usd"]), (55, 0))

        def test_child_cost_rolls_up_into_the_parent(self):
                child_model, parent_model = unique("gpt-4o-"), unique("claude-sonnet-4-")
                self.fake.script(child_model, {"text": "child", "usage": {"input_tokens": 1000, "output_tokens": 100}})
                self.fake.script(parent_model, {"text": "parent", "usage": {"input_tokens": 400, "output_tokens": 40}})
                child = self.make_workflow()["slug"]
                self.make_node(child, "trigger_workflow", node_id="start")
                self.add_agent(child, child_model, "start")
                parent = self.flow([("call", "workflow", {"target_workflow": child})], [("trig", "call")])
                self.add_agent(parent, parent_model, "call")

                status, detail = self.run_flow(parent, {"text": "go"})
                self.assertEqual(status["status"], "completed", detail)
                [c] = detail["children"]
                child_detail = self.detail(c["execution_id"])
                child_cost, parent_cost = cost_of(child_model, 1000, 100), cost_of(parent_model, 400, 40)
                self.assertAlmostEqual(child_detail["total_cost_usd"], child_cost, places=12)
                self.assertEqual((child_detail["total_tokens"], child_detail["llm_calls"]), (1100, 1))
                # The parent's totals hold its own call and its child's, counted once.
                self.assertAlmostEqual(detail["total_cost_usd"], child_cost + parent_cost, places=12)
                self.assertEqual((detail["total_tokens"], detail["llm_calls"]), (1100 + 440, 2))


class WorkflowBudgetTest(BudgetTestBase):
        def test_tokens_per_day_stop_the_second_run(self):
                model = unique("gpt-4o-mini-")
                self.fake.script(model, default={"text": "ok", "usage": {"input_tokens": 90, "output_tokens": 30}})
                slug = self.agent_flow(model, settings={"budget": {"tokens_per_day": 100}})
                self.assertEqual(self.admin.get("/workflows/%s/" % slug).body["settings"]["budget"],
                                 {"tokens_per_day": 100})
                w = self.ws("workflow:" + slug)

                # Under the limit when it starts: the call is made (and goes past it).
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(len(self.fake.requests(model)), 1)

                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "failed", detail)
                self.assertEqual(status["error_code"], "budget_exceeded")
                log = self.agent_log(detail)
                self.assertEqual(log["error_code"], "budget_exceeded")
                for words in ("workflow '%s'" % slug, "120 tokens", "limit of 100 tokens per day",
                              "(%s, UTC)" % utc_today(), "no model call was made"):
                        self.assertIn(words, log["error"])
                # Not retried, and the provider never heard of it.
                self.assertEqual(log["retry_count"], 0)
                self.assertEqual(len(self.fake.requests(model)), 1)

                event = self.budget_event(w)
                self.assertEqual(event["execution_id"], detail["execution_id"])
                data = event["data"]
                self.assertEqual((data["workflow"], data["scope"], data["limit"], data["period"], data["spent"],
                                  data["allowed"], data["node_id"]),
                                 (slug, "workflow", "tokens_per_day", utc_today(), 120, 100, "agent"))
                self.assertEqual(data["user_id"], self.admin_id)
                self.assertTrue(data["resets_at"].startswith(time.strftime("%Y-%m-%d",
                                                                           time.gmtime(time.time() + 86400))))

                r = self.admin.get("/workflows/%s/usage/" % slug)
                self.assertEqual(r.status, 200, r)
                [limit] = r.body["limits"]
                self.assertEqual((limit["limit"], limit["spent"], limit["allowed"], limit["remaining"],
                                  limit["exceeded"]), ("tokens_per_day", 120, 100, 0, True))

                # Deleting the runs gives nothing back: the spend is kept apart from them.
                ids = [e["execution_id"] for e in self.executions_of(slug)]
                r = self.admin.post("/executions/batch-delete/", {"execution_ids": ids})
                self.assertEqual(r.body["deleted"], 2, r)
                status, detail = self.run_flow(slug)
                self.assertEqual(status["error_code"], "budget_exceeded", detail)
                self.assertEqual(len(self.fake.requests(model)), 1)

                # Raising the limit lets the next run call the model again.
                r = self.admin.patch("/workflows/%s/" % slug, {"settings": {"budget": {"tokens_per_day": 1000}}})
                self.assertEqual(r.status, 200, r)
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(len(self.fake.requests(model)), 2)
                self.assertHealthy()

        def test_a_looping_agent_stops_at_the_limit(self):
                """The check before each model call counts every call answered before it, the
                last one too, whose ledger entry is written while the next call is made."""
                model = unique("gpt-4o-mini-")
                calc = {"tool_calls": [{"id": "c", "name": "calculator", "arguments": {"expression": "6*7"}}],
                        "usage": {"input_tokens": 6, "output_tokens": 4}}
                self.fake.script(model, calc, calc, calc, calc, {"text": "42", "usage": {"input_tokens": 6,
                                                                                        "output_tokens": 4}})
                slug = self.agent_flow(model, settings={"budget": {"tokens_per_day": 25}})
                self.make_node(slug, "calculator", node_id="calc")
                self.make_edge(slug, "calc", "agent", edge_label="tool")

                status, detail = self.run_flow(slug)
                self.assertEqual(status["error_code"], "budget_exceeded", detail)
                self.assertEqual(len(self.fake.requests(model)), 3)
                self.assertIn("has used 30 tokens of its limit of 25 tokens", self.agent_log(detail)["error"])
                today = self.admin.get("/workflows/%s/usage/" % slug).body["today"]
                self.assertEqual((today["llm_calls"], today["total_tokens"]), (3, 30))

        def test_each_workflow_has_its_own_budget(self):
                model = unique("gpt-4o-mini-")
                self.fake.script(model, default={"text": "ok", "usage": {"input_tokens": 10, "output_tokens": 10}})
                stopped = self.agent_flow(model, settings={"budget": {"usd_per_month": 0}})
                free = self.agent_flow(model)
                status, detail = self.run_flow(stopped)
                self.assertEqual(status["error_code"], "budget_exceeded", detail)
                self.assertIn("limit of $0 per month (%s, UTC)" % utc_today()[:7], self.agent_log(detail)["error"])
                self.assertEqual(self.fake.requests(model), [])
                status, detail = self.run_flow(free)
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(len(self.fake.requests(model)), 1)

        def test_nonsense_budgets_are_refused(self):
                slug = self.make_workflow()["slug"]
                for budget, field in (({"tokens_per_day": -1}, "tokens_per_day"),
                                      ({"tokens_per_day": 2.5}, "tokens_per_day"),
                                      ({"tokens_per_day": "100"}, "tokens_per_day"),
                                      ({"usd_per_day": "5"}, "usd_per_day"),
                                      ({"usd_per_month": -0.5}, "usd_per_month"),
                                      ({"usd_per_month": 1e12}, "usd_per_month"),
                                      ({"tokens_per_week": 5}, "tokens_per_week")):
                        with self.subTest(budget=budget):
                                r = self.admin.patch("/workflows/%s/" % slug, {"settings": {"budget": budget}})
                                self.assertValidation(r, ["settings", "budget", field])
                                r = self.admin.post("/workflows/", {"name": unique("W "),
                                                                    "settings": {"budget": budget}})
                                self.assertValidation(r, ["settings", "budget", field])
                for budget in (5, "lots", [1]):
                        r = self.admin.patch("/workflows/%s/" % slug, {"settings": {"budget": budget}})
                        self.assertValidation(r, ["settings", "budget"])
                # Nothing was stored; null is no limit.
                self.assertEqual(self.admin.get("/workflows/%s/" % slug).body["settings"], {})
                r = self.admin.patch("/workflows/%s/" % slug, {"settings": {"budget": {"usd_per_day": None,
                                                                                      "tokens_per_month": 0}}})
                self.assertEqual(r.status, 200, r)
                r = self.admin.get("/workflows/%s/usage/?days=0" % slug)
                self.assertValidation(r, "days", where="query")
                self.assertHealthy()

        def test_usage_follows_ownership(self):
                _, other = self.make_user()
                slug = self.make_workflow()["slug"]
                self.assertEqual(other.get("/workflows/%s/usage/" % slug).status, 404)
                self.assertEqual(other.get("/users/%d/usage/" % self.admin_id).status, 403)
                self.assertEqual(self.anon().get("/users/me/usage/").status, 401)
                self.assertEqual(self.admin.get("/users/999999/usage/").status, 404)
                self.assertEqual(self.admin.get("/users/x1/usage/").status, 404)


class LedgerTest(BudgetTestBase):
        daemon_config = "[Limits]\nMaxNodeOutputSize=2000\n"

        def test_a_call_counts_whatever_becomes_of_its_node(self):
                """A final answer's ledger entry goes in with the commit of the node's success;
                when the node fails instead (here its output is too large), the call made is
                in the ledger all the same."""
                model = unique("gpt-4o-mini-")
                usage = {"input_tokens": 7, "output_tokens": 3}
                self.fake.script(model, {"text": "x" * 5000, "usage": usage}, {"text": "short", "usage": usage})
                slug = self.agent_flow(model)

                status, detail = self.run_flow(slug)
                self.assertEqual((status["status"], status["error_code"]), ("failed", "output_too_large"), detail)
                today = self.admin.get("/workflows/%s/usage/" % slug).body["today"]
                self.assertEqual((today["llm_calls"], today["total_tokens"]), (1, 10))

                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "completed", detail)
                today = self.admin.get("/workflows/%s/usage/" % slug).body["today"]
                self.assertEqual((today["llm_calls"], today["total_tokens"]), (2, 20))
                self.assertEqual(len(self.fake.requests(model)), 2)


class UserBudgetTest(BudgetTestBase):
        def test_usd_per_day_of_a_user(self):
                user, client = self.make_user()
                self.assertEqual(user["budget"], {})
                model = unique("gpt-4o-")
                self.fake.script(model, default={"text": "ok", "usage": {"input_tokens": 1000, "output_tokens": 100}})
                one_call = cost_of(model, 1000, 100)
                first, second = self.agent_flow(model, client=client), self.agent_flow(model, client=client)

                # A user cannot set their own limits; an admin can, checked like a workflow's.
                r = client.patch("/users/me/", {"budget": {"usd_per_day": 100}})
                self.assertEqual(r.status, 403, r)
                r = self.admin.patch("/users/%d/" % user["id"], {"budget": {"usd_per_day": "cheap"}})
                self.assertValidation(r, ["budget", "usd_per_day"])
                r = self.admin.patch("/users/%d/" % user["id"], {"budget": {"usd_per_day": -1, "tokens": 3}})
                self.assertValidation(r, ["budget", "usd_per_day"])
                self.assertValidation(r, ["budget", "tokens"])
                r = self.admin.patch("/users/%d/" % user["id"], {"budget": {"usd_per_day": one_call / 2,
                                                                            "tokens_per_month": None}})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["budget"], {"usd_per_day": one_call / 2})
                self.assertEqual(client.get("/users/me/").body["budget"], {"usd_per_day": one_call / 2})

                w = self.ws("workflow:" + second)
                status, detail = self.run_as(client, first)
                self.assertEqual(status["status"], "completed", detail)
                # The user's budget holds across their workflows.
                status, detail = self.run_as(client, second)
                self.assertEqual(status["status"], "failed", detail)
                log = self.agent_log(detail)
                self.assertEqual(log["error_code"], "budget_exceeded")
                self.assertIn("user '%s' has spent $" % user["username"], log["error"])
                self.assertIn("per day (%s, UTC)" % utc_today(), log["error"])
                self.assertEqual(len(self.fake.requests(model)), 1)
                data = self.budget_event(w)["data"]
                self.assertEqual((data["scope"], data["user"], data["user_id"], data["limit"], data["workflow"]),
                                 ("user", user["username"], user["id"], "usd_per_day", second))
                self.assertAlmostEqual(data["spent"], one_call, places=12)
                self.assertAlmostEqual(data["allowed"], one_call / 2, places=12)

                r = client.get("/users/me/usage/")
                self.assertEqual(r.status, 200, r)
                self.assertEqual((r.body["user_id"], r.body["username"]), (user["id"], user["username"]))
                self.assertAlmostEqual(r.body["today"]["cost_usd"], one_call, places=12)
                self.assertEqual(r.body["today"]["llm_calls"], 1)
                [limit] = r.body["limits"]
                self.assertEqual((limit["limit"], limit["exceeded"], limit["remaining"]), ("usd_per_day", True, 0))
                self.assertEqual(self.admin.get("/users/%d/usage/" % user["id"]).body["today"], r.body["today"])

                # Cleared by the admin: the user's runs call the model again.
                r = self.admin.patch("/users/%d/" % user["id"], {"budget": None})
                self.assertEqual((r.status, r.body["budget"]), (200, {}), r)
                status, detail = self.run_as(client, second)
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(len(self.fake.requests(model)), 2)
                self.assertHealthy()

        def test_unattended_runs_count_for_the_workflow_owner(self):
                user, client = self.make_user()
                model = unique("gpt-4o-mini-")
                self.fake.script(model, default={"text": "ok", "usage": {"input_tokens": 40, "output_tokens": 10}})
                slug = self.make_workflow(client)["slug"]
                self.make_node(slug, "trigger_webhook", client, node_id="hook",
                               config={"extra_config": {"path": "in", "response_mode": "sync"}})
                self.add_agent(slug, model, "hook", client, input_template="{{ trigger.body.q }}")
                r = self.admin.patch("/users/%d/" % user["id"], {"budget": {"tokens_per_month": 50}})
                self.assertEqual(r.status, 200, r)

                # Nobody started it: the workflow's owner pays, and their budget holds.
                r = self.anon().post("/webhooks/%s/in" % slug, {"q": "first"})
                self.assertEqual((r.status, r.body["status"]), (200, "completed"), r)
                self.assertEqual(client.get("/users/me/usage/").body["this_month"]["total_tokens"], 50)
                r = self.anon().post("/webhooks/%s/in" % slug, {"q": "second"})
                self.assertEqual((r.status, r.body["status"], r.body["error_code"]),
                                 (200, "failed", "budget_exceeded"), r)
                self.assertIn("user '%s' has used 50 tokens of its limit of 50 tokens per month (%s, UTC)"
                              % (user["username"], utc_today()[:7]), r.body["error"])
                self.assertEqual(len(self.fake.requests(model)), 1)
