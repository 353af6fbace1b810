"""The HTTP triggers end to end: webhooks (secret and signature, async and sync answers,
the payload, timeouts, clients that leave, a stop while a request waits) and the chat
endpoint."""

import glob
import hashlib
import hmac
import json
import signal
import socket
import threading
import time
import unittest

import harness
from harness import unique
from test_executions import EngineTestCase, jq
from wsclient import WebSocket

SECRET = "hook-secret-1"


def signature(body, secret=SECRET):
        return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookTestCase(EngineTestCase):
        def hook_flow(self, nodes, edges, client=None, hook_id="hook", workflow_fields=None,
                      **hook_config):
                """Like flow() but with a trigger_webhook node (extra_config from
                hook_config; path defaults to "in") instead of the manual trigger.
                Returns the slug."""
                client = client or self.admin
                slug = self.make_workflow(client, **(workflow_fields or {}))["slug"]
                hook_config.setdefault("path", "in")
                self.make_node(slug, "trigger_webhook", client, node_id=hook_id,
                               config={"extra_config": hook_config})
                for node_id, component_type, extra in nodes:
                        fields = {"node_id": node_id}
                        if extra is not None:
                                fields["config"] = {"extra_config": extra}
                        self.make_node(slug, component_type, client, **fields)
                for e in edges:
                        fields = dict(e[2]) if len(e) > 2 else {}
                        self.make_edge(slug, e[0], e[1], client, **fields)
                return slug

        def echo_flow(self, **hook_config):
                """hook → reply_chat that says the body's "name"."""
                return self.hook_flow([("reply", "reply_chat", {"message": "hi {{ hook.body.name }}"})],
                                      [("hook", "reply")], **hook_config)

        def hook(self, slug, path="in", body=None, method="POST", headers=None, raw_body=None,
                 query="", client=None):
                url = "/webhooks/%s/%s%s" % (slug, path, "?" + query if query else "")
                return (client or self.anon()).request(method, url, body, headers=headers,
                                                       raw_body=raw_body)

        def payload_of(self, execution_id):
                return self.detail(execution_id)["trigger_payload"]

        def subscribe(self, slug):
                w = WebSocket("127.0.0.1", self.daemon.port, "/ws/?token=" + self.admin_key, timeout=10)
                self.addCleanup(w.shutdown)
                w.send_json({"type": "subscribe", "channel": "workflow:" + slug})
                self.assertEqual(w.recv_json(10), {"type": "subscribed", "channel": "workflow:" + slug})
                return w

        def events_until_end(self, w, execution_id):
                seen = []
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                        e = w.recv_json(max(0.05, deadline - time.monotonic()))
                        if e.get("execution_id") != execution_id:
                                continue
                        seen.append((e["type"], e["data"].get("node_id"), e["data"].get("status")))
                        if e["type"] in ("execution_completed", "execution_failed"):
                                break
                return seen


