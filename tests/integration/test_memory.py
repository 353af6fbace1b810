"""Agent memory end to end against the fake LLM provider (tests/fake-llm): an agent with
conversation_memory carries its thread (per user and workflow) across executions and a daemon
restart, trims it to the context window, shows it through GET /workflows/{slug}/chat/history
and forgets it on DELETE; the memory_write and memory_read tools keep facts across
executions, for the workflow owner's agents only."""

import json

from agent_case import AgentTestBase, tool_results
from harness import unique


def conversation(provider, body):
        """[(role, text)] of a request body's messages, without the system prompt and without
        tool calls and results."""
        out = []
        for m in body["messages"]:
                content = m.get("content")
                if isinstance(content, list):
                        texts = [b.get("text", "") for b in content if b.get("type") == "text"]
                        if not texts:
                                continue
                        content = "".join(texts)
                if m.get("role") in ("user", "assistant") and content:
                        out.append((m["role"], content))
        return out


class MemoryTestBase(AgentTestBase):
        provider = "openai"

        def chat_agent(self, model, client=None, agent_config=None, tools=(), model_config=None,
                       system_prompt="You are terse."):
                """chat → agent with conversation memory, its ai_model naming the fake's scenario."""
                client = client or self.admin
                slug = self.make_workflow(client)["slug"]
                self.make_node(slug, "trigger_chat", client, node_id="chat")
                self.make_node(slug, "ai_model", client, node_id="model",
                               config=dict({"llm_credential_id": self.credential(client=client), "model_name": model,
                                            "max_tokens": 200}, **(model_config or {})))
                self.make_node(slug, "agent", client, node_id="agent",
                               config={"system_prompt": system_prompt,
                                       "extra_config": dict({"conversation_memory": True}, **(agent_config or {}))})
                self.make_edge(slug, "chat", "agent", client)
                self.make_edge(slug, "model", "agent", client, edge_label="llm")
                for tool in tools:
                        self.make_node(slug, tool, client, node_id=tool + "_tool")
                        self.make_edge(slug, tool + "_tool", "agent", client, edge_label="tool")
                return slug

        def chat(self, slug, text, client=None):
                """Sends a chat message and waits for the run; returns the agent's output."""
                client = client or self.admin
                r = client.post("/workflows/%s/chat/" % slug, {"text": text})
                self.assertEqual(r.status, 202, r)
                execution_id = r.body["execution_id"]
                status = self.wait_for(execution_id, client=client)
                detail = self.detail(execution_id, client=client)
                self.assertEqual(status["status"], "completed", detail)
                [log] = self.logs_of(detail, "agent")
                return log["output"]

        def last_conversation(self, model):
                return conversation(self.provider, self.fake.requests(model)[-1]["body"])

        def history(self, slug, client=None, query=""):
                r = (client or self.admin).get("/workflows/%s/chat/history%s" % (slug, query))
                self.assertEqual(r.status, 200, r)
                return r.body

        def workflow_id(self, slug, client=None):
                return (client or self.admin).get("/workflows/%s/" % slug).body["id"]


