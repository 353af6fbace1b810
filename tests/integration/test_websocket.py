"""Live events over the WebSocket GET /ws/?token=KEY: authentication, per-channel
authorisation, the events of node, edge and workflow changes and of executions, the
heartbeat, slow clients, and idle exit while a client is connected."""

import json
import shutil
import socket
import threading
import time
import unittest

from harness import DaemonTestCase, Daemon, unique
from wsclient import Closed, HandshakeError, WebSocket

RECV_TIMEOUT = 10


class WebSocketTestCase(DaemonTestCase):
        def ws(self, key, path=None, **kw):
                path = path if path is not None else "/ws/?token=" + key
                w = WebSocket("127.0.0.1", self.daemon.port, path, timeout=RECV_TIMEOUT, **kw)
                self.addCleanup(w.shutdown)
                return w

        def subscribe(self, w, channel):
                w.send_json({"type": "subscribe", "channel": channel})
                self.assertEqual(w.recv_json(RECV_TIMEOUT), {"type": "subscribed", "channel": channel})

        def expect_event(self, w, type_, channel):
                """The next message, which must be an event of type_ on channel."""
                e = w.recv_json(RECV_TIMEOUT)
                self.assertEqual(e.get("type"), type_, e)
                self.assertEqual(e.get("channel"), channel, e)
                self.assertIsInstance(e.get("timestamp"), float, e)
                self.assertLess(abs(e["timestamp"] - time.time()), 60, e)
                self.assertIn("data", e)
                return e

        def assertNothingFor(self, w, seconds=0.3):
                try:
                        m = w.recv_message(timeout=seconds)
                except socket.timeout:
                        return
                self.fail("unexpected message %r" % (m,))


class AuthenticationTest(WebSocketTestCase):
        def test_bad_or_missing_token_is_closed_with_1008(self):
                for path in ("/ws/?token=plt_not-a-key", "/ws/", "/ws/?token=", "/ws/?token=" + "x" * 400):
                        with self.subTest(path=path[:40]):
                                w = self.ws(None, path)
                                self.assertEqual(w.wait_closed(), 1008)

        def test_both_paths_and_the_subprotocol_work(self):
                for path, proto in (("/ws/?token=", None), ("/ws?token=", None), ("/ws/?token=", "pipelit-ws")):
                        with self.subTest(path=path, proto=proto):
                                w = self.ws(None, path + self.admin_key, subprotocol=proto)
                                self.subscribe(w, "workflow:" + self.make_workflow()["slug"])
                                w.close()

        def test_other_paths_and_subprotocols_are_refused(self):
                for path, proto in (("/api/v1/workflows/?token=" + self.admin_key, None),
                                    ("/ws/executions/x/?token=" + self.admin_key, None),
                                    ("/ws/?token=" + self.admin_key, "sd-event"),
                                    ("/ws/?token=" + self.admin_key, "chat")):
                        with self.subTest(path=path[:30], proto=proto):
                                with self.assertRaises((HandshakeError, OSError)):
                                        self.ws(None, path, subprotocol=proto)
                self.assertHealthy()

        def test_revoked_key_is_refused(self):
                r = self.admin.post("/users/me/keys/", {"name": unique("ws")})
                self.assertEqual(r.status, 201, r)
                key, key_id = r.body["key"], r.body["id"]
                w = self.ws(key)
                self.subscribe(w, "workflow:" + self.make_workflow()["slug"])
                self.assertEqual(self.admin.delete("/users/me/keys/%d/" % key_id).status, 204)
                self.assertEqual(self.ws(key).wait_closed(), 1008)