class WebhookTest(WebhookTestCase):
        def test_async_answers_at_once_then_runs(self):
                slug = self.echo_flow()
                r = self.hook(slug, body={"name": "ada"})
                self.assertEqual(r.status, 202, r)
                self.assertEqual(set(r.body), {"execution_id", "status"})
                self.assertEqual(r.body["status"], "pending")
                status = self.wait_for(r.body["execution_id"])
                self.assertEqual(status["status"], "completed")
                self.assertEqual(status["final_output"], {"output": "hi ada"})
                self.assertEqual(self.detail(r.body["execution_id"])["trigger_node_id"], "hook")

        def test_sync_answers_with_the_final_output(self):
                rules = [{"id": "many", "field": "count.output.kind", "operator": "equals", "value": "many"},
                         {"id": "few", "field": "count.output.kind", "operator": "equals", "value": "few"}]
                slug = self.hook_flow(
                        [("count", "transform",
                          jq("{n: (.trigger.body.items | length), kind: (if (.trigger.body.items | length) > 2 "
                             "then \"many\" else \"few\" end)}")),
                         ("route", "switch", {"rules": rules}),
                         ("many", "reply_chat", {"message": "{{ count.output.n }} is many"}),
                         ("few", "reply_chat", {"message": "{{ count.output.n }} is few"})],
                        [("hook", "count"), ("count", "route"),
                         ("route", "many", {"edge_type": "conditional", "condition_value": "many"}),
                         ("route", "few", {"edge_type": "conditional", "condition_value": "few"})],
                        response_mode="sync")

                r = self.hook(slug, body={"items": [1, 2, 3, 4]})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(set(r.body), {"execution_id", "status", "output", "error", "error_code"})
                self.assertEqual(r.body["status"], "completed")
                self.assertEqual(r.body["output"], {"output": "4 is many"})
                self.assertIsNone(r.body["error"])
                self.assertEqual(self.wait_for(r.body["execution_id"])["status"], "completed")

                r = self.hook(slug, body={"items": [1]})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["output"], {"output": "1 is few"})

        def test_sync_reports_a_failed_execution(self):
                slug = self.hook_flow([("reply", "reply_chat", {"message": "{{ nowhere.output }}"})],
                                      [("hook", "reply")], response_mode="sync")
                r = self.hook(slug, body={})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["status"], "failed")
                self.assertIsNone(r.body["output"])
                self.assertEqual(r.body["error_code"], "template")
                self.assertIn("nowhere", r.body["error"])

        def test_sync_keeps_the_connection_alive(self):
                slug = self.echo_flow(response_mode="sync")
                client = self.anon()
                self.addCleanup(client.close)
                r = self.hook(slug, body={"name": "one"}, client=client)
                self.assertEqual(r.status, 200, r)
                sock = client.conn.sock
                self.assertIsNotNone(sock)
                r = self.hook(slug, body={"name": "two"}, client=client)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["output"], {"output": "hi two"})
                r = client.get("/health")
                self.assertEqual(r.status, 200, r)
                self.assertIs(client.conn.sock, sock, "the connection was not kept alive")

        def test_sync_timeout_answers_202_and_the_run_goes_on(self):
                slug = self.hook_flow([("pause", "wait", {"duration": 3}),
                                       ("reply", "reply_chat", {"message": "done"})],
                                      [("hook", "pause"), ("pause", "reply")],
                                      response_mode="sync", sync_timeout_seconds=1)
                started = time.monotonic()
                r = self.hook(slug, body={})
                elapsed = time.monotonic() - started
                self.assertEqual(r.status, 202, r)
                self.assertEqual(set(r.body), {"execution_id", "status"})
                self.assertEqual(r.body["status"], "running")
                self.assertGreaterEqual(elapsed, 0.9)
                self.assertLess(elapsed, 2.5)
                status = self.wait_for(r.body["execution_id"])
                self.assertEqual(status["final_output"], {"output": "done"})

        def test_secret_header(self):
                slug = self.echo_flow(secret=SECRET)
                r = self.hook(slug, body={"name": "x"}, headers={"X-Pipelit-Secret": SECRET})
                self.assertEqual(r.status, 202, r)
                for headers in ({}, {"X-Pipelit-Secret": "wrong"}, {"X-Pipelit-Secret": SECRET + "x"},
                                {"X-Pipelit-Secret": ""}, {"Authorization": "Bearer " + self.admin_key}):
                        r = self.hook(slug, body={"name": "x"}, headers=headers)
                        self.assertEqual(r.status, 401, (headers, r))
                        self.assertEqual(r.body, {"detail": "Webhook authentication failed."})
                # Nothing ran for the refused requests.
                r = self.admin.get("/executions/?workflow_slug=%s" % slug)
                self.assertEqual(r.body["total"], 1, r)

        def hook_node(self, slug):
                r = self.admin.get("/workflows/%s/nodes/" % slug)
                self.assertEqual(r.status, 200, r)
                return [n for n in r.body if n["node_id"] == "hook"][0]

        def stored_text(self):
                """What the database holds, as text: the SQLite files (WAL included) or a dump."""
                if harness.BACKEND == "postgresql":
                        pg = harness.postgres()
                        p = pg._run("pg_dump", "-h", pg.sockdir, "-p", str(pg.port), "-U", "postgres",
                                    "--data-only", self.daemon.database_name)
                        return p.stdout.decode("utf-8", "replace")
                data = b""
                for path in sorted(glob.glob(self.daemon.database_name + "*")):
                        with open(path, "rb") as f:
                                data += f.read()
                return data.decode("latin-1")

        def test_the_secret_is_sealed_and_never_answered(self):
                secret = unique("hook-secret-never-shown-")
                slug = self.echo_flow(secret=secret)
                node = self.hook_node(slug)
                self.assertEqual(node["config"]["extra_config"]["secret"], "****", node)
                for path in ("/workflows/%s/" % slug, "/workflows/%s/nodes/" % slug,
                             "/workflows/%s/export/" % slug):
                        r = self.admin.get(path)
                        self.assertEqual(r.status, 200, r)
                        self.assertNotIn(secret, r.raw.decode("utf-8", "replace"), path)
                        self.assertIn("****", r.raw.decode("utf-8", "replace"), path)
                self.assertNotIn(secret, self.stored_text())
                self.assertNotIn(secret, self.daemon.log())
                # It still guards the webhook.
                r = self.hook(slug, body={"name": "x"}, headers={"X-Pipelit-Secret": secret})
                self.assertEqual(r.status, 202, r)
                r = self.hook(slug, body={"name": "x"}, headers={"X-Pipelit-Secret": "****"})
                self.assertEqual(r.status, 401, r)

        def test_patch_keeps_or_replaces_the_secret(self):
                slug = self.echo_flow(secret=SECRET)
                # Sent back as answered (the mask), or not touched: the secret stays.
                extra = self.hook_node(slug)["config"]["extra_config"]
                extra["response_mode"] = "async"
                r = self.admin.patch("/workflows/%s/nodes/hook/" % slug, {"config": {"extra_config": extra}})
                self.assertEqual(r.status, 200, r)
                r = self.admin.patch("/workflows/%s/nodes/hook/" % slug, {"label": "Hook"})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(self.hook(slug, body={}, headers={"X-Pipelit-Secret": SECRET}).status, 202)
                # A new one replaces it.
                extra["secret"] = "hook-secret-2"
                r = self.admin.patch("/workflows/%s/nodes/hook/" % slug, {"config": {"extra_config": extra}})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["config"]["extra_config"]["secret"], "****")
                self.assertEqual(self.hook(slug, body={}, headers={"X-Pipelit-Secret": SECRET}).status, 401)
                self.assertEqual(self.hook(slug, body={}, headers={"X-Pipelit-Secret": "hook-secret-2"}).status, 202)
                # The mask is no secret for a node that has none.
                plain = self.echo_flow()
                extra = {"path": "in", "secret": "****"}
                r = self.admin.patch("/workflows/%s/nodes/hook/" % plain, {"config": {"extra_config": extra}})
                self.assertEqual(r.status, 422, r)
                self.assertIn("secret", r.body["detail"])
                self.assertHealthy()

        def test_an_export_does_not_carry_the_secret(self):
                slug = self.echo_flow(secret=SECRET)
                doc = self.admin.get("/workflows/%s/export/" % slug).body
                r = self.admin.post("/workflows/import/", doc)
                self.assertEqual(r.status, 422, r)
                self.assertIn("secret", r.body["detail"])
                # With the secret given again it imports, and the copy checks it.
                for node in doc["nodes"]:
                        if node["component_type"] == "trigger_webhook":
                                node["config"]["extra_config"]["secret"] = "copy-secret"
                r = self.admin.post("/workflows/import/", doc)
                self.assertEqual(r.status, 201, r)
                copy = r.body["slug"]
                self.assertEqual(self.hook(copy, body={}, headers={"X-Pipelit-Secret": "copy-secret"}).status, 202)
                self.assertEqual(self.hook(copy, body={}, headers={"X-Pipelit-Secret": SECRET}).status, 401)

        def test_hmac_signature(self):
                slug = self.echo_flow(secret=SECRET)
                body = json.dumps({"name": "signed"}).encode()
                r = self.hook(slug, raw_body=body, headers={"X-Pipelit-Signature": signature(body)})
                self.assertEqual(r.status, 202, r)
                self.assertEqual(self.wait_for(r.body["execution_id"])["final_output"], {"output": "hi signed"})
                # Upper-case hex and prefix are the same signature.
                r = self.hook(slug, raw_body=body,
                              headers={"X-Pipelit-Signature": "SHA256=" + signature(body)[7:].upper()})
                self.assertEqual(r.status, 202, r)

                bad = [signature(body, "other-secret"), signature(body + b" "), signature(body)[7:],
                       "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest(),
                       "sha256=zz", "sha256=" + signature(body)[7:-2], ""]
                for value in bad:
                        r = self.hook(slug, raw_body=body, headers={"X-Pipelit-Signature": value})
                        self.assertEqual(r.status, 401, (value, r))
                        self.assertEqual(r.body, {"detail": "Webhook authentication failed."})
                # The signature covers the body actually sent.
                r = self.hook(slug, raw_body=b'{"name": "forged"}', headers={"X-Pipelit-Signature": signature(body)})
                self.assertEqual(r.status, 401, r)

        def test_without_a_secret_anyone_may_call(self):
                slug = self.echo_flow()
                r = self.hook(slug, body={"name": "x"}, headers={"X-Pipelit-Secret": "anything"})
                self.assertEqual(r.status, 202, r)

        def test_unknown_and_inactive_answer_404(self):
                slug = self.echo_flow(secret=SECRET)
                headers = {"X-Pipelit-Secret": SECRET}
                for s, path in ((slug, "out"), (slug, "in/deeper"), ("no-such-workflow", "in"), ("Bad-Slug", "in")):
                        r = self.hook(s, path, body={}, headers=headers)
                        self.assertEqual(r.status, 404, (s, path, r))
                        self.assertEqual(r.body, {"detail": "Webhook not found."})

                r = self.admin.patch("/workflows/%s/" % slug, {"is_active": False})
                self.assertEqual(r.status, 200, r)
                r = self.hook(slug, body={}, headers=headers)
                self.assertEqual(r.status, 404, r)
                self.assertEqual(r.body, {"detail": "Webhook not found."})
                r = self.admin.patch("/workflows/%s/" % slug, {"is_active": True})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(self.hook(slug, body={}, headers=headers).status, 202)

                r = self.admin.patch("/workflows/%s/nodes/hook/" % slug, {"config": {"is_active": False}})
                self.assertEqual(r.status, 200, r)
                r = self.hook(slug, body={}, headers=headers)
                self.assertEqual(r.status, 404, r)

        def test_other_methods_are_refused(self):
                slug = self.echo_flow()
                r = self.hook(slug, method="PUT", body={})
                self.assertEqual(r.status, 405, r)
                self.assertIn("POST", r.headers.get("Allow"))
                self.assertIn("GET", r.headers.get("Allow"))

        def test_payload_carries_the_request_without_credentials(self):
                slug = self.echo_flow(secret=SECRET)
                body = json.dumps({"name": "p", "list": [1, 2]}).encode()
                r = self.hook(slug, raw_body=body, query="a=1&b=x%26y&b=2&c=%2541&d=a+b&e=&f",
                              headers={"X-Pipelit-Signature": signature(body),
                                       "X-Pipelit-Secret": SECRET,
                                       "Authorization": "Bearer something",
                                       "Cookie": "session=1",
                                       "X-GitHub-Event": "push",
                                       "User-Agent": "hook-test/1.0",
                                       "Content-Type": "application/json; charset=utf-8"})
                self.assertEqual(r.status, 202, r)
                payload = self.payload_of(r.body["execution_id"])
                self.assertEqual(set(payload), {"method", "path", "query", "headers", "body"})
                self.assertEqual(payload["method"], "POST")
                self.assertEqual(payload["path"], "in")
                self.assertEqual(payload["query"], {"a": "1", "b": ["x&y", "2"], "c": "%41", "d": "a b",
                                                    "e": "", "f": ""})
                self.assertEqual(payload["body"], {"name": "p", "list": [1, 2]})
                headers = payload["headers"]
                self.assertEqual(headers["x-github-event"], "push")
                self.assertEqual(headers["user-agent"], "hook-test/1.0")
                self.assertEqual(headers["content-type"], "application/json; charset=utf-8")
                for name in headers:
                        self.assertEqual(name, name.lower())
                for name in ("authorization", "cookie", "x-pipelit-secret", "x-pipelit-signature"):
                        self.assertNotIn(name, headers)
                self.assertNotIn(SECRET, json.dumps(payload))

        def test_bodies_that_are_not_json_are_text(self):
                slug = self.echo_flow()
                r = self.hook(slug, raw_body=b"name=ada&x=1",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
                self.assertEqual(r.status, 202, r)
                self.assertEqual(self.payload_of(r.body["execution_id"])["body"], "name=ada&x=1")
                # JSON that does not parse is kept as it came.
                r = self.hook(slug, raw_body=b'{"name": ', headers={"Content-Type": "application/json"})
                self.assertEqual(r.status, 202, r)
                self.assertEqual(self.payload_of(r.body["execution_id"])["body"], '{"name": ')
                # Any JSON value, with a +json type.
                r = self.hook(slug, raw_body=b'[1, "two"]', headers={"Content-Type": "application/vnd.api+json"})
                self.assertEqual(r.status, 202, r)
                self.assertEqual(self.payload_of(r.body["execution_id"])["body"], [1, "two"])
                r = self.hook(slug, raw_body=b"\xff\xfe binary", headers={"Content-Type": "application/octet-stream"})
                self.assertEqual(r.status, 415, r)

        def test_get_webhook(self):
                slug = self.hook_flow([("reply", "reply_chat", {"message": "{{ hook.method }} {{ hook.query.who }}"})],
                                      [("hook", "reply")], path="/ping/", response_mode="sync")
                r = self.hook(slug, "ping", method="GET", query="who=me")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["output"], {"output": "GET me"})
                payload = self.payload_of(r.body["execution_id"])
                self.assertIsNone(payload["body"])
                self.assertEqual(payload["path"], "ping")

        def test_path_of_several_segments(self):
                slug = self.echo_flow(path="github/push")
                r = self.hook(slug, "github/push", body={"name": "deep"})
                self.assertEqual(r.status, 202, r)
                self.assertEqual(self.payload_of(r.body["execution_id"])["path"], "github/push")
                self.assertEqual(self.hook(slug, "github", body={}).status, 404)

        def test_the_run_belongs_to_the_workflow_owner(self):
                user, client = self.make_user()
                slug = self.hook_flow([("reply", "reply_chat", {"message": "ok"})], [("hook", "reply")],
                                      client=client, response_mode="sync")
                r = self.hook(slug, body={})
                self.assertEqual(r.status, 200, r)
                r = client.get("/executions/%s/" % r.body["execution_id"])
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["status"], "completed")

        def test_client_leaving_during_a_sync_wait(self):
                slug = self.hook_flow([("pause", "wait", {"duration": 1}),
                                       ("reply", "reply_chat", {"message": "late"})],
                                      [("hook", "pause"), ("pause", "reply")],
                                      response_mode="sync", sync_timeout_seconds=10)
                body = b"{}"
                request = ("POST /api/v1/webhooks/%s/in HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           "Content-Length: %d\r\n\r\n" % (slug, len(body))).encode() + body
                for _ in range(3):
                        s = self.anon().raw_socket()
                        s.sendall(request)
                        time.sleep(0.2)
                        s.close()
                # The daemon keeps serving meanwhile and afterwards.
                self.assertHealthy()
                deadline = time.monotonic() + 15
                while True:
                        r = self.admin.get("/executions/?workflow_slug=%s" % slug)
                        if [e["status"] for e in r.body["items"]] == ["completed"] * 3:
                                break
                        self.assertLess(time.monotonic(), deadline, r)
                        time.sleep(0.1)
                self.assertHealthy()
                r = self.hook(slug, body={})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["output"], {"output": "late"})

        def test_request_pipelined_behind_a_sync_wait(self):
                # libwebsockets cannot serve a request pipelined behind one that waits: the
                # connection is closed, nothing runs twice and the daemon goes on serving.
                slug = self.hook_flow([("pause", "wait", {"duration": 1}),
                                       ("reply", "reply_chat", {"message": "once"})],
                                      [("hook", "pause"), ("pause", "reply")], response_mode="sync")
                s = self.anon().raw_socket()
                s.sendall(("GET /api/v1/webhooks/%s/in HTTP/1.1\r\nHost: x\r\n\r\n"
                           "GET /health HTTP/1.1\r\nHost: x\r\n\r\n" % slug).encode())
                s.settimeout(5)
                try:
                        data = s.recv(65536)
                except ConnectionResetError:
                        data = b""
                finally:
                        s.close()
                self.assertEqual(data, b"")
                self.assertHealthy()
                # A sync webhook's execution is created on a worker: it shows up shortly.
                deadline = time.monotonic() + 10
                items = []
                while not items and time.monotonic() < deadline:
                        items = self.admin.get("/executions/?workflow_slug=%s" % slug).body["items"]
                        time.sleep(0.05)
                self.assertEqual(len(items), 1, items)
                self.wait_for(items[0]["execution_id"])
                r = self.admin.get("/executions/?workflow_slug=%s" % slug)
                self.assertEqual([e["status"] for e in r.body["items"]], ["completed"], r)

        def test_many_sync_requests_at_once(self):
                slug = self.echo_flow(response_mode="sync")
                results = [None] * 16

                def call(i):
                        results[i] = self.hook(slug, body={"name": str(i)})

                threads = [threading.Thread(target=call, args=(i,)) for i in range(len(results))]
                for t in threads:
                        t.start()
                for t in threads:
                        t.join(30)
                for i, r in enumerate(results):
                        self.assertIsNotNone(r)
                        self.assertEqual(r.status, 200, r)
                        self.assertEqual(r.body["output"], {"output": "hi %d" % i})


