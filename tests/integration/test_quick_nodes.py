"""Quick pure nodes (switch, filter, merge, assertion, reply_chat) run inside the commit of
the node before them, many to a transaction: a chain longer than one commit's budget still
runs to the end with every value passed along, the runs and logs are all recorded, and a
WebSocket subscriber still sees every node start and finish, in order."""

import socket
import time

from harness import unique
from test_executions import EngineTestCase
from wsclient import WebSocket

# More than one commit runs (orchestrator-inline.c: 256 runs at most).
CHAIN_LENGTH = 300


def chain_document(name, length):
        """trig → n0 → n1 → … : n0 says "x", each next one adds a dot to its parent's output."""
        nodes = [{"node_id": "trig", "component_type": "trigger_manual"}]
        edges = []
        previous = "trig"
        for i in range(length):
                message = "x" if i == 0 else "{{ n%d.output }}." % (i - 1)
                nodes.append({"node_id": "n%d" % i, "component_type": "reply_chat",
                              "config": {"extra_config": {"message": message}}})
                edges.append({"source_node_id": previous, "target_node_id": "n%d" % i})
                previous = "n%d" % i
        return {"format": "pipelit-workflow", "version": 1,
                "workflow": {"name": name}, "nodes": nodes, "edges": edges}


class QuickNodesTest(EngineTestCase):
        def import_chain(self, length):
                r = self.admin.post("/workflows/import/", chain_document(unique("Chain "), length))
                self.assertEqual(r.status, 201, r)
                return r.body["slug"]

        def test_a_chain_longer_than_one_commit_passes_every_value_along(self):
                slug = self.import_chain(CHAIN_LENGTH)
                status, detail = self.run_flow(slug, timeout=60)

                self.assertEqual(status["status"], "completed", detail.get("error_message"))
                self.assertEqual(status["final_output"], {"output": "x" + "." * (CHAIN_LENGTH - 1)})
                runs = {n["node_id"]: n for n in detail["node_runs"]}
                for i in range(CHAIN_LENGTH):
                        self.assertEqual(runs["n%d" % i]["status"], "done", i)
                completed = [l for l in detail["logs"] if l["status"] == "completed"]
                self.assertEqual(len(completed), CHAIN_LENGTH)
                # Each ran once, as its first attempt, with its parent's output as input.
                self.assertEqual({l["metadata"]["attempt"] for l in completed}, {1})
                n5 = self.logs_of(detail, "n5")[0]
                self.assertEqual(n5["input"], {"output": "x...."})
                self.assertEqual(n5["output"], {"output": "x....."})

        def test_a_subscriber_sees_each_quick_node_start_and_finish_in_order(self):
                slug = self.flow(
                        [("route", "switch", {"rules": [
                                {"id": "big", "field": "trigger.text", "operator": "equals", "value": "big"}],
                                "enable_fallback": True}),
                         ("big", "reply_chat", {"message": "big"}),
                         ("small", "reply_chat", {"message": "small"}),
                         ("done", "merge", None),
                         ("say", "reply_chat", {"message": "said {{ done.merged | tojson }}"})],
                        [("trig", "route"),
                         ("route", "big", {"edge_type": "conditional", "condition_value": "big"}),
                         ("route", "small", {"edge_type": "conditional", "condition_value": "__other__"}),
                         ("big", "done"), ("small", "done"), ("done", "say")])
                w = WebSocket("127.0.0.1", self.daemon.port, "/ws/?token=" + self.admin_key, timeout=10)
                self.addCleanup(w.shutdown)
                w.send_json({"type": "subscribe", "channel": "workflow:" + slug})
                self.assertEqual(w.recv_json(10), {"type": "subscribed", "channel": "workflow:" + slug})

                execution_id = self.execute(slug, {"text": "big"})
                seen = []
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                        try:
                                e = w.recv_json(max(0.05, deadline - time.monotonic()))
                        except socket.timeout:
                                break
                        if e.get("execution_id") != execution_id:
                                continue
                        if e["type"] == "node_status":
                                seen.append((e["data"]["node_id"], e["data"]["status"]))
                        if e["type"] in ("execution_completed", "execution_failed"):
                                seen.append((e["type"], None))
                                break

                self.assertEqual(seen, [
                        ("route", "running"), ("route", "success"), ("small", "skipped"),
                        ("big", "running"), ("big", "success"),
                        ("done", "running"), ("done", "success"),
                        ("say", "running"), ("say", "success"),
                        ("execution_completed", None)])
                status = self.wait_for(execution_id)
                self.assertEqual(status["final_output"], {"output": "said [\"big\"]"})