class ChannelTest(WebSocketTestCase):
        def test_subscribe_and_unsubscribe_replies(self):
                slug = self.make_workflow()["slug"]
                w = self.ws(self.admin_key)
                self.subscribe(w, "workflow:" + slug)
                # Twice is fine, and still one copy of each event.
                self.subscribe(w, "workflow:" + slug)
                self.make_node(slug, "code", node_id="n1")
                self.assertEqual(self.expect_event(w, "node_created", "workflow:" + slug)["data"]["node_id"], "n1")
                self.assertNothingFor(w)

                w.send_json({"type": "unsubscribe", "channel": "workflow:" + slug})
                self.assertEqual(w.recv_json(), {"type": "unsubscribed", "channel": "workflow:" + slug})
                self.make_node(slug, "code", node_id="n2")
                self.assertNothingFor(w)
                # Leaving a channel one is not in answers the same.
                w.send_json({"type": "unsubscribe", "channel": "workflow:never"})
                self.assertEqual(w.recv_json(), {"type": "unsubscribed", "channel": "workflow:never"})

        def test_another_users_workflow_is_refused(self):
                _, alice = self.make_user()
                alices = self.make_workflow(alice)["slug"]
                admins = self.make_workflow()["slug"]
                w = self.ws(alice.token)
                w.send_json({"type": "subscribe", "channel": "workflow:" + admins})
                self.assertEqual(w.recv_json(), {"type": "error", "channel": "workflow:" + admins,
                                                 "detail": "Workflow not found."})
                # Same answer as for a workflow that does not exist: nothing is revealed.
                w.send_json({"type": "subscribe", "channel": "workflow:no-such-workflow"})
                self.assertEqual(w.recv_json()["detail"], "Workflow not found.")

                self.subscribe(w, "workflow:" + alices)
                self.make_node(admins, "code", node_id="secret")
                self.make_node(alices, "code", node_id="mine")
                # The first event alice sees is her own: the admin's never came.
                e = self.expect_event(w, "node_created", "workflow:" + alices)
                self.assertEqual(e["data"]["node_id"], "mine")

                # An admin may watch anyone's workflow.
                a = self.ws(self.admin_key)
                self.subscribe(a, "workflow:" + alices)

        def test_malformed_messages_get_errors_and_the_connection_stays(self):
                w = self.ws(self.admin_key)
                for text in ("not json", "[1, 2]", "{}", '{"type": 5}', '{"type": "shout"}',
                             '{"type": "subscribe"}', '{"type": "subscribe", "channel": 7}'):
                        with self.subTest(text=text):
                                w.send_text(text)
                                m = w.recv_json()
                                self.assertEqual(m["type"], "error", m)
                                self.assertIsInstance(m["detail"], str)
                w.send_frame(0x2, b"\x00\x01")
                self.assertEqual(w.recv_json()["type"], "error")
                for channel in ("nonsense", "workflow:", "workflow:Bad Slug", "execution:not-an-id",
                                "user:1", "workflow:" + "x" * 400):
                        with self.subTest(channel=channel[:30]):
                                w.send_json({"type": "subscribe", "channel": channel})
                                m = w.recv_json()
                                self.assertEqual(m["type"], "error", m)
                                self.assertIn("channel", m["detail"].lower(), m)
                w.send_json({"type": "ping"})
                self.assertEqual(w.recv_json(), {"type": "pong"})
                # A message split into fragments is one message.
                text = json.dumps({"type": "subscribe", "channel": "workflow:" + self.make_workflow()["slug"]})
                w.send_frame(0x1, text[:10].encode(), fin=False)
                w.send_frame(0x0, text[10:].encode(), fin=True)
                self.assertEqual(w.recv_json()["type"], "subscribed")

        def test_oversized_message_closes_with_1009(self):
                w = self.ws(self.admin_key)
                w.send_text(json.dumps({"type": "subscribe", "channel": "x" * 20000}))
                self.assertEqual(w.wait_closed(), 1009)
                self.assertHealthy()