class SyncFirstNodeTest(WebhookTestCase):
        """A sync webhook whose first node is pure or quick runs that node before its
        execution exists and creates the execution in the transaction that records it. What
        a user sees must not change: the events in order, the execution in the API while a
        slow first node runs, a failure of that node recorded, the deadline kept."""

        def in_background(self, call):
                result = {}
                t = threading.Thread(target=lambda: result.setdefault("r", call()))
                t.start()
                self.addCleanup(t.join, 30)
                return t, result

        def test_events_and_records_of_a_sync_run(self):
                slug = self.hook_flow([("count", "transform", jq("{n: (.trigger.body.items | length)}")),
                                       ("say", "reply_chat", {"message": "{{ count.output.n }} items"})],
                                      [("hook", "count"), ("count", "say")], response_mode="sync")
                w = self.subscribe(slug)

                r = self.hook(slug, body={"items": [1, 2]})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["output"], {"output": "2 items"})
                execution_id = r.body["execution_id"]
                self.assertEqual(self.events_until_end(w, execution_id), [
                        ("execution_started", None, None),
                        ("node_status", "count", "running"), ("node_status", "count", "success"),
                        ("node_status", "say", "running"), ("node_status", "say", "success"),
                        ("execution_completed", None, None)])
                detail = self.detail(execution_id)
                self.assertEqual(detail["status"], "completed")
                self.assertLessEqual(detail["started_at"], detail["completed_at"])
                self.assertEqual(detail["trigger_payload"]["body"], {"items": [1, 2]})
                self.assertEqual({n["node_id"]: n["status"] for n in detail["node_runs"]},
                                 {"count": "done", "say": "done"})
                count = self.logs_of(detail, "count")
                self.assertEqual([(l["status"], l["metadata"]["attempt"]) for l in count], [("completed", 1)])
                self.assertEqual(count[0]["output"], {"output": {"n": 2}})

        def test_a_slow_first_node_shows_in_the_api_while_it_runs(self):
                slug = self.hook_flow([("slow", "transform",
                                        jq("{sum: (reduce range(0; 3000000) as $i (0; . + $i))}"))],
                                      [("hook", "slow")], response_mode="sync", sync_timeout_seconds=60)
                t, result = self.in_background(lambda: self.hook(slug, body={}, client=self.anon()))

                deadline = time.monotonic() + 10
                items = []
                while not items and time.monotonic() < deadline:
                        items = self.admin.get("/executions/?workflow_slug=%s" % slug).body["items"]
                        time.sleep(0.02)
                self.assertEqual(len(items), 1, "the execution never showed while its first node ran")
                running = self.detail(items[0]["execution_id"])
                self.assertEqual(running["status"], "running", running)
                self.assertIsNotNone(running["started_at"], running)
                self.assertEqual(self.run_status(running, "slow"), "running", running)

                t.join(30)
                r = result["r"]
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["execution_id"], items[0]["execution_id"])
                self.assertEqual(r.body["output"], {"node_outputs": {"slow": {"output": {"sum": 4499998500000}}}})
                detail = self.detail(r.body["execution_id"])
                self.assertEqual([l["metadata"]["attempt"] for l in self.logs_of(detail, "slow")], [1])

        def test_a_failing_first_node_is_recorded(self):
                slug = self.hook_flow([("bad", "transform", dict(jq('error("no items")'), retries=0))],
                                      [("hook", "bad")], response_mode="sync")
                r = self.hook(slug, body={})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["status"], "failed")
                self.assertIn("no items", r.body["error"])
                detail = self.detail(r.body["execution_id"])
                self.assertEqual(detail["status"], "failed")
                self.assertEqual(self.run_status(detail, "bad"), "failed")
                self.assertEqual([l["status"] for l in self.logs_of(detail, "bad")], ["failed"])

        def test_the_deadline_stops_a_slow_first_node(self):
                slug = self.hook_flow([("slow", "transform",
                                        jq("{sum: (reduce range(0; 100000000) as $i (0; . + $i))}"))],
                                      [("hook", "slow")], response_mode="sync", sync_timeout_seconds=30,
                                      workflow_fields={"max_execution_seconds": 1})
                started = time.monotonic()
                r = self.hook(slug, body={})
                self.assertLess(time.monotonic() - started, 10)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["status"], "failed")
                self.assertEqual(r.body["error_code"], "timeout")
                self.assertHealthy()


