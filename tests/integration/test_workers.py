"""Dedicated workers (settings.worker), with WorkerLauncher=exec: pipelitd starts
pipelit-worker as a child for a dedicated workflow and its executions run there (the
execution logs name the worker's process), their events still reach WebSocket clients, a
worker killed mid-run is replaced and its executions complete, bad settings get 422, and
StartWorker/StopWorker/ListWorkers over D-Bus (a private bus) and pipelitctl worker."""

import http.server
import json
import os
import signal
import threading
import time
import unittest

from harness import unique
from test_dbus import NOBODY, PIPELITCTL, have_bus_tools
from test_dbus_admin import BusCase
from wsclient import WebSocket

TERMINAL = ("completed", "failed", "cancelled")
SLOW_SECONDS = 1.5


def process_exists(pid):
        try:
                os.kill(pid, 0)
        except ProcessLookupError:
                return False
        # A zombie is gone for our purpose.
        try:
                with open("/proc/%d/stat" % pid) as f:
                        return f.read().split(") ")[-1][0] != "Z"
        except OSError:
                return False


def cmdline(pid):
        with open("/proc/%d/cmdline" % pid, "rb") as f:
                return f.read().split(b"\0")


class SlowServer:
        """Answers GET /slow… after `seconds`, any other at once; counts the requests being
        answered."""

        def __init__(self, seconds=SLOW_SECONDS):
                self.in_flight = 0
                self.hits = 0
                self.lock = threading.Lock()
                outer = self

                class Handler(http.server.BaseHTTPRequestHandler):
                        def do_GET(self):
                                with outer.lock:
                                        outer.hits += 1
                                        outer.in_flight += 1
                                try:
                                        if self.path.startswith("/slow"):
                                                time.sleep(seconds)
                                        body = b'{"ok": true}'
                                        self.send_response(200)
                                        self.send_header("Content-Type", "application/json")
                                        self.send_header("Content-Length", str(len(body)))
                                        self.end_headers()
                                        self.wfile.write(body)
                                except OSError:
                                        pass
                                finally:
                                        with outer.lock:
                                                outer.in_flight -= 1

                        def log_message(self, *args):
                                pass

                self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
                self.server.daemon_threads = True
                self.port = self.server.server_address[1]
                threading.Thread(target=self.server.serve_forever, daemon=True).start()

        def stop(self):
                self.server.shutdown()
                self.server.server_close()