class MutationEventTest(WebSocketTestCase):
        def test_node_and_edge_events_reach_every_tab(self):
                slug = self.make_workflow()["slug"]
                channel = "workflow:" + slug
                tabs = [self.ws(self.admin_key), self.ws(self.admin_key)]
                for t in tabs:
                        self.subscribe(t, channel)

                a = self.make_node(slug, "trigger_manual", node_id="a")
                b = self.make_node(slug, "code", node_id="b", label="B")
                r = self.admin.patch("/workflows/%s/nodes/b/" % slug, {"label": "Renamed", "position_x": 5})
                self.assertEqual(r.status, 200, r)
                b2 = r.body
                edge = self.make_edge(slug, "a", "b")
                r = self.admin.patch("/workflows/%s/edges/%d/" % (slug, edge["id"]), {"priority": 3})
                self.assertEqual(r.status, 200, r)
                edge2 = r.body
                self.assertEqual(self.admin.delete("/workflows/%s/edges/%d/" % (slug, edge["id"])).status, 204)
                self.assertEqual(self.admin.delete("/workflows/%s/nodes/b/" % slug).status, 204)
                # Failed changes announce nothing.
                self.assertEqual(self.admin.patch("/workflows/%s/nodes/zz/" % slug, {"label": "x"}).status, 404)
                self.assertEqual(self.admin.post("/workflows/%s/nodes/" % slug, {"component_type": "nope"}).status, 422)

                want = [("node_created", a), ("node_created", b), ("node_updated", b2),
                        ("edge_created", edge), ("edge_updated", edge2),
                        ("edge_deleted", {"id": edge["id"]}), ("node_deleted", {"node_id": "b"})]
                seen = []
                for t in tabs:
                        got = []
                        for type_, data in want:
                                e = self.expect_event(t, type_, channel)
                                self.assertEqual(e["data"], data, type_)
                                self.assertNotIn("execution_id", e)
                                got.append(e)
                        self.assertNothingFor(t)
                        seen.append(got)
                # Both tabs got the very same events.
                self.assertEqual(seen[0], seen[1])

        def test_workflow_updated_and_renamed(self):
                slug = self.make_workflow()["slug"]
                w = self.ws(self.admin_key)
                self.subscribe(w, "workflow:" + slug)
                r = self.admin.patch("/workflows/%s/" % slug, {"description": "new words"})
                self.assertEqual(r.status, 200, r)
                e = self.expect_event(w, "workflow_updated", "workflow:" + slug)
                self.assertEqual(e["data"], r.body)

                # Renamed: told on the old channel, whose subscription then ends.
                new = unique("renamed")
                r = self.admin.patch("/workflows/%s/" % slug, {"slug": new})
                self.assertEqual(r.status, 200, r)
                e = self.expect_event(w, "workflow_updated", "workflow:" + slug)
                self.assertEqual(e["data"]["slug"], new)
                self.assertEqual(w.recv_json(), {"type": "unsubscribed", "channel": "workflow:" + slug})
                self.subscribe(w, "workflow:" + new)
                self.make_node(new, "code", node_id="after")
                self.assertEqual(self.expect_event(w, "node_created", "workflow:" + new)["data"]["node_id"], "after")

        def test_deleted_workflow_ends_subscriptions_before_its_slug_is_reused(self):
                _, alice = self.make_user()
                _, bob = self.make_user()
                slug = self.make_workflow(alice)["slug"]
                w = self.ws(alice.token)
                self.subscribe(w, "workflow:" + slug)
                self.assertEqual(alice.delete("/workflows/%s/" % slug).status, 204)
                e = self.expect_event(w, "workflow_deleted", "workflow:" + slug)
                self.assertEqual(e["data"], {"slug": slug})
                self.assertEqual(w.recv_json(), {"type": "unsubscribed", "channel": "workflow:" + slug})

                # Bob takes the slug: alice's old subscription shows none of his work.
                self.make_workflow(bob, name="x", slug=slug)
                self.make_node(slug, "code", bob, node_id="bobs")
                self.assertNothingFor(w)

        def test_batch_delete_announces_only_what_it_deleted(self):
                _, alice = self.make_user()
                mine = self.make_workflow(alice)["slug"]
                admins = self.make_workflow()["slug"]
                wa, wb = self.ws(alice.token), self.ws(self.admin_key)
                self.subscribe(wa, "workflow:" + mine)
                self.subscribe(wb, "workflow:" + admins)
                r = alice.post("/workflows/batch-delete/", {"slugs": [mine, admins]})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body, {"deleted": 1})
                self.expect_event(wa, "workflow_deleted", "workflow:" + mine)
                self.assertNothingFor(wb)