class UnkeptSyncRunTest(WebhookTestCase):
        """A sync run of a workflow that keeps nothing of its successful runs stays in memory
        while its nodes are quick, and only a success's summary is stored. Each flow here runs
        twice, once kept and once not: the answer and the events must be the same, and the
        unkept run must keep exactly what keep_successful "none" promises — its summary when
        it succeeds, everything when it fails."""

        KEEP = {"all": {}, "none": {"retention": {"keep_successful": "none"}}}

        def run_kept_and_not(self, nodes, edges, body):
                """{"all": (answer, events, detail), "none": …} of one run of the flow each way."""
                runs = {}
                for keep, settings in self.KEEP.items():
                        slug = self.hook_flow(nodes, edges, workflow_fields={"settings": settings},
                                              response_mode="sync")
                        w = self.subscribe(slug)
                        r = self.hook(slug, body=body)
                        self.assertEqual(r.status, 200, r)
                        execution_id = r.body.pop("execution_id")
                        runs[keep] = (r.body, self.events_until_end(w, execution_id), self.detail(execution_id))
                self.assertEqual(runs["none"][0], runs["all"][0])
                self.assertEqual(runs["none"][1], runs["all"][1])
                return runs

        def assertSummaryOnly(self, detail, kept):
                self.assertEqual((detail["logs"], detail["node_runs"], detail["trigger_payload"]), ([], [], None))
                for field in ("status", "final_output", "trigger_node_id", "error_message", "total_tokens"):
                        self.assertEqual(detail[field], kept[field], field)
                self.assertLessEqual(detail["started_at"], detail["completed_at"])

        def test_a_success_stores_its_summary(self):
                rules = [{"id": "many", "field": "count.output.n", "operator": "gt", "value": 2}]
                runs = self.run_kept_and_not(
                        [("count", "transform", jq("{n: (.trigger.body.items | length)}")),
                         ("route", "switch", {"rules": rules, "enable_fallback": True}),
                         ("many", "reply_chat", {"message": "{{ count.output.n }} is many"}),
                         ("few", "reply_chat", {"message": "few"})],
                        [("hook", "count"), ("count", "route"),
                         ("route", "many", {"edge_type": "conditional", "condition_value": "many"}),
                         ("route", "few", {"edge_type": "conditional", "condition_value": "__other__"})],
                        {"items": [1, 2, 3]})
                answer, events, detail = runs["none"]
                self.assertEqual(answer["output"], {"output": "3 is many"})
                self.assertEqual(events[0], ("execution_started", None, None))
                self.assertIn(("node_status", "few", "skipped"), events)
                self.assertEqual(events[-1], ("execution_completed", None, None))
                self.assertSummaryOnly(detail, runs["all"][2])
                self.assertEqual(len(runs["all"][2]["logs"]), 3)

        def test_a_fan_in_waits_for_every_parent(self):
                runs = self.run_kept_and_not(
                        [("count", "transform", jq("{n: 2}")),
                         ("a", "reply_chat", {"message": "A"}), ("b", "reply_chat", {"message": "B"}),
                         ("join", "merge", {"mode": "append"}),
                         ("say", "reply_chat", {"message": "{{ join.merged | join(',') }}"})],
                        [("hook", "count"), ("count", "a"), ("count", "b"), ("a", "join"), ("b", "join"),
                         ("join", "say")], {})
                self.assertEqual(runs["none"][0]["output"], {"output": "A,B"})
                self.assertEqual([e for e in runs["none"][1] if e[1] == "join"],
                                 [("node_status", "join", "running"), ("node_status", "join", "success")])
                self.assertSummaryOnly(runs["none"][2], runs["all"][2])

        def test_a_failure_is_stored_whole(self):
                runs = self.run_kept_and_not(
                        [("count", "transform", jq("{n: 1}")),
                         ("say", "reply_chat", {"message": "{{ count.output.nothere.x }}"})],
                        [("hook", "count"), ("count", "say")], {"items": []})
                answer, events, detail = runs["none"]
                self.assertEqual(answer["status"], "failed")
                self.assertEqual(events[-1], ("execution_failed", None, None))
                self.assertEqual(detail["trigger_payload"]["body"], {"items": []})
                self.assertEqual({n["node_id"]: (n["status"], n["attempt"]) for n in detail["node_runs"]},
                                 {"count": ("done", 1), "say": ("failed", 1)})
                self.assertEqual([(l["node_id"], l["status"]) for l in detail["logs"]],
                                 [("count", "completed"), ("say", "failed")])

        def test_runs_at_once_are_all_stored(self):
                """Summaries are stored in batches by whichever worker comes first: every
                answer still comes after its run is in the database, with its own output."""
                slug = self.hook_flow([("count", "transform", jq("{n: (.trigger.body.items | length)}")),
                                       ("say", "reply_chat", {"message": "{{ count.output.n }} items"})],
                                      [("hook", "count"), ("count", "say")],
                                      workflow_fields={"settings": self.KEEP["none"]}, response_mode="sync")
                answers = {}

                def post(n):
                        r = self.hook(slug, body={"items": list(range(n))})
                        answers[n] = (r.status, r.body)
                        # Answered only once stored: the API knows it at once.
                        if r.status == 200:
                                admin = self.daemon.client(self.admin_key)
                                answers[n] += (admin.get("/executions/%s/status/" % r.body["execution_id"]).body,)

                threads = [threading.Thread(target=post, args=(n,)) for n in range(40)]
                for t in threads:
                        t.start()
                for t in threads:
                        t.join(60)
                for n in range(40):
                        status, body, stored = answers[n]
                        self.assertEqual(status, 200, body)
                        self.assertEqual(body["output"], {"output": "%d items" % n})
                        self.assertEqual((stored["status"], stored["final_output"]), ("completed", body["output"]))
                listed = self.admin.get("/executions/?workflow_slug=%s&limit=100" % slug).body
                self.assertEqual(listed["total"], 40)
                self.assertEqual({e["status"] for e in listed["items"]}, {"completed"})

        def test_a_node_that_waits_is_stored_then_dropped(self):
                runs = self.run_kept_and_not(
                        [("count", "transform", jq("{n: 2}")),
                         ("route", "switch", {"rules": [], "enable_fallback": True}),
                         ("pause", "wait", {"duration": 0.2}),
                         ("say", "reply_chat", {"message": "{{ count.output.n }} after a pause"})],
                        [("hook", "count"), ("count", "route"),
                         ("route", "pause", {"edge_type": "conditional", "condition_value": "__other__"}),
                         ("pause", "say")], {})
                answer, events, detail = runs["none"]
                self.assertEqual(answer["output"], {"output": "2 after a pause"})
                # Every node announced once: nothing of the try in memory shows.
                self.assertEqual([e[1] for e in events if e[2] == "running"], ["count", "route", "pause", "say"])
                self.assertSummaryOnly(detail, runs["all"][2])


