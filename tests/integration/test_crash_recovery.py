"""kill -9 with 200 executions in flight, some waiting and some in the middle of an HTTP
request, then a restart on the same database: every execution completes, and no request
(the node's side effect) reached the server more often than the node's attempts say."""

import http.server
import threading
import time

from harness import DaemonTestCase, unique

EXECUTIONS = 200
# Half the runs wait 1 s, half 2 s: the kill comes after the first requests of the former,
# while the latter are still waiting.
WAIT_SECONDS = (1, 2)
SLOW_SECONDS = 0.5
WORKERS = 32
# Enough requests seen, and some still being answered, before the daemon is killed.
KILL_AFTER_HITS = 20
TERMINAL = ("completed", "failed", "cancelled")


class SlowServer:
        """Answers every GET after SLOW_SECONDS; counts requests per path and how many are
        being answered right now."""

        def __init__(self):
                self.hits = {}
                self.in_flight = 0
                self.lock = threading.Lock()
                outer = self

                class Handler(http.server.BaseHTTPRequestHandler):
                        def do_GET(self):
                                path = self.path.split("?")[0]
                                with outer.lock:
                                        outer.hits[path] = outer.hits.get(path, 0) + 1
                                        outer.in_flight += 1
                                try:
                                        time.sleep(SLOW_SECONDS)
                                        body = b'{"ok": true}'
                                        self.send_response(200)
                                        self.send_header("Content-Type", "application/json")
                                        self.send_header("Content-Length", str(len(body)))
                                        self.end_headers()
                                        self.wfile.write(body)
                                except OSError:  # the daemon is gone
                                        pass
                                finally:
                                        with outer.lock:
                                                outer.in_flight -= 1

                        def log_message(self, *args):
                                pass

                self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
                self.server.daemon_threads = True
                self.server.request_queue_size = 256
                self.port = self.server.server_address[1]
                self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
                self.thread.start()

        def snapshot(self):
                with self.lock:
                        return dict(self.hits), self.in_flight

        def stop(self):
                self.server.shutdown()
                self.server.server_close()


class CrashRecoveryTest(DaemonTestCase):
        daemon_config = "[Engine]\nWorkers=%d\n" % WORKERS

        def setUp(self):
                self.target = SlowServer()
                self.addCleanup(self.target.stop)

        def make_flow(self):
                """trigger → wait (seconds from the payload) → slow request (one URL per run,
                from the run's text) → reply. Nothing in it can fail: the request has retries
                to spare and a long timeout."""
                slug = self.make_workflow()["slug"]
                self.make_node(slug, "trigger_manual", node_id="trig")
                self.make_node(slug, "wait", node_id="pause",
                               config={"extra_config": {"duration": "{{ trigger.payload.wait }}"}})
                self.make_node(slug, "http_request", node_id="call", config={"extra_config": {
                        "url": "http://127.0.0.1:%d/run/{{ trigger.text }}" % self.target.port,
                        "timeout": 60, "retries": 5, "retry_backoff_seconds": 1}})
                self.make_node(slug, "reply_chat", node_id="reply",
                               config={"extra_config": {"message": "{{ call.response.status }}"}})
                self.make_edge(slug, "trig", "pause")
                self.make_edge(slug, "pause", "call")
                self.make_edge(slug, "call", "reply")
                return slug

        def count(self, slug, status):
                r = self.admin.get("/executions/?workflow_slug=%s&status=%s&limit=1" % (slug, status))
                self.assertEqual(r.status, 200, r)
                return r.body["total"]

        def test_kill_with_executions_in_flight(self):
                slug = self.make_flow()
                runs = {}  # execution id → the text that names its URL
                for i in range(EXECUTIONS):
                        text = "%s-%d" % (unique("r"), i)
                        wait = WAIT_SECONDS[i % len(WAIT_SECONDS)]
                        r = self.admin.post("/workflows/%s/execute/" % slug,
                                            {"text": text, "payload": {"wait": wait}})
                        self.assertEqual(r.status, 202, r)
                        runs[r.body["execution_id"]] = text

                deadline = time.monotonic() + 20
                while True:
                        hits, in_flight = self.target.snapshot()
                        if sum(hits.values()) >= KILL_AFTER_HITS and in_flight > 0:
                                break
                        self.assertLess(time.monotonic(), deadline,
                                        "the requests did not start: %r" % (hits,))
                        time.sleep(0.02)
                self.admin.close()
                self.daemon.kill()  # SIGKILL
                self.assertLess(sum(hits.values()), EXECUTIONS,
                                "every request was made before the kill; the test proves nothing")

                self.daemon.start()
                deadline = time.monotonic() + 30
                while self.count(slug, "completed") < EXECUTIONS:
                        unfinished = EXECUTIONS - sum(self.count(slug, s) for s in TERMINAL)
                        if unfinished == 0 or time.monotonic() > deadline:
                                break
                        time.sleep(0.2)
                self.assertEqual(self.count(slug, "completed"), EXECUTIONS,
                                 "statuses: %r" % {s: self.count(slug, s) for s in
                                                   ("pending", "running") + TERMINAL})

                hits, _ = self.target.snapshot()
                repeated = 0
                for execution_id, text in runs.items():
                        r = self.admin.get("/executions/%s/" % execution_id)
                        self.assertEqual(r.status, 200, r)
                        detail = r.body
                        self.assertEqual(detail["status"], "completed", detail)
                        self.assertEqual(detail["final_output"], {"output": "200"}, detail)
                        call = [n for n in detail["node_runs"] if n["node_id"] == "call"]
                        self.assertEqual(len(call), 1, detail)
                        attempts = call[0]["attempt"]
                        logged = [l["metadata"]["attempt"] for l in detail["logs"]
                                  if l["node_id"] == "call"]
                        self.assertTrue(logged and max(logged) <= attempts, detail)
                        received = hits.get("/run/" + text, 0)
                        self.assertGreaterEqual(received, 1, detail)
                        self.assertLessEqual(received, attempts,
                                             "%s: %d requests, %d attempts: %r" % (
                                                     execution_id, received, attempts, detail))
                        repeated += received > 1
                # Requests cut off by the kill were sent again, as further attempts.
                self.assertGreater(repeated, 0)