class SlowClientTest(WebSocketTestCase):
        EVENTS = 40
        # Each event carries this much: a few fill the per-client queue (1 MiB).
        BLOB = 250 * 1024

        def test_a_client_that_stops_reading_is_dropped(self):
                slug = self.make_workflow()["slug"]
                channel = "workflow:" + slug
                self.make_node(slug, "code", node_id="big")
                slow = self.ws(self.admin_key, rcvbuf=4096)
                fast = self.ws(self.admin_key)
                self.subscribe(slow, channel)
                self.subscribe(fast, channel)

                got, errors = [], []

                def read_fast():
                        try:
                                for _ in range(self.EVENTS):
                                        got.append(fast.recv_json(30)["data"]["config"]["extra_config"]["n"])
                        except Exception as e:  # reported below
                                errors.append(e)

                reader = threading.Thread(target=read_fast)
                reader.start()
                started = time.monotonic()
                for i in range(self.EVENTS):
                        r = self.admin.patch("/workflows/%s/nodes/big/" % slug,
                                             {"config": {"extra_config": {"n": i, "blob": "x" * self.BLOB}}})
                        self.assertEqual(r.status, 200, r)
                reader.join(60)
                self.assertFalse(reader.is_alive())
                self.assertEqual(errors, [])
                # The client that kept reading got everything, in order.
                self.assertEqual(got, list(range(self.EVENTS)))
                self.assertHealthy()
                self.assertLess(time.monotonic() - started, 60)

                # The slow one finds its stream ended early: what the kernel had buffered, then
                # the end, far short of every event.
                n = 0
                with self.assertRaises(Closed):
                        while True:
                                slow.recv_message(timeout=10)
                                n += 1
                self.assertLess(n, self.EVENTS)
                self.assertIn("Dropping WebSocket client", self.daemon.log())

                # The daemon still serves new clients.
                w = self.ws(self.admin_key)
                self.subscribe(w, channel)


class HeartbeatTest(WebSocketTestCase):
        daemon_env = {"PIPELIT_WEBSOCKET_PING_SEC": "1", "PIPELIT_WEBSOCKET_PONG_TIMEOUT_SEC": "1"}

        def test_silent_client_is_pinged_and_answering_keeps_it(self):
                w = self.ws(self.admin_key)
                deadline = time.monotonic() + 3.5
                pings = 0
                while time.monotonic() < deadline:
                        m = w.recv_json(5)
                        self.assertEqual(m, {"type": "ping"})
                        pings += 1
                        w.send_json({"type": "pong"})
                self.assertGreaterEqual(pings, 2)
                # Still open and working.
                self.subscribe(w, "workflow:" + self.make_workflow()["slug"])

        def test_client_without_pong_is_closed(self):
                w = self.ws(self.admin_key)
                started = time.monotonic()
                self.assertEqual(w.recv_json(5), {"type": "ping"})
                self.assertEqual(w.wait_closed(5), 1008)
                self.assertLess(time.monotonic() - started, 4.5)

        def test_any_message_counts_as_alive(self):
                w = self.ws(self.admin_key)
                slug = self.make_workflow()["slug"]
                for _ in range(6):
                        time.sleep(0.4)
                        self.subscribe(w, "workflow:" + slug)

        def test_revoked_key_is_closed_at_the_next_heartbeat(self):
                r = self.admin.post("/users/me/keys/", {"name": unique("ws")})
                key, key_id = r.body["key"], r.body["id"]
                w = self.ws(key)
                self.assertEqual(self.admin.delete("/users/me/keys/%d/" % key_id).status, 204)
                self.assertEqual(w.wait_closed(5), 1008)
                self.assertIn("no longer valid", w.close_reason)

        def test_revoked_key_is_closed_even_when_the_client_keeps_talking(self):
                r = self.admin.post("/users/me/keys/", {"name": unique("ws")})
                key, key_id = r.body["key"], r.body["id"]
                w = self.ws(key)
                self.assertEqual(self.admin.delete("/users/me/keys/%d/" % key_id).status, 204)
                deadline = time.monotonic() + 5
                with self.assertRaises(Closed) as closed:
                        while time.monotonic() < deadline:
                                try:
                                        w.send_json({"type": "ping"})
                                except OSError:  # closed meanwhile: the close frame is read next
                                        pass
                                self.assertEqual(w.recv_json(5), {"type": "pong"})
                                time.sleep(0.2)
                self.assertEqual(closed.exception.code, 1008)