class WebhookDeletedTest(WebhookTestCase):
        """A workflow deleted while sync webhook runs of it go on: every request gets its
        run's output or a 404, and nothing is left running."""

        def run_while_deleting(self, settings):
                slug = self.hook_flow([("count", "transform", jq("{n: (.trigger.body.items | length)}")),
                                       ("say", "reply_chat", {"message": "{{ count.output.n }} items"})],
                                      [("hook", "count"), ("count", "say")],
                                      workflow_fields={"settings": settings}, response_mode="sync")
                answers = []
                deleted = threading.Event()

                def post(n):
                        # Until a while after the deletion: those sent later must find nothing.
                        after = 0
                        while after < 5:
                                gone = deleted.is_set()
                                r = self.hook(slug, body={"items": list(range(n))})
                                answers.append((n, gone, r))
                                after += gone

                threads = [threading.Thread(target=post, args=(n,)) for n in range(1, 5)]
                for t in threads:
                        t.start()
                deadline = time.monotonic() + 20
                while len(answers) < 40:
                        self.assertLess(time.monotonic(), deadline)
                        time.sleep(0.01)
                r = self.admin.delete("/workflows/%s/" % slug)
                self.assertEqual(r.status, 204, r)
                deleted.set()
                for t in threads:
                        t.join(30)

                for n, gone, r in answers:
                        if r.status == 200:
                                self.assertFalse(gone, r)
                                self.assertEqual(r.body["output"], {"output": "%d items" % n}, r)
                        else:
                                self.assertEqual((r.status, r.body), (404, {"detail": "Webhook not found."}), r)
                self.assertGreaterEqual(sum(r.status == 200 for _, _, r in answers), 40)
                self.assertTrue(all(r.status == 404 for _, gone, r in answers if gone))
                # A run cut short by the deletion is no error of the daemon's.
                self.assertNotIn("Cannot store execution", self.daemon.log())
                self.assertHealthy()
                deadline = time.monotonic() + 10
                while self.admin.get("/executions/?status=running").body["total"] > 0:
                        self.assertLess(time.monotonic(), deadline, "runs left running")
                        time.sleep(0.05)

        def test_runs_kept(self):
                self.run_while_deleting({})

        def test_runs_kept_in_memory(self):
                self.run_while_deleting({"retention": {"keep_successful": "none"}})