class ConversationMemoryTest(MemoryTestBase):
        def test_conversation_goes_on_across_executions_and_a_restart(self):
                model = unique("memory-")
                self.fake.script(model, {"text": "Nice to meet you, Ada."}, {"text": "You are Ada."})
                slug = self.chat_agent(model)

                self.chat(slug, "My name is Ada.")
                self.assertEqual(self.last_conversation(model), [("user", "My name is Ada.")])

                self.admin.close()
                self.daemon.stop()
                self.daemon.start()

                output = self.chat(slug, "What is my name?")
                self.assertEqual(output["output"], "You are Ada.")
                self.assertEqual(self.last_conversation(model), [
                        ("user", "My name is Ada."), ("assistant", "Nice to meet you, Ada."),
                        ("user", "What is my name?")])
                # The node's output holds this run's messages, not the thread.
                self.assertEqual([(m["role"], m["content"]) for m in output["messages"]],
                                 [("user", "What is my name?"), ("assistant", "You are Ada.")])

                history = self.history(slug)
                self.assertEqual(history["thread_id"], "%d:%d" % (self.admin_id, self.workflow_id(slug)))
                self.assertFalse(history["has_more"])
                self.assertEqual([(m["role"], m["text"]) for m in history["messages"]], [
                        ("user", "My name is Ada."), ("assistant", "Nice to meet you, Ada."),
                        ("user", "What is my name?"), ("assistant", "You are Ada.")])
                stamps = [m["timestamp"] for m in history["messages"]]
                for t in stamps:
                        self.assertTimestamp(t)
                self.assertEqual(stamps, sorted(stamps))
                self.assertEqual(len(set(stamps)), 4)

        def test_tool_calls_stay_out_of_the_thread(self):
                model = unique("memory-tools-")
                self.fake.script(model,
                                 {"tool_calls": [{"id": "c1", "name": "calculator", "arguments": {"expression": "6*7"}}]},
                                 {"text": "It is 42."}, {"text": "I said 42."})
                slug = self.chat_agent(model, tools=("calculator",))
                self.chat(slug, "What is 6*7?")
                self.chat(slug, "What did you say?")
                body = self.fake.requests(model)[-1]["body"]
                self.assertEqual(conversation(self.provider, body), [
                        ("user", "What is 6*7?"), ("assistant", "It is 42."), ("user", "What did you say?")])
                self.assertEqual(tool_results(self.provider, body), {})
                self.assertEqual(len(self.history(slug)["messages"]), 4)

        def test_each_user_has_a_thread_of_their_own(self):
                model = unique("memory-users-")
                user, client = self.make_user()
                slug = self.chat_agent(model, client=client)
                workflow_id = self.workflow_id(slug, client)

                self.chat(slug, "I am the owner.", client=client)
                # The admin may use the workflow too, in a thread of their own.
                self.chat(slug, "I am the admin.")
                self.assertEqual(self.last_conversation(model), [("user", "I am the admin.")])
                self.chat(slug, "Who am I?", client=client)
                self.assertEqual(self.last_conversation(model), [
                        ("user", "I am the owner."), ("assistant", "I am the owner."), ("user", "Who am I?")])

                mine = self.history(slug, client)
                self.assertEqual(mine["thread_id"], "%d:%d" % (user["id"], workflow_id))
                self.assertEqual([m["text"] for m in mine["messages"]],
                                 ["I am the owner.", "I am the owner.", "Who am I?", "Who am I?"])
                theirs = self.history(slug)
                self.assertEqual([m["text"] for m in theirs["messages"]], ["I am the admin.", "I am the admin."])

                # The admin forgetting their thread leaves the owner's alone.
                self.assertEqual(self.admin.delete("/workflows/%s/chat/history" % slug).status, 204)
                self.assertEqual(self.history(slug)["messages"], [])
                self.assertEqual(len(self.history(slug, client)["messages"]), 4)

                # Another user's workflow is not there for a normal user.
                other = self.chat_agent(unique("memory-other-"))
                self.assertEqual(client.get("/workflows/%s/chat/history" % other).status, 404)
                self.assertEqual(client.delete("/workflows/%s/chat/history" % other).status, 404)

                # A user with threads can be deleted: their threads go with them.
                self.assertEqual(self.admin.delete("/users/%d/" % user["id"]).status, 204)
                self.assertHealthy()

        def test_history_pages_and_delete_starts_afresh(self):
                model = unique("memory-pages-")
                slug = self.chat_agent(model)
                for i in range(3):
                        self.chat(slug, "message %d" % i)  # the fake echoes each

                page = self.history(slug, query="?limit=4")
                self.assertTrue(page["has_more"])
                self.assertEqual([(m["role"], m["text"]) for m in page["messages"]], [
                        ("user", "message 1"), ("assistant", "message 1"),
                        ("user", "message 2"), ("assistant", "message 2")])
                older = self.history(slug, query="?limit=10&before=" + page["messages"][0]["timestamp"])
                self.assertFalse(older["has_more"])
                self.assertEqual([m["text"] for m in older["messages"]], ["message 0", "message 0"])
                self.assertEqual(len(self.history(slug)["messages"]), 6)  # the default limit is 10
                # A date alone, and one with an offset, are timestamps too.
                self.assertEqual(self.history(slug, query="?before=2000-01-01")["messages"], [])
                self.assertEqual(len(self.history(slug, query="?before=2999-01-01T00:00:00%2B02:00")["messages"]), 6)

                r = self.admin.delete("/workflows/%s/chat/history" % slug)
                self.assertEqual(r.status, 204, r)
                self.assertEqual(self.history(slug), {"messages": [], "thread_id": page["thread_id"],
                                                      "has_more": False})
                self.chat(slug, "fresh start")
                self.assertEqual(self.last_conversation(model), [("user", "fresh start")])
                # Forgetting an empty thread is no error.
                self.assertEqual(self.admin.delete("/workflows/%s/chat/history" % slug).status, 204)
                self.assertEqual(self.admin.delete("/workflows/%s/chat/history" % slug).status, 204)

        def test_bad_history_requests(self):
                slug = self.chat_agent(unique("memory-bad-"))
                for query, field in (("?limit=0", "limit"), ("?limit=101", "limit"), ("?limit=ten", "limit"),
                                     ("?limit=", "limit"), ("?before=yesterday", "before"),
                                     ("?before=2026-13-01T00:00:00Z", "before"), ("?before=", "before")):
                        with self.subTest(query=query):
                                r = self.admin.get("/workflows/%s/chat/history%s" % (slug, query))
                                self.assertValidation(r, field, where="query")
                self.assertEqual(self.history(slug, query="?limit=100")["messages"], [])
                self.assertEqual(self.admin.get("/workflows/no-such-workflow/chat/history").status, 404)
                self.assertEqual(self.admin.delete("/workflows/no-such-workflow/chat/history").status, 404)
                self.assertNotAuthenticated(self.anon().get("/workflows/%s/chat/history" % slug))
                self.assertNotAuthenticated(self.anon().delete("/workflows/%s/chat/history" % slug))
                self.assertEqual(self.admin.post("/workflows/%s/chat/history" % slug, {}).status, 405)
                self.assertHealthy()

        def test_thread_is_trimmed_to_the_context_window(self):
                model = unique("memory-window-")
                window, max_tokens = 1000, 100
                slug = self.chat_agent(model, agent_config={"context_window": window},
                                       model_config={"max_tokens": max_tokens})
                filler = " lorem ipsum" * 30  # 360 characters: about 90 tokens
                for i in range(8):
                        self.chat(slug, "turn %d%s" % (i, filler))

                sent = self.last_conversation(model)
                body = self.fake.requests(model)[-1]["body"]
                characters = sum(len(m["content"]) for m in body["messages"])
                self.assertLessEqual(characters / 4.0 + 4 * len(body["messages"]), window - max_tokens)
                # The newest turns made it, the oldest did not; the new input is whole and last.
                self.assertEqual(sent[-1], ("user", "turn 7" + filler))
                self.assertEqual(sent[-2], ("assistant", "turn 6" + filler))
                self.assertEqual(sent[0][0], "user")
                self.assertNotIn(("user", "turn 0" + filler), sent)
                self.assertGreaterEqual(len(sent), 3)
                self.assertLess(len(sent), 15)
                # The history keeps everything; only what is sent is trimmed.
                self.assertEqual(len(self.history(slug, query="?limit=100")["messages"]), 16)

                # An input larger than the window alone is still sent, whole and alone.
                huge = "x" * (window * 5)
                self.chat(slug, huge)
                self.assertEqual(self.last_conversation(model), [("user", huge)])

        def test_bad_context_window_fails_clearly(self):
                slug = self.chat_agent(unique("memory-badwindow-"), agent_config={"context_window": "wide"})
                r = self.admin.post("/workflows/%s/chat/" % slug, {"text": "hi"})
                self.assertEqual(r.status, 202, r)
                self.assertEqual(self.wait_for(r.body["execution_id"])["status"], "failed")
                [log] = self.logs_of(self.detail(r.body["execution_id"]), "agent")
                self.assertEqual(log["error_code"], "config")
                self.assertIn("context_window", log["error"])
                self.assertEqual(self.history(slug)["messages"], [])

        def test_without_memory_nothing_is_kept(self):
                model = unique("memory-off-")
                slug = self.chat_agent(model, agent_config={"conversation_memory": False})
                self.chat(slug, "first")
                self.chat(slug, "second")
                self.assertEqual(self.last_conversation(model), [("user", "second")])
                self.assertEqual(self.history(slug)["messages"], [])