class ExecutionEventTest(WebSocketTestCase):
        def test_execution_channel_sees_node_status(self):
                slug = self.make_workflow()["slug"]
                self.make_node(slug, "trigger_manual", node_id="trig")
                self.make_node(slug, "wait", node_id="pause", config={"extra_config": {"duration": 1}})
                self.make_node(slug, "transform", node_id="after", config={"extra_config": {"program": "1 + 1"}})
                self.make_edge(slug, "trig", "pause")
                self.make_edge(slug, "pause", "after")

                wf = self.ws(self.admin_key)
                self.subscribe(wf, "workflow:" + slug)
                r = self.admin.post("/workflows/%s/execute/" % slug, {"text": "go"})
                self.assertEqual(r.status, 202, r)
                execution_id = r.body["execution_id"]
                channel = "execution:" + execution_id
                ex = self.ws(self.admin_key)
                self.subscribe(ex, channel)

                # Someone else may not watch it.
                _, alice = self.make_user()
                wa = self.ws(alice.token)
                wa.send_json({"type": "subscribe", "channel": channel})
                self.assertEqual(wa.recv_json(), {"type": "error", "channel": channel,
                                                  "detail": "Execution not found."})

                # The node after the wait runs while we watch; the run ends completed.
                statuses = []
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                        e = ex.recv_json(20)
                        self.assertEqual(e["channel"], channel, e)
                        self.assertEqual(e["execution_id"], execution_id, e)
                        if e["type"] == "node_status":
                                statuses.append((e["data"]["node_id"], e["data"]["status"]))
                        if e["type"] in ("execution_completed", "execution_failed"):
                                break
                self.assertEqual(e["type"], "execution_completed", e)
                self.assertIn(("after", "running"), statuses)
                self.assertIn(("after", "success"), statuses)

                # The workflow channel carried the same run, from its start.
                types = []
                while "execution_completed" not in types:
                        e = wf.recv_json(20)
                        self.assertEqual(e["channel"], "workflow:" + slug, e)
                        types.append(e["type"])
                self.assertEqual(types[0], "execution_started")
                self.assertIn("node_status", types)


class IdleExitTest(unittest.TestCase):
        def test_socket_activated_daemon_stays_while_a_client_is_connected(self):
                tool = shutil.which("systemd-socket-activate")
                if not tool:
                        self.skipTest("systemd-socket-activate is not installed")
                d = Daemon(listen=False)
                self.addCleanup(d.cleanup)
                d.create_admin()
                argv = [tool, "-l", "127.0.0.1:%d" % d.port, "--fdname=http",
                        "-E", "PIPELIT_IDLE_TIMEOUT_SEC=1"] + d.command()
                d.start(argv=argv)
                key = d.login()
                w = WebSocket("127.0.0.1", d.port, "/ws/?token=" + key)
                self.addCleanup(w.shutdown)
                self.assertIsNone(d.wait(2.5), "exited with a WebSocket client connected:\n" + d.log())
                w.close()
                left = time.monotonic()
                self.assertEqual(d.wait(10), 0, d.log())
                # Idle counts from the client's leaving.
                self.assertGreaterEqual(time.monotonic() - left, 0.5)
                self.assertIn("Idle for 1 s", d.log())


class ShutdownTest(unittest.TestCase):
        def test_sigterm_with_clients_connected(self):
                d = Daemon()
                self.addCleanup(d.cleanup)
                d.create_admin()
                d.start()
                key = d.login()
                slug = d.client(key).post("/workflows/", {"name": "w"}).body["slug"]
                clients = [WebSocket("127.0.0.1", d.port, "/ws/?token=" + key) for _ in range(3)]
                for w in clients:
                        self.addCleanup(w.shutdown)
                        w.send_json({"type": "subscribe", "channel": "workflow:" + slug})
                        self.assertEqual(w.recv_json(5)["type"], "subscribed")
                started = time.monotonic()
                self.assertEqual(d.stop(timeout=10, check=False), 0, d.log())
                self.assertLess(time.monotonic() - started, 5)
                for w in clients:
                        w.wait_closed(5)