class WebhookStopTest(WebhookTestCase):
        """SIGTERM while a sync webhook waits: the daemon answers it, then exits 0."""

        def last_stop_line(self):
                lines = [l for l in self.daemon.log().splitlines() if "stopping: finishing" in l]
                self.assertTrue(lines, self.daemon.log())
                return lines[-1]

        def test_sigterm_while_a_sync_webhook_waits(self):
                slug = self.hook_flow([("pause", "wait", {"duration": 2}),
                                       ("reply", "reply_chat", {"message": "finished"})],
                                      [("hook", "pause"), ("pause", "reply")],
                                      response_mode="sync", sync_timeout_seconds=20)
                result = {}

                def call():
                        try:
                                result["response"] = self.hook(slug, body={})
                        except Exception as e:  # noqa: BLE001 - reported below
                                result["error"] = e

                t = threading.Thread(target=call)
                t.start()
                deadline = time.monotonic() + 10
                while self.admin.get("/executions/?workflow_slug=%s" % slug).body["total"] == 0:
                        self.assertLess(time.monotonic(), deadline)
                        time.sleep(0.05)
                started = time.monotonic()
                self.daemon.signal(signal.SIGTERM)
                rc = self.daemon.wait(15)
                t.join(15)
                self.assertEqual(rc, 0, self.daemon.log())
                self.assertLess(time.monotonic() - started, 10)
                self.assertNotIn("error", result, result)
                r = result["response"]
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["output"], {"output": "finished"})
                self.assertIn("finishing 1 request(s) in flight", self.last_stop_line())
                self.daemon.stop()
                self.daemon.start()
                self.assertHealthy()

        def test_sigterm_during_runs_kept_in_memory(self):
                """Runs whose successes are not kept store their summaries in batches: a stop
                in the middle of many still answers each request it took, and every run
                answered is in the database after the restart."""
                slug = self.hook_flow([("count", "transform", jq("{n: (.trigger.body.items | length)}")),
                                       ("say", "reply_chat", {"message": "{{ count.output.n }} items"})],
                                      [("hook", "count"), ("count", "say")],
                                      workflow_fields={"settings": {"retention": {"keep_successful": "none"}}},
                                      response_mode="sync")
                answers = {}

                def post(n):
                        try:
                                answers[n] = self.hook(slug, body={"items": list(range(n))})
                        except OSError as e:  # not taken before the stop: refused or reset
                                answers[n] = e

                threads = [threading.Thread(target=post, args=(n,)) for n in range(30)]
                for t in threads:
                        t.start()
                time.sleep(0.05)
                self.daemon.signal(signal.SIGTERM)
                for t in threads:
                        t.join(30)
                self.assertEqual(self.daemon.wait(15), 0, self.daemon.log())
                self.daemon.start()
                answered = 0
                for n, r in answers.items():
                        if isinstance(r, OSError):
                                continue
                        self.assertEqual((r.status, r.body["output"]), (200, {"output": "%d items" % n}), r)
                        stored = self.admin.get("/executions/%s/status/" % r.body["execution_id"])
                        self.assertEqual((stored.status, stored.body["status"]), (200, "completed"), stored)
                        answered += 1
                self.assertGreater(answered, 0)

        def test_a_client_that_left_is_not_waited_for(self):
                slug = self.hook_flow([("pause", "wait", {"duration": 60}),
                                       ("reply", "reply_chat", {"message": "much later"})],
                                      [("hook", "pause"), ("pause", "reply")],
                                      response_mode="sync", sync_timeout_seconds=120)
                s = self.anon().raw_socket()
                s.sendall(("GET /api/v1/webhooks/%s/in HTTP/1.1\r\nHost: x\r\n\r\n" % slug).encode())
                deadline = time.monotonic() + 10
                while self.admin.get("/executions/?workflow_slug=%s" % slug).body["total"] == 0:
                        self.assertLess(time.monotonic(), deadline)
                        time.sleep(0.05)
                s.close()
                time.sleep(0.3)
                # No request is in flight any more: SIGTERM ends the daemon at once.
                started = time.monotonic()
                self.daemon.stop()
                self.assertLess(time.monotonic() - started, 5)
                self.assertIn("finishing 0 request(s) in flight", self.last_stop_line())
                self.daemon.start()
                self.assertHealthy()