class AnthropicConversationMemoryTest(MemoryTestBase):
        provider = "anthropic"

        def test_conversation_goes_on(self):
                model = unique("memory-anthropic-")
                self.fake.script(model, {"text": "Hello, Grace."}, {"text": "Grace."})
                slug = self.chat_agent(model)
                self.chat(slug, "I am Grace.")
                self.chat(slug, "Who am I?")
                self.assertEqual(self.last_conversation(model), [
                        ("user", "I am Grace."), ("assistant", "Hello, Grace."), ("user", "Who am I?")])


class MemoryToolsTest(MemoryTestBase):
        def tool_agent(self, model, client=None, read_config=None, write_config=None):
                client = client or self.admin
                slug = self.chat_agent(model, client=client, agent_config={"conversation_memory": False})
                for node_id, tool, config in (("remember", "memory_write", write_config),
                                              ("recall", "memory_read", read_config)):
                        self.make_node(slug, tool, client, node_id=node_id,
                                       config={"extra_config": config or {}})
                        self.make_edge(slug, node_id, "agent", client, edge_label="tool")
                return slug

        def call(self, slug, model, name, arguments, client=None):
                """One execution in which the model calls one tool; returns what the tool said."""
                self.fake.script(model, {"tool_calls": [{"id": "t1", "name": name, "arguments": arguments}]},
                                 {"text": "ok"})
                self.chat(slug, "use your memory", client=client)
                return tool_results(self.provider, self.fake.requests(model)[-1]["body"])["t1"]

        def test_write_then_read_across_executions(self):
                model = unique("memory-facts-")
                _, client = self.make_user()  # who starts afresh
                slug = self.tool_agent(model, client=client)

                def call(*args):
                        return self.call(*args, client=client)

                self.assertEqual(call(slug, model, "memory_write", {"key": "favorite_color", "value": "teal"}),
                                 "Remembered: favorite_color = teal (created)")
                self.assertEqual(call(slug, model, "memory_write",
                                           {"key": "home_town", "value": "Lyon", "fact_type": "user_preference"}),
                                 "Remembered: home_town = Lyon (created)")

                found = json.loads(call(slug, model, "memory_read", {"key": "favorite_color"}))
                self.assertEqual(found["match"], "key")
                [fact] = found["facts"]
                self.assertEqual((fact["key"], fact["value"], fact["fact_type"]),
                                 ("favorite_color", "teal", "world_knowledge"))
                self.assertTimestamp(fact["updated_at"])

                self.assertEqual(call(slug, model, "memory_write", {"key": "favorite_color", "value": "navy"}),
                                 "Remembered: favorite_color = navy (updated)")
                # Another agent of the same owner, another workflow, shares the facts.
                other = self.tool_agent(model, client=client)
                found = json.loads(call(other, model, "memory_read", {"query": "Favorite Color"}))
                self.assertEqual(found["match"], "search")
                self.assertEqual([(f["key"], f["value"]) for f in found["facts"]], [("favorite_color", "navy")])
                # A key that is not there is searched for; a word of a value finds it.
                found = json.loads(call(other, model, "memory_read", {"key": "town"}))
                self.assertEqual(found["match"], "search")
                self.assertEqual([f["key"] for f in found["facts"]], ["home_town"])
                found = json.loads(call(other, model, "memory_read", {"query": "lyon"}))
                self.assertEqual([f["fact_type"] for f in found["facts"]], ["user_preference"])
                # No arguments: the newest facts.
                found = json.loads(call(other, model, "memory_read", {}))
                self.assertEqual(found["match"], "recent")
                self.assertEqual([f["key"] for f in found["facts"]], ["favorite_color", "home_town"])
                self.assertEqual(json.loads(call(other, model, "memory_read", {"query": "nothing like it"})),
                                 {"match": "search", "facts": []})

        def test_tool_settings(self):
                model = unique("memory-settings-")
                user, client = self.make_user()
                slug = self.tool_agent(model, client=client, read_config={"limit": 2},
                                       write_config={"overwrite": False, "fact_type": "correction"})
                for i in range(3):
                        self.call(slug, model, "memory_write", {"key": "fact_%d" % i, "value": "v%d" % i},
                                  client=client)
                self.assertIn("Not changed: 'fact_0' is already remembered",
                              self.call(slug, model, "memory_write", {"key": "fact_0", "value": "new"}, client=client))
                found = json.loads(self.call(slug, model, "memory_read", {"query": "fact"}, client=client))
                self.assertEqual(len(found["facts"]), 2)
                self.assertEqual({f["fact_type"] for f in found["facts"]}, {"correction"})
                found = json.loads(self.call(slug, model, "memory_read", {"key": "fact_0"}, client=client))
                self.assertEqual(found["facts"][0]["value"], "v0")

                # The admin's agents do not see this user's facts, and the other way round.
                admin_slug = self.tool_agent(model)
                self.assertEqual(json.loads(self.call(admin_slug, model, "memory_read", {"key": "fact_0"})),
                                 {"match": "search", "facts": []})

        def test_bad_arguments_go_back_to_the_model(self):
                model = unique("memory-badargs-")
                _, client = self.make_user()
                slug = self.tool_agent(model, client=client)

                def call(*args):
                        return self.call(*args, client=client)

                for name, arguments, message in (
                                ("memory_write", {"value": "x"}, "'key' (a string) is missing"),
                                ("memory_write", {"key": "k"}, "'value' is missing"),
                                ("memory_write", {"key": "", "value": "x"}, "'key' must be a string of 1 to 200"),
                                ("memory_write", {"key": "k" * 201, "value": "x"}, "'key' must be a string"),
                                ("memory_write", {"key": 5, "value": "x"}, "'key' must be a string"),
                                ("memory_write", {"key": "k", "value": "x" * 20000}, "too long"),
                                ("memory_write", {"key": "k", "value": "x", "fact_type": "gossip"}, "fact_type must be"),
                                ("memory_read", {"query": ["a"]}, "'query' must be a string")):
                        with self.subTest(name=name, arguments=arguments):
                                self.assertIn(message, call(slug, model, name, arguments))
                # Values that are not text are kept as JSON; LIKE's wildcards match themselves.
                self.assertEqual(call(slug, model, "memory_write", {"key": "limits", "value": {"max": 5}}),
                                 'Remembered: limits = {"max":5} (created)')
                call(slug, model, "memory_write", {"key": "discount", "value": "100% off"})
                found = json.loads(call(slug, model, "memory_read", {"query": "0%"}))
                self.assertEqual([f["key"] for f in found["facts"]], ["discount"])
                self.assertHealthy()


del MemoryTestBase