@unittest.skipUnless(have_bus_tools(), "dbus-daemon, busctl or dbus-send is not installed")
class WorkersTest(BusCase):
        daemon_config = "[Engine]\nWorkers=2\nWorkerLauncher=exec\n"

        # --- helpers ------------------------------------------------------------------------

        def flow(self, nodes, edges, worker=None):
                """trigger "trig" → nodes [(id, type, extra_config)]; settings.worker when given."""
                fields = {"settings": {"worker": worker}} if worker else {}
                slug = self.make_workflow(**fields)["slug"]
                self.make_node(slug, "trigger_manual", node_id="trig")
                for node_id, component_type, extra in nodes:
                        self.make_node(slug, component_type, node_id=node_id, config={"extra_config": extra})
                for source, target in edges:
                        self.make_edge(slug, source, target)
                return slug

        def shout(self, worker=None):
                return self.flow([("up", "transform", {"program": ".trigger.text | ascii_upcase"})],
                                 [("trig", "up")], worker)

        def execute(self, slug, text="hello"):
                r = self.admin.post("/workflows/%s/execute/" % slug, {"text": text})
                self.assertEqual(r.status, 202, r)
                return r.body["execution_id"]

        def wait_done(self, execution_id, timeout=30):
                deadline = time.monotonic() + timeout
                while True:
                        r = self.admin.get("/executions/%s/" % execution_id)
                        self.assertEqual(r.status, 200, r)
                        if r.body["status"] in TERMINAL or time.monotonic() > deadline:
                                return r.body
                        time.sleep(0.05)

        def workers(self):
                """ListWorkers as {slug: (unit, state, pid, node_runs, dedicated)}."""
                data = self.call("ListWorkers")
                return {w[0]: tuple(w[1:]) for w in data[0]}

        def wait_worker(self, slug, states, timeout=15):
                deadline = time.monotonic() + timeout
                while True:
                        w = self.workers().get(slug)
                        state = w[1] if w else "absent"
                        if state in states:
                                return w
                        self.assertLess(time.monotonic(), deadline, "worker of %s is %s, not %s" % (slug, state, states))
                        time.sleep(0.05)

        def worker_of(self, detail, node_id):
                """metadata.worker of the node's last log, or None (pipelitd ran it)."""
                logs = [l for l in detail["logs"] if l["node_id"] == node_id]
                self.assertTrue(logs, detail)
                return logs[-1]["metadata"].get("worker")

        # --- settings -----------------------------------------------------------------------

        def test_bad_worker_settings_get_422(self):
                slug = self.make_workflow()["slug"]
                for worker, key in (("yes", None), ({"dedicated": "yes"}, "dedicated"),
                                    ({"memory_max": "lots"}, "memory_max"), ({"memory_max": "1K"}, "memory_max"),
                                    ({"cpu_quota": "50"}, "cpu_quota"), ({"cpu_quota": "0%"}, "cpu_quota"),
                                    ({"tasks_max": 2}, "tasks_max"), ({"tasks_max": "64"}, "tasks_max"),
                                    ({"runtime_max_sec": 0}, "runtime_max_sec"), ({"threads": 2}, "threads")):
                        with self.subTest(worker=worker):
                                r = self.admin.patch("/workflows/%s/" % slug, {"settings": {"worker": worker}})
                                self.assertValidation(r, ["settings", "worker"] + ([key] if key else []))
                r = self.admin.post("/workflows/", {"name": unique("W "), "settings": {"worker": {"memory_max": -1}}})
                self.assertValidation(r, ["settings", "worker", "memory_max"])

                good = {"dedicated": True, "memory_max": "256M", "cpu_quota": "50%", "tasks_max": 64,
                        "runtime_max_sec": 3600}
                r = self.admin.patch("/workflows/%s/" % slug, {"settings": {"worker": good}})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["settings"]["worker"], good)
                self.assertHealthy()

        # --- running in the worker ----------------------------------------------------------

        def test_dedicated_workflow_runs_in_its_worker_and_events_reach_websockets(self):
                slug = self.shout({"dedicated": True, "memory_max": "256M", "cpu_quota": "50%"})
                plain = self.shout()
                ws = WebSocket("127.0.0.1", self.daemon.port, "/ws/?token=" + self.admin_key, timeout=10)
                self.addCleanup(ws.shutdown)
                ws.send_json({"type": "subscribe", "channel": "workflow:" + slug})
                self.assertEqual(ws.recv_json(10)["type"], "subscribed")

                execution = self.execute(slug, "worker")
                detail = self.wait_done(execution)
                self.assertEqual(detail["status"], "completed", detail)
                self.assertEqual(detail["final_output"]["node_outputs"]["up"], {"output": "WORKER"})
                label = self.worker_of(detail, "up")
                self.assertIsNotNone(label, "the node ran in pipelitd, not in a worker: %r" % detail)
                self.assertEqual(label["workflow"], slug)
                pid = label["pid"]
                self.assertNotEqual(pid, self.daemon.proc.pid)
                self.assertIn(b"--workflow", cmdline(pid))
                self.assertIn(slug.encode(), cmdline(pid))
                self.assertIn("pipelit-worker", cmdline(pid)[0].decode())
                unit, state, listed_pid, node_runs, dedicated = self.workers()[slug]
                self.assertEqual((unit, state, listed_pid, dedicated), ("", "running", pid, True))
                self.assertGreaterEqual(node_runs, 1)
                self.assertIn("pipelit-worker[info]: Running execution %s of workflow '%s'" % (execution, slug),
                              self.daemon.log())

                # Its events, made in the worker, reach the subscriber in order.
                seen = []
                while "execution_completed" not in seen:
                        e = ws.recv_json(10)
                        if e.get("execution_id") == execution:
                                seen.append(e["type"] if e["type"] != "node_status" else
                                            "%s %s" % (e["data"]["node_id"], e["data"]["status"]))
                self.assertLess(seen.index("execution_started"), seen.index("up running"), seen)
                self.assertLess(seen.index("up running"), seen.index("up success"), seen)

                # A workflow that does not ask for one runs in pipelitd, as before.
                other = self.wait_done(self.execute(plain))
                self.assertEqual(other["status"], "completed", other)
                self.assertIsNone(self.worker_of(other, "up"))
                self.assertNotIn(plain, self.workers())

                # No longer dedicated: its worker stops, and the next run is pipelitd's.
                r = self.admin.patch("/workflows/%s/" % slug, {"settings": {"worker": None}})
                self.assertEqual(r.status, 200, r)
                deadline = time.monotonic() + 15
                while process_exists(pid) and time.monotonic() < deadline:
                        time.sleep(0.05)
                self.assertFalse(process_exists(pid), "the worker did not stop")
                self.wait_worker(slug, ("absent",))
                again = self.wait_done(self.execute(slug))
                self.assertEqual(again["status"], "completed", again)
                self.assertIsNone(self.worker_of(again, "up"))

        def test_runtime_limit_replaces_the_worker(self):
                slug = self.shout({"dedicated": True, "runtime_max_sec": 1})
                first = self.worker_of(self.wait_done(self.execute(slug)), "up")["pid"]
                deadline = time.monotonic() + 10
                while process_exists(first) and time.monotonic() < deadline:
                        time.sleep(0.05)
                self.assertFalse(process_exists(first), "the worker outlived its runtime limit")
                self.assertIn("reached its runtime limit", self.daemon.log())
                again = self.wait_done(self.execute(slug))
                self.assertEqual(again["status"], "completed", again)
                self.assertNotIn(self.worker_of(again, "up")["pid"], (first, None))

        def test_killed_worker_is_replaced_and_its_executions_complete(self):
                server = SlowServer()
                self.addCleanup(server.stop)
                slug = self.flow([("call", "http_request", {"url": "http://127.0.0.1:%d/slow" % server.port,
                                                             "timeout": 30, "retries": 3,
                                                             "retry_backoff_seconds": 0.1}),
                                  ("up", "transform", {"program": ".call.response.status"})],
                                 [("trig", "call"), ("call", "up")], {"dedicated": True})
                executions = [self.execute(slug) for _ in range(3)]
                deadline = time.monotonic() + 20
                while server.in_flight == 0:
                        self.assertLess(time.monotonic(), deadline, "no request started")
                        time.sleep(0.02)
                victim = self.wait_worker(slug, ("running",))[2]
                os.kill(victim, signal.SIGKILL)

                details = [self.wait_done(e, timeout=40) for e in executions]
                for d in details:
                        self.assertEqual(d["status"], "completed", d)
                        self.assertEqual(d["final_output"]["node_outputs"]["up"], {"output": 200})
                        label = self.worker_of(d, "call")
                        self.assertIsNotNone(label, d)
                        # Finished by the worker that replaced it.
                        self.assertNotEqual(label["pid"], victim, d)
                # The requests cut off ran again, as another attempt.
                attempts = [n["attempt"] for d in details for n in d["node_runs"] if n["node_id"] == "call"]
                self.assertGreater(max(attempts), 1, details)
                self.assertGreater(server.hits, len(executions))
                self.assertIn("went away", self.daemon.log())
                self.assertHealthy()

        def test_cancel_reaches_the_nodes_running_in_the_worker(self):
                server = SlowServer(seconds=30)
                self.addCleanup(server.stop)
                slug = self.flow([("call", "http_request", {"url": "http://127.0.0.1:%d/{{ trigger.text }}" % server.port,
                                                             "timeout": 60, "retries": 0})],
                                 [("trig", "call")], {"dedicated": True})
                # As many as the worker has threads (Workers=2), each held by a slow request.
                slow = [self.execute(slug, "slow") for _ in range(2)]
                deadline = time.monotonic() + 20
                while server.in_flight < 2:
                        self.assertLess(time.monotonic(), deadline, "the requests did not start")
                        time.sleep(0.02)
                for e in slow:
                        r = self.admin.post("/executions/%s/cancel/" % e)
                        self.assertEqual(r.status, 200, r)
                # The worker's threads are free again at once, not after 30 s.
                started = time.monotonic()
                fast = self.wait_done(self.execute(slug, "fast"), timeout=15)
                self.assertEqual(fast["status"], "completed", fast)
                self.assertLess(time.monotonic() - started, 10)
                self.assertIsNotNone(self.worker_of(fast, "call"))
                for e in slow:
                        self.assertEqual(self.wait_done(e)["status"], "cancelled")

        # --- D-Bus and pipelitctl -------------------------------------------------------------

        def test_start_stop_and_list_over_dbus_and_pipelitctl(self):
                slug = self.shout()
                self.assertEqual(self.call("StartWorker", "s", slug), [])
                _, _, pid, _, dedicated = self.wait_worker(slug, ("running",))
                self.assertFalse(dedicated)
                self.assertTrue(process_exists(pid))
                detail = self.wait_done(self.execute(slug))
                self.assertEqual(self.worker_of(detail, "up")["pid"], pid)

                p = self.run_tool([PIPELITCTL, "--json", "worker", "list"])
                self.assertEqual(p.returncode, 0, p.err)
                listed = {w["slug"]: w for w in json.loads(p.out)["workers"]}
                self.assertEqual((listed[slug]["state"], listed[slug]["pid"]), ("running", pid))
                self.assertGreaterEqual(listed[slug]["node_runs"], 1)
                p = self.run_tool([PIPELITCTL, "worker", "list"])
                self.assertEqual(p.returncode, 0, p.err)
                self.assertRegex(p.out, r"(?m)^WORKFLOW +STATE +PID")
                self.assertRegex(p.out, r"(?m)^%s +running +%d " % (slug, pid))

                p = self.run_tool([PIPELITCTL, "worker", "stop", slug])
                self.assertEqual(p.returncode, 0, p.err)
                deadline = time.monotonic() + 15
                while process_exists(pid) and time.monotonic() < deadline:
                        time.sleep(0.05)
                self.assertFalse(process_exists(pid))
                self.wait_worker(slug, ("absent",))
                detail = self.wait_done(self.execute(slug))
                self.assertIsNone(self.worker_of(detail, "up"))

                p = self.run_tool([PIPELITCTL, "worker", "stop", slug])
                self.assertEqual(p.returncode, 1)
                self.assertIn("has no worker", p.err)
                p = self.run_tool([PIPELITCTL, "worker", "start", "no-such-" + unique("w")])
                self.assertEqual(p.returncode, 1)
                self.assertIn("not found", p.err)
                p = self.run_tool([PIPELITCTL, "worker", "start"])
                self.assertEqual(p.returncode, 2)

        @unittest.skipUnless(os.geteuid() == 0, "needs root to call as another user")
        def test_unprivileged_callers_list_but_cannot_start_or_stop(self):
                slug = self.shout()
                for member in ("StartWorker", "StopWorker"):
                        error, text = self.call_error(member, "s", slug, uid=NOBODY)
                        self.assertEqual(error, "org.freedesktop.DBus.Error.AccessDenied", member)
                        self.assertIn("Only root and the daemon's own user may call %s" % member, text)
                p = self.run_tool([PIPELITCTL, "worker", "list"], uid=NOBODY)
                self.assertEqual(p.returncode, 0, p.err)
                self.assertNotIn(slug, self.workers())


if __name__ == "__main__":
        unittest.main()