class ChatTest(EngineTestCase):
        def chat_flow(self, client=None):
                client = client or self.admin
                slug = self.make_workflow(client)["slug"]
                self.make_node(slug, "trigger_chat", client, node_id="chat")
                self.make_node(slug, "reply_chat", client, node_id="reply",
                               config={"extra_config": {"message": "{{ trigger.username }}: {{ chat.text }}"}})
                self.make_edge(slug, "chat", "reply", client)
                return slug

        def test_chat_starts_a_run(self):
                slug = self.chat_flow()
                r = self.admin.post("/workflows/%s/chat/" % slug, {"text": "hello there"})
                self.assertEqual(r.status, 202, r)
                self.assertEqual(r.body, {"execution_id": r.body["execution_id"], "status": "pending", "response": ""})
                status = self.wait_for(r.body["execution_id"])
                self.assertEqual(status["status"], "completed")
                self.assertEqual(status["final_output"], {"output": "admin: hello there"})
                detail = self.detail(r.body["execution_id"])
                workflow_id = self.admin.get("/workflows/%s/" % slug).body["id"]
                self.assertEqual(detail["trigger_node_id"], "chat")
                self.assertEqual(detail["trigger_payload"], {
                        "text": "hello there", "user_id": self.admin_id, "username": "admin",
                        "thread_id": "%d:%d" % (self.admin_id, workflow_id), "files": []})

        def test_chat_checks(self):
                slug = self.chat_flow()
                self.assertValidation(self.admin.post("/workflows/%s/chat/" % slug, {}), "text")
                self.assertValidation(self.admin.post("/workflows/%s/chat/" % slug, {"text": 5}), "text")
                r = self.admin.post("/workflows/%s/chat/" % slug, {"text": "x", "trigger_node_id": "reply"})
                self.assertEqual(r.status, 422, r)
                r = self.admin.post("/workflows/%s/chat/" % slug, {"text": "x", "trigger_node_id": "nope"})
                self.assertEqual(r.status, 422, r)
                r = self.admin.post("/workflows/%s/chat/" % slug, {"text": "x", "trigger_node_id": "chat"})
                self.assertEqual(r.status, 202, r)

                manual = self.flow([("reply", "reply_chat", {"message": "x"})], [("trig", "reply")])
                r = self.admin.post("/workflows/%s/chat/" % manual, {"text": "x"})
                self.assertEqual(r.status, 422, r)
                self.assertIn("trigger_chat", r.body["detail"])

                self.assertNotAuthenticated(self.anon().post("/workflows/%s/chat/" % slug, {"text": "x"}))
                r = self.admin.post("/workflows/no-such-workflow/chat/", {"text": "x"})
                self.assertEqual(r.status, 404, r)

        def test_chat_is_owner_scoped(self):
                user, client = self.make_user()
                slug = self.chat_flow()
                r = client.post("/workflows/%s/chat/" % slug, {"text": "x"})
                self.assertEqual(r.status, 404, r)

                own = self.chat_flow(client)
                r = client.post("/workflows/%s/chat/" % own, {"text": "mine"})
                self.assertEqual(r.status, 202, r)
                status = self.wait_for(r.body["execution_id"], client=client)
                self.assertEqual(status["final_output"], {"output": "%s: mine" % user["username"]})


if __name__ == "__main__":
        unittest.main()
